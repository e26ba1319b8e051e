/*
 * The broadcast simulator's core: a LogGP-style network and the broadcasts
 * that run on it.
 *
 * The network: every node has a full-duplex link, so it sends at most one
 * message at a time and receives at most one at a time.  A transfer of b
 * bytes from u to v starts once u's send port and v's receive port are
 * both free and u holds the data, and takes alpha + beta * b.  One node may
 * be slow (its link at 1/f of the rate: beta * f for every transfer it
 * takes part in), and every transfer may take up to `jitter` (a fraction)
 * longer, drawn from a seeded PRNG so that runs repeat exactly.
 *
 * Time is counted in whole picoseconds: a transfer's cost is rounded up
 * once, so equal transfers cost exactly the same and sums are exact.
 *
 * The broadcasts: the five RDMC schedules replayed through the engine's own
 * rdmc_schedule_send() and rdmc_block_bytes(), and three that MPI libraries
 * use, modelled directly.  Ranks are relative to the root (rank 0).
 *
 * Several ranks per node, sharing its link: sim_machine.h and the
 * broadcasts of sim_levels.h.
 */
#ifndef SIM_MODEL_H
#define SIM_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "coll/core/rdmc_schedule.h"

typedef uint64_t sim_ps_t;   /* simulated time, picoseconds */

#define SIM_NEVER UINT64_MAX          /* a node that never completed */
#define SIM_NO_SLOW_NODE UINT32_MAX
#define SIM_DEFAULT_SEGMENT_BYTES ((uint64_t)128 << 10)

typedef enum sim_alg {
    /* RDMC's schedules: the same values as rdmc_schedule_alg_t. */
    SIM_ALG_BINOMIAL_PIPELINE = RDMC_SCHEDULE_BINOMIAL_PIPELINE,
    SIM_ALG_CHAIN = RDMC_SCHEDULE_CHAIN,
    SIM_ALG_SEQUENTIAL = RDMC_SCHEDULE_SEQUENTIAL,
    SIM_ALG_BINOMIAL_TREE = RDMC_SCHEDULE_BINOMIAL_TREE,
    SIM_ALG_FANOUT = RDMC_SCHEDULE_FANOUT,
    /* What an MPI library would do instead. */
    SIM_ALG_MPI_BINOMIAL = RDMC_SCHEDULE_COUNT,  /* whole message down a binomial tree */
    SIM_ALG_MPI_CHAIN,                           /* segmented chain (a pipeline) */
    SIM_ALG_MPI_SCATTER_ALLGATHER,               /* van de Geijn: scatter + ring */
    SIM_ALG_COUNT
} sim_alg_t;

typedef struct sim_params {
    double alpha_us;           /* per-message latency */
    double beta_ns_per_byte;   /* per-byte time: 8 / (link rate in Gbit/s) */
    uint64_t min_block_bytes;  /* floor of automatic RDMC blocks (rdmc_cost_model_t) */
    uint64_t max_block_bytes;  /* and their cap; 0: none */
    uint32_t slow_node;        /* SIM_NO_SLOW_NODE, or a rank relative to the root */
    double slow_factor;        /* the slow node's link runs at 1/slow_factor of the rate */
    double jitter;             /* each transfer takes up to this fraction longer; 0 = none */
    uint64_t seed;             /* of the jitter's PRNG */
} sim_params_t;

/* One broadcast to simulate. */
typedef struct sim_case {
    sim_alg_t alg;
    uint32_t n;               /* nodes, root included; >= 2 */
    uint64_t nbytes;
    uint64_t block_bytes;     /* RDMC: 0 = automatic, from the cost model */
    uint64_t segment_bytes;   /* SIM_ALG_MPI_CHAIN: 0 = SIM_DEFAULT_SEGMENT_BYTES */
} sim_case_t;

/* How a broadcast is cut up, known before simulating it. */
typedef struct sim_plan {
    uint64_t block_bytes;   /* RDMC block, segment or scatter chunk */
    uint64_t blocks;        /* k: blocks, segments or chunks */
    uint64_t steps;         /* steps (rounds) in the uniform lock-step model */
} sim_plan_t;

typedef struct sim_result {
    sim_plan_t plan;
    sim_ps_t completion;          /* the last node holds everything */
    sim_ps_t others_completion;   /* the same, ignoring the slow node */
} sim_result_t;

/* "binomial_pipeline", ..., "mpi_scatter_allgather"; NULL if unknown. */
const char *sim_alg_name(sim_alg_t alg);
/* A short column heading: "bin_pipe", "mpi_chain", ... */
const char *sim_alg_label(sim_alg_t alg);
/* SIM_ALG_COUNT when the name is unknown. */
sim_alg_t sim_alg_from_name(const char *name);
bool sim_alg_is_rdmc(sim_alg_t alg);
/* Pipelined RDMC schedules, whose time depends on the block size. */
bool sim_alg_is_pipelined(sim_alg_t alg);

/* alpha + beta * bytes on a nominal link, rounded up to whole picoseconds. */
sim_ps_t sim_transfer_ps(const sim_params_t *params, uint64_t bytes);

/* How `c` cuts the message; -EINVAL for a bad case. */
int sim_plan(const sim_case_t *c, const sim_params_t *params, sim_plan_t *plan_p);

/*
 * Simulates one broadcast.  done_p, when not NULL, has c->n entries and
 * receives each node's completion time (SIM_NEVER if it did not get every
 * byte; 0 for the root).  Returns 0, -EINVAL for a bad case, -E2BIG when
 * the run would exceed the simulator's time or memory budget
 * (sim_broadcasts.h, sim_rdmc.c), -ENOMEM, or -EPROTO if a schedule sent a
 * block its sender did not hold or a node never got the whole message.
 */
int sim_run(const sim_case_t *c, const sim_params_t *params, sim_result_t *result_p,
            sim_ps_t *done_p);

/*
 * The best time of a broadcast that cuts the message into equal blocks, on
 * the nominal network (no slow node, no jitter): min over real k >= 1 of
 * (k + ceil(log2 n) - 1) (alpha + beta m / k), rounded down.  best_k_p (may
 * be NULL) receives that k, rounded.  Unequal blocks can beat it slightly
 * (see sim_bound.c).
 */
sim_ps_t sim_lower_bound(uint32_t n, uint64_t nbytes, const sim_params_t *params,
                         uint64_t *best_k_p);

/* A bound no broadcast beats: ceil(log2 n) alpha + beta m, rounded down. */
sim_ps_t sim_strict_lower_bound(uint32_t n, uint64_t nbytes, const sim_params_t *params);

/* ceil(log2 n) for n >= 1. */
uint32_t sim_ceil_log2(uint64_t n);

#endif
