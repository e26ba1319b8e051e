/*
 * The completion queue of each process endpoint: running completions, and
 * sleeping when there are none.
 *
 * Progress is hybrid, as RDMC's.  The caller polls a little; when it finds
 * nothing it calls wait(), which yields the core for a millisecond after
 * the last completion and then sleeps on the CQ's file descriptor where the
 * provider offers one (tcp), and otherwise (shm, whose CQ has no real wait
 * object and whose fi_cq_sread spins) on the endpoint's doorbell, which the
 * peers ring when they give it work (ofi_doorbell.h).  Idle and
 * oversubscribed ranks thus leave the cores to the ranks copying data.
 * With endpoints on two fabrics (broadcasts by levels: shm inside the node,
 * the network between nodes), it sleeps in short slices on the one that
 * had work last.  The doorbell sleeps are short too, since the provider
 * may have news nobody rings for; a process with nothing under way
 * (wait_parked) sleeps long, woken by any peer's message or write.
 *
 * A completion goes to the request that was posted (rdmc_req_t), whatever
 * communicator's channel posted it; the channel stops counting it first,
 * since the callback may free the request's memory.
 */
#define _GNU_SOURCE   /* ppoll */
#include <poll.h>
#include <sched.h>
#include <string.h>

#include <rdma/fi_eq.h>
#include <rdma/fi_errno.h>

#include "ofi_internal.h"
#include "rdmc_log.h"

/* Keep polling, yielding the core, for SPIN_US after the last completion
 * (the next message is usually close, and waking from a sleep costs about
 * as much, even on a node with more ranks than cores: measured in the
 * README), then sleep: on the CQ's file descriptor where there is one,
 * otherwise on the doorbell.  Doorbell sleeps are cut at SLEEP_MAX_US so
 * that a wake-up nobody rang for (a provider's internal protocol step)
 * costs little; without a doorbell, naps double from NAP_MIN_US up to that. */
#define SPIN_US 1000
#define NAP_MIN_US 20
#define SLEEP_MAX_US 1000
#define CQ_BATCH 16

pthread_mutex_t *rdmc_ofi_progress_lock;

void rdmc_ofi_set_progress_lock(pthread_mutex_t *lock)
{
    rdmc_ofi_progress_lock = lock;
}

static void complete(rdmc_req_t *req, int status, size_t len, uint64_t imm)
{
    rdmc_ofi_channel_untrack(req);
    req->complete(req, status, len, imm);
}

static int report_cq_error(rdmc_ofi_ep_t *ep)
{
    struct fi_cq_err_entry err;
    char detail[128];
    ssize_t rc;

    memset(&err, 0, sizeof(err));
    rc = fi_cq_readerr(ep->cq, &err, 0);
    if (rc < 0) {
        return rc == -FI_EAGAIN ? 0 : (int)rc;
    }
    if (err.err != FI_ECANCELED) {
        rdmc_log(1, "completion error on %s: %s (%s)", rdmc_ofi_fabric_provider(ep->fab),
                 fi_strerror(err.err),
                 fi_cq_strerror(ep->cq, err.prov_errno, err.err_data, detail, sizeof(detail)));
    }
    if (err.op_context != NULL) {
        rdmc_req_t *req = err.op_context;
        rdmc_ofi_channel_t *ch = req->transport_owner;
        ofi_peer_t *peer = ch != NULL ? rdmc_ofi_channel_peer(ch, req->transport_peer) : NULL;
        if (ep->failure_safe && err.err != FI_ECANCELED && peer != NULL &&
            !(err.flags & FI_RECV)) {
            peer->failed = true;   /* the process, for every communicator */
        }
        complete(req, -(err.err ? err.err : FI_EIO), err.len, err.data);
    }
    return 1;
}

/* The sender's completion of what we just took is ready to reap. */
static void ring_sender(rdmc_req_t *req)
{
    rdmc_ofi_channel_t *ch = req->transport_owner;
    ofi_peer_t *peer = ch != NULL ? rdmc_ofi_channel_peer(ch, req->transport_peer) : NULL;

    if (peer != NULL) {
        rdmc_doorbell_ring(&peer->doorbell);
    }
}

/* Nothing posted and no window open (the SSTs are in shared memory):
 * nothing can complete, and tcp's progress costs a system call (epoll) per
 * read, which small broadcasts through the shared-memory SST paid at every
 * pass (17 per broadcast).  The provider still gets its progress (unexpected
 * messages, connections) this often. */
#define IDLE_POLL_MS 1.0

int rdmc_ofi_ep_progress(rdmc_ofi_ep_t *ep)
{
    struct fi_cq_tagged_entry entries[CQ_BATCH];
    double now = rdmc_now_ms();
    ssize_t n;

    if (ep->ndeferred > 0) {
        rdmc_ofi_pieces_resume(ep);
    }
    if (ep->in_flight == 0 && ep->windows == 0 && now - ep->last_poll_ms < IDLE_POLL_MS) {
        return 0;
    }
    ep->last_poll_ms = now;
    n = fi_cq_read(ep->cq, entries, CQ_BATCH);

    if (n == -FI_EAGAIN) {
        return 0;
    }
    if (n == -FI_EAVAIL) {
        rdmc_ofi_note_work(ep);
        return report_cq_error(ep);
    }
    if (n < 0) {
        rdmc_log(1, "fi_cq_read failed: %s", fi_strerror((int)-n));
        return (int)n;
    }
    rdmc_ofi_note_work(ep);
    for (ssize_t i = 0; i < n; i++) {
        rdmc_req_t *req = entries[i].op_context;
        /* A peer's notifying write into our window has no context: flagged
         * FI_REMOTE_WRITE by libfabric 1.x, and only by its NULL context
         * (FI_REMOTE_CQ_DATA) on 2.x's shm.  It only wakes us. */
        if (req == NULL || (entries[i].flags & FI_REMOTE_WRITE)) {
            continue;
        }
        uint64_t imm = (entries[i].flags & FI_REMOTE_CQ_DATA) ? entries[i].data : 0;
        if (entries[i].flags & FI_RECV) {
            ring_sender(req);
        }
        complete(req, 0, entries[i].len, imm);
    }
    return (int)n;
}

static void nap_us(long us)
{
    struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

    nanosleep(&ts, NULL);
}

/* For the doorbell: anything to do after all?  Runs the completions under
 * the progress lock; if someone else holds it, they are making progress,
 * so don't sleep either. */
static bool work_arrived(void *arg)
{
    rdmc_ofi_ep_t *ep = arg;
    bool found;

    if (rdmc_ofi_progress_lock == NULL) {
        return rdmc_ofi_ep_progress(ep) != 0;
    }
    if (pthread_mutex_trylock(rdmc_ofi_progress_lock) != 0) {
        return true;
    }
    found = rdmc_ofi_ep_progress(ep) != 0;
    pthread_mutex_unlock(rdmc_ofi_progress_lock);
    return found;
}

/* The waker is set while the progress thread may already sleep (the
 * first shared-memory SST of a process comes after its first link), so
 * it is published whole through one pointer: a sleeper that read its fd
 * before its arm() was written would call NULL (ThreadSanitizer saw the
 * race).  Its storage is written only while the pointer is NULL. */
static rdmc_ofi_waker_t waker_storage;
static const rdmc_ofi_waker_t *waker_now;   /* atomic; NULL: none */
static const rdmc_ofi_waker_t no_waker = { -1, NULL, NULL };
static double activity_ms;   /* work found outside the endpoints (atomic) */

void rdmc_ofi_set_waker(const rdmc_ofi_waker_t *w)
{
    if (w == NULL) {
        __atomic_store_n(&waker_now, NULL, __ATOMIC_RELEASE);
    } else if (__atomic_load_n(&waker_now, __ATOMIC_ACQUIRE) == NULL) {
        waker_storage = *w;
        __atomic_store_n(&waker_now, &waker_storage, __ATOMIC_RELEASE);
    }
}

static const rdmc_ofi_waker_t *current_waker(void)
{
    const rdmc_ofi_waker_t *w = __atomic_load_n(&waker_now, __ATOMIC_ACQUIRE);

    return w != NULL ? w : &no_waker;
}

void rdmc_ofi_note_activity(void)
{
    double now = rdmc_now_ms();

    __atomic_store(&activity_ms, &now, __ATOMIC_RELAXED);
}

bool rdmc_ofi_channel_sleeps_on_fd(const rdmc_ofi_channel_t *ch)
{
    return ch->ep->wait_fd >= 0;
}

static double last_work_of(const rdmc_ofi_ep_t *ep)
{
    double last;

    __atomic_load(&ep->last_work_ms, &last, __ATOMIC_RELAXED);
    return last;
}

/* Work within the last SPIN_US (on ep, or anywhere rdmc_ofi_note_activity
 * heard of)? */
static bool recently_busy(const rdmc_ofi_ep_t *ep)
{
    double elsewhere, mine = last_work_of(ep);

    __atomic_load(&activity_ms, &elsewhere, __ATOMIC_RELAXED);
    double last = mine > elsewhere ? mine : elsewhere;

    return (rdmc_now_ms() - last) * 1000 < SPIN_US;
}

/* The waker's slice where the endpoint has no fd to poll beside it. */
#define WAKER_SLICE_US 200

/* The doorbell a parked sleep is taken on, while it is (atomic). */
static rdmc_doorbell_t *deep_sleeper;

/* The ready check of a parked sleep: work, or the process no longer
 * parked (an application thread issued a collective meanwhile). */
typedef struct parked_check {
    rdmc_ofi_ep_t *ep;
    bool (*still_parked)(void);
} parked_check_t;

static bool parked_work_arrived(void *arg)
{
    parked_check_t *check = arg;

    return !check->still_parked() || work_arrived(check->ep);
}

/* Sleep on ep's wait object until it may have work, at most limit_us;
 * with still_parked, nothing of the process is under way
 * (rdmc_ofi_wait_parked). */
static void ep_sleep(rdmc_ofi_ep_t *ep, long limit_us, bool (*still_parked)(void))
{
    const rdmc_ofi_waker_t waker = *current_waker();

    if (ep->wait_fd >= 0) {
        struct fid *fids[1] = { &ep->cq->fid };
        if (fi_trywait(ep->fab->fabric, fids, 1) == FI_SUCCESS) {
            struct pollfd pfd[2] = { { ep->wait_fd, POLLIN, 0 }, { waker.fd, POLLIN, 0 } };
            struct timespec ts = { limit_us / 1000000, (limit_us % 1000000) * 1000 };
            nfds_t nfds = 1;
            if (waker.fd >= 0) {
                if (waker.arm()) {
                    waker.disarm();
                    return;
                }
                nfds = 2;
            }
            (void)ppoll(pfd, nfds, &ts, NULL);
            if (nfds == 2) {
                waker.disarm();
            }
        }
        return;
    }
    if (still_parked != NULL && waker.fd < 0 && ep->doorbell.page != NULL) {
        parked_check_t check = { ep, still_parked };
        __atomic_store_n(&deep_sleeper, &ep->doorbell, __ATOMIC_SEQ_CST);
        rdmc_doorbell_sleep(&ep->doorbell, RDMC_DOORBELL_DEEP, (int)limit_us, parked_work_arrived,
                            &check);
        __atomic_store_n(&deep_sleeper, NULL, __ATOMIC_SEQ_CST);
        return;
    }
    if (limit_us > SLEEP_MAX_US) {
        limit_us = SLEEP_MAX_US;
    }
    if (waker.fd >= 0 && limit_us > WAKER_SLICE_US) {
        limit_us = WAKER_SLICE_US;
    }
    if (ep->doorbell.page != NULL) {
        rdmc_doorbell_sleep(&ep->doorbell, RDMC_DOORBELL_NAP, (int)limit_us, work_arrived, ep);
    } else {
        unsigned doublings = __atomic_fetch_add(&ep->idle_waits, 1, __ATOMIC_RELAXED);
        long us = doublings >= 10 ? limit_us : (long)NAP_MIN_US << doublings;
        nap_us(us < limit_us ? us : limit_us);
    }
}

void rdmc_ofi_ep_wait(rdmc_ofi_ep_t *ep, int timeout_ms)
{
    /* Work comes in bursts, so for SPIN_US after the last of it only yield
     * the core.  Sleeping on tcp's fd at once left its sends waiting for
     * the wake-up (8 emulated hosts at 1 Gbit/s, 16 MiB: 152 ms, against
     * 143 ms yielding first). */
    if (recently_busy(ep)) {
        sched_yield();
        return;
    }
    ep_sleep(ep, (long)timeout_ms * 1000, NULL);
}

/* ---- every endpoint of the process ---------------------------------------- */

typedef struct progress_all {
    int work;
    int error;
} progress_all_t;

static void progress_one(rdmc_ofi_fabric_t *fab, void *arg)
{
    progress_all_t *all = arg;

    if (fab->ep != NULL) {
        int rc = rdmc_ofi_ep_progress(fab->ep);
        if (rc < 0) {
            all->error = rc;
        } else {
            all->work += rc;
        }
    }
}

int rdmc_ofi_progress(void)
{
    progress_all_t all = { 0, 0 };

    rdmc_ofi_fabric_foreach(progress_one, &all);
    return all.error != 0 ? all.error : all.work;
}

typedef struct wait_all {
    rdmc_ofi_ep_t *latest;      /* the endpoint that had work last */
    int open;
} wait_all_t;

static void find_latest(rdmc_ofi_fabric_t *fab, void *arg)
{
    wait_all_t *all = arg;

    if (fab->ep != NULL) {
        if (all->latest == NULL || last_work_of(fab->ep) > last_work_of(all->latest)) {
            all->latest = fab->ep;
        }
        all->open++;
    }
}

/* With several endpoints (shm inside a node, a network between nodes) no
 * one wait object covers them all: sleep on the one that had work last,
 * which most likely has the next, for at most SHARED_SLICE_US, so that the
 * others' work waits no longer than that; a parked process (nothing of its
 * own under way) for at most PARKED_SLICE_US. */
#define SHARED_SLICE_US 200
#define PARKED_SLICE_US 10000

/* rdmc_ofi_wait and rdmc_ofi_wait_parked (still_parked != NULL). */
static void wait_any(int timeout_ms, bool (*still_parked)(void))
{
    wait_all_t all = { NULL, 0 };
    long limit_us = (long)timeout_ms * 1000;
    long slice_us = still_parked != NULL ? PARKED_SLICE_US : SHARED_SLICE_US;

    rdmc_ofi_fabric_foreach(find_latest, &all);
    if (all.open == 0) {
        nap_us(limit_us);
    } else if (recently_busy(all.latest)) {
        /* Yield even where every rank has a core: the progress thread
         * waits here too, and with it polling on as well 8-byte
         * broadcasts through the shared-memory SST at np 2 took 1.4-4.5
         * us against 1.0-2.1.  A blocking wait that has a core to itself
         * polls without yielding before it comes here
         * (coll_rdmc_request.c). */
        sched_yield();
    } else {
        ep_sleep(all.latest, all.open > 1 && limit_us > slice_us ? slice_us : limit_us,
                 still_parked);
    }
}

void rdmc_ofi_wait(int timeout_ms)
{
    wait_any(timeout_ms, NULL);
}

void rdmc_ofi_wait_parked(int timeout_ms, bool (*still_parked)(void))
{
    wait_any(timeout_ms, still_parked);
}

void rdmc_ofi_wake_parked(void)
{
    rdmc_doorbell_t *db = __atomic_load_n(&deep_sleeper, __ATOMIC_SEQ_CST);

    if (db != NULL) {
        rdmc_doorbell_nudge(db);
    }
}
