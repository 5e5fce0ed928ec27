/* realloc_freed_medium.c: realloc of a medium block after it was freed.
 * Expected: abort with "mapalloc: realloc of invalid pointer at <address>" (tests/runner.py checks). */
#include "mapalloc.h"

#include <stdio.h>
#include <stdlib.h>

/* Say which address the bad call gets, then make it. */
static void announce(const void *p) {
    printf("address: %p\n", p);
    fflush(stdout);
}

int main(void) {
    char *keep = mapalloc_malloc(9000);
    char *p = mapalloc_malloc(12000);
    if (!keep || !p) return 2;
    mapalloc_free(p);
    announce(p);
    p = mapalloc_realloc(p, 50000);
    puts("survived");
    return p != NULL;
}
