/*
 * Showing studies: plain text tables (sim_table.c) and gnuplot data,
 * script and PNGs (sim_plot.c).
 */
#ifndef SIM_REPORT_H
#define SIM_REPORT_H

#include <stdio.h>

#include "sim_levels.h"
#include "sim_study.h"

/* The network and broadcast parameters every table shares. */
void sim_table_print_setup(FILE *out, const sim_setup_t *setup);

/* Times per algorithm in us, then their ratios (to the lower bound, or for
 * a slowdown study to the same broadcast without the slow node). */
void sim_table_print_study(FILE *out, const sim_study_t *study);

/* RDMC's step-count cost model next to the simulated time: the binomial
 * pipeline's k + log2 N - 1 steps against a chain's k + N - 2. */
void sim_table_print_rdmc_model(FILE *out, const sim_study_t *study);

/* Blocks and steps of each selected algorithm, without simulating. */
void sim_table_print_step_counts(FILE *out, const sim_setup_t *setup, const uint64_t *ns,
                                 size_t n_count, const uint64_t *sizes, size_t size_count);

/* The automatic block size against the best fixed one. */
void sim_table_print_sweep(FILE *out, const sim_sweep_t *sweep);

/* The memory, the core limit and how rdmc, han and the chain cut a message
 * on the two-level machine (shape: the case every run starts from). */
void sim_table_print_levels_setup(FILE *out, const sim_mem_params_t *mem,
                                  const sim_levels_case_t *shape);

/* One layout and size: for each broadcast of sim_levels.h its time, the
 * time over the link time (m beta), its blocks or segments, and the most
 * bytes one node's link carried one way over m.  status[a] != 0: not run. */
void sim_table_print_levels(FILE *out, const sim_machine_t *machine, uint32_t root,
                            uint64_t nbytes, const sim_params_t *params,
                            const sim_levels_result_t *results, const int *status);

/*
 * Writes PREFIX-<study>.dat for each study and one script, PREFIX.gp, that
 * draws PREFIX-<study>.png from them; runs gnuplot when it is on PATH.
 * Returns 0 or a negative errno (after saying why on stderr).
 */
int sim_plot_write(const char *prefix, const sim_study_t *const *studies, size_t count);

#endif
