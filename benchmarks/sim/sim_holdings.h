/*
 * When each node got each block, for the replay of the RDMC schedules.
 *
 * Keeping all n * k arrival times is exact but costs 8 n k bytes (4096
 * nodes and 65536 blocks: 2 GiB).  The pipelines forward blocks they got a
 * few steps earlier, so by default a node keeps only a window of slots,
 * block b in slot b mod SIM_HOLDINGS_WINDOW.  A block whose slot a later
 * arrival has since taken got there no later than that arrival (a node's
 * receives are serialised, so its arrival times only grow).  That bound is
 * all the replay needs while the ports are busy even longer; when they are
 * not, the replay runs again keeping every arrival.
 */
#ifndef SIM_HOLDINGS_H
#define SIM_HOLDINGS_H

#include <stdbool.h>

#include "sim_model.h"

#define SIM_HOLDINGS_WINDOW ((uint64_t)64)   /* a power of two */

typedef enum sim_held {
    SIM_HELD_AT,    /* the block arrived at the time given */
    SIM_HELD_BY,    /* the block arrived, no later than the time given */
    SIM_NOT_HELD
} sim_held_t;

typedef struct sim_holdings {
    uint32_t n;
    uint64_t k;
    uint64_t slots;      /* per node: k (every block kept) or SIM_HOLDINGS_WINDOW */
    uint64_t *block;     /* n * slots: the block in each slot; NULL when every block is kept */
    sim_ps_t *arrival;   /* n * slots: when it arrived; SIM_NEVER = empty */
} sim_holdings_t;

/* The root (node 0) holds every block from time 0. */
int sim_holdings_init(sim_holdings_t *h, uint32_t n, uint64_t k, bool keep_every_block);
void sim_holdings_fini(sim_holdings_t *h);

void sim_holdings_put(sim_holdings_t *h, uint32_t node, uint64_t block, sim_ps_t arrival);

sim_held_t sim_holdings_get(const sim_holdings_t *h, uint32_t node, uint64_t block,
                            sim_ps_t *time_p);

#endif
