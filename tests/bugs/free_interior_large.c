/* free_interior_large.c: freeing a pointer into the middle of a large block.
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
    char *p = mapalloc_malloc(4 << 20);
    if (!p) return 2;
    announce(p + 8192);
    mapalloc_free(p + 8192);
    puts("survived");
    return 0;
}
