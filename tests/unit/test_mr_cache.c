/* The registration cache over counting fake registrations. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "ofi/ofi_mr_cache.h"

typedef struct fake_regs {
    int registered, deregistered, fail_next;
} fake_regs_t;

static int fake_reg(void *ctx, const void *addr, size_t len, void **handle_p, void **desc_p)
{
    fake_regs_t *f = ctx;
    (void)len;
    if (f->fail_next) {
        f->fail_next = 0;
        return -ENOMEM;
    }
    f->registered++;
    *handle_p = (void *)addr;
    *desc_p = (void *)((uintptr_t)addr + 1);
    return 0;
}

static void fake_dereg(void *ctx, void *handle)
{
    (void)handle;
    ((fake_regs_t *)ctx)->deregistered++;
}

static char memory[64][4096];

static void test_repeated_buffers_register_once(void **state)
{
    (void)state;
    fake_regs_t f = { 0, 0, 0 };
    rdmc_mr_cache_t cache;
    rdmc_mr_entry_t *a, *b, *c;

    rdmc_mr_cache_init(&cache, fake_reg, fake_dereg, &f);
    assert_int_equal(rdmc_mr_cache_acquire(&cache, memory[0], 4096, &a), 0);
    rdmc_mr_cache_release(&cache, a);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(rdmc_mr_cache_acquire(&cache, memory[0], 4096, &b), 0);
        rdmc_mr_cache_release(&cache, b);
    }
    /* A part of a registered range is covered too. */
    assert_int_equal(rdmc_mr_cache_acquire(&cache, memory[0] + 100, 200, &c), 0);
    assert_ptr_equal(c, a);
    assert_int_equal(f.registered, 1);
    assert_int_equal(cache.hits, 11);
    /* Descriptors are handed out only for held ranges. */
    assert_ptr_equal(rdmc_mr_cache_desc(&cache, memory[0] + 8, 16), (void *)((uintptr_t)memory[0] + 1));
    assert_null(rdmc_mr_cache_desc(&cache, memory[1], 16));
    rdmc_mr_cache_release(&cache, c);
    assert_null(rdmc_mr_cache_desc(&cache, memory[0] + 8, 16));
    rdmc_mr_cache_flush(&cache);
    assert_int_equal(f.deregistered, 1);
}

static void test_least_recently_used_idle_entry_is_evicted(void **state)
{
    (void)state;
    fake_regs_t f = { 0, 0, 0 };
    rdmc_mr_cache_t cache;
    rdmc_mr_entry_t *e;

    rdmc_mr_cache_init(&cache, fake_reg, fake_dereg, &f);
    for (int i = 0; i < RDMC_MR_CACHE_ENTRIES; i++) {
        assert_int_equal(rdmc_mr_cache_acquire(&cache, memory[i], 4096, &e), 0);
        rdmc_mr_cache_release(&cache, e);
    }
    /* Touch buffer 0 so buffer 1 becomes the oldest. */
    assert_int_equal(rdmc_mr_cache_acquire(&cache, memory[0], 4096, &e), 0);
    rdmc_mr_cache_release(&cache, e);
    assert_int_equal(rdmc_mr_cache_acquire(&cache, memory[40], 4096, &e), 0);
    rdmc_mr_cache_release(&cache, e);
    assert_int_equal(f.deregistered, 1);
    /* Buffer 0 is still cached, buffer 1 is not. */
    int before = f.registered;
    assert_int_equal(rdmc_mr_cache_acquire(&cache, memory[0], 4096, &e), 0);
    rdmc_mr_cache_release(&cache, e);
    assert_int_equal(f.registered, before);
    assert_int_equal(rdmc_mr_cache_acquire(&cache, memory[1], 4096, &e), 0);
    rdmc_mr_cache_release(&cache, e);
    assert_int_equal(f.registered, before + 1);
    rdmc_mr_cache_flush(&cache);
    assert_int_equal(f.registered, f.deregistered);
}

static void test_held_entries_are_never_evicted(void **state)
{
    (void)state;
    fake_regs_t f = { 0, 0, 0 };
    rdmc_mr_cache_t cache;
    rdmc_mr_entry_t *held[RDMC_MR_CACHE_ENTRIES], *e, *e2;

    rdmc_mr_cache_init(&cache, fake_reg, fake_dereg, &f);
    for (int i = 0; i < RDMC_MR_CACHE_ENTRIES; i++) {
        assert_int_equal(rdmc_mr_cache_acquire(&cache, memory[i], 4096, &held[i]), 0);
    }
    /* Full of held entries: a new buffer still gets a registration, of
     * its own, and evicts nobody. */
    assert_int_equal(rdmc_mr_cache_acquire(&cache, memory[50], 4096, &e), 0);
    assert_int_equal(rdmc_mr_cache_acquire(&cache, memory[51], 4096, &e2), 0);
    assert_int_equal(cache.overflows, 2);
    assert_int_equal(f.deregistered, 0);
    assert_ptr_equal(rdmc_mr_cache_desc(&cache, memory[51], 4096), e2->desc);
    for (int i = 0; i < RDMC_MR_CACHE_ENTRIES; i++) {
        assert_ptr_equal(rdmc_mr_cache_desc(&cache, memory[i], 4096), held[i]->desc);
    }
    /* Released, an overflow registration is dropped at once. */
    rdmc_mr_cache_release(&cache, e);
    assert_int_equal(f.deregistered, 1);
    assert_null(rdmc_mr_cache_desc(&cache, memory[50], 4096));
    for (int i = 0; i < RDMC_MR_CACHE_ENTRIES; i++) {
        rdmc_mr_cache_release(&cache, held[i]);
    }
    /* Flushing drops what is still held outside the entries too. */
    rdmc_mr_cache_flush(&cache);
    assert_int_equal(f.registered, f.deregistered);
}

static void test_forgetting_after_memory_release(void **state)
{
    (void)state;
    fake_regs_t f = { 0, 0, 0 };
    rdmc_mr_cache_t cache;
    rdmc_mr_entry_t *idle, *held, *again;

    rdmc_mr_cache_init(&cache, fake_reg, fake_dereg, &f);
    assert_int_equal(rdmc_mr_cache_acquire(&cache, memory[0], 4096, &idle), 0);
    rdmc_mr_cache_release(&cache, idle);
    assert_int_equal(rdmc_mr_cache_acquire(&cache, memory[1], 4096, &held), 0);

    rdmc_mr_cache_forget(&cache);
    assert_int_equal(f.deregistered, 1);          /* the idle one at once */
    /* The held one still serves its broadcast ... */
    assert_non_null(rdmc_mr_cache_desc(&cache, memory[1], 10));
    /* ... but a new broadcast on that address registers afresh. */
    assert_int_equal(rdmc_mr_cache_acquire(&cache, memory[1], 4096, &again), 0);
    assert_ptr_not_equal(again, held);
    assert_int_equal(f.registered, 3);
    rdmc_mr_cache_release(&cache, held);
    assert_int_equal(f.deregistered, 2);          /* dropped once released */
    rdmc_mr_cache_release(&cache, again);
    rdmc_mr_cache_flush(&cache);
    assert_int_equal(f.registered, f.deregistered);
}

static void test_registration_failure_is_reported(void **state)
{
    (void)state;
    fake_regs_t f = { 0, 0, 1 };
    rdmc_mr_cache_t cache;
    rdmc_mr_entry_t *e = NULL;

    rdmc_mr_cache_init(&cache, fake_reg, fake_dereg, &f);
    assert_int_equal(rdmc_mr_cache_acquire(&cache, memory[0], 4096, &e), -ENOMEM);
    assert_null(e);
    assert_int_equal(rdmc_mr_cache_acquire(&cache, memory[0], 4096, &e), 0);
    rdmc_mr_cache_release(&cache, e);
    rdmc_mr_cache_flush(&cache);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_repeated_buffers_register_once),
        cmocka_unit_test(test_least_recently_used_idle_entry_is_evicted),
        cmocka_unit_test(test_held_entries_are_never_evicted),
        cmocka_unit_test(test_forgetting_after_memory_release),
        cmocka_unit_test(test_registration_failure_is_reported),
    };
    return cmocka_run_group_tests_name("mr_cache", tests, NULL, NULL);
}
