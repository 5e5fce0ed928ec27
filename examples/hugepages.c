/* hugepages: small objects on transparent huge pages. With the huge_pages
 * option the first 2 MiB of every small-object region is advised
 * MADV_HUGEPAGE; the kernel then backs it with one 2 MiB page (where THP is
 * enabled, "always" or "madvise") and mapalloc never purges part of it. The
 * example fills a region with small blocks, reads AnonHugePages of the
 * region from /proc/self/smaps, frees most blocks and shows the huge page is
 * kept whole. Where THP is "never" or missing it says so and exits 0: the
 * allocator falls back to normal pages silently.
 */
#include "mapalloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* AnonHugePages (KiB) of the mapping containing addr, or -1. */
static long huge_kib_at(const void *addr) {
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f) return -1;
    char line[512];
    int inside = 0;
    long kib = -1;
    uintptr_t a = (uintptr_t)addr;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            inside = a >= lo && a < hi;
            continue;
        }
        if (inside && sscanf(line, "AnonHugePages: %ld kB", &kib) == 1) break;
    }
    fclose(f);
    return kib;
}

static int thp_enabled(void) {
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (!f) return 0;
    char buf[128] = {0};
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    (void)n;
    return strstr(buf, "[never]") == NULL;
}

int main(void) {
    if (mapalloc_option_set("huge_pages", "1") != 0) { perror("mapalloc_option_set"); return 1; }
    enum { N = 60000 };
    static void *blocks[N];
    for (int i = 0; i < N; i++) {
        blocks[i] = mapalloc_malloc(32);
        if (!blocks[i]) return 1;
        memset(blocks[i], 1, 32);
    }
    long kib = huge_kib_at(blocks[0]);
    printf("first block %p: AnonHugePages of its mapping %ld KiB\n", blocks[0], kib);
    if (!thp_enabled()) {
        puts("transparent huge pages are disabled here: normal pages were used (the fallback)");
        return 0;
    }
    if (kib < 2048) {
        /* THP allocation can fail under memory fragmentation: not an error of ours. */
        puts("the kernel gave no huge page this time (fragmentation?); normal pages were used");
        return 0;
    }
    for (int i = 0; i < N; i++) if (i % 16) mapalloc_free(blocks[i]);
    mapalloc_trim(0);
    long after = huge_kib_at(blocks[0]);
    printf("after freeing 15 of 16 blocks and trimming: AnonHugePages %ld KiB\n", after);
    if (after < 2048) { fprintf(stderr, "the huge page was broken up\n"); return 1; }
    for (int i = 0; i < N; i += 16) mapalloc_free(blocks[i]);
    puts("hugepages ok");
    return 0;
}
