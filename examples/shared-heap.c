/* shared-heap.c: a heap shared by a parent and the children it forks. Each
 * child writes a message into a block of the heap and links it into a list
 * that lives in the heap too; the parent reads every message and frees the
 * blocks the children allocated.
 *
 *   build/examples/shared-heap
 */
#define _GNU_SOURCE
#include <mapalloc.h>

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHILDREN 4

struct message {
    struct message *next;       /* a plain pointer: the heap is at the same address everywhere */
    pid_t from;
    char text[64];
};

struct board {                  /* the application's root, in the heap */
    _Atomic(struct message *) head;
};

static int child(mapalloc_shared *heap, int index) {
    struct board *board = mapalloc_shared_root(heap);
    struct message *m = mapalloc_shared_malloc(heap, sizeof *m);
    if (!m) return 1;
    m->from = getpid();
    snprintf(m->text, sizeof m->text, "hello from child %d", index);
    m->next = atomic_load(&board->head);
    while (!atomic_compare_exchange_weak(&board->head, &m->next, m)) {}
    return 0;
}

int main(void) {
    /* Anonymous shared memory: every process forked from now on shares it. */
    mapalloc_shared *heap = mapalloc_shared_create(1 << 20, MAPALLOC_SHARED_ANON, NULL);
    if (!heap) { perror("shared-heap: create"); return 1; }
    struct board *board = mapalloc_shared_calloc(heap, 1, sizeof *board);
    if (!board) { perror("shared-heap: calloc"); return 1; }
    mapalloc_shared_set_root(heap, board);

    for (int i = 0; i < CHILDREN; i++) {
        pid_t pid = fork();
        if (pid < 0) { perror("fork"); return 1; }
        if (pid == 0) _exit(child(heap, i));
    }
    int failed = 0;
    for (int i = 0; i < CHILDREN; i++) {
        int status;
        if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) failed++;
    }

    int received = 0;
    for (struct message *m = atomic_load(&board->head), *next; m; m = next) {
        printf("parent %d got \"%s\" (block %p, allocated by %d)\n", (int)getpid(), m->text, (void *)m, (int)m->from);
        next = m->next;
        mapalloc_shared_free(heap, m);      /* a block another process allocated */
        received++;
    }
    mapalloc_shared_free(heap, board);

    struct mapalloc_shared_stats st;
    if (mapalloc_shared_check(heap, &st) != 0) { perror("shared-heap: check"); return 1; }
    printf("%d messages; heap consistent, %zu blocks in use, %zu of %zu bytes free\n", received,
           st.used_blocks, st.free_bytes, st.capacity);
    mapalloc_shared_destroy(heap);
    return failed == 0 && received == CHILDREN && st.used_blocks == 0 ? 0 : 1;
}
