/*
 * The broadcast simulator's core (benchmarks/sim): on the nominal network
 * the replayed RDMC schedules take exactly their step count times the cost
 * of a step; every algorithm delivers the whole message to every node, no
 * faster than the link allows and never below the bounds; and a slow node
 * or jitter never makes a broadcast faster.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

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
    };

    return cmocka_run_group_tests_name("sim", tests, NULL, NULL);
}
