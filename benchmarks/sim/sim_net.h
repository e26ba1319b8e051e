/*
 * The simulated network's state during one broadcast: when each rank's
 * send and receive ports are next free, on the two-level machine also each
 * node's link and cores, and the jitter's PRNG.
 */
#ifndef SIM_NET_H
#define SIM_NET_H

#include "sim_machine.h"
#include "sim_model.h"

typedef struct sim_net {
    const sim_params_t *params;
    const sim_machine_t *machine;   /* NULL: every rank is a node of its own */
    uint32_t n;                     /* ranks */
    sim_ps_t *send_free;   /* per rank: its previous send has ended */
    sim_ps_t *recv_free;   /* per rank: its previous receive has ended */
    uint64_t *received;    /* per rank: bytes it received */
    /* Per node, with a machine only (NULL without): */
    sim_ps_t *link_send_free;
    sim_ps_t *link_recv_free;
    uint64_t *link_sent;       /* bytes the node's link carried out */
    uint64_t *link_received;   /* and in */
    sim_ps_t *core_free;       /* machine->mem.cores entries per node */
    uint64_t rng;          /* splitmix64 state, from params->seed */
} sim_net_t;

/* n ranks, each a node of its own (the one-level network). */
int sim_net_init(sim_net_t *net, const sim_params_t *params, uint32_t n);
/* The machine's ranks; params->slow_node must be SIM_NO_SLOW_NODE. */
int sim_net_init_machine(sim_net_t *net, const sim_params_t *params,
                         const sim_machine_t *machine);
void sim_net_fini(sim_net_t *net);

/* When a transfer from `from` to `to` could start if the data were there. */
sim_ps_t sim_net_ports_free(const sim_net_t *net, uint32_t from, uint32_t to);

/* Moves `bytes` from `from` to `to` (a send: both ranks take part) as soon
 * as the ports, links or a core it needs are free and the data is, at
 * `data_ready`; occupies them and returns the end time.  Between ranks of
 * one node this is a memory copy. */
sim_ps_t sim_net_transfer(sim_net_t *net, uint32_t from, uint32_t to, uint64_t bytes,
                          sim_ps_t data_ready);

/* `to` copies `bytes` out of `from`'s memory, ranks of one node (a read
 * through CMA: `from` is not busy while it runs). */
sim_ps_t sim_net_copy(sim_net_t *net, uint32_t from, uint32_t to, uint64_t bytes,
                      sim_ps_t data_ready);

/* The most bytes one node's link carried in one direction (with a machine;
 * 0 without). */
uint64_t sim_net_busiest_link_bytes(const sim_net_t *net);

#endif
