/*
 * Members killed (SIGKILL) in the middle of a stream of broadcasts, under
 * mpirun --enable-recovery.  Every survivor checks its own result:
 *
 *   - every broadcast whose root survived arrived with the right bytes;
 *   - a broadcast whose root died either arrived whole or failed with
 *     RDMC_ERR_PROC_FAILED, and the later ones of a dead root failed;
 *   - MPI_Barrier completes among the survivors;
 *   - the view moved on, without the victims, within 2x the failure
 *     timeout of the kill (the view callback's clock against the victim's),
 *     or within --view-within-ms;
 *   - RDMC_Comm_shrink gives a communicator of the survivors on which the
 *     survivors compare what they saw: one outcome per broadcast, and the
 *     same bytes, at all of them;
 *   - with --idle-comms K: K duplicates of MPI_COMM_WORLD, each set up
 *     (one barrier) and then left idle during the stream, moved on without
 *     the victims too, within the same limit, and a barrier on each
 *     completes among the survivors, carried by rdmc (MPI_T) (a failure
 *     touches every communicator of the dead process, not only the busy
 *     one);
 *   - MPI_T: rdmc carried every broadcast and barrier, none was handed on;
 *     with --tree, every broadcast past the SST's slot (4 KiB) that
 *     arrived ran by levels (coll_rdmc_tree_bcasts: nodes pretended with
 *     coll_rdmc_node_sizes);
 *     with --sst shm|provider, MPI_COMM_WORLD's SST was (or was not) in
 *     shared memory (coll_rdmc_shm_sst_links).
 *
 *   failover --victims 3[,1] --kill-at I [--count N] [--timeout-ms T] [--dir D] [--stop]
 *            [--sst shm|provider] [--view-within-ms L]
 *            [--idle-comms K] [--late R:I:MS] [--tree]
 *
 * A victim posts broadcast I (MPI_Ibcast), lets it run a moment, and kills
 * itself (--stop: stops itself, SIGSTOP, and the survivors kill it once
 * they are done: a process alive but silent for longer than the failure
 * timeout is as dead to the group).  --late: rank R, alive, calls broadcast
 * I only MS ms after it could (a view change may happen meanwhile: it must
 * still see that broadcast's outcome as the others do).  Survivors print
 * "PASS rank R ..." or "FAIL rank R: ..."; mpirun's exit code means nothing
 * with recovery enabled.
 */
#include <mpi.h>

#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "membership/rdmc.h"
#include "checksum.h"
#include "rank_fail.h"
#include "rank_pid.h"
#include "rdmc_pvars.h"

#define MAX_COUNT 200
#define MAX_IDLE 1000

static const int sizes[] = { 1024, 4096, 65536, 1 << 20, 16 << 20, 3000 };
#define NSIZES ((int)(sizeof(sizes) / sizeof(sizes[0])))

static int size;
static int victims[8], nvictims;
static int kill_ats[8];            /* victims[v] dies during broadcast kill_ats[v] */
static bool stop_victims;          /* --stop: victims SIGSTOP, not SIGKILL, themselves */
static int late_rank = -1, late_at, late_ms;   /* --late R:I:MS */
static double view_at_s;           /* wall clock of the first view change */
static uint64_t last_view_id;

typedef struct outcome {
    int32_t ok;                    /* 1 arrived, 0 RDMC_ERR_PROC_FAILED */
    uint32_t checksum;
} outcome_t;

static outcome_t seen[MAX_COUNT];
static MPI_Comm idle[MAX_IDLE];
static double idle_view_at_s[MAX_IDLE];   /* wall clock of each one's first view change */
static int nidle;
static double took_s[MAX_COUNT];   /* how long each broadcast took here */

static double wall_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool is_victim(int r)
{
    for (int i = 0; i < nvictims; i++) {
        if (victims[i] == r) {
            return true;
        }
    }
    return false;
}

/* The broadcast during which victim r dies (a large number for others). */
static int kill_at_of(int r)
{
    for (int i = 0; i < nvictims; i++) {
        if (victims[i] == r) {
            return kill_ats[i];
        }
    }
    return MAX_COUNT;
}

static int root_of(int i)
{
    return (i * 3 + 1) % size;
}

static uint8_t pattern(int i, size_t b)
{
    return (uint8_t)(i * 29 + b * 7 + (b >> 10));
}

static void on_view(MPI_Comm comm, uint64_t view_id, MPI_Group joined, MPI_Group left,
                    void *arg)
{
    int nleft = 0;

    (void)comm;
    (void)joined;
    (void)arg;
    MPI_Group_size(left, &nleft);
    if (view_at_s == 0) {
        view_at_s = wall_s();
    }
    last_view_id = view_id;
    printf("rank %d: view %llu installed, %d left\n", rank, (unsigned long long)view_id, nleft);
    fflush(stdout);
}

static void on_idle_view(MPI_Comm comm, uint64_t view_id, MPI_Group joined, MPI_Group left,
                         void *arg)
{
    double *at = arg;

    (void)comm;
    (void)view_id;
    (void)joined;
    (void)left;
    if (*at == 0) {
        *at = wall_s();
    }
}

/* --idle-comms: the communicators, each linked by one barrier. */
static void make_idle_comms(void)
{
    for (int k = 0; k < nidle; k++) {
        int active = 0;
        MPI_Comm_dup(MPI_COMM_WORLD, &idle[k]);
        MPI_Comm_set_errhandler(idle[k], MPI_ERRORS_RETURN);
        if (RDMC_Comm_active(idle[k], &active) != MPI_SUCCESS || !active ||
            RDMC_Comm_set_view_callback(idle[k], on_idle_view, &idle_view_at_s[k]) !=
                MPI_SUCCESS ||
            MPI_Barrier(idle[k]) != MPI_SUCCESS) {
            fail("idle communicator %d: rdmc is not active on it", k);
        }
    }
}

/* The victim's end: its broadcast under way, then SIGKILL. */
static void die_during(int i, uint8_t *buf, size_t len, const char *dir)
{
    MPI_Request req = MPI_REQUEST_NULL;
    char path[512];
    FILE *f;
    int done = 0;

    if (rank == root_of(i)) {
        for (size_t b = 0; b < len; b++) {
            buf[b] = pattern(i, b);
        }
    }
    /* A victim the group already removed (a false suspicion) gets an
     * error here and no request: the test then fails at the survivors. */
    done = MPI_Ibcast(buf, (int)len, MPI_BYTE, root_of(i), MPI_COMM_WORLD, &req) != MPI_SUCCESS;
    for (int k = 0; k < 5 + rank * 3 && !done; k++) {
        MPI_Test(&req, &done, MPI_STATUS_IGNORE);
        usleep(200);
    }
    snprintf(path, sizeof(path), "%s/killed.%d", dir, rank);
    f = fopen(path, "w");
    if (f != NULL) {
        fprintf(f, "%.6f\n", wall_s());
        fclose(f);
    }
    if (stop_victims) {
        /* Stopped for good: alive to the kernel, silent to the group.  The
         * survivors kill it once they are done. */
        raise(SIGSTOP);
        _exit(0);
    }
    raise(SIGKILL);
}

/* No broadcast may wait longer than a view change and its re-sends need,
 * with a wide margin for a loaded machine: 20 failure timeouts. */
static void check_waits(int count, int timeout_ms)
{
    for (int i = 0; i < count; i++) {
        if (took_s[i] * 1e3 > 20.0 * timeout_ms) {
            fail("broadcast %d took %.1f s (bound %d ms)", i, took_s[i], 20 * timeout_ms);
        }
    }
}

/* A survivor's last act in --stop runs: end the stopped victims. */
static void kill_stopped(const char *dir)
{
    for (int v = 0; v < nvictims && stop_victims; v++) {
        int pid = rank_pid_read(dir, victims[v]);
        if (pid > 0) {
            kill(pid, SIGKILL);
        }
    }
}

static double kill_time(const char *dir)
{
    double first = 0;

    for (int v = 0; v < nvictims; v++) {
        char path[512];
        double t = 0;
        snprintf(path, sizeof(path), "%s/killed.%d", dir, victims[v]);
        FILE *f = fopen(path, "r");
        if (f != NULL && fscanf(f, "%lf", &t) == 1 && (first == 0 || t < first)) {
            first = t;
        }
        if (f != NULL) {
            fclose(f);
        }
    }
    return first;
}

/* One broadcast at a survivor: record and check what came. */
static void one_bcast(int i, uint8_t *buf, size_t len)
{
    int root = root_of(i), rc, cls = MPI_SUCCESS;

    if (rank == root) {
        for (size_t b = 0; b < len; b++) {
            buf[b] = pattern(i, b);
        }
    } else {
        memset(buf, 0, len);
    }
    double start = MPI_Wtime();
    rc = MPI_Bcast(buf, (int)len, MPI_BYTE, root, MPI_COMM_WORLD);
    took_s[i] = MPI_Wtime() - start;
    if (rc != MPI_SUCCESS) {
        MPI_Error_class(rc, &cls);
    }
    if (cls == RDMC_ERR_PROC_FAILED) {
        seen[i].ok = 0;
        if (!is_victim(root)) {
            fail("broadcast %d (root %d alive) failed with RDMC_ERR_PROC_FAILED", i, root);
        }
        return;
    }
    if (rc != MPI_SUCCESS) {
        char text[MPI_MAX_ERROR_STRING];
        int tlen = 0;
        MPI_Error_string(rc, text, &tlen);
        printf("rank %d: broadcast %d: %s\n", rank, i, text);
        fail("broadcast %d failed with class %d", i, cls);
        return;
    }
    seen[i].ok = 1;
    seen[i].checksum = test_checksum(buf, len);
    for (size_t b = 0; b < len; b++) {
        if (buf[b] != pattern(i, b)) {
            fail("broadcast %d: wrong byte at %zu", i, b);
            break;
        }
    }
    if (i > kill_at_of(root)) {
        fail("broadcast %d of dead root %d succeeded", i, root);
    }
}

/* Throughput of the largest broadcasts of live roots, before the kill and
 * after the view change (the one just after the kill is left out). */
static void report_throughput(int count, int kill_at)
{
    double bytes[2] = { 0, 0 }, secs[2] = { 0, 0 };

    for (int i = 0; i < count; i++) {
        if (sizes[i % NSIZES] != sizes[4] || is_victim(root_of(i)) ||
            (i >= kill_at && i <= kill_at + NSIZES)) {
            continue;
        }
        bytes[i > kill_at] += sizes[4];
        secs[i > kill_at] += took_s[i];
    }
    if (secs[0] > 0 && secs[1] > 0) {
        printf("rank %d: 16 MiB broadcasts %.0f MB/s before the failure, %.0f MB/s after\n",
               rank, bytes[0] / secs[0] / 1e6, bytes[1] / secs[1] / 1e6);
    }
}

static void parse_victims(char *list)
{
    for (char *tok = strtok(list, ","); tok != NULL && nvictims < 8; tok = strtok(NULL, ",")) {
        victims[nvictims++] = atoi(tok);
    }
}

/* One broadcast for all victims, or one each; returns the first. */
static int parse_kill_ats(char *list)
{
    int n = 0, first = MAX_COUNT;

    for (char *tok = strtok(list, ","); tok != NULL && n < 8; tok = strtok(NULL, ",")) {
        kill_ats[n] = atoi(tok);
        first = kill_ats[n] < first ? kill_ats[n] : first;
        n++;
    }
    for (int v = n; v < 8 && n > 0; v++) {
        kill_ats[v] = kill_ats[n - 1];
    }
    return first;
}

/* Survivors compare outcomes on the shrunk communicator.  Each asks
 * whether rdmc carries it before the comparison's collectives, which no
 * survivor leaves before every one has asked: a survivor that had passed
 * leaves with _exit (below), so its comm_free never reaches the others'
 * rows, and a survivor still about to ask saw it exit, suspected it and,
 * with two gone, lost its majority (CI saw that twice, node-leader and
 * idle-comms, as an ordinary user). */
static void compare_with_survivors(int count)
{
    MPI_Comm survivors;
    uint32_t mine = test_checksum((const uint8_t *)seen, sizeof(seen[0]) * (size_t)count);
    uint32_t lo = 0, hi = 0;
    int nsurv = 0, rc;

    rc = RDMC_Comm_shrink(MPI_COMM_WORLD, &survivors);
    if (rc != MPI_SUCCESS) {
        fail("RDMC_Comm_shrink returned %d", rc);
        return;
    }
    MPI_Comm_size(survivors, &nsurv);
    if (nsurv != size - nvictims) {
        fail("the shrunk communicator has %d ranks, expected %d", nsurv, size - nvictims);
    }
    /* rdmc carries the shrunk communicator too. */
    int flag = 0;
    rc = RDMC_Comm_active(survivors, &flag);
    if (!flag) {
        fail("rdmc is not active on the shrunk communicator (RDMC_Comm_active returned %d)", rc);
    }
    MPI_Allreduce(&mine, &lo, 1, MPI_UINT32_T, MPI_MIN, survivors);
    MPI_Allreduce(&mine, &hi, 1, MPI_UINT32_T, MPI_MAX, survivors);
    if (lo != hi) {
        fail("survivors saw different outcomes (%x vs %x)", lo, hi);
    }
    MPI_Comm_free(&survivors);
}

static void check_view(int timeout_ms, int limit_ms, const char *dir)
{
    uint64_t vid = 0;
    MPI_Group members, failed;
    int nmembers = 0, nfailed = 0;
    double killed = kill_time(dir);

    RDMC_Comm_get_view(MPI_COMM_WORLD, &vid, &members);
    RDMC_Comm_get_failed(MPI_COMM_WORLD, &failed);
    MPI_Group_size(members, &nmembers);
    MPI_Group_size(failed, &nfailed);
    if (vid < 1 || nmembers != size - nvictims || nfailed != nvictims) {
        fail("view %llu has %d members and %d failed", (unsigned long long)vid, nmembers, nfailed);
    }
    MPI_Group_free(&members);
    MPI_Group_free(&failed);
    if (view_at_s == 0 || killed == 0) {
        fail("no view callback (%d) or no kill time (%d)", view_at_s != 0, killed != 0);
        return;
    }
    printf("rank %d: kill -> view %.0f ms (failure timeout %d ms)\n", rank,
           (view_at_s - killed) * 1e3, timeout_ms);
    if ((view_at_s - killed) * 1e3 > limit_ms) {
        fail("the view changed %.0f ms after the kill (limit %d)", (view_at_s - killed) * 1e3,
             limit_ms);
    }
}

/* Every idle communicator moved on without the victims within limit_ms
 * of the kill, and still works among the survivors. */
static void check_idle_comms(int limit_ms, const char *dir)
{
    double killed = kill_time(dir), latest_ms = 0;
    long long barriers = rdmc_pvar_read("coll_rdmc_barriers");

    if (nidle == 0) {
        return;
    }
    for (int k = 0; k < nidle; k++) {
        MPI_Group members;
        uint64_t vid = 0;
        int nmembers = 0;
        if (MPI_Barrier(idle[k]) != MPI_SUCCESS) {
            fail("idle communicator %d: MPI_Barrier among the survivors failed", k);
            return;
        }
        RDMC_Comm_get_view(idle[k], &vid, &members);
        MPI_Group_size(members, &nmembers);
        MPI_Group_free(&members);
        if (vid < 1 || nmembers != size - nvictims || idle_view_at_s[k] == 0) {
            fail("idle communicator %d: view %llu of %d members, view callback %s", k,
                 (unsigned long long)vid, nmembers,
                 idle_view_at_s[k] != 0 ? "called" : "never called");
            return;
        }
        if ((idle_view_at_s[k] - killed) * 1e3 > latest_ms) {
            latest_ms = (idle_view_at_s[k] - killed) * 1e3;
        }
    }
    if (rdmc_pvar_read("coll_rdmc_barriers") - barriers != nidle) {
        fail("MPI_T says rdmc carried %lld of the %d barriers on idle communicators",
             rdmc_pvar_read("coll_rdmc_barriers") - barriers, nidle);
    }
    printf("rank %d: kill -> view of the last of %d idle communicators %.0f ms\n", rank, nidle,
           latest_ms);
    if (latest_ms > limit_ms) {
        fail("an idle communicator's view changed %.0f ms after the kill (limit %d)", latest_ms,
             limit_ms);
    }
}

/* --tree: the broadcasts that arrived past the SST's slot ran by levels. */
static void check_tree(int count, long long by_levels)
{
    long long want = 0;

    for (int i = 0; i < count; i++) {
        want += seen[i].ok && sizes[i % NSIZES] > 4096;
    }
    if (by_levels != want) {
        fail("MPI_T says %lld broadcasts ran by levels, want %lld", by_levels, want);
    }
}

int main(int argc, char **argv)
{
    int count = 30, kill_at = 10, timeout_ms = 1000, view_limit_ms = 0;
    const char *dir = ".", *sst = NULL;
    bool tree = false;
    uint8_t *buf;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    for (int a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--victims") == 0 && a + 1 < argc) {
            parse_victims(argv[++a]);
        } else if (strcmp(argv[a], "--kill-at") == 0 && a + 1 < argc) {
            kill_at = parse_kill_ats(argv[++a]);
        } else if (strcmp(argv[a], "--count") == 0 && a + 1 < argc) {
            count = atoi(argv[++a]);
        } else if (strcmp(argv[a], "--timeout-ms") == 0 && a + 1 < argc) {
            timeout_ms = atoi(argv[++a]);
        } else if (strcmp(argv[a], "--dir") == 0 && a + 1 < argc) {
            dir = argv[++a];
        } else if (strcmp(argv[a], "--stop") == 0) {
            stop_victims = true;
        } else if (strcmp(argv[a], "--sst") == 0 && a + 1 < argc) {
            sst = argv[++a];
        } else if (strcmp(argv[a], "--view-within-ms") == 0 && a + 1 < argc) {
            view_limit_ms = atoi(argv[++a]);
        } else if (strcmp(argv[a], "--idle-comms") == 0 && a + 1 < argc) {
            nidle = atoi(argv[++a]);
        } else if (strcmp(argv[a], "--tree") == 0) {
            tree = true;
        } else if (strcmp(argv[a], "--late") == 0 && a + 1 < argc) {
            if (sscanf(argv[++a], "%d:%d:%d", &late_rank, &late_at, &late_ms) != 3) {
                late_rank = -2;   /* refused below */
            }
        }
    }
    if (count > MAX_COUNT || kill_at >= count || nvictims == 0 || nidle < 0 ||
        nidle > MAX_IDLE || late_rank < -1 || late_ms < 0) {
        if (rank == 0) {
            fprintf(stderr,
                    "usage: failover --victims R[,R] --kill-at I [--count N<=%d] "
                    "[--idle-comms K<=%d] [--late R:I:MS]\n",
                    MAX_COUNT, MAX_IDLE);
        }
        MPI_Finalize();
        return 2;
    }
    buf = malloc((size_t)sizes[4]);
    rank_pid_write(dir, rank);
    /* MPI_T counts from a handle's allocation (rdmc_pvars.c): before the link. */
    long long shm_links_before = rdmc_pvar_read("coll_rdmc_shm_sst_links");
    /* Sets rdmc up on the communicator (collective), then the callback. */
    int active = 0;
    if (RDMC_Comm_active(MPI_COMM_WORLD, &active) != MPI_SUCCESS || !active ||
        RDMC_Comm_set_view_callback(MPI_COMM_WORLD, on_view, NULL) != MPI_SUCCESS) {
        fail("rdmc is not active on MPI_COMM_WORLD");
    }
    MPI_Barrier(MPI_COMM_WORLD);
    make_idle_comms();
    /* MPI_COMM_WORLD is linked now: its SST is where --sst says. */
    if (sst != NULL) {
        long long shm_links = rdmc_pvar_read("coll_rdmc_shm_sst_links") - shm_links_before;
        bool want_shm = strcmp(sst, "shm") == 0;
        if ((shm_links >= 1) != want_shm) {
            fail("MPI_T says %lld link(s) with the SST in shared memory, want %s", shm_links,
                 want_shm ? "MPI_COMM_WORLD's" : "none");
        }
    }
    long long bcasts = rdmc_pvar_read("coll_rdmc_bcasts");
    long long barriers = rdmc_pvar_read("coll_rdmc_barriers");
    long long fallbacks = rdmc_pvar_read("coll_rdmc_fallbacks");
    long long tree_bcasts = rdmc_pvar_read("coll_rdmc_tree_bcasts");

    for (int i = 0; i < count; i++) {
        size_t len = (size_t)sizes[i % NSIZES];
        if (i == kill_at_of(rank)) {
            die_during(i, buf, len, dir);
        }
        if (rank == late_rank && i == late_at) {
            /* Outside MPI: rdmc's progress thread beats meanwhile. */
            struct timespec late = { late_ms / 1000, (late_ms % 1000) * 1000000L };
            nanosleep(&late, NULL);
        }
        one_bcast(i, buf, len);
    }
    if (MPI_Barrier(MPI_COMM_WORLD) != MPI_SUCCESS) {
        fail("MPI_Barrier among the survivors failed");
    }
    if (rdmc_pvar_read("coll_rdmc_bcasts") - bcasts != count ||
        rdmc_pvar_read("coll_rdmc_barriers") - barriers != 1 ||
        rdmc_pvar_read("coll_rdmc_fallbacks") - fallbacks != 0) {
        fail("MPI_T says rdmc carried %lld broadcasts of %d and %lld barriers of 1, and "
             "handed on %lld",
             rdmc_pvar_read("coll_rdmc_bcasts") - bcasts, count,
             rdmc_pvar_read("coll_rdmc_barriers") - barriers,
             rdmc_pvar_read("coll_rdmc_fallbacks") - fallbacks);
    }
    if (tree) {
        check_tree(count, rdmc_pvar_read("coll_rdmc_tree_bcasts") - tree_bcasts);
    }
    check_view(timeout_ms, view_limit_ms > 0 ? view_limit_ms : 2 * timeout_ms, dir);
    check_idle_comms(view_limit_ms > 0 ? view_limit_ms : 2 * timeout_ms, dir);
    check_waits(count, timeout_ms);
    report_throughput(count, kill_at);
    compare_with_survivors(count);
    if (failures == 0) {
        printf("PASS rank %d: %d broadcasts, view %llu\n", rank, count,
               (unsigned long long)last_view_id);
    }
    free(buf);
    fflush(stdout);
    kill_stopped(dir);
    /* Open MPI 4.1's MPI_Finalize starts with a runtime fence over every
     * process the job started, dead ones included; with recovery enabled it
     * was seen to wait there from seconds to forever.  The verdict is out,
     * so leave without it (mpirun --enable-recovery accepts that). */
    _exit(failures == 0 ? 0 : 1);
}
