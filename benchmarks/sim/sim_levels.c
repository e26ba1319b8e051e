/*
 * The broadcasts of the two-level machine (sim_levels.h).  They all run on
 * one sim_net_t built on the machine, so levels share its ports, links and
 * cores.
 */
#include "sim_levels.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "coll/core/rdmc_blocksize.h"
#include "coll/core/rdmc_groups.h"
#include "sim_broadcasts.h"

static const char *const names[SIM_LEVELS_COUNT] = {
    [SIM_LEVELS_RDMC] = "rdmc",
    [SIM_LEVELS_RDMC_FLAT] = "rdmc_flat",
    [SIM_LEVELS_TUNED_CHAIN] = "tuned_chain",
    [SIM_LEVELS_HAN] = "han",
};

const char *sim_levels_alg_name(sim_levels_alg_t alg)
{
    return (unsigned)alg < SIM_LEVELS_COUNT ? names[alg] : NULL;
}

static sim_ps_t max_ps(sim_ps_t a, sim_ps_t b)
{
    return a > b ? a : b;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* Schedule rank i of a group is member (root's index + i) mod count: its
 * ranks relabelled relative to its root, as the engine relabels a
 * communicator's.  members ascend and hold the root. */
static void relative_to_root(const uint32_t *members, uint32_t count, uint32_t root,
                             uint32_t *rank_of)
{
    uint32_t at = 0;

    while (members[at] != root) {
        at++;
    }
    for (uint32_t i = 0; i < count; i++) {
        rank_of[i] = members[(at + i) % count];
    }
}

/* The same for ranks first .. first+count-1. */
static void rotate_to_root(uint32_t first, uint32_t count, uint32_t root, uint32_t *rank_of)
{
    for (uint32_t i = 0; i < count; i++) {
        rank_of[i] = first + (root - first + i) % count;
    }
}

/* ---- rdmc by levels ------------------------------------------------------ */

/* One engine run: a group of rdmc_groups_of(), its ranks relative to its
 * root (rank_of[0] is the root). */
typedef struct level_group {
    uint32_t level;
    uint32_t count;
    uint32_t *rank_of;
} level_group_t;

/* What a rank received, in the blocks of the group it received in. */
typedef struct arrivals {
    uint64_t block_bytes;   /* 0: nothing received (the root holds all from 0) */
    uint64_t blocks;
    sim_ps_t *at;           /* per block; SIM_NEVER until it arrived */
} arrivals_t;

typedef struct levels_run {
    const sim_machine_t *machine;
    const sim_levels_case_t *c;
    const sim_params_t *params;
    sim_net_t *net;
    level_group_t *groups;
    uint32_t ngroups;
    arrivals_t *arrivals;    /* per rank */
    uint64_t kept;           /* arrival times kept so far, against the budget */
} levels_run_t;

static int by_level(const void *a, const void *b)
{
    const level_group_t *x = a, *y = b;

    if (x->level != y->level) {
        return x->level < y->level ? -1 : 1;
    }
    return x->rank_of[0] < y->rank_of[0] ? -1 : x->rank_of[0] > y->rank_of[0];
}

/* Does the group `me` receives in, as it sees it, match the one its root
 * listed?  Every member computes its groups alone, as the engine's ranks do:
 * they must agree or the engine's runs would not meet. */
static bool receivers_agree(const levels_run_t *run, const rdmc_bcast_group_t *mine)
{
    for (uint32_t i = 0; i < run->ngroups; i++) {
        const level_group_t *g = &run->groups[i];
        if (g->rank_of[0] != mine->root || g->level != mine->level) {
            continue;
        }
        if (g->count != mine->nmembers) {
            return false;
        }
        for (uint32_t j = 0; j < g->count; j++) {
            bool found = false;
            for (uint32_t k = 0; k < mine->nmembers && !found; k++) {
                found = mine->members[k] == g->rank_of[j];
            }
            if (!found) {
                return false;
            }
        }
        return true;
    }
    return false;
}

/* Every group once, from its root's list, ordered by level: a group's root
 * received in a higher (lower-numbered) level, replayed before it.
 * -EPROTO if a rank's own view of its group differs from its root's. */
static int collect_groups(levels_run_t *run, const rdmc_layout_t *lay)
{
    uint32_t n = run->machine->n, root = run->c->root;
    rdmc_bcast_group_t groups[RDMC_GROUP_LEVELS];
    uint32_t *storage = malloc(RDMC_GROUPS_STORAGE(n) * sizeof(*storage));
    int rc = 0;

    if (storage == NULL) {
        return -ENOMEM;
    }
    /* Each group has a root and at least one receiver, which receives in
     * no other group: at most n - 1 groups. */
    run->groups = calloc(n, sizeof(*run->groups));
    if (run->groups == NULL) {
        rc = -ENOMEM;
        goto free_storage;
    }
    for (uint32_t me = 0; me < n; me++) {
        uint32_t count = rdmc_groups_of(lay, NULL, n, root, me, groups, storage);
        for (uint32_t i = 0; i < count; i++) {
            if (groups[i].root != me) {
                continue;
            }
            level_group_t *g = &run->groups[run->ngroups];
            if (run->ngroups == n - 1) {
                rc = -EPROTO;
                goto free_storage;
            }
            g->rank_of = malloc(groups[i].nmembers * sizeof(*g->rank_of));
            if (g->rank_of == NULL) {
                rc = -ENOMEM;
                goto free_storage;
            }
            g->level = groups[i].level;
            g->count = groups[i].nmembers;
            relative_to_root(groups[i].members, g->count, me, g->rank_of);
            run->ngroups++;
        }
    }
    for (uint32_t me = 0; me < n; me++) {
        /* A receiver's first group is the one it receives in. */
        if (me != root && (rdmc_groups_of(lay, NULL, n, root, me, groups, storage) == 0 ||
                           !receivers_agree(run, &groups[0]))) {
            rc = -EPROTO;
            goto free_storage;
        }
    }
    qsort(run->groups, run->ngroups, sizeof(*run->groups), by_level);
free_storage:
    free(storage);
    return rc;
}

static int arrivals_start(levels_run_t *run, uint32_t rank, uint64_t block_bytes, uint64_t blocks)
{
    arrivals_t *a = &run->arrivals[rank];

    if (a->at != NULL) {
        return -EPROTO;   /* a rank receives in one group only */
    }
    if (blocks > SIM_MAX_KEPT_ARRIVALS - run->kept) {
        return -E2BIG;
    }
    a->at = malloc(blocks * sizeof(*a->at));
    if (a->at == NULL) {
        return -ENOMEM;
    }
    for (uint64_t b = 0; b < blocks; b++) {
        a->at[b] = SIM_NEVER;
    }
    a->block_bytes = block_bytes;
    a->blocks = blocks;
    run->kept += blocks;
    return 0;
}

/* When `rank` holds bytes [lo, lo + len): the last of the blocks it
 * received them in; 0 for the root; SIM_NEVER if one never came. */
static sim_ps_t held_since(const levels_run_t *run, uint32_t rank, uint64_t lo, uint64_t len)
{
    const arrivals_t *a = &run->arrivals[rank];
    sim_ps_t t = 0;

    if (rank == run->c->root) {
        return 0;
    }
    if (a->at == NULL) {
        return SIM_NEVER;
    }
    uint64_t first = lo / a->block_bytes;
    uint64_t last = len == 0 ? first : (lo + len - 1) / a->block_bytes;
    for (uint64_t b = first; b <= last && b < a->blocks; b++) {
        t = max_ps(t, a->at[b]);
    }
    return t;
}

/* Level 0: the binomial pipeline among the nodes' leaders, from the root
 * (the replay's schedule rank 0 holds every block from time 0). */
static int run_pipeline_group(levels_run_t *run, const level_group_t *g, uint64_t *block_bytes_p)
{
    sim_case_t pc = { SIM_ALG_BINOMIAL_PIPELINE, g->count, run->c->nbytes, run->c->block_bytes,
                      0 };
    sim_holdings_t holdings;
    sim_ps_t *done;
    sim_plan_t plan;
    int rc;

    if (g->rank_of[0] != run->c->root) {
        return -EPROTO;
    }
    rc = sim_plan(&pc, run->params, &plan);
    if (rc != 0) {
        return rc;
    }
    if (plan.steps > SIM_MAX_WORK / g->count || plan.blocks > SIM_MAX_KEPT_ARRIVALS / g->count) {
        return -E2BIG;
    }
    done = malloc(g->count * sizeof(*done));
    if (done == NULL) {
        return -ENOMEM;
    }
    rc = sim_holdings_init(&holdings, g->count, plan.blocks, true);
    if (rc != 0) {
        goto free_done;
    }
    rc = sim_rdmc_replay_on(run->net, g->rank_of, RDMC_SCHEDULE_BINOMIAL_PIPELINE, g->count,
                            run->c->nbytes, &plan, &holdings, done);
    for (uint32_t i = 1; rc == 0 && i < g->count; i++) {
        uint32_t rank = g->rank_of[i];
        rc = arrivals_start(run, rank, plan.block_bytes, plan.blocks);
        for (uint64_t b = 0; rc == 0 && b < plan.blocks; b++) {
            if (sim_holdings_get(&holdings, i, b, &run->arrivals[rank].at[b]) != SIM_HELD_AT) {
                rc = -EPROTO;
            }
        }
    }
    if (rc == 0) {
        *block_bytes_p = plan.block_bytes;
    }
    sim_holdings_fini(&holdings);
free_done:
    free(done);
    return rc;
}

/* Inside a node: the fan-out from its leader, in the order the engine's
 * schedule serves the receivers; each copy as soon as the leader holds its
 * bytes and the receiver (and a core) is free. */
static int run_fanout_group(levels_run_t *run, const level_group_t *g, uint64_t cap_bytes,
                            uint64_t *block_bytes_p)
{
    const sim_mem_params_t *mem = &run->machine->mem;
    rdmc_cost_model_t model = { mem->alpha_us, mem->beta_ns_per_byte, 0, cap_bytes };
    uint64_t nbytes = run->c->nbytes;
    uint64_t block = rdmc_block_bytes(RDMC_SCHEDULE_FANOUT, g->count, nbytes,
                                      run->c->mem_block_bytes, &model);
    uint64_t k = rdmc_block_count(nbytes, block);
    uint64_t steps = rdmc_schedule_num_steps(RDMC_SCHEDULE_FANOUT, g->count, k);
    uint32_t leader = g->rank_of[0];
    int rc = 0;

    if (steps > SIM_MAX_WORK) {
        return -E2BIG;
    }
    for (uint32_t i = 1; rc == 0 && i < g->count; i++) {
        rc = arrivals_start(run, g->rank_of[i], block, k);
    }
    for (uint64_t step = 0; rc == 0 && step < steps; step++) {
        rdmc_transfer_t x;
        if (!rdmc_schedule_send(RDMC_SCHEDULE_FANOUT, g->count, 0, k, step, &x)) {
            continue;
        }
        uint64_t len = rdmc_block_len(nbytes, block, x.block);
        sim_ps_t ready = held_since(run, leader, x.block * block, len);
        if (ready == SIM_NEVER) {
            rc = -EPROTO;
            break;
        }
        uint32_t to = g->rank_of[x.peer];
        run->arrivals[to].at[x.block] = sim_net_copy(run->net, leader, to, len, ready);
    }
    if (rc == 0) {
        *block_bytes_p = block;
    }
    return rc;
}

static void levels_run_free(levels_run_t *run)
{
    for (uint32_t i = 0; run->groups != NULL && i < run->ngroups; i++) {
        free(run->groups[i].rank_of);
    }
    free(run->groups);
    for (uint32_t r = 0; run->arrivals != NULL && r < run->machine->n; r++) {
        free(run->arrivals[r].at);
    }
    free(run->arrivals);
}

static int rdmc_levels(const sim_machine_t *machine, const sim_levels_case_t *c,
                       const sim_params_t *params, sim_net_t *net, sim_levels_result_t *result,
                       sim_ps_t *done)
{
    levels_run_t run = { machine, c, params, net, NULL, 0, NULL, 0 };
    rdmc_layout_t lay;
    int rc;

    rc = sim_machine_rdmc_layout(machine, &lay);
    if (rc != 0) {
        return rc;
    }
    rc = collect_groups(&run, &lay);
    if (rc != 0) {
        goto free_run;
    }
    run.arrivals = calloc(machine->n, sizeof(*run.arrivals));
    if (run.arrivals == NULL) {
        rc = -ENOMEM;
        goto free_run;
    }
    /* Groups come by level: level 0 (if any) first, and its block caps the
     * fan-outs' automatic blocks. */
    for (uint32_t i = 0; rc == 0 && i < run.ngroups; i++) {
        const level_group_t *g = &run.groups[i];
        if (g->level == 0) {
            rc = run_pipeline_group(&run, g, &result->block_bytes);
        } else {
            rc = run_fanout_group(&run, g, result->block_bytes, &result->mem_block_bytes);
        }
    }
    for (uint32_t r = 0; rc == 0 && r < machine->n; r++) {
        const arrivals_t *a = &run.arrivals[r];
        done[r] = r == c->root ? 0 : a->at == NULL ? SIM_NEVER : held_since(&run, r, 0, c->nbytes);
    }
free_run:
    levels_run_free(&run);
    rdmc_layout_free(&lay);
    return rc;
}

/* ---- over all ranks ---------------------------------------------------- */

/* Schedule ranks relative to the root, in rank order. */
static uint32_t *ranks_from_root(const sim_machine_t *machine, uint32_t root)
{
    uint32_t *rank_of = malloc(machine->n * sizeof(*rank_of));

    if (rank_of != NULL) {
        rotate_to_root(0, machine->n, root, rank_of);
    }
    return rank_of;
}

/* rdmc_flat and tuned_chain: one schedule over all ranks, relative to the
 * root in rank order. */
static int over_all_ranks(const sim_machine_t *machine, const sim_levels_case_t *c,
                          const sim_params_t *params, sim_net_t *net, sim_alg_t alg,
                          sim_levels_result_t *result, sim_ps_t *done)
{
    uint32_t n = machine->n;
    sim_case_t pc = { alg, n, c->nbytes, c->block_bytes, c->segment_bytes };
    sim_holdings_t holdings;
    uint32_t *rank_of;
    sim_ps_t *sched_done;
    sim_plan_t plan;
    int rc;

    rc = sim_plan(&pc, params, &plan);
    if (rc != 0) {
        return rc;
    }
    if (plan.steps > SIM_MAX_WORK / n || plan.blocks > SIM_MAX_KEPT_ARRIVALS / n) {
        return -E2BIG;
    }
    rank_of = ranks_from_root(machine, c->root);
    sched_done = malloc(n * sizeof(*sched_done));
    if (rank_of == NULL || sched_done == NULL) {
        rc = -ENOMEM;
        goto free_arrays;
    }
    if (alg == SIM_ALG_MPI_CHAIN) {
        sim_mpi_chain_on(net, rank_of, n, c->nbytes, &plan, sched_done);
    } else {
        rc = sim_holdings_init(&holdings, n, plan.blocks, true);
        if (rc != 0) {
            goto free_arrays;
        }
        rc = sim_rdmc_replay_on(net, rank_of, (rdmc_schedule_alg_t)alg, n, c->nbytes, &plan,
                                &holdings, sched_done);
        sim_holdings_fini(&holdings);
    }
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        done[rank_of[i]] = sched_done[i];
    }
    if (rc == 0) {
        result->block_bytes = plan.block_bytes;
    }
free_arrays:
    free(sched_done);
    free(rank_of);
    return rc;
}

static int rdmc_flat(const sim_machine_t *machine, const sim_levels_case_t *c,
                     const sim_params_t *params, sim_net_t *net, sim_levels_result_t *result,
                     sim_ps_t *done)
{
    return over_all_ranks(machine, c, params, net, SIM_ALG_BINOMIAL_PIPELINE, result, done);
}

static int tuned_chain(const sim_machine_t *machine, const sim_levels_case_t *c,
                       const sim_params_t *params, sim_net_t *net, sim_levels_result_t *result,
                       sim_ps_t *done)
{
    return over_all_ranks(machine, c, params, net, SIM_ALG_MPI_CHAIN, result, done);
}

/* ---- han ----------------------------------------------------------------- */

static uint32_t node_leader(const sim_machine_t *machine, uint32_t node, uint32_t root)
{
    return machine->node_of[root] == node ? root : machine->first_rank[node];
}

static int han(const sim_machine_t *machine, const sim_levels_case_t *c,
               const sim_params_t *params, sim_net_t *net, sim_levels_result_t *result,
               sim_ps_t *done)
{
    uint32_t nnodes = machine->nnodes, root_node = machine->node_of[c->root];
    uint64_t segment = c->han_segment_bytes != 0 ? c->han_segment_bytes : c->nbytes;
    uint64_t segments = c->nbytes == 0 ? 1 : (c->nbytes + segment - 1) / segment;
    /* Scratch: the leaders and their arrivals, then one node's ranks and
     * theirs; a node has at most n ranks. */
    uint32_t *up = malloc((nnodes + machine->n) * sizeof(*up));
    sim_ps_t *up_done = malloc((nnodes + machine->n) * sizeof(*up_done));
    int rc = 0;

    (void)params;
    if (up == NULL || up_done == NULL) {
        rc = -ENOMEM;
        goto free_arrays;
    }
    if (segments > SIM_MAX_WORK / machine->n) {
        rc = -E2BIG;
        goto free_arrays;
    }
    uint32_t *local = up + nnodes;
    sim_ps_t *local_done = up_done + nnodes;
    for (uint32_t i = 0; i < nnodes; i++) {
        up[i] = node_leader(machine, (root_node + i) % nnodes, c->root);
    }
    for (uint32_t r = 0; r < machine->n; r++) {
        done[r] = 0;
    }
    for (uint64_t s = 0; s < segments; s++) {
        uint64_t start = s * segment;
        uint64_t len = start < c->nbytes ? min_u64(segment, c->nbytes - start) : 0;
        sim_mpi_binomial_on(net, up, nnodes, len, 0, up_done);
        for (uint32_t i = 0; i < nnodes; i++) {
            uint32_t node = machine->node_of[up[i]];
            uint32_t first = machine->first_rank[node];
            uint32_t width = machine->first_rank[node + 1] - first;
            rotate_to_root(first, width, up[i], local);
            sim_mpi_binomial_on(net, local, width, len, up_done[i], local_done);
            for (uint32_t j = 0; j < width; j++) {
                done[local[j]] = max_ps(done[local[j]], local_done[j]);
            }
        }
    }
    if (rc == 0) {
        result->block_bytes = segment;
    }
free_arrays:
    free(up);
    free(up_done);
    return rc;
}

/* ---- entry --------------------------------------------------------------- */

typedef int (*levels_fn_t)(const sim_machine_t *machine, const sim_levels_case_t *c,
                           const sim_params_t *params, sim_net_t *net,
                           sim_levels_result_t *result, sim_ps_t *done);

static const levels_fn_t runs[SIM_LEVELS_COUNT] = {
    [SIM_LEVELS_RDMC] = rdmc_levels,
    [SIM_LEVELS_RDMC_FLAT] = rdmc_flat,
    [SIM_LEVELS_TUNED_CHAIN] = tuned_chain,
    [SIM_LEVELS_HAN] = han,
};

int sim_levels_run(const sim_machine_t *machine, const sim_levels_case_t *c,
                   const sim_params_t *params, sim_levels_result_t *result_p, sim_ps_t *done_p,
                   uint64_t *received_p)
{
    sim_levels_result_t result = { 0, 0, 0, 0 };
    sim_ps_t *done = done_p;
    sim_net_t net;
    int rc;

    if ((unsigned)c->alg >= SIM_LEVELS_COUNT || machine->n < 2 || c->root >= machine->n) {
        return -EINVAL;
    }
    rc = sim_net_init_machine(&net, params, machine);
    if (rc != 0) {
        return rc;
    }
    if (done == NULL) {
        done = malloc(machine->n * sizeof(*done));
        if (done == NULL) {
            rc = -ENOMEM;
            goto fini_net;
        }
    }
    rc = runs[c->alg](machine, c, params, &net, &result, done);
    for (uint32_t r = 0; rc == 0 && r < machine->n; r++) {
        if (done[r] == SIM_NEVER) {
            rc = -EPROTO;   /* a rank never got the whole message */
        } else if (done[r] > result.completion) {
            result.completion = done[r];
        }
    }
    if (rc == 0) {
        result.busiest_link_bytes = sim_net_busiest_link_bytes(&net);
        if (received_p != NULL) {
            memcpy(received_p, net.received, machine->n * sizeof(*received_p));
        }
        *result_p = result;
    }
    if (done != done_p) {
        free(done);
    }
fini_net:
    sim_net_fini(&net);
    return rc;
}
