/* free_global.c: freeing a pointer to a global.
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
    static char global[64];
    char *volatile p = global;
    announce(p);
    mapalloc_free(p);
    puts("survived");
    return 0;
}
