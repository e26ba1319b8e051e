/*
 * Ordered, uniform delivery through coll/rdmc: a stream of broadcasts on
 * MPI_COMM_WORLD, from one sender (rank 0) or from every rank in turn
 * (broadcast i has root i mod N: the group's total order interleaves the
 * senders), each one complete at a rank only once every rank has it
 * (coll_rdmc_delivery stable).  Rank 0 prints one line:
 *
 *   RESULT ranks=N senders=one|all size=S count=C window=W msgs_per_s=..
 *          MBps=.. lat_med_us=.. lat_p99_us=.. carried=yes|no order=same|DIFFERENT
 *
 * msgs/s: C over the time from the first send to the last delivery at the
 * last member; latency: a broadcast's send at its root to its delivery at
 * the last member, on rank 0's clock (bench_clock).  With -w W > 0 up to W
 * MPI_Ibcasts are outstanding (a pipelined stream); -w 0 uses blocking
 * MPI_Bcast.  carried: MPI_T says rdmc carried every broadcast at every
 * rank; order: every rank delivered the same sequence, in the senders'
 * order, with the right bytes.
 *
 *   ordered_bench -s SIZE -n COUNT [-w W] [-a] [-x WARMUP]
 *                 [-k VICTIM -K AT -d DIR]
 *
 * -k: rank VICTIM kills itself (SIGKILL) while broadcast AT is under way
 * (run under mpirun --enable-recovery); the survivors then report
 *
 *   FAILURE victim=R at=I gap_ms=.. kill_to_view_ms=.. delivered=.. lost=..
 *           order=same|DIFFERENT
 *
 * gap: the longest time between two consecutive deliveries at any
 * survivor; order: the survivors, on RDMC_Comm_shrink's communicator,
 * compare every broadcast's outcome and contents.
 */
#include <mpi.h>

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_clock.h"
#include "membership/rdmc.h"
#include "ordered_stats.h"
#include "rdmc_pvars.h"

typedef struct run {
    size_t size;
    int count, window, all_senders, victim, kill_at;
    const char *dir;
    double offset;           /* rank 0's clock minus ours */
    double *sent, *delivered; /* per broadcast, rank 0's clock; -1 = none */
    char *ok;                /* per broadcast: 1 delivered, 0 failed */
    uint32_t hash;           /* what this rank delivered, in order */
    int next, out_of_order;  /* after the last delivered; deliveries behind it */
} run_t;

static int rank, size;
static double view_at;       /* wall clock of the first view change */

static double now(const run_t *r)
{
    return MPI_Wtime() + r->offset;
}

static int root_of(const run_t *r, int i)
{
    return r->all_senders ? i % size : 0;
}

static uint32_t fold(uint32_t h, uint32_t v)
{
    for (int b = 0; b < 4; b++) {
        h = (h ^ ((v >> (8 * b)) & 0xff)) * 16777619u;
    }
    return h;
}

/* The root's message i: its number and root in the first 8 bytes, a byte
 * of i everywhere else (the last byte is checked). */
static void fill(uint8_t *buf, size_t len, int i, int root)
{
    uint32_t head[2] = { (uint32_t)i, (uint32_t)root };

    memset(buf, (int)(i * 31 + 7) & 0xff, len);
    memcpy(buf, head, sizeof(head));
}

static void deliver(run_t *r, int i, const uint8_t *buf, int ok)
{
    uint32_t head[2];

    r->delivered[i] = now(r);
    memcpy(head, buf, sizeof(head));
    if (ok && (head[0] != (uint32_t)i || head[1] != (uint32_t)root_of(r, i) ||
               buf[r->size - 1] != (uint8_t)((i * 31 + 7) & 0xff))) {
        ok = 0;
        fprintf(stderr, "rank %d: broadcast %d arrived wrong (number %u, root %u)\n", rank, i,
                head[0], head[1]);
        r->hash = fold(r->hash, 0xbadu);
    }
    if (ok && i < r->next) {
        r->out_of_order++; /* a later broadcast was delivered first */
    }
    if (ok) {
        r->next = i + 1;
    }
    r->ok[i] = (char)ok;
    r->hash = fold(fold(r->hash, (uint32_t)i), (uint32_t)ok);
}

static void on_view(MPI_Comm comm, uint64_t view_id, MPI_Group joined, MPI_Group left, void *arg)
{
    (void)comm;
    (void)view_id;
    (void)joined;
    (void)left;
    (void)arg;
    if (view_at == 0) {
        view_at = ordered_now();
    }
}

/* The victim: its broadcast under way a moment, then SIGKILL. */
static void die(run_t *r, MPI_Request *req)
{
    int done = 0;
    char path[512];

    for (int k = 0; k < 5 && !done; k++) {
        MPI_Test(req, &done, MPI_STATUS_IGNORE);
        usleep(200);
    }
    snprintf(path, sizeof(path), "%s/killed", r->dir);
    FILE *f = fopen(path, "w");
    if (f != NULL) {
        fprintf(f, "%.6f\n", ordered_now());
        fclose(f);
    }
    raise(SIGKILL);
}

static int failed_ok(int rc)
{
    int cls = MPI_SUCCESS;

    MPI_Error_class(rc, &cls);
    if (cls != RDMC_ERR_PROC_FAILED) {
        fprintf(stderr, "rank %d: broadcast failed with class %d\n", rank, cls);
    }
    return 0;
}

/* Blocking: one MPI_Bcast after the other. */
static void stream_blocking(run_t *r, uint8_t *buf, int first, int count)
{
    for (int i = first; i < first + count; i++) {
        int root = root_of(r, i);
        if (rank == root) {
            fill(buf, r->size, i, root);
            r->sent[i] = now(r);
        }
        int rc = MPI_Bcast(buf, (int)r->size, MPI_BYTE, root, MPI_COMM_WORLD);
        deliver(r, i, buf, rc == MPI_SUCCESS ? 1 : failed_ok(rc));
    }
}

/* Pipelined: up to W MPI_Ibcasts outstanding, broadcast i in slot i % W. */
static void stream_window(run_t *r, uint8_t **bufs, int first, int count)
{
    int w = r->window, posted = first, done = 0, outcount = 0;
    MPI_Request reqs[w];
    MPI_Status statuses[w];
    int index[w], msg[w];

    for (int s = 0; s < w; s++) {
        reqs[s] = MPI_REQUEST_NULL;
    }
    while (done < count) {
        while (posted < first + count && reqs[posted % w] == MPI_REQUEST_NULL) {
            int i = posted++, s = i % w, root = root_of(r, i);
            if (rank == root) {
                fill(bufs[s], r->size, i, root);
                r->sent[i] = now(r);
            }
            msg[s] = i;
            MPI_Ibcast(bufs[s], (int)r->size, MPI_BYTE, root, MPI_COMM_WORLD, &reqs[s]);
            if (rank == r->victim && i == r->kill_at) {
                die(r, &reqs[s]);
            }
        }
        int rc = MPI_Waitsome(w, reqs, &outcount, index, statuses);
        if (outcount == MPI_UNDEFINED) {
            break;
        }
        /* Waitsome lists them by slot: deliver them in the stream's order. */
        for (int k = 1; k < outcount; k++) {
            for (int j = k; j > 0 && msg[index[j]] < msg[index[j - 1]]; j--) {
                int t = index[j];
                MPI_Status st = statuses[j];
                index[j] = index[j - 1];
                statuses[j] = statuses[j - 1];
                index[j - 1] = t;
                statuses[j - 1] = st;
            }
        }
        for (int k = 0; k < outcount; k++) {
            int s = index[k];
            int err = rc == MPI_ERR_IN_STATUS ? statuses[k].MPI_ERROR : rc;
            deliver(r, msg[s], bufs[s], err == MPI_SUCCESS ? 1 : failed_ok(err));
            done++;
        }
    }
}

static void stream(run_t *r, uint8_t **bufs, int first, int count)
{
    if (r->window > 0) {
        stream_window(r, bufs, first, count);
    } else {
        stream_blocking(r, bufs[0], first, count);
    }
}

/* Rank 0's line for a run without failures. */
static void report(run_t *r, int warmup, double start, long long carried)
{
    int n = r->count;
    double *sent = malloc(sizeof(double) * (size_t)n);
    double *last = malloc(sizeof(double) * (size_t)n);
    double end = 0, lat_end = 0;
    uint32_t lo = 0, hi = 0;
    long long carried_min = 0;
    int bad = 0, bad_all = 0;

    for (int i = 0; i < n; i++) {
        bad += !r->ok[warmup + i];
        lat_end = r->delivered[warmup + i] > lat_end ? r->delivered[warmup + i] : lat_end;
    }
    MPI_Reduce(r->sent + warmup, sent, n, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    MPI_Reduce(r->delivered + warmup, last, n, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    MPI_Reduce(&lat_end, &end, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    MPI_Reduce(&r->hash, &lo, 1, MPI_UINT32_T, MPI_MIN, 0, MPI_COMM_WORLD);
    MPI_Reduce(&r->hash, &hi, 1, MPI_UINT32_T, MPI_MAX, 0, MPI_COMM_WORLD);
    bad += r->out_of_order;
    MPI_Reduce(&bad, &bad_all, 1, MPI_INT, MPI_SUM, 0, MPI_COMM_WORLD);
    MPI_Reduce(&carried, &carried_min, 1, MPI_LONG_LONG, MPI_MIN, 0, MPI_COMM_WORLD);
    if (rank == 0) {
        for (int i = 0; i < n; i++) {
            last[i] = (last[i] - sent[i]) * 1e6;
        }
        double secs = end - start;
        printf("RESULT ranks=%d senders=%s size=%zu count=%d window=%d secs=%.4f msgs_per_s=%.1f "
               "MBps=%.3f lat_med_us=%.1f lat_p99_us=%.1f carried=%s order=%s\n",
               size, r->all_senders ? "all" : "one", r->size, n, r->window, secs, n / secs,
               n * (double)r->size / secs / 1e6, ordered_percentile(last, n, 50),
               ordered_percentile(last, n, 99),
               carried_min == (long long)(n + warmup) ? "yes" : "no",
               lo == hi && bad_all == 0 ? "same" : "DIFFERENT");
        fflush(stdout);
    }
    free(sent);
    free(last);
}

static double kill_time(const char *dir)
{
    char path[512];
    double t = 0;

    snprintf(path, sizeof(path), "%s/killed", dir);
    FILE *f = fopen(path, "r");
    if (f != NULL) {
        if (fscanf(f, "%lf", &t) != 1) {
            t = 0;
        }
        fclose(f);
    }
    return t;
}

/* The survivors' lines after a failure run, compared on the view's
 * communicator. */
static void report_failure(run_t *r, int warmup)
{
    MPI_Comm surv;
    double gap = 0, prev = 0, gap_all = 0;
    int delivered = 0, dmin = 0, dmax = 0, srank = 0, disorder = 0;
    uint32_t lo = 0, hi = 0;

    for (int i = warmup; i < warmup + r->count; i++) {
        if (r->ok[i]) {
            if (prev > 0 && r->delivered[i] - prev > gap) {
                gap = r->delivered[i] - prev;
            }
            prev = r->delivered[i];
            delivered++;
        }
    }
    if (RDMC_Comm_shrink(MPI_COMM_WORLD, &surv) != MPI_SUCCESS) {
        printf("FAILURE rank %d: RDMC_Comm_shrink failed\n", rank);
        return;
    }
    MPI_Comm_rank(surv, &srank);
    MPI_Reduce(&gap, &gap_all, 1, MPI_DOUBLE, MPI_MAX, 0, surv);
    MPI_Reduce(&delivered, &dmin, 1, MPI_INT, MPI_MIN, 0, surv);
    MPI_Reduce(&delivered, &dmax, 1, MPI_INT, MPI_MAX, 0, surv);
    MPI_Reduce(&r->out_of_order, &disorder, 1, MPI_INT, MPI_SUM, 0, surv);
    MPI_Reduce(&r->hash, &lo, 1, MPI_UINT32_T, MPI_MIN, 0, surv);
    MPI_Reduce(&r->hash, &hi, 1, MPI_UINT32_T, MPI_MAX, 0, surv);
    if (srank == 0) {
        double killed = kill_time(r->dir);
        printf("FAILURE ranks=%d victim=%d at=%d size=%zu count=%d gap_ms=%.1f "
               "kill_to_view_ms=%.0f delivered=%d lost=%d order=%s\n",
               size, r->victim, r->kill_at - warmup, r->size, r->count, gap_all * 1e3,
               killed > 0 && view_at > 0 ? (view_at - killed) * 1e3 : -1.0, dmin,
               r->count - dmin, lo == hi && dmin == dmax && disorder == 0 ? "same" : "DIFFERENT");
        fflush(stdout);
    }
    MPI_Comm_free(&surv);
}

static int parse(run_t *r, int *warmup, int argc, char **argv)
{
    int c;

    while ((c = getopt(argc, argv, "s:n:w:ax:k:K:d:")) != -1) {
        switch (c) {
        case 's': r->size = strtoul(optarg, NULL, 0); break;
        case 'n': r->count = atoi(optarg); break;
        case 'w': r->window = atoi(optarg); break;
        case 'a': r->all_senders = 1; break;
        case 'x': *warmup = atoi(optarg); break;
        case 'k': r->victim = atoi(optarg); break;
        case 'K': r->kill_at = atoi(optarg); break;
        case 'd': r->dir = optarg; break;
        default: return -1;
        }
    }
    if (r->size < 8 || r->count < 1 || r->window < 0 || r->window > 1024 || *warmup < 0 ||
        (r->victim >= 0 && (r->kill_at < 0 || r->kill_at >= r->count))) {
        return -1;
    }
    r->kill_at += *warmup;
    return 0;
}

int main(int argc, char **argv)
{
    run_t r = { .size = 1024, .count = 1000, .window = 16, .victim = -1, .dir = "." };
    int warmup = 10, active = 0;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    if (parse(&r, &warmup, argc, argv) != 0) {
        if (rank == 0) {
            fprintf(stderr, "usage: ordered_bench -s SIZE>=8 -n COUNT [-w W] [-a] [-x WARMUP] "
                            "[-k VICTIM -K AT -d DIR]\n");
        }
        MPI_Finalize();
        return 2;
    }
    if (RDMC_Comm_active(MPI_COMM_WORLD, &active) != MPI_SUCCESS || !active ||
        RDMC_Comm_set_view_callback(MPI_COMM_WORLD, on_view, NULL) != MPI_SUCCESS) {
        if (rank == 0) {
            fprintf(stderr, "ordered_bench: rdmc is not active on MPI_COMM_WORLD\n");
        }
        MPI_Finalize();
        return 1;
    }
    r.offset = bench_clock_offset_to_root(0, rank, size);
    int total = warmup + r.count, nbufs = r.window > 0 ? r.window : 1;
    uint8_t **bufs = malloc(sizeof(uint8_t *) * (size_t)nbufs);
    for (int s = 0; s < nbufs; s++) {
        bufs[s] = calloc(1, r.size);
    }
    r.sent = malloc(sizeof(double) * (size_t)total);
    r.delivered = malloc(sizeof(double) * (size_t)total);
    r.ok = calloc((size_t)total, 1);
    for (int i = 0; i < total; i++) {
        r.sent[i] = r.delivered[i] = -1;
    }
    r.hash = 2166136261u;

    const char *counter = r.window > 0 ? "coll_rdmc_ibcasts" : "coll_rdmc_bcasts";
    long long before = rdmc_pvar_read(counter);
    stream(&r, bufs, 0, warmup);
    MPI_Barrier(MPI_COMM_WORLD);
    double start = now(&r);
    stream(&r, bufs, warmup, r.count);
    long long carried = rdmc_pvar_read(counter) - before;
    if (r.victim >= 0) {
        report_failure(&r, warmup);
        /* Open MPI 4.1's MPI_Finalize fences with every process of the job,
         * the dead one too, and under --enable-recovery may wait there for
         * ever (tests/mpi/failover.c does the same). */
        fflush(stdout);
        _exit(0);
    } else {
        report(&r, warmup, start, carried);
    }
    MPI_Finalize();
    return 0;
}
