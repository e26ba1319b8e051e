/*
 * One endpoint per communicator: RDM endpoint, completion queue and address
 * vector, and the transport ops the engine uses.
 *
 * Progress is hybrid.  The engine polls the CQ a little; when it finds
 * nothing it calls wait(), which yields the core for a millisecond after
 * the last completion and then sleeps on the CQ's file descriptor where the
 * provider offers one (tcp), and otherwise (shm, whose CQ has no real wait
 * object and whose fi_cq_sread spins) on the endpoint's doorbell, which the
 * peers ring when they give it work (ofi_doorbell.h).  Idle and
 * oversubscribed ranks thus leave the cores to the ranks copying data.
 *
 * Two libfabric endpoints share the CQ and AV: one for the broadcast
 * engine's messages, one for the SST's one-sided writes.  Keeping the SST's
 * small writes off the data endpoint matters on shm, where a write into a
 * peer's queue spins on the lock that peer holds while it copies a large
 * block: measured, 5 ms of every 64 MiB broadcast at 4 ranks on 2 cores.
 *
 * The address peers exchange is both endpoints' names followed by the
 * doorbell's name (empty without a doorbell).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rdma/fi_cm.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_rma.h>
#include <rdma/fi_tagged.h>

#include "ofi_doorbell.h"
#include "ofi_internal.h"
#include "ofi_mr_cache.h"
#include "rdmc_log.h"

_Static_assert(sizeof(((rdmc_req_t *)0)->transport_space) >= sizeof(struct fi_context2),
               "rdmc_req_t must hold a struct fi_context2");

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

uint64_t rdmc_ofi_released_generation;

struct rdmc_ofi_ep {
    rdmc_transport_t base;         /* first: what the engine holds */
    rdmc_ofi_fabric_t *fab;
    struct fid_ep *ep;             /* tagged messages (the engine) */
    struct fid_ep *sst_ep;         /* one-sided writes (the SST) */
    struct fid_cq *cq;
    struct fid_av *av;
    int wait_fd;                   /* -1: the CQ has no wait object */
    unsigned idle_waits;           /* naps since the last completion (no doorbell) */
    struct timespec last_work;     /* when progress last found something */
    fi_addr_t *peers;              /* by communicator rank */
    fi_addr_t *sst_peers;          /* their SST endpoints */
    int npeers;
    rdmc_doorbell_t doorbell;      /* ours; unused when the CQ has an fd */
    rdmc_doorbell_t *peer_doorbells;
    rdmc_mr_cache_t mr_cache;      /* used when the provider needs FI_MR_LOCAL */
    uint64_t seen_generation;

    struct fid_mr *window_mr;      /* our window (the SST), remotely writable */
    uint8_t *window_base;
    size_t window_len;
    struct rdmc_window_peer *window_peers;
    pthread_mutex_t *progress_lock; /* held by whoever runs completions */

    /* Failure-safe mode (rdmc_ofi_ep_set_failure_safe). */
    bool failure_safe;
    bool *peer_failed;             /* by rank: an operation with it failed */
    struct quiet_send *quiet;      /* contexts of sends standing in for injects */
};

/* A small message sent with a completion instead of injected, so that a
 * failure to deliver it is seen (and its peer no longer written to). */
#define QUIET_SENDS 256
#define QUIET_BYTES 64

typedef struct quiet_send {
    rdmc_req_t base;
    bool used;
    uint8_t data[QUIET_BYTES];
} quiet_send_t;

/* Where a peer's window is: the address to write to and its key. */
typedef struct rdmc_window_peer {
    uint64_t addr;     /* 0-based offset unless the provider uses FI_MR_VIRT_ADDR */
    uint64_t key;
} rdmc_window_peer_t;

/* Keys we choose ourselves (providers without FI_MR_PROV_KEY) must differ
 * across every registration of the domain, whatever endpoint made it. */
static uint64_t next_mr_key = 1;

static rdmc_ofi_ep_t *ep_of(rdmc_transport_t *tp)
{
    return (rdmc_ofi_ep_t *)tp;
}

static void *desc_for(rdmc_ofi_ep_t *ep, const void *buf, size_t len)
{
    return ep->fab->mr_local ? rdmc_mr_cache_desc(&ep->mr_cache, buf, len) : NULL;
}

/* Failure-safe mode: nothing more goes to a peer once an operation with it
 * failed.  (tcp;ofi_rxm may reconnect to a dead peer on the next post, and
 * crashes handling the refusal.) */
static bool peer_refused(const rdmc_ofi_ep_t *ep, int peer)
{
    return ep->failure_safe && peer >= 0 && peer < ep->npeers && ep->peer_failed[peer];
}

static void quiet_done(rdmc_req_t *base, int status, size_t len, uint64_t imm)
{
    (void)status;
    (void)len;
    (void)imm;
    ((quiet_send_t *)base)->used = false;
}

static int send_quietly(rdmc_ofi_ep_t *ep, int peer, const void *buf, size_t len, uint64_t tag)
{
    for (int i = 0; i < QUIET_SENDS; i++) {
        quiet_send_t *q = &ep->quiet[i];
        if (q->used) {
            continue;
        }
        if (len > 0) {
            memcpy(q->data, buf, len);
        }
        q->base.complete = quiet_done;
        q->base.transport_peer = peer;
        ssize_t rc = fi_tsend(ep->ep, q->data, len, NULL, ep->peers[peer], tag, &q->base);
        q->used = rc == 0;
        return (int)rc;
    }
    return -FI_EAGAIN;
}

static int ofi_send(rdmc_transport_t *tp, int peer, const void *buf, size_t len, uint64_t tag,
                    uint64_t imm, rdmc_req_t *req)
{
    rdmc_ofi_ep_t *ep = ep_of(tp);

    if (peer_refused(ep, peer)) {
        return -FI_ECONNRESET;
    }
    req->transport_peer = peer;
    ssize_t rc = fi_tsenddata(ep->ep, buf, len, desc_for(ep, buf, len), imm, ep->peers[peer],
                              tag, req);
    if (rc == 0) {
        rdmc_doorbell_ring(&ep->peer_doorbells[peer]);
    }
    return (int)rc;
}

static int ofi_inject(rdmc_transport_t *tp, int peer, const void *buf, size_t len, uint64_t tag)
{
    static const char empty;
    rdmc_ofi_ep_t *ep = ep_of(tp);
    ssize_t rc;

    if (peer_refused(ep, peer)) {
        return -FI_ECONNRESET;
    }
    if (ep->failure_safe && len <= QUIET_BYTES && !ep->fab->mr_local) {
        rc = send_quietly(ep, peer, buf, len, tag);
    } else {
        rc = fi_tinject(ep->ep, buf ? buf : &empty, len, ep->peers[peer], tag);
    }

    if (rc == 0) {
        rdmc_doorbell_ring(&ep->peer_doorbells[peer]);
    }
    return (int)rc;
}

/* The provider reports the receive with FI_ECANCELED; -FI_ENOENT means it
 * already completed. */
static int ofi_cancel(rdmc_transport_t *tp, rdmc_req_t *req)
{
    return (int)fi_cancel(&ep_of(tp)->ep->fid, req);
}

static int ofi_recv(rdmc_transport_t *tp, int peer, void *buf, size_t len, uint64_t tag,
                    uint64_t ignore, rdmc_req_t *req)
{
    rdmc_ofi_ep_t *ep = ep_of(tp);

    req->transport_peer = peer;
    return (int)fi_trecv(ep->ep, buf, len, desc_for(ep, buf, len), FI_ADDR_UNSPEC, tag, ignore,
                         req);
}

static void note_work(rdmc_ofi_ep_t *ep)
{
    ep->idle_waits = 0;
    clock_gettime(CLOCK_MONOTONIC, &ep->last_work);
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
    rdmc_log(1, "completion error on %s: %s (%s)", rdmc_ofi_fabric_provider(ep->fab),
             fi_strerror(err.err),
             fi_cq_strerror(ep->cq, err.prov_errno, err.err_data, detail, sizeof(detail)));
    if (err.op_context != NULL) {
        rdmc_req_t *req = err.op_context;
        int peer = req->transport_peer;
        if (ep->failure_safe && err.err != FI_ECANCELED && peer >= 0 && peer < ep->npeers &&
            !(err.flags & FI_RECV)) {
            ep->peer_failed[peer] = true;
        }
        req->complete(req, -(err.err ? err.err : FI_EIO), err.len, err.data);
    }
    return 1;
}

static int ofi_progress(rdmc_transport_t *tp)
{
    rdmc_ofi_ep_t *ep = ep_of(tp);
    struct fi_cq_tagged_entry entries[CQ_BATCH];
    ssize_t n = fi_cq_read(ep->cq, entries, CQ_BATCH);

    if (n == -FI_EAGAIN) {
        return 0;
    }
    if (n == -FI_EAVAIL) {
        note_work(ep);
        return report_cq_error(ep);
    }
    if (n < 0) {
        rdmc_log(1, "fi_cq_read failed: %s", fi_strerror((int)-n));
        return (int)n;
    }
    note_work(ep);
    for (ssize_t i = 0; i < n; i++) {
        rdmc_req_t *req = entries[i].op_context;
        if (entries[i].flags & FI_REMOTE_WRITE) {
            continue;   /* a peer's notifying write into our window: no context */
        }
        uint64_t imm = (entries[i].flags & FI_REMOTE_CQ_DATA) ? entries[i].data : 0;
        /* The sender's completion of what we just took is ready to reap. */
        if ((entries[i].flags & FI_RECV) && req->transport_peer >= 0) {
            rdmc_doorbell_ring(&ep->peer_doorbells[req->transport_peer]);
        }
        req->complete(req, 0, entries[i].len, imm);
    }
    return (int)n;
}

static long us_since(const struct timespec *then)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - then->tv_sec) * 1000000L + (now.tv_nsec - then->tv_nsec) / 1000;
}

static void nap_us(long us)
{
    struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

    nanosleep(&ts, NULL);
}

/* For the doorbell: anything to do after all?  Runs the completions, under
 * the caller's progress lock if there is one; if someone else holds it,
 * they are making progress, so don't sleep either. */
static bool work_arrived(void *arg)
{
    rdmc_ofi_ep_t *ep = arg;
    bool found;

    if (ep->progress_lock == NULL) {
        return ofi_progress(&ep->base) != 0;
    }
    if (pthread_mutex_trylock(ep->progress_lock) != 0) {
        return true;
    }
    found = ofi_progress(&ep->base) != 0;
    pthread_mutex_unlock(ep->progress_lock);
    return found;
}

static void ofi_wait(rdmc_transport_t *tp, int timeout_ms)
{
    rdmc_ofi_ep_t *ep = ep_of(tp);
    long limit_us = (long)timeout_ms * 1000;

    /* Hybrid polling, as RDMC's: work comes in bursts, so for SPIN_US after
     * the last of it only yield the core.  Sleeping on tcp's fd at once
     * left its sends waiting for the wake-up (8 emulated hosts at 1 Gbit/s,
     * 16 MiB: 152 ms, against 143 ms yielding first). */
    if (us_since(&ep->last_work) < SPIN_US) {
        sched_yield();
        return;
    }
    if (ep->wait_fd >= 0) {
        struct fid *fids[1] = { &ep->cq->fid };
        if (fi_trywait(ep->fab->fabric, fids, 1) == FI_SUCCESS) {
            struct pollfd pfd = { ep->wait_fd, POLLIN, 0 };
            (void)poll(&pfd, 1, timeout_ms);
        }
        return;
    }
    if (limit_us > SLEEP_MAX_US) {
        limit_us = SLEEP_MAX_US;
    }
    if (ep->doorbell.page != NULL) {
        rdmc_doorbell_sleep(&ep->doorbell, (int)limit_us, work_arrived, tp);
    } else {
        unsigned doublings = ep->idle_waits++;
        long us = doublings >= 10 ? limit_us : (long)NAP_MIN_US << doublings;
        nap_us(us < limit_us ? us : limit_us);
    }
}

/* ---- memory registration ------------------------------------------------ */

static int mr_open(rdmc_ofi_ep_t *ep, struct fid_ep *bind_to, const void *addr, size_t len,
                   uint64_t access, struct fid_mr **mr_p)
{
    uint64_t key = __atomic_fetch_add(&next_mr_key, 1, __ATOMIC_RELAXED);
    struct fid_mr *mr;
    int rc;

    rc = fi_mr_reg(ep->fab->domain, addr, len, access, 0, key, 0, &mr, NULL);
    if (rc != 0) {
        rdmc_log(1, "fi_mr_reg of %zu bytes failed: %s", len, fi_strerror(-rc));
        return rc;
    }
    if (ep->fab->info->domain_attr->mr_mode & FI_MR_ENDPOINT) {
        rc = fi_mr_bind(mr, &bind_to->fid, 0);
        if (rc == 0) {
            rc = fi_mr_enable(mr);
        }
        if (rc != 0) {
            rdmc_log(1, "binding a registration to the endpoint failed: %s", fi_strerror(-rc));
            fi_close(&mr->fid);
            return rc;
        }
    }
    *mr_p = mr;
    return 0;
}

static int mr_register(void *ctx, const void *addr, size_t len, void **handle_p, void **desc_p)
{
    rdmc_ofi_ep_t *ep = ctx;
    struct fid_mr *mr;
    int rc;

    rc = mr_open(ep, ep->ep, addr, len, FI_SEND | FI_RECV, &mr);
    if (rc != 0) {
        return rc;
    }
    *handle_p = mr;
    *desc_p = fi_mr_desc(mr);
    return 0;
}

static void mr_deregister(void *ctx, void *handle)
{
    (void)ctx;
    fi_close(&((struct fid_mr *)handle)->fid);
}

static int ofi_mem_acquire(rdmc_transport_t *tp, const void *buf, size_t len, void **handle_p)
{
    rdmc_ofi_ep_t *ep = ep_of(tp);
    rdmc_mr_entry_t *entry;
    uint64_t generation;
    int rc;

    *handle_p = NULL;
    if (!ep->fab->mr_local || len == 0) {
        return 0;
    }
    generation = __atomic_load_n(&rdmc_ofi_released_generation, __ATOMIC_ACQUIRE);
    if (generation != ep->seen_generation) {
        rdmc_mr_cache_forget(&ep->mr_cache);
        ep->seen_generation = generation;
    }
    rc = rdmc_mr_cache_acquire(&ep->mr_cache, buf, len, &entry);
    if (rc == 0) {
        *handle_p = entry;
    }
    return rc;
}

static void ofi_mem_release(rdmc_transport_t *tp, void *handle)
{
    if (handle != NULL) {
        rdmc_mr_cache_release(&ep_of(tp)->mr_cache, handle);
    }
}

void rdmc_ofi_memory_released(const void *addr, size_t len)
{
    (void)addr;
    (void)len;
    __atomic_add_fetch(&rdmc_ofi_released_generation, 1, __ATOMIC_RELEASE);
}

/* ---- the window: one-sided writes -------------------------------------- */

static int ofi_window_expose(rdmc_transport_t *tp, void *base, size_t len, void *blob,
                             size_t *blob_len)
{
    rdmc_ofi_ep_t *ep = ep_of(tp);
    rdmc_window_peer_t where;
    int rc;

    if (ep->window_mr != NULL || *blob_len < sizeof(where)) {
        return -FI_EINVAL;
    }
    rc = mr_open(ep, ep->sst_ep, base, len, FI_WRITE | FI_REMOTE_WRITE, &ep->window_mr);
    if (rc != 0) {
        return rc;
    }
    ep->window_base = base;
    ep->window_len = len;
    where.addr = (ep->fab->info->domain_attr->mr_mode & FI_MR_VIRT_ADDR) ? (uintptr_t)base : 0;
    where.key = fi_mr_key(ep->window_mr);
    memcpy(blob, &where, sizeof(where));
    *blob_len = sizeof(where);
    return 0;
}

static int ofi_window_attach(rdmc_transport_t *tp, int peer, const void *blob, size_t blob_len)
{
    rdmc_ofi_ep_t *ep = ep_of(tp);

    if (peer < 0 || peer >= ep->npeers || blob_len != sizeof(rdmc_window_peer_t)) {
        rdmc_log(1, "malformed window of rank %d (%zu bytes)", peer, blob_len);
        return -FI_EINVAL;
    }
    memcpy(&ep->window_peers[peer], blob, sizeof(rdmc_window_peer_t));
    return 0;
}

static int ofi_write(rdmc_transport_t *tp, int peer, size_t offset, size_t len, bool notify,
                     rdmc_req_t *req)
{
    rdmc_ofi_ep_t *ep = ep_of(tp);
    const rdmc_window_peer_t *to = &ep->window_peers[peer];
    const uint8_t *from = ep->window_base + offset;
    void *desc = ep->fab->mr_local ? fi_mr_desc(ep->window_mr) : NULL;
    ssize_t rc;

    if (offset + len > ep->window_len) {
        return -FI_EINVAL;
    }
    if (peer_refused(ep, peer)) {
        return -FI_ECONNRESET;
    }
    if (req != NULL) {
        req->transport_peer = peer;
    }
    /* Remote CQ data is what makes the target's CQ report the write. */
    if (req == NULL && notify) {
        rc = fi_inject_writedata(ep->sst_ep, from, len, 0, ep->sst_peers[peer], to->addr + offset,
                                 to->key);
    } else if (req == NULL) {
        rc = fi_inject_write(ep->sst_ep, from, len, ep->sst_peers[peer], to->addr + offset, to->key);
    } else if (notify) {
        rc = fi_writedata(ep->sst_ep, from, len, desc, 0, ep->sst_peers[peer], to->addr + offset,
                          to->key, req);
    } else {
        rc = fi_write(ep->sst_ep, from, len, desc, ep->sst_peers[peer], to->addr + offset, to->key, req);
    }
    if (rc == 0 && notify) {
        rdmc_doorbell_ring(&ep->peer_doorbells[peer]);
    }
    return (int)rc;
}

static const rdmc_transport_ops_t ofi_ops = {
    .send = ofi_send,
    .inject = ofi_inject,
    .recv = ofi_recv,
    .cancel = ofi_cancel,
    .progress = ofi_progress,
    .wait = ofi_wait,
    .mem_acquire = ofi_mem_acquire,
    .mem_release = ofi_mem_release,
    .window_expose = ofi_window_expose,
    .window_attach = ofi_window_attach,
    .write = ofi_write,
};

/* ---- life cycle --------------------------------------------------------- */

static int open_cq(rdmc_ofi_ep_t *ep)
{
    struct fi_cq_attr attr;
    int rc;

    memset(&attr, 0, sizeof(attr));
    attr.format = FI_CQ_FORMAT_TAGGED;
    attr.wait_obj = FI_WAIT_FD;
    rc = fi_cq_open(ep->fab->domain, &attr, &ep->cq, NULL);
    if (rc == 0 && fi_control(&ep->cq->fid, FI_GETWAIT, &ep->wait_fd) == 0) {
        return 0;
    }
    if (rc == 0) {
        fi_close(&ep->cq->fid);
    }
    /* No file descriptor to sleep on: poll and back off instead. */
    ep->wait_fd = -1;
    attr.wait_obj = FI_WAIT_NONE;
    return fi_cq_open(ep->fab->domain, &attr, &ep->cq, NULL);
}

/* An endpoint on our CQ and AV, enabled. */
static int open_fi_endpoint(rdmc_ofi_ep_t *ep, struct fid_ep **fid_p)
{
    int rc = fi_endpoint(ep->fab->domain, ep->fab->info, fid_p, NULL);

    if (rc != 0) {
        rdmc_log(1, "fi_endpoint failed: %s", fi_strerror(-rc));
        return rc;
    }
    rc = fi_ep_bind(*fid_p, &ep->cq->fid, FI_TRANSMIT | FI_RECV);
    if (rc == 0) {
        rc = fi_ep_bind(*fid_p, &ep->av->fid, 0);
    }
    if (rc == 0) {
        rc = fi_enable(*fid_p);
    }
    if (rc != 0) {
        rdmc_log(1, "enabling the endpoint failed: %s", fi_strerror(-rc));
        fi_close(&(*fid_p)->fid);
    }
    return rc;
}

int rdmc_ofi_ep_set_failure_safe(rdmc_ofi_ep_t *ep)
{
    ep->peer_failed = calloc((size_t)ep->npeers, sizeof(*ep->peer_failed));
    ep->quiet = calloc(QUIET_SENDS, sizeof(*ep->quiet));
    if (ep->peer_failed == NULL || ep->quiet == NULL) {
        return -FI_ENOMEM;
    }
    ep->failure_safe = true;
    return 0;
}

int rdmc_ofi_ep_open(rdmc_ofi_fabric_t *fab, int nranks, rdmc_ofi_ep_t **ep_p)
{
    rdmc_ofi_ep_t *ep = calloc(1, sizeof(*ep));
    struct fi_av_attr av_attr;
    int rc;

    if (ep == NULL) {
        return -FI_ENOMEM;
    }
    ep->base.ops = &ofi_ops;
    ep->base.inject_limit = fab->info->tx_attr->inject_size;
    if (fab->info->tx_attr->msg_order & FI_ORDER_WAW) {
        ep->base.ordered_write_bytes = fab->info->ep_attr->max_order_waw_size;
    }
    ep->fab = fab;
    ep->npeers = nranks;
    note_work(ep);
    ep->peers = calloc((size_t)nranks, sizeof(*ep->peers));
    ep->peer_doorbells = calloc((size_t)nranks, sizeof(*ep->peer_doorbells));
    ep->window_peers = calloc((size_t)nranks, sizeof(*ep->window_peers));
    ep->sst_peers = calloc((size_t)nranks, sizeof(*ep->sst_peers));
    if (ep->peers == NULL || ep->peer_doorbells == NULL || ep->window_peers == NULL ||
        ep->sst_peers == NULL) {
        rc = -FI_ENOMEM;
        goto err_free_peers;
    }
    rdmc_mr_cache_init(&ep->mr_cache, mr_register, mr_deregister, ep);

    rc = open_cq(ep);
    if (rc != 0) {
        rdmc_log(1, "fi_cq_open failed: %s", fi_strerror(-rc));
        goto err_free_peers;
    }
    if (ep->wait_fd < 0) {
        rc = rdmc_doorbell_create(&ep->doorbell);
        if (rc != 0) {
            /* Still correct, only slower to wake: naps instead. */
            rdmc_log(1, "no doorbell (%s): idle waits will nap", strerror(-rc));
        }
    }
    memset(&av_attr, 0, sizeof(av_attr));
    av_attr.type = FI_AV_TABLE;
    av_attr.count = 2 * (size_t)nranks;
    rc = fi_av_open(fab->domain, &av_attr, &ep->av, NULL);
    if (rc != 0) {
        rdmc_log(1, "fi_av_open failed: %s", fi_strerror(-rc));
        goto err_close_cq;
    }
    rc = open_fi_endpoint(ep, &ep->ep);
    if (rc != 0) {
        goto err_close_av;
    }
    rc = open_fi_endpoint(ep, &ep->sst_ep);
    if (rc != 0) {
        goto err_close_endpoint;
    }
    *ep_p = ep;
    return 0;

err_close_endpoint:
    fi_close(&ep->ep->fid);
err_close_av:
    fi_close(&ep->av->fid);
err_close_cq:
    rdmc_doorbell_close(&ep->doorbell);
    fi_close(&ep->cq->fid);
err_free_peers:
    free(ep->sst_peers);
    free(ep->peer_failed);
    free(ep->quiet);
    free(ep->window_peers);
    free(ep->peer_doorbells);
    free(ep->peers);
    free(ep);
    return rc;
}

/* Address blob: per endpoint [uint32 name length][provider's name], the
 * engine's then the SST's; then [doorbell name, NUL]. */
static int put_name(struct fid_ep *fid, uint8_t **out, size_t *room)
{
    size_t name_len = *room > sizeof(uint32_t) ? *room - sizeof(uint32_t) : 0;
    uint32_t len32;
    int rc = fi_getname(&fid->fid, *out + sizeof(uint32_t), &name_len);

    if (rc != 0) {
        return rc;
    }
    if (sizeof(uint32_t) + name_len > *room) {
        return -FI_ETOOSMALL;
    }
    len32 = (uint32_t)name_len;
    memcpy(*out, &len32, sizeof(len32));
    *out += sizeof(uint32_t) + name_len;
    *room -= sizeof(uint32_t) + name_len;
    return 0;
}

int rdmc_ofi_ep_address(rdmc_ofi_ep_t *ep, void *buf, size_t *len_p)
{
    uint8_t *out = buf;
    size_t room = *len_p;
    size_t bell_len = strlen(ep->doorbell.name) + 1;
    int rc;

    rc = put_name(ep->ep, &out, &room);
    if (rc == 0) {
        rc = put_name(ep->sst_ep, &out, &room);
    }
    if (rc != 0) {
        return rc;
    }
    if (bell_len > room) {
        return -FI_ETOOSMALL;
    }
    memcpy(out, ep->doorbell.name, bell_len);
    *len_p = (size_t)(out - (uint8_t *)buf) + bell_len;
    return 0;
}

/* Insert the next name of an address blob; false when it is malformed. */
static bool take_name(rdmc_ofi_ep_t *ep, const uint8_t **in, size_t *left, fi_addr_t *addr_p)
{
    uint32_t name_len;

    if (*left < sizeof(uint32_t)) {
        return false;
    }
    memcpy(&name_len, *in, sizeof(name_len));
    if (sizeof(uint32_t) + (size_t)name_len >= *left ||
        fi_av_insert(ep->av, *in + sizeof(uint32_t), 1, addr_p, 0, NULL) != 1) {
        return false;
    }
    *in += sizeof(uint32_t) + name_len;
    *left -= sizeof(uint32_t) + name_len;
    return true;
}

int rdmc_ofi_ep_set_peer(rdmc_ofi_ep_t *ep, int rank, const void *addr, size_t len)
{
    const uint8_t *in = addr;
    size_t left = len;
    int rc;

    if (rank < 0 || rank >= ep->npeers || len == 0 || in[len - 1] != '\0' ||
        !take_name(ep, &in, &left, &ep->peers[rank]) ||
        !take_name(ep, &in, &left, &ep->sst_peers[rank])) {
        rdmc_log(1, "malformed or unusable address of rank %d (%zu bytes)", rank, len);
        return -FI_EINVAL;
    }
    const char *bell = (const char *)in;
    if (bell[0] != '\0' && ep->doorbell.page != NULL) {
        rc = rdmc_doorbell_open(&ep->peer_doorbells[rank], bell);
        if (rc != 0) {
            rdmc_log(1, "cannot map the doorbell of rank %d (%s)", rank, strerror(-rc));
            return rc;
        }
    }
    return 0;
}

void rdmc_ofi_ep_connected(rdmc_ofi_ep_t *ep)
{
    rdmc_doorbell_unlink(&ep->doorbell);
}

rdmc_transport_t *rdmc_ofi_ep_transport(rdmc_ofi_ep_t *ep)
{
    return &ep->base;
}

void rdmc_ofi_ep_close(rdmc_ofi_ep_t *ep)
{
    if (ep == NULL) {
        return;
    }
    fi_close(&ep->sst_ep->fid);
    fi_close(&ep->ep->fid);
    if (ep->window_mr != NULL) {
        fi_close(&ep->window_mr->fid);
    }
    rdmc_mr_cache_flush(&ep->mr_cache);
    fi_close(&ep->av->fid);
    fi_close(&ep->cq->fid);
    for (int r = 0; r < ep->npeers; r++) {
        rdmc_doorbell_close(&ep->peer_doorbells[r]);
    }
    rdmc_doorbell_close(&ep->doorbell);
    free(ep->sst_peers);
    free(ep->peer_failed);
    free(ep->quiet);
    free(ep->window_peers);
    free(ep->peer_doorbells);
    free(ep->peers);
    free(ep);
}

void rdmc_ofi_ep_set_progress_lock(rdmc_ofi_ep_t *ep, pthread_mutex_t *lock)
{
    ep->progress_lock = lock;
}
