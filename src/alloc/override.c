/* override.c: the only file that exports the standard allocation names
 * (malloc, free, ... and glibc's __libc_* aliases, malloc_trim, malloc_stats,
 * mallinfo2, malloc_info). Linked into libmapalloc.so and libmapalloc.a, never into the
 * core used by the sanitizer tests. The fast paths are inlined here so that
 * malloc and free are one call deep.
 * May call: the prefixed API and internal.h fast paths.
 */
#define _GNU_SOURCE
#include "internal.h"
#include "mapalloc.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))

EXPORT void *malloc(size_t n) { return malloc_inline(n); }
EXPORT void free(void *p) { free_inline(p); }
EXPORT void *calloc(size_t c, size_t s) { return mapalloc_calloc(c, s); }
EXPORT void *realloc(void *p, size_t n) { return mapalloc_realloc(p, n); }
EXPORT void *reallocarray(void *p, size_t c, size_t s) { return mapalloc_reallocarray(p, c, s); }
EXPORT void *aligned_alloc(size_t a, size_t n) { return mapalloc_aligned_alloc(a, n); }
EXPORT int posix_memalign(void **out, size_t a, size_t n) { return mapalloc_posix_memalign(out, a, n); }
EXPORT void *memalign(size_t a, size_t n) { return mapalloc_memalign(a, n); }
EXPORT void *valloc(size_t n) { return mapalloc_valloc(n); }
EXPORT void *pvalloc(size_t n) { return mapalloc_pvalloc(n); }
EXPORT size_t malloc_usable_size(void *p) { return mapalloc_usable_size(p); }
EXPORT void free_sized(void *p, size_t n);
EXPORT void free_sized(void *p, size_t n) { mapalloc_free_sized(p, n); }
EXPORT void free_aligned_sized(void *p, size_t a, size_t n);
EXPORT void free_aligned_sized(void *p, size_t a, size_t n) { mapalloc_free_aligned_sized(p, a, n); }
EXPORT void cfree(void *p);
EXPORT void cfree(void *p) { free_inline(p); }
EXPORT int malloc_trim(size_t pad) { return mapalloc_trim(pad); }
EXPORT void malloc_stats(void) { mapalloc_stats_print(stderr); }

/* malloc_info(3): glibc's XML shape (stats.c writes it). As glibc's, it
 * returns EINVAL for options other than 0. */
void stats_malloc_info(FILE *fp) INTERNAL;
EXPORT int malloc_info(int options, FILE *fp) {
    if (options != 0 || !fp) return EINVAL;
    stats_malloc_info(fp);
    return 0;
}

EXPORT struct mallinfo2 mallinfo2(void) {
    struct mapalloc_stats s;
    mapalloc_stats_get(&s);
    struct mallinfo2 mi;
    memset(&mi, 0, sizeof mi);
    mi.arena = s.committed - s.large_bytes;  /* small-object memory in use or cached */
    mi.hblks = s.large_blocks;
    mi.hblkhd = s.large_bytes;
    mi.uordblks = s.in_use;
    mi.fordblks = s.committed > s.in_use ? s.committed - s.in_use : 0;
    mi.usmblks = s.peak_committed;
    mi.ordblks = s.regions;
    return mi;
}

EXPORT struct mallinfo mallinfo(void) {
    struct mallinfo2 m2 = mallinfo2();
    struct mallinfo mi;
    memset(&mi, 0, sizeof mi);
    mi.arena = (int)m2.arena;
    mi.ordblks = (int)m2.ordblks;
    mi.hblks = (int)m2.hblks;
    mi.hblkhd = (int)m2.hblkhd;
    mi.usmblks = (int)m2.usmblks;
    mi.uordblks = (int)m2.uordblks;
    mi.fordblks = (int)m2.fordblks;
    return mi;
}

/* glibc's internal names, which some programs and libraries call directly. */
EXPORT void *__libc_malloc(size_t n);
EXPORT void *__libc_malloc(size_t n) { return malloc_inline(n); }
EXPORT void __libc_free(void *p);
EXPORT void __libc_free(void *p) { free_inline(p); }
EXPORT void *__libc_calloc(size_t c, size_t s);
EXPORT void *__libc_calloc(size_t c, size_t s) { return mapalloc_calloc(c, s); }
EXPORT void *__libc_realloc(void *p, size_t n);
EXPORT void *__libc_realloc(void *p, size_t n) { return mapalloc_realloc(p, n); }
EXPORT void *__libc_memalign(size_t a, size_t n);
EXPORT void *__libc_memalign(size_t a, size_t n) { return mapalloc_memalign(a, n); }
EXPORT void *__libc_valloc(size_t n);
EXPORT void *__libc_valloc(size_t n) { return mapalloc_valloc(n); }
EXPORT void *__libc_pvalloc(size_t n);
EXPORT void *__libc_pvalloc(size_t n) { return mapalloc_pvalloc(n); }
EXPORT int __posix_memalign(void **out, size_t a, size_t n);
EXPORT int __posix_memalign(void **out, size_t a, size_t n) { return mapalloc_posix_memalign(out, a, n); }

/* C++ sized and aligned delete (the Itanium C++ ABI names), so that a size
 * passed to delete is checked like free_sized's: new still reaches malloc
 * through libstdc++ (the library needs no C++ runtime). libstdc++'s aligned
 * new rounds the size up to the alignment, so the aligned forms check only
 * that the size fits the block. */
EXPORT void _ZdlPv(void *p);
EXPORT void _ZdlPv(void *p) { free_inline(p); }
EXPORT void _ZdaPv(void *p);
EXPORT void _ZdaPv(void *p) { free_inline(p); }
EXPORT void _ZdlPvm(void *p, size_t n);
EXPORT void _ZdlPvm(void *p, size_t n) { mapalloc_free_sized(p, n); }
EXPORT void _ZdaPvm(void *p, size_t n);
EXPORT void _ZdaPvm(void *p, size_t n) { mapalloc_free_sized(p, n); }
EXPORT void _ZdlPvSt11align_val_t(void *p, size_t al);
EXPORT void _ZdlPvSt11align_val_t(void *p, size_t al) { (void)al; mapalloc_free(p); }
EXPORT void _ZdaPvSt11align_val_t(void *p, size_t al);
EXPORT void _ZdaPvSt11align_val_t(void *p, size_t al) { (void)al; mapalloc_free(p); }
EXPORT void _ZdlPvmSt11align_val_t(void *p, size_t n, size_t al);
EXPORT void _ZdlPvmSt11align_val_t(void *p, size_t n, size_t al) {
    if (p && n > mapalloc_usable_size(p)) fatal_bug(BUG_WRONG_SIZE, p, -1, n);
    (void)al;
    mapalloc_free(p);
}
EXPORT void _ZdaPvmSt11align_val_t(void *p, size_t n, size_t al);
EXPORT void _ZdaPvmSt11align_val_t(void *p, size_t n, size_t al) { _ZdlPvmSt11align_val_t(p, n, al); }
