/*
 * Arrival times of blocks at nodes (see sim_holdings.h for the window).
 */
#include "sim_holdings.h"

#include <errno.h>
#include <stdlib.h>

int sim_holdings_init(sim_holdings_t *h, uint32_t n, uint64_t k, bool keep_every_block)
{
    uint64_t slots = keep_every_block ? k : SIM_HOLDINGS_WINDOW;
    size_t entries = (size_t)n * slots;

    h->block = NULL;
    if (!keep_every_block) {
        h->block = malloc(entries * sizeof(*h->block));
        if (h->block == NULL) {
            return -ENOMEM;
        }
    }
    h->arrival = malloc(entries * sizeof(*h->arrival));
    if (h->arrival == NULL) {
        free(h->block);
        return -ENOMEM;
    }
    for (size_t i = 0; i < entries; i++) {
        h->arrival[i] = SIM_NEVER;
    }
    h->n = n;
    h->k = k;
    h->slots = slots;
    return 0;
}

void sim_holdings_fini(sim_holdings_t *h)
{
    free(h->block);
    free(h->arrival);
    h->block = NULL;
    h->arrival = NULL;
}

static size_t slot_of(const sim_holdings_t *h, uint32_t node, uint64_t block)
{
    uint64_t slot = h->block == NULL ? block : block & (SIM_HOLDINGS_WINDOW - 1);

    return (size_t)node * h->slots + slot;
}

void sim_holdings_put(sim_holdings_t *h, uint32_t node, uint64_t block, sim_ps_t arrival)
{
    size_t i = slot_of(h, node, block);

    h->arrival[i] = arrival;
    if (h->block != NULL) {
        h->block[i] = block;
    }
}

sim_held_t sim_holdings_get(const sim_holdings_t *h, uint32_t node, uint64_t block,
                            sim_ps_t *time_p)
{
    if (node == 0) {
        *time_p = 0;
        return SIM_HELD_AT;
    }
    size_t i = slot_of(h, node, block);
    if (h->arrival[i] == SIM_NEVER) {
        return SIM_NOT_HELD;
    }
    *time_p = h->arrival[i];
    return h->block == NULL || h->block[i] == block ? SIM_HELD_AT : SIM_HELD_BY;
}
