/* dlopen_lib.c: a plugin that the dlopen test loads and unloads repeatedly.
 * It allocates in its constructor, keeps a pointer in general-dynamic TLS,
 * frees blocks the main program allocated, and hands out blocks the main
 * program frees after the plugin is gone.
 */
#define _GNU_SOURCE
#include "../testutil.h"

#include "dlopen_lib.h"

#define CTOR_BLOCKS 50
static unsigned char *ctor_blocks[CTOR_BLOCKS];
static size_t ctor_sizes[CTOR_BLOCKS];
static __thread unsigned char *tls_block; /* dlopen'd: general-dynamic TLS */

__attribute__((constructor)) static void plugin_init(void) {
    for (int i = 0; i < CTOR_BLOCKS; i++) {
        size_t n = (size_t)1 << (i % 22);
        ctor_blocks[i] = malloc(n);
        if (!ctor_blocks[i]) _exit(41);
        ctor_sizes[i] = n;
        pattern_fill(ctor_blocks[i], n, (uint64_t)i + 500);
    }
    tls_block = malloc(64);
    if (!tls_block) _exit(42);
    memset(tls_block, 0x11, 64);
}

size_t plugin_blocks(unsigned char ***blocks, size_t **sizes, uint64_t *seed_base) {
    *blocks = ctor_blocks;
    *sizes = ctor_sizes;
    *seed_base = 500;
    return CTOR_BLOCKS;
}

int plugin_free(void *p, size_t n, uint64_t seed) {
    int bad = pattern_check(p, n, seed) != (size_t)-1;
    free(p);
    return bad;
}

void *plugin_alloc(size_t n, uint64_t seed) {
    void *p = malloc(n);
    if (p) pattern_fill(p, n, seed);
    return p;
}

__attribute__((destructor)) static void plugin_fini(void) {
    for (int i = 0; i < 64; i++)
        if (tls_block[i] != 0x11) _exit(43);
    free(tls_block);
    /* Some of the constructor's blocks may be left: free them here. */
    for (int i = 0; i < CTOR_BLOCKS; i++) free(ctor_blocks[i]);
}
