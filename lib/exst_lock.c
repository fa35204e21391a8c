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
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
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

static int sys_error(exst_error *err, const char *path, int errnum)
{
    char text[96];
    snprintf(text, sizeof text, "%s", strerror(errnum));
    if (text[0] >= 'A' && text[0] <= 'Z')
        text[0] = (char)(text[0] - 'A' + 'a');
    return exstp_error_simple(err, EXST_ERR_IO, path,
                              "cannot lock database '%.150s': %s", path,
                              text);
}

int exst_lock_acquire(exst_lock **out, const char *db_path, double wait_s,
                      exst_error *err)
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
    int fd = open(lpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
    if (fd < 0) {
        rc = sys_error(err, db_path, errno);
        goto fail;
    }
    const double deadline = wait_s > 0 ? now_s() + wait_s : 0;
    for (;;) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            break;
        if (errno == EINTR)
            continue;
        if (errno != EWOULDBLOCK) {
            rc = sys_error(err, db_path, errno);
            goto fail;
        }
        if (wait_s == 0 || (wait_s > 0 && now_s() >= deadline)) {
            rc = exstp_error_simple(err, EXST_ERR_LOCKED, db_path,
                                    "database '%.150s' is locked by another "
                                    "exitstage process",
                                    db_path);
            goto fail;
        }
        nap();
    }
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
