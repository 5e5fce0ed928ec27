/* out_text.c: the readable timeline (one line per event, strace-like call,
 * then what it did to the layout and who called it) and the end summary: a
 * vmmap-like table of regions per kind and the security findings. */
#include "output.h"

#include "decode.h"
#include "util.h"

#include <math.h>
#include <string.h>
#include <sys/mman.h>

/* The timeline is written once per event, so its line is put together in a
 * buffer with integer conversions and written at once, rather than with a
 * dozen fprintf calls: the output is byte for byte what the printf formats
 * in the comments give. */

static void flags_render(struct mw_buf *b, enum mw_call call, uint64_t flags)
{
    const char *names[24];
    char rest[32];
    size_t n = mw_flag_names(call, flags, names, 24, rest, sizeof rest);
    for (size_t i = 0; i < n; i++) {
        if (i)
            mw_buf_putc(b, '|');
        mw_buf_puts(b, names[i]);
    }
    if (rest[0]) {
        if (n)
            mw_buf_putc(b, '|');
        mw_buf_puts(b, rest);
    }
    if (!n && !rest[0])
        mw_buf_putc(b, '0');
}

static void prot_render(struct mw_buf *b, unsigned prot)
{
    const char *names[8];
    size_t n = mw_prot_names(prot, names, 8);
    for (size_t i = 0; i < n; i++) {
        if (i)
            mw_buf_putc(b, '|');
        mw_buf_puts(b, names[i]);
    }
}

/* A program passes the same protections and flags call after call: the last
 * rendering of each kind of flag word is kept and copied. */
struct flag_memo {
    bool valid;
    uint64_t value;
    struct mw_buf text;
};

static void flag_word(struct mw_buf *b, enum mw_call call, bool prot, uint64_t value)
{
    static struct flag_memo memo[2][MW_CALL_EXECVEAT + 1];
    struct flag_memo *m = &memo[prot][call];
    if (!m->valid || m->value != value) {
        m->text.len = 0;
        if (prot)
            prot_render(&m->text, (unsigned)value);
        else
            flags_render(&m->text, call, value);
        m->valid = true;
        m->value = value;
    }
    if (m->text.len)
        mw_buf_put(b, m->text.s, m->text.len);
}

static void flags_str(struct mw_buf *b, enum mw_call call, uint64_t flags)
{
    flag_word(b, call, false, flags);
}

static void prot_names_str(struct mw_buf *b, unsigned prot)
{
    flag_word(b, MW_CALL_NONE, true, prot);
}

static void addr_str(struct mw_buf *b, uint64_t a)
{
    if (a)
        mw_buf_putx(b, a);
    else
        mw_buf_lit(b, "NULL");
}

/* "%#llx, %llu": the address and length most calls start with. */
static void range_str(struct mw_buf *b, const uint64_t *a)
{
    mw_buf_putx(b, a[0]);
    mw_buf_lit(b, ", ");
    mw_buf_putu(b, a[1]);
}

static void call_str(struct mw_buf *b, const struct mw_event *ev)
{
    const struct mw_syscall_desc *d = mw_syscall_by_nr(ev->nr);
    enum mw_call call = d ? d->call : MW_CALL_NONE;
    const uint64_t *a = ev->args;
    mw_buf_puts(b, ev->syscall);
    mw_buf_putc(b, '(');
    switch (call) {
    case MW_CALL_MMAP: /* "%s, %llu, %s, %s, %d, %#llx" */
        addr_str(b, a[0]);
        mw_buf_lit(b, ", ");
        mw_buf_putu(b, a[1]);
        mw_buf_lit(b, ", ");
        prot_names_str(b, (unsigned)a[2]);
        mw_buf_lit(b, ", ");
        flags_str(b, call, a[3]);
        mw_buf_lit(b, ", ");
        mw_buf_putd(b, (int)a[4]);
        mw_buf_lit(b, ", ");
        mw_buf_putx(b, a[5]);
        break;
    case MW_CALL_MPROTECT:
    case MW_CALL_PKEY_MPROTECT: /* "%#llx, %llu, %s[, %d]" */
        range_str(b, a);
        mw_buf_lit(b, ", ");
        prot_names_str(b, (unsigned)a[2]);
        if (call == MW_CALL_PKEY_MPROTECT) {
            mw_buf_lit(b, ", ");
            mw_buf_putd(b, (int)a[3]);
        }
        break;
    case MW_CALL_MREMAP: /* "%#llx, %llu, %llu, %s[, %#llx]" */
        range_str(b, a);
        mw_buf_lit(b, ", ");
        mw_buf_putu(b, a[2]);
        mw_buf_lit(b, ", ");
        flags_str(b, call, a[3]);
        if (a[3] & 2) {
            mw_buf_lit(b, ", ");
            mw_buf_putx(b, a[4]);
        }
        break;
    case MW_CALL_MADVISE: /* "%#llx, %llu, %s" */
        range_str(b, a);
        mw_buf_lit(b, ", ");
        mw_buf_puts(b, mw_advice_name((int)a[2]));
        break;
    case MW_CALL_MUNMAP: /* "%#llx, %llu" */
        range_str(b, a);
        break;
    case MW_CALL_BRK:
    case MW_CALL_SHMDT:
        addr_str(b, a[0]);
        break;
    case MW_CALL_SHMAT: /* "%d, %s, %s" */
        mw_buf_putd(b, (int)a[0]);
        mw_buf_lit(b, ", ");
        addr_str(b, a[1]);
        mw_buf_lit(b, ", ");
        flags_str(b, call, a[2]);
        break;
    default:
        break;
    }
    mw_buf_lit(b, ") = ");
    if (call == MW_CALL_BRK) {
        mw_buf_putx(b, (unsigned long long)ev->result);
        if (ev->err)
            mw_buf_lit(b, " (refused)");
    } else if (ev->err) {
        mw_buf_lit(b, "-1 ");
        mw_buf_puts(b, mw_errno_name(ev->err));
    } else if (call == MW_CALL_MMAP || call == MW_CALL_MREMAP || call == MW_CALL_SHMAT) {
        mw_buf_putx(b, (unsigned long long)ev->result);
    } else {
        mw_buf_putd(b, (long long)ev->result);
    }
}

/* t seconds in whole microseconds, rounded as printf's "%.6f" rounds them:
 * to nearest, ties to even, from the exact value of t * 1e6. fma gives the
 * rounding error of the product, so the decision is exact. */
static long long micros(double t)
{
    double p = t * 1e6, err = fma(t, 1e6, -p), whole = floor(p), half = (p - whole) - 0.5;
    long long us = (long long)whole;
    if (half > 0 || (half == 0 && (err > 0 || (err == 0 && (us & 1)))))
        us++;
    return us;
}

/* separator and text, if there is a text */
static void field(struct mw_buf *b, const char *separator, const char *text)
{
    if (text) {
        mw_buf_puts(b, separator);
        mw_buf_puts(b, text);
    }
}

void mw_text_event(FILE *f, const struct mw_event *ev)
{
    static struct mw_buf line; /* reused: grown once to the longest line */
    line.len = 0;
    /* "%10.6f " */
    long long us = micros(ev->time), sec = us / 1000000, frac = us % 1000000;
    char time[32];
    char *p = time + sizeof time;
    *--p = ' ';
    for (int i = 0; i < 6; i++, frac /= 10)
        *--p = (char)('0' + frac % 10);
    *--p = '.';
    do
        *--p = (char)('0' + sec % 10);
    while (sec /= 10);
    while (p > time + sizeof time - 11)
        *--p = ' ';
    mw_buf_put(&line, p, (size_t)(time + sizeof time - p));
    mw_buf_putc(&line, '['); /* "[%d] " or "[%d/%d] " */
    mw_buf_putd(&line, ev->pid);
    if (ev->tid != ev->pid) {
        mw_buf_putc(&line, '/');
        mw_buf_putd(&line, ev->tid);
    }
    mw_buf_lit(&line, "] ");
    if (ev->type == MW_EV_SYSCALL) {
        call_str(&line, ev);
    } else {
        mw_buf_puts(&line, ev->type == MW_EV_MISMATCH ? "!! " : "-- ");
        mw_buf_puts(&line, ev->syscall);
        field(&line, " ", ev->path);
    }
    field(&line, "  : ", ev->change);
    field(&line, "  : ", ev->note);
    field(&line, "  <- ", ev->caller);
    mw_buf_putc(&line, '\n');
    fwrite_unlocked(line.s, 1, line.len, f);
    if (ev->findings) {
        const char *q = ev->findings;
        while (*q) {
            const char *nl = strchr(q, '\n');
            size_t n = nl ? (size_t)(nl - q) : strlen(q);
            fprintf(f, "           !! finding: %.*s\n", (int)n, q);
            q += n + (nl ? 1 : 0);
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
    size_t findings = 0;
    unsigned long long procs = r->children, threads = r->threads;
    fprintf(f, "\n== mapwatch summary ==\n");
    fprintf(f, "%llu memory calls in %llu events over %.3f s; %llu child process%s, %llu thread%s; stops: %s\n",
            (unsigned long long)r->calls, (unsigned long long)r->total_events, r->duration, procs,
            procs == 1 ? "" : "es", threads, threads == 1 ? "" : "s",
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
