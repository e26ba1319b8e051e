/*
 * The broadcasts an MPI library would run instead of RDMC, modelled
 * directly on the simulated network (costs: c(b) = alpha + beta b, m bytes,
 * n nodes, L = ceil(log2 n)).
 */
#include <errno.h>
#include <stdlib.h>

#include "sim_broadcasts.h"

static sim_ps_t max_ps(sim_ps_t a, sim_ps_t b)
{
    return a > b ? a : b;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

static uint64_t lowest_bit(uint32_t r)
{
    return (uint64_t)r & (~(uint64_t)r + 1);
}

/* The largest subtree first: a node's first child is the one farthest away. */
static uint64_t first_child_distance(uint32_t n, uint32_t rank)
{
    return rank == 0 ? ((uint64_t)1 << sim_ceil_log2(n)) / 2 : lowest_bit(rank) / 2;
}

static uint32_t net_rank(const uint32_t *rank_of, uint32_t i)
{
    return rank_of != NULL ? rank_of[i] : i;
}

static void start_done(sim_ps_t *done, uint32_t n)
{
    done[0] = 0;
    for (uint32_t node = 1; node < n; node++) {
        done[node] = SIM_NEVER;
    }
}

/*
 * Binomial tree, whole message (MPICH's binomial broadcast; Open MPI's
 * "binomial" with no segmentation): rank r gets the message from
 * r - lowbit(r), then hands it to r + lowbit(r)/2, r + lowbit(r)/4, ..., 1.
 *
 *   n = 8:  0->4 | 0->2 4->6 | 0->1 2->3 4->5 6->7
 *
 * T = L c(m): log n copies of the whole message one after the other.
 */
void sim_mpi_binomial_on(sim_net_t *net, const uint32_t *rank_of, uint32_t n, uint64_t nbytes,
                         sim_ps_t root_ready, sim_ps_t *done)
{
    start_done(done, n);
    done[0] = root_ready;
    /* A parent's rank is below its children's. */
    for (uint32_t r = 0; r < n; r++) {
        for (uint64_t d = first_child_distance(n, r); d > 0; d /= 2) {
            if (r + d < n) {
                uint32_t child = (uint32_t)(r + d);
                done[child] = sim_net_transfer(net, net_rank(rank_of, r), net_rank(rank_of, child),
                                               nbytes, done[r]);
            }
        }
    }
}

int sim_mpi_binomial(const sim_case_t *c, const sim_params_t *params, const sim_plan_t *plan,
                     sim_ps_t *done)
{
    sim_net_t net;
    int rc;

    (void)plan;
    rc = sim_net_init(&net, params, c->n);
    if (rc != 0) {
        return rc;
    }
    sim_mpi_binomial_on(&net, NULL, c->n, c->nbytes, 0, done);
    sim_net_fini(&net);
    return 0;
}

/*
 * Segmented chain (Open MPI's "pipeline"): S segments of s bytes flow down
 * the ranks 0 -> 1 -> ... -> n-1, each node forwarding a segment as soon as
 * it has it.
 *
 *   t0: 0->1 s0 | t1: 0->1 s1  1->2 s0 | t2: 0->1 s2  1->2 s1  2->3 s0 ...
 *
 * T = (S + n - 2) c(s): bandwidth-optimal for S >> n, but the latency grows
 * with n; the segment size is fixed, not fitted to m and n.
 */
void sim_mpi_chain_on(sim_net_t *net, const uint32_t *rank_of, uint32_t n, uint64_t nbytes,
                      const sim_plan_t *plan, sim_ps_t *done)
{
    start_done(done, n);
    /* done[i] holds the arrival of the latest segment at i, the whole
     * message once the last segment went by. */
    for (uint64_t s = 0; s < plan->blocks; s++) {
        uint64_t start = s * plan->block_bytes;
        uint64_t len = start < nbytes ? min_u64(plan->block_bytes, nbytes - start) : 0;
        for (uint32_t i = 0; i + 1 < n; i++) {
            done[i + 1] = sim_net_transfer(net, net_rank(rank_of, i), net_rank(rank_of, i + 1),
                                           len, done[i]);
        }
    }
}

int sim_mpi_chain(const sim_case_t *c, const sim_params_t *params, const sim_plan_t *plan,
                  sim_ps_t *done)
{
    sim_net_t net;
    int rc;

    if (plan->blocks > SIM_MAX_WORK / c->n) {
        return -E2BIG;
    }
    rc = sim_net_init(&net, params, c->n);
    if (rc != 0) {
        return rc;
    }
    sim_mpi_chain_on(&net, NULL, c->n, c->nbytes, plan, done);
    sim_net_fini(&net);
    return 0;
}

/* Bytes of the chunks [first, last) of a message cut into n chunks. */
static uint64_t chunk_bytes(const sim_case_t *c, uint64_t chunk, uint64_t first, uint64_t last)
{
    uint64_t from = min_u64(first * chunk, c->nbytes);
    uint64_t to = min_u64(min_u64(last, c->n) * chunk, c->nbytes);

    return to - from;
}

/*
 * Scatter + ring allgather (van de Geijn; MPICH's large-message broadcast).
 * The message is cut into n chunks of m/n bytes.  A binomial scatter gives
 * rank r the chunks of its subtree, [r, r + lowbit(r)); then n - 1 ring
 * steps, in which every rank passes the chunk it got last to its right
 * neighbour (MPI_Sendrecv: a rank starts a step once both halves of the
 * previous one are done).
 *
 *   n = 4, scatter: 0->2 c2,c3 | 0->1 c1  2->3 c3
 *          ring:    0->1 c0  1->2 c1  2->3 c2  3->0 c3 | ... (3 steps)
 *
 * T = L alpha + (n-1)/n beta m + (n-1) c(m/n): about 2 beta m for large m,
 * but n - 1 latencies.
 */
int sim_mpi_scatter_allgather(const sim_case_t *c, const sim_params_t *params,
                              const sim_plan_t *plan, sim_ps_t *done)
{
    uint64_t chunk = plan->block_bytes;
    uint32_t n = c->n;
    sim_ps_t *step_ready;
    sim_net_t net;
    int rc;

    if (n > SIM_MAX_WORK / n) {
        return -E2BIG;
    }
    step_ready = malloc(n * sizeof(*step_ready));
    if (step_ready == NULL) {
        return -ENOMEM;
    }
    rc = sim_net_init(&net, params, n);
    if (rc != 0) {
        goto free_step_ready;
    }

    /* Scatter: scattered[r] (kept in done[]) is when r holds its chunks. */
    start_done(done, n);
    for (uint32_t r = 0; r < n; r++) {
        for (uint64_t d = first_child_distance(n, r); d > 0; d /= 2) {
            uint32_t child = (uint32_t)(r + d);
            if (child >= n) {
                continue;
            }
            uint64_t bytes = chunk_bytes(c, chunk, child, child + d);
            /* Past the end of an unevenly cut message there is nothing to
             * send, and the child waits for nothing. */
            done[child] = bytes == 0 ? 0 : sim_net_transfer(&net, r, child, bytes, done[r]);
        }
    }

    /* Ring: at step s rank i sends chunk (i - s) mod n to rank i + 1. */
    for (uint32_t i = 0; i < n; i++) {
        step_ready[i] = max_ps(done[i], max_ps(net.send_free[i], net.recv_free[i]));
    }
    for (uint32_t s = 0; s + 1 < n; s++) {
        for (uint32_t i = 0; i < n; i++) {
            uint32_t right = (i + 1) % n;
            uint64_t piece = ((uint64_t)i + n - s) % n;
            sim_net_transfer(&net, i, right, chunk_bytes(c, chunk, piece, piece + 1),
                             max_ps(step_ready[i], step_ready[right]));
        }
        for (uint32_t i = 0; i < n; i++) {
            step_ready[i] = max_ps(net.send_free[i], net.recv_free[i]);
        }
    }
    for (uint32_t i = 1; i < n; i++) {
        done[i] = net.recv_free[i];
    }

    sim_net_fini(&net);
free_step_ready:
    free(step_ready);
    return rc;
}
