/* mapalloc.c: the `mapalloc` command. Runs a program on libmapalloc without
 * the user touching LD_PRELOAD:
 *   mapalloc [--stats] [--secure] [--option name=value]... [--lib PATH] -- PROGRAM ARGS
 * It finds the library (--lib, else next to the command: ../<libdir>, ../lib,
 * or .. in a build tree), prepends it to LD_PRELOAD, passes the options in the
 * environment (MAPALLOC_STATS, MAPALLOC_SECURE, MAPALLOC_OPTIONS), and execs
 * PROGRAM. Option names and values are checked against the library's own
 * table (src/alloc/options.h) before anything runs.
 * Exit status: PROGRAM's; 2 for a usage error; 127 if PROGRAM or the library
 * cannot be found or run.
 */
#define _GNU_SOURCE
#include "options.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef MAPALLOC_LIBDIR
#define MAPALLOC_LIBDIR "lib"
#endif

static const char *range_text(const struct option_desc *d, char *buf, size_t len) {
    char lo[24], hi[24];
    switch (d->type) {
    case OPTION_BOOL: snprintf(buf, len, "0 or 1"); break;
    case OPTION_SIZE:
    case OPTION_MS:
    case OPTION_INT:
        option_format(d, d->min, true, lo, sizeof lo);
        option_format(d, d->max, true, hi, sizeof hi);
        snprintf(buf, len, "%s..%s%s", lo, hi, d->type == OPTION_SIZE ? " bytes" : d->type == OPTION_MS ? " ms" : "");
        break;
    }
    return buf;
}

/* The option table as text (--help) or as README's Markdown table. */
static void list_options(FILE *out, bool markdown) {
    if (markdown) {
        fputs("| option | variable | default | range | set | meaning |\n|---|---|---|---|---|---|\n", out);
    }
    for (int i = 0; i < OPTION_COUNT; i++) {
        const struct option_desc *d = &option_table[i];
        char def[32], range[64];
        option_format(d, d->def, true, def, sizeof def);
        range_text(d, range, sizeof range);
        const char *when = d->when == OPTION_AT_INIT ? "at start" : "any time";
        if (markdown)
            fprintf(out, "| `%s` | `%s` | `%s` | %s | %s | %s |\n", d->name, d->env, def, range, when, d->doc);
        else
            fprintf(out, "  %-16s default %-5s %s (%s; %s)\n                   %s\n", d->name, def, d->env, range,
                    when, d->doc);
    }
}

static void usage(FILE *out) {
    fputs("usage: mapalloc [--stats] [--secure] [--option name=value]... [--lib PATH] [--] PROGRAM [ARGS...]\n"
          "Run PROGRAM with libmapalloc as its malloc (through LD_PRELOAD).\n"
          "  --stats              print the allocator's statistics to stderr when PROGRAM exits\n"
          "  --secure             secure mode: canaries, zero-on-free, quarantine, guard pages (slower)\n"
          "  --option name=value  set an option (may be repeated); it wins over the environment\n"
          "  --lib PATH           the library to preload (default: found next to this command)\n"
          "  --list-options[=markdown]  print the option table and exit\n"
          "Options (also MAPALLOC_<NAME>=value, or MAPALLOC_OPTIONS=\"name=value,...\"):\n",
          out);
    list_options(out, false);
}

static _Noreturn void die(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static _Noreturn void die(int status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("mapalloc: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(status);
}

/* The library: --lib, or the first readable candidate next to this command. */
static void find_library(const char *given, char out[PATH_MAX]) {
    if (given) {
        if (!realpath(given, out) || access(out, R_OK) != 0) die(127, "cannot use library %s: %s", given, strerror(errno));
        return;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) die(127, "cannot find this command's directory (%s); use --lib", strerror(errno));
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (slash) *slash = 0;
    static const char installed[] = "/../" MAPALLOC_LIBDIR;
    static const char *const dirs[] = {installed, "/../lib", "/.."};
    static const char *const names[] = {"libmapalloc.so.0", "libmapalloc.so"};
    for (size_t d = 0; d < sizeof dirs / sizeof dirs[0]; d++) {
        char dir[PATH_MAX + 64], real[PATH_MAX];
        snprintf(dir, sizeof dir, "%s%s", exe, dirs[d]);
        if (!realpath(dir, real)) continue;
        for (size_t k = 0; k < 2; k++) {
            /* The directory resolved, the file name kept: the soname link
             * follows upgrades of the library. */
            int w = snprintf(out, PATH_MAX, "%s/%s", real, names[k]);
            if (w > 0 && w < PATH_MAX && access(out, R_OK) == 0) return;
        }
    }
    die(127, "cannot find libmapalloc.so next to %s (looked in ../%s, ../lib and ..); use --lib PATH", exe,
        MAPALLOC_LIBDIR);
}

int main(int argc, char **argv) {
    const char *lib = NULL;
    bool stats = false, secure = false;
    static char options[8192];
    size_t used = 0;
    const char *inherited = getenv("MAPALLOC_OPTIONS");
    if (inherited && *inherited) used = (size_t)snprintf(options, sizeof options, "%s", inherited);
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) { i++; break; }
        if (a[0] != '-') break;
        const char *val = NULL;
        if (strcmp(a, "--stats") == 0) { stats = true; continue; }
        if (strcmp(a, "--secure") == 0) { secure = true; continue; }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) { usage(stdout); return 0; }
        if (strcmp(a, "--list-options") == 0) { list_options(stdout, false); return 0; }
        if (strcmp(a, "--list-options=markdown") == 0) { list_options(stdout, true); return 0; }
        if (strcmp(a, "--lib") == 0 || strcmp(a, "--option") == 0 || strcmp(a, "-o") == 0) {
            if (i + 1 >= argc) die(2, "%s needs a value", a);
            val = argv[++i];
        } else if (strncmp(a, "--lib=", 6) == 0) {
            lib = a + 6;
            continue;
        } else if (strncmp(a, "--option=", 9) == 0) {
            val = a + 9;
            a = "--option";
        } else {
            fprintf(stderr, "mapalloc: unknown argument %s\n", a);
            usage(stderr);
            return 2;
        }
        if (strcmp(a, "--lib") == 0) { lib = val; continue; }
        const char *eq = strchr(val, '=');
        if (!eq) die(2, "--option %s: expected name=value", val);
        int id = option_find(val, (size_t)(eq - val));
        if (id < 0) die(2, "--option %s: unknown option (mapalloc --help lists them)", val);
        char why[96];
        int64_t v;
        if (!option_parse(&option_table[id], eq + 1, strlen(eq + 1), &v, why, sizeof why))
            die(2, "--option %s: %s", val, why);
        if (strchr(eq + 1, ',')) die(2, "--option %s: a value cannot contain ','", val);
        int n = snprintf(options + used, sizeof options - used, "%s%s", used ? "," : "", val);
        if (n < 0 || (size_t)n >= sizeof options - used) die(2, "too many options");
        used += (size_t)n;
        unsetenv(option_table[id].env); /* the command line wins over the environment */
    }
    if (i >= argc) {
        fputs("mapalloc: no program to run\n", stderr);
        usage(stderr);
        return 2;
    }
    char libpath[PATH_MAX];
    find_library(lib, libpath);

    const char *old = getenv("LD_PRELOAD");
    static char preload[PATH_MAX * 2 + 8192];
    if (old && *old) snprintf(preload, sizeof preload, "%s:%s", libpath, old);
    else snprintf(preload, sizeof preload, "%s", libpath);
    if (setenv("LD_PRELOAD", preload, 1) != 0) die(127, "setenv: %s", strerror(errno));
    if (stats && setenv("MAPALLOC_STATS", "1", 1) != 0) die(127, "setenv: %s", strerror(errno));
    if (secure && setenv("MAPALLOC_SECURE", "1", 1) != 0) die(127, "setenv: %s", strerror(errno));
    if (used && setenv("MAPALLOC_OPTIONS", options, 1) != 0) die(127, "setenv: %s", strerror(errno));

    execvp(argv[i], argv + i);
    die(127, "cannot run %s: %s", argv[i], strerror(errno));
}
