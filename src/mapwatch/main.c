/* main.c: command line of mapwatch. Parses options, opens every output file
 * before anything runs (so a bad path fails early), runs the session, writes
 * the outputs and exits with the traced program's status. */
#include "mapwatch.h"
#include "decode.h"
#include "output.h"
#include "session.h"
#include "snapshot.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fputs("usage: mapwatch [options] -- PROGRAM [ARGS...]\n"
          "       mapwatch [options] -p PID\n"
          "       mapwatch snapshot PID [-o FILE]\n"
          "       mapwatch diff SNAPSHOT-A SNAPSHOT-B\n"
          "options:\n"
          "  -p, --pid PID          attach to a running process (Ctrl-C detaches)\n"
          "  -o, --output FILE      write the timeline and summary to FILE instead of stderr\n"
          "      --json FILE        write every event as JSON Lines\n"
          "      --html FILE        write a self-contained HTML picture of the address space\n"
          "  -q, --quiet            no timeline (summary only)\n"
          "      --no-summary       no summary\n"
          "      --no-aslr          run the program without address randomisation\n"
          "      --no-caller        do not walk the stack for each event\n"
          "      --depth N          frames to walk for the caller (default 16)\n"
          "      --no-seccomp       stop at every system call (for comparison)\n"
          "      --no-allocator-channel  do not set MAPALLOC_EVENT_FD\n"
          "  -h, --help             this help\n",
          f);
}

static FILE *open_out(const char *path)
{
    FILE *f = fopen(path, "we");
    if (!f)
        fprintf(stderr, "mapwatch: cannot write '%s': %s\n", path, strerror(errno));
    return f;
}

enum { OPT_JSON = 256, OPT_HTML, OPT_NO_SUMMARY, OPT_NO_ASLR, OPT_NO_CALLER, OPT_DEPTH, OPT_NO_SECCOMP, OPT_NO_CHAN };

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "snapshot"))
        return mw_snapshot_main(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "diff"))
        return mw_diff_main(argc - 1, argv + 1);

    static const struct option longopts[] = {
        { "pid", required_argument, NULL, 'p' },      { "output", required_argument, NULL, 'o' },
        { "json", required_argument, NULL, OPT_JSON }, { "html", required_argument, NULL, OPT_HTML },
        { "quiet", no_argument, NULL, 'q' },          { "no-summary", no_argument, NULL, OPT_NO_SUMMARY },
        { "no-aslr", no_argument, NULL, OPT_NO_ASLR }, { "no-caller", no_argument, NULL, OPT_NO_CALLER },
        { "depth", required_argument, NULL, OPT_DEPTH }, { "no-seccomp", no_argument, NULL, OPT_NO_SECCOMP },
        { "no-allocator-channel", no_argument, NULL, OPT_NO_CHAN }, { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct mw_options opt = { .caller_depth = 16 };
    int c;
    char *end;
    while ((c = getopt_long(argc, argv, "+p:o:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'p':
            opt.attach_pid = (pid_t)strtol(optarg, &end, 10);
            if (*end || opt.attach_pid <= 0) {
                fprintf(stderr, "mapwatch: '%s' is not a process id\n", optarg);
                return 2;
            }
            break;
        case 'o': opt.timeline_path = optarg; break;
        case OPT_JSON: opt.json_path = optarg; break;
        case OPT_HTML: opt.html_path = optarg; break;
        case 'q': opt.quiet = true; break;
        case OPT_NO_SUMMARY: opt.no_summary = true; break;
        case OPT_NO_ASLR: opt.no_aslr = true; break;
        case OPT_NO_CALLER: opt.no_caller = true; break;
        case OPT_DEPTH: opt.caller_depth = atoi(optarg); break;
        case OPT_NO_SECCOMP: opt.no_seccomp = true; break;
        case OPT_NO_CHAN: opt.no_alloc_channel = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc)
        opt.argv = &argv[optind];
    if (!opt.argv == !opt.attach_pid) {
        fprintf(stderr, "mapwatch: give either -- PROGRAM [ARGS] or -p PID\n");
        usage(stderr);
        return 2;
    }
    if (opt.attach_pid && opt.no_aslr) {
        fprintf(stderr, "mapwatch: --no-aslr applies only to a program mapwatch starts\n");
        return 2;
    }

    FILE *json = NULL, *html = NULL, *timeline = stderr;
    if ((opt.json_path && !(json = open_out(opt.json_path))) || (opt.html_path && !(html = open_out(opt.html_path))) ||
        (opt.timeline_path && !(timeline = open_out(opt.timeline_path))))
        return 2;
    /* Our own buffered output must not be duplicated into the child. */
    fflush(NULL);

    struct mw_session *s = mw_session_new(&opt, opt.quiet ? NULL : timeline);
    int status = 0;
    if (mw_session_run(s, &status) != 0) {
        mw_session_free(s);
        if (opt.json_path)
            remove(opt.json_path);
        if (opt.html_path)
            remove(opt.html_path);
        return 2;
    }
    struct mw_report r;
    mw_session_report(s, &r);
    r.exit_status = status;
    if (!opt.no_summary)
        mw_text_summary(timeline, &r);
    int rc = 0;
    if (json && (mw_json_write(json, &r) != 0 || fclose(json) != 0)) {
        fprintf(stderr, "mapwatch: writing '%s' failed\n", opt.json_path);
        rc = 2;
    }
    if (html && (mw_html_write(html, &r) != 0 || fclose(html) != 0)) {
        fprintf(stderr, "mapwatch: writing '%s' failed\n", opt.html_path);
        rc = 2;
    }
    if (r.term_signal) {
        char sig[16];
        fprintf(stderr, "mapwatch: %s was killed by %s; outputs written\n", opt.argv ? opt.argv[0] : "the process",
                mw_signal_name(r.term_signal, sig));
    }
    if (timeline != stderr)
        fclose(timeline);
    mw_session_free(s);
    return rc ? rc : status;
}
