/* trace.h: the ptrace engine. It starts a program under a seccomp filter that
 * stops it only at the memory calls (or attaches to a running process with
 * plain syscall stops), follows every thread and child, and reports completed
 * calls and process events to hooks. It knows nothing of the model or outputs. */
#ifndef MAPWATCH_TRACE_H
#define MAPWATCH_TRACE_H

#include "mapwatch.h"

struct mw_raw_call {
    int nr;
    uint64_t args[6];
    int64_t rval;
    bool is_error;
    uint64_t ip, sp;   /* the thread's instruction and stack pointers at the call's exit */
    uint64_t fp;       /* and its rbp, if have_fp */
    bool have_fp;
};

/* Where a thread is in the re-run of an execve that the filter trapped. */
enum mw_exec_redo { MW_REDO_NONE, MW_REDO_ENTRY, MW_REDO_EXIT };

/* One traced thread. `space` and `user` belong to the hooks' owner. */
struct mw_task {
    pid_t tid, tgid;
    struct mw_space *space;
    void *user;
    bool in_call;             /* between the entry of a followed call (seccomp mode: any stop of the
                                 filter's) and its exit */
    struct mw_raw_call entry;
    enum mw_exec_redo exec_redo;
    uint64_t exec_r9;         /* the thread's r9 while the re-run carries the filter's mark */
    bool exec_foreign_trap;   /* the re-run was trapped by a filter of the program's own */
    bool linked;              /* its parent's fork/clone event has been seen (or it is a root) */
    bool initial_stop_seen;   /* new tasks start with a stop we must answer */
    bool held;                /* stopped and not restarted yet */
    int held_sig;
    bool exited;
};

enum mw_new_task_kind { MW_NEW_FORK, MW_NEW_VFORK, MW_NEW_CLONE };

struct mw_trace_hooks {
    void *arg;
    /* The process is stopped at its first exec (run) or all threads are stopped (attach). */
    void (*on_start)(void *arg, struct mw_task *t);
    /* A followed call completed; t is stopped at its exit. */
    void (*on_call)(void *arg, struct mw_task *t, const struct mw_raw_call *c);
    /* t is about to exec (its old address space still exists). */
    void (*on_exec_entry)(void *arg, struct mw_task *t);
    /* t completed an exec; old_tid is the thread that called it. */
    void (*on_exec)(void *arg, struct mw_task *t, pid_t old_tid);
    void (*on_new_task)(void *arg, struct mw_task *parent, struct mw_task *child, enum mw_new_task_kind kind);
    /* t is exiting and stopped, its memory still there; also called for each
     * group leader just before a detach. */
    void (*on_exit_stop)(void *arg, struct mw_task *t);
    /* t is gone: status as from waitpid, or -1 when detached. */
    void (*on_gone)(void *arg, struct mw_task *t, int status);
};

/* Run (opt->argv) or attach (opt->attach_pid) and trace until every task has
 * gone or, when attached, until SIGINT/SIGTERM. *exit_status is the traced
 * program's status as a shell would report it (128+signal when killed).
 * Returns 0, or -1 after printing a one-line error (nothing traced). */
int mw_trace_run(const struct mw_options *opt, const struct mw_trace_hooks *hooks, int *exit_status);

/* Whether the run used seccomp (for the report). */
bool mw_trace_used_seccomp(void);

#endif
