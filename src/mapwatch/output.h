/* output.h: the three output formats (timeline+summary text, JSON Lines,
 * HTML), one file each, all reading a finished mw_report. */
#ifndef MAPWATCH_OUTPUT_H
#define MAPWATCH_OUTPUT_H

#include "mapwatch.h"
#include "model.h"
#include "procmaps.h"

struct mw_report {
    /* Every event when JSON or HTML was asked for; otherwise only those with
     * findings (the summary's list). */
    const struct mw_event *events;
    size_t count;
    uint64_t total_events, calls, children, threads;   /* of the whole run */
    const struct mw_bandlog *bands;
    const struct mw_maps *final_maps;  /* the first process's last smaps, classified; may be empty */
    pid_t root_pid;
    const char *program;
    int exit_status;
    int term_signal;                    /* the program was killed by this signal, or 0 */
    bool detached;
    bool seccomp;
    size_t mismatches;
    size_t alloc_lines, alloc_unmatched;
    double duration;
};

/* out_text.c */
void mw_text_event(FILE *f, const struct mw_event *ev);
void mw_text_reason(FILE *f, const struct mw_event *ev);
void mw_text_summary(FILE *f, const struct mw_report *r);
/* Region table per kind: shared by the summary and `snapshot`. */
void mw_text_kind_table(FILE *f, const struct mw_region *regions, size_t count);

/* out_json.c */
void mw_json_event(FILE *f, const struct mw_event *ev);
int mw_json_write(FILE *f, const struct mw_report *r);
/* JSON string literal with escapes. */
void mw_json_string(FILE *f, const char *s);

/* out_html.c */
int mw_html_write(FILE *f, const struct mw_report *r);

#endif
