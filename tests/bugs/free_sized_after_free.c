/* free_sized_after_free.c: free_sized of a block already freed (a double free through the C23 call).
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
    char *p = mapalloc_malloc(200);
    if (!p) return 2;
    mapalloc_free(p);
    announce(p);
    mapalloc_free_sized(p, 200);
    puts("survived");
    return 0;
}
