/*
 * Unit tests of the SST's shared-memory window (ofi/shm/shm_window.c, with
 * shm_bell.c and shm_segment.c) under the real SST (membership/sst.c),
 * across two processes made by fork: guards never run ahead of their data,
 * a notifying write wakes a peer asleep on its bell, and a peer that is
 * SIGKILLed (asleep or not, before or after attaching) leaves nothing held:
 * the survivor's writes, reads and wake-ups go on, and nothing is left in
 * /dev/shm.  Also what /proc shows of a process (shm_proc.c), and the
 * kernel's word when a watched process exits (shm_exits.c).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "membership/core/sst.h"
#include "shm/rdmc_shm.h"

#define SLOTS 8
#define PAYLOAD 1024
#define MESSAGES 20000
#define CHILD_LIMIT_S 60

typedef struct side {
    rdmc_shm_window_t *w;
    rdmc_sst_t *sst;
    uint8_t blob[RDMC_WINDOW_BLOB];
    size_t blob_len;
} side_t;

/* A pair of pipes: parent -> child and child -> parent. */
typedef struct channel {
    int down[2], up[2];
} channel_t;

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* coll_rdmc_sst_ordering=completion for the next tables opened. */
static bool force_fence;

/* As under failure handling: peer errors tolerated. */
static int side_open(side_t *s, int me)
{
    rdmc_sst_params_t p = { NULL, 2, me, SLOTS, PAYLOAD, force_fence, 0, true };
    int rc = rdmc_shm_window_open(2, me, &s->w);

    if (rc != 0) {
        return rc;
    }
    p.tp = rdmc_shm_window_transport(s->w);
    s->blob_len = sizeof(s->blob);
    return rdmc_sst_create(&p, &s->sst, s->blob, &s->blob_len);
}

static void side_close(side_t *s)
{
    rdmc_shm_window_close(s->w);
    rdmc_sst_destroy(s->sst);
    rdmc_shm_finalize();
}

static bool send_all(int fd, const void *buf, size_t len)
{
    return write(fd, buf, len) == (ssize_t)len;
}

static bool recv_all(int fd, void *buf, size_t len)
{
    size_t got = 0;

    while (got < len) {
        ssize_t n = read(fd, (uint8_t *)buf + got, len - got);
        if (n <= 0) {
            return false;
        }
        got += (size_t)n;
    }
    return true;
}

/* Swap blobs over the channel and attach the other side. */
static int side_swap(side_t *s, int to_fd, int from_fd)
{
    uint8_t theirs[RDMC_WINDOW_BLOB];
    int other = 1 - rdmc_sst_me(s->sst);

    if (!send_all(to_fd, s->blob, sizeof(s->blob)) || !recv_all(from_fd, theirs, sizeof(theirs))) {
        return -EPIPE;
    }
    int rc = rdmc_sst_attach(s->sst, rdmc_sst_me(s->sst), s->blob, s->blob_len);
    return rc != 0 ? rc : rdmc_sst_attach(s->sst, other, theirs, s->blob_len);
}

static void channel_open(channel_t *c)
{
    assert_int_equal(pipe(c->down), 0);
    assert_int_equal(pipe(c->up), 0);
}

static void channel_close(channel_t *c)
{
    close(c->down[0]);
    close(c->down[1]);
    close(c->up[0]);
    close(c->up[1]);
}

/* Fork a peer and connect the two tables.  In the child (returns 0) *s
 * is side 1, and the child exits 2 if that fails; in the parent (returns
 * the child's pid) *s is side 0. */
static pid_t fork_pair(channel_t *c, side_t *s)
{
    pid_t pid;

    channel_open(c);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (side_open(s, 1) != 0 || side_swap(s, c->up[1], c->down[0]) != 0) {
            _exit(2);
        }
        return 0;
    }
    assert_int_equal(side_open(s, 0), 0);
    assert_int_equal(side_swap(s, c->down[1], c->up[0]), 0);
    return pid;
}

static int wait_child(pid_t pid)
{
    int status;

    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Our entries of /dev/shm naming one of two processes: rdmc names carry
 * the pid as a whole field, "-PID-" (tests and CI running beside us create
 * and remove their own names there, and pid 346 must not match 6346). */
static int dev_shm_entries_of(pid_t a, pid_t b)
{
    DIR *d = opendir("/dev/shm");
    char pa[24], pb[24];
    int count = 0;

    if (d == NULL) {
        return 0;
    }
    snprintf(pa, sizeof(pa), "-%d-", (int)a);
    snprintf(pb, sizeof(pb), "-%d-", (int)b);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        bool ours = strncmp(e->d_name, "rdmc", 4) == 0;
        count += ours && (strstr(e->d_name, pa) != NULL || strstr(e->d_name, pb) != NULL);
    }
    closedir(d);
    return count;
}

static uint8_t pattern(uint64_t seq, uint32_t i)
{
    return (uint8_t)(seq * 31 + i * 7 + 1);
}

static uint32_t length_of(uint64_t seq)
{
    return (uint32_t)(seq * 97 % (PAYLOAD + 1));
}

/* ---- the guard ---------------------------------------------------------- */

/* Child: read every message the moment its guard covers it. */
static int read_messages(side_t *s)
{
    uint64_t next = 0;
    double start = now_s();

    while (next < MESSAGES && now_s() - start < CHILD_LIMIT_S) {
        const char *error;
        uint32_t got;
        const uint8_t *data;
        while ((data = rdmc_sst_slot_read(s->sst, 0, next, &got, &error)) != NULL) {
            if (got != length_of(next)) {
                return 10;
            }
            for (uint32_t i = 0; i < got; i++) {
                if (data[i] != pattern(next, i)) {
                    return 11;   /* the guard was seen before its data */
                }
            }
            next++;
            rdmc_sst_set(s->sst, RDMC_SST_RECEIVED, next, RDMC_SST_PUSH);
        }
        if (error != NULL) {
            return 12;
        }
        if (rdmc_sst_flush(s->sst) != 0) {
            return 13;
        }
        sched_yield();
    }
    return next == MESSAGES ? 0 : 14;
}

static void test_guard_follows_data(void **state)
{
    channel_t c;
    side_t s;
    uint64_t next = 0;
    pid_t pid;

    (void)state;
    pid = fork_pair(&c, &s);
    if (pid == 0) {
        _exit(read_messages(&s));
    }
    double start = now_s();
    while (rdmc_sst_min(s.sst, RDMC_SST_RECEIVED) < MESSAGES && now_s() - start < CHILD_LIMIT_S) {
        while (next < MESSAGES && rdmc_sst_slot_free(s.sst, next)) {
            uint8_t *slot = rdmc_sst_slot_buffer(s.sst, next);
            for (uint32_t i = 0; i < length_of(next); i++) {
                slot[i] = pattern(next, i);
            }
            rdmc_sst_publish(s.sst, next, length_of(next));
            next++;
            rdmc_sst_set(s.sst, RDMC_SST_RECEIVED, next, RDMC_SST_LAZY);
        }
        assert_int_equal(rdmc_sst_flush(s.sst), 0);
        sched_yield();
    }
    assert_int_equal(wait_child(pid), 0);
    assert_int_equal(rdmc_sst_min(s.sst, RDMC_SST_RECEIVED), MESSAGES);
    side_close(&s);
    channel_close(&c);
}

/* Guards fenced by completions (coll_rdmc_sst_ordering=completion): a
 * store is complete when written, so nothing waits for a completion that
 * never comes (a head write awaiting one stalled every later push). */
static void test_guard_follows_data_fenced(void **state)
{
    force_fence = true;
    test_guard_follows_data(state);
    force_fence = false;
}

/* ---- the bell ----------------------------------------------------------- */

/* Child: sleep on the bell (as an idle wait does) until woken, at most
 * 5 s; exit 0 when woken with the value there, 1 on timeout. */
static int sleep_until_notified(side_t *s, int ready_fd, uint64_t want)
{
    struct pollfd pfd = { rdmc_shm_wake_fd(), POLLIN, 0 };
    double start = now_s();

    rdmc_shm_bell_mark();
    if (rdmc_shm_bell_arm()) {
        return 3;   /* nothing rang yet */
    }
    if (!send_all(ready_fd, "z", 1)) {
        return 4;
    }
    int n = poll(&pfd, 1, 5000);
    rdmc_shm_bell_disarm();
    if (n != 1 || now_s() - start > 4.0) {
        return 1;
    }
    return rdmc_sst_get(s->sst, 0, RDMC_SST_HEARTBEAT) == want ? 0 : 5;
}

static void test_notify_wakes_sleeper(void **state)
{
    channel_t c;
    side_t s;
    char z;
    pid_t pid;

    (void)state;
    pid = fork_pair(&c, &s);
    if (pid == 0) {
        _exit(sleep_until_notified(&s, c.up[1], 42));
    }
    assert_true(recv_all(c.up[0], &z, 1));   /* it is about to poll */
    /* A push that does not notify must not wake it... */
    rdmc_sst_set(s.sst, RDMC_SST_DELIVERED, 1, RDMC_SST_PUSH);
    assert_int_equal(rdmc_sst_flush(s.sst), 0);
    usleep(100 * 1000);
    /* ...a notifying one must, with the value there. */
    rdmc_sst_set(s.sst, RDMC_SST_HEARTBEAT, 42, RDMC_SST_NOTIFY);
    assert_int_equal(rdmc_sst_flush(s.sst), 0);
    assert_int_equal(wait_child(pid), 0);
    side_close(&s);
    channel_close(&c);
}

/* ---- dead peers --------------------------------------------------------- */

/* The child writes its heartbeat, then sleeps on its bell (armed) until
 * it is killed. */
static void test_killed_peer_holds_nothing(void **state)
{
    channel_t c;
    side_t s;
    char z;
    pid_t pid;

    (void)state;
    pid = fork_pair(&c, &s);
    if (pid == 0) {
        struct pollfd pfd;
        rdmc_sst_set(s.sst, RDMC_SST_HEARTBEAT, 7, RDMC_SST_NOTIFY);
        if (rdmc_sst_flush(s.sst) != 0) {
            _exit(3);
        }
        pfd = (struct pollfd){ rdmc_shm_wake_fd(), POLLIN, 0 };
        rdmc_shm_bell_mark();
        (void)rdmc_shm_bell_arm();
        (void)send_all(c.up[1], "z", 1);
        for (;;) {
            (void)poll(&pfd, 1, -1);   /* killed in here, asleep and armed */
        }
    }
    assert_true(recv_all(c.up[0], &z, 1));
    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_int_equal(wait_child(pid), 128 + SIGKILL);

    /* Its row keeps its last value; ours still goes out, notifying a
     * sleeper that will never drain its pipe (more writes than a pipe
     * holds: no SIGPIPE, no blocking), and slots are published as before. */
    assert_int_equal(rdmc_sst_get(s.sst, 1, RDMC_SST_HEARTBEAT), 7);
    for (uint64_t beat = 1; beat <= 100000; beat++) {
        rdmc_sst_set(s.sst, RDMC_SST_HEARTBEAT, beat, RDMC_SST_NOTIFY);
        assert_int_equal(rdmc_sst_flush(s.sst), 0);
    }
    memcpy(rdmc_sst_slot_buffer(s.sst, 0), "after", 5);
    rdmc_sst_publish(s.sst, 0, 5);
    assert_int_equal(rdmc_sst_flush(s.sst), 0);
    assert_int_equal(rdmc_sst_get(s.sst, 0, RDMC_SST_PUBLISHED), 1);
    assert_false(rdmc_sst_peer_failed(s.sst, 1));
    assert_int_equal(rdmc_sst_get(s.sst, 1, RDMC_SST_HEARTBEAT), 7);
    assert_int_equal(dev_shm_entries_of(getpid(), pid), 0);   /* while it all is mapped */
    side_close(&s);
    channel_close(&c);
    assert_int_equal(dev_shm_entries_of(getpid(), pid), 0);
}

/* Ask until the answer is `want` (the kernel takes a moment to stop a
 * process), for at most a second. */
static bool state_becomes(pid_t pid, rdmc_peer_state_t want)
{
    for (int i = 0; i < 1000; i++) {
        if (rdmc_shm_proc_state((uint32_t)pid) == want) {
            return true;
        }
        usleep(1000);
    }
    return false;
}

/* What the failure detector asks of a silent member on this node: live
 * while blocked in a call (asleep, using no CPU: a long libfabric call can
 * hold its passes so) and while it spins; stopped while stopped; gone once
 * killed, before its parent reaps it (a zombie) and after; unknown for no
 * process. */
static void test_proc_state(void **state)
{
    int down[2], up[2];
    char z;
    pid_t pid;

    (void)state;
    assert_int_equal(pipe(down), 0);
    assert_int_equal(pipe(up), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        (void)send_all(up[1], "z", 1);
        alarm(CHILD_LIMIT_S);
        (void)recv_all(down[0], &z, 1);   /* blocked until told to spin */
        for (volatile unsigned long spin = 0;; spin++) {
        }
    }
    assert_true(recv_all(up[0], &z, 1));
    for (int i = 0; i < 100; i++) {
        assert_int_equal(rdmc_shm_proc_state((uint32_t)pid), RDMC_PEER_LIVE);
        usleep(1000);
    }
    assert_true(send_all(down[1], "s", 1));
    assert_int_equal(kill(pid, SIGSTOP), 0);
    assert_true(state_becomes(pid, RDMC_PEER_STOPPED));
    assert_int_equal(kill(pid, SIGCONT), 0);
    assert_true(state_becomes(pid, RDMC_PEER_LIVE));
    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_true(state_becomes(pid, RDMC_PEER_GONE));   /* not reaped yet */
    assert_int_equal(wait_child(pid), 128 + SIGKILL);
    assert_int_equal(rdmc_shm_proc_state((uint32_t)pid), RDMC_PEER_GONE);
    assert_int_equal(rdmc_shm_proc_state((uint32_t)getpid()), RDMC_PEER_LIVE);
    assert_int_equal(rdmc_shm_proc_state(0), RDMC_PEER_UNKNOWN);
    for (int i = 0; i < 2; i++) {
        close(down[i]);
        close(up[i]);
    }
}

/* A watched process that is killed is seen exited by the next look (its
 * pidfd), not before; /proc then says gone too.  Its death makes the wake
 * set readable (a sleeping progress thread wakes), and the look makes it
 * quiet again.  The set exists from the watch on, with no bell (a process
 * whose tables are not in shared memory has none); the bell made later
 * joins the same set.  Watches are counted, and a process already gone
 * cannot be watched. */
static void test_exit_seen(void **state)
{
    struct pollfd wake;
    uint64_t before;
    side_t s;
    pid_t pid;
    int rc;

    (void)state;
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(CHILD_LIMIT_S);
        for (;;) {
            pause();
        }
    }
    rc = rdmc_shm_exits_watch((uint32_t)pid);
    if (rc == -ENOSYS || rc == -EPERM) {
        kill(pid, SIGKILL);
        (void)wait_child(pid);
        skip();   /* no pidfds here: silence and /proc decide */
    }
    assert_int_equal(rc, 0);
    assert_int_equal(rdmc_shm_exits_watch((uint32_t)pid), 0);
    rdmc_shm_exits_unwatch((uint32_t)pid);   /* one watch is left */
    wake = (struct pollfd){ rdmc_shm_wake_fd(), POLLIN, 0 };
    assert_true(wake.fd >= 0);               /* no bell yet */
    assert_int_equal(side_open(&s, 0), 0);   /* the bell, after the watch */
    assert_int_equal(rdmc_shm_wake_fd(), wake.fd);
    before = rdmc_shm_exits_look();
    usleep(20000);
    assert_int_equal(rdmc_shm_exits_look(), before);
    assert_false(rdmc_shm_exited((uint32_t)pid));
    assert_int_equal(poll(&wake, 1, 0), 0);
    assert_int_equal(kill(pid, SIGKILL), 0);
    assert_int_equal(poll(&wake, 1, CHILD_LIMIT_S * 1000), 1);
    assert_int_equal(rdmc_shm_exits_look(), before + 1);
    assert_int_equal(poll(&wake, 1, 0), 0);
    assert_true(rdmc_shm_exited((uint32_t)pid));
    assert_int_equal(rdmc_shm_proc_state((uint32_t)pid), RDMC_PEER_GONE);
    assert_int_equal(wait_child(pid), 128 + SIGKILL);
    rdmc_shm_exits_unwatch((uint32_t)pid);
    assert_false(rdmc_shm_exited((uint32_t)pid));   /* no longer watched */
    assert_int_equal(rdmc_shm_exits_watch((uint32_t)pid), -ESRCH);
    assert_int_equal(rdmc_shm_exits_watch(0), -EINVAL);
    side_close(&s);
}

/* A peer gone before we attach: attaching succeeds (the failure detector
 * hears its silence), writes to it fail and mark it failed. */
static void test_peer_gone_before_attach(void **state)
{
    channel_t c;
    side_t s;
    uint8_t theirs[RDMC_WINDOW_BLOB];
    pid_t pid;

    (void)state;
    channel_open(&c);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        side_t child;
        if (side_open(&child, 1) != 0 || !send_all(c.up[1], child.blob, sizeof(child.blob))) {
            _exit(2);
        }
        _exit(0);   /* gone before the parent maps its table */
    }
    assert_true(recv_all(c.up[0], theirs, sizeof(theirs)));
    assert_int_equal(wait_child(pid), 0);
    assert_int_equal(side_open(&s, 0), 0);
    assert_int_equal(rdmc_sst_attach(s.sst, 0, s.blob, s.blob_len), 0);
    assert_int_equal(rdmc_sst_attach(s.sst, 1, theirs, s.blob_len), 0);
    assert_int_equal(rdmc_shm_window_unreachable(s.w), 1);
    rdmc_sst_set(s.sst, RDMC_SST_HEARTBEAT, 1, RDMC_SST_NOTIFY);
    assert_int_equal(rdmc_sst_flush(s.sst), 0);
    assert_true(rdmc_sst_peer_failed(s.sst, 1));
    side_close(&s);
    channel_close(&c);
}

/* A malformed blob is refused; a blob whose fd now names another file
 * (not a segment of ours) too. */
static void test_bad_blobs_refused(void **state)
{
    side_t s;
    uint8_t blob[RDMC_WINDOW_BLOB];
    struct {
        uint32_t pid;
        int32_t fd;
        uint64_t cookie;
    } fake = { (uint32_t)getpid(), open("/dev/null", O_RDONLY), 1 };

    (void)state;
    assert_true(fake.fd >= 0);
    assert_int_equal(side_open(&s, 0), 0);
    assert_int_not_equal(rdmc_sst_attach(s.sst, 1, s.blob, 3), 0);
    memcpy(blob, &fake, sizeof(blob));
    assert_int_not_equal(rdmc_sst_attach(s.sst, 1, blob, sizeof(blob)), 0);
    close(fake.fd);
    side_close(&s);
}

/* A window counts its n mappings from its opening to its closing, and
 * vm.max_map_count is read where /proc has it. */
static void test_mappings_counted(void **state)
{
    rdmc_shm_window_t *a, *b;
    long before = rdmc_shm_window_mappings();

    (void)state;
    assert_int_equal(rdmc_shm_window_open(3, 0, &a), 0);
    assert_int_equal(rdmc_shm_window_mappings(), before + 3);
    assert_int_equal(rdmc_shm_window_open(5, 4, &b), 0);
    assert_int_equal(rdmc_shm_window_mappings(), before + 8);
    rdmc_shm_window_close(a);
    assert_int_equal(rdmc_shm_window_mappings(), before + 5);
    rdmc_shm_window_close(b);
    assert_int_equal(rdmc_shm_window_mappings(), before);
    if (access("/proc/sys/vm/max_map_count", R_OK) == 0) {
        assert_true(rdmc_shm_system_map_limit() > 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_guard_follows_data),
        cmocka_unit_test(test_guard_follows_data_fenced),
        cmocka_unit_test(test_notify_wakes_sleeper),
        cmocka_unit_test(test_killed_peer_holds_nothing),
        cmocka_unit_test(test_peer_gone_before_attach),
        cmocka_unit_test(test_proc_state),
        cmocka_unit_test(test_exit_seen),
        cmocka_unit_test(test_bad_blobs_refused),
        cmocka_unit_test(test_mappings_counted),
    };

    return cmocka_run_group_tests_name("shm_window", tests, NULL, NULL);
}
