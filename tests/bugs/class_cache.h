/* class_cache.h: a small block freed into the calling thread's class cache,
 * not onto its page's free list: the case the exact checks must look at too.
 * 3000 blocks of 48 bytes span several 64 KiB pages; the first ones are on a
 * page that is no longer current once the last ones are carved. Returns a
 * freed block (NULL if malloc failed). */
#ifndef MAPALLOC_TEST_CLASS_CACHE_H
#define MAPALLOC_TEST_CLASS_CACHE_H

#include "mapalloc.h"

static void *freed_into_class_cache(void) {
    enum { N = 3000 };
    static void *b[N];
    for (int i = 0; i < N; i++)
        if (!(b[i] = mapalloc_malloc(48))) return NULL;
    mapalloc_free(b[1]); /* the first page was full: this free takes it off the full list */
    mapalloc_free(b[5]); /* now a fast-path free into a page that is not current */
    return b[5];
}

#endif
