/* out_json.c: JSON Lines, one object per event, with the keys documented in
 * docs/mapwatch-json.md. Keys that do not apply to an event are null. */
#include "output.h"

#include "decode.h"

#include <string.h>

void mw_json_string(FILE *f, const char *s)
{
    if (!s) {
        fputs("null", f);
        return;
    }
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\t': fputs("\\t", f); break;
        case '\r': fputs("\\r", f); break;
        default:
            if (*p < 0x20)
                fprintf(f, "\\u%04x", *p);
            else
                fputc(*p, f);
        }
    }
    fputc('"', f);
}

static void key(FILE *f, const char *k)
{
    fprintf(f, ",\"%s\":", k);
}

static void hex_or_null(FILE *f, bool have, uint64_t v)
{
    if (have)
        fprintf(f, "\"0x%llx\"", (unsigned long long)v);
    else
        fputs("null", f);
}

static const char *type_name(enum mw_event_type t)
{
    static const char *const names[] = { "syscall", "exec", "implicit", "mismatch", "exit" };
    return names[t];
}

void mw_json_event(FILE *f, const struct mw_event *ev)
{
    const struct mw_syscall_desc *d = ev->type == MW_EV_SYSCALL ? mw_syscall_by_nr(ev->nr) : NULL;
    enum mw_call call = d ? d->call : MW_CALL_NONE;
    char prot[4];
    fprintf(f, "{\"seq\":%llu,\"time\":%.6f,\"pid\":%d,\"tid\":%d", (unsigned long long)ev->seq, ev->time,
            (int)ev->pid, (int)ev->tid);
    key(f, "type");
    mw_json_string(f, type_name(ev->type));
    key(f, "syscall");
    mw_json_string(f, ev->syscall);
    key(f, "space");
    fprintf(f, "%u", ev->space_id);
    key(f, "addr");
    hex_or_null(f, ev->addr || ev->type == MW_EV_SYSCALL, ev->addr);
    key(f, "length");
    fprintf(f, "%llu", (unsigned long long)ev->length);
    key(f, "prot");
    mw_json_string(f, (ev->have & MW_HAVE_PROT) ? mw_prot_str(ev->prot, prot) : NULL);
    key(f, "flags");
    fputc('[', f);
    if (ev->have & MW_HAVE_FLAGS) {
        const char *names[24];
        char rest[32];
        size_t n = mw_flag_names(call, ev->flags, names, 24, rest, sizeof rest);
        for (size_t i = 0; i < n; i++) {
            if (i)
                fputc(',', f);
            mw_json_string(f, names[i]);
        }
        if (rest[0]) {
            if (n)
                fputc(',', f);
            mw_json_string(f, rest);
        }
    }
    fputc(']', f);
    key(f, "path");
    mw_json_string(f, ev->path);
    key(f, "new_length");
    if (ev->have & MW_HAVE_NEW)
        fprintf(f, "%llu", (unsigned long long)ev->new_length);
    else
        fputs("null", f);
    key(f, "new_addr");
    hex_or_null(f, (ev->have & MW_HAVE_NEW) != 0, ev->new_addr);
    key(f, "advice");
    mw_json_string(f, (ev->have & MW_HAVE_ADVICE) ? mw_advice_name(ev->advice) : NULL);
    key(f, "result");
    fprintf(f, "%lld", (long long)ev->result);
    key(f, "errno");
    mw_json_string(f, ev->err ? mw_errno_name(ev->err) : NULL);
    key(f, "wx");
    fputs(ev->wx ? "true" : "false", f);
    key(f, "caller");
    mw_json_string(f, ev->caller);
    key(f, "kind");
    mw_json_string(f, (ev->have & MW_HAVE_KIND) ? mw_kind_name(ev->kind) : NULL);
    key(f, "allocator_reason");
    mw_json_string(f, ev->reason[0] ? ev->reason : NULL);
    if (call == MW_CALL_BRK) {
        key(f, "delta");
        fprintf(f, "%lld", (long long)ev->delta);
    }
    if (call == MW_CALL_MMAP) {
        key(f, "hint");
        hex_or_null(f, true, ev->args[0]);
        key(f, "offset");
        fprintf(f, "%llu", (unsigned long long)ev->offset);
    }
    key(f, "change");
    mw_json_string(f, ev->change);
    key(f, "note");
    mw_json_string(f, ev->note);
    key(f, "findings");
    fputc('[', f);
    for (const char *p = ev->findings; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        char buf[256];
        snprintf(buf, sizeof buf, "%.*s", (int)n, p);
        if (p != ev->findings)
            fputc(',', f);
        mw_json_string(f, buf);
        p += n + (nl ? 1 : 0);
    }
    fputs("]}\n", f);
}

int mw_json_write(FILE *f, const struct mw_report *r)
{
    for (size_t i = 0; i < r->count; i++)
        mw_json_event(f, &r->events[i]);
    return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}
