#include "sst_world.h"

#include <mpi.h>
#include <stdlib.h>
#include <string.h>

typedef struct address {
    uint32_t addr_len, window_len, channel;
    uint8_t addr[RDMC_OFI_MAX_ADDR];
    uint8_t window[RDMC_WINDOW_BLOB];
} address_t;

const char *sst_world_open(const rdmc_ofi_request_t *req, rdmc_sst_params_t *params,
                           sst_world_t *w)
{
    address_t mine, *all;
    rdmc_ofi_ep_t *ep;
    const char *why = NULL;
    size_t len;
    int n, rank;

    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    memset(&mine, 0, sizeof(mine));
    all = calloc((size_t)n, sizeof(*all));
    if (all == NULL || rdmc_ofi_fabric_get(req, &w->fab) != 0 ||
        rdmc_ofi_ep_get(w->fab, false, &ep) != 0 ||
        rdmc_ofi_channel_open(ep, n, &w->channel) != 0) {
        free(all);
        return "the provider is unavailable";
    }
    w->tp = rdmc_ofi_channel_transport(w->channel);
    params->tp = w->tp;
    if (w->use_shm_window) {
        if (rdmc_shm_window_open(n, rank, &w->shm_window) != 0) {
            free(all);
            return "no shared-memory window";
        }
        params->tp = rdmc_shm_window_transport(w->shm_window);
    }
    params->n = n;
    params->me = rank;
    len = sizeof(mine.addr);
    rdmc_ofi_ep_address(ep, mine.addr, &len);
    mine.addr_len = (uint32_t)len;
    mine.channel = rdmc_ofi_channel_id(w->channel);
    len = sizeof(mine.window);
    if (rdmc_sst_create(params, &w->sst, mine.window, &len) != 0) {
        free(all);
        return "cannot create the SST";
    }
    mine.window_len = (uint32_t)len;
    MPI_Allgather(&mine, sizeof(mine), MPI_BYTE, all, sizeof(mine), MPI_BYTE, MPI_COMM_WORLD);
    for (int r = 0; r < n && why == NULL; r++) {
        if (rdmc_ofi_channel_set_peer(w->channel, r, all[r].addr, all[r].addr_len,
                                      all[r].channel) != 0 ||
            rdmc_sst_attach(w->sst, r, all[r].window, all[r].window_len) != 0) {
            why = "cannot attach a peer";
        }
    }
    free(all);
    MPI_Barrier(MPI_COMM_WORLD);
    return why;
}

void sst_world_close(sst_world_t *w)
{
    rdmc_ofi_close_endpoints();
    rdmc_ofi_channel_close(w->channel);
    rdmc_shm_window_close(w->shm_window);
    rdmc_sst_destroy(w->sst);
    rdmc_ofi_finalize();
    rdmc_shm_finalize();
}
