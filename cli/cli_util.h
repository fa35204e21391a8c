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

/* Set by the SIGINT, SIGTERM and SIGHUP handler to the signal number (an
 * atomic store); read it with cli_is_interrupted(), from any thread.  The
 * commands check it at safe points and stop cleanly: temporary files
 * removed, the history as it was or committed whole. */
extern volatile int cli_interrupted;
bool cli_is_interrupted(void);
/* The exit status for the signal received: 128 + its number (130 for
 * SIGINT). */
int cli_interrupt_status(void);
void cli_install_signals(void);

/* "exitstage: MESSAGE" with -v only. */
void cli_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* -q/--quiet and -v/--verbose, accepted after the command name too. */
#define CLI_GLOBAL_LONGOPTS                                                 \
    {"quiet", no_argument, NULL, 'q'}, {"verbose", no_argument, NULL, 'v'}
#define CLI_GLOBAL_SHORTOPTS "qv"
/* Handle -q/-v; returns true if ch was one of them. */
bool cli_global_option(int ch);

/* The option getopt_long matched last, for messages: "--reports-dir", or
 * "--reports-dir (given as --report)" when an abbreviation matched. */
struct option;
const char *cli_optname(char *const *argv, const struct option *longopts,
                        int longindex);

/* Write all of buf to standard output; EXIT_FAIL with a message on error
 * (a closed pipe included). */
int cli_write_stdout(const void *buf, size_t n);

/* The file a history path names: a final symbolic link resolved
 * (exst_path_resolve), anything else as given, in a new string (free()).
 * Prints errors. */
int cli_resolve(char **out, const char *path);

/* Output paths named by options, checked to be distinct files. */
typedef struct cli_path {
    const char *option; /* "-o", "--report", "--db" */
    const char *path;   /* NULL or "-": not a file, skipped */
} cli_path;
/* Usage error if two of the n paths name the same regular file (by device
 * and inode where it exists, by resolved path where it does not). */
int cli_check_distinct(const cli_path *paths, size_t n);

/* Parse a time option value ("2024-05-17T17:00:00Z", "2024-05-17
 * 17:00:00", or seconds since the epoch). */
int cli_time(int64_t *out, const char *opt, const char *value);

#endif
