/* footprint: the large cache gives way to memory in use (large_cache.c).
 * Committed memory, in use plus cached, stays within the recent peak of
 * memory in use. Run with the library preloaded and
 * MAPALLOC_LARGE_CACHE_MS=60000 (no expiry during the test).
 *
 * kept:      an 8 MiB block freed when it was the program's peak is cached,
 *            and the next 8 MiB block reuses its pages (the process does not
 *            grow by it).
 * gives way: with that block cached, 12 MiB of small blocks. The cache must
 *            be emptied as they are committed: the highest committed grows
 *            by what the program uses beyond its old peak (about 4 MiB), not
 *            by all 12 MiB on top of the cached 8 MiB.
 * cycling:   four live 4 MiB blocks replaced one at a time a hundred times:
 *            the cache never holds more than the program freed, so the
 *            highest committed stays about the live bytes plus one block.
 */
#define _GNU_SOURCE
#include "../preload_check.h"
#include "../testutil.h"
#include "mapalloc.h"

#define MiB ((size_t)1 << 20)

static void (*stats_get)(struct mapalloc_stats *);

static struct mapalloc_stats stats(void) {
    struct mapalloc_stats s;
    stats_get(&s);
    return s;
}

static void kept(void) {
    unsigned char *p = malloc(8 * MiB);
    REQUIRE(p);
    memset(p, 0x5A, 8 * MiB);
    free(p);
    size_t cached = stats().large_cached;
    printf("kept: %zu KiB cached after freeing an 8 MiB block\n", cached / KiB);
    CHECKF(cached >= 8 * MiB, "only %zu KiB cached: the freed block was not kept", cached / KiB);
    size_t before = rss_bytes();
    unsigned char *q = malloc(8 * MiB);
    REQUIRE(q);
    memset(q, 1, 8 * MiB);
    long grew = (long)(rss_bytes() / KiB) - (long)(before / KiB);
    printf("kept: the next 8 MiB block grew the process by %ld KiB\n", grew);
    CHECKF(grew < 1024, "grew by %ld KiB: the cached pages were not reused", grew);
    free(q);
}

static void gives_way(void) {
    unsigned char *p = malloc(8 * MiB);
    REQUIRE(p);
    memset(p, 0x5A, 8 * MiB);
    size_t peak_before = stats().peak_committed;
    free(p);
    enum { SMALL = 1000, COUNT = 12 * 1024 };
    static void *blocks[COUNT];
    for (size_t i = 0; i < COUNT; i++) {
        blocks[i] = malloc(SMALL);
        REQUIRE(blocks[i]);
        memset(blocks[i], (int)i, SMALL);
    }
    struct mapalloc_stats s = stats();
    long rise = (long)(s.peak_committed / KiB) - (long)(peak_before / KiB);
    printf("gives way: 12 MiB of small blocks after an 8 MiB one: %zu KiB cached, highest committed rose by %ld KiB\n",
           s.large_cached / KiB, rise);
    CHECKF(s.large_cached < 8 * MiB, "the 8 MiB mapping is still cached (%zu KiB)", s.large_cached / KiB);
    /* beyond the old peak: 12 MiB of blocks in 1024-byte slots less the 8 MiB
     * freed, and the pages' rounding; 8 MiB more if the cache kept its block */
    CHECKF(rise < 7 * 1024, "highest committed rose by %ld KiB: the cache stayed on top of the new blocks", rise);
    for (size_t i = 0; i < COUNT; i++) free(blocks[i]);
}

static void cycling(void) {
    enum { LIVE = 4, ROUNDS = 100 };
    unsigned char *b[LIVE];
    for (int i = 0; i < LIVE; i++) {
        b[i] = malloc(4 * MiB);
        REQUIRE(b[i]);
        memset(b[i], i, 4 * MiB);
    }
    size_t start = stats().peak_committed;
    rng_t r = {7};
    for (int k = 0; k < ROUNDS; k++) {
        int i = (int)rng_below(&r, LIVE);
        free(b[i]);
        size_t n = rng_range(&r, 2 * MiB, 4 * MiB);
        b[i] = malloc(n);
        REQUIRE(b[i]);
        memset(b[i], k, n);
    }
    struct mapalloc_stats s = stats();
    long rise = (long)(s.peak_committed / KiB) - (long)(start / KiB);
    printf("cycling: highest committed rose by %ld KiB over %d replacements, %zu KiB cached\n", rise, ROUNDS,
           s.large_cached / KiB);
    CHECKF(rise < 1024, "highest committed rose by %ld KiB: the cache held more than was freed", rise);
    for (int i = 0; i < LIVE; i++) free(b[i]);
}

int main(void) {
    require_mapalloc();
    stats_get = (void (*)(struct mapalloc_stats *))preload_symbol("mapalloc_stats_get");
    kept();
    gives_way();
    cycling();
    if (check_failures) return 1;
    puts("the large cache stays within the peak of memory in use");
    return 0;
}
