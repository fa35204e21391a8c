/* SPDX-License-Identifier: BSD-3-Clause */
/* cli_cmds.h - the subcommand handlers main() dispatches to.  Each takes
 * its own argv (argv[0] is the command name) and returns an exit status. */
#ifndef CLI_CMDS_H
#define CLI_CMDS_H

int cmd_inspect(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_db(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_key(int argc, char **argv);
int cmd_verify(int argc, char **argv);

#endif
