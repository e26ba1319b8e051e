/*
 * Many communicators, as libraries create them (one per object): every
 * rank checks the bytes it received, and through MPI_T and /proc that rdmc
 * carried the broadcasts with one engine for the whole process.
 *
 *   many_comms --outstanding N   N communicators (dups of MPI_COMM_WORLD and
 *                                splits of it, alternately), one MPI_Ibcast
 *                                posted on each before any is waited for,
 *                                then MPI_Waitall; sizes cycle through the
 *                                SST's slots and the engine
 *   many_comms --cycles N        N times MPI_Comm_dup -> MPI_Bcast -> MPI_Comm_free;
 *                                the process's resident memory at cycle N/10
 *                                and at the end must not differ by more than
 *                                --max-growth-kib (256)
 *   --max-free-ms MS             no MPI_Comm_free may take longer (2000): the
 *                                teardown is bounded, not a coll_rdmc_timeout_ms wait
 *   --idle-ms MS                 with --outstanding: then every rank sleeps MS outside
 *                                MPI with all the communicators kept, and
 *   --max-idle-writes N          may have posted at most N SST writes meanwhile: under
 *                                failure handling one communicator carries the
 *                                heartbeats to each peer, not every one of them
 *   --shm-sst-links MIN:MAX      with --outstanding: every communicator got a link
 *                                (coll_rdmc_links), and MIN to MAX of them an SST in
 *                                shared memory (coll_rdmc_shm_sst_links), as when
 *                                coll_rdmc_shm_sst_max_mappings sends the rest through
 *                                the provider
 *
 * Checked at every rank: every byte; coll_rdmc_ibcasts/bcasts grew by the
 * broadcasts issued; coll_rdmc_endpoints did not grow after the first
 * communicator; the process's thread count did not grow with the number of
 * communicators.  Exits non-zero at every rank when any rank saw a problem.
 */
#include <mpi.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rdmc_pvars.h"

#define MAX_PRINTED 10

static int rank, size, problems;
static int shm_links_min = -1, shm_links_max;   /* --shm-sst-links */
static int idle_ms;                              /* --idle-ms */
static long long max_idle_writes = -1;           /* --max-idle-writes */

static void problem(const char *fmt, long long a, long long b)
{
    if (problems++ < MAX_PRINTED) {
        printf("many_comms rank %d: ", rank);
        printf(fmt, a, b);
        printf("\n");
    }
}

/* A line of /proc/self/status, as a number ("Threads:", "VmRSS:"). */
static long status_value(const char *key)
{
    char line[256];
    long value = -1;
    FILE *f = fopen("/proc/self/status", "r");

    while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, key, strlen(key)) == 0) {
            value = strtol(line + strlen(key), NULL, 10);
            break;
        }
    }
    if (f != NULL) {
        fclose(f);
    }
    return value;
}

static uint8_t pattern(int comm_index, int root, size_t i)
{
    return (uint8_t)(comm_index * 131 + root * 17 + i * 7 + 3);
}

/* Sizes through the SST's slots (<= 4 KiB) and through the engine. */
static size_t bytes_for(int i)
{
    static const size_t sizes[] = { 1, 100, 4096, 5000, 65536, 300000 };
    return sizes[i % (int)(sizeof(sizes) / sizeof(sizes[0]))];
}

static MPI_Comm new_comm(int i)
{
    MPI_Comm comm;

    if (i % 2 == 0) {
        MPI_Comm_dup(MPI_COMM_WORLD, &comm);
    } else {
        /* Halves of the world, in an order that differs from the world's. */
        MPI_Comm_split(MPI_COMM_WORLD, rank % 2, size - rank, &comm);
    }
    return comm;
}

static void check_buffer(const uint8_t *buf, size_t n, int comm_index, int root)
{
    for (size_t b = 0; b < n; b++) {
        if (buf[b] != pattern(comm_index, root, b)) {
            problem("communicator %lld: wrong byte at offset %lld", comm_index, (long long)b);
            return;
        }
    }
}

/* Sleep idle_ms outside MPI beside count communicators: the SST writes
 * the process posted meanwhile are heartbeats (after half a second in
 * which the last rows of the broadcasts go out). */
static void idle_beside(int count)
{
    long long writes;

    usleep(500 * 1000);
    writes = rdmc_pvar_read("coll_rdmc_sst_writes");
    usleep((useconds_t)idle_ms * 1000);
    writes = rdmc_pvar_read("coll_rdmc_sst_writes") - writes;
    if (max_idle_writes >= 0 && writes > max_idle_writes) {
        problem("%lld SST writes while idle (at most %lld)", writes, max_idle_writes);
    }
    if (rank == 0) {
        printf("many_comms: %d ms idle beside %d communicators: %lld SST writes\n", idle_ms,
               count, writes);
    }
}

static void outstanding(int count)
{
    MPI_Comm *comms = calloc((size_t)count, sizeof(*comms));
    MPI_Request *reqs = calloc((size_t)count, sizeof(*reqs));
    uint8_t **bufs = calloc((size_t)count, sizeof(*bufs));
    int *roots = calloc((size_t)count, sizeof(*roots));
    long threads_before, threads_after;
    long long ibcasts, endpoints, links, shm_links, expected = 0;

    /* The first communicator's first broadcast opens the endpoint and
     * starts the progress thread. */
    (void)rdmc_pvar_read("coll_rdmc_endpoints");   /* counts from here */
    links = rdmc_pvar_read("coll_rdmc_links");
    shm_links = rdmc_pvar_read("coll_rdmc_shm_sst_links");
    comms[0] = new_comm(0);
    uint8_t first = 1;
    MPI_Bcast(&first, 1, MPI_BYTE, 0, comms[0]);
    MPI_Ibcast(&first, 1, MPI_BYTE, 0, comms[0], &reqs[0]);
    MPI_Wait(&reqs[0], MPI_STATUS_IGNORE);
    threads_before = status_value("Threads:");
    endpoints = rdmc_pvar_read("coll_rdmc_endpoints");
    ibcasts = rdmc_pvar_read("coll_rdmc_ibcasts");
    for (int i = 1; i < count; i++) {
        comms[i] = new_comm(i);
    }
    for (int i = 0; i < count; i++) {
        int csize, crank;
        size_t n = bytes_for(i);
        MPI_Comm_size(comms[i], &csize);
        MPI_Comm_rank(comms[i], &crank);
        roots[i] = i % csize;
        expected += csize > 1;   /* rdmc does not take communicators of one */
        bufs[i] = malloc(n);
        for (size_t b = 0; b < n; b++) {
            bufs[i][b] = crank == roots[i] ? pattern(i, roots[i], b) : 0;
        }
        MPI_Ibcast(bufs[i], (int)n, MPI_BYTE, roots[i], comms[i], &reqs[i]);
    }
    MPI_Waitall(count, reqs, MPI_STATUSES_IGNORE);
    for (int i = 0; i < count; i++) {
        check_buffer(bufs[i], bytes_for(i), i, roots[i]);
        free(bufs[i]);
    }
    threads_after = status_value("Threads:");
    if (rdmc_pvar_read("coll_rdmc_ibcasts") - ibcasts != expected) {
        problem("rdmc carried %lld of %lld MPI_Ibcasts",
                rdmc_pvar_read("coll_rdmc_ibcasts") - ibcasts, expected);
    }
    if (rdmc_pvar_read("coll_rdmc_endpoints") != endpoints || endpoints != 1) {
        problem("libfabric endpoints: %lld after one communicator, %lld after all",
                endpoints, rdmc_pvar_read("coll_rdmc_endpoints"));
    }
    links = rdmc_pvar_read("coll_rdmc_links") - links;
    shm_links = rdmc_pvar_read("coll_rdmc_shm_sst_links") - shm_links;
    if (shm_links_min >= 0 && links != expected) {
        problem("%lld of %lld communicators got a link", links, expected);
    }
    if (shm_links_min >= 0 && (shm_links < shm_links_min || shm_links > shm_links_max)) {
        problem("%lld communicators kept their SST in shared memory, %lld through the provider",
                shm_links, links - shm_links);
    }
    if (threads_after != threads_before) {
        problem("threads: %lld with one communicator, %lld with all", threads_before,
                threads_after);
    }
    if (idle_ms > 0) {
        idle_beside(count);
    }
    for (int i = 0; i < count; i++) {
        MPI_Comm_free(&comms[i]);
    }
    if (rank == 0) {
        printf("many_comms: %d communicators, one MPI_Ibcast outstanding on each; threads "
               "%ld -> %ld; endpoints %lld; SSTs in shared memory %lld of %lld\n",
               count, threads_before, threads_after, endpoints, shm_links, links);
    }
    free(roots);
    free(bufs);
    free(reqs);
    free(comms);
}

static void cycles(int count, long max_growth_kib, double max_free_ms)
{
    long rss_early = 0;
    long long bcasts = rdmc_pvar_read("coll_rdmc_bcasts");
    double slowest_free = 0, start = MPI_Wtime();
    uint8_t buf[4096];

    for (int i = 0; i < count; i++) {
        MPI_Comm comm;
        int root = i % size;
        MPI_Comm_dup(MPI_COMM_WORLD, &comm);
        for (size_t b = 0; b < sizeof(buf); b++) {
            buf[b] = rank == root ? pattern(i, root, b) : 0;
        }
        MPI_Bcast(buf, (int)sizeof(buf), MPI_BYTE, root, comm);
        check_buffer(buf, sizeof(buf), i, root);
        double t = MPI_Wtime();
        MPI_Comm_free(&comm);
        t = (MPI_Wtime() - t) * 1e3;
        slowest_free = t > slowest_free ? t : slowest_free;
        if (i + 1 == count / 10) {
            rss_early = status_value("VmRSS:");
        }
    }
    long rss_end = status_value("VmRSS:");
    if (rdmc_pvar_read("coll_rdmc_bcasts") - bcasts != count) {
        problem("rdmc carried %lld of %lld MPI_Bcasts", rdmc_pvar_read("coll_rdmc_bcasts") - bcasts,
                count);
    }
    if (rss_end - rss_early > max_growth_kib) {
        problem("resident memory grew from %lld KiB to %lld KiB", rss_early, rss_end);
    }
    if (slowest_free > max_free_ms) {
        problem("an MPI_Comm_free took %lld ms (limit %lld)", (long long)slowest_free,
                (long long)max_free_ms);
    }
    if (rank == 0) {
        printf("many_comms: %d cycles of dup -> MPI_Bcast -> free in %.2f s; resident memory "
               "%ld KiB at cycle %d, %ld KiB at the end; slowest free %.1f ms\n",
               count, MPI_Wtime() - start, rss_early, count / 10, rss_end, slowest_free);
    }
}

int main(int argc, char **argv)
{
    int provided, all_problems = 0, outstanding_count = 0, cycle_count = 0;
    long max_growth_kib = 256;
    double max_free_ms = 2000;

    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--outstanding") == 0) {
            outstanding_count = atoi(argv[i + 1]);
        } else if (strcmp(argv[i], "--cycles") == 0) {
            cycle_count = atoi(argv[i + 1]);
        } else if (strcmp(argv[i], "--max-growth-kib") == 0) {
            max_growth_kib = atol(argv[i + 1]);
        } else if (strcmp(argv[i], "--max-free-ms") == 0) {
            max_free_ms = atof(argv[i + 1]);
        } else if (strcmp(argv[i], "--idle-ms") == 0) {
            idle_ms = atoi(argv[i + 1]);
        } else if (strcmp(argv[i], "--max-idle-writes") == 0) {
            max_idle_writes = atoll(argv[i + 1]);
        } else if (strcmp(argv[i], "--shm-sst-links") == 0 &&
                   sscanf(argv[i + 1], "%d:%d", &shm_links_min, &shm_links_max) != 2) {
            printf("many_comms: --shm-sst-links wants MIN:MAX, not %s\n", argv[i + 1]);
            problems++;
        }
    }
    if (rdmc_pvar_read("coll_rdmc_ibcasts") < 0) {
        problem("coll/rdmc is not loaded (%lld, %lld)", 0, 0);
    } else {
        if (outstanding_count > 0) {
            outstanding(outstanding_count);
        }
        if (cycle_count > 0) {
            cycles(cycle_count, max_growth_kib, max_free_ms);
        }
    }
    MPI_Allreduce(&problems, &all_problems, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0) {
        printf("many_comms: %s\n", all_problems ? "FAILED" : "OK");
    }
    /* For the script: what this process leaves in /dev/shm after it. */
    printf("many_comms: rank %d is process %ld\n", rank, (long)getpid());
    MPI_Finalize();
    return all_problems ? 1 : 0;
}
