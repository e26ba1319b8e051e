/*
 * The process's wake set: one epoll fd that a sleeping progress thread
 * polls beside its endpoint's completion fd.  Whatever should wake it goes
 * in: the bell's pipe (shm_bell.c: a peer wrote into our table) and the
 * pidfds of the node-mates we watch (shm_exits.c: one of them exited).
 *
 * The set is made by the first fd put in it, whichever comes first, so a
 * process whose communicators keep no table in shared memory (it has no
 * bell: coll_rdmc_shm_sst 0, or communicators that span nodes) is still
 * woken by a node-mate's death.  rdmc_shm_finalize closes it.
 *
 * Changed under the caller's lock; its fd is read by sleepers without it.
 */
#include "shm_internal.h"

#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

static int wake_set = -1;   /* atomic */

int rdmc_shm_wake_add(int fd)
{
    struct epoll_event ev = { .events = EPOLLIN, .data = { .fd = fd } };
    int set = __atomic_load_n(&wake_set, __ATOMIC_ACQUIRE);

    if (set < 0) {
        set = epoll_create1(EPOLL_CLOEXEC);
        if (set < 0) {
            return -errno;
        }
        __atomic_store_n(&wake_set, set, __ATOMIC_RELEASE);
    }
    return epoll_ctl(set, EPOLL_CTL_ADD, fd, &ev) == 0 ? 0 : -errno;
}

int rdmc_shm_wake_fd(void)
{
    return __atomic_load_n(&wake_set, __ATOMIC_ACQUIRE);
}

void rdmc_shm_wake_close(void)
{
    int set = __atomic_exchange_n(&wake_set, -1, __ATOMIC_ACQ_REL);

    if (set >= 0) {
        close(set);
    }
}
