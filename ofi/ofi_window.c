/*
 * A channel's window: the memory its SST exposes to one-sided writes, and
 * the writes into its peers' windows (through the endpoint's second
 * libfabric endpoint, so that small writes never queue behind a large
 * block).
 */
#include <string.h>

#include <rdma/fi_domain.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_rma.h>

#include "ofi_internal.h"
#include "rdmc_log.h"

static rdmc_ofi_channel_t *channel_of(rdmc_transport_t *tp)
{
    return (rdmc_ofi_channel_t *)tp;
}

int rdmc_ofi_window_expose(rdmc_transport_t *tp, void *base, size_t len, void *blob,
                           size_t *blob_len)
{
    rdmc_ofi_channel_t *ch = channel_of(tp);
    rdmc_ofi_ep_t *ep = ch->ep;
    ofi_window_peer_t where;
    int rc;

    if (ch->window_mr != NULL || *blob_len < sizeof(where)) {
        return -FI_EINVAL;
    }
    rc = rdmc_ofi_mr_open(ep, ep->sst_ep, base, len, FI_WRITE | FI_REMOTE_WRITE, &ch->window_mr);
    if (rc != 0) {
        return rc;
    }
    ch->window_base = base;
    ch->window_len = len;
    ep->windows++;
    where.addr = (ep->fab->info->domain_attr->mr_mode & FI_MR_VIRT_ADDR) ? (uintptr_t)base : 0;
    where.key = fi_mr_key(ch->window_mr);
    memcpy(blob, &where, sizeof(where));
    *blob_len = sizeof(where);
    return 0;
}

int rdmc_ofi_window_attach(rdmc_transport_t *tp, int peer, const void *blob, size_t blob_len)
{
    rdmc_ofi_channel_t *ch = channel_of(tp);

    if (peer < 0 || peer >= ch->nranks || blob_len != sizeof(ofi_window_peer_t)) {
        rdmc_log(1, "malformed window of rank %d (%zu bytes)", peer, blob_len);
        return -FI_EINVAL;
    }
    memcpy(&ch->window_peers[peer], blob, sizeof(ofi_window_peer_t));
    return 0;
}

int rdmc_ofi_window_write(rdmc_transport_t *tp, int peer, size_t offset, size_t len,
                          bool notify, rdmc_req_t *req)
{
    rdmc_ofi_channel_t *ch = channel_of(tp);
    rdmc_ofi_ep_t *ep = ch->ep;
    int refused;
    ofi_peer_t *p = rdmc_ofi_channel_target(ch, peer, &refused);
    const ofi_window_peer_t *to;
    const uint8_t *from = ch->window_base + offset;
    void *desc = ep->fab->mr_local ? fi_mr_desc(ch->window_mr) : NULL;
    ssize_t rc;

    if (offset + len > ch->window_len) {
        return -FI_EINVAL;
    }
    if (p == NULL) {
        return refused;
    }
    to = &ch->window_peers[peer];
    if (req != NULL) {
        rdmc_ofi_channel_track(ch, req, peer);
    }
    /* Remote CQ data is what makes the target's CQ report the write. */
    if (req == NULL && notify) {
        rc = fi_inject_writedata(ep->sst_ep, from, len, 0, p->rma, to->addr + offset, to->key);
    } else if (req == NULL) {
        rc = fi_inject_write(ep->sst_ep, from, len, p->rma, to->addr + offset, to->key);
    } else if (notify) {
        rc = fi_writedata(ep->sst_ep, from, len, desc, 0, p->rma, to->addr + offset, to->key,
                          req);
    } else {
        rc = fi_write(ep->sst_ep, from, len, desc, p->rma, to->addr + offset, to->key, req);
    }
    if (rc != 0 && req != NULL) {
        rdmc_ofi_channel_untrack(req);
    }
    if (rc == 0 && notify) {
        rdmc_doorbell_ring(&p->doorbell);
    } else if (rc == 0) {
        /* A napping peer places it at its next look; a parked one sleeps
         * long, and the provider may need it to place the write. */
        rdmc_doorbell_nudge(&p->doorbell);
    }
    return (int)rc;
}

void rdmc_ofi_window_close(rdmc_ofi_channel_t *ch)
{
    if (ch->window_mr != NULL) {
        fi_close(&ch->window_mr->fid);
        ch->window_mr = NULL;
        ch->ep->windows--;
    }
}
