/*
 * The two-level machine: ranks placed on nodes, one network link per node,
 * memory inside a node.
 *
 *   node 0: ranks 0 1 2   node 1: ranks 3 4   node 2: rank 5     (layout 3,2,1)
 *        |  one link          |  one link         |  one link
 *        +--------------------+-------------------+---- switch (non-blocking)
 *
 * - Ranks fill the nodes in order (node 0's ranks first), as Open MPI
 *   fills a hostfile's slots (the emulator's SLOTS_LIST).
 * - A node's link is full duplex and carries one message at a time each
 *   way: the sends of all its ranks queue for its one send port, their
 *   receives for its one receive port.  A message between two nodes costs
 *   the network's alpha + beta b (sim_params_t).
 * - Inside a node a message is a memory copy of mem.alpha_us +
 *   mem.beta_ns_per_byte b, on no link.  It occupies one of the node's
 *   mem.cores cores while it runs (0: no limit): copies compete for cores,
 *   nothing else does (the CPU cost of network messages is in alpha).
 * - Every rank, whatever the level, sends one message at a time and
 *   receives one at a time (LogGP's single port per process).
 *
 * A layout of one rank per node is exactly the one-level network of
 * sim_model.h.
 */
#ifndef SIM_MACHINE_H
#define SIM_MACHINE_H

#include <stddef.h>
#include <stdint.h>

#include "coll/core/rdmc_groups.h"

/* Memory inside a node.  Defaults: the shm model the component uses
 * (coll_rdmc_module.c, measured on this project's machine). */
#define SIM_MEM_DEFAULT_ALPHA_US 15.0
#define SIM_MEM_DEFAULT_BETA_NS 0.16    /* 6.25 GB/s */

typedef struct sim_mem_params {
    double alpha_us;           /* per copy */
    double beta_ns_per_byte;   /* 1 / (memory bandwidth in GB/s) */
    uint32_t cores;            /* copies a node runs at once; 0 = no limit */
} sim_mem_params_t;

typedef struct sim_machine {
    uint32_t n;                /* ranks */
    uint32_t nnodes;
    uint32_t *node_of;         /* per rank */
    uint32_t *first_rank;      /* per node, and first_rank[nnodes] = n */
    sim_mem_params_t mem;
} sim_machine_t;

#define SIM_MACHINE_MAX_NODES 4096
#define SIM_MACHINE_MAX_RANKS 65536

/*
 * "4x2" (4 nodes of 2 ranks) or "3,2,1" (ranks per node, in order) into
 * ranks_per_node (room for SIM_MACHINE_MAX_NODES).  Every node has at
 * least one rank.  -EINVAL on a syntax error, -E2BIG past the limits.
 */
int sim_machine_parse_layout(const char *text, uint32_t *ranks_per_node, uint32_t *nnodes_p);

/* The layout back as text: "4x2" when every node has as many ranks, else
 * "3,2,1" (truncated to len). */
void sim_machine_format_layout(const sim_machine_t *m, char *buf, size_t len);

/* 0, -EINVAL (no node, an empty node, over the limits) or -ENOMEM. */
int sim_machine_init(sim_machine_t *m, const uint32_t *ranks_per_node, uint32_t nnodes,
                     const sim_mem_params_t *mem);
void sim_machine_fini(sim_machine_t *m);

/* The layout the component would build for these ranks: each rank says
 * its node, and no package or NUMA domain (so inside a node one group). */
int sim_machine_rdmc_layout(const sim_machine_t *m, rdmc_layout_t *lay);

#endif
