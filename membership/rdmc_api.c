/*
 * librdmc: the extended API of rdmc.h.  It finds a communicator's group
 * manager through an attribute that coll/rdmc sets (rdmc_group_attach)
 * and asks it through its ops table; the error classes live here too, so
 * that the component and the application see the same values.
 *
 * Only MPI's PMPI_ entry points are called, so that tools intercepting
 * MPI_ calls see the application's own calls only.
 */
#include "rdmc_group.h"

#include <pthread.h>
#include <stdbool.h>

#define RDMC_VISIBLE __attribute__((visibility("default")))

/* ---- error classes ------------------------------------------------------- */

enum { NCLASSES = 4 };

static const char *const class_strings[NCLASSES] = {
    "RDMC_ERR_PROC_FAILED: a member of the communicator that the call needed has failed",
    "RDMC_ERR_PARTITIONED: this process lost contact with a majority of its group and left it",
    "RDMC_ERR_ACCESS: the join was refused (unknown group, or a wrong or missing token)",
    "RDMC_ERR_NOT_ACTIVE: ompi-rdmc does not manage this communicator",
};
static int classes[NCLASSES];
static int codes[NCLASSES];   /* one code per class: what functions return */
static bool classes_added;
static pthread_mutex_t classes_lock = PTHREAD_MUTEX_INITIALIZER;

/* Added all together, in one order, so that every process gets the same
 * values (MPI_Add_error_class is local).  Functions return a code of each
 * class: Open MPI's MPI_Error_class does not map a bare class to itself. */
static int add_classes(void)
{
    int initialized = 0, finalized = 0, rc = MPI_SUCCESS;

    PMPI_Initialized(&initialized);
    PMPI_Finalized(&finalized);
    if (!initialized || finalized) {
        return MPI_ERR_OTHER;
    }
    for (int i = 0; i < NCLASSES && rc == MPI_SUCCESS; i++) {
        rc = PMPI_Add_error_class(&classes[i]);
        if (rc == MPI_SUCCESS) {
            rc = PMPI_Add_error_string(classes[i], class_strings[i]);
        }
        if (rc == MPI_SUCCESS) {
            rc = PMPI_Add_error_code(classes[i], &codes[i]);
        }
        if (rc == MPI_SUCCESS) {
            rc = PMPI_Add_error_string(codes[i], class_strings[i]);
        }
    }
    return rc;
}

static int added(int which, const int *values)
{
    int rc = MPI_SUCCESS;

    if (which < 0 || which >= NCLASSES) {
        return MPI_ERR_ARG;
    }
    pthread_mutex_lock(&classes_lock);
    if (!classes_added) {
        rc = add_classes();
        classes_added = rc == MPI_SUCCESS;
    }
    pthread_mutex_unlock(&classes_lock);
    return rc == MPI_SUCCESS ? values[which] : rc;
}

/* Where MPI has classes of its own for them (ULFM, in Open MPI 5), a failed
 * member and a lost majority are reported with those, so that a ULFM
 * program's usual recovery (revoke, shrink, go on) handles rdmc's errors:
 * a process on the minority side must leave the communicator, as if it had
 * been revoked. */
static int mpi_own_class(int which)
{
#if defined(MPI_ERR_PROC_FAILED) && defined(MPI_ERR_REVOKED)
    if (which == RDMC_PROC_FAILED) {
        return MPI_ERR_PROC_FAILED;
    }
    if (which == RDMC_PARTITIONED) {
        return MPI_ERR_REVOKED;
    }
#else
    (void)which;
#endif
    return MPI_SUCCESS;
}

RDMC_VISIBLE int RDMC_Error_class(int which)
{
    int own = mpi_own_class(which);

    return own != MPI_SUCCESS ? own : added(which, classes);
}

RDMC_VISIBLE int rdmc_error_code(int which)
{
    int own = mpi_own_class(which);

    return own != MPI_SUCCESS ? own : added(which, codes);
}

/* ---- the attribute that holds a communicator's group ------------------- */

static int group_keyval = MPI_KEYVAL_INVALID;

/* MPI_Comm_free runs attribute delete callbacks first: the group learns
 * that its communicator's handle is gone (its collectives in flight still
 * complete). */
static int on_comm_free(MPI_Comm comm, int keyval, void *value, void *extra)
{
    rdmc_group_t *group = value;

    (void)comm;
    (void)keyval;
    (void)extra;
    return group->ops->comm_freeing(group);
}

RDMC_VISIBLE int rdmc_group_attach(MPI_Comm comm, rdmc_group_t *group)
{
    int rc = MPI_SUCCESS;

    if (group_keyval == MPI_KEYVAL_INVALID) {
        rc = PMPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, on_comm_free, &group_keyval, NULL);
    }
    if (rc != MPI_SUCCESS) {
        return rc;
    }
    group->comm = comm;
    return PMPI_Comm_set_attr(comm, group_keyval, group);
}

RDMC_VISIBLE void rdmc_group_release_key(void)
{
    if (group_keyval != MPI_KEYVAL_INVALID) {
        (void)PMPI_Comm_free_keyval(&group_keyval);   /* sets it invalid */
    }
}

RDMC_VISIBLE rdmc_group_t *rdmc_group_of(MPI_Comm comm)
{
    void *value = NULL;
    int found = 0;

    if (group_keyval == MPI_KEYVAL_INVALID || comm == MPI_COMM_NULL ||
        PMPI_Comm_get_attr(comm, group_keyval, &value, &found) != MPI_SUCCESS || !found) {
        return NULL;
    }
    return value;
}

/* ---- what the component shares ------------------------------------------ */

static const rdmc_component_hooks_t *component;

RDMC_VISIBLE void rdmc_set_component_hooks(const rdmc_component_hooks_t *hooks)
{
    component = hooks;
}

RDMC_VISIBLE bool rdmc_settings(char *buf, size_t len)
{
    if (component == NULL) {
        return false;
    }
    if (buf != NULL) {
        component->settings(buf, len);
    }
    return true;
}

static int exempt_keyval = MPI_KEYVAL_INVALID;
static int exempt_marker;

RDMC_VISIBLE int rdmc_comm_set_exempt(MPI_Comm comm, bool exempt)
{
    int rc = MPI_SUCCESS;

    if (exempt_keyval == MPI_KEYVAL_INVALID) {
        rc = PMPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, MPI_COMM_NULL_DELETE_FN,
                                     &exempt_keyval, NULL);
    }
    if (rc != MPI_SUCCESS) {
        return rc;
    }
    if (exempt) {
        return PMPI_Comm_set_attr(comm, exempt_keyval, &exempt_marker);
    }
    return rdmc_comm_exempt(comm) ? PMPI_Comm_delete_attr(comm, exempt_keyval) : MPI_SUCCESS;
}

RDMC_VISIBLE bool rdmc_comm_exempt(MPI_Comm comm)
{
    void *value = NULL;
    int found = 0;

    return exempt_keyval != MPI_KEYVAL_INVALID &&
           PMPI_Comm_get_attr(comm, exempt_keyval, &value, &found) == MPI_SUCCESS && found;
}

/* ---- the API ------------------------------------------------------------ */

rdmc_group_t *rdmc_active_group(MPI_Comm comm, int *rc)
{
    rdmc_group_t *group;

    if (comm == MPI_COMM_NULL) {
        *rc = MPI_ERR_COMM;
        return NULL;
    }
    group = rdmc_group_of(comm);
    if (group == NULL || !group->ops->active(group)) {
        *rc = rdmc_error_code(RDMC_NOT_ACTIVE);
        return NULL;
    }
    *rc = MPI_SUCCESS;
    return group;
}

RDMC_VISIBLE int RDMC_Comm_active(MPI_Comm comm, int *flag)
{
    int inter = 0, size = 0, rc;

    if (flag == NULL) {
        return MPI_ERR_ARG;
    }
    *flag = 0;
    if (comm == MPI_COMM_NULL) {
        return MPI_ERR_COMM;
    }
    (void)RDMC_Error_class(0);
    /* Without coll/rdmc in this process (not loaded, excluded with
     * --mca coll ^rdmc, or priority < 0) no communicator can ever be
     * managed: say so at once, without the collective set-up below.  The
     * decision is local, from the same MCA settings at every member, so
     * no member is left waiting in the set-up. */
    if (component == NULL) {
        return rdmc_error_code(RDMC_NOT_ACTIVE);
    }
    if (rdmc_group_of(comm) == NULL) {
        PMPI_Comm_test_inter(comm, &inter);
        PMPI_Comm_size(comm, &size);
        if (inter || size < 2) {
            return MPI_SUCCESS;
        }
        rc = component->setup(comm);   /* at every member together */
        if (rc != MPI_SUCCESS) {
            return rc;
        }
    }
    *flag = rdmc_active_group(comm, &rc) != NULL;
    return MPI_SUCCESS;
}

RDMC_VISIBLE int RDMC_Comm_get_view(MPI_Comm comm, uint64_t *view_id, MPI_Group *members)
{
    int rc;
    rdmc_group_t *group = rdmc_active_group(comm, &rc);

    if (group == NULL) {
        return rc;
    }
    if (view_id == NULL || members == NULL) {
        return MPI_ERR_ARG;
    }
    return group->ops->get_view(group, view_id, members);
}

RDMC_VISIBLE int RDMC_Comm_get_failed(MPI_Comm comm, MPI_Group *failed)
{
    int rc;
    rdmc_group_t *group = rdmc_active_group(comm, &rc);

    if (group == NULL) {
        return rc;
    }
    if (failed == NULL) {
        return MPI_ERR_ARG;
    }
    return group->ops->get_failed(group, failed);
}

RDMC_VISIBLE int RDMC_Comm_set_view_callback(MPI_Comm comm, RDMC_View_fn *fn, void *arg)
{
    int rc;
    rdmc_group_t *group = rdmc_active_group(comm, &rc);

    if (group != NULL) {
        group->view_fn = fn;
        group->view_arg = fn != NULL ? arg : NULL;
    }
    return rc;
}

RDMC_VISIBLE int RDMC_Comm_shrink(MPI_Comm comm, MPI_Comm *newcomm)
{
    enum { SHRINK_TAG = 0x52444d43 };   /* "RDMC" */
    uint64_t view_id;
    MPI_Group members;
    int rc, flag;

    if (newcomm == NULL) {
        return MPI_ERR_ARG;
    }
    rc = RDMC_Comm_get_view(comm, &view_id, &members);
    if (rc != MPI_SUCCESS) {
        return rc;
    }
    /* Collective over the members only: failed ranks take no part. */
    rc = PMPI_Comm_create_group(comm, members, SHRINK_TAG, newcomm);
    PMPI_Group_free(&members);
    if (rc == MPI_SUCCESS) {
        rc = RDMC_Comm_active(*newcomm, &flag);
    }
    return rc;
}
