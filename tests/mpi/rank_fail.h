/* A rank's own verdict, for the MPI tests whose ranks each check their
 * result: the scripts count the "PASS rank R" and "FAIL rank R" lines
 * (rdmc_verdicts in common.sh).  The test sets `rank` (MPI_Comm_rank);
 * fail() prints one FAIL line and counts it in `failures`;
 * survivors_leave() ends a survivor of a kill, revoked_class() tells the
 * error a slower survivor then gets under ULFM. */
#ifndef RDMC_TEST_RANK_FAIL_H
#define RDMC_TEST_RANK_FAIL_H

#include <mpi.h>
#if defined(__has_include)
#if __has_include(<mpi-ext.h>)
#include <mpi-ext.h>
#endif
#endif

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

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

/* Under ULFM: the class of a call on a communicator some survivor revoked
 * (survivors_leave does, as it leaves). */
static inline bool revoked_class(int cls)
{
#if defined(MPIX_ERR_REVOKED)
    return cls == MPIX_ERR_REVOKED;
#else
    (void)cls;
    return false;
#endif
}

/* A survivor of a kill leaves with _exit (Open MPI's MPI_Finalize after a
 * kill can wait for good).  Under ULFM (Open MPI 5, whose failure tests
 * run with mpirun --with-ft ulfm) the survivors first recover as its
 * programs do (revoke, so that none waits in a collective the others
 * left; shrink) and meet: Open MPI 5's launcher aborted the job, verdicts
 * unprinted, when some left while others still ran. */
static inline void survivors_leave(int status)
{
    fflush(stdout);
#if defined(MPIX_ERR_PROC_FAILED) && defined(MPIX_ERR_REVOKED)
    MPI_Comm survivors;

    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPIX_Comm_revoke(MPI_COMM_WORLD);
    if (MPIX_Comm_shrink(MPI_COMM_WORLD, &survivors) == MPI_SUCCESS) {
        MPI_Barrier(survivors);
    }
#endif
    _exit(status);
}

#endif
