/* mallinfo.c: mallinfo2() gives real figures (not zeros) that follow the
 * program's allocations, and malloc_stats() prints them.
 * Run with LD_PRELOAD=libmapalloc.so.
 */
#define _GNU_SOURCE
#include "../preload_check.h"
#include "../testutil.h"

#include <malloc.h>

int main(void) {
    require_mapalloc();
    struct mallinfo2 before = mallinfo2();
    enum { N = 1000 };
    static void *small[N];
    for (int i = 0; i < N; i++) REQUIRE((small[i] = malloc(1000)));
    void *large = malloc(16 * MiB);
    REQUIRE(large);
    memset(large, 1, 16 * MiB);
    struct mallinfo2 during = mallinfo2();
    CHECKF(during.uordblks >= before.uordblks + N * 1000, "uordblks %zu -> %zu", before.uordblks,
           during.uordblks);
    CHECKF(during.hblks >= before.hblks + 1, "hblks %zu -> %zu", before.hblks, during.hblks);
    CHECKF(during.hblkhd >= before.hblkhd + 16 * MiB, "hblkhd %zu -> %zu", before.hblkhd, during.hblkhd);
    CHECKF(during.arena > 0, "arena %zu", during.arena);
    for (int i = 0; i < N; i++) free(small[i]);
    free(large);
    struct mallinfo2 after = mallinfo2();
    CHECKF(after.uordblks < during.uordblks - N * 900, "uordblks %zu -> %zu after free", during.uordblks,
           after.uordblks);
    CHECKF(after.hblks == before.hblks, "hblks %zu -> %zu after free", before.hblks, after.hblks);
    malloc_stats(); /* to stderr; runner.py shows it */
    printf("mallinfo2: in use %zu -> %zu -> %zu bytes\n", before.uordblks, during.uordblks, after.uordblks);
    return check_failures ? 1 : 0;
}
