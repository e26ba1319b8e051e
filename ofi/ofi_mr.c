/*
 * Memory registration: the registrations a provider with FI_MR_LOCAL needs
 * for the buffers it sends from and receives into, kept in the endpoint's
 * cache (ofi_mr_cache.h), and the one-off registrations of SST windows.
 */
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_errno.h>

#include "ofi_internal.h"
#include "rdmc_log.h"

/* Keys we choose ourselves (providers without FI_MR_PROV_KEY) must differ
 * across every registration of the domain. */
static uint64_t next_mr_key = 1;

int rdmc_ofi_mr_open(rdmc_ofi_ep_t *ep, struct fid_ep *bind_to, const void *addr, size_t len,
                     uint64_t access, struct fid_mr **mr_p)
{
    uint64_t key = __atomic_fetch_add(&next_mr_key, 1, __ATOMIC_RELAXED);
    struct fid_mr *mr;
    int rc;

    rc = fi_mr_reg(ep->fab->domain, addr, len, access, 0, key, 0, &mr, NULL);
    if (rc != 0) {
        rdmc_log(1, "fi_mr_reg of %zu bytes failed: %s", len, fi_strerror(-rc));
        return rc;
    }
    if (ep->fab->info->domain_attr->mr_mode & FI_MR_ENDPOINT) {
        rc = fi_mr_bind(mr, &bind_to->fid, 0);
        if (rc == 0) {
            rc = fi_mr_enable(mr);
        }
        if (rc != 0) {
            rdmc_log(1, "binding a registration to the endpoint failed: %s", fi_strerror(-rc));
            fi_close(&mr->fid);
            return rc;
        }
    }
    *mr_p = mr;
    return 0;
}

static int cache_register(void *ctx, const void *addr, size_t len, void **handle_p, void **desc_p)
{
    rdmc_ofi_ep_t *ep = ctx;
    struct fid_mr *mr;
    int rc;

    rc = rdmc_ofi_mr_open(ep, ep->ep, addr, len, FI_SEND | FI_RECV, &mr);
    if (rc != 0) {
        return rc;
    }
    *handle_p = mr;
    *desc_p = fi_mr_desc(mr);
    return 0;
}

static void cache_deregister(void *ctx, void *handle)
{
    (void)ctx;
    fi_close(&((struct fid_mr *)handle)->fid);
}

void rdmc_ofi_mr_cache_init(rdmc_ofi_ep_t *ep)
{
    rdmc_mr_cache_init(&ep->mr_cache, cache_register, cache_deregister, ep);
}

void *rdmc_ofi_mem_desc(rdmc_ofi_ep_t *ep, const void *buf, size_t len)
{
    return ep->fab->mr_local ? rdmc_mr_cache_desc(&ep->mr_cache, buf, len) : NULL;
}

int rdmc_ofi_mem_acquire(rdmc_ofi_ep_t *ep, const void *buf, size_t len, void **handle_p)
{
    rdmc_mr_entry_t *entry;
    uint64_t generation;
    int rc;

    *handle_p = NULL;
    if (!ep->fab->mr_local || len == 0) {
        return 0;
    }
    generation = __atomic_load_n(&rdmc_ofi_released_generation, __ATOMIC_ACQUIRE);
    if (generation != ep->seen_generation) {
        rdmc_mr_cache_forget(&ep->mr_cache);
        ep->seen_generation = generation;
    }
    rc = rdmc_mr_cache_acquire(&ep->mr_cache, buf, len, &entry);
    if (rc == 0) {
        *handle_p = entry;
    }
    return rc;
}

void rdmc_ofi_mem_release(rdmc_ofi_ep_t *ep, void *handle)
{
    if (handle != NULL) {
        rdmc_mr_cache_release(&ep->mr_cache, handle);
    }
}

uint64_t rdmc_ofi_released_generation;

void rdmc_ofi_memory_released(const void *addr, size_t len)
{
    (void)addr;
    (void)len;
    __atomic_add_fetch(&rdmc_ofi_released_generation, 1, __ATOMIC_RELEASE);
}
