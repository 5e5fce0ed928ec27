/* thread_exit.c: threads exit with blocks still live; another thread (the
 * main thread, or a long-lived freeing thread) frees them later, and the dead
 * threads' memory is reused: over hundreds of rounds of create-allocate-exit,
 * neither the allocator's figures (heaps, reserved, committed) nor the RSS
 * keep growing. Run with LD_PRELOAD=libmapalloc.so.
 * Usage: thread_exit main|freer
 */
#define _GNU_SOURCE
#include "../preload_check.h"
#include "../testutil.h"
#include "mapalloc.h"

#include <pthread.h>
#include <stdbool.h>

enum { THREADS = 3, BLOCKS = 300, ROUNDS = 300, WARMUP = 30 };

struct job { unsigned char *p[BLOCKS]; size_t n[BLOCKS]; uint64_t seed; };
static struct job jobs[THREADS];

static void *allocating_thread(void *arg) {
    struct job *j = arg;
    rng_t r = {j->seed};
    for (int i = 0; i < BLOCKS; i++) {
        size_t k = rng_below(&r, 100);
        j->n[i] = k < 90 ? rng_range(&r, 1, 1024) : k < 99 ? rng_range(&r, 1025, 100000) : rng_range(&r, 200000, 2 * MiB);
        j->p[i] = malloc(j->n[i]);
        if (!j->p[i]) return (void *)1;
        pattern_fill(j->p[i], j->n[i], j->seed + (uint64_t)i);
    }
    /* Also a few blocks this thread frees itself, so its heap has free
     * blocks and partly used pages when it dies. */
    for (int i = 0; i < 50; i++) free(malloc((size_t)i * 40 + 1));
    return NULL;
}

static size_t corrupt;

static void free_jobs(void) {
    for (int t = 0; t < THREADS; t++)
        for (int i = 0; i < BLOCKS; i++) {
            if (pattern_check(jobs[t].p[i], jobs[t].n[i], jobs[t].seed + (uint64_t)i) != (size_t)-1) corrupt++;
            free(jobs[t].p[i]);
        }
}

/* The long-lived freeing thread: frees each round's blocks on request. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int pending; /* 1: jobs hold blocks to free; -1: stop */

static void *freeing_thread(void *arg) {
    (void)arg;
    pthread_mutex_lock(&lock);
    for (;;) {
        while (pending == 0) pthread_cond_wait(&cond, &lock);
        if (pending < 0) break;
        free_jobs();
        pending = 0;
        pthread_cond_broadcast(&cond);
    }
    pthread_mutex_unlock(&lock);
    return NULL;
}

int main(int argc, char **argv) {
    REQUIRE(argc == 2 && (strcmp(argv[1], "main") == 0 || strcmp(argv[1], "freer") == 0));
    bool by_freer = strcmp(argv[1], "freer") == 0;
    require_mapalloc();
    void (*stats_get)(struct mapalloc_stats *) = (void (*)(struct mapalloc_stats *))preload_symbol("mapalloc_stats_get");
    pthread_t freer;
    if (by_freer) REQUIRE(pthread_create(&freer, NULL, freeing_thread, NULL) == 0);

    struct mapalloc_stats base = {0}, now = {0};
    size_t rss_base = 0;
    for (int round = 0; round < ROUNDS; round++) {
        pthread_t t[THREADS];
        for (int i = 0; i < THREADS; i++) {
            jobs[i].seed = (uint64_t)round * 1000 + (uint64_t)i * 7;
            REQUIRE(pthread_create(&t[i], NULL, allocating_thread, &jobs[i]) == 0);
        }
        for (int i = 0; i < THREADS; i++) {
            void *res;
            REQUIRE(pthread_join(t[i], &res) == 0);
            REQUIRE(res == NULL);
        }
        /* Every allocating thread has exited; its blocks are freed now. */
        if (by_freer) {
            pthread_mutex_lock(&lock);
            pending = 1;
            pthread_cond_broadcast(&cond);
            while (pending != 0) pthread_cond_wait(&cond, &lock);
            pthread_mutex_unlock(&lock);
        } else {
            free_jobs();
        }
        if (round == WARMUP) {
            if (stats_get) stats_get(&base);
            rss_base = rss_bytes();
        }
    }
    if (by_freer) {
        pthread_mutex_lock(&lock);
        pending = -1;
        pthread_cond_broadcast(&cond);
        pthread_mutex_unlock(&lock);
        REQUIRE(pthread_join(freer, NULL) == 0);
    }
    size_t rss_end = rss_bytes();
    CHECKF(corrupt == 0, "%zu corrupt blocks", corrupt);
    /* Each round allocates about 3 x (300 blocks, a few MiB): leaked heaps
     * would add hundreds of MiB over the rounds. */
    CHECKF(rss_end < rss_base + 64 * MiB, "RSS grew from %zu to %zu KiB", rss_base / KiB, rss_end / KiB);
    if (stats_get) {
        stats_get(&now);
        CHECKF(now.heaps <= base.heaps + THREADS, "heaps grew from %zu to %zu", base.heaps, now.heaps);
        CHECKF(now.reserved <= base.reserved + 64 * MiB, "reserved grew from %zu to %zu MiB",
               base.reserved / MiB, now.reserved / MiB);
        CHECKF(now.regions <= base.regions + 8, "regions grew from %zu to %zu", base.regions, now.regions);
        CHECKF(now.committed <= base.committed + 64 * MiB, "committed grew from %zu to %zu MiB",
               base.committed / MiB, now.committed / MiB);
        printf("after %d rounds: heaps %zu -> %zu, regions %zu -> %zu, reserved %zu -> %zu MiB\n", ROUNDS,
               base.heaps, now.heaps, base.regions, now.regions, base.reserved / MiB, now.reserved / MiB);
    }
    printf("RSS after warm-up %zu KiB, at the end %zu KiB; %d threads exited with live blocks\n",
           rss_base / KiB, rss_end / KiB, ROUNDS * THREADS);
    return check_failures ? 1 : 0;
}
