/* medium.c: blocks of 4 KiB to the large threshold (128 KiB), exact fit.
 *
 * Why: a size class above 4 KiB rounds a block up by 12% on average and
 * starts every block of a page-multiple class on a page boundary, so a block
 * whose program writes its start and its end touches two OS pages of its own.
 * Here a block is a run of 256-byte granules placed first-fit in a 1 MiB
 * medium page: its end and the next block's start share an OS page, as in
 * glibc's heap (bench/memshape: 12 000 blocks of 4-64 KiB cost 1.93 OS pages
 * each with classes, 1.06 here; analysis.md §00001).
 *
 * Layout (types.h): the region's medium_start and medium_end bitmaps mark
 * each live block's first and last granule; nothing is written in the
 * blocks but a freed block's two link words while it waits on its page's
 * thread_free. So a block's size is found out of band, a free is validated
 * against the bitmaps (a pointer that starts no live block is named, never
 * trusted), and adjacent free runs coalesce by themselves.
 *
 * Ownership as for small pages: the owning heap (its thread, or whoever
 * holds a first-class or abandoned heap's lock) allocates, frees and writes
 * the bitmaps; another thread's free pushes the block onto the page's
 * thread_free (counted before the push: see medium_free), which the owner
 * takes in when it next looks at the page.
 * A free run's whole OS pages are given back (MADV_DONTNEED) once they have
 * been free for the purge delay.
 *
 * Invariants (check.c): within a medium page, start and end bits alternate
 * (start <= end < next start); used == the granules of the live blocks;
 * medium_max_run >= the longest free run; medium_low is a free granule or a
 * block's first; a page is on the medium_bins queue medium_bin, which is
 * bin_of(medium_max_run).
 * May call: page.c (thread_free_link, page queues), region.c, heap.c, error.c.
 */
#include "internal.h"
#include "options.h"

#include <errno.h>

#define PAGE_GRANULES (MEDIUM_SLICES * GRANULES_PER_SLICE)
#define MIN_RUN ((MEDIUM_MIN + MEDIUM_GRANULE) >> MEDIUM_GRANULE_SHIFT) /* the shortest medium block */
/* Free runs are given back once this many granules have been freed. */
#define PURGE_MIN_GRANULES (64u << 10 >> MEDIUM_GRANULE_SHIFT)

static_assert(PAGE_GRANULES <= UINT16_MAX, "granule indices of a page fit the counters");
/* Granule g lies in OS page g >> OS_SHIFT of its region (medium_dirty's bits). */
#define OS_SHIFT (12 - MEDIUM_GRANULE_SHIFT)
static_assert(OS_PAGE == 1u << 12, "OS_SHIFT");

/* ---- Bitmap helpers: granule indices are relative to the region's base ---- */

static inline uint64_t word_at(const uint64_t *bm, uint32_t w) { return LOAD_RELAXED(bm[w]); }
static inline bool bit_at(const uint64_t *bm, uint32_t i) { return (word_at(bm, i / 64) >> (i % 64)) & 1; }
static inline void bit_set(uint64_t *bm, uint32_t i) { STORE_RELAXED(bm[i / 64], word_at(bm, i / 64) | UINT64_C(1) << (i % 64)); }
static inline void bit_clear(uint64_t *bm, uint32_t i) { STORE_RELAXED(bm[i / 64], word_at(bm, i / 64) & ~(UINT64_C(1) << (i % 64))); }

/* The first set bit in [i, hi), or hi. */
static uint32_t next_bit(const uint64_t *bm, uint32_t i, uint32_t hi) {
    if (i >= hi) return hi;
    uint32_t w = i / 64;
    uint64_t x = word_at(bm, w) & (~UINT64_C(0) << (i % 64));
    while (!x) {
        if (++w * 64 >= hi) return hi;
        x = word_at(bm, w);
    }
    uint32_t r = w * 64 + (uint32_t)__builtin_ctzll(x);
    return r < hi ? r : hi;
}

/* The last set bit in [lo, i], or lo - 1. */
static uint32_t prev_bit(const uint64_t *bm, uint32_t i, uint32_t lo) {
    if (i < lo || i == UINT32_MAX) return lo - 1;
    uint32_t w = i / 64;
    uint64_t x = word_at(bm, w) & (~UINT64_C(0) >> (63 - i % 64));
    while (!x) {
        if (w * 64 <= lo) return lo - 1;
        x = word_at(bm, --w);
    }
    uint32_t r = w * 64 + 63 - (uint32_t)__builtin_clzll(x);
    return r >= lo ? r : lo - 1;
}

static inline uint32_t page_lo(const page_t *pg) { return pg->slice_index * (uint32_t)GRANULES_PER_SLICE; }
static inline uint32_t page_hi(const page_t *pg) { return page_lo(pg) + pg->slice_count * (uint32_t)GRANULES_PER_SLICE; }
static inline uint32_t granule_of(const region_t *r, uintptr_t p) { return (uint32_t)((p - r->base) >> MEDIUM_GRANULE_SHIFT); }
static inline uintptr_t granule_addr(const region_t *r, uint32_t g) { return r->base + ((uintptr_t)g << MEDIUM_GRANULE_SHIFT); }

/* Granules [a, b) of region r come into use: mark their OS pages dirty,
 * and count those that were clean (purged, or never touched since their
 * slice was) committed again. */
static void dirty_mark(region_t *r, uint32_t a, uint32_t b) {
    size_t fresh = 0;
    for (uint32_t i = a >> OS_SHIFT, e = (b - 1) >> OS_SHIFT; i <= e; i++) {
        if (bit_at(r->medium_dirty, i)) continue;
        bit_set(r->medium_dirty, i);
        fresh++;
    }
    if (fresh) stat_commit((ptrdiff_t)(fresh * OS_PAGE));
}

/* ---- Bins: a heap's medium pages by their longest free run ---- */

/* Bin 0: no run for a medium block. Bin i: runs (bounds) of 2^(i+3) to
 * 2^(i+4) - 1 granules; the last bin, an empty page (4096). A request of k
 * granules tries bin_of(k) and up: every page of a higher bin claims a run
 * of more than k. */
static unsigned bin_of(uint32_t run) {
    if (run < MIN_RUN) return 0;
    unsigned b = (unsigned)(31 - __builtin_clz(run)) - 3;
    return b < MEDIUM_BINS - 1 ? b : MEDIUM_BINS - 1;
}
static_assert(PAGE_GRANULES == 4096 && MIN_RUN >= 16 && MIN_RUN < 32, "bin 1 starts at the shortest medium block");

static void bin_put(heap_t *h, page_t *pg) {
    pg->medium_bin = (uint8_t)bin_of(pg->medium_max_run);
    page_queue_push_back(&h->medium_bins[pg->medium_bin], pg);
}

static void bin_remove(heap_t *h, page_t *pg) { page_queue_remove(&h->medium_bins[pg->medium_bin], pg); }

/* After pg's bound changed: to the bin it now belongs to. */
static void rebin(heap_t *h, page_t *pg) {
    if (bin_of(pg->medium_max_run) == pg->medium_bin) return;
    bin_remove(h, pg);
    bin_put(h, pg);
}

/* ---- Free ---- */

/* The last granule of the live block starting at g (fatal when the bitmaps
 * say there is none: they are out of band, so that is our bug or a wild
 * write into the metadata). */
static uint32_t block_last(const region_t *r, const page_t *pg, uint32_t g) {
    uint32_t e = next_bit(r->medium_end, g, page_hi(pg));
    if (e >= page_hi(pg) || next_bit(r->medium_start, g + 1, e + 1) <= e)
        fatal_msg("medium page bitmaps corrupted", (const void *)granule_addr(r, g));
    return e;
}

/* The start of the live block whose run holds granule g, or UINT32_MAX
 * when g is free: the last start at or before g, unless an end lies between. */
static uint32_t covering_start(const region_t *r, const page_t *pg, uint32_t g) {
    uint32_t lo = page_lo(pg), s = prev_bit(r->medium_start, g, lo);
    if (s == lo - 1) return UINT32_MAX;
    if (s == g) return s;
    return prev_bit(r->medium_end, g - 1, lo) + 1 <= s ? s : UINT32_MAX;
}

/* Why p, a pointer into medium page pg that starts no live block, cannot be
 * freed: inside a live block, or on free granules (freed already). */
static _Noreturn void bad_pointer(const region_t *r, const page_t *pg, uintptr_t p, enum heap_bug if_free) {
    if (covering_start(r, pg, granule_of(r, p)) != UINT32_MAX) fatal_bug(BUG_INTERIOR_FREE, (const void *)p, -1, 0);
    fatal_bug(if_free, (const void *)p, -1, 0);
}

/* Whether b sits on pg's thread_free (a free another thread made and the
 * owner has not taken in yet). */
static bool pending_contains(const page_t *pg, const block_t *b) {
    uintptr_t lo = pg->start, hi = pg->start + (uintptr_t)pg->slice_count * SLICE_SIZE;
    uint32_t steps = 0;
    for (block_t *x = (block_t *)atomic_load_explicit(&((page_t *)pg)->thread_free, memory_order_acquire); x;
         x = block_next(x)) {
        if (x == b) return true;
        if ((uintptr_t)x < lo || (uintptr_t)x >= hi || ++steps > PAGE_GRANULES / MIN_RUN)
            fatal_bug(BUG_FREELIST_CORRUPT, x, -1, 0);
    }
    return false;
}

static void release_page(heap_t *h, page_t *pg);

/* A page that empties stays while it is the one last allocated from: a
 * loop that allocates and frees one block must not map and unmap a page
 * each time (807 ns a pair for a page that was neither, 3.9 us with purge
 * delay 0: a madvise each). */
static bool kept_when_empty(const heap_t *h, const page_t *pg) {
    return pg == h->medium_recent;
}

/* len granules of pg, from granule at, became free (owner) and joined a
 * free run of run granules: the page's bounds, its purge count and its bin
 * follow. */
static void granules_freed(heap_t *h, page_t *pg, uint32_t at, uint32_t len, uint32_t run) {
    if (at - page_lo(pg) < pg->medium_low) pg->medium_low = at - page_lo(pg);
    if (run > pg->medium_max_run) pg->medium_max_run = run;
    if (pg->medium_freed == 0) pg->medium_free_since_ms = os_clock_ms();
    pg->medium_freed += len;
    rebin(h, pg);
}

/* Free the live block at granule g of pg (owner, validated). True when that
 * emptied pg and gave it back to its region: pg, and maybe the region's
 * mapping, are gone (region_free_page may unmap an empty region). */
static bool free_run(heap_t *h, page_t *pg, uint32_t g) {
    region_t *r = pg->region;
    uint32_t e = block_last(r, pg, g), lo = page_lo(pg), hi = page_hi(pg);
    bit_clear(r->medium_start, g);
    bit_clear(r->medium_end, e);
    pg->used -= e - g + 1;
    /* The free run the block joins: from after the previous block's end to
     * the next block's start. */
    granules_freed(h, pg, g, e - g + 1, next_bit(r->medium_start, e + 1, hi) - (prev_bit(r->medium_end, g - 1, lo) + 1));
    if (pg->used == 0 && !kept_when_empty(h, pg)) { release_page(h, pg); return true; }
    return false;
}

/* Take in the frees other threads pushed onto pg (owner). True when pg was
 * emptied and released (see free_run): the caller must not touch it again. */
static bool collect(heap_t *h, page_t *pg) {
    if (!atomic_load_explicit(&pg->thread_free, memory_order_relaxed)) return false;
    block_t *next, *b = (block_t *)atomic_exchange_explicit(&pg->thread_free, 0, memory_order_acquire);
    region_t *r = pg->region;
    uintptr_t lo = pg->start, hi = pg->start + (uintptr_t)pg->slice_count * SLICE_SIZE;
    for (; b; b = next) {
        uintptr_t p = (uintptr_t)b;
        if (p < lo || p >= hi || (p & (MEDIUM_GRANULE - 1)))
            fatal_bug(BUG_FREELIST_CORRUPT, b, -1, 0);
        next = block_next(b);
        /* The same block pushed twice: the first turn cleared its start. */
        if (!bit_at(r->medium_start, granule_of(r, p))) fatal_bug(BUG_DOUBLE_FREE, b, -1, 0);
        /* The counts come off before pg may go. */
        uint32_t g = granule_of(r, p);
        atomic_fetch_sub_explicit(&pg->pending_granules, block_last(r, pg, g) - g + 1, memory_order_relaxed);
        atomic_fetch_sub_explicit(&pg->thread_freed, 1, memory_order_relaxed);
        if (free_run(h, pg, g)) {
            /* Every block of pg is free: any left on the list was pushed twice. */
            if (next) fatal_bug(BUG_DOUBLE_FREE, next, -1, 0);
            return true;
        }
    }
    return false;
}

/* p, granule-aligned in pg, must start a live block: not free granules,
 * not inside a block, not pushed by another thread already and not yet
 * taken in. A live block's start bit does not change while it lives, so any
 * thread may ask. */
static void check_live_start(const region_t *r, const page_t *pg, uintptr_t p) {
    if (!bit_at(r->medium_start, granule_of(r, p))) bad_pointer(r, pg, p, BUG_DOUBLE_FREE);
    if (((const block_t *)p)->free_mark == free_key && pending_contains(pg, (const block_t *)p))
        fatal_bug(BUG_DOUBLE_FREE, (const void *)p, -1, 0);
}

/* The owner's (or lock holder's) free of p in medium page pg. */
static void free_owned(heap_t *h, page_t *pg, uintptr_t p) {
    check_live_start(pg->region, pg, p);
    (void)free_run(h, pg, granule_of(pg->region, p));
}

void medium_free(page_t *pg, uint16_t tag, void *ptr) {
    uintptr_t p = (uintptr_t)ptr;
    region_t *r = pg->region;
    if ((p - pg->start) & (MEDIUM_GRANULE - 1)) bad_pointer(r, pg, p, BUG_INVALID_FREE);
    heap_t *h = tls_heap;
    if (tag == h->tag) { free_owned(h, pg, p); return; }
    heap_t *owner = heap_by_tag(tag);
    if (!owner) fatal_bug(BUG_INVALID_FREE, ptr, -1, 0);
    uint8_t state = atomic_load(&owner->state);
    if (state == HEAP_USER) {
        pthread_mutex_lock(&owner->adopt_lock);
        free_owned(owner, pg, p);
        pthread_mutex_unlock(&owner->adopt_lock);
        return;
    }
    if (state == HEAP_ABANDONED && pthread_mutex_trylock(&owner->adopt_lock) == 0) {
        /* Still abandoned, and still the region's owner (heap_reclaim). */
        if (owner->state == HEAP_ABANDONED && LOAD_RELAXED(r->heap) == owner) {
            free_owned(owner, pg, p);
            pthread_mutex_unlock(&owner->adopt_lock);
            return;
        }
        pthread_mutex_unlock(&owner->adopt_lock);
    }
    /* Another thread's block. */
    check_live_start(r, pg, p);
    block_t *b = ptr;
    /* The push is the last this thread does with the page: once the CAS is
     * done the owner may take the block in, empty the page and unmap its
     * region. So the counts (for statistics) go up before the push, while
     * the live block keeps the page, and collect takes off what it took.
     * (thread_free_push counts after its CAS: a small page's owner waits
     * for the count before it lowers used; a medium page's frees by the
     * bitmaps.) */
    uint32_t g = granule_of(r, p);
    atomic_fetch_add_explicit(&pg->pending_granules, block_last(r, pg, g) - g + 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&pg->thread_freed, 1, memory_order_relaxed);
    b->free_mark = free_key;
    thread_free_link(pg, b, b);
}

/* ---- Allocation ---- */

/* First fit: the first free run of at least k granules in pg, from
 * medium_low; UINT32_MAX when there is none, and then medium_max_run is
 * exact. */
static uint32_t find_run(page_t *pg, uint32_t k) {
    const region_t *r = pg->region;
    uint32_t lo = page_lo(pg), hi = page_hi(pg), longest = 0;
    for (uint32_t at = lo + pg->medium_low; at < hi;) {
        uint32_t s = next_bit(r->medium_start, at, hi);
        if (s - at >= k) return at;
        if (s - at > longest) longest = s - at;
        if (s >= hi) break;
        at = block_last(r, pg, s) + 1;
    }
    pg->medium_max_run = longest;
    return UINT32_MAX;
}

static void *take(page_t *pg, uint32_t g, uint32_t k) {
    region_t *r = pg->region;
    bit_set(r->medium_start, g);
    bit_set(r->medium_end, g + k - 1);
    pg->used += k;
    if (g - page_lo(pg) == pg->medium_low) pg->medium_low += k;
    dirty_mark(r, g, g + k);
    block_t *b = (block_t *)granule_addr(r, g);
    b->free_mark = 0;
    return b;
}

static void medium_page_init(heap_t *h, page_t *pg) {
    region_t *r = pg->region;
    pg->size_class = CLASS_MEDIUM;
    pg->block_size = (uint32_t)MEDIUM_GRANULE;
    pg->reserved = PAGE_GRANULES;
    pg->check_start = pg->start - SLOW_FREE_OFFSET; /* every free of its blocks takes the slow path */
    page_setup_divisor(pg);
    pg->medium_max_run = PAGE_GRANULES;
    if (!r->medium_meta) {
        r->medium_meta = true; /* the region's bitmaps: two pages from now on (region_unmap) */
        stat_commit((ptrdiff_t)(2 * OS_PAGE));
    }
    /* Whatever of its slices was resident stays so until a purge. */
    for (uint32_t i = page_lo(pg) >> OS_SHIFT; i < page_hi(pg) >> OS_SHIFT; i++) bit_set(r->medium_dirty, i);
    bin_put(h, pg);
}

/* Bytes of pg that medium_purge gave back and no block has touched since. */
static size_t page_purged_bytes(const region_t *r, const page_t *pg) {
    size_t clean = 0;
    for (uint32_t i = page_lo(pg) >> OS_SHIFT; i < page_hi(pg) >> OS_SHIFT; i++) clean += !bit_at(r->medium_dirty, i);
    return clean * OS_PAGE;
}

static void release_page(heap_t *h, page_t *pg) {
    region_t *r = pg->region;
    bin_remove(h, pg);
    if (h->medium_recent == pg) h->medium_recent = NULL;
    /* The region counts the page's slices as committed until it purges
     * them: give back to the count what medium_purge took off. */
    size_t purged = page_purged_bytes(r, pg);
    if (purged) stat_commit((ptrdiff_t)purged);
    region_free_page(h, pg);
}

void *medium_alloc(heap_t *h, size_t n) {
    if (unlikely(h == &empty_heap)) {
        h = heap_init_thread();
        if (!h) { errno = ENOMEM; return NULL; }
    }
    if (unlikely((++h->slow_calls & 63) == 0)) heap_maintenance(h, false);
    uint32_t k = (uint32_t)((n + MEDIUM_GRANULE - 1) >> MEDIUM_GRANULE_SHIFT);
    bool reclaimed = false, rescued = false;
again:
    /* The page last allocated from first (a run of same-sized requests
     * stays on one page), then the bins from the smallest that may fit. A
     * failed search makes the page's bound exact and moves it down (saved
     * next: a page moves behind the others of its new bin). */
    if (h->medium_recent && !collect(h, h->medium_recent) && h->medium_recent->medium_max_run >= k) {
        page_t *pg = h->medium_recent;
        uint32_t g = find_run(pg, k);
        if (g != UINT32_MAX) return take(pg, g, k);
        rebin(h, pg);
    }
    for (unsigned b = bin_of(k); b < MEDIUM_BINS; b++) {
        for (page_t *pg = h->medium_bins[b].first, *next; pg; pg = next) {
            next = pg->next;
            if (collect(h, pg) || pg->medium_max_run < k) continue;
            uint32_t g = find_run(pg, k);
            if (g != UINT32_MAX) { h->medium_recent = pg; return take(pg, g, k); }
            rebin(h, pg);
        }
    }
    /* Pages of the lower bins other threads have freed into (once a call:
     * they may go on freeing into them). */
    if (!rescued) {
        rescued = true;
        bool any = false;
        for (unsigned b = 0; b < bin_of(k); b++) {
            for (page_t *pg = h->medium_bins[b].first, *next; pg; pg = next) {
                next = pg->next;
                if (!atomic_load_explicit(&pg->thread_free, memory_order_relaxed)) continue;
                (void)collect(h, pg);
                any = true;
            }
        }
        if (any) goto again;
    }
    if (!reclaimed && heap_reclaim(h, CLASS_MEDIUM)) { reclaimed = true; goto again; }
    page_t *pg = region_alloc_page(h, MEDIUM_SLICES);
    if (!pg) {
        heap_maintenance(h, true);
        pg = region_alloc_page(h, MEDIUM_SLICES);
        if (!pg) { errno = ENOMEM; return NULL; }
    }
    medium_page_init(h, pg);
    h->medium_recent = pg;
    return take(pg, page_lo(pg), k);
}

/* ---- Size, resizing ---- */

size_t medium_usable_size(const page_t *pg, uintptr_t p) {
    const region_t *r = pg->region;
    if ((p - pg->start) & (MEDIUM_GRANULE - 1)) return NOT_SMALL;
    uint32_t g = granule_of(r, p);
    if (!bit_at(r->medium_start, g)) return covering_start(r, pg, g) != UINT32_MAX ? NOT_SMALL : SIZE_MAX;
    if (((block_t *)p)->free_mark == free_key && pending_contains(pg, (const block_t *)p)) return SIZE_MAX;
    return (size_t)(block_last(r, pg, g) - g + 1) << MEDIUM_GRANULE_SHIFT;
}

bool medium_resize(page_t *pg, void *ptr, size_t n) {
    heap_t *h = tls_heap;
    region_t *r = pg->region;
    if (n <= MEDIUM_MIN || n > opt_large_threshold || LOAD_RELAXED(r->heap) != h) return false;
    uint32_t g = granule_of(r, (uintptr_t)ptr), e = block_last(r, pg, g), hi = page_hi(pg);
    uint32_t k = (uint32_t)((n + MEDIUM_GRANULE - 1) >> MEDIUM_GRANULE_SHIFT), len = e - g + 1;
    if (k == len) return true;
    if (k < len) {
        /* Shrink: the tail joins the free run after it. */
        bit_clear(r->medium_end, e);
        bit_set(r->medium_end, g + k - 1);
        pg->used -= len - k;
        granules_freed(h, pg, g + k, len - k, next_bit(r->medium_start, e + 1, hi) - (g + k));
        return true;
    }
    /* Grow into the free granules after the block, if there are enough. */
    if (g + k > hi || next_bit(r->medium_start, e + 1, g + k) < g + k) return false;
    bit_clear(r->medium_end, e);
    bit_set(r->medium_end, g + k - 1);
    pg->used += k - len;
    uint32_t low = page_lo(pg) + pg->medium_low;
    if (low > e && low < g + k) pg->medium_low = g + k - page_lo(pg);
    dirty_mark(r, e + 1, g + k);
    return true;
}

/* ---- Upkeep (the owner, from heap_maintenance and thread exit) ---- */

/* Give back the whole OS pages of pg's free runs that may be resident. */
static size_t purge_page(page_t *pg) {
    region_t *r = pg->region;
    bool keep_head = r->hugetlb_head || opt_huge_pages;
    uint32_t lo = page_lo(pg), hi = page_hi(pg);
    size_t bytes = 0;
    for (uint32_t at = lo; at < hi;) {
        uint32_t s = next_bit(r->medium_start, at, hi);
        /* OS pages wholly inside the free run [at, s), but none of a head
         * kept whole (region.c: a MAP_HUGETLB page, or a transparent huge
         * page that a partial purge would split). */
        uint32_t from = (at + (1u << OS_SHIFT) - 1) >> OS_SHIFT;
        if (keep_head && from < HEAD_BYTES / OS_PAGE) from = HEAD_BYTES / OS_PAGE;
        for (uint32_t i = from, end = s >> OS_SHIFT; i < end;) {
            if (!bit_at(r->medium_dirty, i)) { i++; continue; }
            uint32_t j = i;
            while (j < end && bit_at(r->medium_dirty, j)) bit_clear(r->medium_dirty, j++);
            os_purge((void *)(r->base + (uintptr_t)i * OS_PAGE), (size_t)(j - i) * OS_PAGE);
            bytes += (size_t)(j - i) * OS_PAGE;
            i = j;
        }
        if (s >= hi) break;
        at = block_last(r, pg, s) + 1;
    }
    pg->medium_freed = 0;
    if (bytes) {
        stat_commit(-(ptrdiff_t)bytes);
        atomic_fetch_add(&stat_purged, bytes);
    }
    return bytes;
}

static void upkeep_list(heap_t *h, page_queue_t *q, bool force, uint64_t now) {
    for (page_t *pg = q->first, *next; pg; pg = next) {
        next = pg->next;
        if (collect(h, pg)) continue;
        if (pg->used == 0 && (force || !kept_when_empty(h, pg))) { release_page(h, pg); continue; }
        if (pg->medium_freed && (force || (pg->medium_freed >= PURGE_MIN_GRANULES &&
                                          now - pg->medium_free_since_ms >= opt_purge_delay_ms)))
            purge_page(pg);
    }
}

void medium_upkeep(heap_t *h, bool force) {
    uint64_t now = os_clock_ms();
    for (unsigned b = 0; b < MEDIUM_BINS; b++)
        if (h->medium_bins[b].first) upkeep_list(h, &h->medium_bins[b], force, now);
}

/* A reclaimed region's medium page changes heaps (heap_reclaim; both heaps
 * locked or owned). Its pending frees stay on thread_free for the new owner. */
void medium_page_move(heap_t *from, heap_t *to, page_t *pg) {
    bin_remove(from, pg);
    if (from->medium_recent == pg) from->medium_recent = NULL;
    bin_put(to, pg);
}

/* Bytes of r's medium pages that medium_purge gave back: the region counts
 * every used slice as committed, so whoever drops its slices wholesale
 * (region_destroy_all) adds these back first. */
size_t medium_purged_bytes(const region_t *r) {
    size_t bytes = 0;
    for (unsigned i = 0; i < USABLE_SLICES; i++) {
        const page_t *pg = region_page_at(r, i);
        if (pg && page_is_medium(pg)) bytes += page_purged_bytes(r, pg);
    }
    return bytes;
}

/* ---- Walking and checking ---- */

/* Visit pg's live blocks (owner or lock holder), leaving out those another
 * thread has freed and the owner not yet taken in. Returns how many it
 * visited; *stop when visit said so. */
size_t medium_walk(page_t *pg, int (*visit)(void *, size_t, void *), void *arg, bool *stop) {
    const region_t *r = pg->region;
    uint32_t hi = page_hi(pg);
    size_t live = 0;
    for (uint32_t s = next_bit(r->medium_start, page_lo(pg), hi); s < hi; s = next_bit(r->medium_start, s + 1, hi)) {
        uint32_t e = block_last(r, pg, s);
        block_t *b = (block_t *)granule_addr(r, s);
        if (b->free_mark == free_key && pending_contains(pg, b)) continue;
        live++;
        if (visit && visit(b, (size_t)(e - s + 1) << MEDIUM_GRANULE_SHIFT, arg) != 0) {
            *stop = true;
            return live;
        }
    }
    return live;
}

/* Count pg's live blocks (pending frees included, as for small pages) and
 * their granules; with lists (the caller owns pg or holds its heap's lock),
 * also check the invariants in the header. Without, the bitmaps may change
 * under the reader: the count is a snapshot, and what does not parse ends it. */
size_t medium_count(const page_t *pg, size_t *granules, bool lists) {
    const region_t *r = pg->region;
    uint32_t lo = page_lo(pg), hi = page_hi(pg);
    size_t blocks = 0, used = 0;
    uint32_t longest = 0, first_free = UINT32_MAX;
    for (uint32_t at = lo; at < hi;) {
        uint32_t s = next_bit(r->medium_start, at, hi);
        if (s > at) {
            if (s - at > longest) longest = s - at;
            if (first_free == UINT32_MAX) first_free = at;
            if (lists && next_bit(r->medium_end, at, s) < s) fatal_msg("heap check failed: medium end bit in a free run", (void *)granule_addr(r, at));
        }
        if (s >= hi) break;
        uint32_t e = next_bit(r->medium_end, s, hi);
        if (e >= hi || next_bit(r->medium_start, s + 1, e + 1) <= e) {
            if (lists) fatal_msg("heap check failed: medium start and end bits do not alternate", (void *)granule_addr(r, s));
            break; /* another thread's page, read while its owner changes it */
        }
        blocks++;
        used += e - s + 1;
        at = e + 1;
    }
    if (lists) {
        if (used != pg->used) fatal_msg("heap check failed: medium page used granules", pg);
        if (longest > pg->medium_max_run) fatal_msg("heap check failed: medium longest run above its bound", pg);
        if (first_free != UINT32_MAX && lo + pg->medium_low > first_free) fatal_msg("heap check failed: medium low above the first free run", pg);
        if (pg->medium_bin != bin_of(pg->medium_max_run)) fatal_msg("heap check failed: medium page in the wrong bin", pg);
        uint32_t low = lo + pg->medium_low;
        if (low < hi && covering_start(r, pg, low) != UINT32_MAX && covering_start(r, pg, low) != low)
            fatal_msg("heap check failed: medium low inside a block", pg);
    }
    if (granules) *granules = used;
    return blocks;
}
