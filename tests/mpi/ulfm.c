/*
 * A ULFM program (Open MPI 5, mpirun --with-ft ulfm) that loses a member in
 * the middle of a stream of broadcasts and recovers the way ULFM programs
 * do: a broadcast that fails with MPI_ERR_PROC_FAILED or MPI_ERR_REVOKED is
 * recorded as failed, the communicator is revoked and shrunk, and the
 * stream goes on among the survivors on the shrunk communicator.
 *
 *   ulfm --victim V --kill-at I [--count N] [--expect-uniform] [--expect-rdmc]
 *
 * Broadcast i (1 KiB to 4 MiB) is rooted at i mod (current size).  The
 * victim posts broadcast I (MPI_Ibcast), tests it once, and kills
 * itself.  At the end the survivors compare, on the shrunk communicator,
 * what each broadcast gave them: delivered (with which bytes) or failed.
 * Survivors that saw different broadcasts fail agree (MPI_Allreduce on the
 * shrunk communicator) to go on after the last of them.
 * "uniform" means one outcome per broadcast at every survivor.  With
 * --expect-uniform a survivor prints FAIL when the outcomes differ (the
 * promise of rdmc's stable delivery); without, it reports them (Open MPI's
 * own broadcasts under ULFM make no such promise).  With --expect-rdmc,
 * MPI_T must show that coll/rdmc carried the broadcasts after the shrink.
 * Each survivor prints "PASS rank R ..." or "FAIL rank R: ...".
 */
#include <mpi.h>
#include <mpi-ext.h>

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "checksum.h"
#include "rdmc_pvars.h"

#define MAX_COUNT 64

static const int sizes[] = { 1024, 65536, 1 << 20, 4 << 20, 3000 };
#define NSIZES ((int)(sizeof(sizes) / sizeof(sizes[0])))

typedef struct outcome {
    int32_t delivered;    /* 1: the root's bytes; 0: failed */
    uint32_t checksum;
} outcome_t;

static int world_rank;

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint8_t pattern(int i, int b)
{
    return (uint8_t)(i * 37 + b * 11 + (b >> 9));
}

static void fail(const char *what, int i)
{
    printf("FAIL rank %d: %s (broadcast %d)\n", world_rank, what, i);
    fflush(stdout);
    _exit(1);
}

/* A failure a ULFM program recovers from. */
static bool recoverable(int rc)
{
    int cls = MPI_ERR_OTHER;

    MPI_Error_class(rc, &cls);
    return cls == MPIX_ERR_PROC_FAILED || cls == MPIX_ERR_REVOKED;
}

int main(int argc, char **argv)
{
    int victim = -1, kill_at = -1, count = 20;
    bool expect_uniform = false, expect_rdmc = false;
    static outcome_t seen[MAX_COUNT];
    MPI_Comm comm;
    uint8_t *buf;
    int size, shrinks = 0, first_failed = -1;
    long long carried_at_shrink = -1;
    double first_failure_s = 0, killed_s = 0;

    for (int a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--victim") == 0 && a + 1 < argc) {
            victim = atoi(argv[++a]);
        } else if (strcmp(argv[a], "--kill-at") == 0 && a + 1 < argc) {
            kill_at = atoi(argv[++a]);
        } else if (strcmp(argv[a], "--count") == 0 && a + 1 < argc) {
            count = atoi(argv[++a]);
        } else if (strcmp(argv[a], "--expect-uniform") == 0) {
            expect_uniform = true;
        } else if (strcmp(argv[a], "--expect-rdmc") == 0) {
            expect_rdmc = true;
        } else {
            fprintf(stderr, "usage: ulfm --victim V --kill-at I [--count N] "
                            "[--expect-uniform] [--expect-rdmc]\n");
            return 2;
        }
    }
    if (count < 1 || count > MAX_COUNT || kill_at < 0 || kill_at >= count) {
        fprintf(stderr, "ulfm: --count 1..%d, --kill-at below it\n", MAX_COUNT);
        return 2;
    }
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
    MPI_Comm_dup(MPI_COMM_WORLD, &comm);
    MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
    buf = malloc(4 << 20);
    if (buf == NULL) {
        fail("out of memory", 0);
    }

    for (int i = 0; i < count; i++) {
        int n = sizes[i % NSIZES], rank, rc;
        MPI_Comm_size(comm, &size);
        MPI_Comm_rank(comm, &rank);
        int root = i % size;

        if (rank == root) {
            for (int b = 0; b < n; b++) {
                buf[b] = pattern(i, b);
            }
        } else {
            memset(buf, 0xEE, (size_t)n);
        }
        if (world_rank == victim && i == kill_at) {
            MPI_Request req;
            int done = 0;
            MPI_Ibcast(buf, n, MPI_BYTE, root, comm, &req);
            for (int k = 0; k < 1 && !done; k++) {
                MPI_Test(&req, &done, MPI_STATUS_IGNORE);
                usleep(500);
            }
            printf("victim %d: killed during broadcast %d at %.6f\n", world_rank, i,
                   (double)time(NULL));
            fflush(stdout);
            raise(SIGKILL);
        }
        if (i == kill_at) {
            killed_s = now_s();
        }
        rc = MPI_Bcast(buf, n, MPI_BYTE, root, comm);
        if (getenv("ULFM_TRACE") != NULL) {
            fprintf(stderr, "rank %d: broadcast %d returned %d\n", world_rank, i, rc);
        }
        if (rc == MPI_SUCCESS) {
            for (int b = 0; b < n; b++) {
                if (buf[b] != pattern(i, b)) {
                    fail("wrong bytes delivered", i);
                }
            }
            seen[i] = (outcome_t){ 1, test_checksum(buf, (size_t)n) };
            continue;
        }
        if (!recoverable(rc)) {
            char text[MPI_MAX_ERROR_STRING];
            int len;
            MPI_Error_string(rc, text, &len);
            printf("FAIL rank %d: broadcast %d returned %d (%s)\n", world_rank, i, rc, text);
            fflush(stdout);
            _exit(1);
        }
        seen[i] = (outcome_t){ 0, 0 };
        if (first_failed < 0) {
            first_failed = i;
            first_failure_s = now_s();
        }
        /* ULFM's recovery: everyone stops using comm, then the survivors
         * agree on a communicator of themselves. */
        MPI_Comm shrunk;
        MPIX_Comm_revoke(comm);
        rc = MPIX_Comm_shrink(comm, &shrunk);
        if (rc != MPI_SUCCESS) {
            fail("MPIX_Comm_shrink failed", i);
        }
        MPI_Comm_free(&comm);
        comm = shrunk;
        MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
        /* Go on after the last broadcast any survivor saw fail (another
         * may have failed earlier, or only at the call after). */
        int last = i;
        if (MPI_Allreduce(&i, &last, 1, MPI_INT, MPI_MAX, comm) != MPI_SUCCESS) {
            fail("MPI_Allreduce on the shrunk communicator failed", i);
        }
        while (i < last) {
            seen[++i] = (outcome_t){ 0, 0 };
        }
        shrinks++;
        carried_at_shrink = rdmc_pvar_read("coll_rdmc_bcasts");
    }

    /* Compare every survivor's outcomes. */
    MPI_Comm_size(comm, &size);
    outcome_t *all = malloc(sizeof(seen) * (size_t)size);
    if (all == NULL) {
        fail("out of memory", count);
    }
    if (MPI_Allgather(seen, (int)sizeof(seen), MPI_BYTE, all, (int)sizeof(seen), MPI_BYTE,
                      comm) != MPI_SUCCESS) {
        fail("MPI_Allgather among the survivors failed", count);
    }
    int differ = 0, failed = 0;
    char detail[512] = "";
    for (int i = 0; i < count; i++) {
        int delivered = 0;
        bool same = true;
        for (int r = 0; r < size; r++) {
            const outcome_t *o = &all[(size_t)r * MAX_COUNT + i];
            delivered += o->delivered;
            same = same && memcmp(o, &all[i], sizeof(*o)) == 0;
        }
        failed += delivered == 0;
        if (!same) {
            differ++;
            size_t used = strlen(detail);
            snprintf(detail + used, sizeof(detail) - used, " #%d: %d of %d delivered;", i,
                     delivered, size);
        }
    }
    if (expect_uniform && differ > 0) {
        printf("FAIL rank %d: outcomes differ among the survivors:%s\n", world_rank, detail);
        fflush(stdout);
        _exit(1);
    }
    if (shrinks == 0 || failed == 0) {
        fail("no broadcast failed: the kill did not happen during the stream", count);
    }
    if (expect_rdmc) {
        long long carried = rdmc_pvar_read("coll_rdmc_bcasts");
        if (carried_at_shrink < 0 || carried - carried_at_shrink < count - 1 - first_failed) {
            printf("FAIL rank %d: coll/rdmc carried %lld of the %d broadcasts after the shrink\n",
                   world_rank, carried - carried_at_shrink, count - 1 - first_failed);
            fflush(stdout);
            _exit(1);
        }
    }
    printf("PASS rank %d: %d survivors, %s; first failure at broadcast %d, %.3f s after "
           "the victim's broadcast began here; %d shrink(s)%s%s\n",
           world_rank, size, differ ? "outcomes NOT uniform" : "outcomes uniform", first_failed,
           first_failure_s - killed_s, shrinks, differ ? ":" : "", detail);
    fflush(stdout);
    free(all);
    free(buf);
    MPI_Comm_free(&comm);
    MPI_Finalize();
    return 0;
}
