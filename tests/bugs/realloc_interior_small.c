/* realloc_interior_small.c: realloc of a pointer into the middle of a small block.
 * Expected: abort with "mapalloc: realloc of invalid pointer|interior pointer at <address>" (tests/runner.py checks). */
#include "mapalloc.h"

#include <stdio.h>
#include <stdlib.h>

/* Say which address the bad call gets, then make it. */
static void announce(const void *p) {
    printf("address: %p\n", p);
    fflush(stdout);
}

int main(void) {
    char *p = mapalloc_malloc(64);
    if (!p) return 2;
    announce(p + 16);
    char *q = mapalloc_realloc(p + 16, 200);
    printf("realloc returned %p\n", (void *)q);
    puts("survived");
    return 0;
}
