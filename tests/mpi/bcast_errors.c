/*
 * Bad input to MPI_Bcast through coll/rdmc gets the stated error class, a
 * message, and no damage:
 *   invalid root -> MPI_ERR_ROOT, negative count -> MPI_ERR_COUNT;
 *   a receiver smaller than the root's message -> MPI_ERR_TRUNCATE, what
 *   fits is delivered and no byte past its buffer is written; a receiver
 *   larger than the message -> MPI_ERR_COUNT with the message delivered;
 *   the communicator keeps working afterwards.
 * With --silent-peer T (run with coll_rdmc_timeout_ms T), the last rank
 * never enters a broadcast: nobody waits much longer than T, the root gets
 * MPI_ERR_OTHER, the others the right bytes or MPI_ERR_OTHER.
 * With --late-setup T (the same), the last rank enters the process's first
 * broadcast 3T late: set-up, which opens libfabric at every rank, waits
 * at least 10 s whatever T, so every rank gets the right bytes from rdmc.
 * With --late-root T, the root enters the first broadcast (set-up) and the
 * second T late: the others get the right bytes from rdmc and sleep while
 * they wait (run with coll_rdmc_stall_warning_ms below T: the script
 * checks what they said).
 */
#include <mpi.h>

#include <stdint.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>

#include "rdmc_pvars.h"

#define GUARD 4096
#define GUARD_BYTE 0xAB

static int rank, size, failures;

static void expect_class(const char *what, int rc, int want)
{
    int cls = MPI_SUCCESS;
    if (rc != MPI_SUCCESS) {
        MPI_Error_class(rc, &cls);
    }
    if (cls != want) {
        char got[MPI_MAX_ERROR_STRING], wanted[MPI_MAX_ERROR_STRING];
        int len;
        MPI_Error_string(cls, got, &len);
        MPI_Error_string(want, wanted, &len);
        printf("FAIL rank %d: %s returned %s, expected %s\n", rank, what, got, wanted);
        failures++;
    }
}

static uint8_t pattern(size_t i)
{
    return (uint8_t)(i * 31 + 7);
}

static void expect_bytes(const char *what, const uint8_t *buf, size_t from, size_t to,
                         int want_pattern)
{
    for (size_t i = from; i < to; i++) {
        uint8_t want = want_pattern ? pattern(i) : GUARD_BYTE;
        if (buf[i] != want) {
            printf("FAIL rank %d: %s: byte %zu is %#x, expected %#x\n", rank, what, i, buf[i],
                   want);
            failures++;
            return;
        }
    }
}

static void bad_arguments(void)
{
    char buf[16] = { 0 };
    expect_class("root == size", MPI_Bcast(buf, 16, MPI_CHAR, size, MPI_COMM_WORLD),
                 MPI_ERR_ROOT);
    expect_class("root == -5", MPI_Bcast(buf, 16, MPI_CHAR, -5, MPI_COMM_WORLD), MPI_ERR_ROOT);
    expect_class("count == -1", MPI_Bcast(buf, -1, MPI_CHAR, 0, MPI_COMM_WORLD), MPI_ERR_COUNT);
}

/* Rank 1 holds `mine` bytes of the root's `sent`; everyone else all of it.
 * Through MPI_Bcast, or (nonblocking) MPI_Ibcast + MPI_Wait. */
static void mismatch(size_t sent, size_t mine, int want_class, int nonblocking)
{
    size_t have = rank == 1 ? mine : sent;
    uint8_t *buf = malloc(have + GUARD);
    char what[96];

    memset(buf, GUARD_BYTE, have + GUARD);
    if (rank == 0) {
        for (size_t i = 0; i < sent; i++) {
            buf[i] = pattern(i);
        }
    }
    int rc;
    if (nonblocking) {
        MPI_Request req;
        rc = MPI_Ibcast(buf, (int)have, MPI_BYTE, 0, MPI_COMM_WORLD, &req);
        if (rc == MPI_SUCCESS) {
            rc = MPI_Wait(&req, MPI_STATUS_IGNORE);
        }
    } else {
        rc = MPI_Bcast(buf, (int)have, MPI_BYTE, 0, MPI_COMM_WORLD);
    }
    snprintf(what, sizeof(what), "%s of %zu bytes into %zu", nonblocking ? "MPI_Ibcast" : "MPI_Bcast",
             sent, have);
    expect_class(what, rc, rank == 1 ? want_class : MPI_SUCCESS);
    size_t delivered = have < sent ? have : sent;
    expect_bytes(what, buf, 0, delivered, 1);
    expect_bytes(what, buf, delivered, have + GUARD, 0);   /* nothing past the message */
    free(buf);
}

static void size_mismatch(size_t sent, size_t mine, int want_class)
{
    mismatch(sent, mine, want_class, 0);
}

/* The same with a non-contiguous type: 2 ints taken out of every 4. */
static void truncated_vector(void)
{
    MPI_Datatype pairs;
    const int count = 20000, mine = rank == 1 ? count / 2 : count;
    size_t ints = (size_t)count * 4;
    int *buf = malloc(ints * sizeof(int) + GUARD);

    MPI_Type_vector(1, 2, 4, MPI_INT, &pairs);
    MPI_Datatype resized;
    MPI_Type_create_resized(pairs, 0, 4 * sizeof(int), &resized);
    MPI_Type_commit(&resized);
    MPI_Type_free(&pairs);
    memset(buf, GUARD_BYTE, ints * sizeof(int) + GUARD);
    if (rank == 0) {
        for (size_t i = 0; i < ints; i++) {
            buf[i] = (int)i;
        }
    }
    int rc = MPI_Bcast(buf, mine, resized, 0, MPI_COMM_WORLD);
    expect_class("vector truncation", rc, rank == 1 ? MPI_ERR_TRUNCATE : MPI_SUCCESS);
    int guard_int;
    memset(&guard_int, GUARD_BYTE, sizeof(guard_int));
    for (size_t i = 0; i < ints; i++) {
        int in_type = (i % 4) < 2 && i < (size_t)mine * 4;
        int want = rank == 0 || in_type ? (int)i : guard_int;
        if (buf[i] != want) {
            printf("FAIL rank %d: vector truncation: int %zu is %d, expected %d\n", rank, i,
                   buf[i], want);
            failures++;
            break;
        }
    }
    MPI_Type_free(&resized);
    free(buf);
}

static double now(void)
{
    return MPI_Wtime();
}

/* Was a wait bounded by the timeout (with slack for an oversubscribed node)? */
static void expect_bounded(const char *what, double waited, int timeout_ms)
{
    if (waited > timeout_ms / 1000.0 * 3 + 5) {
        printf("FAIL rank %d: %s took %.2f s (timeout %d ms)\n", rank, what, waited, timeout_ms);
        failures++;
    }
}

/*
 * The last rank never enters the broadcast.  Every other rank returns
 * within about the timeout, with the right bytes if its part of the
 * schedule did not need the silent rank and with MPI_ERR_OTHER otherwise;
 * someone needed it, so someone fails.  A rank whose rdmc failed refuses
 * the next rdmc broadcast at once; the others give up on it in time.
 */
static void silent_peer(int timeout_ms)
{
    MPI_Comm dup;
    const int bytes = 1 << 20;
    char *buf = malloc(bytes);
    int failed_first = 0, failed_anywhere = 0;

    MPI_Comm_dup(MPI_COMM_WORLD, &dup);
    MPI_Comm_set_errhandler(dup, MPI_ERRORS_RETURN);
    /* A first broadcast sets rdmc up on the communicator, and rdmc carries it. */
    long long carried = rdmc_pvar_read("coll_rdmc_bcasts");
    expect_class("set-up broadcast", MPI_Bcast(buf, bytes, MPI_CHAR, 0, dup), MPI_SUCCESS);
    if (rdmc_pvar_read("coll_rdmc_bcasts") != carried + 1) {
        printf("FAIL rank %d: rdmc did not carry the set-up broadcast\n", rank);
        failures++;
    }
    if (rank != size - 1) {
        for (int i = 0; i < bytes; i++) {
            buf[i] = rank == 0 ? (char)pattern((size_t)i) : 0;
        }
        double t0 = now();
        int rc = MPI_Bcast(buf, bytes, MPI_CHAR, 0, dup);
        double waited = now() - t0;
        expect_bounded("the broadcast with a silent peer", waited, timeout_ms);
        if (rc != MPI_SUCCESS) {
            failed_first = 1;
            expect_class("broadcast with a silent peer", rc, MPI_ERR_OTHER);
            if (waited < timeout_ms / 1000.0 * 0.9) {
                printf("FAIL rank %d: gave up after %.2f s, before the timeout\n", rank, waited);
                failures++;
            }
        } else {
            expect_bytes("broadcast with a silent peer", (const uint8_t *)buf, 0, bytes, 1);
        }
        t0 = now();
        rc = MPI_Bcast(buf, bytes, MPI_CHAR, 0, dup);
        expect_class("the next broadcast", rc, MPI_ERR_OTHER);
        expect_bounded("the next broadcast", now() - t0, timeout_ms);
        if (failed_first && now() - t0 > 1.0) {
            printf("FAIL rank %d: refusing took %.2f s\n", rank, now() - t0);
            failures++;
        }
    }
    MPI_Allreduce(&failed_first, &failed_anywhere, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0 && failed_anywhere == 0) {
        printf("FAIL: nobody noticed the silent rank\n");
        failures++;
    }
    MPI_Comm_free(&dup);
    free(buf);
}

/* CPU seconds this process (every thread) has used. */
static double cpu_seconds(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
           1e-6 * (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/*
 * Rank `who` enters the broadcasts of the first `late_rounds` of two
 * rounds late_ms late; the first round sets rdmc up on the communicator
 * (every rank opens libfabric, then they exchange addresses).  Nobody
 * gives up on a late rank: every rank gets the right bytes, from rdmc.
 * With check_cpu, a rank that waits for the late one sleeps meanwhile:
 * it uses at most half the time it waited (one that spins uses it all).
 */
static void late_rank(int who, int late_ms, int late_rounds, bool check_cpu)
{
    MPI_Comm dup;
    const int bytes = 1 << 20;
    uint8_t *buf = malloc(bytes);
    long long carried = rdmc_pvar_read("coll_rdmc_bcasts");

    MPI_Comm_dup(MPI_COMM_WORLD, &dup);
    MPI_Comm_set_errhandler(dup, MPI_ERRORS_RETURN);
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < bytes; i++) {
            buf[i] = rank == 0 ? pattern((size_t)i) : 0;
        }
        bool late = round < late_rounds;
        if (late && rank == who) {
            usleep((useconds_t)late_ms * 1000);
        }
        const char *what = round ? "the second broadcast" : "the set-up broadcast";
        double t0 = now(), cpu0 = cpu_seconds();
        expect_class(what, MPI_Bcast(buf, bytes, MPI_BYTE, 0, dup), MPI_SUCCESS);
        double waited = now() - t0, used = cpu_seconds() - cpu0;
        expect_bytes(what, buf, 0, bytes, 1);
        expect_bounded(what, waited, late_ms);
        if (check_cpu && late && rank != who && used > 0.5 * waited) {
            printf("FAIL rank %d: %s: %.2f s of CPU while waiting %.2f s for rank %d\n", rank,
                   what, used, waited, who);
            failures++;
        }
    }
    if (rdmc_pvar_read("coll_rdmc_bcasts") != carried + 2) {
        printf("FAIL rank %d: rdmc carried %lld of the 2 broadcasts\n", rank,
               rdmc_pvar_read("coll_rdmc_bcasts") - carried);
        failures++;
    }
    MPI_Comm_free(&dup);
    free(buf);
}

int main(int argc, char **argv)
{
    int timeout_ms = 0, late_ms = 0, late_root_ms = 0;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--silent-peer") == 0) {
            timeout_ms = atoi(argv[i + 1]);
        } else if (strcmp(argv[i], "--late-setup") == 0) {
            late_ms = atoi(argv[i + 1]);
        } else if (strcmp(argv[i], "--late-root") == 0) {
            late_root_ms = atoi(argv[i + 1]);
        }
    }
    long long carried_before = rdmc_pvar_read("coll_rdmc_bcasts");

    if (timeout_ms > 0) {
        silent_peer(timeout_ms);
    } else if (late_ms > 0) {
        late_rank(size - 1, 3 * late_ms, 1, false);
    } else if (late_root_ms > 0) {
        late_rank(0, late_root_ms, 2, true);
    } else {
        bad_arguments();
        size_mismatch(200003, 100001, MPI_ERR_TRUNCATE);
        size_mismatch(200003, 400006, MPI_ERR_COUNT);
        truncated_vector();
        size_mismatch(300001, 300001, MPI_SUCCESS);   /* and the communicator still works */
        /* The four broadcasts above went through rdmc at every rank. */
        long long carried = rdmc_pvar_read("coll_rdmc_bcasts") - carried_before;
        if (carried != 4) {
            printf("FAIL rank %d: rdmc carried %lld of the 4 broadcasts\n", rank, carried);
            failures++;
        }
        /* Sizes on both sides of coll_rdmc_sst_max_bytes (4096): the root's
         * size picks the path, rank 1 learns it from the root's slot at once. */
        long long ibcasts_before = rdmc_pvar_read("coll_rdmc_ibcasts");
        double start = now();
        mismatch(8000, 2000, MPI_ERR_TRUNCATE, 1);
        mismatch(2000, 8000, MPI_ERR_COUNT, 1);
        mismatch(3000, 3000, MPI_SUCCESS, 1);
        expect_bounded("sizes across sst_max_bytes", now() - start, 0);
        /* The three above went through rdmc. */
        long long ibcasts = rdmc_pvar_read("coll_rdmc_ibcasts") - ibcasts_before;
        if (ibcasts != 3) {
            printf("FAIL rank %d: rdmc carried %lld of the 3 MPI_Ibcasts\n", rank, ibcasts);
            failures++;
        }
    }

    int all = 0;
    MPI_Allreduce(&failures, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0) {
        printf("bcast_errors%s: %d ranks: %s\n",
               timeout_ms     ? " (silent peer)"
               : late_ms      ? " (late set-up)"
               : late_root_ms ? " (late root)"
                              : "",
               size,
               all ? "FAILED" : "OK");
    }
    MPI_Finalize();
    return all ? 1 : 0;
}
