/*
 * MPI_Bcast and MPI_Ibcast through rdmc.
 *
 * Which path a broadcast takes depends on this rank's byte count only (MPI
 * requires equal type signatures, so every rank decides alike):
 *   - below coll_rdmc_bcast_min_bytes with small_path=fallback (no failure
 *     handling): the previously selected component, blocking or not (Open
 *     MPI's fast small broadcasts; rdmc's waits for stability and lost 2-20x
 *     below the crossover, MPI_Ibcast as much as MPI_Bcast);
 *   - up to coll_rdmc_sst_max_bytes: the SST's slots;
 *   - everything else: the RDMC engine, the message cut into blocks.
 * In the engine:
 *   - contiguous data is sent from and received into the user's buffer;
 *   - other datatypes go through a packed copy (in staging memory kept
 *     between broadcasts: rdmc_staging.h), packed block by block at the
 *     root just before each block's first send and unpacked block by block
 *     at receivers as blocks arrive;
 *   - a receiver whose buffer is smaller than the root's message receives
 *     (and forwards) the whole message in scratch memory, keeps what fits
 *     and returns MPI_ERR_TRUNCATE: nothing past its buffer is written.
 * Through the SST a non-contiguous root packs its message when the call is
 * made, so that a convertor error fails the call itself.
 * Convertor errors are never dropped: at the root of an engine broadcast
 * the fill hook fails the op (and with it the collective); a receiver keeps
 * forwarding (its peers need the bytes, which are right) and its own call
 * returns MPI_ERR_INTERN.
 */
#include "coll_rdmc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ompi/constants.h"
#include "ompi/datatype/ompi_datatype.h"
#include "ompi/runtime/mpiruntime.h"
#include "opal/datatype/opal_convertor.h"
#include "opal/runtime/opal_progress.h"
#include "opal/util/output.h"

#include "rdmc_engine.h"
#include "rdmc_staging.h"


/* ctx->packed: staging memory for nbytes (NULL when out of memory). */
static uint8_t *take_staging(rdmc_bcast_ctx_t *ctx, uint64_t nbytes)
{
    ctx->packed = rdmc_staging_get((size_t)nbytes, &ctx->packed_capacity);
    return ctx->packed;
}

/* Returns an OPAL status. */
static int prepare_convertor(rdmc_bcast_ctx_t *ctx, bool for_send)
{
    int rc;

    OBJ_CONSTRUCT(&ctx->convertor, opal_convertor_t);
    ctx->convertor_ready = true;
    if (for_send) {
        rc = opal_convertor_copy_and_prepare_for_send(ompi_mpi_local_convertor,
                                                      &ctx->dtype->super, (size_t)ctx->count,
                                                      ctx->user_buf, 0, &ctx->convertor);
    } else {
        rc = opal_convertor_copy_and_prepare_for_recv(ompi_mpi_local_convertor,
                                                      &ctx->dtype->super, (size_t)ctx->count,
                                                      ctx->user_buf, 0, &ctx->convertor);
    }
    return rc;
}

/* Receivers: unpack `len` bytes at `data`, bytes [offset, offset+len) of
 * the packed message.  Strictly sequential: the engine hands blocks over in
 * order, and Open MPI 4.1's convertor cannot be repositioned backwards
 * inside struct datatypes.  (Unpacking, unlike packing, handles partial
 * elements, so every byte given fits: fewer taken is an error too.)  The
 * first failure is recorded for the outcome; later ranges are skipped. */
static void unpack_range(rdmc_bcast_ctx_t *ctx, const void *data, uint64_t offset, uint64_t len)
{
    struct iovec iov = { (void *)data, (size_t)len };
    uint32_t iov_count = 1;
    size_t max_data = (size_t)len;
    int32_t rc;

    if (len == 0 || ctx->status != MPI_SUCCESS) {
        return;
    }
    rc = opal_convertor_unpack(&ctx->convertor, &iov, &iov_count, &max_data);
    if (rc < 0 || max_data != len) {
        char why[160];
        ctx->status = MPI_ERR_INTERN;
        snprintf(why, sizeof(why),
                 "unpacking bytes [%llu, %llu) into the datatype failed (convertor status %d, "
                 "%zu bytes taken)",
                 (unsigned long long)offset, (unsigned long long)(offset + len), (int)rc,
                 max_data);
        free(ctx->error);
        ctx->error = strdup(why);
    }
}

/* Root, non-contiguous data: pack at least through the end of the block.
 * Open MPI's convertor never splits a basic element when packing, so it may
 * stop a few bytes short of the block end; it gets room past the end to
 * finish that element, and the next block continues where it stopped. */
#define PACK_SLACK 64   /* more than the largest basic datatype */

/* Returns 0, -ENOMEM (no packed copy: set_large_root's allocation failed),
 * -EIO (the convertor failed) or -ENODATA (it ran dry before the message
 * did); the engine fails the op with it. */
static int hook_fill(void *arg, uint64_t offset, uint64_t len)
{
    rdmc_bcast_ctx_t *ctx = arg;
    uint64_t end = offset + len;

    if (ctx->packed == NULL) {
        return -ENOMEM;
    }
    while (ctx->packed_upto < end) {
        uint64_t room = ctx->own_bytes - ctx->packed_upto;
        if (room > end - ctx->packed_upto + PACK_SLACK) {
            room = end - ctx->packed_upto + PACK_SLACK;
        }
        struct iovec iov = { ctx->packed + ctx->packed_upto, (size_t)room };
        uint32_t iov_count = 1;
        size_t max_data = (size_t)room;
        if (opal_convertor_pack(&ctx->convertor, &iov, &iov_count, &max_data) < 0) {
            return -EIO;
        }
        if (max_data == 0) {
            return -ENODATA;
        }
        ctx->packed_upto += max_data;
    }
    return 0;
}

static void hook_arrived(void *arg, uint64_t offset, uint64_t len)
{
    rdmc_bcast_ctx_t *ctx = arg;

    if (!ctx->truncated) {
        unpack_range(ctx, ctx->packed + offset, offset, len);
    }
}

static void *hook_place(void *arg, uint64_t nbytes)
{
    rdmc_bcast_ctx_t *ctx = arg;

    ctx->root_bytes = nbytes;
    if (nbytes > ctx->own_bytes) {
        /* Keep the whole message in scratch: we must forward all of it. */
        ctx->truncated = true;
        return take_staging(ctx, nbytes);
    }
    if (ctx->contiguous) {
        return ctx->user_data;
    }
    return take_staging(ctx, nbytes);
}

/* Truncated receiver of a large broadcast: keep the part that fits. */
static void keep_what_fits(rdmc_bcast_ctx_t *ctx)
{
    if (ctx->contiguous) {
        memcpy(ctx->user_data, ctx->packed, ctx->own_bytes);
    } else {
        unpack_range(ctx, ctx->packed, 0, ctx->own_bytes);
    }
}

/* Small root: the whole message into the SST slot (packed by
 * pack_small when the call was made, if the layout is not contiguous). */
static void hook_fill_small(void *arg, void *slot, uint64_t nbytes)
{
    rdmc_bcast_ctx_t *ctx = arg;

    memcpy(slot, ctx->contiguous ? ctx->user_data : ctx->packed, nbytes);
}

/* Small non-contiguous root: pack the message now, where a failure can
 * still fail the call (the SST's fill hook cannot fail). */
static int pack_small(mca_coll_rdmc_request_t *req)
{
    rdmc_bcast_ctx_t *ctx = &req->ctx;
    uint64_t nbytes = ctx->own_bytes;
    int32_t rc;

    if (take_staging(ctx, nbytes) == NULL) {
        opal_output_verbose(0, mca_coll_rdmc_component.output,
                            "coll:rdmc: %s: out of memory packing %llu bytes", req->what,
                            (unsigned long long)nbytes);
        return MPI_ERR_NO_MEM;
    }
    struct iovec iov = { ctx->packed, (size_t)nbytes };
    uint32_t iov_count = 1;
    size_t max_data = (size_t)nbytes;
    rc = opal_convertor_pack(&ctx->convertor, &iov, &iov_count, &max_data);
    if (rc < 0 || max_data != nbytes) {
        opal_output_verbose(0, mca_coll_rdmc_component.output,
                            "coll:rdmc: %s: packing the datatype failed (convertor status %d, "
                            "%zu of %llu bytes)",
                            req->what, (int)rc, max_data, (unsigned long long)nbytes);
        return MPI_ERR_INTERN;
    }
    return MPI_SUCCESS;
}

/* Small receiver: the message, straight from the SST; what fits is kept. */
static void hook_take_small(void *arg, const void *data, uint32_t len, uint32_t from_root)
{
    rdmc_bcast_ctx_t *ctx = arg;
    uint64_t keep = len < ctx->own_bytes ? len : ctx->own_bytes;

    (void)from_root;
    ctx->root_bytes = len;
    ctx->truncated = len > ctx->own_bytes;
    if (ctx->contiguous) {
        memcpy(ctx->user_data, data, keep);
    } else {
        unpack_range(ctx, data, 0, keep);
    }
}

static void set_large_root(mca_coll_rdmc_request_t *req, rdmc_op_params_t *large);

/* After a view change: send what this rank holds (it is the lowest-ranked
 * survivor that has it), or receive it all over again. */
static void hook_rerun(void *arg, rdmc_op_params_t *large, bool as_sender)
{
    rdmc_bcast_ctx_t *ctx = arg;

    mca_coll_rdmc_bcast_ctx_release(ctx);
    ctx->packed_upto = 0;
    ctx->truncated = false;
    /* A sender has the whole message: it is what the root sent. */
    ctx->root_bytes = as_sender ? ctx->own_bytes : 0;
    if (!ctx->contiguous && prepare_convertor(ctx, as_sender) != OPAL_SUCCESS) {
        /* Without hooks a sender has nothing to send from (fill fails) and a
         * receiver has nowhere to put it (place fails): the op fails. */
        large->hooks = (rdmc_op_hooks_t){ .arg = ctx };
        if (as_sender) {
            large->hooks.fill = hook_fill;   /* ctx->packed is NULL: -ENOMEM */
        }
        return;
    }
    if (as_sender) {
        set_large_root(mca_coll_rdmc_request_of_ctx(ctx), large);
        return;
    }
    large->hooks = (rdmc_op_hooks_t){
        .place = hook_place,
        .arrived = ctx->contiguous ? NULL : hook_arrived,
        .arg = ctx,
    };
}

void mca_coll_rdmc_bcast_ctx_release(rdmc_bcast_ctx_t *ctx)
{
    if (ctx->convertor_ready) {
        OBJ_DESTRUCT(&ctx->convertor);
        ctx->convertor_ready = false;
    }
    rdmc_staging_put(ctx->packed, ctx->packed_capacity);
    ctx->packed = NULL;
    free(ctx->error);
    ctx->error = NULL;
}

int mca_coll_rdmc_bcast_outcome(mca_coll_rdmc_request_t *req)
{
    mca_coll_rdmc_module_t *m = req->module;
    rdmc_bcast_ctx_t *ctx = &req->ctx;
    int out = mca_coll_rdmc_component.output;
    int rank = ompi_comm_rank(m->comm);

    if (rank == req->root) {
        return MPI_SUCCESS;
    }
    if ((int)req->coll.actual_root != req->root) {
        opal_output_verbose(0, out,
                            "coll:rdmc: %s on %s: rank %d was told root %d but rank %u "
                            "is broadcasting",
                            req->what, mca_coll_rdmc_comm_name(m->comm), rank, req->root,
                            req->coll.actual_root);
        return MPI_ERR_ROOT;
    }
    if (ctx->truncated && req->coll.kind == RDMC_COLL_BCAST_LARGE) {
        keep_what_fits(ctx);
    }
    if (ctx->status != MPI_SUCCESS) {
        opal_output_verbose(0, out, "coll:rdmc: %s on %s: rank %d: %s", req->what,
                            mca_coll_rdmc_comm_name(m->comm), rank,
                            ctx->error != NULL ? ctx->error : "unpacking failed");
        return ctx->status;
    }
    if (ctx->truncated) {
        opal_output_verbose(0, out,
                            "coll:rdmc: %s on %s: rank %d has room for %llu bytes but "
                            "the root sent %llu; the message was truncated",
                            req->what, mca_coll_rdmc_comm_name(m->comm), rank,
                            (unsigned long long)ctx->own_bytes,
                            (unsigned long long)ctx->root_bytes);
        return MPI_ERR_TRUNCATE;
    }
    if (ctx->root_bytes < ctx->own_bytes) {
        opal_output_verbose(0, out,
                            "coll:rdmc: %s on %s: rank %d expected %llu bytes but the "
                            "root sent %llu (counts or datatypes differ)",
                            req->what, mca_coll_rdmc_comm_name(m->comm), rank,
                            (unsigned long long)ctx->own_bytes,
                            (unsigned long long)ctx->root_bytes);
        return MPI_ERR_COUNT;
    }
    return MPI_SUCCESS;
}

/* Describe the broadcast to the stream: path, buffers, hooks.  Logs what
 * makes it fail. */
static int prepare(mca_coll_rdmc_request_t *req, void *buf, int count,
                   struct ompi_datatype_t *dtype, int root, uint64_t nbytes, bool small)
{
    mca_coll_rdmc_module_t *m = req->module;
    rdmc_bcast_ctx_t *ctx = &req->ctx;
    rdmc_coll_t *coll = &req->coll;
    bool is_root = ompi_comm_rank(m->comm) == root;
    ptrdiff_t true_lb, true_extent;

    ctx->user_buf = buf;
    ctx->count = count;
    ctx->dtype = dtype;
    ctx->own_bytes = nbytes;
    ctx->contiguous = ompi_datatype_is_contiguous_memory_layout(dtype, count);
    ompi_datatype_get_true_extent(dtype, &true_lb, &true_extent);
    ctx->user_data = (uint8_t *)buf + true_lb;
    ctx->status = MPI_SUCCESS;
    if (!ctx->contiguous) {
        int rc = prepare_convertor(ctx, is_root);
        if (rc != OPAL_SUCCESS) {
            opal_output_verbose(0, mca_coll_rdmc_component.output,
                                "coll:rdmc: %s: preparing the datatype convertor failed (%d)",
                                req->what, rc);
            return rc == OPAL_ERR_OUT_OF_RESOURCE ? MPI_ERR_NO_MEM : MPI_ERR_INTERN;
        }
    }
    req->root = root;
    coll->root = (uint32_t)root;
    coll->kind = small ? RDMC_COLL_BCAST_SMALL : RDMC_COLL_BCAST_LARGE;
    coll->hooks.rerun = hook_rerun;
    if (!is_root) {
        /* The root's size decides the path; ours may differ (an error the
         * stream detects): be ready to receive either way. */
        coll->hooks.take_small = hook_take_small;
        coll->large.hooks.arg = ctx;
        coll->large.hooks.place = hook_place;
        coll->large.hooks.arrived = ctx->contiguous ? NULL : hook_arrived;
        return MPI_SUCCESS;
    }
    if (small) {
        coll->nbytes = nbytes;
        coll->hooks.fill_small = hook_fill_small;
        return ctx->contiguous ? MPI_SUCCESS : pack_small(req);
    }
    set_large_root(req, &coll->large);
    if (!ctx->contiguous && ctx->packed == NULL) {
        opal_output_verbose(0, mca_coll_rdmc_component.output,
                            "coll:rdmc: %s: out of memory for a packed copy of %llu bytes",
                            req->what, (unsigned long long)nbytes);
        return MPI_ERR_NO_MEM;
    }
    return MPI_SUCCESS;
}

/* The ranks the root's pipeline spans: by levels, one per node. */
static uint32_t pipeline_width(const mca_coll_rdmc_module_t *m)
{
    const mca_coll_rdmc_link_t *l = m->link;

    if (l != NULL && l->use_levels && l->spans_nodes) {
        return l->layout.nnodes;
    }
    return (uint32_t)ompi_comm_size(m->comm);
}

void mca_coll_rdmc_bcast_choose_blocks(mca_coll_rdmc_module_t *m, uint64_t nbytes,
                                       rdmc_schedule_alg_t *schedule, uint64_t *block_bytes)
{
    mca_coll_rdmc_component_t *c = &mca_coll_rdmc_component;

    *schedule = c->schedule == RDMC_SCHEDULE_AUTO ? m->auto_schedule
                                                  : (rdmc_schedule_alg_t)c->schedule;
    *block_bytes = rdmc_block_bytes(*schedule, pipeline_width(m), nbytes, c->block_bytes,
                                    &m->model);
}

/* The engine's view of a sender: the user's bytes, or a copy packed block
 * by block (ctx->packed stays NULL when out of memory). */
static void set_large_root(mca_coll_rdmc_request_t *req, rdmc_op_params_t *large)
{
    rdmc_bcast_ctx_t *ctx = &req->ctx;
    uint64_t nbytes = ctx->own_bytes;

    large->hooks = (rdmc_op_hooks_t){ .arg = ctx };
    large->nbytes = nbytes;
    if (req->persistent != NULL && req->persistent->block_bytes != 0) {
        /* A persistent broadcast chose them once, at init. */
        large->schedule = req->persistent->schedule;
        large->block_bytes = req->persistent->block_bytes;
    } else {
        mca_coll_rdmc_bcast_choose_blocks(req->module, nbytes, &large->schedule,
                                          &large->block_bytes);
    }
    if (ctx->contiguous) {
        large->buf = ctx->user_data;
        return;
    }
    large->buf = take_staging(ctx, nbytes);
    large->hooks.fill = hook_fill;
}

int mca_coll_rdmc_bcast_check_args(const char *what, int count, int root,
                                   ompi_communicator_t *comm)
{
    mca_coll_rdmc_component_t *c = &mca_coll_rdmc_component;

    /* MPI checks these too, unless mpi_param_check is off. */
    if (root < 0 || root >= ompi_comm_size(comm)) {
        opal_output_verbose(0, c->output, "coll:rdmc: %s on %s: invalid root %d", what,
                            mca_coll_rdmc_comm_name(comm), root);
        return MPI_ERR_ROOT;
    }
    if (count < 0) {
        opal_output_verbose(0, c->output, "coll:rdmc: %s on %s: negative count %d", what,
                            mca_coll_rdmc_comm_name(comm), count);
        return MPI_ERR_COUNT;
    }
    return MPI_SUCCESS;
}

/* Is rdmc usable on this communicator?  The first collective starts the
 * link's set-up; a blocking call waits until it is decided, a nonblocking
 * one goes on (its request queues until then).  On false, *rc says whether
 * to fall back (MPI_SUCCESS) or fail.
 *
 * Collectives that Open MPI itself runs inside MPI_Init (a spawned job
 * connecting to its parent) go to the previous component: the set-up sets
 * communicator attributes, and MPI refuses attribute calls, fatally,
 * until MPI_Init returns.  Every rank makes the same choice, since those
 * collectives run inside MPI_Init on all of them. */
bool mca_coll_rdmc_usable(mca_coll_rdmc_module_t *m, const char *what, bool blocking, int *rc)
{
    rdmc_setup_state_t state;
    bool started = false;

    *rc = MPI_SUCCESS;
    if (ompi_mpi_state == OMPI_MPI_STATE_INIT_STARTED) {
        return false;
    }
    pthread_mutex_lock(&mca_coll_rdmc_lock);
    if (m->state == RDMC_SETUP_NOT_YET && !rdmc_comm_exempt(m->comm)) {
        mca_coll_rdmc_setup_start(m);
        started = true;
    }
    state = m->state;
    pthread_mutex_unlock(&mca_coll_rdmc_lock);
    /* The attribute that holds the group for the extended API and tells
     * us of MPI_Comm_free, from the first collective on, set-up still
     * under way included; outside the lock. */
    if (started && !__atomic_exchange_n(&m->group_attached, true, __ATOMIC_ACQ_REL)) {
        mca_coll_rdmc_group_attach(m);
    }
    if (state == RDMC_SETUP_CONNECTING && blocking) {
        mca_coll_rdmc_setup_wait(m);
        pthread_mutex_lock(&mca_coll_rdmc_lock);
        state = m->state;
        pthread_mutex_unlock(&mca_coll_rdmc_lock);
    }
    if (state == RDMC_SETUP_READY || state == RDMC_SETUP_CONNECTING) {
        return true;
    }
    if (state == RDMC_SETUP_BROKEN) {
        bool partitioned = m->broken_status == -ENETUNREACH;
        bool member_failed = m->broken_status == -EOWNERDEAD;   /* during set-up */
        /* Every refused call returns the error; the log says why once. */
        bool first = !__atomic_exchange_n(&m->refusal_said, true, __ATOMIC_RELAXED);

        opal_output_verbose(first ? 0 : 1, mca_coll_rdmc_component.output,
                            "coll:rdmc: %s on %s: refused, %s%s", what,
                            mca_coll_rdmc_comm_name(m->comm),
                            partitioned          ? "this rank lost its majority and left the group"
                            : member_failed      ? "a rank failed while rdmc was being set up on it"
                            : m->broken_in_setup ? "setting up rdmc on this communicator failed"
                                                 : "an earlier rdmc collective on this "
                                                   "communicator failed",
                            first ? " (the next refusals only at coll_rdmc_verbose 1)" : "");
        *rc = partitioned     ? rdmc_error_code(RDMC_PARTITIONED)
              : member_failed ? rdmc_error_code(RDMC_PROC_FAILED)
                              : MPI_ERR_OTHER;
    }
    return false;
}

int mca_coll_rdmc_bcast_issue(mca_coll_rdmc_request_t *req, void *buf, int count,
                              struct ompi_datatype_t *dtype, int root, uint64_t nbytes, bool small)
{
    mca_coll_rdmc_component_t *c = &mca_coll_rdmc_component;
    int rc = prepare(req, buf, count, dtype, root, nbytes, small);

    if (rc != MPI_SUCCESS) {
        mca_coll_rdmc_bcast_ctx_release(&req->ctx);
        return rc;
    }
    opal_output_verbose(10, c->output, "coll:rdmc: %s on %s: root %d, %llu bytes, %s", req->what,
                        mca_coll_rdmc_comm_name(req->module->comm), root,
                        (unsigned long long)nbytes,
                        small ? "through the SST" : "through the engine");
    mca_coll_rdmc_count(&c->pvar_bcasts, 1);
    mca_coll_rdmc_count(&c->pvar_bytes, nbytes);
    if (small) {
        mca_coll_rdmc_count(&c->pvar_sst_bcasts, 1);
    }
    mca_coll_rdmc_request_issue(req);
    return MPI_SUCCESS;
}

/* Build and issue a broadcast request. */
static int start_bcast(mca_coll_rdmc_module_t *m, const char *what, void *buf, int count,
                       struct ompi_datatype_t *dtype, int root, uint64_t nbytes, bool small,
                       mca_coll_rdmc_request_t **req_p)
{
    mca_coll_rdmc_request_t *req = mca_coll_rdmc_request_new(m, what);
    int rc;

    if (req == NULL) {
        return MPI_ERR_NO_MEM;
    }
    rc = mca_coll_rdmc_bcast_issue(req, buf, count, dtype, root, nbytes, small);
    if (rc != MPI_SUCCESS) {
        OBJ_RELEASE(req);
        return rc;
    }
    *req_p = req;
    return MPI_SUCCESS;
}

uint64_t mca_coll_rdmc_message_bytes(struct ompi_datatype_t *dtype, int count)
{
    size_t type_size = 0;

    ompi_datatype_type_size(dtype, &type_size);
    return (uint64_t)type_size * (uint64_t)count;
}

/* Below this many bytes MPI_Bcast goes to the previous component: on one
 * node coll_rdmc_bcast_min_bytes; across nodes, unless the user set it,
 * coll_rdmc_bcast_min_bytes_nodes.  Every rank sees the same locality, so
 * every rank takes the same path. */
static size_t crossover(mca_coll_rdmc_module_t *m)
{
    const mca_coll_rdmc_component_t *c = &mca_coll_rdmc_component;

    if (m->spans_nodes < 0) {
        m->spans_nodes = !mca_coll_rdmc_comm_on_one_node(m->comm);
    }
    if (m->spans_nodes) {
        return c->bcast_min_bytes_nodes;
    }
    return !c->bcast_min_bytes_set && mca_coll_rdmc_node_crowded() ? SIZE_MAX
                                                                    : c->bcast_min_bytes;
}

bool mca_coll_rdmc_bcast_falls_back(mca_coll_rdmc_module_t *m, uint64_t nbytes)
{
    return nbytes < crossover(m) && !mca_coll_rdmc_component.small_path_sst;
}

int mca_coll_rdmc_bcast(void *buf, int count, struct ompi_datatype_t *dtype, int root,
                        struct ompi_communicator_t *comm, mca_coll_base_module_t *module)
{
    mca_coll_rdmc_module_t *m = (mca_coll_rdmc_module_t *)module;
    mca_coll_rdmc_component_t *c = &mca_coll_rdmc_component;
    mca_coll_rdmc_request_t *req;
    uint64_t nbytes;
    bool small;
    int rc;

    rc = mca_coll_rdmc_bcast_check_args("MPI_Bcast", count, root, comm);
    if (rc != MPI_SUCCESS) {
        return rc;
    }
    nbytes = mca_coll_rdmc_message_bytes(dtype, count);
    small = c->small_path_sst && nbytes <= c->sst_max_bytes;
    if (mca_coll_rdmc_bcast_falls_back(m, nbytes) ||
        !mca_coll_rdmc_usable(m, "MPI_Bcast", true, &rc)) {
        if (rc != MPI_SUCCESS) {
            return rc;
        }
        mca_coll_rdmc_count(&c->pvar_fallbacks, 1);
        mca_coll_rdmc_drain(m);   /* after the collectives issued before it */
        return m->previous_bcast(buf, count, dtype, root, comm, m->previous_bcast_module);
    }
    rc = start_bcast(m, "MPI_Bcast", buf, count, dtype, root, nbytes, small, &req);
    if (rc != MPI_SUCCESS) {
        return rc;
    }
    return mca_coll_rdmc_request_wait_and_free(req);
}

int mca_coll_rdmc_ibcast(void *buf, int count, struct ompi_datatype_t *dtype, int root,
                         struct ompi_communicator_t *comm, ompi_request_t **request,
                         mca_coll_base_module_t *module)
{
    mca_coll_rdmc_module_t *m = (mca_coll_rdmc_module_t *)module;
    mca_coll_rdmc_component_t *c = &mca_coll_rdmc_component;
    mca_coll_rdmc_request_t *req;
    uint64_t nbytes;
    int rc;

    rc = mca_coll_rdmc_bcast_check_args("MPI_Ibcast", count, root, comm);
    if (rc != MPI_SUCCESS) {
        return rc;
    }
    nbytes = mca_coll_rdmc_message_bytes(dtype, count);
    /* No local wait for what was issued before (a nonblocking call): a
     * broadcast handed over completes as the previous component completes
     * it, in no particular order with rdmc's own (MPI promises none). */
    if (mca_coll_rdmc_bcast_falls_back(m, nbytes) ||
        !mca_coll_rdmc_usable(m, "MPI_Ibcast", false, &rc)) {
        return rc != MPI_SUCCESS ? rc
                                 : mca_coll_rdmc_hand_over(m, "MPI_Ibcast", false, buf, count,
                                                           dtype, root, request);
    }
    rc = start_bcast(m, "MPI_Ibcast", buf, count, dtype, root, nbytes, nbytes <= c->sst_max_bytes,
                     &req);
    if (rc != MPI_SUCCESS) {
        return rc;
    }
    mca_coll_rdmc_count(&c->pvar_ibcasts, 1);
    *request = &req->super;
    return MPI_SUCCESS;
}

/* A barrier into the stream: it completes once every member has reached it. */
static mca_coll_rdmc_request_t *issue_barrier(mca_coll_rdmc_module_t *m, const char *what)
{
    mca_coll_rdmc_request_t *req = mca_coll_rdmc_request_new(m, what);

    if (req != NULL) {
        req->coll.kind = RDMC_COLL_BARRIER;
        mca_coll_rdmc_request_issue(req);
        mca_coll_rdmc_count(&mca_coll_rdmc_component.pvar_barriers, 1);
    }
    return req;
}

int mca_coll_rdmc_barrier(struct ompi_communicator_t *comm, mca_coll_base_module_t *module)
{
    mca_coll_rdmc_module_t *m = (mca_coll_rdmc_module_t *)module;
    mca_coll_rdmc_request_t *req;
    int rc = MPI_SUCCESS;

    /* Like a small MPI_Bcast: Open MPI's own barrier unless the SST path is
     * wanted (it is what survives failures); after what was issued before. */
    if (!mca_coll_rdmc_component.small_path_sst ||
        !mca_coll_rdmc_usable(m, "MPI_Barrier", true, &rc)) {
        if (rc != MPI_SUCCESS) {
            return rc;
        }
        mca_coll_rdmc_drain(m);
        return m->previous_barrier(comm, m->previous_barrier_module);
    }
    req = issue_barrier(m, "MPI_Barrier");
    return req != NULL ? mca_coll_rdmc_request_wait_and_free(req) : MPI_ERR_NO_MEM;
}

int mca_coll_rdmc_ibarrier(struct ompi_communicator_t *comm, ompi_request_t **request,
                           mca_coll_base_module_t *module)
{
    mca_coll_rdmc_module_t *m = (mca_coll_rdmc_module_t *)module;
    mca_coll_rdmc_request_t *req;
    int rc = MPI_SUCCESS;

    (void)comm;   /* the module's */
    /* As MPI_Barrier, without its local wait (a nonblocking call). */
    if (!mca_coll_rdmc_component.small_path_sst ||
        !mca_coll_rdmc_usable(m, "MPI_Ibarrier", false, &rc)) {
        return rc != MPI_SUCCESS
                   ? rc
                   : mca_coll_rdmc_hand_over(m, "MPI_Ibarrier", true, NULL, 0, NULL, -1, request);
    }
    req = issue_barrier(m, "MPI_Ibarrier");
    if (req == NULL) {
        return MPI_ERR_NO_MEM;
    }
    *request = &req->super;
    return MPI_SUCCESS;
}
