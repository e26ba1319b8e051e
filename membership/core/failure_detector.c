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

void rdmc_fd_set_alive(rdmc_fd_t *fd, bool (*fn)(void *arg, int m), void *arg)
{
    fd->alive = fn;
    fd->alive_arg = arg;
}

/* How long member m may stay silent. */
static double allowed_ms(const rdmc_fd_t *fd, int m)
{
    return fd->heard & (UINT64_C(1) << m) ? fd->timeout_ms
                                           : fd->timeout_ms * RDMC_FD_FIRST_BEAT_FACTOR;
}

/* Silent past its time but alive (asked at most every quarter timeout),
 * within the longer limit. */
static bool late_but_alive(rdmc_fd_t *fd, int m, double now_ms)
{
    double limit = fd->moved_ms[m] + fd->timeout_ms * RDMC_FD_FIRST_BEAT_FACTOR;

    if (fd->alive == NULL || now_ms >= limit) {
        return false;
    }
    if (now_ms < fd->vouched_until_ms[m]) {
        return true;
    }
    if (!fd->alive(fd->alive_arg, m)) {
        return false;
    }
    fd->vouched_until_ms[m] = now_ms + fd->timeout_ms / 4;
    return true;
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
        } else if (now_ms - fd->moved_ms[m] >= allowed_ms(fd, m) && !late_but_alive(fd, m, now_ms)) {
            fresh |= UINT64_C(1) << m;
        }
    }
    fd->suspected |= fresh;
    return fresh;
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
        double due = fd->moved_ms[m] + allowed_ms(fd, m);
        if (fd->vouched_until_ms[m] > due) {
            due = fd->vouched_until_ms[m];
        }
        if (watched(fd, m) && due < next) {
            next = due;
        }
    }
    return next;
}
