/*
 * The broadcast engine over the fake transport: whole broadcasts among n
 * simulated ranks with random delivery order and refused posts.  Checks
 * the bytes every rank ends with, that no block ever arrived before its
 * receive was posted, that nothing is left posted or undelivered, and that
 * malformed input and silent peers become errors, not crashes or hangs.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "coll/core/rdmc_blocksize.h"
#include "coll/core/rdmc_engine.h"
#include "fake_transport.h"

#define MAX_RANKS 40
#define MAX_ROUNDS 2000000

typedef struct bcast_case {
    int n, root;
    uint64_t nbytes, block_bytes;
    rdmc_schedule_alg_t schedule;
    unsigned seed;
    int eagain_percent;
    unsigned sends_in_flight;   /* 0: the engine's default */
} bcast_case_t;

static uint8_t pattern(uint64_t i, unsigned seed)
{
    return (uint8_t)((i * 131u + seed * 7u + (i >> 8)) & 0xff);
}

/* Progress every rank in turn until all ops are done or failed. */
static void drive(fake_world_t *w, rdmc_op_t *ops, int n)
{
    for (long round = 0; round < MAX_ROUNDS; round++) {
        bool all = true;
        for (int r = 0; r < n; r++) {
            rdmc_transport_t *tp = fake_world_endpoint(w, r);
            tp->ops->progress(tp);
            all = rdmc_op_test(&ops[r]) && all;
        }
        if (all) {
            return;
        }
    }
    for (int r = 0; r < n; r++) {
        const rdmc_op_t *op = &ops[r];
        print_message("rank %d: refused %d header %d status %d recvs %zu/%zu/%zu sends %zu/%zu/%zu "
                      "readies %zu ctrl %zu\n", r, op->refused, op->header_known,
                      op->status, op->recvs_done, op->recvs_posted, op->nrecvs,
                      op->sends_done, op->sends_posted, op->nsends, op->readies_posted,
                      op->ctrl_len - op->ctrl_head);
    }
    fail_msg("broadcast did not finish");
}

/* No rank ever had more data sends posted than its window allows (the
 * fan-out's root: one per receiver), and the busiest rank filled it, up to
 * one more than the engine's default so a window is never mistaken for it. */
static void check_send_window(const fake_world_t *w, const bcast_case_t *c)
{
    uint64_t busiest = 0, want;

    for (int r = 0; r < c->n; r++) {
        uint64_t bound = c->sends_in_flight, most = fake_world_max_sends_out(w, r);
        if (c->schedule == RDMC_SCHEDULE_FANOUT && r == c->root && bound < (uint64_t)c->n - 1) {
            bound = (uint64_t)c->n - 1;
        }
        if (most > bound) {
            fail_msg("schedule %d window %u: rank %d had %llu sends posted at once", c->schedule,
                     c->sends_in_flight, r, (unsigned long long)most);
        }
        busiest = most > busiest ? most : busiest;
    }
    want = c->schedule == RDMC_SCHEDULE_FANOUT && c->sends_in_flight < (unsigned)c->n - 1
               ? (uint64_t)c->n - 1
               : c->sends_in_flight;
    want = want < RDMC_SENDS_IN_FLIGHT + 1 ? want : RDMC_SENDS_IN_FLIGHT + 1;
    if (busiest < want) {
        fail_msg("schedule %d window %u: at most %llu sends posted at once", c->schedule,
                 c->sends_in_flight, (unsigned long long)busiest);
    }
}

static void run_case(const bcast_case_t *c)
{
    fake_world_t *w = fake_world_create(c->n, c->seed, c->eagain_percent);
    rdmc_op_t ops[MAX_RANKS];
    uint8_t *bufs[MAX_RANKS];
    /* One guard byte past each buffer must never be written. */
    for (int r = 0; r < c->n; r++) {
        bufs[r] = malloc(c->nbytes + 1);
        for (uint64_t i = 0; i <= c->nbytes; i++) {
            bufs[r][i] = r == c->root && i < c->nbytes ? pattern(i, c->seed) : 0xEE;
        }
    }
    for (int r = 0; r < c->n; r++) {
        rdmc_op_params_t p = {
            .tp = fake_world_endpoint(w, r),
            .n = (uint32_t)c->n,
            .rank = (uint32_t)r,
            .root = (uint32_t)c->root,
            .seq = 77,
            .buf = bufs[r],
            .nbytes = c->nbytes,
            .block_bytes = c->block_bytes,
            .schedule = c->schedule,
            .sends_in_flight = c->sends_in_flight,
        };
        assert_int_equal(rdmc_op_start(&ops[r], &p), 0);
    }
    drive(w, ops, c->n);
    if (c->sends_in_flight != 0) {
        check_send_window(w, c);
    }

    for (int r = 0; r < c->n; r++) {
        assert_int_equal(ops[r].status, 0);
        assert_true(ops[r].done);
        for (uint64_t i = 0; i < c->nbytes; i++) {
            if (bufs[r][i] != pattern(i, c->seed)) {
                fail_msg("n=%d root=%d size=%llu: rank %d byte %llu wrong", c->n, c->root,
                         (unsigned long long)c->nbytes, r, (unsigned long long)i);
            }
        }
        assert_int_equal(bufs[r][c->nbytes], 0xEE);
        rdmc_op_release(&ops[r]);
        free(bufs[r]);
    }
    assert_int_equal(fake_world_overruns(w), 0);
    assert_int_equal(fake_world_wrong_senders(w), 0);
    assert_int_equal(fake_world_undelivered(w), 0);
    assert_int_equal(fake_world_posted_recvs(w), 0);
    assert_true(fake_world_max_posted_data(w) <= RDMC_RECV_AHEAD);
    assert_int_equal(fake_world_mem_holds(w), 0);
    fake_world_destroy(w);
}

/* After failures the schedule runs over the members only: every byte
 * reaches them, nothing is sent to (or expected from) anyone else. */
static void test_members_only(void **state)
{
    static const uint32_t members[] = { 0, 2, 3, 5, 8, 9, 11 };
    const int n = 12, nm = (int)(sizeof(members) / sizeof(members[0]));
    const uint64_t nbytes = 9 * 1024 + 3;

    (void)state;
    for (int alg = 0; alg < RDMC_SCHEDULE_COUNT; alg++) {
        for (int ri = 0; ri < nm; ri += 2) {
            unsigned seed = (unsigned)(alg * 16 + ri + 1);
            fake_world_t *w = fake_world_create(n, seed, 10);
            rdmc_op_t ops[MAX_RANKS];
            uint8_t *bufs[MAX_RANKS];
            uint32_t root = members[ri];
            for (int i = 0; i < nm; i++) {
                uint32_t r = members[i];
                bufs[i] = calloc(nbytes, 1);
                for (uint64_t b = 0; r == root && b < nbytes; b++) {
                    bufs[i][b] = pattern(b, seed);
                }
                rdmc_op_params_t p = {
                    .tp = fake_world_endpoint(w, (int)r), .n = (uint32_t)n, .rank = r,
                    .members = members, .nmembers = (uint32_t)nm, .root = root, .seq = 5,
                    .buf = bufs[i], .nbytes = nbytes, .block_bytes = 1024,
                    .schedule = (rdmc_schedule_alg_t)alg,
                };
                assert_int_equal(rdmc_op_start(&ops[i], &p), 0);
            }
            /* drive() progresses ranks 0..nm-1 of ops[]; progress all of the world. */
            for (long round = 0; round < MAX_ROUNDS; round++) {
                bool all = true;
                for (int r = 0; r < n; r++) {
                    rdmc_transport_t *tp = fake_world_endpoint(w, r);
                    tp->ops->progress(tp);
                }
                for (int i = 0; i < nm; i++) {
                    all = rdmc_op_test(&ops[i]) && all;
                }
                if (all) {
                    break;
                }
            }
            for (int i = 0; i < nm; i++) {
                assert_int_equal(ops[i].status, 0);
                assert_true(ops[i].done);
                for (uint64_t b = 0; b < nbytes; b++) {
                    if (bufs[i][b] != pattern(b, seed)) {
                        fail_msg("schedule %d root %u: member %u byte %llu wrong", alg, root,
                                 members[i], (unsigned long long)b);
                    }
                }
                rdmc_op_release(&ops[i]);
                free(bufs[i]);
            }
            assert_int_equal(fake_world_undelivered(w), 0);   /* nothing sent to a non-member */
            assert_int_equal(fake_world_wrong_senders(w), 0);
            fake_world_destroy(w);
        }
    }
}

/* A rank or root outside the members is refused. */
static void test_non_member_is_refused(void **state)
{
    static const uint32_t members[] = { 1, 2 };
    fake_world_t *w = fake_world_create(3, 1, 0);
    uint8_t buf[16] = { 0 };
    rdmc_op_t op;
    rdmc_op_params_t p = { .tp = fake_world_endpoint(w, 0), .n = 3, .rank = 0,
                           .members = members, .nmembers = 2, .root = 1, .seq = 1,
                           .buf = buf, .nbytes = sizeof(buf), .block_bytes = 8 };

    (void)state;
    assert_int_equal(rdmc_op_start(&op, &p), -EINVAL);
    p.tp = fake_world_endpoint(w, 1);
    p.rank = 1;
    p.root = 0;
    assert_int_equal(rdmc_op_start(&op, &p), -EINVAL);
    fake_world_destroy(w);
}

static void test_every_schedule_delivers_every_byte(void **state)
{
    (void)state;
    const uint64_t B = 1024;
    const uint64_t sizes[] = { 0, 1, B - 1, B, B + 1, 3 * B, 7 * B + 5, 20 * B - 1 };
    unsigned seed = 1;

    for (int alg = 0; alg < RDMC_SCHEDULE_COUNT; alg++) {
        for (int n = 2; n <= 12; n++) {
            for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
                for (int root = 0; root < n; root += (n > 6 ? 3 : 1)) {
                    bcast_case_t c = { n, root, sizes[s], B, alg, seed++, 10, 0 };
                    run_case(&c);
                }
            }
        }
    }
}

static void test_binomial_pipeline_larger_groups(void **state)
{
    (void)state;
    const int ns[] = { 16, 17, 31, 32, 33, 40 };
    for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
        bcast_case_t c = { ns[i], ns[i] / 3, 37 * 1024 + 11, 1024,
                           RDMC_SCHEDULE_BINOMIAL_PIPELINE, (unsigned)(100 + i), 5, 0 };
        run_case(&c);
    }
}

/* One send at a time (tcp's choice), a few, or many: the same bytes
 * everywhere, and no rank ever posts more sends at once than it was told
 * (run_case checks that through the fake transport's count). */
static void test_sends_in_flight_is_honoured(void **state)
{
    (void)state;
    const unsigned windows[] = { 1, 3, RDMC_MAX_IN_FLIGHT };
    for (size_t i = 0; i < sizeof(windows) / sizeof(windows[0]); i++) {
        for (int alg = 0; alg < RDMC_SCHEDULE_COUNT; alg++) {
            bcast_case_t c = { 9, 2, 29 * 1024 + 7, 1024, (rdmc_schedule_alg_t)alg,
                               (unsigned)(200 + i), 10, windows[i] };
            run_case(&c);
        }
    }
}

/* A receiver with a smaller buffer gets the whole message in scratch
 * memory through the place hook, and the rest of the group is unaffected. */
typedef struct place_ctx {
    uint64_t own_bytes;
    uint8_t *own;
    uint8_t *scratch;
    uint64_t asked;
} place_ctx_t;

static void *place_with_scratch(void *arg, uint64_t nbytes)
{
    place_ctx_t *pc = arg;
    pc->asked = nbytes;
    if (nbytes <= pc->own_bytes) {
        return pc->own;
    }
    pc->scratch = malloc(nbytes);
    return pc->scratch;
}

static void test_short_receiver_learns_the_true_size(void **state)
{
    (void)state;
    const int n = 5, root = 2, short_rank = 3;
    const uint64_t nbytes = 10 * 1024 + 3, short_bytes = 4000;
    fake_world_t *w = fake_world_create(n, 42, 10);
    rdmc_op_t ops[5];
    uint8_t *bufs[5];
    place_ctx_t pc = { short_bytes, NULL, NULL, 0 };

    for (int r = 0; r < n; r++) {
        uint64_t len = r == short_rank ? short_bytes : nbytes;
        bufs[r] = calloc(len, 1);
        if (r == root) {
            for (uint64_t i = 0; i < nbytes; i++) {
                bufs[r][i] = pattern(i, 9);
            }
        }
        rdmc_op_params_t p = {
            .tp = fake_world_endpoint(w, r), .n = n, .rank = (uint32_t)r, .root = root,
            .seq = 3, .buf = bufs[r], .nbytes = len, .block_bytes = 1024,
            .schedule = RDMC_SCHEDULE_BINOMIAL_PIPELINE,
        };
        if (r == short_rank) {
            pc.own = bufs[r];
            p.hooks.place = place_with_scratch;
            p.hooks.arg = &pc;
        }
        assert_int_equal(rdmc_op_start(&ops[r], &p), 0);
    }
    drive(w, ops, n);
    assert_int_equal(pc.asked, nbytes);
    assert_non_null(pc.scratch);
    assert_int_equal(ops[short_rank].header.nbytes, nbytes);
    for (int r = 0; r < n; r++) {
        const uint8_t *got = r == short_rank ? pc.scratch : bufs[r];
        assert_int_equal(ops[r].status, 0);
        for (uint64_t i = 0; i < nbytes; i++) {
            assert_int_equal(got[i], pattern(i, 9));
        }
        rdmc_op_release(&ops[r]);
        free(bufs[r]);
    }
    free(pc.scratch);
    assert_int_equal(fake_world_overruns(w), 0);
    fake_world_destroy(w);
}

/* Without a place hook a receiver that is too small fails cleanly. */
static void test_too_small_without_hook_is_an_error(void **state)
{
    (void)state;
    fake_world_t *w = fake_world_create(2, 5, 0);
    uint8_t src[3000] = { 1 }, dst[100];
    rdmc_op_t ops[2];
    rdmc_op_params_t root = { .tp = fake_world_endpoint(w, 0), .n = 2, .rank = 0, .root = 0,
                              .seq = 1, .buf = src, .nbytes = sizeof(src),
                              .block_bytes = 1024 };
    rdmc_op_params_t recv = { .tp = fake_world_endpoint(w, 1), .n = 2, .rank = 1, .root = 0,
                              .seq = 1, .buf = dst, .nbytes = sizeof(dst) };
    assert_int_equal(rdmc_op_start(&ops[0], &root), 0);
    assert_int_equal(rdmc_op_start(&ops[1], &recv), 0);
    for (int i = 0; i < 1000 && ops[1].status == 0; i++) {
        fake_world_endpoint(w, 0)->ops->progress(fake_world_endpoint(w, 0));
        rdmc_op_test(&ops[0]);
        fake_world_endpoint(w, 1)->ops->progress(fake_world_endpoint(w, 1));
    }
    assert_int_equal(ops[1].status, -EMSGSIZE);
    assert_non_null(strstr(ops[1].error, "3000"));
    rdmc_op_release(&ops[0]);
    rdmc_op_release(&ops[1]);
    fake_world_destroy(w);
}

/* fill (root) and arrived (receivers) see each block once, in order. */
typedef struct order_ctx {
    uint64_t next_offset;
    uint64_t calls;
    bool in_order;
} order_ctx_t;

static void record_in_order(void *arg, uint64_t offset, uint64_t len)
{
    order_ctx_t *oc = arg;
    oc->in_order = oc->in_order && offset == oc->next_offset;
    oc->next_offset = offset + len;
    oc->calls++;
}

static int fill_in_order(void *arg, uint64_t offset, uint64_t len)
{
    record_in_order(arg, offset, len);
    return 0;
}

static void test_hooks_see_blocks_in_order(void **state)
{
    (void)state;
    const int n = 11, root = 4;
    const uint64_t nbytes = 29 * 1024 + 100, block = 1024;
    fake_world_t *w = fake_world_create(n, 77, 20);
    rdmc_op_t ops[11];
    order_ctx_t oc[11];
    uint8_t *bufs[11];

    for (int r = 0; r < n; r++) {
        bufs[r] = calloc(nbytes, 1);
        oc[r] = (order_ctx_t){ 0, 0, true };
        rdmc_op_params_t p = {
            .tp = fake_world_endpoint(w, r), .n = n, .rank = (uint32_t)r, .root = root,
            .seq = 5, .buf = bufs[r], .nbytes = nbytes, .block_bytes = block,
            .schedule = RDMC_SCHEDULE_BINOMIAL_PIPELINE,
        };
        p.hooks.arg = &oc[r];
        if (r == root) {
            p.hooks.fill = fill_in_order;
        } else {
            p.hooks.arrived = record_in_order;
        }
        assert_int_equal(rdmc_op_start(&ops[r], &p), 0);
    }
    drive(w, ops, n);
    for (int r = 0; r < n; r++) {
        assert_int_equal(ops[r].status, 0);
        assert_true(oc[r].in_order);
        assert_int_equal(oc[r].calls, rdmc_block_count(nbytes, block));
        assert_int_equal(oc[r].next_offset, nbytes);
        rdmc_op_release(&ops[r]);
        free(bufs[r]);
    }
    fake_world_destroy(w);
}

/* A fill hook that fails (a datatype that cannot be packed) fails the op
 * with its code, and nothing it did not fill is sent. */
typedef struct failing_fill {
    uint64_t fail_at;       /* offset of the first block that fails */
    uint64_t calls;
} failing_fill_t;

static int fill_until(void *arg, uint64_t offset, uint64_t len)
{
    failing_fill_t *ff = arg;

    (void)len;
    ff->calls++;
    return offset >= ff->fail_at ? -EIO : 0;
}

static void test_failing_fill_fails_the_op(void **state)
{
    (void)state;
    const uint64_t nbytes = 8 * 1024, block = 1024;
    fake_world_t *w = fake_world_create(2, 5, 0);
    uint8_t *src = malloc(nbytes), *dst = calloc(nbytes, 1);
    failing_fill_t ff = { 3 * block, 0 };
    rdmc_op_t ops[2];

    memset(src, 0x5A, nbytes);
    rdmc_op_params_t root = { .tp = fake_world_endpoint(w, 0), .n = 2, .rank = 0, .root = 0,
                              .seq = 3, .buf = src, .nbytes = nbytes, .block_bytes = block,
                              .schedule = RDMC_SCHEDULE_BINOMIAL_PIPELINE };
    root.hooks = (rdmc_op_hooks_t){ .fill = fill_until, .arg = &ff };
    rdmc_op_params_t recv = { .tp = fake_world_endpoint(w, 1), .n = 2, .rank = 1, .root = 0,
                              .seq = 3, .buf = dst, .nbytes = nbytes };
    assert_int_equal(rdmc_op_start(&ops[1], &recv), 0);
    rdmc_op_start(&ops[0], &root);
    for (int i = 0; i < 1000 && ops[0].status == 0; i++) {
        for (int r = 0; r < 2; r++) {
            rdmc_op_test(&ops[r]);
            fake_world_endpoint(w, r)->ops->progress(fake_world_endpoint(w, r));
        }
    }
    for (int i = 0; i < 100; i++) {   /* let whatever was sent land */
        fake_world_endpoint(w, 1)->ops->progress(fake_world_endpoint(w, 1));
    }
    assert_int_equal(ops[0].status, -EIO);
    assert_non_null(strstr(ops[0].error, "filling bytes [3072, 4096)"));
    assert_int_equal(ff.calls, 4);   /* blocks 0-2, then the failing one */
    assert_true(rdmc_op_test(&ops[0]));
    assert_false(ops[1].done);
    for (uint64_t i = 3 * block; i < nbytes; i++) {
        assert_int_equal(dst[i], 0);   /* never sent */
    }
    rdmc_op_release(&ops[0]);
    rdmc_op_release(&ops[1]);
    fake_world_destroy(w);
    free(src);
    free(dst);
}

/* Start a lone receiver, feed it one forged message, return its status. */
static int receiver_status_after_forgery(uint64_t tag, const void *msg, size_t len,
                                         uint64_t imm, bool send_real_header, char *error)
{
    fake_world_t *w = fake_world_create(2, 11, 0);
    uint8_t dst[4096];
    rdmc_op_t op;
    rdmc_op_params_t recv = { .tp = fake_world_endpoint(w, 1), .n = 2, .rank = 1, .root = 0,
                              .seq = 9, .buf = dst, .nbytes = sizeof(dst) };
    assert_int_equal(rdmc_op_start(&op, &recv), 0);
    if (send_real_header) {
        rdmc_bcast_header_t h = { RDMC_HEADER_MAGIC, 0, sizeof(dst), 1024, 0, 9, 0, 0 };
        fake_world_forge(w, 0, 1, rdmc_tag(RDMC_TAG_HEADER, 9, 0), &h, sizeof(h), 0);
        for (int i = 0; i < 100; i++) {
            op.p.tp->ops->progress(op.p.tp);
        }
    }
    fake_world_forge(w, 0, 1, tag, msg, len, imm);
    for (int i = 0; i < 100 && op.status == 0; i++) {
        op.p.tp->ops->progress(op.p.tp);
    }
    int status = op.status;
    strcpy(error, op.error);
    rdmc_op_release(&op);
    fake_world_destroy(w);
    return status;
}

static void test_malformed_messages_fail_the_op(void **state)
{
    (void)state;
    char error[256];
    uint64_t header_tag = rdmc_tag(RDMC_TAG_HEADER, 9, 0);
    rdmc_bcast_header_t good = { RDMC_HEADER_MAGIC, 0, 4096, 1024, 0, 9, 0, 0 };
    rdmc_bcast_header_t h;

    h = good;
    h.magic = 0xdeadbeef;
    assert_int_equal(receiver_status_after_forgery(header_tag, &h, sizeof(h), 0, false, error),
                     -EPROTO);
    assert_non_null(strstr(error, "malformed"));

    /* Truncated header. */
    assert_int_equal(receiver_status_after_forgery(header_tag, &good, 8, 0, false, error),
                     -EPROTO);

    h = good;
    h.seq = 10;   /* belongs to another op */
    assert_int_equal(receiver_status_after_forgery(header_tag, &h, sizeof(h), 0, false, error),
                     -EPROTO);

    h = good;
    h.root = 1;   /* claims the receiver is the root */
    assert_int_equal(receiver_status_after_forgery(header_tag, &h, sizeof(h), 0, false, error),
                     -EPROTO);

    h = good;
    h.schedule = 99;
    assert_int_equal(receiver_status_after_forgery(header_tag, &h, sizeof(h), 0, false, error),
                     -EPROTO);

    h = good;
    h.block_bytes = 0;
    assert_int_equal(receiver_status_after_forgery(header_tag, &h, sizeof(h), 0, false, error),
                     -EPROTO);

    /* After a good header, a data block carrying the wrong block number. */
    uint8_t block[1024] = { 0 };
    assert_int_equal(receiver_status_after_forgery(rdmc_tag(RDMC_TAG_DATA, 9, 0), block,
                                                   sizeof(block), 3, true, error),
                     -EPROTO);
    assert_non_null(strstr(error, "block"));

    /* ... or a short one. */
    assert_int_equal(receiver_status_after_forgery(rdmc_tag(RDMC_TAG_DATA, 9, 0), block, 10,
                                                   0, true, error),
                     -EPROTO);
}

/* Peers that never answer get nothing but the header: no block goes out
 * without its receiver's ready-for-block, however long the root keeps
 * polling, and the op stays pending without an error of its own (the
 * stream's idle timeout, tested in test_sst, turns the silence into
 * -ETIMEDOUT). */
static void test_silent_peers_get_no_data(void **state)
{
    (void)state;
    for (int alg = 0; alg < RDMC_SCHEDULE_COUNT; alg++) {
        fake_world_t *w = fake_world_create(3, 1, 0);
        rdmc_transport_t *tp = fake_world_endpoint(w, 0);
        uint8_t src[5000] = { 0 };
        rdmc_op_t op;
        rdmc_op_params_t root = { .tp = tp, .n = 3, .rank = 0, .root = 0, .seq = 1,
                                  .buf = src, .nbytes = sizeof(src), .block_bytes = 1024,
                                  .schedule = (rdmc_schedule_alg_t)alg };
        assert_int_equal(rdmc_op_start(&op, &root), 0);
        for (int i = 0; i < 10000; i++) {
            tp->ops->progress(tp);
            assert_false(rdmc_op_test(&op));
        }
        assert_int_equal(op.status, 0);
        assert_int_equal(op.sends_done, 0);
        assert_true(fake_world_undelivered(w) > 0);   /* the headers */
        assert_int_equal(fake_world_undelivered_data(w), 0);
        rdmc_op_release(&op);
        fake_world_destroy(w);
    }
}

static void test_tags_keep_kinds_ops_and_steps_apart(void **state)
{
    (void)state;
    assert_int_not_equal(rdmc_tag(RDMC_TAG_DATA, 1, 2), rdmc_tag(RDMC_TAG_READY, 1, 2));
    assert_int_not_equal(rdmc_tag(RDMC_TAG_DATA, 1, 2), rdmc_tag(RDMC_TAG_DATA, 2, 2));
    assert_int_not_equal(rdmc_tag(RDMC_TAG_DATA, 1, 2), rdmc_tag(RDMC_TAG_DATA, 1, 3));
    assert_int_equal(rdmc_tag_kind_of(rdmc_tag(RDMC_TAG_HEADER, 5, 0)), RDMC_TAG_HEADER);
    assert_int_equal(rdmc_tag(RDMC_TAG_HEADER, 5, 0) >> 62, RDMC_TAG_HEADER);
    /* The sequence number wraps inside its own field, and no field reaches
     * the bits the transport keeps for its channels. */
    assert_int_equal(rdmc_tag(RDMC_TAG_DATA, (1ull << 17) + 4, 7),
                     rdmc_tag(RDMC_TAG_DATA, 4, 7));
    uint64_t channel_bits = (((uint64_t)1 << RDMC_TAG_CHANNEL_BITS) - 1)
                            << RDMC_TAG_CHANNEL_SHIFT;
    assert_int_equal(rdmc_tag(RDMC_TAG_READY, UINT64_MAX, UINT64_MAX) & channel_bits, 0);
    assert_int_equal(rdmc_tag(RDMC_TAG_DATA, 0, (1ull << 24) + 40) & channel_bits, 0);
    assert_int_not_equal(rdmc_tag(RDMC_TAG_DATA, 0, (1ull << 24) + 40),
                         rdmc_tag(RDMC_TAG_DATA, 0, 40));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tags_keep_kinds_ops_and_steps_apart),
        cmocka_unit_test(test_every_schedule_delivers_every_byte),
        cmocka_unit_test(test_members_only),
        cmocka_unit_test(test_non_member_is_refused),
        cmocka_unit_test(test_binomial_pipeline_larger_groups),
        cmocka_unit_test(test_sends_in_flight_is_honoured),
        cmocka_unit_test(test_short_receiver_learns_the_true_size),
        cmocka_unit_test(test_hooks_see_blocks_in_order),
        cmocka_unit_test(test_failing_fill_fails_the_op),
        cmocka_unit_test(test_too_small_without_hook_is_an_error),
        cmocka_unit_test(test_malformed_messages_fail_the_op),
        cmocka_unit_test(test_silent_peers_get_no_data),
    };
    return cmocka_run_group_tests_name("engine", tests, NULL, NULL);
}
