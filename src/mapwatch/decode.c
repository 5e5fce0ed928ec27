/* decode.c: name tables for the memory system calls and their flags, in the
 * strace manner (one list per flag family, one decoder per call), and small
 * formatting helpers. Values are the Linux x86-64 UAPI ones. */
#include "decode.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

const struct mw_syscall_desc mw_syscalls[] = {
    { SYS_mmap, "mmap", MW_CALL_MMAP, true },
    { SYS_munmap, "munmap", MW_CALL_MUNMAP, true },
    { SYS_mremap, "mremap", MW_CALL_MREMAP, true },
    { SYS_mprotect, "mprotect", MW_CALL_MPROTECT, true },
    { SYS_pkey_mprotect, "pkey_mprotect", MW_CALL_PKEY_MPROTECT, true },
    { SYS_madvise, "madvise", MW_CALL_MADVISE, true },
    { SYS_brk, "brk", MW_CALL_BRK, true },
    { SYS_shmat, "shmat", MW_CALL_SHMAT, true },
    { SYS_shmdt, "shmdt", MW_CALL_SHMDT, true },
    { SYS_execve, "execve", MW_CALL_EXECVE, false },
    { SYS_execveat, "execveat", MW_CALL_EXECVEAT, false },
    { -1, NULL, MW_CALL_NONE, false },
};

static const struct mw_name prot_table[] = {
    { 0x1, "PROT_READ" }, { 0x2, "PROT_WRITE" }, { 0x4, "PROT_EXEC" }, { 0x8, "PROT_SEM" },
    { 0x01000000, "PROT_GROWSDOWN" }, { 0x02000000, "PROT_GROWSUP" }, { 0, NULL },
};

/* The sharing type is a 4-bit field, not a set of bits. */
static const struct mw_name map_type_table[] = {
    { 0x01, "MAP_SHARED" }, { 0x02, "MAP_PRIVATE" }, { 0x03, "MAP_SHARED_VALIDATE" }, { 0, NULL },
};
#define MAP_TYPE_MASK 0x0fu

static const struct mw_name map_flag_table[] = {
    { 0x10, "MAP_FIXED" }, { 0x20, "MAP_ANONYMOUS" }, { 0x40, "MAP_32BIT" },
    { 0x100, "MAP_GROWSDOWN" }, { 0x800, "MAP_DENYWRITE" }, { 0x1000, "MAP_EXECUTABLE" },
    { 0x2000, "MAP_LOCKED" }, { 0x4000, "MAP_NORESERVE" }, { 0x8000, "MAP_POPULATE" },
    { 0x10000, "MAP_NONBLOCK" }, { 0x20000, "MAP_STACK" }, { 0x40000, "MAP_HUGETLB" },
    { 0x80000, "MAP_SYNC" }, { 0x100000, "MAP_FIXED_NOREPLACE" },
    { 0x4000000, "MAP_UNINITIALIZED" }, { 0, NULL },
};

static const struct mw_name mremap_flag_table[] = {
    { 0x1, "MREMAP_MAYMOVE" }, { 0x2, "MREMAP_FIXED" }, { 0x4, "MREMAP_DONTUNMAP" }, { 0, NULL },
};

static const struct mw_name shm_flag_table[] = {
    { 010000, "SHM_RDONLY" }, { 020000, "SHM_RND" }, { 040000, "SHM_REMAP" }, { 0100000, "SHM_EXEC" },
    { 0, NULL },
};

static const struct mw_name advice_table[] = {
    { 0, "MADV_NORMAL" }, { 1, "MADV_RANDOM" }, { 2, "MADV_SEQUENTIAL" }, { 3, "MADV_WILLNEED" },
    { 4, "MADV_DONTNEED" }, { 8, "MADV_FREE" }, { 9, "MADV_REMOVE" }, { 10, "MADV_DONTFORK" },
    { 11, "MADV_DOFORK" }, { 12, "MADV_MERGEABLE" }, { 13, "MADV_UNMERGEABLE" },
    { 14, "MADV_HUGEPAGE" }, { 15, "MADV_NOHUGEPAGE" }, { 16, "MADV_DONTDUMP" },
    { 17, "MADV_DODUMP" }, { 18, "MADV_WIPEONFORK" }, { 19, "MADV_KEEPONFORK" },
    { 20, "MADV_COLD" }, { 21, "MADV_PAGEOUT" }, { 22, "MADV_POPULATE_READ" },
    { 23, "MADV_POPULATE_WRITE" }, { 24, "MADV_DONTNEED_LOCKED" }, { 25, "MADV_COLLAPSE" },
    { 100, "MADV_HWPOISON" }, { 101, "MADV_SOFT_OFFLINE" }, { 102, "MADV_GUARD_INSTALL" },
    { 103, "MADV_GUARD_REMOVE" }, { 0, NULL },
};

static const char *const kind_names[MW_KIND_COUNT] = {
    [MW_KIND_TEXT] = "text", [MW_KIND_DATA] = "data", [MW_KIND_BSS] = "bss",
    [MW_KIND_HEAP] = "heap", [MW_KIND_STACK] = "stack", [MW_KIND_THREAD_STACK] = "thread-stack",
    [MW_KIND_ANON] = "anon", [MW_KIND_FILE] = "file", [MW_KIND_SHARED] = "shared",
    [MW_KIND_GUARD] = "guard", [MW_KIND_VDSO] = "vdso",
};

const struct mw_syscall_desc *mw_syscall_by_nr(int nr)
{
    for (const struct mw_syscall_desc *d = mw_syscalls; d->nr >= 0; d++)
        if (d->nr == nr)
            return d;
    return NULL;
}

static const char *table_lookup(const struct mw_name *table, uint64_t value)
{
    for (; table->name; table++)
        if (table->value == value)
            return table->name;
    return NULL;
}

/* Names of the bits of value found in table; leftover bits go to *rest. */
static size_t bits_to_names(const struct mw_name *table, uint64_t value, const char **names,
                            size_t n, size_t max, uint64_t *rest)
{
    for (; table->name && n < max; table++) {
        if ((value & table->value) == table->value) {
            names[n++] = table->name;
            value &= ~table->value;
        }
    }
    *rest = value;
    return n;
}

size_t mw_flag_names(enum mw_call call, uint64_t flags, const char **names, size_t max,
                     char *rest, size_t restlen)
{
    size_t n = 0;
    uint64_t left = 0;
    rest[0] = '\0';
    switch (call) {
    case MW_CALL_MMAP: {
        const char *type = table_lookup(map_type_table, flags & MAP_TYPE_MASK);
        if (type && n < max)
            names[n++] = type;
        n = bits_to_names(map_flag_table, flags & ~(uint64_t)MAP_TYPE_MASK, names, n, max, &left);
        if (!type)
            left |= flags & MAP_TYPE_MASK;
        break;
    }
    case MW_CALL_MREMAP:
        n = bits_to_names(mremap_flag_table, flags, names, n, max, &left);
        break;
    case MW_CALL_SHMAT:
        n = bits_to_names(shm_flag_table, flags, names, n, max, &left);
        break;
    default:
        left = flags;
        break;
    }
    if (left)
        snprintf(rest, restlen, "0x%llx", (unsigned long long)left);
    return n;
}

size_t mw_prot_names(unsigned prot, const char **names, size_t max)
{
    uint64_t rest;
    if (prot == 0 && max > 0) {
        names[0] = "PROT_NONE";
        return 1;
    }
    return bits_to_names(prot_table, prot, names, 0, max, &rest);
}

const char *mw_advice_name(int advice)
{
    const char *name = table_lookup(advice_table, (uint64_t)advice);
    return name ? name : "MADV_UNKNOWN";
}

const char *mw_errno_name(int err)
{
    const char *name = strerrorname_np(err);
    return name ? name : "EUNKNOWN";
}

const char *mw_signal_name(int sig, char buf[16])
{
    const char *abbrev = sigabbrev_np(sig);
    if (abbrev)
        snprintf(buf, 16, "SIG%s", abbrev);
    else
        snprintf(buf, 16, "signal %d", sig);
    return buf;
}

const char *mw_prot_str(unsigned prot, char buf[4])
{
    buf[0] = (prot & PROT_READ) ? 'r' : '-';
    buf[1] = (prot & PROT_WRITE) ? 'w' : '-';
    buf[2] = (prot & PROT_EXEC) ? 'x' : '-';
    buf[3] = '\0';
    return buf;
}

unsigned mw_prot_parse(const char *perms, bool *shared)
{
    unsigned prot = 0;
    if (perms[0] == 'r')
        prot |= PROT_READ;
    if (perms[1] == 'w')
        prot |= PROT_WRITE;
    if (perms[2] == 'x')
        prot |= PROT_EXEC;
    if (shared)
        *shared = perms[3] == 's';
    return prot;
}

const char *mw_kind_name(enum mw_kind kind)
{
    return (unsigned)kind < MW_KIND_COUNT ? kind_names[kind] : "?";
}

const char *mw_size_str(uint64_t bytes, char buf[32])
{
    static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
    unsigned u = 0;
    if (bytes >= 1ull << 50) {
        double v = (double)bytes;
        while (v >= 1024.0 && u + 1 < sizeof units / sizeof units[0]) {
            v /= 1024.0;
            u++;
        }
        snprintf(buf, 32, "%.1f %s", v, units[u]);
        return buf;
    }
    while (bytes >> (10 * (u + 1)))
        u++;
    /* What "%llu B" and "%.1f %s" print for bytes / 1024^u, in integers:
     * printf is slow, and every event prints sizes. The quotient is exact in
     * a double, so printf rounds a tie to even; so does this. */
    uint64_t tenths = bytes * 10;
    if (u) {
        uint64_t unit = 1ull << (10 * u), rem = bytes * 10 % unit;
        tenths /= unit;
        if (rem * 2 > unit || (rem * 2 == unit && (tenths & 1)))
            tenths++;
    }
    char digits[24], *p = digits + sizeof digits;
    uint64_t whole = tenths / 10;
    do
        *--p = (char)('0' + whole % 10);
    while (whole /= 10);
    size_t n = (size_t)(digits + sizeof digits - p);
    memcpy(buf, p, n);
    if (u) {
        buf[n++] = '.';
        buf[n++] = (char)('0' + tenths % 10);
    }
    buf[n++] = ' ';
    strcpy(buf + n, units[u]);
    return buf;
}

/* One decoder per call: which argument is what. The result convention is the
 * libc wrapper's: -1 and errno on failure. */
static void decode_mmap(struct mw_event *ev)
{
    ev->addr = ev->result >= 0 ? (uint64_t)ev->result : ev->args[0];
    ev->length = ev->args[1];
    ev->prot = (unsigned)ev->args[2];
    ev->flags = ev->args[3];
    ev->fd = (int)ev->args[4];
    ev->offset = ev->args[5];
    ev->have |= MW_HAVE_PROT | MW_HAVE_FLAGS;
    if (!(ev->flags & MAP_ANONYMOUS))
        ev->have |= MW_HAVE_FD;
}

static void decode_range(struct mw_event *ev)
{
    ev->addr = ev->args[0];
    ev->length = ev->args[1];
}

static void decode_mprotect(struct mw_event *ev)
{
    decode_range(ev);
    ev->prot = (unsigned)ev->args[2];
    ev->have |= MW_HAVE_PROT;
}

static void decode_mremap(struct mw_event *ev)
{
    decode_range(ev);
    ev->new_length = ev->args[2];
    ev->flags = ev->args[3];
    ev->new_addr = ev->result >= 0 ? (uint64_t)ev->result : ev->args[4];
    ev->have |= MW_HAVE_FLAGS | MW_HAVE_NEW;
}

static void decode_madvise(struct mw_event *ev)
{
    decode_range(ev);
    ev->advice = (int)ev->args[2];
    ev->have |= MW_HAVE_ADVICE;
}

static void decode_shmat(struct mw_event *ev)
{
    ev->addr = ev->result >= 0 ? (uint64_t)ev->result : ev->args[1];
    ev->flags = ev->args[2];
    ev->have |= MW_HAVE_FLAGS;
    ev->prot = PROT_READ | ((ev->flags & 010000) ? 0 : PROT_WRITE) | ((ev->flags & 0100000) ? PROT_EXEC : 0);
    ev->have |= MW_HAVE_PROT;
}

static void decode_shmdt(struct mw_event *ev)
{
    ev->addr = ev->args[0];
}

void mw_decode_event(struct mw_event *ev)
{
    const struct mw_syscall_desc *d = mw_syscall_by_nr(ev->nr);
    ev->syscall = d ? d->name : "unknown";
    switch (d ? d->call : MW_CALL_NONE) {
    case MW_CALL_MMAP: decode_mmap(ev); break;
    case MW_CALL_MUNMAP: decode_range(ev); break;
    case MW_CALL_MREMAP: decode_mremap(ev); break;
    case MW_CALL_MPROTECT:
    case MW_CALL_PKEY_MPROTECT: decode_mprotect(ev); break;
    case MW_CALL_MADVISE: decode_madvise(ev); break;
    case MW_CALL_BRK: ev->addr = ev->args[0]; break; /* delta, result: set by the model */
    case MW_CALL_SHMAT: decode_shmat(ev); break;
    case MW_CALL_SHMDT: decode_shmdt(ev); break;
    default: break;
    }
}
