/*
 * Large messages in pieces, on endpoints where one large message costs
 * more than several small ones (tcp;ofi_rxm).
 *
 * rxm over tcp sends a message within its eager limit
 * (FI_OFI_RXM_EAGER_LIMIT, 16 KiB by default) from the caller's buffer to
 * the socket (direct send) and from the socket into the posted buffer
 * (dynamic receive buffers); a larger one by rendezvous (its log at
 * FI_LOG_LEVEL=info says "Protocol limits: Eager: 16384, SAR: 16384": no
 * segmentation over tcp), which costs a round trip and a read of the
 * sender's buffer.  That is cheap for large messages (one node under
 * failure handling, 8 MiB blocks over tcp: 16 MiB took 13.3 ms whole, 20 ms
 * in pieces) and dear for blocks of tens of KiB: on 4 emulated hosts x 2
 * ranks at 1 Gbit/s, 16 MiB in 64 KiB blocks took 147 ms whole and 143 ms
 * in pieces.  So a message above the eager limit and up to PIECES_UP_TO
 * goes as pieces of the eager limit, all with the message's tag and
 * immediate data, and the receiver posts the same pieces: both ends cut
 * the same length the same way (the engine's block lengths are known at
 * both, and every process of a job reads the same environment), and
 * libfabric matches same-tag messages from one sender in order
 * (FI_ORDER_SAS, required).  The caller's request completes once every
 * piece has.
 *
 * rdmc presets the eager limit to 64 KiB (ofi_fabric.c), so its usual
 * blocks between nodes (at most 60 KiB) go whole; pieces are for larger
 * blocks up to PIECES_UP_TO and for a smaller limit the user set.
 *
 * The pieces, not the caller's request, are what the channel tracks (so
 * quiescing cancels them).  A piece the provider refuses for now
 * (-FI_EAGAIN) after the first was posted is deferred to the next progress
 * pass.  The endpoint keeps every message in pieces until it completes,
 * and frees what is left when it closes.
 */
#include <stdlib.h>
#include <string.h>

#include <rdma/fi_errno.h>
#include <rdma/fi_tagged.h>

#include "ofi_internal.h"

#define RXM_EAGER_LIMIT_DEFAULT ((size_t)16384)   /* rxm's, when nobody set one */
#define PIECES_UP_TO ((size_t)131072)
/* Pieces of one message posted at once, so that small pieces do not
 * lengthen the provider's queues. */
#define PIECES_IN_FLIGHT 8

/* transport_peer of a request sent or received in pieces. */
#define SPLIT_PEER (-2)

typedef struct ofi_piece {
    rdmc_req_t base;               /* first: the provider's context */
    struct ofi_split *split;
} ofi_piece_t;

struct ofi_split {
    rdmc_req_t *req;               /* the caller's */
    rdmc_ofi_ep_t *ep;
    rdmc_ofi_channel_t *ch;        /* posts the pieces (never once stopped) */
    int peer;
    bool is_send;
    uint8_t *buf;
    size_t len;
    void *desc;
    fi_addr_t addr;
    uint64_t tag, ignore, imm;
    unsigned count, posted, finished;
    bool stopped;                  /* post no more pieces (error, cancel, close) */
    bool deferred;                 /* for the next progress pass */
    int status;
    size_t received;
    uint64_t received_imm;
    struct ofi_split *prev, *next; /* the endpoint's list */
    ofi_piece_t piece[];
};

/* rxm's eager limit, as rxm reads it from the environment. */
size_t rdmc_ofi_piece_bytes(void)
{
    const char *env = getenv("FI_OFI_RXM_EAGER_LIMIT");
    char *end = NULL;
    unsigned long long v = env != NULL ? strtoull(env, &end, 0) : 0;

    return env != NULL && *end == '\0' && v > 0 ? (size_t)v : RXM_EAGER_LIMIT_DEFAULT;
}

size_t rdmc_ofi_pieces_up_to(const struct fi_info *info)
{
    bool rxm_on_tcp = strcmp(info->fabric_attr->prov_name, "tcp;ofi_rxm") == 0;
    bool in_order = (info->tx_attr->msg_order & FI_ORDER_SAS) != 0;

    return rxm_on_tcp && in_order ? PIECES_UP_TO : 0;
}

bool rdmc_ofi_in_pieces(const rdmc_ofi_ep_t *ep, size_t len)
{
    return len > ep->piece_bytes && len <= ep->pieces_up_to;
}

static ofi_split_t *split_of(const rdmc_req_t *req)
{
    return req->transport_peer == SPLIT_PEER ? req->transport_space[0] : NULL;
}

static void set_deferred(ofi_split_t *s, bool deferred)
{
    if (s->deferred == deferred) {
        return;
    }
    s->deferred = deferred;
    if (deferred) {
        s->ep->ndeferred++;
    } else {
        s->ep->ndeferred--;
    }
}

static void unlist(ofi_split_t *s)
{
    set_deferred(s, false);
    if (s->prev != NULL) {
        s->prev->next = s->next;
    } else {
        s->ep->splits = s->next;
    }
    if (s->next != NULL) {
        s->next->prev = s->prev;
    }
}

/* Every posted piece is back and no more will be posted: the caller's
 * request completes. */
static void split_try_finish(ofi_split_t *s)
{
    rdmc_req_t *req = s->req;

    if (s->finished < s->posted || (s->posted < s->count && !s->stopped)) {
        return;
    }
    if (s->posted < s->count && s->status == 0) {
        s->status = -FI_ECANCELED;
    }
    unlist(s);
    req->transport_peer = -1;
    req->transport_space[0] = NULL;
    req->complete(req, s->status, s->received, s->received_imm);
    free(s);
}

static void piece_done(rdmc_req_t *base, int status, size_t len, uint64_t imm);

/* Post piece s->posted; 0, -FI_EAGAIN (try again later) or an error. */
static int post_next(ofi_split_t *s)
{
    ofi_piece_t *pc = &s->piece[s->posted];
    size_t piece = s->ep->piece_bytes;
    size_t offset = (size_t)s->posted * piece;
    size_t len = s->len - offset < piece ? s->len - offset : piece;
    int refused;
    ssize_t rc;

    /* A deferred piece: the peer may have failed meanwhile. */
    if (s->is_send && rdmc_ofi_channel_target(s->ch, s->peer, &refused) == NULL) {
        return refused;
    }
    pc->split = s;
    pc->base.complete = piece_done;
    rdmc_ofi_channel_track(s->ch, &pc->base, s->peer);
    if (s->is_send) {
        rc = fi_tsenddata(s->ep->ep, s->buf + offset, len, s->desc, s->imm, s->addr, s->tag,
                          &pc->base);
    } else {
        rc = fi_trecv(s->ep->ep, s->buf + offset, len, s->desc, s->addr, s->tag, s->ignore,
                      &pc->base);
    }
    if (rc != 0) {
        rdmc_ofi_channel_untrack(&pc->base);
        return (int)rc;
    }
    s->posted++;
    return 0;
}

/* Post what can be posted now; what the provider refuses for now is
 * deferred. */
static void post_rest(ofi_split_t *s)
{
    while (!s->stopped && s->posted < s->count && s->posted - s->finished < PIECES_IN_FLIGHT) {
        int rc = post_next(s);
        if (rc == -FI_EAGAIN) {
            set_deferred(s, true);
            return;
        }
        if (rc != 0) {
            s->status = rc;
            s->stopped = true;
        }
    }
    split_try_finish(s);
}

/* Stop s: no more pieces, its posted receives cancelled (again, if it
 * was stopped before: a piece matched then may have failed since).  It
 * completes in a progress pass, never inside the caller's call: on its
 * last piece's completion, or (nothing outstanding) deferred to the next
 * pass. */
static void split_stop(ofi_split_t *s)
{
    s->stopped = true;
    if (!s->is_send && s->ep->ep != NULL) {
        /* Those that completed already answer -FI_ENOENT. */
        for (unsigned i = 0; i < s->posted; i++) {
            (void)fi_cancel(&s->ep->ep->fid, &s->piece[i].base);
        }
    }
    if (s->finished == s->posted) {
        set_deferred(s, true);
    }
}

static void piece_done(rdmc_req_t *base, int status, size_t len, uint64_t imm)
{
    ofi_split_t *s = ((ofi_piece_t *)base)->split;

    if (status != 0 && s->status == 0) {
        s->status = status;
        /* A piece failed (its peer is gone, or it was cancelled): so does
         * the message, and its other receives must not wait for data. */
        split_stop(s);
    }
    s->received += len;
    s->received_imm = imm;
    s->finished++;
    post_rest(s);   /* the next pieces, or the end */
}

int rdmc_ofi_pieces_post(rdmc_ofi_channel_t *ch, bool is_send, int peer, fi_addr_t addr,
                         void *buf, size_t len, void *desc, uint64_t tag, uint64_t ignore,
                         uint64_t imm, rdmc_req_t *req)
{
    rdmc_ofi_ep_t *ep = ch->ep;
    unsigned count = (unsigned)((len + ep->piece_bytes - 1) / ep->piece_bytes);
    ofi_split_t *s = calloc(1, sizeof(*s) + count * sizeof(s->piece[0]));
    int rc;

    if (s == NULL) {
        return -FI_ENOMEM;
    }
    *s = (ofi_split_t){ .req = req, .ep = ep, .ch = ch, .peer = peer, .is_send = is_send,
                        .buf = buf, .len = len, .desc = desc, .addr = addr, .tag = tag,
                        .ignore = ignore, .imm = imm, .count = count };
    /* The first piece decides: refused, nothing was posted. */
    rc = post_next(s);
    if (rc != 0) {
        free(s);
        return rc;
    }
    s->next = ep->splits;
    if (ep->splits != NULL) {
        ep->splits->prev = s;
    }
    ep->splits = s;
    req->transport_owner = NULL;
    req->transport_peer = SPLIT_PEER;
    req->transport_space[0] = s;
    post_rest(s);   /* the first piece is out: it cannot finish here */
    return 0;
}

void rdmc_ofi_pieces_resume(rdmc_ofi_ep_t *ep)
{
    ofi_split_t *next;

    for (ofi_split_t *s = ep->splits; s != NULL && ep->ndeferred > 0; s = next) {
        next = s->next;
        if (s->deferred) {
            set_deferred(s, false);
            post_rest(s);
        }
    }
}

bool rdmc_ofi_pieces_of(const rdmc_req_t *req)
{
    return split_of(req) != NULL;
}

int rdmc_ofi_pieces_cancel(rdmc_req_t *req)
{
    split_stop(split_of(req));
    return 0;   /* it completes later, cancelled or not */
}

bool rdmc_ofi_pieces_stop(rdmc_ofi_channel_t *ch, bool sends_too)
{
    bool waiting = false;

    for (ofi_split_t *s = ch->ep->splits; s != NULL; s = s->next) {
        if (s->ch == ch) {
            if (sends_too || !s->is_send) {
                split_stop(s);
            }
            waiting = waiting || s->deferred;
        }
    }
    return waiting;
}

void rdmc_ofi_pieces_free(rdmc_ofi_ep_t *ep)
{
    while (ep->splits != NULL) {
        ofi_split_t *s = ep->splits;
        unlist(s);
        free(s);
    }
}
