/* alloc.c: the prefixed allocation API (malloc, calloc, realloc,
 * reallocarray, usable size, trim) and the malloc path for sizes the direct
 * table does not cover. Fast paths are in internal.h.
 * May call: page.c, large.c, heap.c.
 */
#include "internal.h"
#include "mapalloc.h"

#include <errno.h>
#include <string.h>

void *malloc_slow(heap_t *h, size_t n) {
    if (h == &empty_heap) process_init(); /* options (secure mode) before the first block */
    if (opt_secure) return secure_malloc(h, n, 0);
    return page_alloc_block(h, size_class_of(n));
}

void *malloc_class(heap_t *h, size_t n) {
    unsigned cls = size_class_of(n);
    page_t *pg = h->class_page[cls];
    block_t *b = pg->free;
    if (unlikely(b == NULL)) return page_alloc_block(h, cls);
    pg->free = block_next(b);
    pg->used++;
    b->free_mark = 0;
    return b;
}

void *malloc_not_direct(heap_t *h, size_t n) {
    if (unlikely(h == &empty_heap)) process_init();
    if (unlikely(opt_secure)) return secure_malloc(h, n, 0);
    if (likely(n <= opt_large_threshold)) {
        if (n > MEDIUM_MIN && LOAD_RELAXED(opt_medium)) return medium_alloc(h, n);
        return malloc_class(h, n);
    }
    return large_alloc(n, 0, LARGE_ASIS);
}

MAPALLOC_EXPORT void *mapalloc_malloc(size_t n) { return malloc_inline(n); }

MAPALLOC_EXPORT void *mapalloc_calloc(size_t count, size_t size) {
    size_t n;
    if (__builtin_mul_overflow(count, size, &n)) { errno = ENOMEM; return NULL; }
    if (n > opt_large_threshold) return large_alloc(n, 0, LARGE_CALLOC);
    void *p = malloc_inline(n);
    if (p) memset(p, 0, n);
    return p;
}

/* Usable size of a small block (0 is possible: a secure-mode malloc(0)),
 * SIZE_MAX when it is free, NOT_SMALL when p is no small block's start. */
size_t small_usable_size(const void *ptr) {
    uintptr_t p = (uintptr_t)ptr;
    if (region_tag_of(p) == TAG_NONE) return NOT_SMALL;
    page_t *pg = region_of(p)->slice_page[(p >> SLICE_SHIFT) & (SLICES_PER_REGION - 1)];
    if (pg == &invalid_page) return NOT_SMALL;
    if (page_is_medium(pg)) return medium_usable_size(pg, p);
    uint64_t i = page_block_index(pg, p, pg->start);
    if (i >= LOAD_RELAXED(pg->capacity)) return NOT_SMALL;
    if (small_block_is_free(pg, p)) return SIZE_MAX; /* freed: callers report it */
    if (opt_secure) {
        if (((block_t *)p)->free_mark == free_key && tls_heap != &empty_heap && secure_in_quarantine(tls_heap, ptr))
            return SIZE_MAX;
        return secure_usable_size(pg, p);
    }
    return pg->block_size;
}

static size_t usable_or_die(const void *p, enum heap_bug bug) {
    size_t s = small_usable_size(p);
    if (s == SIZE_MAX) fatal_bug(bug, p, -1, 0);
    if (s != NOT_SMALL) return s;
    s = large_usable_size(p);
    if (s != NOT_SMALL) return s;
    fatal_bug(bug, p, -1, 0);
}

MAPALLOC_EXPORT size_t mapalloc_usable_size(const void *p) {
    if (!p) return 0;
    return usable_or_die(p, BUG_INVALID_USABLE);
}

MAPALLOC_EXPORT void *mapalloc_realloc(void *p, size_t n) {
    if (!p) return malloc_inline(n);
    if (n == 0) { mapalloc_free(p); return NULL; }
    size_t old = small_usable_size(p);
    if (old == SIZE_MAX) fatal_bug(BUG_INVALID_REALLOC, p, -1, 0);
    if (old != NOT_SMALL) {
        /* A medium block gives its tail to the free granules after it, or
         * grows into them. */
        if (n > MEDIUM_MIN && n <= opt_large_threshold && !opt_secure) {
            uint16_t tag;
            page_t *pg = small_page_of((uintptr_t)p, &tag);
            if (page_is_medium(pg) && medium_resize(pg, p, n)) return p;
        }
        /* Stay in the block while the new size still belongs to its class or
         * shrinks by less than half (secure mode: the canary starts at the
         * request's end, so only the same size stays). */
        if (opt_secure ? n == old : (n <= old && (n > old / 2 || old <= 32))) return p;
    } else {
        void *q = large_realloc(p, n, &old);
        if (q) return q;
        /* To a small block, or the kernel would not move the pages: copy (a
         * size no mapping can have fails in malloc, p intact). */
    }
    void *q = malloc_inline(n);
    if (!q) return NULL;
    memcpy(q, p, n < old ? n : old);
    mapalloc_free(p);
    return q;
}

MAPALLOC_EXPORT void *mapalloc_reallocarray(void *p, size_t count, size_t size) {
    size_t n;
    if (__builtin_mul_overflow(count, size, &n)) { errno = ENOMEM; return NULL; }
    return mapalloc_realloc(p, n);
}

MAPALLOC_EXPORT int mapalloc_trim(size_t pad) {
    (void)pad;
    size_t before = atomic_load(&stat_committed);
    heap_t *h = tls_heap;
    if (h != &empty_heap) {
        if (opt_secure) secure_quarantine_flush(h);
        heap_maintenance(h, true);
    }
    else heap_collect_abandoned(true);
    large_trim();
    return atomic_load(&stat_committed) < before ? 1 : 0;
}
