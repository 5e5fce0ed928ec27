/* test_shared_heap.c: the promises of shared heaps (mapalloc_shared_*), one
 * test per command-line name (CTest runs each as shared_heap_<name>):
 *   basic          malloc/calloc/realloc/free semantics, errno, merging,
 *                  crash-safe slots, bugs abort
 *   fork_stress    a parent and 4 forked children allocate, pass blocks to
 *                  each other through the heap, realloc and free them, with
 *                  every byte verified; the heap is whole afterwards
 *   kill_<point>   a child dies by SIGKILL at <point> inside an operation,
 *                  holding the lock; the survivors go on (no deadlock), the
 *                  heap is repaired exactly once, no block is lost
 *   kill_random    25 children killed by the parent at arbitrary instants
 *                  of crash-safe operations: heap consistent after each,
 *                  exactly the blocks their slots record left at the end
 *   attach_name    an unrelated process (exec'd) attaches by name at the same
 *                  address, reads and frees the creator's blocks; EEXIST when
 *                  the range is taken; ENOENT once the name is removed
 *   attach_fd      the same through a memfd passed to the exec'd process
 * Exit 0: kept; 1: broken (messages say which promise).
 */
#define _GNU_SOURCE
#include <mapalloc.h>
#include "shared_heap.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures;

#define CHECK(cond)                                                                       \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "[%d] %s:%d: check failed: %s (errno %d)\n", (int)getpid(), \
                    __FILE__, __LINE__, #cond, errno);                                    \
            failures++;                                                                   \
        }                                                                                 \
    } while (0)

/* --- Block contents: a header and a pattern, verified before every free. - */

struct stamp {
    uint32_t magic, len;
    uint64_t seed;
};
#define STAMP_MAGIC 0x5354414du

static uint8_t pattern(uint64_t seed, size_t i) { return (uint8_t)(seed * 131u + i * 7u + (i >> 8)); }

static void fill(void *p, size_t len, uint64_t seed) {
    struct stamp s = {STAMP_MAGIC, (uint32_t)len, seed};
    memcpy(p, &s, sizeof s);
    uint8_t *b = p;
    for (size_t i = sizeof s; i < len; i++) b[i] = pattern(seed, i);
}

/* Bytes [0, upto) of a filled block are intact (upto = 0: all of it). */
static bool verify(mapalloc_shared *h, const void *p, size_t upto) {
    struct stamp s;
    memcpy(&s, p, sizeof s);
    if (s.magic != STAMP_MAGIC || s.len < sizeof s || mapalloc_shared_usable_size(h, p) < s.len) {
        fprintf(stderr, "[%d] block %p: bad stamp (magic %x len %u)\n", (int)getpid(), p, s.magic, s.len);
        return false;
    }
    size_t end = upto && upto < s.len ? upto : s.len;
    const uint8_t *b = p;
    for (size_t i = sizeof s; i < end; i++)
        if (b[i] != pattern(s.seed, i)) {
            fprintf(stderr, "[%d] block %p (len %u): byte %zu is %u, not %u\n", (int)getpid(), p, s.len, i, b[i], pattern(s.seed, i));
            return false;
        }
    return true;
}

static uint64_t rng_state;
static uint64_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static size_t random_size(void) {
    uint64_t r = rnd();
    if (r % 64 == 0) return 4096 + (size_t)(r >> 8) % 60000;
    return sizeof(struct stamp) + (size_t)(r >> 8) % 2000;
}

static void heap_whole(mapalloc_shared *h, size_t used_blocks) {
    struct mapalloc_shared_stats st;
    CHECK(mapalloc_shared_check(h, &st) == 0);
    CHECK(st.used_blocks == used_blocks);
    if (used_blocks == 0) CHECK(st.free_blocks == 1 && st.free_bytes == st.capacity);   /* all merged back */
}

/* --- basic --------------------------------------------------------------- */

static void test_basic(void) {
    errno = 0;
    CHECK(mapalloc_shared_create(1 << 20, 7, NULL) == NULL && errno == EINVAL);
    errno = 0;
    CHECK(mapalloc_shared_create(1 << 20, MAPALLOC_SHARED_NAMED, "a/b") == NULL && errno == EINVAL);
    errno = 0;
    CHECK(mapalloc_shared_open("mapalloc-test-no-such-heap") == NULL && errno == ENOENT);

    mapalloc_shared *h = mapalloc_shared_create(1 << 20, MAPALLOC_SHARED_ANON, NULL);
    CHECK(h != NULL);
    if (!h) return;
    heap_whole(h, 0);
    errno = 0;
    CHECK(mapalloc_shared_fd(h) == -1 && errno == EINVAL);

    void *p[64];
    for (int i = 0; i < 64; i++) {
        p[i] = mapalloc_shared_malloc(h, (size_t)i * 13);
        CHECK(p[i] != NULL && (uintptr_t)p[i] % 16 == 0 && mapalloc_shared_usable_size(h, p[i]) >= (size_t)i * 13);
        memset(p[i], i, (size_t)i * 13);
    }
    for (int i = 0; i < 64; i++)
        for (int j = 0; j < i * 13; j++)
            if (((uint8_t *)p[i])[j] != i) { CHECK(!"blocks overlap"); break; }
    heap_whole(h, 64);

    /* calloc zeroes even reused memory; overflow is ENOMEM. */
    for (int i = 0; i < 64; i += 2) mapalloc_shared_free(h, p[i]);
    uint8_t *z = mapalloc_shared_calloc(h, 100, 5);
    CHECK(z != NULL);
    for (int i = 0; z && i < 500; i++)
        if (z[i]) { CHECK(!"calloc not zeroed"); break; }
    errno = 0;
    CHECK(mapalloc_shared_calloc(h, SIZE_MAX / 2, 4) == NULL && errno == ENOMEM);
    mapalloc_shared_free(h, z);

    /* realloc keeps the contents, in place or moved. */
    uint8_t *r = mapalloc_shared_malloc(h, 100);
    fill(r, 100, 9);
    r = mapalloc_shared_realloc(h, r, 50000);
    CHECK(r && verify(h, r, 0));
    r = mapalloc_shared_realloc(h, r, 60);
    CHECK(r && verify(h, r, 60));
    CHECK(mapalloc_shared_realloc(h, r, 0) == NULL);
    void *fresh = mapalloc_shared_realloc(h, NULL, 10);
    CHECK(fresh != NULL);
    mapalloc_shared_free(h, fresh);

    /* The heap is fixed: filling it ends in ENOMEM, and freeing everything
     * merges it back into one block. */
    for (int i = 1; i < 64; i += 2) mapalloc_shared_free(h, p[i]);
    void **chain = NULL;
    size_t n = 0;
    for (;;) {
        void **q = mapalloc_shared_malloc(h, 1000);
        if (!q) { CHECK(errno == ENOMEM); break; }
        *q = chain;
        chain = q;
        n++;
    }
    CHECK(n > 900 && n < 1100);
    errno = 0;
    CHECK(mapalloc_shared_malloc(h, 2u << 20) == NULL && errno == ENOMEM);
    heap_whole(h, n);
    while (chain) {
        void **next = *chain;
        mapalloc_shared_free(h, chain);
        chain = next;
    }
    heap_whole(h, 0);

    /* Crash-safe slots. */
    void **slots = mapalloc_shared_calloc(h, 4, sizeof(void *));
    CHECK(mapalloc_shared_alloc_into(h, 64, &slots[0]) == 0 && slots[0] != NULL);
    fill(slots[0], 64, 3);
    CHECK(mapalloc_shared_realloc_into(h, 5000, &slots[0]) == 0 && verify(h, slots[0], 0));
    CHECK(mapalloc_shared_realloc_into(h, 10, &slots[1]) == 0 && slots[1] != NULL);
    CHECK(mapalloc_shared_free_from(h, &slots[0]) == 0 && slots[0] == NULL);
    CHECK(mapalloc_shared_free_from(h, &slots[0]) == 0);   /* NULL slot: nothing to do */
    void *outside;
    errno = 0;
    CHECK(mapalloc_shared_alloc_into(h, 8, &outside) == -1 && errno == EINVAL);
    errno = 0;
    CHECK(mapalloc_shared_alloc_into(h, 8, (void **)((char *)slots + 1)) == -1 && errno == EINVAL);
    errno = 0;
    CHECK(mapalloc_shared_alloc_into(h, 4u << 20, &slots[2]) == -1 && errno == ENOMEM && slots[2] == NULL);
    CHECK(mapalloc_shared_free_from(h, &slots[1]) == 0);
    mapalloc_shared_free(h, slots);
    heap_whole(h, 0);

    /* Bugs abort, naming them: double free (also after merging) and a
     * pointer from elsewhere. */
    for (int kind = 0; kind < 3; kind++) {
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            int local;
            void *a = mapalloc_shared_malloc(h, 100), *b = mapalloc_shared_malloc(h, 100);
            mapalloc_shared_free(h, a);
            if (kind == 0) mapalloc_shared_free(h, a);
            if (kind == 1) { mapalloc_shared_free(h, b); mapalloc_shared_free(h, b); }
            if (kind == 2) mapalloc_shared_free(h, &local);
            _exit(0);
        }
        int status;
        CHECK(waitpid(pid, &status, 0) == pid && WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
    }
    /* The aborting children left their blocks, and the lock usable. */
    struct mapalloc_shared_stats st;
    CHECK(mapalloc_shared_check(h, &st) == 0 && st.used_blocks == 2 && st.recoveries == 0);
    mapalloc_shared_destroy(h);
}

/* --- Processes sharing a heap. ------------------------------------------ */

#define PROCS 5         /* the parent is process 0 */
#define SLOTS 64
#define MAILBOX 32

struct world {
    void *slots[PROCS][SLOTS];      /* each process's blocks (crash-safe slots) */
    _Atomic(void *) mailbox[MAILBOX];
    _Atomic int stop_after;         /* kill tests: set once the victim is dead */
    _Atomic long sent, received;
    _Atomic long victim_ops;        /* kill_random: operations the victims completed */
    _Atomic uint64_t victim_filled; /* kill_random: bit s set while slot s holds a filled block */
};

/* One random operation of process me. */
static void step(mapalloc_shared *h, struct world *w, int me) {
    uint64_t r = rnd();
    int s = (int)((r >> 8) % SLOTS);
    void **slot = &w->slots[me][s];
    switch (r % 10) {
    case 0: case 1: case 2: case 3:   /* allocate or free */
        if (!*slot) {
            size_t len = random_size();
            if (mapalloc_shared_alloc_into(h, len, slot) != 0) { CHECK(!"alloc_into failed"); return; }
            fill(*slot, len, rnd());
        } else {
            CHECK(verify(h, *slot, 0));
            CHECK(mapalloc_shared_free_from(h, slot) == 0 && *slot == NULL);
        }
        break;
    case 4: {                         /* realloc, keeping the contents */
        if (!*slot) break;
        struct stamp old;
        memcpy(&old, *slot, sizeof old);
        size_t len = random_size();
        if (mapalloc_shared_realloc_into(h, len, slot) != 0) { CHECK(!"realloc_into failed"); return; }
        CHECK(verify(h, *slot, len));
        struct stamp now = {STAMP_MAGIC, (uint32_t)len, old.seed};
        memcpy(*slot, &now, sizeof now);
        for (size_t i = old.len; i < len; i++) ((uint8_t *)*slot)[i] = pattern(old.seed, i);
        CHECK(verify(h, *slot, 0));
        break;
    }
    case 5: case 6: {                 /* send a block to whoever takes it */
        if (!*slot) break;
        CHECK(verify(h, *slot, 0));
        void *expected = NULL;
        _Atomic(void *) *box = &w->mailbox[(r >> 20) % MAILBOX];
        if (atomic_compare_exchange_strong(box, &expected, *slot)) {
            *slot = NULL;
            atomic_fetch_add(&w->sent, 1);
        }
        break;
    }
    default: {                        /* receive: free it, or keep it */
        void *p = atomic_exchange(&w->mailbox[(r >> 20) % MAILBOX], NULL);
        if (!p) break;
        atomic_fetch_add(&w->received, 1);
        CHECK(verify(h, p, 0));
        if (!*slot && (r & (1u << 30))) *slot = p;
        else mapalloc_shared_free(h, p);
    }
    }
}

static void drain_own(mapalloc_shared *h, struct world *w, int me) {
    for (int s = 0; s < SLOTS; s++)
        if (w->slots[me][s]) {
            CHECK(verify(h, w->slots[me][s], 0));
            CHECK(mapalloc_shared_free_from(h, &w->slots[me][s]) == 0);
        }
}

static void drain_mailbox(mapalloc_shared *h, struct world *w) {
    for (int i = 0; i < MAILBOX; i++) {
        void *p = atomic_exchange(&w->mailbox[i], NULL);
        if (p) {
            atomic_fetch_add(&w->received, 1);
            CHECK(verify(h, p, 0));
            mapalloc_shared_free(h, p);
        }
    }
}

/* A child's life: ops operations, or with until_stop, operations until the
 * parent says stop and ops more; then give back what it holds. */
static int worker(mapalloc_shared *h, struct world *w, int me, int ops, bool until_stop) {
    rng_state = 0x9e3779b97f4a7c15ull * (uint64_t)(me + 1) ^ (uint64_t)getpid();
    int stop_seen_at = -1;
    for (int i = 0;; i++) {
        if (until_stop && stop_seen_at < 0 && atomic_load(&w->stop_after)) stop_seen_at = i;
        if (i >= ops && (!until_stop || (stop_seen_at >= 0 && i >= stop_seen_at + ops))) break;
        step(h, w, me);
        if (i % 1000 == 999) CHECK(mapalloc_shared_check(h, NULL) == 0);
    }
    drain_own(h, w, me);
    return failures ? 1 : 0;
}

static pid_t spawn_worker(mapalloc_shared *h, struct world *w, int me, int ops, bool until_stop) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) _exit(worker(h, w, me, ops, until_stop));
    CHECK(pid > 0);
    return pid;
}

static void reap_ok(pid_t pid) {
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_fork_stress(void) {
    mapalloc_shared *h = mapalloc_shared_create(64u << 20, MAPALLOC_SHARED_ANON, NULL);
    CHECK(h != NULL);
    if (!h) return;
    struct world *w = mapalloc_shared_calloc(h, 1, sizeof *w);
    CHECK(w != NULL);
    if (!w) return;
    pid_t pids[PROCS];
    for (int i = 1; i < PROCS; i++) pids[i] = spawn_worker(h, w, i, 30000, false);
    CHECK(worker(h, w, 0, 30000, false) == 0);
    for (int i = 1; i < PROCS; i++) reap_ok(pids[i]);
    drain_mailbox(h, w);
    printf("fork_stress: %ld blocks passed between processes\n", atomic_load(&w->sent));
    CHECK(atomic_load(&w->sent) > 1000 && atomic_load(&w->sent) == atomic_load(&w->received));
    mapalloc_shared_free(h, w);
    heap_whole(h, 0);
    struct mapalloc_shared_stats st;
    CHECK(mapalloc_shared_check(h, &st) == 0 && st.recoveries == 0);
    mapalloc_shared_close(h);
}

/* --- A process killed mid-operation. ------------------------------------ */

enum victim_op { OP_ALLOC, OP_FREE, OP_REALLOC };

#define VICTIM (PROCS - 1)
#define VICTIM_SETUP 40     /* slots the parent fills for the victim before anyone starts */
#define TARGET 10           /* the slot of the victim's fatal operation */

static void test_kill(enum shared_heap_kill_point point, enum victim_op op) {
    mapalloc_shared *h = mapalloc_shared_create(64u << 20, MAPALLOC_SHARED_ANON, NULL);
    CHECK(h != NULL);
    if (!h) return;
    struct world *w = mapalloc_shared_calloc(h, 1, sizeof *w);
    CHECK(w != NULL);
    if (!w) return;
    /* The victim's blocks, made before anyone else allocates: side by side,
     * so growing one must move it. */
    rng_state = 12345;
    for (int s = 0; s < VICTIM_SETUP; s++) {
        CHECK(mapalloc_shared_alloc_into(h, 200, &w->slots[VICTIM][s]) == 0);
        fill(w->slots[VICTIM][s], 200, (uint64_t)s);
    }
    void *before = w->slots[VICTIM][TARGET];
    if (op == OP_ALLOC) CHECK(mapalloc_shared_free_from(h, &w->slots[VICTIM][TARGET]) == 0);

    pid_t survivors[VICTIM];
    for (int i = 1; i < VICTIM; i++) survivors[i] = spawn_worker(h, w, i, 3000, true);
    fflush(NULL);
    pid_t victim = fork();
    if (victim == 0) {
        rng_state = 777;
        for (int i = 0; i < 500; i++) {   /* busy among the survivors first, on slots of its own */
            void **slot = &w->slots[VICTIM][VICTIM_SETUP + (int)(rnd() % (SLOTS - VICTIM_SETUP))];
            if (*slot) mapalloc_shared_free_from(h, slot);
            else if (mapalloc_shared_alloc_into(h, random_size(), slot) == 0) fill(*slot, sizeof(struct stamp), 1);
        }
        shared_heap_test_kill_at(point);
        void **target = &w->slots[VICTIM][TARGET];
        if (op == OP_ALLOC) mapalloc_shared_alloc_into(h, 300, target);
        if (op == OP_FREE) mapalloc_shared_free_from(h, target);
        if (op == OP_REALLOC) mapalloc_shared_realloc_into(h, 5000, target);
        _exit(3);   /* not reached: the hook kills the victim */
    }
    int status;
    CHECK(waitpid(victim, &status, 0) == victim);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    atomic_store(&w->stop_after, 1);
    /* The survivors go on past the death, then finish: no deadlock. The
     * parent works too, so the repair may happen in any of them. */
    CHECK(worker(h, w, 0, 3000, false) == 0);
    for (int i = 1; i < VICTIM; i++) reap_ok(survivors[i]);
    drain_mailbox(h, w);

    struct mapalloc_shared_stats st;
    CHECK(mapalloc_shared_check(h, &st) == 0);
    CHECK(st.recoveries == 1);
    CHECK(st.replays == (point == SH_KILL_MID_APPLY ? 1u : 0u));

    /* Exactly the victim's blocks are left (and the world): nothing lost,
     * nothing freed twice. */
    void *target = w->slots[VICTIM][TARGET];
    bool op_happened = point != SH_KILL_BEFORE_COMMIT && point != SH_KILL_REALLOC_COPY;
    if (op == OP_ALLOC) CHECK(op_happened ? target != NULL : target == NULL);
    if (op == OP_FREE) CHECK(op_happened ? target == NULL : target == before);
    if (op == OP_REALLOC) CHECK(target == before);
    size_t held = 0;
    for (int s = 0; s < SLOTS; s++) {
        void *p = w->slots[VICTIM][s];
        if (!p) continue;
        held++;
        if (s == TARGET && op == OP_ALLOC) CHECK(mapalloc_shared_usable_size(h, p) >= 300);
        else if (s < VICTIM_SETUP) CHECK(verify(h, p, 0));
    }
    printf("kill: victim died holding the lock; survivors went on; %zu of its blocks left, recoveries %llu, replays %llu\n",
           held, (unsigned long long)st.recoveries, (unsigned long long)st.replays);
    CHECK(st.used_blocks == 1 + held);
    for (int s = 0; s < SLOTS; s++) CHECK(mapalloc_shared_free_from(h, &w->slots[VICTIM][s]) == 0);
    mapalloc_shared_free(h, w);
    heap_whole(h, 0);
    mapalloc_shared_close(h);
}

/* A victim that uses only crash-safe operations, in a loop, until killed:
 * bit s of victim_filled is set only while slot s holds a completely filled
 * block (set after filling, cleared before freeing or moving). */
static _Noreturn void random_victim(mapalloc_shared *h, struct world *w) {
    rng_state = 0x5deece66dull ^ (uint64_t)getpid();
    for (;;) {
        uint64_t r = rnd();
        int s = (int)((r >> 8) % SLOTS);
        void **slot = &w->slots[VICTIM][s];
        uint64_t bit = 1ull << s;
        if (!*slot) {
            size_t len = random_size();
            if (mapalloc_shared_alloc_into(h, len, slot) == 0) {
                fill(*slot, len, r);
                atomic_fetch_or(&w->victim_filled, bit);
            }
        } else {
            if ((atomic_load(&w->victim_filled) & bit) && !verify(h, *slot, 0)) _exit(1);
            atomic_fetch_and(&w->victim_filled, ~bit);
            if (r % 3 == 0) mapalloc_shared_realloc_into(h, random_size(), slot);
            else mapalloc_shared_free_from(h, slot);
        }
        atomic_fetch_add(&w->victim_ops, 1);
    }
}

/* Victims killed by the parent at whatever instant their work has reached,
 * inside or outside the lock: whatever they were doing, the heap stays
 * consistent and holds exactly the blocks their slots record. */
static void test_kill_random(void) {
    mapalloc_shared *h = mapalloc_shared_create(64u << 20, MAPALLOC_SHARED_ANON, NULL);
    CHECK(h != NULL);
    if (!h) return;
    struct world *w = mapalloc_shared_calloc(h, 1, sizeof *w);
    CHECK(w != NULL);
    if (!w) return;
    pid_t survivors[VICTIM];
    for (int i = 1; i < VICTIM; i++) survivors[i] = spawn_worker(h, w, i, 2000, true);
    rng_state = 99;
    for (int round = 0; round < 25; round++) {
        long target = atomic_load(&w->victim_ops) + 1 + (long)(rnd() % 300);
        fflush(NULL);
        pid_t victim = fork();
        if (victim == 0) random_victim(h, w);
        while (atomic_load(&w->victim_ops) < target) sched_yield();   /* wait for progress, not for time */
        kill(victim, SIGKILL);
        int status;
        CHECK(waitpid(victim, &status, 0) == victim && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        CHECK(mapalloc_shared_check(h, NULL) == 0);
    }
    atomic_store(&w->stop_after, 1);
    CHECK(worker(h, w, 0, 2000, false) == 0);
    for (int i = 1; i < VICTIM; i++) reap_ok(survivors[i]);
    drain_mailbox(h, w);
    struct mapalloc_shared_stats st;
    CHECK(mapalloc_shared_check(h, &st) == 0);
    size_t held = 0;
    for (int s = 0; s < SLOTS; s++) {
        void *p = w->slots[VICTIM][s];
        if (!p) continue;
        held++;
        if (atomic_load(&w->victim_filled) & (1ull << s)) CHECK(verify(h, p, 0));
    }
    printf("kill_random: 25 victims killed, %llu died holding the lock (%llu mid-transaction); %zu blocks in their slots\n",
           (unsigned long long)st.recoveries, (unsigned long long)st.replays, held);
    CHECK(st.used_blocks == 1 + held);
    for (int s = 0; s < SLOTS; s++) CHECK(mapalloc_shared_free_from(h, &w->slots[VICTIM][s]) == 0);
    mapalloc_shared_free(h, w);
    heap_whole(h, 0);
    mapalloc_shared_close(h);
}

/* --- Attaching from an unrelated process. ------------------------------ */

static const char creator_text[] = "written by the creator";
static const char attacher_text[] = "written by the attacher";

/* Run in a process exec'd afresh: attach, check the creator's data, replace
 * it with ours (freeing the creator's block), detach. */
static int attach_child(mapalloc_shared *h) {
    if (!h) { perror("attach"); return 1; }
    char *text = mapalloc_shared_root(h);
    CHECK(text && strcmp(text, creator_text) == 0);
    char *mine = mapalloc_shared_malloc(h, sizeof attacher_text);
    CHECK(mine != NULL);
    if (!mine) return 1;
    strcpy(mine, attacher_text);
    mapalloc_shared_set_root(h, mine);
    mapalloc_shared_free(h, text);
    CHECK(mapalloc_shared_check(h, NULL) == 0);
    mapalloc_shared_close(h);
    return failures ? 1 : 0;
}

static void run_attacher(char **args) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        execv("/proc/self/exe", args);
        _exit(127);
    }
    reap_ok(pid);
}

static void attach_common(mapalloc_shared *h, char **args) {
    char *text = mapalloc_shared_malloc(h, sizeof creator_text);
    CHECK(text != NULL);
    if (!text) return;
    strcpy(text, creator_text);
    mapalloc_shared_set_root(h, text);
    run_attacher(args);
    char *now = mapalloc_shared_root(h);
    CHECK(now && now != text && strcmp(now, attacher_text) == 0);
    mapalloc_shared_free(h, now);
    heap_whole(h, 0);
}

static void test_attach_name(void) {
    char name[64];
    snprintf(name, sizeof name, "mapalloc-test-%d", (int)getpid());
    mapalloc_shared *h = mapalloc_shared_create(1 << 20, MAPALLOC_SHARED_NAMED, name);
    CHECK(h != NULL);
    if (!h) return;
    errno = 0;
    CHECK(mapalloc_shared_create(1 << 20, MAPALLOC_SHARED_NAMED, name) == NULL && errno == EEXIST);
    /* Here the range is taken (by the heap itself): attaching must refuse. */
    errno = 0;
    CHECK(mapalloc_shared_open(name) == NULL && errno == EEXIST);
    char *args[] = {"test_shared_heap", "attach-name-child", name, NULL};
    attach_common(h, args);
    mapalloc_shared_destroy(h);
    errno = 0;
    CHECK(mapalloc_shared_open(name) == NULL && errno == ENOENT);
}

static void test_attach_fd(void) {
    mapalloc_shared *h = mapalloc_shared_create(1 << 20, MAPALLOC_SHARED_MEMFD, NULL);
    CHECK(h != NULL);
    if (!h) return;
    int fd = mapalloc_shared_fd(h);
    CHECK(fd >= 0);
    /* A copy without close-on-exec, for the exec'd process. */
    int inherit = dup(fd);
    CHECK(inherit >= 0);
    char num[16];
    snprintf(num, sizeof num, "%d", inherit);
    char *args[] = {"test_shared_heap", "attach-fd-child", num, NULL};
    attach_common(h, args);
    close(inherit);
    mapalloc_shared_destroy(h);
}

int main(int argc, char **argv) {
    const char *name = argc > 1 ? argv[1] : "";
    static const struct { const char *name; enum shared_heap_kill_point point; enum victim_op op; } kills[] = {
        {"kill_alloc_before_commit", SH_KILL_BEFORE_COMMIT, OP_ALLOC},
        {"kill_alloc_mid_apply", SH_KILL_MID_APPLY, OP_ALLOC},
        {"kill_alloc_after_apply", SH_KILL_AFTER_APPLY, OP_ALLOC},
        {"kill_free_before_commit", SH_KILL_BEFORE_COMMIT, OP_FREE},
        {"kill_free_mid_apply", SH_KILL_MID_APPLY, OP_FREE},
        {"kill_realloc_copy", SH_KILL_REALLOC_COPY, OP_REALLOC},
        {"kill_realloc_mid_apply", SH_KILL_MID_APPLY, OP_REALLOC},
    };
    bool known = true;
    if (strcmp(name, "attach-name-child") == 0 && argc > 2) return attach_child(mapalloc_shared_open(argv[2]));
    if (strcmp(name, "attach-fd-child") == 0 && argc > 2) return attach_child(mapalloc_shared_open_fd(atoi(argv[2])));
    if (strcmp(name, "basic") == 0) test_basic();
    else if (strcmp(name, "fork_stress") == 0) test_fork_stress();
    else if (strcmp(name, "attach_name") == 0) test_attach_name();
    else if (strcmp(name, "attach_fd") == 0) test_attach_fd();
    else if (strcmp(name, "kill_random") == 0) test_kill_random();
    else {
        known = false;
        for (size_t i = 0; i < sizeof kills / sizeof kills[0]; i++)
            if (strcmp(name, kills[i].name) == 0) { test_kill(kills[i].point, kills[i].op); known = true; }
    }
    if (!known) { fprintf(stderr, "usage: %s basic|fork_stress|attach_name|attach_fd|kill_*\n", argv[0]); return 2; }
    printf("shared_heap %s: %s\n", name, failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
