/*
 * A communicator's channel on the process endpoint: the transport the
 * engine and the SST of one communicator use (rdmc_transport.h).
 *
 * Peers are named by communicator rank and mapped to the endpoint's peer
 * processes.  Every channel has an id of its own, unique among the open
 * channels of the endpoint, and tells its peers at set-up; what a peer
 * sends us carries our id in the tag bits the transport owns
 * (RDMC_TAG_CHANNEL_SHIFT), so communicators never see each other's
 * messages, and a channel id is not handed out again while the channel is
 * open.
 *
 * The channel keeps the operations it has posted in a list until they
 * complete: rdmc_ofi_channel_quiesce cancels the receives and reports when
 * nothing is left, so its owner frees no memory a posted operation points
 * into.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rdma/fi_endpoint.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_tagged.h>

#include "ofi_internal.h"
#include "rdmc_log.h"

_Static_assert(sizeof(((rdmc_req_t *)0)->transport_space) >= sizeof(struct fi_context2),
               "rdmc_req_t must hold a struct fi_context2");

#define CHANNEL_IDS ((uint32_t)1 << RDMC_TAG_CHANNEL_BITS)

/* Ids of the open channels, over every endpoint (one bit each). */
static uint8_t *ids_in_use;

static rdmc_ofi_channel_t *channel_of(rdmc_transport_t *tp)
{
    return (rdmc_ofi_channel_t *)tp;
}

static uint64_t with_channel(uint64_t tag, uint32_t channel)
{
    return tag | ((uint64_t)channel << RDMC_TAG_CHANNEL_SHIFT);
}

ofi_peer_t *rdmc_ofi_channel_peer(const rdmc_ofi_channel_t *ch, int rank)
{
    if (rank < 0 || rank >= ch->nranks || !ch->peer_set[rank]) {
        return NULL;
    }
    return ch->ep->peers[ch->peer_id[rank]];
}

/* Failure-safe mode: nothing more goes to a peer once an operation with it
 * failed.  (tcp;ofi_rxm may reconnect to a dead peer on the next post, and
 * crashes handling the refusal.) */
ofi_peer_t *rdmc_ofi_channel_target(const rdmc_ofi_channel_t *ch, int peer, int *rc_p)
{
    ofi_peer_t *p = rdmc_ofi_channel_peer(ch, peer);

    if (p == NULL) {
        *rc_p = -FI_EINVAL;
    } else if (ch->ep->failure_safe && p->failed) {
        *rc_p = -FI_ECONNRESET;
        p = NULL;
    }
    return p;
}

void rdmc_ofi_channel_track(rdmc_ofi_channel_t *ch, rdmc_req_t *req, int peer)
{
    req->transport_peer = peer;
    req->transport_owner = ch;
    req->transport_prev = NULL;
    req->transport_next = ch->posted;
    if (ch->posted != NULL) {
        ch->posted->transport_prev = req;
    }
    ch->posted = req;
    ch->nposted++;
    ch->ep->in_flight++;
}

void rdmc_ofi_channel_untrack(rdmc_req_t *req)
{
    rdmc_ofi_channel_t *ch = req->transport_owner;

    if (ch == NULL) {
        return;   /* the endpoint's own (a quiet send) */
    }
    if (req->transport_prev != NULL) {
        req->transport_prev->transport_next = req->transport_next;
    } else {
        ch->posted = req->transport_next;
    }
    if (req->transport_next != NULL) {
        req->transport_next->transport_prev = req->transport_prev;
    }
    req->transport_owner = NULL;
    ch->nposted--;
    ch->ep->in_flight--;
}

/* ---- messages ------------------------------------------------------------- */

static void quiet_done(rdmc_req_t *base, int status, size_t len, uint64_t imm)
{
    ofi_quiet_send_t *q = (ofi_quiet_send_t *)base;

    (void)status;
    (void)len;
    (void)imm;
    q->used = false;
    q->ep->in_flight--;
}

static int send_quietly(rdmc_ofi_ep_t *ep, const ofi_peer_t *p, const void *buf, size_t len,
                        uint64_t tag)
{
    for (int i = 0; i < OFI_QUIET_SENDS; i++) {
        ofi_quiet_send_t *q = &ep->quiet[i];
        if (q->used) {
            continue;
        }
        if (len > 0) {
            memcpy(q->data, buf, len);
        }
        q->base.complete = quiet_done;
        q->base.transport_owner = NULL;
        q->base.transport_peer = -1;
        ssize_t rc = fi_tsend(ep->ep, q->data, len, NULL, p->msg, tag, &q->base);
        q->used = rc == 0;
        q->ep = ep;
        ep->in_flight += rc == 0 ? 1 : 0;
        return (int)rc;
    }
    return -FI_EAGAIN;
}

static int channel_send(rdmc_transport_t *tp, int peer, const void *buf, size_t len,
                        uint64_t tag, uint64_t imm, rdmc_req_t *req)
{
    rdmc_ofi_channel_t *ch = channel_of(tp);
    int refused;
    ofi_peer_t *p = rdmc_ofi_channel_target(ch, peer, &refused);
    ssize_t rc;

    if (p == NULL) {
        return refused;
    }
    tag = with_channel(tag, ch->peer_channel[peer]);
    if (rdmc_ofi_in_pieces(ch->ep, len)) {
        return rdmc_ofi_pieces_post(ch, true, peer, p->msg, (void *)buf, len,
                                    rdmc_ofi_mem_desc(ch->ep, buf, len), tag, 0, imm, req);
    }
    rdmc_ofi_channel_track(ch, req, peer);
    rc = fi_tsenddata(ch->ep->ep, buf, len, rdmc_ofi_mem_desc(ch->ep, buf, len), imm, p->msg,
                      tag, req);
    if (rc != 0) {
        rdmc_ofi_channel_untrack(req);
        return (int)rc;
    }
    rdmc_doorbell_ring(&p->doorbell);
    return 0;
}

static int channel_inject(rdmc_transport_t *tp, int peer, const void *buf, size_t len,
                          uint64_t tag)
{
    static const char empty;
    rdmc_ofi_channel_t *ch = channel_of(tp);
    rdmc_ofi_ep_t *ep = ch->ep;
    int refused;
    ofi_peer_t *p = rdmc_ofi_channel_target(ch, peer, &refused);
    ssize_t rc;

    if (p == NULL) {
        return refused;
    }
    tag = with_channel(tag, ch->peer_channel[peer]);
    if (ep->failure_safe && len <= OFI_QUIET_BYTES && !ep->fab->mr_local) {
        rc = send_quietly(ep, p, buf, len, tag);
    } else {
        rc = fi_tinject(ep->ep, buf ? buf : &empty, len, p->msg, tag);
    }
    if (rc == 0) {
        rdmc_doorbell_ring(&p->doorbell);
    }
    return (int)rc;
}

static int channel_recv(rdmc_transport_t *tp, int peer, void *buf, size_t len, uint64_t tag,
                        uint64_t ignore, rdmc_req_t *req)
{
    rdmc_ofi_channel_t *ch = channel_of(tp);
    ssize_t rc;

    if (rdmc_ofi_in_pieces(ch->ep, len)) {
        return rdmc_ofi_pieces_post(ch, false, peer, FI_ADDR_UNSPEC, buf, len,
                                    rdmc_ofi_mem_desc(ch->ep, buf, len),
                                    with_channel(tag, ch->id), ignore, 0, req);
    }
    rdmc_ofi_channel_track(ch, req, peer);
    rc = fi_trecv(ch->ep->ep, buf, len, rdmc_ofi_mem_desc(ch->ep, buf, len), FI_ADDR_UNSPEC,
                  with_channel(tag, ch->id), ignore, req);
    if (rc != 0) {
        rdmc_ofi_channel_untrack(req);
    }
    return (int)rc;
}

/* The provider reports the receive with FI_ECANCELED; -FI_ENOENT means it
 * already completed. */
static int channel_cancel(rdmc_transport_t *tp, rdmc_req_t *req)
{
    if (rdmc_ofi_pieces_of(req)) {
        return rdmc_ofi_pieces_cancel(req);
    }
    return (int)fi_cancel(&channel_of(tp)->ep->ep->fid, req);
}

static int channel_progress(rdmc_transport_t *tp)
{
    return rdmc_ofi_ep_progress(channel_of(tp)->ep);
}

static void channel_wait(rdmc_transport_t *tp, int timeout_ms)
{
    rdmc_ofi_ep_wait(channel_of(tp)->ep, timeout_ms);
}

static int channel_mem_acquire(rdmc_transport_t *tp, const void *buf, size_t len, void **handle_p)
{
    rdmc_ofi_ep_t *ep = channel_of(tp)->ep;
    uint64_t overflows = ep->mr_cache.overflows;
    int rc = rdmc_ofi_mem_acquire(ep, buf, len, handle_p);

    if (rc == 0 && ep->mr_cache.overflows != overflows) {
        rdmc_log(overflows == 0 ? 1 : 10,
                 "registration cache: all %d entries are held by broadcasts in flight; "
                 "registering %zu bytes for this broadcast alone (%llu so far)",
                 RDMC_MR_CACHE_ENTRIES, len, (unsigned long long)ep->mr_cache.overflows);
    }
    return rc;
}

static void channel_mem_release(rdmc_transport_t *tp, void *handle)
{
    rdmc_ofi_mem_release(channel_of(tp)->ep, handle);
}

static const rdmc_transport_ops_t channel_ops = {
    .send = channel_send,
    .inject = channel_inject,
    .recv = channel_recv,
    .cancel = channel_cancel,
    .progress = channel_progress,
    .wait = channel_wait,
    .mem_acquire = channel_mem_acquire,
    .mem_release = channel_mem_release,
    .window_expose = rdmc_ofi_window_expose,
    .window_attach = rdmc_ofi_window_attach,
    .write = rdmc_ofi_window_write,
};

/* ---- life cycle ----------------------------------------------------------- */

static bool id_used(uint32_t id)
{
    return (ids_in_use[id / 8] >> (id % 8)) & 1;
}

static void id_mark(uint32_t id, bool used)
{
    if (used) {
        ids_in_use[id / 8] |= (uint8_t)(1u << (id % 8));
    } else {
        ids_in_use[id / 8] &= (uint8_t)~(1u << (id % 8));
    }
}

/* The next id after the last one handed out that no open channel holds
 * (0 is never used): a freed id comes back only after all others did. */
static int id_take(rdmc_ofi_ep_t *ep, uint32_t *id_p)
{
    if (ids_in_use == NULL) {
        ids_in_use = calloc(CHANNEL_IDS / 8, 1);
        if (ids_in_use == NULL) {
            return -FI_ENOMEM;
        }
    }
    for (uint32_t tries = 0; tries < CHANNEL_IDS; tries++) {
        uint32_t id = ep->next_channel = (ep->next_channel + 1) % CHANNEL_IDS;
        if (id != 0 && !id_used(id)) {
            id_mark(id, true);
            *id_p = id;
            return 0;
        }
    }
    rdmc_log(1, "all %u channel ids are in use", CHANNEL_IDS - 1);
    return -FI_ENOSPC;
}

int rdmc_ofi_channel_open(rdmc_ofi_ep_t *ep, int nranks, rdmc_ofi_channel_t **ch_p)
{
    rdmc_ofi_channel_t *ch = calloc(1, sizeof(*ch));
    int rc;

    if (ch == NULL) {
        return -FI_ENOMEM;
    }
    ch->base.ops = &channel_ops;
    ch->base.inject_limit = ep->inject_limit;
    ch->base.ordered_write_bytes = ep->ordered_write_bytes;
    ch->ep = ep;
    ch->nranks = nranks;
    ch->peer_id = calloc((size_t)nranks, sizeof(*ch->peer_id));
    ch->peer_channel = calloc((size_t)nranks, sizeof(*ch->peer_channel));
    ch->peer_set = calloc((size_t)nranks, sizeof(*ch->peer_set));
    ch->window_peers = calloc((size_t)nranks, sizeof(*ch->window_peers));
    if (ch->peer_id == NULL || ch->peer_channel == NULL || ch->peer_set == NULL ||
        ch->window_peers == NULL) {
        rc = -FI_ENOMEM;
        goto err_free_channel;
    }
    rc = id_take(ep, &ch->id);
    if (rc != 0) {
        goto err_free_channel;
    }
    *ch_p = ch;
    return 0;

err_free_channel:
    free(ch->window_peers);
    free(ch->peer_set);
    free(ch->peer_channel);
    free(ch->peer_id);
    free(ch);
    return rc;
}

uint32_t rdmc_ofi_channel_id(const rdmc_ofi_channel_t *ch)
{
    return ch->id;
}

rdmc_transport_t *rdmc_ofi_channel_transport(rdmc_ofi_channel_t *ch)
{
    return &ch->base;
}

int rdmc_ofi_channel_set_peer(rdmc_ofi_channel_t *ch, int rank, const void *addr, size_t len,
                              uint32_t peer_channel)
{
    int rc;

    if (rank < 0 || rank >= ch->nranks || peer_channel == 0 || peer_channel >= CHANNEL_IDS) {
        rdmc_log(1, "rank %d: channel %u refused", rank, peer_channel);
        return -FI_EINVAL;
    }
    rc = rdmc_ofi_ep_peer(ch->ep, addr, len, &ch->peer_id[rank]);
    if (rc != 0) {
        return rc;
    }
    ch->peer_channel[rank] = peer_channel;
    ch->peer_set[rank] = true;
    return 0;
}

bool rdmc_ofi_channel_quiesce(rdmc_ofi_channel_t *ch)
{
    bool pieces_waiting = rdmc_ofi_pieces_stop(ch, false);

    if (ch->ep->ep == NULL) {
        return ch->nposted == 0;   /* endpoint shut: nothing will complete */
    }
    for (rdmc_req_t *req = ch->posted; req != NULL; req = req->transport_next) {
        (void)fi_cancel(&ch->ep->ep->fid, req);   /* sends: not cancellable, they finish */
    }
    return ch->nposted == 0 && !pieces_waiting;
}

size_t rdmc_ofi_channel_in_flight(const rdmc_ofi_channel_t *ch)
{
    return ch->nposted;
}

void rdmc_ofi_channel_close(rdmc_ofi_channel_t *ch)
{
    if (ch == NULL) {
        return;
    }
    /* Whatever is still posted no longer reports to us; its memory is the
     * caller's to keep until the endpoint closes (rdmc_ofi_finalize). */
    (void)rdmc_ofi_pieces_stop(ch, true);
    for (rdmc_req_t *req = ch->posted; req != NULL; req = req->transport_next) {
        req->transport_owner = NULL;
    }
    rdmc_ofi_window_close(ch);
    id_mark(ch->id, false);
    free(ch->window_peers);
    free(ch->peer_set);
    free(ch->peer_channel);
    free(ch->peer_id);
    free(ch);
}
