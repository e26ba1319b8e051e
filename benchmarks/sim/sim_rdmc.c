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

int sim_rdmc_replay_on(sim_net_t *net, const uint32_t *rank_of, rdmc_schedule_alg_t alg,
                       uint32_t n, uint64_t nbytes, const sim_plan_t *plan,
                       sim_holdings_t *holdings, sim_ps_t *done)
{
    uint64_t k = plan->blocks;
    uint64_t *received;
    int rc = 0;

    received = calloc(n, sizeof(*received));
    if (received == NULL) {
        return -ENOMEM;
    }
    done[0] = 0;
    for (uint32_t node = 1; node < n; node++) {
        done[node] = SIM_NEVER;
    }

    for (uint64_t t = 0; t < plan->steps; t++) {
        for (uint32_t from = 0; from < n; from++) {
            rdmc_transfer_t x;
            sim_ps_t held;
            if (!rdmc_schedule_send(alg, n, from, k, t, &x)) {
                continue;
            }
            uint32_t net_from = rank_of != NULL ? rank_of[from] : from;
            uint32_t net_to = rank_of != NULL ? rank_of[x.peer] : x.peer;
            switch (sim_holdings_get(holdings, from, x.block, &held)) {
            case SIM_HELD_AT:
                break;
            case SIM_HELD_BY:
                /* Exact only if the ports free up no earlier than the bound. */
                if (held > sim_net_ports_free(net, net_from, net_to)) {
                    rc = -EAGAIN;
                    goto free_received;
                }
                held = 0;
                break;
            case SIM_NOT_HELD:
                rc = -EPROTO;
                goto free_received;
            }
            sim_ps_t end = sim_net_transfer(net, net_from, net_to,
                                            rdmc_block_len(nbytes, plan->block_bytes, x.block),
                                            held);
            sim_holdings_put(holdings, x.peer, x.block, end);
            /* Arrivals at a node only grow, so the k-th is the last. */
            if (++received[x.peer] == k) {
                done[x.peer] = end;
            }
        }
    }

free_received:
    free(received);
    return rc;
}

/* -EAGAIN: the window of holdings was not enough to be exact. */
static int replay(const sim_case_t *c, const sim_params_t *params, const sim_plan_t *plan,
                  bool keep_every_block, sim_ps_t *done)
{
    sim_holdings_t holdings;
    sim_net_t net;
    int rc;

    rc = sim_net_init(&net, params, c->n);
    if (rc != 0) {
        return rc;
    }
    rc = sim_holdings_init(&holdings, c->n, plan->blocks, keep_every_block);
    if (rc != 0) {
        goto fini_net;
    }
    rc = sim_rdmc_replay_on(&net, NULL, (rdmc_schedule_alg_t)c->alg, c->n, c->nbytes, plan,
                            &holdings, done);
    sim_holdings_fini(&holdings);
fini_net:
    sim_net_fini(&net);
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
