/* usable_size_cached.c: malloc_usable_size of a freed small block that sits in
 * the thread's class cache (its page not current when it was freed).
 * Expected: abort with "mapalloc: malloc_usable_size of invalid pointer". */
#include "class_cache.h"

#include <stdio.h>
#include <stdlib.h>

int main(void) {
    void *p = freed_into_class_cache();
    if (!p) return 2;
    printf("address: %p\n", p);
    fflush(stdout);
    printf("%zu\n", mapalloc_usable_size(p));
    puts("survived");
    return 0;
}
