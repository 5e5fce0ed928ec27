/* ctor.c: malloc and free work in constructors, before main (this program's
 * and those of a library it links, ctor_lib.c), and in destructors, after
 * main returned: the allocator initialises itself on first use and keeps
 * working while the process winds down.
 * Run with LD_PRELOAD=libmapalloc.so.
 */
#define _GNU_SOURCE
#include "../preload_check.h"
#include "../testutil.h"
#include "ctor_lib.h"

#include <malloc.h>

static unsigned char *from_ctor[64];
static size_t from_ctor_size[64];
static int ctor_ran;

__attribute__((constructor(101))) static void early(void) {
    /* The first allocation of the process may be this one. */
    for (int i = 0; i < 64; i++) {
        size_t n = (size_t)1 << (i % 22);
        from_ctor[i] = malloc(n);
        if (!from_ctor[i]) _exit(11);
        from_ctor_size[i] = n;
        pattern_fill(from_ctor[i], n, (uint64_t)i);
    }
    /* And a few frees, so that free is used before main too. */
    void *tmp = calloc(10, 100);
    free(tmp);
    free(malloc(0));
    ctor_ran = 1;
}

static unsigned char *for_dtor;

__attribute__((destructor)) static void late(void) {
    /* main's block, freed after main returned. */
    if (pattern_check(for_dtor, 5000, 77) != (size_t)-1) _exit(21);
    free(for_dtor);
    /* New allocations after exit started, of every range. */
    for (int i = 0; i < 64; i++) {
        size_t n = (size_t)1 << (i % 23);
        unsigned char *p = malloc(n);
        if (!p) _exit(22);
        pattern_fill(p, n, 5);
        if (pattern_check(p, n, 5) != (size_t)-1) _exit(23);
        p = realloc(p, n * 3);
        if (!p || pattern_check(p, n, 5) != (size_t)-1) _exit(24);
        free(p);
    }
    static const char done[] = "destructor: allocations after main ok\n";
    if (write(1, done, sizeof(done) - 1) < 0) _exit(25);
}

int main(void) {
    require_mapalloc();
    CHECK(ctor_ran);
    CHECK(ctor_lib_check_and_free_half() == 0);
    for (int i = 0; i < 64; i++) {
        size_t bad = pattern_check(from_ctor[i], from_ctor_size[i], (uint64_t)i);
        CHECKF(bad == (size_t)-1, "block %d from the constructor changed at %zu", i, bad);
        CHECK(malloc_usable_size(from_ctor[i]) >= from_ctor_size[i]);
        free(from_ctor[i]);
    }
    for_dtor = malloc(5000);
    REQUIRE(for_dtor);
    pattern_fill(for_dtor, 5000, 77);
    printf("main: %d constructor blocks verified and freed\n", 64);
    fflush(stdout);
    return check_failures ? 1 : 0;
}
