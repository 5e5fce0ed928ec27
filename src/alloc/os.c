/* os.c: every system call the allocator makes to manage memory. The rest of
 * the library reaches the kernel only through os.h. Errors other than ENOMEM
 * from a memory call mean our own bookkeeping is wrong: they abort (except
 * MAP_HUGETLB requests, which the kernel may refuse for any reason: those fall
 * back to normal pages).
 * May call: the kernel (syscall wrappers of libc that never allocate), error.h.
 */
#define _GNU_SOURCE
#include "os.h"
#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

static _Atomic uint64_t cnt_mmap, cnt_munmap, cnt_mremap, cnt_madvise, cnt_mprotect;
static int event_fd = -1;

static const char *const reason_names[OS_REASON_COUNT] = {
    [OS_REASON_REGION] = "region", [OS_REASON_LARGE] = "large",
    [OS_REASON_PURGE] = "purge",   [OS_REASON_GUARD] = "guard",
    [OS_REASON_META] = "meta",     [OS_REASON_CODE] = "code",
    [OS_REASON_SHARED] = "shared",
};

static void count(_Atomic uint64_t *c) { atomic_fetch_add_explicit(c, 1, memory_order_relaxed); }

/* One line per call on the mapwatch channel: "mapalloc <call> <addr> <len> <reason>\n".
 * Formatted by hand: snprintf may allocate in some libcs. */
static void announce(const char *call, const void *addr, size_t len, enum os_reason why) {
    if (event_fd < 0) return;
    char buf[128];
    size_t n = 0;
    const char *parts[] = {"mapalloc ", call, " 0x"};
    for (size_t i = 0; i < 3; i++)
        for (const char *s = parts[i]; *s; s++) buf[n++] = *s;
    char tmp[24];
    size_t t = 0;
    uintptr_t a = (uintptr_t)addr;
    do { tmp[t++] = "0123456789abcdef"[a & 15]; a >>= 4; } while (a);
    while (t) buf[n++] = tmp[--t];
    buf[n++] = ' ';
    size_t l = len;
    do { tmp[t++] = (char)('0' + l % 10); l /= 10; } while (l);
    while (t) buf[n++] = tmp[--t];
    buf[n++] = ' ';
    for (const char *s = reason_names[why]; *s; s++) buf[n++] = *s;
    buf[n++] = '\n';
    ssize_t w = write(event_fd, buf, n);
    (void)w;
}

void os_event_channel_open(int fd) { event_fd = fd; }

size_t os_page_size(void) { return 4096; }

static void *do_mmap(void *hint, size_t len, int prot, int flags, int fd, off_t off) {
    count(&cnt_mmap);
    void *p = mmap(hint, len, prot, flags, fd, off);
    if (p == MAP_FAILED) return NULL;
    return p;
}

static void *map_with(void *hint, size_t len, int prot, int flags, int fd, off_t off, enum os_reason why) {
    if (hint) flags |= MAP_FIXED_NOREPLACE;
    void *p = do_mmap(hint, len, prot, flags, fd, off);
    if (p && hint && p != hint) {
        /* Old kernels ignore MAP_FIXED_NOREPLACE and treat it as a hint. */
        count(&cnt_munmap);
        munmap(p, len);
        errno = EEXIST;
        return NULL;
    }
    if (p) announce("mmap", p, len, why);
    return p;
}

void *os_map(void *hint, size_t len, enum os_reason why) {
    return map_with(hint, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0, why);
}

void *os_reserve(void *hint, size_t len, enum os_reason why) {
    return map_with(hint, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0, why);
}

void *os_map_aligned(size_t len, size_t align, void *hint, enum os_reason why) {
    if (hint && ((uintptr_t)hint & (align - 1)) == 0) {
        void *p = os_map(hint, len, why);
        if (p) return p;
    }
    size_t over = len + align;
    if (over < len) { errno = ENOMEM; return NULL; }
    uint8_t *raw = do_mmap(NULL, over, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (!raw) return NULL;
    uintptr_t start = ((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1);
    size_t head = start - (uintptr_t)raw, tail = over - head - len;
    if (head) { count(&cnt_munmap); munmap(raw, head); }
    if (tail) { count(&cnt_munmap); munmap((void *)(start + len), tail); }
    announce("mmap", (void *)start, len, why);
    return (void *)start;
}

void os_unmap(void *p, size_t len, enum os_reason why) {
    count(&cnt_munmap);
    if (munmap(p, len) != 0) fatal_os("munmap", p, errno);
    announce("munmap", p, len, why);
}

void os_purge(void *p, size_t len) {
    count(&cnt_madvise);
    /* MADV_DONTNEED, not MADV_FREE: RSS must fall at once (users watch it),
     * and the range must read as zero for calloc's fresh-memory shortcut. */
    if (madvise(p, len, MADV_DONTNEED) != 0) fatal_os("madvise", p, errno);
    announce("madvise", p, len, OS_REASON_PURGE);
}

bool os_protect(void *p, size_t len, int prot, enum os_reason why) {
    count(&cnt_mprotect);
    int k = (prot & OS_PROT_READ ? PROT_READ : 0) | (prot & OS_PROT_WRITE ? PROT_WRITE : 0) |
            (prot & OS_PROT_EXEC ? PROT_EXEC : 0);
    if (mprotect(p, len, k) != 0) {
        if (errno == ENOMEM || errno == EACCES) return false;
        fatal_os("mprotect", p, errno);
    }
    announce("mprotect", p, len, why);
    return true;
}

bool os_remap_inplace(void *p, size_t old_len, size_t new_len, enum os_reason why) {
    count(&cnt_mremap);
    void *r = mremap(p, old_len, new_len, 0);
    if (r == MAP_FAILED) return false;
    announce("mremap", p, new_len, why);
    return true;
}

void *os_remap(void *p, size_t old_len, size_t new_len, enum os_reason why) {
    count(&cnt_mremap);
    void *r = mremap(p, old_len, new_len, MREMAP_MAYMOVE);
    if (r == MAP_FAILED) return NULL;
    announce("mremap", r, new_len, why);
    return r;
}

bool os_remap_move(void *p, size_t old_len, void *dst, size_t new_len, enum os_reason why) {
    count(&cnt_mremap);
    void *r = mremap(p, old_len, new_len, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
    if (r == MAP_FAILED) return false;
    announce("mremap", dst, new_len, why);
    return true;
}

bool os_hugepage_advise(void *p, size_t len) {
#ifdef MADV_HUGEPAGE
    count(&cnt_madvise);
    if (madvise(p, len, MADV_HUGEPAGE) == 0) { announce("madvise", p, len, OS_REASON_REGION); return true; }
#endif
    (void)p; (void)len;
    return false;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
static _Atomic bool populate_never; /* the kernel has no MADV_POPULATE_WRITE */

bool os_populate_write(void *p, size_t len, enum os_reason why) {
    if (atomic_load_explicit(&populate_never, memory_order_relaxed)) return false;
    count(&cnt_madvise);
    int saved = errno;
    if (madvise(p, len, MADV_POPULATE_WRITE) == 0) { announce("madvise", p, len, why); return true; }
    if (errno == EINVAL) atomic_store_explicit(&populate_never, true, memory_order_relaxed);
    errno = saved;
    return false;
}

/* --- MAP_HUGETLB pages. ------------------------------------------------------
 * Why mmap elsewhere and mremap over the range instead of one mmap with
 * MAP_FIXED over it: a MAP_FIXED mmap that the kernel refuses (no free huge
 * page: the common case) has already unmapped the old range, and leaves a
 * hole that another thread's mmap could take (measured on Linux 6.18). The
 * mremap(MREMAP_FIXED) replaces the range atomically, and nothing happens to
 * it when the first mmap is refused. Not MAP_NORESERVE: the pages must be
 * reserved at mmap time, else a page fault with an empty pool is SIGBUS. */
static _Atomic uint64_t huge_regions, huge_large, huge_fallbacks, huge_refusals;
static _Atomic int huge_last_error;
static _Atomic uint32_t huge_skip;  /* asks left to answer no after an ENOMEM */
static _Atomic bool huge_never;     /* refused for good (EINVAL, EPERM, ...) */

bool os_hugetlb_ask(void) {
    bool no = atomic_load_explicit(&huge_never, memory_order_relaxed);
    uint32_t s = atomic_load_explicit(&huge_skip, memory_order_relaxed);
    while (!no && s && !atomic_compare_exchange_weak_explicit(&huge_skip, &s, s - 1, memory_order_relaxed,
                                                              memory_order_relaxed)) {}
    no = no || s != 0;
    if (no) count(&huge_fallbacks);
    return !no;
}

static void hugetlb_refused(int err) {
    count(&huge_refusals);
    count(&huge_fallbacks);
    atomic_store_explicit(&huge_last_error, err, memory_order_relaxed);
    if (err == ENOMEM) atomic_store_explicit(&huge_skip, HUGETLB_RETRY_EVERY - 1, memory_order_relaxed);
    else atomic_store_explicit(&huge_never, true, memory_order_relaxed);
}

bool os_hugetlb_place(void *at, size_t len, enum os_reason why) {
    int saved = errno;
#ifdef MAP_HUGETLB
    void *p = do_mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
    int err = errno;
    if (p) {
        announce("mmap", p, len, why);
        count(&cnt_mremap);
        if (mremap(p, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, at) != MAP_FAILED) {
            announce("mremap", at, len, why);
            count(why == OS_REASON_LARGE ? &huge_large : &huge_regions);
            errno = saved;
            return true;
        }
        err = errno;
        os_unmap(p, len, why);
    }
#else
    int err = EINVAL;
    (void)at; (void)len; (void)why;
#endif
    hugetlb_refused(err);
    errno = saved;
    return false;
}

void os_hugetlb_counters_get(struct os_hugetlb_counters *out) {
    out->regions = atomic_load_explicit(&huge_regions, memory_order_relaxed);
    out->large = atomic_load_explicit(&huge_large, memory_order_relaxed);
    out->fallbacks = atomic_load_explicit(&huge_fallbacks, memory_order_relaxed);
    out->refusals = atomic_load_explicit(&huge_refusals, memory_order_relaxed);
    out->last_error = atomic_load_explicit(&huge_last_error, memory_order_relaxed);
}

void os_random(void *buf, size_t len) {
    uint8_t *b = buf;
    size_t got = 0;
    while (got < len) {
        ssize_t r = getrandom(b + got, len - got, GRND_NONBLOCK);
        if (r <= 0) break;
        got += (size_t)r;
    }
    if (got < len) {
        /* No entropy yet (early boot) or no getrandom: mix clock, addresses and pid. */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uintptr_t)&ts ^ (uint64_t)getpid() << 17;
        for (size_t i = got; i < len; i++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            b[i] = (uint8_t)(x >> 24);
        }
    }
}

uint64_t os_clock_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void os_write_stderr(const char *msg, size_t len) {
    while (len) {
        ssize_t w = write(2, msg, len);
        if (w <= 0) { if (w < 0 && errno == EINTR) continue; return; }
        msg += w; len -= (size_t)w;
    }
}

int os_memfd(const char *name, size_t len) {
    int fd = (int)syscall(SYS_memfd_create, name, 1u /* MFD_CLOEXEC */);
    if (fd < 0) {
        char path[] = "/dev/shm/mapalloc-XXXXXX";
        fd = mkostemp(path, O_CLOEXEC);
        if (fd < 0) return -1;
        unlink(path);
    }
    if (ftruncate(fd, (off_t)len) != 0) { int e = errno; close(fd); errno = e; return -1; }
    return fd;
}

void *os_map_fd(void *hint, size_t len, int prot, int fd, uint64_t offset, enum os_reason why) {
    int k = (prot & OS_PROT_READ ? PROT_READ : 0) | (prot & OS_PROT_WRITE ? PROT_WRITE : 0) |
            (prot & OS_PROT_EXEC ? PROT_EXEC : 0);
    return map_with(hint, len, k, MAP_SHARED, fd, (off_t)offset, why);
}

void *os_map_shared_anon(void *hint, size_t len, enum os_reason why) {
    return map_with(hint, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0, why);
}

void os_counters_get(struct os_counters *out) {
    out->mmap = atomic_load_explicit(&cnt_mmap, memory_order_relaxed);
    out->munmap = atomic_load_explicit(&cnt_munmap, memory_order_relaxed);
    out->mremap = atomic_load_explicit(&cnt_mremap, memory_order_relaxed);
    out->madvise = atomic_load_explicit(&cnt_madvise, memory_order_relaxed);
    out->mprotect = atomic_load_explicit(&cnt_mprotect, memory_order_relaxed);
}

/* --- Code memory and shared heaps, second part (codemem.c, shared_heap.c). - */
/* Kept in this block so the includes above stay as the core left them. */
#include <sys/stat.h>

bool os_protect_try(void *p, size_t len, int prot, enum os_reason why) {
    count(&cnt_mprotect);
    int k = (prot & OS_PROT_READ ? PROT_READ : 0) | (prot & OS_PROT_WRITE ? PROT_WRITE : 0) |
            (prot & OS_PROT_EXEC ? PROT_EXEC : 0);
    if (mprotect(p, len, k) != 0) {
        if (errno == ENOMEM || errno == EACCES || errno == EPERM) return false;
        fatal_os("mprotect", p, errno);
    }
    announce("mprotect", p, len, why);
    return true;
}

void os_close(int fd) {
    if (fd >= 0) close(fd);
}

int64_t os_fd_size(int fd) {
    struct stat st;
    if (fstat(fd, &st) != 0) return -1;
    return (int64_t)st.st_size;
}

/* "/dev/shm/" + name into buf; false (EINVAL) for names shm_open refuses. */
static bool shm_path(const char *name, char *buf, size_t cap) {
    if (!name) { errno = EINVAL; return false; }
    if (*name == '/') name++;
    size_t n = strlen(name);
    static const char dir[] = "/dev/shm/";
    if (n == 0 || n > 255 || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
        sizeof dir + n > cap) {
        errno = EINVAL;
        return false;
    }
    memcpy(buf, dir, sizeof dir - 1);
    memcpy(buf + sizeof dir - 1, name, n + 1);
    return true;
}

int os_shm_create(const char *name, size_t len) {
    char path[300];
    if (!shm_path(name, path, sizeof path)) return -1;
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return -1;
    if (ftruncate(fd, (off_t)len) != 0) {
        int e = errno;
        close(fd);
        unlink(path);
        errno = e;
        return -1;
    }
    return fd;
}

int os_shm_open(const char *name) {
    char path[300];
    if (!shm_path(name, path, sizeof path)) return -1;
    return open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
}

int os_shm_unlink(const char *name) {
    char path[300];
    if (!shm_path(name, path, sizeof path)) return -1;
    return unlink(path);
}
