#include "failure_detector.h"

#include <errno.h>
#include <string.h>

#include "sst.h"

int rdmc_fd_init(rdmc_fd_t *fd, int n, int me, double timeout_ms, double now_ms)
{
    if (n < 1 || n > RDMC_FD_MAX_MEMBERS || me < 0 || me >= n) {
        return -EINVAL;
    }
    memset(fd, 0, sizeof(*fd));
    fd->n = n;
    fd->me = me;
    fd->timeout_ms = timeout_ms;
    for (int m = 0; m < n; m++) {
        fd->moved_ms[m] = now_ms;
    }
    fd->observed_ms = now_ms;
    return 0;
}

int rdmc_fd_heartbeat_ms(int asked_ms, int timeout_ms)
{
    int longest = timeout_ms / RDMC_FD_BEATS_PER_TIMEOUT;

    if (longest < 1) {
        longest = 1;
    }
    return asked_ms < 1 || asked_ms > longest ? longest : asked_ms;
}

void rdmc_fd_set_peer_state(rdmc_fd_t *fd, rdmc_peer_state_t (*fn)(void *arg, int m), void *arg)
{
    fd->peer_state = fn;
    fd->peer_state_arg = arg;
}

/* How long member m may stay silent. */
static double allowed_ms(const rdmc_fd_t *fd, int m)
{
    return fd->heard & (UINT64_C(1) << m) ? fd->timeout_ms
                                           : fd->timeout_ms * RDMC_FD_FIRST_BEAT_FACTOR;
}

/* The operating system is asked once per quarter timeout of a silence. */
static double quarter_ms(const rdmc_fd_t *fd)
{
    return fd->timeout_ms / 4;
}

/* What the operating system shows of silent member m now: asked again at
 * each new quarter of its silence (a silence that begins anew, too). */
static rdmc_peer_state_t os_view(rdmc_fd_t *fd, int m, double now_ms)
{
    int quarter = (int)((now_ms - fd->moved_ms[m]) / quarter_ms(fd));

    if (fd->asked_moved_ms[m] != fd->moved_ms[m] || fd->asked_quarter[m] < quarter) {
        fd->seen[m] = fd->peer_state(fd->peer_state_arg, m);
        fd->asked_moved_ms[m] = fd->moved_ms[m];
        fd->asked_quarter[m] = quarter;
    }
    return fd->seen[m];
}

/* Has silent member m been silent too long? */
static bool silent_too_long(rdmc_fd_t *fd, int m, double now_ms)
{
    double silence = now_ms - fd->moved_ms[m];
    rdmc_peer_state_t state;

    if (fd->peer_state == NULL || silence < quarter_ms(fd)) {
        return silence >= allowed_ms(fd, m);
    }
    state = os_view(fd, m, now_ms);
    if (state == RDMC_PEER_GONE) {
        return true;
    }
    if (state == RDMC_PEER_LIVE) {
        return silence >= fd->timeout_ms * RDMC_FD_FIRST_BEAT_FACTOR;
    }
    return silence >= allowed_ms(fd, m);
}

static bool watched(const rdmc_fd_t *fd, int m)
{
    return m != fd->me && !(fd->suspected & (UINT64_C(1) << m)) &&
           fd->beat[m] != RDMC_SST_LEAVING;
}

uint64_t rdmc_fd_observe(rdmc_fd_t *fd, const uint64_t *beats, double now_ms)
{
    uint64_t fresh = 0;
    double stalled = now_ms - fd->observed_ms - fd->timeout_ms / 4;

    fd->observed_ms = now_ms;
    for (int m = 0; m < fd->n && stalled > 0; m++) {
        fd->moved_ms[m] += stalled;   /* our own stop is nobody's silence */
    }
    for (int m = 0; m < fd->n; m++) {
        if (!watched(fd, m)) {
            continue;
        }
        if (beats[m] != fd->beat[m]) {
            fd->beat[m] = beats[m];
            fd->moved_ms[m] = now_ms;
            fd->heard |= UINT64_C(1) << m;
        } else if (silent_too_long(fd, m, now_ms)) {
            fresh |= UINT64_C(1) << m;
        }
    }
    fd->suspected |= fresh;
    return fresh;
}

rdmc_peer_state_t rdmc_fd_last_seen(const rdmc_fd_t *fd, int m)
{
    if (m < 0 || m >= fd->n || fd->peer_state == NULL ||
        fd->asked_moved_ms[m] != fd->moved_ms[m]) {
        return RDMC_PEER_UNKNOWN;
    }
    return fd->seen[m];
}

uint64_t rdmc_fd_report_error(rdmc_fd_t *fd, int m)
{
    uint64_t bit;

    if (m < 0 || m >= fd->n || m == fd->me) {
        return 0;
    }
    bit = UINT64_C(1) << m;
    if (fd->suspected & bit) {
        return 0;
    }
    fd->suspected |= bit;
    return bit;
}

double rdmc_fd_next_deadline_ms(const rdmc_fd_t *fd)
{
    double next = 1e300;

    for (int m = 0; m < fd->n; m++) {
        /* Every verdict falls on a quarter of the silence (the timeouts
         * are whole quarters). */
        double due = fd->moved_ms[m] + allowed_ms(fd, m);
        if (fd->peer_state != NULL) {
            int asked = fd->asked_moved_ms[m] == fd->moved_ms[m] ? fd->asked_quarter[m] : 0;
            due = fd->moved_ms[m] + (asked + 1) * quarter_ms(fd);
        }
        if (watched(fd, m) && due < next) {
            next = due;
        }
    }
    return next;
}
