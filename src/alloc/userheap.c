/* userheap.c: first-class heaps (mapalloc_heap_*) and heap walking.
 * A first-class heap is a heap_t of its own (its own regions and region-map
 * tag) used under its lock by any thread: allocation from it and frees of
 * its blocks (by mapalloc_free from any thread) take the lock; nothing of it
 * is on any thread's fast path. Destroying it unmaps its regions and its
 * large blocks at once. Walking visits every live block.
 * May call: page.c (through the inline paths), region.c, large.c, heap.c.
 */
#include "internal.h"
#include "mapalloc.h"

#include <errno.h>
#include <string.h>

static heap_t *H(mapalloc_heap *uh) { return (heap_t *)uh; }

static void lock(heap_t *h) {
    pthread_mutex_lock(&h->adopt_lock);
    large_owner_tag = h->tag;
}

static void unlock(heap_t *h) {
    large_owner_tag = 0;
    pthread_mutex_unlock(&h->adopt_lock);
}

static void *heap_alloc_locked(heap_t *h, size_t n, size_t align) {
    if (opt_secure) return secure_malloc(h, n, align);
    if (align > MIN_ALIGN) return heap_alloc_aligned(h, n, align);
    return n <= DIRECT_MAX ? malloc_direct(h, n) : malloc_not_direct(h, n);
}

MAPALLOC_EXPORT mapalloc_heap *mapalloc_heap_create(void) { return (mapalloc_heap *)heap_new_user(); }

MAPALLOC_EXPORT void *mapalloc_heap_malloc(mapalloc_heap *uh, size_t n) {
    heap_t *h = H(uh);
    lock(h);
    void *p = heap_alloc_locked(h, n, 0);
    unlock(h);
    return p;
}

MAPALLOC_EXPORT void *mapalloc_heap_calloc(mapalloc_heap *uh, size_t count, size_t size) {
    size_t n;
    if (__builtin_mul_overflow(count, size, &n)) { errno = ENOMEM; return NULL; }
    void *p = mapalloc_heap_malloc(uh, n);
    if (p && n <= opt_large_threshold) memset(p, 0, n); /* large blocks are fresh zeros or zeroed */
    return p;
}

MAPALLOC_EXPORT void *mapalloc_heap_aligned_alloc(mapalloc_heap *uh, size_t alignment, size_t n) {
    if (alignment == 0 || (alignment & (alignment - 1)) != 0) { errno = EINVAL; return NULL; }
    heap_t *h = H(uh);
    lock(h);
    void *p = heap_alloc_locked(h, n, alignment);
    unlock(h);
    return p;
}

MAPALLOC_EXPORT void *mapalloc_heap_realloc(mapalloc_heap *uh, void *p, size_t n) {
    if (!p) return mapalloc_heap_malloc(uh, n);
    if (n == 0) { mapalloc_free(p); return NULL; }
    size_t old = mapalloc_usable_size(p);
    if (n <= old && (opt_secure ? n == old : n > old / 2)) return p;
    void *q = mapalloc_heap_malloc(uh, n);
    if (!q) return NULL;
    memcpy(q, p, n < old ? n : old);
    mapalloc_free(p);
    return q;
}

MAPALLOC_EXPORT void mapalloc_heap_free(mapalloc_heap *uh, void *p) {
    (void)uh; /* the block knows its heap */
    mapalloc_free(p);
}

MAPALLOC_EXPORT void mapalloc_heap_destroy(mapalloc_heap *uh) {
    if (!uh) return;
    heap_t *h = H(uh);
    pthread_mutex_lock(&h->adopt_lock);
    region_destroy_all(h);
    large_free_owned(h->tag);
    pthread_mutex_unlock(&h->adopt_lock);
    heap_retire_user(h);
}

/* ---- Walking ---- */

static void mark_list(const page_t *pg, block_t *list, uint8_t *bits) {
    uint32_t capacity = LOAD_RELAXED(pg->capacity), steps = 0;
    for (block_t *b = list; b && steps <= capacity; b = block_next(b), steps++) {
        uint64_t i = page_block_index(pg, (uintptr_t)b, pg->start);
        if (i >= capacity) fatal_bug(BUG_FREELIST_CORRUPT, b, pg->size_class, pg->block_size);
        bits[i / 8] |= (uint8_t)(1u << (i % 8));
    }
}

/* Mark the blocks of pg that sit in h's class cache (a list that also holds
 * other pages' blocks). */
static void mark_cached(const heap_t *h, const page_t *pg, uint8_t *bits) {
    uint32_t capacity = LOAD_RELAXED(pg->capacity), steps = 0;
    for (block_t *b = h->foreign[pg->size_class].free; b && steps <= FOREIGN_MAX_BLOCKS; b = block_next(b), steps++) {
        uint64_t i = page_block_index(pg, (uintptr_t)b, pg->start);
        if (i < capacity) bits[i / 8] |= (uint8_t)(1u << (i % 8));
    }
}

/* Visit the live blocks of h's pages: carved blocks on none of the page's
 * free lists (and, for the caller's own heap, not in its class cache nor its
 * quarantine). The
 * caller owns h or holds its lock. Returns the number of live blocks; stops
 * early when visit returns non-zero. */
size_t heap_walk_blocks(heap_t *h, int (*visit)(void *, size_t, void *), void *arg) {
    size_t live = 0;
    uint8_t bits[SLICE_SIZE / MIN_ALIGN / 8];
    for (region_t *r = h->regions; r; r = r->next) {
        for (unsigned s = 0; s < USABLE_SLICES; s++) {
            page_t *pg = &r->pages[s];
            if (!pg->slice_count || r->slice_page[s] != pg) continue;
            if (page_is_medium(pg)) {
                bool stop = false;
                live += medium_walk(pg, visit, arg, &stop);
                if (stop) return live;
                continue;
            }
            uint32_t capacity = LOAD_RELAXED(pg->capacity);
            if (capacity > sizeof bits * 8) fatal_msg("heap walk: page capacity", pg);
            memset(bits, 0, (capacity + 7) / 8);
            mark_list(pg, pg->free, bits);
            mark_list(pg, (block_t *)atomic_load_explicit(&pg->thread_free, memory_order_acquire), bits);
            if (h == tls_heap) mark_cached(h, pg, bits);
            for (uint32_t i = 0; i < capacity; i++) {
                if (bits[i / 8] & (1u << (i % 8))) continue;
                uintptr_t b = pg->start + (uintptr_t)i * pg->block_size;
                if (opt_secure && h == tls_heap && secure_in_quarantine(h, (void *)b)) continue;
                live++;
                size_t size = opt_secure ? secure_usable_size(pg, b) : pg->block_size;
                if (visit && visit((void *)b, size, arg) != 0) return live;
            }
        }
    }
    return live;
}

MAPALLOC_EXPORT size_t mapalloc_heap_walk(mapalloc_heap *uh, int (*visit)(void *block, size_t size, void *arg), void *arg) {
    if (!uh) {
        /* The calling thread's heap, and the large blocks of no first-class heap. */
        heap_t *h = tls_heap;
        size_t n = h == &empty_heap ? 0 : heap_walk_blocks(h, visit, arg);
        return n + large_walk(0, visit, arg);
    }
    heap_t *h = H(uh);
    pthread_mutex_lock(&h->adopt_lock);
    size_t n = heap_walk_blocks(h, visit, arg);
    n += large_walk(h->tag, visit, arg);
    pthread_mutex_unlock(&h->adopt_lock);
    return n;
}
