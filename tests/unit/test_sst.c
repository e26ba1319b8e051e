/*
 * Unit tests of the SST (membership/sst.c) and of the stream's ordering and
 * stability arithmetic (coll/rdmc_stream.c), over the fake transport: writes
 * land when the target progresses, in order or not, whole or in pieces.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "coll/core/rdmc_stream.h"
#include "fake_transport.h"
#include "membership/core/sst.h"

#define MAX_N 8

typedef struct group {
    fake_world_t *world;
    int n;
    rdmc_sst_t *sst[MAX_N];
} group_t;

/* Percent of posts the fake transport refuses (-EAGAIN) in the next group. */
static int group_refusals;
/* Size of the view region of the next group's tables. */
static size_t group_view_bytes;

static void group_open(group_t *g, int n, unsigned nslots, size_t payload, unsigned seed,
                       bool unordered, bool torn, bool force_fence)
{
    uint8_t blob[RDMC_WINDOW_BLOB];

    g->n = n;
    g->world = fake_world_create(n, seed, group_refusals);
    fake_world_set_writes(g->world, unordered, torn);
    for (int r = 0; r < n; r++) {
        size_t len = sizeof(blob);
        rdmc_sst_params_t p = { fake_world_endpoint(g->world, r), n, r, nslots, payload,
                                force_fence, group_view_bytes, false };
        assert_int_equal(rdmc_sst_create(&p, &g->sst[r], blob, &len), 0);
    }
    for (int r = 0; r < n; r++) {
        for (int m = 0; m < n; m++) {
            assert_int_equal(rdmc_sst_attach(g->sst[r], m, blob, 1), 0);
        }
    }
}

static void group_close(group_t *g)
{
    for (int r = 0; r < g->n; r++) {
        rdmc_sst_destroy(g->sst[r]);
    }
    fake_world_destroy(g->world);
}

/* Flush every row and let every target apply what reached it. */
static void group_round(group_t *g)
{
    for (int r = 0; r < g->n; r++) {
        assert_int_equal(rdmc_sst_flush(g->sst[r]), 0);
    }
    for (int r = 0; r < g->n; r++) {
        rdmc_transport_t *tp = fake_world_endpoint(g->world, r);
        tp->ops->progress(tp);
    }
}

static void group_settle(group_t *g)
{
    for (int i = 0; i < 10000; i++) {
        group_round(g);
        bool pending = fake_world_writes_in_flight(g->world) > 0;
        for (int r = 0; r < g->n; r++) {
            pending = pending || rdmc_sst_flush_pending(g->sst[r]);
        }
        if (!pending) {
            return;
        }
    }
    fail_msg("the table never settled");
}

/* A member's cell reaches every copy; min is over all rows. */
static void test_cells_reach_every_row(void **state)
{
    group_t g;

    (void)state;
    group_open(&g, 4, 4, 64, 1, false, false, false);
    for (int r = 0; r < 4; r++) {
        rdmc_sst_set(g.sst[r], RDMC_SST_RECEIVED, 10 + (uint64_t)r, RDMC_SST_NOTIFY);
    }
    group_settle(&g);
    for (int r = 0; r < 4; r++) {
        for (int m = 0; m < 4; m++) {
            assert_int_equal(rdmc_sst_get(g.sst[r], m, RDMC_SST_RECEIVED), 10 + m);
        }
        assert_int_equal(rdmc_sst_min(g.sst[r], RDMC_SST_RECEIVED), 10);
    }
    /* A lazy change travels with the next push only. */
    rdmc_sst_set(g.sst[1], RDMC_SST_DELIVERED, 5, RDMC_SST_LAZY);
    group_settle(&g);
    assert_int_equal(rdmc_sst_get(g.sst[0], 1, RDMC_SST_DELIVERED), 0);
    rdmc_sst_set(g.sst[1], RDMC_SST_HEARTBEAT, 1, RDMC_SST_PUSH);
    group_settle(&g);
    assert_int_equal(rdmc_sst_get(g.sst[0], 1, RDMC_SST_DELIVERED), 5);
    assert_true(rdmc_sst_writes(g.sst[1]) >= 6);
    group_close(&g);
}

/* A process keeps the tables of destroyed SSTs for new ones of the same
 * size (sst.c, kept_tables): a new group reads zero everywhere, whatever
 * the tables it reuses held. */
static void test_reused_tables_start_empty(void **state)
{
    group_t g;

    (void)state;
    for (uint32_t round = 0; round < 3; round++) {
        const char *error;
        const uint8_t *data;
        uint32_t len;

        group_open(&g, 4, 4, 64, 1, false, false, false);
        group_settle(&g);
        for (int r = 0; r < 4; r++) {
            for (int m = 0; m < 4; m++) {
                for (int f = 0; f < RDMC_SST_NFIELDS; f++) {
                    assert_int_equal(rdmc_sst_get(g.sst[r], m, f), 0);
                }
            }
        }
        assert_null(rdmc_sst_slot_read(g.sst[1], 0, 0, &len, &error));
        /* A message shorter than the last round's: nothing of that one shows. */
        memset(rdmc_sst_slot_buffer(g.sst[0], 0), 0xEE, 64);
        rdmc_sst_publish(g.sst[0], 0, 10 - round);
        group_settle(&g);
        data = rdmc_sst_slot_read(g.sst[1], 0, 0, &len, &error);
        assert_non_null(data);
        assert_int_equal(len, 10 - round);
        for (uint32_t i = 0; i < 64; i++) {
            assert_int_equal(data[i], i < len ? 0xEE : 0);
        }
        for (int r = 0; r < 4; r++) {
            for (int f = 0; f < RDMC_SST_NFIELDS; f++) {
                rdmc_sst_set(g.sst[r], f, 1000 + (uint64_t)f, RDMC_SST_NOTIFY);
            }
        }
        group_settle(&g);
        assert_int_equal(rdmc_sst_get(g.sst[0], 3, RDMC_SST_RECEIVED), 1000 + RDMC_SST_RECEIVED);
        group_close(&g);
    }
}

/* Writes landing a few bytes at a time: a reader only ever accepts values
 * that were really written, and never goes backwards. */
static void test_torn_cells_are_never_accepted(void **state)
{
    group_t g;
    uint64_t last = 0;

    (void)state;
    group_open(&g, 2, 2, 8, 7, true, true, false);
    for (uint64_t v = 1; v <= 255; v++) {
        /* Values whose bytes all change, so a torn cell is a wrong value. */
        uint64_t value = v * 0x0101010101010101ull;
        rdmc_sst_set(g.sst[0], RDMC_SST_RECEIVED, value, RDMC_SST_NOTIFY);
        group_round(&g);
        uint64_t seen = rdmc_sst_get(g.sst[1], 0, RDMC_SST_RECEIVED);
        assert_true(seen % 0x0101010101010101ull == 0);
        assert_true(seen >= last);
        last = seen;
    }
    group_settle(&g);
    assert_int_equal(rdmc_sst_get(g.sst[1], 0, RDMC_SST_RECEIVED), 255 * 0x0101010101010101ull);
    group_close(&g);
}

/* Small messages: whenever a reader sees the guard cover a message, its
 * slot holds exactly that message, however writes are ordered or torn. */
static void check_guarded_slots(bool unordered, bool torn, bool force_fence, unsigned seed)
{
    enum { N = 3, SLOTS = 4, PAYLOAD = 40, MESSAGES = 400 };
    group_t g;
    uint64_t next_take[N] = { 0 };
    uint64_t seq = 0;

    group_open(&g, N, SLOTS, PAYLOAD, seed, unordered, torn, force_fence);
    for (int round = 0; seq < MESSAGES || next_take[1] < MESSAGES || next_take[2] < MESSAGES;
         round++) {
        if (round > 100000) {
            fail_msg("stuck at message %llu", (unsigned long long)seq);
        }
        /* Member 0 publishes every seq, as far as its slots are free. */
        if (seq < MESSAGES && rdmc_sst_slot_free(g.sst[0], seq)) {
            uint8_t *slot = rdmc_sst_slot_buffer(g.sst[0], seq);
            uint32_t len = (uint32_t)(seq % (PAYLOAD + 1));
            memset(slot, (int)(seq & 0xff), len);
            rdmc_sst_publish(g.sst[0], seq, len);
            seq++;
        }
        group_round(&g);
        for (int r = 1; r < N; r++) {
            const char *error;
            uint32_t len;
            const uint8_t *data;
            while ((data = rdmc_sst_slot_read(g.sst[r], 0, next_take[r], &len, &error)) != NULL) {
                assert_int_equal(len, next_take[r] % (PAYLOAD + 1));
                for (uint32_t i = 0; i < len; i++) {
                    assert_int_equal(data[i], next_take[r] & 0xff);
                }
                next_take[r]++;
                rdmc_sst_set(g.sst[r], RDMC_SST_RECEIVED, next_take[r], RDMC_SST_NOTIFY);
            }
            assert_null(error);
        }
        rdmc_sst_set(g.sst[0], RDMC_SST_RECEIVED, seq, RDMC_SST_LAZY);
    }
    group_close(&g);
}

static void test_guarded_slots_ordered(void **state)
{
    (void)state;
    check_guarded_slots(false, false, false, 3);
}

static void test_guarded_slots_fenced(void **state)
{
    (void)state;
    check_guarded_slots(false, false, true, 4);
}

static void test_guarded_slots_unordered_torn(void **state)
{
    (void)state;
    check_guarded_slots(true, true, false, 5);
}

/* Refused posts (-EAGAIN) are retried; a range refused after the one
 * before it was posted must not let the guard pass it. */
static void test_guarded_slots_refused(void **state)
{
    (void)state;
    group_refusals = 20;
    for (unsigned seed = 6; seed < 12; seed++) {
        check_guarded_slots(true, false, false, seed);
        check_guarded_slots(false, false, true, seed);
    }
    group_refusals = 0;
}

/* A slot that holds another sequence number is reported, not delivered. */
static void test_malformed_slot_is_an_error(void **state)
{
    group_t g;
    const char *error;
    uint32_t len;

    (void)state;
    group_open(&g, 2, 4, 16, 9, false, false, false);
    rdmc_sst_publish(g.sst[0], 0, 4);
    group_settle(&g);
    assert_non_null(rdmc_sst_slot_read(g.sst[1], 0, 0, &len, &error));
    /* Seq 4 maps to the same slot; the guard says 1, so: not yet there. */
    assert_null(rdmc_sst_slot_read(g.sst[1], 0, 4, &len, &error));
    assert_null(error);
    /* A guard covering seq 4 with seq 0's slot: malformed. */
    rdmc_sst_set(g.sst[0], RDMC_SST_PUBLISHED, 5, RDMC_SST_NOTIFY);
    group_settle(&g);
    assert_null(rdmc_sst_slot_read(g.sst[1], 0, 4, &len, &error));
    assert_non_null(error);
    group_close(&g);
}

/* A slot write carries the message, not the whole slot; an engine marker
 * reads as such, with no payload. */
static void test_slot_writes_and_engine_marker(void **state)
{
    group_t g;
    const char *error;
    uint32_t len;
    const uint8_t *data;

    (void)state;
    group_open(&g, 2, 4, 16, 5, false, false, false);
    memset(rdmc_sst_slot_buffer(g.sst[0], 0), 0xEE, 16);
    rdmc_sst_publish(g.sst[0], 0, 4);
    group_settle(&g);
    data = rdmc_sst_slot_read(g.sst[1], 0, 0, &len, &error);
    assert_non_null(data);
    assert_int_equal(len, 4);
    for (int i = 0; i < 16; i++) {
        assert_int_equal(data[i], i < 4 ? 0xEE : 0);   /* nothing past the message */
    }
    rdmc_sst_publish(g.sst[0], 1, RDMC_SST_SLOT_ENGINE);
    group_settle(&g);
    assert_non_null(rdmc_sst_slot_read(g.sst[1], 0, 1, &len, &error));
    assert_null(error);
    assert_int_equal(len, RDMC_SST_SLOT_ENGINE);
    group_close(&g);
}

/* A burst of small messages in large slots leaves as their bytes, not as
 * whole slots, in one write of the headers and one of the bytes. */
static void test_burst_sends_messages_not_slots(void **state)
{
    enum { SLOTS = 8, PAYLOAD = 1024, LEN = 20, PADDED = 24 };
    group_t g;
    size_t window_len, row, marked = 0;
    const uint8_t *copy;

    (void)state;
    group_open(&g, 2, SLOTS, PAYLOAD, 13, false, false, false);
    for (uint64_t seq = 0; seq < SLOTS; seq++) {
        uint8_t *slot = rdmc_sst_slot_buffer(g.sst[0], seq);
        memset(slot, 0xEE, PAYLOAD);   /* marks the whole slot; the message is LEN */
        slot[0] = (uint8_t)seq;
        rdmc_sst_publish(g.sst[0], seq, LEN);
    }
    group_settle(&g);
    for (uint64_t seq = 0; seq < SLOTS; seq++) {
        const char *error;
        uint32_t len;
        const uint8_t *data = rdmc_sst_slot_read(g.sst[1], 0, seq, &len, &error);
        assert_non_null(data);
        assert_int_equal(len, LEN);
        assert_int_equal(data[0], seq);
        for (int i = 1; i < LEN; i++) {
            assert_int_equal(data[i], 0xEE);
        }
    }
    /* Member 1's copy of row 0 holds the messages and the padding between
     * them (up to 8-byte steps), nothing more of the marked slots. */
    copy = fake_world_window(g.world, 1, &window_len);
    row = rdmc_sst_row_bytes(g.sst[0]);
    for (size_t i = 0; i < row; i++) {
        marked += copy[i] == 0xEE;
    }
    assert_true(marked >= SLOTS * (LEN - 1));
    assert_true(marked <= SLOTS * PADDED);
    /* Headers, bytes (above the fake's two inject pieces of 64 bytes: one
     * write), then the cells with the guard. */
    assert_int_equal(rdmc_sst_writes(g.sst[0]), 3);
    group_close(&g);
}

/* ---- predicates ---------------------------------------------------------- */

typedef struct pred_state {
    bool holds;
    int fired;
} pred_state_t;

static bool pred_holds(const rdmc_sst_t *sst, void *arg)
{
    (void)sst;
    return ((pred_state_t *)arg)->holds;
}

static void pred_count(rdmc_sst_t *sst, void *arg)
{
    (void)sst;
    ((pred_state_t *)arg)->fired++;
}

static void test_predicate_kinds(void **state)
{
    group_t g;
    pred_state_t once = { true, 0 }, always = { true, 0 }, edge = { true, 0 };

    (void)state;
    group_open(&g, 1, 1, 8, 1, false, false, false);
    assert_true(rdmc_sst_predicate_add(g.sst[0], RDMC_SST_ONE_TIME, pred_holds, pred_count,
                                       &once) >= 0);
    assert_true(rdmc_sst_predicate_add(g.sst[0], RDMC_SST_RECURRENT, pred_holds, pred_count,
                                       &always) >= 0);
    int h = rdmc_sst_predicate_add(g.sst[0], RDMC_SST_TRANSITION, pred_holds, pred_count, &edge);
    assert_int_equal(rdmc_sst_evaluate(g.sst[0]), 3);
    assert_int_equal(rdmc_sst_evaluate(g.sst[0]), 1);   /* only the recurrent one */
    edge.holds = false;
    rdmc_sst_evaluate(g.sst[0]);
    edge.holds = true;
    rdmc_sst_evaluate(g.sst[0]);
    assert_int_equal(once.fired, 1);
    assert_int_equal(always.fired, 4);
    assert_int_equal(edge.fired, 2);
    rdmc_sst_predicate_remove(g.sst[0], h);
    edge.holds = false;
    rdmc_sst_evaluate(g.sst[0]);
    edge.holds = true;
    rdmc_sst_evaluate(g.sst[0]);
    assert_int_equal(edge.fired, 2);
    group_close(&g);
}

/* A predicate over remote rows fires once the rows say so. */
static bool all_received_5(const rdmc_sst_t *sst, void *arg)
{
    (void)arg;
    return rdmc_sst_min(sst, RDMC_SST_RECEIVED) >= 5;
}

static void test_predicate_over_rows(void **state)
{
    group_t g;
    pred_state_t seen = { false, 0 };

    (void)state;
    group_open(&g, 3, 2, 8, 2, false, false, false);
    rdmc_sst_predicate_add(g.sst[0], RDMC_SST_ONE_TIME, all_received_5, pred_count, &seen);
    rdmc_sst_set(g.sst[0], RDMC_SST_RECEIVED, 5, RDMC_SST_NOTIFY);
    rdmc_sst_set(g.sst[1], RDMC_SST_RECEIVED, 7, RDMC_SST_NOTIFY);
    group_settle(&g);
    rdmc_sst_evaluate(g.sst[0]);
    assert_int_equal(seen.fired, 0);
    rdmc_sst_set(g.sst[2], RDMC_SST_RECEIVED, 5, RDMC_SST_NOTIFY);
    group_settle(&g);
    rdmc_sst_evaluate(g.sst[0]);
    rdmc_sst_evaluate(g.sst[0]);
    assert_int_equal(seen.fired, 1);
    group_close(&g);
}

/* ---- the stream: order and stability ------------------------------------- */

enum { SN = 4, SCOLLS = 200, SPAYLOAD = 32 };

typedef struct stream_rank {
    rdmc_stream_t stream;
    rdmc_coll_t colls[SCOLLS];
    uint8_t data[SCOLLS][SPAYLOAD];
    uint64_t done_order[SCOLLS];
    int ndone;
    uint64_t stable_at_done[SCOLLS];   /* min received over rows, when it completed */
} stream_rank_t;

typedef struct hook_arg {
    stream_rank_t *rank;
    int index;
    int member;
} hook_arg_t;

static hook_arg_t hook_args[SN][SCOLLS];
static group_t stream_group;

static void fill(void *arg, void *slot, uint64_t nbytes)
{
    hook_arg_t *h = arg;
    memset(slot, h->index & 0xff, nbytes);
}

static void take(void *arg, const void *data, uint32_t len, uint32_t from_root)
{
    hook_arg_t *h = arg;
    (void)from_root;
    assert_true(len <= SPAYLOAD);
    memcpy(h->rank->data[h->index], data, len);
}

static void done(void *arg, int status, const char *error)
{
    hook_arg_t *h = arg;
    (void)error;
    assert_int_equal(status, 0);
    h->rank->stable_at_done[h->rank->ndone] =
        rdmc_sst_min(stream_group.sst[h->member], RDMC_SST_RECEIVED);
    h->rank->done_order[h->rank->ndone++] = (uint64_t)h->index;
}

/* Stable delivery: every collective completes in issue order, and only
 * once every member has received it. */
static void run_stream(unsigned window)
{
    static stream_rank_t ranks[SN];
    group_t *g = &stream_group;

    memset(ranks, 0, sizeof(ranks));
    group_open(g, SN, window, SPAYLOAD, 11, false, false, false);
    for (int r = 0; r < SN; r++) {
        rdmc_stream_params_t p = { fake_world_endpoint(g->world, r), g->sst[r], SN, (uint32_t)r,
                                   window, true, 100000, 1000, NULL, NULL, 0, NULL, false };
        assert_int_equal(rdmc_stream_init(&ranks[r].stream, &p), 0);
    }
    /* Every rank issues the same collectives: small broadcasts from
     * rotating roots, and a barrier every seventh. */
    for (int i = 0; i < SCOLLS; i++) {
        for (int r = 0; r < SN; r++) {
            rdmc_coll_t *c = &ranks[r].colls[i];
            hook_args[r][i] = (hook_arg_t){ &ranks[r], i, r };
            c->kind = i % 7 == 6 ? RDMC_COLL_BARRIER : RDMC_COLL_BCAST_SMALL;
            c->root = (uint32_t)(i % SN);
            c->nbytes = SPAYLOAD;
            c->hooks = (rdmc_coll_hooks_t){
                .fill_small = fill, .take_small = take, .done = done, .arg = &hook_args[r][i] };
            rdmc_stream_issue(&ranks[r].stream, c);
        }
    }
    for (int round = 0; round < 100000; round++) {
        bool busy = false;
        for (int r = 0; r < SN; r++) {
            rdmc_stream_progress(&ranks[r].stream);
            assert_int_equal(ranks[r].stream.error, 0);
            busy = busy || rdmc_stream_busy(&ranks[r].stream);
        }
        if (!busy) {
            break;
        }
    }
    for (int r = 0; r < SN; r++) {
        assert_int_equal(ranks[r].ndone, SCOLLS);
        for (int i = 0; i < SCOLLS; i++) {
            assert_int_equal(ranks[r].done_order[i], i);           /* issue order */
            assert_true(ranks[r].stable_at_done[i] > (uint64_t)i);   /* stable */
            if (i % 7 != 6 && (int)(i % SN) != r) {
                for (int b = 0; b < SPAYLOAD; b++) {
                    assert_int_equal(ranks[r].data[i][b], i & 0xff);
                }
            }
        }
        rdmc_stream_fini(&ranks[r].stream);
    }
    group_close(g);
}

static void test_stream_stable_in_order(void **state)
{
    (void)state;
    run_stream(8);
}

/* The view region: whatever order and pieces the writes land in, a reader
 * accepts only whole copies, each newer than the one before. */
static void test_view_region_whole_copies(void **state)
{
    enum { WORDS = 100 };
    group_t g;
    uint64_t copy[WORDS], version = 0, last_value = 0;

    (void)state;
    group_view_bytes = sizeof(copy);
    group_open(&g, 2, 2, 8, 11, true, true, false);
    group_view_bytes = 0;
    for (uint64_t v = 1; v <= 200; v++) {
        uint64_t *mine = rdmc_sst_view_region(g.sst[0]);
        for (int w = 0; w < WORDS; w++) {
            mine[w] = v;
        }
        rdmc_sst_view_push(g.sst[0]);
        group_round(&g);
        if (rdmc_sst_view_read(g.sst[1], 0, copy, &version)) {
            for (int w = 0; w < WORDS; w++) {
                assert_int_equal(copy[w], copy[0]);
            }
            assert_true(copy[0] > last_value);
            last_value = copy[0];
        }
    }
    group_settle(&g);
    if (rdmc_sst_view_read(g.sst[1], 0, copy, &version)) {
        last_value = copy[WORDS - 1];
    }
    assert_int_equal(last_value, 200);
    /* Nothing newer: no copy. */
    assert_false(rdmc_sst_view_read(g.sst[1], 0, copy, &version));
    group_close(&g);
}

/* A removed member no longer holds back minimums (stability, slot reuse)
 * and is no longer written to. */
static void test_removed_member_is_ignored(void **state)
{
    group_t g;
    uint64_t writes;

    (void)state;
    group_open(&g, 3, 2, 8, 5, false, false, false);
    rdmc_sst_set(g.sst[0], RDMC_SST_RECEIVED, 7, RDMC_SST_NOTIFY);
    rdmc_sst_set(g.sst[1], RDMC_SST_RECEIVED, 9, RDMC_SST_NOTIFY);
    group_settle(&g);
    assert_int_equal(rdmc_sst_min(g.sst[0], RDMC_SST_RECEIVED), 0);   /* member 2 lags */
    assert_false(rdmc_sst_slot_free(g.sst[0], 4));
    rdmc_sst_remove(g.sst[0], 2);
    assert_false(rdmc_sst_is_live(g.sst[0], 2));
    assert_int_equal(rdmc_sst_min(g.sst[0], RDMC_SST_RECEIVED), 7);
    assert_true(rdmc_sst_slot_free(g.sst[0], 4));
    writes = rdmc_sst_writes(g.sst[0]);
    rdmc_sst_set(g.sst[0], RDMC_SST_RECEIVED, 8, RDMC_SST_NOTIFY);
    group_settle(&g);
    assert_int_equal(rdmc_sst_writes(g.sst[0]), writes + 1);   /* to member 1 only */
    assert_int_equal(rdmc_sst_get(g.sst[2], 0, RDMC_SST_RECEIVED), 7);
    /* Removing ourselves means nothing. */
    rdmc_sst_remove(g.sst[0], 0);
    assert_true(rdmc_sst_is_live(g.sst[0], 0));
    group_close(&g);
}

/* ---- the stream: local delivery ----------------------------------------- */

enum { LN = 4, LCOLLS = 40, LFIRST = 6, LLARGE = 16 * 1024 + 5, LWINDOW = 8 };

typedef struct local_coll {
    rdmc_coll_t coll;
    int index, member;
    uint64_t stable_at_done;   /* min received over rows, when it completed */
    uint8_t buf[LLARGE];
} local_coll_t;

typedef struct local_rank {
    rdmc_stream_t stream;
    local_coll_t colls[LCOLLS];
    int order[LCOLLS];
    int ndone;
} local_rank_t;

static local_rank_t local_ranks[LN];

/* The first LFIRST collectives are small broadcasts from ranks 0..2; then
 * a large one (through the engine) every fifth, a barrier every seventh,
 * small ones from every rank otherwise. */
static rdmc_coll_kind_t local_kind(int i)
{
    if (i >= LFIRST && i % 5 == 2) {
        return RDMC_COLL_BCAST_LARGE;
    }
    return i >= LFIRST && i % 7 == 6 ? RDMC_COLL_BARRIER : RDMC_COLL_BCAST_SMALL;
}

static uint64_t local_bytes(int i)
{
    return local_kind(i) == RDMC_COLL_BCAST_LARGE ? LLARGE : SPAYLOAD;
}

static uint8_t local_byte(int i, uint64_t b)
{
    return (uint8_t)(i * 29 + b * 7 + (b >> 8));
}

static void local_fill(void *arg, void *slot, uint64_t nbytes)
{
    local_coll_t *lc = arg;
    memcpy(slot, lc->buf, nbytes);
}

static void local_take(void *arg, const void *data, uint32_t len, uint32_t from_root)
{
    local_coll_t *lc = arg;
    (void)from_root;
    assert_true(len <= SPAYLOAD);
    memcpy(lc->buf, data, len);
}

static void local_done(void *arg, int status, const char *error)
{
    local_coll_t *lc = arg;
    local_rank_t *rank = &local_ranks[lc->member];

    (void)error;
    assert_int_equal(status, 0);
    lc->stable_at_done = rdmc_sst_min(stream_group.sst[lc->member], RDMC_SST_RECEIVED);
    rank->order[rank->ndone++] = lc->index;
}

static void local_issue_all(void)
{
    for (int r = 0; r < LN; r++) {
        for (int i = 0; i < LCOLLS; i++) {
            local_coll_t *lc = &local_ranks[r].colls[i];
            rdmc_coll_t *c = &lc->coll;
            lc->index = i;
            lc->member = r;
            c->kind = local_kind(i);
            c->root = (uint32_t)(i < LFIRST ? i % (LN - 1) : i % LN);
            c->nbytes = local_bytes(i);
            for (uint64_t b = 0; r == (int)c->root && b < c->nbytes; b++) {
                lc->buf[b] = local_byte(i, b);
            }
            c->large = (rdmc_op_params_t){ .buf = lc->buf, .nbytes = c->nbytes,
                                           .block_bytes = 1024,
                                           .schedule = RDMC_SCHEDULE_BINOMIAL_PIPELINE };
            c->hooks = (rdmc_coll_hooks_t){ .fill_small = local_fill, .take_small = local_take,
                                            .done = local_done, .arg = lc };
            rdmc_stream_issue(&local_ranks[r].stream, c);
        }
    }
}

/* A broadcast here before an earlier collective: the case where local
 * delivery could complete out of order. */
static bool local_overtaken(const local_rank_t *rank)
{
    int first_missing = LCOLLS;

    for (int i = 0; i < LCOLLS && first_missing == LCOLLS; i++) {
        if (rank->colls[i].coll.state < RDMC_COLL_RECEIVED) {
            first_missing = i;
        }
    }
    for (int i = first_missing + 1; i < LCOLLS; i++) {
        if (rank->colls[i].coll.state >= RDMC_COLL_RECEIVED &&
            rank->colls[i].coll.kind != RDMC_COLL_BARRIER) {
            return true;
        }
    }
    return false;
}

/* Local delivery: a rank completes a broadcast as soon as its own copy is
 * here, without waiting for the other members (rank 3 is held back until
 * ranks 0..2 completed what they could), and still in issue order when a
 * later broadcast arrives before an earlier one (small ones overtake large
 * ones, which take many more rounds). */
static void test_stream_local_in_order(void **state)
{
    group_t *g = &stream_group;
    int overtakes = 0;

    (void)state;
    memset(local_ranks, 0, sizeof(local_ranks));
    group_open(g, LN, LWINDOW, SPAYLOAD, 23, false, false, false);
    for (int r = 0; r < LN; r++) {
        rdmc_stream_params_t p = { fake_world_endpoint(g->world, r), g->sst[r], LN, (uint32_t)r,
                                   LWINDOW, false, 100000, 1000, NULL, NULL, 0, NULL, false };
        assert_int_equal(rdmc_stream_init(&local_ranks[r].stream, &p), 0);
    }
    local_issue_all();

    for (int round = 0; round < 2000; round++) {
        for (int r = 0; r < LN - 1; r++) {
            rdmc_stream_progress(&local_ranks[r].stream);
            assert_int_equal(local_ranks[r].stream.error, 0);
        }
    }
    for (int r = 0; r < LN - 1; r++) {
        /* Everything before the first barrier, with rank 3 at nothing. */
        assert_int_equal(local_ranks[r].ndone, LFIRST);
        for (int i = 0; i < LFIRST; i++) {
            assert_int_equal(local_ranks[r].colls[i].stable_at_done, 0);
        }
    }
    assert_int_equal(local_ranks[LN - 1].ndone, 0);

    for (int round = 0; round < 100000; round++) {
        bool busy = false;
        for (int r = 0; r < LN; r++) {
            rdmc_stream_progress(&local_ranks[r].stream);
            assert_int_equal(local_ranks[r].stream.error, 0);
            busy = busy || rdmc_stream_busy(&local_ranks[r].stream);
            overtakes += local_overtaken(&local_ranks[r]);
        }
        if (!busy) {
            break;
        }
    }
    assert_true(overtakes > 0);   /* else this test shows nothing about order */
    for (int r = 0; r < LN; r++) {
        assert_int_equal(local_ranks[r].ndone, LCOLLS);
        for (int i = 0; i < LCOLLS; i++) {
            assert_int_equal(local_ranks[r].order[i], i);   /* issue order */
            for (uint64_t b = 0; local_kind(i) != RDMC_COLL_BARRIER && b < local_bytes(i); b++) {
                if (local_ranks[r].colls[i].buf[b] != local_byte(i, b)) {
                    fail_msg("rank %d collective %d byte %llu wrong", r, i,
                             (unsigned long long)b);
                }
            }
        }
        rdmc_stream_fini(&local_ranks[r].stream);
    }
    group_close(g);
}

/* ---- the stream: a silent peer ------------------------------------------ */

enum { SILENT_TIMEOUT_MS = 50 };

static double silent_now_ms;

static double silent_clock(void)
{
    return silent_now_ms;
}

typedef struct silent_outcome {
    int calls, status;
    char error[192];
} silent_outcome_t;

static void silent_done(void *arg, int status, const char *error)
{
    silent_outcome_t *o = arg;

    o->calls++;
    o->status = status;
    snprintf(o->error, sizeof(o->error), "%s", error != NULL ? error : "");
}

/* A root whose peers never answer: the stream breaks with -ETIMEDOUT once
 * nothing has happened for the timeout (virtual time), not before, and
 * both collectives in flight complete with it when the stream is closed
 * (the module closes the transport first, then calls rdmc_stream_fini). */
static void test_stream_silent_peer_times_out(void **state)
{
    group_t g;
    rdmc_stream_t s;
    rdmc_coll_t c[2];
    silent_outcome_t out[2];
    uint8_t src[5000] = { 0 };
    char want[64];

    (void)state;
    silent_now_ms = 1000;
    memset(out, 0, sizeof(out));
    group_open(&g, 3, 2, 8, 3, false, false, false);
    rdmc_stream_params_t p = { fake_world_endpoint(g.world, 0), g.sst[0], 3, 0, 2, false,
                               SILENT_TIMEOUT_MS, 1000, NULL, silent_clock, 0, NULL, false };
    assert_int_equal(rdmc_stream_init(&s, &p), 0);
    for (int i = 0; i < 2; i++) {
        c[i] = (rdmc_coll_t){ .kind = RDMC_COLL_BCAST_LARGE, .root = 0, .nbytes = sizeof(src),
                              .large = { .buf = src, .nbytes = sizeof(src), .block_bytes = 1024 },
                              .hooks = { .done = silent_done, .arg = &out[i] } };
        rdmc_stream_issue(&s, &c[i]);
    }
    /* Ranks 1 and 2 never progress; rank 0 does, every virtual 0.5 ms. */
    for (int i = 0; i < 4 * SILENT_TIMEOUT_MS && s.error == 0; i++) {
        silent_now_ms += 0.5;
        rdmc_stream_progress(&s);
    }
    assert_int_equal(s.error, -ETIMEDOUT);
    assert_true(silent_now_ms > 1000 + SILENT_TIMEOUT_MS);
    assert_true(silent_now_ms <= 1000 + SILENT_TIMEOUT_MS + 1);
    assert_int_equal(out[0].calls + out[1].calls, 0);   /* the caller closes first */
    rdmc_stream_fini(&s);
    snprintf(want, sizeof(want), "made no progress for %d ms", SILENT_TIMEOUT_MS);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(out[i].calls, 1);
        assert_int_equal(out[i].status, -ETIMEDOUT);
        assert_non_null(strstr(out[i].error, want));
    }
    group_close(&g);
}

static void test_stream_window_of_one(void **state)
{
    (void)state;
    run_stream(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cells_reach_every_row),
        cmocka_unit_test(test_reused_tables_start_empty),
        cmocka_unit_test(test_torn_cells_are_never_accepted),
        cmocka_unit_test(test_guarded_slots_ordered),
        cmocka_unit_test(test_guarded_slots_fenced),
        cmocka_unit_test(test_guarded_slots_unordered_torn),
        cmocka_unit_test(test_guarded_slots_refused),
        cmocka_unit_test(test_malformed_slot_is_an_error),
        cmocka_unit_test(test_slot_writes_and_engine_marker),
        cmocka_unit_test(test_burst_sends_messages_not_slots),
        cmocka_unit_test(test_predicate_kinds),
        cmocka_unit_test(test_predicate_over_rows),
        cmocka_unit_test(test_stream_stable_in_order),
        cmocka_unit_test(test_stream_local_in_order),
        cmocka_unit_test(test_stream_window_of_one),
        cmocka_unit_test(test_stream_silent_peer_times_out),
        cmocka_unit_test(test_view_region_whole_copies),
        cmocka_unit_test(test_removed_member_is_ignored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
