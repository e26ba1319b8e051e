/*
 * A network partition under failure handling: the driver
 * (partition.test) runs one rank per emulated host and, in the middle of
 * a stream of broadcasts from rank 0, cuts the hosts of --minority off
 * from the others (each side can still reach mpirun, not the other side).
 *
 *   partition --minority 3,4 --count 300 --period-ms 20 --dir DIR
 *
 * The majority must go on: every broadcast from rank 0 completes with its
 * bytes, and the final view is exactly the majority.  The minority must
 * stop: a call returns RDMC_ERR_PARTITIONED, later calls return it at
 * once, and it never installs a view (its view callback never runs).
 * MPI_T shows that rdmc carried every broadcast the majority completed.
 * Each rank prints PASS or FAIL for itself; mpirun's exit code means
 * nothing here.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mpi.h>

#include "membership/rdmc.h"
#include "rdmc_pvars.h"

enum { LEN = 64 * 1024 };

static int failures, rank;
static int views_seen;

#define CHECK(cond, ...)                                                                        \
    do {                                                                                        \
        if (!(cond)) {                                                                          \
            failures++;                                                                         \
            printf("rank %d: check failed (line %d): ", rank, __LINE__);                      \
            printf(__VA_ARGS__);                                                                \
            printf("\n");                                                                       \
        }                                                                                       \
    } while (0)

static void on_view(MPI_Comm comm, uint64_t view_id, MPI_Group joined, MPI_Group left, void *arg)
{
    (void)comm;
    (void)view_id;
    (void)joined;
    (void)left;
    (void)arg;
    views_seen++;
}

static uint8_t pattern(int i, size_t b)
{
    return (uint8_t)(i * 13 + b * 7 + (b >> 9));
}

static void nap(int ms)
{
    struct timespec t = { ms / 1000, (long)(ms % 1000) * 1000000 };

    nanosleep(&t, NULL);
}

int main(int argc, char **argv)
{
    uint64_t minority = 0, view_id = 0;
    int count = 300, period_ms = 20, size, flag = 0, cls, rc = MPI_SUCCESS, i;
    const char *dir = NULL;
    static uint8_t buf[LEN];

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    for (int a = 1; a + 1 < argc; a += 2) {
        if (strcmp(argv[a], "--minority") == 0) {
            for (char *s = argv[a + 1]; *s != '\0';) {
                minority |= UINT64_C(1) << strtol(s, &s, 10);
                s += *s == ',';
            }
        } else if (strcmp(argv[a], "--count") == 0) {
            count = atoi(argv[a + 1]);
        } else if (strcmp(argv[a], "--period-ms") == 0) {
            period_ms = atoi(argv[a + 1]);
        } else if (strcmp(argv[a], "--dir") == 0) {
            dir = argv[a + 1];
        }
    }
    int in_minority = (minority >> rank) & 1;

    CHECK(RDMC_Comm_active(MPI_COMM_WORLD, &flag) == MPI_SUCCESS && flag, "rdmc not active");
    CHECK(RDMC_Comm_set_view_callback(MPI_COMM_WORLD, on_view, NULL) == MPI_SUCCESS,
          "no view callback");
    long long bcasts = rdmc_pvar_read("coll_rdmc_bcasts");
    long long fallbacks = rdmc_pvar_read("coll_rdmc_fallbacks");
    for (i = 0; i < count; i++) {
        if (i == 10 && rank == 0 && dir != NULL) {
            char path[512];
            snprintf(path, sizeof(path), "%s/started", dir);
            fclose(fopen(path, "w"));   /* the driver cuts the network soon */
        }
        for (size_t b = 0; b < LEN; b++) {
            buf[b] = rank == 0 ? pattern(i, b) : 0;
        }
        rc = MPI_Bcast(buf, LEN, MPI_BYTE, 0, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) {
            break;
        }
        size_t bad = 0;
        for (size_t b = 0; b < LEN; b++) {
            bad += buf[b] != pattern(i, b);
        }
        CHECK(bad == 0, "broadcast %d: %zu bytes wrong", i, bad);
        nap(period_ms);
    }
    cls = MPI_SUCCESS;
    if (rc != MPI_SUCCESS) {
        MPI_Error_class(rc, &cls);
    }
    if (in_minority) {
        CHECK(cls == RDMC_ERR_PARTITIONED, "broadcast %d of %d: rc %d class %d, expected "
              "RDMC_ERR_PARTITIONED", i, count, rc, cls);
        double t0 = MPI_Wtime();
        rc = MPI_Bcast(buf, LEN, MPI_BYTE, 0, MPI_COMM_WORLD);
        cls = MPI_SUCCESS;
        if (rc != MPI_SUCCESS) {
            MPI_Error_class(rc, &cls);
        }
        CHECK(cls == RDMC_ERR_PARTITIONED && MPI_Wtime() - t0 < 0.5,
              "a later broadcast: class %d after %.3f s", cls, MPI_Wtime() - t0);
        CHECK(views_seen == 0, "the minority installed %d views", views_seen);
        printf("rank %d (minority): partitioned at broadcast %d\n", rank, i);
    } else {
        MPI_Group members;
        int n = 0, expect = 0;
        CHECK(rc == MPI_SUCCESS, "broadcast %d of %d failed: rc %d class %d", i, count, rc, cls);
        CHECK(rdmc_pvar_read("coll_rdmc_bcasts") - bcasts == count &&
                  rdmc_pvar_read("coll_rdmc_fallbacks") - fallbacks == 0,
              "MPI_T: rdmc carried %lld of %d broadcasts, %lld handed on",
              rdmc_pvar_read("coll_rdmc_bcasts") - bcasts, count,
              rdmc_pvar_read("coll_rdmc_fallbacks") - fallbacks);
        rc = RDMC_Comm_get_view(MPI_COMM_WORLD, &view_id, &members);
        CHECK(rc == MPI_SUCCESS, "RDMC_Comm_get_view returned %d", rc);
        if (rc == MPI_SUCCESS) {
            MPI_Group_size(members, &n);
            MPI_Group_free(&members);
        }
        for (int r = 0; r < size; r++) {
            expect += !((minority >> r) & 1);
        }
        CHECK(n == expect && view_id >= 1 && views_seen >= 1,
              "final view %llu of %d members (expected %d), %d callbacks",
              (unsigned long long)view_id, n, expect, views_seen);
        printf("rank %d (majority): %d broadcasts, view %llu of %d members\n", rank, i,
               (unsigned long long)view_id, n);
    }
    printf("%s rank %d\n", failures == 0 ? "PASS" : "FAIL", rank);
    fflush(stdout);
    _exit(0);   /* Open MPI 4.1's MPI_Finalize waits for unreachable processes */
}
