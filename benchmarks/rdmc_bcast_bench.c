/*
 * Broadcast latency benchmark, compatible with OSU's osu_bcast: same header,
 * same columns, same options (-m [min:]max, -i iterations, -x warmup,
 * -f full statistics), root 0 by default.
 *
 * Extra options:
 *   -r root     broadcast from another rank
 *   -e          extended columns: bandwidth from the average latency, and a
 *               globally synchronised time, from the root's start to the
 *               moment the last rank is done (clock offsets to the root are
 *               estimated with ping-pongs first), with its bandwidth
 *   -c          check every received byte (off while timing by default)
 *
 * At the end it says, through MPI_T, how many broadcasts coll/rdmc carried,
 * so that a table can never silently mix up who did the work.
 */
#include <mpi.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rdmc_pvars.h"

#define DEFAULT_MAX_BYTES (1 << 20)
#define LARGE_MESSAGE (8 * 1024)
#define OFFSET_PINGS 20

typedef struct options {
    size_t min_bytes, max_bytes;
    int iterations, warmup;          /* < 0: OSU's defaults by size */
    int root;
    int full, extended, check;
} options_t;

static void usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s [-m [min:]max] [-i iterations] [-x warmup] [-f] [-r root] [-e] [-c]\n",
            prog);
}

static int parse_sizes(const char *arg, options_t *o)
{
    char *end;
    const char *colon = strchr(arg, ':');

    if (colon != NULL) {
        o->min_bytes = strtoull(arg, &end, 10);
        if (end != colon) {
            return -1;
        }
        arg = colon + 1;
    }
    if (*arg != '\0') {
        o->max_bytes = strtoull(arg, &end, 10);
        if (*end != '\0') {
            return -1;
        }
    }
    return o->min_bytes <= o->max_bytes ? 0 : -1;
}

static int parse_options(int argc, char **argv, options_t *o)
{
    int c;

    *o = (options_t){ 1, DEFAULT_MAX_BYTES, -1, -1, 0, 0, 0, 0 };
    while ((c = getopt(argc, argv, "m:i:x:fr:ech")) != -1) {
        switch (c) {
        case 'm':
            if (parse_sizes(optarg, o) != 0) {
                return -1;
            }
            break;
        case 'i':
            o->iterations = atoi(optarg);
            break;
        case 'x':
            o->warmup = atoi(optarg);
            break;
        case 'f':
            o->full = 1;
            break;
        case 'r':
            o->root = atoi(optarg);
            break;
        case 'e':
            o->extended = 1;
            break;
        case 'c':
            o->check = 1;
            break;
        default:
            return -1;
        }
    }
    return 0;
}

/* Offset of this rank's clock to the root's, from the ping-pong with the
 * smallest round trip (Cristian's method); 0 at the root. */
static double clock_offset_to_root(int root, int rank, int size)
{
    double offset = 0;

    for (int peer = 0; peer < size; peer++) {
        if (peer == root) {
            continue;
        }
        double best_rtt = 1e9, best_offset = 0;
        for (int i = 0; i < OFFSET_PINGS; i++) {
            if (rank == peer) {
                double t0 = MPI_Wtime(), root_time;
                MPI_Send(&t0, 1, MPI_DOUBLE, root, 7, MPI_COMM_WORLD);
                MPI_Recv(&root_time, 1, MPI_DOUBLE, root, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                double t1 = MPI_Wtime();
                if (t1 - t0 < best_rtt) {
                    best_rtt = t1 - t0;
                    best_offset = root_time - (t0 + t1) / 2;
                }
            } else if (rank == root) {
                double t, now;
                MPI_Recv(&t, 1, MPI_DOUBLE, peer, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                now = MPI_Wtime();
                MPI_Send(&now, 1, MPI_DOUBLE, peer, 7, MPI_COMM_WORLD);
            }
        }
        if (rank == peer) {
            offset = best_offset;
        }
    }
    return offset;
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

int main(int argc, char **argv)
{
    options_t o;
    int rank, size;
    long errors = 0;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (parse_options(argc, argv, &o) != 0 || o.root < 0 || o.root >= size) {
        if (rank == 0) {
            usage(argv[0]);
        }
        MPI_Finalize();
        return 1;
    }

    double offset = o.extended ? clock_offset_to_root(o.root, rank, size) : 0;
    char *buf = malloc(o.max_bytes ? o.max_bytes : 1);
    if (buf == NULL) {
        fprintf(stderr, "rank %d: cannot allocate %zu bytes\n", rank, o.max_bytes);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    memset(buf, 1, o.max_bytes);

    if (rank == 0) {
        printf("# OSU MPI Broadcast Latency Test v5.8 (ompi-rdmc)\n");
        printf("%-10s%18s", "# Size", "Avg Latency(us)");
        if (o.full) {
            printf("%18s%18s%12s", "Min Latency(us)", "Max Latency(us)", "Iterations");
        }
        if (o.extended) {
            printf("%18s%18s%18s", "Bandwidth(MB/s)", "Sync Time(us)", "Sync BW(MB/s)");
        }
        printf("\n");
        fflush(stdout);
    }

    long long rdmc_before = rdmc_pvar_read("coll_rdmc_bcasts");
    long data_bcasts = 0;
    for (size_t bytes = o.min_bytes; bytes <= o.max_bytes; bytes = bytes ? bytes * 2 : 1) {
        int iterations = o.iterations > 0 ? o.iterations : (bytes > LARGE_MESSAGE ? 100 : 1000);
        int warmup = o.warmup >= 0 ? o.warmup : (bytes > LARGE_MESSAGE ? 10 : 100);
        double total = 0, sync_total = 0;

        MPI_Barrier(MPI_COMM_WORLD);
        for (int i = 0; i < iterations + warmup; i++) {
            if (o.check && rank == o.root) {
                fill(buf, bytes, (size_t)i);
            }
            MPI_Barrier(MPI_COMM_WORLD);
            double start = MPI_Wtime();
            MPI_Bcast(buf, (int)bytes, MPI_CHAR, o.root, MPI_COMM_WORLD);
            double stop = MPI_Wtime();
            data_bcasts++;
            if (o.check && rank != o.root) {
                errors += check(buf, bytes, (size_t)i);
            }
            if (i < warmup) {
                continue;
            }
            total += stop - start;
            if (o.extended) {
                /* root's start and everyone's end, on the root's clock */
                double root_start = start + offset, end = stop + offset, last_end;
                MPI_Bcast(&root_start, 1, MPI_DOUBLE, o.root, MPI_COMM_WORLD);
                MPI_Reduce(&end, &last_end, 1, MPI_DOUBLE, MPI_MAX, o.root, MPI_COMM_WORLD);
                sync_total += last_end - root_start;
            }
        }
        double latency = total * 1e6 / iterations, min, max, sum;
        MPI_Reduce(&latency, &min, 1, MPI_DOUBLE, MPI_MIN, 0, MPI_COMM_WORLD);
        MPI_Reduce(&latency, &max, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
        MPI_Reduce(&latency, &sum, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
        double sync_us = sync_total * 1e6 / iterations;
        if (o.root != 0) {
            if (rank == o.root) {
                MPI_Send(&sync_us, 1, MPI_DOUBLE, 0, 8, MPI_COMM_WORLD);
            } else if (rank == 0) {
                MPI_Recv(&sync_us, 1, MPI_DOUBLE, o.root, 8, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            }
        }
        if (rank == 0) {
            double avg = sum / size;
            printf("%-10zu%18.2f", bytes, avg);
            if (o.full) {
                printf("%18.2f%18.2f%12d", min, max, iterations);
            }
            if (o.extended) {
                printf("%18.2f%18.2f%18.2f", avg > 0 ? bytes / avg : 0, sync_us,
                       sync_us > 0 ? bytes / sync_us : 0);
            }
            printf("\n");
            fflush(stdout);
        }
        if (bytes == 0 && o.max_bytes == 0) {
            break;
        }
    }

    long long rdmc_after = rdmc_pvar_read("coll_rdmc_bcasts");
    long all_errors = 0;
    MPI_Reduce(&errors, &all_errors, 1, MPI_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0) {
        if (rdmc_before < 0) {
            printf("# coll/rdmc: not loaded\n");
        } else {
            printf("# coll/rdmc carried %lld of the %ld broadcasts measured (warm-up included)\n",
                   rdmc_after - rdmc_before, data_bcasts);
        }
        if (o.check) {
            printf("# data check: %ld wrong bytes\n", all_errors);
        }
    }
    free(buf);
    MPI_Finalize();
    return all_errors != 0;
}
