/* tls_dtor.c: threads whose thread-specific-data destructors allocate and
 * free while the thread exits, possibly after the allocator's own exit hook
 * has run for that thread. Nothing crashes, every block is intact, and the
 * heaps of those threads are still reused: over hundreds of rounds the
 * number of heaps and the reserved memory stay bounded.
 * Run with LD_PRELOAD=libmapalloc.so.
 */
#define _GNU_SOURCE
#include "../preload_check.h"
#include "../testutil.h"
#include "mapalloc.h"

#include <pthread.h>
#include <stdatomic.h>

enum { ROUNDS = 300, THREADS = 3 };

static pthread_key_t keys[3];
static atomic_size_t corrupt, dtor_runs;

/* Keys created before and after the threads' first malloc, so that their
 * destructors run on both sides of the allocator's own. Each destructor
 * checks and frees the thread's block, then allocates and frees more. */
static void dtor(void *value) {
    unsigned char *p = value;
    if (pattern_check(p, 3000, 33) != (size_t)-1) atomic_fetch_add(&corrupt, 1);
    free(p);
    void *more[20];
    for (int i = 0; i < 20; i++) {
        more[i] = malloc((size_t)i * 500 + 1);
        if (!more[i]) atomic_fetch_add(&corrupt, 1);
        else memset(more[i], 0x3c, (size_t)i * 500 + 1);
    }
    for (int i = 0; i < 20; i++) free(more[i]);
    atomic_fetch_add(&dtor_runs, 1);
}

/* A block left for the main thread, allocated in the last destructor pass. */
static void *handed_over[ROUNDS][THREADS];
static __thread int round_of_thread, index_of_thread;

static void last_dtor(void *value) {
    (void)value;
    unsigned char *p = malloc(777);
    if (p) pattern_fill(p, 777, 44);
    handed_over[round_of_thread][index_of_thread] = p;
}

struct arg { int round, index; };

static void *thread_main(void *a) {
    const struct arg *arg = a;
    round_of_thread = arg->round;
    index_of_thread = arg->index;
    for (int k = 0; k < 3; k++) {
        unsigned char *p = malloc(3000);
        if (!p) return (void *)1;
        pattern_fill(p, 3000, 33);
        pthread_setspecific(keys[k], k == 2 ? (void *)1 : p);
        if (k == 2) free(p);
    }
    void *work[100];
    for (int i = 0; i < 100; i++) work[i] = malloc((size_t)i * 37 + 1);
    for (int i = 0; i < 100; i += 2) free(work[i]);
    for (int i = 1; i < 100; i += 2) free(work[i]);
    return NULL;
}

int main(void) {
    require_mapalloc();
    void (*stats_get)(struct mapalloc_stats *) = (void (*)(struct mapalloc_stats *))preload_symbol("mapalloc_stats_get");
    REQUIRE(pthread_key_create(&keys[0], dtor) == 0);
    free(malloc(10)); /* the allocator is certainly initialised now */
    REQUIRE(pthread_key_create(&keys[1], dtor) == 0);
    REQUIRE(pthread_key_create(&keys[2], last_dtor) == 0);
    struct mapalloc_stats base = {0}, now = {0};
    struct arg args[THREADS];
    for (int round = 0; round < ROUNDS; round++) {
        pthread_t t[THREADS];
        for (int i = 0; i < THREADS; i++) {
            args[i] = (struct arg){round, i};
            REQUIRE(pthread_create(&t[i], NULL, thread_main, &args[i]) == 0);
        }
        for (int i = 0; i < THREADS; i++) {
            void *res;
            REQUIRE(pthread_join(t[i], &res) == 0 && res == NULL);
        }
        for (int i = 0; i < THREADS; i++) {
            unsigned char *p = handed_over[round][i];
            CHECKF(p != NULL, "round %d: no block from the exiting thread's destructor", round);
            if (p && pattern_check(p, 777, 44) != (size_t)-1) atomic_fetch_add(&corrupt, 1);
            free(p);
        }
        if (round == 20 && stats_get) stats_get(&base);
    }
    CHECKF(atomic_load(&corrupt) == 0, "%zu corrupt or failed blocks", atomic_load(&corrupt));
    CHECKF(atomic_load(&dtor_runs) == 2 * ROUNDS * THREADS, "%zu destructor runs", atomic_load(&dtor_runs));
    if (stats_get) {
        stats_get(&now);
        CHECKF(now.heaps <= base.heaps + THREADS, "heaps grew from %zu to %zu", base.heaps, now.heaps);
        CHECKF(now.reserved <= base.reserved + 64 * MiB, "reserved grew from %zu to %zu MiB", base.reserved / MiB,
               now.reserved / MiB);
        printf("after %d rounds: heaps %zu -> %zu, reserved %zu -> %zu MiB\n", ROUNDS, base.heaps, now.heaps,
               base.reserved / MiB, now.reserved / MiB);
    }
    printf("tls destructors: %zu runs allocated and freed while their threads exited\n", atomic_load(&dtor_runs));
    return check_failures ? 1 : 0;
}
