/* fork_user_heap.c: fork() while two threads allocate from and free into one
 * first-class heap. Each child keeps using that heap: it checks every block
 * the workers published, replaces blocks, runs mapalloc_check_heap and walks
 * the heap, and exits 0. Without fork_prepare taking the first-class heaps'
 * locks, a child could copy the heap halfway through a worker's update: about
 * 1 child in 100 then hung in page_collect or aborted naming a bad free.
 * Usage: fork_user_heap [forks]
 */
#define _GNU_SOURCE
#include "mapalloc.h"
#include "testutil.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>

enum { SLOTS = 2048, WORKERS = 2 };

static mapalloc_heap *shared;
static _Atomic(unsigned char *) slots[SLOTS];
static atomic_int stop;
static atomic_size_t ops;

/* A block of n bytes holds n in its first word and a pattern after it. */
static unsigned char *make_block(size_t n) {
    unsigned char *p = mapalloc_heap_malloc(shared, n);
    if (!p) abort();
    memcpy(p, &n, sizeof n);
    pattern_fill(p + sizeof n, n - sizeof n, n);
    return p;
}

static int block_ok(const unsigned char *p) {
    size_t n;
    memcpy(&n, p, sizeof n);
    return n >= 16 && n <= 40000 && pattern_check(p + sizeof n, n - sizeof n, n) == (size_t)-1;
}

static void *worker(void *arg) {
    rng_t r = {(uint64_t)(uintptr_t)arg};
    while (!atomic_load(&stop)) {
        unsigned char *p = make_block(rng_range(&r, 16, 40000));
        unsigned char *old = atomic_exchange(&slots[rng_below(&r, SLOTS)], p);
        if (old) {
            if (!block_ok(old)) abort();
            mapalloc_heap_free(shared, old);
        }
        atomic_fetch_add_explicit(&ops, 1, memory_order_relaxed);
    }
    return NULL;
}

static int count_block(void *block, size_t size, void *arg) {
    (void)block;
    (void)size;
    ++*(size_t *)arg;
    return 0;
}

/* The child: its exit status says what went wrong. */
static int child_main(void) {
    alarm(30); /* a hung child dies of SIGALRM */
    for (int i = 0; i < SLOTS; i++) {
        unsigned char *p = atomic_load(&slots[i]);
        if (p && !block_ok(p)) return 3;
    }
    rng_t r = {77};
    for (int k = 0; k < 5000; k++) {
        unsigned char *p = make_block(rng_range(&r, 16, 40000));
        unsigned char *old = atomic_exchange(&slots[rng_below(&r, SLOTS)], p);
        if (old) {
            if (!block_ok(old)) return 4;
            mapalloc_heap_free(shared, old);
        }
    }
    mapalloc_check_heap();
    size_t walked = 0;
    mapalloc_heap_walk(shared, count_block, &walked);
    return walked >= 1 ? 0 : 5;
}

int main(int argc, char **argv) {
    int forks = argc > 1 ? atoi(argv[1]) : 200;
    REQUIRE(shared = mapalloc_heap_create());
    pthread_t t[WORKERS];
    for (int i = 0; i < WORKERS; i++) REQUIRE(pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)(i + 7)) == 0);
    int ok = 0;
    for (int f = 0; f < forks && check_failures <= 3; f++) {
        size_t target = atomic_load(&ops) + 100;
        while (atomic_load(&ops) < target) sched_yield();
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) _exit(child_main());
        REQUIRE(pid > 0);
        int status;
        REQUIRE(waitpid(pid, &status, 0) == pid);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) ok++;
        else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) CHECKF(0, "fork %d: the child hung for 30 s", f);
        else if (WIFSIGNALED(status)) CHECKF(0, "fork %d: the child died of signal %d", f, WTERMSIG(status));
        else CHECKF(0, "fork %d: the child exited with status %d", f, WEXITSTATUS(status));
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < WORKERS; i++) pthread_join(t[i], NULL);
    printf("fork with a shared first-class heap: %d of %d children used it and exited 0\n", ok, forks);
    return check_failures ? 1 : 0;
}
