/*
 * Broadcast benchmarks, compatible with OSU's osu_bcast (and with -t ibcast
 * osu_ibcast): same headers, same columns, same options (-m [min:]max,
 * -i iterations, -x warmup, -f full statistics), root 0 by default.
 *
 * -t TYPE picks what is measured:
 *   bcast       MPI_Bcast latency, as osu_bcast (the default)
 *   ibcast      MPI_Ibcast overlap, as osu_ibcast: the pure MPI_Ibcast +
 *               MPI_Wait time, then the same with a computation that long
 *               in between, and how much of the broadcast hid behind it
 *   rate        back-to-back broadcasts: bursts of W MPI_Ibcast on distinct
 *               buffers, each burst completed by one MPI_Waitall (-b: W
 *               blocking MPI_Bcast); broadcasts per second at the slowest
 *               rank
 *   idle        CPU use of ranks waiting in a broadcast: the root computes
 *               for C ms and then broadcasts, the others wait for it in
 *               MPI_Bcast (-n: MPI_Ibcast + MPI_Wait); the waiters' process
 *               CPU time (all their threads) against the wall time waited.
 *               Then every rank sleeps C ms outside MPI (an application
 *               waiting for I/O, or whose other threads compute): what its
 *               process used meanwhile is MPI's own (progress threads)
 *   pingpong    what rdmc costs the rest of MPI: after one broadcast of
 *               64 MiB (which coll/rdmc carries with its defaults, so that
 *               its link exists and its progress callback runs in every
 *               MPI wait), osu_latency's figure between ranks 0 and 1 (half
 *               a round trip of MPI_Send/MPI_Recv); the other ranks wait
 *
 * Extra options:
 *   -r root     broadcast from another rank
 *   -e          (bcast) extended columns: bandwidth from the average
 *               latency, and a globally synchronised time, from the root's
 *               start to the moment the last rank is done (clock offsets to
 *               the root are estimated with ping-pongs first): its mean,
 *               its bandwidth and its median over the iterations; and after
 *               each row a line "# cpu SIZE: C s/GiB delivered (S s user+
 *               system over R ranks, I broadcasts)": the CPU time (getrusage
 *               RUSAGE_SELF, every thread of the process) the ranks spent
 *               inside the timed MPI_Bcast calls, summed over the ranks, per
 *               GiB that reached a rank other than the root (SIZE x (R - 1)
 *               x I bytes)
 *   -p          (bcast) persistent: one MPI_Bcast_init (MPIX_Bcast_init on
 *               Open MPI 4.1) per size, outside the timing, then each
 *               broadcast is MPI_Start + MPI_Wait, as OSU's
 *               osu_bcast_persistent
 *   -s BLOCK    (bcast) a non-contiguous layout: each message is pieces of
 *               BLOCK bytes every 2 x BLOCK bytes (an MPI_Type_vector; 8 is
 *               a column of doubles of a two-column matrix), so that an MPI
 *               packs it or copies it piece by piece; sizes count the
 *               message's bytes (whole pieces), not the span
 *   -c          check every received byte (off while timing by default)
 *   -f          also (bcast) min and max over ranks, (ibcast) OSU's full
 *               columns, (idle) the maxima over the waiting ranks
 *   -T calls    (ibcast) MPI_Test calls spread over the computation, OSU's
 *               -t (default none, as OSU)
 *   -w W        (rate) broadcasts per burst, default 8
 *   -b          (rate) blocking MPI_Bcast instead of MPI_Ibcast
 *   -n          (idle) wait in MPI_Ibcast + MPI_Wait instead of MPI_Bcast
 *   -C ms       (idle) the root's computation before each broadcast,
 *               default 200
 *   -R          after each row, a line "# row SIZE: rdmc carried X of Y (Z
 *               of them timing)" (rank 0's MPI_T counter over that size's
 *               Y broadcasts, Z of them -e's own small ones), so that a
 *               table can mark the rows rdmc did not carry
 *
 * Sizes without -m: 1 B .. 1 MiB as OSU, 1 B .. 8 KiB for rate and pingpong.  idle
 * measures only the two ends of -m (default 8 B and 4 MiB): each size
 * takes iterations x C ms.
 *
 * At the end it says, through MPI_T, how many broadcasts coll/rdmc carried,
 * so that a table can never silently mix up who did the work.
 */
#define _POSIX_C_SOURCE 200809L

#include <mpi.h>

#include <float.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bcast_init.h"
#include "bench_clock.h"
#include "bench_options.h"
#include "rdmc_pvars.h"

#define DEFAULT_MAX_BYTES (1 << 20)
#define LARGE_MESSAGE (8 * 1024)
#define DEFAULT_WINDOW 8
#define DEFAULT_COMPUTE_MS 200.0
#define COMPUTE_DIM 25           /* OSU's dummy computation: a 25x25 matrix */
#define IDLE_MAX_BYTES (4 << 20)  /* coll/rdmc's default crossover: rdmc carries it */
#define PINGPONG_BCAST_BYTES (64 << 20)   /* above every default crossover */

typedef struct bench bench_t;

/* What -t selects: its defaults, its header and its measurement of one
 * size (which prints the row at rank 0). */
typedef struct bench_type {
    const char *name;
    size_t min_bytes, max_bytes;
    int iterations[2], warmup[2];    /* up to LARGE_MESSAGE, above */
    void (*header)(const bench_t *b);
    void (*measure)(bench_t *b, size_t bytes, int iterations, int warmup);
} bench_type_t;

typedef struct options {
    const bench_type_t *type;
    size_t min_bytes, max_bytes;
    int iterations, warmup;          /* < 0: the type's defaults by size */
    int root;
    int full, extended, check;
    int persistent;                  /* bcast: -p */
    int test_calls;                  /* ibcast */
    int window, blocking;            /* rate */
    int nonblocking;                 /* idle */
    double compute_ms;               /* idle */
    int per_row;                     /* -R: who carried each row */
    size_t stride_block;             /* bcast: -s, 0 for contiguous */
} options_t;

struct bench {
    options_t o;
    int rank, size;
    double offset;                   /* -e: this rank's clock to the root's */
    char *buf;                       /* window slots of slot_bytes each */
    size_t slot_bytes;
    MPI_Request *requests;           /* one per slot */
    MPI_Request persistent;          /* -p: this size's persistent broadcast */
    MPI_Datatype layout;             /* -s: this size's strided type, count 1 */
    long bcasts;                     /* data broadcasts so far, warm-up included */
    long timing_bcasts;              /* the -e columns' own small broadcasts */
    long errors;                     /* wrong bytes received here */
    double *sync_times;              /* -e, at the root: each timed iteration's */
};

typedef struct stats {
    double avg, min, max;
} stats_t;

static void usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s [-t bcast|ibcast|rate|idle|pingpong] [-m [min:]max] [-i iterations]\n"
            "          [-x warmup] [-f] [-r root] [-c] [-e] [-p] [-T calls] [-w W] [-b]\n"
            "          [-n] [-C ms] [-R] [-s BLOCK]\n"
            "  -t bcast   MPI_Bcast latency, as osu_bcast (default); -e: extended columns;\n"
            "             -p: persistent, MPI_Start + MPI_Wait of one MPI_Bcast_init;\n"
            "             -s BLOCK: strided, BLOCK bytes every 2 x BLOCK (no -c)\n"
            "  -t ibcast  MPI_Ibcast overlap with a computation, as osu_ibcast;\n"
            "             -T: MPI_Test calls during the computation (default 0)\n"
            "  -t rate    broadcasts/s in bursts of W MPI_Ibcast (-w W, default %d);\n"
            "             -b: W blocking MPI_Bcast instead\n"
            "  -t idle    CPU of ranks waiting while the root computes for -C ms\n"
            "             (default %.0f) before broadcasting; only the two ends of -m;\n"
            "             -n: wait in MPI_Ibcast + MPI_Wait\n"
            "  -t pingpong point-to-point latency (ranks 0 and 1) after a 64 MiB broadcast\n"
            "  -R         after each row: how many of its broadcasts coll/rdmc carried\n",
            prog, DEFAULT_WINDOW, DEFAULT_COMPUTE_MS);
}

/* ---- broadcasts, their data and their statistics ---- */

static char *slot(const bench_t *b, int k)
{
    return b->buf + (size_t)k * b->slot_bytes;
}

static void fill(char *buf, size_t n, size_t seed)
{
    for (size_t i = 0; i < n; i++) {
        buf[i] = (char)((i * 7 + seed) & 0x7f);
    }
}

static long check(const char *buf, size_t n, size_t seed)
{
    long bad = 0;
    for (size_t i = 0; i < n; i++) {
        bad += buf[i] != (char)((i * 7 + seed) & 0x7f);
    }
    return bad;
}

/* Every rank issues the same broadcasts in the same order, so the number
 * of a broadcast (b->bcasts when it is issued, + ahead when several are in
 * flight) is the same everywhere and seeds its data: with -c the root
 * writes the pattern, the others check it once it has completed. */
static void fill_next(const bench_t *b, char *buf, size_t bytes, int ahead)
{
    if (b->o.check && b->rank == b->o.root) {
        fill(buf, bytes, (size_t)(b->bcasts + ahead));
    }
}

static void received(bench_t *b, const char *buf, size_t bytes)
{
    if (b->o.check && b->rank != b->o.root) {
        b->errors += check(buf, bytes, (size_t)b->bcasts);
    }
    b->bcasts++;
}

/* -s: the vector type for a message of `bytes` (one piece when smaller
 * than BLOCK); MPI_DATATYPE_NULL without -s. */
static void set_layout(bench_t *b, size_t bytes)
{
    size_t block = b->o.stride_block;

    if (b->layout != MPI_DATATYPE_NULL) {
        MPI_Type_free(&b->layout);
    }
    if (block == 0) {
        return;
    }
    if (bytes < block) {
        block = bytes ? bytes : 1;
    }
    MPI_Type_vector((int)(bytes / block), (int)block, (int)(2 * block), MPI_BYTE, &b->layout);
    MPI_Type_commit(&b->layout);
}

static void bcast(bench_t *b, char *buf, size_t bytes, int nonblocking)
{
    if (b->layout != MPI_DATATYPE_NULL) {
        MPI_Bcast(buf, 1, b->layout, b->o.root, MPI_COMM_WORLD);
    } else if (b->o.persistent) {
        MPI_Start(&b->persistent);
        MPI_Wait(&b->persistent, MPI_STATUS_IGNORE);
    } else if (nonblocking) {
        MPI_Request request;
        MPI_Ibcast(buf, (int)bytes, MPI_CHAR, b->o.root, MPI_COMM_WORLD, &request);
        MPI_Wait(&request, MPI_STATUS_IGNORE);
    } else {
        MPI_Bcast(buf, (int)bytes, MPI_CHAR, b->o.root, MPI_COMM_WORLD);
    }
}

/* Mean, min and max at rank 0 of `value` over the ranks that pass
 * counted != 0 (all of them, or only the waiting ones). */
static stats_t over_ranks(double value, int counted)
{
    stats_t s;
    double lo = counted ? value : DBL_MAX, hi = counted ? value : -DBL_MAX;
    double mine[2] = { counted ? value : 0, counted ? 1 : 0 };
    double sums[2] = { 0, 0 }; /* stays so at the ranks other than 0 */

    MPI_Reduce(&lo, &s.min, 1, MPI_DOUBLE, MPI_MIN, 0, MPI_COMM_WORLD);
    MPI_Reduce(&hi, &s.max, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    MPI_Reduce(mine, sums, 2, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    if (sums[1] == 0) {
        return (stats_t){ 0, 0, 0 };
    }
    s.avg = sums[0] / sums[1];
    return s;
}

/* OSU's dummy computation: a small matrix product, repeated until `seconds`
 * of it have passed.  x is volatile so that the work cannot be optimised
 * away. */
static float matrix[COMPUTE_DIM][COMPUTE_DIM], y_vector[COMPUTE_DIM];
static volatile float x_vector[COMPUTE_DIM];

static void init_compute(void)
{
    for (int i = 0; i < COMPUTE_DIM; i++) {
        x_vector[i] = y_vector[i] = 1.0f;
        for (int j = 0; j < COMPUTE_DIM; j++) {
            matrix[i][j] = 2.0f;
        }
    }
}

static void compute_for(double seconds)
{
    double elapsed = 0;

    while (elapsed < seconds) {
        double start = MPI_Wtime();
        for (int i = 0; i < COMPUTE_DIM; i++) {
            for (int j = 0; j < COMPUTE_DIM; j++) {
                x_vector[i] = x_vector[i] + matrix[i][j] * matrix[j][i] + y_vector[j];
            }
        }
        elapsed += MPI_Wtime() - start;
    }
}

/* OSU's do_compute_and_probe: the computation in `calls` equal parts, each
 * followed by an MPI_Test; returns the time spent in MPI_Test. */
static double compute_and_test(double seconds, int calls, MPI_Request *request)
{
    double test_time = 0;

    if (calls <= 0) {
        compute_for(seconds);
        return 0;
    }
    for (int i = 0; i < calls; i++) {
        int done;
        compute_for(seconds / calls);
        double start = MPI_Wtime();
        MPI_Test(request, &done, MPI_STATUS_IGNORE);
        test_time += MPI_Wtime() - start;
    }
    return test_time;
}

/* User and system time of the whole process (every thread: a progress
 * thread's work counts too), as getrusage reports it. */
static double rusage_seconds(void)
{
    struct rusage u;

    if (getrusage(RUSAGE_SELF, &u) != 0) {
        return 0;
    }
    return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median of n values, which it sorts. */
static double median(double *values, int n)
{
    if (n <= 0) {
        return 0;
    }
    qsort(values, (size_t)n, sizeof(values[0]), compare_doubles);
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

static double process_cpu_seconds(void)
{
    struct timespec t;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* ---- -t bcast ---- */

static void header_bcast(const bench_t *b)
{
    printf("# OSU MPI %sBroadcast Latency Test v5.8 (ompi-rdmc)\n",
           b->o.persistent ? "Persistent " : "");
    printf("%-10s%18s", "# Size", "Avg Latency(us)");
    if (b->o.full) {
        printf("%18s%18s%12s", "Min Latency(us)", "Max Latency(us)", "Iterations");
    }
    if (b->o.extended) {
        printf("%18s%18s%18s%18s", "Bandwidth(MB/s)", "Sync Time(us)", "Sync BW(MB/s)",
               "Sync Median(us)");
    }
    printf("\n");
}

static void measure_bcast(bench_t *b, size_t bytes, int iterations, int warmup)
{
    const options_t *o = &b->o;
    double total = 0, sync_total = 0, cpu = 0;

    set_layout(b, bytes);
    if (o->persistent) {
        rdmc_bcast_init(b->buf, (int)bytes, MPI_CHAR, o->root, MPI_COMM_WORLD, MPI_INFO_NULL,
                        &b->persistent);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    for (int i = 0; i < iterations + warmup; i++) {
        fill_next(b, b->buf, bytes, 0);
        MPI_Barrier(MPI_COMM_WORLD);
        double cpu_start = o->extended ? rusage_seconds() : 0;
        double start = MPI_Wtime();
        bcast(b, b->buf, bytes, 0);
        double stop = MPI_Wtime();
        double cpu_used = o->extended ? rusage_seconds() - cpu_start : 0;
        received(b, b->buf, bytes);
        if (i < warmup) {
            continue;
        }
        total += stop - start;
        if (o->extended) {
            /* root's start and everyone's end, on the root's clock */
            double root_start = start + b->offset, end = stop + b->offset, last_end;
            MPI_Bcast(&root_start, 1, MPI_DOUBLE, o->root, MPI_COMM_WORLD);
            b->timing_bcasts++;
            MPI_Reduce(&end, &last_end, 1, MPI_DOUBLE, MPI_MAX, o->root, MPI_COMM_WORLD);
            sync_total += last_end - root_start;
            if (b->rank == o->root) {
                b->sync_times[i - warmup] = last_end - root_start;
            }
            cpu += cpu_used;
        }
    }
    if (o->persistent) {
        MPI_Request_free(&b->persistent);
    }
    stats_t latency = over_ranks(total * 1e6 / iterations, 1);
    /* -e at the root: the mean and the median of the synchronised times */
    double sync_us[2] = { sync_total * 1e6 / iterations, 0 };
    if (o->extended && b->rank == o->root) {
        sync_us[1] = median(b->sync_times, iterations) * 1e6;
    }
    if (o->root != 0) {
        if (b->rank == o->root) {
            MPI_Send(sync_us, 2, MPI_DOUBLE, 0, 8, MPI_COMM_WORLD);
        } else if (b->rank == 0) {
            MPI_Recv(sync_us, 2, MPI_DOUBLE, o->root, 8, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        }
    }
    double all_cpu = 0;
    if (o->extended) {
        MPI_Reduce(&cpu, &all_cpu, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    }
    if (b->rank == 0) {
        double avg = latency.avg;
        printf("%-10zu%18.2f", bytes, avg);
        if (o->full) {
            printf("%18.2f%18.2f%12d", latency.min, latency.max, iterations);
        }
        if (o->extended) {
            printf("%18.2f%18.2f%18.2f%18.2f", avg > 0 ? bytes / avg : 0, sync_us[0],
                   sync_us[0] > 0 ? bytes / sync_us[0] : 0, sync_us[1]);
        }
        printf("\n");
        if (o->extended) {
            /* the bytes that reached a rank other than the root */
            double gib = (double)bytes * (b->size - 1) * iterations / (1024.0 * 1024 * 1024);
            printf("# cpu %zu: %.4f s/GiB delivered (%.4f s user+system over %d ranks, "
                   "%d broadcasts)\n", bytes, gib > 0 ? all_cpu / gib : 0, all_cpu, b->size,
                   iterations);
        }
    }
}

/* ---- -t ibcast ---- */

static void header_ibcast(const bench_t *b)
{
    printf("# OSU MPI Non-Blocking Broadcast Latency Test v5.8 (ompi-rdmc)\n");
    printf("# Overall = Coll. Init + Compute + MPI_Test + MPI_Wait\n\n");
    printf("%-10s%18s%18s", "# Size", "Overall(us)", "Compute(us)");
    if (b->o.full) {
        printf("%18s%18s%18s", "Coll. Init(us)", "MPI_Test(us)", "MPI_Wait(us)");
    }
    printf("%18s", "Pure Comm.(us)");
    if (b->o.full) {
        printf("%18s%18s", "Min Comm.(us)", "Max Comm.(us)");
    }
    printf("%18s\n", "Overlap(%)");
}

/* Seconds spent by one rank in the parts of the overlapped loop. */
typedef struct overlap_times {
    double overall, init, compute, test, wait;
} overlap_times_t;

static void measure_ibcast(bench_t *b, size_t bytes, int iterations, int warmup)
{
    const options_t *o = &b->o;
    double pure = 0;
    overlap_times_t t = { 0, 0, 0, 0, 0 };
    MPI_Request request;

    /* First the pure communication: MPI_Ibcast, then MPI_Wait at once. */
    for (int i = 0; i < iterations + warmup; i++) {
        fill_next(b, b->buf, bytes, 0);
        double start = MPI_Wtime();
        bcast(b, b->buf, bytes, 1);
        if (i >= warmup) {
            pure += MPI_Wtime() - start;
        }
        received(b, b->buf, bytes);
        MPI_Barrier(MPI_COMM_WORLD);
    }
    MPI_Barrier(MPI_COMM_WORLD);

    /* Then each rank computes for as long as its own broadcasts took,
     * between MPI_Ibcast and MPI_Wait. */
    double compute_seconds = pure / iterations;
    for (int i = 0; i < iterations + warmup; i++) {
        fill_next(b, b->buf, bytes, 0);
        double start = MPI_Wtime();
        MPI_Ibcast(b->buf, (int)bytes, MPI_CHAR, o->root, MPI_COMM_WORLD, &request);
        double started = MPI_Wtime();
        double test = compute_and_test(compute_seconds, o->test_calls, &request);
        double computed = MPI_Wtime();
        MPI_Wait(&request, MPI_STATUS_IGNORE);
        double stop = MPI_Wtime();
        received(b, b->buf, bytes);
        if (i >= warmup) {
            t.overall += stop - start;
            t.init += started - start;
            t.compute += computed - started - test;
            t.test += test;
            t.wait += stop - computed;
        }
        MPI_Barrier(MPI_COMM_WORLD);
    }

    /* Averages over ranks, as OSU; the compute column excludes MPI_Test. */
    double scale = 1e6 / iterations;
    stats_t comm = over_ranks(pure * scale, 1);
    stats_t overall = over_ranks(t.overall * scale, 1);
    stats_t compute = over_ranks(t.compute * scale, 1);
    stats_t init = over_ranks(t.init * scale, 1);
    stats_t test = over_ranks(t.test * scale, 1);
    stats_t wait = over_ranks(t.wait * scale, 1);
    if (b->rank != 0) {
        return;
    }
    double overlap = comm.avg > 0 ? 100 * (1 - (overall.avg - compute.avg) / comm.avg) : 0;
    printf("%-10zu%18.2f%18.2f", bytes, overall.avg, compute.avg);
    if (o->full) {
        printf("%18.2f%18.2f%18.2f", init.avg, test.avg, wait.avg);
    }
    printf("%18.2f", comm.avg);
    if (o->full) {
        printf("%18.2f%18.2f", comm.min, comm.max);
    }
    printf("%18.2f\n", overlap > 0 ? overlap : 0);
}

/* ---- -t rate ---- */

static void header_rate(const bench_t *b)
{
    printf("# Broadcast rate (ompi-rdmc): bursts of %d %s, root %d\n", b->o.window,
           b->o.blocking ? "back-to-back MPI_Bcast" : "MPI_Ibcast + one MPI_Waitall",
           b->o.root);
    printf("%-10s%18s%20s\n", "# Size", "Bcasts/s", "Latency/bcast(us)");
}

/* One burst of o->window broadcasts, the k-th in slot k. */
static void burst(bench_t *b, size_t bytes)
{
    int window = b->o.window;

    if (b->o.blocking) {
        for (int k = 0; k < window; k++) {
            fill_next(b, slot(b, k), bytes, 0);
            bcast(b, slot(b, k), bytes, 0);
            received(b, slot(b, k), bytes);
        }
        return;
    }
    for (int k = 0; k < window; k++) {
        fill_next(b, slot(b, k), bytes, k);
        MPI_Ibcast(slot(b, k), (int)bytes, MPI_CHAR, b->o.root, MPI_COMM_WORLD,
                   &b->requests[k]);
    }
    MPI_Waitall(window, b->requests, MPI_STATUSES_IGNORE);
    for (int k = 0; k < window; k++) {
        received(b, slot(b, k), bytes);
    }
}

static void measure_rate(bench_t *b, size_t bytes, int iterations, int warmup)
{
    double start = 0;

    for (int i = 0; i < warmup; i++) {
        burst(b, bytes);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    start = MPI_Wtime();
    for (int i = 0; i < iterations; i++) {
        burst(b, bytes);
    }
    stats_t elapsed = over_ranks(MPI_Wtime() - start, 1);
    if (b->rank == 0) {
        double n = (double)iterations * b->o.window;
        printf("%-10zu%18.0f%20.3f\n", bytes, elapsed.max > 0 ? n / elapsed.max : 0,
               elapsed.max * 1e6 / n);
    }
}

/* ---- -t idle ---- */

static void header_idle(const bench_t *b)
{
    printf("# CPU of ranks waiting in a broadcast (ompi-rdmc): root %d computes %.0f ms, "
           "then broadcasts; the others wait in %s\n",
           b->o.root, b->o.compute_ms, b->o.nonblocking ? "MPI_Ibcast + MPI_Wait" : "MPI_Bcast");
    printf("%-10s%12s%36s%30s", "# Size", "Wait(ms)", "CPU of waiting ranks(% of a core)",
           "CPU outside MPI(% of a core)");
    if (b->o.full) {
        printf("%16s%16s", "Max Wait(ms)", "Max CPU(%)");
    }
    printf("\n");
}

static void measure_idle(bench_t *b, size_t bytes, int iterations, int warmup)
{
    const options_t *o = &b->o;
    int waiting = b->rank != o->root;
    double wall = 0, cpu = 0, outside_wall = 0, outside_cpu = 0;
    long long nap_ns = (long long)(o->compute_ms * 1e6);
    struct timespec nap = { (time_t)(nap_ns / 1000000000), (long)(nap_ns % 1000000000) };

    for (int i = 0; i < iterations + warmup; i++) {
        MPI_Barrier(MPI_COMM_WORLD);
        if (!waiting) {
            compute_for(o->compute_ms / 1e3);
            fill_next(b, b->buf, bytes, 0);
        }
        double wall_start = MPI_Wtime(), cpu_start = process_cpu_seconds();
        bcast(b, b->buf, bytes, o->nonblocking);
        double cpu_used = process_cpu_seconds() - cpu_start, waited = MPI_Wtime() - wall_start;
        received(b, b->buf, bytes);
        double outside_start = MPI_Wtime(), outside_cpu_start = process_cpu_seconds();
        nanosleep(&nap, NULL);
        if (i >= warmup) {
            wall += waited;
            cpu += cpu_used;
            outside_cpu += process_cpu_seconds() - outside_cpu_start;
            outside_wall += MPI_Wtime() - outside_start;
        }
    }
    stats_t wait_ms = over_ranks(wall * 1e3 / iterations, waiting);
    stats_t cpu_pct = over_ranks(wall > 0 ? 100 * cpu / wall : 0, waiting);
    stats_t outside_pct = over_ranks(outside_wall > 0 ? 100 * outside_cpu / outside_wall : 0, 1);
    if (b->rank == 0) {
        printf("%-10zu%12.1f%36.1f%30.2f", bytes, wait_ms.avg, cpu_pct.avg, outside_pct.avg);
        if (o->full) {
            printf("%16.1f%16.1f", wait_ms.max, cpu_pct.max);
        }
        printf("\n");
    }
}

/* ---- -t pingpong ---- */

static void header_pingpong(const bench_t *b)
{
    (void)b;
    printf("# Point-to-point latency, ranks 0 and 1, after a %d MiB broadcast (ompi-rdmc)\n",
           PINGPONG_BCAST_BYTES >> 20);
    printf("%-10s%18s\n", "# Size", "Latency(us)");
}

/* One broadcast rdmc carries, before the first size (the only broadcast
 * of this type): its link exists. */
static void make_link(bench_t *b)
{
    char *big = malloc(PINGPONG_BCAST_BYTES);

    if (big == NULL) {
        fprintf(stderr, "rank %d: cannot allocate %d bytes\n", b->rank, PINGPONG_BCAST_BYTES);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    memset(big, 1, PINGPONG_BCAST_BYTES);
    MPI_Bcast(big, PINGPONG_BCAST_BYTES, MPI_CHAR, b->o.root, MPI_COMM_WORLD);
    b->bcasts++;
    free(big);
}

static void measure_pingpong(bench_t *b, size_t bytes, int iterations, int warmup)
{
    double start = 0;

    if (b->bcasts == 0) {
        make_link(b);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    for (int i = 0; i < iterations + warmup && b->rank < 2 && b->size > 1; i++) {
        if (i == warmup) {
            start = MPI_Wtime();
        }
        if (b->rank == 0) {
            MPI_Send(b->buf, (int)bytes, MPI_CHAR, 1, 0, MPI_COMM_WORLD);
            MPI_Recv(b->buf, (int)bytes, MPI_CHAR, 1, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        } else {
            MPI_Recv(b->buf, (int)bytes, MPI_CHAR, 0, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            MPI_Send(b->buf, (int)bytes, MPI_CHAR, 0, 0, MPI_COMM_WORLD);
        }
    }
    if (b->rank == 0 && b->size > 1) {
        printf("%-10zu%18.2f\n", bytes, (MPI_Wtime() - start) * 1e6 / iterations / 2);
    }
    MPI_Barrier(MPI_COMM_WORLD);
}

/* ---- options and the run ---- */

static const bench_type_t bench_types[] = {
    { "bcast", 1, DEFAULT_MAX_BYTES, { 1000, 100 }, { 100, 10 }, header_bcast, measure_bcast },
    { "ibcast", 1, DEFAULT_MAX_BYTES, { 1000, 100 }, { 100, 10 }, header_ibcast,
      measure_ibcast },
    { "rate", 1, LARGE_MESSAGE, { 1000, 100 }, { 100, 10 }, header_rate, measure_rate },
    { "idle", 8, IDLE_MAX_BYTES, { 5, 5 }, { 1, 1 }, header_idle, measure_idle },
    { "pingpong", 1, LARGE_MESSAGE, { 10000, 1000 }, { 1000, 100 }, header_pingpong,
      measure_pingpong },
};

static const bench_type_t *find_type(const char *name)
{
    for (size_t i = 0; i < sizeof(bench_types) / sizeof(bench_types[0]); i++) {
        if (strcmp(bench_types[i].name, name) == 0) {
            return &bench_types[i];
        }
    }
    return NULL;
}

static int parse_options(int argc, char **argv, options_t *o)
{
    const char *sizes = NULL;
    uint64_t min, max;
    int c, rc = 0;

    *o = (options_t){ .type = &bench_types[0], .iterations = -1, .warmup = -1,
                      .window = DEFAULT_WINDOW, .compute_ms = DEFAULT_COMPUTE_MS };
    while ((c = getopt(argc, argv, "t:m:i:x:fr:ecpT:w:bnC:Rs:h")) != -1) {
        if (bench_loop_option(c, optarg, &o->iterations, &o->warmup, &rc)) {
            if (rc != 0) {
                return -1;
            }
            continue;
        }
        switch (c) {
        case 't':
            if ((o->type = find_type(optarg)) == NULL) {
                return -1;
            }
            break;
        case 'm':
            sizes = optarg;   /* read once the type's defaults are known */
            break;
        case 'f':
            o->full = 1;
            break;
        case 'r':
            rc = bench_parse_int(optarg, 0, &o->root);
            break;
        case 'e':
            o->extended = 1;
            break;
        case 'c':
            o->check = 1;
            break;
        case 'p':
            o->persistent = 1;
            break;
        case 'T':
            rc = bench_parse_int(optarg, 0, &o->test_calls);
            break;
        case 'w':
            rc = bench_parse_int(optarg, 1, &o->window);
            break;
        case 'b':
            o->blocking = 1;
            break;
        case 'n':
            o->nonblocking = 1;
            break;
        case 'C':
            o->compute_ms = atof(optarg);
            break;
        case 'R':
            o->per_row = 1;
            break;
        case 's': {
            long block;
            rc = bench_parse_long(optarg, 1, &block);
            o->stride_block = (size_t)block;
            break;
        }
        default:
            return -1;
        }
        if (rc != 0) {
            return -1;
        }
    }
    min = o->type->min_bytes;
    max = o->type->max_bytes;
    if (sizes != NULL && bench_parse_range(sizes, &min, &max) != 0) {
        return -1;
    }
    o->min_bytes = (size_t)min;
    o->max_bytes = (size_t)max;
    /* -e is bcast's only; so is -p */
    o->extended = o->extended && o->type->measure == measure_bcast;
    if (o->persistent && o->type->measure != measure_bcast) {
        return -1;
    }
    /* -s: bcast's only, not with -p nor -c (checks read contiguous bytes) */
    if (o->stride_block &&
        (o->type->measure != measure_bcast || o->persistent || o->check)) {
        return -1;
    }
    return o->window > 0 && o->test_calls >= 0 && o->compute_ms >= 0 ? 0 : -1;
}

/* The next size after *bytes: doubling, as OSU, except that idle takes
 * only the two ends.  0 when *bytes was the last. */
static int next_size(const options_t *o, size_t *bytes)
{
    if (*bytes >= o->max_bytes) {
        return 0;
    }
    if (o->type->measure == measure_idle) {
        *bytes = o->max_bytes;
    } else {
        *bytes = *bytes ? *bytes * 2 : 1;
    }
    return *bytes <= o->max_bytes;
}

/* coll/rdmc's counters, read before and after: the first is the one the
 * summary line is about, the others are added when they exist. */
static const struct {
    const char *pvar, *what;
} rdmc_counters[] = {
    { "coll_rdmc_bcasts", "broadcasts" },
    { "coll_rdmc_ibcasts", "ibcasts" },
    { "coll_rdmc_sst_bcasts", "through the SST" },
    { "coll_rdmc_sst_writes", "SST writes" },
    { "coll_rdmc_persistent_starts", "persistent starts" },
};
#define RDMC_COUNTERS (sizeof(rdmc_counters) / sizeof(rdmc_counters[0]))

static void read_rdmc_counters(long long *values)
{
    for (size_t i = 0; i < RDMC_COUNTERS; i++) {
        values[i] = rdmc_pvar_read(rdmc_counters[i].pvar);
    }
}

static void print_rdmc_counters(const long long *before, const long long *after,
                                const bench_t *b)
{
    if (before[0] < 0) {
        printf("# coll/rdmc: not loaded\n");
        return;
    }
    printf("# coll/rdmc carried %lld of the %ld broadcasts measured (warm-up included",
           after[0] - before[0], b->bcasts + b->timing_bcasts);
    if (b->timing_bcasts > 0) {
        printf(", and %ld of them the timing columns' own", b->timing_bcasts);
    }
    const char *separator = "; ";
    for (size_t i = 1; i < RDMC_COUNTERS; i++) {
        if (before[i] >= 0) {
            printf("%s%lld %s", separator, after[i] - before[i], rdmc_counters[i].what);
            separator = ", ";
        }
    }
    printf(")\n");
}

int main(int argc, char **argv)
{
    bench_t b = { 0 };
    options_t *o = &b.o;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &b.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &b.size);
    if (parse_options(argc, argv, o) != 0 || o->root < 0 || o->root >= b.size) {
        if (b.rank == 0) {
            usage(argv[0]);
        }
        MPI_Finalize();
        return 1;
    }

    b.offset = o->extended ? bench_clock_offset_to_root(o->root, b.rank, b.size) : 0;
    int slots = o->type->measure == measure_rate ? o->window : 1;
    b.slot_bytes = (o->max_bytes ? o->max_bytes : 1) * (o->stride_block ? 2 : 1);
    b.layout = MPI_DATATYPE_NULL;
    b.buf = malloc(b.slot_bytes * (size_t)slots);
    b.requests = malloc(sizeof(MPI_Request) * (size_t)slots);
    /* -e keeps every timed iteration's time: room for the most a size runs */
    int most = o->iterations;
    if (most <= 0) {
        most = o->type->iterations[0] > o->type->iterations[1] ? o->type->iterations[0]
                                                               : o->type->iterations[1];
    }
    b.sync_times = malloc(sizeof(double) * (size_t)most);
    if (b.buf == NULL || b.requests == NULL || b.sync_times == NULL) {
        fprintf(stderr, "rank %d: cannot allocate %d x %zu bytes\n", b.rank, slots, b.slot_bytes);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    memset(b.buf, 1, b.slot_bytes * (size_t)slots);
    init_compute();

    if (b.rank == 0) {
        o->type->header(&b);
        fflush(stdout);
    }

    long long before[RDMC_COUNTERS], after[RDMC_COUNTERS];
    read_rdmc_counters(before);
    size_t bytes = o->min_bytes;
    do {
        int large = bytes > LARGE_MESSAGE;
        int iterations = o->iterations > 0 ? o->iterations : o->type->iterations[large];
        int warmup = o->warmup >= 0 ? o->warmup : o->type->warmup[large];
        long row_bcasts = b.bcasts, row_timing = b.timing_bcasts;
        long long row_carried = o->per_row ? rdmc_pvar_read(rdmc_counters[0].pvar) : -1;
        o->type->measure(&b, bytes, iterations, warmup);
        if (b.rank == 0 && o->per_row) {
            /* Not "# coll/rdmc ...": scripts take that line for the summary. */
            if (row_carried < 0) {
                printf("# row %zu: coll/rdmc not loaded\n", bytes);
            } else {
                long timing = b.timing_bcasts - row_timing;
                printf("# row %zu: rdmc carried %lld of %ld (%ld of them timing)\n", bytes,
                       rdmc_pvar_read(rdmc_counters[0].pvar) - row_carried,
                       b.bcasts - row_bcasts + timing, timing);
            }
        }
        if (b.rank == 0) {
            fflush(stdout);
        }
    } while (next_size(o, &bytes));
    read_rdmc_counters(after);

    long all_errors = 0;
    MPI_Reduce(&b.errors, &all_errors, 1, MPI_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
    if (b.rank == 0) {
        print_rdmc_counters(before, after, &b);
        if (o->check) {
            printf("# data check: %ld wrong bytes\n", all_errors);
        }
    }
    free(b.sync_times);
    free(b.requests);
    free(b.buf);
    if (b.layout != MPI_DATATYPE_NULL) {
        MPI_Type_free(&b.layout);
    }
    MPI_Finalize();
    return all_errors != 0;
}
