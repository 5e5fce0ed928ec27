/* heap_growth.c: heavy allocation (every range, several threads) does not
 * grow the brk heap: the [heap] mapping of /proc/self/maps is as large after
 * as before (or absent). nobrk.py also runs it under strace to show that no
 * brk call moves the break. Run with LD_PRELOAD=libmapalloc.so; on glibc's
 * malloc this program fails, which nobrk.py checks too.
 */
#define _GNU_SOURCE
#include "../preload_check.h"
#include "../testutil.h"

#include <pthread.h>

/* Size of the [heap] mapping, 0 if there is none. */
static size_t brk_heap_size(void) {
    FILE *f = fopen("/proc/self/maps", "r");
    REQUIRE(f);
    char line[512];
    size_t size = 0;
    while (fgets(line, sizeof(line), f)) {
        unsigned long lo, hi;
        if (strstr(line, "[heap]") && sscanf(line, "%lx-%lx", &lo, &hi) == 2) size += hi - lo;
    }
    fclose(f);
    return size;
}

static void *churn(void *arg) {
    rng_t r = {(uint64_t)(uintptr_t)arg};
    enum { LIVE = 2000 };
    static __thread void *live[LIVE];
    for (int i = 0; i < 100000; i++) {
        size_t k = rng_below(&r, LIVE);
        free(live[k]);
        size_t n = rng_below(&r, 100) ? rng_range(&r, 1, 2048) : rng_range(&r, 2049, 1 * MiB);
        live[k] = malloc(n);
        if (!live[k]) return (void *)1;
        memset(live[k], 1, n < 4096 ? n : 4096);
    }
    for (int k = 0; k < LIVE; k++) free(live[k]);
    return NULL;
}

int main(void) {
    require_mapalloc();
    size_t before = brk_heap_size();
    pthread_t t[3];
    for (int i = 0; i < 3; i++) REQUIRE(pthread_create(&t[i], NULL, churn, (void *)(uintptr_t)(i + 1)) == 0);
    CHECK(churn((void *)99) == NULL);
    for (int i = 0; i < 3; i++) {
        void *res;
        REQUIRE(pthread_join(t[i], &res) == 0);
        CHECK(res == NULL);
    }
    size_t after = brk_heap_size();
    printf("[heap] mapping: %zu bytes before, %zu bytes after 400000 allocations\n", before, after);
    CHECKF(after <= before, "the brk heap grew by %zu bytes", after - before);
    return check_failures ? 1 : 0;
}
