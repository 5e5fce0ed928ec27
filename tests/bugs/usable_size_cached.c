/* usable_size_cached.c: malloc_usable_size of a freed small block that sits in
 * the thread's class cache (its page not current when it was freed).
 * Expected: abort with "mapalloc: malloc_usable_size of invalid pointer". */
#include "mapalloc.h"

#include <stdio.h>
#include <stdlib.h>

int main(void) {
    enum { N = 3000 };
    static void *b[N];
    for (int i = 0; i < N; i++)
        if (!(b[i] = mapalloc_malloc(48))) return 2;
    mapalloc_free(b[1]); /* the first page was full: this free takes it off the full list */
    mapalloc_free(b[3]); /* now a fast-path free into a page that is not current */
    printf("address: %p\n", b[3]);
    fflush(stdout);
    printf("%zu\n", mapalloc_usable_size(b[3]));
    puts("survived");
    return 0;
}
