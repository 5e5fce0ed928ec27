/* double_free_delayed.c: freeing a small block twice with other work in
 * between (the block is not reused: the other blocks are of another class).
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
    char *p = mapalloc_malloc(40);
    void *other[100];
    if (!p) return 2;
    mapalloc_free(p);
    for (int i = 0; i < 100; i++) other[i] = mapalloc_malloc(500);
    for (int i = 0; i < 100; i++) mapalloc_free(other[i]);
    announce(p);
    mapalloc_free(p);
    puts("survived");
    return 0;
}
