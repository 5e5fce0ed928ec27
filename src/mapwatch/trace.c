/* trace.c: ptrace + seccomp. A program is started with a libseccomp filter
 * (installed by the child after PR_SET_NO_NEW_PRIVS, before exec) that returns
 * SECCOMP_RET_TRACE only for the memory calls, so only those stop it; the exit
 * of each is caught with one PTRACE_SYSCALL, where one PTRACE_GETREGS gives
 * the call, its arguments and result. execve traps instead (SIGSYS) and is
 * run again once its old address space has been looked at. Attaching uses
 * PTRACE_SEIZE and plain syscall stops. Calls decode.c for the call table,
 * libseccomp, libc. */
#include "trace.h"

#include "decode.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

static struct {
    struct mw_task **tasks;
    size_t count, cap;
    bool seccomp;          /* stops come from the filter, not from PTRACE_SYSCALL */
    bool attached;         /* -p: detach on SIGINT/SIGTERM */
    pid_t root;
    int root_status;
    const struct mw_trace_hooks *hooks;
} T;

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t forward_sig;

bool mw_trace_used_seccomp(void)
{
    return T.seccomp;
}

/* ---- task table -------------------------------------------------------- */

static struct mw_task *task_find(pid_t tid)
{
    for (size_t i = 0; i < T.count; i++)
        if (T.tasks[i]->tid == tid)
            return T.tasks[i];
    return NULL;
}

static pid_t read_tgid(pid_t tid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)tid);
    FILE *f = fopen(path, "re");
    pid_t tgid = tid;
    if (!f)
        return tid;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "Tgid: %d", &tgid) == 1)
            break;
    fclose(f);
    return tgid;
}

static struct mw_task *task_add(pid_t tid, pid_t tgid)
{
    if (T.count == T.cap) {
        T.cap = T.cap ? T.cap * 2 : 16;
        T.tasks = realloc(T.tasks, T.cap * sizeof *T.tasks);
    }
    struct mw_task *t = calloc(1, sizeof *t);
    t->tid = tid;
    t->tgid = tgid ? tgid : read_tgid(tid);
    T.tasks[T.count++] = t;
    return t;
}

static void task_remove(struct mw_task *t, int status)
{
    if (T.hooks->on_gone)
        T.hooks->on_gone(T.hooks->arg, t, status);
    for (size_t i = 0; i < T.count; i++) {
        if (T.tasks[i] == t) {
            T.tasks[i] = T.tasks[--T.count];
            break;
        }
    }
    free(t);
}

/* ---- restarting -------------------------------------------------------- */

static void restart(struct mw_task *t, int sig)
{
    /* In seccomp mode only a pending exit needs PTRACE_SYSCALL; otherwise the
     * task runs freely until the filter stops it again. */
    int req = (!T.seccomp || t->in_call || t->exec_redo) ? PTRACE_SYSCALL : PTRACE_CONT;
    t->held = false;
    ptrace(req, t->tid, 0L, (long)sig);
}

/* ---- the seccomp filter -----------------------------------------------
 * Memory calls stop with SECCOMP_RET_TRACE, and nothing is asked at that
 * stop: all of them are followed to their exit, where the registers tell the
 * call (orig_rax), its arguments (the kernel keeps rdi rsi rdx r10 r8 r9) and
 * its result. execve and execveat must be seen at their entry instead (the
 * old address space is compared with the kernel's before it goes), and the
 * stops of RET_TRACE look all alike: so these trap (SIGSYS, a stop of its
 * own kind), and mapwatch runs the call again with EXEC_MARK in r9, an
 * argument neither call reads, which the filter lets through. */

#define EXEC_MARK 0x6d61707761746368ull /* "mapwatch" */

static scmp_filter_ctx build_filter(void)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx)
        return NULL;
    /* Calls of another ABI (int $0x80 from a 64-bit program) are not
     * followed, and must run as they would without mapwatch: libseccomp's
     * default for a foreign architecture is to kill the thread. */
    if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ALLOW) != 0) {
        seccomp_release(ctx);
        return NULL;
    }
    /* r9 is argument 5: the mark lets the re-run through */
    const struct scmp_arg_cmp unmarked = { .arg = 5, .op = SCMP_CMP_NE, .datum_a = EXEC_MARK, .datum_b = 0 };
    for (const struct mw_syscall_desc *d = mw_syscalls; d->nr >= 0; d++) {
        int rc = d->traced_at_exit ? seccomp_rule_add(ctx, SCMP_ACT_TRACE(0), d->nr, 0)
                                   : seccomp_rule_add_array(ctx, SCMP_ACT_TRAP, d->nr, 1, &unmarked);
        if (rc != 0) {
            seccomp_release(ctx);
            return NULL;
        }
    }
    return ctx;
}

/* ---- starting a program ----------------------------------------------- */

/* execvp's search, done before forking so a bad program runs nothing. */
static int resolve_program(const char *name, char *out, size_t outlen)
{
    struct stat st;
    if (strchr(name, '/')) {
        if (stat(name, &st) != 0)
            return -errno;
        if (!S_ISREG(st.st_mode) || access(name, X_OK) != 0)
            return -EACCES;
        snprintf(out, outlen, "%s", name);
        return 0;
    }
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    int err = -ENOENT;
    while (*path) {
        const char *colon = strchr(path, ':');
        size_t len = colon ? (size_t)(colon - path) : strlen(path);
        snprintf(out, outlen, "%.*s%s%s", (int)len, path, len ? "/" : "", name);
        if (stat(out, &st) == 0 && S_ISREG(st.st_mode)) {
            if (access(out, X_OK) == 0)
                return 0;
            err = -EACCES;
        }
        path += len + (colon ? 1 : 0);
    }
    return err;
}

static long set_options_flags(bool attach)
{
    long opts = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE |
                PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT | PTRACE_O_TRACESECCOMP;
    /* A program we started must not outlive us with its memory calls failing
     * (ENOSYS from SECCOMP_RET_TRACE without a tracer); one we attached to
     * must keep running if we die. */
    if (!attach)
        opts |= PTRACE_O_EXITKILL;
    return opts;
}

static int launch(const struct mw_options *opt)
{
    char path[PATH_MAX];
    int err = resolve_program(opt->argv[0], path, sizeof path);
    if (err) {
        fprintf(stderr, "mapwatch: cannot run '%s': %s\n", opt->argv[0], strerror(-err));
        return -1;
    }
    scmp_filter_ctx ctx = opt->no_seccomp ? NULL : build_filter();
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) {
        perror("mapwatch: pipe");
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("mapwatch: fork");
        return -1;
    }
    if (pid == 0) {
        close(report[0]);
        if (opt->no_aslr)
            personality(ADDR_NO_RANDOMIZE);
        char ok = '0';
        int load_err = 0;
        if (ctx && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0) {
            load_err = seccomp_load(ctx);
            if (load_err == 0)
                ok = '1';
        }
        if (write(report[1], &ok, 1) != 1)
            _exit(127);
        if (write(report[1], &load_err, sizeof load_err) != (ssize_t)sizeof load_err)
            _exit(127);
        close(report[1]);
        /* Wait here until the tracer has seized us: with the filter loaded,
         * a memory call without a tracer would fail with ENOSYS. */
        raise(SIGSTOP);
        execv(path, opt->argv);
        fprintf(stderr, "mapwatch: cannot run '%s': %s\n", path, strerror(errno));
        _exit(127);
    }
    close(report[1]);
    if (ctx)
        seccomp_release(ctx);
    int status;
    while (waitpid(pid, &status, WUNTRACED) < 0 && errno == EINTR)
        ;
    char ok = '0';
    int load_err = 0;
    if (read(report[0], &ok, 1) != 1 || read(report[0], &load_err, sizeof load_err) != (ssize_t)sizeof load_err)
        ok = '0';
    close(report[0]);
    if (!WIFSTOPPED(status)) {
        fprintf(stderr, "mapwatch: the child died before exec\n");
        return -1;
    }
    T.seccomp = ok == '1';
    if (!T.seccomp && !opt->no_seccomp)
        fprintf(stderr, "mapwatch: seccomp filter unavailable (%s): every system call will stop the program, "
                        "expect it to run several times slower\n", strerror(load_err ? -load_err : ENOSYS));
    if (ptrace(PTRACE_SEIZE, pid, 0L, set_options_flags(false)) != 0) {
        fprintf(stderr, "mapwatch: cannot trace the child: %s\n", strerror(errno));
        kill(pid, SIGKILL);
        return -1;
    }
    T.root = pid;
    struct mw_task *t = task_add(pid, pid);
    t->linked = true;
    t->initial_stop_seen = true;
    kill(pid, SIGCONT);
    return 0;
}

/* ---- attaching --------------------------------------------------------- */

static int attach(const struct mw_options *opt)
{
    pid_t pid = opt->attach_pid;
    char dir[64];
    snprintf(dir, sizeof dir, "/proc/%d/task", (int)pid);
    if (kill(pid, 0) != 0 && errno == ESRCH) {
        fprintf(stderr, "mapwatch: no process with PID %d\n", (int)pid);
        return -1;
    }
    if (read_tgid(pid) != pid) {
        fprintf(stderr, "mapwatch: %d is a thread, not a process: use its process id %d\n", (int)pid, (int)read_tgid(pid));
        return -1;
    }
    T.seccomp = false;
    T.attached = true;
    T.root = pid;
    /* Seize every thread; repeat until a pass finds no new one, since threads
     * may be created while we attach. */
    bool found_new = true;
    while (found_new) {
        found_new = false;
        DIR *d = opendir(dir);
        if (!d) {
            fprintf(stderr, "mapwatch: cannot list threads of %d: %s\n", (int)pid, strerror(errno));
            return -1;
        }
        struct dirent *e;
        while ((e = readdir(d))) {
            pid_t tid = (pid_t)atoi(e->d_name);
            if (tid <= 0 || task_find(tid))
                continue;
            if (ptrace(PTRACE_SEIZE, tid, 0L, set_options_flags(true)) != 0) {
                int err = errno;
                if (err == ESRCH && tid != pid)
                    continue;
                closedir(d);
                if (err == EPERM)
                    fprintf(stderr, "mapwatch: not allowed to trace PID %d: %s (check the owner, "
                                    "CAP_SYS_PTRACE and /proc/sys/kernel/yama/ptrace_scope)\n", (int)pid, strerror(err));
                else
                    fprintf(stderr, "mapwatch: cannot attach to PID %d: %s\n", (int)pid, strerror(err));
                return -1;
            }
            struct mw_task *t = task_add(tid, pid);
            t->linked = true;
            found_new = true;
            ptrace(PTRACE_INTERRUPT, tid, 0L, 0L);
        }
        closedir(d);
    }
    /* Wait until every thread has stopped, so the first snapshot is consistent. */
    for (size_t i = 0; i < T.count; i++) {
        struct mw_task *t = T.tasks[i];
        int status;
        for (;;) {
            pid_t r = waitpid(t->tid, &status, __WALL);
            if (r < 0 && errno == EINTR)
                continue;
            break;
        }
        t->held = true;
        t->initial_stop_seen = true;
        if (WIFSTOPPED(status) && (status >> 16) == 0 && WSTOPSIG(status) != (SIGTRAP | 0x80))
            t->held_sig = WSTOPSIG(status); /* a signal arrived meanwhile: deliver it later */
    }
    fprintf(stderr, "mapwatch: attached to PID %d (%zu thread%s); seccomp cannot be installed in a running "
                    "process, so every system call stops it (expect several times slower system calls)\n",
            (int)pid, T.count, T.count > 1 ? "s" : "");
    if (T.hooks->on_start)
        T.hooks->on_start(T.hooks->arg, task_find(pid));
    for (size_t i = 0; i < T.count; i++)
        restart(T.tasks[i], T.tasks[i]->held_sig);
    return 0;
}

static void detach_all(void)
{
    for (size_t i = 0; i < T.count; i++)
        ptrace(PTRACE_INTERRUPT, T.tasks[i]->tid, 0L, 0L);
    bool snapshot_taken = false;
    while (T.count) {
        int status;
        pid_t tid = waitpid(-1, &status, __WALL);
        if (tid < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        struct mw_task *t = task_find(tid);
        if (!t)
            continue;
        if (WIFEXITED(status) || WIFSIGNALED(status)) {
            task_remove(t, status);
            continue;
        }
        if (!snapshot_taken && T.hooks->on_exit_stop) {
            /* The first stopped thread reports the final layout; others may
             * still be running, which a snapshot of maps tolerates. */
            T.hooks->on_exit_stop(T.hooks->arg, t);
            snapshot_taken = true;
        }
        int sig = 0;
        int event = status >> 16;
        if (WIFSTOPPED(status) && event == 0 && WSTOPSIG(status) != (SIGTRAP | 0x80))
            sig = WSTOPSIG(status);
        ptrace(PTRACE_DETACH, tid, 0L, (long)sig);
        task_remove(t, -1);
    }
}

/* ---- stops ------------------------------------------------------------- */

static bool get_info(pid_t tid, struct __ptrace_syscall_info *info)
{
    memset(info, 0, sizeof *info);
    return ptrace(PTRACE_GET_SYSCALL_INFO, tid, (void *)sizeof *info, info) > 0;
}

static void on_entry(struct mw_task *t, int nr, const uint64_t *args)
{
    const struct mw_syscall_desc *d = mw_syscall_by_nr(nr);
    if (!d)
        return;
    if (!d->traced_at_exit) {
        if (T.hooks->on_exec_entry)
            T.hooks->on_exec_entry(T.hooks->arg, t);
        return;
    }
    t->in_call = true;
    t->entry.nr = nr;
    memcpy(t->entry.args, args, sizeof t->entry.args);
}

static void on_exit_info(struct mw_task *t, const struct __ptrace_syscall_info *info)
{
    if (!t->in_call)
        return; /* e.g. the first stop after attaching inside a call */
    t->in_call = false;
    t->entry.rval = info->exit.rval;
    t->entry.is_error = info->exit.is_error != 0;
    t->entry.ip = info->instruction_pointer;
    t->entry.sp = info->stack_pointer;
    t->entry.have_fp = false;
    if (T.hooks->on_call)
        T.hooks->on_call(T.hooks->arg, t, &t->entry);
}

/* The exit of a memory call in seccomp mode: everything from one GETREGS. */
static void seccomp_call_exit(struct mw_task *t)
{
    struct user_regs_struct r;
    t->in_call = false;
    if (ptrace(PTRACE_GETREGS, t->tid, 0L, &r) != 0)
        return;
    const struct mw_syscall_desc *d = mw_syscall_by_nr((int)r.orig_rax);
    if (!d || !d->traced_at_exit)
        return; /* a RET_TRACE stop of a filter of the program's own */
    t->entry = (struct mw_raw_call){
        .nr = (int)r.orig_rax, .args = { r.rdi, r.rsi, r.rdx, r.r10, r.r8, r.r9 },
        .rval = (int64_t)r.rax, .is_error = r.rax >= (unsigned long long)-4095,
        .ip = r.rip, .sp = r.rsp, .fp = r.rbp, .have_fp = true,
    };
    if (T.hooks->on_call)
        T.hooks->on_call(T.hooks->arg, t, &t->entry);
}

/* A SIGSYS stop: if it is the filter's execve trap, show the hooks the exec
 * entry and run the call again, marked. True if it was ours. */
static bool exec_trapped(struct mw_task *t)
{
    siginfo_t si;
    struct user_regs_struct r;
    if (ptrace(PTRACE_GETSIGINFO, t->tid, 0L, &si) != 0 || si.si_code != 1 /* SYS_SECCOMP */ ||
        ptrace(PTRACE_GETREGS, t->tid, 0L, &r) != 0)
        return false;
    const struct mw_syscall_desc *d = mw_syscall_by_nr(si.si_syscall);
    /* A trap of the program's own filter is the program's: its SIGSYS is
     * delivered. Ours carries no data; one of the program's that also traps
     * execve without data is known when it traps the marked re-run too. */
    if (!d || d->traced_at_exit || si.si_errno != 0 || t->exec_foreign_trap) {
        t->exec_foreign_trap = false;
        return false;
    }
    if (T.hooks->on_exec_entry)
        T.hooks->on_exec_entry(T.hooks->arg, t);
    t->exec_r9 = r.r9;
    r.r9 = EXEC_MARK;
    r.rax = r.orig_rax;
    r.rip -= 2; /* back onto the syscall instruction */
    if (ptrace(PTRACE_SETREGS, t->tid, 0L, &r) != 0)
        return false;
    t->exec_redo = MW_REDO_ENTRY;
    return true;
}

/* The re-run execve passes its entry, then fails (its exit: the program's r9
 * is put back) or succeeds (the exec event ends it, see handle_exec). An exit
 * whose rax still holds the call number was not run at all: another filter
 * trapped it, and its SIGSYS comes next, for the program. */
static void exec_redo_stop(struct mw_task *t)
{
    if (t->exec_redo == MW_REDO_ENTRY) {
        t->exec_redo = MW_REDO_EXIT;
        return;
    }
    struct user_regs_struct r;
    if (ptrace(PTRACE_GETREGS, t->tid, 0L, &r) == 0) {
        t->exec_foreign_trap = r.rax == r.orig_rax;
        r.r9 = t->exec_r9;
        ptrace(PTRACE_SETREGS, t->tid, 0L, &r);
    }
    t->exec_redo = MW_REDO_NONE;
}

static void handle_syscall_stop(struct mw_task *t)
{
    if (t->exec_redo) {
        exec_redo_stop(t);
        return;
    }
    if (T.seccomp) {
        if (t->in_call)
            seccomp_call_exit(t);
        return;
    }
    struct __ptrace_syscall_info info;
    if (!get_info(t->tid, &info))
        return;
    if (info.op == PTRACE_SYSCALL_INFO_ENTRY)
        on_entry(t, (int)info.entry.nr, info.entry.args);
    else if (info.op == PTRACE_SYSCALL_INFO_EXIT)
        on_exit_info(t, &info);
}

/* Only memory calls stop here (execve traps): nothing to ask until the exit. */
static void handle_seccomp_stop(struct mw_task *t)
{
    t->in_call = true;
}

static void handle_new_task(struct mw_task *parent, int event)
{
    unsigned long msg = 0;
    ptrace(PTRACE_GETEVENTMSG, parent->tid, 0L, &msg);
    pid_t tid = (pid_t)msg;
    struct mw_task *child = task_find(tid);
    if (!child)
        child = task_add(tid, event == PTRACE_EVENT_CLONE ? 0 : tid);
    child->linked = true;
    enum mw_new_task_kind kind = event == PTRACE_EVENT_FORK ? MW_NEW_FORK
                               : event == PTRACE_EVENT_VFORK ? MW_NEW_VFORK : MW_NEW_CLONE;
    if (T.hooks->on_new_task)
        T.hooks->on_new_task(T.hooks->arg, parent, child, kind);
    /* The child was held at its first stop until now, so that none of its
     * calls could come before we knew its address space. */
    if (child->initial_stop_seen && child->held)
        restart(child, 0);
}

static void handle_exec(struct mw_task *t)
{
    unsigned long msg = 0;
    ptrace(PTRACE_GETEVENTMSG, t->tid, 0L, &msg);
    pid_t old_tid = (pid_t)msg;
    /* A non-leader thread that execs takes over the leader's tid; its old
     * identity and all other threads of the group are gone. */
    for (size_t i = 0; i < T.count;) {
        struct mw_task *o = T.tasks[i];
        if (o != t && o->tgid == t->tgid) {
            task_remove(o, 0);
            continue;
        }
        i++;
    }
    t->in_call = false;
    t->exec_redo = MW_REDO_NONE; /* the new image's registers are its own */
    if (T.hooks->on_exec)
        T.hooks->on_exec(T.hooks->arg, t, old_tid);
}

static void handle_stop(struct mw_task *t, int status)
{
    int sig = WSTOPSIG(status);
    int event = status >> 16;
    t->held = true;
    if (sig == (SIGTRAP | 0x80)) {
        handle_syscall_stop(t);
        restart(t, 0);
        return;
    }
    switch (event) {
    case PTRACE_EVENT_SECCOMP:
        handle_seccomp_stop(t);
        restart(t, 0);
        return;
    case PTRACE_EVENT_EXEC:
        handle_exec(t); /* the first one is the program's start */
        restart(t, 0);
        return;
    case PTRACE_EVENT_FORK:
    case PTRACE_EVENT_VFORK:
    case PTRACE_EVENT_CLONE:
        handle_new_task(t, event);
        restart(t, 0);
        return;
    case PTRACE_EVENT_EXIT:
        if (T.hooks->on_exit_stop)
            T.hooks->on_exit_stop(T.hooks->arg, t);
        restart(t, 0);
        return;
    case PTRACE_EVENT_STOP:
        if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) {
            /* group-stop: stay stopped but keep reporting */
            t->held = false;
            ptrace(PTRACE_LISTEN, t->tid, 0L, 0L);
            return;
        }
        if (!t->initial_stop_seen) {
            t->initial_stop_seen = true;
            if (!t->linked)
                return; /* held until the parent's event arrives */
        }
        restart(t, 0);
        return;
    default:
        break;
    }
    if (event == 0 && sig == SIGSYS && T.seccomp && exec_trapped(t)) {
        restart(t, 0);
        return;
    }
    if (event == 0 && sig != SIGTRAP) {
        restart(t, sig); /* signal-delivery-stop: deliver the signal */
        return;
    }
    restart(t, event ? 0 : sig);
}

static void on_signal(int sig)
{
    if (T.attached)
        stop_requested = 1;
    else
        forward_sig = sig;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal; /* no SA_RESTART: waitpid must return EINTR */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    if (T.attached) {
        sigaction(SIGINT, &sa, NULL);
    } else {
        /* Ctrl-C reaches the program through the terminal; we stay to record its end. */
        signal(SIGINT, SIG_IGN);
        signal(SIGQUIT, SIG_IGN);
    }
}

int mw_trace_run(const struct mw_options *opt, const struct mw_trace_hooks *hooks, int *exit_status)
{
    T.hooks = hooks;
    T.attached = opt->attach_pid > 0;
    install_signals();
    if ((T.attached ? attach(opt) : launch(opt)) != 0)
        return -1;
    *exit_status = 0;
    while (T.count) {
        if (stop_requested) {
            fprintf(stderr, "mapwatch: detaching from PID %d, which keeps running\n", (int)T.root);
            detach_all();
            break;
        }
        if (forward_sig) {
            kill(T.root, forward_sig);
            forward_sig = 0;
        }
        int status;
        pid_t tid = waitpid(-1, &status, __WALL);
        if (tid < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        struct mw_task *t = task_find(tid);
        if (!t)
            t = task_add(tid, 0); /* a new child reporting before its parent's event */
        if (WIFEXITED(status) || WIFSIGNALED(status)) {
            if (tid == T.root) {
                T.root_status = status;
                *exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            }
            task_remove(t, status);
        } else if (WIFSTOPPED(status)) {
            handle_stop(t, status);
        }
    }
    free(T.tasks);
    T.tasks = NULL;
    return 0;
}
