/*
 * The broadcasts sim_run() dispatches to.  Each fills done[0 .. n-1] with
 * the time every node holds the whole message (0 for the root, SIM_NEVER
 * for a node that never does) and returns 0 or a negative errno.
 */
#ifndef SIM_BROADCASTS_H
#define SIM_BROADCASTS_H

#include "sim_model.h"

/* Past this many schedule calls or modelled transfers a run is refused
 * (-E2BIG) rather than take minutes: a few seconds of work at most. */
#define SIM_MAX_WORK ((uint64_t)1 << 31)

/* RDMC's schedules, replayed through rdmc_schedule_send() (sim_rdmc.c). */
int sim_rdmc_replay(const sim_case_t *c, const sim_params_t *params, const sim_plan_t *plan,
                    sim_ps_t *done);

/* What MPI libraries do (sim_mpi.c). */
int sim_mpi_binomial(const sim_case_t *c, const sim_params_t *params, const sim_plan_t *plan,
                     sim_ps_t *done);
int sim_mpi_chain(const sim_case_t *c, const sim_params_t *params, const sim_plan_t *plan,
                  sim_ps_t *done);
int sim_mpi_scatter_allgather(const sim_case_t *c, const sim_params_t *params,
                              const sim_plan_t *plan, sim_ps_t *done);

#endif
