/* shared_heap.c: a heap in MAP_SHARED memory used by several processes at
 * once (mapalloc_shared_*). Fixed size; mapped at the same address in every
 * process; one robust process-shared mutex; every metadata change is a
 * journalled transaction so the death of a process mid-operation is repaired
 * by the next one to take the lock.
 * May call: os.h (mappings, files), error.h, process_init (internal.h), pthreads.
 *
 * Layout of the mapping (offsets from its start, which is the header):
 *   [header][block][block]...[block][sentinel]
 * A block is a 16-byte header { size | INUSE | PREV_INUSE, tag } followed by
 * its payload. tag is off ^ USED_TAG for a live block, off ^ FREE_TAG for a
 * free one. A free block also holds, in its payload, the offsets of its
 * neighbours on its bin's free list, and its size in its last word (the
 * footer, for merging with the block after it). The sentinel is a live block
 * of size 0 at the end, so no merge runs off the heap.
 *
 * Invariants (checked by mapalloc_shared_check):
 *  - blocks tile [arena_start, arena_end) exactly; sizes are multiples of 16,
 *    at least SH_MIN_BLOCK;
 *  - PREV_INUSE of a block equals INUSE of the block before it;
 *  - no two free blocks are neighbours (free merges at once);
 *  - every free block is on exactly the list of bin_of(size), and the lists
 *    are doubly linked; used_bytes/used_blocks count the live blocks;
 *  - outside an operation the journal is empty (journal_count == 0).
 *
 * Crash safety: an operation (holding the lock) computes all its metadata
 * writes in a process-local transaction, copies them to the journal in the
 * header, commits by storing their count (one aligned word), applies them,
 * then clears the count. Each entry sets a word to an absolute value, so
 * applying them again is harmless: a process that finds the lock's owner dead
 * (EOWNERDEAD) re-applies a committed journal and ignores an uncommitted one.
 * User data is never journalled: it is written outside transactions.
 */
#define _GNU_SOURCE
#include "mapalloc.h"
#include "internal.h"
#include "shared_heap.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#define SH_MAGIC 0x6d6170616c6c6f63ull   /* "mapalloc" */
#define SH_VERSION 1u
#define SH_ALIGN 16u
#define SH_BLOCK_HEADER 16u
#define SH_MIN_BLOCK 48u            /* header, two list links and a footer, rounded */
#define SH_MIN_SIZE (64u * 1024u)
#define SH_BINS 40
#define SH_JOURNAL_MAX 48           /* the largest operation (realloc's free) writes about 20 words */
#define SH_INUSE 1ull
#define SH_PREV_INUSE 2ull
#define SH_FLAGS 15ull
#define SH_USED_TAG 0x5553454455534544ull
#define SH_FREE_TAG 0x4652454546524545ull
/* Where named and memfd heaps go: 16..64 TiB, away from the places Linux
 * gives executables (~85 TiB with PIE), libraries and stacks (~127 TiB). */
#define SH_PLACE_LOW (16ull << 40)
#define SH_PLACE_HIGH (64ull << 40)
#define SH_PLACE_ALIGN (2ull << 20)

_Static_assert(SH_MIN_BLOCK % SH_ALIGN == 0 && SH_MIN_BLOCK >= SH_BLOCK_HEADER + 3 * 8, "free block fits its links and footer");
_Static_assert(SH_BLOCK_HEADER % SH_ALIGN == 0, "payloads stay aligned");

struct sh_header {
    uint64_t magic;                 /* SH_MAGIC once creation is complete */
    uint32_t version, header_size;
    uint64_t base;                  /* address of the mapping in every process */
    uint64_t size;                  /* bytes of the mapping */
    uint64_t arena_start, arena_end;/* first block; the sentinel */
    uint64_t kind;                  /* MAPALLOC_SHARED_* */
    pthread_mutex_t lock;           /* PTHREAD_PROCESS_SHARED, PTHREAD_MUTEX_ROBUST */
    _Atomic uint64_t journal_count; /* entries of a committed, maybe unfinished, transaction */
    uint64_t journal_off[SH_JOURNAL_MAX];
    uint64_t journal_val[SH_JOURNAL_MAX];
    uint64_t bins[SH_BINS];         /* first free block of each bin, 0 if none */
    uint64_t used_bytes, used_blocks;
    uint64_t orphan;                /* realloc: the new block while data is copied into it */
    _Atomic uint64_t root;          /* the application's root pointer */
    uint64_t recoveries, replays;
};

struct mapalloc_shared {
    struct sh_header *h;
    size_t size;
    int fd;                         /* MEMFD heaps: the memfd; otherwise -1 */
    int kind;
    char name[256];
};

/* A transaction under construction: the writes of one operation. Reads go
 * through it so an operation sees its own writes before they are applied. */
struct sh_tx {
    struct sh_header *h;
    unsigned n;
    uint64_t off[SH_JOURNAL_MAX], val[SH_JOURNAL_MAX];
};

static enum shared_heap_kill_point kill_point;

void shared_heap_test_kill_at(enum shared_heap_kill_point point) { kill_point = point; }

static void maybe_die(enum shared_heap_kill_point here) {
    if (kill_point == here) kill(getpid(), SIGKILL);
}

static uint64_t *word(struct sh_header *h, uint64_t off) { return (uint64_t *)((uint8_t *)h + off); }

static uint64_t tx_get(const struct sh_tx *t, uint64_t off) {
    for (unsigned i = t->n; i-- > 0;)
        if (t->off[i] == off) return t->val[i];
    return *word(t->h, off);
}

static void tx_put(struct sh_tx *t, uint64_t off, uint64_t val) {
    for (unsigned i = 0; i < t->n; i++)
        if (t->off[i] == off) { t->val[i] = val; return; }
    if (t->n == SH_JOURNAL_MAX) fatal_msg("shared heap journal full", t->h);
    t->off[t->n] = off;
    t->val[t->n++] = val;
}

static void tx_commit(struct sh_tx *t) {
    struct sh_header *h = t->h;
    memcpy(h->journal_off, t->off, t->n * sizeof t->off[0]);
    memcpy(h->journal_val, t->val, t->n * sizeof t->val[0]);
    maybe_die(SH_KILL_BEFORE_COMMIT);
    /* The fences keep the compiler (and weak CPUs) from moving entries after
     * the commit, or applied writes before it. */
    atomic_store_explicit(&h->journal_count, t->n, memory_order_seq_cst);
    for (unsigned i = 0; i < t->n; i++) {
        if (i == t->n / 2) maybe_die(SH_KILL_MID_APPLY);
        *word(h, t->off[i]) = t->val[i];
    }
    atomic_store_explicit(&h->journal_count, 0, memory_order_seq_cst);
    maybe_die(SH_KILL_AFTER_APPLY);
    t->n = 0;
}

static unsigned bin_of(uint64_t size) {
    unsigned lg = 63u - (unsigned)__builtin_clzll(size);
    unsigned b = lg - 5u;   /* SH_MIN_BLOCK (48) is in bin 0 */
    return b < SH_BINS ? b : SH_BINS - 1;
}

static uint64_t bin_word(unsigned b) { return offsetof(struct sh_header, bins) + b * sizeof(uint64_t); }
#define HDR_WORD(field) ((uint64_t)offsetof(struct sh_header, field))

/* Free-list links live at payload words 0 (next) and 1 (prev). */
static void list_unlink(struct sh_tx *t, uint64_t off, uint64_t size) {
    uint64_t next = tx_get(t, off + 16), prev = tx_get(t, off + 24);
    tx_put(t, prev ? prev + 16 : bin_word(bin_of(size)), next);
    if (next) tx_put(t, next + 24, prev);
}

static void list_push(struct sh_tx *t, uint64_t off, uint64_t size) {
    uint64_t bw = bin_word(bin_of(size)), head = tx_get(t, bw);
    tx_put(t, off + 16, head);
    tx_put(t, off + 24, 0);
    if (head) tx_put(t, head + 24, off);
    tx_put(t, bw, off);
}

/* Make [off, off+size) a free block (header, tag, footer, list). */
static void make_free(struct sh_tx *t, uint64_t off, uint64_t size, uint64_t prev_bit) {
    tx_put(t, off, size | prev_bit);
    tx_put(t, off + 8, off ^ SH_FREE_TAG);
    tx_put(t, off + size - 8, size);
    list_push(t, off, size);
}

static void set_prev_inuse(struct sh_tx *t, uint64_t off, bool inuse) {
    uint64_t hw = tx_get(t, off);
    tx_put(t, off, inuse ? hw | SH_PREV_INUSE : hw & ~SH_PREV_INUSE);
}

/* Bytes of block for a request of n bytes; 0 if it cannot fit any heap. */
static uint64_t block_size_for(const struct sh_header *h, size_t n) {
    if (n > h->size) return 0;
    uint64_t need = ((uint64_t)n + SH_BLOCK_HEADER + SH_ALIGN - 1) & ~(uint64_t)(SH_ALIGN - 1);
    return need < SH_MIN_BLOCK ? SH_MIN_BLOCK : need;
}

/* Take need bytes from the free block at off (size size, off its list). */
static void carve(struct sh_tx *t, uint64_t off, uint64_t size, uint64_t need) {
    uint64_t prev_bit = tx_get(t, off) & SH_PREV_INUSE;
    if (size - need >= SH_MIN_BLOCK) {
        make_free(t, off + need, size - need, SH_PREV_INUSE);
    } else {
        need = size;
        set_prev_inuse(t, off + size, true);
    }
    tx_put(t, off, need | SH_INUSE | prev_bit);
    tx_put(t, off + 8, off ^ SH_USED_TAG);
    tx_put(t, HDR_WORD(used_bytes), tx_get(t, HDR_WORD(used_bytes)) + need);
    tx_put(t, HDR_WORD(used_blocks), tx_get(t, HDR_WORD(used_blocks)) + 1);
}

/* Allocate a block of need bytes: its offset, or 0 when no free block fits. */
static uint64_t tx_alloc(struct sh_tx *t, uint64_t need) {
    for (unsigned b = bin_of(need); b < SH_BINS; b++) {
        for (uint64_t off = tx_get(t, bin_word(b)); off; off = tx_get(t, off + 16)) {
            uint64_t size = tx_get(t, off) & ~SH_FLAGS;
            if (size < need) continue;
            list_unlink(t, off, size);
            carve(t, off, size, need);
            return off;
        }
    }
    return 0;
}

/* Free the live block at off, merging with free neighbours. */
static void tx_free(struct sh_tx *t, uint64_t off) {
    uint64_t hw = tx_get(t, off), size = hw & ~SH_FLAGS;
    tx_put(t, HDR_WORD(used_bytes), tx_get(t, HDR_WORD(used_bytes)) - size);
    tx_put(t, HDR_WORD(used_blocks), tx_get(t, HDR_WORD(used_blocks)) - 1);
    uint64_t start = off, total = size, prev_bit = hw & SH_PREV_INUSE;
    if (!(hw & SH_PREV_INUSE)) {
        uint64_t psize = tx_get(t, off - 8);
        start = off - psize;
        total += psize;
        prev_bit = tx_get(t, start) & SH_PREV_INUSE;
        list_unlink(t, start, psize);
        tx_put(t, off + 8, 0);  /* a stale tag would hide a second free of off */
    }
    uint64_t next = off + size, nhw = tx_get(t, next);
    if (!(nhw & SH_INUSE)) {
        uint64_t nsize = nhw & ~SH_FLAGS;
        list_unlink(t, next, nsize);
        tx_put(t, next + 8, 0);
        total += nsize;
    }
    make_free(t, start, total, prev_bit);
    set_prev_inuse(t, start + total, false);
}

/* Grow the live block at off to need bytes using the free block after it;
 * false if that is not possible. */
static bool tx_grow_inplace(struct sh_tx *t, uint64_t off, uint64_t need) {
    uint64_t hw = tx_get(t, off), size = hw & ~SH_FLAGS;
    uint64_t next = off + size, nhw = tx_get(t, next);
    if (nhw & SH_INUSE) return false;
    uint64_t nsize = nhw & ~SH_FLAGS;
    if (size + nsize < need) return false;
    list_unlink(t, next, nsize);
    tx_put(t, next + 8, 0);
    uint64_t total = size + nsize;
    if (total - need >= SH_MIN_BLOCK) {
        make_free(t, off + need, total - need, SH_PREV_INUSE);
    } else {
        need = total;
        set_prev_inuse(t, off + total, true);
    }
    tx_put(t, off, need | SH_INUSE | (hw & SH_PREV_INUSE));
    tx_put(t, HDR_WORD(used_bytes), tx_get(t, HDR_WORD(used_bytes)) + need - size);
    return true;
}

/* --- Locking and recovery. ---------------------------------------------- */

static bool valid_word_off(const struct sh_header *h, uint64_t off) {
    return off % 8 == 0 && off < h->size;
}

/* The lock's previous owner died holding it: finish its committed
 * transaction, drop an uncommitted one, free the block of an interrupted
 * realloc. Idempotent: if this process dies too, the next one redoes it. */
static bool recover(struct sh_header *h) {
    uint64_t n = atomic_load_explicit(&h->journal_count, memory_order_seq_cst);
    if (n > SH_JOURNAL_MAX) return false;
    for (uint64_t i = 0; i < n; i++)
        if (!valid_word_off(h, h->journal_off[i])) return false;
    for (uint64_t i = 0; i < n; i++) *word(h, h->journal_off[i]) = h->journal_val[i];
    atomic_store_explicit(&h->journal_count, 0, memory_order_seq_cst);
    if (n) h->replays++;
    uint64_t orphan = h->orphan;
    if (orphan) {
        struct sh_tx t = {.h = h};
        if (orphan >= h->arena_start && orphan < h->arena_end && (*word(h, orphan) & SH_INUSE) &&
            *word(h, orphan + 8) == (orphan ^ SH_USED_TAG))
            tx_free(&t, orphan);
        tx_put(&t, HDR_WORD(orphan), 0);
        tx_commit(&t);
    }
    h->recoveries++;
    return true;
}

static int sh_lock(struct sh_header *h) {
    int r = pthread_mutex_lock(&h->lock);
    if (r == EOWNERDEAD) {
        if (!recover(h)) {
            /* Unlocking without pthread_mutex_consistent marks the lock
             * unusable for everyone: better than running on a broken heap. */
            pthread_mutex_unlock(&h->lock);
            errno = ENOTRECOVERABLE;
            return -1;
        }
        pthread_mutex_consistent(&h->lock);
        return 0;
    }
    if (r != 0) { errno = r; return -1; }
    return 0;
}

static int check_locked(struct sh_header *h, struct mapalloc_shared_stats *s);

static void sh_unlock(struct sh_header *h) {
#if MAPALLOC_DEBUG_CHECKS
    /* Debug builds walk the whole heap after every operation. */
    struct mapalloc_shared_stats s = {0};
    if (check_locked(h, &s) != 0) fatal_msg("shared heap invariant broken", h);
#endif
    pthread_mutex_unlock(&h->lock);
}

/* The block offset of payload p; aborts if p is not a live block. */
static uint64_t block_of(struct sh_header *h, const void *p) {
    uintptr_t a = (uintptr_t)p, base = (uintptr_t)h;
    uint64_t off = a - base - SH_BLOCK_HEADER;
    if (a < base + h->arena_start + SH_BLOCK_HEADER || off >= h->arena_end || off % SH_ALIGN) {
        sh_unlock(h);
        fatal_bug(BUG_INVALID_FREE, p, -1, 0);
    }
    uint64_t hw = *word(h, off), tag = *word(h, off + 8);
    if ((hw & SH_INUSE) && tag == (off ^ SH_USED_TAG)) return off;
    sh_unlock(h);
    fatal_bug(!(hw & SH_INUSE) || tag == 0 || tag == (off ^ SH_FREE_TAG) ? BUG_DOUBLE_FREE : BUG_INVALID_FREE, p, -1, 0);
}

/* slot must be an aligned word inside the block area. */
static bool valid_slot(const struct sh_header *h, void **slot) {
    uintptr_t a = (uintptr_t)slot, base = (uintptr_t)h;
    if (a % sizeof(void *) || a < base + h->arena_start || a >= base + h->arena_end) {
        errno = EINVAL;
        return false;
    }
    return true;
}

static void *payload(struct sh_header *h, uint64_t off) { return (uint8_t *)h + off + SH_BLOCK_HEADER; }
static uint64_t slot_word(struct sh_header *h, void **slot) { return (uint64_t)((uintptr_t)slot - (uintptr_t)h); }

/* --- Allocation API. ------------------------------------------------------ */

/* Allocate n bytes; with slot, record the block there in the same
 * transaction. NULL with errno on failure. */
static void *sh_alloc(mapalloc_shared *hd, size_t n, void **slot) {
    if (!hd) { errno = EINVAL; return NULL; }
    struct sh_header *h = hd->h;
    if (slot && !valid_slot(h, slot)) return NULL;
    uint64_t need = block_size_for(h, n);
    if (!need) { errno = ENOMEM; return NULL; }
    if (sh_lock(h) != 0) return NULL;
    struct sh_tx t = {.h = h};
    uint64_t off = tx_alloc(&t, need);
    void *p = NULL;
    if (off) {
        p = payload(h, off);
        if (slot) tx_put(&t, slot_word(h, slot), (uint64_t)(uintptr_t)p);
        tx_commit(&t);
    } else {
        errno = ENOMEM;
    }
    sh_unlock(h);
    return p;
}

void *mapalloc_shared_malloc(mapalloc_shared *h, size_t n) { return sh_alloc(h, n, NULL); }

void *mapalloc_shared_calloc(mapalloc_shared *h, size_t count, size_t size) {
    size_t n;
    if (__builtin_mul_overflow(count, size, &n)) { errno = ENOMEM; return NULL; }
    void *p = sh_alloc(h, n, NULL);
    if (p) memset(p, 0, n);   /* freed blocks keep old data: no fresh-memory shortcut */
    return p;
}

int mapalloc_shared_alloc_into(mapalloc_shared *h, size_t n, void **slot) {
    if (!slot) { errno = EINVAL; return -1; }
    return sh_alloc(h, n, slot) ? 0 : -1;
}

/* Free p (and with slot, clear it) in one transaction. */
static int sh_free(mapalloc_shared *hd, void *p, void **slot) {
    struct sh_header *h = hd->h;
    if (sh_lock(h) != 0) return -1;
    struct sh_tx t = {.h = h};
    if (slot) p = (void *)(uintptr_t)*word(h, slot_word(h, slot));
    if (p) {
        tx_free(&t, block_of(h, p));
        if (slot) tx_put(&t, slot_word(h, slot), 0);
        tx_commit(&t);
    }
    sh_unlock(h);
    return 0;
}

void mapalloc_shared_free(mapalloc_shared *h, void *p) {
    if (!h || !p) return;
    int err = errno;
    sh_free(h, p, NULL);
    errno = err;
}

int mapalloc_shared_free_from(mapalloc_shared *h, void **slot) {
    if (!h || !slot) { errno = EINVAL; return -1; }
    if (!valid_slot(h->h, slot)) return -1;
    return sh_free(h, NULL, slot);
}

/* realloc, optionally through a slot (then p is read from it under the
 * lock). A move is two transactions: allocate the new block and record it as
 * the orphan; copy; free the old block, clear the orphan, update the slot.
 * Recovery frees the orphan of a realloc that died while copying. */
static void *sh_realloc(mapalloc_shared *hd, void *p, size_t n, void **slot) {
    struct sh_header *h = hd->h;
    uint64_t need = block_size_for(h, n);
    if (!need) { errno = ENOMEM; return NULL; }
    if (sh_lock(h) != 0) return NULL;
    struct sh_tx t = {.h = h};
    if (slot) p = (void *)(uintptr_t)*word(h, slot_word(h, slot));
    void *q = NULL;
    if (!p) {
        uint64_t off = tx_alloc(&t, need);
        if (off) {
            q = payload(h, off);
            if (slot) tx_put(&t, slot_word(h, slot), (uint64_t)(uintptr_t)q);
            tx_commit(&t);
        }
        goto out;
    }
    uint64_t old = block_of(h, p), old_size = *word(h, old) & ~SH_FLAGS;
    if (need <= old_size) { q = p; goto out; }   /* shrinking keeps the block */
    if (tx_grow_inplace(&t, old, need)) { tx_commit(&t); q = p; goto out; }
    t.n = 0;
    uint64_t off = tx_alloc(&t, need);
    if (!off) goto out;
    tx_put(&t, HDR_WORD(orphan), off);
    tx_commit(&t);
    q = payload(h, off);
    size_t copy = old_size - SH_BLOCK_HEADER;
    memcpy(q, p, copy / 2);
    maybe_die(SH_KILL_REALLOC_COPY);
    memcpy((uint8_t *)q + copy / 2, (uint8_t *)p + copy / 2, copy - copy / 2);
    tx_free(&t, old);
    tx_put(&t, HDR_WORD(orphan), 0);
    if (slot) tx_put(&t, slot_word(h, slot), (uint64_t)(uintptr_t)q);
    tx_commit(&t);
out:
    sh_unlock(h);
    if (!q) errno = ENOMEM;
    return q;
}

void *mapalloc_shared_realloc(mapalloc_shared *h, void *p, size_t n) {
    if (!h) { errno = EINVAL; return NULL; }
    if (p && n == 0) { mapalloc_shared_free(h, p); return NULL; }
    return sh_realloc(h, p, n, NULL);
}

int mapalloc_shared_realloc_into(mapalloc_shared *h, size_t n, void **slot) {
    if (!h || !slot) { errno = EINVAL; return -1; }
    if (!valid_slot(h->h, slot)) return -1;
    return sh_realloc(h, NULL, n, slot) ? 0 : -1;
}

size_t mapalloc_shared_usable_size(mapalloc_shared *hd, const void *p) {
    if (!hd || !p) return 0;
    struct sh_header *h = hd->h;
    if (sh_lock(h) != 0) return 0;
    uint64_t off = block_of(h, p), size = *word(h, off) & ~SH_FLAGS;
    sh_unlock(h);
    return size - SH_BLOCK_HEADER;
}

void mapalloc_shared_set_root(mapalloc_shared *h, void *p) {
    if (h) atomic_store_explicit(&h->h->root, (uint64_t)(uintptr_t)p, memory_order_release);
}

void *mapalloc_shared_root(mapalloc_shared *h) {
    return h ? (void *)(uintptr_t)atomic_load_explicit(&h->h->root, memory_order_acquire) : NULL;
}

/* --- Checking. ------------------------------------------------------------ */

static int check_fail(const char *what, uint64_t off) {
    static const char pre[] = "mapalloc: shared heap check: ";
    os_write_stderr(pre, sizeof pre - 1);
    os_write_stderr(what, strlen(what));
    char buf[24];
    size_t n = sizeof buf;
    buf[--n] = '\n';
    do { buf[--n] = "0123456789abcdef"[off & 15]; off >>= 4; } while (off);
    buf[--n] = 'x';
    buf[--n] = '0';
    buf[--n] = ' ';
    buf[--n] = 't';
    buf[--n] = 'a';
    buf[--n] = ' ';
    os_write_stderr(buf + n, sizeof buf - n);
    errno = EUCLEAN;
    return -1;
}

static int check_locked(struct sh_header *h, struct mapalloc_shared_stats *s) {
    if (atomic_load(&h->journal_count) != 0) return check_fail("journal not empty", 0);
    if (h->orphan != 0) return check_fail("orphan block left", h->orphan);
    uint64_t off = h->arena_start;
    bool prev_used = true;
    while (off < h->arena_end) {
        uint64_t hw = *word(h, off), size = hw & ~SH_FLAGS, tag = *word(h, off + 8);
        bool used = hw & SH_INUSE;
        if (size < SH_MIN_BLOCK || size % SH_ALIGN || off + size > h->arena_end) return check_fail("bad block size", off);
        if (!(hw & SH_PREV_INUSE) != !prev_used) return check_fail("PREV_INUSE disagrees with the block before", off);
        if (used) {
            if (tag != (off ^ SH_USED_TAG)) return check_fail("bad tag on live block", off);
            s->used_blocks++;
            s->used_bytes += size;
        } else {
            if (tag != (off ^ SH_FREE_TAG)) return check_fail("bad tag on free block", off);
            if (!prev_used) return check_fail("two free blocks side by side", off);
            if (*word(h, off + size - 8) != size) return check_fail("footer disagrees with header", off);
            s->free_blocks++;
            s->free_bytes += size;
            if (size > s->largest_free) s->largest_free = size;
        }
        prev_used = used;
        off += size;
    }
    if (off != h->arena_end) return check_fail("blocks overrun the sentinel", off);
    uint64_t shw = *word(h, off);
    if (!(shw & SH_INUSE) || (shw & ~SH_FLAGS) != 0) return check_fail("sentinel overwritten", off);
    if (!(shw & SH_PREV_INUSE) != !prev_used) return check_fail("sentinel PREV_INUSE wrong", off);
    size_t listed = 0;
    for (unsigned b = 0; b < SH_BINS; b++) {
        uint64_t prev = 0;
        for (uint64_t f = h->bins[b]; f; prev = f, f = *word(h, f + 16)) {
            if (f < h->arena_start || f >= h->arena_end || f % SH_ALIGN) return check_fail("free list points outside the heap", f);
            uint64_t hw = *word(h, f);
            if (hw & SH_INUSE) return check_fail("live block on a free list", f);
            if (bin_of(hw & ~SH_FLAGS) != b) return check_fail("free block in the wrong bin", f);
            if (*word(h, f + 24) != prev) return check_fail("free list back link broken", f);
            if (++listed > s->free_blocks) return check_fail("free lists longer than the free blocks (cycle?)", f);
        }
    }
    if (listed != s->free_blocks) return check_fail("free block missing from the free lists", listed);
    if (h->used_blocks != s->used_blocks || h->used_bytes != s->used_bytes) return check_fail("usage counters wrong", h->used_blocks);
    return 0;
}

int mapalloc_shared_check(mapalloc_shared *hd, struct mapalloc_shared_stats *out) {
    if (!hd) { errno = EINVAL; return -1; }
    struct sh_header *h = hd->h;
    struct mapalloc_shared_stats s = {.size = h->size, .capacity = h->arena_end - h->arena_start};
    if (sh_lock(h) != 0) return -1;
    int r = check_locked(h, &s);
    s.recoveries = h->recoveries;
    s.replays = h->replays;
    sh_unlock(h);
    if (r == 0 && s.used_bytes + s.free_bytes != s.capacity) r = check_fail("bytes unaccounted for", s.capacity);
    if (out) *out = s;
    return r;
}

/* --- Creating, attaching, closing. ------------------------------------- */

static mapalloc_shared *new_handle(void) {
    mapalloc_shared *hd = os_map(NULL, (sizeof *hd + os_page_size() - 1) & ~(os_page_size() - 1), OS_REASON_META);
    if (hd) hd->fd = -1;
    return hd;
}

static void free_handle(mapalloc_shared *hd) {
    os_unmap(hd, (sizeof *hd + os_page_size() - 1) & ~(os_page_size() - 1), OS_REASON_META);
}

/* Map fd at a random address in [SH_PLACE_LOW, SH_PLACE_HIGH), or wherever
 * the kernel likes if several tries collide. */
static void *map_placed(int fd, size_t size) {
    uint64_t range = SH_PLACE_HIGH - SH_PLACE_LOW;
    uint64_t slots = size < range ? (range - size) / SH_PLACE_ALIGN : 0;
    for (int attempt = 0; attempt < 8 && slots > 0; attempt++) {
        uint64_t r;
        os_random(&r, sizeof r);
        void *hint = (void *)(uintptr_t)(SH_PLACE_LOW + (r % slots) * SH_PLACE_ALIGN);
        void *p = os_map_fd(hint, size, OS_PROT_READ | OS_PROT_WRITE, fd, 0, OS_REASON_SHARED);
        if (p) return p;
        if (errno != EEXIST) return NULL;
    }
    return os_map_fd(NULL, size, OS_PROT_READ | OS_PROT_WRITE, fd, 0, OS_REASON_SHARED);
}

static bool init_heap(struct sh_header *h, size_t size, int kind) {
    pthread_mutexattr_t attr;
    if (pthread_mutexattr_init(&attr) != 0) return false;
    int r = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    if (r == 0) r = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    if (r == 0) r = pthread_mutex_init(&h->lock, &attr);
    pthread_mutexattr_destroy(&attr);
    if (r != 0) { errno = r; return false; }
    h->version = SH_VERSION;
    h->header_size = sizeof *h;
    h->base = (uint64_t)(uintptr_t)h;
    h->size = size;
    h->kind = (uint64_t)kind;
    h->arena_start = (sizeof *h + SH_ALIGN - 1) & ~(uint64_t)(SH_ALIGN - 1);
    h->arena_end = size - SH_BLOCK_HEADER;
    uint64_t first = h->arena_start, len = h->arena_end - first;
    *word(h, h->arena_end) = 0 | SH_INUSE;   /* the sentinel; its PREV_INUSE is clear */
    *word(h, h->arena_end + 8) = h->arena_end ^ SH_USED_TAG;
    struct sh_tx t = {.h = h};
    make_free(&t, first, len, SH_PREV_INUSE);
    tx_commit(&t);
    /* Last: attachers refuse a heap without its magic. */
    atomic_store_explicit((_Atomic uint64_t *)&h->magic, SH_MAGIC, memory_order_release);
    return true;
}

mapalloc_shared *mapalloc_shared_create(size_t size, int flags, const char *name) {
    process_init();   /* opens mapwatch's event channel, if any */
    size_t page = os_page_size();
    if (flags != MAPALLOC_SHARED_ANON && flags != MAPALLOC_SHARED_MEMFD && flags != MAPALLOC_SHARED_NAMED) {
        errno = EINVAL;
        return NULL;
    }
    if (size < SH_MIN_SIZE) size = SH_MIN_SIZE;
    if (size > SH_PLACE_HIGH) { errno = ENOMEM; return NULL; }
    size = (size + page - 1) & ~(page - 1);
    mapalloc_shared *hd = new_handle();
    if (!hd) return NULL;
    hd->kind = flags;
    hd->size = size;
    void *base = NULL;
    int fd = -1;
    if (flags == MAPALLOC_SHARED_ANON) {
        base = os_map_shared_anon(NULL, size, OS_REASON_SHARED);
    } else {
        if (flags == MAPALLOC_SHARED_NAMED) {
            if (!name || strlen(name) >= sizeof hd->name) { errno = EINVAL; goto fail; }
            fd = os_shm_create(name, size);
            if (fd >= 0) strcpy(hd->name, name);   /* ours to unlink on failure */
        } else {
            fd = os_memfd("mapalloc-shared", size);
        }
        if (fd < 0) goto fail;
        base = map_placed(fd, size);
    }
    if (!base) goto fail;
    hd->h = base;
    if (!init_heap(hd->h, size, flags)) {
        int err = errno;
        os_unmap(base, size, OS_REASON_SHARED);
        errno = err;
        goto fail;
    }
    if (flags == MAPALLOC_SHARED_MEMFD) hd->fd = fd;
    else os_close(fd);
    return hd;
fail: {
        int err = errno;
        if (fd >= 0) os_close(fd);
        if (flags == MAPALLOC_SHARED_NAMED && hd->name[0]) os_shm_unlink(hd->name);
        free_handle(hd);
        errno = err;
        return NULL;
    }
}

/* Map the heap behind fd at the address its creator recorded. */
static mapalloc_shared *attach(int fd) {
    process_init();   /* opens mapwatch's event channel, if any */
    size_t page = os_page_size();
    int64_t file_size = os_fd_size(fd);
    if (file_size < 0) return NULL;
    if ((uint64_t)file_size < SH_MIN_SIZE) { errno = EINVAL; return NULL; }
    const struct sh_header *peek = os_map_fd(NULL, page, OS_PROT_READ, fd, 0, OS_REASON_SHARED);
    if (!peek) return NULL;
    uint64_t magic = atomic_load_explicit((const _Atomic uint64_t *)&peek->magic, memory_order_acquire);
    uint64_t base = peek->base, size = peek->size;
    bool ok = magic == SH_MAGIC && peek->version == SH_VERSION && peek->header_size == sizeof *peek &&
              size == (uint64_t)file_size && base % page == 0 && base != 0;
    os_unmap((void *)peek, page, OS_REASON_SHARED);
    if (!ok) { errno = EINVAL; return NULL; }
    mapalloc_shared *hd = new_handle();
    if (!hd) return NULL;
    /* MAP_FIXED_NOREPLACE: EEXIST when the range is in use here. */
    void *p = os_map_fd((void *)(uintptr_t)base, size, OS_PROT_READ | OS_PROT_WRITE, fd, 0, OS_REASON_SHARED);
    if (!p) {
        int err = errno;
        free_handle(hd);
        errno = err;
        return NULL;
    }
    hd->h = p;
    hd->size = size;
    hd->kind = (int)hd->h->kind;
    return hd;
}

mapalloc_shared *mapalloc_shared_open(const char *name) {
    int fd = os_shm_open(name);
    if (fd < 0) return NULL;
    mapalloc_shared *hd = attach(fd);
    int err = errno;
    os_close(fd);
    if (hd && strlen(name) < sizeof hd->name) strcpy(hd->name, name);
    errno = err;
    return hd;
}

mapalloc_shared *mapalloc_shared_open_fd(int fd) {
    if (fd < 0) { errno = EBADF; return NULL; }
    return attach(fd);
}

int mapalloc_shared_fd(mapalloc_shared *h) {
    if (!h || h->fd < 0) { errno = EINVAL; return -1; }
    return h->fd;
}

void mapalloc_shared_close(mapalloc_shared *h) {
    if (!h) return;
    os_unmap(h->h, h->size, OS_REASON_SHARED);
    os_close(h->fd);
    free_handle(h);
}

void mapalloc_shared_destroy(mapalloc_shared *h) {
    if (!h) return;
    if (h->kind == MAPALLOC_SHARED_NAMED && h->name[0]) os_shm_unlink(h->name);
    mapalloc_shared_close(h);
}

int mapalloc_shared_unlink(const char *name) { return os_shm_unlink(name); }
