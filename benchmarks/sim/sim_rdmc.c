/*
 * Replays an RDMC schedule as the engine runs it: every node walks its own
 * sends and receives in step order, and a transfer starts as soon as the
 * sender's previous send and the receiver's previous receive have ended and
 * the sender holds the block.  Nothing waits for a global step, so a slow
 * node delays only the transfers that depend on it.
 *
 * Steps are visited in order, which is enough: a transfer at step t only
 * depends on transfers at earlier steps (the schedule tests prove that a
 * block is always sent at a later step than the one it arrived in).  The
 * cost is O(steps * n) schedule calls.
 */
#include <errno.h>
#include <stdlib.h>

#include "coll/core/rdmc_blocksize.h"
#include "sim_broadcasts.h"
#include "sim_holdings.h"
#include "sim_net.h"

/* Past this a run that needs every arrival kept is refused (-E2BIG). */
#define SIM_MAX_KEPT_ARRIVALS ((uint64_t)1 << 25)    /* n * k: 256 MiB */

/* -EAGAIN: the window of holdings was not enough to be exact. */
static int replay(const sim_case_t *c, const sim_params_t *params, const sim_plan_t *plan,
                  bool keep_every_block, sim_ps_t *done)
{
    rdmc_schedule_alg_t alg = (rdmc_schedule_alg_t)c->alg;
    uint64_t k = plan->blocks;
    sim_holdings_t holdings;
    uint64_t *received;
    sim_net_t net;
    int rc;

    received = calloc(c->n, sizeof(*received));
    if (received == NULL) {
        return -ENOMEM;
    }
    rc = sim_net_init(&net, params, c->n);
    if (rc != 0) {
        goto free_received;
    }
    rc = sim_holdings_init(&holdings, c->n, k, keep_every_block);
    if (rc != 0) {
        goto fini_net;
    }
    done[0] = 0;
    for (uint32_t node = 1; node < c->n; node++) {
        done[node] = SIM_NEVER;
    }

    for (uint64_t t = 0; t < plan->steps; t++) {
        for (uint32_t from = 0; from < c->n; from++) {
            rdmc_transfer_t x;
            sim_ps_t held;
            if (!rdmc_schedule_send(alg, c->n, from, k, t, &x)) {
                continue;
            }
            switch (sim_holdings_get(&holdings, from, x.block, &held)) {
            case SIM_HELD_AT:
                break;
            case SIM_HELD_BY:
                /* Exact only if the ports free up no earlier than the bound. */
                if (held > sim_net_ports_free(&net, from, x.peer)) {
                    rc = -EAGAIN;
                    goto fini_holdings;
                }
                held = 0;
                break;
            case SIM_NOT_HELD:
                rc = -EPROTO;
                goto fini_holdings;
            }
            sim_ps_t end = sim_net_transfer(&net, from, x.peer,
                                            rdmc_block_len(c->nbytes, plan->block_bytes, x.block),
                                            held);
            sim_holdings_put(&holdings, x.peer, x.block, end);
            /* Arrivals at a node only grow, so the k-th is the last. */
            if (++received[x.peer] == k) {
                done[x.peer] = end;
            }
        }
    }

fini_holdings:
    sim_holdings_fini(&holdings);
fini_net:
    sim_net_fini(&net);
free_received:
    free(received);
    return rc;
}

int sim_rdmc_replay(const sim_case_t *c, const sim_params_t *params, const sim_plan_t *plan,
                    sim_ps_t *done)
{
    uint64_t kept = (uint64_t)c->n * plan->blocks;
    int rc;

    if (plan->steps > SIM_MAX_WORK / c->n) {
        return -E2BIG;
    }
    /* Small runs keep everything: exact, and no larger than the window. */
    if (plan->blocks <= SIM_HOLDINGS_WINDOW) {
        return replay(c, params, plan, true, done);
    }
    rc = replay(c, params, plan, false, done);
    if (rc != -EAGAIN) {
        return rc;
    }
    if (kept > SIM_MAX_KEPT_ARRIVALS) {
        return -E2BIG;
    }
    return replay(c, params, plan, true, done);
}
