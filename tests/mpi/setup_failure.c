/*
 * A rank dies before a communicator's first rdmc collective, under failure
 * handling.  That collective sets rdmc up on the communicator, and set-up
 * alone cannot tell a late rank from a dead one (no heartbeats yet); where
 * the process knows the rank is dead, the collective must fail at once
 * with the "process failed" class at every survivor, not wait for set-up's
 * bound (2 minutes).
 *
 *   setup_failure --known-by world
 *       MPI_COMM_WORLD's link is set up and a duplicate made; the last
 *       rank dies; a broadcast on MPI_COMM_WORLD (whose link finds the
 *       death: delivered to the survivors, or under ULFM failed), then the
 *       duplicate's first broadcast and its second.
 *   setup_failure --known-by runtime      (ULFM only)
 *       The last rank dies before any collective; MPI_COMM_WORLD's first
 *       broadcast and its second.
 *
 * Through MPI_T: rdmc carried the broadcast before the death, and handed
 * none of the failed ones to Open MPI's own broadcast (coll_rdmc_fallbacks).
 * The failed broadcasts must have RDMC_ERR_PROC_FAILED's class
 * (MPI_ERR_PROC_FAILED under ULFM, or MPI_ERR_REVOKED once a survivor
 * that finished first revoked the communicator) within BOUND_S.  Each survivor prints
 * "PASS rank R" or "FAIL rank R: ..." and leaves (survivors_leave).
 */
#include <mpi.h>

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rank_fail.h"
#include "rdmc_pvars.h"
#include "membership/rdmc.h"

#define BYTES (16 << 20)
#define BOUND_S 10.0

static char *buf;

/* Or, under ULFM, revoked by a survivor that finished first and left. */
static bool process_failed_class(int cls)
{
    return cls == RDMC_ERR_PROC_FAILED || revoked_class(cls);
}

/* A broadcast of BYTES from rank 0 that must fail as a process failure. */
static void expect_proc_failed(const char *what, MPI_Comm comm)
{
    double t0 = MPI_Wtime();
    int rc = MPI_Bcast(buf, BYTES, MPI_CHAR, 0, comm), cls = MPI_SUCCESS;
    double took = MPI_Wtime() - t0;

    if (rc != MPI_SUCCESS) {
        MPI_Error_class(rc, &cls);
    }
    if (!process_failed_class(cls)) {
        char text[MPI_MAX_ERROR_STRING];
        int len;
        MPI_Error_string(rc, text, &len);
        fail("%s returned \"%s\", not the process-failed class", what, text);
    } else if (took > BOUND_S) {
        fail("%s failed after %.1f s, past %.0f s", what, took, BOUND_S);
    } else {
        printf("rank %d: %s failed with the process-failed class after %.2f s\n", rank, what,
               took);
    }
}

int main(int argc, char **argv)
{
    bool by_world = argc == 3 && strcmp(argv[1], "--known-by") == 0 &&
                    strcmp(argv[2], "world") == 0;
    bool by_runtime = argc == 3 && strcmp(argv[1], "--known-by") == 0 &&
                      strcmp(argv[2], "runtime") == 0;
    MPI_Comm dup = MPI_COMM_NULL;
    int size;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (!by_world && !by_runtime) {
        if (rank == 0) {
            fprintf(stderr, "usage: setup_failure --known-by world|runtime\n");
        }
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    buf = malloc(BYTES);
    memset(buf, rank == 0 ? 7 : 0, BYTES);
    if (by_world) {
        long long carried = rdmc_pvar_read("coll_rdmc_bcasts");
        if (MPI_Bcast(buf, BYTES, MPI_CHAR, 0, MPI_COMM_WORLD) != MPI_SUCCESS) {
            fail("the broadcast before the death failed");
        } else if (rdmc_pvar_read("coll_rdmc_bcasts") != carried + 1) {
            fail("rdmc did not carry the broadcast before the death");
        }
        MPI_Comm_dup(MPI_COMM_WORLD, &dup);
        MPI_Comm_set_errhandler(dup, MPI_ERRORS_RETURN);
    }
    if (rank == size - 1) {
        fflush(stdout);
        raise(SIGKILL);
    }
    long long handed_on = rdmc_pvar_read("coll_rdmc_fallbacks");
    if (by_world) {
        /* MPI_COMM_WORLD's link sees the death and removes the rank. */
        int rc = MPI_Bcast(buf, BYTES, MPI_CHAR, 0, MPI_COMM_WORLD), cls = MPI_SUCCESS;
        if (rc != MPI_SUCCESS) {
            MPI_Error_class(rc, &cls);
        }
        if (cls != MPI_SUCCESS && cls != RDMC_ERR_PROC_FAILED) {
            fail("the broadcast on MPI_COMM_WORLD after the death returned class %d", cls);
        }
        expect_proc_failed("the duplicate's first broadcast", dup);
        expect_proc_failed("the duplicate's second broadcast", dup);
    } else {
        expect_proc_failed("MPI_COMM_WORLD's first broadcast", MPI_COMM_WORLD);
        expect_proc_failed("MPI_COMM_WORLD's second broadcast", MPI_COMM_WORLD);
    }
    if (rdmc_pvar_read("coll_rdmc_fallbacks") != handed_on) {
        fail("rdmc handed %lld of the failed broadcasts to Open MPI's own",
             rdmc_pvar_read("coll_rdmc_fallbacks") - handed_on);
    }
    if (failures == 0) {
        printf("PASS rank %d\n", rank);
    }
    survivors_leave(0);
}
