/* mapalloc.h: the whole public API of libmapalloc.
 *
 * Every function here is usable whether or not the library also replaces the
 * process's malloc (the standard names are exported by src/alloc/override.c
 * only). The prefixed functions behave exactly like their standard namesakes,
 * including errno: ENOMEM for sizes that cannot be served, EINVAL for bad
 * alignments.
 */
#ifndef MAPALLOC_H
#define MAPALLOC_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define MAPALLOC_EXPORT __attribute__((visibility("default")))
#define MAPALLOC_MALLOC_ATTR __attribute__((malloc, warn_unused_result))
#define MAPALLOC_ALLOC_SIZE(n) __attribute__((alloc_size(n)))
#define MAPALLOC_ALLOC_SIZE2(n, m) __attribute__((alloc_size(n, m)))
#else
#define MAPALLOC_EXPORT
#define MAPALLOC_MALLOC_ATTR
#define MAPALLOC_ALLOC_SIZE(n)
#define MAPALLOC_ALLOC_SIZE2(n, m)
#endif

#define MAPALLOC_VERSION_MAJOR 0
#define MAPALLOC_VERSION_MINOR 1
#define MAPALLOC_VERSION_PATCH 0

/* --- The standard allocation functions, prefixed. ------------------------ */

/* malloc(3): a block of at least n bytes aligned to 16, or NULL with errno
 * ENOMEM. mapalloc_malloc(0) returns a unique non-NULL pointer. */
MAPALLOC_EXPORT MAPALLOC_MALLOC_ATTR MAPALLOC_ALLOC_SIZE(1) void *mapalloc_malloc(size_t n);
/* free(3): NULL is a no-op; errno is preserved. A pointer this allocator did
 * not return, or one already freed, aborts with "mapalloc: <bug> at <addr>". */
MAPALLOC_EXPORT void mapalloc_free(void *p);
/* calloc(3): zeroed; count*size overflow gives NULL with ENOMEM. */
MAPALLOC_EXPORT MAPALLOC_MALLOC_ATTR MAPALLOC_ALLOC_SIZE2(1, 2) void *mapalloc_calloc(size_t count, size_t size);
/* realloc(3) as glibc documents it: realloc(NULL, n) = malloc(n);
 * realloc(p, 0) frees p and returns NULL; on failure p is untouched. */
MAPALLOC_EXPORT MAPALLOC_ALLOC_SIZE(2) void *mapalloc_realloc(void *p, size_t n);
/* reallocarray(3): realloc with an overflow check (NULL, ENOMEM). */
MAPALLOC_EXPORT MAPALLOC_ALLOC_SIZE2(2, 3) void *mapalloc_reallocarray(void *p, size_t count, size_t size);
/* aligned_alloc (C17 7.22.3.1): alignment must be a power of two (EINVAL otherwise). */
MAPALLOC_EXPORT MAPALLOC_MALLOC_ATTR MAPALLOC_ALLOC_SIZE(2) void *mapalloc_aligned_alloc(size_t alignment, size_t n);
/* posix_memalign(3): returns EINVAL unless alignment is a power of two
 * multiple of sizeof(void *); returns ENOMEM on exhaustion; errno untouched. */
MAPALLOC_EXPORT int mapalloc_posix_memalign(void **out, size_t alignment, size_t n);
/* memalign(3): alignment must be a power of two (EINVAL otherwise). */
MAPALLOC_EXPORT MAPALLOC_MALLOC_ATTR MAPALLOC_ALLOC_SIZE(2) void *mapalloc_memalign(size_t alignment, size_t n);
/* valloc(3): page aligned. */
MAPALLOC_EXPORT MAPALLOC_MALLOC_ATTR MAPALLOC_ALLOC_SIZE(1) void *mapalloc_valloc(size_t n);
/* pvalloc(3): page aligned, size rounded up to a whole page. */
MAPALLOC_EXPORT MAPALLOC_MALLOC_ATTR void *mapalloc_pvalloc(size_t n);
/* malloc_usable_size(3): bytes usable at p (at least what was asked); 0 for NULL. */
MAPALLOC_EXPORT size_t mapalloc_usable_size(const void *p);
/* C23 free_sized: n must be the size passed to the allocating call. */
MAPALLOC_EXPORT void mapalloc_free_sized(void *p, size_t n);
/* C23 free_aligned_sized: for blocks from aligned_alloc. */
MAPALLOC_EXPORT void mapalloc_free_aligned_sized(void *p, size_t alignment, size_t n);
/* malloc_trim(3): release every free page to the kernel now (pad is
 * ignored); returns 1 if any memory was released, 0 otherwise. */
MAPALLOC_EXPORT int mapalloc_trim(size_t pad);

/* --- Statistics. --------------------------------------------------------- */

/* Process-wide figures. Byte counts are exact at the moment of the call for
 * the calling thread's heap and exact up to in-flight operations of other
 * threads. */
struct mapalloc_stats {
    size_t in_use;          /* bytes in live blocks (block sizes, not requests) */
    size_t in_use_blocks;   /* number of live blocks */
    size_t committed;       /* bytes mapped and not purged: small pages in use plus large mappings */
    size_t reserved;        /* bytes of address space mapped by the allocator */
    size_t purged;          /* bytes given back with madvise so far (cumulative) */
    size_t peak_committed;  /* highest committed seen */
    size_t regions;         /* small-object regions mapped now */
    size_t large_blocks;    /* large blocks live now (each its own mapping) */
    size_t large_bytes;     /* bytes mapped for large blocks now */
    size_t large_cached;    /* bytes of freed large mappings kept for reuse */
    size_t heaps;           /* thread heaps in existence (live or waiting for reuse) */
    uint64_t mmap_calls, munmap_calls, mremap_calls, madvise_calls, mprotect_calls;
};
MAPALLOC_EXPORT void mapalloc_stats_get(struct mapalloc_stats *out);
/* Human-readable statistics: totals, system calls, a table of the size
 * classes in use and one of the heaps. */
MAPALLOC_EXPORT void mapalloc_stats_print(FILE *out);

/* --- Options and detailed statistics (options.c, stats.c). ---------------- */

/* Options: the table is README's "Options" (generated from src/alloc/options.h).
 * They are read once from the environment, MAPALLOC_OPTIONS="name=value,..."
 * first and then MAPALLOC_<NAME>=value (which wins), when the library is
 * loaded (or at an earlier allocation or call of these functions from another
 * library's constructor); a bad value or unknown name prints
 * "mapalloc: warning: <name>: <why>; keeping the default" and changes nothing.
 * mapalloc_option_set overrides both: 0, or -1 with errno ENOENT (unknown
 * name), EINVAL (bad value: nothing changes) or EBUSY (an option fixed when
 * the allocator starts, at its first allocation of a block below the large
 * threshold, which has happened; setting the value it already has succeeds). Options marked "any time" in the table take effect at once. */
MAPALLOC_EXPORT int mapalloc_option_set(const char *name, const char *value);
/* The effective value of an option as decimal text (booleans 0 or 1, sizes in
 * bytes, times in ms) in buf[len], terminated when len > 0. Returns the
 * text's length as snprintf does (>= len: truncated), or -1 with errno ENOENT. */
MAPALLOC_EXPORT int mapalloc_option_get(const char *name, char *buf, size_t len);
/* The name of option i (0, 1, ...), NULL past the last. */
MAPALLOC_EXPORT const char *mapalloc_option_name(size_t i);

/* One size class, summed over every heap. */
struct mapalloc_class_stats {
    size_t block_size;  /* bytes of each block of the class */
    size_t blocks;      /* live blocks */
    size_t bytes;       /* blocks * block_size */
    size_t pages;       /* pages of the class (a page is 1..32 slices of 64 KiB) */
    size_t page_bytes;  /* bytes those pages span */
    size_t waste;       /* page_bytes - bytes: free blocks, page tails, blocks not yet carved */
};
/* Fill out[0..count) with the size classes in increasing block size (out[i]
 * is class i+1); returns the number of classes (48). Live blocks are exact
 * for the calling thread's heap and for heaps of exited threads; in a heap of
 * another running thread they may be momentarily high by the frees other
 * threads are making into it at that instant, never low. */
MAPALLOC_EXPORT size_t mapalloc_stats_classes(struct mapalloc_class_stats *out, size_t count);
/* The medium blocks (requests above 4 KiB up to the large threshold, exact
 * fit in 256-byte granules; option medium) as one entry: block_size is the
 * granule (256), bytes the granules of the live blocks, pages the 1 MiB
 * medium pages. Returns the live medium blocks. Exact for the calling
 * thread's heap and for heaps of exited threads; for another running
 * thread's heap a snapshot that may be momentarily off either way (its
 * owner may be halfway through a change of the page's bitmaps). */
MAPALLOC_EXPORT size_t mapalloc_stats_medium(struct mapalloc_class_stats *out);
/* Everything mapalloc_stats_print shows, as one JSON object in buf[len]
 * (terminated when len > 0); returns the length the whole text needs, as
 * snprintf does. Allocates nothing. Keys: "totals" (the fields of struct
 * mapalloc_stats but the call counters), "os_calls" {mmap, munmap, mremap,
 * madvise, mprotect}, "classes" [one object per class that has pages or
 * blocks, fields of struct mapalloc_class_stats plus "class"], "heaps" [{tag,
 * state, regions, pages, page_bytes, dirty_bytes, blocks, bytes,
 * foreign_cached}] (the first 64; "heaps_omitted" counts the rest), "options"
 * {name: value}. docs/statistics.md describes each figure. */
MAPALLOC_EXPORT size_t mapalloc_stats_json(char *buf, size_t len);

/* --- end of options and detailed statistics --- */

/* --- First-class heaps and heap walking: userheap.c. ----------------------- */

/* A heap of its own: allocate from it, free its blocks one by one (with
 * mapalloc_free or mapalloc_heap_free, from any thread), and destroy it to
 * free everything in it at once: its regions and its large blocks are
 * unmapped. Rules: every function here may be called from any thread (each
 * takes the heap's lock); blocks of a heap must not be used or freed after
 * mapalloc_heap_destroy, nor while it runs. A freed pointer of a destroyed
 * heap is reported by free as an invalid free. */
typedef struct mapalloc_heap mapalloc_heap;
/* NULL with ENOMEM when no heap can be made (at most 65519 heaps, threads'
 * included, exist at once; destroyed heaps are reused). */
MAPALLOC_EXPORT mapalloc_heap *mapalloc_heap_create(void);
MAPALLOC_EXPORT MAPALLOC_MALLOC_ATTR void *mapalloc_heap_malloc(mapalloc_heap *h, size_t n);
MAPALLOC_EXPORT MAPALLOC_MALLOC_ATTR void *mapalloc_heap_calloc(mapalloc_heap *h, size_t count, size_t size);
/* realloc within h (the block stays in place when the new size fits). */
MAPALLOC_EXPORT void *mapalloc_heap_realloc(mapalloc_heap *h, void *p, size_t n);
/* EINVAL unless alignment is a power of two. */
MAPALLOC_EXPORT MAPALLOC_MALLOC_ATTR void *mapalloc_heap_aligned_alloc(mapalloc_heap *h, size_t alignment, size_t n);
MAPALLOC_EXPORT void mapalloc_heap_free(mapalloc_heap *h, void *p);
MAPALLOC_EXPORT void mapalloc_heap_destroy(mapalloc_heap *h);
/* Visit every live block of h (address and usable size) and return how many
 * there are; visit may be NULL (count only) and stops the walk by returning
 * non-zero. h == NULL walks the calling thread's heap and the large blocks of
 * no first-class heap. The visitor must not allocate from or free into the
 * heap being walked. Blocks another thread freed into its own small cache of
 * foreign blocks, or into secure mode's quarantine, count as live until they
 * come home. */
MAPALLOC_EXPORT size_t mapalloc_heap_walk(mapalloc_heap *h, int (*visit)(void *block, size_t size, void *arg), void *arg);

/* --- Checking. ------------------------------------------------------------ */

/* Walk every heap and check every invariant written in src/alloc/types.h;
 * aborts with a message on the first violation. Returns the number of live
 * blocks seen. Other threads' heaps are read without stopping their
 * threads: call it while no other thread allocates or frees (a busy
 * thread's page can be caught half-updated and reported as a violation).
 * Slow: for tests and debugging. */
MAPALLOC_EXPORT size_t mapalloc_check_heap(void);

/* --- Code memory (W^X) and shared heaps: codemem.c, shared_heap.c. --- */

/* Code memory for JITs: docs/codemem.md. Functions are packed into chunks of
 * 64 KiB (bigger requests get their own chunk); no page is ever writable and
 * executable at once.
 *  - MAPALLOC_CODE_FLIP: one private mapping per chunk. write_begin makes the
 *    block's pages RW (not executable), seal makes them R-X again: an
 *    mprotect each, and each one shoots down the TLB entries of every thread
 *    of the process. Other functions on those pages cannot run in between.
 *  - MAPALLOC_CODE_DUAL: each chunk is a memfd mapped twice, an RW view and an
 *    R-X view at unrelated addresses. Patching writes through the RW view
 *    while the code stays runnable: no mprotect, no shootdown. The RW view is
 *    a writable alias of the code, so an attacker who can write anywhere and
 *    find it can change code; flip mode leaves no such alias.
 * Every function is thread-safe (one mutex per arena). Blocks are 16-byte
 * aligned. Unwritten and (dual mode) freed code holds trap instructions. */
enum mapalloc_code_mode { MAPALLOC_CODE_FLIP = 0, MAPALLOC_CODE_DUAL = 1 };
typedef struct mapalloc_code_arena mapalloc_code_arena;

struct mapalloc_code_stats {
    size_t chunks;          /* chunks mapped */
    size_t bytes_mapped;    /* code bytes mapped (each view counted once) */
    size_t blocks;          /* live blocks */
    size_t bytes_in_use;    /* bytes of live blocks, rounded to 16 */
    size_t open_blocks;     /* blocks between write_begin and seal */
    uint64_t mprotect_calls;/* protection changes made (flip mode; 1 per chunk mapped) */
};

/* A new arena; its first chunk is mapped (and made executable) at once, so a
 * system that refuses executable memory fails here: NULL with errno EACCES or
 * EPERM (SELinux execmem, PaX, seccomp, a noexec /dev/shm for the memfd
 * fallback), ENOMEM, EMFILE (dual: no descriptor for the memfd), or EINVAL
 * for an unknown mode. */
MAPALLOC_EXPORT mapalloc_code_arena *mapalloc_code_create(enum mapalloc_code_mode mode);
/* A block of at least size bytes of code memory, returned as the address to
 * run (the R-X view). It is not writable until mapalloc_code_write_begin.
 * NULL with errno ENOMEM (or the errors of create when a new chunk is
 * needed); EINVAL for a NULL arena. */
MAPALLOC_EXPORT void *mapalloc_code_alloc(mapalloc_code_arena *a, size_t size);
/* Open the block starting at code (as returned by alloc) for writing; returns
 * where to write its bytes: code itself in flip mode, the RW alias in dual
 * mode. The first opening fills the block with traps; later openings (for
 * patching) keep its contents. Until seal, the block must not run in flip
 * mode, nor (flip mode) any other code on its pages. NULL with errno EINVAL
 * (code is not a live block), EBUSY (already open), ENOMEM (mprotect: too
 * many mappings). */
MAPALLOC_EXPORT void *mapalloc_code_write_begin(mapalloc_code_arena *a, void *code);
/* End writing: flip mode makes the pages R-X again (when no other block on
 * them is open), both modes flush the instruction cache for the block
 * (__builtin___clear_cache; a no-op on x86, required on aarch64). Then the
 * block may run; in flip mode, only once no other block sharing a page with
 * it is open. 0, or -1 with errno EINVAL (not an open block) or ENOMEM (the
 * block stays open). */
MAPALLOC_EXPORT int mapalloc_code_seal(mapalloc_code_arena *a, void *code);
/* alloc + write_begin + copy len bytes + seal: the address to run, or NULL
 * with errno as those functions set it. */
MAPALLOC_EXPORT void *mapalloc_code_add(mapalloc_code_arena *a, const void *bytes, size_t len);
/* Return a block for reuse (an open block is sealed first). Dual mode
 * overwrites it with traps at once; flip mode leaves the old bytes until the
 * block is reused. An empty chunk other than the last one is unmapped. The
 * caller must make sure no thread still runs the code. 0, or -1 with errno
 * EINVAL (not a live block) or ENOMEM. */
MAPALLOC_EXPORT int mapalloc_code_free(mapalloc_code_arena *a, void *code);
/* Figures of the arena at the moment of the call; -1 with EINVAL for NULL. */
MAPALLOC_EXPORT int mapalloc_code_stats_get(mapalloc_code_arena *a, struct mapalloc_code_stats *out);
/* Unmap every chunk of the arena and the arena itself; NULL is a no-op. Every
 * block is gone: no thread may run any of it any more. */
MAPALLOC_EXPORT void mapalloc_code_destroy(mapalloc_code_arena *a);

/* Shared heaps: docs/shared-heap.md. A heap of fixed size (set at creation,
 * never grown) in MAP_SHARED memory, usable by every process that maps it:
 * the parent and children forked after mapalloc_shared_create, and, for
 * MAPALLOC_SHARED_NAMED / MAPALLOC_SHARED_MEMFD heaps, unrelated processes
 * that attach with mapalloc_shared_open / mapalloc_shared_open_fd. The heap
 * maps at the same address in every process, so pointers into it can be
 * stored in it and passed around as they are. Any process may free or
 * realloc any block. One process-shared robust mutex guards the heap; every
 * change of its metadata is a journalled transaction, so a process that dies
 * at any instruction of an operation (even SIGKILL while holding the lock)
 * leaves a heap the next caller repairs before going on: the operation
 * either happened completely or not at all.
 * A mapalloc_shared handle is per process (children inherit their parent's
 * through fork). Not async-signal-safe. */
typedef struct mapalloc_shared mapalloc_shared;
enum {
    MAPALLOC_SHARED_ANON = 0,   /* MAP_SHARED|MAP_ANONYMOUS: shared through fork only */
    MAPALLOC_SHARED_MEMFD = 1,  /* a memfd: attach by fd (mapalloc_shared_fd, SCM_RIGHTS) */
    MAPALLOC_SHARED_NAMED = 2,  /* /dev/shm/<name>: attach by name (mapalloc_shared_open) */
};

struct mapalloc_shared_stats {
    size_t size;            /* bytes mapped for the heap, metadata included */
    size_t capacity;        /* bytes of the block area (the most blocks can take) */
    size_t used_blocks, used_bytes;     /* live blocks, and their sizes with headers */
    size_t free_blocks, free_bytes;     /* free blocks and bytes (free_bytes + used_bytes == capacity) */
    size_t largest_free;    /* largest free block, header included */
    uint64_t recoveries;    /* times a caller found the lock's owner dead and repaired the heap */
    uint64_t replays;       /* of those, times a committed but unfinished operation was completed */
};

/* A new heap of size bytes (rounded up to pages; at least 64 KiB), fixed for
 * its life. flags: one of MAPALLOC_SHARED_ANON, _MEMFD, _NAMED. name: the
 * /dev/shm name for _NAMED (as for shm_open: one optional leading '/', no
 * other '/'; created with O_EXCL and mode 0600), ignored otherwise.
 * _NAMED and _MEMFD heaps are placed at a random address between 16 and
 * 64 TiB, far from where Linux puts libraries, stacks and executables, so
 * that the same range is most likely free in an unrelated process too.
 * NULL with errno EINVAL (bad flags, name or size), EEXIST (name taken),
 * ENOMEM, or what open/ftruncate/memfd_create report. */
MAPALLOC_EXPORT mapalloc_shared *mapalloc_shared_create(size_t size, int flags, const char *name);
/* Attach to the heap /dev/shm/<name> made by mapalloc_shared_create in any
 * process: it is mapped at the address recorded at creation, with
 * MAP_FIXED_NOREPLACE. NULL with errno ENOENT (no such name), EINVAL (not a
 * mapalloc heap, or not fully created yet), EEXIST (something of this process
 * already occupies that address range: the heap cannot be used here, since
 * its pointers would be wrong; this includes a second attach of a heap this
 * process has mapped already), ENOMEM. */
MAPALLOC_EXPORT mapalloc_shared *mapalloc_shared_open(const char *name);
/* As mapalloc_shared_open, for the descriptor of a _MEMFD or _NAMED heap
 * received from another process. fd stays the caller's (it is not closed). */
MAPALLOC_EXPORT mapalloc_shared *mapalloc_shared_open_fd(int fd);
/* The memfd of a _MEMFD heap (close-on-exec; valid in the creator and its
 * forked children), to send to another process; -1 with EINVAL otherwise. */
MAPALLOC_EXPORT int mapalloc_shared_fd(mapalloc_shared *h);

/* malloc/calloc/realloc/free in the heap, as their standard namesakes (16-byte
 * alignment; NULL with ENOMEM when the heap is full; realloc(p, 0) frees).
 * They return EINVAL for a NULL handle, and ENOTRECOVERABLE if the heap's
 * lock is unusable (a process bypassed the library). A pointer that is not a
 * live block of the heap aborts with "mapalloc: invalid free" or "double free". */
MAPALLOC_EXPORT void *mapalloc_shared_malloc(mapalloc_shared *h, size_t n);
MAPALLOC_EXPORT void *mapalloc_shared_calloc(mapalloc_shared *h, size_t count, size_t size);
MAPALLOC_EXPORT void *mapalloc_shared_realloc(mapalloc_shared *h, void *p, size_t n);
MAPALLOC_EXPORT void mapalloc_shared_free(mapalloc_shared *h, void *p);
/* Bytes usable at p (at least what was asked), 0 for NULL. */
MAPALLOC_EXPORT size_t mapalloc_shared_usable_size(mapalloc_shared *h, const void *p);

/* Ownership that survives a crash. slot is a pointer-sized, aligned word
 * inside the heap (in a live block). alloc_into stores the new block's
 * address in *slot in the same transaction that allocates it; free_from frees
 * *slot (if not NULL) and sets it to NULL in the same transaction;
 * realloc_into resizes *slot (a block NULL slot is allocated) and updates it.
 * Whatever instant the caller dies at, the block is either recorded in the
 * slot or free: never lost. 0, or -1 with errno EINVAL (slot outside the
 * heap's blocks or misaligned), ENOMEM (heap full: *slot unchanged). */
MAPALLOC_EXPORT int mapalloc_shared_alloc_into(mapalloc_shared *h, size_t n, void **slot);
MAPALLOC_EXPORT int mapalloc_shared_free_from(mapalloc_shared *h, void **slot);
MAPALLOC_EXPORT int mapalloc_shared_realloc_into(mapalloc_shared *h, size_t n, void **slot);

/* One pointer stored in the heap's header, for processes that attach by name
 * to find the application's data. Set atomically; initially NULL. */
MAPALLOC_EXPORT void mapalloc_shared_set_root(mapalloc_shared *h, void *p);
MAPALLOC_EXPORT void *mapalloc_shared_root(mapalloc_shared *h);

/* Walk the whole heap under its lock and check every invariant (block sizes
 * and boundary tags, neighbouring free blocks merged, free lists doubly
 * linked and complete, counters); fill *out (may be NULL). 0 if consistent;
 * -1 with errno EUCLEAN (a message on stderr names the first violation),
 * EINVAL or ENOTRECOVERABLE. */
MAPALLOC_EXPORT int mapalloc_shared_check(mapalloc_shared *h, struct mapalloc_shared_stats *out);
/* Unmap the heap from this process and free the handle; the heap lives on in
 * the others. A NULL handle is a no-op. */
MAPALLOC_EXPORT void mapalloc_shared_close(mapalloc_shared *h);
/* mapalloc_shared_close, and for a _NAMED heap also remove its name (processes
 * that have it mapped keep using it; no new one can attach). */
MAPALLOC_EXPORT void mapalloc_shared_destroy(mapalloc_shared *h);
/* Remove the name of a _NAMED heap without having it open: 0, or -1 with errno. */
MAPALLOC_EXPORT int mapalloc_shared_unlink(const char *name);

/* --- end of code memory and shared heaps --- */

#ifdef __cplusplus
}
#endif
#endif /* MAPALLOC_H */
