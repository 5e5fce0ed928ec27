/* dlopen_self.c: libmapalloc itself can be loaded with dlopen into a running
 * program (its initial-exec TLS must fit glibc's static TLS surplus) and its
 * prefixed API used from several threads, without replacing the program's
 * malloc. Usage: dlopen_self PATH_OF_LIBMAPALLOC
 */
#define _GNU_SOURCE
#include "../testutil.h"

#include <dlfcn.h>
#include <pthread.h>

static void *(*ma_malloc)(size_t);
static void *(*ma_realloc)(void *, size_t);
static void (*ma_free)(void *);
static size_t (*ma_check_heap)(void);

static void *worker(void *arg) {
    uint64_t seed = (uint64_t)(uintptr_t)arg;
    rng_t r = {seed};
    size_t bad = 0;
    for (int i = 0; i < 20000; i++) {
        size_t n = rng_range(&r, 1, rng_below(&r, 50) ? 2000 : 300000);
        unsigned char *p = ma_malloc(n);
        if (!p) return (void *)1;
        pattern_fill(p, n, seed + (uint64_t)i);
        if (i % 5 == 0) {
            p = ma_realloc(p, n * 2);
            if (!p) return (void *)1;
        }
        bad += pattern_check(p, n, seed + (uint64_t)i) != (size_t)-1;
        ma_free(p);
    }
    return (void *)bad;
}

int main(int argc, char **argv) {
    REQUIRE(argc == 2);
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "dlopen(%s): %s\n", argv[1], dlerror());
        return 1;
    }
    ma_malloc = (void *(*)(size_t))dlsym(h, "mapalloc_malloc");
    ma_realloc = (void *(*)(void *, size_t))dlsym(h, "mapalloc_realloc");
    ma_free = (void (*)(void *))dlsym(h, "mapalloc_free");
    ma_check_heap = (size_t (*)(void))dlsym(h, "mapalloc_check_heap");
    REQUIRE(ma_malloc && ma_realloc && ma_free && ma_check_heap);
    /* The program's own malloc is still glibc's. */
    void *mine = malloc(100);
    REQUIRE(mine);
    pthread_t t[3];
    for (int i = 0; i < 3; i++) REQUIRE(pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(i + 1)) == 0);
    void *main_result = worker((void *)(uintptr_t)99);
    CHECK(main_result == NULL);
    for (int i = 0; i < 3; i++) {
        void *res;
        REQUIRE(pthread_join(t[i], &res) == 0);
        CHECKF(res == NULL, "thread %d: %zu bad blocks", i, (size_t)(uintptr_t)res);
    }
    CHECK(ma_check_heap() == 0);
    free(mine);
    printf("dlopen of libmapalloc: 4 threads used its prefixed API\n");
    return check_failures ? 1 : 0;
}
