/* Definitions shared by the files of ofi/ only. */
#ifndef RDMC_OFI_INTERNAL_H
#define RDMC_OFI_INTERNAL_H

#include <rdma/fabric.h>
#include <rdma/fi_domain.h>

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
    struct rdmc_ofi_fabric *next;
};

/* Bumped by the memory release hook; caches forget when it moves. */
extern uint64_t rdmc_ofi_released_generation;

#endif
