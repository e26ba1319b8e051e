/*
 * Persistent broadcasts (MPI_Bcast_init; MPIX_Bcast_init in Open MPI 4.1)
 * used the way programs use them: one init, many MPI_Start/MPI_Wait with
 * new contents each time.  Every rank checks every byte of every start,
 * the bytes around its buffer, and:
 *
 *   - every size from 1 byte through the SST's slots to the engine, every
 *     root, a contiguous buffer and a vector datatype with holes (the holes
 *     must stay as they were);
 *   - MPI_Startall of requests with different roots, completed by
 *     MPI_Test polling (rdmc: in the order started);
 *   - MPI_Wait on an inactive request returns at once;
 *   - a request still started after MPI_Comm_free of its communicator;
 *   - MPI_Request_free of an inactive request, and of an active one (the
 *     broadcast still completes at the others);
 *   - bad input: a root out of range at init is MPI_ERR_ROOT, MPI_Start
 *     of an active request an error, with no crash;
 *   - MPI_T: with --expect rdmc, coll_rdmc_persistent_starts counted every
 *     start (with --rdmc-from B, every start of B bytes or more: smaller
 *     ones go through the previous component's persistent broadcast inside
 *     rdmc's request, which must keep every promise below but the order);
 *     with --expect fallback, none.
 * Some checks are for rdmc only (see `strict`).
 *
 *   persistent_check [--starts N] [--expect rdmc|fallback|off] [--rdmc-from B]
 *
 * Prints "persistent_check: OK ..." from rank 0, or one line per failure;
 * exits non-zero at every rank when any rank saw a problem.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bcast_init.h"
#include "rdmc_pvars.h"

#define GUARD 64
#define GUARD_BYTE 0xA5

static int rank, size, failures;
static long long starts_made, starts_rdmc;
/* Broadcasts of fewer bytes go through the previous component (rdmc's
 * crossover, coll_rdmc_bcast_min_bytes). */
static long long rdmc_from;
/* With --expect rdmc, also what MPI allows but Open MPI 4.1's own
 * persistent broadcasts (libnbc) do not survive or promise: freeing the
 * datatype or the communicator after init (they crash in MPI_Start),
 * MPI_Request_free of an active request (MPI_ERR_REQUEST), a second
 * MPI_Start of an active request (accepted, then a crash), and completion
 * in the order started. */
static bool strict;

static void failed(const char *what, int nbytes, int root, int start)
{
    if (failures++ < 20) {
        printf("FAIL rank %d: %s (%d bytes, root %d, start %d)\n", rank, what, nbytes, root,
               start);
        fflush(stdout);
    }
}

/* One start done, of nbytes. */
static void started(long long nbytes)
{
    starts_made++;
    if (nbytes >= rdmc_from) {
        starts_rdmc++;
    }
}

static uint8_t pattern(int start, int root, int b)
{
    return (uint8_t)(start * 131 + root * 17 + b * 7 + (b >> 8));
}

/* A contiguous buffer with guards on both sides: `starts` starts of one
 * persistent broadcast, new contents each time. */
static void contiguous(MPI_Comm comm, int nbytes, int root, int starts)
{
    uint8_t *mem = malloc((size_t)nbytes + 2 * GUARD), *buf = mem + GUARD;
    MPI_Request req;

    if (mem == NULL) {
        failed("out of memory", nbytes, root, 0);
        return;
    }
    memset(mem, GUARD_BYTE, (size_t)nbytes + 2 * GUARD);
    if (rdmc_bcast_init(buf, nbytes, MPI_BYTE, root, comm, MPI_INFO_NULL, &req) != MPI_SUCCESS) {
        failed("MPI_Bcast_init failed", nbytes, root, 0);
        free(mem);
        return;
    }
    for (int s = 0; s < starts; s++) {
        for (int b = 0; b < nbytes; b++) {
            buf[b] = rank == root ? pattern(s, root, b) : (uint8_t)~pattern(s, root, b);
        }
        if (MPI_Start(&req) != MPI_SUCCESS || MPI_Wait(&req, MPI_STATUS_IGNORE) != MPI_SUCCESS) {
            failed("MPI_Start/MPI_Wait failed", nbytes, root, s);
            break;
        }
        started(nbytes);
        for (int b = 0; b < nbytes; b++) {
            if (buf[b] != pattern(s, root, b)) {
                failed("wrong byte", nbytes, root, s);
                break;
            }
        }
    }
    for (int g = 0; g < GUARD; g++) {
        if (mem[g] != GUARD_BYTE || buf[nbytes + g] != GUARD_BYTE) {
            failed("a guard byte changed", nbytes, root, starts);
            break;
        }
    }
    MPI_Request_free(&req);
    free(mem);
}

/* Every other 4-byte int of a vector: the holes keep their values. */
static void vector(MPI_Comm comm, int count, int root, int starts)
{
    int *buf = malloc(sizeof(int) * 2 * (size_t)count);
    MPI_Datatype every_other;
    MPI_Request req;

    if (buf == NULL) {
        failed("out of memory", count * 4, root, 0);
        return;
    }
    MPI_Type_vector(count, 1, 2, MPI_INT, &every_other);
    MPI_Type_commit(&every_other);
    rdmc_bcast_init(buf, 1, every_other, root, comm, MPI_INFO_NULL, &req);
    if (strict) {
        MPI_Type_free(&every_other);   /* the request keeps what it needs */
    }
    for (int s = 0; s < starts; s++) {
        for (int i = 0; i < count; i++) {
            buf[2 * i] = rank == root ? s * 1000003 + i : -1;
            buf[2 * i + 1] = -7 - rank;   /* a hole */
        }
        if (MPI_Start(&req) != MPI_SUCCESS || MPI_Wait(&req, MPI_STATUS_IGNORE) != MPI_SUCCESS) {
            failed("vector: MPI_Start/MPI_Wait failed", count * 4, root, s);
            break;
        }
        started(count * 4LL);
        for (int i = 0; i < count; i++) {
            if (buf[2 * i] != s * 1000003 + i) {
                failed("vector: wrong element", count * 4, root, s);
                break;
            }
            if (buf[2 * i + 1] != -7 - rank) {
                failed("vector: a hole was written", count * 4, root, s);
                break;
            }
        }
    }
    MPI_Request_free(&req);
    if (!strict) {
        MPI_Type_free(&every_other);
    }
    free(buf);
}

/* Two requests, different roots and sizes, started together and polled. */
static void startall(MPI_Comm comm, int starts)
{
    enum { A = 3000, B = 1 << 20 };
    uint8_t *a = malloc(A), *b = malloc(B);
    MPI_Request reqs[2];
    int root_a = 0, root_b = size - 1;

    rdmc_bcast_init(a, A, MPI_BYTE, root_a, comm, MPI_INFO_NULL, &reqs[0]);
    rdmc_bcast_init(b, B, MPI_BYTE, root_b, comm, MPI_INFO_NULL, &reqs[1]);
    for (int s = 0; s < starts; s++) {
        int done[2] = { 0, 0 };
        for (int i = 0; i < A; i++) {
            a[i] = rank == root_a ? pattern(s, root_a, i) : 0;
        }
        for (int i = 0; i < B; i++) {
            b[i] = rank == root_b ? pattern(s, root_b, i) : 0;
        }
        MPI_Startall(2, reqs);
        while (!done[1]) {
            MPI_Test(&reqs[1], &done[1], MPI_STATUS_IGNORE);
            if (!done[0]) {
                MPI_Test(&reqs[0], &done[0], MPI_STATUS_IGNORE);
                if (strict && A >= rdmc_from && done[1] && !done[0]) {
                    failed("MPI_Startall: the second completed before the first", B, root_b, s);
                }
            }
        }
        MPI_Wait(&reqs[0], MPI_STATUS_IGNORE);   /* completed: at once */
        started(A);
        started(B);
        for (int i = 0; i < A; i++) {
            if (a[i] != pattern(s, root_a, i)) {
                failed("MPI_Startall: wrong byte", A, root_a, s);
                break;
            }
        }
        for (int i = 0; i < B; i++) {
            if (b[i] != pattern(s, root_b, i)) {
                failed("MPI_Startall: wrong byte", B, root_b, s);
                break;
            }
        }
    }
    /* Inactive now: MPI_Wait returns at once. */
    if (MPI_Wait(&reqs[0], MPI_STATUS_IGNORE) != MPI_SUCCESS) {
        failed("MPI_Wait on an inactive request", A, root_a, starts);
    }
    MPI_Request_free(&reqs[0]);
    MPI_Request_free(&reqs[1]);
    free(a);
    free(b);
}

/* Freed communicator, freed requests, bad input, with N bytes at buf. */
static void lifetimes(uint8_t *buf, int N)
{
    MPI_Comm comm;
    MPI_Request req;
    int rc, root = size > 1 ? 1 : 0;

    /* Started after MPI_Comm_free: the request holds the communicator. */
    MPI_Comm_dup(MPI_COMM_WORLD, &comm);
    rdmc_bcast_init(buf, N, MPI_BYTE, root, comm, MPI_INFO_NULL, &req);
    if (strict) {
        MPI_Comm_free(&comm);
    }
    for (int s = 0; s < 3; s++) {
        for (int i = 0; i < N; i++) {
            buf[i] = rank == root ? pattern(s, root, i) : 0;
        }
        MPI_Start(&req);
        MPI_Wait(&req, MPI_STATUS_IGNORE);
        started(N);
        for (int i = 0; i < N; i++) {
            if (buf[i] != pattern(s, root, i)) {
                failed("after MPI_Comm_free: wrong byte", N, root, s);
                break;
            }
        }
    }
    /* Freed while active: it still completes, here and at the others. */
    MPI_Start(&req);
    started(N);
    if (!strict) {
        MPI_Wait(&req, MPI_STATUS_IGNORE);
    }
    MPI_Request_free(&req);
    if (req != MPI_REQUEST_NULL) {
        failed("MPI_Request_free left the handle set", N, root, 3);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (!strict) {
        MPI_Comm_free(&comm);
    }

    /* Bad input (MPI_Start's errors go to MPI_COMM_SELF's handler). */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_RETURN);
    rc = rdmc_bcast_init(buf, N, MPI_BYTE, size, MPI_COMM_WORLD, MPI_INFO_NULL, &req);
    int cls = MPI_SUCCESS;
    MPI_Error_class(rc, &cls);
    if (cls != MPI_ERR_ROOT) {
        failed("a root out of range was not MPI_ERR_ROOT", N, size, 0);
    }
    rdmc_bcast_init(buf, N, MPI_BYTE, 0, MPI_COMM_WORLD, MPI_INFO_NULL, &req);
    MPI_Start(&req);
    if (strict && MPI_Start(&req) == MPI_SUCCESS) {
        failed("MPI_Start of an active request succeeded", N, 0, 1);
    }
    MPI_Wait(&req, MPI_STATUS_IGNORE);
    started(N);
    MPI_Request_free(&req);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
    MPI_Comm_set_errhandler(MPI_COMM_SELF, MPI_ERRORS_ARE_FATAL);
    /* buf stays allocated (static): the request freed while active may
     * still write into it until it completes, which nothing here can
     * observe. */
}

int main(int argc, char **argv)
{
    static const int sizes[] = { 1, 8, 1000, 4096, 65536 + 3, 1 << 20, (4 << 20) + 5 };
    const char *expect = "off";
    int starts = 5, total_failures = 0;
    long long carried_before, carried;
    MPI_Comm dup;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    for (int a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--starts") == 0 && a + 1 < argc) {
            starts = atoi(argv[++a]);
        } else if (strcmp(argv[a], "--expect") == 0 && a + 1 < argc) {
            expect = argv[++a];
        } else if (strcmp(argv[a], "--rdmc-from") == 0 && a + 1 < argc) {
            rdmc_from = atoll(argv[++a]);
        } else {
            if (rank == 0) {
                fprintf(stderr, "usage: persistent_check [--starts N] "
                                "[--expect rdmc|fallback|off] [--rdmc-from B]\n");
            }
            MPI_Abort(MPI_COMM_WORLD, 2);
        }
    }
    strict = strcmp(expect, "rdmc") == 0;
    carried_before = rdmc_pvar_read("coll_rdmc_persistent_starts");
    MPI_Comm_dup(MPI_COMM_WORLD, &dup);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        for (int root = 0; root < size; root++) {
            contiguous(dup, sizes[i], root, starts);
        }
    }
    vector(dup, 100, size - 1, starts);
    vector(dup, 300000, 0, starts);
    startall(dup, starts);
    MPI_Comm_free(&dup);
    {
        static uint8_t large[200000], small[1000];   /* either side of a crossover */
        lifetimes(large, sizeof(large));
        lifetimes(small, sizeof(small));
    }

    carried = rdmc_pvar_read("coll_rdmc_persistent_starts") - carried_before;
    if (strcmp(expect, "rdmc") == 0 && carried != starts_rdmc) {
        printf("FAIL rank %d: coll/rdmc carried %lld persistent starts, expected %lld of %lld\n",
               rank, carried, starts_rdmc, starts_made);
        failures++;
    } else if (strcmp(expect, "fallback") == 0 && carried > 0) {
        printf("FAIL rank %d: coll/rdmc carried %lld persistent starts, expected none\n", rank,
               carried);
        failures++;
    }
    MPI_Allreduce(&failures, &total_failures, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0 && total_failures == 0) {
        printf("persistent_check: OK, np %d, %lld starts per rank, %lld through rdmc\n", size,
               starts_made, carried);
    }
    MPI_Finalize();
    return total_failures == 0 ? 0 : 1;
}
