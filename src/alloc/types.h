/* types.h: the allocator's data structures and layout constants, with the
 * invariants that tie them together. Everything here is checked by
 * static_assert at compile time or by check.c (mapalloc_check_heap) at run time.
 * May include: nothing but libc headers and os.h.
 *
 * Address space layout
 *   region  4 MiB, 4 MiB aligned, one mmap: 63 slices of 64 KiB for pages,
 *           then slice 63 = [guard page | region metadata ...]. Metadata sits
 *           above every user byte of its region behind a PROT_NONE page, so a
 *           linear overflow of user data hits the guard before any metadata.
 *   page    1..63 consecutive slices holding blocks of one size class;
 *           described by a page_t in its region's metadata (out of band).
 *   block   a user allocation in a page; a free block's first word holds the
 *           next free block XOR a per-process secret (free_key).
 *   medium  a page of MEDIUM_SLICES slices holding blocks of any size from
 *           4 KiB to the large threshold, each a run of 256-byte granules
 *           (medium.c): exact fit, so a block's end and the next block's
 *           start share an OS page. Its layout lives in the region's granule
 *           bitmaps (out of band): medium_start and medium_end mark each
 *           live block's first and last granule.
 *   large   a request above the large threshold: its own mapping
 *           [data | guard page], recorded in the large-block table (large.c).
 *
 * Ownership: each region belongs to one heap; a heap belongs to at most one
 * thread at a time. Only the owning thread touches page->free,
 * used and the heap's queues; other threads only push onto page->thread_free
 * (lock-free) and read the region map.
 */
#ifndef MAPALLOC_TYPES_H
#define MAPALLOC_TYPES_H

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REGION_SHIFT 22
#define REGION_SIZE ((size_t)1 << REGION_SHIFT)
#define REGION_MASK (REGION_SIZE - 1)
#define SLICE_SHIFT 16
#define SLICE_SIZE ((size_t)1 << SLICE_SHIFT)
#define SLICES_PER_REGION (REGION_SIZE / SLICE_SIZE)
#define USABLE_SLICES (SLICES_PER_REGION - 1)
#define OS_PAGE 4096u
#define GUARD_OFFSET (USABLE_SLICES * SLICE_SIZE)
#define META_OFFSET (GUARD_OFFSET + OS_PAGE)
/* A region's head: its first 2 MiB, one huge page (transparent with
 * huge_pages, MAP_HUGETLB with hugetlb; region.c). */
#define HEAD_BYTES ((size_t)2 << 20)
#define HEAD_SLICES ((UINT64_C(1) << (HEAD_BYTES / SLICE_SIZE)) - 1)

#define MIN_ALIGN 16u
#define DIRECT_MAX 1024u                      /* sizes served by heap->direct[] */
#define DIRECT_COUNT (DIRECT_MAX / MIN_ALIGN + 1)
#define SMALL_MAX ((size_t)128 << 10)         /* largest size class */
#define CLASS_COUNT 49                        /* classes 1..48; 0 unused */
#define PAGE_MIN_BLOCKS 8u                    /* a page of a big class holds at least this many */
#define CLASS_MEDIUM 0u                       /* size_class of a medium page (block_size MEDIUM_GRANULE) */
#define MEDIUM_GRANULE_SHIFT 8
#define MEDIUM_GRANULE ((size_t)1 << MEDIUM_GRANULE_SHIFT)
#define MEDIUM_MIN 4096u                      /* requests above this (up to the large threshold) are medium */
#define MEDIUM_SLICES 16u                     /* a medium page: 1 MiB, 4096 granules */
#define GRANULES_PER_SLICE (SLICE_SIZE / MEDIUM_GRANULE)
#define MEDIUM_WORDS (USABLE_SLICES * GRANULES_PER_SLICE / 64)
#define MEDIUM_DIRTY_WORDS ((USABLE_SLICES * SLICE_SIZE / OS_PAGE + 63) / 64)
#define MEDIUM_BINS 10u                       /* heap_t.medium_bins */

/* Region map: which heap owns the region containing an address. Two levels,
 * indexed by address >> REGION_SHIFT; user space is below 2^47. */
#define MAP_L1_SHIFT 35
#define MAP_L1_COUNT ((size_t)1 << (47 - MAP_L1_SHIFT))
#define MAP_L2_COUNT ((size_t)1 << (MAP_L1_SHIFT - REGION_SHIFT))
#define TAG_NONE 0u
#define TAG_EMPTY_HEAP 0xffffu                /* the static empty heap; never in the map */
#define MAX_HEAPS 0xfff0u

static_assert((SLICE_SIZE & (SLICE_SIZE - 1)) == 0, "slice size is a power of two");
static_assert(SLICES_PER_REGION == 64, "slice bitmaps are one 64-bit word");
static_assert(SMALL_MAX <= 16 * SLICE_SIZE, "largest class fits PAGE_MIN_BLOCKS in half a region");
static_assert(DIRECT_MAX % MIN_ALIGN == 0, "direct table granularity");
static_assert(HEAD_BYTES % SLICE_SIZE == 0 && HEAD_BYTES <= GUARD_OFFSET, "the head is whole slices before the guard");
static_assert(GRANULES_PER_SLICE % 64 == 0, "a slice's granules are whole bitmap words");
static_assert(MEDIUM_SLICES * SLICE_SIZE >= 8 * SMALL_MAX, "a medium page holds 8 of the largest medium blocks");

/* A free block's first two words. Every block is at least 16 bytes. */
typedef struct block_s {
    uintptr_t next_enc;  /* next free block XOR free_key; NULL encodes as free_key */
    uintptr_t free_mark; /* free_key while free, 0 once handed out: the double-free tell */
} block_t;

enum page_flag {
    PAGE_IN_FULL = 1,      /* on the heap's full list, not in a class queue */
    PAGE_FOREIGN = 2,      /* a heap's cache of other heaps' blocks (heap_t.foreign) */
};
/* A medium page (medium.c) has size_class CLASS_MEDIUM and block_size
 * MEDIUM_GRANULE; used counts granules in live blocks, reserved the page's
 * granules, capacity stays 0 and check_start is start - SLOW_FREE_OFFSET,
 * so that every free of its blocks takes the slow path. It sits on the
 * heap's medium_bins queue of its longest free run's bound. */

/* A page descriptor is three cache lines, split by who writes them: the
 * owner's malloc and free write line 0 on every call; every thread that frees
 * into the page reads line 1 (set when the page is made, capacity growing
 * now and then), so a remote free does not pull the owner's hot line away
 * from it; line 2 is written by those remote frees. */
typedef struct page_s {
    /* --- line 0: the owner's fast path --- */
    _Alignas(64) block_t *free; /* blocks ready for malloc (owner only) */
    uintptr_t check_start;    /* == start, or start - SLOW_FREE_OFFSET to force frees to the slow path */
    uint32_t div_last;        /* capacity - 1: highest block index ever handed out */
    uint32_t used;            /* blocks handed out and not yet freed locally */
    uint8_t flags;
    struct page_s *next, *prev; /* class queue or full list */
    /* --- line 1: what any thread freeing into the page reads --- */
    _Alignas(64) uint64_t div_inv; /* inverse of the odd part of block_size mod 2^64 */
    uintptr_t start;          /* address of block 0 */
    uint32_t capacity;        /* blocks carved so far (free list extended lazily) */
    uint32_t reserved;        /* blocks that fit in the page */
    uint32_t block_size;
    uint8_t div_shift;        /* trailing zero bits of block_size */
    uint8_t size_class;
    uint8_t slice_count;      /* slices this page spans; 0 = descriptor unused */
    uint8_t slice_index;      /* first slice */
    struct region_s *region;
    /* Medium pages only (owner): */
    uint32_t medium_max_run;  /* an upper bound on the longest free run (granules) */
    uint32_t medium_low;      /* a granule at or below the first free one: free or a block start */
    uint32_t medium_freed;    /* granules freed since the page's free runs were last purged */
    uint8_t medium_bin;       /* the heap_t.medium_bins queue it is on */
    uint64_t medium_free_since_ms; /* when medium_freed became non-zero */
    /* --- line 2: written by other threads' frees --- */
    _Alignas(64) _Atomic(uintptr_t) thread_free; /* blocks freed by other threads (encoded list) */
    _Atomic(uint32_t) thread_freed; /* how many: incremented after each push, so it may lag the list */
    _Atomic(uint32_t) pending_granules; /* medium pages: granules of the blocks on thread_free (statistics) */
} page_t;
static_assert(sizeof(page_t) == 192, "a page descriptor is three cache lines");

typedef struct region_s {
    uintptr_t base;
    struct heap_s *heap;          /* owner */
    struct region_s *next, *prev; /* heap's region list */
    uint64_t used_slices;         /* bit i: slice i belongs to a page */
    uint64_t dirty_slices;        /* bit i: slice i may hold RSS (free but not purged) */
    uint64_t free_since_ms;       /* when the oldest unpurged free slice was freed */
    uint32_t page_count;
    bool hugetlb_head;            /* slices 0..31 are one MAP_HUGETLB page: never purged (region.c) */
    bool medium_meta;             /* the medium bitmaps' two pages are counted committed (medium.c) */
    page_t *slice_page[SLICES_PER_REGION]; /* slice -> its page, NULL when free */
    page_t pages[USABLE_SLICES];           /* descriptor for a page starting at slice i */
    /* Medium pages' layout: bit g is granule g of the region (base + 256 g).
     * A live block's first granule is set in medium_start and its last in
     * medium_end, and no other bit of its run; free granules have neither.
     * Written by the owner only; any thread may read a live block's bits
     * (they do not change while it lives). Separate pages of metadata, so a
     * region without medium pages never touches them. */
    _Alignas(4096) uint64_t medium_start[MEDIUM_WORDS];
    uint64_t medium_end[MEDIUM_WORDS];
    /* Bit i: OS page i of the region may be resident (a medium page's pages
     * start dirty; medium_purge clears what it gives back). */
    uint64_t medium_dirty[MEDIUM_DIRTY_WORDS];
} region_t;
static_assert(META_OFFSET + sizeof(region_t) <= REGION_SIZE, "region metadata fits its slice");
static_assert(offsetof(region_t, medium_dirty) + sizeof(((region_t *)0)->medium_dirty) -
              offsetof(region_t, medium_start) <= 2 * OS_PAGE, "the medium bitmaps are two pages");

typedef struct page_queue_s {
    page_t *first, *last;
} page_queue_t;

enum heap_state {
    HEAP_ACTIVE = 1,     /* a thread's heap */
    HEAP_ABANDONED = 2,  /* its thread exited; the next new thread adopts it */
    HEAP_USER = 3,       /* a first-class heap (userheap.c): used under adopt_lock */
    HEAP_DESTROYED = 4,  /* a destroyed first-class heap, kept for reuse */
    /* In a fork child, the heap of a thread that does not exist there (or an
     * abandoned one). Another thread may have been halfway through changing
     * it when the fork came: a list half-linked, a remote batch pushed but
     * not yet cleared. So nothing walks or adopts it again: frees of its
     * blocks go onto their page's thread_free (a push, nothing read), and its
     * free memory is not reused by the child. */
    HEAP_FORKED = 5,
};

#define NO_REGION ((uintptr_t)1 << 63)  /* a cached_base no user pointer matches */
/* check_start of a page whose every free must take the slow path (full,
 * medium, secure mode): p - check_start is then at least 2^40, and the
 * block-index test gives more than div_last for any p in the page, whether
 * or not the distance divides by the block size. (An offset of 1 let
 * free(block + 1) of a full page pass as a block start.) */
#define SLOW_FREE_OFFSET ((uintptr_t)1 << 40)
#define QUARANTINE_SLOTS 256u            /* secure mode: freed blocks held per thread */

typedef struct heap_s {
    /* Read by other threads' frees of this heap's blocks, written only when
     * the heap changes hands: a cache line of its own, so that the owner's
     * writes below do not take it away from them (bench/server: state shared
     * a line with cached_base, written on the owner's frees). */
    _Alignas(64) _Atomic(uint8_t) state; /* enum heap_state */
    uint16_t tag;                     /* region-map tag of this heap's regions */
    _Alignas(64) page_t *direct[DIRECT_COUNT]; /* size (n+15)/16 -> current page for its class */
    uintptr_t cached_base;            /* base of the region free() saw last (owned by this heap) */
    region_t *cached_region;          /* its metadata */
    page_t *class_page[CLASS_COUNT];  /* current page of each class (queue head or empty_page) */
    page_queue_t queues[CLASS_COUNT];
    page_t *full;                     /* pages with no free block */
    /* Medium pages by the bound on their longest free run (medium.c
     * bin_of): bin 0 cannot hold a medium block, bin i >= 1 runs of 2^(i+3)
     * to 2^(i+4) - 1 granules, bin MEDIUM_BINS - 1 an empty page. */
    page_queue_t medium_bins[MEDIUM_BINS];
    page_t *medium_recent;            /* the medium page last allocated from: kept when it empties */
    region_t *regions;
    uint64_t next_maintenance_ms;
    uint32_t slow_calls;
    uint64_t rng;                     /* xorshift state for slot randomisation (from the secret) */
    struct heap_s *next_all;          /* global list of heaps */
    struct heap_s *next_abandoned;
    pthread_mutex_t adopt_lock;       /* held by whoever collects an abandoned heap */
    bool fork_locked;                 /* a first-class heap whose lock fork_prepare holds */
    /* Blocks this thread freed into one other heap's page, pushed onto that
     * page's thread_free together (one CAS for up to REMOTE_BATCH_MAX blocks
     * instead of one each): a producer/consumer pair stops fighting over the
     * list head. Counted as used by the owner until pushed. */
    page_t *batch_page;
    block_t *batch_head, *batch_tail;
    uint32_t batch_count;
    /* The class cache: blocks this thread freed that did not go onto the
     * class's current page (other heaps' blocks, and its own blocks of other
     * pages), kept (up to foreign_max[class], FOREIGN_MAX_BYTES at most) for
     * its next mallocs of the class, as tcmalloc's thread caches do: the block
     * is hot in this thread's cache. The class is served from it once it
     * holds half its limit. Pseudo-pages: only free, used (pops) and capacity
     * (pushes) are meaningful, and flags and size_class once the class is
     * first served from it; for its page the block stays in use until it
     * goes home (overflow, trim, thread exit: foreign_flush). */
    page_t foreign[CLASS_COUNT];
    /* Secure mode: freed blocks waiting to be reused (secure.c). */
    void *quarantine[QUARANTINE_SLOTS];
    uint32_t quarantine_count;
} heap_t;

#define FOREIGN_MAX_BYTES (32u << 10)
#define FOREIGN_MAX_BLOCKS 64u
#define REMOTE_BATCH_MAX 64u
#define REMOTE_BATCH_BYTES (64u << 10)

/* The block size of each class, and the class of each direct-table index. */
extern const uint32_t class_size[CLASS_COUNT];
extern const uint8_t direct_class[DIRECT_COUNT];
extern const uint8_t foreign_max[CLASS_COUNT];

#endif
