/* snapshot.c: `mapwatch snapshot PID` (a pmap-like listing of the kernel's
 * view with classification and RSS) and `mapwatch diff A B` between two saved
 * snapshots. Calls procmaps.c, model.c (classification) and out_text.c. */
#include "snapshot.h"

#include "decode.h"
#include "model.h"
#include "output.h"
#include "procmaps.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void print_snapshot(FILE *f, pid_t pid, const struct mw_maps *m)
{
    char exe[PATH_MAX], link[64], perm[4];
    snprintf(link, sizeof link, "/proc/%d/exe", (int)pid);
    ssize_t n = readlink(link, exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = '\0';
    fprintf(f, "# mapwatch snapshot of PID %d %s\n", (int)pid, exe);
    fprintf(f, "# %-31s %-4s %-8s %12s %12s %-12s %s\n", "START-END", "PERM", "OFFSET", "SIZE", "RSS", "KIND", "PATH");
    for (size_t i = 0; i < m->count; i++) {
        const struct mw_region *r = &m->regions[i];
        fprintf(f, "%016llx-%016llx %s%c %08llx %12llu %12llu %-12s %s\n", (unsigned long long)r->start,
                (unsigned long long)r->end, mw_prot_str(r->prot, perm), r->shared ? 's' : 'p',
                (unsigned long long)r->offset, (unsigned long long)(r->end - r->start),
                (unsigned long long)r->rss, mw_kind_name(r->kind), r->path ? r->path : "");
    }
    fprintf(f, "#\n");
    /* The table as comments, so that the file stays parseable by `diff`. */
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    mw_text_kind_table(mem, m->regions, m->count);
    fclose(mem);
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
        fprintf(f, "#%s\n", line);
    free(buf);
}

int mw_snapshot_main(int argc, char **argv)
{
    const char *out = NULL;
    const char *pid_arg = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-o") && i + 1 < argc)
            out = argv[++i];
        else if (!pid_arg)
            pid_arg = argv[i];
        else {
            fprintf(stderr, "mapwatch snapshot: unexpected argument '%s'\n", argv[i]);
            return 2;
        }
    }
    char *end;
    long pid = pid_arg ? strtol(pid_arg, &end, 10) : 0;
    if (!pid_arg || *end || pid <= 0) {
        fprintf(stderr, "usage: mapwatch snapshot PID [-o FILE]\n");
        return 2;
    }
    struct mw_maps m = { 0 };
    int err = mw_maps_read((pid_t)pid, true, &m);
    if (err) {
        fprintf(stderr, "mapwatch snapshot: cannot read /proc/%ld/smaps: %s\n", pid,
                err == -ENOENT ? "no such process" : strerror(-err));
        return 1;
    }
    mw_classify_list(m.regions, m.count);
    FILE *f = out ? fopen(out, "we") : stdout;
    if (!f) {
        fprintf(stderr, "mapwatch snapshot: cannot write '%s': %s\n", out, strerror(errno));
        mw_maps_free(&m);
        return 1;
    }
    print_snapshot(f, (pid_t)pid, &m);
    mw_maps_free(&m);
    if (out && fclose(f) != 0)
        return 1;
    return 0;
}

/* Snapshot line: START-END PERM OFFSET SIZE RSS KIND [PATH] */
static int load_snapshot(const char *path, struct mw_maps *m)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        fprintf(stderr, "mapwatch diff: cannot read '%s': %s\n", path, strerror(errno));
        return -1;
    }
    char line[PATH_MAX + 256];
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        unsigned long long start, endaddr, offset, size, rss;
        char perm[8], kind[32];
        int pos = 0;
        if (sscanf(line, "%llx-%llx %7s %llx %llu %llu %31s%n", &start, &endaddr, perm, &offset, &size, &rss, kind,
                   &pos) != 7) {
            fprintf(stderr, "mapwatch diff: '%s' is not a mapwatch snapshot\n", path);
            fclose(f);
            return -1;
        }
        char *p = line + pos;
        while (*p == ' ')
            p++;
        p[strcspn(p, "\n")] = '\0';
        struct mw_region r = { .start = start, .end = endaddr, .offset = offset, .rss = rss };
        r.prot = mw_prot_parse(perm, &r.shared);
        r.path = *p ? p : NULL;
        for (int k = 0; k < MW_KIND_COUNT; k++)
            if (!strcmp(kind, mw_kind_name((enum mw_kind)k)))
                r.kind = (enum mw_kind)k;
        mw_maps_push(m, &r);
    }
    fclose(f);
    return 0;
}

static void region_line(FILE *f, char sign, const struct mw_region *r)
{
    char perm[4], size[32];
    fprintf(f, "%c %016llx-%016llx %s%c %10s %-12s %s\n", sign, (unsigned long long)r->start,
            (unsigned long long)r->end, mw_prot_str(r->prot, perm), r->shared ? 's' : 'p',
            mw_size_str(r->end - r->start, size), mw_kind_name(r->kind), r->path ? r->path : "");
}

int mw_diff_main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: mapwatch diff SNAPSHOT-A SNAPSHOT-B\n");
        return 2;
    }
    struct mw_maps a = { 0 }, b = { 0 };
    if (load_snapshot(argv[1], &a) || load_snapshot(argv[2], &b)) {
        mw_maps_free(&a);
        mw_maps_free(&b);
        return 1;
    }
    size_t i = 0, j = 0, changes = 0;
    int64_t dv = 0, drss = 0;
    while (i < a.count || j < b.count) {
        const struct mw_region *x = i < a.count ? &a.regions[i] : NULL, *y = j < b.count ? &b.regions[j] : NULL;
        if (x && y && x->start == y->start) {
            bool same = x->end == y->end && x->prot == y->prot && x->shared == y->shared &&
                        ((!x->path && !y->path) || (x->path && y->path && !strcmp(x->path, y->path)));
            if (!same) {
                region_line(stdout, '-', x);
                region_line(stdout, '+', y);
                changes++;
            }
            dv += (int64_t)(y->end - y->start) - (int64_t)(x->end - x->start);
            drss += (int64_t)y->rss - (int64_t)x->rss;
            i++, j++;
        } else if (x && (!y || x->start < y->start)) {
            region_line(stdout, '-', x);
            dv -= (int64_t)(x->end - x->start);
            drss -= (int64_t)x->rss;
            changes++, i++;
        } else {
            region_line(stdout, '+', y);
            dv += (int64_t)(y->end - y->start);
            drss += (int64_t)y->rss;
            changes++, j++;
        }
    }
    char s1[32], s2[32];
    printf("# %zu region%s changed; virtual %c%s, RSS %c%s\n", changes, changes == 1 ? "" : "s", dv < 0 ? '-' : '+',
           mw_size_str((uint64_t)(dv < 0 ? -dv : dv), s1), drss < 0 ? '-' : '+',
           mw_size_str((uint64_t)(drss < 0 ? -drss : drss), s2));
    mw_maps_free(&a);
    mw_maps_free(&b);
    return changes ? 1 : 0;
}
