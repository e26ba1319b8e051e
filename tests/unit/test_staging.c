/*
 * Unit tests of coll/core/rdmc_staging.c: buffers come back, the smallest
 * that fits first, within the budget, the oldest giving way; threads
 * share the cache safely.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "coll/core/rdmc_staging.h"

#define MIB ((size_t)1 << 20)

static int reset(void **state)
{
    (void)state;
    rdmc_staging_set_budget(0);
    return 0;
}

/* The same message size again gets the same (already touched) memory. */
static void test_a_buffer_put_back_is_reused(void **state)
{
    size_t cap, cap2;
    void *a, *b;

    (void)state;
    rdmc_staging_set_budget(64 * MIB);
    a = rdmc_staging_get(32 * MIB, &cap);
    assert_non_null(a);
    assert_true(cap >= 32 * MIB);
    memset(a, 1, 32 * MIB);
    rdmc_staging_put(a, cap);
    assert_int_equal(rdmc_staging_kept_bytes(), cap);
    b = rdmc_staging_get(32 * MIB - 100, &cap2);
    assert_ptr_equal(a, b);
    assert_int_equal(cap2, cap);
    assert_int_equal(rdmc_staging_kept_bytes(), 0);
    rdmc_staging_put(b, cap2);
}

/* The smallest buffer that fits, not the first nor the largest. */
static void test_the_smallest_that_fits(void **state)
{
    size_t caps[3], cap;
    void *bufs[3], *got;

    (void)state;
    rdmc_staging_set_budget(64 * MIB);
    bufs[0] = rdmc_staging_get(8 * MIB, &caps[0]);
    bufs[1] = rdmc_staging_get(2 * MIB, &caps[1]);
    bufs[2] = rdmc_staging_get(4 * MIB, &caps[2]);
    for (int i = 0; i < 3; i++) {
        rdmc_staging_put(bufs[i], caps[i]);
    }
    got = rdmc_staging_get(3 * MIB, &cap);
    assert_ptr_equal(got, bufs[2]);
    rdmc_staging_put(got, cap);
    got = rdmc_staging_get(9 * MIB, &cap);   /* none fits: fresh memory */
    assert_true(got != bufs[0] && got != bufs[1] && got != bufs[2]);
    assert_true(cap >= 9 * MIB);
    rdmc_staging_put(got, cap);
}

/* What the budget cannot hold is freed, the buffers put back longest ago
 * first; one larger than the whole budget is never kept; a smaller budget
 * frees at once; 0 keeps nothing. */
static void test_the_budget_holds(void **state)
{
    size_t cap_a, cap_b, cap_c, cap;
    void *a, *b, *c, *got;

    (void)state;
    rdmc_staging_set_budget(10 * MIB);
    a = rdmc_staging_get(4 * MIB, &cap_a);
    b = rdmc_staging_get(4 * MIB, &cap_b);
    c = rdmc_staging_get(4 * MIB, &cap_c);
    rdmc_staging_put(a, cap_a);
    rdmc_staging_put(b, cap_b);
    assert_int_equal(rdmc_staging_kept_bytes(), 8 * MIB);
    rdmc_staging_put(c, cap_c);   /* a went back first: it gives way */
    assert_int_equal(rdmc_staging_kept_bytes(), 8 * MIB);
    got = rdmc_staging_get(4 * MIB, &cap);
    assert_true(got == b || got == c);
    rdmc_staging_put(got, cap);

    got = rdmc_staging_get(11 * MIB, &cap);
    rdmc_staging_put(got, cap);
    assert_int_equal(rdmc_staging_kept_bytes(), 8 * MIB);

    rdmc_staging_set_budget(5 * MIB);
    assert_int_equal(rdmc_staging_kept_bytes(), 4 * MIB);
    rdmc_staging_set_budget(0);
    assert_int_equal(rdmc_staging_kept_bytes(), 0);
    got = rdmc_staging_get(1, &cap);
    assert_non_null(got);
    rdmc_staging_put(got, cap);
    assert_int_equal(rdmc_staging_kept_bytes(), 0);
    rdmc_staging_put(NULL, 0);
}

/* Never more than RDMC_STAGING_KEPT_MAX buffers, however small. */
static void test_at_most_so_many_buffers(void **state)
{
    void *bufs[RDMC_STAGING_KEPT_MAX + 4];
    size_t caps[RDMC_STAGING_KEPT_MAX + 4];

    (void)state;
    rdmc_staging_set_budget(1024 * MIB);
    for (int i = 0; i < RDMC_STAGING_KEPT_MAX + 4; i++) {
        bufs[i] = rdmc_staging_get(4096, &caps[i]);
        assert_non_null(bufs[i]);
    }
    for (int i = 0; i < RDMC_STAGING_KEPT_MAX + 4; i++) {
        rdmc_staging_put(bufs[i], caps[i]);
    }
    assert_int_equal(rdmc_staging_kept_bytes(), RDMC_STAGING_KEPT_MAX * caps[0]);
}

static void *churn(void *arg)
{
    uintptr_t id = (uintptr_t)arg;

    for (int i = 0; i < 2000; i++) {
        size_t cap, bytes = 4096 * (size_t)(1 + (i + id) % 7);
        unsigned char *buf = rdmc_staging_get(bytes, &cap);
        if (buf == NULL) {
            return (void *)1;
        }
        /* Nobody else holds it: what this thread writes stays. */
        memset(buf, (int)id, bytes);
        for (size_t b = 0; b < bytes; b += 512) {
            if (buf[b] != (unsigned char)id) {
                return (void *)1;
            }
        }
        rdmc_staging_put(buf, cap);
    }
    return NULL;
}

/* Four threads get and put at once: nobody is handed a buffer another
 * holds (ThreadSanitizer checks the locking in CI's run). */
static void test_threads_share_the_cache(void **state)
{
    pthread_t threads[4];
    void *result;

    (void)state;
    rdmc_staging_set_budget(1 * MIB);
    for (uintptr_t t = 0; t < 4; t++) {
        assert_int_equal(pthread_create(&threads[t], NULL, churn, (void *)(t + 1)), 0);
    }
    for (int t = 0; t < 4; t++) {
        assert_int_equal(pthread_join(threads[t], &result), 0);
        assert_null(result);
    }
    assert_true(rdmc_staging_kept_bytes() <= 1 * MIB);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_a_buffer_put_back_is_reused, reset),
        cmocka_unit_test_teardown(test_the_smallest_that_fits, reset),
        cmocka_unit_test_teardown(test_the_budget_holds, reset),
        cmocka_unit_test_teardown(test_at_most_so_many_buffers, reset),
        cmocka_unit_test_teardown(test_threads_share_the_cache, reset),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
