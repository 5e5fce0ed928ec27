/* aligned.c: aligned_alloc, posix_memalign, memalign, valloc, pvalloc.
 * Alignments up to 64 KiB are served from a size class whose block size is a
 * multiple of the alignment (pages start on 64 KiB boundaries, so every block
 * of such a class is aligned): no block is ever handed out at an interior
 * address, which keeps interior-pointer detection exact. Larger alignments,
 * and sizes above the large threshold, get an aligned mapping of their own.
 * Medium blocks (medium.c) are 256-byte aligned: they serve alignments up
 * to that.
 * May call: alloc.c (malloc_inline), large.c.
 */
#include "internal.h"
#include "mapalloc.h"

#include <errno.h>

size_t aligned_small_size(size_t n, size_t align) {
    if (align > SLICE_SIZE) return 0;
    size_t need = (n + align - 1) & ~(align - 1);
    if (need == 0) need = align;
    if (need > opt_large_threshold) return 0;
    size_t bs = class_size[size_class_of(need)];
    if (bs % align == 0) return bs;
    /* The next power of two is a class and a multiple of align. */
    size_t pow2 = (size_t)1 << (64 - __builtin_clzl(need - 1));
    if (need == 1) pow2 = 1;
    if (pow2 < align) pow2 = align;
    return pow2 <= opt_large_threshold ? pow2 : 0;
}

void *heap_alloc_aligned(heap_t *h, size_t n, size_t align) {
    /* Medium blocks start on granule boundaries. */
    if (align <= MEDIUM_GRANULE && n > MEDIUM_MIN && n <= opt_large_threshold && LOAD_RELAXED(opt_medium))
        return medium_alloc(h, n);
    size_t bs = aligned_small_size(n, align);
    if (!bs) return large_alloc(n, align, LARGE_ASIS);
    /* Straight to the class: a medium block of bs bytes is not aligned to bs. */
    return bs <= DIRECT_MAX ? malloc_direct(h, bs) : malloc_class(h, bs);
}

void *malloc_aligned_internal(size_t n, size_t align) {
    if (align <= MIN_ALIGN) return malloc_inline(n);
    if (n > ((size_t)1 << 46)) { errno = ENOMEM; return NULL; }
    if (tls_heap == &empty_heap) process_init();
    if (opt_secure) return secure_malloc(tls_heap, n, align);
    return heap_alloc_aligned(tls_heap, n, align);
}

static bool pow2(size_t a) { return a != 0 && (a & (a - 1)) == 0; }

MAPALLOC_EXPORT void *mapalloc_aligned_alloc(size_t alignment, size_t n) {
    if (!pow2(alignment)) { errno = EINVAL; return NULL; }
    return malloc_aligned_internal(n, alignment);
}

MAPALLOC_EXPORT void *mapalloc_memalign(size_t alignment, size_t n) {
    if (!pow2(alignment)) { errno = EINVAL; return NULL; }
    return malloc_aligned_internal(n, alignment);
}

MAPALLOC_EXPORT int mapalloc_posix_memalign(void **out, size_t alignment, size_t n) {
    if (!pow2(alignment) || alignment < sizeof(void *)) return EINVAL;
    int saved = errno;
    void *p = malloc_aligned_internal(n, alignment);
    if (!p) { errno = saved; return ENOMEM; }
    *out = p;
    return 0;
}

MAPALLOC_EXPORT void *mapalloc_valloc(size_t n) { return malloc_aligned_internal(n, OS_PAGE); }

MAPALLOC_EXPORT void *mapalloc_pvalloc(size_t n) {
    size_t r = (n + OS_PAGE - 1) & ~(size_t)(OS_PAGE - 1);
    if (r < n) { errno = ENOMEM; return NULL; }
    if (r == 0) r = OS_PAGE;
    return malloc_aligned_internal(r, OS_PAGE);
}
