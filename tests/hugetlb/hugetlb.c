/* hugetlb.c: the promises of the hugetlb option (MAP_HUGETLB pages for region
 * heads and large blocks of 2 MiB and more). Prefixed API, one mode per test:
 *
 *   fallback  with no free huge page in the pool: small and large blocks
 *             work and keep their contents, the statistics count every
 *             request as a fallback and the refusals as remembered (one
 *             failing call per HUGETLB_RETRY_EVERY requests), the heads are
 *             purged like normal pages, and nothing is printed on stderr.
 *             Runs itself as a child with MAPALLOC_HUGETLB=1 to see its
 *             stderr from the first byte. Exits 77 when huge pages are free.
 *   backed    with free huge pages: /proc/self/smaps shows the region head
 *             and a large block on 2 MiB kernel pages, the guard after the
 *             block on a normal page; realloc keeps contents (copying) and
 *             sizes; purge and trim never give back the head under live
 *             blocks; a freed block's pages go back at once (no cache).
 *             Exits 77 unless 16 huge pages are free.
 */
#define _GNU_SOURCE
#include "mapalloc.h"
#include "testutil.h"

#include <sys/wait.h>

#define POOL_NEEDED 16 /* huge pages the backed mode uses at most at once */
#define RETRY_EVERY 32 /* os.h HUGETLB_RETRY_EVERY */

static long meminfo(const char *key) {
    FILE *f = fopen("/proc/meminfo", "r");
    long v = -1;
    char line[128];
    size_t k = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, k) == 0 && line[k] == ':') { v = strtol(line + k + 1, NULL, 10); break; }
    if (f) fclose(f);
    return v;
}

/* One figure of the mapping of /proc/self/smaps holding addr ("KernelPageSize",
 * "Rss", "Private_Hugetlb"...), in kB, or -1; perms gets its permissions. */
static long smaps_at(const void *addr, const char *key, char perms[5]) {
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f) return -1;
    char line[512];
    long v = -1;
    int inside = 0;
    size_t k = strlen(key);
    uintptr_t a = (uintptr_t)addr;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        char p[5];
        if (sscanf(line, "%lx-%lx %4s ", &lo, &hi, p) == 3 && strchr(line, '-') < strchr(line, ' ')) {
            if (inside) break;
            inside = a >= lo && a < hi;
            if (inside && perms) memcpy(perms, p, 5);
            continue;
        }
        if (inside && strncmp(line, key, k) == 0 && line[k] == ':') v = strtol(line + k + 1, NULL, 10);
    }
    fclose(f);
    return v;
}

/* Sum of one figure over every mapping of the process, in kB. */
static long smaps_total(const char *key) {
    FILE *f = fopen("/proc/self/smaps", "r");
    long sum = 0;
    char line[512];
    size_t k = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, k) == 0 && line[k] == ':') sum += strtol(line + k + 1, NULL, 10);
    if (f) fclose(f);
    return sum;
}

/* The "hugetlb" object of the statistics JSON. */
struct hugetlb_stats {
    unsigned long long regions, large_blocks, fallbacks, refusals;
    char last_error[16];
};

static struct hugetlb_stats hugetlb_stats(void) {
    static char json[1 << 16];
    struct hugetlb_stats s;
    memset(&s, 0, sizeof s);
    size_t n = mapalloc_stats_json(json, sizeof json);
    REQUIRE(n < sizeof json);
    const char *h = strstr(json, "\"hugetlb\":{");
    REQUIRE(h);
    int got = sscanf(h, "\"hugetlb\":{\"regions\":%llu,\"large_blocks\":%llu,\"fallbacks\":%llu,\"refusals\":%llu,"
                        "\"last_error\":\"%15[A-Za-z]\"",
                     &s.regions, &s.large_blocks, &s.fallbacks, &s.refusals, s.last_error);
    REQUIRE(got == 5);
    return s;
}

/* Small blocks filling a region past its head: 32-byte blocks, each holding
 * a byte of its index. */
#define SMALL_COUNT 90000
static unsigned char *small[SMALL_COUNT];

static void small_fill(void) {
    for (size_t i = 0; i < SMALL_COUNT; i++) {
        small[i] = mapalloc_malloc(32);
        REQUIRE(small[i]);
        memset(small[i], (int)(i * 7 + 1), 32);
    }
}

/* Bytes of the live blocks that changed. */
static size_t small_check(void) {
    size_t bad = 0;
    for (size_t i = 0; i < SMALL_COUNT; i++)
        for (size_t k = 0; small[i] && k < 32; k++) bad += small[i][k] != (unsigned char)(i * 7 + 1);
    return bad;
}

/* Free the blocks of 7 slices in 8 (keeping those in slices 0, 8, 16, ...
 * of their region, and the last block), then trim: the pages of the freed
 * slices are empty and purged, 28 of them in the region's head. Returns the
 * bytes purged. */
static size_t small_thin_and_trim(void) {
    struct mapalloc_stats t;
    mapalloc_stats_get(&t);
    size_t before = t.purged;
    for (size_t i = 0; i + 1 < SMALL_COUNT; i++)
        if (((uintptr_t)small[i] >> 16) % 8) { mapalloc_free(small[i]); small[i] = NULL; }
    mapalloc_trim(0);
    mapalloc_stats_get(&t);
    return t.purged - before;
}

/* --- fallback --------------------------------------------------------------- */

static int fallback_child(void) {
    long free_pages = meminfo("HugePages_Free");
    if (free_pages > 0) {
        printf("skip: %ld huge pages are free: the fallback is not what would happen\n", free_pages);
        return 77;
    }
    char v[8];
    REQUIRE(mapalloc_option_get("hugetlb", v, sizeof v) > 0 && strcmp(v, "1") == 0);

    small_fill();
    /* 40 blocks of 2 MiB and more, all live at once: 40 requests. */
    enum { LARGE = 40 };
    unsigned char *large[LARGE];
    size_t len[LARGE];
    for (size_t i = 0; i < LARGE; i++) {
        len[i] = 2 * MiB + i * 40000 + 1;
        large[i] = mapalloc_malloc(len[i]);
        REQUIRE(large[i]);
        CHECK(mapalloc_usable_size(large[i]) >= len[i]);
        /* A refused request keeps the length asked for, not 2 MiB multiples. */
        CHECKF(mapalloc_usable_size(large[i]) < len[i] + 4096, "block %zu: usable %zu for %zu", i,
               mapalloc_usable_size(large[i]), len[i]);
        pattern_fill(large[i], len[i], 1000 + i);
    }
    unsigned char *zeroed = mapalloc_calloc(1, 3 * MiB);
    REQUIRE(zeroed);
    size_t nonzero = 0;
    for (size_t k = 0; k < 3 * MiB; k++) nonzero += zeroed[k] != 0;
    CHECK(nonzero == 0);

    struct mapalloc_stats t;
    mapalloc_stats_get(&t);
    struct hugetlb_stats h = hugetlb_stats();
    unsigned long long asks = t.regions + LARGE + 1;
    printf("hugetlb fallback: %zu regions, %d large blocks; statistics: %llu on hugetlb, %llu fallbacks, "
           "%llu refusals (%s)\n", t.regions, LARGE + 1, h.regions + h.large_blocks, h.fallbacks, h.refusals,
           h.last_error);
    CHECK(h.regions == 0 && h.large_blocks == 0);
    CHECKF(h.fallbacks == asks, "fallbacks %llu, requests %llu", h.fallbacks, asks);
    CHECKF(h.refusals == (asks + RETRY_EVERY - 1) / RETRY_EVERY, "refusals %llu for %llu requests", h.refusals,
           asks);
    CHECK(strcmp(h.last_error, "ENOMEM") == 0);

    /* Contents, then realloc on the normal pages (mremap, no copy). */
    for (size_t i = 0; i < LARGE; i++) CHECKF(pattern_check(large[i], len[i], 1000 + i) == (size_t)-1, "block %zu", i);
    unsigned char *grown = mapalloc_realloc(large[0], 9 * MiB);
    REQUIRE(grown);
    CHECK(pattern_check(grown, len[0], 1000) == (size_t)-1);
    large[0] = grown;
    CHECK(small_check() == 0);

    /* The heads of fallback regions are normal pages: purged like any other. */
    size_t purged = small_thin_and_trim();
    CHECKF(purged >= 2 * MiB, "purged %zu bytes", purged);
    CHECK(small_check() == 0);

    for (size_t i = 0; i < LARGE; i++) mapalloc_free(large[i]);
    mapalloc_free(zeroed);
    for (size_t i = 0; i < SMALL_COUNT; i++) mapalloc_free(small[i]);
    mapalloc_check_heap();
    if (check_failures) return 1;
    puts("fallback ok");
    return 0;
}

/* Run fallback_child in a fresh process with MAPALLOC_HUGETLB=1 and no other
 * MAPALLOC_ variable; it must exit 0 and print nothing on stderr. */
static int fallback(const char *self) {
    int err[2];
    REQUIRE(pipe(err) == 0);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        dup2(err[1], 2);
        close(err[0]);
        close(err[1]);
        extern char **environ;
        for (char **e = environ; *e;)
            if (strncmp(*e, "MAPALLOC_", 9) == 0) { unsetenv(strndup(*e, (size_t)(strchr(*e, '=') - *e))); e = environ; }
            else e++;
        setenv("MAPALLOC_HUGETLB", "1", 1);
        execl(self, self, "fallback-child", (char *)NULL);
        _exit(127);
    }
    close(err[1]);
    char buf[4096];
    size_t got = 0;
    ssize_t n;
    while ((n = read(err[0], buf + got, sizeof buf - 1 - got)) > 0) got += (size_t)n;
    buf[got] = 0;
    close(err[0]);
    int status;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 77) return 77;
    CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status 0x%x", status);
    CHECKF(got == 0, "the child wrote to stderr:\n%s", buf);
    return check_failures ? 1 : 0;
}

/* --- backed ----------------------------------------------------------------- */

static int backed(void) {
    long free_pages = meminfo("HugePages_Free");
    if (free_pages < POOL_NEEDED) {
        printf("skip: %ld free huge pages (HugePages_Free), %d needed; try sysctl vm.nr_hugepages=%d\n",
               free_pages, POOL_NEEDED, POOL_NEEDED);
        return 77;
    }
    REQUIRE(mapalloc_option_set("hugetlb", "1") == 0);
    long hugetlb_start = smaps_total("Private_Hugetlb");

    /* The head of the first region. */
    small_fill();
    CHECKF(smaps_at(small[0], "KernelPageSize", NULL) == 2048, "region head page size %ld kB",
           smaps_at(small[0], "KernelPageSize", NULL));
    CHECK(smaps_at(small[0], "Private_Hugetlb", NULL) == 2048);
    CHECK(smaps_at(small[SMALL_COUNT - 1], "KernelPageSize", NULL) == 4);

    /* A large block: 2 MiB aligned, rounded to 2 MiB, guard on a normal page. */
    size_t n = 4 * MiB + 1;
    unsigned char *big = mapalloc_malloc(n);
    REQUIRE(big);
    size_t usable = mapalloc_usable_size(big);
    CHECKF(usable == 6 * MiB, "usable %zu", usable);
    CHECK(((uintptr_t)big & (2 * MiB - 1)) == 0);
    pattern_fill(big, usable, 7);
    char perms[5] = "";
    CHECK(smaps_at(big, "KernelPageSize", NULL) == 2048);
    CHECK(smaps_at(big, "Private_Hugetlb", NULL) == 6144);
    CHECK(smaps_at(big + usable, "KernelPageSize", perms) == 4);
    CHECKF(strcmp(perms, "---p") == 0, "guard perms %s", perms);
    struct hugetlb_stats h = hugetlb_stats();
    CHECKF(h.regions >= 1 && h.large_blocks == 1 && h.refusals == 0, "stats %llu %llu %llu", h.regions,
           h.large_blocks, h.refusals);

    /* realloc: shrinking by less than half keeps the block, growing copies it
     * into new huge pages, shrinking by more copies into a smaller block. */
    unsigned char *same = mapalloc_realloc(big, 3 * MiB + 5);
    CHECK(same == big);
    CHECK(mapalloc_usable_size(same) == usable);
    unsigned char *grown = mapalloc_realloc(same, 9 * MiB);
    REQUIRE(grown);
    CHECK(pattern_check(grown, 3 * MiB + 5, 7) == (size_t)-1);
    CHECK(mapalloc_usable_size(grown) == 10 * MiB);
    CHECK(smaps_at(grown, "KernelPageSize", NULL) == 2048);
    pattern_fill(grown, 9 * MiB, 8);
    unsigned char *shrunk = mapalloc_realloc(grown, 2 * MiB + 100);
    REQUIRE(shrunk);
    CHECK(pattern_check(shrunk, 2 * MiB + 100, 8) == (size_t)-1);
    CHECK(mapalloc_usable_size(shrunk) == 4 * MiB);

    /* Freed hugetlb blocks are unmapped at once, not cached. */
    long before_free = smaps_total("Private_Hugetlb");
    mapalloc_free(shrunk);
    CHECKF(smaps_total("Private_Hugetlb") == before_free - 4096, "Private_Hugetlb %ld -> %ld kB", before_free,
           smaps_total("Private_Hugetlb"));

    /* Purge and trim: the head stays, and so do the blocks in it. */
    size_t purged = small_thin_and_trim();
    CHECKF(purged > 0 && purged < 2 * MiB, "purged %zu bytes", purged);
    CHECK(smaps_at(small[0], "KernelPageSize", NULL) == 2048);
    CHECK(smaps_at(small[0], "Private_Hugetlb", NULL) == 2048);
    CHECK(small_check() == 0);
    mapalloc_check_heap();

    for (size_t i = 0; i < SMALL_COUNT; i++) mapalloc_free(small[i]);
    mapalloc_trim(0);
    h = hugetlb_stats();
    printf("hugetlb backed: %llu regions and %llu large blocks on 2 MiB pages; Private_Hugetlb %ld kB at the start,"
           " %ld kB at the end\n", h.regions, h.large_blocks, hugetlb_start, smaps_total("Private_Hugetlb"));
    if (check_failures) return 1;
    puts("backed ok");
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "fallback") == 0) return fallback("/proc/self/exe");
    if (argc == 2 && strcmp(argv[1], "fallback-child") == 0) return fallback_child();
    if (argc == 2 && strcmp(argv[1], "backed") == 0) return backed();
    fprintf(stderr, "usage: %s fallback|backed\n", argv[0]);
    return 2;
}
