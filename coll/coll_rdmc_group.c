/*
 * The communicator's group manager as the extended API (librdmc, rdmc.h)
 * sees it: an ops table over the module.  Views are numbered from 0; until
 * failures are detected and agreed on (the membership protocol) the view
 * is the communicator's first and has every rank in it.
 */
#include "coll_rdmc.h"

#include "opal/util/output.h"

static mca_coll_rdmc_module_t *module_of(rdmc_group_t *group)
{
    return (mca_coll_rdmc_module_t *)((char *)group - offsetof(mca_coll_rdmc_module_t, group));
}

static bool group_active(rdmc_group_t *group)
{
    return module_of(group)->state == RDMC_SETUP_READY;
}

static int group_comm_freeing(rdmc_group_t *group)
{
    return mca_coll_rdmc_comm_freeing(module_of(group));
}

static int group_get_view(rdmc_group_t *group, uint64_t *view_id, MPI_Group *members)
{
    *view_id = 0;
    return PMPI_Comm_group(group->comm, members);
}

static int group_get_failed(rdmc_group_t *group, MPI_Group *failed)
{
    MPI_Group all;
    int rc = PMPI_Comm_group(group->comm, &all);

    if (rc == MPI_SUCCESS) {
        rc = PMPI_Group_incl(all, 0, NULL, failed);   /* nobody, in a group the caller frees */
        PMPI_Group_free(&all);
    }
    return rc;
}

static const rdmc_group_ops_t group_ops = {
    .active = group_active,
    .comm_freeing = group_comm_freeing,
    .get_view = group_get_view,
    .get_failed = group_get_failed,
};

void mca_coll_rdmc_group_attach(mca_coll_rdmc_module_t *m)
{
    int rc;

    m->group.ops = &group_ops;
    rc = rdmc_group_attach(m->comm, &m->group);
    if (rc != MPI_SUCCESS) {
        opal_output_verbose(1, mca_coll_rdmc_component.output,
                            "coll:rdmc: %s: no group manager for the extended API, and no "
                            "guard against freeing it with collectives in flight (attribute "
                            "error %d)",
                            m->comm->c_name, rc);
    }
}
