/* large.c: blocks above the large threshold. Each is its own mapping
 * [data | guard page]; the table of live large blocks (open addressing, in
 * its own mapping, out of reach of any block) is what makes free and realloc
 * of a large pointer checkable. Freed mappings go to the cache
 * (large_cache.c), which also serves new blocks, gathering them from several
 * cached mappings when none holds one alone. realloc grows by moving pages
 * (mremap) or copies into a cached mapping that holds the new size, and
 * shrinks in place.
 * Invariants: every live block has exactly one table entry; live_bytes is
 * the sum of their map_len.
 * May call: os.h, stats, large_cache.c.
 */
#include "large.h"
#include "options.h"
#include "mapalloc.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

/* The table of live blocks is split in shards by address, each with its own
 * lock, so threads resizing or freeing different blocks do not queue on one
 * mutex (two threads appending to big strings with realloc made 2300 futex
 * calls a second on one lock). large_mutex guards the rest: the fence and
 * the recent frees. Lock order: a shard's lock is never held while taking
 * large_mutex or another shard's lock; large_mutex is never held while
 * taking the cache's. The cache's lock is taken last of all, also under a
 * shard's lock (a table that grows commits memory, and a commit may shrink
 * the cache: cache_commit_grew). */
#define SHARDS 16
typedef struct shard_s {
    pthread_mutex_t lock;
    large_t *table;
    size_t cap, used, tombs;
} shard_t;
#define SHARD_INIT {.lock = PTHREAD_MUTEX_INITIALIZER}
static shard_t shards[SHARDS] = {SHARD_INIT, SHARD_INIT, SHARD_INIT, SHARD_INIT, SHARD_INIT, SHARD_INIT,
                                 SHARD_INIT, SHARD_INIT, SHARD_INIT, SHARD_INIT, SHARD_INIT, SHARD_INIT,
                                 SHARD_INIT, SHARD_INIT, SHARD_INIT, SHARD_INIT};
static_assert(SHARDS == 16, "one SHARD_INIT per shard");

static pthread_mutex_t large_mutex = PTHREAD_MUTEX_INITIALIZER;
static _Atomic(size_t) live_blocks, live_bytes;
/* Secure mode: freed large mappings, PROT_NONE, kept a while before unmapping
 * so that a read or write after free faults instead of reaching new data. */
#define FENCE_SLOTS 16
static cached_t fenced[FENCE_SLOTS];
static size_t fenced_count;
/* The last large pointers freed, to tell a double free from an invalid one. */
#define RECENT_FREES 64
static uintptr_t recent_frees[RECENT_FREES];
static unsigned recent_next;

static size_t page_round(size_t n) { return (n + OS_PAGE - 1) & ~(size_t)(OS_PAGE - 1); }

static size_t hash_ptr(uintptr_t p) { return (size_t)((p >> 12) * UINT64_C(0x9E3779B97F4A7C15) >> 20); }

/* The shard of p, locked. */
static shard_t *shard_lock(uintptr_t p) {
    shard_t *sh = &shards[(hash_ptr(p) >> 36) & (SHARDS - 1)];
    pthread_mutex_lock(&sh->lock);
    return sh;
}

static void shard_unlock(shard_t *sh) { pthread_mutex_unlock(&sh->lock); }

static large_t *table_find(shard_t *sh, uintptr_t p) {
    if (!sh->table) return NULL;
    size_t m = sh->cap - 1;
    for (size_t i = hash_ptr(p) & m;; i = (i + 1) & m) {
        if (sh->table[i].ptr == p) return &sh->table[i];
        if (sh->table[i].ptr == 0) return NULL;
    }
}

static bool table_grow(shard_t *sh) {
    size_t ncap = sh->cap ? sh->cap * 2 : 64;
    large_t *nt = os_map(NULL, ncap * sizeof(large_t), OS_REASON_META);
    if (!nt) return false;
    for (size_t i = 0; i < sh->cap; i++) {
        if (sh->table[i].ptr <= 1) continue;
        size_t j = hash_ptr(sh->table[i].ptr) & (ncap - 1);
        while (nt[j].ptr) j = (j + 1) & (ncap - 1);
        nt[j] = sh->table[i];
    }
    if (sh->table) {
        os_unmap(sh->table, sh->cap * sizeof(large_t), OS_REASON_META);
        stat_commit(-(ptrdiff_t)(sh->cap * sizeof(large_t)));
    }
    stat_commit((ptrdiff_t)(ncap * sizeof(large_t)));
    sh->table = nt;
    sh->cap = ncap;
    sh->tombs = 0;
    return true;
}

static bool table_insert(shard_t *sh, const large_t *e) {
    if ((sh->used + sh->tombs + 1) * 4 >= sh->cap * 3 && !table_grow(sh)) return false;
    size_t m = sh->cap - 1, i = hash_ptr(e->ptr) & m;
    while (sh->table[i].ptr > 1) i = (i + 1) & m;
    if (sh->table[i].ptr == 1) sh->tombs--;
    sh->table[i] = *e;
    sh->used++;
    return true;
}

static bool table_put(const large_t *e) {
    shard_t *sh = shard_lock(e->ptr);
    bool ok = table_insert(sh, e);
    shard_unlock(sh);
    return ok;
}

/* Put back a block that realloc took out of the table (as nw, was cur). */
static void table_put_back(const large_t *nw, const large_t *cur) {
    if (!table_put(nw)) fatal_msg("large block table insert failed", (void *)nw->ptr);
    atomic_fetch_add_explicit(&live_bytes, nw->map_len - cur->map_len, memory_order_relaxed);
}

/* Record a new live block (false: no memory for the table). */
static bool live_insert(const large_t *e) {
    bool ok = table_put(e);
    if (ok) {
        atomic_fetch_add_explicit(&live_blocks, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&live_bytes, e->map_len, memory_order_relaxed);
    }
    return ok;
}

/* Visit every live block, shard by shard under its lock, until visit returns
 * true (then true). */
static bool table_scan(bool (*visit)(const large_t *e, void *arg), void *arg) {
    for (unsigned s = 0; s < SHARDS; s++) {
        shard_t *sh = &shards[s];
        bool stop = false;
        pthread_mutex_lock(&sh->lock);
        for (size_t i = 0; i < sh->cap && !stop; i++)
            stop = sh->table[i].ptr > 1 && visit(&sh->table[i], arg);
        pthread_mutex_unlock(&sh->lock);
        if (stop) return true;
    }
    return false;
}

static void table_remove(shard_t *sh, large_t *e) {
    e->ptr = 1;
    sh->used--;
    sh->tombs++;
}

/* Before the kernel hands out fresh pages for a large block, the calling
 * thread gives its heap's free but resident slices back: they cannot hold a
 * large block, and the process would otherwise grow by the new block while
 * holding them (sqlite3 building an index: peak RSS 45.8 MiB, 41.1 with the
 * slices purged at once; glibc 40). Costs nothing when there are none, and
 * a large block's own page faults dwarf the madvise calls when there are. */
static void purge_idle_slices(void) {
    heap_t *h = tls_heap;
    if (h != &empty_heap) region_purge(h, true);
}

static void fenced_expire(bool all) {
    uint64_t now = os_clock_ms();
    for (size_t i = 0; i < fenced_count;) {
        if (all || fenced_count == FENCE_SLOTS || now - fenced[i].since_ms >= opt_large_cache_ms + 1000) {
            unmap_kept(&fenced[i]);
            fenced[i] = fenced[--fenced_count];
        } else {
            i++;
        }
    }
}

/* Secure mode: canary bytes from the request's end to the data's end (a
 * request that ends on a page boundary has the guard page instead). */
static uint8_t large_canary_byte(uintptr_t ptr, size_t i) {
    return (uint8_t)((process_secret[3] ^ (ptr >> 12)) >> ((i & 7) * 8)) | 1;
}

static void large_canary_fill(const large_t *e) {
    uint8_t *q = (uint8_t *)e->ptr;
    for (size_t i = e->req; i < e->data_len; i++) q[i] = large_canary_byte(e->ptr, i);
}

static void large_canary_check(const large_t *e) {
    const uint8_t *q = (const uint8_t *)e->ptr;
    for (size_t i = e->req; i < e->data_len; i++)
        if (q[i] != large_canary_byte(e->ptr, i)) fatal_bug(BUG_CANARY, q + i, -1, e->data_len);
}

/* A realloc to n that stays in the block: the canary byte at i depends only
 * on the block and i, so only the bytes between the old and the new request
 * change role. Growing, they must still be canary (an overflow of the old
 * request); shrinking, they become canary. Cost: the difference, not the
 * block (a string builder reallocs a big buffer thousands of times). */
static void large_canary_move(large_t *e, size_t n) {
    uint8_t *q = (uint8_t *)e->ptr;
    for (size_t i = e->req; i < n; i++)
        if (q[i] != large_canary_byte(e->ptr, i)) fatal_bug(BUG_CANARY, q + i, -1, e->data_len);
    for (size_t i = n; i < e->req; i++) q[i] = large_canary_byte(e->ptr, i);
    e->req = n;
}

size_t large_requested_size(const void *p) {
    shard_t *sh = shard_lock((uintptr_t)p);
    large_t *e = table_find(sh, (uintptr_t)p);
    size_t r = e ? e->req : 0;
    shard_unlock(sh);
    return r;
}

/* Set by userheap.c (under the heap's lock) while it allocates for a
 * first-class heap: large blocks made meanwhile belong to that heap. */
__thread uint16_t large_owner_tag __attribute__((tls_model("initial-exec")));

void *large_alloc(size_t n, size_t align, enum large_fill fill) {
    bool zero = fill != LARGE_ASIS;
    process_init(); /* the secret (secure-mode canaries) before a program's first, large, block */
    size_t req = n;
    if (n == 0) n = 1; /* aligned_alloc(big, 0): a real, unique block */
    uint16_t owner = large_owner_tag;
    if (align < OS_PAGE) align = OS_PAGE;
    size_t data_len = page_round(n);
    if (data_len < n || data_len > ((size_t)1 << 46)) { errno = ENOMEM; return NULL; }
    size_t map_len = data_len + guard_len();
    large_t e = {0};
    if (cache_take(data_len, align, true, &e)) {
        e.req = req;
        e.owner = owner;
        cached_fit(&e, data_len);
        if (!live_insert(&e)) { unmap_kept(&(cached_t){.map = e.map, .map_len = e.map_len, .cuts = e.cuts}); errno = ENOMEM; return NULL; }
        if (zero) memset((void *)e.ptr, 0, n);
        return (void *)e.ptr;
    }

    /* With the hugetlb option, blocks of 2 MiB and more ask for MAP_HUGETLB
     * data: 2 MiB aligned, a multiple of 2 MiB, the guard a normal page after
     * it. A refusal gives normal pages (and the length asked for). */
    bool hugetlb = opt_hugetlb && !opt_secure && data_len >= HUGE_PAGE && os_hugetlb_ask();
    size_t small_len = data_len;
    if (hugetlb) {
        data_len = (data_len + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
        map_len = data_len + guard_len();
        if (align < HUGE_PAGE) align = HUGE_PAGE;
    }
    /* Blocks of several huge pages, with large_thp: 2 MiB aligned and
     * advised for transparent huge pages, so the kernel faults them in 2 MiB
     * at a time (off by default: see the option). */
    if (!stat_commit_allowed(map_len)) { mapalloc_trim(0); if (!stat_commit_allowed(map_len)) { errno = ENOMEM; return NULL; } }
    purge_idle_slices();
    bool huge = data_len >= HUGE_LARGE_MIN && LOAD_RELAXED(opt_large_thp);
    if (huge && align < HUGE_PAGE) align = HUGE_PAGE;
    void *m = align > OS_PAGE ? os_map_aligned(map_len, align, NULL, OS_REASON_LARGE)
                              : os_map(NULL, map_len, OS_REASON_LARGE);
    if (!m) {
        /* Out of address space or memory (ulimit -v, overcommit): give back
         * every free page, empty region and cached mapping, then try again. */
        mapalloc_trim(0);
        m = align > OS_PAGE ? os_map_aligned(map_len, align, NULL, OS_REASON_LARGE)
                            : os_map(NULL, map_len, OS_REASON_LARGE);
        if (!m) { errno = ENOMEM; return NULL; }
    }
    if (hugetlb && !os_hugetlb_place(m, data_len, OS_REASON_LARGE)) {
        hugetlb = false;
        size_t cut = data_len - small_len;
        if (cut) os_unmap((uint8_t *)m + small_len + guard_len(), cut, OS_REASON_LARGE);
        data_len = small_len;
        map_len = data_len + guard_len();
    }
    /* Resident pages of cached mappings first (not into hugetlb pages). */
    size_t gathered = hugetlb ? 0 : cache_gather(m, data_len, &e.cuts, 0);
    /* The whole data range: advising part of it would split the data into two
     * mappings, which mremap (realloc) cannot move as one. */
    if (huge && !hugetlb) os_hugepage_advise(m, data_len);
    if (!os_protect((uint8_t *)m + data_len, guard_len(), OS_PROT_NONE, OS_REASON_GUARD)) {
        /* Out of mappings (vm.max_map_count): serve without the guard. */
    }
    e.ptr = e.map = (uintptr_t)m;
    e.map_len = map_len;
    e.data_len = data_len;
    e.req = req;
    e.owner = owner;
    e.hugetlb = hugetlb;
    bool ok = live_insert(&e);
    if (!ok) {
        os_unmap(m, map_len, OS_REASON_LARGE);
        cuts_truncate(&e.cuts, 0);
        errno = ENOMEM;
        return NULL;
    }
    stat_commit((ptrdiff_t)map_len);
    atomic_fetch_add(&stat_reserved, map_len);
    if (opt_secure) large_canary_fill(&e);
    if (zero) memset(m, 0, gathered); /* the rest is fresh anonymous memory: zero */
    /* Fresh pages read before they are written fault twice: the read maps
     * the shared zero page, the write copies it. Hash tables do that (xz:
     * two 8 MiB callocs, 4200 of its 12000 faults). Up to calloc_populate,
     * fault them in for writing at once; larger blocks, which may be sparse
     * arrays, stay lazy. */
    size_t fresh = data_len - gathered;
    if (fill == LARGE_CALLOC && !hugetlb && fresh && data_len <= LOAD_RELAXED(opt_calloc_populate))
        (void)os_populate_write((uint8_t *)m + gathered, fresh, OS_REASON_LARGE);
    return m;
}

bool large_free(void *p) {
    shard_t *sh = shard_lock((uintptr_t)p);
    large_t *e = table_find(sh, (uintptr_t)p);
    if (!e) { shard_unlock(sh); return false; }
    large_t copy = *e;
    table_remove(sh, e);
    shard_unlock(sh);
    atomic_fetch_sub_explicit(&live_blocks, 1, memory_order_relaxed);
    atomic_fetch_sub_explicit(&live_bytes, copy.map_len, memory_order_relaxed);
    pthread_mutex_lock(&large_mutex);
    recent_frees[recent_next++ % RECENT_FREES] = copy.ptr;
    if (opt_secure) {
        large_canary_check(&copy);
        fenced_expire(false);
        (void)os_protect((void *)copy.ptr, copy.data_len, OS_PROT_NONE, OS_REASON_GUARD);
        fenced[fenced_count++] = (cached_t){copy.map, copy.map_len, copy.data_len, os_clock_ms(), copy.cuts};
        pthread_mutex_unlock(&large_mutex);
        return true;
    }
    pthread_mutex_unlock(&large_mutex);
    cache_or_unmap(&copy);
    return true;
}

static bool block_holds(const large_t *e, void *arg) {
    uintptr_t a = (uintptr_t)arg;
    return a > e->ptr && a < e->ptr + e->data_len;
}

bool large_contains(const void *p) { return table_scan(block_holds, (void *)p); }

bool large_recently_freed(const void *p) {
    pthread_mutex_lock(&large_mutex);
    bool found = false;
    for (unsigned i = 0; i < RECENT_FREES; i++) found |= recent_frees[i] == (uintptr_t)p;
    pthread_mutex_unlock(&large_mutex);
    if (found) {
        shard_t *sh = shard_lock((uintptr_t)p);
        if (table_find(sh, (uintptr_t)p)) found = false; /* reused since */
        shard_unlock(sh);
    }
    return found;
}

size_t large_usable_size(const void *p) {
    shard_t *sh = shard_lock((uintptr_t)p);
    large_t *e = table_find(sh, (uintptr_t)p);
    size_t r = e ? (opt_secure ? e->req : e->data_len) : NOT_SMALL; /* secure: the rest is canary */
    shard_unlock(sh);
    return r;
}

/* Resize the large block at p to hold n bytes: keep it while it fits, shrink
 * in place, grow into a cached mapping (copy) or by moving its pages
 * (mremap). NULL (p intact, *old_usable set) when n is small or the kernel
 * refuses: the caller copies. */
void *large_realloc(void *p, size_t n, size_t *old_usable) {
    size_t want = page_round(n);
    shard_t *sh = shard_lock((uintptr_t)p);
    large_t *e = table_find(sh, (uintptr_t)p);
    if (!e) { shard_unlock(sh); fatal_bug(BUG_INVALID_REALLOC, p, -1, 0); }
    *old_usable = opt_secure ? e->req : e->data_len;
    if (n <= opt_large_threshold || want < n) {
        /* To a small block, or a size no mapping has: the caller's malloc
         * and copy decide. */
        shard_unlock(sh);
        return NULL;
    }
    if (e->hugetlb) {
        /* 2 MiB pages cannot be grown by mremap nor cut at a 4 KiB guard:
         * keep the block if it shrinks by less than half, else NULL (the
         * caller copies into a new block and frees this one). */
        bool keep = want <= e->data_len && want >= e->data_len / 2;
        if (keep) e->req = n;
        shard_unlock(sh);
        return keep ? p : NULL;
    }
    if (want <= e->data_len && (want >= e->data_len / 2 || e->ptr != e->map)) {
        /* Still fits and not worth shrinking: one lookup, no system call (a
         * string builder appending to a big buffer comes here every time). */
        if (opt_secure) large_canary_move(e, n);
        else e->req = n;
        shard_unlock(sh);
        return p;
    }
    large_t cur = *e;
    table_remove(sh, e);
    shard_unlock(sh);
    if (opt_secure) large_canary_check(&cur);

    large_t nw = cur;
    nw.req = n;
    if (want <= cur.data_len) {
        if (want >= cur.data_len / 2 || (cur.ptr != cur.map)) {
            /* keep the mapping: shrinking by less than half is not worth two calls */
        } else if (os_protect((uint8_t *)cur.ptr + want, guard_len(), OS_PROT_NONE, OS_REASON_GUARD)) {
            size_t cut = cur.data_len - want;
            os_unmap((uint8_t *)cur.ptr + want + guard_len(), cut, OS_REASON_LARGE);
            cuts_truncate(&nw.cuts, want);
            nw.data_len = want;
            nw.map_len = want + guard_len();
        }
    } else {
        /* Grow with headroom so a growing buffer does not remap every step:
         * double up to 16 MiB, then a quarter more. Headroom costs address
         * space only: its pages are not touched until the buffer reaches them. */
        size_t grow = want;
        size_t headroom = cur.data_len < ((size_t)16 << 20) ? cur.data_len : cur.data_len / 4;
        if (grow < cur.data_len + headroom) grow = page_round(cur.data_len + headroom);
        size_t new_map = grow + guard_len();
        /* A cached mapping that holds the new size: copy into it. Its pages
         * are resident, where mremap's grown part would be fresh pages to
         * fault in and clear (and three system calls); the old mapping takes
         * its place in the cache. Not in secure mode (no cache there). */
        large_t reuse;
        if (!opt_secure && cache_take(grow, OS_PAGE, false, &reuse)) {
            cached_fit(&reuse, grow); /* a much bigger one gives its tail back to the cache */
            memcpy((void *)reuse.ptr, (const void *)cur.ptr, cur.data_len);
            nw.ptr = nw.map = reuse.map;
            nw.map_len = reuse.map_len;
            nw.data_len = reuse.data_len;
            nw.cuts = reuse.cuts;
            table_put_back(&nw, &cur);
            cache_or_unmap(&cur);
            return (void *)nw.ptr;
        }
        /* Else mremap the data (one mapping; the guard is its own) to the
         * new size plus a page, or move its pieces to a range that size (page
         * tables move, no byte is copied); fill the grown part from the
         * cache; close the new last page as the guard and drop the old one. */
        purge_idle_slices();
        uint8_t *nd = data_grow(&nw, new_map);
        if (!nd) goto fail;
        if (grow >= HUGE_LARGE_MIN && (cur.data_len < HUGE_LARGE_MIN || cur.cuts.n) && LOAD_RELAXED(opt_large_thp))
            os_hugepage_advise(nd, grow);
        if (!opt_secure) cache_gather(nd + cur.data_len, grow - cur.data_len, &nw.cuts, cur.data_len);
        if (!os_protect(nd + grow, guard_len(), OS_PROT_NONE, OS_REASON_GUARD)) {
            /* No mapping left for a guard split: keep the page as data. */
        }
        os_unmap((uint8_t *)cur.ptr + cur.data_len, guard_len(), OS_REASON_GUARD);
        nw.ptr = nw.map = (uintptr_t)nd;
        nw.data_len = grow;
        nw.map_len = new_map;
    }
    atomic_fetch_add(&stat_reserved, nw.map_len);
    atomic_fetch_sub(&stat_reserved, cur.map_len);
    stat_commit((ptrdiff_t)nw.map_len - (ptrdiff_t)cur.map_len);
    table_put_back(&nw, &cur);
    if (opt_secure) large_canary_fill(&nw); /* the canary follows the new request */
    return (void *)nw.ptr;
fail:
    table_put_back(&cur, &cur);
    errno = ENOMEM;
    return NULL;
}

struct owned_s {
    uint16_t owner;
    uintptr_t found;
};

static bool block_owned(const large_t *e, void *arg) {
    struct owned_s *o = arg;
    if (e->owner != o->owner) return false;
    o->found = e->ptr;
    return true;
}

/* Free every large block of a first-class heap (heap destroy). */
void large_free_owned(uint16_t owner) {
    struct owned_s o = {.owner = owner};
    while (table_scan(block_owned, &o)) large_free((void *)o.found);
}

struct walk_s {
    uint16_t owner;
    size_t n;
    int (*visit)(void *, size_t, void *);
    void *arg;
};

static bool block_walked(const large_t *e, void *arg) {
    struct walk_s *w = arg;
    if (e->owner != w->owner) return false;
    w->n++;
    return w->visit && w->visit((void *)e->ptr, opt_secure ? e->req : e->data_len, w->arg) != 0;
}

/* Visit every live large block of owner (0: blocks of no first-class heap). */
size_t large_walk(uint16_t owner, int (*visit)(void *, size_t, void *), void *arg) {
    struct walk_s w = {.owner = owner, .visit = visit, .arg = arg};
    table_scan(block_walked, &w);
    return w.n;
}

void large_expire_cache(void) {
    cache_expire_old();
    pthread_mutex_lock(&large_mutex);
    fenced_expire(false);
    pthread_mutex_unlock(&large_mutex);
}

size_t large_trim(void) {
    size_t b = cache_trim();
    pthread_mutex_lock(&large_mutex);
    fenced_expire(true);
    pthread_mutex_unlock(&large_mutex);
    return b;
}

static bool entry_checked(const large_t *e, void *arg) {
    (void)arg;
    check_mapping(&e->cuts, e->map_len, e->data_len, e->ptr);
    return false;
}

/* mapalloc_check_heap's part: every live block's and cached mapping's
 * shape, and the cache's byte count (the sum of its mappings). */
void large_check(void) {
    table_scan(entry_checked, NULL);
    cache_check();
}

void large_stats(size_t *blocks, size_t *bytes, size_t *cached) {
    *blocks = atomic_load_explicit(&live_blocks, memory_order_relaxed);
    *bytes = atomic_load_explicit(&live_bytes, memory_order_relaxed);
    *cached = cache_held();
}

/* The cache's lock last: it is taken under a shard's lock (a table that
 * grows commits memory, and a commit may shrink the cache). */
void large_fork_prepare(void) {
    pthread_mutex_lock(&large_mutex);
    for (unsigned s = 0; s < SHARDS; s++) pthread_mutex_lock(&shards[s].lock);
    cache_fork_prepare();
}
void large_fork_parent(void) {
    cache_fork_parent();
    for (unsigned s = 0; s < SHARDS; s++) pthread_mutex_unlock(&shards[s].lock);
    pthread_mutex_unlock(&large_mutex);
}
void large_fork_child(void) {
    pthread_mutex_init(&large_mutex, NULL);
    cache_fork_child();
    for (unsigned s = 0; s < SHARDS; s++) pthread_mutex_init(&shards[s].lock, NULL);
}
