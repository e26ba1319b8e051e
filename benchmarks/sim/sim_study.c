/*
 * Running studies and the block-size sweep (see sim_study.h).
 */
#include "sim_study.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_units.h"

sim_ps_t sim_study_metric(const sim_study_t *study, const sim_cell_t *cell)
{
    return study->kind == SIM_STUDY_BY_SLOWDOWN ? cell->result.others_completion
                                                : cell->result.completion;
}

/* Over the budget is an empty cell; anything else stops the study. */
static int run_cell(const sim_setup_t *setup, const sim_params_t *params, sim_alg_t alg,
                    uint32_t n, uint64_t nbytes, uint64_t block_bytes, sim_cell_t *cell)
{
    sim_case_t c = { alg, n, nbytes, block_bytes, setup->segment_bytes };
    char size[32];

    memset(cell, 0, sizeof(*cell));
    cell->status = sim_run(&c, params, &cell->result, NULL);
    if (cell->status == 0 || cell->status == -E2BIG) {
        return 0;
    }
    sim_format_bytes(nbytes, size, sizeof(size));
    fprintf(stderr, "rdmc_sim: simulating %s on %u nodes, %s bytes, failed: %s\n",
            sim_alg_name(alg), n, size, strerror(-cell->status));
    return cell->status;
}

static int run_row(const sim_setup_t *setup, const sim_params_t *params, sim_row_t *row,
                   sim_cell_t *cells)
{
    row->bound = sim_lower_bound(row->n, row->nbytes, &setup->params, &row->bound_k);
    for (unsigned a = 0; a < SIM_ALG_COUNT; a++) {
        if (!setup->selected[a]) {
            continue;
        }
        int rc = run_cell(setup, params, (sim_alg_t)a, row->n, row->nbytes, setup->block_bytes,
                          &cells[a]);
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

static int study_alloc(const sim_setup_t *setup, sim_study_kind_t kind, size_t count,
                       sim_study_t *study)
{
    study->rows = calloc(count ? count : 1, sizeof(*study->rows));
    if (study->rows == NULL) {
        return -ENOMEM;
    }
    study->kind = kind;
    study->setup = setup;
    study->nrows = count;
    return 0;
}

/* The slow node only takes part when it is one of the n nodes. */
static sim_params_t params_for(const sim_setup_t *setup, uint32_t n)
{
    sim_params_t params = setup->params;

    if (params.slow_node != SIM_NO_SLOW_NODE && params.slow_node >= n) {
        params.slow_node = SIM_NO_SLOW_NODE;
    }
    return params;
}

static int study_finish(sim_study_t *study, int rc, sim_study_t *study_p)
{
    if (rc != 0) {
        sim_study_free(study);
        return rc;
    }
    *study_p = *study;
    return 0;
}

int sim_study_by_n(const sim_setup_t *setup, const uint64_t *ns, size_t count, uint64_t nbytes,
                   sim_study_t *study_p)
{
    sim_study_t study;
    int rc = study_alloc(setup, SIM_STUDY_BY_N, count, &study);

    if (rc != 0) {
        return rc;
    }
    for (size_t i = 0; rc == 0 && i < count; i++) {
        sim_row_t *row = &study.rows[i];
        row->n = (uint32_t)ns[i];
        row->nbytes = nbytes;
        sim_params_t params = params_for(setup, row->n);
        rc = run_row(setup, &params, row, row->cells);
    }
    return study_finish(&study, rc, study_p);
}

int sim_study_by_size(const sim_setup_t *setup, uint32_t n, const uint64_t *sizes, size_t count,
                      sim_study_t *study_p)
{
    sim_params_t params = params_for(setup, n);
    sim_study_t study;
    int rc = study_alloc(setup, SIM_STUDY_BY_SIZE, count, &study);

    if (rc != 0) {
        return rc;
    }
    for (size_t i = 0; rc == 0 && i < count; i++) {
        sim_row_t *row = &study.rows[i];
        row->n = n;
        row->nbytes = sizes[i];
        rc = run_row(setup, &params, row, row->cells);
    }
    return study_finish(&study, rc, study_p);
}

int sim_study_by_slowdown(const sim_setup_t *setup, uint32_t n, uint64_t nbytes,
                          const double *factors, size_t count, sim_study_t *study_p)
{
    sim_params_t nominal = params_for(setup, n);
    sim_study_t study;
    int rc = study_alloc(setup, SIM_STUDY_BY_SLOWDOWN, count, &study);

    if (rc != 0) {
        return rc;
    }
    nominal.slow_node = SIM_NO_SLOW_NODE;
    for (size_t i = 0; rc == 0 && i < count; i++) {
        sim_row_t *row = &study.rows[i];
        sim_params_t slowed = params_for(setup, n);
        row->n = n;
        row->nbytes = nbytes;
        row->slow_factor = factors[i];
        slowed.slow_factor = factors[i];
        rc = run_row(setup, &slowed, row, row->cells);
        if (rc == 0) {
            rc = run_row(setup, &nominal, row, row->baseline);
        }
    }
    return study_finish(&study, rc, study_p);
}

void sim_study_free(sim_study_t *study)
{
    free(study->rows);
    study->rows = NULL;
    study->nrows = 0;
}

/* ---- the block-size sweep ------------------------------------------------ */

static int sweep_row(const sim_setup_t *setup, sim_sweep_row_t *row)
{
    sim_params_t params = params_for(setup, row->n);
    int rc = run_cell(setup, &params, row->alg, row->n, row->nbytes, 0, &row->automatic);

    row->best = -1;
    for (int i = 0; rc == 0 && i < SIM_SWEEP_BLOCKS; i++) {
        sim_cell_t *cell = &row->fixed[i];
        rc = run_cell(setup, &params, row->alg, row->n, row->nbytes, SIM_SWEEP_MIN_BLOCK << i,
                      cell);
        if (rc == 0 && cell->status == 0 &&
            (row->best < 0 || cell->result.completion < row->fixed[row->best].result.completion)) {
            row->best = i;
        }
    }
    return rc;
}

int sim_sweep_run(const sim_setup_t *setup, const uint64_t *ns, size_t n_count,
                  const uint64_t *sizes, size_t size_count, sim_sweep_t *sweep_p)
{
    sim_sweep_t sweep = { setup, 0, NULL };
    size_t algs = 0;
    int rc = 0;

    for (unsigned a = 0; a < SIM_ALG_COUNT; a++) {
        algs += setup->selected[a] && sim_alg_is_pipelined((sim_alg_t)a);
    }
    sweep.rows = calloc(algs * n_count * size_count + 1, sizeof(*sweep.rows));
    if (sweep.rows == NULL) {
        return -ENOMEM;
    }
    for (unsigned a = 0; rc == 0 && a < SIM_ALG_COUNT; a++) {
        if (!setup->selected[a] || !sim_alg_is_pipelined((sim_alg_t)a)) {
            continue;
        }
        for (size_t i = 0; rc == 0 && i < n_count; i++) {
            for (size_t j = 0; rc == 0 && j < size_count; j++) {
                sim_sweep_row_t *row = &sweep.rows[sweep.nrows++];
                row->alg = (sim_alg_t)a;
                row->n = (uint32_t)ns[i];
                row->nbytes = sizes[j];
                rc = sweep_row(setup, row);
            }
        }
    }
    if (rc != 0) {
        sim_sweep_free(&sweep);
        return rc;
    }
    *sweep_p = sweep;
    return 0;
}

void sim_sweep_free(sim_sweep_t *sweep)
{
    free(sweep->rows);
    sweep->rows = NULL;
    sweep->nrows = 0;
}
