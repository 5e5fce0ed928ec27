/* ctor_lib.c: a library the ctor test links against. Its constructor and
 * destructor allocate; the loader may run them before libmapalloc's own
 * constructor and after its destructor, so mapalloc must initialise on first
 * use and never tear itself down while the process can still call it.
 */
#define _GNU_SOURCE
#include "../testutil.h"

#include "ctor_lib.h"

static unsigned char *blocks[32];

__attribute__((constructor)) static void lib_early(void) {
    for (int i = 0; i < 32; i++) {
        size_t n = 1 + ((size_t)i * 7919) % 200000;
        blocks[i] = malloc(n);
        if (!blocks[i]) _exit(31);
        pattern_fill(blocks[i], n, (uint64_t)i + 1000);
    }
}

int ctor_lib_check_and_free_half(void) {
    int bad = 0;
    for (int i = 0; i < 16; i++) {
        size_t n = 1 + ((size_t)i * 7919) % 200000;
        bad += pattern_check(blocks[i], n, (uint64_t)i + 1000) != (size_t)-1;
        free(blocks[i]);
        blocks[i] = NULL;
    }
    return bad;
}

__attribute__((destructor)) static void lib_late(void) {
    for (int i = 16; i < 32; i++) {
        size_t n = 1 + ((size_t)i * 7919) % 200000;
        if (pattern_check(blocks[i], n, (uint64_t)i + 1000) != (size_t)-1) _exit(32);
        free(blocks[i]);
    }
    void *p = malloc(100000);
    if (!p) _exit(33);
    memset(p, 1, 100000);
    free(p);
    static const char done[] = "library destructor: ok\n";
    if (write(1, done, sizeof(done) - 1) < 0) _exit(34);
}
