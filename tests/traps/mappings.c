/* mappings.c: the allocator keeps the number of mappings low
 * (vm.max_map_count is a limit real programs hit): 256 MiB in small and
 * medium blocks add at most a few mappings per 4 MiB region, not one per
 * page or block; after everything is freed and trimmed, the count is back
 * near where it started. Run with LD_PRELOAD=libmapalloc.so.
 */
#define _GNU_SOURCE
#include "../preload_check.h"
#include "../testutil.h"

#include <malloc.h>

static size_t mapping_count(void) {
    FILE *f = fopen("/proc/self/maps", "r");
    REQUIRE(f);
    size_t n = 0;
    int c;
    while ((c = fgetc(f)) != EOF) n += c == '\n';
    fclose(f);
    return n;
}

enum { BLOCKS = 400000 };
static void *blocks[BLOCKS];

int main(void) {
    require_mapalloc();
    malloc_trim(0);
    size_t before = mapping_count(), bytes = 0;
    rng_t r = {9};
    for (int i = 0; i < BLOCKS; i++) {
        size_t n = rng_below(&r, 50) ? rng_range(&r, 16, 512) : rng_range(&r, 1024, 32768);
        REQUIRE((blocks[i] = malloc(n)));
        memset(blocks[i], 1, n < 64 ? n : 64);
        bytes += n;
    }
    size_t during = mapping_count();
    size_t regions = bytes / (4 * MiB) + 1;
    printf("mappings: %zu before, %zu with %zu MiB in %d blocks (%zu regions' worth), ", before, during, bytes / MiB,
           BLOCKS, regions);
    CHECKF(during - before <= 4 * regions + 16, "%zu mappings added for %zu MiB", during - before, bytes / MiB);
    for (int i = 0; i < BLOCKS; i++) free(blocks[i]);
    malloc_trim(0);
    size_t after = mapping_count();
    printf("%zu after free and trim\n", after);
    CHECKF(after <= before + 16, "%zu mappings left after freeing everything", after - before);
    return check_failures ? 1 : 0;
}
