/* SPDX-License-Identifier: BSD-3-Clause */
/* cli_util.h - messages, exit-status mapping, input reading and atomic
 * output writing shared by the exitstage subcommands. */
#ifndef CLI_UTIL_H
#define CLI_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exitstage.h"

extern int cli_verbosity; /* -q: -1, default 0, -v: 1 */

/* "exitstage: <message>" on stderr. */
void cli_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "exitstage: warning: <message>" unless quiet. */
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A usage error: the message, the --help hint; returns EXIT_USAGE. */
int cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print err as "exitstage: SOURCE:LINE:COL: message" (or without the
 * position when it has none) and return the exit status for rc. */
int cli_report(int rc, const exst_error *err);
/* Exit status for an exst_status. */
int cli_exit_status(int rc);

/* Read a consensus from path ("-" or NULL: stdin).  Prints errors. */
int cli_read_consensus(exst_consensus **out, const char *path,
                       const exst_parse_opts *opts);

/* A display name for path: "<stdin>" for "-"/NULL. */
const char *cli_name(const char *path);

/*
 * An output in preparation: a file written to a temp file in the same
 * directory and renamed into place by cli_out_commit, or stdout.  Nothing
 * appears at path unless every write succeeded.
 */
typedef struct cli_out {
    char *path;      /* final path; NULL for stdout */
    char *tmp;       /* temp path */
    int fd;
    bool direct;     /* a device or FIFO, written in place */
} cli_out;

int cli_out_open(cli_out *o, const char *path);           /* "-" = stdout */
int cli_out_write(cli_out *o, const void *buf, size_t n);
int cli_out_commit(cli_out *o); /* fsync + rename (files), flush (stdout) */
void cli_out_abort(cli_out *o); /* remove the temp file */

/* Write buf to path atomically (or stdout for "-"). */
int cli_write_file(const char *path, const void *buf, size_t n);

/* Parse a duration option value; usage error (status 2) if invalid. */
int cli_duration(int64_t *out, const char *opt, const char *value);

/* Parse --wait[=SECONDS]: NULL means wait forever. */
int cli_wait(double *out, const char *value);

/* Set by the SIGINT handler (an atomic store); read it with
 * cli_is_interrupted(), from any thread. */
extern volatile int cli_interrupted;
bool cli_is_interrupted(void);
void cli_install_sigint(void);

#endif
