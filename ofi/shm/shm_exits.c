/*
 * Exits of the processes on this node that share communicators with us,
 * told by the kernel: a pidfd (pidfd_open, Linux 5.3) turns readable when
 * its process has exited, killed or not.  Silence and /proc took a
 * quarter of the failure timeout to tell a killed node-mate; a look at
 * its pidfd tells within one pass of the progress engine.
 *
 * The pidfds also go into the process's wake set (shm_wake.c), so that a
 * death wakes a sleeping progress thread, with or without a bell; closing
 * one takes it out.
 *
 * A pidfd names one process, not a number: a pid the system hands to a
 * new process after ours died cannot make a dead peer look alive.  Where
 * pidfd_open is refused (an older kernel, a seccomp filter), nothing is
 * watched and silence and /proc decide as before.
 *
 * Used under the caller's lock (the engine's), like the bells.
 */
#define _GNU_SOURCE
#include "shm_internal.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef struct watched_process {
    uint32_t pid;
    int fd;          /* its pidfd; -1 once it exited (closed) */
    unsigned refs;   /* links watching it */
} watched_process_t;

static watched_process_t *watched;
static struct pollfd *polled;   /* scratch for rdmc_shm_exits_look, as long as watched */
static size_t nwatched, capacity;
static uint64_t exits;          /* exits seen so far */

static watched_process_t *find(uint32_t pid)
{
    for (size_t i = 0; i < nwatched; i++) {
        if (watched[i].pid == pid) {
            return &watched[i];
        }
    }
    return NULL;
}

static int grow(void)
{
    size_t more = capacity == 0 ? 8 : 2 * capacity;
    watched_process_t *w = realloc(watched, more * sizeof(*w));
    struct pollfd *p;

    if (w == NULL) {
        return -ENOMEM;
    }
    watched = w;
    p = realloc(polled, more * sizeof(*p));
    if (p == NULL) {
        return -ENOMEM;
    }
    polled = p;
    capacity = more;
    return 0;
}

int rdmc_shm_exits_watch(uint32_t pid)
{
    watched_process_t *w = find(pid);
    int fd, rc;

    if (pid == 0) {
        return -EINVAL;
    }
    if (w != NULL) {
        w->refs++;
        return 0;
    }
    if (nwatched == capacity && (rc = grow()) != 0) {
        return rc;
    }
#ifdef SYS_pidfd_open
    fd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
#else
    fd = -1;
    errno = ENOSYS;
#endif
    if (fd < 0) {
        /* ESRCH: gone already; /proc says so to the failure detector. */
        return -errno;
    }
    watched[nwatched++] = (watched_process_t){ pid, fd, 1 };
    (void)rdmc_shm_wake_add(fd);   /* else: seen at a pass, not at once */
    return 0;
}

void rdmc_shm_exits_unwatch(uint32_t pid)
{
    watched_process_t *w = find(pid);

    if (w == NULL || --w->refs > 0) {
        return;
    }
    if (w->fd >= 0) {
        close(w->fd);
    }
    *w = watched[--nwatched];
    if (nwatched == 0) {
        free(watched);
        free(polled);
        watched = NULL;
        polled = NULL;
        capacity = 0;
    }
}

uint64_t rdmc_shm_exits_look(void)
{
    for (size_t i = 0; i < nwatched; i++) {
        polled[i] = (struct pollfd){ watched[i].fd, POLLIN, 0 };   /* -1 is skipped */
    }
    if (nwatched == 0 || poll(polled, (nfds_t)nwatched, 0) <= 0) {
        return exits;
    }
    for (size_t i = 0; i < nwatched; i++) {
        if (watched[i].fd >= 0 && (polled[i].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
            close(watched[i].fd);
            watched[i].fd = -1;
            exits++;
        }
    }
    return exits;
}

bool rdmc_shm_exited(uint32_t pid)
{
    const watched_process_t *w = find(pid);

    return w != NULL && w->fd < 0;
}
