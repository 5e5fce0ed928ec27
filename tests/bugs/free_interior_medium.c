/* free_interior_medium.c: freeing a pointer into the middle of a medium block,
 * on a granule boundary (so only the out-of-band bitmaps can tell).
 * Expected: abort with "mapalloc: interior pointer freed at <address>" (tests/runner.py checks). */
#include "mapalloc.h"

#include <stdio.h>
#include <stdlib.h>

/* Say which address the bad call gets, then make it. */
static void announce(const void *p) {
    printf("address: %p\n", p);
    fflush(stdout);
}

int main(void) {
    char *p = mapalloc_malloc(20000);
    if (!p) return 2;
    announce(p + 4096);
    mapalloc_free(p + 4096);
    puts("survived");
    return 0;
}
