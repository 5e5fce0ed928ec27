/* fresh_large: a large block that needs fresh pages from the kernel makes the
 * calling thread give back its heap's freed small pages first, even when
 * their purge delay has not passed: the process must not grow by the new
 * block while holding memory it cannot use for it. Run with the library
 * preloaded and MAPALLOC_PURGE_DELAY_MS=100000 (no purge by time).
 */
#define _DEFAULT_SOURCE
#include "../testutil.h"

static long rss_kib(void) { return (long)(rss_bytes() / KiB); }

int main(void) {
    enum { N = 200000, SMALL = 200 };
    const size_t big = (size_t)40 << 20;
    static void *p[N];
    long base = rss_kib();
    for (int i = 0; i < N; i++) {
        p[i] = malloc(SMALL);
        if (!p[i]) return 1;
        memset(p[i], 1, SMALL);
    }
    long small_peak = rss_kib();
    for (int i = 0; i < N; i++) free(p[i]);
    long freed = rss_kib();
    unsigned char *q = malloc(big);
    if (!q) return 1;
    memset(q, 2, big);
    long with_big = rss_kib();
    long small_kib = small_peak - base, big_kib = (long)(big >> 10);
    printf("base %ld KiB, small blocks %ld KiB, after free %ld KiB, with the large block %ld KiB\n", base,
           small_kib, freed - base, with_big - base);
    free(q);
    /* The freed small pages (about 40 MiB) must be gone once the large block
     * is in: at most a quarter of them may remain. */
    if (with_big - base > big_kib + small_kib / 4) {
        puts("the heap kept its freed pages while the process grew by a large block");
        return 1;
    }
    puts("freed pages given back before the large block");
    return 0;
}
