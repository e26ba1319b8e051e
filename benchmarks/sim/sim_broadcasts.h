/*
 * The broadcasts sim_run() dispatches to.  Each fills done[0 .. n-1] with
 * the time every node holds the whole message (0 for the root, SIM_NEVER
 * for a node that never does) and returns 0 or a negative errno.
 */
#ifndef SIM_BROADCASTS_H
#define SIM_BROADCASTS_H

#include "sim_holdings.h"
#include "sim_model.h"
#include "sim_net.h"

/* Past this many schedule calls or modelled transfers a run is refused
 * (-E2BIG) rather than take minutes: a few seconds of work at most. */
#define SIM_MAX_WORK ((uint64_t)1 << 31)

/* Past this a run that needs every arrival kept is refused (-E2BIG). */
#define SIM_MAX_KEPT_ARRIVALS ((uint64_t)1 << 25)    /* n * k: 256 MiB */

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

/*
 * The same on a network the caller set up, so that several broadcasts (the
 * levels of one, sim_levels.c) share its ports, links and cores.  Schedule
 * rank i (relative to the root, 0) is the network's rank rank_of[i]
 * (NULL: i); done[] is indexed by schedule rank.
 */

/* holdings: n nodes and plan->blocks blocks; it keeps the arrivals.
 * -EAGAIN when a window of holdings was not enough to be exact. */
int sim_rdmc_replay_on(sim_net_t *net, const uint32_t *rank_of, rdmc_schedule_alg_t alg,
                       uint32_t n, uint64_t nbytes, const sim_plan_t *plan,
                       sim_holdings_t *holdings, sim_ps_t *done);

/* The whole message (nbytes) down a binomial tree from a root that holds
 * it at root_ready. */
void sim_mpi_binomial_on(sim_net_t *net, const uint32_t *rank_of, uint32_t n, uint64_t nbytes,
                         sim_ps_t root_ready, sim_ps_t *done);

/* The segmented chain, plan->blocks segments of plan->block_bytes. */
void sim_mpi_chain_on(sim_net_t *net, const uint32_t *rank_of, uint32_t n, uint64_t nbytes,
                      const sim_plan_t *plan, sim_ps_t *done);

#endif
