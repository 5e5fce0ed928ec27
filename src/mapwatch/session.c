/* session.c: the trace hooks. Each completed call becomes an event: decoded
 * (decode.c), attributed (attrib.c), applied to its address space (model.c),
 * joined with the allocator's reason (allocchan.c) and printed (out_text.c).
 * Snapshots of /proc/PID/maps at start, exec and exit are compared with the
 * model and differences become implicit or mismatch events. */
#include "session.h"

#include "allocchan.h"
#include "attrib.h"
#include "decode.h"
#include "model.h"
#include "procmaps.h"
#include "trace.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define KCMP_VM 1

/* Events a timeline-only run keeps: enough for the allocator's lines to be
 * joined to their calls (read within 256 calls, see maybe_poll). */
#define RECENT_EVENTS 4096

struct mw_session {
    const struct mw_options *opt;
    FILE *timeline;
    double t0;
    /* Every event when a report needs them all (JSON, HTML); otherwise the
     * most recent ones, while those with findings move to `kept` for the
     * summary: memory stays bounded however long the program runs. */
    bool keep_all;
    struct mw_event *events;
    size_t count, cap;
    struct mw_event *kept;
    size_t nkept, kept_cap;
    uint64_t total, calls, children, threads;   /* events recorded, and of which kinds */
    struct mw_bandlog bands;
    unsigned next_space;
    struct mw_attrib *attrib;
    struct mw_allocchan *chan;
    pid_t root;
    struct mw_maps final;        /* root process's last smaps */
    int term_signal;
    bool detached;
    size_t mismatches;
    double end_time;
    uint64_t calls_seen, next_poll;  /* side-channel polling */
    struct mw_strset changes;    /* the `change` texts of the events held, each kept once */
};

static void event_free(struct mw_event *ev)
{
    free(ev->path);
    free(ev->note);
    free(ev->findings);
}

static void keep(struct mw_session *s, const struct mw_event *ev)
{
    if (s->nkept == s->kept_cap) {
        s->kept_cap = s->kept_cap ? s->kept_cap * 2 : 64;
        s->kept = realloc(s->kept, s->kept_cap * sizeof *s->kept);
    }
    s->kept[s->nkept++] = *ev;
}

/* Timeline-only runs: all but the most recent events go, those with
 * findings to `kept`. */
static void forget_old_events(struct mw_session *s)
{
    size_t old = s->count - RECENT_EVENTS;
    for (size_t i = 0; i < old; i++) {
        if (s->events[i].findings)
            keep(s, &s->events[i]);
        else
            event_free(&s->events[i]);
    }
    memmove(s->events, s->events + old, RECENT_EVENTS * sizeof *s->events);
    s->count = RECENT_EVENTS;
    /* The change texts go with the events: the set is made again from those
     * still held (else it would grow by every distinct text of the run). */
    struct mw_strset held = { 0 };
    for (size_t i = 0; i < s->count; i++)
        if (s->events[i].change)
            s->events[i].change = (char *)mw_strset_add(&held, s->events[i].change);
    for (size_t i = 0; i < s->nkept; i++)
        if (s->kept[i].change)
            s->kept[i].change = (char *)mw_strset_add(&held, s->kept[i].change);
    mw_strset_free(&s->changes);
    s->changes = held;
}

static struct mw_event *new_event(struct mw_session *s, struct mw_task *t, enum mw_event_type type, const char *name)
{
    if (!s->keep_all && s->count == 2 * RECENT_EVENTS)
        forget_old_events(s);
    if (s->count == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1024;
        s->events = realloc(s->events, s->cap * sizeof *s->events);
    }
    struct mw_event *ev = &s->events[s->count];
    memset(ev, 0, sizeof *ev);
    ev->seq = s->total;
    ev->time = mw_now() - s->t0;
    ev->pid = t->tgid;
    ev->tid = t->tid;
    ev->space_id = t->space ? t->space->id : 0;
    ev->type = type;
    ev->syscall = name;
    ev->fd = -1;
    return ev;
}

static void emit(struct mw_session *s, struct mw_event *ev)
{
    /* A loop's calls often change the layout the same way, word for word:
     * keep such a text once (events may be kept to the end for the reports). */
    if (ev->change) {
        char *own = ev->change;
        ev->change = (char *)mw_strset_add(&s->changes, own);
        free(own);
    }
    s->count++;
    s->total++;
    s->calls += ev->type == MW_EV_SYSCALL;
    if (s->timeline)
        mw_text_event(s->timeline, ev);
}

static char *read_link(const char *fmt, pid_t tid, long n)
{
    char path[64], target[PATH_MAX];
    snprintf(path, sizeof path, fmt, (int)tid, n);
    ssize_t len = readlink(path, target, sizeof target - 1);
    if (len < 0)
        return NULL;
    target[len] = '\0';
    return strdup(target);
}

static struct mw_space *space_new(struct mw_session *s, pid_t pid)
{
    /* Bands are drawn by the HTML report only. */
    return mw_space_new(++s->next_space, pid, s->opt->html_path ? &s->bands : NULL);
}

static void space_release(struct mw_session *s, struct mw_task *t)
{
    if (t->space && --t->space->users == 0)
        mw_space_free(t->space, s->total);
    t->space = NULL;
}

/* ---- snapshots ---------------------------------------------------------- */

struct compare_ctx {
    struct mw_session *s;
    struct mw_task *t;
    const char *when;
    uint64_t stack_start;
};

static void on_diff(const struct mw_diff *d, void *arg)
{
    struct compare_ctx *c = arg;
    struct mw_session *s = c->s;
    char size[32], perm[4];
    struct mw_buf b = { 0 };
    /* The main stack grows on page faults, not by a call: an implicit event. */
    if (!d->model && d->kernel && d->kernel->path && strcmp(d->kernel->path, "[stack]") == 0) {
        struct mw_event *ev = new_event(s, c->t, MW_EV_IMPLICIT, "stack-growth");
        ev->addr = d->start;
        ev->length = d->end - d->start;
        ev->kind = MW_KIND_STACK;
        ev->have |= MW_HAVE_KIND;
        mw_buf_printf(&b, "+%s the main stack grew (page faults, no system call; seen at %s)",
                      mw_size_str(d->end - d->start, size), c->when);
        ev->change = mw_buf_take(&b);
        c->stack_start = d->start;
        emit(s, ev);
        return;
    }
    struct mw_event *ev = new_event(s, c->t, MW_EV_MISMATCH, "mismatch");
    ev->addr = d->start;
    ev->length = d->end - d->start;
    if (!d->model)
        mw_buf_printf(&b, "kernel has %s %s%c %s that the model lacks", mw_size_str(ev->length, size),
                      mw_prot_str(d->kernel->prot, perm), d->kernel->shared ? 's' : 'p',
                      d->kernel->path ? d->kernel->path : "anonymous");
    else if (!d->kernel)
        mw_buf_printf(&b, "model has %s %s%c %s that the kernel lacks", mw_size_str(ev->length, size),
                      mw_prot_str(d->model->prot, perm), d->model->shared ? 's' : 'p',
                      d->model->path ? d->model->path : "anonymous");
    else {
        char perm2[4];
        mw_buf_printf(&b, "%s: model %s%c %s, kernel %s%c %s", mw_size_str(ev->length, size),
                      mw_prot_str(d->model->prot, perm), d->model->shared ? 's' : 'p',
                      d->model->path ? d->model->path : "anonymous", mw_prot_str(d->kernel->prot, perm2),
                      d->kernel->shared ? 's' : 'p', d->kernel->path ? d->kernel->path : "anonymous");
    }
    mw_buf_printf(&b, " (at %s)", c->when);
    ev->note = mw_buf_take(&b);
    s->mismatches++;
    emit(s, ev);
}

/* Compare t's space with the kernel; keep the smaps for the summary when it
 * is the first process. */
static void snapshot_compare(struct mw_session *s, struct mw_task *t, const char *when, bool keep)
{
    if (!t->space)
        return;
    struct mw_maps kernel = { 0 };
    if (mw_maps_read(t->tid, keep, &kernel) != 0)
        return;
    struct compare_ctx c = { s, t, when, 0 };
    mw_space_compare(t->space, &kernel, on_diff, &c);
    if (c.stack_start)
        mw_space_grow_stack(t->space, c.stack_start, s->total);
    if (keep) {
        mw_classify_list(kernel.regions, kernel.count);
        mw_maps_free(&s->final);
        s->final = kernel;
    } else {
        mw_maps_free(&kernel);
    }
}

static void load_space(struct mw_session *s, struct mw_task *t, struct mw_event *ev)
{
    struct mw_maps kernel = { 0 };
    char size[32];
    if (mw_maps_read(t->tid, false, &kernel) == 0) {
        mw_space_load(t->space, &kernel, s->total);
        uint64_t total = 0;
        for (size_t i = 0; i < kernel.count; i++)
            total += kernel.regions[i].end - kernel.regions[i].start;
        struct mw_buf b = { 0 };
        mw_buf_printf(&b, "new address space: %zu regions, %s", kernel.count, mw_size_str(total, size));
        ev->change = mw_buf_take(&b);
        ev->length = total;
        mw_maps_free(&kernel);
    }
}

/* ---- hooks -------------------------------------------------------------- */

static void hook_start(void *arg, struct mw_task *t)
{
    struct mw_session *s = arg;
    s->root = t->tgid;
    t->space = space_new(s, t->tgid);
    t->space->users = 1;
    struct mw_event *ev = new_event(s, t, MW_EV_IMPLICIT, "attach");
    ev->space_id = t->space->id;
    ev->path = read_link("/proc/%d/exe", t->tid, 0);
    load_space(s, t, ev);
    emit(s, ev);
}

static void hook_exec_entry(void *arg, struct mw_task *t)
{
    struct mw_session *s = arg;
    if (t->space && t->space->users == 1)
        snapshot_compare(s, t, "exec", false);
}

static void hook_exec(void *arg, struct mw_task *t, pid_t old_tid)
{
    struct mw_session *s = arg;
    if (!s->root)
        s->root = t->tgid;
    space_release(s, t);
    if (s->attrib)
        mw_attrib_forget(s->attrib, t->tgid);
    t->space = space_new(s, t->tgid);
    t->space->users = 1;
    struct mw_event *ev = new_event(s, t, MW_EV_EXEC, "exec");
    ev->space_id = t->space->id;
    ev->path = read_link("/proc/%d/exe", t->tid, 0);
    if (old_tid != t->tid) {
        struct mw_buf b = { 0 };
        mw_buf_printf(&b, "exec by thread %d, which now has the process id", (int)old_tid);
        ev->note = mw_buf_take(&b);
    }
    load_space(s, t, ev);
    emit(s, ev);
}

static bool same_vm(pid_t a, pid_t b, bool fallback)
{
    long r = syscall(SYS_kcmp, a, b, KCMP_VM, 0, 0);
    return r < 0 ? fallback : r == 0;
}

static void hook_new_task(void *arg, struct mw_task *parent, struct mw_task *child, enum mw_new_task_kind kind)
{
    struct mw_session *s = arg;
    if (!parent->space)
        return;
    bool shared = same_vm(parent->tid, child->tid, kind != MW_NEW_FORK);
    bool forked = kind == MW_NEW_FORK || kind == MW_NEW_VFORK;
    const char *name = kind == MW_NEW_VFORK ? "vfork" : kind == MW_NEW_FORK ? "fork" : shared ? "thread" : "clone";
    s->children += forked;
    s->threads += !forked && shared;
    if (shared) {
        child->space = parent->space;
        child->space->users++;
    } else {
        child->space = mw_space_fork(parent->space, ++s->next_space, child->tgid, s->total);
        child->space->users = 1;
    }
    struct mw_event *ev = new_event(s, parent, MW_EV_IMPLICIT, name);
    struct mw_buf b = { 0 };
    if (shared)
        mw_buf_printf(&b, "%s %d shares address space %u", child->tgid == parent->tgid ? "thread" : "process",
                      (int)child->tid, parent->space->id);
    else
        mw_buf_printf(&b, "process %d gets address space %u, a copy of %zu regions", (int)child->tid,
                      child->space->id, child->space->count);
    ev->change = mw_buf_take(&b);
    ev->result = child->tid; /* as fork returns it */
    emit(s, ev);
}

static void joined(struct mw_event *ev, void *arg)
{
    struct mw_session *s = arg;
    if (s->timeline)
        mw_text_reason(s->timeline, ev);
}

static void poll_channel(struct mw_session *s)
{
    if (s->chan)
        mw_allocchan_poll(s->chan, s->events, s->count, joined, s);
}

/* Before each call: the allocator writes its line after the call returns, so
 * the previous call's line is there by now. A program that has never written
 * to the channel (not on mapalloc) is polled ever more rarely: at calls 1, 2,
 * 4, ... then every 256th; everything is read at the end anyway. */
static void maybe_poll(struct mw_session *s)
{
    if (!s->chan)
        return;
    s->calls_seen++;
    if (mw_allocchan_lines(s->chan) == 0 && s->calls_seen >= s->next_poll) {
        s->next_poll = s->next_poll < 256 ? s->next_poll * 2 : s->next_poll + 256;
        poll_channel(s);
    } else if (mw_allocchan_lines(s->chan)) {
        poll_channel(s);
    }
}

static void hook_call(void *arg, struct mw_task *t, const struct mw_raw_call *c)
{
    struct mw_session *s = arg;
    maybe_poll(s);
    struct mw_event *ev = new_event(s, t, MW_EV_SYSCALL, NULL);
    ev->nr = c->nr;
    memcpy(ev->args, c->args, sizeof ev->args);
    if (c->is_error) {
        ev->result = -1;
        ev->err = (int)-c->rval;
    } else {
        ev->result = c->rval;
    }
    mw_decode_event(ev);
    if (c->nr == SYS_brk)
        ev->result = c->rval; /* brk returns the break, never -1 */
    if ((ev->have & MW_HAVE_FD) && !ev->err)
        ev->path = read_link("/proc/%d/fd/%ld", t->tid, (long)ev->fd);
    if (c->nr == SYS_shmat && !ev->err) {
        /* The segment's size is not an argument: ask the kernel. */
        struct mw_maps kernel = { 0 };
        mw_maps_read(t->tid, false, &kernel);
        for (size_t i = 0; i < kernel.count; i++) {
            if (kernel.regions[i].start == ev->addr) {
                uint64_t end = kernel.regions[i].end;
                for (size_t j = i + 1; j < kernel.count && kernel.regions[j].start == end &&
                     kernel.regions[j].path && kernel.regions[i].path &&
                     strcmp(kernel.regions[j].path, kernel.regions[i].path) == 0; j++)
                    end = kernel.regions[j].end;
                ev->length = end - ev->addr;
                ev->path = kernel.regions[i].path ? strdup(kernel.regions[i].path) : NULL;
                break;
            }
        }
        mw_maps_free(&kernel);
    }
    if (s->attrib)
        ev->caller = mw_attrib_caller(s->attrib, t->tgid, t->tid, c->ip, c->sp, c->have_fp ? &c->fp : NULL);
    if (t->space)
        mw_space_apply(t->space, ev);
    emit(s, ev);
}

static void hook_exit_stop(void *arg, struct mw_task *t)
{
    struct mw_session *s = arg;
    if (!t->space)
        return;
    if (t->space->users == 1 || t->tid == t->tgid)
        snapshot_compare(s, t, "exit", t->tgid == s->root);
}

static void hook_gone(void *arg, struct mw_task *t, int status)
{
    struct mw_session *s = arg;
    poll_channel(s);
    if (t->tid == t->tgid && t->space) {
        char sig[16];
        struct mw_event *ev = new_event(s, t, MW_EV_EXIT, status == -1 ? "detach" : "exit");
        struct mw_buf b = { 0 };
        if (status == -1) {
            mw_buf_printf(&b, "detached, the process keeps running");
            s->detached = true;
        } else if (WIFSIGNALED(status)) {
            mw_buf_printf(&b, "killed by %s%s", mw_signal_name(WTERMSIG(status), sig),
                          WCOREDUMP(status) ? " (core dumped)" : "");
            ev->result = 128 + WTERMSIG(status);
            if (t->tgid == s->root)
                s->term_signal = WTERMSIG(status);
        } else {
            mw_buf_printf(&b, "exited with status %d", WEXITSTATUS(status));
            ev->result = WEXITSTATUS(status);
        }
        ev->note = mw_buf_take(&b);
        emit(s, ev);
        if (s->attrib)
            mw_attrib_forget(s->attrib, t->tgid);
    }
    space_release(s, t);
}

struct mw_session *mw_session_new(const struct mw_options *opt, FILE *timeline)
{
    struct mw_session *s = calloc(1, sizeof *s);
    s->opt = opt;
    s->timeline = timeline;
    s->keep_all = opt->json_path || opt->html_path;
    if (!opt->no_caller)
        s->attrib = mw_attrib_new(opt->caller_depth);
    if (!opt->no_alloc_channel && !opt->attach_pid)
        s->chan = mw_allocchan_open();
    s->next_poll = 1;
    return s;
}

int mw_session_run(struct mw_session *s, int *exit_status)
{
    struct mw_trace_hooks hooks = {
        .arg = s, .on_start = hook_start, .on_call = hook_call, .on_exec_entry = hook_exec_entry,
        .on_exec = hook_exec, .on_new_task = hook_new_task, .on_exit_stop = hook_exit_stop,
        .on_gone = hook_gone,
    };
    s->t0 = mw_now();
    int rc = mw_trace_run(s->opt, &hooks, exit_status);
    s->end_time = mw_now() - s->t0;
    poll_channel(s);
    return rc;
}

void mw_session_report(struct mw_session *s, struct mw_report *r)
{
    memset(r, 0, sizeof *r);
    if (!s->keep_all) {
        /* The summary lists the events with findings: those kept and the recent ones. */
        for (size_t i = 0; i < s->count; i++) {
            if (s->events[i].findings)
                keep(s, &s->events[i]);
            else
                event_free(&s->events[i]);
        }
        s->count = 0;
        r->events = s->kept;
        r->count = s->nkept;
    } else {
        r->events = s->events;
        r->count = s->count;
    }
    r->total_events = s->total;
    r->calls = s->calls;
    r->children = s->children;
    r->threads = s->threads;
    r->bands = &s->bands;
    r->final_maps = &s->final;
    r->root_pid = s->root;
    r->program = s->opt->argv ? s->opt->argv[0] : NULL;
    r->term_signal = s->term_signal;
    r->detached = s->detached;
    r->seccomp = mw_trace_used_seccomp();
    r->mismatches = s->mismatches;
    r->alloc_lines = mw_allocchan_lines(s->chan);
    r->alloc_unmatched = mw_allocchan_unmatched(s->chan);
    r->duration = s->end_time;
}

void mw_session_free(struct mw_session *s)
{
    for (size_t i = 0; i < s->count; i++)
        event_free(&s->events[i]);
    for (size_t i = 0; i < s->nkept; i++)
        event_free(&s->kept[i]);
    free(s->events);
    free(s->kept);
    mw_strset_free(&s->changes);
    mw_bandlog_free(&s->bands);
    mw_maps_free(&s->final);
    mw_attrib_free(s->attrib);
    mw_allocchan_close(s->chan);
    free(s);
}
