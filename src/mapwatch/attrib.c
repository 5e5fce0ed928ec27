/* attrib.c: stack walks with elfutils libdwfl (Dwfl attached to the traced
 * process, which we keep ptrace-stopped while walking). One Dwfl per process,
 * its module list refreshed when a PC falls outside every known module. */
#include "attrib.h"

#include "util.h"

#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FRAMES 24

struct proc {
    pid_t tgid;
    Dwfl *dwfl;
    bool attached;
};

struct mw_attrib {
    struct proc *procs;
    size_t count, cap;
    int depth;
};

static char *debuginfo_path;

static const Dwfl_Callbacks callbacks = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .debuginfo_path = &debuginfo_path,
};

struct mw_attrib *mw_attrib_new(int depth)
{
    struct mw_attrib *a = calloc(1, sizeof *a);
    a->depth = depth > 0 && depth <= MAX_FRAMES ? depth : 16;
    return a;
}

static void proc_end(struct proc *p)
{
    if (p->dwfl)
        dwfl_end(p->dwfl);
    p->dwfl = NULL;
}

static bool report_modules(struct proc *p)
{
    dwfl_report_begin(p->dwfl);
    int rc = dwfl_linux_proc_report(p->dwfl, p->tgid);
    dwfl_report_end(p->dwfl, NULL, NULL);
    return rc == 0;
}

static struct proc *proc_get(struct mw_attrib *a, pid_t tgid)
{
    for (size_t i = 0; i < a->count; i++)
        if (a->procs[i].tgid == tgid && a->procs[i].dwfl)
            return &a->procs[i];
    if (a->count == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 8;
        a->procs = realloc(a->procs, a->cap * sizeof *a->procs);
    }
    struct proc *p = &a->procs[a->count++];
    memset(p, 0, sizeof *p);
    p->tgid = tgid;
    p->dwfl = dwfl_begin(&callbacks);
    if (!p->dwfl || !report_modules(p) || dwfl_linux_proc_attach(p->dwfl, tgid, true) != 0) {
        proc_end(p);
        a->count--;
        return NULL;
    }
    return p;
}

void mw_attrib_forget(struct mw_attrib *a, pid_t tgid)
{
    for (size_t i = 0; i < a->count; i++) {
        if (a->procs[i].tgid == tgid) {
            proc_end(&a->procs[i]);
            a->procs[i] = a->procs[--a->count];
            return;
        }
    }
}

void mw_attrib_free(struct mw_attrib *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->count; i++)
        proc_end(&a->procs[i]);
    free(a->procs);
    free(a);
}

struct walk {
    Dwarf_Addr pcs[MAX_FRAMES];
    int count, max;
};

static int frame_cb(Dwfl_Frame *frame, void *arg)
{
    struct walk *w = arg;
    Dwarf_Addr pc;
    bool activation;
    if (!dwfl_frame_pc(frame, &pc, &activation))
        return DWARF_CB_ABORT;
    /* A return address points after the call: look up the call itself. */
    w->pcs[w->count++] = activation ? pc : pc - 1;
    return w->count < w->max ? DWARF_CB_OK : DWARF_CB_ABORT;
}

static const char *base_name(const char *path)
{
    const char *slash = path ? strrchr(path, '/') : NULL;
    return slash ? slash + 1 : path ? path : "?";
}

/* Frames in these belong to the system or the allocator: the user's call is
 * the first frame outside them. */
static bool is_system_module(const char *name)
{
    static const char *const prefixes[] = { "libc.so", "libc-", "ld-linux", "ld64.so", "libmapalloc",
                                            "libpthread", "libdl.so", "libstdc++", "libgcc_s",
                                            "libjemalloc", "libtcmalloc", "libmimalloc", "[vdso]" };
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    return false;
}

static bool is_allocator_symbol(const char *sym)
{
    return sym && (strncmp(sym, "mapalloc_", 9) == 0 || strncmp(sym, "ma_", 3) == 0);
}

struct frame_info {
    const char *module;
    const char *symbol;
    const char *file;
    int line;
};

/* Without .debug_aranges (clang does not emit them) libdw cannot map an
 * address to its compilation unit: look through the units' ranges. */
static void src_by_cu_scan(Dwfl_Module *m, Dwarf_Addr pc, struct frame_info *fi)
{
    Dwarf_Addr bias = 0;
    Dwarf *dw = dwfl_module_getdwarf(m, &bias);
    if (!dw)
        return;
    Dwarf_Off off = 0, next;
    size_t header;
    while (dwarf_nextcu(dw, off, &next, &header, NULL, NULL, NULL) == 0) {
        Dwarf_Die cu;
        if (dwarf_offdie(dw, off + header, &cu) && dwarf_haspc(&cu, pc - bias) > 0) {
            Dwarf_Line *line = dwarf_getsrc_die(&cu, pc - bias);
            int lineno = 0;
            const char *file = line ? dwarf_linesrc(line, NULL, NULL) : NULL;
            if (file && dwarf_lineno(line, &lineno) == 0) {
                fi->file = base_name(file);
                fi->line = lineno;
            }
            return;
        }
        off = next;
    }
}

static void describe(Dwfl *dwfl, Dwarf_Addr pc, struct frame_info *fi)
{
    memset(fi, 0, sizeof *fi);
    Dwfl_Module *m = dwfl_addrmodule(dwfl, pc);
    if (!m)
        return;
    const char *mainfile = NULL;
    const char *modname = dwfl_module_info(m, NULL, NULL, NULL, NULL, NULL, &mainfile, NULL);
    fi->module = base_name(mainfile ? mainfile : modname);
    fi->symbol = dwfl_module_addrname(m, pc);
    Dwfl_Line *l = dwfl_module_getsrc(m, pc);
    if (l) {
        int line = 0;
        const char *file = dwfl_lineinfo(l, NULL, &line, NULL, NULL, NULL);
        if (file) {
            fi->file = base_name(file);
            fi->line = line;
            return;
        }
    }
    src_by_cu_scan(m, pc, fi);
}

static const char *clean_symbol(const char *sym)
{
    if (!sym)
        return "??";
    /* glibc's internal names of public functions: __libc_malloc, _IO_puts. */
    static const char *const prefixes[] = { "__libc_", "_IO_", "__" };
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (strncmp(sym, prefixes[i], strlen(prefixes[i])) == 0 && sym[strlen(prefixes[i])])
            return sym + strlen(prefixes[i]);
    return sym;
}

char *mw_attrib_caller(struct mw_attrib *a, pid_t tgid, pid_t tid)
{
    struct proc *p = proc_get(a, tgid);
    if (!p)
        return NULL;
    struct walk w = { .max = a->depth };
    dwfl_getthread_frames(p->dwfl, tid, frame_cb, &w);
    /* New libraries appear as the program runs, and a walk through a module
     * we have not reported goes astray: refresh and walk again. */
    bool stale = w.count == 0;
    for (int i = 0; i < w.count && !stale; i++)
        stale = !dwfl_addrmodule(p->dwfl, w.pcs[i]);
    if (stale) {
        report_modules(p);
        w.count = 0;
        dwfl_getthread_frames(p->dwfl, tid, frame_cb, &w);
    }
    if (w.count == 0)
        return NULL;
    struct frame_info frames[MAX_FRAMES];
    int user = -1;
    for (int i = 0; i < w.count; i++) {
        describe(p->dwfl, w.pcs[i], &frames[i]);
        if (user < 0 && frames[i].module && !is_system_module(frames[i].module) &&
            !is_allocator_symbol(frames[i].symbol))
            user = i;
    }
    struct mw_buf b = { 0 };
    if (user >= 0) {
        const struct frame_info *f = &frames[user];
        if (user > 0)
            mw_buf_printf(&b, "%s ", clean_symbol(frames[user - 1].symbol));
        mw_buf_printf(&b, "in %s", clean_symbol(f->symbol));
        if (f->file)
            mw_buf_printf(&b, " at %s:%d", f->file, f->line);
        mw_buf_printf(&b, " [%s]", f->module);
    } else {
        /* All system frames (the loader mapping libraries, libc start-up):
         * name the innermost function that is not the system-call wrapper. */
        int i = w.count > 1 ? 1 : 0;
        mw_buf_printf(&b, "%s in %s [%s]", clean_symbol(frames[0].symbol), clean_symbol(frames[i].symbol),
                      frames[i].module ? frames[i].module : "?");
    }
    return mw_buf_take(&b);
}
