/* free_misaligned_medium.c: freeing block + 1 of a medium block (exact fit,
 * above 4 KiB) whose page is full.
 * Expected: abort with "mapalloc: interior pointer freed at <address>" (tests/runner.py checks). */
#include "mapalloc.h"

#include <stdio.h>
#include <stdlib.h>

/* Say which address the bad call gets, then make it. */
static void announce(const void *p) {
    printf("address: %p\n", p);
    fflush(stdout);
}

int main(void) {
    enum { N = 9 }; /* eight 128 KiB blocks fill a 1 MiB medium page; the ninth needs another */
    static char *b[N];
    for (int i = 0; i < N; i++)
        if (!(b[i] = mapalloc_malloc(128 << 10))) return 2;
    announce(b[0] + 1);
    mapalloc_free(b[0] + 1);
    puts("survived");
    return 0;
}
