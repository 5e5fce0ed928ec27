/* std_names.h: compile api.c against the standard names (malloc, free, ...)
 * that libmapalloc.so exports, so the same promises are checked for the
 * override layer. Included by api.c after mapalloc.h when API_STANDARD_NAMES
 * is defined; the statistics and the heap checker stay prefixed.
 */
#ifndef MAPALLOC_STD_NAMES_H
#define MAPALLOC_STD_NAMES_H

#include <malloc.h>
#include <stdlib.h>

/* C23 names glibc 2.36 does not declare yet; libmapalloc.so exports them. */
void free_sized(void *p, size_t n);
void free_aligned_sized(void *p, size_t alignment, size_t n);

static inline size_t std_usable_size(const void *p) { return malloc_usable_size((void *)p); }

#define mapalloc_malloc malloc
#define mapalloc_free free
#define mapalloc_calloc calloc
#define mapalloc_realloc realloc
#define mapalloc_reallocarray reallocarray
#define mapalloc_aligned_alloc aligned_alloc
#define mapalloc_posix_memalign posix_memalign
#define mapalloc_memalign memalign
#define mapalloc_valloc valloc
#define mapalloc_pvalloc pvalloc
#define mapalloc_usable_size std_usable_size
#define mapalloc_free_sized free_sized
#define mapalloc_free_aligned_sized free_aligned_sized
#define mapalloc_trim malloc_trim

#endif
