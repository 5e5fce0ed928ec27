/* decode.h: turning raw system-call numbers, arguments and results into named
 * fields, from tables of names (decode.c). Knows nothing of ptrace or the model. */
#ifndef MAPWATCH_DECODE_H
#define MAPWATCH_DECODE_H

#include "mapwatch.h"

struct mw_name {
    uint64_t value;
    const char *name;
};

/* The memory system calls mapwatch follows; ids are stable for switch statements. */
enum mw_call {
    MW_CALL_NONE, MW_CALL_MMAP, MW_CALL_MUNMAP, MW_CALL_MREMAP, MW_CALL_MPROTECT,
    MW_CALL_PKEY_MPROTECT, MW_CALL_MADVISE, MW_CALL_BRK, MW_CALL_SHMAT, MW_CALL_SHMDT,
    MW_CALL_EXECVE, MW_CALL_EXECVEAT,
};

struct mw_syscall_desc {
    int nr;
    const char *name;
    enum mw_call call;
    bool traced_at_exit;   /* false: only the entry matters (exec) */
};

/* The table of followed calls, terminated by nr == -1. */
extern const struct mw_syscall_desc mw_syscalls[];

const struct mw_syscall_desc *mw_syscall_by_nr(int nr);

/* Fill ev's decoded fields (addr, length, prot, ...) from ev->nr, args, result. */
void mw_decode_event(struct mw_event *ev);

/* "rw-" from PROT_* bits; buf holds at least 4 bytes. */
const char *mw_prot_str(unsigned prot, char buf[4]);
/* Parse "rwxp"-style permissions; returns PROT_* and sets *shared. */
unsigned mw_prot_parse(const char *perms, bool *shared);

/* Write the names of set flags joined by sep ("|" or ","), unknown bits as hex.
 * Which table depends on the call: MAP_*, MREMAP_*, SHM_*. Returns the count. */
size_t mw_flag_names(enum mw_call call, uint64_t flags, const char **names, size_t max,
                     char *rest, size_t restlen);
size_t mw_prot_names(unsigned prot, const char **names, size_t max);
const char *mw_advice_name(int advice);
const char *mw_errno_name(int err);
const char *mw_signal_name(int sig, char buf[16]);

const char *mw_kind_name(enum mw_kind kind);
/* Human size: "4.0 KiB", "1.0 MiB". buf of 32 bytes. */
const char *mw_size_str(uint64_t bytes, char buf[32]);

#endif
