/*
 * ompi-rdmc's extended API: the group manager that coll/rdmc attaches to
 * every communicator it carries.
 *
 *   #include <rdmc.h>
 *   cc app.c $(pkg-config --cflags --libs ompi-rdmc)
 *
 * Every function may be called once MPI is initialised, from the thread
 * that makes the communicator's other MPI calls.  They return MPI_SUCCESS
 * or an error code: compare MPI_Error_class(rc) with MPI's classes and the
 * RDMC_ERR_* classes below (MPI_Error_string says what happened).  A
 * communicator rdmc does not manage (rdmc not loaded, disabled, declined
 * on it, a single rank, an intercommunicator) gives RDMC_ERR_NOT_ACTIVE.
 * coll/rdmc attaches its group manager at the first collective it carries
 * on a communicator (a large MPI_Bcast, any MPI_Ibcast or MPI_Ibarrier,
 * or a barrier when small collectives go through rdmc); RDMC_Comm_active
 * sets it up at once if it has not happened yet.
 *
 * Failures (mpirun --enable-recovery, or coll_rdmc_failures=on): the
 * group manager suspects a member whose heartbeat stops for
 * coll_rdmc_failure_timeout_ms or whose connection fails, and the
 * survivors install a new view (id + 1) of the same communicator.  Every
 * broadcast then has one outcome at every survivor: the root's bytes when
 * the root survived or a survivor held all of them, RDMC_ERR_PROC_FAILED
 * otherwise (and at once for later broadcasts of a dead root).  A member
 * that loses its view's majority gets RDMC_ERR_PARTITIONED.
 */
#ifndef RDMC_H
#define RDMC_H

#include <stdint.h>

#include <mpi.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Error classes, added with MPI_Add_error_class (with their strings) the
 * first time any of them or any RDMC_* function is used after MPI_Init;
 * the same values at every process.  Compare MPI_Error_class(rc) with
 * them: calls return codes of these classes, not the classes themselves. */
int RDMC_Error_class(int which);
#define RDMC_ERR_PROC_FAILED RDMC_Error_class(0) /* a member the call needed has failed */
#define RDMC_ERR_PARTITIONED RDMC_Error_class(1) /* this process lost its group's majority */
#define RDMC_ERR_ACCESS RDMC_Error_class(2)      /* a join was refused (token, group name) */
#define RDMC_ERR_NOT_ACTIVE RDMC_Error_class(3)  /* rdmc does not manage this communicator */

/* Called after every view change the group installs, in the thread that
 * makes MPI calls, before the call that noticed it returns: the new view's
 * id and who joined and who left (empty groups when nobody did; the
 * callee frees neither).  Set with RDMC_Comm_set_view_callback. */
typedef void RDMC_View_fn(MPI_Comm comm, uint64_t view_id, MPI_Group joined, MPI_Group left,
                          void *arg);

/* *flag = 1 when rdmc's group manager runs on comm, else 0 (and
 * MPI_SUCCESS).  Collective the first time on a communicator where rdmc
 * has not yet been set up: every member must call it then. */
int RDMC_Comm_active(MPI_Comm comm, int *flag);

/* The current view: its id (0 for the communicator's first) and its
 * members, as a group of comm (the caller frees it with MPI_Group_free).
 * Ranks keep their numbers across views: failed members are simply not in
 * the group. */
int RDMC_Comm_get_view(MPI_Comm comm, uint64_t *view_id, MPI_Group *members);

/* The members of comm that failed since it was created (the caller frees
 * the group). */
int RDMC_Comm_get_failed(MPI_Comm comm, MPI_Group *failed);

/* Call fn(comm, ...) after each later view change; fn NULL removes it. */
int RDMC_Comm_set_view_callback(MPI_Comm comm, RDMC_View_fn *fn, void *arg);

/* An ordinary communicator of comm's current members (collective over
 * them), on which every MPI collective works and rdmc is active. */
int RDMC_Comm_shrink(MPI_Comm comm, MPI_Comm *newcomm);

/* Joins, across separately started mpiruns sharing an ompi-server.
 * RDMC_Comm_open (collective) makes the group known as group_name to
 * joiners holding its secret (info key "rdmc_token_file": a file of mode
 * 0600); RDMC_Comm_admit (collective) admits up to max_joiners within
 * timeout_ms and gives the new communicator: old members first, in their
 * order, then the joiners; RDMC_Comm_join is the joiner's side;
 * RDMC_Comm_close stops accepting. */
int RDMC_Comm_open(MPI_Comm comm, const char *group_name, MPI_Info info);
int RDMC_Comm_admit(MPI_Comm comm, int max_joiners, int timeout_ms, MPI_Comm *newcomm);
int RDMC_Comm_join(const char *group_name, MPI_Info info, MPI_Comm *newcomm);
int RDMC_Comm_close(MPI_Comm comm);

#ifdef __cplusplus
}
#endif

#endif
