/*
 * The simulated network: ports, transfer costs, the slow node and jitter.
 */
#include "sim_net.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

#define PS_PER_US 1e6
#define PS_PER_NS 1e3

static sim_ps_t max_ps(sim_ps_t a, sim_ps_t b)
{
    return a > b ? a : b;
}

/* Rounding up keeps every simulated time at or above the exact model's, so
 * the (rounded down) lower bound stays a bound. */
static sim_ps_t cost_ps(const sim_params_t *params, uint64_t bytes, double beta_factor)
{
    double alpha = ceil(params->alpha_us * PS_PER_US);
    double per_byte = ceil(params->beta_ns_per_byte * PS_PER_NS * beta_factor * (double)bytes);

    return (sim_ps_t)alpha + (sim_ps_t)per_byte;
}

sim_ps_t sim_transfer_ps(const sim_params_t *params, uint64_t bytes)
{
    return cost_ps(params, bytes, 1.0);
}

int sim_net_init(sim_net_t *net, const sim_params_t *params, uint32_t n)
{
    net->send_free = calloc(n, sizeof(*net->send_free));
    if (net->send_free == NULL) {
        return -ENOMEM;
    }
    net->recv_free = calloc(n, sizeof(*net->recv_free));
    if (net->recv_free == NULL) {
        free(net->send_free);
        return -ENOMEM;
    }
    net->params = params;
    net->n = n;
    net->rng = params->seed;
    return 0;
}

void sim_net_fini(sim_net_t *net)
{
    free(net->send_free);
    free(net->recv_free);
    net->send_free = net->recv_free = NULL;
}

/* splitmix64: tiny, fast, and the same sequence on every platform. */
static uint64_t next_random(sim_net_t *net)
{
    uint64_t z = (net->rng += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double next_unit(sim_net_t *net)
{
    return (double)(next_random(net) >> 11) * 0x1.0p-53;
}

sim_ps_t sim_net_ports_free(const sim_net_t *net, uint32_t from, uint32_t to)
{
    return max_ps(net->send_free[from], net->recv_free[to]);
}

sim_ps_t sim_net_transfer(sim_net_t *net, uint32_t from, uint32_t to, uint64_t bytes,
                          sim_ps_t data_ready)
{
    const sim_params_t *p = net->params;
    bool slow = p->slow_node != SIM_NO_SLOW_NODE && (from == p->slow_node || to == p->slow_node);
    sim_ps_t cost = cost_ps(p, bytes, slow ? p->slow_factor : 1.0);

    if (p->jitter > 0) {
        /* Noise only ever delays a transfer. */
        cost += (sim_ps_t)((double)cost * p->jitter * next_unit(net));
    }
    sim_ps_t end = max_ps(data_ready, sim_net_ports_free(net, from, to)) + cost;
    net->send_free[from] = end;
    net->recv_free[to] = end;
    return end;
}
