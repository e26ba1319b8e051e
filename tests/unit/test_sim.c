/*
 * The broadcast simulator's core (benchmarks/sim): on the nominal network
 * the replayed RDMC schedules take exactly their step count times the cost
 * of a step; every algorithm delivers the whole message to every node, no
 * faster than the link allows and never below the bounds; and a slow node
 * or jitter never makes a broadcast faster.
 *
 * The two-level machine (sim_machine.h, sim_levels.h): one rank per node is
 * exactly the one-level network; every rank of any layout gets every byte
 * once; rdmc by levels stays near the link time when memory is fast, and
 * loads no link with more than about m, where rdmc over all ranks does.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "benchmarks/sim/sim_levels.h"
#include "benchmarks/sim/sim_machine.h"
#include "benchmarks/sim/sim_model.h"
#include "coll/core/rdmc_blocksize.h"

#define MAX_NODES 1100

static const sim_params_t nominal = { 30.0, 8.0, 0, 0, SIM_NO_SLOW_NODE, 1.0, 0.0, 1 };
/* 3 Gbit/s: beta is not a whole number of picoseconds per byte. */
static const sim_params_t odd_rate = { 12.5, 8.0 / 3.0, 0, 0, SIM_NO_SLOW_NODE, 1.0, 0.0, 1 };

static const uint32_t small_ns[] = { 2, 3, 4, 5, 6, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65,
                                     100, 127, 128, 129 };
static const uint64_t sizes[] = { 0, 1, 1000, 4096, 100000, (1u << 20) + 3, 8u << 20 };

#define LEN(a) (sizeof(a) / sizeof((a)[0]))

static sim_ps_t done[MAX_NODES];
static sim_ps_t level_done[MAX_NODES];
static uint64_t level_received[MAX_NODES];

static sim_result_t run(sim_alg_t alg, uint32_t n, uint64_t nbytes, uint64_t block,
                        const sim_params_t *params)
{
    sim_case_t c = { alg, n, nbytes, block, 0 };
    sim_result_t result;

    assert_true(n <= MAX_NODES);
    assert_int_equal(sim_run(&c, params, &result, done), 0);
    return result;
}

/* Equal blocks, no slow node, no jitter: T = steps * (alpha + beta B). */
static void check_lockstep_time(sim_alg_t alg, uint32_t n, uint64_t k, const sim_params_t *p)
{
    const uint64_t block = 4096;
    sim_result_t r = run(alg, n, k * block, block, p);
    uint64_t steps = rdmc_schedule_num_steps((rdmc_schedule_alg_t)alg, n, k);

    assert_int_equal(r.plan.blocks, k);
    assert_int_equal(r.plan.steps, steps);
    assert_int_equal(r.completion, steps * sim_transfer_ps(p, block));
}

static void test_rdmc_time_is_steps_times_step_cost(void **state)
{
    static const uint64_t ks[] = { 1, 2, 3, 4, 7, 16, 33, 64, 65, 70 };

    (void)state;
    for (unsigned alg = 0; alg < RDMC_SCHEDULE_COUNT; alg++) {
        for (size_t i = 0; i < LEN(small_ns); i++) {
            for (size_t j = 0; j < LEN(ks); j++) {
                check_lockstep_time((sim_alg_t)alg, small_ns[i], ks[j], &nominal);
                check_lockstep_time((sim_alg_t)alg, small_ns[i], ks[j], &odd_rate);
            }
        }
    }
}

/* Many blocks on many nodes: the replay keeps only a window of arrivals
 * per node, and must still be exact. */
static void test_pipelines_with_many_blocks_are_exact(void **state)
{
    static const uint32_t ns[] = { 255, 1000, 1023, 1024, 1025 };
    static const uint64_t ks[] = { 100, 300, 1000 };

    (void)state;
    for (size_t i = 0; i < LEN(ns); i++) {
        for (size_t j = 0; j < LEN(ks); j++) {
            check_lockstep_time(SIM_ALG_BINOMIAL_PIPELINE, ns[i], ks[j], &nominal);
            check_lockstep_time(SIM_ALG_CHAIN, ns[i], ks[j], &nominal);
        }
    }
}

static void check_delivery(sim_alg_t alg, uint32_t n, uint64_t nbytes, const sim_params_t *p)
{
    sim_result_t r = run(alg, n, nbytes, 0, p);
    sim_ps_t last = 0;

    assert_int_equal(done[0], 0);
    for (uint32_t node = 1; node < n; node++) {
        assert_true(done[node] != SIM_NEVER);
        assert_true(done[node] > 0);
        if (done[node] > last) {
            last = done[node];
        }
    }
    assert_int_equal(r.completion, last);
    /* The link's rate caps the bandwidth: m bytes take at least m beta. */
    assert_true((double)r.completion >= (double)nbytes * p->beta_ns_per_byte * 1e3);
    assert_true(r.completion >= sim_strict_lower_bound(n, nbytes, p));
}

static void test_every_node_gets_everything_no_faster_than_the_link(void **state)
{
    sim_params_t noisy = nominal;

    (void)state;
    noisy.slow_node = 1;
    noisy.slow_factor = 3;
    noisy.jitter = 0.25;
    for (unsigned alg = 0; alg < SIM_ALG_COUNT; alg++) {
        for (size_t i = 0; i < LEN(small_ns); i++) {
            for (size_t j = 0; j < LEN(sizes); j++) {
                check_delivery((sim_alg_t)alg, small_ns[i], sizes[j], &nominal);
                check_delivery((sim_alg_t)alg, small_ns[i], sizes[j], &odd_rate);
                check_delivery((sim_alg_t)alg, small_ns[i], sizes[j], &noisy);
            }
        }
    }
}

static void test_lower_bound_is_below_every_algorithm(void **state)
{
    (void)state;
    for (size_t i = 0; i < LEN(small_ns); i++) {
        uint32_t n = small_ns[i];
        for (size_t j = 0; j < LEN(sizes); j++) {
            sim_ps_t bound = sim_lower_bound(n, sizes[j], &nominal, NULL);
            assert_true(bound >= sim_strict_lower_bound(n, sizes[j], &nominal));
            for (unsigned alg = SIM_ALG_MPI_BINOMIAL; alg < SIM_ALG_COUNT; alg++) {
                assert_true(run((sim_alg_t)alg, n, sizes[j], 0, &nominal).completion >= bound);
            }
        }
        /* RDMC with equal blocks, the bound's own assumption. */
        for (uint64_t k = 1; k <= 40; k += 3) {
            for (uint64_t block = 4096; block <= (1u << 20); block *= 16) {
                sim_ps_t bound = sim_lower_bound(n, k * block, &nominal, NULL);
                for (unsigned alg = 0; alg < RDMC_SCHEDULE_COUNT; alg++) {
                    assert_true(run((sim_alg_t)alg, n, k * block, block, &nominal).completion >=
                                bound);
                }
            }
        }
    }
}

/* A pipeline whose last block is much shorter spends less on the extra
 * log2 n - 1 hops than equal blocks would: it may beat the equal-block
 * bound, but not the strict one.  (A case found by scanning.) */
static void test_a_short_last_block_may_beat_the_equal_block_bound(void **state)
{
    sim_params_t p = { 15.0, 0.8, 0, 0, SIM_NO_SLOW_NODE, 1.0, 0.0, 1 };
    sim_result_t r;

    (void)state;
    r = run(SIM_ALG_BINOMIAL_PIPELINE, 17, 27739, 0, &p);
    assert_int_equal(r.plan.blocks, 2);
    assert_true(r.completion < sim_lower_bound(17, 27739, &p, NULL));
    assert_true(r.completion >= sim_strict_lower_bound(17, 27739, &p));
}

static void test_a_slow_node_never_makes_it_faster(void **state)
{
    static const uint32_t ns[] = { 2, 5, 16, 33, 100 };
    static const double factors[] = { 1.5, 4, 16 };

    (void)state;
    for (unsigned alg = 0; alg < SIM_ALG_COUNT; alg++) {
        for (size_t i = 0; i < LEN(ns); i++) {
            uint32_t n = ns[i];
            uint32_t slow_nodes[] = { 0, 1, n / 2, n - 1 };
            for (size_t j = 0; j < LEN(sizes); j++) {
                for (size_t s = 0; s < LEN(slow_nodes); s++) {
                    sim_params_t p = nominal;
                    p.slow_node = slow_nodes[s];
                    /* Factor 1: the nominal network, timed without that node. */
                    sim_result_t previous = run((sim_alg_t)alg, n, sizes[j], 0, &p);
                    for (size_t f = 0; f < LEN(factors); f++) {
                        p.slow_factor = factors[f];
                        sim_result_t r = run((sim_alg_t)alg, n, sizes[j], 0, &p);
                        assert_true(r.completion >= previous.completion);
                        assert_true(r.others_completion >= previous.others_completion);
                        previous = r;
                    }
                }
            }
        }
    }
}

static void test_jitter_is_repeatable_and_only_delays(void **state)
{
    sim_params_t p = nominal;

    (void)state;
    p.jitter = 0.5;
    p.seed = 42;
    for (unsigned alg = 0; alg < SIM_ALG_COUNT; alg++) {
        sim_result_t base = run((sim_alg_t)alg, 33, 1u << 20, 0, &nominal);
        sim_result_t a = run((sim_alg_t)alg, 33, 1u << 20, 0, &p);
        sim_result_t b = run((sim_alg_t)alg, 33, 1u << 20, 0, &p);
        assert_int_equal(a.completion, b.completion);
        assert_true(a.completion > base.completion);
    }
}

/* The automatic block size is the engine's own choice. */
static void test_rdmc_blocks_come_from_the_engine(void **state)
{
    rdmc_cost_model_t model = { nominal.alpha_us, nominal.beta_ns_per_byte,
                                nominal.min_block_bytes, nominal.max_block_bytes };
    sim_case_t c = { SIM_ALG_BINOMIAL_PIPELINE, 64, 64u << 20, 0, 0 };
    sim_plan_t plan;

    (void)state;
    assert_int_equal(sim_plan(&c, &nominal, &plan), 0);
    assert_int_equal(plan.block_bytes,
                     rdmc_block_bytes(RDMC_SCHEDULE_BINOMIAL_PIPELINE, 64, 64u << 20, 0, &model));
    assert_int_equal(plan.blocks, rdmc_block_count(64u << 20, plan.block_bytes));

    /* and so is its floor (--min-block, --tcp-model) */
    sim_params_t floored = nominal;
    floored.min_block_bytes = 4u << 20;
    model.min_block_bytes = floored.min_block_bytes;
    assert_int_equal(sim_plan(&c, &floored, &plan), 0);
    assert_int_equal(plan.block_bytes, 4u << 20);
    assert_int_equal(plan.block_bytes,
                     rdmc_block_bytes(RDMC_SCHEDULE_BINOMIAL_PIPELINE, 64, 64u << 20, 0, &model));

    /* and its cap (--max-block, --tcp-model) */
    sim_params_t capped = nominal;
    capped.max_block_bytes = 16u << 10;
    model.min_block_bytes = 0;
    model.max_block_bytes = capped.max_block_bytes;
    assert_int_equal(sim_plan(&c, &capped, &plan), 0);
    assert_int_equal(plan.block_bytes, 16u << 10);
    assert_int_equal(plan.block_bytes,
                     rdmc_block_bytes(RDMC_SCHEDULE_BINOMIAL_PIPELINE, 64, 64u << 20, 0, &model));
}

static void test_bad_cases_are_refused(void **state)
{
    sim_case_t one_node = { SIM_ALG_BINOMIAL_PIPELINE, 1, 100, 0, 0 };
    sim_case_t unknown = { SIM_ALG_COUNT, 4, 100, 0, 0 };
    sim_result_t r;

    (void)state;
    assert_int_equal(sim_run(&one_node, &nominal, &r, NULL), -EINVAL);
    assert_int_equal(sim_run(&unknown, &nominal, &r, NULL), -EINVAL);
}

/* ---- the two-level machine ------------------------------------------------ */

/* Memory much faster than a 1 Gbit/s link: 50 GB/s, 1 us a copy. */
static const sim_mem_params_t fast_memory = { 1.0, 0.02, 0 };
static const sim_mem_params_t default_memory = { SIM_MEM_DEFAULT_ALPHA_US,
                                                 SIM_MEM_DEFAULT_BETA_NS, 0 };

static sim_machine_t machine_of(const char *layout, const sim_mem_params_t *mem)
{
    uint32_t per_node[SIM_MACHINE_MAX_NODES];
    uint32_t nnodes;
    sim_machine_t m;

    assert_int_equal(sim_machine_parse_layout(layout, per_node, &nnodes), 0);
    assert_int_equal(sim_machine_init(&m, per_node, nnodes, mem), 0);
    assert_true(m.n <= MAX_NODES);
    return m;
}

static sim_levels_result_t run_levels(const sim_machine_t *m, sim_levels_alg_t alg, uint32_t root,
                                      uint64_t nbytes, const sim_params_t *params)
{
    sim_levels_case_t c = { alg, root, nbytes, 0, 0, 0, 0 };
    sim_levels_result_t result;

    assert_int_equal(sim_levels_run(m, &c, params, &result, level_done, level_received), 0);
    return result;
}

static void test_layouts_parse_and_print(void **state)
{
    static const char *const bad[] = { "", "x2", "0x2", "4x0", "4x", "4x2x1", "3,,1", "3,0,1",
                                       "3,2,", ",3", "3;2", "-1", "4 x2" };
    uint32_t per_node[SIM_MACHINE_MAX_NODES];
    uint32_t nnodes;
    char text[64];

    (void)state;
    assert_int_equal(sim_machine_parse_layout("4x2", per_node, &nnodes), 0);
    assert_int_equal(nnodes, 4);
    for (uint32_t i = 0; i < nnodes; i++) {
        assert_int_equal(per_node[i], 2);
    }
    assert_int_equal(sim_machine_parse_layout("3,2,1", per_node, &nnodes), 0);
    assert_int_equal(nnodes, 3);
    assert_int_equal(per_node[0], 3);
    assert_int_equal(per_node[1], 2);
    assert_int_equal(per_node[2], 1);
    for (size_t i = 0; i < LEN(bad); i++) {
        assert_int_not_equal(sim_machine_parse_layout(bad[i], per_node, &nnodes), 0);
    }
    assert_int_equal(sim_machine_parse_layout("5000x1", per_node, &nnodes), -E2BIG);

    sim_machine_t m = machine_of("3,2,1", &default_memory);
    assert_int_equal(m.n, 6);
    assert_int_equal(m.nnodes, 3);
    /* Ranks fill the nodes in order, as Open MPI fills a hostfile's slots. */
    static const uint32_t nodes[] = { 0, 0, 0, 1, 1, 2 };
    for (uint32_t r = 0; r < m.n; r++) {
        assert_int_equal(m.node_of[r], nodes[r]);
    }
    sim_machine_format_layout(&m, text, sizeof(text));
    assert_string_equal(text, "3,2,1");
    sim_machine_fini(&m);
    m = machine_of("4x2", &default_memory);
    sim_machine_format_layout(&m, text, sizeof(text));
    assert_string_equal(text, "4x2");
    sim_machine_fini(&m);
}

/* One rank per node: every broadcast is exactly its one-level model, rank
 * by rank, whatever the root (the old simulator's ranks are relative to
 * it).  rdmc by levels then has one group, all the nodes. */
static void test_one_rank_per_node_is_the_one_level_network(void **state)
{
    static const uint32_t ns[] = { 2, 3, 4, 5, 8, 13, 33 };
    static const uint64_t level_sizes[] = { 0, 1000, (1u << 20) + 3, 8u << 20 };
    static const struct {
        sim_levels_alg_t levels;
        sim_alg_t one_level;
    } pairs[] = {
        { SIM_LEVELS_RDMC, SIM_ALG_BINOMIAL_PIPELINE },
        { SIM_LEVELS_RDMC_FLAT, SIM_ALG_BINOMIAL_PIPELINE },
        { SIM_LEVELS_TUNED_CHAIN, SIM_ALG_MPI_CHAIN },
        { SIM_LEVELS_HAN, SIM_ALG_MPI_BINOMIAL },   /* the whole message: han's default */
    };
    char layout[32];

    (void)state;
    for (size_t i = 0; i < LEN(ns); i++) {
        uint32_t n = ns[i];
        uint32_t roots[] = { 0, n / 2, n - 1 };
        snprintf(layout, sizeof(layout), "%ux1", n);
        sim_machine_t m = machine_of(layout, &default_memory);
        for (size_t j = 0; j < LEN(level_sizes); j++) {
            for (size_t p = 0; p < LEN(pairs); p++) {
                sim_result_t one = run(pairs[p].one_level, n, level_sizes[j], 0, &nominal);
                for (size_t r = 0; r < LEN(roots); r++) {
                    sim_levels_result_t two = run_levels(&m, pairs[p].levels, roots[r],
                                                         level_sizes[j], &nominal);
                    assert_int_equal(two.completion, one.completion);
                    for (uint32_t rel = 0; rel < n; rel++) {
                        assert_int_equal(level_done[(rel + roots[r]) % n], done[rel]);
                    }
                }
            }
        }
        sim_machine_fini(&m);
    }
}

/* 4 nodes of 2 ranks, 16 MiB, 1 Gbit/s: the leaders' pipeline takes what
 * 4 nodes alone take, and a node's second rank is done a copy or two after
 * its leader (blocks go down as they arrive).  Holding each whole message
 * at the leader first would add m / (50 GB/s) = 0.34 ms, 0.24%. */
static void test_levels_are_near_the_link_when_memory_is_fast(void **state)
{
    const uint64_t m16 = 16u << 20;
    sim_machine_t m = machine_of("4x2", &fast_memory);
    double link_ps = nominal.beta_ns_per_byte * 1e3 * (double)m16;

    (void)state;
    sim_result_t nodes_only = run(SIM_ALG_BINOMIAL_PIPELINE, 4, m16, 0, &nominal);
    sim_levels_result_t r = run_levels(&m, SIM_LEVELS_RDMC, 0, m16, &nominal);
    assert_true((double)r.completion >= link_ps);
    assert_true((double)r.completion <= 1.05 * link_ps);
    assert_true(r.completion >= nodes_only.completion);
    assert_true((double)r.completion <= 1.001 * (double)nodes_only.completion);
    /* The fan-out's blocks are the leaders' blocks. */
    assert_int_equal(r.mem_block_bytes, r.block_bytes);
    sim_machine_fini(&m);
}

/* Every rank of uneven layouts gets every byte exactly once, from any
 * root, in every broadcast; ranks off the root's node no faster than the
 * link, and no broadcast faster than its busiest link's bytes allow. */
static void test_uneven_layouts_deliver_every_byte_once(void **state)
{
    static const char *const layouts[] = { "3,2,1", "1,3,2", "2,1,1,4", "1,1", "5" };
    static const uint64_t level_sizes[] = { 0, 1, 1000, (1u << 20) + 3, 16u << 20 };

    (void)state;
    for (size_t l = 0; l < LEN(layouts); l++) {
        sim_machine_t m = machine_of(layouts[l], &default_memory);
        for (uint32_t root = 0; root < m.n; root++) {
            for (size_t j = 0; j < LEN(level_sizes); j++) {
                uint64_t nbytes = level_sizes[j];
                for (unsigned a = 0; a < SIM_LEVELS_COUNT; a++) {
                    sim_levels_result_t r = run_levels(&m, (sim_levels_alg_t)a, root, nbytes,
                                                       &nominal);
                    sim_ps_t last = 0;
                    for (uint32_t rank = 0; rank < m.n; rank++) {
                        assert_true(level_done[rank] != SIM_NEVER);
                        assert_int_equal(level_received[rank], rank == root ? 0 : nbytes);
                        if (m.node_of[rank] != m.node_of[root]) {
                            assert_true((double)level_done[rank] >=
                                        (double)nbytes * nominal.beta_ns_per_byte * 1e3);
                        }
                        last = level_done[rank] > last ? level_done[rank] : last;
                    }
                    assert_int_equal(r.completion, last);
                    /* A link carries one message at a time each way. */
                    assert_true((double)r.completion >=
                                (double)r.busiest_link_bytes * nominal.beta_ns_per_byte * 1e3);
                }
            }
        }
        sim_machine_fini(&m);
    }
}

/* By levels each node's link carries about m (each byte comes in once);
 * over all ranks, the two ranks of a node both fetch across its link. */
static void test_flat_rdmc_loads_a_link_more_than_levels(void **state)
{
    const uint64_t m16 = 16u << 20;
    sim_machine_t m = machine_of("4x2", &default_memory);

    (void)state;
    sim_levels_result_t levels = run_levels(&m, SIM_LEVELS_RDMC, 0, m16, &nominal);
    sim_levels_result_t flat = run_levels(&m, SIM_LEVELS_RDMC_FLAT, 0, m16, &nominal);
    assert_true(levels.busiest_link_bytes >= m16);
    assert_true((double)levels.busiest_link_bytes <= 1.01 * (double)m16);
    assert_true(flat.busiest_link_bytes > levels.busiest_link_bytes);
    assert_true(flat.completion > levels.completion);
    sim_machine_fini(&m);
}

/* One node of 4: rdmc is the fan-out alone, one block (no level above caps
 * it), all 3 receivers copying at once; with c cores the copies queue for
 * them. */
static void test_one_node_fans_out_within_its_cores(void **state)
{
    const uint64_t m1 = 1u << 20;
    sim_params_t memory_costs = nominal;
    sim_mem_params_t mem = default_memory;

    (void)state;
    memory_costs.alpha_us = mem.alpha_us;
    memory_costs.beta_ns_per_byte = mem.beta_ns_per_byte;
    sim_ps_t copy = sim_transfer_ps(&memory_costs, m1);
    for (uint32_t cores = 0; cores <= 3; cores++) {
        mem.cores = cores;
        sim_machine_t m = machine_of("4", &mem);
        sim_levels_result_t r = run_levels(&m, SIM_LEVELS_RDMC, 0, m1, &nominal);
        uint32_t rounds = cores == 0 ? 1 : (3 + cores - 1) / cores;
        assert_int_equal(r.mem_block_bytes, m1);
        assert_int_equal(r.completion, rounds * copy);
        assert_int_equal(r.busiest_link_bytes, 0);
        sim_machine_fini(&m);
    }
}

/* Fewer cores, or jitter, never make a broadcast faster. */
static void test_cores_and_jitter_only_delay(void **state)
{
    static const char *const layouts[] = { "2x4", "3,2,1" };
    sim_params_t noisy = nominal;

    (void)state;
    noisy.jitter = 0.3;
    noisy.seed = 7;
    for (size_t l = 0; l < LEN(layouts); l++) {
        for (unsigned a = 0; a < SIM_LEVELS_COUNT; a++) {
            sim_ps_t previous = 0;
            for (uint32_t cores = 4; cores >= 1; cores--) {
                sim_mem_params_t mem = default_memory;
                mem.cores = cores;
                sim_machine_t m = machine_of(layouts[l], &mem);
                sim_ps_t t = run_levels(&m, (sim_levels_alg_t)a, 0, 4u << 20, &nominal).completion;
                assert_true(t >= previous);
                previous = t;
                sim_machine_fini(&m);
            }
            sim_machine_t m = machine_of(layouts[l], &default_memory);
            sim_ps_t quiet = run_levels(&m, (sim_levels_alg_t)a, 0, 4u << 20, &nominal).completion;
            sim_ps_t once = run_levels(&m, (sim_levels_alg_t)a, 0, 4u << 20, &noisy).completion;
            sim_ps_t again = run_levels(&m, (sim_levels_alg_t)a, 0, 4u << 20, &noisy).completion;
            assert_true(once > quiet);
            assert_int_equal(once, again);
            sim_machine_fini(&m);
        }
    }
}

static void test_bad_level_cases_are_refused(void **state)
{
    sim_machine_t m = machine_of("2x2", &default_memory);
    sim_machine_t alone = machine_of("1", &default_memory);
    sim_levels_case_t c = { SIM_LEVELS_RDMC, 4, 100, 0, 0, 0, 0 };
    sim_params_t slow = nominal;
    sim_levels_result_t r;

    (void)state;
    assert_int_equal(sim_levels_run(&m, &c, &nominal, &r, NULL, NULL), -EINVAL);
    c.root = 0;
    c.alg = SIM_LEVELS_COUNT;
    assert_int_equal(sim_levels_run(&m, &c, &nominal, &r, NULL, NULL), -EINVAL);
    c.alg = SIM_LEVELS_RDMC;
    assert_int_equal(sim_levels_run(&alone, &c, &nominal, &r, NULL, NULL), -EINVAL);
    slow.slow_node = 1;
    slow.slow_factor = 2;
    assert_int_equal(sim_levels_run(&m, &c, &slow, &r, NULL, NULL), -EINVAL);
    sim_machine_fini(&m);
    sim_machine_fini(&alone);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rdmc_time_is_steps_times_step_cost),
        cmocka_unit_test(test_pipelines_with_many_blocks_are_exact),
        cmocka_unit_test(test_every_node_gets_everything_no_faster_than_the_link),
        cmocka_unit_test(test_lower_bound_is_below_every_algorithm),
        cmocka_unit_test(test_a_short_last_block_may_beat_the_equal_block_bound),
        cmocka_unit_test(test_a_slow_node_never_makes_it_faster),
        cmocka_unit_test(test_jitter_is_repeatable_and_only_delays),
        cmocka_unit_test(test_rdmc_blocks_come_from_the_engine),
        cmocka_unit_test(test_bad_cases_are_refused),
        cmocka_unit_test(test_layouts_parse_and_print),
        cmocka_unit_test(test_one_rank_per_node_is_the_one_level_network),
        cmocka_unit_test(test_levels_are_near_the_link_when_memory_is_fast),
        cmocka_unit_test(test_uneven_layouts_deliver_every_byte_once),
        cmocka_unit_test(test_flat_rdmc_loads_a_link_more_than_levels),
        cmocka_unit_test(test_one_node_fans_out_within_its_cores),
        cmocka_unit_test(test_cores_and_jitter_only_delay),
        cmocka_unit_test(test_bad_level_cases_are_refused),
    };

    return cmocka_run_group_tests_name("sim", tests, NULL, NULL);
}
