/* mapwatch.h: the types every part of the tracer shares: region kinds, regions,
 * events, findings and options. No functions live here; each part has its own
 * header (trace.h, model.h, decode.h, attrib.h, allocchan.h, output.h). */
#ifndef MAPWATCH_H
#define MAPWATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* What a region is used for, decided from its attributes (model.c). */
enum mw_kind {
    MW_KIND_TEXT,          /* file-backed, executable */
    MW_KIND_DATA,          /* file-backed, private, writable (or read-only data of an image) */
    MW_KIND_BSS,           /* anonymous, directly after an image's writable data */
    MW_KIND_HEAP,          /* the brk heap */
    MW_KIND_STACK,         /* the main thread's stack */
    MW_KIND_THREAD_STACK,  /* MAP_STACK / MAP_GROWSDOWN mappings */
    MW_KIND_ANON,          /* other private anonymous memory */
    MW_KIND_FILE,          /* other file mappings */
    MW_KIND_SHARED,        /* shared memory: MAP_SHARED anonymous, SysV, memfd */
    MW_KIND_GUARD,         /* PROT_NONE */
    MW_KIND_VDSO,          /* [vdso], [vvar], [vsyscall] */
    MW_KIND_COUNT
};

/* One mapping in the model: [start, end) with the attributes /proc/PID/maps shows. */
struct mw_region {
    uint64_t start, end;
    unsigned prot;          /* PROT_READ | PROT_WRITE | PROT_EXEC */
    bool shared;
    uint64_t offset;        /* file offset of start (file mappings only) */
    char *path;             /* NULL for anonymous; kernel labels such as "[heap]" kept as is */
    unsigned map_flags;     /* MAP_STACK / MAP_GROWSDOWN as given to mmap */
    bool was_written;       /* writable at some time: an mprotect to X is then a W^X finding */
    uint64_t rss;           /* bytes resident, from smaps (0 when unknown) */
    enum mw_kind kind;
    uint64_t born_seq;      /* first event at which this band looked like this (HTML) */
};

enum mw_event_type {
    MW_EV_SYSCALL,   /* one of the traced memory system calls */
    MW_EV_EXEC,      /* exec replaced the address space (implicit) */
    MW_EV_IMPLICIT,  /* a change found at a snapshot with no system call, e.g. stack growth */
    MW_EV_MISMATCH,  /* the model and the kernel disagree at a snapshot */
    MW_EV_EXIT,      /* a process exited or was killed */
};

/* Bits of mw_event.have: which optional fields are meaningful. */
enum {
    MW_HAVE_PROT = 1u << 0,
    MW_HAVE_FLAGS = 1u << 1,
    MW_HAVE_NEW = 1u << 2,     /* new_addr / new_length (mremap) */
    MW_HAVE_ADVICE = 1u << 3,
    MW_HAVE_KIND = 1u << 4,
    MW_HAVE_FD = 1u << 5,
};

struct mw_event {
    uint64_t seq;
    double time;             /* seconds since mapwatch started the program or attached */
    pid_t pid, tid;
    unsigned space_id;       /* address space (CLONE_VM and vfork share one) */
    enum mw_event_type type;
    int nr;                  /* system call number (MW_EV_SYSCALL) */
    const char *syscall;     /* name: "mmap", ..., or "exec", "implicit", "mismatch", "exit" */
    uint64_t args[6];
    unsigned have;
    uint64_t addr, length;   /* see docs/mapwatch-json.md for each call's meaning */
    int64_t delta;           /* brk: change of the break in bytes */
    uint64_t new_addr, new_length;
    unsigned prot;
    uint64_t flags;          /* MAP_* / MREMAP_* / SHM_* */
    int advice;
    int fd;
    uint64_t offset;
    int64_t result;          /* as the libc wrapper returns it: -1 on failure */
    int err;                 /* errno on failure, else 0 */
    char *path;              /* backing file of a file mapping */
    bool wx;                 /* the call leaves memory writable and executable */
    enum mw_kind kind;
    const char *caller;      /* "malloc in main at tour.c:54 [tour]", owned by the attribution (attrib.h) */
    char *change;            /* what the call did to the regions; once recorded, the session's copy (session.c) */
    char *note;              /* implicit/mismatch/exit details */
    char *findings;          /* '\n'-separated security findings raised by this event */
    char reason[16];         /* the allocator's reason from the side channel, "" if none */
};

/* A band for the HTML picture: one region with fixed attributes over [from_seq, to_seq). */
struct mw_band {
    unsigned space_id;
    pid_t pid;
    uint64_t start, end;
    unsigned prot;
    bool shared;
    enum mw_kind kind;
    char *path;
    uint64_t from_seq, to_seq;
};

struct mw_options {
    char **argv;             /* program to run, or NULL with attach_pid */
    pid_t attach_pid;
    const char *json_path, *html_path, *timeline_path;
    bool quiet;              /* no timeline */
    bool no_summary;
    bool no_aslr;
    bool no_seccomp;         /* force plain syscall stops (for tests and comparison) */
    bool no_caller;          /* skip the stack walks */
    bool no_alloc_channel;   /* do not set MAPALLOC_EVENT_FD */
    int caller_depth;
};

#endif
