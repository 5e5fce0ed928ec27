/* shared_heap.h: test hooks of shared_heap.c, for tests/shared_heap only. The
 * public API is in mapalloc.h.
 */
#ifndef MAPALLOC_SHARED_HEAP_H
#define MAPALLOC_SHARED_HEAP_H

/* Points inside an operation where the calling process can be made to die
 * (SIGKILL to itself) while it holds the heap's lock. */
enum shared_heap_kill_point {
    SH_KILL_NONE = 0,
    SH_KILL_BEFORE_COMMIT,  /* journal written, not yet committed */
    SH_KILL_MID_APPLY,      /* committed, half of the changes applied */
    SH_KILL_AFTER_APPLY,    /* applied, journal cleared, lock still held */
    SH_KILL_REALLOC_COPY,   /* realloc: new block allocated, data half copied */
};

/* The next operation of this process that reaches point dies there. Process
 * local: set it in the process that is to die. */
void shared_heap_test_kill_at(enum shared_heap_kill_point point);

#endif
