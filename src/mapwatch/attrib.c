/* attrib.c: stack walks with elfutils libdwfl of a thread we keep
 * ptrace-stopped. One Dwfl per process, its module list refreshed when a PC
 * falls outside every known module; registers and stack memory are handed to
 * libdwfl by our own thread callbacks (one GETREGS, bulk stack reads). */
#include "attrib.h"

#include "util.h"

#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>

#define MAX_FRAMES 24

#define STACK_FIRST 2048      /* bytes read from the stack pointer at the start of a walk */
#define STACK_CHUNK 4096      /* bytes read at a later miss */
#define PC_CACHE 1024 /* direct-mapped: call sites repeat, and libdwfl's symbol lookup is a linear scan */

struct frame_info {
    Dwarf_Addr pc;
    bool valid, user, has_src;
    const char *module;   /* owned by the Dwfl: the cache is cleared whenever modules are re-reported */
    const char *symbol;
    const char *file;
    int line;
    bool has_callee;
    const char *callee;   /* the library function this call site calls, decoded from its instruction */
};

/* One traced process: its Dwfl and, during a walk, the thread's stack copy. */
struct proc {
    pid_t tgid;
    Dwfl *dwfl;
    pid_t tid;                 /* the thread being walked */
    uint64_t stack_base, chunk_base;
    size_t stack_len, chunk_len;
    unsigned char stack[STACK_FIRST];
    unsigned char chunk[STACK_CHUNK];
    struct frame_info cache[PC_CACHE];
};

struct mw_attrib {
    struct proc **procs;
    size_t count, cap;
    int depth;
};

static char *debuginfo_path;

static const Dwfl_Callbacks callbacks = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .debuginfo_path = &debuginfo_path,
};

/* ---- thread state for libdwfl, read in bulk ----------------------------
 * libdwfl's own process backend reads the stack a word at a time with
 * PTRACE_PEEKDATA; one process_vm_readv of the top of the stack serves
 * nearly every read of a short walk. */

static bool read_remote(pid_t tid, uint64_t addr, void *buf, size_t len, size_t *got)
{
    struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)addr, len };
    ssize_t n = process_vm_readv(tid, &local, 1, &remote, 1, 0);
    *got = n > 0 ? (size_t)n : 0;
    return n > 0;
}

static pid_t cb_next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
    (void)dwfl;
    struct proc *p = arg;
    if (*thread_argp)
        return 0;
    *thread_argp = p;
    return p->tid;
}

static bool cb_get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp)
{
    (void)dwfl;
    (void)tid;
    *thread_argp = arg;
    return true;
}

static bool cb_memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
    (void)dwfl;
    struct proc *p = arg;
    if (addr >= p->stack_base && addr + sizeof *result <= p->stack_base + p->stack_len) {
        memcpy(result, p->stack + (addr - p->stack_base), sizeof *result);
        return true;
    }
    if (!(addr >= p->chunk_base && addr + sizeof *result <= p->chunk_base + p->chunk_len)) {
        p->chunk_base = addr & ~(uint64_t)(STACK_CHUNK / 4 - 1);
        if (!read_remote(p->tid, p->chunk_base, p->chunk, sizeof p->chunk, &p->chunk_len) ||
            addr + sizeof *result > p->chunk_base + p->chunk_len) {
            size_t got;
            p->chunk_len = 0;
            return read_remote(p->tid, addr, result, sizeof *result, &got) && got == sizeof *result;
        }
    }
    memcpy(result, p->chunk + (addr - p->chunk_base), sizeof *result);
    return true;
}

static bool cb_set_initial_registers(Dwfl_Thread *thread, void *arg)
{
    struct proc *p = arg;
    struct user_regs_struct r;
    if (ptrace(PTRACE_GETREGS, p->tid, 0L, &r) != 0)
        return false;
    /* DWARF numbering on x86-64: rax rdx rcx rbx rsi rdi rbp rsp r8-r15, then the return address. */
    Dwarf_Word regs[17] = { r.rax, r.rdx, r.rcx, r.rbx, r.rsi, r.rdi, r.rbp, r.rsp,
                            r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, r.rip };
    p->stack_base = r.rsp;
    p->chunk_len = 0;
    read_remote(p->tid, r.rsp, p->stack, sizeof p->stack, &p->stack_len);
    if (!dwfl_thread_state_registers(thread, 0, 17, regs))
        return false;
    dwfl_thread_state_register_pc(thread, r.rip);
    return true;
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
    .next_thread = cb_next_thread,
    .get_thread = cb_get_thread,
    .memory_read = cb_memory_read,
    .set_initial_registers = cb_set_initial_registers,
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
    free(p);
}

static bool report_modules(struct proc *p)
{
    memset(p->cache, 0, sizeof p->cache);
    dwfl_report_begin(p->dwfl);
    int rc = dwfl_linux_proc_report(p->dwfl, p->tgid);
    dwfl_report_end(p->dwfl, NULL, NULL);
    return rc == 0;
}

static struct proc *proc_get(struct mw_attrib *a, pid_t tgid)
{
    for (size_t i = 0; i < a->count; i++)
        if (a->procs[i]->tgid == tgid)
            return a->procs[i];
    struct proc *p = calloc(1, sizeof *p);
    p->tgid = tgid;
    p->dwfl = dwfl_begin(&callbacks);
    if (!p->dwfl || !report_modules(p) || !dwfl_attach_state(p->dwfl, NULL, tgid, &thread_callbacks, p)) {
        proc_end(p);
        return NULL;
    }
    if (a->count == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 8;
        a->procs = realloc(a->procs, a->cap * sizeof *a->procs);
    }
    a->procs[a->count++] = p;
    return p;
}

void mw_attrib_forget(struct mw_attrib *a, pid_t tgid)
{
    for (size_t i = 0; i < a->count; i++) {
        if (a->procs[i]->tgid == tgid) {
            proc_end(a->procs[i]);
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
        proc_end(a->procs[i]);
    free(a->procs);
    free(a);
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

struct walk {
    struct proc *proc;
    Dwarf_Addr pcs[MAX_FRAMES];
    int count, max;
    bool stale;       /* a PC outside every reported module */
    bool found_user;  /* stopped at the program's own frame */
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

/* The module, symbol and whether it is the program's own code, for one PC. */
static struct frame_info *lookup(struct proc *p, Dwarf_Addr pc)
{
    struct frame_info *fi = &p->cache[(pc >> 2) % PC_CACHE];
    if (fi->valid && fi->pc == pc)
        return fi;
    memset(fi, 0, sizeof *fi);
    fi->pc = pc;
    fi->valid = true;
    Dwfl_Module *m = dwfl_addrmodule(p->dwfl, pc);
    if (!m)
        return fi;
    const char *mainfile = NULL;
    const char *modname = dwfl_module_info(m, NULL, NULL, NULL, NULL, NULL, &mainfile, NULL);
    fi->module = base_name(mainfile ? mainfile : modname);
    fi->symbol = dwfl_module_addrname(m, pc);
    fi->user = !is_system_module(fi->module) && !is_allocator_symbol(fi->symbol);
    return fi;
}

/* file:line for a PC, cached like the rest. */
static void lookup_src(struct proc *p, struct frame_info *fi)
{
    if (fi->has_src)
        return;
    fi->has_src = true;
    Dwfl_Module *m = dwfl_addrmodule(p->dwfl, fi->pc);
    if (!m)
        return;
    Dwfl_Line *l = dwfl_module_getsrc(m, fi->pc);
    if (l) {
        int line = 0;
        const char *file = dwfl_lineinfo(l, NULL, &line, NULL, NULL, NULL);
        if (file) {
            fi->file = base_name(file);
            fi->line = line;
            return;
        }
    }
    src_by_cu_scan(m, fi->pc, fi);
}

static bool read_u64(struct proc *p, uint64_t addr, uint64_t *v)
{
    size_t got;
    return read_remote(p->tid, addr, v, sizeof *v, &got) && got == sizeof *v;
}

/* Where the indirect jump of a PLT entry at `plt` (as read into code) takes
 * its target from: the GOT slot. 0 if the code is not a PLT entry. */
static uint64_t plt_slot(uint64_t plt, const unsigned char *code)
{
    size_t at = 0;
    if (code[0] == 0xf3 && code[1] == 0x0f && code[2] == 0x1e && code[3] == 0xfa)
        at = 4; /* endbr64 (.plt.sec with CET) */
    bool bnd = code[at] == 0xf2;
    at += bnd;
    if (code[at] != 0xff || code[at + 1] != 0x25)
        return 0;
    int32_t disp;
    memcpy(&disp, code + at + 2, sizeof disp);
    return plt + at + 6 + (uint64_t)(int64_t)disp;
}

/* The function a call site calls, from the call instruction that ends at
 * `ret`: `call rel32` (directly, or to a PLT entry whose GOT slot holds the
 * library function, resolved by now since the call is under way) or
 * `call *disp(%rip)` (-fno-plt). This names malloc even when malloc tail-calls
 * its slow path and so left no frame of its own. NULL if it cannot tell. */
static const char *decode_callee(struct proc *p, uint64_t ret)
{
    unsigned char insn[6], code[16];
    size_t got;
    uint64_t target = 0;
    if (!read_remote(p->tid, ret - 6, insn, sizeof insn, &got) || got != sizeof insn)
        return NULL;
    int32_t disp;
    if (insn[1] == 0xe8) {
        memcpy(&disp, insn + 2, sizeof disp);
        uint64_t dest = ret + (uint64_t)(int64_t)disp;
        if (!read_remote(p->tid, dest, code, sizeof code, &got) || got != sizeof code)
            return NULL;
        uint64_t slot = plt_slot(dest, code);
        if (!slot)
            target = dest;
        else if (!read_u64(p, slot, &target))
            return NULL;
    } else if (insn[0] == 0xff && insn[1] == 0x15) {
        memcpy(&disp, insn + 2, sizeof disp);
        if (!read_u64(p, ret + (uint64_t)(int64_t)disp, &target))
            return NULL;
    } else {
        return NULL;
    }
    Dwfl_Module *m = dwfl_addrmodule(p->dwfl, target);
    return m ? dwfl_module_addrname(m, target) : NULL;
}

/* Walk outwards only as far as the program's own first frame: most of the
 * cost of attribution is this walk. */
static int frame_cb(Dwfl_Frame *frame, void *arg)
{
    struct walk *w = arg;
    Dwarf_Addr pc;
    bool activation;
    if (!dwfl_frame_pc(frame, &pc, &activation))
        return DWARF_CB_ABORT;
    /* A return address points after the call: look up the call itself. */
    if (!activation)
        pc--;
    w->pcs[w->count++] = pc;
    const struct frame_info *fi = lookup(w->proc, pc);
    if (!fi->module) {
        w->stale = w->count == 1 || pc > 4096; /* 0 or tiny: the end of the stack */
        return DWARF_CB_ABORT;
    }
    if (fi->user) {
        w->found_user = true;
        return DWARF_CB_ABORT;
    }
    return w->count < w->max ? DWARF_CB_OK : DWARF_CB_ABORT;
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
    p->tid = tid;
    struct walk w = { .proc = p, .max = a->depth };
    dwfl_getthread_frames(p->dwfl, tid, frame_cb, &w);
    /* New libraries appear as the program runs, and a walk through a module
     * we have not reported goes astray: refresh and walk again. */
    if (w.stale || w.count == 0) {
        report_modules(p);
        w = (struct walk){ .proc = p, .max = a->depth };
        dwfl_getthread_frames(p->dwfl, tid, frame_cb, &w);
    }
    if (w.count == 0)
        return NULL;
    /* Copies: two PCs of one walk may share a cache slot. */
    struct frame_info frames[MAX_FRAMES];
    int user = -1;
    for (int i = 0; i < w.count; i++) {
        frames[i] = *lookup(p, w.pcs[i]);
        if (user < 0 && frames[i].user)
            user = i;
    }
    if (user >= 0) {
        struct frame_info *cached = lookup(p, w.pcs[user]);
        lookup_src(p, cached);
        if (!cached->has_callee && user > 0) {
            cached->has_callee = true;
            cached->callee = decode_callee(p, w.pcs[user] + 1); /* pcs hold return address - 1 */
        }
        frames[user] = *cached;
    }
    struct mw_buf b = { 0 };
    if (user >= 0) {
        const struct frame_info *f = &frames[user];
        if (user > 0)
            mw_buf_printf(&b, "%s ", clean_symbol(f->callee ? f->callee : frames[user - 1].symbol));
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
