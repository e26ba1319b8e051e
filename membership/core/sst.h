/*
 * The SST: a shared state table with one row per member of a communicator.
 *
 * Every member holds a full copy of the table.  A member writes only its own
 * row and pushes it to the others with one-sided writes into their copies
 * (the transport's window), so reading another member's row is reading local
 * memory.  The row holds:
 *
 *   cells   monotonic counters (heartbeat, received, delivered, published),
 *           each stored with its complement, because a write may land in
 *           pieces (libfabric's tcp provider copies from a socket): a reader
 *           accepts a value only when its complement matches, and otherwise
 *           keeps the last value it accepted;
 *   slots   small messages (the SST multicast path): a ring of slot headers,
 *           one per sequence number modulo the slots, each saying where its
 *           message lies in a ring of message bytes, where messages are
 *           packed one after the other, so that pushing a burst of small
 *           messages sends their bytes, not whole slots; guarded by the
 *           `published` cell: the slot of a message with sequence s is
 *           valid at a reader once the owner's published > s;
 *   view    optionally, an opaque region (the group manager's row), pushed
 *           whole with a version and a checksum, so a reader accepts only
 *           whole copies, each newer than the last.
 *
 * Guards are written after their data, never in the same write, and the
 * order is guaranteed, not assumed: when the transport places writes in
 * posting order (FI_ORDER_WAW) the guard follows the data at once;
 * otherwise the data write must complete before the guard is posted.
 *
 * Predicates (a condition over the table and a trigger) are evaluated by
 * whoever drives progress, never by a thread of their own.
 *
 * Not thread-safe: the caller serialises every call (the module's lock).
 */
#ifndef RDMC_SST_H
#define RDMC_SST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coll/core/rdmc_transport.h"

typedef enum rdmc_sst_field {
    RDMC_SST_HEARTBEAT,   /* bumped every heartbeat period */
    RDMC_SST_RECEIVED,    /* collectives 0..received-1 are here, contiguously */
    RDMC_SST_DELIVERED,   /* collectives 0..delivered-1 have completed */
    RDMC_SST_PUBLISHED,   /* guard: own small messages with seq < published are in the slots */
    RDMC_SST_NFIELDS
} rdmc_sst_field_t;

/* The heartbeat of a member that is leaving (communicator freed). */
#define RDMC_SST_LEAVING UINT64_MAX

typedef struct rdmc_sst_cell {
    uint64_t value;
    uint64_t check;   /* ~value when the cell is whole */
} rdmc_sst_cell_t;

typedef struct rdmc_sst_slot_header {
    uint64_t seq;
    uint32_t offset;  /* of the message in the row's ring of message bytes */
    uint32_t len;
    uint32_t check;   /* rdmc_sst_slot_check(seq, offset, len) */
    uint32_t zero;
} rdmc_sst_slot_header_t;

typedef enum rdmc_sst_pred_kind {
    RDMC_SST_ONE_TIME,    /* removed once it fired */
    RDMC_SST_RECURRENT,   /* fires at every evaluation where it holds */
    RDMC_SST_TRANSITION,  /* fires when it goes from false to true */
} rdmc_sst_pred_kind_t;

typedef struct rdmc_sst rdmc_sst_t;
typedef bool (*rdmc_sst_pred_fn_t)(const rdmc_sst_t *sst, void *arg);
typedef void (*rdmc_sst_trigger_fn_t)(rdmc_sst_t *sst, void *arg);

typedef struct rdmc_sst_params {
    rdmc_transport_t *tp;
    int n;                  /* members */
    int me;
    unsigned nslots;        /* small-message slots per row */
    size_t slot_payload;    /* largest small message */
    bool force_fence;       /* complete data before guards even on ordered transports */
    size_t view_bytes;      /* size of the view region (0: none) */
    /* A failed write to a peer marks that peer failed (for the failure
     * detector) instead of making the whole table unusable. */
    bool tolerate_peer_errors;
} rdmc_sst_params_t;

#define RDMC_SST_MAX_PREDICATES 16

/* Allocate the table (zeroed) and expose it as the transport's window; blob
 * (RDMC_WINDOW_BLOB bytes) is for the peers' rdmc_sst_attach. */
int rdmc_sst_create(const rdmc_sst_params_t *params, rdmc_sst_t **sst_p, void *blob,
                    size_t *blob_len);
int rdmc_sst_attach(rdmc_sst_t *sst, int member, const void *blob, size_t blob_len);
/* Only once the transport is closed (posted writes point into the table). */
void rdmc_sst_destroy(rdmc_sst_t *sst);

size_t rdmc_sst_row_bytes(const rdmc_sst_t *sst);
int rdmc_sst_members(const rdmc_sst_t *sst);
int rdmc_sst_me(const rdmc_sst_t *sst);
uint64_t rdmc_sst_writes(const rdmc_sst_t *sst);   /* one-sided writes posted so far */

/* Members whose rows count (minimums, slot reuse) and to whom we push: all
 * at first.  A member a view change removed is taken out for good. */
void rdmc_sst_remove(rdmc_sst_t *sst, int member);
bool rdmc_sst_is_live(const rdmc_sst_t *sst, int member);
/* Did a write to this peer fail (tolerate_peer_errors)? */
bool rdmc_sst_peer_failed(const rdmc_sst_t *sst, int member);

/* The last whole value of a member's cell (our own: the current one). */
uint64_t rdmc_sst_get(const rdmc_sst_t *sst, int member, rdmc_sst_field_t field);
/* The minimum of a field over the live members (e.g. stability: RECEIVED). */
uint64_t rdmc_sst_min(const rdmc_sst_t *sst, rdmc_sst_field_t field);
/* How a change of our own cell travels. */
typedef enum rdmc_sst_push {
    RDMC_SST_LAZY,     /* with the next push (or heartbeat) */
    RDMC_SST_PUSH,     /* at the next flush, without waking the peers */
    RDMC_SST_NOTIFY,   /* at the next flush, waking the peers' progress */
} rdmc_sst_push_t;

/* Set our own cell; monotonic fields only grow. */
void rdmc_sst_set(rdmc_sst_t *sst, rdmc_sst_field_t field, uint64_t value, rdmc_sst_push_t how);

/* Small messages.  The slot for seq at its root is free again once every
 * member has received seq - nslots. */
bool rdmc_sst_slot_free(const rdmc_sst_t *sst, uint64_t seq);
/* Our slot for seq, to fill with up to slot_payload bytes and publish
 * before the next slot_buffer or publish (the bytes go into our ring right
 * after the previous message). */
void *rdmc_sst_slot_buffer(rdmc_sst_t *sst, uint64_t seq);
/* The slot for seq is filled with len bytes: publish it (with every earlier
 * one) at the next flush.  seqs must grow.  len RDMC_SST_SLOT_ENGINE marks
 * a message that travels another way (the engine): a header, no bytes. */
#define RDMC_SST_SLOT_ENGINE UINT32_MAX
void rdmc_sst_publish(rdmc_sst_t *sst, uint64_t seq, uint32_t len);
/* A member's message seq: NULL while not yet published; otherwise its
 * bytes (*len may be RDMC_SST_SLOT_ENGINE), or NULL with *error set when
 * the slot is malformed (a wrong sequence number or length). */
const void *rdmc_sst_slot_read(const rdmc_sst_t *sst, int member, uint64_t seq, uint32_t *len,
                               const char **error);
uint32_t rdmc_sst_slot_check(uint64_t seq, uint32_t offset, uint32_t len);

/* Post whatever our row owes the peers.  Returns 0, or a negative code when
 * a write failed (the table is unusable from then on). */
int rdmc_sst_flush(rdmc_sst_t *sst);
/* Does a flush have work it could not post yet (refused, or waiting for a
 * completion)? */
bool rdmc_sst_flush_pending(const rdmc_sst_t *sst);

/* The view region of our own row (view_bytes): change it in place, then
 * push it; the next flush sends the whole region to every live peer, one
 * write at a time per peer. */
void *rdmc_sst_view_region(rdmc_sst_t *sst);
void rdmc_sst_view_push(rdmc_sst_t *sst);
/* Copy member's region into out (view_bytes) when a whole copy newer than
 * *version_p is there (then *version_p moves on); false otherwise. */
bool rdmc_sst_view_read(const rdmc_sst_t *sst, int member, void *out, uint64_t *version_p);

/* Predicates.  add returns a handle (>= 0) or -1 when the table is full. */
int rdmc_sst_predicate_add(rdmc_sst_t *sst, rdmc_sst_pred_kind_t kind, rdmc_sst_pred_fn_t pred,
                           rdmc_sst_trigger_fn_t trigger, void *arg);
void rdmc_sst_predicate_remove(rdmc_sst_t *sst, int handle);
/* Evaluate every predicate once, running the triggers of those that hold;
 * returns how many fired.  Triggers may add and remove predicates. */
int rdmc_sst_evaluate(rdmc_sst_t *sst);

#endif
