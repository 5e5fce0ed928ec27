/* snapshot.h: the `snapshot` and `diff` subcommands. */
#ifndef MAPWATCH_SNAPSHOT_H
#define MAPWATCH_SNAPSHOT_H

/* argv[0] is the subcommand name. Return the process exit status. diff exits
 * 0 when the snapshots are the same and 1 when they differ, like diff(1). */
int mw_snapshot_main(int argc, char **argv);
int mw_diff_main(int argc, char **argv);

#endif
