/* api_medium.c: the promises of medium blocks (above 4 KiB up to the large
 * threshold: exact fit in 256-byte granules, src/alloc/medium.c) and of the
 * committed count of a destroyed first-class heap. Part of the api test
 * programs: api.c runs them by name, like its own (see api.c's header for
 * the builds).
 */
#define _GNU_SOURCE
#define TESTUTIL_SHARED_FAILURES
#include "mapalloc.h"
#ifdef API_STANDARD_NAMES
#include "std_names.h"
#endif
#include "api_parts.h"
#include "testutil.h"

#include <pthread.h>
#include <stdbool.h>

static bool secure_mode(void) {
    char v[8];
    return mapalloc_option_get("secure", v, sizeof v) > 0 && v[0] == '1';
}

static size_t round_granule(size_t n) { return (n + 255) & ~(size_t)255; }

/* Run fn in a new thread: a heap of its own, fresh. */
static void in_new_thread(void *(*fn)(void *)) {
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, fn, NULL) == 0);
    REQUIRE(pthread_join(t, NULL) == 0);
}

/* A fresh heap places medium blocks exact fit (256-byte granules), side by
 * side: each starts where the one before ends, so their ends share OS pages
 * with their neighbours' starts. (Secure mode: size classes.) */
static void *medium_packed_thread(void *arg) {
    (void)arg;
    enum { N = 200 };
    static char *p[N];
    uint64_t x = 0x9E3779B97F4A7C15u;
    int adjacent = 0;
    for (int i = 0; i < N; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t n = 4097 + (size_t)(x % 60000);
        p[i] = mapalloc_malloc(n);
        REQUIRE(p[i]);
        memset(p[i], i, n);
        size_t u = mapalloc_usable_size(p[i]);
        CHECKF(u == round_granule(n), "malloc(%zu): usable size %zu, want %zu", n, u, round_granule(n));
        CHECKF(((uintptr_t)p[i] & 255) == 0, "medium block %p not granule-aligned", (void *)p[i]);
        if (i && p[i] == p[i - 1] + mapalloc_usable_size(p[i - 1])) adjacent++;
    }
    /* Only a new 1 MiB page breaks the run: about 1 in 30 here. */
    CHECKF(adjacent >= N * 8 / 10, "only %d of %d medium blocks followed the previous one", adjacent, N - 1);
    for (int i = 0; i < N; i++)
        for (size_t k = 0; k < mapalloc_usable_size(p[i]) && k < 4096; k += 512)
            CHECKF(p[i][k] == (char)i, "medium block %d overwritten", i);
    for (int i = 0; i < N; i++) mapalloc_free(p[i]);
    return NULL;
}

void medium_blocks_are_exact_fit_and_packed(void) {
    if (!secure_mode()) in_new_thread(medium_packed_thread);
}

/* realloc of a medium block grows into the free granules after it without
 * moving, and a shrink gives its tail back for the next block. */
static void *medium_resize_thread(void *arg) {
    (void)arg;
    char *p = mapalloc_malloc(10000);
    REQUIRE(p);
    memset(p, 0x5a, 10000);
    char *q = mapalloc_realloc(p, 60000);
    CHECKF(q == p, "realloc 10000 -> 60000 moved the block (%p -> %p)", (void *)p, (void *)q);
    REQUIRE(q);
    CHECK(mapalloc_usable_size(q) == round_granule(60000));
    for (int i = 0; i < 10000; i++) CHECKF(q[i] == 0x5a, "byte %d lost growing", i);
    memset(q + 10000, 0x6b, 50000);
    char *r = mapalloc_realloc(q, 5000);
    CHECKF(r == q && mapalloc_usable_size(r) == round_granule(5000), "shrink to 5000: %p (%zu bytes)", (void *)r,
           r ? mapalloc_usable_size(r) : 0);
    for (int i = 0; i < 5000; i++) CHECKF(r[i] == 0x5a, "byte %d lost shrinking", i);
    char *s = mapalloc_malloc(20000);
    CHECKF(s == r + round_granule(5000), "the next block %p did not take the freed tail at %p", (void *)s,
           (void *)(r + round_granule(5000)));
    /* Growth blocked by s: realloc moves, keeping the contents. */
    char *t = mapalloc_realloc(r, 30000);
    REQUIRE(t);
    CHECK(t != r);
    for (int i = 0; i < 5000; i++) CHECKF(t[i] == 0x5a, "byte %d lost moving", i);
    mapalloc_free(s);
    mapalloc_free(t);
    return NULL;
}

void medium_realloc_resizes_in_place(void) {
    if (!secure_mode()) in_new_thread(medium_resize_thread);
}

/* Medium blocks freed by another thread go back to their owner's pages,
 * which reuses them: no new page for the same blocks again. */
enum { MED_N = 48 };
static void *med_blocks[MED_N];
static void *medium_free_all(void *arg) {
    (void)arg;
    for (int i = 0; i < MED_N; i++) mapalloc_free(med_blocks[i]);
    return NULL;
}

static void *medium_owner_thread(void *arg) {
    (void)arg;
    struct mapalloc_class_stats m0, m1, m2;
    mapalloc_stats_medium(&m0);
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < MED_N; i++) {
            med_blocks[i] = mapalloc_malloc(20000 + (size_t)i * 100);
            REQUIRE(med_blocks[i]);
            memset(med_blocks[i], i, 20000);
        }
        if (round == 0) mapalloc_stats_medium(&m1);
        pthread_t t;
        REQUIRE(pthread_create(&t, NULL, medium_free_all, NULL) == 0);
        REQUIRE(pthread_join(t, NULL) == 0);
    }
    mapalloc_stats_medium(&m2);
    CHECKF(m2.pages <= m1.pages, "medium pages %zu -> %zu -> %zu: the other thread's frees were not reused",
           m0.pages, m1.pages, m2.pages);
    CHECKF(m1.blocks >= m0.blocks + MED_N, "medium blocks %zu -> %zu", m0.blocks, m1.blocks);
    return NULL;
}

void medium_blocks_freed_by_other_threads_are_reused(void) {
    if (!secure_mode()) in_new_thread(medium_owner_thread);
}

/* The whole OS pages of free runs between live medium blocks go back to
 * the kernel (after the purge delay, or at once with trim). */
static void *medium_purge_thread(void *arg) {
    (void)arg;
    enum { N = 64, SIZE = 60000 };
    static char *p[N];
    for (int i = 0; i < N; i++) {
        p[i] = mapalloc_malloc(SIZE);
        REQUIRE(p[i]);
        memset(p[i], 1, SIZE);
    }
    struct mapalloc_stats before, after;
    for (int i = 0; i < N; i++)
        if (i % 8) mapalloc_free(p[i]); /* every page keeps live blocks */
    mapalloc_stats_get(&before);
    mapalloc_trim(0);
    mapalloc_stats_get(&after);
    size_t freed = (size_t)N / 8 * 7 * SIZE;
    CHECKF(before.committed - after.committed >= freed * 3 / 4 && after.purged - before.purged >= freed * 3 / 4,
           "freed %zu bytes of medium blocks between live ones; trim: committed %zu -> %zu, purged +%zu", freed,
           before.committed, after.committed, after.purged - before.purged);
    for (int i = 0; i < N; i += 8)
        for (int k = 0; k < SIZE; k += 4096) CHECKF(p[i][k] == 1, "live medium block %d lost its contents", i);
    for (int i = 0; i < N; i += 8) mapalloc_free(p[i]);
    return NULL;
}

void medium_free_runs_go_back_to_the_kernel(void) {
    if (!secure_mode()) in_new_thread(medium_purge_thread);
}

/* A loop that allocates and frees one medium block keeps its page, even
 * when it is not the heap's first: no page set up and given back (and, with
 * purge delay 0, advised away) each turn. */
static void *medium_loop_thread(void *arg) {
    (void)arg;
    enum { FILL = 8, TURNS = 1000 };
    char delay[32];
    REQUIRE(mapalloc_option_get("purge_delay_ms", delay, sizeof delay) > 0);
    REQUIRE(mapalloc_option_set("purge_delay_ms", "0") == 0);
    /* The first 1 MiB page left with a 50 KiB run: it stays first, and
     * the loop's 100 000 bytes go to a second page. */
    void *fill[FILL];
    for (int i = 0; i < FILL; i++) REQUIRE(fill[i] = mapalloc_malloc(i < FILL - 1 ? 128 << 10 : 78 << 10));
    struct mapalloc_stats before, after;
    mapalloc_stats_get(&before);
    for (int i = 0; i < TURNS; i++) {
        char *p = mapalloc_malloc(100000);
        REQUIRE(p);
        p[0] = p[99999] = 1;
        mapalloc_free(p);
    }
    mapalloc_stats_get(&after);
    size_t calls = (size_t)(after.madvise_calls - before.madvise_calls + after.mmap_calls - before.mmap_calls);
    /* A page given back each turn makes TURNS calls; maintenance (each
     * millisecond with purge delay 0) may purge the freed run a few times. */
    CHECKF(calls < TURNS / 10, "%d malloc/free turns of one medium block made %zu mmap and madvise calls", TURNS, calls);
    for (int i = 0; i < FILL; i++) mapalloc_free(fill[i]);
    REQUIRE(mapalloc_option_set("purge_delay_ms", delay) == 0);
    return NULL;
}

void medium_malloc_free_loop_keeps_its_page(void) {
    if (!secure_mode()) in_new_thread(medium_loop_thread);
}

/* Destroying a first-class heap takes its pages off the committed count
 * exactly, medium pages whose free runs were purged before included. */
static size_t committed_now(void) {
    struct mapalloc_stats s;
    mapalloc_stats_get(&s);
    return s.committed;
}

void destroying_a_first_class_heap_returns_its_committed_bytes(void) {
    enum { N = 40, SIZE = 24 << 10 };
    char delay[32];
    REQUIRE(mapalloc_option_get("purge_delay_ms", delay, sizeof delay) > 0);
    REQUIRE(mapalloc_option_set("purge_delay_ms", "0") == 0); /* maintenance purges at once */
    mapalloc_free(mapalloc_malloc(16));
    size_t before = committed_now();
    mapalloc_heap *h = mapalloc_heap_create();
    REQUIRE(h);
    static char *p[N];
    for (int i = 0; i < N; i++) {
        p[i] = mapalloc_heap_malloc(h, SIZE);
        REQUIRE(p[i]);
        memset(p[i], 1, SIZE);
    }
    for (int i = 0; i < N - 1; i++) mapalloc_free(p[i]); /* the last keeps the page */
    /* Enough slow calls for the heap's maintenance to purge the free runs. */
    for (int i = 0; i < 300; i++) mapalloc_heap_free(h, mapalloc_heap_malloc(h, 5000));
    mapalloc_heap_destroy(h);
    size_t after = committed_now();
    REQUIRE(mapalloc_option_set("purge_delay_ms", delay) == 0);
    CHECKF(after == before, "committed %zu before the heap, %zu after destroying it", before, after);
}
