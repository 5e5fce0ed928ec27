/* double_free_cached.c: freeing twice a small block of a page that is not its
 * class's current page. The first free keeps it in the thread's class cache
 * (not on its page's free list), so the exact check must look there too.
 * Expected: abort with "mapalloc: double free at <address>" (tests/runner.py checks). */
#include "class_cache.h"

#include <stdio.h>
#include <stdlib.h>

int main(void) {
    void *p = freed_into_class_cache();
    if (!p) return 2;
    printf("address: %p\n", p);
    fflush(stdout);
    mapalloc_free(p);
    puts("survived");
    return 0;
}
