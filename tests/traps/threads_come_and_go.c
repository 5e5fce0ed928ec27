/* threads_come_and_go: rounds of four short-lived threads, each allocating
 * 30 000 small blocks and leaving 1 in 200 alive when it exits; between
 * rounds the main thread, which has a heap of its own, allocates a block of
 * a size the workers never use. New threads adopt the exited threads' heaps
 * and reuse their half-empty pages; the main thread must not take their
 * regions for sizes they have no room for (heap_reclaim), or every round
 * would map fresh regions. Checks committed memory and the region count at
 * the end against bounds well above what the program needs (3 MiB and 5
 * regions measured) and well below what the pull costs (13.5 MiB, 96).
 * Links the core (prefixed API).
 */
#include "mapalloc.h"
#include "testutil.h"

#include <pthread.h>

enum { ROUNDS = 60, THREADS = 4, BLOCKS = 30000, KEEP = ROUNDS * THREADS * (BLOCKS / 200) };
static void *keep[KEEP];
static int kept;
static pthread_mutex_t keep_lock = PTHREAD_MUTEX_INITIALIZER;

static void *worker(void *arg) {
    (void)arg;
    static __thread void *tmp[BLOCKS];
    for (int i = 0; i < BLOCKS; i++) REQUIRE(tmp[i] = mapalloc_malloc(32 + (size_t)(i % 8) * 16));
    pthread_mutex_lock(&keep_lock);
    for (int i = 0; i < BLOCKS; i++) {
        if (i % 200 == 0) keep[kept++] = tmp[i];
        else mapalloc_free(tmp[i]);
    }
    pthread_mutex_unlock(&keep_lock);
    return NULL;
}

int main(void) {
    void *mine[ROUNDS + 1];
    REQUIRE(mine[0] = mapalloc_malloc(100));
    for (int round = 0; round < ROUNDS; round++) {
        pthread_t t[THREADS];
        for (int i = 0; i < THREADS; i++) REQUIRE(pthread_create(&t[i], NULL, worker, NULL) == 0);
        for (int i = 0; i < THREADS; i++) REQUIRE(pthread_join(t[i], NULL) == 0);
        REQUIRE(mine[round + 1] = mapalloc_malloc(2000 + 1000 * (size_t)(round % 20)));
    }
    mapalloc_trim(0);
    struct mapalloc_stats s;
    mapalloc_stats_get(&s);
    printf("threads come and go: committed %zu KiB in %zu regions, %zu heaps, %d blocks kept\n",
           s.committed >> 10, (size_t)s.regions, (size_t)s.heaps, kept);
    CHECKF(s.committed < 8 * MiB, "committed %zu KiB", s.committed >> 10);
    CHECKF(s.regions <= 16, "%zu regions", (size_t)s.regions);
    for (int i = 0; i < kept; i++) mapalloc_free(keep[i]);
    for (int i = 0; i <= ROUNDS; i++) mapalloc_free(mine[i]);
    return check_failures ? 1 : 0;
}
