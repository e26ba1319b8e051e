/*
 * The simulated network's state during one broadcast: when each node's send
 * and receive ports are next free, and the jitter's PRNG.
 */
#ifndef SIM_NET_H
#define SIM_NET_H

#include "sim_model.h"

typedef struct sim_net {
    const sim_params_t *params;
    uint32_t n;
    sim_ps_t *send_free;   /* per node: its previous send has ended */
    sim_ps_t *recv_free;   /* per node: its previous receive has ended */
    uint64_t rng;          /* splitmix64 state, from params->seed */
} sim_net_t;

int sim_net_init(sim_net_t *net, const sim_params_t *params, uint32_t n);
void sim_net_fini(sim_net_t *net);

/* When a transfer from `from` to `to` could start if the data were there. */
sim_ps_t sim_net_ports_free(const sim_net_t *net, uint32_t from, uint32_t to);

/* Moves `bytes` from `from` to `to` as soon as both ports are free and the
 * data is, at `data_ready`; occupies both ports and returns the end time. */
sim_ps_t sim_net_transfer(sim_net_t *net, uint32_t from, uint32_t to, uint64_t bytes,
                          sim_ps_t data_ready);

#endif
