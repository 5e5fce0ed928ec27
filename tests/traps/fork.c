/* fork.c: fork() from a program whose other threads are allocating and
 * freeing in loops. Each child allocates, verifies and frees (also blocks the
 * parent's threads allocated before the fork, whose owners do not exist in
 * the child), starts a thread of its own, and exits 0. A child that hangs (an
 * allocator lock held across fork by a thread that does not exist in the
 * child) is killed by its alarm and fails the test. The child also checks
 * that the workers' heaps are retired (its exit status 11-13 says how not). Half the forks come from
 * a thread other than main, and every tenth child forks a grandchild.
 * Run with LD_PRELOAD=libmapalloc.so. Usage: fork [forks]
 */
#define _GNU_SOURCE
#include "../preload_check.h"
#include "../testutil.h"

#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>

enum { WORKERS = 3, POOL = 512 };

/* Blocks shared by the workers; the lock is held across fork so the child
 * sees a consistent pool (the allocator's own locks are its business). */
static struct { unsigned char *p; size_t n; } pool[POOL];
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int stop;
static atomic_size_t worker_ops;

static uint64_t seed_of(const unsigned char *p, size_t n) { return block_seed(p, n); }

static void *worker(void *arg) {
    rng_t r = {(uint64_t)(uintptr_t)arg};
    while (!atomic_load(&stop)) {
        size_t n = rng_below(&r, 64) ? rng_range(&r, 1, 4096) : rng_range(&r, 4097, 600000);
        unsigned char *p = malloc(n);
        if (!p) abort();
        pattern_fill(p, n, seed_of(p, n));
        size_t slot = rng_below(&r, POOL);
        pthread_mutex_lock(&pool_lock);
        unsigned char *old = pool[slot].p;
        size_t old_n = pool[slot].n;
        pool[slot].p = p;
        pool[slot].n = n;
        pthread_mutex_unlock(&pool_lock);
        if (old) {
            if (pattern_check(old, old_n, seed_of(old, old_n)) != (size_t)-1) abort();
            free(old);
        }
        void *tmp = calloc(1, rng_range(&r, 1, 3000));
        free(tmp);
        atomic_fetch_add_explicit(&worker_ops, 1, memory_order_relaxed);
    }
    return NULL;
}

static void *child_thread(void *arg) {
    (void)arg;
    for (int i = 0; i < 1000; i++) free(malloc((size_t)i * 13 + 1));
    return malloc(77);
}

/* A grandchild: forked by a child of the multi-threaded parent. */
static int grandchild_main(void) {
    alarm(30);
    for (int i = 0; i < 500; i++) {
        unsigned char *p = malloc((size_t)i * 101 + 1);
        if (!p) return 9;
        pattern_fill(p, (size_t)i * 101 + 1, 3);
        if (pattern_check(p, (size_t)i * 101 + 1, 3) != (size_t)-1) return 10;
        free(p);
    }
    return 0;
}

/* What each child does; its exit status says what went wrong. */
static int child_main(int nested) {
    alarm(30); /* a deadlocked child dies of SIGALRM */
    /* Blocks the parent's threads allocated. */
    for (int i = 0; i < POOL; i++) {
        if (!pool[i].p) continue;
        if (pattern_check(pool[i].p, pool[i].n, seed_of(pool[i].p, pool[i].n)) != (size_t)-1) return 3;
        free(pool[i].p);
    }
    /* New blocks of every range. */
    unsigned char *mine[60];
    for (int i = 0; i < 60; i++) {
        size_t n = (size_t)1 << (i % 21);
        if (!(mine[i] = malloc(n))) return 4;
        pattern_fill(mine[i], n, (uint64_t)i);
    }
    for (int i = 0; i < 60; i++) {
        if (pattern_check(mine[i], (size_t)1 << (i % 21), (uint64_t)i) != (size_t)-1) return 5;
        free(mine[i]);
    }
    /* The workers' heaps are retired in the child (HEAP_FORKED): a worker
     * may have been halfway through changing its heap at the fork, so no
     * thread of the child may adopt it (src/alloc/heap.c heaps_fork_child). */
    size_t (*stats_json)(char *, size_t) = (size_t (*)(char *, size_t))dlsym(RTLD_DEFAULT, "mapalloc_stats_json");
    if (!stats_json) return 11;
    static char json[1 << 16];
    if (stats_json(json, sizeof json) >= sizeof json) return 12;
    int forked = 0, other = 0; /* other: active or abandoned */
    for (const char *q = json; (q = strstr(q, "\"state\":\"")); q++) {
        if (strncmp(q + 9, "forked", 6) == 0) forked++;
        else other++;
    }
    /* Only the forking thread's heap is in use; the workers that have
     * allocated (at least one by now) left theirs behind. */
    if (forked < 1 || other > 1) return 13;
    /* A thread of the child's own. */
    pthread_t t;
    void *res;
    if (pthread_create(&t, NULL, child_thread, NULL) != 0) return 6;
    if (pthread_join(t, &res) != 0 || !res) return 7;
    free(res);
    if (nested) {
        pid_t g = fork();
        if (g == 0) _exit(grandchild_main());
        int status;
        if (g < 0 || waitpid(g, &status, 0) != g || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return 8;
    }
    return 0;
}

/* Fork `count` times from the calling thread; the number of children that
 * exited 0. Every tenth child forks a grandchild. */
static int fork_loop(int count) {
    int ok = 0;
    for (int i = 0; i < count; i++) {
        /* Let the workers run between forks. */
        size_t target = atomic_load(&worker_ops) + 200;
        while (atomic_load(&worker_ops) < target) sched_yield();
        fflush(stdout);
        pthread_mutex_lock(&pool_lock);
        pid_t pid = fork();
        if (pid == 0) _exit(child_main(i % 10 == 0));
        pthread_mutex_unlock(&pool_lock);
        REQUIRE(pid > 0);
        int status;
        REQUIRE(waitpid(pid, &status, 0) == pid);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            ok++;
        } else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) {
            CHECKF(0, "fork %d: the child hung for 30 s (deadlock)", i);
        } else if (WIFSIGNALED(status)) {
            CHECKF(0, "fork %d: the child died of signal %d", i, WTERMSIG(status));
        } else {
            CHECKF(0, "fork %d: the child exited with status %d", i, WEXITSTATUS(status));
        }
        if (check_failures > 3) break;
    }
    return ok;
}

static void *forking_thread(void *arg) { return (void *)(intptr_t)fork_loop(*(int *)arg); }

int main(int argc, char **argv) {
    int forks = argc > 1 ? atoi(argv[1]) : 100;
    require_mapalloc();
    pthread_t w[WORKERS];
    for (int i = 0; i < WORKERS; i++) REQUIRE(pthread_create(&w[i], NULL, worker, (void *)(uintptr_t)(i + 1)) == 0);
    /* Half the forks from the main thread, half from another thread. */
    int from_main = forks / 2, from_thread = forks - from_main;
    int ok = fork_loop(from_main);
    pthread_t forker;
    void *res;
    REQUIRE(pthread_create(&forker, NULL, forking_thread, &from_thread) == 0);
    REQUIRE(pthread_join(forker, &res) == 0);
    ok += (int)(intptr_t)res;
    atomic_store(&stop, 1);
    for (int i = 0; i < WORKERS; i++) REQUIRE(pthread_join(w[i], NULL) == 0);
    for (int i = 0; i < POOL; i++) {
        if (pool[i].p && pattern_check(pool[i].p, pool[i].n, seed_of(pool[i].p, pool[i].n)) != (size_t)-1)
            CHECKF(0, "pool block %d corrupt in the parent", i);
        free(pool[i].p);
    }
    printf("fork: %d of %d children allocated, freed and exited 0 while %d threads allocated\n", ok, forks, WORKERS);
    return check_failures ? 1 : 0;
}
