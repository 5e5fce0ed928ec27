/* page.c: pages of one size class. A page's free list is carved lazily (only
 * the blocks about to be used are touched, so RSS follows use); frees by the
 * owner go straight back to the head of free (reused first, while hot) and
 * frees by other threads to thread_free, merged into free when free runs
 * out. Each heap keeps, per class, a queue of
 * pages with (possibly) free blocks, its head being the class's current page,
 * and a list of full pages.
 * Invariants: used <= capacity <= reserved; a page is on exactly one of its
 * class queue or the full list; check_start == start unless IN_FULL or in
 * secure mode (then start - SLOW_FREE_OFFSET).
 * May call: region.c, heap.c (maintenance), stats.
 */
#include "internal.h"

#include <errno.h>
#include <string.h>

/* Carve at most this many bytes of new blocks at a time: one OS page.
 * Writing the links touches every page of a batch, and at a program's peak
 * each busy class's current page holds one batch carved but not yet used:
 * 16 KiB batches cost bench/prodcons 4-20% of its peak RSS and server 2%
 * (analysis.md §000000), for 0.5% (churn) to 5% (server) more instructions
 * and no change in time. */
#define EXTEND_BYTES OS_PAGE
#define SECURE_BATCH_MIN 16u /* secure mode: blocks shuffled together, whatever their size */

void page_setup_divisor(page_t *pg) {
    uint32_t bs = pg->block_size;
    unsigned shift = (unsigned)__builtin_ctz(bs);
    uint64_t odd = bs >> shift, inv = odd;
    /* Newton iteration for the inverse of an odd number mod 2^64. */
    for (int i = 0; i < 5; i++) inv *= 2 - odd * inv;
    pg->div_inv = inv;
    pg->div_shift = (uint8_t)shift;
    pg->div_last = 0; /* set to capacity - 1 as blocks are carved */
}

static void page_init(page_t *pg, unsigned cls) {
    pg->size_class = (uint8_t)cls;
    pg->block_size = class_size[cls];
    size_t bytes = (size_t)pg->slice_count * SLICE_SIZE;
    if (opt_secure) {
        /* Secure mode: the page's last 4 KiB is a guard no block reaches. */
        bytes -= OS_PAGE;
        (void)os_protect((void *)(pg->start + bytes), OS_PAGE, OS_PROT_NONE, OS_REASON_GUARD);
    }
    pg->reserved = (uint32_t)(bytes / pg->block_size);
    pg->check_start = pg->start - (opt_secure ? SLOW_FREE_OFFSET : 0); /* secure: frees go to free_slow */
    page_setup_divisor(pg);
}

uint64_t heap_random(heap_t *h) {
    uint64_t x = h->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    h->rng = x;
    return x;
}

/* Carve up to EXTEND_BYTES of new blocks onto the (empty) free list (at
 * least one block). By default the list pops the blocks in address order:
 * objects built one after another sit side by side, and a program that
 * walks them in that order (python's garbage collector walks its objects in
 * allocation order) streams through memory. A random start within each
 * batch cost python3's collector 2x its time (analysis.md §0000). Secure
 * mode walks a power-of-two batch of at least SECURE_BATCH_MIN blocks from a
 * random start with a random odd stride other than +-1 (those would hand
 * out neighbours in a row): a permutation, so which block comes next is
 * not predictable from the one before. */
static void page_extend(heap_t *h, page_t *pg) {
    uint32_t bs = pg->block_size;
    uint32_t n = EXTEND_BYTES / bs;
    if (opt_secure && n < SECURE_BATCH_MIN) n = SECURE_BATCH_MIN;
    if (n == 0) n = 1;
    if (n > pg->reserved - pg->capacity) n = pg->reserved - pg->capacity;
    uint32_t mask = UINT32_MAX, stride = 1, at = n - 1; /* the block pushed first: popped last */
    if (opt_secure) {
        n = UINT32_C(1) << (31 - __builtin_clz(n)); /* largest power of two <= n */
        uint64_t r = heap_random(h);
        mask = n - 1;
        /* An odd stride in [3, n - 3]: (n - 4) / 2 of them from n = 8 on. */
        stride = n >= 8 ? 3 + 2 * (uint32_t)((r >> 32) % ((n - 4) / 2)) : (uint32_t)(r >> 32) | 1;
        at = ((uint32_t)r + stride * (n - 1)) & mask;
    }
    uintptr_t first = pg->start + (uintptr_t)pg->capacity * bs;
    block_t *prev = NULL;
    uintptr_t key = free_key;
    for (uint32_t i = 0; i < n; i++, at = (at - stride) & mask) {
        block_t *b = (block_t *)(first + (uintptr_t)at * bs);
        b->next_enc = (uintptr_t)prev ^ key;
        b->free_mark = key;
        prev = b;
    }
    pg->free = prev;
    STORE_RELAXED(pg->capacity, pg->capacity + n);
    STORE_RELAXED(pg->div_last, pg->capacity - 1);
}

void thread_free_link(page_t *pg, block_t *head, block_t *tail) {
    uintptr_t old = atomic_load_explicit(&pg->thread_free, memory_order_relaxed);
    do {
        block_set_next(tail, (block_t *)old);
    } while (!atomic_compare_exchange_weak_explicit(&pg->thread_free, &old, (uintptr_t)head,
                                                    memory_order_release, memory_order_relaxed));
}

void thread_free_push(page_t *pg, block_t *b) {
    b->free_mark = free_key;
    thread_free_link(pg, b, b);
    /* After the push: a collector that counts this block has it in its list. */
    atomic_fetch_add_explicit(&pg->thread_freed, 1, memory_order_release);
}

/* ---- Batched frees into other heaps' pages (heap_t.batch_*) ---- */

/* Empty h's batch without pushing it (its blocks were pushed already, or
 * are given up: a fork child's dead heaps, heap.c). */
void remote_batch_forget(heap_t *h) {
    h->batch_page = NULL;
    h->batch_head = h->batch_tail = NULL;
    h->batch_count = 0;
}

void remote_batch_flush(heap_t *h) {
    page_t *pg = h->batch_page;
    if (!pg || !h->batch_count) { h->batch_page = NULL; return; }
    thread_free_link(pg, h->batch_head, h->batch_tail);
    atomic_fetch_add_explicit(&pg->thread_freed, h->batch_count, memory_order_release);
    remote_batch_forget(h);
}

void remote_batch_add(heap_t *h, page_t *pg, block_t *b) {
    if (h->batch_page != pg) {
        remote_batch_flush(h);
        h->batch_page = pg;
    }
    b->free_mark = free_key;
    block_set_next(b, h->batch_head);
    h->batch_head = b;
    if (!h->batch_tail) h->batch_tail = b;
    h->batch_count++;
    if (h->batch_count >= REMOTE_BATCH_MAX || (size_t)h->batch_count * pg->block_size >= REMOTE_BATCH_BYTES)
        remote_batch_flush(h);
}

bool remote_batch_contains(const heap_t *h, const block_t *b) {
    uint32_t n = 0;
    for (block_t *x = h->batch_head; x && n <= REMOTE_BATCH_MAX; x = block_next(x), n++)
        if (x == b) return true;
    return false;
}

/* Move local and thread frees to the free list (called when free is empty,
 * or by the checker). */
void page_collect(page_t *pg) {
    if (atomic_load_explicit(&pg->thread_free, memory_order_relaxed) != 0 ||
        atomic_load_explicit(&pg->thread_freed, memory_order_relaxed) != 0) {
        /* Count first, then take the list: every counted block is in the list
         * taken; a block pushed but not yet counted is taken now and counted
         * at a later collect, so used never falls below the true figure.
         * No walk of the list: its blocks are cold in this thread's cache. */
        uint32_t n = atomic_exchange_explicit(&pg->thread_freed, 0, memory_order_acquire);
        block_t *list = (block_t *)atomic_exchange_explicit(&pg->thread_free, 0, memory_order_acquire);
        if (list) {
            if (pg->free) {
                block_t *t = list;
                while (block_next(t)) t = block_next(t);
                block_set_next(t, pg->free);
            }
            pg->free = list;
        }
        if (n > pg->used) fatal_bug(BUG_DOUBLE_FREE, list, pg->size_class, pg->block_size);
        pg->used -= n;
    }
}

void page_queue_remove(page_queue_t *q, page_t *pg) {
    if (pg->prev) pg->prev->next = pg->next; else q->first = pg->next;
    if (pg->next) pg->next->prev = pg->prev; else q->last = pg->prev;
    pg->next = pg->prev = NULL;
}

void page_queue_push_front(page_queue_t *q, page_t *pg) {
    pg->prev = NULL;
    pg->next = q->first;
    if (q->first) q->first->prev = pg; else q->last = pg;
    q->first = pg;
}

void page_queue_push_back(page_queue_t *q, page_t *pg) {
    pg->next = NULL;
    pg->prev = q->last;
    if (q->last) q->last->next = pg; else q->first = pg;
    q->last = pg;
}

/* Point the class's malloc fast path (class_page and every direct index of
 * the class) at pg. */
void heap_point_class(heap_t *h, unsigned cls, page_t *pg) {
    if (opt_secure) pg = &empty_page; /* secure mode: every malloc goes to secure.c */
    h->class_page[cls] = pg;
    if (class_size[cls] <= DIRECT_MAX) {
        size_t lo = cls > 1 ? class_size[cls - 1] / MIN_ALIGN + 1 : 0;
        size_t hi = class_size[cls] / MIN_ALIGN;
        for (size_t i = lo; i <= hi; i++) h->direct[i] = pg;
    }
}

/* Make pg the class's current page (head of its queue, target of direct[]). */
void heap_set_current(heap_t *h, unsigned cls, page_t *pg) {
    page_queue_t *q = &h->queues[cls];
    if (q->first != pg) {
        page_queue_remove(q, pg);
        page_queue_push_front(q, pg);
    }
    heap_point_class(h, cls, pg);
}

void heap_clear_current(heap_t *h, unsigned cls) {
    page_t *next = h->queues[cls].first;
    if (next) heap_set_current(h, cls, next);
    else heap_point_class(h, cls, &empty_page);
}

/* ---- The foreign cache (see heap_t.foreign) ---- */

bool foreign_contains(heap_t *h, unsigned cls, const block_t *b) {
    uint32_t n = 0;
    for (block_t *x = h->foreign[cls].free; x && n <= FOREIGN_MAX_BLOCKS; x = block_next(x), n++)
        if (x == b) return true;
    return false;
}

void foreign_held(const heap_t *h, size_t per_class[CLASS_COUNT]) {
    for (unsigned cls = 1; cls < CLASS_COUNT; cls++) {
        const page_t *fp = &h->foreign[cls];
        uint32_t n = LOAD_RELAXED(fp->capacity) - LOAD_RELAXED(fp->used);
        if (n <= FOREIGN_MAX_BLOCKS) per_class[cls] += n; /* else a torn read of another thread's counters */
    }
    const page_t *bp = LOAD_RELAXED(h->batch_page);
    uint32_t bn = LOAD_RELAXED(h->batch_count);
    if (bp && bn <= REMOTE_BATCH_MAX) per_class[bp->size_class] += bn;
    uint32_t qn = LOAD_RELAXED(h->quarantine_count);
    if (qn > QUARANTINE_SLOTS) qn = QUARANTINE_SLOTS;
    for (uint32_t i = 0; i < qn; i++) {
        uint16_t tag;
        const page_t *qp = small_page_of((uintptr_t)LOAD_RELAXED(h->quarantine[i]), &tag);
        if (qp) per_class[qp->size_class]++;
    }
}

/* Send every cached block home (thread exit, trim): the heap's own blocks
 * straight to their pages (so that emptied pages can go back to the region
 * now), other heaps' blocks to their pages' thread_free. */
void foreign_flush(heap_t *h) {
    for (unsigned cls = 1; cls < CLASS_COUNT; cls++) {
        page_t *fp = &h->foreign[cls];
        block_t *next, *list = fp->free;
        fp->free = NULL;
        fp->capacity = fp->used = 0;
        if (h->class_page[cls] == fp) heap_clear_current(h, cls);
        for (block_t *b = list; b; b = next) {
            next = block_next(b);
            uint16_t tag;
            page_t *pg = small_page_of((uintptr_t)b, &tag);
            if (!pg) fatal_bug(BUG_FREELIST_CORRUPT, b, (int)cls, class_size[cls]);
            if (tag == h->tag) local_free(h, pg, b);
            else thread_free_push(pg, b);
        }
    }
}

/* The heap's full list (h->full, linked through next/prev). */
static void full_push(heap_t *h, page_t *pg) {
    pg->next = h->full;
    pg->prev = NULL;
    if (h->full) h->full->prev = pg;
    h->full = pg;
}

static void full_remove(heap_t *h, page_t *pg) {
    if (pg->prev) pg->prev->next = pg->next; else h->full = pg->next;
    if (pg->next) pg->next->prev = pg->prev;
    pg->next = pg->prev = NULL;
}

static void page_to_full(heap_t *h, page_t *pg) {
    unsigned cls = pg->size_class;
    page_queue_remove(&h->queues[cls], pg);
    if (h->class_page[cls] == pg) heap_clear_current(h, cls);
    pg->flags |= PAGE_IN_FULL;
    pg->check_start = pg->start - SLOW_FREE_OFFSET; /* frees to a full page take the slow path */
    full_push(h, pg);
}

void page_unfull(heap_t *h, page_t *pg) {
    full_remove(h, pg);
    pg->flags &= (uint8_t)~PAGE_IN_FULL;
    pg->check_start = pg->start - (opt_secure ? SLOW_FREE_OFFSET : 0);
    page_queue_push_back(&h->queues[pg->size_class], pg);
    if (h->class_page[pg->size_class] == &empty_page) heap_set_current(h, pg->size_class, pg);
}

/* Move pg from heap from's lists to heap to's (a reclaimed region's pages): a full
 * page stays full, any other joins the back of its class queue, behind to's
 * own pages. Its pending cross-thread frees are taken in first. */
void page_move(heap_t *from, heap_t *to, page_t *pg) {
    if (page_is_medium(pg)) { medium_page_move(from, to, pg); return; }
    unsigned cls = pg->size_class;
    if (pg->flags & PAGE_IN_FULL) {
        full_remove(from, pg);
        full_push(to, pg);
        return;
    }
    page_queue_remove(&from->queues[cls], pg);
    if (from->class_page[cls] == pg) heap_clear_current(from, cls);
    page_collect(pg);
    page_queue_push_back(&to->queues[cls], pg);
}

/* The owner freed the last used block of pg. Keep the class's current page
 * (a malloc/free loop on one block must not map and unmap a page each time);
 * give any other empty page's slices back to its region. */
void page_empty(heap_t *h, page_t *pg) {
    unsigned cls = pg->size_class;
    if (h->class_page[cls] == pg) return;
    if (pg->flags & PAGE_IN_FULL) full_remove(h, pg);
    else page_queue_remove(&h->queues[cls], pg);
    region_free_page(h, pg);
}

/* Full pages that other threads freed into go back to their class queue. */
static void heap_rescue_full(heap_t *h) {
    page_t *next;
    for (page_t *pg = h->full; pg; pg = next) {
        next = pg->next;
        if (atomic_load_explicit(&pg->thread_free, memory_order_relaxed) != 0) page_unfull(h, pg);
    }
}

static void *page_pop(page_t *pg) {
    block_t *b = pg->free;
    pg->free = block_next(b);
    pg->used++;
    b->free_mark = 0;
    return b;
}

/* Relink pg's free list in address order. A page taken up again after
 * frees has its free blocks in the order they were freed, scattered over
 * the page; handed out in that order, objects built one after another land
 * far apart. In address order they lie as close as the holes allow, as a
 * lowest-address-first allocator (jemalloc) places them: python3's pywork
 * 0.92 -> 0.82 s (analysis.md §0000). Costs one pass over the free blocks,
 * which the mallocs that follow touch anyway, and a 512-byte bitmap; also
 * checks the list (a block twice or outside the page is corruption). Only
 * the owner's own frees (page_alloc_block). */
static void page_sort_free(page_t *pg) {
    uint32_t cap = pg->capacity;
    uint64_t bits[SLICE_SIZE / MIN_ALIGN / 64]; /* a one-slice page of 16-byte blocks */
    size_t words = ((size_t)cap + 63) / 64;
    if (words > sizeof bits / sizeof bits[0]) return;
    memset(bits, 0, words * sizeof bits[0]);
    uint32_t n = 0;
    for (block_t *b = pg->free; b; b = block_next(b)) {
        uint64_t i = page_block_index(pg, (uintptr_t)b, pg->start);
        if (i >= cap || ++n > cap || (bits[i / 64] >> (i % 64) & 1))
            fatal_bug(BUG_FREELIST_CORRUPT, b, pg->size_class, pg->block_size);
        bits[i / 64] |= UINT64_C(1) << (i % 64);
    }
    block_t *prev = NULL;
    uintptr_t key = free_key;
    for (size_t w = words; w-- > 0;) {
        for (uint64_t m = bits[w]; m; m &= ~(UINT64_C(1) << (63 - __builtin_clzll(m)))) {
            size_t i = w * 64 + (size_t)(63 - __builtin_clzll(m));
            block_t *b = (block_t *)(pg->start + (uintptr_t)i * pg->block_size);
            b->next_enc = (uintptr_t)prev ^ key;
            prev = b;
        }
    }
    pg->free = prev;
}

/* The malloc slow path: find a page of class cls with a free block. */
void *page_alloc_block(heap_t *h, unsigned cls) {
    if (unlikely(h == &empty_heap)) {
        h = heap_init_thread();
        if (!h) { errno = ENOMEM; return NULL; }
        page_t *cur = h->class_page[cls];
        if (cur->free) return page_pop(cur);
    }
    /* Counted here, the cache's switches included: with the class cache
     * serving most mallocs, this may be the only call a busy heap makes that
     * can release its emptied pages (bench/memshape). */
    if (unlikely((++h->slow_calls & 63) == 0)) heap_maintenance(h, false);
    if (h->class_page[cls]->flags & PAGE_FOREIGN) {
        /* The class cache ran dry: back to the class's own pages (the
         * common case needs nothing more than their current free list). */
        h->foreign[cls].capacity = h->foreign[cls].used = 0;
        heap_clear_current(h, cls);
        page_t *cur = h->class_page[cls];
        if (cur->free) return page_pop(cur);
    }
    page_queue_t *q = &h->queues[cls];
    bool reclaimed = false;
again:
    for (int attempt = 0; attempt < 2; attempt++) {
        /* Freed blocks of any page before fresh ones: carving touches new
         * memory while the freed blocks are resident already. */
        page_t *next, *fresh = NULL;
        for (page_t *pg = q->first; pg; pg = next) {
            next = pg->next;
            /* Its own frees are sorted (secure mode keeps its random
             * order); other threads' frees are taken as they come: they are
             * cold here, and a walk over all of them at once cost
             * bench/prodcons' producer 19% of its CPU time. */
            if (!pg->free) page_collect(pg);
            else if (!opt_secure) page_sort_free(pg);
            if (pg->free) {
                heap_set_current(h, cls, pg);
                return page_pop(pg);
            }
            if (pg->capacity < pg->reserved) { if (!fresh) fresh = pg; continue; }
            page_to_full(h, pg);
        }
        if (fresh) {
            page_extend(h, fresh);
            heap_set_current(h, cls, fresh);
            return page_pop(fresh);
        }
        if (attempt == 0 && h->full) heap_rescue_full(h);
        if (!q->first) break;
    }
    /* An exited thread's region with room in the class before a fresh
     * page, once a call (heap.c). */
    if (!reclaimed && heap_reclaim(h, cls)) { reclaimed = true; goto again; }
    page_t *pg = region_alloc_page(h, page_slices_for_class(cls));
    if (!pg) {
        /* Out of memory: give back what we hold and try once more. */
        heap_maintenance(h, true);
        pg = region_alloc_page(h, page_slices_for_class(cls));
        if (!pg) { errno = ENOMEM; return NULL; }
    }
    page_init(pg, cls);
    page_queue_push_front(q, pg);
    heap_set_current(h, cls, pg);
    page_extend(h, pg);
    return page_pop(pg);
}
