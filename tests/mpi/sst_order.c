/*
 * Guarded writes over a real provider: rank 0 publishes a stream of small
 * messages through its SST row as fast as its slots allow, every other rank
 * reads them the moment the guard covers them and checks every byte.  A
 * guard seen before its data (Derecho's issue #47 on TCP) shows as a wrong
 * byte or a malformed slot.  MPI only exchanges the addresses; every byte
 * of the test moves through ofi/ and membership/sst.c.
 *
 *   sst_order PROVIDER DOMAIN [MESSAGES] [fence|shm_window]
 *
 * shm_window: the SST's window in shared memory (ofi/shm/), the provider only
 * carrying the set-up; every byte then moves as stores into mapped rows.
 *
 * Bounded: MESSAGES (default 20000) and 60 s; each rank prints its verdict.
 */
#include <mpi.h>

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "membership/core/sst.h"
#include "ofi/rdmc_ofi.h"
#include "sst_world.h"

#define SLOTS 8
#define PAYLOAD 1024
#define TIME_LIMIT_S 60.0

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
    sst_world_t world = { .use_shm_window = argc > 4 && strcmp(argv[4], "shm_window") == 0 };
    rdmc_sst_t *sst;
    const char *why;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    rdmc_sst_params_t params = { NULL, 0, 0, SLOTS, PAYLOAD,
                                 argc > 4 && strcmp(argv[4], "fence") == 0, 0,
                                 world.use_shm_window /* as under failure handling */ };
    why = sst_world_open(&req, &params, &world);
    if (why != NULL) {
        printf("sst_order rank %d: provider %s: %s\n", rank, req.provider, why);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    rdmc_transport_t *tp = world.tp;
    sst = world.sst;

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
        if (world.use_shm_window) {
            sched_yield();   /* stores make no system call: let the other ranks run */
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
               (unsigned long long)messages,
               world.use_shm_window ? "shared memory" : rdmc_ofi_fabric_provider(world.fab), n - 1,
               (unsigned long long)rdmc_sst_writes(sst), all_failures ? "FAILED" : "OK");
    }
    sst_world_close(&world);
    MPI_Finalize();
    return all_failures ? 1 : 0;
}
