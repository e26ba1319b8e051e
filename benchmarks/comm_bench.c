/*
 * What a communicator costs: the loop libraries run (MPI_Comm_dup ->
 * MPI_Bcast -> MPI_Comm_free), and the set-up time and memory of a
 * communicator rdmc is linked on.  Run it with and without rdmc
 * (benchmarks/compare.sh does) and compare.
 *
 *   mpirun -np N comm_bench [-c cycles] [-k communicators] [-b bytes] [-o ms]
 *                           [-s ms]
 *
 *   cycles         dup -> MPI_Bcast(bytes) -> free, timed as a whole (10000)
 *   communicators  kept at once to measure per-communicator cost (200)
 *   bytes          of each broadcast (4096)
 *   ms             first of all, the process's first collective as a code
 *                  that overlaps makes it: MPI_Ibcast(bytes) on
 *                  MPI_COMM_WORLD, ms milliseconds of computation, MPI_Wait;
 *                  then the same again (0: not done).  An MPI_Barrier lines
 *                  the ranks up before each: under failure handling rdmc
 *                  carries it, and it is then the first
 *   -s ms          how long the ranks sleep while the kept communicators
 *                  idle, to measure the CPU those take (1000; 0: not done)
 *
 * Prints, from rank 0: microseconds per cycle; for the kept communicators,
 * the first broadcast on each (which sets the link up) and a second one,
 * in microseconds, and the resident memory each adds, in KiB (the largest
 * over the ranks); what the kept communicators, idle, cost the others: an
 * 8-byte MPI_Bcast on another communicator before they were made and
 * while they exist (microseconds, the slowest rank's average), and the
 * CPU a rank uses while it sleeps (percent of a core, the largest); and,
 * through MPI_T, how many broadcasts rdmc carried.
 */
#include <mpi.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "rdmc_pvars.h"

static long rss_kib(void)
{
    char line[256];
    long kib = 0;
    FILE *f = fopen("/proc/self/status", "r");

    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kib = strtol(line + 6, NULL, 10);
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    return kib;
}

static double max_over_ranks(double mine)
{
    double all;

    MPI_Allreduce(&mine, &all, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    return all;
}

/* An 8-byte MPI_Bcast with rotating roots on comm: microseconds each,
 * the slowest rank's average over a fixed count after a warm-up. */
enum { SMALL_WARM_UP = 100, SMALL_TIMED = 2000 };

static double small_bcast_us(MPI_Comm comm, int size)
{
    char small[8] = { 0 };

    for (int i = 0; i < SMALL_WARM_UP; i++) {
        MPI_Bcast(small, sizeof(small), MPI_BYTE, i % size, comm);
    }
    MPI_Barrier(comm);
    double start = MPI_Wtime();
    for (int i = 0; i < SMALL_TIMED; i++) {
        MPI_Bcast(small, sizeof(small), MPI_BYTE, i % size, comm);
    }
    return max_over_ranks((MPI_Wtime() - start) * 1e6 / SMALL_TIMED);
}

static double cpu_seconds(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

/* The CPU this process uses (its progress thread, say) while the
 * application sleeps ms milliseconds outside MPI: percent of a core. */
static double cpu_while_asleep_pct(int ms)
{
    struct timespec nap = { ms / 1000, (long)(ms % 1000) * 1000000L };
    double cpu = cpu_seconds(), wall = MPI_Wtime();

    while (nanosleep(&nap, &nap) != 0) {
        /* interrupted: sleep the rest */
    }
    return 100.0 * (cpu_seconds() - cpu) / (MPI_Wtime() - wall);
}

static volatile double computed;

static void compute_ms(double ms)
{
    double start = MPI_Wtime();

    while ((MPI_Wtime() - start) * 1e3 < ms) {
        computed = computed + 1.0;
    }
}

/* MPI_Ibcast, computation, MPI_Wait, twice: what the call, the wait and
 * the whole took (ms, slowest rank), the first time and the second. */
static void overlap_first_ibcast(char *buf, int bytes, double ms, int rank)
{
    for (int round = 0; round < 2; round++) {
        MPI_Request req;
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        MPI_Ibcast(buf, bytes, MPI_BYTE, 0, MPI_COMM_WORLD, &req);
        double t1 = MPI_Wtime();
        compute_ms(ms);
        double t2 = MPI_Wtime();
        MPI_Wait(&req, MPI_STATUS_IGNORE);
        double t3 = MPI_Wtime();
        double call = max_over_ranks(t1 - t0), wait = max_over_ranks(t3 - t2);
        double whole = max_over_ranks(t3 - t0);
        if (rank == 0) {
            printf("%s_ibcast_call_ms %.2f   wait_ms %.2f   whole_ms %.2f   (%d bytes, %.0f ms "
                   "of computation)\n",
                   round == 0 ? "first" : "second", call * 1e3, wait * 1e3, whole * 1e3, bytes,
                   ms);
        }
    }
}

int main(int argc, char **argv)
{
    int rank, size, opt, cycles = 10000, keep = 200, bytes = 4096, overlap_ms = 0;
    int sleep_ms = 1000;
    long long carried;
    char *buf;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    while ((opt = getopt(argc, argv, "c:k:b:o:s:")) != -1) {
        int value = optarg != NULL ? atoi(optarg) : -1;   /* NULL: an unknown option */
        if (value < (opt == 'o' || opt == 's' ? 0 : 1)) {
            opt = '?';
        }
        switch (opt) {
        case 'c': cycles = value; break;
        case 'k': keep = value; break;
        case 'b': bytes = value; break;
        case 'o': overlap_ms = value; break;
        case 's': sleep_ms = value; break;
        default:
            if (rank == 0) {
                fprintf(stderr,
                        "usage: %s [-c cycles] [-k communicators] [-b bytes] [-o ms] [-s ms]\n",
                        argv[0]);
            }
            MPI_Finalize();
            return 2;
        }
    }
    buf = calloc((size_t)bytes, 1);
    if (rank == 0) {
        printf("# comm_bench: np %d, %d-byte broadcasts\n", size, bytes);
    }
    if (overlap_ms > 0) {
        overlap_first_ibcast(buf, bytes, overlap_ms, rank);
    }
    carried = rdmc_pvar_read("coll_rdmc_bcasts");

    /* The loop, timed as a whole after a warm-up tenth. */
    for (int i = 0; i < cycles / 10 + 1; i++) {
        MPI_Comm comm;
        MPI_Comm_dup(MPI_COMM_WORLD, &comm);
        MPI_Bcast(buf, bytes, MPI_BYTE, i % size, comm);
        MPI_Comm_free(&comm);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    double start = MPI_Wtime();
    for (int i = 0; i < cycles; i++) {
        MPI_Comm comm;
        MPI_Comm_dup(MPI_COMM_WORLD, &comm);
        MPI_Bcast(buf, bytes, MPI_BYTE, i % size, comm);
        MPI_Comm_free(&comm);
    }
    double per_cycle_us = max_over_ranks((MPI_Wtime() - start) * 1e6 / cycles);

    /* Communicators kept at once: set-up time and memory each, and what
     * they cost another communicator's small broadcasts while idle. */
    MPI_Comm work;
    MPI_Comm_dup(MPI_COMM_WORLD, &work);
    double small_alone = small_bcast_us(work, size);
    MPI_Comm *comms = calloc((size_t)keep, sizeof(*comms));
    double first = 0, second = 0;
    long rss_before = rss_kib();
    for (int i = 0; i < keep; i++) {
        MPI_Comm_dup(MPI_COMM_WORLD, &comms[i]);
        MPI_Barrier(MPI_COMM_WORLD);
        double t = MPI_Wtime();
        MPI_Bcast(buf, bytes, MPI_BYTE, 0, comms[i]);
        first += MPI_Wtime() - t;
        MPI_Barrier(MPI_COMM_WORLD);
        t = MPI_Wtime();
        MPI_Bcast(buf, bytes, MPI_BYTE, 0, comms[i]);
        second += MPI_Wtime() - t;
    }
    double kib_each = max_over_ranks((double)(rss_kib() - rss_before) / keep);
    first = max_over_ranks(first * 1e6 / keep);
    second = max_over_ranks(second * 1e6 / keep);
    double small_beside = small_bcast_us(work, size);
    MPI_Barrier(MPI_COMM_WORLD);
    double idle_cpu = sleep_ms > 0 ? max_over_ranks(cpu_while_asleep_pct(sleep_ms)) : 0;
    MPI_Comm_free(&work);
    for (int i = 0; i < keep; i++) {
        MPI_Comm_free(&comms[i]);
    }
    carried = carried < 0 ? -1 : rdmc_pvar_read("coll_rdmc_bcasts") - carried;
    if (rank == 0) {
        printf("cycle_us %.1f   (dup -> MPI_Bcast -> free, %d cycles)\n", per_cycle_us, cycles);
        printf("first_bcast_us %.1f   second_bcast_us %.1f   setup_us %.1f   (%d communicators)\n",
               first, second, first - second, keep);
        printf("kib_per_comm %.1f   (resident memory each kept communicator adds)\n", kib_each);
        printf("small_bcast_us %.1f alone   %.1f beside %d idle communicators   (8 bytes)\n",
               small_alone, small_beside, keep);
        if (sleep_ms > 0) {
            printf("idle_cpu_pct %.1f   (of a core, while the ranks sleep %d ms)\n", idle_cpu,
                   sleep_ms);
        }
        int total = cycles + cycles / 10 + 1 + 2 * keep + 2 * (SMALL_WARM_UP + SMALL_TIMED);
        if (carried < 0) {
            printf("carried 0 of %d broadcasts by rdmc (coll/rdmc not loaded)\n", total);
        } else {
            printf("carried %lld of %d broadcasts by rdmc\n", carried, total);
        }
    }
    free(comms);
    free(buf);
    MPI_Finalize();
    return 0;
}
