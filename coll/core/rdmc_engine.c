/*
 * The RDMC broadcast engine (protocol in rdmc_engine.h).
 *
 * All state changes happen in completion callbacks run by the transport's
 * progress(), and in rdmc_op_start(); nothing here blocks (the caller
 * drives progress: the stream, coll/rdmc_stream.c).
 */
#include "rdmc_engine.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rdmc_blocksize.h"
#include "rdmc_groups.h"

/* Tag layout, from the top: kind (2 bits), the transport's channel bits
 * (rdmc_transport.h), sequence (17 bits: 6 of epoch over 11 of seq, enough
 * for coll_rdmc_window's 1024 collectives in flight), step (25 bits: the
 * group's level in a tree of runs (rdmc_run.h), 2 bits, over the step
 * itself, 23: a pipeline has at most RDMC_MAX_BLOCKS + log2 n steps).
 * Receives match any sender, so a tag names one message to its receiver:
 * a rank sends at most one block per step of a run, and its runs of one
 * broadcast on one transport are at different levels. */
#define TAG_SEQ_BITS 17
#define TAG_STEP_BITS 25
#define TAG_LEVEL_SHIFT 23
#define TAG_KIND_SHIFT (RDMC_TAG_CHANNEL_SHIFT + RDMC_TAG_CHANNEL_BITS)
_Static_assert(TAG_SEQ_BITS + TAG_STEP_BITS == RDMC_TAG_CHANNEL_SHIFT,
               "the engine's tag bits end where the channel's begin");
_Static_assert(TAG_KIND_SHIFT + 2 == 64, "the kind takes the top two bits");
_Static_assert(RDMC_MAX_BLOCKS + 64 < ((uint64_t)1 << TAG_LEVEL_SHIFT),
               "every step of a pipeline has its own tag");
_Static_assert(RDMC_GROUP_LEVELS <= (1 << (TAG_STEP_BITS - TAG_LEVEL_SHIFT)),
               "every level of a tree has its own tags");

uint64_t rdmc_tag(enum rdmc_tag_kind kind, uint64_t seq, uint64_t step)
{
    uint64_t seq_mask = ((uint64_t)1 << TAG_SEQ_BITS) - 1;
    uint64_t step_mask = ((uint64_t)1 << TAG_STEP_BITS) - 1;

    return ((uint64_t)kind << TAG_KIND_SHIFT) |
           ((seq & seq_mask) << TAG_STEP_BITS) | (step & step_mask);
}

enum rdmc_tag_kind rdmc_tag_kind_of(uint64_t tag)
{
    return (enum rdmc_tag_kind)(tag >> TAG_KIND_SHIFT);
}

/* The sequence bits of an op's tags: the low bits of its seq, and above
 * them the low bits of its epoch, so that an op re-run after a view change
 * never matches a message of the run it replaces. */
#define TAG_EPOCH_SHIFT 11

static uint64_t op_tag(const rdmc_op_t *op, enum rdmc_tag_kind kind, uint64_t step)
{
    uint64_t seq = (op->p.seq & (((uint64_t)1 << TAG_EPOCH_SHIFT) - 1)) |
                   ((uint64_t)op->p.epoch << TAG_EPOCH_SHIFT);

    uint64_t step_mask = ((uint64_t)1 << TAG_LEVEL_SHIFT) - 1;

    return rdmc_tag(kind, seq, ((uint64_t)op->p.level << TAG_LEVEL_SHIFT) | (step & step_mask));
}

static void op_fail(rdmc_op_t *op, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void op_fail(rdmc_op_t *op, int status, const char *fmt, ...)
{
    va_list ap;

    if (op->status != 0) {
        return;   /* keep the first cause */
    }
    op->status = status < 0 ? status : -EIO;
    va_start(ap, fmt);
    vsnprintf(op->error, sizeof(op->error), fmt, ap);
    va_end(ap);
}

/* How many ranks take part, and where a rank sits among them (UINT32_MAX:
 * not a member). */
static uint32_t op_width(const rdmc_op_t *op)
{
    return op->p.members != NULL ? op->p.nmembers : op->p.n;
}

static uint32_t op_index(const rdmc_op_t *op, uint32_t rank)
{
    if (op->p.members == NULL) {
        return rank < op->p.n ? rank : UINT32_MAX;
    }
    for (uint32_t i = 0; i < op->p.nmembers; i++) {
        if (op->p.members[i] == rank) {
            return i;
        }
    }
    return UINT32_MAX;
}

/* Ranks relative to the root, as the schedules see them: positions among
 * the members, counted from the root's. */
static uint32_t op_relative(const rdmc_op_t *op, uint32_t rank)
{
    uint32_t width = op_width(op);

    return (op_index(op, rank) + width - op_index(op, op->header.root)) % width;
}

static uint32_t op_absolute(const rdmc_op_t *op, uint32_t relative)
{
    uint32_t index = (relative + op_index(op, op->header.root)) % op_width(op);

    return op->p.members != NULL ? op->p.members[index] : index;
}

static uint64_t op_block_len(const rdmc_op_t *op, uint64_t block)
{
    return rdmc_block_len(op->header.nbytes, op->header.block_bytes, block);
}

static uint8_t *op_block_ptr(const rdmc_op_t *op, uint64_t block)
{
    /* An empty message may have no buffer at all. */
    return op->base != NULL ? op->base + block * op->header.block_bytes : NULL;
}

static rdmc_op_req_t *free_req(rdmc_op_req_t *reqs, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (reqs[i].op == NULL) {
            return &reqs[i];
        }
    }
    return NULL;
}

/* ---- control messages (header, ready-for-block) ------------------------ */

static void op_queue_ctrl(rdmc_op_t *op, uint32_t peer, uint64_t tag, bool with_header)
{
    if (op->ctrl_len == op->ctrl_cap) {
        size_t cap = op->ctrl_cap ? 2 * op->ctrl_cap : 16;
        rdmc_ctrl_msg_t *grown = realloc(op->ctrl, cap * sizeof(*grown));
        if (grown == NULL) {
            op_fail(op, -ENOMEM, "out of memory queueing a control message");
            return;
        }
        op->ctrl = grown;
        op->ctrl_cap = cap;
    }
    op->ctrl[op->ctrl_len++] = (rdmc_ctrl_msg_t){ peer, tag, with_header };
}

static void op_flush_ctrl(rdmc_op_t *op)
{
    rdmc_transport_t *tp = op->p.tp;

    while (op->status == 0 && op->ctrl_head < op->ctrl_len) {
        const rdmc_ctrl_msg_t *m = &op->ctrl[op->ctrl_head];
        int rc = tp->ops->inject(tp, (int)m->peer, m->with_header ? &op->header : NULL,
                                 m->with_header ? sizeof(op->header) : 0, m->tag);
        if (rc == -EAGAIN) {
            op->refused = true;
            return;
        }
        if (rc != 0) {
            op->error_peer = (int)m->peer;
            op_fail(op, rc, "sending a control message to rank %u failed (%d)", m->peer, rc);
            return;
        }
        op->ctrl_head++;
    }
    op->ctrl_head = op->ctrl_len = 0;
}

/* ---- the data path ----------------------------------------------------- */

static void op_check_done(rdmc_op_t *op)
{
    if (op->status == 0 && op->header_known && op->sends_done == op->nsends &&
        op->recvs_done == op->nrecvs && op->ctrl_len == 0) {
        op->done = true;
    }
}

/* Root: make sure block b, and every block before it, is packed.  False
 * while a receiver lacks it, or when packing failed (the op has failed). */
static bool op_block_ready_to_send(rdmc_op_t *op, uint64_t block)
{
    if (op->filled[block]) {
        return true;
    }
    if (op->p.rank != op->header.root) {
        return false;   /* not received yet */
    }
    for (; op->hooked <= block; op->hooked++) {
        uint64_t offset = op->hooked * op->header.block_bytes;
        uint64_t len = op_block_len(op, op->hooked);
        int rc = op->p.hooks.fill != NULL ? op->p.hooks.fill(op->p.hooks.arg, offset, len) : 0;
        if (rc == RDMC_FILL_LATER) {
            return false;   /* rdmc_op_poke when they come */
        }
        if (rc != 0) {
            op_fail(op, rc, "filling bytes [%llu, %llu) of the message failed (%d)",
                    (unsigned long long)offset, (unsigned long long)(offset + len), rc);
            return false;
        }
        op->filled[op->hooked] = 1;
    }
    return true;
}

/* Receivers: report the blocks held in a row from the start. */
static void op_report_arrivals(rdmc_op_t *op)
{
    for (; op->hooked < op->nblocks && op->filled[op->hooked]; op->hooked++) {
        if (op->p.hooks.arrived != NULL) {
            op->p.hooks.arrived(op->p.hooks.arg, op->hooked * op->header.block_bytes,
                                op_block_len(op, op->hooked));
        }
    }
}

static void on_send_done(rdmc_req_t *base, int status, size_t len, uint64_t imm);
static void on_ready(rdmc_req_t *base, int status, size_t len, uint64_t imm);
static void on_block(rdmc_req_t *base, int status, size_t len, uint64_t imm);

/* A post that must wait (its block is not here yet, or not asked for). */
#define OP_NOT_YET 1

/* Block sends, in the schedule's order: a later send waits for this one. */
static int post_send(rdmc_op_t *op, size_t i, rdmc_op_req_t *req)
{
    rdmc_transport_t *tp = op->p.tp;
    const rdmc_step_transfer_t *x = &op->sends[i];

    if (!op->ready[i] || !op_block_ready_to_send(op, x->block)) {
        return OP_NOT_YET;
    }
    req->base.complete = on_send_done;
    return tp->ops->send(tp, (int)x->peer, op_block_ptr(op, x->block),
                         op_block_len(op, x->block), op_tag(op, RDMC_TAG_DATA, x->step),
                         x->block, &req->base);
}

/* The receivers' ready-for-block credits, one per send. */
static int post_ready_recv(rdmc_op_t *op, size_t i, rdmc_op_req_t *req)
{
    rdmc_transport_t *tp = op->p.tp;
    const rdmc_step_transfer_t *x = &op->sends[i];

    req->base.complete = on_ready;
    return tp->ops->recv(tp, (int)x->peer, NULL, 0, op_tag(op, RDMC_TAG_READY, x->step), 0,
                         &req->base);
}

/* Block receives, into the block's final place; once posted, the credit
 * goes to the sender: only now may it push this block. */
static int post_block_recv(rdmc_op_t *op, size_t i, rdmc_op_req_t *req)
{
    rdmc_transport_t *tp = op->p.tp;
    const rdmc_step_transfer_t *x = &op->recvs[i];
    int rc;

    req->base.complete = on_block;
    rc = tp->ops->recv(tp, (int)x->peer, op_block_ptr(op, x->block), op_block_len(op, x->block),
                       op_tag(op, RDMC_TAG_DATA, x->step), 0, &req->base);
    if (rc == 0) {
        op_queue_ctrl(op, x->peer, op_tag(op, RDMC_TAG_READY, x->step), false);
    }
    return rc;
}

/* One kind of post: the transfers it covers, the request slots it uses. */
typedef struct op_poster {
    int (*post)(rdmc_op_t *op, size_t i, rdmc_op_req_t *req);
    const char *what;              /* for the message when a post fails */
} op_poster_t;

/* Post transfers[*posted..total) while request slots are free, stopping at
 * the first that must wait, is refused for now (-EAGAIN: retried from
 * rdmc_op_test) or fails the op. */
static void op_post_all(rdmc_op_t *op, const op_poster_t *poster,
                        const rdmc_step_transfer_t *transfers, size_t *posted, size_t total,
                        rdmc_op_req_t *reqs, size_t window)
{
    rdmc_op_req_t *req;

    while (op->status == 0 && *posted < total && (req = free_req(reqs, window)) != NULL) {
        size_t i = *posted;
        int rc = poster->post(op, i, req);
        if (rc == OP_NOT_YET) {
            return;
        }
        if (rc == -EAGAIN) {
            op->refused = true;
            return;
        }
        if (rc != 0) {
            op_fail(op, rc, "posting %s (block %llu, rank %u) failed (%d)", poster->what,
                    (unsigned long long)transfers[i].block, transfers[i].peer, rc);
            return;
        }
        req->op = op;
        req->index = i;
        (*posted)++;
    }
}

static const op_poster_t sends_poster = { post_send, "a block's send" };
static const op_poster_t readies_poster = { post_ready_recv, "a ready-for-block receive" };
static const op_poster_t blocks_poster = { post_block_recv, "a block's receive" };

static void op_try_sends(rdmc_op_t *op)
{
    op_post_all(op, &sends_poster, op->sends, &op->sends_posted, op->nsends, op->send_reqs,
                op->send_window);
}

static void op_post_ready_recvs(rdmc_op_t *op)
{
    op_post_all(op, &readies_poster, op->sends, &op->readies_posted, op->nsends,
                op->ready_reqs, op->ready_window);
}

static void op_post_block_recvs(rdmc_op_t *op)
{
    op_post_all(op, &blocks_poster, op->recvs, &op->recvs_posted, op->nrecvs, op->recv_reqs,
                RDMC_RECV_AHEAD);
}

static void op_advance(rdmc_op_t *op)
{
    op_post_block_recvs(op);
    op_post_ready_recvs(op);
    op_flush_ctrl(op);
    op_try_sends(op);
    op_check_done(op);
}

/* A completion for an op that already failed only gives its request back. */
static rdmc_op_t *req_finish(rdmc_req_t *base)
{
    rdmc_op_req_t *req = (rdmc_op_req_t *)base;
    rdmc_op_t *op = req->op;

    req->op = NULL;
    return op;
}

static void on_send_done(rdmc_req_t *base, int status, size_t len, uint64_t imm)
{
    size_t index = ((rdmc_op_req_t *)base)->index;
    rdmc_op_t *op = req_finish(base);

    (void)len;
    (void)imm;
    if (status != 0) {
        op->error_peer = (int)op->sends[index].peer;
        op_fail(op, status, "sending block %llu to rank %u failed (%d)",
                (unsigned long long)op->sends[index].block, op->sends[index].peer, status);
        return;
    }
    op->sends_done++;
    op_advance(op);
}

static void on_ready(rdmc_req_t *base, int status, size_t len, uint64_t imm)
{
    size_t index = ((rdmc_op_req_t *)base)->index;
    rdmc_op_t *op = req_finish(base);

    (void)imm;
    if (status != 0 || len != 0) {
        op->error_peer = (int)op->sends[index].peer;
        op_fail(op, status ? status : -EPROTO,
                "bad ready-for-block message from rank %u (status %d, %zu bytes)",
                op->sends[index].peer, status, len);
        return;
    }
    op->ready[index] = 1;
    op_advance(op);
}

static void on_block(rdmc_req_t *base, int status, size_t len, uint64_t imm)
{
    size_t index = ((rdmc_op_req_t *)base)->index;
    rdmc_op_t *op = req_finish(base);
    const rdmc_step_transfer_t *x = &op->recvs[index];

    if (status != 0) {
        op->error_peer = (int)x->peer;
        op_fail(op, status, "receiving block %llu from rank %u failed (%d)",
                (unsigned long long)x->block, x->peer, status);
        return;
    }
    if (imm != x->block || len != op_block_len(op, x->block)) {
        op_fail(op, -EPROTO,
                "rank %u sent block %llu (%zu bytes) where block %llu (%llu bytes) was due",
                x->peer, (unsigned long long)imm, len, (unsigned long long)x->block,
                (unsigned long long)op_block_len(op, x->block));
        return;
    }
    op->filled[x->block] = 1;
    op_report_arrivals(op);
    op->recvs_done++;
    op_advance(op);
}

/* ---- setting up from the header ---------------------------------------- */

/* This rank's transfers in step order, in communicator ranks. */
static int op_list_transfers(rdmc_op_t *op, bool sending, rdmc_step_transfer_t **list_p,
                             size_t *len_p)
{
    rdmc_schedule_alg_t alg = (rdmc_schedule_alg_t)op->header.schedule;
    uint32_t me = op_relative(op, op->p.rank);
    uint64_t steps = rdmc_schedule_num_steps(alg, op_width(op), op->nblocks);
    rdmc_step_transfer_t *list = NULL;
    size_t len = 0;
    rdmc_transfer_t x;

    /* Two passes: count, then fill an exactly sized list. */
    for (int pass = 0; pass < 2; pass++) {
        len = 0;
        for (uint64_t t = 0; t < steps; t++) {
            bool has = sending ? rdmc_schedule_send(alg, op_width(op), me, op->nblocks, t, &x)
                               : rdmc_schedule_recv(alg, op_width(op), me, op->nblocks, t, &x);
            if (!has) {
                continue;
            }
            if (list != NULL) {
                list[len] = (rdmc_step_transfer_t){ t, x.block, op_absolute(op, x.peer) };
            }
            len++;
        }
        if (pass == 0) {
            list = calloc(len ? len : 1, sizeof(*list));
            if (list == NULL) {
                return -ENOMEM;
            }
        }
    }
    *list_p = list;
    *len_p = len;
    return 0;
}

/* Send the header to every rank whose first block comes from us. */
static void op_forward_header(rdmc_op_t *op)
{
    rdmc_schedule_alg_t alg = (rdmc_schedule_alg_t)op->header.schedule;
    uint32_t me = op_relative(op, op->p.rank);
    uint8_t *seen = calloc(op->p.n, 1);

    if (seen == NULL) {
        op_fail(op, -ENOMEM, "out of memory forwarding the header");
        return;
    }
    for (size_t i = 0; i < op->nsends; i++) {
        uint32_t child = op->sends[i].peer;
        uint64_t first_step;
        rdmc_transfer_t first;
        if (seen[child]) {
            continue;
        }
        seen[child] = 1;
        if (rdmc_schedule_first_recv(alg, op_width(op), op_relative(op, child), op->nblocks,
                                     &first_step, &first) &&
            first.peer == me) {
            op_queue_ctrl(op, child, op_tag(op, RDMC_TAG_HEADER, 0), true);
        }
    }
    free(seen);
}

/* The fan-out's root serves every receiver at once; pipelines keep a
 * rank's sends in step order, a few at a time (p.sends_in_flight). */
static void op_set_windows(rdmc_op_t *op)
{
    size_t width = op_width(op) - 1;

    op->send_window = op->p.sends_in_flight != 0 ? op->p.sends_in_flight : RDMC_SENDS_IN_FLIGHT;
    if (op->send_window > RDMC_MAX_IN_FLIGHT) {
        op->send_window = RDMC_MAX_IN_FLIGHT;
    }
    if (op->header.schedule == RDMC_SCHEDULE_FANOUT && width > op->send_window) {
        op->send_window = width < RDMC_MAX_IN_FLIGHT ? width : RDMC_MAX_IN_FLIGHT;
    }
    op->ready_window = 2 * op->send_window > RDMC_READY_AHEAD ? 2 * op->send_window
                                                              : RDMC_READY_AHEAD;
}

static int op_setup_transfers(rdmc_op_t *op)
{
    rdmc_transport_t *tp = op->p.tp;
    int rc;

    op_set_windows(op);
    rc = tp->ops->mem_acquire(tp, op->base, op->header.nbytes, &op->mem_handle);
    if (rc != 0) {
        return rc;
    }

    op->nblocks = rdmc_block_count(op->header.nbytes, op->header.block_bytes);
    op->filled = calloc(op->nblocks, 1);
    if (op->filled == NULL) {
        return -ENOMEM;
    }
    rc = op_list_transfers(op, true, &op->sends, &op->nsends);
    if (rc != 0) {
        return rc;
    }
    rc = op_list_transfers(op, false, &op->recvs, &op->nrecvs);
    if (rc != 0) {
        return rc;
    }
    op->ready = calloc(op->nsends ? op->nsends : 1, 1);
    if (op->ready == NULL) {
        return -ENOMEM;
    }
    op->header_known = true;
    op_forward_header(op);
    return 0;
}

static bool header_is_valid(const rdmc_op_t *op, const rdmc_bcast_header_t *h, size_t len)
{
    return len == sizeof(*h) && h->magic == RDMC_HEADER_MAGIC &&
           op_index(op, h->root) != UINT32_MAX &&
           h->root != op->p.rank && h->schedule < RDMC_SCHEDULE_COUNT &&
           h->block_bytes >= RDMC_BLOCK_BYTES_MIN &&
           rdmc_block_count(h->nbytes, h->block_bytes) <= RDMC_MAX_BLOCKS &&
           h->seq == (uint32_t)op->p.seq && h->origin < op->p.n;
}

static void on_header(rdmc_req_t *base, int status, size_t len, uint64_t imm)
{
    rdmc_op_t *op = req_finish(base);
    int rc;

    (void)imm;
    if (status != 0) {
        op_fail(op, status, "receiving the broadcast header failed (%d)", status);
        return;
    }
    if (!header_is_valid(op, &op->header, len)) {
        op_fail(op, -EPROTO, "malformed broadcast header (%zu bytes, magic %#x, root %u)", len,
                op->header.magic, op->header.root);
        return;
    }
    if (op->p.hooks.place != NULL) {
        op->base = op->p.hooks.place(op->p.hooks.arg, op->header.nbytes);
    } else if (op->header.nbytes <= op->p.nbytes) {
        op->base = (uint8_t *)op->p.buf;
    }
    if (op->base == NULL && op->header.nbytes > 0) {
        op_fail(op, -EMSGSIZE, "no room for the root's %llu bytes",
                (unsigned long long)op->header.nbytes);
        return;
    }
    rc = op_setup_transfers(op);
    if (rc != 0) {
        op_fail(op, rc, "setting up the transfers failed (%d)", rc);
        return;
    }
    op_advance(op);
}

/* ---- public ------------------------------------------------------------ */

/* Receivers: wait for the header of this op (retried while refused). */
static void op_post_header_recv(rdmc_op_t *op)
{
    rdmc_transport_t *tp = op->p.tp;
    int rc;

    op->header_req.base.complete = on_header;
    /* Who sends the header depends on the root, unknown until it comes. */
    rc = tp->ops->recv(tp, -1, &op->header, sizeof(op->header),
                       op_tag(op, RDMC_TAG_HEADER, 0), 0, &op->header_req.base);
    if (rc == 0) {
        op->header_req.op = op;
    } else if (rc == -EAGAIN) {
        op->refused = true;
    } else {
        op_fail(op, rc, "posting the header receive failed (%d)", rc);
    }
}

int rdmc_op_start(rdmc_op_t *op, const rdmc_op_params_t *params)
{
    int rc;

    memset(op, 0, sizeof(*op));
    op->p = *params;
    op->error_peer = -1;
    if ((params->members != NULL && params->nmembers == 0) ||
        op_index(op, params->rank) == UINT32_MAX || op_index(op, params->root) == UINT32_MAX) {
        op_fail(op, -EINVAL, "rank %u or root %u is not among the members", params->rank,
                params->root);
        return op->status;
    }

    if (params->rank != params->root) {
        op_post_header_recv(op);
        return op->status;
    }

    op->header = (rdmc_bcast_header_t){
        .magic = RDMC_HEADER_MAGIC,
        .root = params->root,
        .nbytes = params->nbytes,
        .block_bytes = params->block_bytes,
        .schedule = params->schedule,
        .seq = (uint32_t)params->seq,
        .origin = params->relay ? params->origin : params->root,
    };
    op->base = (uint8_t *)params->buf;
    rc = op_setup_transfers(op);
    if (rc != 0) {
        rdmc_op_release(op);
        return rc;
    }
    op_advance(op);
    return op->status;
}

bool rdmc_op_test(rdmc_op_t *op)
{
    if (op->refused && op->status == 0) {
        op->refused = false;
        if (!op->header_known) {
            op_post_header_recv(op);
        } else if (!op->done) {
            op_advance(op);
        }
    }
    return op->done || op->status != 0;
}

void rdmc_op_poke(rdmc_op_t *op)
{
    if (op->header_known && !op->done && op->status == 0) {
        op_advance(op);
    }
}

void rdmc_op_abandon(rdmc_op_t *op)
{
    rdmc_transport_t *tp = op->p.tp;

    op_fail(op, -ECANCELED, "abandoned after a view change");
    /* Its caller may free what the hooks point to from now on. */
    op->p.hooks = (rdmc_op_hooks_t){ .arg = NULL };
    if (tp->ops->cancel == NULL) {
        return;
    }
    if (op->header_req.op != NULL) {
        tp->ops->cancel(tp, &op->header_req.base);
    }
    for (size_t i = 0; i < RDMC_RECV_AHEAD; i++) {
        if (op->recv_reqs[i].op != NULL) {
            tp->ops->cancel(tp, &op->recv_reqs[i].base);
        }
    }
    for (size_t i = 0; i < 2 * RDMC_MAX_IN_FLIGHT; i++) {
        if (op->ready_reqs[i].op != NULL) {
            tp->ops->cancel(tp, &op->ready_reqs[i].base);
        }
    }
}

bool rdmc_op_receives_quiet(const rdmc_op_t *op)
{
    if (op->header_req.op != NULL) {
        return false;
    }
    for (size_t i = 0; i < RDMC_RECV_AHEAD; i++) {
        if (op->recv_reqs[i].op != NULL) {
            return false;
        }
    }
    for (size_t i = 0; i < 2 * RDMC_MAX_IN_FLIGHT; i++) {
        if (op->ready_reqs[i].op != NULL) {
            return false;
        }
    }
    return true;
}

bool rdmc_op_quiet(const rdmc_op_t *op)
{
    for (size_t i = 0; i < RDMC_MAX_IN_FLIGHT; i++) {
        if (op->send_reqs[i].op != NULL) {
            return false;
        }
    }
    return rdmc_op_receives_quiet(op);
}

void rdmc_op_release(rdmc_op_t *op)
{
    if (op->mem_handle != NULL) {
        op->p.tp->ops->mem_release(op->p.tp, op->mem_handle);
        op->mem_handle = NULL;
    }
    free(op->sends);
    free(op->recvs);
    free(op->ready);
    free(op->filled);
    free(op->ctrl);
    op->sends = op->recvs = NULL;
    op->ready = op->filled = NULL;
    op->ctrl = NULL;
}
