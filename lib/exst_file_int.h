/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * exst_file_int.h - output files as every writer in the library makes
 * them (SPEC 4.4 "Added in 0.2"): a temporary file beside the target,
 * written, fsynced, and renamed into place; a symbolic link written
 * through to its target; a device or FIFO written in place; a new file
 * created with the process umask applied, a replaced file keeping its
 * mode, owner and group.  Never installed.
 */
#ifndef EXST_FILE_INT_H
#define EXST_FILE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "exitstage.h"

/* exstp_out_open flags. */
#define EXSTP_OUT_PRIVATE 0x1u   /* new file 0600 & ~umask (else 0666) */
#define EXSTP_OUT_KEEP_PREV 0x2u /* the replaced file becomes TARGET.prev */

typedef struct exstp_out {
    char *name;      /* as the caller named it, for messages */
    char *target;    /* the file to replace: symbolic links resolved */
    char *tmp;       /* the temporary file, NULL when written in place */
    char *dir;       /* target's directory, fsynced after the rename */
    int fd;          /* -1 once closed */
    unsigned flags;
    bool in_place;   /* a device or FIFO */
    bool existed;    /* target was a regular file when opened */
} exstp_out;

/* Start an output at path.  A directory is refused (EXST_ERR_IO).  On
 * failure nothing is left behind and o needs no abort. */
int exstp_out_open(exstp_out *o, const char *path, unsigned flags,
                   exst_error *err);
/* Append bytes (all of them, or an error naming the output). */
int exstp_out_write(exstp_out *o, const void *p, size_t n, exst_error *err);
/* fsync and close the temporary file (or close an in-place output). */
int exstp_out_sync(exstp_out *o, exst_error *err);
/* Rename the synced temporary file over the target (keeping the old one
 * as TARGET.prev with EXSTP_OUT_KEEP_PREV) and fsync the directory; then
 * free o.  In-place outputs only free o. */
int exstp_out_rename(exstp_out *o, exst_error *err);
/* Remove the temporary file, if any, and free o.  Safe after any of the
 * above, and on a zeroed o. */
void exstp_out_abort(exstp_out *o);

/* The file a path names once symbolic links are followed, as an owned
 * string (exstp_free): the canonical path of an existing regular file or
 * of a dangling link's eventual target; an existing non-regular file
 * (a device, a FIFO, /dev/stdout on a pipe) is returned as given. */
int exstp_path_resolve(char **out, const char *path, exst_error *err);

/* Test hook: writes through exstp_out_write fail with ENOSPC once nbytes
 * more bytes have been written (0 fails the first write); negative (the
 * default) turns it off.  Persists across calls. */
void exstp_file_fail_write_after(long nbytes);

#endif /* EXST_FILE_INT_H */
