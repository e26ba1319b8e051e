/*
 * RDMC block schedules: who sends which block to whom at each step.
 *
 * Every function here is pure: it depends only on its arguments, does no
 * I/O and keeps no state, so the engine, the unit tests and the scale
 * simulator all replay exactly the same schedule.
 *
 * Ranks are relative to the root: the root is rank 0 and the caller
 * relabels (rank - root + n) % n.  A message of k blocks is moved in steps
 * 0 .. rdmc_schedule_num_steps() - 1; at each step a node sends at most one
 * block and receives at most one block.
 */
#ifndef RDMC_SCHEDULE_H
#define RDMC_SCHEDULE_H

#include <stdbool.h>
#include <stdint.h>

typedef enum rdmc_schedule_alg {
    RDMC_SCHEDULE_BINOMIAL_PIPELINE = 0,
    RDMC_SCHEDULE_CHAIN = 1,
    RDMC_SCHEDULE_SEQUENTIAL = 2,
    RDMC_SCHEDULE_BINOMIAL_TREE = 3,
    RDMC_SCHEDULE_FANOUT = 4,
    RDMC_SCHEDULE_COUNT
} rdmc_schedule_alg_t;

/* One block moving between two nodes at one step. */
typedef struct rdmc_transfer {
    uint32_t peer;   /* the other node, relative to the root */
    uint64_t block;  /* block index, 0 .. k-1 */
} rdmc_transfer_t;

/* Number of steps needed to move k blocks to n nodes (0 when n < 2). */
uint64_t rdmc_schedule_num_steps(rdmc_schedule_alg_t alg, uint32_t n, uint64_t k);

/* What `rank` sends at `step`; false when it sends nothing. */
bool rdmc_schedule_send(rdmc_schedule_alg_t alg, uint32_t n, uint32_t rank,
                        uint64_t k, uint64_t step, rdmc_transfer_t *to_p);

/* What `rank` receives at `step`; false when it receives nothing. */
bool rdmc_schedule_recv(rdmc_schedule_alg_t alg, uint32_t n, uint32_t rank,
                        uint64_t k, uint64_t step, rdmc_transfer_t *from_p);

/* The first step at which `rank` receives, and what; false for the root. */
bool rdmc_schedule_first_recv(rdmc_schedule_alg_t alg, uint32_t n, uint32_t rank,
                              uint64_t k, uint64_t *step_p, rdmc_transfer_t *from_p);

/* "binomial_pipeline", "chain", ...; NULL for an unknown value. */
const char *rdmc_schedule_name(rdmc_schedule_alg_t alg);

/* floor(log2 n) for n >= 1. */
uint32_t rdmc_floor_log2(uint64_t n);

#endif
