/* os.h: the allocator's only window on the kernel. os.c implements it and is
 * the only file of the library that calls mmap, munmap, mremap, madvise,
 * mprotect or getrandom; a port to another OS replaces os.c alone.
 * Every call is counted (stats) and announced on the mapwatch event channel.
 */
#ifndef MAPALLOC_OS_H
#define MAPALLOC_OS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Why the allocator made a call: carried to mapwatch's event channel. */
enum os_reason {
    OS_REASON_REGION = 0,   /* small-object region */
    OS_REASON_LARGE,        /* large block */
    OS_REASON_PURGE,        /* free pages given back */
    OS_REASON_GUARD,        /* guard page */
    OS_REASON_META,         /* allocator metadata */
    OS_REASON_CODE,         /* code memory (W^X) */
    OS_REASON_SHARED,       /* shared heap */
    OS_REASON_COUNT
};

size_t os_page_size(void);

/* Map len bytes read-write, anonymous and private. With hint != NULL the
 * mapping is placed exactly at hint or the call fails (MAP_FIXED_NOREPLACE
 * semantics, emulated where the kernel lacks it). NULL on failure with errno
 * set; ENOMEM is the only expected error, others abort. */
void *os_map(void *hint, size_t len, enum os_reason why);
/* Map len bytes whose start is a multiple of align (a power of two >= the
 * page size), trimming the excess. */
void *os_map_aligned(size_t len, size_t align, void *hint, enum os_reason why);
/* Map len bytes with no access (address-space reservation). */
void *os_reserve(void *hint, size_t len, enum os_reason why);
void os_unmap(void *p, size_t len, enum os_reason why);
/* Give the pages back; the range stays mapped and reads as zero afterwards. */
void os_purge(void *p, size_t len);
/* Change protection: prot is a combination of OS_PROT_* below. false with
 * errno on failure (ENOMEM: too many mappings). */
enum { OS_PROT_NONE = 0, OS_PROT_READ = 1, OS_PROT_WRITE = 2, OS_PROT_EXEC = 4 };
bool os_protect(void *p, size_t len, int prot, enum os_reason why);
/* Resize a mapping in place (grow or shrink); false if it cannot be done
 * without moving. */
bool os_remap_inplace(void *p, size_t old_len, size_t new_len, enum os_reason why);
/* Resize a mapping, letting the kernel move it (pages move, nothing is
 * copied). NULL on failure, the mapping untouched. */
void *os_remap(void *p, size_t old_len, size_t new_len, enum os_reason why);
/* Move a mapping to dst, which must be a range this allocator owns (it is
 * replaced atomically). Returns false on failure. */
bool os_remap_move(void *p, size_t old_len, void *dst, size_t new_len, enum os_reason why);
/* Transparent huge pages for a range (madvise MADV_HUGEPAGE); false if the
 * kernel does not support it. */
bool os_hugepage_advise(void *p, size_t len);
/* Fault in every page of [p, p+len) for writing now (MADV_POPULATE_WRITE,
 * Linux 5.14). False if the kernel cannot: the range stays lazy, and after
 * EINVAL (an older kernel) no later call tries. */
bool os_populate_write(void *p, size_t len, enum os_reason why);
/* MAP_HUGETLB pages (2 MiB, from the pool the administrator reserves with
 * vm.nr_hugepages) in place of [at, at+len), a range of ours mapped with
 * normal pages; at and len are multiples of 2 MiB. The pages are mapped
 * elsewhere and moved over the range with mremap, so the replacement is
 * atomic: when the kernel refuses, the range is as it was and false is
 * returned. errno is kept either way (a fallback is silent).
 * os_hugetlb_ask says whether to try at all: a refusal is remembered (ENOMEM,
 * no free page: the next HUGETLB_RETRY_EVERY - 1 asks say no; any other
 * error, such as EINVAL from a kernel without hugetlb or before Linux 5.16:
 * no for good). The hugetlb part of a mapping may only be unmapped whole; it
 * must never be madvised, mprotected or mremapped in pieces. */
#define HUGETLB_RETRY_EVERY 32
bool os_hugetlb_ask(void);
bool os_hugetlb_place(void *at, size_t len, enum os_reason why);
/* What happened to the hugetlb requests so far (cumulative): mappings placed
 * for regions and for large blocks, fallbacks to normal pages (refused now or
 * not asked because of an earlier refusal), refusals by the kernel, and the
 * errno of the last refusal (0: none). */
struct os_hugetlb_counters {
    uint64_t regions, large, fallbacks, refusals;
    int last_error;
};
void os_hugetlb_counters_get(struct os_hugetlb_counters *out);
/* Fill buf with random bytes (getrandom; falls back to time and addresses). */
void os_random(void *buf, size_t len);
/* Monotonic clock in milliseconds (vDSO; no system call on Linux). */
uint64_t os_clock_ms(void);
/* Write a message to stderr without allocating. */
void os_write_stderr(const char *msg, size_t len);


/* --- Shared and code memory (codemem.c, shared_heap.c). ------------------- */
/* Create an anonymous memory file (memfd_create, falling back to an unlinked
 * file in /dev/shm); -1 with errno on failure. */
int os_memfd(const char *name, size_t len);
/* Map fd [offset, offset+len) shared with protection prot (OS_PROT_*). With
 * hint != NULL, exactly there or fail. NULL with errno on failure. */
void *os_map_fd(void *hint, size_t len, int prot, int fd, uint64_t offset, enum os_reason why);
/* Map len bytes of anonymous shared memory (MAP_SHARED|MAP_ANONYMOUS). */
void *os_map_shared_anon(void *hint, size_t len, enum os_reason why);
/* Counters of the calls above, for statistics. */
struct os_counters {
    uint64_t mmap, munmap, mremap, madvise, mprotect;
};
void os_counters_get(struct os_counters *out);
/* Event channel for mapwatch (MAPALLOC_EVENT_FD): set up by init.c. */
void os_event_channel_open(int fd);

/* --- Code memory and shared heaps, second part (codemem.c, shared_heap.c). - */
#ifndef MAPALLOC_OS_CODE_SHARED_H
#define MAPALLOC_OS_CODE_SHARED_H
/* os_protect for protections a security policy may refuse (PROT_EXEC under
 * SELinux execmem, PaX MPROTECT, a seccomp filter): false with errno on
 * EACCES, EPERM or ENOMEM instead of aborting on EPERM. */
bool os_protect_try(void *p, size_t len, int prot, enum os_reason why);
/* Close a descriptor from os_memfd or os_shm_*; errors are ignored. */
void os_close(int fd);
/* Size in bytes of the file behind fd; -1 with errno on failure. */
int64_t os_fd_size(int fd);
/* POSIX shared memory by name, as shm_open does it: the file /dev/shm/<name>
 * (one leading '/' in name is skipped; no other '/' allowed: EINVAL).
 * os_shm_create makes it (O_EXCL: EEXIST if it exists) with mode 0600 and
 * length len; os_shm_open opens an existing one read-write. Both return a
 * close-on-exec fd, or -1 with errno. */
int os_shm_create(const char *name, size_t len);
int os_shm_open(const char *name);
/* Remove the name; 0, or -1 with errno. */
int os_shm_unlink(const char *name);
#endif

#endif /* MAPALLOC_OS_H */
