/*
 * MPI_Bcast_init (MPI 4.0; MPIX_Bcast_init in Open MPI 4.1): persistent
 * broadcasts through rdmc.
 *
 * Init does once what every broadcast would otherwise do each time: it
 * waits for the communicator's set-up (an init may synchronise, like a
 * blocking collective), picks the path (the SST's slots up to
 * coll_rdmc_sst_max_bytes, the engine above, as MPI_Ibcast does), the
 * engine's schedule and block size, and keeps a contiguous buffer
 * registered with the link's transports until the request is freed.  Each
 * MPI_Start then issues the broadcast into the stream, where it keeps
 * every guarantee an MPI_Ibcast has (order, stable delivery, failures).
 * Where rdmc declines the communicator, init hands out the previous
 * component's persistent broadcast instead.
 *
 * Below the crossover (coll_rdmc_bcast_min_bytes, as for MPI_Bcast) the
 * bytes go through the previous component's persistent broadcast, which is
 * far quicker for small messages than a stable one (8 B at np 4: 0.1 us
 * against 9 us).  rdmc's request wraps it, so the request behaves the same
 * at every size: it holds the datatype and the communicator, refuses a
 * second start, and may be freed while active.
 *
 * The request holds the datatype and (as every request does) the
 * communicator until it is freed, so it may still be started after
 * MPI_Comm_free, as MPI allows.
 */
#include "coll_rdmc.h"

#include <stdlib.h>
#include <string.h>

#include "ompi/datatype/ompi_datatype.h"
#include "opal/util/output.h"

/* Under the lock: the user's buffer stays registered on every transport
 * the link moves broadcasts over (a registering provider then finds it in
 * its cache at each start).  Nothing to do for packed layouts. */
static void register_buffer(mca_coll_rdmc_request_t *req)
{
    mca_coll_rdmc_link_t *l = req->module->link;
    rdmc_ofi_channel_t *channels[2] = { l->channel, l->use_levels ? l->local_channel : NULL };
    ptrdiff_t true_lb, true_extent;
    const char *data;

    if (!ompi_datatype_is_contiguous_memory_layout(req->persistent->dtype,
                                                   req->persistent->count)) {
        return;
    }
    ompi_datatype_get_true_extent(req->persistent->dtype, &true_lb, &true_extent);
    data = (const char *)req->persistent->buf + true_lb;
    for (int i = 0; i < 2; i++) {
        rdmc_transport_t *tp;
        if (channels[i] == NULL) {
            continue;
        }
        tp = rdmc_ofi_channel_transport(channels[i]);
        if (tp->ops->mem_acquire(tp, data, req->persistent->nbytes,
                                 &req->persistent->registered[i]) == 0) {
            req->persistent->registered_on[i] = tp;
        }
    }
}

void mca_coll_rdmc_persistent_release(mca_coll_rdmc_request_t *req)
{
    if (req->persistent->inner != NULL) {
        (void)ompi_request_free(&req->persistent->inner);   /* complete: see inner_done */
    }
    pthread_mutex_lock(&mca_coll_rdmc_lock);
    for (int i = 0; i < 2; i++) {
        rdmc_transport_t *tp = req->persistent->registered_on[i];
        if (tp != NULL) {
            tp->ops->mem_release(tp, req->persistent->registered[i]);
        }
    }
    pthread_mutex_unlock(&mca_coll_rdmc_lock);
    OMPI_DATATYPE_RELEASE(req->persistent->dtype);
    free(req->persistent);
    req->persistent = NULL;
}

/* The previous component completed the inner broadcast (an application
 * thread, in its progress).  The inner request is marked complete and
 * inactive here, before ours, so that whoever sees ours complete may free
 * both; returning 1 tells Open MPI not to touch the inner one again. */
static int inner_done(ompi_request_t *inner)
{
    mca_coll_rdmc_request_t *req = inner->req_complete_cb_data;

    req->super.req_status.MPI_ERROR = inner->req_status.MPI_ERROR;
    inner->req_state = OMPI_REQUEST_INACTIVE;
    inner->req_complete = REQUEST_COMPLETED;
    if (req->user_freed) {
        mca_coll_rdmc_request_release_later(req);   /* freed while active: nobody waits */
    } else {
        ompi_request_complete(&req->super, true);
    }
    return 1;
}

static int start_inner(mca_coll_rdmc_request_t *req)
{
    ompi_request_t *inner = req->persistent->inner;
    int rc;

    req->super.req_status.MPI_ERROR = MPI_SUCCESS;
    req->super.req_state = OMPI_REQUEST_ACTIVE;
    req->super.req_complete = REQUEST_PENDING;
    inner->req_state = OMPI_REQUEST_ACTIVE;
    rc = inner->req_start(1, &inner);
    if (rc != MPI_SUCCESS) {
        inner->req_state = OMPI_REQUEST_INACTIVE;
        req->super.req_state = OMPI_REQUEST_INACTIVE;
        req->super.req_complete = REQUEST_COMPLETED;
        return rc;
    }
    /* After the start (which marks it pending); called at once if it has
     * already completed. */
    (void)ompi_request_set_callback(inner, inner_done, req);
    return MPI_SUCCESS;
}

static int start_one(mca_coll_rdmc_request_t *req)
{
    mca_coll_rdmc_component_t *c = &mca_coll_rdmc_component;
    int rc;

    if (req->super.req_state == OMPI_REQUEST_ACTIVE) {
        opal_output_verbose(0, c->output,
                            "coll:rdmc: MPI_Start on %s: the persistent broadcast is still "
                            "active (complete it with MPI_Wait or MPI_Test first)",
                            mca_coll_rdmc_comm_name(req->module->comm));
        return MPI_ERR_REQUEST;
    }
    if (req->persistent->inner != NULL) {
        return start_inner(req);
    }
    mca_coll_rdmc_request_reset(req);
    req->super.req_state = OMPI_REQUEST_ACTIVE;
    req->super.req_complete = REQUEST_PENDING;
    rc = mca_coll_rdmc_bcast_issue(req, req->persistent->buf, req->persistent->count,
                                   req->persistent->dtype, req->persistent->root,
                                   req->persistent->nbytes, req->persistent->small);
    if (rc != MPI_SUCCESS) {
        req->super.req_state = OMPI_REQUEST_INACTIVE;
        req->super.req_complete = REQUEST_COMPLETED;
        return rc;
    }
    mca_coll_rdmc_count(&c->pvar_persistent_starts, 1);
    return MPI_SUCCESS;
}

/* MPI_Start, MPI_Startall. */
static int start_requests(size_t count, ompi_request_t **requests)
{
    for (size_t i = 0; i < count; i++) {
        int rc = start_one((mca_coll_rdmc_request_t *)requests[i]);
        if (rc != MPI_SUCCESS) {
            return rc;
        }
    }
    return MPI_SUCCESS;
}

static int hand_on(mca_coll_rdmc_module_t *m, void *buf, int count,
                   struct ompi_datatype_t *dtype, int root, struct ompi_info_t *info,
                   ompi_request_t **request)
{
    if (m->previous_bcast_init == NULL) {
        opal_output_verbose(0, mca_coll_rdmc_component.output,
                            "coll:rdmc: MPI_Bcast_init on %s: rdmc declines this "
                            "communicator and no other component offers persistent "
                            "broadcasts",
                            mca_coll_rdmc_comm_name(m->comm));
        return MPI_ERR_UNSUPPORTED_OPERATION;
    }
    mca_coll_rdmc_count(&mca_coll_rdmc_component.pvar_fallbacks, 1);
    return m->previous_bcast_init(buf, count, dtype, root, m->comm, info, request,
                                  m->previous_bcast_init_module);
}

int mca_coll_rdmc_bcast_init(void *buf, int count, struct ompi_datatype_t *dtype, int root,
                             struct ompi_communicator_t *comm, struct ompi_info_t *info,
                             ompi_request_t **request, mca_coll_base_module_t *module)
{
    mca_coll_rdmc_module_t *m = (mca_coll_rdmc_module_t *)module;
    mca_coll_rdmc_component_t *c = &mca_coll_rdmc_component;
    mca_coll_rdmc_request_t *req;
    uint64_t nbytes;
    bool wrap;
    int rc;

    rc = mca_coll_rdmc_bcast_check_args("MPI_Bcast_init", count, root, comm);
    if (rc != MPI_SUCCESS) {
        return rc;
    }
    nbytes = mca_coll_rdmc_message_bytes(dtype, count);
    wrap = mca_coll_rdmc_bcast_falls_back(m, nbytes) && m->previous_bcast_init != NULL;
    if (!wrap && !mca_coll_rdmc_usable(m, "MPI_Bcast_init", true, &rc)) {
        return rc != MPI_SUCCESS ? rc : hand_on(m, buf, count, dtype, root, info, request);
    }
    req = mca_coll_rdmc_request_new(m, "persistent MPI_Bcast");
    if (req == NULL) {
        return MPI_ERR_NO_MEM;
    }
    req->persistent = calloc(1, sizeof(*req->persistent));
    if (req->persistent == NULL) {
        OBJ_RELEASE(req);
        return MPI_ERR_NO_MEM;
    }
    OMPI_REQUEST_INIT(&req->super, true);   /* inactive, and complete for MPI_Wait */
    req->super.req_start = start_requests;
    req->persistent->buf = buf;
    req->persistent->count = count;
    req->persistent->dtype = dtype;
    req->persistent->root = root;
    req->persistent->nbytes = nbytes;
    req->persistent->small = nbytes <= c->sst_max_bytes;
    OMPI_DATATYPE_RETAIN(dtype);
    if (wrap) {
        rc = m->previous_bcast_init(buf, count, dtype, root, comm, info, &req->persistent->inner,
                                    m->previous_bcast_init_module);
        if (rc != MPI_SUCCESS) {
            req->persistent->inner = NULL;
            OBJ_RELEASE(req);
            return rc;
        }
        mca_coll_rdmc_count(&c->pvar_fallbacks, 1);
    } else if (!req->persistent->small) {
        mca_coll_rdmc_bcast_choose_blocks(m, req->persistent->nbytes, &req->persistent->schedule,
                                          &req->persistent->block_bytes);
        pthread_mutex_lock(&mca_coll_rdmc_lock);
        if (m->link != NULL) {
            register_buffer(req);
        }
        pthread_mutex_unlock(&mca_coll_rdmc_lock);
    }
    opal_output_verbose(10, c->output,
                        "coll:rdmc: MPI_Bcast_init on %s: root %d, %llu bytes, %s",
                        mca_coll_rdmc_comm_name(comm), root, (unsigned long long)nbytes,
                        wrap                     ? "through the previous component"
                        : req->persistent->small ? "through the SST"
                                                : "through the engine");
    *request = &req->super;
    return MPI_SUCCESS;
}
