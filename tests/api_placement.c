/* api_placement.c: the promises of where blocks and heaps are placed:
 * fresh and reused blocks in address order (secure mode: not), and every
 * heap in one random window. Part of the api test programs (api.c runs
 * them by name).
 */
#define _GNU_SOURCE
#define TESTUTIL_SHARED_FAILURES
#include "mapalloc.h"
#ifdef API_STANDARD_NAMES
#include "std_names.h"
#endif
#include "api_parts.h"
#include "testutil.h"

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>

/* A fresh heap hands out a class's blocks side by side in address order, so
 * that objects built one after another are walked as one stream (page.c).
 * Secure mode hands them out in an order not predictable from the previous
 * block: not address order. */
static void fresh_blocks_of(size_t size, bool secure) {
    enum { N = 200 };
    mapalloc_heap *h = mapalloc_heap_create();
    REQUIRE(h);
    char *p[N];
    for (int i = 0; i < N; i++) REQUIRE(p[i] = mapalloc_heap_malloc(h, size));
    /* The next block up: one block size on (secure mode's usable size is
     * the request, and its class at most a quarter more). */
    size_t step = mapalloc_usable_size(p[0]);
    int in_order = 0;
    for (int i = 1; i < N; i++) in_order += p[i] > p[i - 1] && (size_t)(p[i] - p[i - 1]) <= step + step / 4 + 16;
    if (secure)
        CHECKF(in_order < N / 4, "secure mode, %zu bytes: %d of %d blocks follow the previous one", size, in_order, N - 1);
    else
        /* Only a new 64 KiB page breaks the run (every 21 blocks of 3000 bytes). */
        CHECKF(in_order >= (size <= 64 ? N - 1 : N * 9 / 10), "%zu bytes: %d of %d blocks follow the previous one", size,
               in_order, N - 1);
    for (int i = 0; i < N; i++) mapalloc_heap_free(h, p[i]);
    mapalloc_heap_destroy(h);
}

void fresh_heap_blocks_come_in_address_order(void) {
    bool secure = getenv("MAPALLOC_SECURE") && strcmp(getenv("MAPALLOC_SECURE"), "1") == 0;
    fresh_blocks_of(48, secure);
    fresh_blocks_of(1500, secure); /* classes with few blocks to an OS page */
    fresh_blocks_of(3000, secure);
}

/* Every heap's first region lies in one 8 GiB window between 32 and 96 TiB
 * (region.c region_hint), so that the heaps' entries of the region map share
 * one page: a window per heap cost each thread 8 KiB more resident memory.
 * The window is drawn from the process's secret: three runs of this test
 * binary must not all use the same one (a false alarm needs two repeats of
 * 1 in 8192). A slot another heap took already sends a region elsewhere, so
 * the test asks for the window of all but two of eight heaps. Nor may the
 * heaps' slots relative to each other repeat: they are keyed by the secret
 * too, so one heap's address does not tell the others'. Sanitizer
 * builds let the kernel place every region. */
#if defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define API_UNDER_SANITIZER 1
#endif
#endif
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define API_UNDER_SANITIZER 1
#endif
/* The 8 GiB window most of eight fresh heaps' first blocks lie in; *count:
 * how many do; *pattern: the heaps' 4 MiB slots relative to the first one's. */
static uintptr_t placement_window(int *count, uint64_t *pattern) {
    enum { N = 8 };
    mapalloc_heap *h[N];
    uintptr_t p[N];
    for (int i = 0; i < N; i++) {
        REQUIRE(h[i] = mapalloc_heap_create());
        void *b = mapalloc_heap_malloc(h[i], 64);
        REQUIRE(b);
        p[i] = (uintptr_t)b;
    }
    uintptr_t window = 0;
    *count = 0;
    for (int i = 0; i < N; i++) {
        int same = 0;
        for (int j = 0; j < N; j++) same += p[j] >> 33 == p[i] >> 33;
        if (same > *count) { *count = same; window = p[i] >> 33 << 33; }
    }
    *pattern = 0;
    for (int i = 1; i < N; i++) *pattern = *pattern * 2048 + (((p[i] ^ p[0]) >> 22) & 2047);
    for (int i = 0; i < N; i++) {
        mapalloc_heap_free(h[i], (void *)p[i]);
        mapalloc_heap_destroy(h[i]);
    }
    return window;
}

void heaps_share_one_placement_window(void) {
    int count;
    uint64_t pattern;
    uintptr_t window = placement_window(&count, &pattern);
    if (getenv("API_PRINT_WINDOW")) { /* a child run, below */
        printf("window %#lx %#llx\n", (unsigned long)window, (unsigned long long)pattern);
        return;
    }
#ifdef API_UNDER_SANITIZER
    (void)window;
    printf("(sanitizer build: regions are placed by the kernel; nothing to check)\n");
#else
    CHECKF(count >= 6, "only %d of 8 heaps in one 8 GiB window", count);
    CHECKF(window >= (uintptr_t)32 << 40 && window < (uintptr_t)96 << 40, "window at %#lx, not in 32..96 TiB",
           (unsigned long)window);
    char exe[PATH_MAX], cmd[PATH_MAX + 128];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    REQUIRE(len > 0);
    exe[len] = '\0';
    snprintf(cmd, sizeof cmd, "API_PRINT_WINDOW=1 '%s' heaps_share_one_placement_window", exe);
    unsigned long seen[3];
    unsigned long long layout[3];
    for (int run = 0; run < 3; run++) {
        FILE *f = popen(cmd, "r");
        REQUIRE(f);
        char line[256];
        seen[run] = 0;
        layout[run] = 0;
        while (fgets(line, sizeof line, f)) sscanf(line, "window %lx %llx", &seen[run], &layout[run]);
        CHECKF(pclose(f) == 0, "child run %d failed", run);
        CHECKF(seen[run] != 0, "child run %d printed no window", run);
    }
    CHECKF(seen[0] != seen[1] || seen[1] != seen[2], "three processes all placed their heaps at %#lx", seen[0]);
    /* Nor the heaps' places relative to each other: one heap's address
     * must not tell where the others are. */
    CHECKF(layout[0] != layout[1] || layout[1] != layout[2], "three processes laid their heaps out alike (%#llx)",
           layout[0]);
#endif
}

/* A page taken up again after frees hands its free blocks out in address
 * order, not in the order they were freed (page.c page_sort_free). In a
 * fresh thread (a fresh heap): fill three pages of 48-byte blocks, free all
 * but one block of the first in a shuffled order, then allocate them again:
 * once the class cache (which keeps the last frees, newest first) is used
 * up, each block from the first page follows the previous one upwards. */
enum { REUSE_SIZE = 48, REUSE_PER_PAGE = 65536 / REUSE_SIZE, REUSE_N = 3 * REUSE_PER_PAGE };
static char *reuse_p[REUSE_N];

static void *reuse_thread(void *arg) {
    (void)arg;
    for (int i = 0; i < REUSE_N; i++) REQUIRE(reuse_p[i] = mapalloc_malloc(REUSE_SIZE));
    char *lo = reuse_p[0], *hi = reuse_p[0] + 65536;
    static int order[REUSE_PER_PAGE];
    int n = 0;
    for (int i = 1; i < REUSE_N; i++)
        if (reuse_p[i] >= lo && reuse_p[i] < hi) order[n++] = i;
    rng_t r = {99};
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rng_range(&r, 0, (uint64_t)i), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (int i = 0; i < n; i++) mapalloc_free(reuse_p[order[i]]);
    int up = 0, pairs = 0;
    char *prev = NULL;
    for (int i = 0; i < n; i++) {
        char *q = mapalloc_malloc(REUSE_SIZE);
        REQUIRE(q);
        reuse_p[order[i]] = q;
        if (q >= lo && q < hi) {
            if (prev) { pairs++; up += q > prev; }
            prev = q;
        }
    }
    CHECKF(pairs > n / 2, "only %d of %d blocks came back from the first page", pairs + 1, n);
    CHECKF(up >= pairs * 9 / 10, "%d of %d blocks followed the previous one upwards", up, pairs);
    for (int i = 0; i < REUSE_N; i++) mapalloc_free(reuse_p[i]);
    return NULL;
}

void reused_page_hands_out_blocks_in_address_order(void) {
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, reuse_thread, NULL) == 0);
    REQUIRE(pthread_join(t, NULL) == 0);
}
