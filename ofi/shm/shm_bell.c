/*
 * The bell: how a rank that wrote into a sleeping peer's table wakes it.
 *
 * Each process has one page (rings, sleeping) in a memfd and one pipe;
 * peers map the page and open the pipe through /proc (shm_segment.c).  The
 * protocol is the doorbell's (ofi_doorbell.c) with a pipe for the futex,
 * so that the sleeper can wait on it and on its endpoint's completion fd
 * at once:
 *
 *   writer:  data stores; rings++ (seq_cst); if sleeping: write 1 byte
 *   sleeper: sleeping++ (seq_cst); if rings moved since the pass began:
 *            do not sleep; else poll the pipe; sleeping--; drain the pipe
 *
 * Either the writer sees `sleeping` or the sleeper sees `rings` move, so
 * no notification is lost, and a system call is made only for a sleeper.
 * A peer opens the pipe read-write: it holds a reader itself, so a write
 * after the owner died never raises SIGPIPE (a full pipe says EAGAIN).
 *
 * The sleeper polls the process's wake set (shm_wake.c), which holds the
 * pipe and the pidfds of the node-mates we watch (shm_exits.c), so that a
 * node-mate's death wakes it as a ring does.
 */
#define _GNU_SOURCE   /* pipe2 */
#include "shm_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

struct shm_peer_bell {
    shm_share_t share;
    shm_bell_page_t *page;
    int pipe;
    unsigned refs;
    shm_peer_bell_t *next;
};

static struct {
    shm_bell_page_t *page;   /* NULL until the first window; read by waits without a lock */
    int memfd;
    int pipe_r, pipe_w;
    uint64_t marked;         /* atomic: rings at the start of the last pass */
} bell = { NULL, -1, -1, -1, 0 };

static shm_peer_bell_t *peer_bells;   /* under the caller's lock */

static int bell_create(void)
{
    int fds[2], rc;
    void *page;

    rc = rdmc_shm_memfd("rdmc-bell", SHM_PAGE, &bell.memfd);
    if (rc != 0) {
        return rc;
    }
    page = mmap(NULL, SHM_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, bell.memfd, 0);
    if (page == MAP_FAILED) {
        rc = -errno;
        goto err_close_memfd;
    }
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
        rc = -errno;
        goto err_unmap;
    }
    rc = rdmc_shm_wake_add(fds[0]);
    if (rc != 0) {
        goto err_close_pipe;
    }
    bell.pipe_r = fds[0];
    bell.pipe_w = fds[1];
    ((shm_bell_page_t *)page)->cookie = rdmc_shm_random();
    __atomic_store_n(&bell.page, (shm_bell_page_t *)page, __ATOMIC_RELEASE);
    return 0;

err_close_pipe:
    close(fds[0]);
    close(fds[1]);
err_unmap:
    munmap(page, SHM_PAGE);
err_close_memfd:
    close(bell.memfd);
    bell.memfd = -1;
    return rc;
}

int rdmc_shm_bell_share(shm_share_t *share_p, int32_t *pipe_p)
{
    if (bell.page == NULL) {
        int rc = bell_create();
        if (rc != 0) {
            return rc;
        }
    }
    *share_p = (shm_share_t){ (uint32_t)getpid(), bell.memfd, bell.page->cookie };
    *pipe_p = bell.pipe_w;
    return 0;
}

void rdmc_shm_bell_mark(void)
{
    shm_bell_page_t *page = __atomic_load_n(&bell.page, __ATOMIC_ACQUIRE);

    if (page != NULL) {
        __atomic_store_n(&bell.marked, __atomic_load_n(&page->rings, __ATOMIC_SEQ_CST),
                         __ATOMIC_RELAXED);
    }
}

bool rdmc_shm_bell_arm(void)
{
    shm_bell_page_t *page = __atomic_load_n(&bell.page, __ATOMIC_ACQUIRE);

    if (page == NULL) {
        return false;
    }
    __atomic_add_fetch(&page->sleeping, 1, __ATOMIC_SEQ_CST);
    return __atomic_load_n(&page->rings, __ATOMIC_SEQ_CST) !=
           __atomic_load_n(&bell.marked, __ATOMIC_RELAXED);
}

void rdmc_shm_bell_disarm(void)
{
    shm_bell_page_t *page = __atomic_load_n(&bell.page, __ATOMIC_ACQUIRE);
    char drain[64];

    if (page == NULL) {
        return;
    }
    __atomic_sub_fetch(&page->sleeping, 1, __ATOMIC_SEQ_CST);
    while (read(bell.pipe_r, drain, sizeof(drain)) > 0) {
    }
}

uint64_t rdmc_shm_bell_rings(void)
{
    shm_bell_page_t *page = __atomic_load_n(&bell.page, __ATOMIC_ACQUIRE);

    return page != NULL ? __atomic_load_n(&page->rings, __ATOMIC_SEQ_CST) : 0;
}

/* ---- the peers' bells --------------------------------------------------- */

int rdmc_shm_peer_bell_get(const shm_share_t *share, int32_t pipe, shm_peer_bell_t **bell_p)
{
    shm_peer_bell_t *b;
    void *page;
    size_t bytes;
    int fd, rc;

    for (b = peer_bells; b != NULL; b = b->next) {
        if (b->share.pid == share->pid && b->share.cookie == share->cookie) {
            b->refs++;
            *bell_p = b;
            return 0;
        }
    }
    b = calloc(1, sizeof(*b));
    if (b == NULL) {
        return -ENOMEM;
    }
    rc = rdmc_shm_open_peer_fd(share->pid, share->fd, O_RDWR, &fd);
    if (rc != 0) {
        goto err_free;
    }
    rc = rdmc_shm_map_fd(fd, &page, &bytes);
    if (rc != 0) {
        goto err_free;
    }
    if (bytes != SHM_PAGE || ((shm_bell_page_t *)page)->cookie != share->cookie) {
        rc = -ESRCH;   /* another process's file now holds that number */
        goto err_unmap;
    }
    rc = rdmc_shm_open_peer_fd(share->pid, pipe, O_RDWR | O_NONBLOCK, &b->pipe);
    if (rc != 0) {
        goto err_unmap;
    }
    b->share = *share;
    b->page = page;
    b->refs = 1;
    b->next = peer_bells;
    peer_bells = b;
    *bell_p = b;
    return 0;

err_unmap:
    munmap(page, SHM_PAGE);
err_free:
    free(b);
    return rc;
}

void rdmc_shm_peer_bell_put(shm_peer_bell_t *bell_)
{
    shm_peer_bell_t **link = &peer_bells;

    if (bell_ == NULL || --bell_->refs > 0) {
        return;
    }
    while (*link != bell_) {
        link = &(*link)->next;
    }
    *link = bell_->next;
    munmap(bell_->page, SHM_PAGE);
    close(bell_->pipe);
    free(bell_);
}

void rdmc_shm_peer_bell_ring(shm_peer_bell_t *b)
{
    static const char byte = 1;

    /* Our stores are done: count the ring, then look whether the owner
     * sleeps (it announces that before its last look at `rings`). */
    __atomic_add_fetch(&b->page->rings, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&b->page->sleeping, __ATOMIC_SEQ_CST) != 0) {
        (void)!write(b->pipe, &byte, 1);   /* EAGAIN: a full pipe wakes it anyway */
    }
}

void rdmc_shm_finalize(void)
{
    shm_bell_page_t *page = __atomic_exchange_n(&bell.page, NULL, __ATOMIC_ACQ_REL);

    while (peer_bells != NULL) {
        peer_bells->refs = 1;
        rdmc_shm_peer_bell_put(peer_bells);
    }
    if (page != NULL) {
        munmap(page, SHM_PAGE);
        close(bell.memfd);
        close(bell.pipe_r);
        close(bell.pipe_w);
        bell.memfd = bell.pipe_r = bell.pipe_w = -1;
    }
    rdmc_shm_wake_close();
}
