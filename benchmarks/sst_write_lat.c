/*
 * One-way latency of an SST small message (one-sided writes over libfabric),
 * OSU style: half the round trip of a ping-pong, averaged after warm-up.
 *
 * Message i of size S: rank 0 fills its free slot i, publishes and flushes
 * it; rank 1 progresses until slot i of row 0 is readable in its copy, sets
 * RECEIVED = i+1 (RDMC_SST_PUSH: with the next flush, no doorbell) and
 * answers with its slot i, which rank 0 reads the same way.  Sequence
 * numbers grow across sizes.  MPI only swaps addresses and ends with a
 * barrier: every timed byte goes through membership/sst.c and ofi/.
 *
 * Ranks 2.. (-np 4, oversubscribed) are members that only progress their
 * transport (rows 0 and 1 are still pushed to them), with RECEIVED set to
 * UINT64_MAX so that they never hold a slot, until ranks 0 and 1 set
 * DELIVERED = 1.  Every wait gives up after 30 s.
 *
 *   mpirun -np 2 benchmarks/sst_write_lat [-m [min:]max] [-i iterations]
 *          [-x warmup] [-p shm|tcp] [-d domain]
 *
 * Defaults: -m 8:4096, -i 10000, -x 200, -p shm, -d "" (with tcp: -d lo).
 */
#define _POSIX_C_SOURCE 200809L

#include <mpi.h>

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_options.h"
#include "membership/core/sst.h"
#include "ofi/rdmc_ofi.h"
#include "sst_world.h"

#define SLOTS 8
#define PAYLOAD 4096
#define TIME_LIMIT_S 30.0
#define GRACE_S 0.2   /* progress after the end, so that the last pushes land */

typedef struct bench {
    rdmc_ofi_request_t req;
    uint64_t min_bytes, max_bytes;
    long iterations, warmup;
    int rank, n;
    rdmc_ofi_fabric_t *fab;
    sst_world_t world;
    rdmc_transport_t *tp;
    rdmc_sst_t *sst;
    uint64_t seq;       /* the current message, in both directions */
    uint32_t size;      /* its length */
    double deadline;    /* of the current wait */
    double end;         /* when the final progress stops */
} bench_t;

static void die(const bench_t *b, const char *what)
{
    fprintf(stderr, "sst_write_lat rank %d: %s (message %llu)\n", b->rank, what,
            (unsigned long long)b->seq);
    MPI_Abort(MPI_COMM_WORLD, 1);
}

/* Flush and progress, yielding the core while idle, until ready() holds. */
static void wait_until(bench_t *b, bool (*ready)(bench_t *b), const char *what)
{
    int done = 0;

    b->deadline = MPI_Wtime() + TIME_LIMIT_S;
    while (!ready(b)) {
        if (rdmc_sst_flush(b->sst) != 0 || (done = b->tp->ops->progress(b->tp)) < 0) {
            die(b, "an SST write or the transport failed");
        }
        if (MPI_Wtime() > b->deadline) {
            die(b, what);
        }
        if (done == 0) {
            sched_yield();
        }
    }
}

static bool slot_free(bench_t *b)
{
    return rdmc_sst_slot_free(b->sst, b->seq);
}

/* The peer's message b->seq is here and whole: acknowledge it. */
static bool slot_arrived(bench_t *b)
{
    const char *error;
    uint32_t len;

    if (rdmc_sst_slot_read(b->sst, 1 - b->rank, b->seq, &len, &error) == NULL) {
        if (error != NULL) {
            die(b, error);
        }
        return false;
    }
    if (len != b->size) {
        die(b, "the message has the wrong length");
    }
    rdmc_sst_set(b->sst, RDMC_SST_RECEIVED, b->seq + 1, RDMC_SST_PUSH);
    return true;
}

/* Both players are done and nothing of ours waits to be pushed; then keep
 * progressing a little longer, so that the last pushes land.  The time
 * limit counts from the players' last message. */
static bool all_done(bench_t *b)
{
    uint64_t published = rdmc_sst_get(b->sst, 0, RDMC_SST_PUBLISHED);

    if (published > b->seq) {
        b->seq = published;
        b->deadline = MPI_Wtime() + TIME_LIMIT_S;
    }
    if (b->end == 0 && rdmc_sst_get(b->sst, 0, RDMC_SST_DELIVERED) > 0 &&
        rdmc_sst_get(b->sst, 1, RDMC_SST_DELIVERED) > 0 && !rdmc_sst_flush_pending(b->sst)) {
        b->end = MPI_Wtime() + GRACE_S;
    }
    return b->end > 0 && MPI_Wtime() >= b->end;
}

/* Published: the wait that follows flushes it (slot, then guard). */
static void send_slot(bench_t *b)
{
    wait_until(b, slot_free, "timed out waiting for a free slot");
    memset(rdmc_sst_slot_buffer(b->sst, b->seq), (int)(b->seq & 0xff), b->size);
    rdmc_sst_publish(b->sst, b->seq, b->size);
}

static void measure(bench_t *b)
{
    double start = MPI_Wtime();

    for (long i = 0; i < b->warmup + b->iterations; i++, b->seq++) {
        start = i == b->warmup ? MPI_Wtime() : start;
        if (b->rank == 0) {
            send_slot(b);
            wait_until(b, slot_arrived, "timed out waiting for the pong");
        } else {
            wait_until(b, slot_arrived, "timed out waiting for the ping");
            send_slot(b);
        }
    }
    if (b->rank == 0) {
        printf("%-10u %15.2f\n", b->size, (MPI_Wtime() - start) * 1e6 / (2.0 * b->iterations));
        fflush(stdout);
    }
}

static void parse_options(int argc, char **argv, bench_t *b)
{
    int c, rc = 0;

    b->req = (rdmc_ofi_request_t){ "shm", "", false };
    b->min_bytes = 8, b->max_bytes = PAYLOAD, b->iterations = 10000, b->warmup = 200;
    while ((c = getopt(argc, argv, "m:i:x:p:d:w")) != -1 && rc == 0) {
        switch (c) {
        case 'm': rc = bench_parse_range(optarg, &b->min_bytes, &b->max_bytes); break;
        case 'i': rc = bench_parse_long(optarg, 1, &b->iterations); break;
        case 'x': rc = bench_parse_long(optarg, 0, &b->warmup); break;
        case 'p': b->req.provider = optarg; break;
        case 'd': b->req.domain = optarg; break;
        case 'w': b->world.use_shm_window = true; break;
        default: rc = -1; break;
        }
    }
    if (rc != 0 || b->min_bytes < 1 || b->min_bytes > b->max_bytes || b->max_bytes > PAYLOAD ||
        b->iterations < 1 || b->warmup < 0 || b->n < 2) {
        if (b->rank == 0) {
            fprintf(stderr, "usage: mpirun -np N>=2 %s [-m [min:]max (1..%d)] [-i iterations] "
                    "[-x warmup] [-p shm|tcp] [-d domain] [-w: the SST's window in shared memory]\n", argv[0], PAYLOAD);
        }
        MPI_Finalize();   /* every rank saw the same arguments */
        exit(2);
    }
}

/* Endpoint, channel and table (sst_world.c). */
static void setup(bench_t *b)
{
    /* -w: tolerate peer errors as failure handling does (the component's
     * shared-memory SST runs only with it). */
    rdmc_sst_params_t params = { NULL, 0, 0, SLOTS, PAYLOAD, false, 0,
                                 b->world.use_shm_window };
    const char *why = sst_world_open(&b->req, &params, &b->world);

    if (why != NULL) {
        die(b, why);
    }
    b->tp = b->world.tp;
    b->sst = b->world.sst;
    b->fab = b->world.fab;
}

int main(int argc, char **argv)
{
    bench_t b = { 0 };

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &b.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &b.n);
    parse_options(argc, argv, &b);
    setup(&b);
    if (b.rank == 0) {
        printf("# SST one-sided write latency (ompi-rdmc), provider %s, 2 ranks ping-pong of %d\n"
               "# Size       Latency(us)\n",
               b.world.use_shm_window ? "none (shared-memory window)" : rdmc_ofi_fabric_provider(b.fab),
               b.n);
    }
    for (unsigned long size = b.min_bytes; b.rank < 2 && size <= b.max_bytes; size *= 2) {
        b.size = (uint32_t)size;
        measure(&b);
    }
    rdmc_sst_set(b.sst, b.rank < 2 ? RDMC_SST_DELIVERED : RDMC_SST_RECEIVED,
                 b.rank < 2 ? 1 : UINT64_MAX, RDMC_SST_PUSH);
    wait_until(&b, all_done, "timed out waiting for the end");
    MPI_Barrier(MPI_COMM_WORLD);
    sst_world_close(&b.world);
    MPI_Finalize();
    return 0;
}
