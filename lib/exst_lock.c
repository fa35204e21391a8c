/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * exst_lock.c - the single-writer lock of a history database (SPEC 4.4):
 * an exclusive flock(2) on the side file "<db>.lock".  The lock lives on
 * a file of its own, not on the database, because the database is
 * replaced by rename on every commit and a lock on a replaced inode would
 * protect nothing.  The side file is never removed: removing it would let
 * two writers lock two different inodes of the same name.
 */
#define _DEFAULT_SOURCE

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "exst_int.h"

struct exst_lock {
    int fd;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void nap(void)
{
    struct timespec ts = {0, 50 * 1000 * 1000}; /* 50 ms */
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int sys_error(exst_error *err, const char *db, const char *lpath,
                     int errnum)
{
    char text[96];
    snprintf(text, sizeof text, "%s", strerror(errnum));
    if (text[0] >= 'A' && text[0] <= 'Z')
        text[0] = (char)(text[0] - 'A' + 'a');
    return exstp_error_simple(err, EXST_ERR_IO, db,
                              "cannot lock database '%.100s' (lock file "
                              "'%.100s'): %s",
                              db, lpath, text);
}

/* The holder's process id, as it wrote it into the lock file, or 0. */
static long holder_pid(int fd)
{
    char buf[24];
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0)
        return 0;
    long pid = 0;
    for (ssize_t i = 0; i < n && buf[i] != '\n'; i++) {
        if (buf[i] < '0' || buf[i] > '9' || pid > 99999999)
            return 0;
        pid = pid * 10 + (buf[i] - '0');
    }
    return pid;
}

/* Record our process id for the next writer's message.  Best effort: a
 * lock file we may only read still locks. */
static void note_pid(int fd)
{
    char buf[24];
    int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) == 0 && n > 0)
        (void)!pwrite(fd, buf, (size_t)n, 0);
}

int exst_lock_acquire(exst_lock **out, const char *db_path, double wait_s,
                      const volatile int *interrupt, exst_error *err)
{
    if (out == NULL || db_path == NULL)
        return exstp_error_simple(err, EXST_ERR_USAGE, db_path,
                                  "lock: missing argument");
    *out = NULL;
    static const char suffix[] = ".lock";
    const size_t plen = strlen(db_path);
    char *lpath = exstp_malloc(plen + sizeof suffix);
    exst_lock *l = exstp_malloc(sizeof *l);
    if (lpath == NULL || l == NULL) {
        exstp_free(lpath);
        exstp_free(l);
        return exstp_error_simple(err, EXST_ERR_NOMEM, db_path,
                                  "lock: out of memory");
    }
    memcpy(lpath, db_path, plen);
    memcpy(lpath + plen, suffix, sizeof suffix);

    int rc = EXST_OK;
    /* Never through a symbolic link: whoever may plant one beside the
     * history must not make us create or truncate its target. */
    const int base = O_CLOEXEC | O_NOCTTY | O_NOFOLLOW;
    bool writable = true;
    int fd = open(lpath, O_RDWR | O_CREAT | base, 0666);
    if (fd < 0 && (errno == EACCES || errno == EROFS)) {
        writable = false; /* flock works on a read-only descriptor */
        fd = open(lpath, O_RDONLY | base);
    }
    if (fd < 0) {
        if (errno == ELOOP)
            rc = exstp_error_simple(err, EXST_ERR_IO, db_path,
                                    "lock file '%.150s' is a symbolic "
                                    "link; not following it",
                                    lpath);
        else
            rc = sys_error(err, db_path, lpath, errno);
        goto fail;
    }
    struct stat st, hs;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = exstp_error_simple(err, EXST_ERR_IO, db_path,
                                "lock file '%.150s' is not a regular file",
                                lpath);
        goto fail;
    }
    /* A lock file made by root beside a service account's history stays
     * usable by that account. */
    if (geteuid() == 0 && stat(db_path, &hs) == 0 &&
        (st.st_uid != hs.st_uid || st.st_gid != hs.st_gid))
        (void)fchown(fd, hs.st_uid, hs.st_gid);
    const double deadline = wait_s > 0 ? now_s() + wait_s : 0;
    for (;;) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            break;
        if (errno == EINTR)
            continue;
        if (errno != EWOULDBLOCK) {
            rc = sys_error(err, db_path, lpath, errno);
            goto fail;
        }
        if (wait_s == 0 || (wait_s > 0 && now_s() >= deadline)) {
            long pid = holder_pid(fd);
            char who[48] = "";
            if (pid > 0)
                snprintf(who, sizeof who, "pid %ld, ", pid);
            rc = exstp_error_simple(err, EXST_ERR_LOCKED, db_path,
                                    "database '%.100s' is locked by another "
                                    "exitstage process (%slock file "
                                    "'%.100s')",
                                    db_path, who, lpath);
            goto fail;
        }
        if (interrupt != NULL && *interrupt) {
            rc = exstp_error_simple(err, EXST_ERR_INTERRUPTED, db_path,
                                    "interrupted while waiting for the lock "
                                    "on '%.150s'",
                                    db_path);
            goto fail;
        }
        nap();
    }
    if (writable)
        note_pid(fd);
    exstp_free(lpath);
    l->fd = fd;
    *out = l;
    return EXST_OK;
fail:
    if (fd >= 0)
        close(fd);
    exstp_free(lpath);
    exstp_free(l);
    return rc;
}

void exst_lock_release(exst_lock *l)
{
    if (l == NULL)
        return;
    /* Closing the only descriptor of the open file drops the flock. */
    close(l->fd);
    exstp_free(l);
}
