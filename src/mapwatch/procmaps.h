/* procmaps.h: reading the kernel's view of an address space, /proc/PID/maps or
 * smaps, in one go while the process is stopped, parsed into regions. */
#ifndef MAPWATCH_PROCMAPS_H
#define MAPWATCH_PROCMAPS_H

#include "mapwatch.h"

struct mw_maps {
    struct mw_region *regions;
    size_t count, cap;
};

/* Read /proc/TID/maps (or smaps, which adds RSS). Returns 0 or -errno. */
int mw_maps_read(pid_t tid, bool smaps, struct mw_maps *out);
/* Parse maps or smaps text (also the output of `mapwatch snapshot`). */
int mw_maps_parse(const char *text, struct mw_maps *out);
void mw_maps_free(struct mw_maps *maps);
/* Append a copy of r (path duplicated). */
void mw_maps_push(struct mw_maps *maps, const struct mw_region *r);

/* Read a whole file; procfs files with a large first read so seq_file hands
 * over a consistent table. Returns a NUL-terminated malloc'd buffer or NULL. */
char *mw_read_whole(const char *path, size_t *len);

#endif
