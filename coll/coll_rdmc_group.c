/*
 * The communicator's group manager as the extended API (librdmc, rdmc.h)
 * sees it: an ops table over the module.  Views are numbered from 0; with
 * failure handling off the view stays the communicator's first, with every
 * rank in it.
 */
#include "coll_rdmc.h"

#include "opal/util/output.h"

static mca_coll_rdmc_module_t *module_of(rdmc_group_t *group)
{
    return (mca_coll_rdmc_module_t *)((char *)group - offsetof(mca_coll_rdmc_module_t, group));
}

static bool group_active(rdmc_group_t *group)
{
    bool ready;

    pthread_mutex_lock(&mca_coll_rdmc_lock);
    ready = module_of(group)->state == RDMC_SETUP_READY;
    pthread_mutex_unlock(&mca_coll_rdmc_lock);
    return ready;
}

static int group_comm_freeing(rdmc_group_t *group)
{
    return mca_coll_rdmc_comm_freeing(module_of(group));
}

/* The installed view: its id, its members and every rank removed so far
 * (as bits of communicator ranks). */
static void current_view(mca_coll_rdmc_module_t *m, uint64_t *vid, uint64_t *members,
                         uint64_t *failed)
{
    int n = ompi_comm_size(m->comm);

    *vid = m->group.view_base;
    *members = n >= 64 ? UINT64_MAX : (UINT64_C(1) << n) - 1;
    *failed = 0;
    pthread_mutex_lock(&mca_coll_rdmc_lock);
    if (m->link != NULL && m->link->gm != NULL && m->state == RDMC_SETUP_READY) {
        *vid += m->link->gm->vid;
        *members = m->link->gm->members;
        *failed = m->link->gm->failed;
    }
    pthread_mutex_unlock(&mca_coll_rdmc_lock);
}

/* The ranks of the communicator named by `set`, as a group the caller frees. */
static int group_of_ranks(MPI_Comm comm, uint64_t set, MPI_Group *group)
{
    int ranks[64], count = 0;
    MPI_Group all;
    int rc = PMPI_Comm_group(comm, &all);

    if (rc != MPI_SUCCESS) {
        return rc;
    }
    for (; set != 0 && count < 64; set &= set - 1) {
        ranks[count++] = __builtin_ctzll(set);
    }
    rc = PMPI_Group_incl(all, count, ranks, group);
    PMPI_Group_free(&all);
    return rc;
}

static int group_get_view(rdmc_group_t *group, uint64_t *view_id, MPI_Group *members)
{
    mca_coll_rdmc_module_t *m = module_of(group);
    uint64_t in_view, failed;

    current_view(m, view_id, &in_view, &failed);
    if (!mca_coll_rdmc_handles_failures(m)) {
        return PMPI_Comm_group(group->comm, members);   /* any size */
    }
    return group_of_ranks(group->comm, in_view, members);
}

static int group_get_failed(rdmc_group_t *group, MPI_Group *failed)
{
    uint64_t vid, in_view, gone;

    current_view(module_of(group), &vid, &in_view, &gone);
    return group_of_ranks(group->comm, gone, failed);
}

bool mca_coll_rdmc_report_views(mca_coll_rdmc_module_t *m)
{
    uint64_t installed, vid, in_view, gone;
    MPI_Group joined, left;

    bool news;

    /* views_reported is read by the progress pass: changed under the lock.
     * A freed communicator's collectives may still run, but its handle is
     * gone: nothing more to tell about it. */
    pthread_mutex_lock(&mca_coll_rdmc_lock);
    installed = m->state == RDMC_SETUP_READY && m->link != NULL ? m->link->stream.views_installed
                                                                : m->views_reported;
    news = installed != m->views_reported && !m->comm_freed;
    m->views_reported = installed;
    pthread_mutex_unlock(&mca_coll_rdmc_lock);
    if (!news) {
        return false;
    }
    current_view(m, &vid, &in_view, &gone);
    if (m->group.view_fn == NULL) {
        m->failed_reported = gone;
        return false;
    }
    if (group_of_ranks(m->comm, 0, &joined) != MPI_SUCCESS) {
        return false;
    }
    if (group_of_ranks(m->comm, gone & ~m->failed_reported, &left) != MPI_SUCCESS) {
        PMPI_Group_free(&joined);
        return false;
    }
    m->failed_reported = gone;
    m->group.view_fn(m->comm, vid, joined, left, m->group.view_arg);
    PMPI_Group_free(&joined);
    PMPI_Group_free(&left);
    return true;
}

static const rdmc_group_ops_t group_ops = {
    .active = group_active,
    .comm_freeing = group_comm_freeing,
    .get_view = group_get_view,
    .get_failed = group_get_failed,
};

int mca_coll_rdmc_group_setup(ompi_communicator_t *comm)
{
    int rc = MPI_SUCCESS;

    /* rdmc's module is the one behind the communicator's MPI_Bcast (a
     * communicator it declined at selection has none). */
    if (comm->c_coll->coll_bcast != mca_coll_rdmc_bcast) {
        return MPI_SUCCESS;
    }
    (void)mca_coll_rdmc_usable((mca_coll_rdmc_module_t *)comm->c_coll->coll_bcast_module,
                               "RDMC_Comm_active", true, &rc);
    return rc;
}

void mca_coll_rdmc_group_attach(mca_coll_rdmc_module_t *m)
{
    int rc;

    m->group.ops = &group_ops;
    rc = rdmc_group_attach(m->comm, &m->group);
    if (rc != MPI_SUCCESS) {
        opal_output_verbose(1, mca_coll_rdmc_component.output,
                            "coll:rdmc: %s: no group manager for the extended API "
                            "(attribute error %d)",
                            mca_coll_rdmc_comm_name(m->comm), rc);
    }
}
