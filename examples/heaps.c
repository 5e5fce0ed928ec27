/* heaps: first-class heaps. A "request" allocates a few thousand objects of
 * mixed sizes (some large) from a heap of its own, from two threads at once;
 * the heap walk counts them; a few are freed one by one from another thread;
 * then destroying the heap gives everything back at once (committed memory
 * falls, the regions are unmapped). Exits non-zero if any promise fails.
 */
#include "mapalloc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PER_THREAD 3000

struct job {
    mapalloc_heap *heap;
    unsigned char *blocks[PER_THREAD];
    size_t sizes[PER_THREAD];
    int id;
};

static void *request(void *arg) {
    struct job *j = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        size_t n = (i % 500 == 0) ? (size_t)300000 : (size_t)(8 + (i * 37 + j->id * 11) % 3000);
        unsigned char *p = (i % 3 == 0) ? mapalloc_heap_calloc(j->heap, 1, n)
                         : (i % 3 == 1) ? mapalloc_heap_malloc(j->heap, n)
                                        : mapalloc_heap_aligned_alloc(j->heap, 64, n);
        if (!p) { fprintf(stderr, "allocation failed\n"); exit(1); }
        memset(p, j->id + 1, n);
        j->blocks[i] = p;
        j->sizes[i] = n;
    }
    return NULL;
}

struct tally { size_t blocks, bytes; };
static int count(void *block, size_t size, void *arg) {
    struct tally *t = arg;
    (void)block;
    t->blocks++;
    t->bytes += size;
    return 0;
}

int main(void) {
    struct mapalloc_stats before, during, after;
    mapalloc_stats_get(&before);
    mapalloc_heap *heap = mapalloc_heap_create();
    if (!heap) { perror("mapalloc_heap_create"); return 1; }
    static struct job jobs[2];
    pthread_t t[2];
    for (int k = 0; k < 2; k++) {
        jobs[k].heap = heap;
        jobs[k].id = k;
        pthread_create(&t[k], NULL, request, &jobs[k]);
    }
    for (int k = 0; k < 2; k++) pthread_join(t[k], NULL);

    struct tally tl = {0, 0};
    size_t live = mapalloc_heap_walk(heap, count, &tl);
    printf("heap walk: %zu live blocks, %zu usable bytes\n", live, tl.bytes);
    if (live != 2 * PER_THREAD || tl.blocks != live) { fprintf(stderr, "walk counted %zu, expected %d\n", live, 2 * PER_THREAD); return 1; }

    /* Free every tenth block one by one (here, not in the allocating thread). */
    size_t freed = 0;
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < PER_THREAD; i += 10) {
            for (size_t b = 0; b < jobs[k].sizes[i]; b++)
                if (jobs[k].blocks[i][b] != (unsigned char)(k + 1)) { fprintf(stderr, "block corrupted\n"); return 1; }
            mapalloc_heap_free(heap, jobs[k].blocks[i]);
            freed++;
        }
    live = mapalloc_heap_walk(heap, NULL, NULL);
    printf("after %zu single frees: %zu live blocks\n", freed, live);
    if (live != 2 * PER_THREAD - freed) return 1;

    mapalloc_stats_get(&during);
    mapalloc_heap_destroy(heap);
    mapalloc_stats_get(&after);
    printf("committed: %zu KiB before, %zu KiB with the heap, %zu KiB after destroy\n",
           before.committed >> 10, during.committed >> 10, after.committed >> 10);
    if (after.committed >= during.committed || after.regions >= during.regions) {
        fprintf(stderr, "destroy gave nothing back\n");
        return 1;
    }
    /* A destroyed heap's slot is reused by the next one. */
    mapalloc_heap *again = mapalloc_heap_create();
    void *p = mapalloc_heap_malloc(again, 100);
    if (!p || mapalloc_heap_walk(again, NULL, NULL) != 1) return 1;
    mapalloc_heap_destroy(again);
    puts("heaps ok");
    return 0;
}
