/*
 * What differs, for this component, between the Open MPI versions it
 * builds against (4.1.x and 5.0.x).  Everything version-dependent lives
 * here, so the rest of coll/ reads the same for both.
 */
#ifndef MCA_COLL_RDMC_COMPAT_H
#define MCA_COLL_RDMC_COMPAT_H

#include "ompi_config.h"

#include <stdbool.h>
#include <stdio.h>

#include "mpi.h"
#include "ompi/communicator/communicator.h"
#include "ompi/mca/coll/coll.h"
#include "opal/util/info.h"
#if OPAL_ENABLE_FT_MPI
#include "ompi/errhandler/errhandler.h"
#endif
#if OMPI_MAJOR_VERSION >= 5
#include "opal/mca/pmix/pmix-internal.h"
#else
#include "opal/mca/pmix/pmix.h"
#endif

#if OMPI_MAJOR_VERSION >= 5
/* coll API 2.4.0: the same fields; only the names carry the version. */
typedef mca_coll_base_component_2_4_0_t rdmc_coll_base_component_t;
#define RDMC_COLL_BASE_VERSION MCA_COLL_BASE_VERSION_2_4_0
#else
typedef mca_coll_base_component_2_0_0_t rdmc_coll_base_component_t;
#define RDMC_COLL_BASE_VERSION MCA_COLL_BASE_VERSION_2_0_0
#endif

/* Whether the job survives failures, as mpirun tells the ranks: 4.1's
 * `mpirun --enable-recovery` sets ORTE's orte_enable_recovery; 5.0 has no
 * ORTE, and ULFM's `mpirun --with-ft ulfm` sets mpi_ft_enable.  The MCA
 * variable (framework, component, name) and its environment form. */
#if OMPI_MAJOR_VERSION >= 5
#define RDMC_RECOVERY_VAR "ompi", "mpi", "ft", "enable"
#define RDMC_RECOVERY_ENV "OMPI_MCA_mpi_ft_enable"
/* Recovery on 5.0 is ULFM's: Open MPI refuses every collective on a
 * communicator once it knows of a failure there (MPI_ERR_PROC_FAILED at
 * the call), and programs recover with MPIX_Comm_revoke/shrink. */
#define RDMC_RECOVERY_IS_ULFM 1
#else
#define RDMC_RECOVERY_IS_ULFM 0
#define RDMC_RECOVERY_VAR "orte", "orte", NULL, "enable_recovery"
#define RDMC_RECOVERY_ENV "OMPI_MCA_orte_enable_recovery"
#endif

/* What Open MPI's runtime knows of failures on comm (ULFM builds only):
 * whether it saw any (it then refuses collectives there), and whether
 * rank r is among the dead.  Elsewhere rdmc's own detector is all. */
static inline bool rdmc_runtime_saw_failures(ompi_communicator_t *comm)
{
#if OPAL_ENABLE_FT_MPI
    return ompi_comm_coll_revoked(comm);
#else
    (void)comm;
    return false;
#endif
}

static inline bool rdmc_runtime_says_dead(ompi_communicator_t *comm, int r)
{
#if OPAL_ENABLE_FT_MPI
    return !ompi_comm_is_proc_active(comm, r, false);
#else
    (void)comm;
    (void)r;
    return false;
#endif
}

/* Tell Open MPI (ULFM builds only) that a process failed: rdmc's view
 * change removed it.  As Open MPI's PML does for a peer it cannot reach,
 * the process is marked failed here and every communicator with it is
 * told (its collectives refused from then on); MPIX_Comm_shrink leaves it
 * out and MPIX_Comm_get_failed lists it, also when Open MPI's runtime saw
 * nothing (a process stopped or hung, or beyond a network cut).  Not
 * forwarded to other processes: each survivor's view change removes it
 * alike.  Never call it holding rdmc's lock (Open MPI completes the
 * pending requests of those communicators with an error, and their
 * callbacks may be ours), nor from rdmc's progress thread (Open MPI's
 * PML is not locked in a program without MPI_THREAD_MULTIPLE). */
static inline void rdmc_runtime_mark_failed(ompi_proc_t *proc)
{
#if OPAL_ENABLE_FT_MPI
    (void)ompi_errhandler_proc_failed_internal(proc, PMIX_ERR_PROC_TERM_WO_SYNC, false);
#else
    (void)proc;
#endif
}

/* Ask the job's runtime (the local PMIx server: orted on 4.1, prted on
 * 5.0) to remove a file of this process's when the process ends, however
 * it ends, as Open MPI's shared-memory BTL does with its segment.  The
 * call waits for the server's answer.  An OPAL error code. */
static inline int rdmc_runtime_removes_at_exit(const char *path)
{
#if OMPI_MAJOR_VERSION >= 5
    return opal_pmix_register_cleanup((char *)path, false, false, false);
#else
    if (opal_pmix.register_cleanup == NULL) {
        return OPAL_ERR_NOT_SUPPORTED;
    }
    return opal_pmix.register_cleanup((char *)path, false, false, false);
#endif
}

/* The value of info key `key` on comm (MPI_Comm_dup_with_info,
 * MPI_Comm_set_info) into value (len bytes, NUL-terminated, cut if
 * longer); false when the communicator has no such key.  4.1 copies into
 * the caller's buffer, 5.0 hands back a counted string. */
static inline bool rdmc_comm_info_get(ompi_communicator_t *comm, const char *key, char *value,
                                      int len)
{
    int flag = 0;

    if (comm->super.s_info == NULL || len < 2) {
        return false;
    }
#if OMPI_MAJOR_VERSION >= 5
    opal_cstring_t *str = NULL;

    if (opal_info_get(comm->super.s_info, key, &str, &flag) != OPAL_SUCCESS || !flag) {
        return false;
    }
    snprintf(value, (size_t)len, "%s", str->string);
    OBJ_RELEASE(str);
    return true;
#else
    return opal_info_get(comm->super.s_info, key, len - 1, value, &flag) == OPAL_SUCCESS && flag;
#endif
}

/* Open MPI's MPI_Ibcast (like every MPI_I* entry point) takes the request
 * a component hands back for an ompi_coll_base_nbc_request_t
 * (ompi/mca/coll/base/coll_base_util.h): with a derived datatype,
 * ompi_coll_base_retain_datatypes() retains the type and stores it, and a
 * completion callback that releases it, in the fields after ompi_request_t;
 * 5.0's callback also frees the non-NULL entries of an array of
 * "release arrays" after them.  These are those fields, zeroed with each
 * request, so that the writes land here and not on ours.  (That header
 * cannot be included: through ompi/op/op.h 4.1's needs Fortran headers
 * that Debian's libopenmpi-dev leaves out.) */
typedef struct mca_coll_rdmc_nbc_fields {
    union {
        ompi_request_complete_fn_t req_complete_cb;
        ompi_request_free_fn_t req_free;
    } cb;
    void *req_complete_cb_data;
#if OMPI_MAJOR_VERSION >= 5
    struct {
        /* types, op, objects, or two type arrays and their counts */
        void *refcounted[3];
        void *release_arrays[7];   /* OMPI_REQ_NB_RELEASE_ARRAYS in 5.0 */
    } data;
#else
    void *data[2];                 /* the retained datatypes */
#endif
} mca_coll_rdmc_nbc_fields_t;

/* The communicator's id inside this process (its index in Open MPI's
 * table), which Open MPI's own names use ("MPI COMMUNICATOR 5"). */
static inline uint32_t rdmc_comm_local_id(const ompi_communicator_t *comm)
{
#if OMPI_MAJOR_VERSION >= 5
    return ompi_comm_get_local_cid(comm);
#else
    return ompi_comm_get_cid((ompi_communicator_t *)comm);
#endif
}

/* The component's symbol, which Open MPI looks up after dlopen (the
 * component is built with -fvisibility=hidden).  4.1 spells it
 * OMPI_MODULE_DECLSPEC, 5.0 has no such macro. */
#define RDMC_COMPONENT_EXPORT __attribute__((visibility("default")))

#endif
