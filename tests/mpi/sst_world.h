/*
 * An SST over MPI_COMM_WORLD on a channel of this process's endpoint, for
 * the programs that use ofi/ and the SST directly (sst_order,
 * sst_write_lat), without the component.  MPI_Allgather swaps the
 * addresses, channel ids and windows.
 */
#ifndef RDMC_SST_WORLD_H
#define RDMC_SST_WORLD_H

#include "membership/core/sst.h"
#include "ofi/rdmc_ofi.h"
#include "shm/rdmc_shm.h"

typedef struct sst_world {
    bool use_shm_window;          /* set before open: the SST's window in shared memory */
    rdmc_ofi_fabric_t *fab;
    rdmc_ofi_channel_t *channel;
    rdmc_transport_t *tp;         /* the channel's (progress) */
    rdmc_shm_window_t *shm_window;
    rdmc_sst_t *sst;
} sst_world_t;

/* params->tp (the channel's, or the shared-memory window's), n and me are
 * filled in here.  0, or a message for the user. */
const char *sst_world_open(const rdmc_ofi_request_t *req, rdmc_sst_params_t *params,
                           sst_world_t *w);
/* After a barrier: nobody writes any more. */
void sst_world_close(sst_world_t *w);

#endif
