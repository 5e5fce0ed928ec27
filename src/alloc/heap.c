/* heap.c: thread heaps. A thread gets a heap on its first allocation: a heap
 * left by a thread that exited (with everything still in it: its live blocks
 * stay valid and its free memory is reused) or a new one. Heap structures are
 * carved from metadata mappings and never unmapped; a heap's tag indexes
 * heaps_by_tag. A thread exit abandons the heap; frees into an abandoned heap
 * are done under its adopt_lock by whichever thread frees.
 * May call: page.c, region.c, large.c, os.h.
 */
#include "internal.h"

#include <sched.h>

#include <errno.h>
#include <pthread.h>
#include <string.h>

__thread heap_t *tls_heap __attribute__((tls_model("initial-exec"))) = &empty_heap;

page_t empty_page;
/* Statically complete (code may allocate before any constructor of ours has
 * run): every table entry points at empty_page, so the first malloc of a
 * thread reaches page_alloc_block, which gives the thread a heap. */
heap_t empty_heap = {
    .direct = {[0 ... DIRECT_COUNT - 1] = &empty_page},
    .class_page = {[0 ... CLASS_COUNT - 1] = &empty_page},
    .tag = TAG_EMPTY_HEAP,
    .cached_base = NO_REGION,
};
/* free slices point here: check_start 1 and div_last 0 fail every block
 * index test, so frees into a free slice reach free_slow. */
page_t invalid_page = {.check_start = 1, .div_inv = 1, .div_last = 0, .div_shift = 0};

static pthread_mutex_t heaps_mutex = PTHREAD_MUTEX_INITIALIZER;
static heap_t *all_heaps;         /* every heap ever made */
static heap_t *abandoned;         /* heaps whose thread exited (written under heaps_mutex) */
/* No abandoned heap has a region left to reclaim (set by heap_reclaim's
 * walk, cleared when a heap is abandoned: an abandoned heap never gains a
 * region), so a program with many exited threads does not walk them all for
 * each fresh page. Written under heaps_mutex. */
static bool nothing_to_reclaim;
static heap_t *heaps_by_tag[MAX_HEAPS + 1];
static uint16_t next_tag = 1;
static size_t heap_count;
static uint8_t *heap_chunk;       /* bump allocation of heap_t structures */
static size_t heap_chunk_left;

static pthread_key_t heap_key;

void heaps_lock(void) { pthread_mutex_lock(&heaps_mutex); }
void heaps_unlock(void) { pthread_mutex_unlock(&heaps_mutex); }
heap_t *heaps_first(void) { return all_heaps; }
heap_t *heap_by_tag(uint16_t tag) { return tag <= MAX_HEAPS ? heaps_by_tag[tag] : NULL; }

/* The class cache's pseudo-pages (foreign[]) stay untouched: foreign_push
 * marks one when it first serves its class, so a heap costs a program the
 * RSS of the classes it caches, not of all 49 (9 KiB). */
static void heap_reset_tables(heap_t *h) {
    for (size_t i = 0; i < DIRECT_COUNT; i++) h->direct[i] = &empty_page;
    for (size_t i = 0; i < CLASS_COUNT; i++) h->class_page[i] = &empty_page;
}

static void heap_thread_done(void *arg);

void heap_key_create(void) INTERNAL;
void heap_key_create(void) { pthread_key_create(&heap_key, heap_thread_done); }

static heap_t *heap_new_locked(void) {
    if (next_tag > MAX_HEAPS) return NULL;
    size_t sz = (sizeof(heap_t) + 63) & ~(size_t)63;
    if (heap_chunk_left < sz) {
        size_t chunk = 64 * 1024;
        heap_chunk = os_map(NULL, chunk, OS_REASON_META);
        if (!heap_chunk) return NULL;
        heap_chunk_left = chunk;
        stat_commit((ptrdiff_t)chunk);
    }
    heap_t *h = (heap_t *)heap_chunk;
    heap_chunk += sz;
    heap_chunk_left -= sz;
    /* Zero already: chunks come fresh from os_map, and heaps are never freed. */
    pthread_mutex_init(&h->adopt_lock, NULL);
    h->tag = next_tag++;
    h->rng = (process_secret[1] ^ ((uint64_t)h->tag * UINT64_C(0x9E3779B97F4A7C15))) | 1;
    h->cached_base = NO_REGION;
    heap_reset_tables(h);
    heaps_by_tag[h->tag] = h;
    h->next_all = all_heaps;
    all_heaps = h;
    heap_count++;
    return h;
}

/* ---- First-class heaps (the API is in userheap.c) ---- */

static heap_t *retired_user; /* destroyed first-class heaps, reused by the next create */

heap_t *heap_new_user(void) {
    process_init();
    heaps_lock();
    heap_t *h = retired_user;
    if (h) {
        retired_user = h->next_abandoned;
        h->next_abandoned = NULL;
        memset(h->queues, 0, sizeof h->queues);
        memset(h->foreign, 0, sizeof h->foreign);
        memset(h->medium_bins, 0, sizeof h->medium_bins);
        h->medium_recent = NULL;
        h->full = NULL;
        h->regions = NULL;
        h->quarantine_count = 0;
        h->cached_base = NO_REGION;
        h->cached_region = NULL;
        heap_reset_tables(h);
    } else {
        h = heap_new_locked();
    }
    if (h) atomic_store(&h->state, HEAP_USER);
    heaps_unlock();
    if (!h) errno = ENOMEM;
    return h;
}

void heap_retire_user(heap_t *h) {
    heaps_lock();
    atomic_store(&h->state, HEAP_DESTROYED);
    h->next_abandoned = retired_user;
    retired_user = h;
    heaps_unlock();
}

heap_t *heap_init_thread(void) {
    process_init();
    heaps_lock();
    heap_t *h = LOAD_RELAXED(abandoned);
    if (h) {
        STORE_RELAXED(abandoned, h->next_abandoned);
        h->next_abandoned = NULL;
        /* Taking the adopt lock waits for a thread freeing into it. */
        pthread_mutex_lock(&h->adopt_lock);
        h->state = HEAP_ACTIVE;
        pthread_mutex_unlock(&h->adopt_lock);
    } else {
        h = heap_new_locked();
        if (h) h->state = HEAP_ACTIVE;
    }
    heaps_unlock();
    if (!h) { errno = ENOMEM; return NULL; }
    tls_heap = h;
    pthread_setspecific(heap_key, h);
    return h;
}

/* Collect every page's pending frees and release empty pages. Owner only (or
 * the holder of an abandoned heap's adopt_lock). */
static void heap_collect(heap_t *h, bool release_current) {
    if (h->full) {
        page_t *next;
        for (page_t *pg = h->full; pg; pg = next) {
            next = pg->next;
            if (atomic_load_explicit(&pg->thread_free, memory_order_relaxed)) page_unfull(h, pg);
        }
    }
    for (unsigned cls = 1; cls < CLASS_COUNT; cls++) {
        page_t *next;
        for (page_t *pg = h->queues[cls].first; pg; pg = next) {
            next = pg->next;
            page_collect(pg);
            if (pg->used != 0) continue;
            if (h->class_page[cls] == pg) {
                if (!release_current) continue;
                h->class_page[cls] = &empty_page; /* so page_empty releases it */
                page_empty(h, pg);
                heap_clear_current(h, cls);
            } else {
                page_empty(h, pg);
            }
        }
    }
    medium_upkeep(h, release_current);
}

void heap_maintenance(heap_t *h, bool force) {
    uint64_t now = os_clock_ms();
    if (!force && now < h->next_maintenance_ms) return;
    h->next_maintenance_ms = now + (opt_purge_delay_ms ? opt_purge_delay_ms / 2 + 1 : 1);
    if (force) foreign_flush(h);
    remote_batch_flush(h); /* at most 64 blocks held back from their owner between maintenances */
    heap_collect(h, force);
    region_purge(h, force);
    heap_collect_abandoned(force);
}

static void heap_thread_done(void *arg) {
    heap_t *h = arg;
    if (!h || h == &empty_heap) return;
    secure_quarantine_flush(h);
    foreign_flush(h);
    remote_batch_flush(h);
    heap_collect(h, true);
    region_purge(h, true); /* no thread may adopt it soon: give its free pages back now */
    tls_heap = &empty_heap;
    heaps_lock();
    pthread_mutex_lock(&h->adopt_lock);
    h->state = HEAP_ABANDONED;
    pthread_mutex_unlock(&h->adopt_lock);
    h->next_abandoned = abandoned;
    STORE_RELAXED(abandoned, h);
    STORE_RELAXED(nothing_to_reclaim, false);
    heaps_unlock();
}

/* Tidy abandoned heaps: take in the frees other threads made into them and
 * give back what is empty (region_free_page purges an abandoned heap's
 * slices at once). Never waits for a lock. */
void heap_collect_abandoned(bool force) {
    if (!LOAD_RELAXED(abandoned)) return;
    if (force) heaps_lock();
    else if (pthread_mutex_trylock(&heaps_mutex) != 0) return;
    for (heap_t *h = abandoned; h; h = h->next_abandoned) {
        if (pthread_mutex_trylock(&h->adopt_lock) != 0) continue;
        if (h->state == HEAP_ABANDONED) {
            heap_collect(h, true);
            region_purge(h, force);
        }
        pthread_mutex_unlock(&h->adopt_lock);
    }
    heaps_unlock();
}

/* A running thread's heap h needs a fresh page of class cls: take instead
 * the region of an abandoned heap whose pages of cls have the most room,
 * with all its pages and live blocks. Without this only a new thread could
 * reuse an exited thread's half-empty pages, and a program whose threads
 * outlive their peers kept both working sets resident (bench/server: 10 MB
 * of an exited worker's pages held 1.4 MB of live blocks at the peak). At
 * most one region a call, and only one with room in the class asked for: a
 * region that would only bring free slices stays (an abandoned heap's free
 * slices are purged at once, so they hold no memory) and a thread that
 * allocates other sizes takes nothing. Never waits for a lock. Not into a
 * first-class heap (its destroy frees every block of its regions), not in
 * secure mode (pages keep their guards and quarantine bookkeeping per heap).
 *
 * Frees racing with the move are safe: a thread that looked the region up
 * before region_take_for_class finds the old owner abandoned and takes its adopt_lock
 * (held here for the whole move), then sees the region's owner changed
 * (free_validated checks) and pushes the block onto the page's thread_free,
 * which h takes in; one that looks it up after sees h, an active heap. */
bool heap_reclaim(heap_t *h, unsigned cls) {
    if (!LOAD_RELAXED(abandoned) || LOAD_RELAXED(nothing_to_reclaim) || opt_secure || h != tls_heap ||
        h->state != HEAP_ACTIVE)
        return false;
    if (pthread_mutex_trylock(&heaps_mutex) != 0) return false;
    bool moved = false, any = false;
    for (heap_t *x = abandoned; x && !moved; x = x->next_abandoned) {
        /* A heap whose lock is taken may have regions: not "nothing". */
        if (pthread_mutex_trylock(&x->adopt_lock) != 0) { any = true; continue; }
        if (x->state == HEAP_ABANDONED) {
            /* Blocks of h's remote batch may lie in the region: push them
             * now, so the batch only ever holds other heaps' blocks. */
            remote_batch_flush(h);
            region_t *r = region_take_for_class(x, h, cls, &any);
            if (r) {
                for (unsigned i = 0; i < USABLE_SLICES; i++) {
                    page_t *pg = region_page_at(r, i);
                    if (pg) page_move(x, h, pg);
                }
                moved = true;
            }
        }
        pthread_mutex_unlock(&x->adopt_lock);
    }
    if (!any) STORE_RELAXED(nothing_to_reclaim, true);
    heaps_unlock();
    return moved;
}

/* Before fork: heaps_lock, and the lock of every first-class heap, so that no
 * other thread is halfway through an allocation or free in one when the
 * child copies it (about 1 child in 100 of a program whose threads share one
 * such heap crashed or hung). A thread may hold a first-class heap's lock
 * and then wait for heaps_lock (page_alloc_block when memory runs out), so
 * those locks are only tried: on a miss everything is let go and taken again.
 * A lock still busy after many rounds (the forking thread itself inside a
 * mapalloc_heap_walk callback) is left as it is. */
void heaps_fork_prepare(void) {
    for (int round = 0;; round++) {
        heaps_lock();
        heap_t *busy = NULL;
        for (heap_t *h = all_heaps; h; h = h->next_all) {
            h->fork_locked = false;
            if (atomic_load(&h->state) != HEAP_USER) continue;
            if (pthread_mutex_trylock(&h->adopt_lock) == 0) h->fork_locked = true;
            else if (!busy) busy = h;
        }
        if (!busy || round >= 1000) return;
        heaps_fork_parent();
        sched_yield();
    }
}

/* After fork in the parent (and between heaps_fork_prepare's rounds): let go
 * of what heaps_fork_prepare took. */
void heaps_fork_parent(void) {
    for (heap_t *h = all_heaps; h; h = h->next_all)
        if (h->fork_locked) { h->fork_locked = false; pthread_mutex_unlock(&h->adopt_lock); }
    heaps_unlock();
}

/* In a fork child only the forking thread exists. Every other thread's heap,
 * and every abandoned one, becomes HEAP_FORKED: its blocks stay valid and
 * the child can free them, but nothing adopts, reclaims or collects it.
 * Adopting them (as this did until the fault showed) let a child's thread
 * flush a remote batch that its dead owner had pushed already but not yet
 * cleared when the fork came: the same blocks pushed twice made a cycle in
 * a page's thread_free, and the child spun in page_collect
 * (trap.fork_while_threads_allocate, about 1 run in 30 under load). */
void heaps_fork_child(void) {
    pthread_mutex_init(&heaps_mutex, NULL);
    heap_t *me = tls_heap;
    STORE_RELAXED(abandoned, NULL);
    for (heap_t *h = all_heaps; h; h = h->next_all) {
        pthread_mutex_init(&h->adopt_lock, NULL);
        h->fork_locked = false;
        if (h == me || (h->state != HEAP_ACTIVE && h->state != HEAP_ABANDONED)) continue;
        h->state = HEAP_FORKED;
        h->next_abandoned = NULL;
        remote_batch_forget(h); /* never flushed now; it may even have been pushed already */
    }
    STORE_RELAXED(nothing_to_reclaim, true);
}

size_t heaps_count(void) INTERNAL;
size_t heaps_count(void) { return heap_count; }
