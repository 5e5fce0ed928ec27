/* session.h: one mapwatch run. Owns the events, the address spaces and the
 * attribution and side-channel state; connects the trace hooks to the model. */
#ifndef MAPWATCH_SESSION_H
#define MAPWATCH_SESSION_H

#include "mapwatch.h"
#include "output.h"

struct mw_session;

struct mw_session *mw_session_new(const struct mw_options *opt, FILE *timeline);
/* Trace to the end. Returns -1 if nothing could be traced (error printed). */
int mw_session_run(struct mw_session *s, int *exit_status);
/* The finished report (valid until mw_session_free). */
void mw_session_report(struct mw_session *s, struct mw_report *r);
void mw_session_free(struct mw_session *s);

#endif
