/*
 * Exhaustive checks of the block schedules: every receiver gets every block
 * exactly once, only from a node that already holds it at that step, each
 * node sends and receives at most one block per step, sender and receiver
 * agree on every transfer, and the binomial pipeline takes exactly
 * k + log2(n) - 1 steps (powers of two) or k + floor(log2 n) steps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "coll/core/rdmc_schedule.h"

#define MAX_N 130
#define MAX_K 70

/* holds[node][block]: the step at which the node got the block, or NOT_YET. */
#define NOT_YET UINT64_MAX
static uint64_t holds[MAX_N][MAX_K];

typedef struct check_stats {
    uint64_t transfers;
    uint64_t last_busy_step;
} check_stats_t;

/* Replays one schedule step by step; fails the test on the first violation. */
static check_stats_t check_schedule(rdmc_schedule_alg_t alg, uint32_t n, uint64_t k)
{
    uint64_t steps = rdmc_schedule_num_steps(alg, n, k);
    check_stats_t stats = { 0, 0 };
    /* What each node receives at the current step, from its own view. */
    rdmc_transfer_t incoming[MAX_N];
    uint8_t receives[MAX_N];

    for (uint32_t node = 0; node < n; node++) {
        for (uint64_t b = 0; b < k; b++) {
            holds[node][b] = node == 0 ? 0 : NOT_YET;
        }
    }

    for (uint64_t t = 0; t < steps; t++) {
        uint32_t sends = 0, recvs = 0;
        for (uint32_t node = 0; node < n; node++) {
            receives[node] = rdmc_schedule_recv(alg, n, node, k, t, &incoming[node]);
            recvs += receives[node];
        }
        for (uint32_t node = 0; node < n; node++) {
            rdmc_transfer_t out;
            if (!rdmc_schedule_send(alg, n, node, k, t, &out)) {
                continue;
            }
            sends++;
            /* The transfer is well formed and the target agrees on it. */
            assert_true(out.peer < n);
            assert_int_not_equal(out.peer, node);
            assert_true(out.block < k);
            assert_true(receives[out.peer]);
            assert_int_equal(incoming[out.peer].peer, node);
            assert_int_equal(incoming[out.peer].block, out.block);
            /* Only a node that already holds the block may send it: it got
             * it at an earlier step (not this one). */
            assert_true(holds[node][out.block] != NOT_YET);
            assert_true(node == 0 || holds[node][out.block] < t + 1);
            /* Exactly once: the target does not have it yet. */
            assert_true(holds[out.peer][out.block] == NOT_YET);
            stats.transfers++;
            stats.last_busy_step = t;
        }
        /* Each send matched its own receiver's view (one receive per node
         * per step), so equal counts mean every receive is really sent. */
        assert_int_equal(sends, recvs);
        /* Blocks received at step t become usable at step t + 1. */
        for (uint32_t node = 0; node < n; node++) {
            if (receives[node]) {
                holds[node][incoming[node].block] = t + 1;
            }
        }
    }

    /* Everyone holds everything, and nothing moved twice. */
    for (uint32_t node = 1; node < n; node++) {
        for (uint64_t b = 0; b < k; b++) {
            assert_true(holds[node][b] != NOT_YET);
        }
    }
    assert_int_equal(stats.transfers, (uint64_t)(n - 1) * k);
    return stats;
}

static void check_first_recv(rdmc_schedule_alg_t alg, uint32_t n, uint64_t k)
{
    uint64_t steps = rdmc_schedule_num_steps(alg, n, k);

    for (uint32_t node = 1; node < n; node++) {
        uint64_t first = 0;
        rdmc_transfer_t x, y;
        assert_true(rdmc_schedule_first_recv(alg, n, node, k, &first, &x));
        for (uint64_t t = 0; t < first; t++) {
            assert_false(rdmc_schedule_recv(alg, n, node, k, t, &y));
        }
        assert_true(rdmc_schedule_recv(alg, n, node, k, first, &y));
        assert_int_equal(x.peer, y.peer);
        assert_int_equal(x.block, y.block);
        assert_true(first < steps);
    }
    rdmc_transfer_t unused;
    uint64_t unused_step;
    assert_false(rdmc_schedule_first_recv(alg, n, 0, k, &unused_step, &unused));
}

static void test_binomial_pipeline_exhaustive(void **state)
{
    (void)state;
    for (uint32_t n = 2; n <= MAX_N; n++) {
        uint32_t l = rdmc_floor_log2(n);
        int power_of_two = (1u << l) == n;
        for (uint64_t k = 1; k <= MAX_K; k++) {
            check_stats_t st = check_schedule(RDMC_SCHEDULE_BINOMIAL_PIPELINE, n, k);
            uint64_t expected = power_of_two ? k + l - 1 : k + l;
            assert_int_equal(rdmc_schedule_num_steps(RDMC_SCHEDULE_BINOMIAL_PIPELINE, n, k),
                             expected);
            /* The bound is tight: the last step carries a transfer. */
            assert_int_equal(st.last_busy_step, expected - 1);
            check_first_recv(RDMC_SCHEDULE_BINOMIAL_PIPELINE, n, k);
        }
    }
}

static void check_all(rdmc_schedule_alg_t alg, uint32_t max_n, uint64_t max_k)
{
    for (uint32_t n = 2; n <= max_n; n++) {
        for (uint64_t k = 1; k <= max_k; k++) {
            check_schedule(alg, n, k);
            check_first_recv(alg, n, k);
        }
    }
}

static void test_chain_exhaustive(void **state)
{
    (void)state;
    check_all(RDMC_SCHEDULE_CHAIN, MAX_N, MAX_K);
    assert_int_equal(rdmc_schedule_num_steps(RDMC_SCHEDULE_CHAIN, 10, 7), 7 + 10 - 2);
}

static void test_binomial_tree_exhaustive(void **state)
{
    (void)state;
    check_all(RDMC_SCHEDULE_BINOMIAL_TREE, MAX_N, MAX_K);
    assert_int_equal(rdmc_schedule_num_steps(RDMC_SCHEDULE_BINOMIAL_TREE, 9, 5), 5 * 4);
}

static void test_sequential_exhaustive(void **state)
{
    (void)state;
    check_all(RDMC_SCHEDULE_SEQUENTIAL, MAX_N, MAX_K);
    assert_int_equal(rdmc_schedule_num_steps(RDMC_SCHEDULE_SEQUENTIAL, 9, 5), 5 * 8);
}

/* The worked examples of the design note, transfer by transfer. */
typedef struct expected_transfer {
    uint64_t step;
    uint32_t from, to;
    uint64_t block;
} expected_transfer_t;

static void check_table(uint32_t n, uint64_t k, const expected_transfer_t *table, size_t len)
{
    size_t seen = 0;
    uint64_t steps = rdmc_schedule_num_steps(RDMC_SCHEDULE_BINOMIAL_PIPELINE, n, k);

    for (uint64_t t = 0; t < steps; t++) {
        for (uint32_t node = 0; node < n; node++) {
            rdmc_transfer_t x;
            if (!rdmc_schedule_send(RDMC_SCHEDULE_BINOMIAL_PIPELINE, n, node, k, t, &x)) {
                continue;
            }
            int found = 0;
            for (size_t i = 0; i < len; i++) {
                if (table[i].step == t && table[i].from == node && table[i].to == x.peer &&
                    table[i].block == x.block) {
                    found = 1;
                }
            }
            assert_true(found);
            seen++;
        }
    }
    assert_int_equal(seen, len);
}

static void test_binomial_pipeline_matches_reference_tables(void **state)
{
    (void)state;
    static const expected_transfer_t n4k4[] = {
        {0, 0, 1, 0},
        {1, 0, 2, 1}, {1, 1, 3, 0},
        {2, 0, 1, 2}, {2, 2, 3, 1}, {2, 3, 2, 0},
        {3, 0, 2, 3}, {3, 1, 3, 2}, {3, 3, 1, 1},
        {4, 0, 1, 3}, {4, 2, 3, 3}, {4, 3, 2, 2},
    };
    static const expected_transfer_t n6k4[] = {
        {0, 0, 1, 0},
        {1, 0, 2, 1}, {1, 1, 3, 0},
        {2, 0, 4, 2}, {2, 2, 3, 1}, {2, 3, 5, 0},
        {3, 0, 5, 3}, {3, 1, 4, 0}, {3, 3, 1, 1}, {3, 4, 3, 2}, {3, 5, 2, 0},
        {4, 0, 1, 3}, {4, 1, 4, 1}, {4, 2, 5, 1}, {4, 3, 2, 2}, {4, 5, 3, 3},
        {5, 1, 4, 3}, {5, 2, 5, 2}, {5, 4, 1, 2}, {5, 5, 2, 3},
    };
    static const expected_transfer_t n5k3[] = {
        {0, 0, 1, 0},
        {1, 0, 2, 1}, {1, 1, 3, 0},
        {2, 0, 4, 2}, {2, 2, 3, 1}, {2, 3, 2, 0},
        {3, 0, 2, 2}, {3, 1, 4, 0}, {3, 3, 1, 1}, {3, 4, 3, 2},
        {4, 1, 4, 1}, {4, 4, 1, 2},
    };
    check_table(4, 4, n4k4, sizeof(n4k4) / sizeof(n4k4[0]));
    check_table(6, 4, n6k4, sizeof(n6k4) / sizeof(n6k4[0]));
    check_table(5, 3, n5k3, sizeof(n5k3) / sizeof(n5k3[0]));
}

static void test_fanout_exhaustive(void **state)
{
    (void)state;
    check_all(RDMC_SCHEDULE_FANOUT, MAX_N, MAX_K);
    assert_int_equal(rdmc_schedule_num_steps(RDMC_SCHEDULE_FANOUT, 9, 5), 5 * 8);
    /* Each block reaches every rank before the next block leaves. */
    rdmc_transfer_t x;
    assert_true(rdmc_schedule_send(RDMC_SCHEDULE_FANOUT, 4, 0, 3, 2, &x));
    assert_int_equal(x.peer, 3);
    assert_int_equal(x.block, 0);
    assert_true(rdmc_schedule_send(RDMC_SCHEDULE_FANOUT, 4, 0, 3, 3, &x));
    assert_int_equal(x.peer, 1);
    assert_int_equal(x.block, 1);
}

static void test_degenerate_inputs(void **state)
{
    (void)state;
    rdmc_transfer_t x;
    for (int alg = 0; alg < RDMC_SCHEDULE_COUNT; alg++) {
        assert_int_equal(rdmc_schedule_num_steps(alg, 1, 5), 0);
        assert_int_equal(rdmc_schedule_num_steps(alg, 4, 0), 0);
        assert_false(rdmc_schedule_send(alg, 1, 0, 5, 0, &x));
        assert_false(rdmc_schedule_send(alg, 4, 4, 5, 0, &x));   /* rank out of range */
        assert_false(rdmc_schedule_recv(alg, 4, 0, 5, 0, &x));   /* root never receives */
        assert_non_null(rdmc_schedule_name(alg));
    }
    assert_null(rdmc_schedule_name(RDMC_SCHEDULE_COUNT));
    assert_int_equal(rdmc_schedule_num_steps(RDMC_SCHEDULE_COUNT, 4, 4), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_binomial_pipeline_matches_reference_tables),
        cmocka_unit_test(test_binomial_pipeline_exhaustive),
        cmocka_unit_test(test_chain_exhaustive),
        cmocka_unit_test(test_binomial_tree_exhaustive),
        cmocka_unit_test(test_sequential_exhaustive),
        cmocka_unit_test(test_fanout_exhaustive),
        cmocka_unit_test(test_degenerate_inputs),
    };
    return cmocka_run_group_tests_name("schedule", tests, NULL, NULL);
}
