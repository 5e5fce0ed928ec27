/* preload_check.h: for the programs that use the standard names and run with
 * LD_PRELOAD=libmapalloc.so: make sure the malloc they call is mapalloc's, so
 * that a test never passes on glibc's malloc by mistake.
 * TEST_ALLOW_OTHER_MALLOC=1 in the environment lets them run on another
 * allocator (to dry-run the tests themselves on glibc or jemalloc).
 */
#ifndef MAPALLOC_PRELOAD_CHECK_H
#define MAPALLOC_PRELOAD_CHECK_H

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A symbol of libmapalloc (e.g. "mapalloc_stats_get"), or NULL if none is loaded. */
static inline void *preload_symbol(const char *name) { return dlsym(RTLD_DEFAULT, name); }

/* 1 if malloc resolves into a library whose file name contains "mapalloc". */
static inline int malloc_is_mapalloc(void) {
    Dl_info info;
    void *m = dlsym(RTLD_DEFAULT, "malloc");
    return m && dladdr(m, &info) && info.dli_fname && strstr(info.dli_fname, "mapalloc") != NULL;
}

static inline void require_mapalloc(void) {
    if (malloc_is_mapalloc() && preload_symbol("mapalloc_stats_get")) return;
    const char *allow = getenv("TEST_ALLOW_OTHER_MALLOC");
    if (allow && strcmp(allow, "1") == 0) return;
    fprintf(stderr, "malloc is not mapalloc's: run with LD_PRELOAD=libmapalloc.so "
                    "(or TEST_ALLOW_OTHER_MALLOC=1 for a dry run)\n");
    exit(1);
}

#endif
