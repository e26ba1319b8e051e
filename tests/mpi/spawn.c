/*
 * A job that grows with MPI_Comm_spawn, as master/worker codes do:
 *
 *   1. the parents spawn CHILDREN copies of this program; the children's
 *      MPI_Init connects them to the parents with collectives of Open
 *      MPI's own on their MPI_COMM_WORLD, before MPI_Init returns (rdmc
 *      once set communicator attributes there and MPI aborted the job);
 *   2. the children broadcast on their own MPI_COMM_WORLD;
 *   3. parents and children merge (MPI_Intercomm_merge) and broadcast on
 *      the merged communicator from every root, blocking and MPI_Ibcast;
 *   4. a broadcast on the intercommunicator itself (Open MPI's, not
 *      rdmc's) from the first parent to the children.
 *
 * Checked at every rank: every byte, and through MPI_T that rdmc carried
 * the broadcasts of steps 2 and 3 (run with coll_rdmc_bcast_min_bytes 0).
 * Prints "spawn: <parent|child> rank R: ok" per rank; exits 1 on a problem.
 *
 *   spawn [--children N] [--bytes B]   (N = 2, B = 100000)
 */
#include <mpi.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bcast_checked.h"
#include "rdmc_pvars.h"

static int failures;
static const char *who = "parent";

static void problem(const char *what, long long expected, long long got)
{
    int rank;

    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    fprintf(stderr, "spawn: %s rank %d: %s (expected %lld, got %lld)\n", who, rank, what,
            expected, got);
    failures++;
}

/* Every root of comm in turn, blocking then nonblocking; rdmc must have
 * carried all of them. */
static void bcast_every_root(MPI_Comm comm, const char *what, int bytes, int tag)
{
    long long before = rdmc_pvar_read("coll_rdmc_bcasts");
    int size;

    MPI_Comm_size(comm, &size);
    for (int root = 0; root < size; root++) {
        failures += !bcast_checked(who, comm, root, tag + root, bytes, false);
        failures += !bcast_checked(who, comm, root, tag + size + root, bytes, true);
    }
    if (rdmc_pvar_read("coll_rdmc_bcasts") - before != 2LL * size) {
        fprintf(stderr, "spawn: %s: rdmc carried too few broadcasts\n", what);
        problem("broadcasts rdmc carried", 2LL * size, rdmc_pvar_read("coll_rdmc_bcasts") - before);
    }
}

int main(int argc, char **argv)
{
    int children = 2, bytes = 100000;
    MPI_Comm parent, inter, merged;
    int rank;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--children") == 0) {
            children = atoi(argv[i + 1]);
        } else if (strcmp(argv[i], "--bytes") == 0) {
            bytes = atoi(argv[i + 1]);
        }
    }
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_get_parent(&parent);
    if (rdmc_pvar_read("coll_rdmc_bcasts") < 0) {
        problem("coll/rdmc is not loaded", 0, -1);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    if (parent == MPI_COMM_NULL) {
        MPI_Comm_spawn(argv[0], argv + 1, children, MPI_INFO_NULL, 0, MPI_COMM_WORLD, &inter,
                       MPI_ERRCODES_IGNORE);
    } else {
        who = "child";
        inter = parent;
        bcast_every_root(MPI_COMM_WORLD, "the children's MPI_COMM_WORLD", bytes, 100);
    }
    /* Parents first in the merged communicator. */
    MPI_Intercomm_merge(inter, parent != MPI_COMM_NULL, &merged);
    bcast_every_root(merged, "the merged communicator", bytes, 200);
    MPI_Comm_free(&merged);

    /* On the intercommunicator: the first parent to every child. */
    {
        unsigned char *buf = malloc((size_t)bytes);
        int root = parent != MPI_COMM_NULL ? 0 : rank == 0 ? MPI_ROOT : MPI_PROC_NULL;

        for (int i = 0; i < bytes; i++) {
            buf[i] = root == MPI_ROOT ? bcast_pattern((size_t)i, 300) : 0;
        }
        MPI_Bcast(buf, bytes, MPI_BYTE, root, inter);
        for (int i = 0; parent != MPI_COMM_NULL && i < bytes; i++) {
            if (buf[i] != bcast_pattern((size_t)i, 300)) {
                fprintf(stderr, "spawn: child: byte %d of the intercommunicator's differs\n", i);
                problem("the intercommunicator's broadcast", bcast_pattern((size_t)i, 300), buf[i]);
                break;
            }
        }
        free(buf);
    }
    MPI_Comm_disconnect(&inter);
    if (failures == 0) {
        printf("spawn: %s rank %d: ok\n", who, rank);
    }
    MPI_Finalize();
    return failures == 0 ? 0 : 1;
}
