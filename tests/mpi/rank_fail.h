/* A rank's own verdict, for the MPI tests whose ranks each check their
 * result: the scripts count the "PASS rank R" and "FAIL rank R" lines
 * (rdmc_verdicts in common.sh).  The test sets `rank` (MPI_Comm_rank);
 * fail() prints one FAIL line and counts it in `failures`. */
#ifndef RDMC_TEST_RANK_FAIL_H
#define RDMC_TEST_RANK_FAIL_H

#include <stdarg.h>
#include <stdio.h>

static int rank, failures;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void fail(const char *fmt, ...)
{
    va_list ap;

    printf("FAIL rank %d: ", rank);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    failures++;
}

#endif
