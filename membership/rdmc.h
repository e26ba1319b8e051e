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
 * on it, a single rank, an intercommunicator) gives RDMC_ERR_NOT_ACTIVE;
 * RDMC_Comm_active, the question itself, answers flag 0 with MPI_SUCCESS
 * where coll/rdmc is loaded but declines the communicator (see there).
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
 * them: calls return codes of these classes, not the classes themselves.
 * Where MPI has ULFM's classes (Open MPI 5), RDMC_ERR_PROC_FAILED is
 * MPI_ERR_PROC_FAILED and RDMC_ERR_PARTITIONED is MPI_ERR_REVOKED, and
 * calls return those: a ULFM program's recovery handles them.  Under ULFM
 * (mpirun --with-ft ulfm) a view change also fails, at every survivor
 * alike, each collective that not every survivor had received, and every
 * later one: Open MPI refuses collectives on the communicator from then
 * on; recover with MPIX_Comm_revoke and MPIX_Comm_shrink. */
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
 * MPI_SUCCESS) where coll/rdmc is loaded but does not manage comm (a
 * single rank, an intercommunicator, a set-up that fell back).  Without
 * coll/rdmc in the process (not loaded, --mca coll ^rdmc, or
 * coll_rdmc_priority < 0) *flag = 0 and it returns RDMC_ERR_NOT_ACTIVE,
 * at once.  Collective the first time on an intra-communicator of 2 or
 * more ranks where rdmc has not yet been set up: every member must call
 * it then. */
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

/* Joins, across separately started mpiruns that share a name service:
 * Open MPI 4's ompi-server (ompi-server --no-daemonize -r URIFILE, then
 * every mpirun gets --ompi-server file:URIFILE), or under Open MPI 5 a
 * PRRTE DVM (prte --report-uri URIFILE, then every mpirun gets
 * --dvm file:URIFILE).  The joiner's mpirun must load coll/rdmc with the
 * group's coll_rdmc settings (and failure handling if the group's has it:
 * --enable-recovery, or --with-ft ulfm under Open MPI 5): a joiner whose
 * settings differ is refused and told which.
 *
 * Info keys:
 *   rdmc_token_file  (open and join; required) a file holding the group's
 *                    secret, readable by its owner only (mode 0600 or
 *                    0400).  The secret never crosses the wire: each side
 *                    proves it holds it (HMAC-SHA256 over fresh nonces).
 *   rdmc_timeout_ms  (join) how long the joiner waits to be admitted,
 *                    default 60000.
 *   rdmc_host        (open) the name or address joiners reach the group's
 *                    leader at, default its host name.
 *
 * RDMC_Comm_open: collective over comm's current members.  Makes the
 * group known as group_name.  MPI_ERR_ARG for a bad name (1 to 127
 * characters) or a communicator open already.  It fails at every member
 * or none: a member that cannot read the token file returns
 * RDMC_ERR_ACCESS, the leader the error of MPI_Publish_name if the name
 * cannot be published, the other members MPI_ERR_OTHER.
 *
 * RDMC_Comm_admit: collective over comm's current members.  Admits up to
 * max_joiners, waiting at most timeout_ms for them, and gives everyone,
 * joiners included, the same new communicator: the current members first,
 * in their order, then the joiners in the order they were admitted.  It
 * is a new communicator even if nobody came.  rdmc is active on it and its
 * view ids continue comm's (its first view is comm's current id + 1).  The
 * opening moves to it: admit again, or close, on the new communicator;
 * so does comm's view callback, which is called once, before admit
 * returns, for the new communicator's first view with who joined.
 * Joiners that fail the handshake are refused and never seen by the
 * members.  It starts with a barrier on comm, so that a member that failed
 * before the call is out of the view first.  If the leader that opened the
 * group has failed, the view's new leader (its lowest rank) opens it again
 * under the same name; joiners waiting on the old one look again.
 *
 * RDMC_Comm_join: the joiner's side; returns the communicator admit gives.
 * RDMC_ERR_ACCESS: no or a readable token file, no group of that name, a
 * wrong secret, or a peer that cannot prove it holds the secret;
 * MPI_ERR_PORT: the group could not be reached within rdmc_timeout_ms
 * (while its leader cannot be reached or hangs up before its verdict, the
 * joiner looks the name up again every 100 ms); MPI_ERR_OTHER: not admitted
 * within rdmc_timeout_ms, or different coll_rdmc settings;
 * RDMC_ERR_NOT_ACTIVE: coll/rdmc is not loaded in this process.
 *
 * RDMC_Comm_close: local, at each member.  Once the group's leader has
 * closed (or freed) the communicator holding the opening, the name is
 * unpublished and joiners can no longer reach the group.
 *
 * Limits: Open MPI's MPI_Comm_accept cannot time out.  The members enter it
 * only after the admitted joiner said it is connecting; a joiner killed in
 * that instant leaves them waiting.  A member that fails during an
 * admission (after its opening barrier) can leave the others in Open MPI's
 * communicator creation or accept, which do not survive failures. */
int RDMC_Comm_open(MPI_Comm comm, const char *group_name, MPI_Info info);
int RDMC_Comm_admit(MPI_Comm comm, int max_joiners, int timeout_ms, MPI_Comm *newcomm);
int RDMC_Comm_join(const char *group_name, MPI_Info info, MPI_Comm *newcomm);
int RDMC_Comm_close(MPI_Comm comm);

#ifdef __cplusplus
}
#endif

#endif
