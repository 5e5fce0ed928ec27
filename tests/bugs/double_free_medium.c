/* double_free_medium.c: freeing a medium block (exact fit, above 4 KiB) twice.
 * Expected: abort with "mapalloc: double free at <address>" (tests/runner.py checks). */
#include "mapalloc.h"

#include <stdio.h>
#include <stdlib.h>

/* Say which address the bad call gets, then make it. */
static void announce(const void *p) {
    printf("address: %p\n", p);
    fflush(stdout);
}

int main(void) {
    char *keep = mapalloc_malloc(9000); /* so the page stays when p's block is freed */
    char *p = mapalloc_malloc(10000);
    if (!keep || !p) return 2;
    mapalloc_free(p);
    announce(p);
    mapalloc_free(p);
    puts("survived");
    return 0;
}
