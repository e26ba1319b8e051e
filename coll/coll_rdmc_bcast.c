/*
 * MPI_Bcast through rdmc.
 *
 * Below coll_rdmc_bcast_min_bytes (this rank's byte count) the call goes to
 * the previously selected component.  Above it the message is cut into
 * blocks and moved by the RDMC engine:
 *   - contiguous data is sent from and received into the user's buffer;
 *   - other datatypes go through a packed copy, packed block by block at the
 *     root just before each block's first send and unpacked block by block
 *     at receivers as blocks arrive;
 *   - a receiver whose buffer is smaller than the root's message receives
 *     (and forwards) the whole message in scratch memory, keeps what fits
 *     and returns MPI_ERR_TRUNCATE: nothing past its buffer is written.
 */
#include "coll_rdmc.h"

#include <stdlib.h>
#include <string.h>

#include "ompi/constants.h"
#include "ompi/datatype/ompi_datatype.h"
#include "opal/datatype/opal_convertor.h"
#include "opal/runtime/opal_progress.h"
#include "opal/util/output.h"

#include "rdmc_engine.h"

typedef struct rdmc_bcast_ctx {
    void *user_buf;
    int count;
    struct ompi_datatype_t *dtype;
    uint64_t own_bytes;
    bool contiguous;
    uint8_t *user_data;          /* first data byte of a contiguous layout */
    uint8_t *packed;             /* packed message, or the truncation scratch */
    uint64_t packed_upto;        /* root: bytes packed so far */
    bool truncated;              /* the root sends more than we hold */
    uint64_t root_bytes;         /* what the root sends */
    opal_convertor_t convertor;  /* packs at the root, unpacks elsewhere */
    bool convertor_ready;
} rdmc_bcast_ctx_t;

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

/* Receivers: unpack the next bytes [offset, offset+len) of the packed
 * message.  Strictly sequential: the engine hands blocks over in order, and
 * Open MPI 4.1's convertor cannot be repositioned backwards inside struct
 * datatypes.  (Unpacking, unlike packing, handles partial elements.) */
static void unpack_range(rdmc_bcast_ctx_t *ctx, uint64_t offset, uint64_t len)
{
    struct iovec iov = { ctx->packed + offset, (size_t)len };
    uint32_t iov_count = 1;
    size_t max_data = (size_t)len;

    if (len > 0) {
        (void)opal_convertor_unpack(&ctx->convertor, &iov, &iov_count, &max_data);
    }
}

/* Root, non-contiguous data: pack at least through the end of the block.
 * Open MPI's convertor never splits a basic element when packing, so it may
 * stop a few bytes short of the block end; it gets room past the end to
 * finish that element, and the next block continues where it stopped. */
#define PACK_SLACK 64   /* more than the largest basic datatype */

static void hook_fill(void *arg, uint64_t offset, uint64_t len)
{
    rdmc_bcast_ctx_t *ctx = arg;
    uint64_t end = offset + len;

    while (ctx->packed_upto < end) {
        uint64_t room = ctx->own_bytes - ctx->packed_upto;
        if (room > end - ctx->packed_upto + PACK_SLACK) {
            room = end - ctx->packed_upto + PACK_SLACK;
        }
        struct iovec iov = { ctx->packed + ctx->packed_upto, (size_t)room };
        uint32_t iov_count = 1;
        size_t max_data = (size_t)room;
        (void)opal_convertor_pack(&ctx->convertor, &iov, &iov_count, &max_data);
        if (max_data == 0) {
            break;   /* nothing left to pack */
        }
        ctx->packed_upto += max_data;
    }
}

static void hook_arrived(void *arg, uint64_t offset, uint64_t len)
{
    rdmc_bcast_ctx_t *ctx = arg;

    if (!ctx->truncated) {
        unpack_range(ctx, offset, len);
    }
}

static void *hook_place(void *arg, uint64_t nbytes)
{
    rdmc_bcast_ctx_t *ctx = arg;

    ctx->root_bytes = nbytes;
    if (nbytes > ctx->own_bytes) {
        /* Keep the whole message in scratch: we must forward all of it. */
        ctx->truncated = true;
        ctx->packed = malloc(nbytes);
        return ctx->packed;
    }
    if (ctx->contiguous) {
        return ctx->user_data;
    }
    ctx->packed = malloc(nbytes ? nbytes : 1);
    return ctx->packed;
}

static void hook_idle(void *arg)
{
    (void)arg;
    opal_progress();
}

/* Truncated receiver: keep the part of the message that fits. */
static void keep_what_fits(rdmc_bcast_ctx_t *ctx)
{
    if (ctx->contiguous) {
        memcpy(ctx->user_data, ctx->packed, ctx->own_bytes);
    } else {
        unpack_range(ctx, 0, ctx->own_bytes);
    }
}

static void ctx_release(rdmc_bcast_ctx_t *ctx)
{
    if (ctx->convertor_ready) {
        OBJ_DESTRUCT(&ctx->convertor);
    }
    free(ctx->packed);
}

/* The outcome at a rank whose broadcast completed. */
static int completed_status(mca_coll_rdmc_module_t *m, const rdmc_op_t *op,
                            rdmc_bcast_ctx_t *ctx, int root)
{
    int out = mca_coll_rdmc_component.output;
    int rank = ompi_comm_rank(m->comm);

    if (rank == root) {
        return MPI_SUCCESS;
    }
    if ((int)op->header.root != root) {
        opal_output_verbose(0, out,
                            "coll:rdmc: MPI_Bcast on %s: rank %d was told root %d but rank %u "
                            "is broadcasting",
                            m->comm->c_name, rank, root, op->header.root);
        return MPI_ERR_ROOT;
    }
    if (ctx->truncated) {
        keep_what_fits(ctx);
        opal_output_verbose(0, out,
                            "coll:rdmc: MPI_Bcast on %s: rank %d has room for %llu bytes but "
                            "the root sent %llu; the message was truncated",
                            m->comm->c_name, rank, (unsigned long long)ctx->own_bytes,
                            (unsigned long long)ctx->root_bytes);
        return MPI_ERR_TRUNCATE;
    }
    if (ctx->root_bytes < ctx->own_bytes) {
        opal_output_verbose(0, out,
                            "coll:rdmc: MPI_Bcast on %s: rank %d expected %llu bytes but the "
                            "root sent %llu (counts or datatypes differ)",
                            m->comm->c_name, rank, (unsigned long long)ctx->own_bytes,
                            (unsigned long long)ctx->root_bytes);
        return MPI_ERR_COUNT;
    }
    return MPI_SUCCESS;
}

static int rdmc_bcast_run(mca_coll_rdmc_module_t *m, void *buf, int count,
                          struct ompi_datatype_t *dtype, int root, uint64_t nbytes)
{
    mca_coll_rdmc_component_t *c = &mca_coll_rdmc_component;
    int n = ompi_comm_size(m->comm);
    int rank = ompi_comm_rank(m->comm);
    rdmc_bcast_ctx_t ctx;
    rdmc_op_t op;
    ptrdiff_t true_lb, true_extent;
    int rc;

    memset(&ctx, 0, sizeof(ctx));
    ctx.user_buf = buf;
    ctx.count = count;
    ctx.dtype = dtype;
    ctx.own_bytes = nbytes;
    ctx.contiguous = ompi_datatype_is_contiguous_memory_layout(dtype, count);
    ompi_datatype_get_true_extent(dtype, &true_lb, &true_extent);
    ctx.user_data = (uint8_t *)buf + true_lb;

    rdmc_op_params_t params = {
        .tp = rdmc_ofi_ep_transport(m->ep),
        .n = (uint32_t)n,
        .rank = (uint32_t)rank,
        .root = (uint32_t)root,
        .seq = m->next_seq++,
        .hooks = { .idle = hook_idle, .arg = &ctx },
    };
    if (rank == root) {
        params.nbytes = nbytes;
        params.schedule = c->schedule == RDMC_SCHEDULE_AUTO ? m->auto_schedule
                                                            : (rdmc_schedule_alg_t)c->schedule;
        params.block_bytes = rdmc_block_bytes(params.schedule, (uint32_t)n, nbytes,
                                              c->block_bytes, &m->model);
        if (ctx.contiguous) {
            params.buf = ctx.user_data;
        } else {
            ctx.packed = malloc(nbytes);
            if (ctx.packed == NULL || prepare_convertor(&ctx, true) != OPAL_SUCCESS) {
                opal_output_verbose(0, c->output, "coll:rdmc: MPI_Bcast: out of memory");
                ctx_release(&ctx);
                return MPI_ERR_NO_MEM;
            }
            params.buf = ctx.packed;
            params.hooks.fill = hook_fill;
        }
    } else {
        params.hooks.place = hook_place;
        if (!ctx.contiguous) {
            if (prepare_convertor(&ctx, false) != OPAL_SUCCESS) {
                ctx_release(&ctx);
                return MPI_ERR_NO_MEM;
            }
            params.hooks.arrived = hook_arrived;
        }
    }
    opal_output_verbose(10, c->output,
                        "coll:rdmc: bcast #%llu on %s: root %d, %llu bytes, block %llu, %s",
                        (unsigned long long)params.seq, m->comm->c_name, root,
                        (unsigned long long)nbytes, (unsigned long long)params.block_bytes,
                        rdmc_schedule_name(params.schedule));

    rc = rdmc_op_start(&op, &params);
    if (rc == 0) {
        rc = rdmc_op_wait(&op, c->timeout_ms);
    }
    if (rc != 0) {
        opal_output_verbose(0, c->output,
                            "coll:rdmc: MPI_Bcast on %s failed at rank %d: %s; rdmc is off on "
                            "this communicator from now on",
                            m->comm->c_name, rank, op.error[0] ? op.error : "could not start");
        /* Close the endpoint before freeing anything a posted operation
         * might still point to. */
        mca_coll_rdmc_module_break(m);
        rdmc_op_release(&op);
        ctx_release(&ctx);
        return MPI_ERR_OTHER;
    }
    rc = completed_status(m, &op, &ctx, root);
    rdmc_op_release(&op);
    ctx_release(&ctx);
    mca_coll_rdmc_count(&c->pvar_bcasts, 1);
    mca_coll_rdmc_count(&c->pvar_bytes, nbytes);
    return rc;
}

int mca_coll_rdmc_bcast(void *buf, int count, struct ompi_datatype_t *dtype, int root,
                        struct ompi_communicator_t *comm, mca_coll_base_module_t *module)
{
    mca_coll_rdmc_module_t *m = (mca_coll_rdmc_module_t *)module;
    mca_coll_rdmc_component_t *c = &mca_coll_rdmc_component;
    size_t type_size = 0;
    uint64_t nbytes;

    /* MPI_Bcast checks these too, unless mpi_param_check is off. */
    if (root < 0 || root >= ompi_comm_size(comm)) {
        opal_output_verbose(0, c->output, "coll:rdmc: MPI_Bcast on %s: invalid root %d",
                            comm->c_name, root);
        return MPI_ERR_ROOT;
    }
    if (count < 0) {
        opal_output_verbose(0, c->output, "coll:rdmc: MPI_Bcast on %s: negative count %d",
                            comm->c_name, count);
        return MPI_ERR_COUNT;
    }
    ompi_datatype_type_size(dtype, &type_size);
    nbytes = (uint64_t)type_size * (uint64_t)count;

    if (nbytes < c->bcast_min_bytes || m->state == RDMC_SETUP_DECLINED ||
        (m->state == RDMC_SETUP_NOT_YET &&
         mca_coll_rdmc_module_ensure_setup(m) == RDMC_SETUP_DECLINED)) {
        mca_coll_rdmc_count(&c->pvar_fallbacks, 1);
        return m->previous_bcast(buf, count, dtype, root, comm, m->previous_bcast_module);
    }
    if (m->state == RDMC_SETUP_BROKEN) {
        opal_output_verbose(0, c->output,
                            "coll:rdmc: MPI_Bcast on %s: refused, an earlier rdmc broadcast on "
                            "this communicator failed",
                            comm->c_name);
        return MPI_ERR_OTHER;
    }
    return rdmc_bcast_run(m, buf, count, dtype, root, nbytes);
}
