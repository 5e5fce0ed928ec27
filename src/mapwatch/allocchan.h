/* allocchan.h: the allocator side channel. mapwatch gives the traced program a
 * file (MAPALLOC_EVENT_FD=<n>) to which libmapalloc writes one line per OS
 * call, "mapalloc <syscall> <addr-hex> <len> <reason>"; the lines are joined to
 * the recorded events by call, address and length. */
#ifndef MAPWATCH_ALLOCCHAN_H
#define MAPWATCH_ALLOCCHAN_H

#include "mapwatch.h"

struct mw_allocchan;

/* Create the channel and export MAPALLOC_EVENT_FD for the child. NULL on failure. */
struct mw_allocchan *mw_allocchan_open(void);
/* Read new lines and join them to events[0..count). Calls joined(ev) for each
 * event that received a reason. */
void mw_allocchan_poll(struct mw_allocchan *c, struct mw_event *events, size_t count,
                       void (*joined)(struct mw_event *ev, void *arg), void *arg);
/* Lines that matched no event (reported at the end). */
size_t mw_allocchan_unmatched(const struct mw_allocchan *c);
size_t mw_allocchan_lines(const struct mw_allocchan *c);
void mw_allocchan_close(struct mw_allocchan *c);

/* Parse one line; false if it is not a side-channel line. reason has 16 bytes. */
bool mw_allocchan_parse(const char *line, char syscall[16], uint64_t *addr, uint64_t *len, char reason[16]);

#endif
