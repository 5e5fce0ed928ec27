/* usable_size_stack.c: malloc_usable_size of a pointer to the stack.
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
    char buf[64];
    char *volatile p = buf;
    p[0] = 1;
    announce(p);
    printf("usable size %zu\n", mapalloc_usable_size(p));
    puts("survived");
    return 0;
}
