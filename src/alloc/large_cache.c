/* large_cache.c: where large blocks' pages come from and go. Freed
 * mappings are kept in a small cache for opt_large_cache_ms so that a
 * program cycling big buffers does not pay two system calls and the page
 * faults each time. A block that no single cached mapping holds is gathered:
 * the resident pages of several cached mappings are moved into it with
 * mremap (cache_gather), so that the cache serves any request its bytes add
 * up to. Moved pages stay kernel mappings of their own, so a block records
 * its cuts and moves piece by piece (data_grow).
 * Invariants: cached mappings are in no table entry of large.c;
 * cache_bytes = sum of cached map_len; committed memory stays within the
 * recent peak of memory in use when cache_bytes > 0 (cache_commit_grew);
 * a block's or cached mapping's data is one kernel mapping between each two
 * of its cuts (and its ends), so moving it piece by piece never spans two;
 * cuts_total = the cuts of all blocks and cached mappings, and of those
 * being moved.
 * May call: os.h, stats.
 */
#include "large.h"
#include "options.h"

#include <pthread.h>
#include <string.h>

/* Cuts of all blocks and cached mappings: each is one kernel mapping more
 * than the blocks would have whole. cache_gather adds none beyond
 * CUTS_BUDGET, so that a program with many large blocks keeps most of
 * vm.max_map_count (65530 by default) for mappings of its own. */
#define CUTS_BUDGET 4096
#define CUTS_SPAN ((size_t)UINT32_MAX * OS_PAGE) /* data a cut offset can reach */
static _Atomic(size_t) cuts_total;

#define CACHE_SLOTS 64
/* cache_mutex guards the cache; never held while taking another lock (nor
 * while committing memory), so any code may take it last. */
static pthread_mutex_t cache_mutex = PTHREAD_MUTEX_INITIALIZER;
static cached_t cache[CACHE_SLOTS];
static size_t cache_count;
static _Atomic size_t cache_bytes; /* written under cache_mutex; cache_commit_grew reads it without */

/* The cache gives way to memory in use. In use is what mapalloc has
 * committed outside this cache: pages, metadata, live large blocks, and a
 * block being freed. Its peak over the last opt_large_cache_ms bounds the
 * whole footprint: committed memory (in use plus cached) stays at or below
 * it, so caching never raises a program's peak RSS (up to the page rounding
 * of the statistics). The cache is filled as a program frees, up to what it
 * had in use a moment ago, and emptied (oldest first) as soon as memory in
 * use grows into that room: by cache_put when a block comes in, by
 * cache_commit_grew when anything else is committed.
 * - bigrealloc cycles big buffers: they are reused resident instead of
 *   faulting in and clearing fresh pages (clear_page was 37% of its CPU
 *   time when the cache held an eighth of the live bytes).
 * - sqlite frees a 9 MiB sort buffer, then grows its page cache: the buffer
 *   goes back to the kernel as the page cache grows.
 * - A program that frees most of its memory and allocates again finds it
 *   cached; one that stops allocating gets it back when it expires.
 * The limit before, the larger of twice the live large bytes and their
 * recent peak, let the footprint reach three times the live bytes
 * (bigrealloc: peak RSS 273 MiB, analysis.md). peak_in_use is read and
 * written without a lock: a lost update only makes the bound approximate. */
static _Atomic size_t peak_in_use;
static _Atomic uint64_t peak_in_use_ms;

/* Note in_use bytes in use now; returns the recent peak. */
static size_t peak_note(size_t in_use, uint64_t now) {
    size_t peak = atomic_load_explicit(&peak_in_use, memory_order_relaxed);
    if (in_use >= peak || now - atomic_load_explicit(&peak_in_use_ms, memory_order_relaxed) >= opt_large_cache_ms) {
        atomic_store_explicit(&peak_in_use, in_use, memory_order_relaxed);
        atomic_store_explicit(&peak_in_use_ms, now, memory_order_relaxed);
        return in_use;
    }
    return peak;
}

/* The most bytes the cache may hold once a mapping of adding bytes, counted
 * in use until now, is in it; note: the mapping was just freed, so memory
 * in use is at a peak. Called with cache_mutex held. */
static size_t cache_limit(size_t adding, bool note) {
    size_t in_use = atomic_load_explicit(&stat_committed, memory_order_relaxed) - cache_bytes;
    size_t peak = note ? peak_note(in_use, os_clock_ms()) : atomic_load_explicit(&peak_in_use, memory_order_relaxed);
    if (peak + adding <= in_use) return 0;
    size_t limit = peak + adding - in_use;
    return limit < opt_large_cache_bytes ? limit : opt_large_cache_bytes;
}

void unmap_kept(const cached_t *c) {
    os_unmap((void *)c->map, c->map_len, OS_REASON_LARGE);
    atomic_fetch_sub_explicit(&cuts_total, c->cuts.n, memory_order_relaxed);
    stat_commit(-(ptrdiff_t)c->map_len);
    atomic_fetch_sub(&stat_reserved, c->map_len);
}

/* Mappings taken out of the cache under cache_mutex, unmapped after it is
 * released: a munmap of a populated mapping takes as long as freeing its
 * pages, and another thread's malloc must not wait for that. */
typedef struct victims_s {
    cached_t v[CACHE_SLOTS + 1];
    size_t n;
} victims_t;

/* Take entry i out of the cache (the last entry fills its slot). Called
 * with cache_mutex held. */
static cached_t cache_remove(size_t i) {
    cached_t c = cache[i];
    cache_bytes -= c.map_len;
    cache[i] = cache[--cache_count];
    return c;
}

/* The entry cached longest (cache_count > 0). Called with cache_mutex held. */
static size_t cache_oldest(void) {
    size_t oldest = 0;
    for (size_t i = 1; i < cache_count; i++)
        if (cache[i].since_ms < cache[oldest].since_ms) oldest = i;
    return oldest;
}

static void cache_evict(size_t i, victims_t *out) { out->v[out->n++] = cache_remove(i); }

static void victims_unmap(const victims_t *out) {
    for (size_t i = 0; i < out->n; i++) unmap_kept(&out->v[i]);
}

static void cache_expire(bool all, victims_t *out) {
    uint64_t now = os_clock_ms();
    for (size_t i = 0; i < cache_count;) {
        if (all || now - cache[i].since_ms >= opt_large_cache_ms) cache_evict(i, out);
        else i++;
    }
}

/* Add c to the cache. Called with cache_mutex held, with a free slot. */
static void cache_append(const cached_t *c) {
    cache[cache_count++] = *c;
    cache_bytes += c->map_len;
}

/* Keep a freed mapping for reuse if the cache has room for it (evicting the
 * oldest ones into out as needed). Called with cache_mutex held. */
static bool cache_put(const large_t *e, victims_t *out) {
    size_t limit = cache_limit(e->map_len, true);
    if (e->map_len > limit || opt_large_cache_ms == 0 || e->hugetlb) return false;
    while (cache_count && (cache_count == CACHE_SLOTS || cache_bytes + e->map_len > limit))
        cache_evict(cache_oldest(), out);
    if (cache_bytes + e->map_len > limit) return false;
    cache_append(&(cached_t){e->map, e->map_len, e->data_len, os_clock_ms(), e->cuts});
    return true;
}

/* Evictions are unmapped after cache_mutex is released. */
void cache_or_unmap(const large_t *e) {
    victims_t old = {.n = 0};
    pthread_mutex_lock(&cache_mutex);
    bool kept = cache_put(e, &old);
    pthread_mutex_unlock(&cache_mutex);
    victims_unmap(&old);
    if (!kept) unmap_kept(&(cached_t){.map = e->map, .map_len = e->map_len, .cuts = e->cuts});
}

/* Put a mapping back into the cache (no eviction), or unmap it. */
static void cache_put_back(const cached_t *c) {
    pthread_mutex_lock(&cache_mutex);
    bool kept = cache_count < CACHE_SLOTS && cache_bytes + c->map_len <= cache_limit(c->map_len, false);
    if (kept) cache_append(c);
    pthread_mutex_unlock(&cache_mutex);
    if (!kept) unmap_kept(c);
}

/* Give the last cut bytes of c's data (a page multiple below data_len)
 * back to the kernel; a new guard page closes what is left. False: the
 * kernel refused the guard (out of mappings), c is unchanged. */
static bool cached_shrink(cached_t *c, size_t cut) {
    size_t keep = c->data_len - cut;
    if (!os_protect((uint8_t *)c->map + keep, guard_len(), OS_PROT_NONE, OS_REASON_GUARD)) return false;
    os_unmap((uint8_t *)c->map + keep + guard_len(), cut, OS_REASON_LARGE); /* the old guard included */
    cuts_truncate(&c->cuts, keep);
    stat_commit(-(ptrdiff_t)cut);
    atomic_fetch_sub(&stat_reserved, cut);
    c->data_len = keep;
    c->map_len = keep + guard_len();
    return true;
}

/* Committed memory grew to committed (stat_commit, any thread, any lock but
 * cache_mutex held): note the memory in use, and while in use plus cached
 * passes its recent peak, take the oldest cached mapping out, shrink it by
 * the excess (whole, if that is most of it) and put the rest back, the
 * system calls made without cache_mutex. A shrink is rounded up to
 * SHRINK_STEP: a program growing its small pages into the room of a cached
 * mapping costs two system calls per 256 KiB it grows, not per slice. */
#define SHRINK_STEP ((size_t)256 << 10)
void cache_commit_grew(size_t committed) {
    size_t cached = atomic_load_explicit(&cache_bytes, memory_order_relaxed);
    if (committed < cached) return; /* a racing update: the next commit looks again */
    size_t peak = peak_note(committed - cached, os_clock_ms());
    while (cached && committed > peak) {
        cached_t c;
        bool got = false;
        pthread_mutex_lock(&cache_mutex);
        if (cache_count) {
            c = cache_remove(cache_oldest());
            got = true;
        }
        pthread_mutex_unlock(&cache_mutex);
        if (!got) return;
        size_t cut = (committed - peak + SHRINK_STEP - 1) & ~(SHRINK_STEP - 1);
        if (cut + SHRINK_STEP <= c.data_len && cached_shrink(&c, cut)) cache_put_back(&c);
        else unmap_kept(&c);
        committed = atomic_load_explicit(&stat_committed, memory_order_relaxed);
        cached = atomic_load_explicit(&cache_bytes, memory_order_relaxed);
    }
}

/* Reuse saves the page faults of fresh memory. */
bool cache_take(size_t data_len, size_t align, bool expire, large_t *out) {
    victims_t old = {.n = 0};
    pthread_mutex_lock(&cache_mutex);
    if (expire) cache_expire(false, &old);
    int fit = -1;
    for (size_t i = 0; i < cache_count; i++) {
        size_t d = cache[i].data_len;
        if (cache[i].map & (align - 1)) continue;
        if (d >= data_len && (fit < 0 || d < cache[fit].data_len)) fit = (int)i;
    }
    if (fit >= 0) {
        cached_t c = cache_remove((size_t)fit);
        out->map = out->ptr = c.map;
        out->map_len = c.map_len;
        out->data_len = c.data_len;
        out->cuts = c.cuts;
    }
    pthread_mutex_unlock(&cache_mutex);
    victims_unmap(&old);
    return fit >= 0;
}

void cuts_truncate(cuts_t *c, size_t data_len) {
    unsigned n = c->n;
    while (c->n && (size_t)c->at[c->n - 1] * OS_PAGE >= data_len) c->n--;
    atomic_fetch_sub_explicit(&cuts_total, n - c->n, memory_order_relaxed);
}

/* Split data cut as *c: the head keeps its first head_len bytes, the tail
 * (returned) is the data from byte offset tail_from on, its cuts counted
 * from there (head_len <= tail_from; what lies between is a guard page or
 * was moved away). */
static cuts_t cuts_split(cuts_t *c, size_t head_len, size_t tail_from) {
    cuts_t t = {.n = 0};
    for (unsigned i = 0; i < c->n; i++)
        if ((size_t)c->at[i] * OS_PAGE > tail_from) t.at[t.n++] = (uint32_t)(c->at[i] - tail_from / OS_PAGE);
    atomic_fetch_add_explicit(&cuts_total, t.n, memory_order_relaxed);
    cuts_truncate(c, head_len);
    return t;
}

/* Record that a new mapping starts at byte offset at (not before the last
 * cut, below CUTS_SPAN). Callers make room first: a boundary left out would
 * make a later move span two mappings. */
static void cuts_add(cuts_t *c, size_t at) {
    if (c->n && c->at[c->n - 1] == at / OS_PAGE) return;
    if (c->n == MAX_CUTS || at >= CUTS_SPAN) fatal_msg("large block cut list full", (void *)at);
    c->at[c->n++] = (uint32_t)(at / OS_PAGE);
    atomic_fetch_add_explicit(&cuts_total, 1, memory_order_relaxed);
}

/* Move the first len bytes of the data at src, cut as c says, to dst, a
 * range of ours: one mremap per mapping. A piece the kernel refuses to move
 * (out of mappings, vm.max_map_count) is copied and unmapped instead, so the
 * data always arrives whole and no byte of [src, src + len) stays mapped. */
static void move_pieces(uintptr_t src, const cuts_t *c, size_t len, uint8_t *dst) {
    size_t a = 0;
    for (unsigned i = 0; i <= c->n && a < len; i++) {
        size_t b = i < c->n ? (size_t)c->at[i] * OS_PAGE : len;
        if (b > len) b = len;
        if (!os_remap_move((void *)(src + a), b - a, dst + a, b - a, OS_REASON_LARGE)) {
            memcpy(dst + a, (const void *)(src + a), b - a);
            os_unmap((void *)(src + a), b - a, OS_REASON_LARGE);
        }
        a = b;
    }
}

/* Fill [dst, dst + len), part of a fresh mapping of ours at byte offset base
 * of a block's data cut as *cuts, from its start with the resident pages of
 * cached mappings, largest first: their data moves (page tables, not bytes)
 * and what is left of the last one stays cached. The block's cuts get one
 * for each mapping moved in and one where the fresh part resumes. Returns
 * the bytes filled: fresh pages the kernel need not fault in and clear
 * (bench/bigrealloc: 2.0 GB of fresh memory a run without, 0.3 with). */
#define GATHER_MAX 8
size_t cache_gather(uint8_t *dst, size_t len, cuts_t *cuts, size_t base) {
    cached_t took[GATHER_MAX];
    size_t n = 0, sum = 0;
    size_t total = atomic_load_explicit(&cuts_total, memory_order_relaxed);
    unsigned room = MAX_CUTS - cuts->n; /* one kept back for the end */
    if (total >= CUTS_BUDGET || base + len > CUTS_SPAN) return 0;
    if (CUTS_BUDGET - total < room) room = (unsigned)(CUTS_BUDGET - total);
    pthread_mutex_lock(&cache_mutex);
    while (sum < len && n < GATHER_MAX) {
        int best = -1;
        for (size_t i = 0; i < cache_count; i++)
            if (cache[i].cuts.n + 2u <= room && (best < 0 || cache[i].data_len > cache[best].data_len)) best = (int)i;
        if (best < 0) break;
        room -= cache[best].cuts.n + 1u;
        sum += cache[best].data_len;
        took[n++] = cache_remove((size_t)best);
    }
    pthread_mutex_unlock(&cache_mutex);
    size_t filled = 0;
    for (size_t i = 0; i < n; i++) {
        cached_t *t = &took[i];
        size_t k = t->data_len < len - filled ? t->data_len : len - filled;
        if (k == 0) { cache_put_back(t); continue; }
        if (base + filled) cuts_add(cuts, base + filled);
        move_pieces(t->map, &t->cuts, k, dst + filled);
        for (unsigned j = 0; j < t->cuts.n && (size_t)t->cuts.at[j] * OS_PAGE < k; j++)
            cuts_add(cuts, base + filled + (size_t)t->cuts.at[j] * OS_PAGE);
        filled += k;
        stat_commit(-(ptrdiff_t)k);
        atomic_fetch_sub(&stat_reserved, k);
        t->cuts = cuts_split(&t->cuts, 0, k);
        t->map += k;
        t->map_len -= k;
        t->data_len -= k;
        if (t->data_len) cache_put_back(t);
        else unmap_kept(t); /* the guard page */
    }
    if (filled && filled < len) cuts_add(cuts, base + filled);
    return filled;
}

/* Split off a tail of more than a quarter (a new guard page closes the
 * head; the tail, with the old guard, goes back to the cache: its pages stay
 * resident for the next request). */
void cached_fit(large_t *e, size_t data_len) {
    size_t extra = e->data_len - data_len;
    if (extra <= data_len / 4 + (256u << 10)) return;
    if (!os_protect((uint8_t *)e->map + data_len, guard_len(), OS_PROT_NONE, OS_REASON_GUARD)) return;
    cached_t tail = {.map = e->map + data_len + guard_len(), .map_len = extra, .data_len = extra - guard_len(),
                     .since_ms = os_clock_ms(), .cuts = cuts_split(&e->cuts, data_len, data_len + guard_len())};
    cache_put_back(&tail); /* the bytes stay counted, as cached or (unmapped) not at all */
    e->data_len = data_len;
    e->map_len = data_len + guard_len();
}

/* A fresh range of len bytes at the same offset from a 2 MiB boundary as
 * address p (NULL: no memory). Pages moved there from p keep their
 * transparent huge pages: moving them to any other offset splits every one
 * into 4 KiB pages (bench/bigrealloc: 425 splits of 826 huge pages a run
 * with mremap's own choice of address), which then move one page-table
 * entry at a time and take a TLB entry each. */
static uint8_t *map_like(uintptr_t p, size_t len) {
    uint8_t *raw = os_map(NULL, len + HUGE_PAGE, OS_REASON_LARGE);
    if (!raw) return NULL;
    size_t off = (p - (uintptr_t)raw) & (HUGE_PAGE - 1); /* raw + off == p (mod 2 MiB) */
    if (off) os_unmap(raw, off, OS_REASON_LARGE);
    os_unmap(raw + off + len, HUGE_PAGE - off, OS_REASON_LARGE); /* off < 2 MiB: never empty */
    return raw + off;
}

/* Grow the data mapping [p, p + len) (one mapping) to new_len bytes,
 * wherever it fits; one that may hold transparent huge pages goes to a
 * range from map_like. NULL: the kernel refused, nothing changed. */
static uint8_t *remap_grow(uintptr_t p, size_t len, size_t new_len) {
    if (LOAD_RELAXED(opt_large_thp) && new_len >= HUGE_LARGE_MIN) {
        uint8_t *dst = map_like(p, new_len);
        if (dst) {
            if (os_remap_move((void *)p, len, dst, new_len, OS_REASON_LARGE)) return dst;
            os_unmap(dst, new_len, OS_REASON_LARGE);
        }
    }
    return os_remap((void *)p, len, new_len, OS_REASON_LARGE);
}

/* One mapping grows by mremap (a range from map_like when it may hold
 * transparent huge pages); several move piece by piece to the start of a
 * fresh range, mremap resizing one mapping only (NULL also when there is no
 * room for the cut where the fresh part begins). */
uint8_t *data_grow(large_t *e, size_t new_len) {
    if (!e->cuts.n) return remap_grow(e->ptr, e->data_len, new_len);
    if (e->cuts.n == MAX_CUTS || e->data_len >= CUTS_SPAN) return NULL;
    uint8_t *dst = map_like(e->ptr, new_len);
    if (!dst) return NULL;
    move_pieces(e->ptr, &e->cuts, e->data_len, dst);
    cuts_add(&e->cuts, e->data_len);
    return dst;
}

void check_mapping(const cuts_t *c, size_t map_len, size_t data_len, uintptr_t at) {
    if (map_len != data_len + guard_len()) fatal_msg("heap check failed: large mapping length is not data + guard", (void *)at);
    if (c->n > MAX_CUTS) fatal_msg("heap check failed: large block cut count out of range", (void *)at);
    for (unsigned i = 0; i < c->n; i++)
        if (c->at[i] == 0 || (size_t)c->at[i] * OS_PAGE >= data_len || (i && c->at[i] <= c->at[i - 1]))
            fatal_msg("heap check failed: large block cut list out of order", (void *)at);
}

void cache_check(void) {
    pthread_mutex_lock(&cache_mutex);
    size_t sum = 0;
    for (size_t i = 0; i < cache_count; i++) {
        check_mapping(&cache[i].cuts, cache[i].map_len, cache[i].data_len, cache[i].map);
        sum += cache[i].map_len;
    }
    if (sum != cache_bytes) fatal_msg("heap check failed: large cache byte count", (void *)sum);
    pthread_mutex_unlock(&cache_mutex);
}

/* Expire old cached mappings (all of them with all); returns the bytes the
 * cache held before. */
static size_t cache_drop(bool all) {
    victims_t old = {.n = 0};
    pthread_mutex_lock(&cache_mutex);
    size_t b = cache_bytes;
    cache_expire(all, &old);
    pthread_mutex_unlock(&cache_mutex);
    victims_unmap(&old);
    return b;
}

void cache_expire_old(void) { (void)cache_drop(false); }

size_t cache_trim(void) { return cache_drop(true); }

size_t cache_held(void) {
    pthread_mutex_lock(&cache_mutex);
    size_t b = cache_bytes;
    pthread_mutex_unlock(&cache_mutex);
    return b;
}

void cache_fork_prepare(void) { pthread_mutex_lock(&cache_mutex); }
void cache_fork_parent(void) { pthread_mutex_unlock(&cache_mutex); }
void cache_fork_child(void) { pthread_mutex_init(&cache_mutex, NULL); }
