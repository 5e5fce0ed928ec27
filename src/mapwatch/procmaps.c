/* procmaps.c: /proc/PID/maps and smaps, read and parsed. The read uses a
 * buffer large enough for the whole table so the kernel produces it in one
 * read() (maps is generated page by page and can repeat a region that changes
 * between two reads; mapwatch reads only while the tracee is stopped anyway). */
#include "procmaps.h"

#include "decode.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *mw_read_whole(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t cap = 1 << 20, used = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (used + 1 >= cap) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
        ssize_t n = read(fd, buf + used, cap - used - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int saved = errno;
            free(buf);
            close(fd);
            errno = saved;
            return NULL;
        }
        if (n == 0)
            break;
        used += (size_t)n;
    }
    close(fd);
    buf[used] = '\0';
    if (len)
        *len = used;
    return buf;
}

void mw_maps_push(struct mw_maps *maps, const struct mw_region *r)
{
    if (maps->count == maps->cap) {
        maps->cap = maps->cap ? maps->cap * 2 : 64;
        maps->regions = realloc(maps->regions, maps->cap * sizeof *maps->regions);
    }
    struct mw_region *dst = &maps->regions[maps->count++];
    *dst = *r;
    dst->path = r->path ? strdup(r->path) : NULL;
}

void mw_maps_free(struct mw_maps *maps)
{
    for (size_t i = 0; i < maps->count; i++)
        free(maps->regions[i].path);
    free(maps->regions);
    maps->regions = NULL;
    maps->count = maps->cap = 0;
}

/* A maps header line: "start-end perms offset dev inode [path]". */
static bool parse_header(const char *line, struct mw_region *r, const char **path)
{
    unsigned long long start, end, offset, inode;
    char perms[8], dev[16];
    int pos = 0;
    if (sscanf(line, "%llx-%llx %7s %llx %15s %llu%n", &start, &end, perms, &offset, dev, &inode, &pos) != 6)
        return false;
    if (strlen(perms) != 4)
        return false;
    memset(r, 0, sizeof *r);
    r->start = start;
    r->end = end;
    r->prot = mw_prot_parse(perms, &r->shared);
    r->offset = offset;
    const char *p = line + pos;
    while (*p == ' ' || *p == '\t')
        p++;
    *path = p;
    return true;
}

int mw_maps_parse(const char *text, struct mw_maps *out)
{
    const char *line = text;
    struct mw_region *last = NULL;
    while (*line) {
        const char *eol = strchr(line, '\n');
        size_t n = eol ? (size_t)(eol - line) : strlen(line);
        char *copy = strndup(line, n);
        struct mw_region r;
        const char *path;
        unsigned long long kb;
        if (copy[0] != '#' && parse_header(copy, &r, &path)) {
            r.path = *path ? (char *)path : NULL;
            mw_maps_push(out, &r);
            last = &out->regions[out->count - 1];
        } else if (last && sscanf(copy, "Rss: %llu kB", &kb) == 1) {
            last->rss = kb * 1024;
        }
        free(copy);
        line += n;
        if (*line == '\n')
            line++;
    }
    return 0;
}

int mw_maps_read(pid_t tid, bool smaps, struct mw_maps *out)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)tid, smaps ? "smaps" : "maps");
    char *text = mw_read_whole(path, NULL);
    if (!text)
        return -errno;
    mw_maps_parse(text, out);
    free(text);
    return 0;
}
