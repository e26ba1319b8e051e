/*
 * The transport seam: the only way the broadcast engine moves bytes.
 *
 * ofi/ implements it over libfabric (rdmc_ofi_*); the unit tests swap in an
 * in-process fake.  Everything is tagged messaging between the ranks of one
 * communicator: peers are named by their rank in it.  Many communicators
 * may share one endpoint underneath; each sees only its own messages.
 *
 * Status convention: 0 on success, a negative errno-style code (-FI_E*,
 * which share errno's values) on failure.  -EAGAIN from a post means "no
 * room now, progress and retry".
 */
#ifndef RDMC_TRANSPORT_H
#define RDMC_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rdmc_req rdmc_req_t;
typedef struct rdmc_transport rdmc_transport_t;

/* Called from progress when a posted operation finishes.  status is 0 or
 * negative; for receives, len is the received length and imm the sender's
 * immediate data. */
typedef void (*rdmc_req_complete_fn_t)(rdmc_req_t *req, int status, size_t len,
                                       uint64_t imm);

struct rdmc_req {
    /* Scratch space the transport owns while the operation is posted
     * (libfabric's struct fi_context2 lives here).  Keep it first. */
    void *transport_space[8];
    /* Owned by the transport too: the peer, and the channel that posted it
     * with its place in that channel's list of operations in flight. */
    int transport_peer;
    void *transport_owner;
    rdmc_req_t *transport_prev, *transport_next;
    rdmc_req_complete_fn_t complete;
};

/* Tags: the transport owns bits [RDMC_TAG_CHANNEL_SHIFT, +RDMC_TAG_CHANNEL_BITS)
 * (which communicator a message belongs to, when communicators share an
 * endpoint); a tag passed to send or recv leaves them zero. */
#define RDMC_TAG_CHANNEL_SHIFT 42
#define RDMC_TAG_CHANNEL_BITS 20

typedef struct rdmc_transport_ops {
    /* Tagged send of len bytes to `peer`, carrying 64 bits of immediate data. */
    int (*send)(rdmc_transport_t *tp, int peer, const void *buf, size_t len,
                uint64_t tag, uint64_t imm, rdmc_req_t *req);
    /* Small send with no completion: buf may be reused on return. */
    int (*inject)(rdmc_transport_t *tp, int peer, const void *buf, size_t len,
                  uint64_t tag);
    /* Tagged receive of a message from `peer` (-1: from whoever sends it);
     * bits set in `ignore` are not matched. */
    int (*recv)(rdmc_transport_t *tp, int peer, void *buf, size_t len, uint64_t tag,
                uint64_t ignore, rdmc_req_t *req);
    /* Cancel a posted receive: its completion then comes with -ECANCELED
     * (or normally, if it matched first).  NULL: not supported. */
    int (*cancel)(rdmc_transport_t *tp, rdmc_req_t *req);
    /* Run the completions that are ready; returns how many ran, or < 0. */
    int (*progress)(rdmc_transport_t *tp);
    /* Sleep until a completion may be ready or timeout_ms passes.  Called
     * only after progress() found nothing for a while. */
    void (*wait)(rdmc_transport_t *tp, int timeout_ms);
    /* Make [buf, buf+len) usable by send and recv (registering it where the
     * provider needs that) until mem_release(handle). */
    int (*mem_acquire)(rdmc_transport_t *tp, const void *buf, size_t len, void **handle_p);
    void (*mem_release)(rdmc_transport_t *tp, void *handle);

    /* Make [base, base+len) our window, writable by every peer; blob (at most
     * RDMC_WINDOW_BLOB bytes) tells a peer how to reach it.  base and len
     * are page-aligned and base is the caller's own mapping: a transport
     * that shares memory (ofi/shm/) may map its memory over it in place,
     * keeping the contents (and says so: maps_over_window); the caller's
     * munmap ends both. */
    int (*window_expose)(rdmc_transport_t *tp, void *base, size_t len, void *blob,
                         size_t *blob_len);
    int (*window_attach)(rdmc_transport_t *tp, int peer, const void *blob, size_t blob_len);
    /* Copy [offset, offset+len) of our window into the same place of peer's.
     * With req NULL, len must be <= inject_limit and no completion follows;
     * our bytes may change on return.  notify: the write wakes the peer's
     * progress (which counts it as work). */
    int (*write)(rdmc_transport_t *tp, int peer, size_t offset, size_t len, bool notify,
                 rdmc_req_t *req);
} rdmc_transport_ops_t;

#define RDMC_WINDOW_BLOB 16

struct rdmc_transport {
    const rdmc_transport_ops_t *ops;
    size_t inject_limit;   /* largest len inject() and an unsignalled write accept */
    /* Writes to one peer of up to this many bytes are placed in the order
     * they were posted (libfabric's FI_ORDER_WAW up to max_order_waw_size);
     * 0: no promise, a write must complete before a dependent one is posted. */
    size_t ordered_write_bytes;
    /* A write is placed in the peer's window before write() returns and
     * never fails once the peer is attached (shared memory): no completion
     * is needed to know it landed, and req may be NULL for any len. */
    bool immediate_writes;
    /* window_expose maps the transport's own memory over the caller's,
     * which peers may still write after the window closes: the caller must
     * unmap it, never reuse it. */
    bool maps_over_window;
};

#endif
