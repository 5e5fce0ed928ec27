/* out_text.c: the readable timeline (one line per event, strace-like call,
 * then what it did to the layout and who called it) and the end summary: a
 * vmmap-like table of regions per kind and the security findings. */
#include "output.h"

#include "decode.h"

#include <string.h>
#include <sys/mman.h>

static void flags_str(FILE *f, enum mw_call call, uint64_t flags)
{
    const char *names[24];
    char rest[32];
    size_t n = mw_flag_names(call, flags, names, 24, rest, sizeof rest);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s%s", i ? "|" : "", names[i]);
    if (rest[0])
        fprintf(f, "%s%s", n ? "|" : "", rest);
    if (!n && !rest[0])
        fputc('0', f);
}

static void prot_names_str(FILE *f, unsigned prot)
{
    const char *names[8];
    size_t n = mw_prot_names(prot, names, 8);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s%s", i ? "|" : "", names[i]);
}

static void addr_str(FILE *f, uint64_t a)
{
    if (a)
        fprintf(f, "%#llx", (unsigned long long)a);
    else
        fputs("NULL", f);
}

static void call_str(FILE *f, const struct mw_event *ev)
{
    const struct mw_syscall_desc *d = mw_syscall_by_nr(ev->nr);
    enum mw_call call = d ? d->call : MW_CALL_NONE;
    const uint64_t *a = ev->args;
    fprintf(f, "%s(", ev->syscall);
    switch (call) {
    case MW_CALL_MMAP:
        addr_str(f, a[0]);
        fprintf(f, ", %llu, ", (unsigned long long)a[1]);
        prot_names_str(f, (unsigned)a[2]);
        fputs(", ", f);
        flags_str(f, call, a[3]);
        fprintf(f, ", %d, %#llx", (int)a[4], (unsigned long long)a[5]);
        break;
    case MW_CALL_MPROTECT:
    case MW_CALL_PKEY_MPROTECT:
        fprintf(f, "%#llx, %llu, ", (unsigned long long)a[0], (unsigned long long)a[1]);
        prot_names_str(f, (unsigned)a[2]);
        if (call == MW_CALL_PKEY_MPROTECT)
            fprintf(f, ", %d", (int)a[3]);
        break;
    case MW_CALL_MREMAP:
        fprintf(f, "%#llx, %llu, %llu, ", (unsigned long long)a[0], (unsigned long long)a[1], (unsigned long long)a[2]);
        flags_str(f, call, a[3]);
        if (a[3] & 2)
            fprintf(f, ", %#llx", (unsigned long long)a[4]);
        break;
    case MW_CALL_MADVISE:
        fprintf(f, "%#llx, %llu, %s", (unsigned long long)a[0], (unsigned long long)a[1], mw_advice_name((int)a[2]));
        break;
    case MW_CALL_MUNMAP:
        fprintf(f, "%#llx, %llu", (unsigned long long)a[0], (unsigned long long)a[1]);
        break;
    case MW_CALL_BRK:
    case MW_CALL_SHMDT:
        addr_str(f, a[0]);
        break;
    case MW_CALL_SHMAT:
        fprintf(f, "%d, ", (int)a[0]);
        addr_str(f, a[1]);
        fputs(", ", f);
        flags_str(f, call, a[2]);
        break;
    default:
        break;
    }
    fputs(") = ", f);
    if (call == MW_CALL_BRK)
        fprintf(f, "%#llx%s", (unsigned long long)ev->result, ev->err ? " (refused)" : "");
    else if (ev->err)
        fprintf(f, "-1 %s", mw_errno_name(ev->err));
    else if (call == MW_CALL_MMAP || call == MW_CALL_MREMAP || call == MW_CALL_SHMAT)
        fprintf(f, "%#llx", (unsigned long long)ev->result);
    else
        fprintf(f, "%lld", (long long)ev->result);
}

void mw_text_event(FILE *f, const struct mw_event *ev)
{
    fprintf(f, "%10.6f ", ev->time);
    if (ev->tid != ev->pid)
        fprintf(f, "[%d/%d] ", (int)ev->pid, (int)ev->tid);
    else
        fprintf(f, "[%d] ", (int)ev->pid);
    if (ev->type == MW_EV_SYSCALL)
        call_str(f, ev);
    else
        fprintf(f, "%s%s%s", ev->type == MW_EV_MISMATCH ? "!! " : "-- ", ev->syscall, ev->path ? " " : "");
    if (ev->type != MW_EV_SYSCALL && ev->path)
        fputs(ev->path, f);
    if (ev->change)
        fprintf(f, "  : %s", ev->change);
    if (ev->note)
        fprintf(f, "  : %s", ev->note);
    if (ev->caller)
        fprintf(f, "  <- %s", ev->caller);
    fputc('\n', f);
    if (ev->findings) {
        const char *p = ev->findings;
        while (*p) {
            const char *nl = strchr(p, '\n');
            size_t n = nl ? (size_t)(nl - p) : strlen(p);
            fprintf(f, "           !! finding: %.*s\n", (int)n, p);
            p += n + (nl ? 1 : 0);
        }
    }
}

void mw_text_reason(FILE *f, const struct mw_event *ev)
{
    fprintf(f, "           .. event #%llu (%s %#llx) was mapalloc's '%s'\n", (unsigned long long)ev->seq,
            ev->syscall, (unsigned long long)ev->addr, ev->reason);
}

void mw_text_kind_table(FILE *f, const struct mw_region *regions, size_t count)
{
    size_t n[MW_KIND_COUNT] = { 0 };
    uint64_t vsz[MW_KIND_COUNT] = { 0 }, rss[MW_KIND_COUNT] = { 0 }, tv = 0, tr = 0;
    for (size_t i = 0; i < count; i++) {
        const struct mw_region *r = &regions[i];
        n[r->kind]++;
        vsz[r->kind] += r->end - r->start;
        rss[r->kind] += r->rss;
        tv += r->end - r->start;
        tr += r->rss;
    }
    char a[32], b[32];
    fprintf(f, "  %-13s %7s %12s %12s\n", "KIND", "REGIONS", "VIRTUAL", "RSS");
    for (int k = 0; k < MW_KIND_COUNT; k++)
        if (n[k])
            fprintf(f, "  %-13s %7zu %12s %12s\n", mw_kind_name((enum mw_kind)k), n[k], mw_size_str(vsz[k], a),
                    mw_size_str(rss[k], b));
    fprintf(f, "  %-13s %7zu %12s %12s\n", "TOTAL", count, mw_size_str(tv, a), mw_size_str(tr, b));
}

void mw_text_summary(FILE *f, const struct mw_report *r)
{
    size_t calls = 0, procs = 0, threads = 0, findings = 0;
    for (size_t i = 0; i < r->count; i++) {
        const struct mw_event *ev = &r->events[i];
        calls += ev->type == MW_EV_SYSCALL;
        procs += ev->type == MW_EV_IMPLICIT && (!strcmp(ev->syscall, "fork") || !strcmp(ev->syscall, "vfork"));
        threads += ev->type == MW_EV_IMPLICIT && !strcmp(ev->syscall, "thread");
    }
    fprintf(f, "\n== mapwatch summary ==\n");
    fprintf(f, "%zu memory calls in %zu events over %.3f s; %zu child process%s, %zu thread%s; stops: %s\n", calls,
            r->count, r->duration, procs, procs == 1 ? "" : "es", threads, threads == 1 ? "" : "s",
            r->seccomp ? "seccomp filter (memory calls only)" : "every system call (no seccomp)");
    if (r->final_maps && r->final_maps->count) {
        fprintf(f, "\nLayout of process %d at its %s (kernel's smaps):\n", (int)r->root_pid,
                r->detached ? "detach" : "exit");
        mw_text_kind_table(f, r->final_maps->regions, r->final_maps->count);
    }
    if (r->mismatches)
        fprintf(f, "\nModel vs kernel: %zu difference%s (the '!! mismatch' events)\n", r->mismatches,
                r->mismatches > 1 ? "s" : "");
    else
        fprintf(f, "\nModel vs kernel: agree at every snapshot (start, exec, exit)\n");
    if (r->alloc_lines || r->alloc_unmatched)
        fprintf(f, "Allocator side channel: %zu lines, %zu not matched to a call\n", r->alloc_lines,
                r->alloc_unmatched);
    fprintf(f, "\nFindings:\n");
    for (size_t i = 0; i < r->count; i++) {
        const struct mw_event *ev = &r->events[i];
        if (!ev->findings)
            continue;
        const char *p = ev->findings;
        while (*p) {
            const char *nl = strchr(p, '\n');
            size_t n = nl ? (size_t)(nl - p) : strlen(p);
            fprintf(f, "  #%llu [%d] %s %#llx+%llu: %.*s%s%s\n", (unsigned long long)ev->seq, (int)ev->pid,
                    ev->syscall, (unsigned long long)ev->addr, (unsigned long long)ev->length, (int)n, p,
                    ev->caller ? "  <- " : "", ev->caller ? ev->caller : "");
            findings++;
            p += n + (nl ? 1 : 0);
        }
    }
    if (r->final_maps) {
        for (size_t i = 0; i < r->final_maps->count; i++) {
            const struct mw_region *g = &r->final_maps->regions[i];
            const char *what = NULL;
            if ((g->prot & PROT_WRITE) && (g->prot & PROT_EXEC))
                what = "writable and executable region (W+X)";
            else if ((g->prot & PROT_EXEC) && g->kind == MW_KIND_STACK)
                what = "executable stack";
            else if ((g->prot & PROT_EXEC) && !g->path)
                what = "executable anonymous memory";
            if (what) {
                fprintf(f, "  at %s: %#llx-%#llx %s\n", r->detached ? "detach" : "exit",
                        (unsigned long long)g->start, (unsigned long long)g->end, what);
                findings++;
            }
        }
    }
    if (!findings)
        fprintf(f, "  none\n");
    if (r->term_signal) {
        char sig[16];
        fprintf(f, "\nThe program was killed by %s.\n", mw_signal_name(r->term_signal, sig));
    }
}
