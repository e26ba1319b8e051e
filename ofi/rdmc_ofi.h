/*
 * ofi/: everything that touches libfabric.
 *
 * A fabric (fabric + domain of one provider) is opened once per process and
 * shared; each communicator gets its own endpoint, completion queue and
 * address vector, and talks to the engine through rdmc_transport_t.
 */
#ifndef RDMC_OFI_H
#define RDMC_OFI_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "rdmc_transport.h"

#define RDMC_OFI_MAX_ADDR 256

typedef struct rdmc_ofi_fabric rdmc_ofi_fabric_t;
typedef struct rdmc_ofi_ep rdmc_ofi_ep_t;

typedef struct rdmc_ofi_request {
    const char *provider;   /* "auto" (or "") or a name as FI_PROVIDER spells it */
    const char *domain;     /* a libfabric domain name, or "" for the nearest NIC */
    bool all_local;         /* every rank of the communicator is on this node */
} rdmc_ofi_request_t;

/* Find or open the fabric for a request.  Fabrics stay open until
 * rdmc_ofi_finalize(). */
int rdmc_ofi_fabric_get(const rdmc_ofi_request_t *req, rdmc_ofi_fabric_t **fab_p);

/* "shm", "tcp;ofi_rxm" ...; and the domain, "lo", "mlx5_0" ... */
const char *rdmc_ofi_fabric_provider(const rdmc_ofi_fabric_t *fab);
const char *rdmc_ofi_fabric_domain(const rdmc_ofi_fabric_t *fab);

/* An endpoint for a communicator of nranks ranks. */
int rdmc_ofi_ep_open(rdmc_ofi_fabric_t *fab, int nranks, rdmc_ofi_ep_t **ep_p);
/* For failure handling: small messages are sent with completions instead
 * of injected, so that no failure goes unseen, and once an operation with a
 * peer failed nothing more is posted to it (-FI_ECONNRESET). */
int rdmc_ofi_ep_set_failure_safe(rdmc_ofi_ep_t *ep);
/* This endpoint's address, to be exchanged with the peers. */
int rdmc_ofi_ep_address(rdmc_ofi_ep_t *ep, void *buf, size_t *len_p);
int rdmc_ofi_ep_set_peer(rdmc_ofi_ep_t *ep, int rank, const void *addr, size_t len);
/* Every rank has set every peer: names used to find us can go. */
void rdmc_ofi_ep_connected(rdmc_ofi_ep_t *ep);
rdmc_transport_t *rdmc_ofi_ep_transport(rdmc_ofi_ep_t *ep);
/* The lock under which the caller runs progress(): wait() then runs
 * completions only while holding it (and never blocks on it). */
void rdmc_ofi_ep_set_progress_lock(rdmc_ofi_ep_t *ep, pthread_mutex_t *lock);
/* Closing cancels whatever is still posted. */
void rdmc_ofi_ep_close(rdmc_ofi_ep_t *ep);

/* Memory [addr, addr+len) is being returned to the system (hook). */
void rdmc_ofi_memory_released(const void *addr, size_t len);
/* Does any open fabric need buffers registered (so the hook matters)? */
bool rdmc_ofi_registration_needed(void);

/* Close every endpoint's cache and every fabric. */
void rdmc_ofi_finalize(void);

#endif
