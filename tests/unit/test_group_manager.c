/*
 * Heartbeats shared between communicators (group_manager.h): three ranks,
 * each in two communicators over the fake transport (a stream, SST and
 * group manager per communicator), sharing one record per peer process
 * between the two managers, as coll_rdmc_beats.c does.
 *   - Only one communicator per rank writes heartbeats, the other steps
 *     every quarter timeout only; neither suspects anyone for many
 *     failure timeouts.
 *   - When the carrying communicator is freed (at one rank first, at the
 *     others much later), the other one takes over the beats, and nobody
 *     is suspected meanwhile.
 *   - A communicator with a shorter period carries, whichever came first.
 *   - A rank that stops is suspected and removed on both communicators.
 *   - A rank whose process the operating system says exited
 *     (rdmc_gm_peer_exited, from the pidfds of ofi/shm/shm_exits.c) is
 *     removed long before its silence would count, unless it had left
 *     the communicator: a rank that ends after leaving is not a failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "coll/core/rdmc_stream.h"
#include "fake_transport.h"
#include "membership/core/group_manager.h"
#include "membership/core/sst.h"

enum { N = 3, COMMS = 2, SLOTS = 4, SMALL_BYTES = 32 };
#define FAILURE_TIMEOUT_MS 60.0
#define ROUND_MS 0.05   /* virtual time one round of progress takes */

static double virtual_ms;

static double virtual_clock(void)
{
    return virtual_ms;
}

typedef struct comm_state {
    rdmc_sst_t *sst;
    rdmc_gm_t gm;
    rdmc_stream_t stream;
    bool left;                   /* freed (rdmc_stream_leave) */
    double due_ms;               /* runs next at this virtual time */
} comm_state_t;

typedef struct rank_state {
    bool dead;
    comm_state_t comm[COMMS];
    rdmc_beat_share_t share[N];  /* the process-wide records, by peer */
} rank_state_t;

static rank_state_t ranks[N];
static fake_world_t *worlds[COMMS];

/* Communicator k with this heartbeat period (and a timeout four times it
 * at most, as rdmc_fd_heartbeat_ms makes it). */
static void open_comm(int k, int heartbeat_ms, double timeout_ms)
{
    uint8_t blobs[N][RDMC_WINDOW_BLOB];

    worlds[k] = fake_world_create(N, 7 + (unsigned)k, 3);
    for (int r = 0; r < N; r++) {
        size_t len = sizeof(blobs[r]);
        rdmc_sst_params_t sp = { fake_world_endpoint(worlds[k], r), N, r, SLOTS, SMALL_BYTES,
                                 false, sizeof(rdmc_vc_row_t), true };
        assert_int_equal(rdmc_sst_create(&sp, &ranks[r].comm[k].sst, blobs[r], &len), 0);
    }
    for (int r = 0; r < N; r++) {
        comm_state_t *c = &ranks[r].comm[k];
        for (int m = 0; m < N; m++) {
            assert_int_equal(rdmc_sst_attach(c->sst, m, blobs[m], 1), 0);
        }
        rdmc_gm_params_t gp = { .sst = c->sst, .n = N, .me = r,
                                .failure_timeout_ms = timeout_ms,
                                .heartbeat_ms = heartbeat_ms };
        assert_int_equal(rdmc_gm_init(&c->gm, &gp, virtual_clock()), 0);
        for (int m = 0; m < N; m++) {
            rdmc_gm_share_beats(&c->gm, m, &ranks[r].share[m]);
        }
        rdmc_stream_params_t p = { .tp = fake_world_endpoint(worlds[k], r), .sst = c->sst,
                                   .n = N, .rank = (uint32_t)r, .window = 4, .stable = true,
                                   .timeout_ms = 100000, .heartbeat_ms = heartbeat_ms,
                                   .gm = &c->gm, .clock_ms = virtual_clock };
        assert_int_equal(rdmc_stream_init(&c->stream, &p), 0);
    }
}

static void open_all(int heartbeat_ms_0, int heartbeat_ms_1)
{
    memset(ranks, 0, sizeof(ranks));
    virtual_ms = 0;
    open_comm(0, heartbeat_ms_0, FAILURE_TIMEOUT_MS);
    open_comm(1, heartbeat_ms_1, FAILURE_TIMEOUT_MS);
}

static void close_all(void)
{
    for (int k = 0; k < COMMS; k++) {
        for (int r = 0; r < N; r++) {
            rdmc_stream_fini(&ranks[r].comm[k].stream);
            rdmc_gm_fini(&ranks[r].comm[k].gm);
        }
        fake_world_destroy(worlds[k]);   /* before the tables: writes point into them */
        for (int r = 0; r < N; r++) {
            rdmc_sst_destroy(ranks[r].comm[k].sst);
        }
    }
}

/* Every live rank runs each of its communicators when the stream asks to
 * be run again, as the progress driver schedules an idle one (a freed one
 * keeps leaving every round), for ms of virtual time.  Writes land in a
 * table only when its owner runs, as with the shm provider. */
static void run_for(double ms)
{
    for (double end = virtual_ms + ms; virtual_ms < end; virtual_ms += ROUND_MS) {
        for (int r = 0; r < N; r++) {
            for (int k = 0; k < COMMS && !ranks[r].dead; k++) {
                comm_state_t *c = &ranks[r].comm[k];
                if (c->left) {
                    (void)rdmc_stream_leave(&c->stream);
                } else if (virtual_ms >= c->due_ms) {
                    assert_true(rdmc_stream_progress(&c->stream) >= 0);
                    assert_int_equal(c->stream.error, 0);
                    c->due_ms = virtual_ms + rdmc_stream_sleep_ms(&c->stream, 1000);
                }
            }
        }
    }
}

static uint64_t own_beat(int r, int k)
{
    return rdmc_sst_get(ranks[r].comm[k].sst, r, RDMC_SST_HEARTBEAT);
}

static void assert_nobody_suspected(int k)
{
    for (int r = 0; r < N; r++) {
        if (!ranks[r].comm[k].left) {
            assert_int_equal(ranks[r].comm[k].gm.fd.suspected, 0);
            assert_int_equal(ranks[r].comm[k].gm.vid, 0);
        }
    }
}

/* Over `ms`, communicator `beating` of every rank writes heartbeats and
 * the other writes nothing at all. */
static void assert_beats_on(int beating, double ms)
{
    uint64_t beats[N][COMMS], writes[N][COMMS];

    for (int r = 0; r < N; r++) {
        for (int k = 0; k < COMMS; k++) {
            beats[r][k] = own_beat(r, k);
            writes[r][k] = rdmc_sst_writes(ranks[r].comm[k].sst);
        }
    }
    run_for(ms);
    for (int r = 0; r < N; r++) {
        for (int m = 0; m < N; m++) {
            if (m != r) {
                assert_ptr_equal(ranks[r].share[m].carrier, &ranks[r].comm[beating].gm);
            }
        }
        /* The other one only looks at its rows, every quarter timeout. */
        assert_true(rdmc_gm_step_period_ms(&ranks[r].comm[beating].gm) <= 5);
        assert_true(rdmc_gm_step_period_ms(&ranks[r].comm[1 - beating].gm) ==
                    FAILURE_TIMEOUT_MS / 4);
        assert_true(own_beat(r, beating) > beats[r][beating]);
        assert_int_equal(own_beat(r, 1 - beating), beats[r][1 - beating]);
        assert_int_equal(rdmc_sst_writes(ranks[r].comm[1 - beating].sst), writes[r][1 - beating]);
    }
}

/* Communicators with these heartbeat periods settle with `carrier`
 * beating, and nobody is suspected for 10 failure timeouts. */
static void check_steady_state(int heartbeat_ms_0, int heartbeat_ms_1, int carrier)
{
    open_all(heartbeat_ms_0, heartbeat_ms_1);
    run_for(2 * FAILURE_TIMEOUT_MS);
    assert_beats_on(carrier, 10 * FAILURE_TIMEOUT_MS);
    assert_nobody_suspected(0);
    assert_nobody_suspected(1);
    close_all();
}

static void test_one_communicator_beats(void **state)
{
    (void)state;
    check_steady_state(5, 5, 0);
}

static void test_freed_carrier_hands_over(void **state)
{
    (void)state;
    open_all(5, 5);
    run_for(2 * FAILURE_TIMEOUT_MS);
    /* Rank 0 frees the carrying communicator first; the others free it
     * three failure timeouts later, as a rank that computes meanwhile. */
    ranks[0].comm[0].left = true;
    run_for(3 * FAILURE_TIMEOUT_MS);
    assert_nobody_suspected(1);
    for (int r = 1; r < N; r++) {
        ranks[r].comm[0].left = true;
    }
    run_for(2 * FAILURE_TIMEOUT_MS);
    assert_beats_on(1, 10 * FAILURE_TIMEOUT_MS);
    assert_nobody_suspected(1);
    close_all();
}

static void test_shorter_period_carries(void **state)
{
    (void)state;
    check_steady_state(15, 5, 1);
}

static void test_stopped_rank_removed_everywhere(void **state)
{
    (void)state;
    open_all(5, 5);
    run_for(2 * FAILURE_TIMEOUT_MS);
    ranks[2].dead = true;
    run_for(3 * FAILURE_TIMEOUT_MS);
    for (int r = 0; r < 2; r++) {
        for (int k = 0; k < COMMS; k++) {
            assert_true(ranks[r].comm[k].gm.failed & (UINT64_C(1) << 2));
            assert_int_equal(ranks[r].comm[k].gm.members, 3);
        }
    }
    close_all();
}

static void assert_removed_on_both(int victim)
{
    for (int r = 0; r < N; r++) {
        for (int k = 0; k < COMMS && r != victim; k++) {
            assert_true(ranks[r].comm[k].gm.failed & (UINT64_C(1) << victim));
            assert_int_equal(ranks[r].comm[k].gm.members, ((1u << N) - 1) & ~(1u << victim));
        }
    }
}

static void test_exited_rank_removed_at_once(void **state)
{
    (void)state;
    open_all(5, 5);
    run_for(2 * FAILURE_TIMEOUT_MS);
    ranks[2].dead = true;
    for (int r = 0; r < 2; r++) {
        for (int k = 0; k < COMMS; k++) {
            assert_true(rdmc_gm_peer_exited(&ranks[r].comm[k].gm, 2));
            assert_false(rdmc_gm_peer_exited(&ranks[r].comm[k].gm, 2));   /* once */
        }
    }
    /* Silence alone would take the whole failure timeout. */
    run_for(FAILURE_TIMEOUT_MS / 2);
    assert_removed_on_both(2);
    close_all();
}

static void test_exit_after_leaving_is_no_failure(void **state)
{
    (void)state;
    open_all(5, 5);
    run_for(2 * FAILURE_TIMEOUT_MS);
    ranks[2].comm[0].left = true;
    run_for(FAILURE_TIMEOUT_MS / 4);   /* its leaving reaches the others' rows */
    ranks[2].dead = true;
    for (int r = 0; r < 2; r++) {
        assert_false(rdmc_gm_peer_exited(&ranks[r].comm[0].gm, 2));
        assert_int_equal(ranks[r].comm[0].gm.fd.suspected, 0);
    }
    close_all();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_communicator_beats),
        cmocka_unit_test(test_freed_carrier_hands_over),
        cmocka_unit_test(test_shorter_period_carries),
        cmocka_unit_test(test_stopped_rank_removed_everywhere),
        cmocka_unit_test(test_exited_rank_removed_at_once),
        cmocka_unit_test(test_exit_after_leaving_is_no_failure),
    };

    return cmocka_run_group_tests_name("group_manager", tests, NULL, NULL);
}
