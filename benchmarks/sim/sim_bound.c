/*
 * The bounds the tables and tests compare against (L = ceil(log2 n)).
 *
 * Equal blocks: cut into k equal blocks, the root sends them one after the
 * other, and once the last has left it the nodes holding that block can at
 * most double per step, so it needs L - 1 steps more:
 *   T >= (k + L - 1) (alpha + beta m / k)
 * smallest at k* = sqrt((L - 1) beta m / alpha), where it equals
 * (sqrt((L - 1) alpha) + sqrt(beta m))^2.  k is taken real, which only
 * lowers the bound.  A broadcast whose blocks differ in size is not held to
 * it: when the block sent last is shorter, its L - 1 extra hops are cheaper,
 * and RDMC's page-rounded blocks beat it by up to 2% when k is 2 or 3.
 *
 * Any broadcast: the last byte to leave the root does so no earlier than
 * alpha + beta m; then, each transfer taking at least alpha and every node
 * sending one at a time, its holders at most double every alpha:
 *   T >= L alpha + beta m
 */
#include <math.h>
#include <stddef.h>

#include "sim_model.h"

#define PS_PER_US 1e6
#define PS_PER_NS 1e3

uint32_t sim_ceil_log2(uint64_t n)
{
    uint32_t l = 0;

    while (((uint64_t)1 << l) < n) {
        l++;
    }
    return l;
}

/* The same whole-picosecond alpha as the simulated transfers. */
static double alpha_ps(const sim_params_t *params)
{
    return ceil(params->alpha_us * PS_PER_US);
}

static double beta_ps(const sim_params_t *params)
{
    return params->beta_ns_per_byte * PS_PER_NS;
}

sim_ps_t sim_lower_bound(uint32_t n, uint64_t nbytes, const sim_params_t *params,
                         uint64_t *best_k_p)
{
    double extra_steps = (double)sim_ceil_log2(n) - 1;
    double alpha = alpha_ps(params), beta = beta_ps(params);
    double m = (double)nbytes;
    double k;

    if (n < 2) {
        if (best_k_p != NULL) {
            *best_k_p = 1;
        }
        return 0;
    }
    k = alpha > 0 ? sqrt(extra_steps * beta * m / alpha)
                  : m;   /* latency is free: the smallest blocks win */
    if (k < 1) {
        k = 1;
    }
    if (best_k_p != NULL) {
        *best_k_p = (uint64_t)llround(k);
    }
    return (sim_ps_t)floor((k + extra_steps) * (alpha + beta * m / k));
}

sim_ps_t sim_strict_lower_bound(uint32_t n, uint64_t nbytes, const sim_params_t *params)
{
    if (n < 2) {
        return 0;
    }
    return (sim_ps_t)floor(sim_ceil_log2(n) * alpha_ps(params) + beta_ps(params) * (double)nbytes);
}
