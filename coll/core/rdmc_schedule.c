/*
 * RDMC block schedules (see rdmc_schedule.h for the conventions).
 *
 * Cost model used in the comments: a step moves one block of B bytes over
 * every busy link at once and costs alpha + beta*B, so a schedule of T steps
 * costs T * (alpha + beta*B).  With k = ceil(size / B):
 *
 *   binomial pipeline  T = k + log2(n) - 1   (n a power of two)
 *                      T = k + floor(log2 n) (otherwise)
 *   chain              T = k + n - 2
 *   sequential         T = k * (n - 1)
 *   binomial tree      T = k * ceil(log2 n)
 *   fan-out            T = k * (n - 1)
 */
#include "rdmc_schedule.h"

#include <stddef.h>

uint32_t rdmc_floor_log2(uint64_t n)
{
    uint32_t l = 0;

    while (n > 1) {
        n >>= 1;
        l++;
    }
    return l;
}

static uint32_t ceil_log2(uint64_t n)
{
    uint32_t l = rdmc_floor_log2(n);

    return ((uint64_t)1 << l) == n ? l : l + 1;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

static void set_transfer(rdmc_transfer_t *x, uint32_t peer, uint64_t block)
{
    x->peer = peer;
    x->block = block;
}

/*
 * Chain: a pipeline along the ranks.  Rank i forwards block t - i to
 * rank i + 1 at step t.
 *
 *   t0: 0->1 b0
 *   t1: 0->1 b1  1->2 b0
 *   t2: 0->1 b2  1->2 b1  2->3 b0      (n = 4, k = 3, T = k + n - 2 = 5)
 *
 * Good bandwidth, but the latency grows linearly with n.
 */
static bool chain_send(uint32_t n, uint32_t rank, uint64_t k, uint64_t step,
                       rdmc_transfer_t *x)
{
    if (rank + 1 >= n || step < rank || step - rank >= k) {
        return false;
    }
    set_transfer(x, rank + 1, step - rank);
    return true;
}

static bool chain_recv(uint32_t n, uint32_t rank, uint64_t k, uint64_t step,
                       rdmc_transfer_t *x)
{
    if (rank == 0 || rank >= n || step + 1 < rank || step + 1 - rank >= k) {
        return false;
    }
    set_transfer(x, rank - 1, step + 1 - rank);
    return true;
}

/*
 * Sequential: the root sends the whole message to rank 1, then to rank 2,
 * and so on (T = k (n - 1)).  A baseline, never a good choice.
 */
static bool sequential_send(uint32_t n, uint32_t rank, uint64_t k, uint64_t step,
                            rdmc_transfer_t *x)
{
    if (rank != 0 || step >= k * (n - 1)) {
        return false;
    }
    set_transfer(x, (uint32_t)(1 + step / k), step % k);
    return true;
}

static bool sequential_recv(uint32_t n, uint32_t rank, uint64_t k, uint64_t step,
                            rdmc_transfer_t *x)
{
    if (rank == 0 || rank >= n || step >= k * (n - 1) || 1 + step / k != rank) {
        return false;
    }
    set_transfer(x, 0, step % k);
    return true;
}

/*
 * Fan-out: the root hands each block to every rank before the next block
 * (block b goes to rank r at step b (n - 1) + r - 1).
 *
 *   t0: 0->1 b0   t1: 0->2 b0   t2: 0->3 b0   t3: 0->1 b1   ...
 *
 * Over a network this is the worst schedule: the root's link carries n - 1
 * copies.  Within one node it is the best: with shared memory the receiver
 * does the copying, so the root's "link" costs nothing, all receivers copy
 * at once, and they read each block while it is still in the shared cache.
 */
static bool fanout_send(uint32_t n, uint32_t rank, uint64_t k, uint64_t step,
                        rdmc_transfer_t *x)
{
    if (rank != 0 || step >= k * (n - 1)) {
        return false;
    }
    set_transfer(x, (uint32_t)(1 + step % (n - 1)), step / (n - 1));
    return true;
}

static bool fanout_recv(uint32_t n, uint32_t rank, uint64_t k, uint64_t step,
                        rdmc_transfer_t *x)
{
    if (rank == 0 || rank >= n || step >= k * (n - 1) || 1 + step % (n - 1) != rank) {
        return false;
    }
    set_transfer(x, 0, step / (n - 1));
    return true;
}

/*
 * Binomial tree without block pipelining: in stage s (k steps long) every
 * rank i < 2^s forwards the whole message to i + 2^s.  T = k ceil(log2 n);
 * latency grows with k log n.  A baseline.
 */
static bool tree_send(uint32_t n, uint32_t rank, uint64_t k, uint64_t step,
                      rdmc_transfer_t *x)
{
    uint64_t stage = step / k;

    if (stage >= ceil_log2(n)) {
        return false;
    }
    uint64_t span = (uint64_t)1 << stage;
    if (rank >= span || rank + span >= n) {
        return false;
    }
    set_transfer(x, (uint32_t)(rank + span), step - stage * k);
    return true;
}

static bool tree_recv(uint32_t n, uint32_t rank, uint64_t k, uint64_t step,
                      rdmc_transfer_t *x)
{
    uint64_t stage = step / k;

    if (rank == 0 || rank >= n || stage >= ceil_log2(n)) {
        return false;
    }
    uint64_t span = (uint64_t)1 << stage;
    if (rank < span || rank >= 2 * span) {
        return false;
    }
    set_transfer(x, (uint32_t)(rank - span), step - stage * k);
    return true;
}

/*
 * Binomial pipeline (RDMC's default).
 *
 * For n = 2^l the nodes are the vertices of an l-dimensional hypercube.  At
 * step t every transfer uses dimension d = t mod l: vertex v may only talk
 * to v ^ 2^d.  Blocks enter the cube from the root one per step and spread
 * along the dimensions, so in steady state every node sends one block and
 * receives one block per step: k + l - 1 steps in all, about the time of a
 * single copy of the message whatever n is.
 *
 *   n = 4, k = 4 (T = 5)
 *   t0: 0->1 b0
 *   t1: 0->2 b1  1->3 b0
 *   t2: 0->1 b2  2->3 b1  3->2 b0
 *   t3: 0->2 b3  1->3 b2  3->1 b1
 *   t4: 0->1 b3  2->3 b3  3->2 b2
 *
 * Other n: with l = floor(log2 n) and m = 2^l the schedule runs on an
 * m-vertex cube and the n - m extra nodes are folded in as twins: node
 * i >= m shares vertex i - m + 1 with node i - m + 1.  Inside a doubled
 * vertex one node takes the blocks coming from other vertices (the
 * "receiver") while the other sends the vertex's outgoing block; the
 * receiver also forwards to its twin the block it took most recently.  The
 * roles swap after every step whose dimension is a set bit of the vertex,
 * which is exactly when the freshly received block is the one the vertex
 * must send next.  One extra final step lets each twin hand the other the
 * last block it lacks: T = k + l.
 */
typedef struct hypercube {
    uint32_t n;      /* nodes */
    uint32_t l;      /* dimensions: floor(log2 n) */
    uint32_t m;      /* vertices: 2^l */
    uint64_t k;      /* blocks */
    uint64_t steps;  /* total steps */
} hypercube_t;

static hypercube_t hypercube_make(uint32_t n, uint64_t k)
{
    hypercube_t hc;

    hc.n = n;
    hc.l = rdmc_floor_log2(n);
    hc.m = (uint32_t)1 << hc.l;
    hc.k = k;
    hc.steps = n < 2 ? 0 : k + hc.l - (n == hc.m ? 1 : 0);
    return hc;
}

static bool hc_has_twins(const hypercube_t *hc)
{
    return hc->n > hc->m;
}

static uint32_t hc_vertex_of(const hypercube_t *hc, uint32_t node)
{
    return node < hc->m ? node : node - hc->m + 1;
}

static bool hc_vertex_is_doubled(const hypercube_t *hc, uint32_t v)
{
    return v != 0 && (uint64_t)v + hc->m - 1 < hc->n;
}

static uint32_t hc_twin_of(const hypercube_t *hc, uint32_t node)
{
    return node < hc->m ? node + hc->m - 1 : node - hc->m + 1;
}

static uint32_t popcount32(uint32_t x)
{
    return (uint32_t)__builtin_popcount(x);
}

/* Role swaps inside vertex v before step t: one after each earlier step
 * whose dimension is a set bit of v. */
static uint64_t hc_role_swaps(const hypercube_t *hc, uint32_t v, uint64_t t)
{
    uint32_t partial_mask = ((uint32_t)1 << (t % hc->l)) - 1;

    return (t / hc->l) * popcount32(v) + popcount32(v & partial_mask);
}

/* The node of vertex v that takes the block arriving from another vertex at t. */
static uint32_t hc_receiver_node(const hypercube_t *hc, uint32_t v, uint64_t t)
{
    if (!hc_vertex_is_doubled(hc, v)) {
        return v;
    }
    return hc_role_swaps(hc, v, t) % 2 ? hc_twin_of(hc, v) : v;
}

/* The node of vertex v that sends the vertex's outgoing block at t. */
static uint32_t hc_sender_node(const hypercube_t *hc, uint32_t v, uint64_t t)
{
    uint32_t receiver = hc_receiver_node(hc, v, t);

    return hc_vertex_is_doubled(hc, v) ? hc_twin_of(hc, receiver) : receiver;
}

/* The hypercube schedule between vertices, steps 0 .. k + l - 2. */
static bool hc_vertex_send(const hypercube_t *hc, uint32_t v, uint64_t t,
                           uint32_t *to_p, uint64_t *block_p)
{
    if (t >= hc->k + hc->l - 1) {
        return false;
    }
    uint32_t d = (uint32_t)(t % hc->l);
    uint32_t partner = v ^ ((uint32_t)1 << d);
    if (partner == 0) {
        return false;   /* nobody sends to the root */
    }

    if (v & ((uint32_t)1 << d)) {
        /* The partner is "below" us in this dimension: it gets the block
         * that entered the cube l steps ago. */
        if (t < hc->l) {
            return false;
        }
        *block_p = t - hc->l;
    } else {
        /* The partner's next set bit after d says how far behind the
         * front of the pipeline it is. */
        uint32_t j;
        for (j = 1; j < hc->l; j++) {
            if (partner & ((uint32_t)1 << ((d + j) % hc->l))) {
                break;
            }
        }
        if (j < hc->l) {
            if (t + j < hc->l) {
                return false;
            }
            *block_p = min_u64(t + j - hc->l, hc->k - 1);
        } else {
            *block_p = min_u64(t, hc->k - 1);   /* partner == 2^d */
        }
    }
    *to_p = partner;
    return true;
}

static bool hc_vertex_recv(const hypercube_t *hc, uint32_t v, uint64_t t,
                           uint32_t *from_p, uint64_t *block_p)
{
    uint32_t partner = v ^ ((uint32_t)1 << (t % hc->l));
    uint32_t target;

    if (!hc_vertex_send(hc, partner, t, &target, block_p)) {
        return false;
    }
    *from_p = partner;
    return true;
}

/* The block the receiver of doubled vertex v forwards to its twin at t:
 * the one it took from another vertex most recently. */
static bool hc_intravertex_block(const hypercube_t *hc, uint32_t v, uint64_t t,
                                 uint64_t *block_p)
{
    uint64_t swaps = hc_role_swaps(hc, v, t);
    uint64_t taken_at;
    uint32_t from;

    if (swaps == 0) {
        return false;   /* the vertex has taken nothing yet */
    }
    if (hc_role_swaps(hc, v, t - 1) == swaps) {
        taken_at = t - 1;   /* no swap: we were the receiver at t - 1 */
    } else {
        /* We were the sender at t - 1; our last turn as receiver ended
         * with the swap before that.  Swaps come at least every l steps,
         * so this walks back at most 2l steps. */
        if (swaps < 2) {
            return false;
        }
        taken_at = t - 1;
        while (hc_role_swaps(hc, v, taken_at) != swaps - 2) {
            taken_at--;
        }
    }
    return hc_vertex_recv(hc, v, taken_at, &from, block_p);
}

/* Before the last step, does `node` (of a doubled vertex, k = 1) hold the block? */
static bool hc_single_block_held(const hypercube_t *hc, uint32_t node);

/* Last step of a twinned cube with a single block: exactly one twin of each
 * doubled vertex holds the block by now (the tests prove it), and hands it
 * to the other. */
static bool hc_last_step_single_block(const hypercube_t *hc, uint32_t node,
                                      bool sending, rdmc_transfer_t *x)
{
    if (!hc_vertex_is_doubled(hc, hc_vertex_of(hc, node)) ||
        hc_single_block_held(hc, node) != sending) {
        return false;
    }
    set_transfer(x, hc_twin_of(hc, node), 0);
    return true;
}

/* Last step of a twinned cube (k > 1): the vertex's sender forwards the block
 * it took during its latest turn as receiver. */
static bool hc_last_step_sender_block(const hypercube_t *hc, uint32_t node,
                                      uint64_t t, uint64_t *block_p)
{
    uint32_t v = hc_vertex_of(hc, node);
    uint64_t turn = t;
    uint32_t from;

    do {
        if (turn == 0) {
            return false;
        }
        turn--;
    } while (hc_receiver_node(hc, v, turn) != node);
    return hc_vertex_recv(hc, v, turn, &from, block_p);
}

static bool hc_node_send(const hypercube_t *hc, uint32_t node, uint64_t t,
                         rdmc_transfer_t *x)
{
    uint32_t v = hc_vertex_of(hc, node);
    bool last = hc_has_twins(hc) && t == hc->steps - 1;
    uint64_t block;
    uint32_t to;

    if (t >= hc->steps) {
        return false;
    }
    if (last && hc->k == 1) {
        return hc_last_step_single_block(hc, node, true, x);
    }
    if (hc_vertex_is_doubled(hc, v) && node == hc_receiver_node(hc, v, t)) {
        if (!hc_intravertex_block(hc, v, t, &block)) {
            return false;
        }
        set_transfer(x, hc_twin_of(hc, node), block);
        return true;
    }
    if (last) {
        if (!hc_vertex_is_doubled(hc, v) ||
            !hc_last_step_sender_block(hc, node, t, &block)) {
            return false;
        }
        set_transfer(x, hc_twin_of(hc, node), block);
        return true;
    }
    if (!hc_vertex_send(hc, v, t, &to, &block)) {
        return false;
    }
    set_transfer(x, hc_receiver_node(hc, to, t), block);
    return true;
}

static bool hc_node_recv(const hypercube_t *hc, uint32_t node, uint64_t t,
                         rdmc_transfer_t *x)
{
    uint32_t v = hc_vertex_of(hc, node);
    bool last = hc_has_twins(hc) && t == hc->steps - 1;
    uint64_t block;
    uint32_t from;

    if (t >= hc->steps || node == 0) {
        return false;
    }
    if (last && hc->k == 1) {
        return hc_last_step_single_block(hc, node, false, x);
    }
    if (hc_vertex_is_doubled(hc, v) && node != hc_receiver_node(hc, v, t)) {
        if (!hc_intravertex_block(hc, v, t, &block)) {
            return false;
        }
        set_transfer(x, hc_twin_of(hc, node), block);
        return true;
    }
    if (last) {
        /* We are the receiver; the twin sends us its last block. */
        uint32_t twin = hc_twin_of(hc, node);
        if (!hc_vertex_is_doubled(hc, v) || !hc_node_send(hc, twin, t, x)) {
            return false;
        }
        x->peer = twin;
        return true;
    }
    if (!hc_vertex_recv(hc, v, t, &from, &block)) {
        return false;
    }
    set_transfer(x, hc_sender_node(hc, from, t), block);
    return true;
}

static bool hc_single_block_held(const hypercube_t *hc, uint32_t node)
{
    rdmc_transfer_t x;

    for (uint64_t t = 0; t + 1 < hc->steps; t++) {
        if (hc_node_recv(hc, node, t, &x)) {
            return true;
        }
    }
    return false;
}

/* ------------------------------------------------------------------------ */

uint64_t rdmc_schedule_num_steps(rdmc_schedule_alg_t alg, uint32_t n, uint64_t k)
{
    if (n < 2 || k == 0) {
        return 0;
    }
    switch (alg) {
    case RDMC_SCHEDULE_BINOMIAL_PIPELINE:
        return hypercube_make(n, k).steps;
    case RDMC_SCHEDULE_CHAIN:
        return k + n - 2;
    case RDMC_SCHEDULE_SEQUENTIAL:
    case RDMC_SCHEDULE_FANOUT:
        return k * (n - 1);
    case RDMC_SCHEDULE_BINOMIAL_TREE:
        return k * ceil_log2(n);
    default:
        return 0;
    }
}

static bool binomial_send(uint32_t n, uint32_t rank, uint64_t k, uint64_t step,
                          rdmc_transfer_t *x)
{
    hypercube_t hc = hypercube_make(n, k);

    return hc_node_send(&hc, rank, step, x);
}

static bool binomial_recv(uint32_t n, uint32_t rank, uint64_t k, uint64_t step,
                          rdmc_transfer_t *x)
{
    hypercube_t hc = hypercube_make(n, k);

    return hc_node_recv(&hc, rank, step, x);
}

typedef bool (*transfer_fn_t)(uint32_t n, uint32_t rank, uint64_t k, uint64_t step,
                              rdmc_transfer_t *x);

typedef struct schedule_def {
    const char *name;
    transfer_fn_t send, recv;
} schedule_def_t;

static const schedule_def_t schedules[RDMC_SCHEDULE_COUNT] = {
    [RDMC_SCHEDULE_BINOMIAL_PIPELINE] = { "binomial_pipeline", binomial_send, binomial_recv },
    [RDMC_SCHEDULE_CHAIN] = { "chain", chain_send, chain_recv },
    [RDMC_SCHEDULE_SEQUENTIAL] = { "sequential", sequential_send, sequential_recv },
    [RDMC_SCHEDULE_BINOMIAL_TREE] = { "binomial_tree", tree_send, tree_recv },
    [RDMC_SCHEDULE_FANOUT] = { "fanout", fanout_send, fanout_recv },
};

static bool schedule_args_valid(rdmc_schedule_alg_t alg, uint32_t n, uint32_t rank, uint64_t k)
{
    return (unsigned)alg < RDMC_SCHEDULE_COUNT && n >= 2 && rank < n && k > 0;
}

bool rdmc_schedule_send(rdmc_schedule_alg_t alg, uint32_t n, uint32_t rank,
                        uint64_t k, uint64_t step, rdmc_transfer_t *to_p)
{
    return schedule_args_valid(alg, n, rank, k) && schedules[alg].send(n, rank, k, step, to_p);
}

bool rdmc_schedule_recv(rdmc_schedule_alg_t alg, uint32_t n, uint32_t rank,
                        uint64_t k, uint64_t step, rdmc_transfer_t *from_p)
{
    return schedule_args_valid(alg, n, rank, k) &&
           schedules[alg].recv(n, rank, k, step, from_p);
}

bool rdmc_schedule_first_recv(rdmc_schedule_alg_t alg, uint32_t n, uint32_t rank,
                              uint64_t k, uint64_t *step_p, rdmc_transfer_t *from_p)
{
    uint64_t first;

    if (!schedule_args_valid(alg, n, rank, k) || rank == 0) {
        return false;
    }
    switch (alg) {
    case RDMC_SCHEDULE_SEQUENTIAL:
        first = (uint64_t)(rank - 1) * k;
        break;
    case RDMC_SCHEDULE_BINOMIAL_TREE:
        first = (uint64_t)rdmc_floor_log2(rank) * k;
        break;
    case RDMC_SCHEDULE_FANOUT:
        first = rank - 1;
        break;
    default: {
        /* Pipelines reach every node within a few steps. */
        uint64_t steps = rdmc_schedule_num_steps(alg, n, k);
        for (first = 0; first < steps; first++) {
            if (rdmc_schedule_recv(alg, n, rank, k, first, from_p)) {
                *step_p = first;
                return true;
            }
        }
        return false;
    }
    }
    if (!rdmc_schedule_recv(alg, n, rank, k, first, from_p)) {
        return false;
    }
    *step_p = first;
    return true;
}

const char *rdmc_schedule_name(rdmc_schedule_alg_t alg)
{
    return (unsigned)alg < RDMC_SCHEDULE_COUNT ? schedules[alg].name : NULL;
}
