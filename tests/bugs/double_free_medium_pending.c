/* double_free_medium_pending.c: the owner frees a medium block that another
 * thread freed already (the free waits on the page's cross-thread list).
 * Expected: abort with "mapalloc: double free at <address>" (tests/runner.py checks). */
#include "mapalloc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

/* Say which address the bad call gets, then make it. */
static void announce(const void *p) {
    printf("address: %p\n", p);
    fflush(stdout);
}

static void *free_it(void *p) {
    mapalloc_free(p);
    return NULL;
}

int main(void) {
    char *p = mapalloc_malloc(30000);
    if (!p) return 2;
    pthread_t t;
    if (pthread_create(&t, NULL, free_it, p) != 0 || pthread_join(t, NULL) != 0) return 2;
    announce(p);
    mapalloc_free(p);
    puts("survived");
    return 0;
}
