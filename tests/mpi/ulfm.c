/*
 * A ULFM program (Open MPI 5, mpirun --with-ft ulfm) that loses a member in
 * the middle of a stream of broadcasts and recovers the way ULFM programs
 * do: a broadcast that fails with MPI_ERR_PROC_FAILED or MPI_ERR_REVOKED is
 * recorded as failed, the communicator is revoked and shrunk, and the
 * stream goes on among the survivors on the shrunk communicator.
 *
 *   ulfm --victims V[,W] --kill-at I[,J] [--count N] [--stop] [--dir D]
 *        [--expect-uniform] [--expect-rdmc]
 *
 * Broadcast i (1 KiB to 4 MiB) is rooted at i mod (current size).  Each
 * victim posts its broadcast (MPI_Ibcast), tests it once, and kills
 * itself; with --stop it stops itself for good instead (SIGSTOP: Open
 * MPI's runtime sees nothing, rdmc's failure detector finds it, and rdmc
 * tells Open MPI, so that the shrink leaves it out).  With --dir every
 * rank writes its pid to D/rank.R (for a script that pauses ranks), and
 * the survivors end the stopped victims before MPI_Finalize.  At the end the survivors compare, on the shrunk communicator,
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
#include "rank_pid.h"
#include "rdmc_pvars.h"

#define MAX_COUNT 64
#define MAX_VICTIMS 2

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

/* "a,b" into up to MAX_VICTIMS numbers; their count, or -1. */
static int parse_list(const char *text, int *out)
{
    int n = 0;
    char *end;

    do {
        if (n == MAX_VICTIMS) {
            return -1;
        }
        out[n++] = (int)strtol(text, &end, 10);
        if (end == text) {
            return -1;
        }
        text = *end == ',' ? end + 1 : end;
    } while (*end == ',');
    return *end == '\0' ? n : -1;
}

int main(int argc, char **argv)
{
    int victims[MAX_VICTIMS], kill_at[MAX_VICTIMS], nvictims = 0, nkills = 0, count = 20;
    int my_kill = -1, first_kill = MAX_COUNT;
    bool expect_uniform = false, expect_rdmc = false, stop = false;
    const char *dir = NULL;
    static outcome_t seen[MAX_COUNT];
    MPI_Comm comm;
    uint8_t *buf;
    int size, shrinks = 0, first_failed = -1, resumed_after = -1;
    long long carried_at_shrink = -1;
    double first_failure_s = 0, killed_s = 0;

    for (int a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--victims") == 0 && a + 1 < argc) {
            nvictims = parse_list(argv[++a], victims);
        } else if (strcmp(argv[a], "--kill-at") == 0 && a + 1 < argc) {
            nkills = parse_list(argv[++a], kill_at);
        } else if (strcmp(argv[a], "--stop") == 0) {
            stop = true;
        } else if (strcmp(argv[a], "--dir") == 0 && a + 1 < argc) {
            dir = argv[++a];
        } else if (strcmp(argv[a], "--count") == 0 && a + 1 < argc) {
            count = atoi(argv[++a]);
        } else if (strcmp(argv[a], "--expect-uniform") == 0) {
            expect_uniform = true;
        } else if (strcmp(argv[a], "--expect-rdmc") == 0) {
            expect_rdmc = true;
        } else {
            fprintf(stderr, "usage: ulfm --victims V[,W] --kill-at I[,J] [--count N] [--stop] "
                            "[--dir D] [--expect-uniform] [--expect-rdmc]\n");
            return 2;
        }
    }
    bool good = count >= 1 && count <= MAX_COUNT && nvictims >= 1 && nkills == nvictims;
    for (int v = 0; good && v < nvictims; v++) {
        good = kill_at[v] >= 0 && kill_at[v] < count && victims[v] >= 0 &&
               (v == 0 || victims[v] != victims[0]);
    }
    if (!good) {
        fprintf(stderr, "ulfm: --count 1..%d; one or two distinct victims, a --kill-at below "
                        "the count for each\n", MAX_COUNT);
        return 2;
    }
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
    for (int v = 0; v < nvictims; v++) {
        if (victims[v] == world_rank) {
            my_kill = kill_at[v];
        }
        if (kill_at[v] < first_kill) {
            first_kill = kill_at[v];
        }
    }
    if (dir != NULL) {
        rank_pid_write(dir, world_rank);
    }
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
        if (i == my_kill) {
            MPI_Request req;
            int done = 0;
            MPI_Ibcast(buf, n, MPI_BYTE, root, comm, &req);
            for (int k = 0; k < 1 && !done; k++) {
                MPI_Test(&req, &done, MPI_STATUS_IGNORE);
                usleep(500);
            }
            printf("victim %d: %s during broadcast %d at %.6f\n", world_rank,
                   stop ? "stopped for good" : "killed", i, (double)time(NULL));
            fflush(stdout);
            raise(stop ? SIGSTOP : SIGKILL);
            _exit(1);   /* continued after all: it is dead to the others */
        }
        if (i == first_kill) {
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
        resumed_after = i;
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
        if (carried_at_shrink < 0 || carried - carried_at_shrink < count - 1 - resumed_after) {
            printf("FAIL rank %d: coll/rdmc carried %lld of the %d broadcasts after the last "
                   "shrink\n",
                   world_rank, carried - carried_at_shrink, count - 1 - resumed_after);
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
    if (stop && dir != NULL) {
        /* mpirun waits for every process: end the stopped victims. */
        for (int v = 0; v < nvictims; v++) {
            int pid = rank_pid_read(dir, victims[v]);
            if (pid > 0) {
                kill(pid, SIGKILL);
            }
        }
    }
    MPI_Comm_free(&comm);
    MPI_Finalize();
    return 0;
}
