/* usable_size_freed_large.c: malloc_usable_size of a freed large block.
 * Expected: abort with "mapalloc: malloc_usable_size of invalid pointer at <address>" (tests/runner.py checks). */
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
    mapalloc_free(p);
    announce(p);
    printf("usable size %zu\n", mapalloc_usable_size(p));
    puts("survived");
    return 0;
}
