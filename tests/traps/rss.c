/* rss.c: after a program frees what it allocated, its RSS falls back.
 *   rss trim      free everything, malloc_trim(0): RSS drops at once;
 *   rss delay     free everything, then keep running (some allocation now
 *                 and then, as programs do) without calling malloc_trim:
 *                 within a few purge delays (up to a second each) RSS drops;
 *   rss thread    a thread allocates everything and exits; the main thread
 *                 frees it all and calls malloc_trim(0);
 *   rss idle      free everything and then make no call at all for up to
 *                 10 s (run with MAPALLOC_BACKGROUND_PURGE=1: the purger
 *                 thread must give the memory back on its own);
 *   rss reuse     a thread allocates everything and exits; the main thread,
 *                 which has a heap of its own, frees 7 of every 8 small
 *                 blocks (no page empties: a page holds 160 or more) and
 *                 allocates as much again: it must reuse the exited thread's
 *                 free space, not grow by what it allocates (bench/server's
 *                 peak).
 * "Drops" means at least 3/4 of what the allocations added is given back:
 * a generous tolerance. Run with LD_PRELOAD=libmapalloc.so.
 */
#define _GNU_SOURCE
#include "../preload_check.h"
#include "../testutil.h"

#include <malloc.h>
#include <pthread.h>
#include <time.h>

enum { SMALL = 300000, MEDIUM = 3000, LARGE = 24 };
static unsigned char *small[SMALL], *medium[MEDIUM], *large[LARGE];

/* About 60 MiB of small blocks, 100 MiB of medium ones, 100 MiB of large ones,
 * every page touched. */
static void *allocate_all(void *arg) {
    (void)arg;
    rng_t r = {42};
    for (int i = 0; i < SMALL; i++) {
        size_t n = rng_range(&r, 16, 400);
        if (!(small[i] = malloc(n))) return (void *)1;
        memset(small[i], 0x5a, n);
    }
    for (int i = 0; i < MEDIUM; i++) {
        size_t n = rng_range(&r, 2000, 64000);
        if (!(medium[i] = malloc(n))) return (void *)1;
        memset(medium[i], 0x5a, n);
    }
    for (int i = 0; i < LARGE; i++) {
        size_t n = rng_range(&r, 2 * MiB, 6 * MiB);
        if (!(large[i] = malloc(n))) return (void *)1;
        memset(large[i], 0x5a, n);
    }
    return NULL;
}

/* Free in an order that leaves no page empty until the very end. */
static void free_all(void) {
    for (int k = 0; k < 7; k++)
        for (int i = k; i < SMALL; i += 7) free(small[i]);
    for (int i = MEDIUM - 1; i >= 0; i--) free(medium[i]);
    for (int i = 0; i < LARGE; i++) free(large[i]);
}

/* rss reuse: free 7 of every 8 small blocks (and the rest), then allocate
 * the same small sizes again (allocate_all's sequence), every byte written. */
static void free_most(void) {
    for (int i = 0; i < SMALL; i++) if (i % 8) free(small[i]);
    for (int i = 0; i < MEDIUM; i++) free(medium[i]);
    for (int i = 0; i < LARGE; i++) free(large[i]);
}

static size_t allocate_most_again(void) {
    rng_t r = {42};
    size_t bytes = 0;
    for (int i = 0; i < SMALL; i++) {
        size_t n = rng_range(&r, 16, 400);
        if (i % 8 == 0) continue;
        REQUIRE(small[i] = malloc(n));
        memset(small[i], 0x5a, n);
        bytes += n;
    }
    return bytes;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int main(int argc, char **argv) {
    REQUIRE(argc == 2);
    require_mapalloc();
    const char *mode = argv[1];
    malloc_trim(0);
    size_t base = rss_bytes();
    if (strcmp(mode, "reuse") == 0) {
        free(malloc(100)); /* the main thread has a heap of its own */
        pthread_t t;
        void *res;
        REQUIRE(pthread_create(&t, NULL, allocate_all, NULL) == 0);
        REQUIRE(pthread_join(t, &res) == 0 && res == NULL);
        free_most();
        size_t before = rss_bytes();
        size_t bytes = allocate_most_again();
        size_t after = rss_bytes();
        printf("rss reuse: %zu MiB allocated again after freeing them in an exited thread's heap: "
               "RSS %zu -> %zu MiB\n", bytes / MiB, before / MiB, after / MiB);
        CHECKF(after < before + bytes / 4, "RSS grew by %zu MiB for %zu MiB allocated into freed space",
               (after - before) / MiB, bytes / MiB);
        return check_failures ? 1 : 0;
    }
    if (strcmp(mode, "thread") == 0) {
        pthread_t t;
        void *res;
        REQUIRE(pthread_create(&t, NULL, allocate_all, NULL) == 0);
        REQUIRE(pthread_join(t, &res) == 0 && res == NULL);
    } else {
        REQUIRE(allocate_all(NULL) == NULL);
    }
    size_t peak = rss_bytes();
    REQUIRE(peak > base + 200 * MiB); /* the allocations really were resident */
    free_all();
    size_t limit = base + (peak - base) / 4, now = rss_bytes();
    if (strcmp(mode, "delay") == 0) {
        /* Up to 10 s of a program that goes on working, lightly: every
         * 100 ms it allocates and frees about 3 MiB in blocks of all ranges. */
        static void *work[1000];
        rng_t r = {7};
        for (int tick = 0; tick < 100 && now >= limit; tick++) {
            sleep_ms(100);
            for (int i = 0; i < 1000; i++) work[i] = malloc(i % 500 == 0 ? 300 * KiB : rng_range(&r, 8, 4096));
            for (int i = 0; i < 1000; i++) free(work[i]);
            now = rss_bytes();
        }
    } else if (strcmp(mode, "idle") == 0) {
        for (int tick = 0; tick < 100 && now >= limit; tick++) {
            sleep_ms(100);
            now = rss_bytes(); /* reads /proc, allocates nothing through malloc */
        }
    } else {
        malloc_trim(0);
        now = rss_bytes();
    }
    printf("rss %s: base %zu MiB, peak %zu MiB, after free %zu MiB (limit %zu MiB)\n", mode, base / MiB, peak / MiB,
           now / MiB, limit / MiB);
    CHECKF(now < limit, "RSS did not fall back: %zu MiB of %zu MiB added still resident", (now - base) / MiB,
           (peak - base) / MiB);
    return check_failures ? 1 : 0;
}
