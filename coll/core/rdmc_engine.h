/*
 * The RDMC broadcast engine: one broadcast ("op") at one rank, driven by
 * transport completions.
 *
 * Protocol of one op with sequence number s (every message is tagged
 * kind | s | step, so ops and steps never mix):
 *
 *   root                         parent P of R                 receiver R
 *   header(n, size, block, alg) ---------------------------->  (posted for s)
 *                                                              post recv(step t)
 *                                  <----------- ready-for-block(t)
 *                                  data(t), imm = block ------> into its final place
 *
 * - The header travels along the edge of each receiver's first incoming
 *   transfer, so a receiver learns the root's size, block size and schedule
 *   before it posts anything; a receiver whose own count differs still
 *   receives (and forwards) the whole message and reports the mismatch.
 * - Credit flow control: a block is sent only after its receiver has posted
 *   the receive and said so ("ready for block"), so no receiver is ever
 *   overrun.  A rank keeps at most RDMC_RECV_AHEAD receives posted, and
 *   RDMC_SENDS_IN_FLIGHT sends (the fan-out's root one per receiver, up to
 *   RDMC_MAX_IN_FLIGHT, so that all receivers copy at once).
 * - Everything is zero-copy: blocks land at their final offset and are
 *   forwarded from there.
 */
#ifndef RDMC_ENGINE_H
#define RDMC_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coll/core/rdmc_transport.h"
#include "rdmc_schedule.h"

#define RDMC_HEADER_MAGIC 0x52444d31u   /* "RDM1" */

/* Message kinds, in the top bits of the tag. */
enum rdmc_tag_kind {
    RDMC_TAG_HEADER = 1,
    RDMC_TAG_READY = 2,
    RDMC_TAG_DATA = 3,
};

/* What every receiver learns before it posts a byte. */
typedef struct rdmc_bcast_header {
    uint32_t magic;
    uint32_t root;          /* communicator rank of the root */
    uint64_t nbytes;        /* bytes the root sends */
    uint64_t block_bytes;
    uint32_t schedule;      /* rdmc_schedule_alg_t */
    uint32_t seq;           /* low bits of the op's sequence number */
    uint32_t origin;        /* whose message it is: root, or what root relays */
    uint32_t reserved;
} rdmc_bcast_header_t;

typedef struct rdmc_op rdmc_op_t;

/* How the caller lays out the message; all hooks are optional.  fill and
 * arrived see every block exactly once and in block order (a block that
 * lands early is reported once all blocks before it have), so a datatype
 * convertor can pack and unpack sequentially while the blocks flow. */
typedef struct rdmc_op_hooks {
    /* Receiver: the header says the message has `nbytes`; return a buffer of
     * at least that many bytes for it, or NULL to fail the op. */
    void *(*place)(void *arg, uint64_t nbytes);
    /* Root: bytes [offset, offset+len) are about to be sent the first time.
     * Returns 0; RDMC_FILL_LATER when they are not here yet (a relay: call
     * rdmc_op_poke once they are); or a negative code that fails the op
     * (nothing is sent that was not filled). */
    int (*fill)(void *arg, uint64_t offset, uint64_t len);
    /* Receiver: bytes [offset, offset+len) have arrived.  It cannot fail the
     * op: the bytes are right and other ranks may wait for this one to
     * forward them; a receiver that cannot use them records that itself. */
    void (*arrived)(void *arg, uint64_t offset, uint64_t len);
    void *arg;
} rdmc_op_hooks_t;

#define RDMC_FILL_LATER 1

typedef struct rdmc_op_params {
    rdmc_transport_t *tp;
    uint32_t n;             /* communicator size */
    uint32_t rank;          /* my communicator rank */
    /* The ranks taking part, ascending (after failures, the view's
     * members); NULL: all n.  The schedule runs over them only. */
    const uint32_t *members;
    uint32_t nmembers;
    uint32_t root;          /* the root as this rank was told */
    /* Root only: it relays another rank's message (the header names that
     * origin); false: its own. */
    bool relay;
    uint32_t origin;
    uint64_t seq;           /* per-communicator op number, equal at all ranks */
    uint32_t epoch;         /* the view it runs in (its low 6 bits are in the tags) */
    uint32_t level;         /* its group's level in a tree of runs (in the tags) */
    /* Root only: what to send and how. */
    const void *buf;
    uint64_t nbytes;
    uint64_t block_bytes;
    rdmc_schedule_alg_t schedule;
    rdmc_op_hooks_t hooks;
    /* Every rank: a pipeline's sends posted at once (0: RDMC_SENDS_IN_FLIGHT;
     * at most RDMC_MAX_IN_FLIGHT).  Not agreed: each rank paces its own. */
    unsigned sends_in_flight;
} rdmc_op_params_t;

/* One transfer of this rank's schedule. */
typedef struct rdmc_step_transfer {
    uint64_t step;
    uint64_t block;
    uint32_t peer;          /* communicator rank */
} rdmc_step_transfer_t;

typedef struct rdmc_op_req {
    rdmc_req_t base;
    rdmc_op_t *op;
    size_t index;           /* into sends[] or recvs[] */
} rdmc_op_req_t;

typedef struct rdmc_ctrl_msg {
    uint32_t peer;
    uint64_t tag;
    bool with_header;       /* payload is op->header; otherwise empty */
} rdmc_ctrl_msg_t;

#define RDMC_RECV_AHEAD 4
#define RDMC_SENDS_IN_FLIGHT 2
#define RDMC_READY_AHEAD 8
#define RDMC_MAX_IN_FLIGHT 64

struct rdmc_op {
    rdmc_op_params_t p;
    rdmc_bcast_header_t header;     /* built at the root, received elsewhere */
    rdmc_op_req_t header_req;
    bool header_known;
    bool refused;                   /* a post got -EAGAIN: retry from rdmc_op_test */
    bool done;
    int status;                     /* 0, or the first error (negative) */
    char error[192];                /* what went wrong, for the log */
    int error_peer;                 /* the rank the failed transfer was with, or -1 */

    uint8_t *base;                  /* the whole message at this rank */
    void *mem_handle;               /* the transport's hold on base */
    uint64_t nblocks;
    uint8_t *filled;                /* root: block packed; others: block held */
    uint64_t hooked;                /* blocks 0..hooked-1 went through fill/arrived */

    rdmc_step_transfer_t *sends;
    size_t nsends, sends_posted, sends_done;
    rdmc_step_transfer_t *recvs;
    size_t nrecvs, recvs_posted, recvs_done;
    uint8_t *ready;                 /* per send: its receiver said ready */
    size_t readies_posted;          /* ready receives posted for sends[0..) */

    size_t send_window;             /* sends posted at once, <= RDMC_MAX_IN_FLIGHT */
    size_t ready_window;            /* ready receives posted at once, <= 2x that */
    rdmc_op_req_t send_reqs[RDMC_MAX_IN_FLIGHT];
    rdmc_op_req_t recv_reqs[RDMC_RECV_AHEAD];
    rdmc_op_req_t ready_reqs[2 * RDMC_MAX_IN_FLIGHT];

    rdmc_ctrl_msg_t *ctrl;          /* injects still to go out (FIFO) */
    size_t ctrl_head, ctrl_len, ctrl_cap;
};

/* Tag of one message: kind | 28 bits of sequence | 32 bits of step. */
uint64_t rdmc_tag(enum rdmc_tag_kind kind, uint64_t seq, uint64_t step);
/* The kind of a tag made by rdmc_tag. */
enum rdmc_tag_kind rdmc_tag_kind_of(uint64_t tag);

/* Start the op.  Returns 0 or a negative code (nothing left posted). */
int rdmc_op_start(rdmc_op_t *op, const rdmc_op_params_t *params);

/* Retries whatever the transport refused to post before; true once the op
 * is done or has failed.  Does not progress the transport (everything else
 * advances in completion callbacks). */
bool rdmc_op_test(rdmc_op_t *op);

/* A relay's fill hook said RDMC_FILL_LATER and the bytes have come: send
 * what can go now. */
void rdmc_op_poke(rdmc_op_t *op);

/* A view change made the op moot: fail it (-ECANCELED) and cancel every
 * receive it has posted, so that nothing lands in its buffer any more once
 * rdmc_op_receives_quiet.  Its sends may never finish (a dead peer); keep
 * the op until rdmc_op_quiet, or until the transport is closed. */
void rdmc_op_abandon(rdmc_op_t *op);
bool rdmc_op_receives_quiet(const rdmc_op_t *op);
bool rdmc_op_quiet(const rdmc_op_t *op);

/* Free what the op allocated.  Only call when it is done, or when its
 * transport is being closed (failed op with operations still posted). */
void rdmc_op_release(rdmc_op_t *op);

#endif
