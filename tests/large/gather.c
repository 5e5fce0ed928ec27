/* gather: a large block that no single cached mapping holds is made of the
 * resident pages of several (cache_gather), and such a block keeps every
 * byte through realloc growth (its pieces move one mapping at a time),
 * shrinking, freeing and reuse of its parts. Run with the library preloaded
 * and MAPALLOC_LARGE_CACHE_MS=60000 (no expiry during the test).
 *
 * reuse:  six 3 MiB blocks freed, then one of 16 MiB touched whole: the
 *         process must not grow by the new block (an allocator that only
 *         reuses a cached mapping that holds the request grows by 16 MiB
 *         while keeping the 18 MiB it cached).
 * calloc: the same from dirty cached pages: every byte reads zero.
 * churn:  random malloc (128 KiB..3 MiB), realloc up and down, free of
 *         twelve blocks, each byte checked against its pattern at each step.
 */
#define _DEFAULT_SOURCE
#include "../testutil.h"

#define MiB ((size_t)1 << 20)

static long rss_kib(void) { return (long)(rss_bytes() / KiB); }

static void free_six_dirty_blocks(void) {
    void *p[6];
    for (int i = 0; i < 6; i++) {
        p[i] = malloc(3 * MiB + (size_t)i * 4096);
        REQUIRE(p[i]);
        memset(p[i], 0xA5, 3 * MiB);
    }
    for (int i = 0; i < 6; i++) free(p[i]);
}

static void reuse(void) {
    free_six_dirty_blocks();
    long before = rss_kib();
    unsigned char *q = malloc(16 * MiB);
    REQUIRE(q);
    memset(q, 1, 16 * MiB);
    long grew = rss_kib() - before;
    printf("reuse: a 16 MiB block after freeing 18 MiB grew the process by %ld KiB\n", grew);
    CHECKF(grew < 4 * 1024, "grew by %ld KiB: the freed blocks' pages were not reused", grew);
    free(q);
}

static void calloc_zero(void) {
    free_six_dirty_blocks();
    unsigned char *q = calloc(1, 16 * MiB);
    REQUIRE(q);
    size_t bad = 0;
    for (size_t i = 0; i < 16 * MiB; i++) bad += q[i] != 0;
    CHECKF(bad == 0, "%zu bytes of a calloc'd gathered block are not zero", bad);
    free(q);
}

static void churn(void) {
    enum { SLOTS = 12, STEPS = 800 };
    struct { unsigned char *p; size_t n; uint64_t seed; } b[SLOTS] = {{0}};
    rng_t r = {42};
    for (int step = 0; step < STEPS; step++) {
        int i = (int)rng_below(&r, SLOTS);
        if (b[i].p) {
            size_t off = pattern_check(b[i].p, b[i].n, b[i].seed);
            CHECKF(off == (size_t)-1, "step %d: block of %zu bytes differs at %zu", step, b[i].n, off);
        }
        size_t op = rng_below(&r, 4);
        if (!b[i].p || op == 0) {
            free(b[i].p);
            b[i].n = rng_range(&r, 128 * KiB, 3 * MiB);
            b[i].p = malloc(b[i].n);
            REQUIRE(b[i].p);
            b[i].seed = rng_next(&r);
            pattern_fill(b[i].p, b[i].n, b[i].seed);
            continue;
        }
        if (op == 3) {
            free(b[i].p);
            b[i].p = NULL;
            continue;
        }
        /* realloc: op 1 grows (up to 3x) a block below 8 MiB, else it
         * shrinks (down to 128 KiB + 1); the kept prefix must survive, the
         * whole block then gets a new pattern */
        size_t n = op == 1 && b[i].n < 8 * MiB ? b[i].n + rng_range(&r, 1, 2 * b[i].n)
                                               : rng_range(&r, 128 * KiB + 1, b[i].n);
        unsigned char *q = realloc(b[i].p, n);
        REQUIRE(q);
        size_t keep = n < b[i].n ? n : b[i].n;
        size_t off = pattern_check(q, keep, b[i].seed);
        CHECKF(off == (size_t)-1, "step %d: realloc %zu -> %zu lost the byte at %zu", step, b[i].n, n, off);
        b[i].p = q;
        b[i].n = n;
        b[i].seed = rng_next(&r);
        pattern_fill(q, n, b[i].seed);
    }
    for (int i = 0; i < SLOTS; i++) free(b[i].p);
    printf("churn: %d steps checked\n", STEPS);
}

int main(void) {
    reuse();
    calloc_zero();
    churn();
    if (check_failures) return 1;
    puts("gathered large blocks reuse cached pages and keep their bytes");
    return 0;
}
