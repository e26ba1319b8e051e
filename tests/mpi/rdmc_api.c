/*
 * The extended API (rdmc.h) as an application sees it, linked through
 * librdmc: the error classes, RDMC_Comm_active, the first view, the
 * failed group, the view callback, RDMC_Comm_shrink, and the errors for
 * bad arguments and for communicators rdmc does not manage (declined
 * by a loaded coll/rdmc: MPI_SUCCESS with flag 0 from RDMC_Comm_active;
 * coll/rdmc absent or switched off: RDMC_ERR_NOT_ACTIVE).
 *
 *   rdmc_api --expect rdmc|off
 *
 * Each rank checks and reports its own result; rank 0 prints the verdict.
 */
#include <mpi.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "membership/rdmc.h"
#include "rdmc_pvars.h"

static int rank, size, failures;

static void fail(const char *fmt, const char *what, long got, long want)
{
    printf("FAIL rank %d: ", rank);
    printf(fmt, what, got, want);
    printf("\n");
    failures++;
}

static void expect_int(const char *what, long got, long want)
{
    if (got != want) {
        fail("%s is %ld, expected %ld", what, got, want);
    }
}

static void expect_class(const char *what, int rc, int want)
{
    int cls = rc;

    if (rc != MPI_SUCCESS) {
        MPI_Error_class(rc, &cls);
    }
    if (cls != want) {
        fail("%s returned class %ld, expected %ld", what, cls, want);
    }
}

/* Four distinct classes, the same at every rank, each with its string;
 * where MPI has ULFM's classes, the first two are those. */
static void error_classes(void)
{
    static const char *const names[4] = { "RDMC_ERR_PROC_FAILED", "RDMC_ERR_PARTITIONED",
                                          "RDMC_ERR_ACCESS", "RDMC_ERR_NOT_ACTIVE" };
    int mine[4] = { RDMC_ERR_PROC_FAILED, RDMC_ERR_PARTITIONED, RDMC_ERR_ACCESS,
                    RDMC_ERR_NOT_ACTIVE };
    int *all = malloc(sizeof(mine) * (size_t)size);
    int first_own = 0;

#if defined(MPI_ERR_PROC_FAILED) && defined(MPI_ERR_REVOKED)
    expect_int("RDMC_ERR_PROC_FAILED (ULFM's MPI_ERR_PROC_FAILED)", mine[0],
               MPI_ERR_PROC_FAILED);
    expect_int("RDMC_ERR_PARTITIONED (ULFM's MPI_ERR_REVOKED)", mine[1], MPI_ERR_REVOKED);
    first_own = 2;
#endif
    for (int i = first_own; i < 4; i++) {
        char text[MPI_MAX_ERROR_STRING];
        int len = 0;
        if (mine[i] <= MPI_ERR_LASTCODE) {
            fail("%s is %ld, not above MPI_ERR_LASTCODE (%ld)", names[i], mine[i],
                 MPI_ERR_LASTCODE);
        }
        for (int j = 0; j < i; j++) {
            if (mine[j] == mine[i]) {
                fail("%s has the value %ld, as another class (%ld)", names[i], mine[i], j);
            }
        }
        MPI_Error_string(mine[i], text, &len);
        if (strncmp(text, names[i], strlen(names[i])) != 0) {
            fail("%s's string does not name it (%ld, %ld)", names[i], len, 0);
        }
    }
    MPI_Allgather(mine, 4, MPI_INT, all, 4, MPI_INT, MPI_COMM_WORLD);
    for (int r = 0; r < size; r++) {
        for (int i = 0; i < 4; i++) {
            if (all[r * 4 + i] != mine[i]) {
                fail("%s differs at rank %ld (%ld here)", names[i], r, mine[i]);
            }
        }
    }
    free(all);
}

/* A communicator rdmc does not manage.  RDMC_Comm_active returns
 * active_class there: MPI_SUCCESS (flag 0) where coll/rdmc is loaded but
 * declined the communicator, RDMC_ERR_NOT_ACTIVE where coll/rdmc is not
 * in the process at all; every other call RDMC_ERR_NOT_ACTIVE. */
static void not_managed(MPI_Comm comm, const char *what, int active_class)
{
    uint64_t view_id;
    MPI_Group group;
    MPI_Comm other;
    int flag = -1;

    expect_class(what, RDMC_Comm_active(comm, &flag), active_class);
    expect_int("RDMC_Comm_active's flag on an unmanaged communicator", flag, 0);
    expect_class("RDMC_Comm_get_view on an unmanaged communicator",
                 RDMC_Comm_get_view(comm, &view_id, &group), RDMC_ERR_NOT_ACTIVE);
    expect_class("RDMC_Comm_get_failed on an unmanaged communicator",
                 RDMC_Comm_get_failed(comm, &group), RDMC_ERR_NOT_ACTIVE);
    expect_class("RDMC_Comm_open on an unmanaged communicator",
                 RDMC_Comm_open(comm, "g", MPI_INFO_NULL), RDMC_ERR_NOT_ACTIVE);
    expect_class("RDMC_Comm_admit on an unmanaged communicator",
                 RDMC_Comm_admit(comm, 1, 0, &other), RDMC_ERR_NOT_ACTIVE);
    expect_class("RDMC_Comm_close on an unmanaged communicator", RDMC_Comm_close(comm),
                 RDMC_ERR_NOT_ACTIVE);
}

/* An intercommunicator of the even and the odd ranks: rdmc declines it,
 * and RDMC_Comm_active must say so without waiting for anyone. */
static void intercommunicator(void)
{
    MPI_Comm half, inter;
    int color = rank % 2, flag = -1;

    MPI_Comm_split(MPI_COMM_WORLD, color, rank, &half);
    /* The other half's leader: world rank 1 for the evens, 0 for the odds. */
    MPI_Intercomm_create(half, 0, MPI_COMM_WORLD, 1 - color, 7, &inter);
    expect_class("RDMC_Comm_active(intercommunicator) with rdmc loaded",
                 RDMC_Comm_active(inter, &flag), MPI_SUCCESS);
    expect_int("RDMC_Comm_active's flag on an intercommunicator", flag, 0);
    MPI_Comm_free(&inter);
    MPI_Comm_free(&half);
}

static void on_view(MPI_Comm comm, uint64_t view_id, MPI_Group joined, MPI_Group left, void *arg)
{
    (void)comm;
    (void)view_id;
    (void)joined;
    (void)left;
    ++*(int *)arg;
}

/* The first view of a communicator every rank of which is alive. */
static void first_view(MPI_Comm comm)
{
    MPI_Group members, failed, all;
    uint64_t view_id = 99;
    int flag = 0, n = -1, cmp = MPI_UNEQUAL;

    expect_class("RDMC_Comm_active", RDMC_Comm_active(comm, &flag), MPI_SUCCESS);
    expect_int("RDMC_Comm_active's flag", flag, 1);
    expect_class("RDMC_Comm_get_view", RDMC_Comm_get_view(comm, &view_id, &members), MPI_SUCCESS);
    expect_int("the first view's id", (long)view_id, 0);
    MPI_Comm_group(comm, &all);
    MPI_Group_compare(members, all, &cmp);
    expect_int("the first view's members compared with the communicator's group", cmp, MPI_IDENT);
    expect_class("RDMC_Comm_get_failed", RDMC_Comm_get_failed(comm, &failed), MPI_SUCCESS);
    MPI_Group_size(failed, &n);
    expect_int("the failed group's size", n, 0);
    MPI_Group_free(&members);
    MPI_Group_free(&failed);
    MPI_Group_free(&all);
}

/* A shrunk communicator is an ordinary one: rdmc on it, broadcasts and
 * reductions work. */
static void shrink(void)
{
    const int count = 1 << 18;   /* 1 MiB of ints, through rdmc's engine */
    MPI_Comm small;
    MPI_Request request;
    int *buf = malloc(sizeof(int) * (size_t)count), n = 0, sum = 0, calls = 0;

    expect_class("RDMC_Comm_set_view_callback",
                 RDMC_Comm_set_view_callback(MPI_COMM_WORLD, on_view, &calls), MPI_SUCCESS);
    expect_class("RDMC_Comm_shrink", RDMC_Comm_shrink(MPI_COMM_WORLD, &small), MPI_SUCCESS);
    MPI_Comm_size(small, &n);
    expect_int("the shrunk communicator's size", n, size);
    first_view(small);
    for (int i = 0; i < count; i++) {
        buf[i] = rank == 0 ? i * 7 + 1 : -1;
    }
    long long ibcasts = rdmc_pvar_read("coll_rdmc_ibcasts");
    MPI_Ibcast(buf, count, MPI_INT, 0, small, &request);
    MPI_Wait(&request, MPI_STATUS_IGNORE);
    expect_int("MPI_Ibcasts rdmc carried on the shrunk communicator",
               (long)(rdmc_pvar_read("coll_rdmc_ibcasts") - ibcasts), 1);
    for (int i = 0; i < count; i++) {
        if (buf[i] != i * 7 + 1) {
            fail("%s: int %ld is wrong (%ld)", "MPI_Ibcast on the shrunk communicator", i, buf[i]);
            break;
        }
    }
    MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, small);
    expect_int("MPI_Allreduce on the shrunk communicator", sum, (long)size * (size - 1) / 2);
    MPI_Comm_free(&small);
    expect_int("view callbacks without a view change", calls, 0);
    expect_class("removing the view callback",
                 RDMC_Comm_set_view_callback(MPI_COMM_WORLD, NULL, NULL), MPI_SUCCESS);
    free(buf);
}

static void bad_arguments(void)
{
    uint64_t view_id;
    MPI_Group group;
    int flag;

    expect_class("RDMC_Comm_active(MPI_COMM_NULL)", RDMC_Comm_active(MPI_COMM_NULL, &flag),
                 MPI_ERR_COMM);
    expect_class("RDMC_Comm_active(flag NULL)", RDMC_Comm_active(MPI_COMM_WORLD, NULL),
                 MPI_ERR_ARG);
    expect_class("RDMC_Comm_get_view(view_id NULL)",
                 RDMC_Comm_get_view(MPI_COMM_WORLD, NULL, &group), MPI_ERR_ARG);
    expect_class("RDMC_Comm_get_view(MPI_COMM_NULL)",
                 RDMC_Comm_get_view(MPI_COMM_NULL, &view_id, &group), MPI_ERR_COMM);
    expect_class("RDMC_Comm_shrink(newcomm NULL)", RDMC_Comm_shrink(MPI_COMM_WORLD, NULL),
                 MPI_ERR_ARG);
}

/* Joins' arguments, and what needs no second mpirun: refusals before any
 * group is reached (tests/mpi/join.test does the rest). */
static void join_arguments(void)
{
    char long_name[200];
    MPI_Comm comm;

    memset(long_name, 'n', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    expect_class("RDMC_Comm_open(name NULL)", RDMC_Comm_open(MPI_COMM_WORLD, NULL, MPI_INFO_NULL),
                 MPI_ERR_ARG);
    expect_class("RDMC_Comm_open(name of 199 characters)",
                 RDMC_Comm_open(MPI_COMM_WORLD, long_name, MPI_INFO_NULL), MPI_ERR_ARG);
    expect_class("RDMC_Comm_open without rdmc_token_file (at every member)",
                 RDMC_Comm_open(MPI_COMM_WORLD, "g", MPI_INFO_NULL), RDMC_ERR_ACCESS);
    expect_class("RDMC_Comm_admit before RDMC_Comm_open",
                 RDMC_Comm_admit(MPI_COMM_WORLD, 1, 0, &comm), MPI_ERR_ARG);
    expect_class("RDMC_Comm_admit(max_joiners -1)",
                 RDMC_Comm_admit(MPI_COMM_WORLD, -1, 0, &comm), MPI_ERR_ARG);
    expect_class("RDMC_Comm_admit(newcomm NULL)",
                 RDMC_Comm_admit(MPI_COMM_WORLD, 1, 0, NULL), MPI_ERR_ARG);
    expect_class("RDMC_Comm_close before RDMC_Comm_open", RDMC_Comm_close(MPI_COMM_WORLD),
                 MPI_ERR_ARG);
    expect_class("RDMC_Comm_join(name NULL)", RDMC_Comm_join(NULL, MPI_INFO_NULL, &comm),
                 MPI_ERR_ARG);
    expect_class("RDMC_Comm_join(newcomm NULL)", RDMC_Comm_join("g", MPI_INFO_NULL, NULL),
                 MPI_ERR_ARG);
    expect_class("RDMC_Comm_join without rdmc_token_file",
                 RDMC_Comm_join("g", MPI_INFO_NULL, &comm), RDMC_ERR_ACCESS);
}

int main(int argc, char **argv)
{
    int expect_rdmc = argc > 2 && strcmp(argv[1], "--expect") == 0 && strcmp(argv[2], "rdmc") == 0;
    int all = 0;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    error_classes();
    if (expect_rdmc) {
        /* Loaded, but a single rank is not for rdmc: no error, flag 0. */
        not_managed(MPI_COMM_SELF, "RDMC_Comm_active(MPI_COMM_SELF) with rdmc loaded",
                    MPI_SUCCESS);
        intercommunicator();
        first_view(MPI_COMM_WORLD);
        shrink();
        bad_arguments();
        join_arguments();
    } else {
        MPI_Comm comm;
        /* Not in the process: RDMC_Comm_active fails on every communicator. */
        not_managed(MPI_COMM_SELF, "RDMC_Comm_active(MPI_COMM_SELF) without rdmc",
                    RDMC_ERR_NOT_ACTIVE);
        not_managed(MPI_COMM_WORLD, "RDMC_Comm_active(MPI_COMM_WORLD) without rdmc",
                    RDMC_ERR_NOT_ACTIVE);
        expect_class("RDMC_Comm_join without coll/rdmc",
                     RDMC_Comm_join("g", MPI_INFO_NULL, &comm), RDMC_ERR_NOT_ACTIVE);
    }
    MPI_Allreduce(&failures, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0) {
        printf("rdmc_api (%s): %d ranks: %s\n", expect_rdmc ? "rdmc" : "off", size,
               all ? "FAILED" : "OK");
    }
    MPI_Finalize();
    return all ? 1 : 0;
}
