/* region.c: 4 MiB regions and the slices inside them. A heap asks for a run
 * of slices to make a page; freed slices stay dirty (resident) for
 * opt_purge_delay_ms, then are given back with madvise; a region with no page
 * left is unmapped once its delay has passed.
 * Invariants (checked in check.c): used_slices & dirty_slices == 0; bit 63 is
 * never set in either; slice_page[i] != &invalid_page iff bit i of used_slices.
 * May call: os.h, region_map.c, stats.
 */
#include "internal.h"
#include "options.h"

#include <errno.h>
#include <string.h>

#define ALL_USABLE ((UINT64_C(1) << USABLE_SLICES) - 1)

/* Held while a region is linked into or unlinked from its heap and unmapped,
 * and by walks of other threads' heaps (stats, the checker): a walk never
 * reads a region that is being unmapped. Lock order: heaps_lock, then this. */
static pthread_mutex_t regions_mutex = PTHREAD_MUTEX_INITIALIZER;
void regions_lock(void) { pthread_mutex_lock(&regions_mutex); }
void regions_unlock(void) { pthread_mutex_unlock(&regions_mutex); }
void regions_fork_child(void) { pthread_mutex_init(&regions_mutex, NULL); }

static uint64_t run_mask(unsigned n) { return n >= 64 ? ~UINT64_C(0) : (UINT64_C(1) << n) - 1; }

/* First run of n free slices in the region, or -1; with dirty_only, only a
 * run of dirty slices (resident: no page faults, no clearing). */
static int find_run(const region_t *r, unsigned n, bool dirty_only) {
    uint64_t used = r->used_slices, m = run_mask(n);
    int fallback = -1;
    for (unsigned i = 0; i + n <= USABLE_SLICES; i++) {
        if ((used >> i) & m) continue;
        if (((r->dirty_slices >> i) & m) == m) return (int)i;
        if (fallback < 0 && !dirty_only) fallback = (int)i;
    }
    return fallback;
}

static unsigned free_slice_count(const region_t *r) {
    return USABLE_SLICES - (unsigned)__builtin_popcountll(r->used_slices);
}

/* Address hint for the next region: after the heap's newest region, so that a
 * heap's regions sit together (fewer, mergeable mappings). */
static void *region_hint(heap_t *h) {
    if (h->regions) return (void *)(h->regions->base + REGION_SIZE);
#if defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define MAPALLOC_UNDER_SANITIZER 1
#endif
#endif
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__) || defined(MAPALLOC_UNDER_SANITIZER)
    (void)h;
    return NULL; /* sanitizers own fixed parts of the address space */
#else
    /* A heap's first region goes to a random 4 MiB slot of an 8 GiB window,
     * and the window to a random place between 32 and 96 TiB, both drawn from
     * the secret: where a heap lives is not predictable from the program's
     * other addresses. One window for all heaps keeps their entries of the
     * region map in one first-level word and one 4 KiB page of one leaf: a
     * window per heap cost every thread two more resident pages (8 KiB).
     * The slot is a mixed hash of the tag keyed by the secret, so one heap's
     * address tells the window but not where the other heaps are in it.
     * If the slot is taken, os_map_aligned lets the kernel choose. */
    uint64_t r = process_secret[2] ^ ((uint64_t)h->tag * UINT64_C(0x9E3779B97F4A7C15));
    r = (r ^ (r >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    r = (r ^ (r >> 27)) * UINT64_C(0x94D049BB133111EB);
    r ^= r >> 31;
    uintptr_t lo = (uintptr_t)32 << 40, span = (uintptr_t)64 << 40, window = (uintptr_t)8 << 30;
    uintptr_t base = lo + (uintptr_t)((process_secret[2] >> 40) % (span / window)) * window;
    return (void *)(base + ((uintptr_t)r % (window >> REGION_SHIFT) << REGION_SHIFT));
#endif
}

/* Link r into h's region list, or take it out (regions_lock held). */
static void region_link(heap_t *h, region_t *r) {
    r->prev = NULL;
    r->next = h->regions;
    if (h->regions) h->regions->prev = r;
    h->regions = r;
}

static void region_unlink(heap_t *h, region_t *r) {
    if (h->cached_region == r) { h->cached_base = NO_REGION; h->cached_region = NULL; }
    if (r->prev) r->prev->next = r->next; else h->regions = r->next;
    if (r->next) r->next->prev = r->prev;
}

static region_t *region_new(heap_t *h) {
    if (!stat_commit_allowed(REGION_SIZE)) { errno = ENOMEM; return NULL; } /* memory_limit */
    uint8_t *base = os_map_aligned(REGION_SIZE, REGION_SIZE, region_hint(h), OS_REASON_REGION);
    if (!base) return NULL;
    /* The head on MAP_HUGETLB pages if the kernel has some (not in secure
     * mode: its 4 KiB page guards and per-page purges would split them),
     * else on transparent ones if asked. */
    bool hugetlb = opt_hugetlb && !opt_secure && os_hugetlb_ask() && os_hugetlb_place(base, HEAD_BYTES, OS_REASON_REGION);
    if (!hugetlb && opt_huge_pages) os_hugepage_advise(base, HEAD_BYTES);
    /* The guard page below the metadata. If the kernel refuses (map count
     * limit), go on without it rather than fail the allocation. */
    (void)os_protect(base + GUARD_OFFSET, OS_PAGE, OS_PROT_NONE, OS_REASON_GUARD);
    region_t *r = (region_t *)(base + META_OFFSET);
    r->base = (uintptr_t)base;
    r->heap = h;
    r->hugetlb_head = hugetlb;
    for (unsigned i = 0; i < SLICES_PER_REGION; i++) r->slice_page[i] = &invalid_page;
    if (!region_map_set(r->base, h->tag)) {
        os_unmap(base, REGION_SIZE, OS_REASON_REGION);
        errno = ENOMEM;
        return NULL;
    }
    regions_lock();
    region_link(h, r);
    regions_unlock();
    atomic_fetch_add(&stat_regions, 1);
    atomic_fetch_add(&stat_reserved, REGION_SIZE);
    stat_commit((ptrdiff_t)(OS_PAGE * 3)); /* metadata pages touched */
    return r;
}

static void region_unmap(heap_t *h, region_t *r) {
    regions_lock();
    region_unlink(h, r);
    uintptr_t base = r->base;
    size_t dirty = (size_t)__builtin_popcountll(r->dirty_slices) * SLICE_SIZE;
    region_map_set(base, TAG_NONE);
    size_t meta = OS_PAGE * (r->medium_meta ? 5 : 3); /* read before the unmap */
    os_unmap((void *)base, REGION_SIZE, OS_REASON_REGION);
    regions_unlock();
    stat_commit(-(ptrdiff_t)(dirty + meta));
    atomic_fetch_sub(&stat_regions, 1);
    atomic_fetch_sub(&stat_reserved, REGION_SIZE);
}

/* Free bytes in r's pages of class cls (free blocks, blocks not carved yet,
 * cross-thread frees not taken in yet): what reclaiming r gives that class. */
static size_t region_room_for_class(const region_t *r, unsigned cls) {
    size_t bytes = 0;
    for (unsigned i = 0; i < USABLE_SLICES; i++) {
        const page_t *pg = region_page_at(r, i);
        if (!pg || pg->size_class != cls) continue;
        /* (A medium page counts pending frees in blocks, used in granules.) */
        uint32_t pending = page_is_medium(pg) ? 0 : atomic_load_explicit(&pg->thread_freed, memory_order_relaxed);
        uint32_t used = pg->used > pending ? pg->used - pending : 0;
        bytes += (size_t)(pg->reserved - used) * pg->block_size;
    }
    return bytes;
}

/* heap_reclaim (heaps_lock and from's adopt_lock held): pick the region of
 * from with the most room in class cls and hand it to heap to. Its list,
 * owner and the walkers' view change under regions_lock (the purger may
 * unmap an abandoned heap's empty region meanwhile; one with room in cls
 * has pages and is never empty), then the region map, so that frees that
 * look the region up from now on treat to as the owner. *any: set when
 * from still has a region. The caller moves the pages (page_move). */
region_t *region_take_for_class(heap_t *from, heap_t *to, unsigned cls, bool *any) {
    regions_lock();
    region_t *best = NULL;
    size_t best_room = 0;
    for (region_t *r = from->regions; r; r = r->next) {
        *any = true;
        size_t room = region_room_for_class(r, cls);
        if (room > best_room) { best = r; best_room = room; }
    }
    if (best) {
        region_unlink(from, best);
        region_link(to, best);
        STORE_RELAXED(best->heap, to);
    }
    regions_unlock();
    if (best) region_map_set(best->base, to->tag);
    return best;
}

/* Unmap every region of h, pages in use or not (first-class heap destroy). */
void region_destroy_all(heap_t *h) {
    while (h->regions) {
        region_t *r = h->regions;
        size_t used = (size_t)__builtin_popcountll(r->used_slices) * SLICE_SIZE;
        stat_commit((ptrdiff_t)medium_purged_bytes(r) - (ptrdiff_t)used);
        r->used_slices = 0;
        region_unmap(h, r);
    }
}

/* The dirty slices d of r that may be given back. The head:
 * - on MAP_HUGETLB pages: never while the region lives. MADV_DONTNEED on a
 *   hugetlb page gives the system nothing (the mapping keeps its reservation:
 *   the page only moves from in use to free-but-reserved), costs a 2 MiB
 *   clear when it is used again, and fails (EINVAL) before Linux 5.18. The
 *   page goes back to the pool when the region is unmapped.
 * - on transparent huge pages (huge_pages): only whole, never a piece that
 *   would split it (the jemalloc THP surprise: RSS that grows as huge pages
 *   break up). */
static uint64_t purgeable(const region_t *r, uint64_t d) {
    if (r->hugetlb_head) return d & ~HEAD_SLICES;
    if (opt_huge_pages && (d & HEAD_SLICES) != HEAD_SLICES) d &= ~HEAD_SLICES;
    return d;
}

page_t *region_alloc_page(heap_t *h, unsigned slices) {
    region_t *r = NULL;
    int at = -1;
    /* Dirty slices of any region first: the newest region's clean slices
     * taken while an older one holds dirty ones added 2.3 MB of resident
     * memory at churn's peak (17 MB). */
    for (int pass = 0; pass < 2 && !r; pass++) {
        for (r = h->regions; r; r = r->next) {
            if (free_slice_count(r) < slices || (pass == 0 && !r->dirty_slices)) continue;
            if ((at = find_run(r, slices, pass == 0)) >= 0) break;
        }
    }
    if (!r) {
        r = region_new(h);
        if (!r) return NULL;
        at = 0;
    }
    uint64_t m = run_mask(slices) << at;
    if (opt_background_purge) regions_lock();
    size_t fresh = (size_t)__builtin_popcountll(m & ~r->dirty_slices) * SLICE_SIZE;
    r->used_slices |= m;
    r->dirty_slices &= ~m;
    if (opt_background_purge) regions_unlock();
    stat_commit((ptrdiff_t)fresh);
    page_t *pg = &r->pages[at];
    memset(pg, 0, sizeof *pg);
    pg->slice_count = (uint8_t)slices;
    pg->slice_index = (uint8_t)at;
    pg->region = r;
    pg->start = r->base + (uintptr_t)at * SLICE_SIZE;
    for (unsigned i = 0; i < slices; i++) r->slice_page[at + (int)i] = pg;
    r->page_count++;
    return pg;
}

void region_free_page(heap_t *h, page_t *pg) {
    region_t *r = pg->region;
    unsigned at = pg->slice_index, n = pg->slice_count;
    uint64_t m = run_mask(n) << at;
    if (opt_secure) {
        /* Open the page's guard again and give its pages back now: a slice
         * reused by another class must read as zero (secure.c checks it). */
        uintptr_t end = r->base + (uintptr_t)(at + n) * SLICE_SIZE;
        (void)os_protect((void *)(end - OS_PAGE), OS_PAGE, OS_PROT_READ | OS_PROT_WRITE, OS_REASON_GUARD);
        os_purge((void *)(r->base + (uintptr_t)at * SLICE_SIZE), (size_t)n * SLICE_SIZE);
        for (unsigned i = 0; i < n; i++) r->slice_page[at + i] = &invalid_page;
        pg->slice_count = 0;
        r->used_slices &= ~m;
        r->page_count--;
        stat_commit(-(ptrdiff_t)((size_t)n * SLICE_SIZE));
        atomic_fetch_add(&stat_purged, (size_t)n * SLICE_SIZE);
        if (r->used_slices == 0) {
            r->dirty_slices |= UINT64_C(1) << at; /* let region_purge unmap the empty region */
            r->free_since_ms = 0;
            stat_commit((ptrdiff_t)SLICE_SIZE);
        }
        return;
    }
    for (unsigned i = 0; i < n; i++) r->slice_page[at + i] = &invalid_page;
    pg->slice_count = 0;
    if (opt_background_purge) regions_lock();
    /* The delay starts when the first purgeable slice is freed: a head that
     * may not be purged (yet) does not make later frees look old. */
    if (purgeable(r, r->dirty_slices) == 0) r->free_since_ms = os_clock_ms();
    r->used_slices &= ~m;
    r->dirty_slices |= m;
    if (opt_background_purge) regions_unlock();
    r->page_count--;
    /* An abandoned heap's free slices go back now, not after the purge
     * delay: nobody allocates from it until a thread adopts it, and the
     * frees that empty its pages come while the other threads take over its
     * working set (bench/server: its peak was reached with 8.7 MB of them
     * waiting for a maintenance). */
    if (h->state == HEAP_ABANDONED) region_purge(h, true);
    else if (opt_purge_delay_ms == 0) region_purge(h, false);
    purger_start_if_needed();
}

/* madvise the slices d of r (runs of them), clear their dirty bits, count
 * them. Returns the bytes given back. */
static size_t purge_slices(region_t *r, uint64_t d) {
    size_t bytes = (size_t)__builtin_popcountll(d) * SLICE_SIZE;
    r->dirty_slices &= ~d;
    while (d) {
        unsigned i = (unsigned)__builtin_ctzll(d);
        unsigned j = i;
        while (j < 64 && ((d >> j) & 1)) j++;
        os_purge((void *)(r->base + (uintptr_t)i * SLICE_SIZE), (size_t)(j - i) * SLICE_SIZE);
        d &= ~(run_mask(j - i) << i);
    }
    stat_commit(-(ptrdiff_t)bytes);
    atomic_fetch_add(&stat_purged, bytes);
    return bytes;
}

/* The background purger's pass over one heap (purge.c): expired dirty
 * slices are given back with madvise, empty regions' too (unmapping stays
 * with their owner). Caller holds heaps_lock. */
void region_purge_idle(heap_t *h) {
    uint64_t now = os_clock_ms();
    regions_lock();
    for (region_t *r = h->regions; r; r = r->next) {
        if (!r->dirty_slices || now - r->free_since_ms < opt_purge_delay_ms) continue;
        uint64_t d = purgeable(r, r->dirty_slices);
        if (d) purge_slices(r, d);
    }
    regions_unlock();
}

/* Give back dirty slices whose delay has passed (all of them when force);
 * unmap regions left with no page. Returns bytes released. */
size_t region_purge(heap_t *h, bool force) {
    uint64_t now = os_clock_ms();
    size_t released = 0;
    region_t *next;
    for (region_t *r = h->regions; r; r = next) {
        next = r->next;
        if (!r->dirty_slices) continue;
        if (!force && now - r->free_since_ms < opt_purge_delay_ms) continue;
        if (r->used_slices == 0) {
            released += (size_t)__builtin_popcountll(r->dirty_slices) * SLICE_SIZE;
            region_unmap(h, r);
            continue;
        }
        if (opt_background_purge) regions_lock();
        uint64_t d = purgeable(r, r->dirty_slices);
        if (d) released += purge_slices(r, d);
        if (opt_background_purge) regions_unlock();
    }
    return released;
}
