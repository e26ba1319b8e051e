/* DIR/rank.R holds rank R's pid, for the test scripts that stop ranks
 * (busy.test, chaos.test) and for the survivors that end a victim stopped
 * for good (failover --stop). */
#ifndef RDMC_TEST_RANK_PID_H
#define RDMC_TEST_RANK_PID_H

#include <stdio.h>
#include <unistd.h>

/* Written aside and renamed: a script that sees DIR/rank.R reads a whole
 * pid, never the empty file fopen has just made. */
static inline void rank_pid_write(const char *dir, int rank)
{
    char path[512], aside[520];
    FILE *f;

    snprintf(path, sizeof(path), "%s/rank.%d", dir, rank);
    snprintf(aside, sizeof(aside), "%s.tmp", path);
    f = fopen(aside, "w");
    if (f != NULL) {
        fprintf(f, "%d\n", (int)getpid());
        if (fclose(f) == 0) {
            (void)rename(aside, path);
        }
    }
}

/* Rank R's pid, or 0 when it wrote none. */
static inline int rank_pid_read(const char *dir, int rank)
{
    char path[512];
    FILE *f;
    int pid = 0;

    snprintf(path, sizeof(path), "%s/rank.%d", dir, rank);
    f = fopen(path, "r");
    if (f != NULL) {
        if (fscanf(f, "%d", &pid) != 1) {
            pid = 0;
        }
        fclose(f);
    }
    return pid;
}

#endif
