/* SPDX-License-Identifier: BSD-3-Clause */
/* cmd_report.h - the `report` subcommand's handler (its line belongs in
 * cli_cmds.h with the others). */
#ifndef CMD_REPORT_H
#define CMD_REPORT_H

int cmd_report(int argc, char **argv);

#endif
