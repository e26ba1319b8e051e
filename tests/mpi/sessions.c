/*
 * MPI-4 sessions (Open MPI 5): communicators made from a session's process
 * set ("mpi://WORLD") with MPI_Comm_create_from_group, as libraries that
 * keep to themselves do, beside or without the world model:
 *
 *   sessions --mode after    MPI_Init, then a session of a library, both
 *                            communicators used in turn, the session
 *                            finalized before MPI_Finalize
 *   sessions --mode before   the library's session first, then MPI_Init
 *   sessions --mode only     no MPI_Init: two sessions open at once, each
 *                            with its communicator; the first finalized
 *                            while the second goes on
 *
 * Every rank checks every byte of every broadcast (blocking and
 * MPI_Ibcast, from every root) and, through MPI_T, that rdmc carried every
 * one of them (run with coll_rdmc_bcast_min_bytes 0).  Prints "sessions:
 * rank R: ok" per rank; exits 1 on a problem.
 *
 * Not exercised: a session finalized and another initialized after it in
 * the same process (Open MPI 5.0.7 itself then hangs or finds no BTL,
 * with or without rdmc; a like report: Open MPI issue 14125).
 */
#include <mpi.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bcast_checked.h"
#include "rdmc_pvars.h"

#define BYTES (1 << 20)

static int failures;
static int bcasts;   /* broadcasts this rank made on the checked communicators */

/* Every root of comm, blocking then nonblocking. */
static void bcast_every_root(MPI_Comm comm, int tag)
{
    int size;

    MPI_Comm_size(comm, &size);
    for (int root = 0; root < size; root++) {
        failures += !bcast_checked("sessions:", comm, root, tag + 2 * root, BYTES, false);
        failures += !bcast_checked("sessions:", comm, root, tag + 2 * root + 1, BYTES, true);
    }
    bcasts += 2 * size;
}

static MPI_Comm comm_from_session(MPI_Session *session, const char *tag)
{
    MPI_Group group;
    MPI_Comm comm = MPI_COMM_NULL;

    if (MPI_Session_init(MPI_INFO_NULL, MPI_ERRORS_RETURN, session) != MPI_SUCCESS ||
        MPI_Group_from_session_pset(*session, "mpi://WORLD", &group) != MPI_SUCCESS) {
        fprintf(stderr, "sessions: a session or its process set could not be had\n");
        exit(1);
    }
    if (MPI_Comm_create_from_group(group, tag, MPI_INFO_NULL, MPI_ERRORS_RETURN, &comm) !=
        MPI_SUCCESS) {
        fprintf(stderr, "sessions: MPI_Comm_create_from_group failed\n");
        exit(1);
    }
    MPI_Group_free(&group);
    return comm;
}

static void end_session(MPI_Session *session, MPI_Comm *comm)
{
    MPI_Comm_free(comm);
    MPI_Session_finalize(session);
}

/* rdmc's count of broadcasts it carried must have grown by ours. */
static void expect_carried(long long before, int bcasts_before, int rank)
{
    long long carried = rdmc_pvar_read("coll_rdmc_bcasts") - before;

    if (before < 0 || carried != bcasts - bcasts_before) {
        fprintf(stderr, "sessions: rank %d: rdmc carried %lld of %d broadcasts\n", rank,
                before < 0 ? -1 : carried, bcasts - bcasts_before);
        failures++;
    }
}

/* MPI_Init and a library's session, the session opened after MPI_Init or
 * before it; returns this rank. */
static int world_beside_library(int *argc, char ***argv, bool library_first)
{
    MPI_Session lib;
    MPI_Comm lib_comm = MPI_COMM_NULL;
    long long before = -1;
    int counted = bcasts, rank;

    if (library_first) {
        lib_comm = comm_from_session(&lib, "rdmc.test.lib");
        before = rdmc_pvar_read("coll_rdmc_bcasts");
        bcast_every_root(lib_comm, 0);
    }
    MPI_Init(argc, argv);
    if (!library_first) {
        before = rdmc_pvar_read("coll_rdmc_bcasts");
        bcast_every_root(MPI_COMM_WORLD, 0);
        lib_comm = comm_from_session(&lib, "rdmc.test.lib");
    }
    bcast_every_root(lib_comm, 100);
    bcast_every_root(MPI_COMM_WORLD, 200);
    MPI_Comm_rank(lib_comm, &rank);
    end_session(&lib, &lib_comm);
    bcast_every_root(MPI_COMM_WORLD, 300);
    expect_carried(before, counted, rank);
    MPI_Finalize();
    return rank;
}

/* No MPI_Init: two sessions at once, the first finalized while the second
 * goes on; returns this rank. */
static int sessions_only(void)
{
    MPI_Session first, second;
    MPI_Comm first_comm = comm_from_session(&first, "rdmc.test.a");
    MPI_Comm second_comm = comm_from_session(&second, "rdmc.test.b");
    long long before = rdmc_pvar_read("coll_rdmc_bcasts");
    int counted = bcasts, rank;

    bcast_every_root(first_comm, 0);
    bcast_every_root(second_comm, 100);
    bcast_every_root(first_comm, 200);
    end_session(&first, &first_comm);
    bcast_every_root(second_comm, 300);
    MPI_Comm_rank(second_comm, &rank);
    expect_carried(before, counted, rank);
    end_session(&second, &second_comm);
    return rank;
}

int main(int argc, char **argv)
{
    const char *mode = argc == 3 && strcmp(argv[1], "--mode") == 0 ? argv[2] : "";
    int rank;

    if (strcmp(mode, "after") == 0 || strcmp(mode, "before") == 0) {
        rank = world_beside_library(&argc, &argv, strcmp(mode, "before") == 0);
    } else if (strcmp(mode, "only") == 0) {
        rank = sessions_only();
    } else {
        fprintf(stderr, "usage: sessions --mode after|before|only\n");
        return 2;
    }
    if (failures == 0) {
        printf("sessions: rank %d: ok\n", rank);
    }
    return failures != 0;
}
