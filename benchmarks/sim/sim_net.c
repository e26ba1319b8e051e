/*
 * The simulated network: ports, links, cores, transfer costs, the slow
 * node and jitter.
 */
#include "sim_net.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PS_PER_US 1e6
#define PS_PER_NS 1e3

static sim_ps_t max_ps(sim_ps_t a, sim_ps_t b)
{
    return a > b ? a : b;
}

/* Rounding up keeps every simulated time at or above the exact model's, so
 * the (rounded down) lower bound stays a bound. */
static sim_ps_t cost_ps(double alpha_us, double beta_ns_per_byte, uint64_t bytes,
                        double beta_factor)
{
    double alpha = ceil(alpha_us * PS_PER_US);
    double per_byte = ceil(beta_ns_per_byte * PS_PER_NS * beta_factor * (double)bytes);

    return (sim_ps_t)alpha + (sim_ps_t)per_byte;
}

sim_ps_t sim_transfer_ps(const sim_params_t *params, uint64_t bytes)
{
    return cost_ps(params->alpha_us, params->beta_ns_per_byte, bytes, 1.0);
}

/* Every per-rank and per-node array is carved out of one allocation
 * (sim_ps_t and the byte counts are both 64-bit). */
static int net_alloc(sim_net_t *net, const sim_params_t *params, uint32_t n,
                     const sim_machine_t *machine)
{
    uint32_t nodes = machine != NULL ? machine->nnodes : 0;
    uint32_t cores = machine != NULL ? machine->mem.cores : 0;
    size_t entries = 3 * (size_t)n + 4 * (size_t)nodes + (size_t)nodes * cores;
    uint64_t *all = calloc(entries, sizeof(*all));

    memset(net, 0, sizeof(*net));
    if (all == NULL) {
        return -ENOMEM;
    }
    net->send_free = all;
    net->recv_free = all + n;
    net->received = all + 2 * (size_t)n;
    if (machine != NULL) {
        uint64_t *per_node = all + 3 * (size_t)n;
        net->link_send_free = per_node;
        net->link_recv_free = per_node + nodes;
        net->link_sent = per_node + 2 * (size_t)nodes;
        net->link_received = per_node + 3 * (size_t)nodes;
        net->core_free = cores > 0 ? per_node + 4 * (size_t)nodes : NULL;
    }
    net->params = params;
    net->machine = machine;
    net->n = n;
    net->rng = params->seed;
    return 0;
}

int sim_net_init(sim_net_t *net, const sim_params_t *params, uint32_t n)
{
    return net_alloc(net, params, n, NULL);
}

int sim_net_init_machine(sim_net_t *net, const sim_params_t *params,
                         const sim_machine_t *machine)
{
    if (params->slow_node != SIM_NO_SLOW_NODE) {
        return -EINVAL;
    }
    return net_alloc(net, params, machine->n, machine);
}

void sim_net_fini(sim_net_t *net)
{
    free(net->send_free);
    memset(net, 0, sizeof(*net));
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

/* Noise only ever delays a transfer. */
static sim_ps_t with_jitter(sim_net_t *net, sim_ps_t cost)
{
    if (net->params->jitter > 0) {
        cost += (sim_ps_t)((double)cost * net->params->jitter * next_unit(net));
    }
    return cost;
}

static bool same_node(const sim_net_t *net, uint32_t a, uint32_t b)
{
    return net->machine != NULL && net->machine->node_of[a] == net->machine->node_of[b];
}

sim_ps_t sim_net_ports_free(const sim_net_t *net, uint32_t from, uint32_t to)
{
    sim_ps_t t = max_ps(net->send_free[from], net->recv_free[to]);

    if (net->machine != NULL && !same_node(net, from, to)) {
        t = max_ps(t, max_ps(net->link_send_free[net->machine->node_of[from]],
                             net->link_recv_free[net->machine->node_of[to]]));
    }
    return t;
}

/* The node's core that is idle first, or NULL without a core limit. */
static sim_ps_t *first_idle_core(const sim_net_t *net, uint32_t node)
{
    uint32_t cores = net->machine->mem.cores;
    sim_ps_t *first = NULL;

    for (uint32_t c = 0; net->core_free != NULL && c < cores; c++) {
        sim_ps_t *core = &net->core_free[(size_t)node * cores + c];
        if (first == NULL || *core < *first) {
            first = core;
        }
    }
    return first;
}

/* A memory copy inside a node; the sender's port too when it pushes. */
static sim_ps_t memory_copy(sim_net_t *net, uint32_t from, uint32_t to, uint64_t bytes,
                            sim_ps_t data_ready, bool push)
{
    const sim_mem_params_t *mem = &net->machine->mem;
    sim_ps_t *core = first_idle_core(net, net->machine->node_of[to]);
    sim_ps_t start = max_ps(data_ready, net->recv_free[to]);

    if (push) {
        start = max_ps(start, net->send_free[from]);
    }
    if (core != NULL) {
        start = max_ps(start, *core);
    }
    sim_ps_t end = start + with_jitter(net, cost_ps(mem->alpha_us, mem->beta_ns_per_byte,
                                                     bytes, 1.0));
    if (push) {
        net->send_free[from] = end;
    }
    if (core != NULL) {
        *core = end;
    }
    net->recv_free[to] = end;
    net->received[to] += bytes;
    return end;
}

sim_ps_t sim_net_transfer(sim_net_t *net, uint32_t from, uint32_t to, uint64_t bytes,
                          sim_ps_t data_ready)
{
    const sim_params_t *p = net->params;

    if (same_node(net, from, to)) {
        return memory_copy(net, from, to, bytes, data_ready, true);
    }
    bool slow = p->slow_node != SIM_NO_SLOW_NODE && (from == p->slow_node || to == p->slow_node);
    sim_ps_t cost = with_jitter(net, cost_ps(p->alpha_us, p->beta_ns_per_byte, bytes,
                                             slow ? p->slow_factor : 1.0));
    sim_ps_t end = max_ps(data_ready, sim_net_ports_free(net, from, to)) + cost;

    net->send_free[from] = end;
    net->recv_free[to] = end;
    net->received[to] += bytes;
    if (net->machine != NULL) {
        uint32_t src = net->machine->node_of[from], dst = net->machine->node_of[to];
        net->link_send_free[src] = end;
        net->link_recv_free[dst] = end;
        net->link_sent[src] += bytes;
        net->link_received[dst] += bytes;
    }
    return end;
}

sim_ps_t sim_net_copy(sim_net_t *net, uint32_t from, uint32_t to, uint64_t bytes,
                      sim_ps_t data_ready)
{
    return memory_copy(net, from, to, bytes, data_ready, false);
}

uint64_t sim_net_busiest_link_bytes(const sim_net_t *net)
{
    uint64_t most = 0;

    for (uint32_t node = 0; net->machine != NULL && node < net->machine->nnodes; node++) {
        if (net->link_sent[node] > most) {
            most = net->link_sent[node];
        }
        if (net->link_received[node] > most) {
            most = net->link_received[node];
        }
    }
    return most;
}
