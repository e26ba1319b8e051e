/*
 * Busy is not dead: a stream of broadcasts of 1 KiB to 4 MiB with rotating
 * roots for a while, under failure handling, on a machine the test script
 * loads (CPU hogs, a rank stopped now and then).  Every rank checks:
 *
 *   - every broadcast returned MPI_SUCCESS with the right bytes;
 *   - nobody was suspected: the view is still the first one and nobody
 *     is listed as failed (a suspicion is final and always ends in a view
 *     change);
 *   - MPI_T: rdmc carried the broadcasts.
 *
 *   busy --seconds S --dir D
 *
 * Each rank writes its pid to D/rank.R for the script's pauser.  Rank 0
 * decides when to stop (every broadcast of 4 bytes in between carries its
 * verdict), so that every rank runs the same number.  Prints "PASS rank R"
 * or "FAIL rank R: ..." and exits 0 or 1.
 */
#include <mpi.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "membership/rdmc.h"
#include "rank_pid.h"
#include "rdmc_pvars.h"

#define MAX_BYTES (4 << 20)
/* At most this many rounds, whatever the clock says. */
#define MAX_ROUNDS 100000

static int rank, size, failures;

static void fail(const char *what, long long a, long long b)
{
    printf("FAIL rank %d: %s (%lld, %lld)\n", rank, what, a, b);
    failures++;
}

static uint8_t pattern(long round, size_t b)
{
    return (uint8_t)(round * 131 + b * 7 + (b >> 12));
}

/* One broadcast of round r: 1 KiB << 2 (r mod 7), from rank r mod size. */
static void one_round(long r, uint8_t *buf)
{
    size_t len = (size_t)1024 << (2 * (r % 7));
    int root = (int)(r % size), rc;

    if (rank == root) {
        for (size_t b = 0; b < len; b++) {
            buf[b] = pattern(r, b);
        }
    } else {
        memset(buf, 0, len);
    }
    rc = MPI_Bcast(buf, (int)len, MPI_BYTE, root, MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS) {
        fail("a broadcast failed (round, error)", r, rc);
        return;
    }
    for (size_t b = 0; b < len; b++) {
        if (buf[b] != pattern(r, b)) {
            fail("wrong byte (round, offset)", r, (long long)b);
            return;
        }
    }
}

int main(int argc, char **argv)
{
    double seconds = 60;
    const char *dir = "/tmp";
    uint8_t *buf;
    long rounds = 0;
    int stop = 0;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--seconds") == 0) {
            seconds = atof(argv[i + 1]);
        } else if (strcmp(argv[i], "--dir") == 0) {
            dir = argv[i + 1];
        }
    }
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    rank_pid_write(dir, rank);
    buf = malloc(MAX_BYTES);
    long long bcasts_before = rdmc_pvar_read("coll_rdmc_bcasts");
    double start = MPI_Wtime();

    while (!stop && rounds < MAX_ROUNDS && failures == 0) {
        one_round(rounds++, buf);
        stop = rank == 0 && MPI_Wtime() - start > seconds;
        if (MPI_Bcast(&stop, 1, MPI_INT, 0, MPI_COMM_WORLD) != MPI_SUCCESS) {
            fail("the stop flag's broadcast failed (round, -)", rounds, 0);
        }
    }

    uint64_t view_id = 1;
    MPI_Group members = MPI_GROUP_NULL, failed = MPI_GROUP_NULL;
    int nfailed = -1;
    if (RDMC_Comm_get_view(MPI_COMM_WORLD, &view_id, &members) != MPI_SUCCESS ||
        RDMC_Comm_get_failed(MPI_COMM_WORLD, &failed) != MPI_SUCCESS) {
        fail("RDMC_Comm_get_view/get_failed failed (-, -)", 0, 0);
    } else {
        MPI_Group_size(failed, &nfailed);
        if (view_id != 0 || nfailed != 0) {
            fail("a view change: someone was suspected (view id, failed)", (long long)view_id,
                 nfailed);
        }
    }
    long long carried = rdmc_pvar_read("coll_rdmc_bcasts") - bcasts_before;
    if (carried < rounds) {
        fail("MPI_T: rdmc carried fewer broadcasts than rounds (carried, rounds)", carried,
             rounds);
    }
    if (failures == 0) {
        printf("PASS rank %d: %ld rounds in %.1f s, view %llu\n", rank, rounds,
               MPI_Wtime() - start, (unsigned long long)view_id);
    }
    if (members != MPI_GROUP_NULL) {
        MPI_Group_free(&members);
    }
    if (failed != MPI_GROUP_NULL) {
        MPI_Group_free(&failed);
    }
    free(buf);
    MPI_Finalize();
    return failures == 0 ? 0 : 1;
}
