/* SPDX-License-Identifier: BSD-3-Clause */
/* cli_exit.h - exitstage's exit statuses (SPEC 5; the man page lists
 * them under EXIT STATUS). */
#ifndef CLI_EXIT_H
#define CLI_EXIT_H

enum {
    EXIT_OK = 0,          /* success */
    EXIT_FAIL = 1,        /* operational failure: I/O, database, memory,
                             closed output pipe */
    EXIT_USAGE = 2,       /* usage error */
    EXIT_INPUT = 3,       /* input rejected: malformed, corrupt compressed
                             data, over a limit, out of order, already
                             processed */
    EXIT_INTERRUPT = 130  /* interrupted by SIGINT */
};

#endif
