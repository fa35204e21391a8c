/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * exst_file.c - how the library writes files (SPEC 4.4, 6): the history,
 * replay outputs, and through exst_outset every output of `apply`.
 *
 * A regular file is never written in place: the bytes go to a temporary
 * file beside it (O_EXCL, a random name), are fsynced, and the temporary
 * file is renamed over the target, so a reader or a crash sees the old
 * file or the new one, never a mix.  A symbolic link is written through
 * to its target, as cp(1) and shell redirection do, so the link stays a
 * link.  A device or FIFO (/dev/null, /dev/stdout on a pipe, a named
 * pipe) cannot be replaced and is written in place.  New files get the
 * mode the caller asks for less the umask (the kernel applies it at
 * open); a replaced file keeps its mode, and its owner and group where
 * the process may set them, so one run as root does not take a service
 * account's files away from it.
 */
#define _DEFAULT_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "exst_file_int.h"
#include "exst_int.h"

#define MAX_LINKS 40 /* symbolic links followed before ELOOP */

/* strerror text with a lowercase first letter, as house messages are. */
static int sys_error(exst_error *err, const char *name, int e,
                     const char *what)
{
    char text[96];
    snprintf(text, sizeof text, "%s", strerror(e));
    if (text[0] >= 'A' && text[0] <= 'Z')
        text[0] = (char)(text[0] - 'A' + 'a');
    return exstp_error_simple(err, EXST_ERR_IO, name, "%s '%.180s': %s",
                              what, name, text);
}

static int nomem(exst_error *err, const char *name)
{
    return exstp_error_simple(err, EXST_ERR_NOMEM, name, "out of memory");
}

static char *concat(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *s = exstp_malloc(na + nb + 1);
    if (s != NULL) {
        memcpy(s, a, na);
        memcpy(s + na, b, nb + 1);
    }
    return s;
}

/* The directory part of path ("." when it has none), owned. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        return exstp_strndup(".", 1);
    if (slash == path)
        return exstp_strndup("/", 1);
    return exstp_strndup(path, (size_t)(slash - path));
}

/* realpath(3) into our own allocation. */
static char *real_path(const char *path)
{
    char *r = realpath(path, NULL);
    if (r == NULL)
        return NULL;
    char *s = exstp_strndup(r, strlen(r));
    free(r);
    if (s == NULL)
        errno = ENOMEM;
    return s;
}

/* The eventual target of a path that does not exist: follow a chain of
 * dangling symbolic links by hand, then make the directory canonical. */
static int resolve_missing(char **out, const char *path, exst_error *err)
{
    char *cur = exstp_strndup(path, strlen(path));
    if (cur == NULL)
        return nomem(err, path);
    for (int hops = 0;; hops++) {
        struct stat st;
        if (lstat(cur, &st) != 0 || !S_ISLNK(st.st_mode))
            break;
        if (hops == MAX_LINKS) {
            exstp_free(cur);
            return sys_error(err, path, ELOOP, "cannot resolve");
        }
        char link[PATH_MAX];
        ssize_t n = readlink(cur, link, sizeof link - 1);
        if (n < 0) {
            int e = errno;
            exstp_free(cur);
            return sys_error(err, path, e, "cannot resolve");
        }
        link[n] = '\0';
        char *next;
        if (link[0] == '/') {
            next = exstp_strndup(link, (size_t)n);
        } else {
            char *d = dir_of(cur);
            char *ds = d ? concat(d, "/") : NULL;
            next = ds ? concat(ds, link) : NULL;
            exstp_free(d);
            exstp_free(ds);
        }
        exstp_free(cur);
        if (next == NULL)
            return nomem(err, path);
        cur = next;
    }
    /* cur does not exist (or is not a link): its directory must. */
    char *d = dir_of(cur);
    const char *base = strrchr(cur, '/');
    base = base ? base + 1 : cur;
    char *rd = d ? real_path(d) : NULL;
    if (rd == NULL) {
        int e = d == NULL ? ENOMEM : errno;
        exstp_free(d);
        exstp_free(cur);
        return e == ENOMEM ? nomem(err, path)
                           : sys_error(err, path, e, "cannot create");
    }
    char *rds = strcmp(rd, "/") == 0 ? exstp_strndup("/", 1)
                                     : concat(rd, "/");
    char *full = rds ? concat(rds, base) : NULL;
    exstp_free(rds);
    exstp_free(rd);
    exstp_free(d);
    exstp_free(cur);
    if (full == NULL)
        return nomem(err, path);
    *out = full;
    return EXST_OK;
}

int exstp_path_resolve(char **out, const char *path, exst_error *err)
{
    *out = NULL;
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno != ENOENT)
            return sys_error(err, path, errno, "cannot open");
        return resolve_missing(out, path, err);
    }
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
        /* /dev/stdout on a pipe resolves to no path at all. */
        *out = exstp_strndup(path, strlen(path));
        return *out ? EXST_OK : nomem(err, path);
    }
    *out = real_path(path);
    if (*out == NULL)
        return errno == ENOMEM ? nomem(err, path)
                               : sys_error(err, path, errno, "cannot open");
    return EXST_OK;
}

int exst_path_resolve(char **out, const char *path, exst_error *err)
{
    if (out == NULL || path == NULL)
        return exstp_error_simple(err, EXST_ERR_USAGE, NULL,
                                  "path resolve: missing argument");
    return exstp_path_resolve(out, path, err);
}

/* A new file beside target with a random name, opened O_EXCL with mode
 * (less the umask).  Returns the fd and sets *tmp, or -1 with errno. */
static int make_temp(char **tmp, const char *target, const char *infix,
                     mode_t mode)
{
    const size_t n = strlen(target), ni = strlen(infix);
    for (int tries = 0; tries < 32; tries++) {
        unsigned char rnd[6];
        char hex[13];
        randombytes_buf(rnd, sizeof rnd);
        sodium_bin2hex(hex, sizeof hex, rnd, sizeof rnd);
        char *t = exstp_malloc(n + ni + sizeof hex);
        if (t == NULL) {
            errno = ENOMEM;
            return -1;
        }
        memcpy(t, target, n);
        memcpy(t + n, infix, ni);
        memcpy(t + n + ni, hex, sizeof hex);
        int fd = open(t, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW |
                             O_NOCTTY,
                      mode);
        if (fd >= 0) {
            *tmp = t;
            return fd;
        }
        int e = errno;
        exstp_free(t);
        if (e != EEXIST) {
            errno = e;
            return -1;
        }
    }
    errno = EEXIST;
    return -1;
}

void exstp_out_abort(exstp_out *o)
{
    if (o == NULL)
        return;
    if (o->fd >= 0)
        close(o->fd);
    if (o->tmp != NULL)
        unlink(o->tmp);
    exstp_free(o->tmp);
    exstp_free(o->target);
    exstp_free(o->dir);
    exstp_free(o->name);
    memset(o, 0, sizeof *o);
    o->fd = -1;
}

int exstp_out_open(exstp_out *o, const char *path, unsigned flags,
                   exst_error *err)
{
    memset(o, 0, sizeof *o);
    o->fd = -1;
    o->flags = flags;
    o->name = exstp_strndup(path, strlen(path));
    if (o->name == NULL)
        return nomem(err, path);

    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        exstp_out_abort(o);
        return exstp_error_simple(err, EXST_ERR_IO, path,
                                  "cannot write '%.180s': is a directory",
                                  path);
    }
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        /* A device or FIFO: renaming over it would replace it. */
        o->fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (o->fd < 0) {
            int e = errno;
            exstp_out_abort(o);
            return sys_error(err, path, e, "cannot open");
        }
        o->in_place = true;
        return EXST_OK;
    }
    int rc = exstp_path_resolve(&o->target, path, err);
    if (rc != EXST_OK) {
        exstp_out_abort(o);
        return rc;
    }
    /* Allocated now: nothing after the rename may fail for memory. */
    o->dir = dir_of(o->target);
    if (o->dir == NULL) {
        exstp_out_abort(o);
        return nomem(err, path);
    }
    const bool existed = stat(o->target, &st) == 0 && S_ISREG(st.st_mode);
    const mode_t mode = (flags & EXSTP_OUT_PRIVATE) ? 0600 : 0666;
    o->fd = make_temp(&o->tmp, o->target, ".tmp.", mode);
    if (o->fd < 0) {
        int e = errno;
        exstp_out_abort(o);
        return e == ENOMEM ? nomem(err, path)
                           : sys_error(err, path, e, "cannot create");
    }
    if (existed) {
        o->existed = true;
        /* Owner first: chown may clear the set-id bits that chmod sets.
         * Not permitted (another user's file, not root): the file keeps
         * ours, as any other writer would leave it. */
        if (st.st_uid != geteuid() || st.st_gid != getegid())
            (void)fchown(o->fd, st.st_uid, st.st_gid);
        (void)fchmod(o->fd, st.st_mode & 07777);
    }
    return EXST_OK;
}

static long fail_write_budget = -1;

void exstp_file_fail_write_after(long nbytes)
{
    fail_write_budget = nbytes;
}

/* write(2) with the test hook in front: a short write up to the budget,
 * then ENOSPC, as a filling disk behaves. */
static ssize_t hooked_write(int fd, const void *p, size_t n)
{
    if (fail_write_budget >= 0) {
        if (fail_write_budget == 0) {
            errno = ENOSPC;
            return -1;
        }
        if (n > (size_t)fail_write_budget)
            n = (size_t)fail_write_budget;
    }
    ssize_t w = write(fd, p, n);
    if (w > 0 && fail_write_budget >= 0)
        fail_write_budget -= (long)w;
    return w;
}

int exstp_out_write(exstp_out *o, const void *p, size_t n, exst_error *err)
{
    const char *b = p;
    while (n > 0) {
        ssize_t w = hooked_write(o->fd, b, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return sys_error(err, o->name, w < 0 ? errno : EIO,
                             "cannot write");
        b += w;
        n -= (size_t)w;
    }
    return EXST_OK;
}

int exstp_out_sync(exstp_out *o, exst_error *err)
{
    if (o->fd < 0)
        return EXST_OK;
    int e = 0;
    /* fsync of a pipe or terminal is EINVAL: nothing to make durable. */
    if (fsync(o->fd) != 0 && !(o->in_place && errno == EINVAL))
        e = errno;
    if (close(o->fd) != 0 && e == 0)
        e = errno;
    o->fd = -1;
    return e ? sys_error(err, o->name, e, "cannot write") : EXST_OK;
}

/* fsync a directory so a rename in it is durable.  Some file systems
 * cannot sync a directory; that is not a failure. */
static int sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_CLOEXEC | O_DIRECTORY);
    if (fd < 0)
        return errno;
    int e = 0;
    if (fsync(fd) != 0 && errno != EINVAL && errno != EROFS)
        e = errno;
    close(fd);
    return e;
}

/* Make target's current contents TARGET.prev: a hard link renamed into
 * place (atomic, no copy), or a copy where the file system has no hard
 * links.  A crash in between leaves .prev as it was or equal to the
 * current file, never half of one. */
static int keep_prev(const char *target, const char *name, exst_error *err)
{
    char *prev = concat(target, ".prev");
    char *tmp = NULL;
    int rc = EXST_OK;
    if (prev == NULL)
        return nomem(err, name);
    int fd = make_temp(&tmp, target, ".prev.tmp.", 0600);
    if (fd < 0) {
        rc = errno == ENOMEM ? nomem(err, name)
                             : sys_error(err, name, errno,
                                         "cannot keep the previous copy of");
        goto done;
    }
    close(fd);
    unlink(tmp);
    if (link(target, tmp) != 0) {
        /* No hard links here: copy the bytes instead. */
        int in = open(target, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        exstp_out o;
        if (in < 0) {
            rc = sys_error(err, name, errno,
                           "cannot keep the previous copy of");
            goto done;
        }
        rc = exstp_out_open(&o, tmp, EXSTP_OUT_PRIVATE, err);
        char buf[1 << 16];
        ssize_t got = 0;
        while (rc == EXST_OK && (got = read(in, buf, sizeof buf)) != 0) {
            if (got < 0 && errno == EINTR)
                continue;
            if (got < 0) {
                rc = sys_error(err, name, errno,
                               "cannot keep the previous copy of");
                break;
            }
            rc = exstp_out_write(&o, buf, (size_t)got, err);
        }
        close(in);
        if (rc == EXST_OK)
            rc = exstp_out_sync(&o, err);
        if (rc == EXST_OK)
            rc = exstp_out_rename(&o, err);
        else
            exstp_out_abort(&o);
        if (rc != EXST_OK)
            goto done;
    }
    if (rename(tmp, prev) != 0) {
        rc = sys_error(err, name, errno, "cannot keep the previous copy of");
        unlink(tmp);
    }
done:
    exstp_free(tmp);
    exstp_free(prev);
    return rc;
}

int exstp_out_rename(exstp_out *o, exst_error *err)
{
    int rc = EXST_OK;
    if (o->in_place) {
        exstp_out_abort(o);
        return EXST_OK;
    }
    if (o->fd >= 0 && (rc = exstp_out_sync(o, err)) != EXST_OK) {
        exstp_out_abort(o);
        return rc;
    }
    if (o->existed && (o->flags & EXSTP_OUT_KEEP_PREV) &&
        (rc = keep_prev(o->target, o->name, err)) != EXST_OK) {
        exstp_out_abort(o);
        return rc;
    }
    if (rename(o->tmp, o->target) != 0) {
        rc = sys_error(err, o->name, errno, "cannot replace");
        exstp_out_abort(o);
        return rc;
    }
    exstp_free(o->tmp);
    o->tmp = NULL;
    int e = sync_dir(o->dir);
    if (e != 0)
        rc = sys_error(err, o->name, e, "cannot sync the directory of");
    exstp_out_abort(o);
    return rc;
}

/* ---- sets of outputs committed together (apply) -------------------- */

typedef struct pending {
    exstp_out out;
    char *bytes; /* in-place outputs: written at commit */
    size_t len;
    bool history; /* renamed after every other output */
} pending;

struct exst_outset {
    pending *p;
    size_t n, cap;
};

int exst_outset_new(exst_outset **out, exst_error *err)
{
    if (out == NULL)
        return exstp_error_simple(err, EXST_ERR_USAGE, NULL,
                                  "outset: missing argument");
    *out = exstp_calloc(1, sizeof **out);
    return *out ? EXST_OK : nomem(err, NULL);
}

static int add(exst_outset *s, const char *path, const void *buf,
               size_t len, bool history, exst_error *err)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4;
        pending *p = exstp_realloc(s->p, cap * sizeof *p);
        if (p == NULL)
            return nomem(err, path);
        s->p = p;
        s->cap = cap;
    }
    pending *e = &s->p[s->n];
    memset(e, 0, sizeof *e);
    e->history = history;
    int rc = exstp_out_open(&e->out, path,
                            history ? EXSTP_OUT_PRIVATE | EXSTP_OUT_KEEP_PREV
                                    : 0,
                            err);
    if (rc != EXST_OK)
        return rc;
    s->n++;
    if (history && e->out.in_place)
        return exstp_error_simple(err, EXST_ERR_IO, path,
                                  "history '%.150s' is not a regular file",
                                  path);
    if (e->out.in_place) {
        /* A stream cannot be taken back: it is written at commit, once
         * every file is ready and before any is renamed. */
        e->bytes = exstp_malloc(len ? len : 1);
        if (e->bytes == NULL)
            return nomem(err, path);
        if (len)
            memcpy(e->bytes, buf, len);
        e->len = len;
        return EXST_OK;
    }
    rc = exstp_out_write(&e->out, buf, len, err);
    if (rc == EXST_OK)
        rc = exstp_out_sync(&e->out, err);
    return rc;
}

int exst_outset_add(exst_outset *s, const char *path, const void *buf,
                    size_t len, exst_error *err)
{
    if (s == NULL || path == NULL || (buf == NULL && len > 0))
        return exstp_error_simple(err, EXST_ERR_USAGE, path,
                                  "outset add: missing argument");
    return add(s, path, buf, len, false, err);
}

int exst_outset_add_history(exst_outset *s, const exst_history *h,
                            const char *path, exst_error *err)
{
    if (s == NULL || h == NULL || path == NULL)
        return exstp_error_simple(err, EXST_ERR_USAGE, path,
                                  "outset add: missing argument");
    void *bytes = NULL;
    size_t len = 0;
    int rc = exst_history_serialize(&bytes, &len, h, err);
    if (rc == EXST_OK)
        rc = add(s, path, bytes, len, true, err);
    exstp_free(bytes);
    return rc;
}

int exst_outset_commit(exst_outset *s, exst_error *err)
{
    if (s == NULL)
        return exstp_error_simple(err, EXST_ERR_USAGE, NULL,
                                  "outset commit: missing argument");
    int rc = EXST_OK;
    for (size_t i = 0; i < s->n && rc == EXST_OK; i++) {
        pending *e = &s->p[i];
        if (!e->out.in_place)
            continue;
        rc = exstp_out_write(&e->out, e->bytes, e->len, err);
        if (rc == EXST_OK)
            rc = exstp_out_sync(&e->out, err);
    }
    /* Outputs first, the history last: the history's rename is the
     * commit, so it never records a document whose outputs are not all
     * in place. */
    for (int last = 0; last < 2; last++)
        for (size_t i = 0; i < s->n && rc == EXST_OK; i++)
            if (s->p[i].history == (last == 1))
                rc = exstp_out_rename(&s->p[i].out, err);
    return rc;
}

void exst_outset_free(exst_outset *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n; i++) {
        exstp_out_abort(&s->p[i].out);
        exstp_free(s->p[i].bytes);
    }
    exstp_free(s->p);
    exstp_free(s);
}
