/*
 * Set-up that fails at some ranks only, after the records were exchanged:
 * every rank must decline together.  Under failure handling on one node the
 * SST lives in shared memory, and a rank's table is mapped by its peers
 * through /proc; a process marked undumpable (prctl PR_SET_DUMPABLE 0, as
 * programs that guard secrets do) cannot be reached so by a peer without
 * CAP_SYS_PTRACE.  Here the last rank marks itself so: its peers cannot
 * map its table, while it maps theirs.  Before the confirmation round of
 * set-up (coll_rdmc_setup.c, step 4) it alone went on with rdmc and the
 * others with Open MPI's broadcast: the job hung.
 *
 *   setup_declined        (mpirun --enable-recovery, not as root)
 *
 * Checked at every rank, on MPI_COMM_WORLD and on a duplicate made after:
 * RDMC_Comm_active says 0 (and the same at every rank), three broadcasts
 * of 1 MiB from different roots deliver every byte, and through MPI_T
 * rdmc carried none of them.  Each rank prints "PASS rank R" or
 * "FAIL rank R: ...".
 */
#include <mpi.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "rank_fail.h"
#include "rdmc_pvars.h"
#include "membership/rdmc.h"

#define BYTES (1 << 20)

static int size;

static unsigned char pattern(int root, size_t i)
{
    return (unsigned char)(i * 31 + (size_t)root * 7 + 1);
}

static void check_comm(MPI_Comm comm, const char *name, unsigned char *buf)
{
    int active = -1, lo = 0, hi = 0;
    long long carried = rdmc_pvar_read("coll_rdmc_bcasts");

    if (RDMC_Comm_active(comm, &active) != MPI_SUCCESS) {
        fail("%s: RDMC_Comm_active failed", name);
    }
    MPI_Allreduce(&active, &lo, 1, MPI_INT, MPI_MIN, comm);
    MPI_Allreduce(&active, &hi, 1, MPI_INT, MPI_MAX, comm);
    if (lo != hi || active != 0) {
        fail("%s: rdmc active here %d, at the ranks %d to %d (want 0 everywhere)", name,
             active, lo, hi);
    }
    for (int root = 0; root < 3 && root < size; root++) {
        for (size_t i = 0; i < BYTES; i++) {
            buf[i] = rank == root ? pattern(root, i) : 0;
        }
        if (MPI_Bcast(buf, BYTES, MPI_BYTE, root, comm) != MPI_SUCCESS) {
            fail("%s: the broadcast from %d failed", name, root);
            continue;
        }
        size_t bad = 0;
        for (size_t i = 0; i < BYTES; i++) {
            bad += buf[i] != pattern(root, i);
        }
        if (bad != 0) {
            fail("%s: the broadcast from %d: %zu bytes wrong", name, root, bad);
        }
    }
    if (rdmc_pvar_read("coll_rdmc_bcasts") != carried) {
        fail("%s: MPI_T says rdmc carried %lld broadcasts, want none", name,
             rdmc_pvar_read("coll_rdmc_bcasts") - carried);
    }
}

int main(int argc, char **argv)
{
    unsigned char *buf;
    MPI_Comm dup;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    (void)rdmc_pvar_read("coll_rdmc_bcasts");   /* counts from here */
    if (rank == size - 1 && prctl(PR_SET_DUMPABLE, 0) != 0) {
        fail("prctl(PR_SET_DUMPABLE, 0) failed");
    }
    buf = malloc(BYTES);
    check_comm(MPI_COMM_WORLD, "MPI_COMM_WORLD", buf);
    MPI_Comm_dup(MPI_COMM_WORLD, &dup);
    MPI_Comm_set_errhandler(dup, MPI_ERRORS_RETURN);
    check_comm(dup, "its duplicate", buf);
    MPI_Comm_free(&dup);
    free(buf);
    if (failures == 0) {
        printf("PASS rank %d\n", rank);
    }
    fflush(stdout);
    MPI_Finalize();
    return 0;
}
