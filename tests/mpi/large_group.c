/*
 * A communicator larger than rdmc's failure handling supports (64 ranks)
 * in a job that handles failures, and a rank killed in the middle of a
 * stream of broadcasts on it.  What each survivor must see:
 *
 *   --expect rdmc   (mpirun --enable-recovery, Open MPI 4.1) rdmc carries
 *                   the broadcasts without failure handling, so the one
 *                   the kill stalls fails with MPI_ERR_OTHER within
 *                   3 x coll_rdmc_timeout_ms (--timeout-ms) of its call:
 *                   bounded, never a hang (Open MPI's own broadcast waits
 *                   for good there);
 *   --expect ulfm   (mpirun --with-ft ulfm, Open MPI 5) rdmc declines the
 *                   communicator and Open MPI's collectives report the
 *                   failure as ULFM says (MPIX_ERR_PROC_FAILED or
 *                   MPIX_ERR_REVOKED) within 30 s; rdmc carried nothing.
 *
 *   large_group --victim R --kill-at I --timeout-ms T --expect rdmc|ulfm
 *
 * Each survivor prints "PASS rank R ..." or "FAIL rank R: ..." and leaves
 * with _exit (MPI_Finalize after a kill can wait for good); under ULFM
 * only once every survivor has (below).
 */
#include <mpi.h>

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rank_fail.h"
#include "rdmc_pvars.h"

#define COUNT 30
#define BYTES (1 << 20)

static bool expect_rdmc, expect_ulfm;

/* The classes a ULFM program recovers from (Open MPI 5's mpi-ext.h). */
static bool ulfm_class(int cls)
{
#if defined(MPIX_ERR_PROC_FAILED)
    if (cls == MPIX_ERR_PROC_FAILED) {
        return true;
    }
#endif
    return revoked_class(cls);
}


int main(int argc, char **argv)
{
    int victim = -1, kill_at = -1, timeout_ms = 0, size;
    uint8_t *buf = malloc(BYTES);

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--victim") == 0) {
            victim = atoi(argv[i + 1]);
        } else if (strcmp(argv[i], "--kill-at") == 0) {
            kill_at = atoi(argv[i + 1]);
        } else if (strcmp(argv[i], "--timeout-ms") == 0) {
            timeout_ms = atoi(argv[i + 1]);
        } else if (strcmp(argv[i], "--expect") == 0) {
            expect_rdmc = strcmp(argv[i + 1], "rdmc") == 0;
            expect_ulfm = strcmp(argv[i + 1], "ulfm") == 0;
        }
    }
    if (victim < 1 || victim >= size || kill_at < 1 || kill_at >= COUNT || timeout_ms < 1 ||
        buf == NULL || expect_rdmc == expect_ulfm) {
        fail("usage: large_group --victim R --kill-at I --timeout-ms T --expect rdmc|ulfm "
             "(R in 1..%d, I in 1..%d)", size - 1, COUNT - 1);
        _exit(1);
    }
    long long carried = rdmc_pvar_read("coll_rdmc_bcasts");
    for (int i = 0; i < COUNT; i++) {
        if (rank == victim && i == kill_at) {
            raise(SIGKILL);
        }
        for (int b = 0; b < BYTES; b++) {
            buf[b] = rank == 0 ? (uint8_t)(b * 7 + i) : 0;
        }
        double called = MPI_Wtime();
        int rc = MPI_Bcast(buf, BYTES, MPI_BYTE, 0, MPI_COMM_WORLD);
        double took = MPI_Wtime() - called;
        long long by_rdmc = rdmc_pvar_read("coll_rdmc_bcasts") - carried;
        if (rc == MPI_SUCCESS) {
            for (int b = 0; b < BYTES; b++) {
                if (buf[b] != (uint8_t)(b * 7 + i)) {
                    fail("broadcast %d: wrong byte at %d", i, b);
                    survivors_leave(1);
                }
            }
            continue;
        }
        int cls = MPI_ERR_OTHER;
        MPI_Error_class(rc, &cls);
        /* The victim dies once its own broadcast kill_at - 1 is done;
         * rdmc's stable delivery completed it nowhere before every rank
         * had it.  Under ULFM (Open MPI's collectives) an earlier one may
         * fail too, as ULFM allows: Open MPI fails a collective it starts
         * once it knows of the failure, and a survivor that failed first
         * revokes the communicator as it leaves (survivors_leave), so a
         * rank still some broadcasts behind fails one of those with
         * MPIX_ERR_PROC_FAILED or MPIX_ERR_REVOKED (CI saw both at
         * broadcast 8 of a kill at 10).  Its class is checked below. */
        if (i < kill_at && !expect_ulfm) {
            fail("broadcast %d failed (class %d) before the kill at %d", i, cls, kill_at);
        } else if (expect_rdmc && cls != MPI_ERR_OTHER) {
            fail("broadcast %d failed with class %d, not MPI_ERR_OTHER", i, cls);
        } else if (expect_rdmc && took > 3.0 * timeout_ms / 1000) {
            fail("broadcast %d failed after %.1f s, past 3 x coll_rdmc_timeout_ms", i, took);
        } else if (expect_rdmc && by_rdmc < kill_at) {
            fail("rdmc carried %lld broadcasts of the %d before the kill", by_rdmc, kill_at);
        } else if (expect_ulfm && !ulfm_class(cls)) {
            fail("broadcast %d failed with class %d, not ULFM's", i, cls);
        } else if (expect_ulfm && took > 30) {
            fail("broadcast %d failed after %.1f s", i, took);
        } else if (expect_ulfm && by_rdmc != 0) {
            fail("rdmc carried %lld broadcasts of a communicator it should decline", by_rdmc);
        } else {
            printf("PASS rank %d: %d ranks; broadcast %d failed with class %d after %.2f s; "
                   "rdmc carried %lld\n",
                   rank, size, i, cls, took, by_rdmc);
        }
        fflush(stdout);
        survivors_leave(failures != 0);
    }
    fail("every broadcast succeeded: the kill at %d did not stop the stream", kill_at);
    survivors_leave(1);
}
