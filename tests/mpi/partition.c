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
 *
 * Under ULFM (--ulfm; Open MPI 5, mpirun --with-ft ulfm) the majority
 * cannot keep the communicator: the view change fails the broadcast under
 * way and every later one with MPI_ERR_PROC_FAILED (RDMC_ERR_PROC_FAILED;
 * or MPI_ERR_REVOKED when Open MPI, told of the removed ranks, refuses
 * the call itself),
 * and the minority's with MPI_ERR_REVOKED (RDMC_ERR_PARTITIONED; a later
 * call there may get MPI_ERR_PROC_FAILED from Open MPI itself, once its
 * PML has found the ranks across the cut unreachable).  Every
 * rank then prints the broadcast it stopped at; the driver checks that the
 * majority's ranks name the same one (every broadcast before it delivered
 * at each of them, none after it) and the minority's one no later (a
 * broadcast the whole majority held when its view changed completes there
 * although the minority never saw it stable), and the majority still ends
 * in a view of exactly its members, and it goes on ULFM's way
 * (go_on_shrunk).
 *
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
#include <mpi-ext.h>

#include "membership/rdmc.h"
#include "rdmc_pvars.h"

enum { LEN = 64 * 1024 };

static int failures, rank;
static int views_seen;

#if defined(OMPI_HAVE_MPI_EXT_FTMPI) && OMPI_HAVE_MPI_EXT_FTMPI
#define HAVE_ULFM 1
#else
#define HAVE_ULFM 0   /* --ulfm is for Open MPI 5 only */
#endif

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

/* Recovery after the partition, ULFM's way: the majority revokes and
 * shrinks MPI_COMM_WORLD and broadcasts 10 more times on what is left,
 * while the minority stays alive (a partition, not a death), at most 60 s,
 * until the majority's rank 0 says it is done.  Open MPI's runtime saw no
 * failure; rdmc told Open MPI of the ranks its view change removed, and
 * that is what lets MPIX_Comm_shrink leave them out rather than wait for
 * them. */
static void go_on_shrunk(int in_minority, const char *dir, int expect)
{
    char path[512];
    MPI_Comm shrunk;
    int n = 0, bad = 0, rc;
    static uint8_t data[4096];

    snprintf(path, sizeof(path), "%s/shrunk", dir != NULL ? dir : ".");
    if (in_minority) {
        for (int t = 0; t < 600 && access(path, F_OK) != 0; t++) {
            nap(100);
        }
        return;
    }
    double t0 = MPI_Wtime();
#if HAVE_ULFM
    MPIX_Comm_revoke(MPI_COMM_WORLD);
    rc = MPIX_Comm_shrink(MPI_COMM_WORLD, &shrunk);
#else
    rc = MPI_ERR_UNSUPPORTED_OPERATION;   /* --ulfm given to a build without ULFM */
#endif
    CHECK(rc == MPI_SUCCESS, "the shrink returned %d", rc);
    if (rc != MPI_SUCCESS) {
        return;
    }
    double shrink_s = MPI_Wtime() - t0;
    /* Without rdmc's verdicts Open MPI would wait for the minority's end
     * (60 s here). */
    CHECK(shrink_s < 10, "the shrink took %.2f s: it waited for the minority", shrink_s);
    long long before = rdmc_pvar_read("coll_rdmc_bcasts");
    MPI_Comm_size(shrunk, &n);
    CHECK(n == expect, "the shrunk communicator has %d ranks, expected %d", n, expect);
    MPI_Comm_set_errhandler(shrunk, MPI_ERRORS_RETURN);
    for (int k = 0; k < 10; k++) {
        for (size_t b = 0; b < sizeof(data); b++) {
            data[b] = rank == 0 ? pattern(1000 + k, b) : 0;
        }
        rc = MPI_Bcast(data, (int)sizeof(data), MPI_BYTE, 0, shrunk);
        CHECK(rc == MPI_SUCCESS, "broadcast %d on the shrunk communicator: rc %d", k, rc);
        for (size_t b = 0; b < sizeof(data); b++) {
            bad += data[b] != pattern(1000 + k, b);
        }
    }
    CHECK(bad == 0, "%d wrong bytes on the shrunk communicator", bad);
    CHECK(rdmc_pvar_read("coll_rdmc_bcasts") - before == 10,
          "MPI_T: rdmc carried %lld of the 10 broadcasts on the shrunk communicator",
          rdmc_pvar_read("coll_rdmc_bcasts") - before);
    printf("rank %d: MPIX_Comm_shrink made %d ranks in %.2f s; 10 broadcasts there\n", rank, n,
           shrink_s);
    fflush(stdout);
    if (rank == 0) {
        FILE *f = fopen(path, "w");
        if (f != NULL) {
            fclose(f);
        }
    }
}

int main(int argc, char **argv)
{
    uint64_t minority = 0, view_id = 0;
    int count = 300, period_ms = 20, size, flag = 0, cls, rc = MPI_SUCCESS, i, ulfm = 0;
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
    for (int a = 1; a < argc; a++) {
        ulfm |= strcmp(argv[a], "--ulfm") == 0;
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
        /* Under ULFM Open MPI itself may refuse it first, once its PML has
         * found the other side unreachable: MPI_ERR_PROC_FAILED. */
        CHECK((cls == RDMC_ERR_PARTITIONED || (ulfm && cls == RDMC_ERR_PROC_FAILED)) &&
                  MPI_Wtime() - t0 < 0.5,
              "a later broadcast: class %d after %.3f s", cls, MPI_Wtime() - t0);
        CHECK(views_seen == 0, "the minority installed %d views", views_seen);
        printf("rank %d (minority): partitioned at broadcast %d\n", rank, i);
    } else {
        int n = 0, expect = 0;
        long long carried = rdmc_pvar_read("coll_rdmc_bcasts") - bcasts;
        if (ulfm) {
            /* rdmc fails the broadcast under way with MPI_ERR_PROC_FAILED;
             * a call that comes after rdmc told Open MPI of the removed
             * ranks is refused by Open MPI itself, before rdmc sees it
             * (and is not counted), with either of ULFM's classes. */
            CHECK(cls == RDMC_ERR_PROC_FAILED || cls == RDMC_ERR_PARTITIONED,
                  "broadcast %d of %d: rc %d class %d, expected MPI_ERR_PROC_FAILED or "
                  "MPI_ERR_REVOKED", i, count, rc, cls);
            CHECK(carried == i || carried == i + 1, "MPI_T: rdmc carried %lld of %d broadcasts",
                  carried, i + 1);
        } else {
            CHECK(rc == MPI_SUCCESS, "broadcast %d of %d failed: rc %d class %d", i, count, rc,
                  cls);
            CHECK(carried == count, "MPI_T: rdmc carried %lld of %d broadcasts", carried, count);
        }
        CHECK(rdmc_pvar_read("coll_rdmc_fallbacks") - fallbacks == 0,
              "MPI_T: %lld broadcasts handed on", rdmc_pvar_read("coll_rdmc_fallbacks") - fallbacks);
        if (ulfm) {
            double t0 = MPI_Wtime();
            rc = MPI_Bcast(buf, LEN, MPI_BYTE, 0, MPI_COMM_WORLD);
            cls = MPI_SUCCESS;
            if (rc != MPI_SUCCESS) {
                MPI_Error_class(rc, &cls);
            }
            CHECK((cls == RDMC_ERR_PROC_FAILED || cls == RDMC_ERR_PARTITIONED) &&
                      MPI_Wtime() - t0 < 0.5,
                  "a later broadcast: class %d after %.3f s", cls, MPI_Wtime() - t0);
        }
        for (int r = 0; r < size; r++) {
            expect += !((minority >> r) & 1);
        }
        /* The view changes go on after the first one failed the broadcast
         * (the two minority ranks may leave in two views): wait for the
         * last, at most 10 s. */
        for (int tries = 0; tries < 200; tries++) {
            MPI_Group members;
            rc = RDMC_Comm_get_view(MPI_COMM_WORLD, &view_id, &members);
            if (rc != MPI_SUCCESS) {
                break;
            }
            MPI_Group_size(members, &n);
            MPI_Group_free(&members);
            if (n == expect || !ulfm) {
                break;
            }
            nap(50);
        }
        CHECK(rc == MPI_SUCCESS, "RDMC_Comm_get_view returned %d", rc);
        CHECK(n == expect && view_id >= 1 && views_seen >= 1,
              "final view %llu of %d members (expected %d), %d callbacks",
              (unsigned long long)view_id, n, expect, views_seen);
        printf("rank %d (majority): %d broadcasts, view %llu of %d members\n", rank, i,
               (unsigned long long)view_id, n);
    }
    if (ulfm) {
        printf("rank %d stopped at broadcast %d\n", rank, i);
        fflush(stdout);
        go_on_shrunk(in_minority, dir, size - __builtin_popcountll(minority));
    }
    printf("%s rank %d\n", failures == 0 ? "PASS" : "FAIL", rank);
    fflush(stdout);
    _exit(0);   /* Open MPI 4.1's MPI_Finalize waits for unreachable processes */
}
