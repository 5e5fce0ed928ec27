/* options.h: the table of every option (name, type, default, range, when it
 * may change, one line of documentation), the parsing shared with the
 * `mapalloc` command (src/tools/mapalloc.c validates its --option arguments
 * with the same table), and the globals options.c sets from it.
 * Includes nothing of the allocator, so that the command can use it alone.
 * Tables are data (STYLE.md §7): README's Options table is generated from this
 * one (`mapalloc --list-options=markdown`) and a test keeps the two equal.
 */
#ifndef MAPALLOC_OPTIONS_H
#define MAPALLOC_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum option_type {
    OPTION_SIZE, /* bytes: a decimal with an optional k, m, g or t suffix (powers of 1024) */
    OPTION_MS,   /* milliseconds: a decimal, optionally followed by "ms" */
    OPTION_BOOL, /* 0/1, true/false, yes/no, on/off (any case) */
    OPTION_INT,  /* a decimal, possibly negative */
};

enum option_when {
    OPTION_AT_INIT,  /* fixed at the first allocation: mapalloc_option_set fails with EBUSY after */
    OPTION_ANY_TIME, /* mapalloc_option_set applies it at once, also after the first allocation */
};

/* X(ID, name, type, default, min, max, when, doc) */
/* Built with -DMAPALLOC_SECURE_DEFAULT=ON (CMake): secure mode unless
 * MAPALLOC_SECURE=0 says otherwise. */
#ifndef MAPALLOC_SECURE_DEFAULT
#define MAPALLOC_SECURE_DEFAULT 0
#endif

#define MAPALLOC_OPTION_TABLE(X)                                                                          \
    X(LARGE_THRESHOLD, large_threshold, OPTION_SIZE, INT64_C(128) << 10, INT64_C(1) << 10,                \
      INT64_C(128) << 10, OPTION_AT_INIT,                                                                 \
      "requests above this many bytes get a mapping of their own; smaller ones a size class")            \
    X(PURGE_DELAY_MS, purge_delay_ms, OPTION_MS, 100, 0, 3600000, OPTION_ANY_TIME,                        \
      "free pages stay resident this long before madvise(MADV_DONTNEED); 0 = at once")                  \
    X(LARGE_CACHE, large_cache, OPTION_SIZE, INT64_C(256) << 20, 0, INT64_C(1) << 40, OPTION_ANY_TIME,     \
      "bytes of freed large mappings kept for reuse (also at most the room below the peak of memory in use in the last large_cache_ms: caching never raises the footprint); 0 = none") \
    X(LARGE_CACHE_MS, large_cache_ms, OPTION_MS, 1000, 0, 3600000, OPTION_ANY_TIME,                       \
      "how long a cached large mapping is kept; 0 = no cache")                                          \
    X(SECURE, secure, OPTION_BOOL, MAPALLOC_SECURE_DEFAULT, 0, 1, OPTION_AT_INIT,                                               \
      "secure mode (secure.c): canaries, zero-on-free, a quarantine, guard pages; every call takes a slow path") \
    X(STATS, stats, OPTION_BOOL, 0, 0, 1, OPTION_ANY_TIME,                                                \
      "print statistics to stderr at exit")                                                             \
    X(VERBOSE, verbose, OPTION_BOOL, 0, 0, 1, OPTION_AT_INIT,                                             \
      "print every option's effective value and where it came from to stderr at start-up")              \
    X(HUGE_PAGES, huge_pages, OPTION_BOOL, 0, 0, 1, OPTION_AT_INIT,                                       \
      "transparent huge pages for the first 2 MiB of each small-object region (MADV_HUGEPAGE); purging keeps it whole")         \
    X(LARGE_THP, large_thp, OPTION_BOOL, 0, 0, 1, OPTION_ANY_TIME,                                        \
      "transparent huge pages for large blocks of 4 MiB and more (MADV_HUGEPAGE, 2 MiB aligned); applies to blocks made after") \
    X(CALLOC_POPULATE, calloc_populate, OPTION_SIZE, INT64_C(16) << 20, 0, INT64_C(1) << 40, OPTION_ANY_TIME, \
      "calloc of a fresh large block up to this many bytes maps all its pages at once (MADV_POPULATE_WRITE): one fault per page instead of two when the program reads before it writes; larger ones stay lazy; 0 = never") \
    X(HUGETLB, hugetlb, OPTION_BOOL, 0, 0, 1, OPTION_AT_INIT,                                             \
      "MAP_HUGETLB pages (vm.nr_hugepages) for the first 2 MiB of each small-object region and for large blocks of 2 MiB and more; normal pages when none is free") \
    X(MEMORY_LIMIT, memory_limit, OPTION_SIZE, 0, 0, INT64_C(1) << 46, OPTION_ANY_TIME,                   \
      "committed bytes allowed, 0 = no limit: mappings beyond it fail with ENOMEM (after a trim)")      \
    X(BACKGROUND_PURGE, background_purge, OPTION_BOOL, 0, 0, 1, OPTION_AT_INIT,                           \
      "a background thread gives back idle threads' free pages after purge_delay_ms")                  \
    X(EVENT_FD, event_fd, OPTION_INT, -1, -1, 65535, OPTION_AT_INIT,                                      \
      "write one line per system call the allocator makes to this fd (mapwatch sets it); -1 = off")     \
    X(MEDIUM, medium, OPTION_BOOL, 1, 0, 1, OPTION_ANY_TIME,                                              \
      "requests above 4 KiB up to large_threshold get an exact fit in 256-byte granules (medium.c); 0 = size classes (secure mode always uses classes)")

enum option_id {
#define OPTION_ENUM(ID, name, type, def, min, max, when, doc) OPTION_##ID,
    MAPALLOC_OPTION_TABLE(OPTION_ENUM)
#undef OPTION_ENUM
    OPTION_COUNT
};

struct option_desc {
    const char *name;   /* as in MAPALLOC_OPTIONS and mapalloc_option_set */
    const char *env;    /* MAPALLOC_<NAME> */
    enum option_type type;
    int64_t def, min, max;
    enum option_when when;
    const char *doc;
};

extern const struct option_desc option_table[OPTION_COUNT];

/* The option named name[0..len) (any case), or -1. */
int option_find(const char *name, size_t len);
/* Parse s[0..len) as a value of option d into *out. On failure, false and a
 * reason ("not a size ...", "out of range 1k..128k") in why[whylen].
 * Allocates nothing. */
bool option_parse(const struct option_desc *d, const char *s, size_t len, int64_t *out, char *why, size_t whylen);
/* Write v as text to buf[len] (always terminated when len > 0): plain decimal,
 * or with human set, sizes with a k/m/g/t suffix when exact and booleans as
 * 0/1. Returns the length the text needs, as snprintf does. Allocates nothing. */
size_t option_format(const struct option_desc *d, int64_t v, bool human, char *buf, size_t len);

/* ---- The globals (options.c), for the options init.c does not define. ---- */
extern bool opt_secure;          /* secure mode (secure.c; also declared in internal.h) */
extern bool opt_stats_at_exit;   /* print statistics at exit */
extern bool opt_verbose;         /* print the options at start-up */
extern bool opt_huge_pages;      /* THP for the first 2 MiB of each small-object region */
extern bool opt_large_thp;       /* THP for large blocks of 4 MiB and more (large.c) */
extern bool opt_hugetlb;         /* MAP_HUGETLB for region heads and large blocks >= 2 MiB (not in secure mode) */
extern bool opt_background_purge; /* purge.c: the background purger thread */
extern size_t opt_memory_limit;  /* committed bytes allowed, 0 = none (warning only) */
extern size_t opt_calloc_populate; /* large.c: populate fresh calloc'd blocks up to this size */
extern int opt_event_fd;         /* mapwatch event channel, -1 = off */

/* Whether committing bytes more keeps committed memory within memory_limit
 * (always true without a limit). stats.c; for the places that map memory
 * (region.c region_new, large.c large_alloc) to fail with ENOMEM instead. */
bool stat_commit_allowed(size_t bytes);

/* Read MAPALLOC_OPTIONS and every MAPALLOC_<NAME> once (later calls return at
 * once); warnings go to stderr. Called when the library is loaded (init.c),
 * by process_init and by the option API, whichever comes first. */
void options_load(void);
/* The first allocation: from now on OPTION_AT_INIT options are fixed. */
void options_freeze(void);
/* With opt_verbose: print every option, its value and its source to stderr. */
void options_print_verbose(void);

#endif /* MAPALLOC_OPTIONS_H */
