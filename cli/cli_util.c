/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cli_util.c - the pieces every subcommand shares: lowercase messages
 * naming file, line and column; one mapping from library status to exit
 * status; reading a consensus from a file or stdin; and outputs that are
 * written to a temporary file, fsynced and renamed, so a failure never
 * leaves a partial file behind.
 */
#include "cli_util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_exit.h"

int cli_verbosity;
volatile int cli_interrupted;

static void vmsg(const char *prefix, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void vmsg(const char *prefix, const char *fmt, va_list ap)
{
    fputs("exitstage: ", stderr);
    fputs(prefix, stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void cli_msg(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmsg("", fmt, ap);
    va_end(ap);
}

void cli_warn(const char *fmt, ...)
{
    va_list ap;
    if (cli_verbosity < 0)
        return;
    va_start(ap, fmt);
    vmsg("warning: ", fmt, ap);
    va_end(ap);
}

int cli_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmsg("", fmt, ap);
    va_end(ap);
    fputs("Try 'exitstage --help' for more information.\n", stderr);
    return EXIT_USAGE;
}

int cli_exit_status(int rc)
{
    switch (rc) {
    case EXST_OK:
        return EXIT_OK;
    case EXST_ERR_USAGE:
        return EXIT_USAGE;
    case EXST_ERR_SYNTAX:
    case EXST_ERR_SEMANTIC:
    case EXST_ERR_LIMIT:
    case EXST_ERR_COMPRESS:
    case EXST_ERR_ORDER:
    case EXST_ERR_REPROCESS:
        return EXIT_INPUT;
    case EXST_ERR_INTERRUPTED:
        return EXIT_INTERRUPT;
    default: /* NOMEM, IO, DB, LOCKED */
        return EXIT_FAIL;
    }
}

/* Messages that already quote their file ("history 'h.db' is corrupt")
 * are printed without a second copy of the name in front. */
static bool names_source(const char *msg, const char *source)
{
    size_t n = strlen(source);
    for (const char *p = strchr(msg, '\''); p != NULL;
         p = strchr(p + 1, '\''))
        if (strncmp(p + 1, source, n) == 0 && p[1 + n] == '\'')
            return true;
    return false;
}

int cli_report(int rc, const exst_error *err)
{
    if (rc == EXST_OK)
        return EXIT_OK;
    const char *msg = err && err->message[0] ? err->message
                                             : exst_status_str(rc);
    if (err != NULL && err->source[0] != '\0' && err->line > 0)
        cli_msg("%s:%lu:%lu: %s", err->source, err->line, err->column, msg);
    else if (err != NULL && err->source[0] != '\0' &&
             !names_source(msg, err->source))
        cli_msg("%s: %s", err->source, msg);
    else
        cli_msg("%s", msg);
    return cli_exit_status(rc);
}

const char *cli_name(const char *path)
{
    return path == NULL || strcmp(path, "-") == 0 ? "<stdin>" : path;
}

int cli_read_consensus(exst_consensus **out, const char *path,
                       const exst_parse_opts *opts)
{
    exst_error err;
    FILE *fp = stdin;
    exst_error_clear(&err);
    if (path != NULL && strcmp(path, "-") != 0) {
        fp = fopen(path, "rb");
        if (fp == NULL) {
            cli_msg("cannot open '%s': %s", path, strerror(errno));
            return EXIT_FAIL;
        }
    }
    int rc = exst_consensus_read(out, fp, cli_name(path), opts, &err);
    if (fp != stdin)
        fclose(fp);
    if (rc != EXST_OK && cli_is_interrupted()) {
        cli_msg("interrupted while reading %s; nothing changed",
                cli_name(path));
        return cli_interrupt_status();
    }
    return cli_report(rc, &err);
}

/* ---- atomic outputs ------------------------------------------------- */

static int write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int cli_out_open(cli_out *o, const char *path)
{
    memset(o, 0, sizeof *o);
    o->fd = -1;
    if (path == NULL || strcmp(path, "-") == 0) {
        o->fd = STDOUT_FILENO;
        return EXIT_OK;
    }
    /* A device or FIFO (/dev/null, a named pipe) is written in place:
     * renaming a temporary file over it would replace the device. */
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        if (S_ISDIR(st.st_mode)) {
            cli_msg("cannot write '%s': is a directory", path);
            return EXIT_FAIL;
        }
        o->fd = open(path, O_WRONLY | O_CLOEXEC);
        if (o->fd < 0) {
            cli_msg("cannot open '%s': %s", path, strerror(errno));
            return EXIT_FAIL;
        }
        o->direct = true;
        return EXIT_OK;
    }
    size_t n = strlen(path);
    o->path = strdup(path);
    o->tmp = malloc(n + 16);
    if (o->path == NULL || o->tmp == NULL) {
        cli_out_abort(o);
        cli_msg("out of memory");
        return EXIT_FAIL;
    }
    memcpy(o->tmp, path, n);
    memcpy(o->tmp + n, ".tmp.XXXXXX", 12);
    o->fd = mkstemp(o->tmp);
    if (o->fd < 0) {
        cli_msg("cannot create '%s': %s", path, strerror(errno));
        free(o->tmp);
        o->tmp = NULL;
        cli_out_abort(o);
        return EXIT_FAIL;
    }
    fchmod(o->fd, 0644);
    return EXIT_OK;
}

int cli_out_write(cli_out *o, const void *buf, size_t n)
{
    if (write_all(o->fd, buf, n) != 0) {
        int e = errno;
        if (o->path == NULL)
            cli_msg("cannot write to standard output: %s", strerror(e));
        else
            cli_msg("cannot write '%s': %s", o->path, strerror(e));
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

static void fsync_dir_of(const char *path)
{
    char *copy = strdup(path);
    if (copy == NULL)
        return;
    int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    free(copy);
}

int cli_out_commit(cli_out *o)
{
    if (o->direct) {
        int rc = close(o->fd) == 0 ? EXIT_OK : EXIT_FAIL;
        o->fd = -1;
        o->direct = false;
        if (rc != EXIT_OK)
            cli_msg("cannot write: %s", strerror(errno));
        return rc;
    }
    if (o->path == NULL) {
        o->fd = -1;
        return EXIT_OK;
    }
    if (fsync(o->fd) != 0 || close(o->fd) != 0) {
        int e = errno;
        o->fd = -1;
        cli_msg("cannot write '%s': %s", o->path, strerror(e));
        cli_out_abort(o);
        return EXIT_FAIL;
    }
    o->fd = -1;
    if (rename(o->tmp, o->path) != 0) {
        cli_msg("cannot rename '%s' to '%s': %s", o->tmp, o->path,
                strerror(errno));
        cli_out_abort(o);
        return EXIT_FAIL;
    }
    fsync_dir_of(o->path);
    free(o->tmp);
    free(o->path);
    o->tmp = o->path = NULL;
    return EXIT_OK;
}

void cli_out_abort(cli_out *o)
{
    if (o->direct) {
        close(o->fd);
        o->fd = -1;
        o->direct = false;
        return;
    }
    if (o->path != NULL && o->fd >= 0)
        close(o->fd);
    if (o->tmp != NULL)
        unlink(o->tmp);
    free(o->tmp);
    free(o->path);
    o->tmp = o->path = NULL;
    o->fd = -1;
}

int cli_write_file(const char *path, const void *buf, size_t n)
{
    cli_out o;
    int rc = cli_out_open(&o, path);
    if (rc != EXIT_OK)
        return rc;
    if ((rc = cli_out_write(&o, buf, n)) != EXIT_OK) {
        cli_out_abort(&o);
        return rc;
    }
    return cli_out_commit(&o);
}

/* ---- options -------------------------------------------------------- */

int cli_duration(int64_t *out, const char *opt, const char *value)
{
    exst_error err;
    exst_error_clear(&err);
    if (exst_duration_parse(out, value, 30 * 86400, &err) != EXST_OK)
        return cli_usage("%s: %s", opt, err.message);
    return EXIT_OK;
}

int cli_wait(double *out, const char *value)
{
    if (value == NULL) {
        *out = -1;
        return EXIT_OK;
    }
    int64_t s;
    exst_error err;
    exst_error_clear(&err);
    if (exst_duration_parse(&s, value, INT64_C(365) * 86400, &err) != EXST_OK)
        return cli_usage("--wait: %s", err.message);
    *out = (double)s;
    return EXIT_OK;
}

static void on_signal(int sig)
{
    int saved = errno;
    __atomic_store_n(&cli_interrupted, sig, __ATOMIC_RELAXED);
    errno = saved;
}

bool cli_is_interrupted(void)
{
    return __atomic_load_n(&cli_interrupted, __ATOMIC_RELAXED) != 0;
}

int cli_interrupt_status(void)
{
    int sig = __atomic_load_n(&cli_interrupted, __ATOMIC_RELAXED);
    return sig > 0 ? 128 + sig : EXIT_INTERRUPT;
}

void cli_install_signals(void)
{
    /* No SA_RESTART: a read blocked on a stalled pipe returns EINTR, so
     * the flag is seen at once. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

void cli_info(const char *fmt, ...)
{
    va_list ap;
    if (cli_verbosity < 1)
        return;
    va_start(ap, fmt);
    vmsg("", fmt, ap);
    va_end(ap);
}

bool cli_global_option(int ch)
{
    if (ch == 'q')
        cli_verbosity = -1;
    else if (ch == 'v')
        cli_verbosity = 1;
    else
        return false;
    return true;
}

const char *cli_optname(char *const *argv, const struct option *longopts,
                        int longindex)
{
    static char buf[160];
    const char *full = longopts[longindex].name;
    const char *given = argv[optind - 1];
    /* "--name=value" or "--name" then value in the next word. */
    if (optarg != NULL && given == optarg && optind >= 2)
        given = argv[optind - 2];
    size_t n = strcspn(given, "=");
    if (n > 2 && given[0] == '-' && given[1] == '-' &&
        (strlen(full) != n - 2 || strncmp(given + 2, full, n - 2) != 0)) {
        snprintf(buf, sizeof buf, "--%s (given as %.*s)", full, (int)n,
                 given);
        return buf;
    }
    snprintf(buf, sizeof buf, "--%s", full);
    return buf;
}

int cli_write_stdout(const void *buf, size_t n)
{
    if (write_all(STDOUT_FILENO, buf, n) != 0) {
        cli_msg("cannot write to standard output: %s", strerror(errno));
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

int cli_resolve(char **out, const char *path)
{
    exst_error err;
    struct stat st;
    exst_error_clear(&err);
    /* Only a final symbolic link changes what a rename replaces or where
     * the lock file goes; a plain name stays as the user wrote it, for
     * the messages. */
    if (lstat(path, &st) != 0 || !S_ISLNK(st.st_mode)) {
        size_t n = strlen(path);
        *out = malloc(n + 1);
        if (*out == NULL) {
            cli_msg("out of memory");
            return EXIT_FAIL;
        }
        memcpy(*out, path, n + 1);
        return EXIT_OK;
    }
    char *r = NULL;
    int rc = cli_report(exst_path_resolve(&r, path, &err), &err);
    if (rc == EXIT_OK) {
        *out = malloc(strlen(r) + 1);
        if (*out == NULL) {
            cli_msg("out of memory");
            rc = EXIT_FAIL;
        } else {
            memcpy(*out, r, strlen(r) + 1);
        }
    }
    exst_free(r);
    return rc;
}

int cli_check_distinct(const cli_path *paths, size_t n)
{
    int rc = EXIT_OK;
    char **res = calloc(n + 1, sizeof *res);
    struct stat *st = calloc(n + 1, sizeof *st);
    bool *exists = calloc(n + 1, sizeof *exists);
    if (res == NULL || st == NULL || exists == NULL) {
        cli_msg("out of memory");
        rc = EXIT_FAIL;
        goto done;
    }
    for (size_t i = 0; i < n && rc == EXIT_OK; i++) {
        const char *p = paths[i].path;
        if (p == NULL || strcmp(p, "-") == 0)
            continue;
        /* Devices and FIFOs are streams (/dev/null twice is fine). */
        if (stat(p, &st[i]) == 0) {
            if (!S_ISREG(st[i].st_mode))
                continue;
            exists[i] = true;
        }
        exst_error err;
        exst_error_clear(&err);
        if (exst_path_resolve(&res[i], p, &err) != EXST_OK)
            res[i] = NULL; /* unresolvable: reported when it is used */
        for (size_t j = 0; j < i && rc == EXIT_OK; j++) {
            bool same = exists[i] && exists[j] &&
                        st[i].st_dev == st[j].st_dev &&
                        st[i].st_ino == st[j].st_ino;
            same = same || (res[i] != NULL && res[j] != NULL &&
                            strcmp(res[i], res[j]) == 0);
            if (same)
                rc = cli_usage("%s and %s name the same file '%s'",
                               paths[j].option, paths[i].option, p);
        }
    }
done:
    for (size_t i = 0; res != NULL && i < n; i++)
        exst_free(res[i]);
    free(res);
    free(st);
    free(exists);
    return rc;
}

int cli_time(int64_t *out, const char *opt, const char *value)
{
    exst_error err;
    exst_error_clear(&err);
    if (exst_time_parse(out, value, &err) != EXST_OK)
        return cli_usage("%s: %s", opt, err.message);
    return EXIT_OK;
}
