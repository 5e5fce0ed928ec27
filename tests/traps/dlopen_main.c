/* dlopen_main.c: a library loaded with dlopen allocates in its constructor;
 * the main program frees those blocks, the library frees the main program's
 * blocks, and blocks the library allocated outlive its dlclose. Twenty rounds
 * of dlopen/dlclose. Run with LD_PRELOAD=libmapalloc.so.
 * Usage: dlopen_main PATH_OF_PLUGIN
 */
#define _GNU_SOURCE
#include "../preload_check.h"
#include "../testutil.h"
#include "dlopen_lib.h"

int main(int argc, char **argv) {
    REQUIRE(argc == 2);
    require_mapalloc();
    enum { ROUNDS = 20, KEEP = 30 };
    unsigned char *outlive[ROUNDS][KEEP];
    size_t verified = 0;
    for (int round = 0; round < ROUNDS; round++) {
        void *h = dlopen(argv[1], RTLD_NOW | (round % 2 ? RTLD_GLOBAL : RTLD_LOCAL));
        if (!h) {
            fprintf(stderr, "dlopen: %s\n", dlerror());
            return 1;
        }
        size_t (*blocks_fn)(unsigned char ***, size_t **, uint64_t *) =
            (size_t (*)(unsigned char ***, size_t **, uint64_t *))dlsym(h, "plugin_blocks");
        int (*free_fn)(void *, size_t, uint64_t) = (int (*)(void *, size_t, uint64_t))dlsym(h, "plugin_free");
        void *(*alloc_fn)(size_t, uint64_t) = (void *(*)(size_t, uint64_t))dlsym(h, "plugin_alloc");
        REQUIRE(blocks_fn && free_fn && alloc_fn);

        /* The main program frees half of the constructor's blocks. */
        unsigned char **blocks;
        size_t *sizes;
        uint64_t seed_base;
        size_t count = blocks_fn(&blocks, &sizes, &seed_base);
        for (size_t i = 0; i < count; i += 2) {
            size_t bad = pattern_check(blocks[i], sizes[i], seed_base + i);
            CHECKF(bad == (size_t)-1, "round %d: plugin block %zu corrupt at %zu", round, i, bad);
            free(blocks[i]);
            blocks[i] = NULL;
            verified++;
        }
        /* The plugin frees blocks of the main program. */
        for (size_t i = 0; i < 40; i++) {
            size_t n = 1 + i * i * 97;
            void *p = malloc(n);
            REQUIRE(p);
            pattern_fill(p, n, i);
            CHECK(free_fn(p, n, i) == 0);
            verified++;
        }
        /* Blocks of the plugin that outlive it. */
        for (size_t i = 0; i < KEEP; i++) {
            outlive[round][i] = alloc_fn(1 + i * 3001, (uint64_t)round * 100 + i);
            REQUIRE(outlive[round][i]);
        }
        REQUIRE(dlclose(h) == 0);
    }
    for (int round = 0; round < ROUNDS; round++)
        for (size_t i = 0; i < KEEP; i++) {
            size_t bad = pattern_check(outlive[round][i], 1 + i * 3001, (uint64_t)round * 100 + i);
            CHECKF(bad == (size_t)-1, "block of unloaded plugin corrupt at %zu", bad);
            free(outlive[round][i]);
            verified++;
        }
    printf("dlopen: %d rounds, %zu blocks verified across the boundary\n", ROUNDS, verified);
    return check_failures ? 1 : 0;
}
