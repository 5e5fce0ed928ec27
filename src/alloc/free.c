/* free.c: every free that the inline fast path does not finish: NULL, large
 * blocks, blocks of other heaps (pushed lock-free onto the page's
 * thread_free, or freed under the adopt lock of an abandoned heap), full
 * pages, and the exact checks behind "invalid free", "interior pointer freed"
 * and "double free".
 * May call: page.c, large.c, heap.c, error.c.
 */
#include "internal.h"
#include "mapalloc.h"

#include <errno.h>

static bool list_contains(block_t *list, const block_t *b, const page_t *pg) {
    uint32_t capacity = LOAD_RELAXED(pg->capacity);
    uintptr_t lo = pg->start, hi = pg->start + (uintptr_t)capacity * pg->block_size;
    size_t steps = 0;
    for (block_t *x = list; x; x = block_next(x)) {
        if (x == b) return true;
        if ((uintptr_t)x < lo || (uintptr_t)x >= hi || ++steps > capacity)
            fatal_bug(BUG_FREELIST_CORRUPT, x, pg->size_class, pg->block_size);
    }
    return false;
}

/* Exact double-free test on a page whose owner is the caller (or locked). */
static void check_not_free(page_t *pg, block_t *b) {
    if (list_contains(pg->free, b, pg) ||
        list_contains((block_t *)atomic_load_explicit(&pg->thread_free, memory_order_acquire), b, pg))
        fatal_bug(BUG_DOUBLE_FREE, b, pg->size_class, pg->block_size);
}

static bool looks_free(uintptr_t p) { return ((block_t *)p)->free_mark == free_key; }

/* Whether the block at p is free now (exact when it carries the free mark;
 * another thread's lists are read only through the lock-free list). */
bool small_block_is_free(page_t *pg, uintptr_t p) {
    if (!looks_free(p)) return false;
    block_t *b = (block_t *)p;
    if (tls_heap != &empty_heap && foreign_contains(tls_heap, pg->size_class, b)) return true;
    heap_t *owner = LOAD_RELAXED(pg->region->heap);
    if (owner != tls_heap && owner->state != HEAP_ABANDONED)
        return list_contains((block_t *)atomic_load_explicit(&pg->thread_free, memory_order_acquire), b, pg);
    return list_contains(pg->free, b, pg) ||
           list_contains((block_t *)atomic_load_explicit(&pg->thread_free, memory_order_acquire), b, pg);
}

void local_free(heap_t *h, page_t *pg, block_t *b) {
    b->free_mark = free_key;
    block_set_next(b, pg->free);
    pg->free = b;
    if (pg->used == 0) fatal_bug(BUG_DOUBLE_FREE, b, pg->size_class, pg->block_size);
    pg->used--;
    if (pg->flags & PAGE_IN_FULL) page_unfull(h, pg);
    if (pg->used == 0) page_empty(h, pg);
}

/* The owner freed b (marked free) into a page that is not its class's
 * current one: keep it in the class cache, where the next malloc of the class
 * finds it while it is still hot in this thread's cache, rather than on a
 * page that may not be current again for a long time (bench/memshape: a
 * working set that kept wandering over a fragmented heap). */
void free_not_current(heap_t *h, page_t *pg, block_t *b) {
    if (!foreign_push(h, pg, b)) local_free(h, pg, b);
}

/* Whether b waits in the calling thread's own class cache or remote batch
 * (a block it freed before). */
static bool held_by_caller(heap_t *h, page_t *pg, const block_t *b) {
    return h != &empty_heap && (foreign_contains(h, pg->size_class, b) || remote_batch_contains(h, b));
}

/* Exact double-free test for a caller that may read the page's lists (its
 * owner, or the holder of an abandoned owner's lock): those lists, and the
 * caller's class cache and remote batch (which held the block when the page
 * was another heap's, before heap_reclaim). */
static void check_not_free_owner(heap_t *h, page_t *pg, block_t *b) {
    if (held_by_caller(h, pg, b)) fatal_bug(BUG_DOUBLE_FREE, b, pg->size_class, pg->block_size);
    check_not_free(pg, b);
}

void free_suspect(heap_t *h, page_t *pg, block_t *b) {
    check_not_free_owner(h, pg, b);
    local_free(h, pg, b);
}

/* A live block of another thread's active heap, freed by a thread with a
 * heap of its own: into the foreign cache, or else the batch for its page.
 * The common case of a threaded server, so it avoids free_slow's layers; any
 * doubt (not a block start, the free mark set, an owner that is not an
 * active thread's heap, secure mode) returns false for free_slow to decide.
 * No system call here, so errno needs no saving. */
static bool free_remote(heap_t *h, uintptr_t p) {
    region_t *r = region_of(p);
    page_t *pg = r->slice_page[(p >> SLICE_SHIFT) & (SLICES_PER_REGION - 1)];
    block_t *b = (block_t *)p;
    /* Only line 1 of the descriptor: line 0 belongs to the owner's fast path. */
    if (unlikely(page_block_index(pg, p, pg->start) >= LOAD_RELAXED(pg->capacity))) return false;
    if (unlikely(b->free_mark == free_key) || unlikely(opt_secure)) return false;
    heap_t *owner = LOAD_RELAXED(r->heap); /* heap_reclaim may change it */
    if (unlikely(atomic_load_explicit(&owner->state, memory_order_relaxed) != HEAP_ACTIVE)) return false;
    if (foreign_push(h, pg, b)) return true;
    remote_batch_add(h, pg, b);
    return true;
}

void free_other_region(void *ptr) {
    uintptr_t p = (uintptr_t)ptr;
    heap_t *h = tls_heap;
    uint16_t tag = region_tag_of(p);
    if (tag == h->tag) {
        h->cached_base = p & ~(uintptr_t)REGION_MASK;
        h->cached_region = region_of(p);
        free_in_region(h, h->cached_region, ptr);
        return;
    }
    if (tag != TAG_NONE && h != &empty_heap && free_remote(h, p)) return;
    free_slow(ptr);
}

page_t *small_page_of(uintptr_t p, uint16_t *tag_out) {
    uint16_t tag = region_tag_of(p);
    *tag_out = tag;
    if (tag == TAG_NONE) return NULL;
    page_t *pg = region_of(p)->slice_page[(p >> SLICE_SHIFT) & (SLICES_PER_REGION - 1)];
    return pg == &invalid_page ? NULL : pg;
}

static void free_slow_inner(void *ptr);
static void free_validated(page_t *pg, uint16_t tag, void *ptr);

void free_slow(void *ptr) {
    if (!ptr) return;
    int saved = errno;
    free_slow_inner(ptr);
    errno = saved;
}

static void free_slow_inner(void *ptr) {
    uintptr_t p = (uintptr_t)ptr;
    uint16_t tag;
    page_t *pg = small_page_of(p, &tag);
    if (!pg) {
        if (tag == TAG_NONE && large_free(ptr)) return;
        if (tag == TAG_NONE && large_recently_freed(ptr)) fatal_bug(BUG_DOUBLE_FREE, ptr, -1, 0);
        if (tag == TAG_NONE && large_contains(ptr)) fatal_bug(BUG_INTERIOR_FREE, ptr, -1, 0);
        fatal_bug(BUG_INVALID_FREE, ptr, -1, 0);
    }
    if (page_is_medium(pg)) { medium_free(pg, tag, ptr); return; }
    uint64_t idx = page_block_index(pg, p, pg->start);
    if (idx >= pg->reserved) fatal_bug(BUG_INTERIOR_FREE, ptr, pg->size_class, pg->block_size);
    if (idx >= LOAD_RELAXED(pg->capacity)) fatal_bug(BUG_INVALID_FREE, ptr, pg->size_class, pg->block_size);
    if (opt_secure) { secure_free(tls_heap, pg, ptr); return; }
    free_validated(pg, tag, ptr);
}

void free_block_now(void *ptr) {
    uint16_t tag;
    page_t *pg = small_page_of((uintptr_t)ptr, &tag);
    free_validated(pg, tag, ptr);
}

static void free_validated(page_t *pg, uint16_t tag, void *ptr) {
    uintptr_t p = (uintptr_t)ptr;
    block_t *b = ptr;
    heap_t *h = tls_heap;
    if (tag == h->tag) {
        if (looks_free(p)) check_not_free_owner(h, pg, b);
        local_free(h, pg, b);
        return;
    }
    heap_t *owner = heap_by_tag(tag);
    if (!owner) fatal_bug(BUG_INVALID_FREE, ptr, -1, 0);
    if (atomic_load(&owner->state) == HEAP_USER) {
        /* A first-class heap: its lock guards it (userheap.c). */
        pthread_mutex_lock(&owner->adopt_lock);
        if (looks_free(p)) check_not_free(pg, b);
        local_free(owner, pg, b);
        pthread_mutex_unlock(&owner->adopt_lock);
        return;
    }
    if (owner->state == HEAP_ABANDONED && pthread_mutex_trylock(&owner->adopt_lock) == 0) {
        /* Still abandoned, and still the region's owner: a running thread
         * may have taken the region (heap_reclaim, under this lock). */
        if (owner->state == HEAP_ABANDONED && LOAD_RELAXED(pg->region->heap) == owner) {
            if (looks_free(p)) check_not_free_owner(h, pg, b);
            local_free(owner, pg, b);
            pthread_mutex_unlock(&owner->adopt_lock);
            return;
        }
        pthread_mutex_unlock(&owner->adopt_lock);
    }
    /* The owner's lists are its own: only the lock-free list and this
     * thread's foreign cache can be checked. */
    if (looks_free(p) &&
        (list_contains((block_t *)atomic_load_explicit(&pg->thread_free, memory_order_acquire), b, pg) ||
         held_by_caller(h, pg, b)))
        fatal_bug(BUG_DOUBLE_FREE, ptr, pg->size_class, pg->block_size);
    /* A thread that only frees (a consumer) gets a heap too: its foreign
     * cache and remote batch are what make its frees cheap. */
    if (h == &empty_heap && !opt_secure) {
        heap_t *mine = heap_init_thread();
        if (mine) h = mine;
    }
    if (foreign_push(h, pg, b)) return;
    if (h != &empty_heap && atomic_load_explicit(&owner->state, memory_order_relaxed) == HEAP_ACTIVE) {
        remote_batch_add(h, pg, b);
        return;
    }
    thread_free_push(pg, b);
}

/* errno: the fast path makes no system call; free_slow saves and restores it. */
MAPALLOC_EXPORT void mapalloc_free(void *p) { free_inline(p); }

/* The usable size of a block about to be freed by size, naming a freed or
 * foreign pointer as free would. */
static size_t sized_free_usable(void *p) {
    size_t s = small_usable_size(p);
    if (s == SIZE_MAX) fatal_bug(BUG_DOUBLE_FREE, p, -1, 0);
    if (s != NOT_SMALL) return s;
    s = large_usable_size(p);
    if (s != NOT_SMALL) return s;
    free_slow(p); /* not a live block: free_slow names the bug and aborts */
    fatal_bug(BUG_INVALID_FREE, p, -1, 0);
}

MAPALLOC_EXPORT void mapalloc_free_sized(void *p, size_t n) {
    if (!p) return;
    size_t usable = sized_free_usable(p);
    if (opt_secure) secure_check_size(p, n);
    if (n > usable) fatal_bug(BUG_WRONG_SIZE, p, -1, n);
    mapalloc_free(p);
}

MAPALLOC_EXPORT void mapalloc_free_aligned_sized(void *p, size_t alignment, size_t n) {
    if (!p) return;
    size_t usable = sized_free_usable(p);
    if (opt_secure) secure_check_size(p, n);
    if (n > usable || ((uintptr_t)p & (alignment - 1)) != 0) fatal_bug(BUG_WRONG_SIZE, p, -1, n);
    mapalloc_free(p);
}
