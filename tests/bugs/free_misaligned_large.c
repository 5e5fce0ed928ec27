/* free_misaligned_large.c: freeing the address of a large block plus one.
 * Expected: abort with "mapalloc: interior pointer freed at <address>" (or
 * "invalid free"; tests/runner.py checks). */
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
    announce(p + 1);
    mapalloc_free(p + 1);
    puts("survived");
    return 0;
}
