/*
 * Communicator creation while rdmc works, under MPI_THREAD_MULTIPLE:
 *
 *   1. MPI_Intercomm_create between the even and the odd ranks (its
 *      context id agreement calls MPI_Ibcast on the local communicators
 *      from inside opal_progress, where rdmc must not block), then
 *      MPI_Intercomm_merge; broadcasts on the intercommunicator (not
 *      rdmc's) and on the merged communicator (rdmc's) check every byte;
 *   2. two threads at once: one posts MPI_Ibcast and waits for it on one
 *      communicator, again and again, while the other creates and frees
 *      communicators (dup, split, the two halves of the ranks apart) and
 *      broadcasts on them;
 *   3. three threads that each make and free communicators of their own
 *      (MPI_Comm_idup, MPI_Comm_split) and poll their MPI_Ibcasts with
 *      MPI_Test, so that one thread's MPI_Comm_free meets the other's
 *      progress passes (which once took a reference to a module already
 *      being destroyed: destroyed twice, the heap corrupt).
 *
 * Checked at every rank: every byte, and through MPI_T that rdmc carried
 * the broadcasts on the merged communicator, the first thread's in part 2
 * and the polled ones of part 3.
 * Every loop is bounded; mpirun's timeout catches a hang.
 *
 *   comm_threads [--rounds N]   (N = 200)
 */
#include <mpi.h>

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rdmc_pvars.h"

#define BYTES 20000   /* through the engine: above the SST's slots */

static int rank, size, rounds = 200;
static int problems;   /* atomic */

static void problem(const char *what, int index, long long detail)
{
    if (__atomic_fetch_add(&problems, 1, __ATOMIC_RELAXED) < 10) {
        printf("comm_threads rank %d: %s (%d, %lld)\n", rank, what, index, detail);
    }
}

static uint8_t pattern(int tag, int root, size_t i)
{
    return (uint8_t)(tag * 29 + root * 13 + i * 5 + 1);
}

typedef enum { BLOCKING, WAITED, POLLED } how_t;

/* One broadcast of `bytes` from root on comm, checked: MPI_Bcast, or
 * MPI_Ibcast completed by MPI_Wait or by MPI_Test in a loop. */
static void bcast_sized(MPI_Comm comm, int root, int tag, int bytes, how_t how)
{
    uint8_t *buf = malloc((size_t)bytes + 1);
    int crank;
    MPI_Request req;

    if (buf == NULL) {
        problem("out of memory", tag, bytes);
        return;
    }
    MPI_Comm_rank(comm, &crank);
    for (int i = 0; i < bytes; i++) {
        buf[i] = crank == root ? pattern(tag, root, (size_t)i) : 0;
    }
    if (how == BLOCKING) {
        MPI_Bcast(buf, bytes, MPI_BYTE, root, comm);
    } else {
        int done = 0;
        MPI_Ibcast(buf, bytes, MPI_BYTE, root, comm, &req);
        if (how == WAITED) {
            MPI_Wait(&req, MPI_STATUS_IGNORE);
        }
        while (how == POLLED && !done) {   /* bounded by mpirun's timeout */
            MPI_Test(&req, &done, MPI_STATUS_IGNORE);
        }
    }
    for (int i = 0; i < bytes; i++) {
        if (buf[i] != pattern(tag, root, (size_t)i)) {
            problem("wrong byte", tag, i);
            break;
        }
    }
    free(buf);
}

static void bcast_checked(MPI_Comm comm, int root, int tag, how_t how)
{
    bcast_sized(comm, root, tag, BYTES, how);
}

static void intercomm_then_merge(void)
{
    MPI_Comm half, inter, merged;
    int color = rank % 2, remote_leader = color == 0 ? 1 : 0;
    long long before;
    uint8_t buf[BYTES];

    MPI_Comm_split(MPI_COMM_WORLD, color, rank, &half);
    /* rdmc is linked on the half before the intercommunicator is made. */
    bcast_checked(half, 0, 1, WAITED);
    MPI_Intercomm_create(half, 0, MPI_COMM_WORLD, remote_leader, 77, &inter);

    /* On the intercommunicator: the even group's rank 0 sends to the odd
     * group (rdmc does not take intercommunicators: Open MPI's own does). */
    for (size_t i = 0; i < BYTES; i++) {
        buf[i] = rank == 0 ? pattern(2, 0, i) : 0;
    }
    if (color == 0) {
        MPI_Bcast(buf, BYTES, MPI_BYTE, rank == 0 ? MPI_ROOT : MPI_PROC_NULL, inter);
    } else {
        MPI_Bcast(buf, BYTES, MPI_BYTE, 0, inter);
    }
    for (size_t i = 0; rank != 0 && color == 1 && i < BYTES; i++) {
        if (buf[i] != pattern(2, 0, i)) {
            problem("wrong byte on the intercommunicator", 2, (long long)i);
            break;
        }
    }

    MPI_Intercomm_merge(inter, color, &merged);
    before = rdmc_pvar_read("coll_rdmc_ibcasts");
    for (int root = 0; root < size; root++) {
        bcast_checked(merged, root, 3 + root, WAITED);
    }
    if (rdmc_pvar_read("coll_rdmc_ibcasts") - before != size) {
        problem("rdmc did not carry the merged communicator's MPI_Ibcasts", 0,
                rdmc_pvar_read("coll_rdmc_ibcasts") - before);
    }
    MPI_Comm_free(&merged);
    MPI_Comm_free(&inter);
    MPI_Comm_free(&half);
}

static MPI_Comm busy_comm;

static void *ibcast_loop(void *arg)
{
    (void)arg;
    for (int i = 0; i < rounds; i++) {
        bcast_checked(busy_comm, i % size, 100 + i, WAITED);
    }
    return NULL;
}

static void *create_free_loop(void *arg)
{
    MPI_Comm parent = *(MPI_Comm *)arg;

    for (int i = 0; i < rounds / 4; i++) {
        MPI_Comm child;
        int child_size;
        if (i % 4 == 3) {
            /* The lower and the upper half of the ranks apart: with
             * coll_rdmc_node_sizes saying so, each half on a node of its
             * own, whose fabric (shm) opens while the other thread's
             * broadcasts run on the one between nodes. */
            MPI_Comm_split(parent, rank < size / 2, rank, &child);
        } else if (i % 2 == 0) {
            MPI_Comm_dup(parent, &child);
        } else {
            MPI_Comm_split(parent, 0, size - rank, &child);
        }
        MPI_Comm_size(child, &child_size);
        bcast_checked(child, i % child_size, 50 + i, i % 3 == 0 ? WAITED : BLOCKING);
        MPI_Comm_free(&child);
    }
    return NULL;
}

static void threads_at_once(void)
{
    MPI_Comm parent;
    pthread_t a, b;
    long long before;

    MPI_Comm_dup(MPI_COMM_WORLD, &busy_comm);
    MPI_Comm_dup(MPI_COMM_WORLD, &parent);
    before = rdmc_pvar_read("coll_rdmc_ibcasts");
    pthread_create(&a, NULL, ibcast_loop, NULL);
    pthread_create(&b, NULL, create_free_loop, &parent);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    /* At least the busy communicator's: the other thread's add to it. */
    if (rdmc_pvar_read("coll_rdmc_ibcasts") - before < rounds) {
        problem("rdmc did not carry the busy thread's MPI_Ibcasts", rounds,
                rdmc_pvar_read("coll_rdmc_ibcasts") - before);
    }
    MPI_Comm_free(&parent);
    MPI_Comm_free(&busy_comm);
}

#define OWN_THREADS 3

static MPI_Comm own_parents[OWN_THREADS];
static long long own_ibcasts;   /* atomic: part 3's MPI_Ibcasts rdmc takes */
/* The SST's slots (under failure handling) and the engine's blocks. */
static const int own_sizes[] = { 1, 4096, 65543, 1 << 20, 5000000 };
#define OWN_SIZES (int)(sizeof(own_sizes) / sizeof(own_sizes[0]))

static void *own_comms_loop(void *arg)
{
    MPI_Comm parent = own_parents[(intptr_t)arg];

    for (int i = 0; i < rounds / 4; i++) {
        MPI_Comm dup, split;
        MPI_Request req;
        int split_size;
        MPI_Comm_idup(parent, &dup, &req);
        MPI_Wait(&req, MPI_STATUS_IGNORE);
        bcast_sized(dup, i % size, 200 + i, own_sizes[i % OWN_SIZES], POLLED);
        MPI_Comm_split(parent, rank % 2, rank, &split);
        MPI_Comm_size(split, &split_size);
        /* rdmc declines a communicator of one rank (np 3's odd half). */
        __atomic_add_fetch(&own_ibcasts, 1 + (i % 2 == 0 && split_size > 1), __ATOMIC_RELAXED);
        bcast_sized(split, i % split_size, 300 + i, own_sizes[(i + 1) % OWN_SIZES],
                    i % 2 == 0 ? POLLED : BLOCKING);
        MPI_Comm_free(&split);
        MPI_Comm_free(&dup);
    }
    return NULL;
}

static void threads_make_and_free(void)
{
    pthread_t threads[OWN_THREADS];
    long long before = rdmc_pvar_read("coll_rdmc_ibcasts");

    for (int t = 0; t < OWN_THREADS; t++) {
        MPI_Comm_dup(MPI_COMM_WORLD, &own_parents[t]);
    }
    for (intptr_t t = 0; t < OWN_THREADS; t++) {
        pthread_create(&threads[t], NULL, own_comms_loop, (void *)t);
    }
    for (int t = 0; t < OWN_THREADS; t++) {
        pthread_join(threads[t], NULL);
        MPI_Comm_free(&own_parents[t]);
    }
    if (rdmc_pvar_read("coll_rdmc_ibcasts") - before < own_ibcasts) {
        problem("rdmc did not carry the polled MPI_Ibcasts", (int)own_ibcasts,
                rdmc_pvar_read("coll_rdmc_ibcasts") - before);
    }
}

int main(int argc, char **argv)
{
    int provided, all = 0;

    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (argc > 2 && strcmp(argv[1], "--rounds") == 0) {
        rounds = atoi(argv[2]);
    }
    if (provided < MPI_THREAD_MULTIPLE) {
        problem("MPI_THREAD_MULTIPLE not provided", provided, 0);
    } else if (rdmc_pvar_read("coll_rdmc_ibcasts") < 0) {
        problem("coll/rdmc is not loaded", 0, 0);
    } else if (size < 2) {
        problem("needs two ranks or more", size, 0);
    } else {
        intercomm_then_merge();
        threads_at_once();
        threads_make_and_free();
    }
    MPI_Allreduce(&problems, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0) {
        printf("comm_threads: %d ranks, %d rounds: %s\n", size, rounds, all ? "FAILED" : "OK");
    }
    MPI_Finalize();
    return all ? 1 : 0;
}
