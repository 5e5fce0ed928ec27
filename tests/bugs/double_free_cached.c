/* double_free_cached.c: freeing twice a small block of a page that is not its
 * class's current page. The first free keeps it in the thread's class cache
 * (not on its page's free list), so the exact check must look there too.
 * Expected: abort with "mapalloc: double free at <address>" (tests/runner.py checks). */
#include "mapalloc.h"

#include <stdio.h>
#include <stdlib.h>

static void announce(const void *p) {
    printf("address: %p\n", p);
    fflush(stdout);
}

int main(void) {
    /* 3000 blocks of 48 bytes span several 64 KiB pages; the first ones are
     * on a page that is no longer current once the last ones are carved. */
    enum { N = 3000 };
    static void *b[N];
    for (int i = 0; i < N; i++)
        if (!(b[i] = mapalloc_malloc(48))) return 2;
    mapalloc_free(b[1]); /* the first page was full: this free takes it off the full list */
    mapalloc_free(b[5]); /* now a fast-path free into a page that is not current */
    announce(b[5]);
    mapalloc_free(b[5]);
    puts("survived");
    return 0;
}
