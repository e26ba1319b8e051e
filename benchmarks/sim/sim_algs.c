/*
 * The simulated broadcasts by name, how each cuts a message, and sim_run().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "coll/core/rdmc_blocksize.h"
#include "sim_broadcasts.h"

typedef int (*sim_run_fn_t)(const sim_case_t *c, const sim_params_t *params,
                            const sim_plan_t *plan, sim_ps_t *done);

typedef struct sim_alg_def {
    const char *name;
    const char *label;
    sim_run_fn_t run;
} sim_alg_def_t;

static const sim_alg_def_t algs[SIM_ALG_COUNT] = {
    [SIM_ALG_BINOMIAL_PIPELINE] = { "binomial_pipeline", "bin_pipe", sim_rdmc_replay },
    [SIM_ALG_CHAIN] = { "chain", "chain", sim_rdmc_replay },
    [SIM_ALG_SEQUENTIAL] = { "sequential", "sequential", sim_rdmc_replay },
    [SIM_ALG_BINOMIAL_TREE] = { "binomial_tree", "bin_tree", sim_rdmc_replay },
    [SIM_ALG_FANOUT] = { "fanout", "fanout", sim_rdmc_replay },
    [SIM_ALG_MPI_BINOMIAL] = { "mpi_binomial", "mpi_binom", sim_mpi_binomial },
    [SIM_ALG_MPI_CHAIN] = { "mpi_chain", "mpi_chain", sim_mpi_chain },
    [SIM_ALG_MPI_SCATTER_ALLGATHER] = { "mpi_scatter_allgather", "mpi_scat_ag",
                                        sim_mpi_scatter_allgather },
};

const char *sim_alg_name(sim_alg_t alg)
{
    return (unsigned)alg < SIM_ALG_COUNT ? algs[alg].name : NULL;
}

const char *sim_alg_label(sim_alg_t alg)
{
    return (unsigned)alg < SIM_ALG_COUNT ? algs[alg].label : NULL;
}

sim_alg_t sim_alg_from_name(const char *name)
{
    for (unsigned a = 0; a < SIM_ALG_COUNT; a++) {
        if (strcmp(name, algs[a].name) == 0 || strcmp(name, algs[a].label) == 0) {
            return (sim_alg_t)a;
        }
    }
    return SIM_ALG_COUNT;
}

bool sim_alg_is_rdmc(sim_alg_t alg)
{
    return (unsigned)alg < RDMC_SCHEDULE_COUNT;
}

bool sim_alg_is_pipelined(sim_alg_t alg)
{
    return alg == SIM_ALG_BINOMIAL_PIPELINE || alg == SIM_ALG_CHAIN;
}

static uint64_t div_round_up(uint64_t a, uint64_t b)
{
    return (a + b - 1) / b;
}

int sim_plan(const sim_case_t *c, const sim_params_t *params, sim_plan_t *plan_p)
{
    uint32_t depth = sim_ceil_log2(c->n);
    sim_plan_t plan;

    if ((unsigned)c->alg >= SIM_ALG_COUNT || c->n < 2) {
        return -EINVAL;
    }
    switch (c->alg) {
    case SIM_ALG_MPI_BINOMIAL:
        plan.block_bytes = c->nbytes;
        plan.blocks = 1;
        plan.steps = depth;
        break;
    case SIM_ALG_MPI_CHAIN:
        plan.block_bytes = c->segment_bytes ? c->segment_bytes : SIM_DEFAULT_SEGMENT_BYTES;
        plan.blocks = c->nbytes == 0 ? 1 : div_round_up(c->nbytes, plan.block_bytes);
        plan.steps = plan.blocks + c->n - 2;
        break;
    case SIM_ALG_MPI_SCATTER_ALLGATHER:
        plan.block_bytes = div_round_up(c->nbytes, c->n);
        plan.blocks = c->n;
        plan.steps = depth + c->n - 1;
        break;
    default: {
        rdmc_schedule_alg_t alg = (rdmc_schedule_alg_t)c->alg;
        rdmc_cost_model_t model = { params->alpha_us, params->beta_ns_per_byte,
                                    params->min_block_bytes, params->max_block_bytes };
        plan.block_bytes = rdmc_block_bytes(alg, c->n, c->nbytes, c->block_bytes, &model);
        plan.blocks = rdmc_block_count(c->nbytes, plan.block_bytes);
        plan.steps = rdmc_schedule_num_steps(alg, c->n, plan.blocks);
        break;
    }
    }
    *plan_p = plan;
    return 0;
}

int sim_run(const sim_case_t *c, const sim_params_t *params, sim_result_t *result_p,
            sim_ps_t *done_p)
{
    sim_ps_t *done = done_p;
    sim_result_t result;
    int rc;

    rc = sim_plan(c, params, &result.plan);
    if (rc != 0) {
        return rc;
    }
    if (done == NULL) {
        done = malloc(c->n * sizeof(*done));
        if (done == NULL) {
            return -ENOMEM;
        }
    }
    rc = algs[c->alg].run(c, params, &result.plan, done);
    if (rc != 0) {
        goto free_done;
    }

    result.completion = 0;
    result.others_completion = 0;
    for (uint32_t node = 1; node < c->n; node++) {
        if (done[node] == SIM_NEVER) {
            rc = -EPROTO;   /* a node never got the whole message */
            goto free_done;
        }
        if (done[node] > result.completion) {
            result.completion = done[node];
        }
        if (node != params->slow_node && done[node] > result.others_completion) {
            result.others_completion = done[node];
        }
    }
    *result_p = result;

free_done:
    if (done != done_p) {
        free(done);
    }
    return rc;
}
