/* free_misaligned_full_page.c: freeing block + 1 of a small block whose page
 * is full (its frees all take the slow path: the fast path's block-start test
 * once accepted exactly this offset there).
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
    enum { N = 200 }; /* a 64 KiB page holds 64 blocks of 1 KiB: the first page fills */
    static char *b[N];
    for (int i = 0; i < N; i++)
        if (!(b[i] = mapalloc_malloc(1024))) return 2;
    announce(b[0] + 1);
    mapalloc_free(b[0] + 1);
    puts("survived");
    return 0;
}
