/*
 * ofi/: everything that touches libfabric.
 *
 * One endpoint per fabric (provider and domain) per process, opened at the
 * first communicator that needs it and shared by all: each communicator
 * gets a channel on it (its peers, its tag bits, its SST window) and talks
 * to the engine through the channel's rdmc_transport_t.  Completions of
 * every channel come out of the endpoint's one completion queue; they run
 * only under the progress lock the caller names.
 *
 *   ofi_fabric.c   choosing a provider and domain; the open fabrics
 *   ofi_ep.c       the process endpoint: open, address, peer processes (AV)
 *   ofi_cq.c       completions and idle waits
 *   ofi_mr.c       memory registration (ofi_mr_cache.c: the cache)
 *   ofi_channel.c  a communicator's transport: messages, tags, bookkeeping
 *   ofi_window.c   a communicator's SST window: one-sided writes
 *   ofi_doorbell.c wake-ups for providers without a wait object (shm)
 *   ofi_topology.c the NIC nearest to this process (hwloc)
 */
#ifndef RDMC_OFI_H
#define RDMC_OFI_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rdmc_transport.h"

#define RDMC_OFI_MAX_ADDR 256

typedef struct rdmc_ofi_fabric rdmc_ofi_fabric_t;
typedef struct rdmc_ofi_ep rdmc_ofi_ep_t;
typedef struct rdmc_ofi_channel rdmc_ofi_channel_t;

typedef struct rdmc_ofi_request {
    const char *provider;   /* "auto" (or "") or a name as FI_PROVIDER spells it */
    const char *domain;     /* a libfabric domain name, or "" for the nearest NIC */
    bool all_local;         /* every rank of the communicator is on this node */
} rdmc_ofi_request_t;

/* Set the providers' parameters rdmc relies on, where the user did not:
 * call once, single-threaded, before this process's first use of
 * libfabric (providers read them when libfabric loads them). */
void rdmc_ofi_preset_provider_params(void);

/* Find or open the fabric for a request.  Fabrics stay open until
 * rdmc_ofi_finalize(). */
int rdmc_ofi_fabric_get(const rdmc_ofi_request_t *req, rdmc_ofi_fabric_t **fab_p);

/* "shm", "tcp;ofi_rxm" ...; and the domain, "lo", "mlx5_0" ... */
const char *rdmc_ofi_fabric_provider(const rdmc_ofi_fabric_t *fab);
const char *rdmc_ofi_fabric_domain(const rdmc_ofi_fabric_t *fab);

/* The process's endpoint on the fabric, opened on first use.  failure_safe
 * (taken from the first call): small messages are sent with completions
 * instead of injected, so that no failure goes unseen, and once an
 * operation with a peer process failed nothing more is posted to it
 * (-FI_ECONNRESET), on any channel. */
int rdmc_ofi_ep_get(rdmc_ofi_fabric_t *fab, bool failure_safe, rdmc_ofi_ep_t **ep_p);
/* Both, for a request: 0 or the first error.  Any thread; the first opening
 * of a process is slow (libfabric loads its providers), so set-up has a
 * thread do it (coll/coll_rdmc_opener.c).  Locks held meanwhile never stop
 * the progress of fabrics already open. */
int rdmc_ofi_open(const rdmc_ofi_request_t *req, bool failure_safe);
/* Is the request's fabric open, with its endpoint?  Cheap. */
bool rdmc_ofi_is_open(const rdmc_ofi_request_t *req);
/* This process's address on the endpoint, for the peers' channels. */
int rdmc_ofi_ep_address(rdmc_ofi_ep_t *ep, void *buf, size_t *len_p);
/* Told the path of every file the endpoints make in /dev/shm (the shm
 * provider's queues, the doorbells), in the thread that opens them, so
 * that the job's runtime can remove them when the process dies without
 * doing it itself (killed).  NULL: nobody is told. */
void rdmc_ofi_set_file_hook(void (*hook)(const char *path));

/* Process endpoints opened so far (one per fabric, whatever the number of
 * communicators). */
unsigned long long rdmc_ofi_endpoints_opened(void);

/* The process-wide lock under which completions run: the doorbell's
 * sleeper runs them only while holding it (and never blocks on it). */
void rdmc_ofi_set_progress_lock(pthread_mutex_t *lock);
/* Run the completions of every open endpoint; how many ran, or < 0. */
int rdmc_ofi_progress(void);
/* Sleep until a completion may be ready on some endpoint, at most
 * timeout_ms; called only after progress found nothing. */
void rdmc_ofi_wait(int timeout_ms);
/* The same while nothing of the process is under way (no collective
 * issued, none in flight, nothing due): only a peer can bring work then,
 * and its messages and writes wake the sleeper, so the sleep is not cut
 * into the short slices rdmc_ofi_wait takes for the provider's news that
 * nobody announces.  still_parked() is asked after the sleep is announced;
 * a thread that ends the parked state (seq_cst, so that one of the two
 * sees the other) then calls rdmc_ofi_wake_parked. */
void rdmc_ofi_wait_parked(int timeout_ms, bool (*still_parked)(void));
void rdmc_ofi_wake_parked(void);

/* Another source of work the sleeps must watch (ofi/shm/'s wake set: the
 * shared-memory SST's bell, node-mates' exits): fd turns readable when it has work; arm() is called before
 * the sleep and returns true when work came in meanwhile (then nobody
 * sleeps); disarm() after it.  Where the endpoint has no fd to poll (shm's
 * doorbell), sleeps are cut to short slices instead.  NULL: none.  Safe
 * while other threads sleep; a second waker is taken only after NULL. */
typedef struct rdmc_ofi_waker {
    int fd;
    bool (*arm)(void);
    void (*disarm)(void);
} rdmc_ofi_waker_t;
void rdmc_ofi_set_waker(const rdmc_ofi_waker_t *waker);
/* Progress found work outside the endpoints: keep yielding, not sleeping,
 * for the usual spell after it. */
void rdmc_ofi_note_activity(void);
/* Does the channel's endpoint sleep on a file descriptor (tcp), so that a
 * waker's fd is watched at once? */
bool rdmc_ofi_channel_sleeps_on_fd(const rdmc_ofi_channel_t *ch);

/* A channel for a communicator of nranks ranks; its id goes to the peers. */
int rdmc_ofi_channel_open(rdmc_ofi_ep_t *ep, int nranks, rdmc_ofi_channel_t **ch_p);
uint32_t rdmc_ofi_channel_id(const rdmc_ofi_channel_t *ch);
/* Rank `rank` is the process at addr (rdmc_ofi_ep_address) and receives
 * this communicator's messages on channel peer_channel. */
int rdmc_ofi_channel_set_peer(rdmc_ofi_channel_t *ch, int rank, const void *addr, size_t len,
                              uint32_t peer_channel);
rdmc_transport_t *rdmc_ofi_channel_transport(rdmc_ofi_channel_t *ch);
/* Cancel the channel's posted receives; true once nothing it posted is
 * still in flight (its sends finish on their own). */
bool rdmc_ofi_channel_quiesce(rdmc_ofi_channel_t *ch);
size_t rdmc_ofi_channel_in_flight(const rdmc_ofi_channel_t *ch);
/* Release the channel.  Memory that operations still in flight point to
 * must be kept until rdmc_ofi_finalize(). */
void rdmc_ofi_channel_close(rdmc_ofi_channel_t *ch);

/* Memory [addr, addr+len) is being returned to the system (hook). */
void rdmc_ofi_memory_released(const void *addr, size_t len);
/* Does any open fabric need buffers registered (so the hook matters)? */
bool rdmc_ofi_registration_needed(void);

/* Close every libfabric endpoint: whatever is posted is cancelled, with no
 * completion; channels may be closed after it. */
void rdmc_ofi_close_endpoints(void);
/* Close every endpoint and every fabric (after the channels). */
void rdmc_ofi_finalize(void);

#endif
