/* free_stack.c: freeing a pointer to the stack.
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
    char buf[64];
    char *volatile p = buf; /* hide the stack address from the compiler */
    p[0] = 1;
    announce(p);
    mapalloc_free(p);
    puts("survived");
    return 0;
}
