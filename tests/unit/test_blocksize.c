/* The block size chosen from the cost model, and block arithmetic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "coll/core/rdmc_blocksize.h"

static const rdmc_cost_model_t model = { 12.0, 0.2, 0, 0 };

static void test_requested_sizes_are_clamped(void **state)
{
    (void)state;
    assert_int_equal(rdmc_block_bytes(RDMC_SCHEDULE_BINOMIAL_PIPELINE, 4, 1 << 20, 10, &model),
                     RDMC_BLOCK_BYTES_MIN);
    assert_int_equal(rdmc_block_bytes(RDMC_SCHEDULE_BINOMIAL_PIPELINE, 4, 1 << 20, 1ull << 30,
                                      &model),
                     RDMC_BLOCK_BYTES_MAX);
    assert_int_equal(rdmc_block_bytes(RDMC_SCHEDULE_BINOMIAL_PIPELINE, 4, 1 << 20, 65536,
                                      &model),
                     65536);
}

static void test_pipelines_cut_large_messages_into_many_blocks(void **state)
{
    (void)state;
    uint64_t previous = 0;
    for (uint64_t size = 64 * 1024; size <= (256ull << 20); size *= 2) {
        uint64_t b = rdmc_block_bytes(RDMC_SCHEDULE_BINOMIAL_PIPELINE, 8, size, 0, &model);
        uint64_t k = rdmc_block_count(size, b);
        assert_true(b >= previous);            /* grows with the message */
        assert_int_equal(b % 4096, 0);         /* whole pages */
        assert_true(b >= RDMC_BLOCK_BYTES_MIN && b <= RDMC_BLOCK_BYTES_MAX);
        if (size >= (1u << 20)) {
            assert_true(k >= 4);               /* there is a pipeline */
        }
        previous = b;
    }
    /* sqrt law: 4x the bytes, about 2x the block (k is a whole number) */
    uint64_t b16 = rdmc_block_bytes(RDMC_SCHEDULE_BINOMIAL_PIPELINE, 4, 16u << 20, 0, &model);
    uint64_t b64 = rdmc_block_bytes(RDMC_SCHEDULE_BINOMIAL_PIPELINE, 4, 64u << 20, 0, &model);
    assert_true(b64 * 10 >= b16 * 18 && b64 * 10 <= b16 * 22);
    /* blocks are equal: the last one is not a sliver */
    uint64_t size = (16u << 20) + 12345;
    uint64_t b = rdmc_block_bytes(RDMC_SCHEDULE_BINOMIAL_PIPELINE, 4, size, 0, &model);
    uint64_t k = rdmc_block_count(size, b);
    assert_true(rdmc_block_len(size, b, k - 1) * 2 > b);
    /* more steps outside the pipeline (larger n) want smaller blocks */
    assert_true(rdmc_block_bytes(RDMC_SCHEDULE_BINOMIAL_PIPELINE, 64, 16u << 20, 0, &model) <
                b16);
    assert_true(rdmc_block_bytes(RDMC_SCHEDULE_CHAIN, 16, 16u << 20, 0, &model) <
                rdmc_block_bytes(RDMC_SCHEDULE_CHAIN, 4, 16u << 20, 0, &model));
}

/* The tcp model lands where the emulated cluster's best fixed blocks were
 * (benchmarks/emu/calibrate.sh): 16-84 KiB at 4 and 8 hosts for 16 MiB,
 * 32 KiB (the floor) at 8 and 16 hosts for 1 MiB and at 16 hosts for
 * 4 MiB; and the figures of 200 Mbit/s links, which keep alpha/beta, choose
 * within 10% (or one page) of them. */
static void test_tcp_model_matches_the_emulator(void **state)
{
    const rdmc_cost_model_t *gigabit = &rdmc_tcp_model;
    const rdmc_cost_model_t slow = { 20.0, 41.8, rdmc_tcp_model.min_block_bytes,
                                     rdmc_tcp_model.max_block_bytes };
    const rdmc_schedule_alg_t bp = RDMC_SCHEDULE_BINOMIAL_PIPELINE;
    const struct { uint32_t n; uint64_t size, lo, hi; } cases[] = {
        { 4, 16u << 20, 60 << 10, 64 << 10 },
        { 8, 16u << 20, 32 << 10, 96 << 10 },
        { 8, 1u << 20, 32 << 10, 32 << 10 },
        { 16, 1u << 20, 32 << 10, 32 << 10 },
        { 16, 4u << 20, 32 << 10, 48 << 10 },
        /* the cap (60 KiB): the model alone would take 116 KiB */
        { 8, 64u << 20, 60 << 10, 60 << 10 },
        { 4, 256u << 20, 60 << 10, 60 << 10 },
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t b = rdmc_block_bytes(bp, cases[i].n, cases[i].size, 0, gigabit);
        uint64_t b_slow = rdmc_block_bytes(bp, cases[i].n, cases[i].size, 0, &slow);
        assert_in_range(b, cases[i].lo, cases[i].hi);
        uint64_t slack = b / 10 > 4096 ? b / 10 : 4096;
        assert_in_range(b_slow, b - slack, b + slack);
    }
}

/* A model's floor bounds automatic blocks only: a message under it goes
 * whole, and a block the user asked for is taken as it is. */
static void test_floor_bounds_automatic_blocks(void **state)
{
    const rdmc_cost_model_t floored = { model.alpha_us, model.beta_ns_per_byte, 256 << 10, 0 };
    const rdmc_schedule_alg_t bp = RDMC_SCHEDULE_BINOMIAL_PIPELINE;

    (void)state;
    assert_true(rdmc_block_bytes(bp, 64, 1u << 20, 0, &model) < (256 << 10));
    assert_int_equal(rdmc_block_bytes(bp, 64, 1u << 20, 0, &floored), 256 << 10);
    assert_int_equal(rdmc_block_bytes(bp, 64, 100000, 0, &floored), 102400);
    assert_int_equal(rdmc_block_count(100000, rdmc_block_bytes(bp, 64, 100000, 0, &floored)), 1);
    assert_int_equal(rdmc_block_bytes(bp, 64, 1u << 20, 8192, &floored), 8192);
    /* above the floor the model decides alone */
    assert_int_equal(rdmc_block_bytes(bp, 4, 256u << 20, 0, &floored),
                     rdmc_block_bytes(bp, 4, 256u << 20, 0, &model));
}

/* A cap bounds automatic blocks only, too; a message that would need more
 * than RDMC_MAX_BLOCKS capped blocks gets larger ones. */
static void test_cap_bounds_automatic_blocks(void **state)
{
    const rdmc_cost_model_t capped = { model.alpha_us, model.beta_ns_per_byte, 0, 16 << 10 };
    const rdmc_schedule_alg_t bp = RDMC_SCHEDULE_BINOMIAL_PIPELINE;

    (void)state;
    assert_true(rdmc_block_bytes(bp, 4, 256u << 20, 0, &model) > (16 << 10));
    assert_int_equal(rdmc_block_bytes(bp, 4, 256u << 20, 0, &capped), 16 << 10);
    assert_int_equal(rdmc_block_bytes(bp, 4, 256u << 20, 1u << 20, &capped), 1u << 20);
    /* below the cap the model decides alone */
    assert_int_equal(rdmc_block_bytes(bp, 64, 16u << 10, 0, &capped),
                     rdmc_block_bytes(bp, 64, 16u << 10, 0, &model));
    assert_true(rdmc_block_count(64ull << 30, rdmc_block_bytes(bp, 4, 64ull << 30, 0, &capped)) <=
                RDMC_MAX_BLOCKS);
}

static void test_schedules_without_pipelining_use_one_block(void **state)
{
    (void)state;
    const uint64_t size = 3u << 20;
    assert_int_equal(rdmc_block_count(size, rdmc_block_bytes(RDMC_SCHEDULE_SEQUENTIAL, 8, size,
                                                             0, &model)),
                     1);
    assert_int_equal(rdmc_block_count(size, rdmc_block_bytes(RDMC_SCHEDULE_BINOMIAL_TREE, 8,
                                                             size, 0, &model)),
                     1);
    /* two ranks: one link, nothing to overlap */
    assert_int_equal(rdmc_block_count(size, rdmc_block_bytes(RDMC_SCHEDULE_BINOMIAL_PIPELINE,
                                                             2, size, 0, &model)),
                     1);
}

static void test_block_count_is_bounded(void **state)
{
    (void)state;
    uint64_t huge = 1ull << 40;
    uint64_t b = rdmc_block_bytes(RDMC_SCHEDULE_BINOMIAL_PIPELINE, 4, huge, 1024, &model);
    assert_true(rdmc_block_count(huge, b) <= RDMC_MAX_BLOCKS);
}

static void test_block_arithmetic(void **state)
{
    (void)state;
    assert_int_equal(rdmc_block_count(0, 4096), 1);   /* empty messages still flow */
    assert_int_equal(rdmc_block_count(1, 4096), 1);
    assert_int_equal(rdmc_block_count(4096, 4096), 1);
    assert_int_equal(rdmc_block_count(4097, 4096), 2);
    assert_int_equal(rdmc_block_len(4097, 4096, 0), 4096);
    assert_int_equal(rdmc_block_len(4097, 4096, 1), 1);
    assert_int_equal(rdmc_block_len(0, 4096, 0), 0);
    assert_int_equal(rdmc_block_len(8192, 4096, 1), 4096);
    assert_int_equal(rdmc_block_len(8192, 4096, 2), 0);
    uint64_t big = (5ull << 30) + 7;   /* above 4 GiB */
    assert_int_equal(rdmc_block_count(big, 1 << 20), (5ull << 10) + 1);
    assert_int_equal(rdmc_block_len(big, 1 << 20, 5ull << 10), 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_requested_sizes_are_clamped),
        cmocka_unit_test(test_pipelines_cut_large_messages_into_many_blocks),
        cmocka_unit_test(test_tcp_model_matches_the_emulator),
        cmocka_unit_test(test_floor_bounds_automatic_blocks),
        cmocka_unit_test(test_cap_bounds_automatic_blocks),
        cmocka_unit_test(test_schedules_without_pipelining_use_one_block),
        cmocka_unit_test(test_block_count_is_bounded),
        cmocka_unit_test(test_block_arithmetic),
    };
    return cmocka_run_group_tests_name("blocksize", tests, NULL, NULL);
}
