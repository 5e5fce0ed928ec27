/* hugepages: small objects and large blocks on 2 MiB pages, with both
 * options on. With hugetlb the first 2 MiB of every small-object region, and
 * every large block of 2 MiB or more, asks for MAP_HUGETLB pages (the pool
 * the administrator reserves with vm.nr_hugepages); when the kernel has none
 * free, normal pages are used silently, and with huge_pages the region's first
 * 2 MiB (with large_thp, a large block of 4 MiB or more) is then advised
 * MADV_HUGEPAGE (transparent huge pages, where THP is "always" or "madvise"). Either way mapalloc never purges part of that 2 MiB.
 * The example fills a region with small blocks, allocates a 6 MiB block, says
 * from /proc/self/smaps what backs each and from the statistics what the
 * kernel answered, then frees 15 of 16 small blocks, trims, and shows the
 * huge page is still whole and the remaining blocks intact.
 * Try: sudo sysctl vm.nr_hugepages=8 (and back to 0 afterwards).
 */
#include "mapalloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What backs the mapping holding addr, from /proc/self/smaps. */
struct backing {
    long kernel_page_kib; /* KernelPageSize: 2048 on a hugetlb mapping */
    long anon_huge_kib;   /* AnonHugePages: transparent huge pages in it */
    long hugetlb_kib;     /* Private_Hugetlb: hugetlb pages faulted in */
};

static struct backing backing_at(const void *addr) {
    struct backing b = {-1, -1, -1};
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f) return b;
    char line[512];
    int inside = 0;
    uintptr_t a = (uintptr_t)addr;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            if (inside) break; /* past the mapping */
            inside = a >= lo && a < hi;
            continue;
        }
        if (!inside) continue;
        sscanf(line, "KernelPageSize: %ld kB", &b.kernel_page_kib);
        sscanf(line, "AnonHugePages: %ld kB", &b.anon_huge_kib);
        sscanf(line, "Private_Hugetlb: %ld kB", &b.hugetlb_kib);
    }
    fclose(f);
    return b;
}

static const char *describe(struct backing b) {
    if (b.kernel_page_kib == 2048) return "MAP_HUGETLB 2 MiB pages";
    if (b.anon_huge_kib >= 2048) return "transparent huge pages";
    return "normal 4 KiB pages";
}

static void print_hugetlb_stats(void) {
    static char json[1 << 16];
    mapalloc_stats_json(json, sizeof json);
    const char *h = strstr(json, "\"hugetlb\":");
    const char *end = h ? strchr(h, '}') : NULL;
    if (h && end) printf("statistics: %.*s\n", (int)(end + 1 - h), h);
}

static long pool_free(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    long n = -1;
    char line[128];
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "HugePages_Free: %ld", &n) == 1) break;
    if (f) fclose(f);
    return n;
}

int main(void) {
    if (mapalloc_option_set("hugetlb", "1") != 0 || mapalloc_option_set("huge_pages", "1") != 0 ||
        mapalloc_option_set("large_thp", "1") != 0) {
        perror("mapalloc_option_set");
        return 1;
    }
    printf("free huge pages in the pool (HugePages_Free): %ld\n", pool_free());
    enum { N = 60000 };
    static unsigned char *blocks[N];
    for (int i = 0; i < N; i++) {
        blocks[i] = mapalloc_malloc(32);
        if (!blocks[i]) return 1;
        memset(blocks[i], (unsigned char)i, 32);
    }
    struct backing head = backing_at(blocks[0]);
    printf("small blocks at %p: %s\n", (void *)blocks[0], describe(head));

    size_t big_len = (size_t)6 << 20;
    unsigned char *big = mapalloc_malloc(big_len);
    if (!big) return 1;
    memset(big, 7, big_len);
    printf("6 MiB block at %p: %s\n", (void *)big, describe(backing_at(big)));
    print_hugetlb_stats();

    for (int i = 0; i < N; i++)
        if (i % 16) mapalloc_free(blocks[i]);
    mapalloc_trim(0);
    struct backing after = backing_at(blocks[0]);
    printf("after freeing 15 of 16 small blocks and trimming: %s\n", describe(after));
    if (head.kernel_page_kib == 2048 && (after.kernel_page_kib != 2048 || after.hugetlb_kib < 2048)) {
        fprintf(stderr, "the hugetlb page was given back under live blocks\n");
        return 1;
    }
    if (head.kernel_page_kib != 2048 && head.anon_huge_kib >= 2048 && after.anon_huge_kib < 2048) {
        fprintf(stderr, "the transparent huge page was broken up\n");
        return 1;
    }
    for (int i = 0; i < N; i += 16)
        for (int k = 0; k < 32; k++)
            if (blocks[i][k] != (unsigned char)i) { fprintf(stderr, "block %d changed\n", i); return 1; }
    for (size_t k = 0; k < big_len; k += 4096)
        if (big[k] != 7) { fprintf(stderr, "the large block changed\n"); return 1; }
    for (int i = 0; i < N; i += 16) mapalloc_free(blocks[i]);
    mapalloc_free(big);
    puts("hugepages ok");
    return 0;
}
