/* static_link.c: a program linked with libmapalloc.a (mapalloc_static)
 * gets mapalloc for its own malloc calls and for those inside libc (strdup,
 * getline, fopen's buffer, asprintf, qsort's buffer); blocks cross freely
 * between the two, and threads work. No LD_PRELOAD.
 */
#define _GNU_SOURCE
#include "../testutil.h"
#include "mapalloc.h"

#include <malloc.h>
#include <pthread.h>

static size_t live_blocks(void) {
    struct mapalloc_stats s;
    mapalloc_stats_get(&s);
    return s.in_use_blocks;
}

static void *worker(void *arg) {
    rng_t r = {(uint64_t)(uintptr_t)arg};
    for (int i = 0; i < 20000; i++) {
        size_t n = rng_range(&r, 1, 5000);
        unsigned char *p = malloc(n);
        if (!p) return (void *)1;
        pattern_fill(p, n, n);
        if (pattern_check(p, n, n) != (size_t)-1) return (void *)1;
        char *s = strdup("thread string");
        free(p);
        free(s);
    }
    return NULL;
}

int main(void) {
    size_t base = live_blocks();
    char *s = strdup("made by libc's strdup");
    REQUIRE(s);
    CHECKF(live_blocks() == base + 1, "strdup's block is not mapalloc's (%zu -> %zu live)", base, live_blocks());
    CHECK(malloc_usable_size(s) >= strlen(s) + 1);
    free(s);
    CHECK(live_blocks() == base);

    char *a = NULL;
    REQUIRE(asprintf(&a, "%0*d", 3000, 7) == 3000);
    CHECK(malloc_usable_size(a) >= 3001);
    free(a);

    FILE *f = fopen("/proc/self/maps", "r");
    REQUIRE(f);
    char *line = NULL;
    size_t cap = 0, lines = 0;
    while (getline(&line, &cap, f) > 0) lines++;
    CHECK(lines > 0 && line != NULL && malloc_usable_size(line) >= cap);
    free(line);
    fclose(f);
    CHECK(live_blocks() == base);

    pthread_t t[3];
    for (int i = 0; i < 3; i++) REQUIRE(pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(i + 1)) == 0);
    for (int i = 0; i < 3; i++) {
        void *res;
        REQUIRE(pthread_join(t[i], &res) == 0);
        CHECK(res == NULL);
    }
    mapalloc_trim(0);
    size_t seen = mapalloc_check_heap();
    CHECKF(seen == live_blocks(), "heap checker sees %zu live blocks, statistics %zu", seen, live_blocks());
    printf("static link: libc's allocations are mapalloc's; %zu lines read\n", lines);
    return check_failures ? 1 : 0;
}
