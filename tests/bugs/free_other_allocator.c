/* free_other_allocator.c: freeing a block that glibc malloc returned.
 * Expected: abort with "mapalloc: invalid free at <address>" (tests/runner.py checks). */
#include "mapalloc.h"

#include <stdio.h>
#include <stdlib.h>

/* Say which address the bad call gets, then make it. */
static void announce(const void *p) {
    printf("address: %p\n", p);
    fflush(stdout);
}

int main(void) {
    char *p = malloc(64);
    if (!p) return 2;
    announce(p);
    mapalloc_free(p);
    puts("survived");
    return 0;
}
