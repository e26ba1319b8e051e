/*
 * Unit tests of membership/failure_detector.c: who is suspected, when, and
 * who never is.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "membership/core/failure_detector.h"
#include "membership/core/sst.h"

#define BIT(m) (UINT64_C(1) << (m))

/* Member 2 of 4 beats once, at t = 10, and then stops; the others beat
 * every 10 ms. */
static void test_silence_is_suspected_at_the_timeout(void **state)
{
    rdmc_fd_t fd;
    uint64_t beats[4] = { 0, 0, 0, 0 }, seen = 0;

    (void)state;
    assert_int_equal(rdmc_fd_init(&fd, 4, 0, 100, 0), 0);
    for (int t = 10; t <= 300; t += 10) {
        beats[1]++;
        beats[2] += t == 10;
        beats[3]++;
        uint64_t fresh = rdmc_fd_observe(&fd, beats, t);
        if (t < 110) {
            assert_int_equal(fresh, 0);
        } else if (t == 110) {
            assert_int_equal(fresh, BIT(2));   /* exactly once, at the timeout */
        } else {
            assert_int_equal(fresh, 0);
        }
        seen |= fresh;
    }
    assert_int_equal(seen, BIT(2));
    assert_int_equal(fd.suspected, BIT(2));
}

/* A member whose cell never moved (still setting the communicator up, or
 * stopped before its first beat) gets RDMC_FD_FIRST_BEAT_FACTOR timeouts;
 * once heard from, the timeout.  One that never beats is suspected then. */
static void test_a_member_not_heard_from_gets_longer(void **state)
{
    const int factor = RDMC_FD_FIRST_BEAT_FACTOR;
    rdmc_fd_t fd;
    uint64_t beats[3] = { 0, 0, 0 };

    (void)state;
    assert_int_equal(rdmc_fd_init(&fd, 3, 0, 100, 0), 0);
    assert_true(rdmc_fd_next_deadline_ms(&fd) == 100.0 * factor);
    /* Member 1 starts beating at 100 * factor - 10, member 2 never. */
    for (int t = 10; t < 100 * factor; t += 10) {
        beats[1] += t >= 100 * factor - 10;
        assert_int_equal(rdmc_fd_observe(&fd, beats, t), 0);
    }
    assert_int_equal(rdmc_fd_observe(&fd, beats, 100 * factor), BIT(2));
    /* Heard from now (last at 100 * factor - 10): silence is judged at the
     * plain timeout. */
    int t = 100 * factor + 10;
    while (rdmc_fd_observe(&fd, beats, t) == 0 && t < 100 * factor + 500) {
        t += 10;
    }
    assert_int_equal(t, 100 * factor + 90);
    assert_int_equal(fd.suspected, BIT(1) | BIT(2));
}

/* What the operating system says of members 1, 2 and 3, and how often it
 * was asked. */
static struct {
    rdmc_peer_state_t state[4];
    int asked;
} os;

static rdmc_peer_state_t os_says(void *arg, int m)
{
    (void)arg;
    os.asked++;
    return os.state[m];
}

/* Members 1, 2 and 3 beat once at t = 10, then fall silent: 1 lives
 * (starved of CPU, or blocked in a long call), 2 is stopped, 3 is gone
 * (killed).  3 is suspected at the first quarter timeout of the silence,
 * 2 at the timeout, 1 only at RDMC_FD_FIRST_BEAT_FACTOR timeouts; the OS
 * is asked once a quarter timeout of a member's silence, and the detector
 * asks to be woken for each of those quarters. */
static void test_the_os_view_of_silent_members(void **state)
{
    const int factor = RDMC_FD_FIRST_BEAT_FACTOR;
    rdmc_fd_t fd;
    uint64_t beats[4] = { 0, 1, 1, 1 };
    int t, suspected[4] = { 0 };

    (void)state;
    os.state[1] = RDMC_PEER_LIVE;
    os.state[2] = RDMC_PEER_STOPPED;
    os.state[3] = RDMC_PEER_GONE;
    os.asked = 0;
    assert_int_equal(rdmc_fd_init(&fd, 4, 0, 100, 0), 0);
    rdmc_fd_set_peer_state(&fd, os_says, NULL);
    for (t = 10; t <= 10 + 100 * factor + 50; t += 5) {
        uint64_t fresh = rdmc_fd_observe(&fd, beats, t);
        for (int m = 1; m < 4; m++) {
            suspected[m] = fresh & BIT(m) ? t : suspected[m];
        }
        if (t == 10) {
            assert_true(rdmc_fd_next_deadline_ms(&fd) == 35);
        } else if (t == 40) {
            assert_true(rdmc_fd_next_deadline_ms(&fd) == 60);
        }
    }
    assert_int_equal(suspected[3], 35);
    assert_int_equal(suspected[2], 110);
    assert_int_equal(suspected[1], 10 + 100 * factor);
    for (int m = 1; m < 4; m++) {
        assert_int_equal(rdmc_fd_last_seen(&fd, m), os.state[m]);   /* for the message */
    }
    assert_int_equal(rdmc_fd_last_seen(&fd, 0), RDMC_PEER_UNKNOWN);
    /* 3 once, 2 at its 4 quarters, 1 at its 4 x factor. */
    assert_int_equal(os.asked, 1 + 4 + 4 * factor);
}

/* A member that beats again is asked about afresh when it falls silent
 * again, and one the OS does not show waits for the timeout like any
 * member. */
static void test_the_os_view_is_asked_afresh(void **state)
{
    rdmc_fd_t fd;
    uint64_t beats[4] = { 0, 1, 1, 1 };

    (void)state;
    os.state[1] = RDMC_PEER_LIVE;
    os.state[2] = RDMC_PEER_UNKNOWN;
    os.state[3] = RDMC_PEER_LIVE;
    assert_int_equal(rdmc_fd_init(&fd, 4, 0, 100, 0), 0);
    rdmc_fd_set_peer_state(&fd, os_says, NULL);
    assert_int_equal(rdmc_fd_observe(&fd, beats, 10), 0);
    assert_int_equal(rdmc_fd_observe(&fd, beats, 35), 0);   /* 3 asked: live */
    beats[3] = 2;
    assert_int_equal(rdmc_fd_observe(&fd, beats, 40), 0);   /* 3 beats again */
    os.state[3] = RDMC_PEER_GONE;                              /* and is killed */
    assert_int_equal(rdmc_fd_observe(&fd, beats, 60), 0);
    assert_int_equal(rdmc_fd_observe(&fd, beats, 65), BIT(3));
    assert_int_equal(rdmc_fd_observe(&fd, beats, 85), 0);   /* observed often: no stall */
    assert_int_equal(rdmc_fd_observe(&fd, beats, 105), 0);
    assert_int_equal(rdmc_fd_observe(&fd, beats, 110), BIT(2));
}

/* Beating slowly but within the timeout is never a failure, however long. */
static void test_a_slow_beat_is_not_a_failure(void **state)
{
    rdmc_fd_t fd;
    uint64_t beats[3] = { 0, 0, 0 };

    (void)state;
    assert_int_equal(rdmc_fd_init(&fd, 3, 1, 100, 0), 0);
    for (int t = 0; t <= 100000; t += 99) {
        beats[0]++;
        beats[2]++;
        assert_int_equal(rdmc_fd_observe(&fd, beats, t), 0);
    }
    assert_int_equal(fd.suspected, 0);
}

/* This member is stopped for 2 s (timeout 100 ms); the peers' beats reach
 * its table only once it runs again, so it first sees them unchanged: it
 * must not accuse them.  Member 2, dead all along, is suspected once this
 * member has run for the timeout again; a chronically starved observer
 * (every observation 300 ms apart) still suspects it, later. */
static void test_a_stopped_observer_accuses_nobody(void **state)
{
    rdmc_fd_t fd;
    uint64_t beats[3] = { 0, 0, 0 };
    double t = 0;

    (void)state;
    assert_int_equal(rdmc_fd_init(&fd, 3, 0, 100, 0), 0);
    for (; t <= 50; t += 10) {
        beats[1]++;
        beats[2] += t == 0;   /* heard from once, then silent */
        assert_int_equal(rdmc_fd_observe(&fd, beats, t), 0);
    }
    t = 2050;                                              /* woken up: stale table */
    assert_int_equal(rdmc_fd_observe(&fd, beats, t), 0);
    beats[1] += 200;                                       /* the queued writes land */
    uint64_t seen = 0;
    for (t += 10; t <= 2200 && seen == 0; t += 10) {
        beats[1]++;
        seen = rdmc_fd_observe(&fd, beats, t);
    }
    assert_int_equal(seen, BIT(2));
    assert_true(t > 2050 + 10 && t <= 2050 + 100);

    assert_int_equal(rdmc_fd_init(&fd, 3, 0, 100, 0), 0);
    seen = 0;
    for (t = 300; t <= 3000 && seen == 0; t += 300) {
        beats[1]++;
        seen = rdmc_fd_observe(&fd, beats, t);
    }
    assert_int_equal(seen, BIT(2));
}

/* A member that said it is leaving, then went silent, departed. */
static void test_leaving_is_not_a_failure(void **state)
{
    rdmc_fd_t fd;
    uint64_t beats[2] = { 5, 5 };

    (void)state;
    assert_int_equal(rdmc_fd_init(&fd, 2, 0, 50, 0), 0);
    beats[1] = RDMC_SST_LEAVING;
    for (int t = 0; t <= 1000; t += 10) {
        assert_int_equal(rdmc_fd_observe(&fd, beats, t), 0);
    }
    assert_true(rdmc_fd_next_deadline_ms(&fd) > 1e100);
}

static void test_errors_suspect_at_once(void **state)
{
    rdmc_fd_t fd;

    (void)state;
    assert_int_equal(rdmc_fd_init(&fd, 5, 2, 1000, 0), 0);
    assert_int_equal(rdmc_fd_report_error(&fd, 4), BIT(4));
    assert_int_equal(rdmc_fd_report_error(&fd, 4), 0);   /* once */
    assert_int_equal(rdmc_fd_report_error(&fd, 2), 0);   /* never oneself */
    assert_int_equal(rdmc_fd_report_error(&fd, 5), 0);   /* out of range */
    assert_int_equal(rdmc_fd_report_error(&fd, -1), 0);
    assert_int_equal(fd.suspected, BIT(4));
}


/* Whatever the failure timeout, members beating at the period
 * rdmc_fd_heartbeat_ms gives it, every other beat half a period late, are
 * never suspected; 100 ms beats against a 50 ms timeout, as the component
 * once sent them, are.  A period that fits is kept. */
static void test_the_heartbeat_fits_the_timeout(void **state)
{
    static const int timeouts[] = { 1, 2, 20, 50, 99, 1000 };

    (void)state;
    assert_int_equal(rdmc_fd_heartbeat_ms(100, 1000), 100);
    assert_int_equal(rdmc_fd_heartbeat_ms(100, 50), 12);
    assert_int_equal(rdmc_fd_heartbeat_ms(100, 2), 1);
    assert_int_equal(rdmc_fd_heartbeat_ms(0, 1000), 250);
    for (size_t i = 0; i < sizeof(timeouts) / sizeof(timeouts[0]); i++) {
        int timeout = timeouts[i], beat = rdmc_fd_heartbeat_ms(100, timeout);
        uint64_t beats[3] = { 0, 0, 0 }, suspected = 0;
        int next = beat, k = 0;
        rdmc_fd_t fd;

        assert_true(beat >= 1 && beat * RDMC_FD_BEATS_PER_TIMEOUT <= (timeout < 4 ? 4 : timeout));
        assert_int_equal(rdmc_fd_init(&fd, 3, 0, timeout, 0), 0);
        for (int t = 1; t <= 20 * timeout + 100; t++) {
            if (t >= next) {
                beats[1]++;
                beats[2]++;
                next = t + beat + (k++ % 2 ? beat / 2 : 0);
            }
            suspected |= rdmc_fd_observe(&fd, beats, t);
        }
        assert_int_equal(suspected, 0);
    }

    {
        uint64_t beats[3] = { 1, 1, 1 }, suspected = 0;
        rdmc_fd_t fd;

        assert_int_equal(rdmc_fd_init(&fd, 3, 0, 50, 0), 0);
        for (int t = 1; t <= 300; t++) {
            if (t % 100 == 0) {
                beats[1]++;
                beats[2]++;
            }
            suspected |= rdmc_fd_observe(&fd, beats, t);
        }
        assert_int_equal(suspected, BIT(1) | BIT(2));
    }
}
static void test_bad_arguments_and_deadline(void **state)
{
    rdmc_fd_t fd;
    uint64_t beats[3] = { 0, 0, 0 };

    (void)state;
    assert_int_equal(rdmc_fd_init(&fd, 0, 0, 10, 0), -EINVAL);
    assert_int_equal(rdmc_fd_init(&fd, RDMC_FD_MAX_MEMBERS + 1, 0, 10, 0), -EINVAL);
    assert_int_equal(rdmc_fd_init(&fd, 3, 3, 10, 0), -EINVAL);
    assert_int_equal(rdmc_fd_init(&fd, 3, 0, 100, 5), 0);
    assert_true(rdmc_fd_next_deadline_ms(&fd) == 5 + 100.0 * RDMC_FD_FIRST_BEAT_FACTOR);
    beats[1] = beats[2] = 1;
    rdmc_fd_observe(&fd, beats, 10);   /* both heard from at 10 */
    beats[1] = 2;
    rdmc_fd_observe(&fd, beats, 28);   /* member 1 moved at 28, member 2 not since 10 */
    assert_true(rdmc_fd_next_deadline_ms(&fd) == 110);
    for (int t = 45; t < 110; t += 20) {   /* observed often: no stall */
        assert_int_equal(rdmc_fd_observe(&fd, beats, t), 0);
    }
    assert_int_equal(rdmc_fd_observe(&fd, beats, 110), BIT(2));
    assert_true(rdmc_fd_next_deadline_ms(&fd) == 128);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_silence_is_suspected_at_the_timeout),
        cmocka_unit_test(test_a_member_not_heard_from_gets_longer),
        cmocka_unit_test(test_the_os_view_of_silent_members),
        cmocka_unit_test(test_the_os_view_is_asked_afresh),
        cmocka_unit_test(test_a_slow_beat_is_not_a_failure),
        cmocka_unit_test(test_a_stopped_observer_accuses_nobody),
        cmocka_unit_test(test_leaving_is_not_a_failure),
        cmocka_unit_test(test_errors_suspect_at_once),
        cmocka_unit_test(test_the_heartbeat_fits_the_timeout),
        cmocka_unit_test(test_bad_arguments_and_deadline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
