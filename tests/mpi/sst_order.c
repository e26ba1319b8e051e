/*
 * Guarded writes over a real provider: rank 0 publishes a stream of small
 * messages through its SST row as fast as its slots allow, every other rank
 * reads them the moment the guard covers them and checks every byte.  A
 * guard seen before its data (Derecho's issue #47 on TCP) shows as a wrong
 * byte or a malformed slot.  MPI only exchanges the addresses; every byte
 * of the test moves through ofi/ and membership/sst.c.
 *
 *   sst_order PROVIDER DOMAIN [MESSAGES] [fence]
 *
 * Bounded: MESSAGES (default 20000) and 60 s; each rank prints its verdict.
 */
#include <mpi.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "membership/sst.h"
#include "ofi/rdmc_ofi.h"

#define SLOTS 8
#define PAYLOAD 1024
#define TIME_LIMIT_S 60.0

typedef struct address {
    uint32_t addr_len, window_len;
    uint8_t addr[RDMC_OFI_MAX_ADDR];
    uint8_t window[RDMC_WINDOW_BLOB];
} address_t;

static uint8_t pattern(uint64_t seq, uint32_t i)
{
    return (uint8_t)(seq * 31 + i * 7 + 1);
}

static uint32_t length_of(uint64_t seq)
{
    return (uint32_t)(seq * 97 % (PAYLOAD + 1));
}

int main(int argc, char **argv)
{
    int rank, n, failures = 0, all_failures = 0;
    uint64_t messages = argc > 3 ? strtoull(argv[3], NULL, 10) : 20000, next = 0;
    rdmc_ofi_request_t req = { argc > 1 ? argv[1] : "tcp", argc > 2 ? argv[2] : "lo", false };
    rdmc_ofi_fabric_t *fab;
    rdmc_ofi_ep_t *ep;
    rdmc_sst_t *sst;
    address_t mine, *all;
    size_t len;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    all = calloc((size_t)n, sizeof(*all));
    memset(&mine, 0, sizeof(mine));
    if (rdmc_ofi_fabric_get(&req, &fab) != 0 || rdmc_ofi_ep_open(fab, n, &ep) != 0) {
        printf("sst_order rank %d: provider %s unavailable\n", rank, req.provider);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    rdmc_transport_t *tp = rdmc_ofi_ep_transport(ep);
    rdmc_sst_params_t params = { tp, n, rank, SLOTS, PAYLOAD, argc > 4, 0, false };
    len = sizeof(mine.addr);
    rdmc_ofi_ep_address(ep, mine.addr, &len);
    mine.addr_len = (uint32_t)len;
    len = sizeof(mine.window);
    if (rdmc_sst_create(&params, &sst, mine.window, &len) != 0) {
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    mine.window_len = (uint32_t)len;
    MPI_Allgather(&mine, sizeof(mine), MPI_BYTE, all, sizeof(mine), MPI_BYTE, MPI_COMM_WORLD);
    for (int r = 0; r < n; r++) {
        if (rdmc_ofi_ep_set_peer(ep, r, all[r].addr, all[r].addr_len) != 0 ||
            rdmc_sst_attach(sst, r, all[r].window, all[r].window_len) != 0) {
            MPI_Abort(MPI_COMM_WORLD, 2);
        }
    }
    MPI_Barrier(MPI_COMM_WORLD);
    rdmc_ofi_ep_connected(ep);

    double start = MPI_Wtime();
    while (MPI_Wtime() - start < TIME_LIMIT_S && failures == 0) {
        tp->ops->progress(tp);
        if (rank == 0) {
            /* Publish as far as the slots allow; done once all have read all. */
            while (next < messages && rdmc_sst_slot_free(sst, next)) {
                uint8_t *slot = rdmc_sst_slot_buffer(sst, next);
                for (uint32_t i = 0; i < length_of(next); i++) {
                    slot[i] = pattern(next, i);
                }
                rdmc_sst_publish(sst, next, length_of(next));
                next++;
                rdmc_sst_set(sst, RDMC_SST_RECEIVED, next, RDMC_SST_LAZY);
            }
            if (rdmc_sst_min(sst, RDMC_SST_RECEIVED) >= messages) {
                break;
            }
        } else {
            const char *error;
            uint32_t got;
            const uint8_t *data;
            while ((data = rdmc_sst_slot_read(sst, 0, next, &got, &error)) != NULL) {
                for (uint32_t i = 0; i < got && failures == 0; i++) {
                    if (got != length_of(next) || data[i] != pattern(next, i)) {
                        printf("FAIL sst_order rank %d: message %llu byte %u is %u, want %u "
                               "(length %u, want %u): the guard arrived before its data\n",
                               rank, (unsigned long long)next, i, data[i], pattern(next, i),
                               got, length_of(next));
                        failures++;
                    }
                }
                next++;
                rdmc_sst_set(sst, RDMC_SST_RECEIVED, next, RDMC_SST_NOTIFY);
            }
            if (error != NULL) {
                printf("FAIL sst_order rank %d: message %llu: %s\n", rank,
                       (unsigned long long)next, error);
                failures++;
            }
            if (next >= messages && !rdmc_sst_flush_pending(sst)) {
                break;
            }
        }
        if (rdmc_sst_flush(sst) != 0) {
            printf("FAIL sst_order rank %d: a write failed\n", rank);
            failures++;
        }
    }
    if (failures == 0 && next < messages) {
        printf("FAIL sst_order rank %d: only %llu of %llu messages in %.0f s\n", rank,
               (unsigned long long)next, (unsigned long long)messages, TIME_LIMIT_S);
        failures++;
    }
    /* Let the last pushes land before anyone closes. */
    for (double t = MPI_Wtime(); MPI_Wtime() - t < 0.2;) {
        tp->ops->progress(tp);
        rdmc_sst_flush(sst);
    }
    MPI_Allreduce(&failures, &all_failures, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0) {
        printf("sst_order: %llu guarded messages over %s to %d readers, %llu writes: %s\n",
               (unsigned long long)messages, rdmc_ofi_fabric_provider(fab), n - 1,
               (unsigned long long)rdmc_sst_writes(sst), all_failures ? "FAILED" : "OK");
    }
    rdmc_ofi_ep_close(ep);
    rdmc_sst_destroy(sst);
    rdmc_ofi_finalize();
    free(all);
    MPI_Finalize();
    return all_failures ? 1 : 0;
}
