/*
 * Studies: many simulated broadcasts, one row per value of the quantity
 * studied (n, the message size, or the slow node's factor) and one column
 * per algorithm; and the block-size sweep.  Running them is kept apart from
 * printing them (sim_table.c) and plotting them (sim_plot.c).
 */
#ifndef SIM_STUDY_H
#define SIM_STUDY_H

#include <stdbool.h>
#include <stddef.h>

#include "sim_model.h"

typedef enum sim_study_kind {
    SIM_STUDY_BY_N,          /* completion time vs n, fixed size */
    SIM_STUDY_BY_SIZE,       /* completion time vs size, fixed n */
    SIM_STUDY_BY_SLOWDOWN,   /* the other nodes' completion vs the slow node's factor */
} sim_study_kind_t;

typedef struct sim_cell {
    int status;            /* 0, or why there is no result (-E2BIG: over the budget) */
    sim_result_t result;
} sim_cell_t;

typedef struct sim_row {
    uint32_t n;
    uint64_t nbytes;
    double slow_factor;                /* BY_SLOWDOWN only */
    sim_ps_t bound;                    /* sim_lower_bound() */
    uint64_t bound_k;
    sim_cell_t cells[SIM_ALG_COUNT];   /* run for the selected algorithms */
    sim_cell_t baseline[SIM_ALG_COUNT];   /* BY_SLOWDOWN: the same without a slow node */
} sim_row_t;

/* What every row shares. */
typedef struct sim_setup {
    sim_params_t params;
    bool selected[SIM_ALG_COUNT];
    uint64_t block_bytes;     /* RDMC: 0 = automatic */
    uint64_t segment_bytes;   /* mpi_chain */
} sim_setup_t;

typedef struct sim_study {
    sim_study_kind_t kind;
    const sim_setup_t *setup;
    size_t nrows;
    sim_row_t *rows;
} sim_study_t;

/* The number the study reports for a cell: the completion time, or for
 * BY_SLOWDOWN the completion of the nodes other than the slow one. */
sim_ps_t sim_study_metric(const sim_study_t *study, const sim_cell_t *cell);

/* Rows over n (at nbytes), over sizes (at n), or over slow factors (at n
 * and nbytes, the slow node from setup->params.slow_node). */
int sim_study_by_n(const sim_setup_t *setup, const uint64_t *ns, size_t count, uint64_t nbytes,
                   sim_study_t *study_p);
int sim_study_by_size(const sim_setup_t *setup, uint32_t n, const uint64_t *sizes, size_t count,
                      sim_study_t *study_p);
int sim_study_by_slowdown(const sim_setup_t *setup, uint32_t n, uint64_t nbytes,
                          const double *factors, size_t count, sim_study_t *study_p);
void sim_study_free(sim_study_t *study);

/* ---- the block-size sweep ------------------------------------------------ */

#define SIM_SWEEP_MIN_BLOCK ((uint64_t)16 << 10)
#define SIM_SWEEP_BLOCKS 9   /* 16 KiB, 32 KiB, ..., 4 MiB */

typedef struct sim_sweep_row {
    uint32_t n;
    uint64_t nbytes;
    sim_alg_t alg;
    sim_cell_t automatic;
    sim_cell_t fixed[SIM_SWEEP_BLOCKS];   /* block SIM_SWEEP_MIN_BLOCK << i */
    int best;                             /* index into fixed[]; -1 if none ran */
} sim_sweep_row_t;

typedef struct sim_sweep {
    const sim_setup_t *setup;
    size_t nrows;
    sim_sweep_row_t *rows;
} sim_sweep_t;

/* Every (n, size) pair for each selected pipelined RDMC schedule. */
int sim_sweep_run(const sim_setup_t *setup, const uint64_t *ns, size_t n_count,
                  const uint64_t *sizes, size_t size_count, sim_sweep_t *sweep_p);
void sim_sweep_free(sim_sweep_t *sweep);

#endif
