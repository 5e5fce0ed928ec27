/* attrib.c: stack walks of a thread we keep ptrace-stopped, with elfutils
 * libdwfl for modules, symbols, lines and CFI. One Dwfl per process, its
 * module list refreshed when a PC falls outside every known module. The usual
 * walk runs on unwind rules cached per PC over one read of the stack (the
 * fast walk below); anything it does not handle is walked by libdwfl itself,
 * through our thread callbacks. Calls libdw and libc only. */
#include "attrib.h"

#include "util.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <unistd.h>

#define MAX_FRAMES 24

#define STACK_MIN 256         /* bytes read from the stack pointer at the start of a walk, at least */
#define STACK_MAX 16384       /* ... at most; deeper reads go through the chunk */
#define STACK_CHUNK 4096      /* bytes read at a later miss */
#define NEED_WINDOW 64        /* walks over which the bytes a walk needed are remembered */
#define PC_CACHE 1024 /* direct-mapped: call sites repeat, and libdwfl's symbol lookup is a linear scan */

/* DWARF register numbers on x86-64. */
enum { DW_RBP = 6, DW_RSP = 7, DW_RA = 16 };

/* How to find the caller's frame from one PC, as the CFI says, in the form
 * the fast walk handles: the CFA is rsp or rbp plus an offset, the return
 * address is saved at a fixed offset from the CFA, rsp becomes the CFA, and
 * rbp is unchanged, saved at a fixed offset, or lost. */
enum rule_kind {
    RULE_UNKNOWN,   /* not computed yet */
    RULE_SIMPLE,    /* the form above */
    RULE_END,       /* the outermost frame: its return address is undefined */
    RULE_OTHER,     /* anything else, or no CFI at all: libdwfl walks */
    RULE_SIGNAL,    /* a signal frame: return addresses are not decremented; libdwfl walks */
};
enum fp_rule { FP_SAME, FP_SAVED, FP_LOST };

struct unwind_rule {
    enum rule_kind kind;
    bool cfa_on_fp;        /* CFA = rbp + cfa_off, else rsp + cfa_off */
    enum fp_rule fp;
    int64_t cfa_off, ra_off, fp_off;
};

struct frame_info {
    Dwarf_Addr pc;
    bool valid, user, has_src;
    const char *module;   /* owned by the Dwfl: the cache is cleared whenever modules are re-reported */
    const char *symbol;
    const char *file;
    int line;
    bool has_callee;
    const char *callee;   /* the library function this call site calls, decoded from its instruction */
    struct unwind_rule rule;
    /* The caller text (interned) when this PC is a walk's user frame and the
     * frame below it is at text_inner (0 when the user frame is the innermost). */
    const char *text;
    Dwarf_Addr text_inner;
};

/* One traced process: its Dwfl, its memory and, during a walk, the thread's
 * registers and stack copy. */
struct proc {
    pid_t tgid;
    Dwfl *dwfl;
    int mem_fd;                /* /proc/TGID/mem, kept open; -1: process_vm_readv */
    pid_t tid;                 /* the thread being walked */
    uint64_t ip, sp, fp;       /* its registers (fp once have_fp) */
    bool have_fp;
    uint64_t chunk_base;       /* stack[] holds the read from sp, chunk[] one from here */
    size_t stack_len, chunk_len;
    size_t need, need_prev;    /* bytes above sp the walks of this and the last window needed */
    unsigned walks;
    unsigned char stack[STACK_MAX];
    unsigned char chunk[STACK_CHUNK];
    struct frame_info cache[PC_CACHE];
};

struct mw_attrib {
    struct proc **procs;
    size_t count, cap;
    /* Every caller text handed out, once: events point into this set, so a
     * call site that makes thousands of calls costs one string. */
    struct mw_strset texts;
    int depth;
    bool check;                          /* MAPWATCH_CHECK_WALK: both walks, compared */
    unsigned long fast, slow, mismatches;
};

static char *debuginfo_path;

static const Dwfl_Callbacks callbacks = {
    .find_elf = dwfl_linux_proc_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .debuginfo_path = &debuginfo_path,
};

/* ---- the tracee's memory ------------------------------------------------
 * One pread of /proc/TGID/mem (opened once: no permission check and no task
 * lookup per read, which process_vm_readv repeats) serves nearly every read
 * of a walk. libdwfl's own process backend would read a word at a time with
 * PTRACE_PEEKDATA. */

static bool read_remote(struct proc *p, uint64_t addr, void *buf, size_t len, size_t *got)
{
    ssize_t n;
    if (p->mem_fd >= 0) {
        n = pread(p->mem_fd, buf, len, (off_t)addr);
    } else {
        struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)addr, len };
        n = process_vm_readv(p->tid, &local, 1, &remote, 1, 0);
    }
    *got = n > 0 ? (size_t)n : 0;
    return n > 0;
}

static bool read_u64(struct proc *p, uint64_t addr, uint64_t *v)
{
    size_t got;
    return read_remote(p, addr, v, sizeof *v, &got) && got == sizeof *v;
}

/* The start of a walk: the top of the stack, as much as recent walks needed. */
static void read_stack(struct proc *p)
{
    size_t want = p->need > p->need_prev ? p->need : p->need_prev;
    want = want < STACK_MIN ? STACK_MIN : want > STACK_MAX ? STACK_MAX : (want + 63) & ~(size_t)63;
    p->chunk_len = 0;
    read_remote(p, p->sp, p->stack, want, &p->stack_len);
}

static bool stack_word(struct proc *p, uint64_t addr, uint64_t *v)
{
    if (addr >= p->sp && addr - p->sp < STACK_MAX && addr + sizeof *v - p->sp > p->need)
        p->need = addr + sizeof *v - p->sp;
    if (addr >= p->sp && addr + sizeof *v <= p->sp + p->stack_len) {
        memcpy(v, p->stack + (addr - p->sp), sizeof *v);
        return true;
    }
    if (!(addr >= p->chunk_base && addr + sizeof *v <= p->chunk_base + p->chunk_len)) {
        p->chunk_base = addr & ~(uint64_t)(STACK_CHUNK / 4 - 1);
        if (!read_remote(p, p->chunk_base, p->chunk, sizeof p->chunk, &p->chunk_len) ||
            addr + sizeof *v > p->chunk_base + p->chunk_len) {
            p->chunk_len = 0;
            return read_u64(p, addr, v);
        }
    }
    memcpy(v, p->chunk + (addr - p->chunk_base), sizeof *v);
    return true;
}

/* ---- thread state for libdwfl ------------------------------------------ */

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
    uint64_t v;
    if (!stack_word(arg, addr, &v))
        return false;
    *result = v;
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
    if (r.rsp != p->sp) { /* libdwfl's walk starts where ours did, as a rule */
        p->sp = r.rsp;
        read_stack(p);
    }
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

/* ---- processes ---------------------------------------------------------- */

struct mw_attrib *mw_attrib_new(int depth)
{
    struct mw_attrib *a = calloc(1, sizeof *a);
    a->depth = depth > 0 && depth <= MAX_FRAMES ? depth : 16;
    const char *check = getenv("MAPWATCH_CHECK_WALK");
    a->check = check && *check && strcmp(check, "0") != 0;
    return a;
}

static void cache_clear(struct proc *p)
{
    memset(p->cache, 0, sizeof p->cache);
}


static void proc_end(struct proc *p)
{
    if (p->dwfl)
        dwfl_end(p->dwfl);
    if (p->mem_fd >= 0)
        close(p->mem_fd);
    free(p);
}

static bool report_modules(struct proc *p)
{
    cache_clear(p);
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
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/mem", (int)tgid);
    p->tgid = tgid;
    p->mem_fd = open(path, O_RDONLY | O_CLOEXEC);
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
    if (a->check)
        fprintf(stderr, "mapwatch: walks: %lu fast, %lu by libdwfl, %lu fast walks differing from libdwfl's\n",
                a->fast, a->slow, a->mismatches);
    for (size_t i = 0; i < a->count; i++)
        proc_end(a->procs[i]);
    mw_strset_free(&a->texts);
    free(a->procs);
    free(a);
}

/* ---- modules, symbols, lines -------------------------------------------- */

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
    if (!read_remote(p, ret - 6, insn, sizeof insn, &got) || got != sizeof insn)
        return NULL;
    int32_t disp;
    if (insn[1] == 0xe8) {
        memcpy(&disp, insn + 2, sizeof disp);
        uint64_t dest = ret + (uint64_t)(int64_t)disp;
        if (!read_remote(p, dest, code, sizeof code, &got) || got != sizeof code)
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

/* ---- walking ------------------------------------------------------------ */

struct walk {
    struct proc *proc;
    Dwarf_Addr pcs[MAX_FRAMES];
    int count, max;
    bool stale;       /* a PC outside every reported module */
    bool found_user;  /* stopped at the program's own frame */
};

/* One frame, innermost first, pc already the call's (a return address
 * minus 1). Walk outwards only as far as the program's own first frame: most
 * of the cost of attribution is the walk. False: stop here. */
static bool visit(struct walk *w, Dwarf_Addr pc)
{
    w->pcs[w->count++] = pc;
    const struct frame_info *fi = lookup(w->proc, pc);
    if (!fi->module) {
        w->stale = w->count == 1 || pc > 4096; /* 0 or tiny: the end of the stack */
        return false;
    }
    if (fi->user) {
        w->found_user = true;
        return false;
    }
    return w->count < w->max;
}

static int frame_cb(Dwfl_Frame *frame, void *arg)
{
    Dwarf_Addr pc;
    bool activation;
    if (!dwfl_frame_pc(frame, &pc, &activation))
        return DWARF_CB_ABORT;
    /* A return address points after the call: look up the call itself. */
    if (!activation)
        pc--;
    return visit(arg, pc) ? DWARF_CB_OK : DWARF_CB_ABORT;
}

/* A register's rule in a CFI row: 0 undefined, 1 same value, 2 at CFA +
 * *off, 3 the value CFA + *off, -1 anything else. */
static int reg_rule(Dwarf_Frame *frame, int reg, int64_t *off)
{
    Dwarf_Op mem[3], *ops;
    size_t nops;
    if (dwarf_frame_register(frame, reg, mem, &ops, &nops) != 0)
        return -1;
    if (nops == 0)
        return ops ? 0 : 1;
    if (ops[0].atom != DW_OP_call_frame_cfa)
        return -1;
    size_t i = 1;
    *off = 0;
    if (i < nops && ops[i].atom == DW_OP_plus_uconst)
        *off = (int64_t)ops[i++].number;
    if (i == nops)
        return 2;
    return i + 1 == nops && ops[i].atom == DW_OP_stack_value ? 3 : -1;
}

/* Whether pc is in the function at its module's ELF entry point: the
 * kernel jumps there, so it is the outermost frame. The dynamic loader's
 * _start has no .eh_frame entry, and looking it up in .debug_frame (as
 * libdwfl does, to find that the walk ends there) loads and decompresses
 * the loader's whole debug information: about 8 ms for every process. */
static bool is_entry_point(Dwfl_Module *m, Dwarf_Addr pc)
{
    GElf_Addr bias;
    GElf_Ehdr ehdr;
    GElf_Off off;
    GElf_Sym sym;
    Elf *elf = dwfl_module_getelf(m, &bias);
    if (!elf || !gelf_getehdr(elf, &ehdr) || !ehdr.e_entry ||
        !dwfl_module_addrinfo(m, pc, &off, &sym, NULL, NULL, NULL))
        return false;
    return pc - off == ehdr.e_entry + bias;
}

/* The unwind rule at pc (a call's address, or the initial PC), found as
 * libdwfl finds it: .eh_frame first, then .debug_frame. */
static void compute_rule(struct proc *p, Dwarf_Addr pc, struct unwind_rule *r)
{
    r->kind = RULE_OTHER;
    Dwfl_Module *m = dwfl_addrmodule(p->dwfl, pc);
    if (!m)
        return;
    Dwarf_Addr bias;
    Dwarf_Frame *frame = NULL;
    Dwarf_CFI *cfi = dwfl_module_eh_cfi(m, &bias);
    if (!cfi || dwarf_cfi_addrframe(cfi, pc - bias, &frame) != 0) {
        frame = NULL;
        if (is_entry_point(m, pc)) {
            r->kind = RULE_END;
            return;
        }
        cfi = dwfl_module_dwarf_cfi(m, &bias);
        if (!cfi || dwarf_cfi_addrframe(cfi, pc - bias, &frame) != 0)
            return; /* libdwfl would unwind by frame pointer */
    }
    bool signal = false;
    Dwarf_Op *ops;
    size_t nops;
    int64_t off;
    if (dwarf_frame_info(frame, NULL, NULL, &signal) != DW_RA)
        goto done;
    if (signal) {
        r->kind = RULE_SIGNAL;
        goto done;
    }
    if (dwarf_frame_cfa(frame, &ops, &nops) != 0 || nops != 1)
        goto done;
    int cfa_reg;
    if (ops[0].atom == DW_OP_bregx) {
        cfa_reg = (int)ops[0].number;
        r->cfa_off = (int64_t)ops[0].number2;
    } else if (ops[0].atom >= DW_OP_breg0 && ops[0].atom <= DW_OP_breg31) {
        cfa_reg = ops[0].atom - DW_OP_breg0;
        r->cfa_off = (int64_t)ops[0].number;
    } else {
        goto done;
    }
    if (cfa_reg != DW_RSP && cfa_reg != DW_RBP)
        goto done;
    r->cfa_on_fp = cfa_reg == DW_RBP;
    switch (reg_rule(frame, DW_RA, &r->ra_off)) {
    case 0: r->kind = RULE_END; goto done;
    case 2: break;
    default: goto done;
    }
    if (reg_rule(frame, DW_RSP, &off) != 3 || off != 0)
        goto done;
    switch (reg_rule(frame, DW_RBP, &r->fp_off)) {
    case 0: r->fp = FP_LOST; break;
    case 1: r->fp = FP_SAME; break;
    case 2: r->fp = FP_SAVED; break;
    default: goto done;
    }
    r->kind = RULE_SIMPLE;
done:
    free(frame);
}

static bool get_fp(struct proc *p)
{
    if (p->have_fp)
        return true;
    errno = 0;
    long v = ptrace(PTRACE_PEEKUSER, p->tid, (void *)offsetof(struct user_regs_struct, rbp), 0L);
    if (errno)
        return false;
    p->fp = (uint64_t)v;
    p->have_fp = true;
    return true;
}

/* The walk libdwfl would make, from cached rules: no allocation, no CFI
 * interpretation, memory from the one stack read, rbp fetched only if a rule
 * needs it. False when a frame needs more than that (libdwfl then walks). */
static bool fast_walk(struct proc *p, struct walk *w)
{
    uint64_t pc = p->ip, sp = p->sp, fp = 0;
    enum { LIVE, KNOWN, GONE } fp_state = LIVE; /* rbp: still the thread's register, a value, or lost */
    for (bool initial = true;; initial = false) {
        Dwarf_Addr lpc = initial ? pc : pc - 1;
        struct frame_info *fi = lookup(p, lpc);
        if (fi->module) {
            if (fi->rule.kind == RULE_UNKNOWN)
                compute_rule(p, lpc, &fi->rule);
            if (fi->rule.kind == RULE_SIGNAL)
                return false; /* the PCs would not be decremented */
        }
        if (!visit(w, lpc))
            return true;
        const struct unwind_rule r = fi->rule;
        if (r.kind == RULE_END)
            return true;
        if (r.kind != RULE_SIMPLE)
            return false;
        if (r.cfa_on_fp && fp_state == LIVE) {
            if (!get_fp(p))
                return false;
            fp = p->fp;
            fp_state = KNOWN;
        }
        if (r.cfa_on_fp && fp_state == GONE)
            return false;
        uint64_t cfa = (r.cfa_on_fp ? fp : sp) + (uint64_t)r.cfa_off, ra;
        if (!stack_word(p, cfa + (uint64_t)r.ra_off, &ra))
            return false;
        if (ra == 0)
            return true; /* libdwfl ends the walk there too */
        if (r.fp == FP_SAVED) {
            if (!stack_word(p, cfa + (uint64_t)r.fp_off, &fp))
                return false;
            fp_state = KNOWN;
        } else if (r.fp == FP_LOST) {
            fp_state = GONE;
        }
        sp = cfa;
        pc = ra;
    }
}

static bool same_walk(const struct walk *a, const struct walk *b)
{
    return a->count == b->count && a->stale == b->stale && a->found_user == b->found_user &&
           memcmp(a->pcs, b->pcs, (size_t)a->count * sizeof a->pcs[0]) == 0;
}

static void walk(struct mw_attrib *a, struct proc *p, struct walk *w)
{
    *w = (struct walk){ .proc = p, .max = a->depth };
    if (fast_walk(p, w)) {
        a->fast++;
        if (!a->check)
            return;
        struct walk ref = { .proc = p, .max = a->depth };
        dwfl_getthread_frames(p->dwfl, p->tid, frame_cb, &ref);
        if (!same_walk(w, &ref)) {
            a->mismatches++;
            fprintf(stderr, "mapwatch: walk of %d differs: fast", (int)p->tid);
            for (int i = 0; i < w->count; i++)
                fprintf(stderr, " %#llx", (unsigned long long)w->pcs[i]);
            fprintf(stderr, "; libdwfl");
            for (int i = 0; i < ref.count; i++)
                fprintf(stderr, " %#llx", (unsigned long long)ref.pcs[i]);
            fputc('\n', stderr);
        }
        return;
    }
    a->slow++;
    *w = (struct walk){ .proc = p, .max = a->depth };
    dwfl_getthread_frames(p->dwfl, p->tid, frame_cb, w);
}

/* ---- the caller's description --------------------------------------------- */

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

/* "malloc in main at tour.c:54 [tour]" for the walk's user frame `user`,
 * made once per pair of it and the frame below: the same call site gives the
 * same text. */
static const char *user_text(struct mw_attrib *a, struct proc *p, const struct walk *w, int user)
{
    Dwarf_Addr inner = user > 0 ? w->pcs[user - 1] : 0;
    const char *inner_symbol = user > 0 ? lookup(p, inner)->symbol : NULL;
    struct frame_info *f = lookup(p, w->pcs[user]);
    if (f->text && f->text_inner == inner)
        return f->text;
    lookup_src(p, f);
    if (!f->has_callee && user > 0) {
        f->has_callee = true;
        f->callee = decode_callee(p, w->pcs[user] + 1); /* pcs hold return address - 1 */
    }
    struct mw_buf b = { 0 };
    if (user > 0)
        mw_buf_printf(&b, "%s ", clean_symbol(f->callee ? f->callee : inner_symbol));
    mw_buf_printf(&b, "in %s", clean_symbol(f->symbol));
    if (f->file)
        mw_buf_printf(&b, " at %s:%d", f->file, f->line);
    mw_buf_printf(&b, " [%s]", f->module);
    f->text = mw_strset_add(&a->texts, b.s);
    f->text_inner = inner;
    mw_buf_free(&b);
    return f->text;
}

const char *mw_attrib_caller(struct mw_attrib *a, pid_t tgid, pid_t tid, uint64_t ip, uint64_t sp,
                             const uint64_t *fp)
{
    struct proc *p = proc_get(a, tgid);
    if (!p)
        return NULL;
    p->tid = tid;
    p->have_fp = fp != NULL;
    p->fp = fp ? *fp : 0;
    p->ip = ip;
    p->sp = sp;
    if (++p->walks % NEED_WINDOW == 0) {
        p->need_prev = p->need;
        p->need = 0;
    }
    read_stack(p);
    struct walk w;
    walk(a, p, &w);
    /* New libraries appear as the program runs, and a walk through a module
     * we have not reported goes astray: refresh and walk again. */
    if (w.stale || w.count == 0) {
        report_modules(p);
        walk(a, p, &w);
    }
    if (w.count == 0)
        return NULL;
    if (w.found_user)
        return user_text(a, p, &w, w.count - 1);
    /* All system frames (the loader mapping libraries, libc start-up): name
     * the innermost function that is not the system-call wrapper. Copies: two
     * PCs of one walk may share a cache slot. */
    struct frame_info first = *lookup(p, w.pcs[0]);
    struct frame_info outer = *lookup(p, w.pcs[w.count > 1 ? 1 : 0]);
    struct mw_buf b = { 0 };
    mw_buf_printf(&b, "%s in %s [%s]", clean_symbol(first.symbol), clean_symbol(outer.symbol),
                  outer.module ? outer.module : "?");
    const char *text = mw_strset_add(&a->texts, b.s);
    mw_buf_free(&b);
    return text;
}
