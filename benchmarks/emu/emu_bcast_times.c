/*
 * When does each rank have the data?  Broadcasts from rank 0, and for each
 * message size the mean completion time (from the root's start to a rank's
 * return, on the root's clock) of every rank but one chosen "slow" rank, of
 * the slow rank itself, and of all ranks.  On the emulated cluster one host
 * can have a slower link (emu.sh setup ... SLOW_HOST), and the question is
 * how long the others wait because of it.
 *
 *   emu_bcast_times -m SIZE[,SIZE...] [-i iterations] [-x warmup] [-s rank] [-c]
 *
 * -s: the slow rank (default: none, then "others" is every rank); -c checks
 * every byte received.  Prints "size others_us slow_us all_us" rows and a
 * data-check line; exits 1 if a byte was wrong.  Clock offsets to the root
 * are estimated as in rdmc_bcast_bench -e (the fastest of a few ping-pongs).
 */
#include <mpi.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_clock.h"
#include "bench_options.h"

#define MAX_SIZES 32

typedef struct options {
    size_t sizes[MAX_SIZES];
    int nsizes;
    int iterations, warmup, slow, check;
} options_t;

static int parse_sizes(const char *arg, options_t *o)
{
    char word[32];
    long v;
    int rc;

    while ((rc = bench_next_item(&arg, word, sizeof(word))) > 0) {
        if (bench_parse_long(word, 1, &v) != 0 || o->nsizes == MAX_SIZES) {
            return -1;
        }
        o->sizes[o->nsizes++] = (size_t)v;
    }
    return rc == 0 && o->nsizes > 0 ? 0 : -1;
}

static int parse_options(int argc, char **argv, options_t *o)
{
    int c, rc = 0;

    *o = (options_t){ .iterations = 5, .warmup = 1, .slow = -1 };
    while ((c = getopt(argc, argv, "m:i:x:s:c")) != -1 && rc == 0) {
        if (bench_loop_option(c, optarg, &o->iterations, &o->warmup, &rc)) {
            continue;
        }
        switch (c) {
        case 'm':
            rc = parse_sizes(optarg, o);
            break;
        case 's':
            rc = bench_parse_int(optarg, 1, &o->slow);
            break;
        case 'c':
            o->check = 1;
            break;
        default:
            return -1;
        }
    }
    return rc == 0 && o->nsizes > 0 ? 0 : -1;
}

static unsigned char pattern(size_t i, int seed)
{
    return (unsigned char)((i * 13 + (size_t)seed) & 0xff);
}

int main(int argc, char **argv)
{
    options_t o;
    int rank, size;
    long wrong = 0, all_wrong = 0;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (parse_options(argc, argv, &o) != 0 || o.slow >= size || o.slow == 0) {
        if (rank == 0) {
            fprintf(stderr, "usage: %s -m SIZE[,SIZE...] [-i iterations] [-x warmup] "
                            "[-s slow rank > 0] [-c]\n", argv[0]);
        }
        MPI_Finalize();
        return 2;
    }
    size_t max = 0;
    for (int s = 0; s < o.nsizes; s++) {
        max = o.sizes[s] > max ? o.sizes[s] : max;
    }
    unsigned char *buf = malloc(max);
    double *ends = malloc(sizeof(double) * (size_t)size);
    if (buf == NULL || ends == NULL) {
        fprintf(stderr, "rank %d: cannot allocate %zu bytes\n", rank, max);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    double offset = bench_clock_offset_to_root(0, rank, size);

    if (rank == 0) {
        printf("# completion time (us) from the root's start, mean of %d; slow rank %d\n",
               o.iterations, o.slow);
        printf("%-10s %14s %14s %14s\n", "# size", "others_us", "slow_us", "all_us");
    }
    for (int s = 0; s < o.nsizes; s++) {
        size_t bytes = o.sizes[s];
        double others = 0, slow = 0, all = 0;
        for (int i = 0; i < o.warmup + o.iterations; i++) {
            int seed = s * 1000 + i;
            if (rank == 0 && o.check) {
                for (size_t b = 0; b < bytes; b++) {
                    buf[b] = pattern(b, seed);
                }
            }
            MPI_Barrier(MPI_COMM_WORLD);
            double start = MPI_Wtime();
            MPI_Bcast(buf, (int)bytes, MPI_BYTE, 0, MPI_COMM_WORLD);
            double end = MPI_Wtime() + offset;
            if (rank != 0 && o.check) {
                for (size_t b = 0; b < bytes; b++) {
                    wrong += buf[b] != pattern(b, seed);
                }
            }
            MPI_Gather(&end, 1, MPI_DOUBLE, ends, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
            if (rank != 0 || i < o.warmup) {
                continue;
            }
            double last_other = 0, last = 0;
            for (int r = 0; r < size; r++) {
                double t = ends[r] - start;
                last = t > last ? t : last;
                if (r != o.slow && t > last_other) {
                    last_other = t;
                }
            }
            others += last_other;
            all += last;
            slow += o.slow > 0 ? ends[o.slow] - start : 0;
        }
        if (rank == 0) {
            double scale = 1e6 / o.iterations;
            printf("%-10zu %14.1f %14.1f %14.1f\n", bytes, others * scale, slow * scale,
                   all * scale);
            fflush(stdout);
        }
    }
    MPI_Reduce(&wrong, &all_wrong, 1, MPI_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0 && o.check) {
        printf("# data check: %ld wrong bytes\n", all_wrong);
    }
    free(ends);
    free(buf);
    MPI_Finalize();
    return all_wrong != 0;
}
