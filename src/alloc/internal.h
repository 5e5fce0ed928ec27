/* internal.h: the fast paths (inline, one screen each) and the declarations
 * of everything the allocator's files share. Slow paths live in alloc.c,
 * free.c, page.c, heap.c, region.c and large.c.
 * May include: types.h, os.h, error.h.
 */
#ifndef MAPALLOC_INTERNAL_H
#define MAPALLOC_INTERNAL_H

#include "error.h"
#include "os.h"
#include "types.h"

#include <stddef.h>
#include <stdint.h>

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define INTERNAL __attribute__((visibility("hidden")))
#define COLD __attribute__((cold, noinline))
/* Fields the owner writes and other threads may read while it does (page
 * capacity, heap state): plain moves on x86-64, visible to TSan as atomics. */
#define LOAD_RELAXED(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define STORE_RELAXED(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

/* ---- Process-wide state (init.c) ---- */
extern uintptr_t free_key INTERNAL;              /* free-list pointer secret */
extern uint64_t process_secret[4] INTERNAL;      /* other uses (placement, canaries) */
extern __thread heap_t *tls_heap INTERNAL;       /* initial-exec TLS */
extern heap_t empty_heap INTERNAL;               /* every thread starts here */
extern page_t empty_page INTERNAL;               /* free == NULL: malloc goes slow */
extern page_t invalid_page INTERNAL;             /* free slices: free goes slow */
extern _Atomic(uint16_t *) region_map_l1[MAP_L1_COUNT] INTERNAL;

/* Options (options are read once, at init). */
extern size_t opt_large_threshold INTERNAL;      /* requests above go to large.c */
extern bool opt_secure;                          /* secure mode (secure.c) */
extern bool opt_medium INTERNAL;                 /* exact fit above 4 KiB (medium.c) */
extern uint32_t opt_purge_delay_ms INTERNAL;     /* free pages kept this long before madvise */
extern size_t opt_large_cache_bytes INTERNAL;    /* freed large mappings kept for reuse */
extern uint32_t opt_large_cache_ms INTERNAL;

/* ---- Region map (region_map.c) ---- */
static inline uint16_t region_tag_of(uintptr_t p) {
    size_t i1 = p >> MAP_L1_SHIFT;
    if (unlikely(i1 >= MAP_L1_COUNT)) return TAG_NONE;
    /* Acquire (a plain load on x86): pairs with the CAS that published the
     * leaf, so its contents are seen as mapped (ThreadSanitizer saw a race). */
    uint16_t *leaf = atomic_load_explicit(&region_map_l1[i1], memory_order_acquire);
    if (unlikely(leaf == NULL)) return TAG_NONE;
    return __atomic_load_n(&leaf[(p >> REGION_SHIFT) & (MAP_L2_COUNT - 1)], __ATOMIC_RELAXED);
}
bool region_map_set(uintptr_t region_base, uint16_t tag) INTERNAL;

static inline region_t *region_of(uintptr_t p) {
    return (region_t *)((p & ~(uintptr_t)REGION_MASK) + META_OFFSET);
}

/* ---- Free-list encoding ---- */
static inline block_t *block_next(const block_t *b) { return (block_t *)(b->next_enc ^ free_key); }
static inline void block_set_next(block_t *b, const block_t *next) { b->next_enc = (uintptr_t)next ^ free_key; }

/* Block index of p in its page, or a value > page->div_last when p is not a
 * block start of the page (exact divisibility test by modular inverse). */
static inline uint64_t page_block_index(const page_t *pg, uintptr_t p, uintptr_t start) {
    uint64_t q = (uint64_t)(p - start) * pg->div_inv;
    unsigned s = pg->div_shift;
    return (q >> s) | (q << ((64 - s) & 63));
}

/* ---- Slow paths ---- */
void *malloc_slow(heap_t *h, size_t n) INTERNAL COLD;
void *malloc_not_direct(heap_t *h, size_t n) INTERNAL;
/* From n's size class (n <= the large threshold; not secure mode). */
void *malloc_class(heap_t *h, size_t n) INTERNAL;
void free_slow(void *p) INTERNAL COLD;
void free_suspect(heap_t *h, page_t *pg, block_t *b) INTERNAL COLD;
void page_empty(heap_t *h, page_t *pg) INTERNAL COLD;
void free_not_current(heap_t *h, page_t *pg, block_t *b) INTERNAL;
/* The owner's free of b onto its page (used--, page unfull or empty). */
void local_free(heap_t *h, page_t *pg, block_t *b) INTERNAL;

/* ---- The fast paths ---- */
static inline void *malloc_direct(heap_t *h, size_t n) {
    page_t *pg = h->direct[(n + MIN_ALIGN - 1) / MIN_ALIGN];
    block_t *b = pg->free;
    if (unlikely(b == NULL)) return malloc_slow(h, n);
    pg->free = block_next(b);
    pg->used++;
#ifndef MAPALLOC_NO_HARDENING
    b->free_mark = 0;
#endif
    return b;
}

static inline void *malloc_inline(size_t n) {
    heap_t *h = tls_heap;
    if (likely(n <= DIRECT_MAX)) return malloc_direct(h, n);
    return malloc_not_direct(h, n);
}

/* Free of a pointer outside the region free saw last: look the region up in
 * the region map, remember it if the calling heap owns it, and free. */
void free_other_region(void *p) INTERNAL;

/* Free by the owning thread: p lies in a region of the calling thread's heap
 * (the region free saw last, or the region map says so), p is the start of a
 * block handed out from its page, and the block is not marked free (else
 * free_suspect checks exactly whether this is a double free). Everything
 * else goes to free_slow. */
static inline void free_in_region(heap_t *h, region_t *r, void *ptr) {
    uintptr_t p = (uintptr_t)ptr;
    page_t *pg = r->slice_page[(p >> SLICE_SHIFT) & (SLICES_PER_REGION - 1)];
    block_t *b = ptr;
    uintptr_t key = free_key;
#ifndef MAPALLOC_NO_HARDENING
    if (unlikely(page_block_index(pg, p, pg->check_start) > pg->div_last)) { free_slow(ptr); return; }
    if (unlikely(b->free_mark == key)) { free_suspect(h, pg, b); return; }
    b->free_mark = key;
#else
    /* Built without the always-on checks (only to measure what they cost):
     * full pages and secure mode still need the slow path. */
    if (unlikely(pg->check_start != pg->start)) { free_slow(ptr); return; }
#endif
    if (unlikely(pg != h->class_page[pg->size_class])) { free_not_current(h, pg, b); return; }
    __asm__("" ::: "memory"); /* two plain stores: cheaper than the vector merge compilers make */
    b->next_enc = (uintptr_t)pg->free ^ key;
    pg->free = b;
    if (unlikely(--pg->used == 0)) page_empty(h, pg);
}

static inline void free_inline(void *ptr) {
    heap_t *h = tls_heap;
    if (unlikely((((uintptr_t)ptr ^ h->cached_base) >> REGION_SHIFT) != 0)) { free_other_region(ptr); return; }
    free_in_region(h, h->cached_region, ptr);
}

/* ---- Size classes (size_class.c) ---- */
static inline unsigned size_class_of(size_t n) {
    if (n <= 128) return n <= 16 ? 1u : (unsigned)((n + 15) >> 4);
    unsigned k = 63u - (unsigned)__builtin_clzl(n - 1);
    return 9u + (k - 7u) * 4u + (unsigned)(((n - 1) >> (k - 2)) & 3u);
}
unsigned page_slices_for_class(unsigned cls) INTERNAL;

/* ---- Pages, regions, heaps ---- */
void *page_alloc_block(heap_t *h, unsigned cls) INTERNAL;
void page_collect(page_t *pg) INTERNAL;
void page_queue_remove(page_queue_t *q, page_t *pg) INTERNAL;
void page_queue_push_front(page_queue_t *q, page_t *pg) INTERNAL;
void page_queue_push_back(page_queue_t *q, page_t *pg) INTERNAL;
void heap_set_current(heap_t *h, unsigned cls, page_t *pg) INTERNAL;
/* The class's next queued page becomes current, or empty_page. */
void heap_clear_current(heap_t *h, unsigned cls) INTERNAL;
void page_free_to_region(heap_t *h, page_t *pg) INTERNAL;
void page_unfull(heap_t *h, page_t *pg) INTERNAL;
void page_setup_divisor(page_t *pg) INTERNAL;
uint64_t heap_random(heap_t *h) INTERNAL;   /* xorshift64 on the heap's state */
/* Push the linked blocks head..tail onto pg's thread_free (lock-free); the
 * callers count them in thread_freed, before or after (page.c, medium.c). */
void thread_free_link(page_t *pg, block_t *head, block_t *tail) INTERNAL;
void thread_free_push(page_t *pg, block_t *b) INTERNAL;
void remote_batch_add(heap_t *h, page_t *pg, block_t *b) INTERNAL;
void remote_batch_flush(heap_t *h) INTERNAL;
void remote_batch_forget(heap_t *h) INTERNAL;
bool remote_batch_contains(const heap_t *h, const block_t *b) INTERNAL;
void heap_point_class(heap_t *h, unsigned cls, page_t *pg) INTERNAL;
/* Keep b, a block this thread freed that does not go onto its class's current
 * page (another heap's, or its own of another page), in the class cache
 * (false: the cache is full, or this thread cannot keep blocks). */
static inline bool foreign_push(heap_t *h, page_t *owner_page, block_t *b) {
    if (opt_secure) return false;
    unsigned cls = owner_page->size_class;
    page_t *cur = h->class_page[cls];
    /* A thread with no page of the class does not allocate it: the blocks
     * would wait here while their owner maps new pages (a consumer thread
     * held up to 32 KiB per class of its producer's blocks: most of
     * bench/prodcons' RSS gap to glibc). This also turns away a thread with
     * no heap: every class of empty_heap points at empty_page. */
    if (cur == &empty_page) return false;
    page_t *fp = &h->foreign[cls];
    uint32_t held = fp->capacity - fp->used;
    uint32_t max = foreign_max[cls];
    if (held >= max) return false;
    if (held == 0) fp->capacity = fp->used = 0;
    b->free_mark = free_key;
    block_set_next(b, fp->free);
    fp->free = b;
    fp->capacity++;
    /* Serve the class from the cache once it holds half its limit (or at once
     * when the class has nothing else to give): switching the class between
     * its own page and the cache costs two re-pointings and a slow malloc, so
     * it is paid once per batch of foreign blocks, not once per block. */
    if (cur != fp && (held + 1 >= max / 2 || cur->free == NULL)) {
        fp->flags = PAGE_FOREIGN; /* first use: heap.c leaves the pseudo-pages untouched */
        fp->size_class = (uint8_t)cls;
        heap_point_class(h, cls, fp);
    }
    return true;
}
bool foreign_contains(heap_t *h, unsigned cls, const block_t *b) INTERNAL;
void foreign_flush(heap_t *h) INTERNAL;
/* Add to per_class the blocks h holds that are free but still counted as used
 * by their pages: its foreign cache, its remote batch, its quarantine (exact
 * for the caller's own heap, a snapshot of another thread's otherwise). */
void foreign_held(const heap_t *h, size_t per_class[CLASS_COUNT]) INTERNAL;

page_t *region_alloc_page(heap_t *h, unsigned slices) INTERNAL;
void region_free_page(heap_t *h, page_t *pg) INTERNAL;
size_t region_purge(heap_t *h, bool force) INTERNAL;
void region_release_all_empty(heap_t *h) INTERNAL;
region_t *region_take_for_class(heap_t *from, heap_t *to, unsigned cls, bool *any) INTERNAL;
/* The page that starts at slice i of r, or NULL (a free slice or a page's
 * later slice). The owner's view, or under the owner's lock. */
static inline page_t *region_page_at(const region_t *r, unsigned i) {
    page_t *pg = r->slice_page[i];
    return pg != &invalid_page && pg->slice_index == i ? pg : NULL;
}
void page_move(heap_t *from, heap_t *to, page_t *pg) INTERNAL;

heap_t *heap_init_thread(void) INTERNAL;
void heap_maintenance(heap_t *h, bool force) INTERNAL;
heap_t *heap_by_tag(uint16_t tag) INTERNAL;
void heaps_lock(void) INTERNAL;
void heaps_unlock(void) INTERNAL;
heap_t *heaps_first(void) INTERNAL;
void heaps_fork_prepare(void) INTERNAL;
void heaps_fork_parent(void) INTERNAL;
void heaps_fork_child(void) INTERNAL;
void heap_collect_abandoned(bool force) INTERNAL;
bool heap_reclaim(heap_t *h, unsigned cls) INTERNAL;

/* ---- Medium blocks (medium.c) ---- */
static inline bool page_is_medium(const page_t *pg) {
    return LOAD_RELAXED(pg->size_class) == CLASS_MEDIUM && LOAD_RELAXED(pg->block_size) == MEDIUM_GRANULE;
}
void *medium_alloc(heap_t *h, size_t n) INTERNAL;
/* Free p, a pointer into medium page pg of the heap with this tag: any
 * thread; names a pointer that starts no live block. */
void medium_free(page_t *pg, uint16_t tag, void *p) INTERNAL;
/* NOT_SMALL: p is inside a live block; SIZE_MAX: p is on free granules. */
size_t medium_usable_size(const page_t *pg, uintptr_t p) INTERNAL;
/* Resize live block p to n bytes in place (the owning thread only, n medium). */
bool medium_resize(page_t *pg, void *p, size_t n) INTERNAL;
/* Take in other threads' frees, release empty pages (force), purge free runs. */
void medium_upkeep(heap_t *h, bool force) INTERNAL;
void medium_page_move(heap_t *from, heap_t *to, page_t *pg) INTERNAL;
size_t medium_walk(page_t *pg, int (*visit)(void *, size_t, void *), void *arg, bool *stop) INTERNAL;
/* Live blocks of pg (and their granules); lists: check its invariants too. */
size_t medium_count(const page_t *pg, size_t *granules, bool lists) INTERNAL;
size_t medium_purged_bytes(const region_t *r) INTERNAL;

/* ---- Large blocks (large.c) ---- */
/* How large_alloc fills the block: as it comes, zeroed, or zeroed for calloc
 * (a fresh block of at most calloc_populate bytes is faulted in at once). */
enum large_fill { LARGE_ASIS, LARGE_ZERO, LARGE_CALLOC };
void *large_alloc(size_t n, size_t align, enum large_fill fill) INTERNAL;
bool large_free(void *p) INTERNAL;           /* false: not a large block */
size_t large_usable_size(const void *p) INTERNAL; /* NOT_SMALL: not a large block */
bool large_recently_freed(const void *p) INTERNAL;
bool large_contains(const void *p) INTERNAL;     /* p inside a live large block, not its start */
extern __thread uint16_t large_owner_tag INTERNAL;
void large_free_owned(uint16_t owner) INTERNAL;
size_t large_walk(uint16_t owner, int (*visit)(void *, size_t, void *), void *arg) INTERNAL;
/* First-class heaps (userheap.c) and walking. */
void region_destroy_all(heap_t *h) INTERNAL;
void regions_lock(void) INTERNAL;
void regions_unlock(void) INTERNAL;
void regions_fork_child(void) INTERNAL;
void region_purge_idle(heap_t *h) INTERNAL;   /* background purger: expired slices only, under regions_lock */
void large_expire_cache(void) INTERNAL;
void purger_start_if_needed(void) INTERNAL;
void purger_fork_child(void) INTERNAL;
heap_t *heap_new_user(void) INTERNAL;
void heap_retire_user(heap_t *h) INTERNAL;
size_t heap_walk_blocks(heap_t *h, int (*visit)(void *, size_t, void *), void *arg) INTERNAL;
/* Resize large block p (fatal if p is none) to n bytes in place or by moving
 * its pages; NULL: n is small, or the kernel refused, and the caller copies
 * *old_usable bytes (errno ENOMEM when n cannot be mapped at all). */
void *large_realloc(void *p, size_t n, size_t *old_usable) INTERNAL;
size_t large_trim(void) INTERNAL;
void large_fork_prepare(void) INTERNAL;
void large_fork_parent(void) INTERNAL;
void large_fork_child(void) INTERNAL;
void large_stats(size_t *blocks, size_t *bytes, size_t *cached) INTERNAL;
void large_check(void) INTERNAL; /* mapalloc_check_heap: large blocks' and cached mappings' shape */

/* ---- Process init (init.c) and statistics (stats.c) ---- */
void process_init(void) INTERNAL;
extern _Atomic size_t stat_committed INTERNAL, stat_reserved INTERNAL, stat_purged INTERNAL,
    stat_peak_committed INTERNAL, stat_regions INTERNAL;
void stat_commit(ptrdiff_t delta) INTERNAL;
void cache_commit_grew(size_t committed) INTERNAL; /* large_cache.c: the cache gives way */

/* Lookup of a small block: its page, and whether p is a block start. */
page_t *small_page_of(uintptr_t p, uint16_t *tag_out) INTERNAL;
#define NOT_SMALL (SIZE_MAX - 1)
size_t small_usable_size(const void *p) INTERNAL; /* NOT_SMALL: not a small block start; SIZE_MAX: freed */
bool small_block_is_free(page_t *pg, uintptr_t p) INTERNAL;

/* ---- Secure mode (secure.c) ---- */
void *secure_malloc(heap_t *h, size_t n, size_t align) INTERNAL;
void secure_free(heap_t *h, page_t *pg, void *p) INTERNAL;
size_t secure_usable_size(const page_t *pg, uintptr_t b) INTERNAL;
bool secure_in_quarantine(const heap_t *h, const void *p) INTERNAL;
void secure_quarantine_flush(heap_t *h) INTERNAL;
void secure_check_size(const void *p, size_t n) INTERNAL;
/* Free a validated small block now, bypassing secure mode's quarantine. */
void free_block_now(void *p) INTERNAL;
size_t large_requested_size(const void *p) INTERNAL; /* 0: not a large block */

/* Block size for an aligned request served from a size class, or 0 when the
 * request must go to large.c. */
size_t aligned_small_size(size_t n, size_t align) INTERNAL;
void *malloc_aligned_internal(size_t n, size_t align) INTERNAL;
/* A block of n bytes aligned to align (> MIN_ALIGN) from heap h (its owner,
 * or under its lock; not secure mode): medium, a class whose blocks are
 * multiples of align, or a large mapping. */
void *heap_alloc_aligned(heap_t *h, size_t n, size_t align) INTERNAL;

#endif
