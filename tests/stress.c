/* stress.c: many threads allocating random sizes (mostly small, some medium,
 * a few large), every block filled with a pattern derived from its address
 * and size and verified byte for byte (and by checksum) before it is freed
 * or reallocated. Three phases:
 *   cross     N threads; blocks are freed by their owner, reallocated, or
 *             handed through a shared queue to whichever thread frees them;
 *   pipeline  a producer/consumer pair over a lock-free ring;
 *   churn     rounds of short-lived threads that exit with blocks still live;
 *             the next round's threads free them.
 * Every allocated block is verified exactly once before its free: the counts
 * must match at the end, and the heap checker must agree with our count of
 * live blocks.
 *
 * Built twice: with STRESS_PREFIXED against the core (mapalloc_malloc ...),
 * and without it against the standard names, run with LD_PRELOAD.
 * Usage: stress [-t threads] [-n ops per thread] [-r churn rounds] [-m large]
 * (-m large: half the blocks large, up to 8 MiB, alignments up to 4 MiB.)
 */
#define _GNU_SOURCE
#include "testutil.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>

#ifdef STRESS_PREFIXED
#include "mapalloc.h"
#define t_malloc mapalloc_malloc
#define t_calloc mapalloc_calloc
#define t_realloc mapalloc_realloc
#define t_aligned_alloc mapalloc_aligned_alloc
#define t_free mapalloc_free
#define t_usable_size mapalloc_usable_size
#else
#include "preload_check.h"
#include <malloc.h>
#define t_malloc malloc
#define t_calloc calloc
#define t_realloc realloc
#define t_aligned_alloc aligned_alloc
#define t_free free
#define t_usable_size malloc_usable_size
#endif

struct block { unsigned char *p; size_t n; uint64_t sum; size_t align; /* 0: not from aligned_alloc */ };

static int thread_count = 4;
static size_t ops_per_thread = 150000;
static int churn_rounds = 12;

static atomic_size_t allocated, verified, corrupt;
static atomic_size_t cross_thread_frees;
static atomic_size_t verified_bytes;

/* --- Blocks ---------------------------------------------------------------- */

static int large_mix; /* -m large: half the blocks large, up to 8 MiB */

static size_t random_size(rng_t *r) {
    size_t k = rng_below(r, 1000);
    if (large_mix) return k < 500 ? rng_range(r, 0, 4096) : rng_range(r, 64 * KiB, rng_below(r, 8) ? 1 * MiB : 8 * MiB);
    if (k < 850) return rng_below(r, 8) ? rng_range(r, 0, 256) : rng_range(r, 257, 1024);
    if (k < 995) return rng_range(r, 1025, rng_below(r, 4) ? 16 * KiB : 128 * KiB);
    return rng_range(r, 128 * KiB, 1 * MiB + 12345);
}

static bool block_new(struct block *b, rng_t *r) {
    size_t n = random_size(r);
    unsigned k = (unsigned)rng_below(r, 16);
    b->align = 0;
    if (k == 0) b->p = t_calloc(1, n);
    else if (k == 1) {
        b->align = (size_t)64 << rng_below(r, large_mix ? 17 : 7); /* up to 4 MiB in the large mix */
        b->p = t_aligned_alloc(b->align, n);
    }
    else b->p = t_malloc(n);
    if (!b->p) {
        fprintf(stderr, "allocation of %zu bytes failed\n", n);
        atomic_fetch_add(&corrupt, 1);
        return false;
    }
    if (k == 0) {
        for (size_t i = 0; i < n; i++)
            if (b->p[i]) {
                fprintf(stderr, "calloc(1, %zu) = %p: byte %zu not zero\n", n, (void *)b->p, i);
                atomic_fetch_add(&corrupt, 1);
                break;
            }
    }
    if (t_usable_size(b->p) < n) {
        fprintf(stderr, "usable size of %p is %zu < %zu\n", (void *)b->p, t_usable_size(b->p), n);
        atomic_fetch_add(&corrupt, 1);
    }
    b->n = n;
    b->sum = pattern_fill(b->p, n, block_seed(b->p, n));
    atomic_fetch_add_explicit(&allocated, 1, memory_order_relaxed);
    return true;
}

/* Verify every byte and the checksum; count the block as verified. */
static void block_verify(const struct block *b, const char *when) {
    uint64_t seed = block_seed(b->p, b->n);
    size_t bad = pattern_check(b->p, b->n, seed);
    if (bad != (size_t)-1 || contents_checksum(b->p, b->n, seed) != b->sum) {
        fprintf(stderr, "%s: block %p of %zu bytes corrupt at offset %zu\n", when, (void *)b->p, b->n, bad);
        atomic_fetch_add(&corrupt, 1);
    }
    atomic_fetch_add_explicit(&verified, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&verified_bytes, b->n, memory_order_relaxed);
}

static void block_free(struct block *b, const char *when) {
    block_verify(b, when);
#ifdef STRESS_PREFIXED
    /* A quarter of the frees say the size (C23 free_sized, free_aligned_sized). */
    if ((b->sum & 3) == 0 && b->align) mapalloc_free_aligned_sized(b->p, b->align, b->n);
    else if ((b->sum & 3) == 0) mapalloc_free_sized(b->p, b->n);
    else
#endif
        t_free(b->p);
    b->p = NULL;
}

/* realloc: the old contents must survive up to the smaller size. The block
 * counts as verified and freed, and the result as a new block. */
static void block_realloc(struct block *b, rng_t *r) {
    size_t n = random_size(r) + 1;
    uint64_t seed = block_seed(b->p, b->n);
    uintptr_t old = (uintptr_t)b->p;
    block_verify(b, "before realloc");
    unsigned char *q = t_realloc(b->p, n);
    if (!q) {
        fprintf(stderr, "realloc(%p, %zu) failed\n", (void *)b->p, n);
        atomic_fetch_add(&corrupt, 1);
        t_free(b->p);
        b->p = NULL;
        return;
    }
    size_t keep = b->n < n ? b->n : n;
    size_t bad = pattern_check(q, keep, seed);
    if (bad != (size_t)-1) {
        fprintf(stderr, "realloc %#zx (%zu) -> %p (%zu) lost byte %zu\n", (size_t)old, b->n, (void *)q, n, bad);
        atomic_fetch_add(&corrupt, 1);
    }
    b->p = q;
    b->n = n;
    b->align = 0;
    b->sum = pattern_fill(q, n, block_seed(q, n));
    atomic_fetch_add_explicit(&allocated, 1, memory_order_relaxed);
}

/* --- The shared queue: any thread pushes, any thread pops and frees. ------ */

#define QUEUE_CAP 4096
static struct {
    pthread_mutex_t lock;
    struct block items[QUEUE_CAP];
    size_t head, count;
} queue = {.lock = PTHREAD_MUTEX_INITIALIZER};

static bool queue_push(const struct block *b) {
    bool ok = false;
    pthread_mutex_lock(&queue.lock);
    if (queue.count < QUEUE_CAP) {
        queue.items[(queue.head + queue.count++) % QUEUE_CAP] = *b;
        ok = true;
    }
    pthread_mutex_unlock(&queue.lock);
    return ok;
}

static bool queue_pop(struct block *b) {
    bool ok = false;
    pthread_mutex_lock(&queue.lock);
    if (queue.count) {
        *b = queue.items[queue.head];
        queue.head = (queue.head + 1) % QUEUE_CAP;
        queue.count--;
        ok = true;
    }
    pthread_mutex_unlock(&queue.lock);
    return ok;
}

/* --- Orphans: blocks left live by threads that exited. -------------------- */

static struct {
    pthread_mutex_t lock;
    struct block *items;
    size_t count, cap;
} orphans = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void orphans_add(const struct block *b, size_t count) {
    pthread_mutex_lock(&orphans.lock);
    if (orphans.count + count > orphans.cap) {
        size_t cap = (orphans.count + count) * 2;
        /* The bookkeeping itself uses the allocator under test too. */
        struct block *items = t_realloc(orphans.items, cap * sizeof(*items));
        REQUIRE(items);
        orphans.items = items;
        orphans.cap = cap;
    }
    for (size_t i = 0; i < count; i++)
        if (b[i].p) orphans.items[orphans.count++] = b[i];
    pthread_mutex_unlock(&orphans.lock);
}

static bool orphans_take(struct block *b) {
    bool ok = false;
    pthread_mutex_lock(&orphans.lock);
    if (orphans.count) {
        *b = orphans.items[--orphans.count];
        ok = true;
    }
    pthread_mutex_unlock(&orphans.lock);
    return ok;
}

/* --- The worker loop shared by the cross and churn phases. ---------------- */

#define SLOTS 400

struct worker { pthread_t thread; uint64_t seed; size_t ops; size_t orphans_to_free; };

static void *worker_main(void *arg) {
    struct worker *w = arg;
    rng_t r = {w->seed};
    struct block *slots = t_calloc(SLOTS, sizeof(*slots));
    REQUIRE(slots);
    struct block b;
    /* Free blocks of threads that have exited (churn rounds). */
    for (size_t i = 0; i < w->orphans_to_free && orphans_take(&b); i++) {
        block_free(&b, "orphan");
        atomic_fetch_add_explicit(&cross_thread_frees, 1, memory_order_relaxed);
    }
    for (size_t op = 0; op < w->ops; op++) {
        struct block *s = &slots[rng_below(&r, SLOTS)];
        if (s->p) {
            size_t k = rng_below(&r, 100);
            if (k < 15 && queue_push(s)) s->p = NULL;
            else if (k < 25) block_realloc(s, &r);
            else block_free(s, "owner free");
        } else {
            block_new(s, &r);
        }
        if (op % 8 == 0 && queue_pop(&b)) {
            block_free(&b, "queue");
            atomic_fetch_add_explicit(&cross_thread_frees, 1, memory_order_relaxed);
        }
    }
    /* Exit with the live blocks left for others. */
    orphans_add(slots, SLOTS);
    t_free(slots);
    return NULL;
}

static void run_workers(int count, size_t ops, size_t orphans_each, uint64_t seed) {
    struct worker *w = t_calloc((size_t)count, sizeof(*w));
    REQUIRE(w);
    for (int i = 0; i < count; i++) {
        w[i].seed = seed * 1000 + (uint64_t)i;
        w[i].ops = ops;
        w[i].orphans_to_free = orphans_each;
        REQUIRE(pthread_create(&w[i].thread, NULL, worker_main, &w[i]) == 0);
    }
    for (int i = 0; i < count; i++) REQUIRE(pthread_join(w[i].thread, NULL) == 0);
    t_free(w);
}

/* --- Pipeline: one producer, one consumer, a lock-free ring. -------------- */

#define RING_CAP 1024
static struct block ring[RING_CAP];
static atomic_size_t ring_head, ring_tail; /* consumer reads head, producer writes tail */

static void *producer_main(void *arg) {
    size_t count = *(size_t *)arg;
    rng_t r = {777};
    for (size_t i = 0; i < count; i++) {
        struct block b;
        if (!block_new(&b, &r)) continue;
        size_t tail = atomic_load_explicit(&ring_tail, memory_order_relaxed);
        while (tail - atomic_load_explicit(&ring_head, memory_order_acquire) == RING_CAP) sched_yield();
        ring[tail % RING_CAP] = b;
        atomic_store_explicit(&ring_tail, tail + 1, memory_order_release);
    }
    /* End of stream: a block with p == NULL. */
    size_t tail = atomic_load_explicit(&ring_tail, memory_order_relaxed);
    while (tail - atomic_load_explicit(&ring_head, memory_order_acquire) == RING_CAP) sched_yield();
    ring[tail % RING_CAP] = (struct block){0};
    atomic_store_explicit(&ring_tail, tail + 1, memory_order_release);
    return NULL;
}

static void *consumer_main(void *arg) {
    size_t *consumed = arg;
    for (;;) {
        size_t head = atomic_load_explicit(&ring_head, memory_order_relaxed);
        while (atomic_load_explicit(&ring_tail, memory_order_acquire) == head) sched_yield();
        struct block b = ring[head % RING_CAP];
        atomic_store_explicit(&ring_head, head + 1, memory_order_release);
        if (!b.p) break;
        block_free(&b, "consumer");
        ++*consumed;
    }
    return NULL;
}

/* --- Heap checker ------------------------------------------------------------ */

/* Live blocks the heap checker sees, or (size_t)-1 if it is not available
 * (another allocator preloaded for a dry run of the test itself). Called
 * when no other thread runs; the trim first takes in the frees that other
 * threads left pending on the pages of their owners (the checker counts
 * those blocks as live until their owner collects them). */
static size_t heap_check(void) {
#ifdef STRESS_PREFIXED
    mapalloc_trim(0);
    return mapalloc_check_heap();
#else
    size_t (*check)(void) = (size_t (*)(void))preload_symbol("mapalloc_check_heap");
    return check ? check() : (size_t)-1;
#endif
}

int main(int argc, char **argv) {
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "-t") == 0) thread_count = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "-n") == 0) ops_per_thread = (size_t)atoll(argv[i + 1]);
        else if (strcmp(argv[i], "-r") == 0) churn_rounds = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "-m") == 0 && strcmp(argv[i + 1], "large") == 0) large_mix = 1;
        else { fprintf(stderr, "usage: stress [-t threads] [-n ops] [-r rounds] [-m large]\n"); return 2; }
    }
    REQUIRE(thread_count >= 1 && ops_per_thread >= 100);
#ifndef STRESS_PREFIXED
    require_mapalloc();
#endif
    size_t base = heap_check();

    /* Phase 1: cross-thread frees. */
    run_workers(thread_count, ops_per_thread, 0, 1);
    size_t live = orphans.count + queue.count;
    size_t seen = heap_check();
    printf("cross: %zu blocks verified, %zu freed by another thread, %zu live\n",
           atomic_load(&verified), atomic_load(&cross_thread_frees), live);
#ifdef STRESS_PREFIXED
    /* The core serves only this program: the checker sees exactly our blocks
     * (plus the orphan array itself). */
    CHECKF(seen == base + live + 1, "heap checker saw %zu live blocks, we hold %zu", seen - base, live + 1);
#else
    (void)base;
    if (seen != (size_t)-1) CHECKF(seen >= live, "heap checker saw %zu live blocks, we hold %zu", seen, live);
#endif

    /* Phase 2: producer/consumer. */
    size_t produce = ops_per_thread, consumed = 0;
    pthread_t producer, consumer;
    REQUIRE(pthread_create(&consumer, NULL, consumer_main, &consumed) == 0);
    REQUIRE(pthread_create(&producer, NULL, producer_main, &produce) == 0);
    REQUIRE(pthread_join(producer, NULL) == 0);
    REQUIRE(pthread_join(consumer, NULL) == 0);
    CHECKF(consumed == produce, "consumer freed %zu of %zu blocks", consumed, produce);
    printf("pipeline: %zu blocks passed from producer to consumer\n", consumed);

    /* Phase 3: thread churn. Each round's threads free their predecessors'
     * orphans, work, and exit leaving blocks behind. */
    size_t round_ops = ops_per_thread / 8 + 100;
    for (int round = 0; round < churn_rounds; round++) {
        size_t share = orphans.count / (size_t)thread_count + 1;
        run_workers(thread_count, round_ops, share, 100 + (uint64_t)round);
    }
    printf("churn: %d rounds of %d threads, %zu orphans left\n", churn_rounds, thread_count, orphans.count);

    /* The main thread frees what is left. */
    struct block b;
    while (orphans_take(&b)) block_free(&b, "main");
    while (queue_pop(&b)) block_free(&b, "main queue");
    t_free(orphans.items);
    orphans.items = NULL;

    seen = heap_check();
#ifdef STRESS_PREFIXED
    CHECKF(seen == base, "heap checker saw %zu live blocks after everything was freed", seen - base);
#endif
    size_t a = atomic_load(&allocated), v = atomic_load(&verified);
    printf("verified %zu blocks (%zu MiB) of %zu allocated, %zu freed by a thread other than the allocating one\n",
           v, atomic_load(&verified_bytes) / MiB, a, atomic_load(&cross_thread_frees));
    CHECKF(a == v, "%zu blocks allocated but %zu verified", a, v);
    CHECKF(atomic_load(&corrupt) == 0, "%zu corrupt blocks", atomic_load(&corrupt));
    CHECK(atomic_load(&cross_thread_frees) > 0);
    return check_failures ? 1 : 0;
}
