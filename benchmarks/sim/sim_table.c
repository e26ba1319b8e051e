/*
 * Plain text tables: one row per n, size or factor, one column per
 * algorithm, right-aligned so that `column -t` or a spreadsheet reads them.
 */
#include <errno.h>

#include "sim_report.h"
#include "sim_units.h"

#define COL "%12s"
#define SIZE_TEXT 32

static void print_time(FILE *out, sim_ps_t ps)
{
    double us = sim_ps_to_us(ps);

    /* Eleven characters wide: tenths while they fit, then whole us. */
    fprintf(out, us < 1e7 ? " %11.1f" : us < 1e11 ? " %11.0f" : " %11.4g", us);
}

static void print_ratio(FILE *out, double ratio)
{
    fprintf(out, " %11.3f", ratio);
}

static void print_missing(FILE *out)
{
    fprintf(out, COL, "-");
}

static void print_bytes(FILE *out, uint64_t bytes)
{
    char text[SIZE_TEXT];

    sim_format_bytes(bytes, text, sizeof(text));
    fprintf(out, COL, text);
}

void sim_table_print_setup(FILE *out, const sim_setup_t *setup)
{
    const sim_params_t *p = &setup->params;
    char text[SIZE_TEXT];

    fprintf(out, "# network: alpha %g us per message, beta %g ns/byte (%g Gbit/s links); "
                 "a node sends one message and receives one at a time\n",
            p->alpha_us, p->beta_ns_per_byte,
            p->beta_ns_per_byte > 0 ? 8.0 / p->beta_ns_per_byte : 0.0);
    if (p->slow_node != SIM_NO_SLOW_NODE) {
        fprintf(out, "# slow node: rank %u (relative to the root), its link at 1/%g of the rate\n",
                p->slow_node, p->slow_factor);
    }
    if (p->jitter > 0) {
        fprintf(out, "# jitter: each transfer up to %g%% longer (seed %llu)\n", 100 * p->jitter,
                (unsigned long long)p->seed);
    }
    if (setup->block_bytes != 0) {
        sim_format_bytes(setup->block_bytes, text, sizeof(text));
        fprintf(out, "# RDMC blocks: %s bytes (clamped as the engine does)\n", text);
    } else if (p->min_block_bytes != 0 || p->max_block_bytes != 0) {
        char cap[32];
        sim_format_bytes(p->min_block_bytes, text, sizeof(text));
        if (p->max_block_bytes != 0) {
            sim_format_bytes(p->max_block_bytes, cap, sizeof(cap));
        } else {
            snprintf(cap, sizeof(cap), "any");
        }
        fprintf(out, "# RDMC blocks: automatic, rdmc_block_bytes() from alpha and beta, "
                     "%s to %s bytes\n", text, cap);
    } else {
        fprintf(out, "# RDMC blocks: automatic, rdmc_block_bytes() from alpha and beta\n");
    }
    if (setup->selected[SIM_ALG_MPI_CHAIN]) {
        sim_format_bytes(setup->segment_bytes ? setup->segment_bytes : SIM_DEFAULT_SEGMENT_BYTES,
                         text, sizeof(text));
        fprintf(out, "# mpi_chain segments: %s bytes\n", text);
    }
}

static void print_study_title(FILE *out, const sim_study_t *study, bool ratios)
{
    const sim_row_t *first = &study->rows[0];
    char size[SIZE_TEXT];

    sim_format_bytes(first->nbytes, size, sizeof(size));
    switch (study->kind) {
    case SIM_STUDY_BY_N:
        fprintf(out, "\n# %s, %s bytes, by number of nodes\n",
                ratios ? "time / lower bound" : "completion time (us)", size);
        fprintf(out, COL, "n");
        break;
    case SIM_STUDY_BY_SIZE:
        fprintf(out, "\n# %s, %u nodes, by message size\n",
                ratios ? "time / lower bound" : "completion time (us)", first->n);
        fprintf(out, COL, "bytes");
        break;
    case SIM_STUDY_BY_SLOWDOWN:
        if (ratios) {
            fprintf(out, "\n# the same / without the slow node\n");
        } else {
            fprintf(out, "\n# completion time (us) of every node but the slow one (rank %u), "
                         "%u nodes, %s bytes, by its slowdown factor\n",
                    study->setup->params.slow_node, first->n, size);
        }
        fprintf(out, COL, "slowdown");
        break;
    }
    for (unsigned a = 0; a < SIM_ALG_COUNT; a++) {
        if (study->setup->selected[a]) {
            fprintf(out, COL, sim_alg_label((sim_alg_t)a));
        }
    }
    if (study->kind != SIM_STUDY_BY_SLOWDOWN && !ratios) {
        fprintf(out, COL, "bound");
    }
    fprintf(out, "\n");
}

static void print_row_key(FILE *out, const sim_study_t *study, const sim_row_t *row)
{
    switch (study->kind) {
    case SIM_STUDY_BY_N:
        fprintf(out, "%12u", row->n);
        break;
    case SIM_STUDY_BY_SIZE:
        print_bytes(out, row->nbytes);
        break;
    case SIM_STUDY_BY_SLOWDOWN:
        fprintf(out, "%12g", row->slow_factor);
        break;
    }
}

static bool study_has_missing(const sim_study_t *study)
{
    for (size_t i = 0; i < study->nrows; i++) {
        for (unsigned a = 0; a < SIM_ALG_COUNT; a++) {
            if (study->setup->selected[a] && study->rows[i].cells[a].status != 0) {
                return true;
            }
        }
    }
    return false;
}

void sim_table_print_study(FILE *out, const sim_study_t *study)
{
    if (study->nrows == 0) {
        return;
    }
    print_study_title(out, study, false);
    for (size_t i = 0; i < study->nrows; i++) {
        const sim_row_t *row = &study->rows[i];
        print_row_key(out, study, row);
        for (unsigned a = 0; a < SIM_ALG_COUNT; a++) {
            if (!study->setup->selected[a]) {
                continue;
            }
            if (row->cells[a].status == 0) {
                print_time(out, sim_study_metric(study, &row->cells[a]));
            } else {
                print_missing(out);
            }
        }
        if (study->kind != SIM_STUDY_BY_SLOWDOWN) {
            print_time(out, row->bound);
        }
        fprintf(out, "\n");
    }

    print_study_title(out, study, true);
    for (size_t i = 0; i < study->nrows; i++) {
        const sim_row_t *row = &study->rows[i];
        print_row_key(out, study, row);
        for (unsigned a = 0; a < SIM_ALG_COUNT; a++) {
            if (!study->setup->selected[a]) {
                continue;
            }
            const sim_cell_t *cell = &row->cells[a];
            bool slowdown = study->kind == SIM_STUDY_BY_SLOWDOWN;
            sim_ps_t reference = slowdown ? sim_study_metric(study, &row->baseline[a]) : row->bound;
            if (cell->status != 0 || (slowdown && row->baseline[a].status != 0) || reference == 0) {
                print_missing(out);
            } else {
                print_ratio(out, (double)sim_study_metric(study, cell) / (double)reference);
            }
        }
        fprintf(out, "\n");
    }
    if (study_has_missing(study)) {
        fprintf(out, "# -: not simulated, past the simulator's budget "
                     "(SIM_MAX_WORK, sim_broadcasts.h)\n");
    }
}

void sim_table_print_rdmc_model(FILE *out, const sim_study_t *study)
{
    const sim_params_t *p = &study->setup->params;

    if (!study->setup->selected[SIM_ALG_BINOMIAL_PIPELINE] || study->nrows == 0 ||
        study->kind == SIM_STUDY_BY_SLOWDOWN) {
        return;
    }
    fprintf(out, "\n# RDMC binomial_pipeline: the step-count model against the simulation\n"
                 "# model = steps * (alpha + beta * block); steps = k + log2 N - 1 "
                 "(k + floor(log2 N) when N is not a power of two),\n"
                 "# and a chain moving the same k blocks would take k + N - 2\n");
    fprintf(out, COL COL COL COL COL COL COL COL COL COL "\n", "n", "bytes", "block", "k",
            "bp_steps", "bp_model_us", "bp_sim_us", "sim/model", "chain_steps", "chain_model");
    for (size_t i = 0; i < study->nrows; i++) {
        const sim_row_t *row = &study->rows[i];
        const sim_cell_t *cell = &row->cells[SIM_ALG_BINOMIAL_PIPELINE];
        if (cell->status != 0) {
            continue;
        }
        const sim_plan_t *plan = &cell->result.plan;
        sim_ps_t step = sim_transfer_ps(p, plan->block_bytes);
        uint64_t chain_steps = rdmc_schedule_num_steps(RDMC_SCHEDULE_CHAIN, row->n, plan->blocks);

        fprintf(out, "%12u", row->n);
        print_bytes(out, row->nbytes);
        print_bytes(out, plan->block_bytes);
        fprintf(out, "%12llu%12llu", (unsigned long long)plan->blocks,
                (unsigned long long)plan->steps);
        print_time(out, plan->steps * step);
        print_time(out, cell->result.completion);
        print_ratio(out, (double)cell->result.completion / (double)(plan->steps * step));
        fprintf(out, "%12llu", (unsigned long long)chain_steps);
        print_time(out, chain_steps * step);
        fprintf(out, "\n");
    }
}

void sim_table_print_step_counts(FILE *out, const sim_setup_t *setup, const uint64_t *ns,
                                 size_t n_count, const uint64_t *sizes, size_t size_count)
{
    for (int table = 0; table < 2; table++) {
        bool steps = table == 0;
        fprintf(out, steps ? "\n# steps (rounds of the uniform model); "
                             "bound: k* + ceil(log2 n) - 1\n"
                           : "\n# blocks k (RDMC blocks, mpi_chain segments, scatter chunks)\n");
        fprintf(out, COL COL, "n", "bytes");
        for (unsigned a = 0; a < SIM_ALG_COUNT; a++) {
            if (setup->selected[a]) {
                fprintf(out, COL, sim_alg_label((sim_alg_t)a));
            }
        }
        fprintf(out, COL "\n", "bound");
        for (size_t i = 0; i < n_count; i++) {
            for (size_t j = 0; j < size_count; j++) {
                uint32_t n = (uint32_t)ns[i];
                uint64_t bound_k;
                fprintf(out, "%12u", n);
                print_bytes(out, sizes[j]);
                for (unsigned a = 0; a < SIM_ALG_COUNT; a++) {
                    sim_case_t c = { (sim_alg_t)a, n, sizes[j], setup->block_bytes,
                                     setup->segment_bytes };
                    sim_plan_t plan;
                    if (!setup->selected[a]) {
                        continue;
                    }
                    if (sim_plan(&c, &setup->params, &plan) != 0) {
                        print_missing(out);
                        continue;
                    }
                    fprintf(out, "%12llu", (unsigned long long)(steps ? plan.steps : plan.blocks));
                }
                sim_lower_bound(n, sizes[j], &setup->params, &bound_k);
                fprintf(out, "%12llu\n",
                        (unsigned long long)(steps ? bound_k + sim_ceil_log2(n) - 1 : bound_k));
            }
        }
    }
}

/* The target: the automatic block within 10% of the best fixed one. */
#define SWEEP_TOLERANCE 1.10

static void print_sweep_summary(FILE *out, const sim_sweep_t *sweep, sim_alg_t alg)
{
    size_t compared = 0, within = 0;
    double worst = 0;

    for (size_t i = 0; i < sweep->nrows; i++) {
        const sim_sweep_row_t *row = &sweep->rows[i];
        if (row->alg != alg || row->automatic.status != 0 || row->best < 0) {
            continue;
        }
        double ratio = (double)row->automatic.result.completion /
                       (double)row->fixed[row->best].result.completion;
        compared++;
        within += ratio <= SWEEP_TOLERANCE;
        worst = ratio > worst ? ratio : worst;
    }
    fprintf(out, "# %s: automatic block within %.0f%% of the best fixed one in %zu of %zu rows "
                 "(worst auto/best %.3f)\n",
            sim_alg_name(alg), 100 * (SWEEP_TOLERANCE - 1), within, compared, worst);
}

void sim_table_print_sweep(FILE *out, const sim_sweep_t *sweep)
{
    sim_alg_t current = SIM_ALG_COUNT;

    for (size_t i = 0; i < sweep->nrows; i++) {
        const sim_sweep_row_t *row = &sweep->rows[i];
        if (row->alg != current) {
            if (current != SIM_ALG_COUNT) {
                print_sweep_summary(out, sweep, current);
            }
            current = row->alg;
            fprintf(out, "\n# block-size sweep, %s: the automatic block against the best fixed "
                         "one (times in us)\n", sim_alg_name(current));
            fprintf(out, COL COL COL COL COL COL COL, "n", "bytes", "auto_block", "auto_us",
                    "best_block", "best_us", "auto/best");
            for (int b = 0; b < SIM_SWEEP_BLOCKS; b++) {
                char label[SIZE_TEXT];
                sim_format_bytes(SIM_SWEEP_MIN_BLOCK << b, label, sizeof(label));
                fprintf(out, COL, label);
            }
            fprintf(out, "\n");
        }
        fprintf(out, "%12u", row->n);
        print_bytes(out, row->nbytes);
        if (row->automatic.status != 0) {
            print_missing(out);
            print_missing(out);
        } else {
            print_bytes(out, row->automatic.result.plan.block_bytes);
            print_time(out, row->automatic.result.completion);
        }
        if (row->best < 0) {
            print_missing(out);
            print_missing(out);
            print_missing(out);
        } else {
            const sim_cell_t *best = &row->fixed[row->best];
            print_bytes(out, SIM_SWEEP_MIN_BLOCK << row->best);
            print_time(out, best->result.completion);
            if (row->automatic.status != 0) {
                print_missing(out);
            } else {
                print_ratio(out, (double)row->automatic.result.completion /
                                 (double)best->result.completion);
            }
        }
        for (int b = 0; b < SIM_SWEEP_BLOCKS; b++) {
            if (row->fixed[b].status != 0) {
                print_missing(out);
            } else {
                print_time(out, row->fixed[b].result.completion);
            }
        }
        fprintf(out, "\n");
    }
    if (current != SIM_ALG_COUNT) {
        print_sweep_summary(out, sweep, current);
    }
}

void sim_table_print_levels_setup(FILE *out, const sim_mem_params_t *mem,
                                  const sim_levels_case_t *shape)
{
    char text[SIZE_TEXT];

    fprintf(out, "# inside a node: alpha %g us per copy, beta %g ns/byte (%g GB/s), ",
            mem->alpha_us, mem->beta_ns_per_byte,
            mem->beta_ns_per_byte > 0 ? 1.0 / mem->beta_ns_per_byte : 0.0);
    if (mem->cores != 0) {
        fprintf(out, "copies at once per node: at most %u (--cores)\n", mem->cores);
    } else {
        fprintf(out, "no core limit\n");
    }
    fprintf(out, "# one link per node, shared by its ranks; rdmc: rdmc_groups_of(), a binomial "
                 "pipeline between nodes, a fan-out inside\n");
    if (shape->mem_block_bytes != 0) {
        sim_format_bytes(shape->mem_block_bytes, text, sizeof(text));
        fprintf(out, "# rdmc fan-out blocks: %s bytes\n", text);
    } else {
        fprintf(out, "# rdmc fan-out blocks: automatic, capped at the block between nodes\n");
    }
    if (shape->han_segment_bytes != 0) {
        sim_format_bytes(shape->han_segment_bytes, text, sizeof(text));
        fprintf(out, "# han: %s-byte segments, each stored at a leader before it goes down "
                     "its node\n", text);
    } else {
        fprintf(out, "# han: the whole message to the leaders, then down each node\n");
    }
    sim_format_bytes(shape->segment_bytes ? shape->segment_bytes : SIM_DEFAULT_SEGMENT_BYTES,
                     text, sizeof(text));
    fprintf(out, "# tuned_chain segments: %s bytes\n", text);
}

void sim_table_print_levels(FILE *out, const sim_machine_t *machine, uint32_t root,
                            uint64_t nbytes, const sim_params_t *params,
                            const sim_levels_result_t *results, const int *status)
{
    double link_ps = params->beta_ns_per_byte * 1e3 * (double)nbytes;
    char layout[SIZE_TEXT], size[SIZE_TEXT];
    bool missing = false;

    sim_machine_format_layout(machine, layout, sizeof(layout));
    sim_format_bytes(nbytes, size, sizeof(size));
    fprintf(out, "\n# layout %s (%u ranks on %u nodes), root rank %u, %s bytes; "
                 "link time (m beta) %.1f us\n",
            layout, machine->n, machine->nnodes, root, size, link_ps / 1e6);
    fprintf(out, COL COL COL COL COL COL "\n", "broadcast", "time_us", "x_link", "block",
            "mem_block", "busiest/m");
    for (unsigned a = 0; a < SIM_LEVELS_COUNT; a++) {
        const sim_levels_result_t *r = &results[a];
        fprintf(out, COL, sim_levels_alg_name((sim_levels_alg_t)a));
        if (status[a] != 0) {
            missing = true;
            fprintf(out, COL COL COL COL COL "\n", "-", "-", "-", "-", "-");
            continue;
        }
        print_time(out, r->completion);
        if (link_ps > 0) {
            print_ratio(out, (double)r->completion / link_ps);
        } else {
            print_missing(out);
        }
        print_bytes(out, r->block_bytes);
        if (r->mem_block_bytes != 0) {
            print_bytes(out, r->mem_block_bytes);
        } else {
            print_missing(out);
        }
        if (nbytes > 0) {
            print_ratio(out, (double)r->busiest_link_bytes / (double)nbytes);
        } else {
            print_missing(out);
        }
        fprintf(out, "\n");
    }
    if (missing) {
        fprintf(out, "# -: not simulated, past the simulator's budget "
                     "(SIM_MAX_WORK, sim_broadcasts.h)\n");
    }
}
