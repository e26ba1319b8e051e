/*
 * Choosing a provider and a domain, and the process-wide list of opened
 * fabrics.
 *
 * "auto" means shm when every rank of the communicator is on this node,
 * otherwise the first provider in {verbs, efa, tcp, sockets} that offers
 * reliable datagram endpoints with tagged messages and RMA.  Among several
 * domains (NICs) of that provider, the one nearest to the rank's cores.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rdma/fi_errno.h>

#include "ofi_internal.h"
#include "ofi_topology.h"
#include "rdmc_log.h"

#define MAX_DOMAINS 16

static rdmc_ofi_fabric_t *fabrics;
/* Held to read or change the list and its endpoints, never while libfabric
 * opens something: other threads' progress walks the list, and the first
 * opening of a process takes 100-300 ms. */
static pthread_mutex_t fabrics_lock = PTHREAD_MUTEX_INITIALIZER;
/* Held while a fabric or an endpoint opens: one opening at a time. */
static pthread_mutex_t opening_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const remote_order[] = { "verbs", "efa", "tcp", "sockets", NULL };
static const char *const local_order[] = { "shm", "verbs", "efa", "tcp", "sockets", NULL };

/* rxm over tcp shares receive buffers of 16 KiB among all of a process's
 * connections; 4096 of them by default (FI_OFI_RXM_MSG_RX_SIZE), 64 MiB
 * that fi_enable allocates and touches.  That cost 120 ms of CPU per rank
 * at the first broadcast (the first one at 4 emulated hosts x 2 ranks took
 * 2.8 s, with 256 buffers 1.2 s), 64 MiB of memory per rank, and the next
 * broadcast or two were slow too (227-317 ms at 16 MiB against 144).  256
 * (4 MiB) hold 16 pieces in flight from each of 16 peers; a peer past that
 * waits in TCP's flow control, as with any eager buffers. */
#define RXM_MSG_RX_SIZE "256"
/* rxm's eager limit (16 KiB by default; what it means over tcp:
 * ofi_pieces.c).  At 64 KiB rdmc's blocks between nodes (at most 60 KiB,
 * rdmc_blocksize.c) go whole, one message each instead of four: 8 emulated
 * hosts x 1 at 1 Gbit/s took 153-167 ms for 16 MiB against 195-244 in
 * pieces, 611-629 for 64 MiB against 797-815; 4 hosts x 2 145 against 151.
 * Open MPI's own libfabric components leave tcp out by default. */
#define RXM_EAGER_LIMIT "65536"

void rdmc_ofi_preset_provider_params(void)
{
    (void)setenv("FI_OFI_RXM_MSG_RX_SIZE", RXM_MSG_RX_SIZE, 0);
    (void)setenv("FI_OFI_RXM_EAGER_LIMIT", RXM_EAGER_LIMIT, 0);
}

static bool is_auto(const char *provider)
{
    return provider == NULL || provider[0] == '\0' || strcmp(provider, "auto") == 0;
}

/* ordered: also ask for writes placed in posting order (the SST's guards
 * rely on it where offered; elsewhere it fences with completions). */
static struct fi_info *make_hints(const char *provider, bool ordered)
{
    struct fi_info *hints = fi_allocinfo();

    if (hints == NULL) {
        return NULL;
    }
    hints->caps = FI_TAGGED | FI_RMA | FI_READ | FI_WRITE | FI_REMOTE_READ | FI_REMOTE_WRITE;
    hints->mode = FI_CONTEXT | FI_CONTEXT2;
    hints->ep_attr->type = FI_EP_RDM;
    hints->domain_attr->threading = FI_THREAD_SAFE;
    hints->domain_attr->mr_mode = FI_MR_LOCAL | FI_MR_VIRT_ADDR | FI_MR_ALLOCATED |
                                  FI_MR_PROV_KEY | FI_MR_ENDPOINT;
    hints->fabric_attr->prov_name = strdup(provider);
    if (ordered) {
        hints->tx_attr->msg_order = FI_ORDER_WAW;
        hints->rx_attr->msg_order = FI_ORDER_WAW;
    }
    return hints;
}

/* The provider's entries, one per domain, in libfabric's order of preference. */
static int list_domains(const char *provider, struct fi_info **list_p,
                        struct fi_info *domains[MAX_DOMAINS], int *count_p)
{
    struct fi_info *list = NULL;
    int count = 0;
    int rc = -FI_ENODATA;

    for (int ordered = 1; ordered >= 0 && rc != 0; ordered--) {
        struct fi_info *hints = make_hints(provider, ordered);
        if (hints == NULL || hints->fabric_attr->prov_name == NULL) {
            fi_freeinfo(hints);
            return -ENOMEM;
        }
        rc = fi_getinfo(RDMC_OFI_API_VERSION, NULL, NULL, 0, hints, &list);
        fi_freeinfo(hints);
    }
    if (rc != 0) {
        return rc;
    }
    for (struct fi_info *i = list; i != NULL && count < MAX_DOMAINS; i = i->next) {
        bool seen = false;
        for (int d = 0; d < count; d++) {
            seen = seen || strcmp(domains[d]->domain_attr->name, i->domain_attr->name) == 0;
        }
        if (!seen) {
            domains[count++] = i;
        }
    }
    *list_p = list;
    *count_p = count;
    return 0;
}

static struct fi_info *choose_domain(struct fi_info *domains[], int count,
                                     const char *wanted, char *why, size_t why_len)
{
    rdmc_nic_candidate_t cands[MAX_DOMAINS];

    if (wanted != NULL && wanted[0] != '\0') {
        for (int d = 0; d < count; d++) {
            if (strcmp(domains[d]->domain_attr->name, wanted) == 0) {
                snprintf(why, why_len, "%s (as requested)", wanted);
                return domains[d];
            }
        }
        return NULL;
    }
    for (int d = 0; d < count; d++) {
        struct fid_nic *nic = domains[d]->nic;
        memset(&cands[d], 0, sizeof(cands[d]));
        cands[d].domain = domains[d]->domain_attr->name;
        if (nic != NULL && nic->bus_attr != NULL && nic->bus_attr->bus_type == FI_BUS_PCI) {
            const struct fi_pci_attr *pci = &nic->bus_attr->attr.pci;
            cands[d].has_pci = true;
            cands[d].pci_domain = pci->domain_id;
            cands[d].pci_bus = pci->bus_id;
            cands[d].pci_device = pci->device_id;
            cands[d].pci_function = pci->function_id;
        }
    }
    return domains[rdmc_topology_pick_nic(cands, count, why, why_len)];
}

/* Open fabric and domain for the first usable provider of the request. */
static int fabric_open(const rdmc_ofi_request_t *req, rdmc_ofi_fabric_t *fab)
{
    const char *const *order = req->all_local ? local_order : remote_order;
    const char *single[2] = { req->provider, NULL };
    char why[256] = "";
    int rc = -FI_ENODATA;

    if (!is_auto(req->provider)) {
        order = single;
    }
    for (; *order != NULL; order++) {
        struct fi_info *list = NULL, *domains[MAX_DOMAINS], *chosen;
        int count = 0;
        rc = list_domains(*order, &list, domains, &count);
        if (rc != 0 || count == 0) {
            rdmc_log(10, "provider %s: not usable (%s)", *order, fi_strerror(-rc));
            fi_freeinfo(list);
            rc = rc ? rc : -FI_ENODATA;
            continue;
        }
        chosen = choose_domain(domains, count, req->domain, why, sizeof(why));
        if (chosen == NULL) {
            rdmc_log(1, "provider %s has no domain named %s", *order, req->domain);
            fi_freeinfo(list);
            rc = -FI_ENODATA;
            continue;
        }
        fab->info = fi_dupinfo(chosen);
        fi_freeinfo(list);
        if (fab->info == NULL) {
            return -FI_ENOMEM;
        }
        break;
    }
    if (fab->info == NULL) {
        return rc;
    }

    rc = fi_fabric(fab->info->fabric_attr, &fab->fabric, NULL);
    if (rc != 0) {
        rdmc_log(1, "fi_fabric(%s) failed: %s", fab->info->fabric_attr->prov_name,
                 fi_strerror(-rc));
        goto err_free_info;
    }
    rc = fi_domain(fab->fabric, fab->info, &fab->domain, NULL);
    if (rc != 0) {
        rdmc_log(1, "fi_domain(%s) failed: %s", fab->info->domain_attr->name, fi_strerror(-rc));
        goto err_close_fabric;
    }
    fab->mr_local = (fab->info->domain_attr->mr_mode & FI_MR_LOCAL) != 0;
    rdmc_log(1, "using provider %s, domain %s; one-sided writes %s",
             fab->info->fabric_attr->prov_name, why,
             (fab->info->tx_attr->msg_order & FI_ORDER_WAW) ? "ordered (FI_ORDER_WAW)"
                                                           : "unordered: guards wait for completions");
    return 0;

err_close_fabric:
    fi_close(&fab->fabric->fid);
err_free_info:
    fi_freeinfo(fab->info);
    fab->info = NULL;
    return rc;
}

static bool fabric_answers(const rdmc_ofi_fabric_t *fab, const rdmc_ofi_request_t *req)
{
    const char *provider = is_auto(req->provider) ? "auto" : req->provider;
    const char *domain = req->domain ? req->domain : "";

    return strcmp(fab->req_provider, provider) == 0 && strcmp(fab->req_domain, domain) == 0 &&
           (!is_auto(req->provider) || fab->req_all_local == req->all_local);
}

/* The fabric answering req, if open.  The list only grows until
 * rdmc_ofi_finalize(), so the pointer stays good. */
static rdmc_ofi_fabric_t *find_fabric(const rdmc_ofi_request_t *req)
{
    rdmc_ofi_fabric_t *fab;

    pthread_mutex_lock(&fabrics_lock);
    for (fab = fabrics; fab != NULL && !fabric_answers(fab, req); fab = fab->next) {
    }
    pthread_mutex_unlock(&fabrics_lock);
    return fab;
}

/* Under opening_lock. */
static int add_fabric(const rdmc_ofi_request_t *req, rdmc_ofi_fabric_t **fab_p)
{
    rdmc_ofi_fabric_t *fab = calloc(1, sizeof(*fab));
    int rc;

    if (fab == NULL) {
        return -FI_ENOMEM;
    }
    snprintf(fab->req_provider, sizeof(fab->req_provider), "%s",
             is_auto(req->provider) ? "auto" : req->provider);
    snprintf(fab->req_domain, sizeof(fab->req_domain), "%s", req->domain ? req->domain : "");
    fab->req_all_local = req->all_local;
    rc = fabric_open(req, fab);
    if (rc != 0) {
        free(fab);
        return rc;
    }
    pthread_mutex_lock(&fabrics_lock);
    fab->next = fabrics;
    fabrics = fab;
    pthread_mutex_unlock(&fabrics_lock);
    *fab_p = fab;
    return 0;
}

int rdmc_ofi_fabric_get(const rdmc_ofi_request_t *req, rdmc_ofi_fabric_t **fab_p)
{
    rdmc_ofi_fabric_t *fab = find_fabric(req);
    int rc = 0;

    if (fab == NULL) {
        pthread_mutex_lock(&opening_lock);
        fab = find_fabric(req);   /* opened while we waited? */
        if (fab == NULL) {
            rc = add_fabric(req, &fab);
        }
        pthread_mutex_unlock(&opening_lock);
    }
    if (rc == 0) {
        *fab_p = fab;
    }
    return rc;
}

static rdmc_ofi_ep_t *endpoint_of(rdmc_ofi_fabric_t *fab)
{
    rdmc_ofi_ep_t *ep;

    pthread_mutex_lock(&fabrics_lock);
    ep = fab->ep;
    pthread_mutex_unlock(&fabrics_lock);
    return ep;
}

static unsigned long long endpoints_opened;

unsigned long long rdmc_ofi_endpoints_opened(void)
{
    return __atomic_load_n(&endpoints_opened, __ATOMIC_RELAXED);
}

int rdmc_ofi_ep_get(rdmc_ofi_fabric_t *fab, bool failure_safe, rdmc_ofi_ep_t **ep_p)
{
    rdmc_ofi_ep_t *ep = endpoint_of(fab);
    int rc = 0;

    if (ep == NULL) {
        pthread_mutex_lock(&opening_lock);
        ep = endpoint_of(fab);
        if (ep == NULL && (rc = rdmc_ofi_ep_open(fab, failure_safe, &ep)) == 0) {
            pthread_mutex_lock(&fabrics_lock);
            fab->ep = ep;
            pthread_mutex_unlock(&fabrics_lock);
            __atomic_add_fetch(&endpoints_opened, 1, __ATOMIC_RELAXED);
        }
        pthread_mutex_unlock(&opening_lock);
    }
    if (rc == 0) {
        *ep_p = ep;
    }
    return rc;
}

int rdmc_ofi_open(const rdmc_ofi_request_t *req, bool failure_safe)
{
    rdmc_ofi_fabric_t *fab;
    rdmc_ofi_ep_t *ep;
    int rc = rdmc_ofi_fabric_get(req, &fab);

    return rc != 0 ? rc : rdmc_ofi_ep_get(fab, failure_safe, &ep);
}

bool rdmc_ofi_is_open(const rdmc_ofi_request_t *req)
{
    rdmc_ofi_fabric_t *fab = find_fabric(req);

    return fab != NULL && endpoint_of(fab) != NULL;
}

const char *rdmc_ofi_fabric_provider(const rdmc_ofi_fabric_t *fab)
{
    return fab->info->fabric_attr->prov_name;
}

const char *rdmc_ofi_fabric_domain(const rdmc_ofi_fabric_t *fab)
{
    return fab->info->domain_attr->name;
}

bool rdmc_ofi_registration_needed(void)
{
    bool needed = false;

    pthread_mutex_lock(&fabrics_lock);
    for (rdmc_ofi_fabric_t *fab = fabrics; fab != NULL; fab = fab->next) {
        needed = needed || fab->mr_local;
    }
    pthread_mutex_unlock(&fabrics_lock);
    return needed;
}

void rdmc_ofi_fabric_foreach(void (*fn)(rdmc_ofi_fabric_t *fab, void *arg), void *arg)
{
    pthread_mutex_lock(&fabrics_lock);
    for (rdmc_ofi_fabric_t *fab = fabrics; fab != NULL; fab = fab->next) {
        fn(fab, arg);
    }
    pthread_mutex_unlock(&fabrics_lock);
}

void rdmc_ofi_close_endpoints(void)
{
    pthread_mutex_lock(&fabrics_lock);
    for (rdmc_ofi_fabric_t *fab = fabrics; fab != NULL; fab = fab->next) {
        rdmc_ofi_ep_shut(fab->ep);
    }
    pthread_mutex_unlock(&fabrics_lock);
}

void rdmc_ofi_finalize(void)
{
    pthread_mutex_lock(&fabrics_lock);
    while (fabrics != NULL) {
        rdmc_ofi_fabric_t *fab = fabrics;
        fabrics = fab->next;
        rdmc_ofi_ep_close(fab->ep);   /* cancels whatever is still posted */
        fi_close(&fab->domain->fid);
        fi_close(&fab->fabric->fid);
        fi_freeinfo(fab->info);
        free(fab);
    }
    pthread_mutex_unlock(&fabrics_lock);
}
