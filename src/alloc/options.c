/* options.c: the options' values, read once from the environment and settable
 * from code (mapalloc_option_set/get). The environment is read when the library
 * is loaded (a constructor in init.c), or earlier if an allocation or a
 * mapalloc_option_* call comes first (from another library's constructor).
 * Precedence, lowest first: the default, MAPALLOC_OPTIONS="name=value,..."
 * (left to right), MAPALLOC_<NAME>=value, mapalloc_option_set.
 * Runs inside the first malloc: allocates nothing (getenv, fixed buffers,
 * write(2) for warnings).
 * May call: option_table.c, os.h (stderr), stats.c (print at exit).
 */
#define _GNU_SOURCE
#include "internal.h"
#include "mapalloc.h"
#include "options.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool opt_secure;
bool opt_stats_at_exit;
bool opt_verbose;
bool opt_huge_pages;
bool opt_large_thp;
bool opt_hugetlb;
size_t opt_memory_limit;
size_t opt_calloc_populate = (size_t)16 << 20;
bool opt_background_purge;
int opt_event_fd = -1;
bool opt_medium = true;

enum option_source { SOURCE_DEFAULT, SOURCE_OPTIONS_VAR, SOURCE_ENV, SOURCE_PROGRAM };
static const char *const source_names[] = {"default", "MAPALLOC_OPTIONS", "environment", "mapalloc_option_set"};

static int64_t values[OPTION_COUNT];
static uint8_t sources[OPTION_COUNT];
static pthread_mutex_t options_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static bool frozen;            /* under options_mutex */
static bool stats_registered;  /* under options_mutex */

/* Copy option id's value to the global the allocator reads. A plain word
 * store: a thread on a slow path sees the new value there or at its next one. */
static void publish(int id) {
    int64_t v = values[id];
    switch ((enum option_id)id) {
    case OPTION_LARGE_THRESHOLD: STORE_RELAXED(opt_large_threshold, (size_t)v); break;
    case OPTION_PURGE_DELAY_MS: STORE_RELAXED(opt_purge_delay_ms, (uint32_t)v); break;
    case OPTION_LARGE_CACHE: STORE_RELAXED(opt_large_cache_bytes, (size_t)v); break;
    case OPTION_LARGE_CACHE_MS: STORE_RELAXED(opt_large_cache_ms, (uint32_t)v); break;
    case OPTION_SECURE: STORE_RELAXED(opt_secure, v != 0); break;
    case OPTION_STATS: STORE_RELAXED(opt_stats_at_exit, v != 0); break;
    case OPTION_VERBOSE: STORE_RELAXED(opt_verbose, v != 0); break;
    case OPTION_HUGE_PAGES: STORE_RELAXED(opt_huge_pages, v != 0); break;
    case OPTION_LARGE_THP: STORE_RELAXED(opt_large_thp, v != 0); break;
    case OPTION_HUGETLB: STORE_RELAXED(opt_hugetlb, v != 0); break;
    case OPTION_MEMORY_LIMIT: STORE_RELAXED(opt_memory_limit, (size_t)v); break;
    case OPTION_CALLOC_POPULATE: STORE_RELAXED(opt_calloc_populate, (size_t)v); break;
    case OPTION_BACKGROUND_PURGE: STORE_RELAXED(opt_background_purge, v != 0); break;
    case OPTION_EVENT_FD: STORE_RELAXED(opt_event_fd, (int)v); break;
    case OPTION_MEDIUM: STORE_RELAXED(opt_medium, v != 0); break;
    case OPTION_COUNT: break;
    }
}

static void stats_at_exit(void) { mapalloc_stats_print(stderr); }

/* Called with options_mutex held, once the process is initialised. */
static void register_stats_at_exit(void) {
    if (opt_stats_at_exit && !stats_registered) {
        stats_registered = true;
        atexit(stats_at_exit);
    }
}

/* "mapalloc: warning: <name>: <why>; keeping the default" on stderr. */
static void warn(const char *name, size_t name_len, const char *why, enum option_source kept) {
    char buf[320];
    size_t n = 0;
    const char *parts[] = {"mapalloc: warning: ", NULL, ": ", why,
                           kept == SOURCE_DEFAULT ? "; keeping the default\n" : "; keeping the value from MAPALLOC_OPTIONS\n"};
    for (size_t i = 0; i < 5; i++) {
        if (i == 1) {
            for (size_t k = 0; k < name_len && k < 64; k++) buf[n++] = name[k];
            continue;
        }
        for (const char *s = parts[i]; *s && n < sizeof buf - 1; s++) buf[n++] = *s;
    }
    if (buf[n - 1] != '\n') buf[n++] = '\n';
    os_write_stderr(buf, n);
}

/* Apply name=value from the environment (either form). */
static void set_from_env(const char *name, size_t name_len, int id, const char *value, size_t value_len,
                         enum option_source src) {
    if (id < 0) { warn(name, name_len, "unknown option", SOURCE_DEFAULT); return; }
    char why[96];
    int64_t v;
    if (!option_parse(&option_table[id], value, value_len, &v, why, sizeof why)) {
        warn(name, name_len, why, (enum option_source)sources[id]);
        return;
    }
    values[id] = v;
    sources[id] = (uint8_t)src;
}

/* MAPALLOC_OPTIONS="name=value,name=value": a name alone sets a boolean. */
static void load_options_var(const char *s) {
    while (*s) {
        const char *item = s;
        while (*s && *s != ',') s++;
        const char *end = s;
        if (*s == ',') s++;
        while (item < end && (*item == ' ' || *item == '\t')) item++;
        if (item == end) continue;
        const char *eq = memchr(item, '=', (size_t)(end - item));
        const char *name_end = eq ? eq : end;
        while (name_end > item && (name_end[-1] == ' ' || name_end[-1] == '\t')) name_end--;
        size_t name_len = (size_t)(name_end - item);
        int id = option_find(item, name_len);
        if (eq) set_from_env(item, name_len, id, eq + 1, (size_t)(end - eq - 1), SOURCE_OPTIONS_VAR);
        else if (id >= 0 && option_table[id].type == OPTION_BOOL) set_from_env(item, name_len, id, "1", 1, SOURCE_OPTIONS_VAR);
        else if (id < 0) warn(item, name_len, "unknown option", SOURCE_DEFAULT);
        else warn(item, name_len, "missing =value", (enum option_source)sources[id]);
    }
}

static void load_once_fn(void) {
    for (int i = 0; i < OPTION_COUNT; i++) {
        values[i] = option_table[i].def;
        sources[i] = SOURCE_DEFAULT;
    }
    const char *all = getenv("MAPALLOC_OPTIONS");
    if (all) load_options_var(all);
    for (int i = 0; i < OPTION_COUNT; i++) {
        const char *s = getenv(option_table[i].env);
        if (s) set_from_env(option_table[i].env, strlen(option_table[i].env), i, s, strlen(s), SOURCE_ENV);
    }
    /* Never a silent ignore: a MAPALLOC_ variable that names no option is
     * most likely a typo of one. */
    for (char **e = environ; e && *e; e++) {
        if (strncmp(*e, "MAPALLOC_", 9) != 0) continue;
        const char *eq = strchr(*e, '=');
        size_t len = eq ? (size_t)(eq - *e) : strlen(*e);
        if (len == 16 && strncmp(*e, "MAPALLOC_OPTIONS", 16) == 0) continue;
        if (option_find(*e + 9, len - 9) >= 0) {
            /* getenv matched it unless the case differs (MAPALLOC_Stats): a typo too */
            bool exact = true;
            for (size_t k = 9; k < len; k++) exact &= !((*e)[k] >= 'a' && (*e)[k] <= 'z');
            if (exact) continue;
        }
        warn(*e, len, "unknown option", SOURCE_DEFAULT);
    }
    for (int i = 0; i < OPTION_COUNT; i++) publish(i);
}

void options_load(void) { pthread_once(&load_once, load_once_fn); }

void options_freeze(void) {
    options_load();
    pthread_mutex_lock(&options_mutex);
    frozen = true;
    register_stats_at_exit();
    pthread_mutex_unlock(&options_mutex);
}

void options_print_verbose(void) {
    if (!opt_verbose) return;
    for (int i = 0; i < OPTION_COUNT; i++) {
        char line[200], val[32];
        size_t n = 0;
        option_format(&option_table[i], values[i], true, val, sizeof val);
        const char *parts[] = {"mapalloc: option ", option_table[i].name, " = ", val, " (", source_names[sources[i]],
                               ")\n"};
        for (size_t k = 0; k < sizeof parts / sizeof parts[0]; k++)
            for (const char *s = parts[k]; *s && n < sizeof line; s++) line[n++] = *s;
        os_write_stderr(line, n);
    }
}

MAPALLOC_EXPORT int mapalloc_option_set(const char *name, const char *value) {
    if (!name || !value) { errno = EINVAL; return -1; }
    options_load();
    int id = option_find(name, strlen(name));
    if (id < 0) { errno = ENOENT; return -1; }
    char why[96];
    int64_t v;
    if (!option_parse(&option_table[id], value, strlen(value), &v, why, sizeof why)) { errno = EINVAL; return -1; }
    pthread_mutex_lock(&options_mutex);
    if (frozen && option_table[id].when == OPTION_AT_INIT && v != values[id]) {
        pthread_mutex_unlock(&options_mutex);
        errno = EBUSY;
        return -1;
    }
    values[id] = v;
    sources[id] = SOURCE_PROGRAM;
    publish(id);
    if (frozen) register_stats_at_exit();
    pthread_mutex_unlock(&options_mutex);
    return 0;
}

MAPALLOC_EXPORT int mapalloc_option_get(const char *name, char *buf, size_t len) {
    if (!name || (!buf && len)) { errno = EINVAL; return -1; }
    options_load();
    int id = option_find(name, strlen(name));
    if (id < 0) { errno = ENOENT; return -1; }
    pthread_mutex_lock(&options_mutex);
    int64_t v = values[id];
    pthread_mutex_unlock(&options_mutex);
    return (int)option_format(&option_table[id], v, false, buf, len);
}

MAPALLOC_EXPORT const char *mapalloc_option_name(size_t i) {
    return i < OPTION_COUNT ? option_table[i].name : NULL;
}
