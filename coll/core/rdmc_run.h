/*
 * One broadcast at one rank, as a tree of engine runs (rdmc_groups.h):
 * the run of the group this rank receives in, and the runs of the groups
 * it is the root of.  Those relay the message: a relay sends a block once
 * the bytes have come in from above, so blocks flow down every level
 * while the next ones are still arriving (pipelined, not store and
 * forward), each level with its own transport, schedule and block size.
 *
 *   receive run (level l)  --arrived(bytes)-->  relay runs (levels > l)
 *                                               fill: here yet? else later
 *
 * Without a layout, or when this rank's groups collapse to one, it is
 * exactly one engine run, as before.  The stream drives it through the
 * same calls as an engine op: start, test, abandon, quiet, release.
 */
#ifndef RDMC_RUN_H
#define RDMC_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "rdmc_blocksize.h"
#include "rdmc_engine.h"
#include "rdmc_groups.h"

/* How a communicator's broadcasts use its layout; the same at every rank. */
typedef struct rdmc_levels {
    const rdmc_layout_t *layout;
    rdmc_transport_t *tp_local;        /* the groups inside a node (level >= 1) */
    rdmc_schedule_alg_t local_schedule;
    rdmc_cost_model_t local_model;     /* their block sizes ... */
    uint64_t local_block_bytes;        /* ... unless this is non-zero */
    unsigned local_sends_in_flight;
} rdmc_levels_t;

typedef struct rdmc_run {
    rdmc_op_params_t p;                /* the broadcast as this rank was given it */
    const rdmc_levels_t *levels;       /* NULL: flat */
    rdmc_bcast_group_t groups[RDMC_GROUP_LEVELS];
    rdmc_op_t *ops[RDMC_GROUP_LEVELS]; /* per group, once started */
    uint32_t ngroups;
    uint32_t *storage;                 /* the groups' member lists */
    bool receives;                     /* groups[0] is the one it receives in */
    uint8_t *base;                     /* the message here, once known */
    uint64_t nbytes;
    uint64_t held;                     /* bytes [0, held) are here */

    bool done;
    int status;                        /* 0, or the first error (negative) */
    char error[192];
    int error_peer;                    /* the rank a failed transfer was with, or -1 */
} rdmc_run_t;

/* Start it: 0, or a negative code (with error set; nothing left posted). */
int rdmc_run_start(rdmc_run_t *run, const rdmc_op_params_t *params,
                   const rdmc_levels_t *levels);
/* Retry what was refused; true once done or failed. */
bool rdmc_run_test(rdmc_run_t *run);
/* Whose message it is (a relay's receivers learn it from the header). */
uint32_t rdmc_run_origin(const rdmc_run_t *run);
/* The rank it received the message from; -1 at the root. */
int rdmc_run_parent(const rdmc_run_t *run);
/* As rdmc_op_abandon, rdmc_op_receives_quiet, rdmc_op_quiet, rdmc_op_release,
 * for every engine run of it. */
void rdmc_run_abandon(rdmc_run_t *run);
/* Blocks sent and received so far by every engine run of it: grows while
 * the broadcast moves here. */
uint64_t rdmc_run_transfers_done(const rdmc_run_t *run);
bool rdmc_run_receives_quiet(const rdmc_run_t *run);
bool rdmc_run_quiet(const rdmc_run_t *run);
void rdmc_run_release(rdmc_run_t *run);

#endif
