#include "fake_transport.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coll/core/rdmc_engine.h"

typedef struct fake_msg {
    int from, to;
    uint64_t tag, imm;
    void *data;
    size_t len;
    rdmc_req_t *send_req;    /* NULL for injects */
    struct fake_msg *next;
} fake_msg_t;

typedef struct fake_recv {
    void *buf;
    size_t len;
    uint64_t tag, ignore;
    int from;                /* expected sender, -1 for any */
    rdmc_req_t *req;
    struct fake_recv *next;
} fake_recv_t;

typedef struct fake_done {
    rdmc_req_t *req;
    int status;
    bool data_send;          /* a data block's send: counted in sends_out */
    struct fake_done *next;
} fake_done_t;

/* A one-sided write on its way: applied by the target's progress, in
 * posting order per (from, to) unless the world is unordered, and possibly
 * in pieces (bytes in address order, as a socket delivers them). */
typedef struct fake_write {
    int from, to;
    size_t offset, len, applied;
    uint8_t *data;
    rdmc_req_t *req;
    struct fake_write *next;
} fake_write_t;

typedef struct fake_node {
    fake_endpoint_t ep;
    uint8_t *window;
    size_t window_len;
    fake_recv_t *posted;     /* in posting order */
    fake_done_t *sends_done; /* send and cancel completions to report */
    uint64_t posted_data, max_posted_data;
    uint64_t sends_out, max_sends_out;   /* data sends posted, not yet reported done */
} fake_node_t;

struct fake_world {
    int n;
    unsigned seed;
    int eagain_percent;
    fake_node_t *nodes;
    fake_msg_t *in_flight;
    fake_write_t *writes;    /* in posting order */
    bool unordered, torn;
    uint64_t cut;            /* ranks no post may reach or leave */
    uint64_t overruns;
    uint64_t wrong_senders;
    int64_t mem_holds;
};

static const rdmc_transport_ops_t fake_ops;

static int rnd(fake_world_t *w, int range)
{
    w->seed = w->seed * 1103515245u + 12345u;
    return (int)((w->seed >> 16) % (unsigned)range);
}

static fake_node_t *node_of(rdmc_transport_t *tp)
{
    fake_endpoint_t *ep = (fake_endpoint_t *)tp;
    return &ep->world->nodes[ep->rank];
}

static bool matches(const fake_recv_t *r, uint64_t tag)
{
    return (r->tag & ~r->ignore) == (tag & ~r->ignore);
}

static bool is_data(uint64_t tag)
{
    return rdmc_tag_kind_of(tag) == RDMC_TAG_DATA;
}

static bool refuse(fake_world_t *w)
{
    return w->eagain_percent > 0 && rnd(w, 100) < w->eagain_percent;
}

/* A post across the cut fails at once, as the tcp provider's does once its
 * connection is gone (-EINVAL from the rxm layer, seen in the emulator). */
static bool across_cut(const fake_world_t *w, int from, int to)
{
    return ((w->cut >> from) & 1) != ((w->cut >> to) & 1);
}

static void enqueue(fake_world_t *w, int from, int to, const void *buf, size_t len,
                    uint64_t tag, uint64_t imm, rdmc_req_t *req)
{
    fake_msg_t *m = calloc(1, sizeof(*m));
    m->from = from;
    m->to = to;
    m->tag = tag;
    m->imm = imm;
    m->len = len;
    m->data = malloc(len ? len : 1);
    if (len) {
        memcpy(m->data, buf, len);
    }
    m->send_req = req;
    /* A data block must find its receive already posted. */
    if (is_data(tag)) {
        bool found = false;
        for (fake_recv_t *r = w->nodes[to].posted; r; r = r->next) {
            found = found || matches(r, tag);
        }
        if (!found) {
            w->overruns++;
        }
    }
    m->next = w->in_flight;
    w->in_flight = m;
}

static int fake_send(rdmc_transport_t *tp, int peer, const void *buf, size_t len,
                     uint64_t tag, uint64_t imm, rdmc_req_t *req)
{
    fake_endpoint_t *ep = (fake_endpoint_t *)tp;
    if (across_cut(ep->world, ep->rank, peer)) {
        return -EINVAL;
    }
    if (refuse(ep->world)) {
        return -EAGAIN;
    }
    enqueue(ep->world, ep->rank, peer, buf, len, tag, imm, req);
    if (is_data(tag)) {
        fake_node_t *node = node_of(tp);
        node->sends_out++;
        if (node->sends_out > node->max_sends_out) {
            node->max_sends_out = node->sends_out;
        }
    }
    return 0;
}

static int fake_inject(rdmc_transport_t *tp, int peer, const void *buf, size_t len,
                       uint64_t tag)
{
    fake_endpoint_t *ep = (fake_endpoint_t *)tp;
    if (across_cut(ep->world, ep->rank, peer)) {
        return -EINVAL;
    }
    if (refuse(ep->world)) {
        return -EAGAIN;
    }
    enqueue(ep->world, ep->rank, peer, buf, len, tag, 0, NULL);
    return 0;
}

static int fake_recv(rdmc_transport_t *tp, int peer, void *buf, size_t len, uint64_t tag,
                     uint64_t ignore, rdmc_req_t *req)
{
    fake_endpoint_t *ep = (fake_endpoint_t *)tp;
    fake_node_t *node = node_of(tp);
    if (refuse(ep->world)) {
        return -EAGAIN;
    }
    fake_recv_t *r = calloc(1, sizeof(*r));
    *r = (fake_recv_t){ buf, len, tag, ignore, peer, req, NULL };
    fake_recv_t **tail = &node->posted;
    while (*tail) {
        tail = &(*tail)->next;
    }
    *tail = r;
    if (is_data(tag)) {
        node->posted_data++;
        if (node->posted_data > node->max_posted_data) {
            node->max_posted_data = node->posted_data;
        }
    }
    return 0;
}

static int fake_cancel(rdmc_transport_t *tp, rdmc_req_t *req)
{
    fake_node_t *node = node_of(tp);

    for (fake_recv_t **rp = &node->posted; *rp; rp = &(*rp)->next) {
        fake_recv_t *r = *rp;
        if (r->req != req) {
            continue;
        }
        *rp = r->next;
        if (is_data(r->tag)) {
            node->posted_data--;
        }
        fake_done_t *d = calloc(1, sizeof(*d));
        d->req = req;
        d->status = -ECANCELED;
        d->next = node->sends_done;
        node->sends_done = d;
        free(r);
        return 0;
    }
    return -ENOENT;
}

static int fake_window_expose(rdmc_transport_t *tp, void *base, size_t len, void *blob,
                              size_t *blob_len)
{
    fake_node_t *node = node_of(tp);
    node->window = base;
    node->window_len = len;
    *blob_len = 1;
    memset(blob, 0, 1);
    return 0;
}

static int fake_window_attach(rdmc_transport_t *tp, int peer, const void *blob, size_t len)
{
    (void)tp;
    (void)peer;
    (void)blob;
    return len == 1 ? 0 : -EINVAL;
}

static int fake_write(rdmc_transport_t *tp, int peer, size_t offset, size_t len, bool notify,
                      rdmc_req_t *req)
{
    fake_endpoint_t *ep = (fake_endpoint_t *)tp;
    fake_node_t *node = node_of(tp);
    fake_write_t *wr, **tail;

    (void)notify;
    if (across_cut(ep->world, ep->rank, peer)) {
        return -EINVAL;
    }
    if (refuse(ep->world)) {
        return -EAGAIN;
    }
    if (offset + len > node->window_len || (req == NULL && len > tp->inject_limit)) {
        return -EINVAL;
    }
    wr = calloc(1, sizeof(*wr));
    wr->from = ep->rank;
    wr->to = peer;
    wr->offset = offset;
    wr->len = len;
    wr->data = malloc(len ? len : 1);
    memcpy(wr->data, node->window + offset, len);
    wr->req = req;
    for (tail = &ep->world->writes; *tail; tail = &(*tail)->next) {
    }
    *tail = wr;
    return 0;
}

/* Apply some of the writes addressed to this node; returns how many ended. */
static int apply_writes(fake_world_t *w, fake_node_t *node)
{
    bool blocked[64] = { false };   /* per sender: an earlier write is unfinished */
    int ran = 0;

    for (fake_write_t **wp = &w->writes; *wp;) {
        fake_write_t *wr = *wp;
        bool skip = wr->to != node->ep.rank || (!w->unordered && blocked[wr->from % 64]) ||
                    rnd(w, 3) == 0;
        if (skip) {
            blocked[wr->from % 64] = blocked[wr->from % 64] || wr->to == node->ep.rank;
            wp = &wr->next;
            continue;
        }
        size_t upto = w->torn && wr->len > 1 ? wr->applied + 1 + (size_t)rnd(w, (int)wr->len)
                                             : wr->len;
        upto = upto > wr->len ? wr->len : upto;
        memcpy(node->window + wr->offset + wr->applied, wr->data + wr->applied,
               upto - wr->applied);
        wr->applied = upto;
        if (wr->applied < wr->len) {
            blocked[wr->from % 64] = true;
            wp = &wr->next;
            continue;
        }
        *wp = wr->next;
        if (wr->req != NULL) {
            fake_done_t *d = calloc(1, sizeof(*d));
            d->req = wr->req;
            d->next = w->nodes[wr->from].sends_done;
            w->nodes[wr->from].sends_done = d;
        }
        free(wr->data);
        free(wr);
        ran++;
    }
    return ran;
}

/* Deliver some of the messages addressed to this endpoint, in random order,
 * and report the sends of this endpoint that the peers have taken. */
static int fake_progress(rdmc_transport_t *tp)
{
    fake_endpoint_t *ep = (fake_endpoint_t *)tp;
    fake_world_t *w = ep->world;
    fake_node_t *node = node_of(tp);
    int ran = apply_writes(w, node);

    for (fake_msg_t **mp = &w->in_flight; *mp;) {
        fake_msg_t *m = *mp;
        fake_recv_t **rp = &node->posted;
        if (m->to != ep->rank || rnd(w, 3) == 0) {
            mp = &m->next;
            continue;
        }
        while (*rp && !matches(*rp, m->tag)) {
            rp = &(*rp)->next;
        }
        if (*rp == NULL) {
            mp = &m->next;   /* unexpected: stays until a receive matches */
            continue;
        }
        fake_recv_t *r = *rp;
        *rp = r->next;
        *mp = m->next;
        int status = m->len > r->len ? -EMSGSIZE : 0;
        if (r->from >= 0 && r->from != m->from) {
            w->wrong_senders++;
        }
        if (status == 0 && m->len) {
            memcpy(r->buf, m->data, m->len);
        }
        if (is_data(r->tag)) {
            node->posted_data--;
        }
        if (m->send_req) {
            fake_done_t *d = calloc(1, sizeof(*d));
            d->req = m->send_req;
            d->data_send = is_data(m->tag);
            d->next = w->nodes[m->from].sends_done;
            w->nodes[m->from].sends_done = d;
        }
        r->req->complete(r->req, status, m->len, m->imm);
        ran++;
        free(m->data);
        free(m);
        free(r);
    }
    while (node->sends_done) {
        fake_done_t *d = node->sends_done;
        node->sends_done = d->next;
        if (d->data_send) {
            node->sends_out--;
        }
        d->req->complete(d->req, d->status, 0, 0);
        free(d);
        ran++;
    }
    return ran;
}

static void fake_wait(rdmc_transport_t *tp, int timeout_ms)
{
    (void)tp;
    (void)timeout_ms;
}

/* Holds are counted so tests can check every acquire is released. */
static int fake_mem_acquire(rdmc_transport_t *tp, const void *buf, size_t len, void **handle_p)
{
    fake_endpoint_t *ep = (fake_endpoint_t *)tp;
    (void)buf;
    (void)len;
    ep->world->mem_holds++;
    *handle_p = ep;
    return 0;
}

static void fake_mem_release(rdmc_transport_t *tp, void *handle)
{
    fake_endpoint_t *ep = (fake_endpoint_t *)tp;
    (void)handle;
    ep->world->mem_holds--;
}

static const rdmc_transport_ops_t fake_ops = {
    .send = fake_send,
    .inject = fake_inject,
    .recv = fake_recv,
    .cancel = fake_cancel,
    .progress = fake_progress,
    .wait = fake_wait,
    .mem_acquire = fake_mem_acquire,
    .mem_release = fake_mem_release,
    .window_expose = fake_window_expose,
    .window_attach = fake_window_attach,
    .write = fake_write,
};

fake_world_t *fake_world_create(int n, unsigned seed, int eagain_percent)
{
    fake_world_t *w = calloc(1, sizeof(*w));
    w->n = n;
    w->seed = seed;
    w->eagain_percent = eagain_percent;
    w->nodes = calloc((size_t)n, sizeof(*w->nodes));
    for (int i = 0; i < n; i++) {
        w->nodes[i].ep.base.ops = &fake_ops;
        w->nodes[i].ep.base.inject_limit = 64;
        w->nodes[i].ep.base.ordered_write_bytes = SIZE_MAX;
        w->nodes[i].ep.world = w;
        w->nodes[i].ep.rank = i;
    }
    return w;
}

void fake_world_set_writes(fake_world_t *w, bool unordered, bool torn)
{
    w->unordered = unordered;
    w->torn = torn;
    for (int i = 0; i < w->n; i++) {
        w->nodes[i].ep.base.ordered_write_bytes = unordered ? 0 : SIZE_MAX;
    }
}

uint64_t fake_world_writes_in_flight(const fake_world_t *w)
{
    uint64_t count = 0;
    for (fake_write_t *wr = w->writes; wr; wr = wr->next) {
        count++;
    }
    return count;
}

void fake_world_destroy(fake_world_t *w)
{
    while (w->writes) {
        fake_write_t *wr = w->writes;
        w->writes = wr->next;
        free(wr->data);
        free(wr);
    }
    while (w->in_flight) {
        fake_msg_t *m = w->in_flight;
        w->in_flight = m->next;
        free(m->data);
        free(m);
    }
    for (int i = 0; i < w->n; i++) {
        while (w->nodes[i].posted) {
            fake_recv_t *r = w->nodes[i].posted;
            w->nodes[i].posted = r->next;
            free(r);
        }
        while (w->nodes[i].sends_done) {
            fake_done_t *d = w->nodes[i].sends_done;
            w->nodes[i].sends_done = d->next;
            free(d);
        }
    }
    free(w->nodes);
    free(w);
}

rdmc_transport_t *fake_world_endpoint(fake_world_t *w, int rank)
{
    return &w->nodes[rank].ep.base;
}

uint64_t fake_world_overruns(const fake_world_t *w)
{
    return w->overruns;
}

uint64_t fake_world_wrong_senders(const fake_world_t *w)
{
    return w->wrong_senders;
}

uint64_t fake_world_undelivered(const fake_world_t *w)
{
    uint64_t count = 0;
    for (fake_msg_t *m = w->in_flight; m; m = m->next) {
        count++;
    }
    return count;
}

uint64_t fake_world_undelivered_data(const fake_world_t *w)
{
    uint64_t count = 0;
    for (fake_msg_t *m = w->in_flight; m; m = m->next) {
        count += is_data(m->tag);
    }
    return count;
}

int64_t fake_world_mem_holds(const fake_world_t *w)
{
    return w->mem_holds;
}

uint64_t fake_world_posted_recvs(const fake_world_t *w)
{
    uint64_t count = 0;
    for (int i = 0; i < w->n; i++) {
        for (fake_recv_t *r = w->nodes[i].posted; r; r = r->next) {
            count++;
        }
    }
    return count;
}

uint64_t fake_world_max_posted_data(const fake_world_t *w)
{
    uint64_t max = 0;
    for (int i = 0; i < w->n; i++) {
        if (w->nodes[i].max_posted_data > max) {
            max = w->nodes[i].max_posted_data;
        }
    }
    return max;
}

uint64_t fake_world_max_sends_out(const fake_world_t *w, int rank)
{
    return w->nodes[rank].max_sends_out;
}

void fake_world_forge(fake_world_t *w, int from, int to, uint64_t tag, const void *buf,
                      size_t len, uint64_t imm)
{
    enqueue(w, from, to, buf, len, tag, imm, NULL);
}

size_t fake_world_forge_write(fake_world_t *w, int to, size_t offset, const void *buf,
                              size_t len)
{
    fake_node_t *node = &w->nodes[to];

    if (offset >= node->window_len) {
        return 0;
    }
    len = len < node->window_len - offset ? len : node->window_len - offset;
    memcpy(node->window + offset, buf, len);
    return len;
}

const uint8_t *fake_world_window(const fake_world_t *w, int rank, size_t *len_p)
{
    *len_p = w->nodes[rank].window_len;
    return w->nodes[rank].window;
}

void fake_world_cut(fake_world_t *world, uint64_t ranks)
{
    world->cut = ranks;
}
