/* Definitions shared by the files of ofi/ only. */
#ifndef RDMC_OFI_INTERNAL_H
#define RDMC_OFI_INTERNAL_H

#include <pthread.h>
#include <time.h>

#include <rdma/fabric.h>
#include <rdma/fi_domain.h>

#include "coll/core/rdmc_clock.h"
#include "ofi_doorbell.h"
#include "ofi_mr_cache.h"
#include "rdmc_ofi.h"

#define RDMC_OFI_API_VERSION FI_VERSION(1, 9)

struct rdmc_ofi_fabric {
    /* The request this fabric answers, so a repeated request costs no
     * fi_getinfo. */
    char req_provider[64];
    char req_domain[64];
    bool req_all_local;

    struct fi_info *info;          /* the chosen provider and domain */
    struct fid_fabric *fabric;
    struct fid_domain *domain;
    bool mr_local;                 /* send/recv buffers must be registered */
    rdmc_ofi_ep_t *ep;             /* the process's endpoint on it, once opened */
    struct rdmc_ofi_fabric *next;
};

/* Open the process's endpoint on fab (ofi_ep.c); ofi_fabric.c keeps it. */
int rdmc_ofi_ep_open(rdmc_ofi_fabric_t *fab, bool failure_safe, rdmc_ofi_ep_t **ep_p);

/* Walk the open fabrics (ofi_fabric.c); fn runs under the list's lock. */
void rdmc_ofi_fabric_foreach(void (*fn)(rdmc_ofi_fabric_t *fab, void *arg), void *arg);

/* Bumped by the memory release hook; caches forget when it moves. */
extern uint64_t rdmc_ofi_released_generation;

/* A peer process as one endpoint knows it: inserted once, whatever number
 * of communicators it shares with us. */
typedef struct ofi_peer {
    fi_addr_t msg;                 /* its tagged-message endpoint */
    fi_addr_t rma;                 /* its one-sided-write endpoint */
    rdmc_doorbell_t doorbell;      /* mapped when it has one and we sleep on ours */
    bool failed;                   /* failure-safe: an operation with it failed */
    uint32_t addr_len;
    uint8_t addr[RDMC_OFI_MAX_ADDR];   /* its address blob: the key of the lookup */
} ofi_peer_t;

typedef struct ofi_split ofi_split_t;

/* A small message sent with a completion instead of injected, so that a
 * failure to deliver it is seen (and its peer no longer written to). */
#define OFI_QUIET_SENDS 256
#define OFI_QUIET_BYTES 64

typedef struct ofi_quiet_send {
    rdmc_req_t base;
    struct rdmc_ofi_ep *ep;
    bool used;
    uint8_t data[OFI_QUIET_BYTES];
} ofi_quiet_send_t;

/*
 * The process's endpoint on one fabric: every communicator's channel posts
 * to it.  Two libfabric endpoints share the CQ and AV: one for the
 * broadcast engine's messages, one for the SST's one-sided writes (on shm
 * a small write into a peer's queue spins on the lock that peer holds while
 * it copies a large block: measured, 5 ms of every 64 MiB broadcast at 4
 * ranks on 2 cores, with one endpoint for both).
 */
struct rdmc_ofi_ep {
    rdmc_ofi_fabric_t *fab;
    struct fid_ep *ep;             /* tagged messages (the engine) */
    struct fid_ep *sst_ep;         /* one-sided writes (the SST) */
    struct fid_cq *cq;
    struct fid_av *av;
    int wait_fd;                   /* -1: the CQ has no wait object */
    unsigned idle_waits;           /* naps since the last completion (no doorbell) */
    double last_work_ms;           /* when progress last found something */
    /* What can put an entry in the CQ: operations posted on any channel
     * (and quiet sends), and windows the peers write into with remote CQ
     * data.  With none, the CQ is read only every IDLE_POLL_MS (tcp's
     * progress costs a system call per read). */
    size_t in_flight;
    unsigned windows;
    double last_poll_ms;
    rdmc_doorbell_t doorbell;      /* ours; unused when the CQ has an fd */
    size_t inject_limit;
    size_t ordered_write_bytes;

    ofi_peer_t **peers;            /* by peer id, in insertion order */
    uint32_t npeers, peers_cap;
    uint32_t *peer_index;          /* open-addressing hash of address blobs -> id + 1 */
    uint32_t peer_index_cap;       /* a power of two, at least 2x npeers */

    rdmc_mr_cache_t mr_cache;      /* used when the provider needs FI_MR_LOCAL */
    uint64_t seen_generation;

    uint32_t next_channel;         /* channel ids handed out so far (wraps) */

    bool failure_safe;
    ofi_quiet_send_t *quiet;       /* failure-safe: sends standing in for injects */

    size_t piece_bytes;            /* messages above this, up to pieces_up_to, */
    size_t pieces_up_to;           /* go in pieces of it (ofi_pieces.c); 0: none */
    ofi_split_t *splits;           /* those messages, until they complete */
    unsigned ndeferred;            /* of them, those a progress pass must look at */
};

/* Completions run only under this lock (rdmc_ofi_set_progress_lock). */
extern pthread_mutex_t *rdmc_ofi_progress_lock;

/* "<pid>-<random>": unique to this process even when a crashed process
 * with the same pid left its shared-memory names behind (ofi_ep.c). */
const char *rdmc_ofi_instance(void);
/* A file this process made in /dev/shm, by its shm_open name: tell the
 * file hook (rdmc_ofi_set_file_hook) if the file is there. */
void rdmc_ofi_tell_shm_file(const char *shm_name);

/* ofi_ep.c: shut closes the libfabric endpoints (cancelling what is
 * posted, with no completions); close frees the rest. */
void rdmc_ofi_ep_shut(rdmc_ofi_ep_t *ep);
void rdmc_ofi_ep_close(rdmc_ofi_ep_t *ep);
int rdmc_ofi_ep_peer(rdmc_ofi_ep_t *ep, const void *addr, size_t len, uint32_t *id_p);
void rdmc_ofi_note_work(rdmc_ofi_ep_t *ep);

/* ofi_cq.c: run completions / sleep on one endpoint. */
int rdmc_ofi_ep_progress(rdmc_ofi_ep_t *ep);
void rdmc_ofi_ep_wait(rdmc_ofi_ep_t *ep, int timeout_ms);

/* ofi_mr.c */
int rdmc_ofi_mr_open(rdmc_ofi_ep_t *ep, struct fid_ep *bind_to, const void *addr, size_t len,
                     uint64_t access, struct fid_mr **mr_p);
void rdmc_ofi_mr_cache_init(rdmc_ofi_ep_t *ep);
int rdmc_ofi_mem_acquire(rdmc_ofi_ep_t *ep, const void *buf, size_t len, void **handle_p);
void rdmc_ofi_mem_release(rdmc_ofi_ep_t *ep, void *handle);
void *rdmc_ofi_mem_desc(rdmc_ofi_ep_t *ep, const void *buf, size_t len);

/*
 * A communicator's channel: its ranks' peers, the channel ids they receive
 * on, its SST window, and the operations it has posted and not yet seen
 * complete (so that closing it never frees memory a posted operation
 * points to).
 */
typedef struct ofi_window_peer {
    uint64_t addr;     /* 0-based offset unless the provider uses FI_MR_VIRT_ADDR */
    uint64_t key;
} ofi_window_peer_t;

struct rdmc_ofi_channel {
    rdmc_transport_t base;         /* first: what the engine holds */
    rdmc_ofi_ep_t *ep;
    uint32_t id;                   /* in the tags of what peers send us */
    int nranks;
    uint32_t *peer_id;             /* by rank: index into ep->peers */
    uint32_t *peer_channel;        /* by rank: the id it receives this channel on */
    bool *peer_set;

    struct fid_mr *window_mr;      /* our window (the SST), remotely writable */
    uint8_t *window_base;
    size_t window_len;
    ofi_window_peer_t *window_peers;

    rdmc_req_t *posted;            /* operations in flight (doubly linked) */
    size_t nposted;
};

/* ofi_window.c: the channel's one-sided window ops. */
int rdmc_ofi_window_expose(rdmc_transport_t *tp, void *base, size_t len, void *blob,
                           size_t *blob_len);
int rdmc_ofi_window_attach(rdmc_transport_t *tp, int peer, const void *blob, size_t blob_len);
int rdmc_ofi_window_write(rdmc_transport_t *tp, int peer, size_t offset, size_t len,
                          bool notify, rdmc_req_t *req);
void rdmc_ofi_window_close(rdmc_ofi_channel_t *ch);

/* ofi_channel.c: bookkeeping of what a channel has posted. */
void rdmc_ofi_channel_track(rdmc_ofi_channel_t *ch, rdmc_req_t *req, int peer);
void rdmc_ofi_channel_untrack(rdmc_req_t *req);
/* The peer process a post to `peer` goes to, or NULL with *rc_p:
 * -FI_EINVAL (no such rank) or -FI_ECONNRESET (refused, failure-safe). */
ofi_peer_t *rdmc_ofi_channel_target(const rdmc_ofi_channel_t *ch, int peer, int *rc_p);
ofi_peer_t *rdmc_ofi_channel_peer(const rdmc_ofi_channel_t *ch, int rank);

/* ofi_pieces.c: messages sent and received in pieces.  pieces_up_to: what
 * an endpoint of `info` uses (0: none); piece_bytes: their size, rxm's
 * eager limit; in_pieces: whether a message of len bytes goes so. */
size_t rdmc_ofi_pieces_up_to(const struct fi_info *info);
size_t rdmc_ofi_piece_bytes(void);
bool rdmc_ofi_in_pieces(const rdmc_ofi_ep_t *ep, size_t len);
/* Post req's send (is_send) or receive as pieces; addr is the peer's (or
 * FI_ADDR_UNSPEC), the rest as fi_tsenddata / fi_trecv take them. */
int rdmc_ofi_pieces_post(rdmc_ofi_channel_t *ch, bool is_send, int peer, fi_addr_t addr,
                         void *buf, size_t len, void *desc, uint64_t tag, uint64_t ignore,
                         uint64_t imm, rdmc_req_t *req);
bool rdmc_ofi_pieces_of(const rdmc_req_t *req);
/* fi_cancel for a request in pieces: 0 (it completes later, cancelled or
 * not). */
int rdmc_ofi_pieces_cancel(rdmc_req_t *req);
/* At the start of every progress pass: post deferred pieces, finish the
 * stopped messages. */
void rdmc_ofi_pieces_resume(rdmc_ofi_ep_t *ep);
/* Post no more pieces of ch's receives (and sends_too: of its sends),
 * cancel those posted; true while some of its messages wait for a progress
 * pass (to post pieces, or to finish). */
bool rdmc_ofi_pieces_stop(rdmc_ofi_channel_t *ch, bool sends_too);
/* The endpoint closes: forget what is left. */
void rdmc_ofi_pieces_free(rdmc_ofi_ep_t *ep);

#endif
