/* SPDX-License-Identifier: BSD-3-Clause */
/* cmd_pending.c - commands not built yet (removed as they land). */
#include "cli_cmds.h"
#include "cli_util.h"
int cmd_replay(int argc, char **argv) { (void)argc; (void)argv; return cli_usage("replay: not built yet"); }
