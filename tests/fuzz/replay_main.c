/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * replay_main.c - run a libFuzzer target without libFuzzer: call
 * LLVMFuzzerTestOneInput once on every regular file in the directory given
 * as argv[1] (sorted, so runs are repeatable) and print how many.  This is
 * how every fuzz corpus, crashes found included, runs as an ordinary
 * ctest.  Never linked into the libFuzzer binary, which has its own main.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        perror(path);
        return -1;
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    for (;;) {
        if (buf == NULL) {
            fclose(fp);
            fprintf(stderr, "%s: out of memory\n", path);
            return -1;
        }
        n += fread(buf + n, 1, cap - n, fp);
        if (n < cap)
            break;
        cap *= 2;
        uint8_t *q = realloc(buf, cap);
        if (q == NULL)
            free(buf);
        buf = q;
    }
    int bad = ferror(fp);
    fclose(fp);
    if (bad) {
        perror(path);
        free(buf);
        return -1;
    }
    /* An exact-size copy so ASan catches reads past the end. */
    uint8_t *exact = malloc(n ? n : 1);
    if (exact == NULL) {
        free(buf);
        return -1;
    }
    memcpy(exact, buf, n);
    free(buf);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS-DIRECTORY\n", argv[0]);
        return 2;
    }
    DIR *d = opendir(argv[1]);
    if (d == NULL) {
        perror(argv[1]);
        return 1;
    }
    size_t n = 0, cap = 64;
    char **names = malloc(cap * sizeof *names);
    struct dirent *de;
    const size_t dl = strlen(argv[1]);
    while (names != NULL && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        size_t nl = strlen(de->d_name);
        char *full = malloc(dl + nl + 2);
        if (full == NULL)
            break;
        memcpy(full, argv[1], dl);
        full[dl] = '/';
        memcpy(full + dl + 1, de->d_name, nl + 1);
        struct stat st;
        if (stat(full, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(full);
            continue;
        }
        if (n == cap) {
            cap *= 2;
            char **q = realloc(names, cap * sizeof *names);
            if (q == NULL) {
                free(full);
                break;
            }
            names = q;
        }
        names[n++] = full;
    }
    closedir(d);
    if (names == NULL) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    qsort(names, n, sizeof *names, cmp_name);
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        failed |= run_file(names[i]) != 0;
        free(names[i]);
    }
    free(names);
    printf("%s: %zu input%s replayed\n", argv[1], n, n == 1 ? "" : "s");
    if (n == 0) {
        fprintf(stderr, "%s: empty corpus\n", argv[1]);
        return 1;
    }
    return failed ? 1 : 0;
}
