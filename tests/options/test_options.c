/* test_options.c: the promises of options and statistics that one process can
 * check by itself, one per command-line name (run_tests.py and CTest run them):
 *   get        print every option as name=value (run_tests.py sets the
 *              environment and checks the values and the warnings)
 *   api        mapalloc_option_set/get before and after the first allocation
 *   classes    per-class figures match a known allocation pattern exactly,
 *              also after frees by the owner and by another thread; prints
 *              the expectation and the JSON for run_tests.py to compare
 *   large      one large block and nothing else (run_tests.py checks that the
 *              event channel from the environment saw its mapping)
 *   kernel     committed bytes agree with the kernel's Rss of our mappings
 *              (/proc/self/smaps) within 10%, before and after trim
 * Links the core (prefixed API only): the process's own malloc stays glibc's,
 * so every figure counts exactly the blocks this program made.
 * Exit 0: kept; 1: broken (a message says which promise).
 */
#define _GNU_SOURCE
#include <mapalloc.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

#define CHECK(cond)                                                                               \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            fprintf(stderr, "%s:%d: check failed: %s (errno %d)\n", __FILE__, __LINE__, #cond, errno); \
            failures++;                                                                           \
        }                                                                                         \
    } while (0)
#define CHECKF(cond, ...)                                                         \
    do {                                                                          \
        if (!(cond)) {                                                            \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                         \
            fputc('\n', stderr);                                                  \
            failures++;                                                           \
        }                                                                         \
    } while (0)

static const char *get(const char *name) {
    static char buf[64];
    if (mapalloc_option_get(name, buf, sizeof buf) < 0) return "(error)";
    return buf;
}

static int cmd_get(void) {
    for (size_t i = 0; mapalloc_option_name(i); i++) printf("%s=%s\n", mapalloc_option_name(i), get(mapalloc_option_name(i)));
    return 0;
}

static int cmd_api(void) {
    /* Before the first allocation every option may be set. */
    CHECK(mapalloc_option_set("large_threshold", "64k") == 0);
    CHECK(strcmp(get("large_threshold"), "65536") == 0);
    CHECK(mapalloc_option_set("LARGE_CACHE_MS", "250") == 0); /* names in any case */
    CHECK(strcmp(get("large_cache_ms"), "250") == 0);
    errno = 0;
    CHECK(mapalloc_option_set("no_such_option", "1") == -1 && errno == ENOENT);
    errno = 0;
    CHECK(mapalloc_option_get("no_such_option", NULL, 0) == -1 && errno == ENOENT);
    errno = 0;
    CHECK(mapalloc_option_set("purge_delay_ms", "soon") == -1 && errno == EINVAL);
    CHECK(strcmp(get("purge_delay_ms"), "100") == 0);
    errno = 0;
    CHECK(mapalloc_option_set("large_threshold", "512") == -1 && errno == EINVAL); /* below 1k */
    CHECK(strcmp(get("large_threshold"), "65536") == 0);
    /* get is snprintf-like: the full length, a truncated terminated text. */
    char small[3];
    CHECK(mapalloc_option_get("large_cache", small, sizeof small) == 9 && strcmp(small, "26") == 0);
    CHECK(mapalloc_option_get("large_cache", NULL, 0) == 9); /* 268435456 */

    /* The threshold set above is the one the allocator uses. (The small
     * block starts the allocator: a large block alone does not yet.) */
    void *small_block = mapalloc_malloc(16);
    void *p = mapalloc_malloc(100000);
    CHECK(p != NULL && small_block != NULL);
    struct mapalloc_stats s;
    mapalloc_stats_get(&s);
    CHECKF(s.large_blocks == 1, "a 100000-byte block with large_threshold=64k: %zu large blocks", s.large_blocks);

    /* After it, options fixed at start-up refuse a change (but accept their value). */
    errno = 0;
    CHECK(mapalloc_option_set("large_threshold", "32k") == -1 && errno == EBUSY);
    CHECK(strcmp(get("large_threshold"), "65536") == 0);
    CHECK(mapalloc_option_set("large_threshold", "65536") == 0);
    errno = 0;
    CHECK(mapalloc_option_set("event_fd", "2") == -1 && errno == EBUSY);
    /* ... and the others apply at once. */
    CHECK(mapalloc_option_set("purge_delay_ms", "7") == 0);
    CHECK(strcmp(get("purge_delay_ms"), "7") == 0);
    /* stats set now still prints at exit (run_tests.py checks stderr). */
    CHECK(mapalloc_option_set("stats", "yes") == 0);
    mapalloc_free(p);
    mapalloc_free(small_block);
    if (!failures) puts("api: ok");
    return failures != 0;
}

/* ---- classes ---- */

struct group {
    size_t request, count;
};
static const struct group groups[] = {{24, 1000}, {1000, 300}, {5000, 10}, {100000, 3}};
enum { GROUPS = sizeof groups / sizeof groups[0] };

static void **blocks[GROUPS];

static void *free_some(void *arg) {
    void **v = arg;
    for (int i = 0; i < 100; i++) mapalloc_free(v[i]);
    return NULL;
}

static void *free_five(void *arg) {
    void **v = arg;
    for (int i = 0; i < 5; i++) mapalloc_free(v[i]);
    return NULL;
}

/* Every class's blocks must equal want[block size] (0 elsewhere), and the
 * medium entry's the blocks of groups requesting more than 4 KiB. */
static void expect_classes(const char *when, const size_t *want_size, const size_t *want_blocks, size_t n) {
    struct mapalloc_class_stats cs[64];
    size_t classes = mapalloc_stats_classes(cs, 64);
    CHECK(classes == 48);
    size_t total = 0;
    for (size_t c = 0; c < classes; c++) {
        size_t want = 0;
        for (size_t g = 0; g < n; g++)
            if (want_size[g] == cs[c].block_size && groups[g].request <= 4096) want += want_blocks[g];
        CHECKF(cs[c].blocks == want, "%s: class of %zu-byte blocks has %zu live blocks, expected %zu", when,
               cs[c].block_size, cs[c].blocks, want);
        CHECK(cs[c].bytes == cs[c].blocks * cs[c].block_size);
        CHECK(cs[c].page_bytes >= cs[c].bytes && cs[c].waste == cs[c].page_bytes - cs[c].bytes);
        CHECK((cs[c].pages == 0) == (cs[c].page_bytes == 0));
        if (c) CHECK(cs[c].block_size > cs[c - 1].block_size);
        total += cs[c].blocks;
    }
    struct mapalloc_class_stats m;
    size_t medium = mapalloc_stats_medium(&m), want_medium = 0, want_medium_bytes = 0;
    for (size_t g = 0; g < n; g++)
        if (groups[g].request > 4096) want_medium += want_blocks[g], want_medium_bytes += want_blocks[g] * want_size[g];
    CHECKF(medium == want_medium && m.blocks == medium, "%s: %zu medium blocks, expected %zu", when, medium, want_medium);
    CHECKF(m.bytes == want_medium_bytes, "%s: %zu medium bytes, expected %zu", when, m.bytes, want_medium_bytes);
    CHECK(m.block_size == 256 && m.pages >= 1 && m.page_bytes == m.pages * (1u << 20) && m.waste == m.page_bytes - m.bytes);
    total += medium;
    struct mapalloc_stats s;
    mapalloc_stats_get(&s);
    CHECKF(s.in_use_blocks == total + s.large_blocks, "%s: totals say %zu blocks, classes and medium %zu + %zu large", when,
           s.in_use_blocks, total, s.large_blocks);
}

static int cmd_classes(void) {
    size_t size[GROUPS], count[GROUPS];
    for (size_t g = 0; g < GROUPS; g++) {
        blocks[g] = calloc(groups[g].count, sizeof(void *));
        for (size_t i = 0; i < groups[g].count; i++) {
            blocks[g][i] = mapalloc_malloc(groups[g].request);
            if (!blocks[g][i]) { perror("mapalloc_malloc"); return 1; }
        }
        /* The block size, from the allocator's other interface. */
        size[g] = mapalloc_usable_size(blocks[g][0]);
        count[g] = groups[g].count;
    }
    expect_classes("after allocating", size, count, GROUPS);

    for (int i = 500; i < 1000; i++) mapalloc_free(blocks[0][i]); /* the owner frees half */
    count[0] = 500;
    expect_classes("after the owner freed 500", size, count, GROUPS);

    pthread_t t; /* another thread frees 100: pending on the pages' thread_free lists */
    pthread_create(&t, NULL, free_some, blocks[0]);
    pthread_join(t, NULL);
    count[0] = 400;
    expect_classes("after another thread freed 100", size, count, GROUPS);

    /* Medium blocks freed by another thread wait on their page's list:
     * neither their blocks nor their bytes count as live. */
    pthread_create(&t, NULL, free_five, blocks[2]);
    pthread_join(t, NULL);
    count[2] = groups[2].count - 5;
    expect_classes("after another thread freed 5 medium blocks", size, count, GROUPS);

    printf("EXPECT {");
    for (size_t g = 0; g < GROUPS; g++) printf("%s\"%zu\": %zu", g ? ", " : "", size[g], count[g]);
    printf("}\n");
    size_t need = mapalloc_stats_json(NULL, 0);
    char *json = malloc(need + 1);
    size_t again = mapalloc_stats_json(json, need + 1);
    CHECK(again == need && strlen(json) == need);
    char tiny[10];
    CHECK(mapalloc_stats_json(tiny, sizeof tiny) == need && strlen(tiny) == sizeof tiny - 1);
    printf("JSON %s", json);
    free(json);
    return failures != 0;
}

/* ---- kernel ---- */

struct range {
    uintptr_t lo, hi;
};
static struct range ours[4096];
static size_t nours;

static void add_range(uintptr_t lo, uintptr_t hi) {
    for (size_t i = 0; i < nours; i++)
        if (ours[i].lo == lo) return;
    if (nours < sizeof ours / sizeof ours[0]) ours[nours++] = (struct range){lo, hi};
}

/* Rss (bytes) of the mappings that overlap our ranges, from /proc/self/smaps.
 * A mapping that reaches outside them (the kernel merged it with a neighbour)
 * is counted in proportion to the overlap; *partial counts those. */
static size_t rss_of_ours(size_t *partial) {
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f) { perror("/proc/self/smaps"); exit(1); }
    char line[512];
    uintptr_t lo = 0, hi = 0;
    size_t overlap = 0, total = 0;
    *partial = 0;
    while (fgets(line, sizeof line, f)) {
        uintptr_t a, b;
        unsigned long kb;
        if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " ", &a, &b) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            lo = a, hi = b, overlap = 0;
            for (size_t i = 0; i < nours; i++) {
                uintptr_t x = ours[i].lo > lo ? ours[i].lo : lo, y = ours[i].hi < hi ? ours[i].hi : hi;
                if (y > x) overlap += y - x;
            }
        } else if (overlap && sscanf(line, "Rss: %lu kB", &kb) == 1) {
            size_t rss = (size_t)kb * 1024;
            if (overlap < hi - lo) {
                (*partial)++;
                rss = (size_t)((double)rss * (double)overlap / (double)(hi - lo));
            }
            total += rss;
        }
    }
    fclose(f);
    return total;
}

static int cmd_kernel(void) {
    /* Blocks that fill whole pages, every byte written: what is committed is
     * resident. 12 MiB of 64-byte blocks and six 1 MiB large blocks (below
     * the 4 MiB from which large blocks get transparent huge pages). */
    enum { SMALL = (12 << 20) / 64, LARGE = 6 };
    void **small = calloc(SMALL, sizeof(void *));
    void *large[LARGE];
    for (size_t i = 0; i < SMALL; i++) {
        small[i] = mapalloc_malloc(64);
        if (!small[i]) return 1;
        memset(small[i], 0x5a, 64);
        uintptr_t base = (uintptr_t)small[i] & ~(uintptr_t)((4u << 20) - 1);
        add_range(base, base + (4u << 20));
    }
    for (size_t i = 0; i < LARGE; i++) {
        large[i] = mapalloc_malloc(1 << 20);
        if (!large[i]) return 1;
        memset(large[i], 0xa5, 1 << 20);
        add_range((uintptr_t)large[i], (uintptr_t)large[i] + mapalloc_usable_size(large[i]) + 4096);
    }
    struct mapalloc_stats s;
    mapalloc_stats_get(&s);
    size_t partial, rss = rss_of_ours(&partial);
    printf("live: committed %zu bytes, kernel Rss of our %zu ranges %zu bytes (%zu mappings shared with others)\n",
           s.committed, nours, rss, partial);
    /* committed counts whole pages handed to a size class, metadata (heap
     * structures, the large-block table: outside our ranges) and the guard
     * page of each large block (never resident): a little above Rss. */
    CHECKF(rss <= s.committed + s.committed / 10, "Rss %zu above committed %zu + 10%%", rss, s.committed);
    CHECKF(rss >= s.committed - s.committed / 10, "Rss %zu below committed %zu - 10%%", rss, s.committed);

    for (size_t i = 0; i < SMALL; i++) mapalloc_free(small[i]);
    for (size_t i = 0; i < LARGE; i++) mapalloc_free(large[i]);
    mapalloc_trim(0);
    mapalloc_stats_get(&s);
    rss = rss_of_ours(&partial);
    printf("after free and trim: committed %zu bytes, kernel Rss of those ranges %zu bytes\n", s.committed, rss);
    /* Everything was given back: both figures fall to (almost) nothing. */
    CHECKF(s.committed < (1u << 20), "committed %zu after trim", s.committed);
    CHECKF(rss <= s.committed, "Rss %zu of our old ranges above committed %zu after trim", rss, s.committed);
    free(small);
    return failures != 0;
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: %s get|api|classes|kernel|large\n", argv[0]); return 2; }
    if (!strcmp(argv[1], "get")) return cmd_get();
    if (!strcmp(argv[1], "api")) return cmd_api();
    if (!strcmp(argv[1], "classes")) return cmd_classes();
    if (!strcmp(argv[1], "kernel")) return cmd_kernel();
    if (!strcmp(argv[1], "large")) {
        char *p = mapalloc_malloc(1 << 20); /* a large block does not start the allocator */
        if (!p) return 1;
        p[0] = 1;
        mapalloc_free(p);
        return 0;
    }
    fprintf(stderr, "unknown test %s\n", argv[1]);
    return 2;
}
