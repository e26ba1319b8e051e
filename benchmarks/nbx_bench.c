/*
 * The sparse exchange libraries run to learn who sends them what (NBX, as
 * PETSc's PetscCommBuildTwoSided does): every rank MPI_Issends a message to
 * its two neighbours, takes what arrives with MPI_Iprobe and MPI_Recv
 * until its own sends are matched, then enters an MPI_Ibarrier and keeps
 * receiving until the barrier completes.  Its small nonblocking barrier is
 * what a collective component changes.
 *
 *   mpirun -np N nbx_bench [-m BYTES] [-i ROUNDS] [-x WARMUP]
 *
 * Prints the microseconds per round at the slowest rank, and through MPI_T
 * how many of the barriers coll/rdmc carried.  Every rank checks that it
 * received as many messages as its neighbours sent it.
 */
#include <mpi.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_options.h"
#include "rdmc_pvars.h"

#define TAG 77

/* One round; returns how many messages this rank received (a neighbour
 * already in the next round may have sent one more). */
static int round_once(char *out, char *in, int bytes, int rank, int size)
{
    int to[2] = { (rank + 1) % size, (rank + size - 1) % size };
    MPI_Request sends[2], barrier = MPI_REQUEST_NULL;
    int received = 0, done = 0, sent = 0;

    for (int k = 0; k < 2; k++) {
        MPI_Issend(out, bytes, MPI_CHAR, to[k], TAG, MPI_COMM_WORLD, &sends[k]);
    }
    while (!done) {
        MPI_Status status;
        int flag = 0;
        MPI_Iprobe(MPI_ANY_SOURCE, TAG, MPI_COMM_WORLD, &flag, &status);
        if (flag) {
            MPI_Recv(in, bytes, MPI_CHAR, status.MPI_SOURCE, TAG, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
            received++;
        }
        if (barrier != MPI_REQUEST_NULL) {
            MPI_Test(&barrier, &done, MPI_STATUS_IGNORE);
        } else if (MPI_Testall(2, sends, &sent, MPI_STATUSES_IGNORE), sent) {
            MPI_Ibarrier(MPI_COMM_WORLD, &barrier);
        }
    }
    return received;
}

int main(int argc, char **argv)
{
    int rank, size, bytes = 8, rounds = 10000, warmup = 100, c, rc = 0;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    while ((c = getopt(argc, argv, "m:i:x:")) != -1 && rc == 0) {
        if (!bench_loop_option(c, optarg, &rounds, &warmup, &rc)) {
            rc = c == 'm' ? bench_parse_int(optarg, 1, &bytes) : -1;
        }
    }
    if (rc != 0 || size < 2) {
        if (rank == 0) {
            fprintf(stderr, "usage: mpirun -np N (N >= 2) nbx_bench [-m BYTES] [-i ROUNDS] "
                            "[-x WARMUP]\n");
        }
        MPI_Finalize();
        return 2;
    }
    char *out = malloc((size_t)bytes), *in = malloc((size_t)bytes);
    memset(out, rank, (size_t)bytes);
    long missing = 0;

    for (int i = 0; i < warmup; i++) {
        missing += 2 - round_once(out, in, bytes, rank, size);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    long long barriers_before = rdmc_pvar_read("coll_rdmc_barriers");
    double start = MPI_Wtime();
    for (int i = 0; i < rounds; i++) {
        missing += 2 - round_once(out, in, bytes, rank, size);
    }
    double us = (MPI_Wtime() - start) * 1e6 / rounds, slowest = 0;
    long all_missing = 0;
    long long carried = rdmc_pvar_read("coll_rdmc_barriers") - barriers_before;

    MPI_Reduce(&us, &slowest, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    MPI_Reduce(&missing, &all_missing, 1, MPI_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0) {
        printf("# NBX rounds, %d ranks, %d-byte messages: %.2f us per round (slowest rank)\n",
               size, bytes, slowest);
        if (barriers_before < 0) {
            printf("# coll/rdmc not loaded\n");
        } else {
            printf("# coll/rdmc carried %lld of this rank's %d timed MPI_Ibarriers\n", carried,
                   rounds);
        }
        if (all_missing != 0) {
            printf("# %ld messages missing\n", all_missing);
        }
    }
    free(out);
    free(in);
    MPI_Finalize();
    return all_missing != 0;
}
