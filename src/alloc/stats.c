/* stats.c: counters kept on slow paths and the figures computed from them
 * and from a walk of the heaps (blocks in use). Nothing here is on a fast path.
 * May call: os.h (counters), heap.c (walk), large.c.
 */
#include "internal.h"
#include "mapalloc.h"

#include <stdio.h>

_Atomic size_t stat_committed, stat_reserved, stat_purged, stat_peak_committed, stat_regions;

size_t heaps_count(void) INTERNAL;

void stat_commit(ptrdiff_t delta) {
    size_t now = atomic_fetch_add(&stat_committed, (size_t)delta) + (size_t)delta;
    size_t peak = atomic_load_explicit(&stat_peak_committed, memory_order_relaxed);
    while (now > peak && !atomic_compare_exchange_weak(&stat_peak_committed, &peak, now)) {}
}

static void count_in_use(size_t *bytes, size_t *blocks) {
    size_t by = 0, bl = 0;
    heaps_lock();
    for (heap_t *h = heaps_first(); h; h = h->next_all) {
        for (region_t *r = h->regions; r; r = r->next) {
            for (unsigned i = 0; i < USABLE_SLICES; i++) {
                page_t *pg = &r->pages[i];
                if (!pg->slice_count || r->slice_page[i] != pg) continue;
                by += (size_t)pg->used * pg->block_size;
                bl += pg->used;
            }
        }
        size_t fb, fbytes;
        foreign_held(h, &fb, &fbytes);
        bl -= fb;
        by -= fbytes;
    }
    heaps_unlock();
    *bytes = by;
    *blocks = bl;
}

MAPALLOC_EXPORT void mapalloc_stats_get(struct mapalloc_stats *out) {
    size_t lb, lbytes, lcached;
    large_stats(&lb, &lbytes, &lcached);
    count_in_use(&out->in_use, &out->in_use_blocks);
    out->in_use += lbytes;
    out->in_use_blocks += lb;
    out->committed = atomic_load(&stat_committed);
    out->reserved = atomic_load(&stat_reserved);
    out->purged = atomic_load(&stat_purged);
    out->peak_committed = atomic_load(&stat_peak_committed);
    out->regions = atomic_load(&stat_regions);
    out->large_blocks = lb;
    out->large_bytes = lbytes;
    out->large_cached = lcached;
    out->heaps = heaps_count();
    struct os_counters c;
    os_counters_get(&c);
    out->mmap_calls = c.mmap;
    out->munmap_calls = c.munmap;
    out->mremap_calls = c.mremap;
    out->madvise_calls = c.madvise;
    out->mprotect_calls = c.mprotect;
}

MAPALLOC_EXPORT void mapalloc_stats_print(FILE *out) {
    struct mapalloc_stats s;
    mapalloc_stats_get(&s);
    char buf[1024];
    int n = snprintf(buf, sizeof buf,
        "mapalloc statistics\n"
        "  in use          %zu bytes in %zu blocks\n"
        "  committed       %zu bytes (peak %zu)\n"
        "  reserved        %zu bytes in %zu regions\n"
        "  large blocks    %zu (%zu bytes), cached %zu bytes\n"
        "  purged          %zu bytes (cumulative)\n"
        "  heaps           %zu\n"
        "  system calls    mmap %llu, munmap %llu, mremap %llu, madvise %llu, mprotect %llu\n",
        s.in_use, s.in_use_blocks, s.committed, s.peak_committed, s.reserved, s.regions,
        s.large_blocks, s.large_bytes, s.large_cached, s.purged, s.heaps,
        (unsigned long long)s.mmap_calls, (unsigned long long)s.munmap_calls,
        (unsigned long long)s.mremap_calls, (unsigned long long)s.madvise_calls,
        (unsigned long long)s.mprotect_calls);
    if (n > 0) fwrite(buf, 1, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1, out);
    fflush(out);
}
