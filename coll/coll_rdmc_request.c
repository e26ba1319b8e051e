/*
 * Requests: how a collective in the stream becomes an MPI request, and how
 * the application's thread waits for one.
 *
 * The stream runs under the module's lock, in whichever thread drives it
 * (the application's, or the communicator's progress thread).  When it
 * completes a collective, done() only records the outcome and queues the
 * request on the module's finished list.  MPI learns of it (the data is
 * unpacked by then) in the application's thread only: from opal_progress
 * (our registered callback), from MPI_Test/MPI_Wait through it, or from a
 * blocking call's own wait loop.  Open MPI's request completion is thus
 * never raced by our thread.
 */
#include "coll_rdmc.h"

#include <errno.h>
#include <sched.h>
#include <string.h>

#include "ompi/datatype/ompi_datatype.h"
#include "opal/runtime/opal_progress.h"
#include "opal/util/output.h"

/* Blocking waits call Open MPI's own progress at most this often, so that
 * the rest of MPI moves while we wait, without stealing the core. */
#define MPI_PROGRESS_INTERVAL_MS 1.0
/* Longest single sleep of a blocking wait. */
#define WAIT_SLICE_MS 10

/* Modules with a running stream, for the opal_progress callback. */
static mca_coll_rdmc_module_t *active_modules[256];
static int nactive;
static pthread_mutex_t active_lock = PTHREAD_MUTEX_INITIALIZER;
static bool callback_registered;

static int request_free(ompi_request_t **rptr);

static int request_cancel(ompi_request_t *request, int complete)
{
    (void)request;
    (void)complete;
    return MPI_ERR_REQUEST;   /* collectives cannot be cancelled */
}

static void request_construct(mca_coll_rdmc_request_t *req)
{
    req->module = NULL;
    memset(&req->coll, 0, sizeof(req->coll));
    memset(&req->ctx, 0, sizeof(req->ctx));
    req->what = "";
    req->root = -1;
    req->finished = false;
    req->stream_status = 0;
    req->stream_error[0] = '\0';
    req->user_freed = false;
    req->held = false;
    req->next_finished = NULL;
}

OBJ_CLASS_INSTANCE(mca_coll_rdmc_request_t, ompi_request_t, request_construct, NULL);

static void on_done(void *arg, int status, const char *error);
static void handle_broken(mca_coll_rdmc_module_t *m);

mca_coll_rdmc_request_t *mca_coll_rdmc_request_new(mca_coll_rdmc_module_t *m, const char *what)
{
    mca_coll_rdmc_request_t *req = OBJ_NEW(mca_coll_rdmc_request_t);

    if (req == NULL) {
        return NULL;
    }
    OMPI_REQUEST_INIT(&req->super, false);
    req->super.req_type = OMPI_REQUEST_COLL;
    req->super.req_state = OMPI_REQUEST_ACTIVE;
    req->super.req_free = request_free;
    req->super.req_cancel = request_cancel;
    req->super.req_mpi_object.comm = m->comm;
    req->module = m;
    req->what = what;
    req->coll.hooks.done = on_done;
    /* The ctx is the hooks' argument; done() gets the request back from it. */
    req->coll.hooks.arg = &req->ctx;
    return req;
}

/* Under the module lock, in any thread. */
static void on_done(void *arg, int status, const char *error)
{
    mca_coll_rdmc_request_t *req = mca_coll_rdmc_request_of_ctx(arg);
    mca_coll_rdmc_module_t *m = req->module;

    req->stream_status = status;
    if (error != NULL) {
        snprintf(req->stream_error, sizeof(req->stream_error), "%s", error);
    }
    /* Linked before it is marked: a waiter that sees `finished` (without
     * the lock) must also find it on the list, or it would free it while
     * the list still points to it. */
    req->next_finished = m->finished;
    __atomic_store_n(&m->finished, req, __ATOMIC_RELEASE);
    __atomic_store_n(&req->finished, true, __ATOMIC_RELEASE);
}

void mca_coll_rdmc_request_issue(mca_coll_rdmc_request_t *req)
{
    mca_coll_rdmc_module_t *m = req->module;

    bool was_idle;

    if (req->ctx.dtype != NULL) {
        OMPI_DATATYPE_RETAIN(req->ctx.dtype);
    }
    pthread_mutex_lock(&m->lock);
    m->pending++;
    was_idle = !rdmc_stream_busy(&m->stream);
    rdmc_stream_issue(&m->stream, &req->coll);
    pthread_mutex_unlock(&m->lock);
    /* The first collective after a quiet spell is pushed out (its slot, its
     * first sends) at once: the progress thread sleeps until a peer wakes
     * it, and the application may compute for long before it calls MPI
     * again.  Later ones join the batch that the next progress pass sends,
     * which the peers' answers to the first will trigger. */
    if (was_idle && mca_coll_rdmc_module_progress(m) < 0) {
        handle_broken(m);
    }
}

void mca_coll_rdmc_request_hand_out(mca_coll_rdmc_request_t *req, ompi_request_t **request)
{
    /* It may have failed already, in the issue's own progress. */
    if (!REQUEST_COMPLETE(&req->super)) {
        req->held = true;
        req->module->held++;
    }
    *request = &req->super;
}

/* The user no longer holds it: completed, or freed by MPI_Request_free. */
static void let_go(mca_coll_rdmc_request_t *req)
{
    if (req->held) {
        req->held = false;
        req->module->held--;
    }
}

/* The MPI status of a finished request, with its message logged. */
static int outcome(mca_coll_rdmc_request_t *req)
{
    mca_coll_rdmc_module_t *m = req->module;
    int out = mca_coll_rdmc_component.output;

    if (req->stream_status == -EOWNERDEAD) {
        opal_output_verbose(1, out, "coll:rdmc: %s on %s failed at rank %d: %s", req->what,
                            m->comm->c_name, ompi_comm_rank(m->comm), req->stream_error);
        return rdmc_error_code(RDMC_PROC_FAILED);
    }
    if (req->stream_status == -ENETUNREACH) {
        opal_output_verbose(0, out, "coll:rdmc: %s on %s failed at rank %d: %s", req->what,
                            m->comm->c_name, ompi_comm_rank(m->comm), req->stream_error);
        return rdmc_error_code(RDMC_PARTITIONED);
    }
    if (req->stream_status != 0) {
        opal_output_verbose(0, mca_coll_rdmc_component.output,
                            "coll:rdmc: %s on %s failed at rank %d: %s; rdmc is off on this "
                            "communicator from now on",
                            req->what, m->comm->c_name, ompi_comm_rank(m->comm),
                            req->stream_error[0] ? req->stream_error : "aborted");
        return MPI_ERR_OTHER;
    }
    if (req->coll.kind == RDMC_COLL_BARRIER) {
        return MPI_SUCCESS;
    }
    return mca_coll_rdmc_bcast_outcome(req);
}

/* Application thread: finish what the stream completed, as MPI requests. */
static int report_finished(mca_coll_rdmc_module_t *m)
{
    mca_coll_rdmc_request_t *list, *reversed = NULL;
    int count = 0;

    if (__atomic_load_n(&m->finished, __ATOMIC_ACQUIRE) == NULL) {
        return 0;
    }
    pthread_mutex_lock(&m->lock);
    list = m->finished;
    m->finished = NULL;
    pthread_mutex_unlock(&m->lock);
    /* The list is newest first: report in issue order. */
    while (list != NULL) {
        mca_coll_rdmc_request_t *next = list->next_finished;
        list->next_finished = reversed;
        reversed = list;
        list = next;
    }
    for (mca_coll_rdmc_request_t *req = reversed, *next; req != NULL; req = next, count++) {
        next = req->next_finished;
        req->super.req_status.MPI_ERROR = outcome(req);
        mca_coll_rdmc_bcast_ctx_release(&req->ctx);
        if (req->ctx.dtype != NULL) {
            OMPI_DATATYPE_RELEASE(req->ctx.dtype);
        }
        __atomic_sub_fetch(&m->pending, 1, __ATOMIC_RELAXED);
        let_go(req);
        if (req->user_freed) {
            OBJ_RELEASE(req);
        } else {
            ompi_request_complete(&req->super, true);
        }
    }
    return count;
}

static int request_free(ompi_request_t **rptr)
{
    mca_coll_rdmc_request_t *req = (mca_coll_rdmc_request_t *)*rptr;

    if (REQUEST_COMPLETE(&req->super)) {
        OBJ_RELEASE(req);
    } else {
        req->user_freed = true;   /* released once it completes */
        let_go(req);
    }
    *rptr = MPI_REQUEST_NULL;
    return MPI_SUCCESS;
}

/* ---- progress ----------------------------------------------------------- */

int mca_coll_rdmc_module_progress(mca_coll_rdmc_module_t *m)
{
    mca_coll_rdmc_component_t *c = &mca_coll_rdmc_component;
    int work;
    uint64_t writes;

    pthread_mutex_lock(&m->lock);
    work = rdmc_stream_progress(&m->stream);
    if (m->stream.error != 0) {
        work = -1;
    }
    /* The pvars count what every module did since we last looked.  Under
     * the lock: the progress thread and the application's thread both get
     * here, and each would count the same writes (ThreadSanitizer). */
    writes = rdmc_sst_writes(m->sst) - m->sst_writes_counted;
    m->sst_writes_counted += writes;
    pthread_mutex_unlock(&m->lock);
    if (writes != 0) {
        mca_coll_rdmc_count(&c->pvar_sst_writes, writes);
    }
    return work;
}

/* The stream broke: close the transport (nothing posted may point into
 * what we free), fail what is left, refuse further use. */
static void handle_broken(mca_coll_rdmc_module_t *m)
{
    if (m->state == RDMC_SETUP_READY) {
        m->broken_status = m->stream.error;
        mca_coll_rdmc_module_break(m);
        report_finished(m);
    }
}

int mca_coll_rdmc_progress(void)
{
    mca_coll_rdmc_module_t *all[sizeof(active_modules) / sizeof(active_modules[0])];
    int nall, count = 0;

    /* Modules are created and freed by the application's thread, the one
     * running this: the copy stays valid until a view callback runs, which
     * may free communicators, so at most one runs, last. */
    pthread_mutex_lock(&active_lock);
    nall = nactive;
    memcpy(all, active_modules, sizeof(all[0]) * (size_t)nall);
    pthread_mutex_unlock(&active_lock);
    for (int i = 0; i < nall; i++) {
        mca_coll_rdmc_module_t *m = all[i];
        if (__atomic_load_n(&m->pending, __ATOMIC_RELAXED) > 0) {
            if (mca_coll_rdmc_module_progress(m) < 0) {
                handle_broken(m);
            }
            count += report_finished(m);
        }
    }
    for (int i = 0; i < nall; i++) {
        if (all[i]->stream.views_installed != all[i]->views_reported) {
            mca_coll_rdmc_report_views(all[i]);
            break;
        }
    }
    return count;
}

static void track_module(mca_coll_rdmc_module_t *m, bool add)
{
    pthread_mutex_lock(&active_lock);
    if (add && nactive < (int)(sizeof(active_modules) / sizeof(active_modules[0]))) {
        active_modules[nactive++] = m;
    } else if (!add) {
        for (int i = 0; i < nactive; i++) {
            if (active_modules[i] == m) {
                active_modules[i] = active_modules[--nactive];
                break;
            }
        }
    }
    if (add && !callback_registered) {
        callback_registered = opal_progress_register(mca_coll_rdmc_progress) == OPAL_SUCCESS;
    }
    pthread_mutex_unlock(&active_lock);
}

/* ---- blocking waits ----------------------------------------------------- */

/* One turn of a blocking wait: progress rdmc; when idle, let the rest of
 * MPI progress now and then, and sleep on the transport until rdmc's next
 * deadline.  Returns false once the module has broken (everything that was
 * in flight has failed by then).  opal_progress() runs our own progress
 * callback, which may break the module and free its stream and transport,
 * so nothing of either is touched after it without looking again. */
static bool wait_turn(mca_coll_rdmc_module_t *m, double *last_mpi_progress)
{
    int work, sleep_ms;

    if (m->state != RDMC_SETUP_READY) {
        return false;
    }
    work = mca_coll_rdmc_module_progress(m);
    if (work < 0) {
        handle_broken(m);
        return false;
    }
    if (work > 0) {
        return true;
    }
    if (rdmc_now_ms() - *last_mpi_progress >= MPI_PROGRESS_INTERVAL_MS) {
        opal_progress();
        *last_mpi_progress = rdmc_now_ms();
        if (m->state != RDMC_SETUP_READY) {
            return false;
        }
    }
    pthread_mutex_lock(&m->lock);
    sleep_ms = rdmc_stream_sleep_ms(&m->stream, WAIT_SLICE_MS);
    pthread_mutex_unlock(&m->lock);
    rdmc_transport_t *tp = rdmc_ofi_ep_transport(m->ep);
    tp->ops->wait(tp, sleep_ms);
    return true;
}

int mca_coll_rdmc_request_wait_and_free(mca_coll_rdmc_request_t *req)
{
    mca_coll_rdmc_module_t *m = req->module;
    double last_mpi_progress = rdmc_now_ms();
    int rc;

    __atomic_add_fetch(&m->app_waiting, 1, __ATOMIC_RELAXED);
    while (!__atomic_load_n(&req->finished, __ATOMIC_ACQUIRE) &&
           wait_turn(m, &last_mpi_progress)) {
    }
    __atomic_sub_fetch(&m->app_waiting, 1, __ATOMIC_RELAXED);
    if (!__atomic_load_n(&req->finished, __ATOMIC_ACQUIRE)) {
        handle_broken(m);   /* fails req, with everything else in flight */
    }
    report_finished(m);
    mca_coll_rdmc_report_views(m);
    rc = req->super.req_status.MPI_ERROR;
    OBJ_RELEASE(req);
    return rc;
}

/* Wait (in this thread) until every collective issued so far has completed
 * here: a blocking call handed to another component must come after them.
 * Local waiting only, so every rank may decide differently to wait. */
void mca_coll_rdmc_drain(mca_coll_rdmc_module_t *m)
{
    double last_mpi_progress = rdmc_now_ms();

    while (__atomic_load_n(&m->pending, __ATOMIC_RELAXED) > 0 &&
           wait_turn(m, &last_mpi_progress)) {
        report_finished(m);
    }
}

/* ---- MPI_Comm_free with collectives in flight --------------------------- */

/* Asked by the communicator's group (coll_rdmc_group.c) when MPI_Comm_free
 * starts: refuse while the user holds requests that have not completed;
 * complete those the user let go of (MPI_Request_free). */
int mca_coll_rdmc_comm_freeing(mca_coll_rdmc_module_t *m)
{
    if (m->state == RDMC_SETUP_READY) {
        if (mca_coll_rdmc_module_progress(m) < 0) {
            handle_broken(m);
        }
        report_finished(m);
    }
    if (m->held > 0) {
        opal_output_verbose(0, mca_coll_rdmc_component.output,
                            "coll:rdmc: MPI_Comm_free(%s) refused at rank %d: %d nonblocking "
                            "collective(s) still in flight on it; complete them (MPI_Wait, "
                            "MPI_Test) first",
                            m->comm->c_name, ompi_comm_rank(m->comm), m->held);
        return MPI_ERR_PENDING;
    }
    mca_coll_rdmc_drain(m);
    return MPI_SUCCESS;
}

/* ---- module life cycle -------------------------------------------------- */

int mca_coll_rdmc_stream_start(mca_coll_rdmc_module_t *m)
{
    mca_coll_rdmc_component_t *c = &mca_coll_rdmc_component;
    rdmc_stream_params_t params = {
        .tp = rdmc_ofi_ep_transport(m->ep),
        .sst = m->sst,
        .n = (uint32_t)ompi_comm_size(m->comm),
        .rank = (uint32_t)ompi_comm_rank(m->comm),
        .window = (unsigned)c->window,
        .stable = c->stable_delivery,
        .timeout_ms = c->timeout_ms,
        .heartbeat_ms = c->heartbeat_ms,
        .gm = m->gm,
        .sends_in_flight = m->sends_in_flight,
    };
    int rc;

    if (m->gm != NULL) {
        rdmc_gm_params_t gm_params = {
            .sst = m->sst,
            .n = (int)params.n,
            .me = (int)params.rank,
            .failure_timeout_ms = c->failure_timeout_ms,
        };
        rc = rdmc_gm_init(m->gm, &gm_params, rdmc_now_ms());
        if (rc != 0) {
            return rc;
        }
    }
    rc = rdmc_stream_init(&m->stream, &params);
    if (rc != 0) {
        return rc;
    }
    rdmc_ofi_ep_set_progress_lock(m->ep, &m->lock);
    rc = mca_coll_rdmc_thread_start(m);
    if (rc != 0) {
        return rc;
    }
    track_module(m, true);
    mca_coll_rdmc_group_attach(m);
    return 0;
}

void mca_coll_rdmc_stream_stop(mca_coll_rdmc_module_t *m)
{
    track_module(m, false);
    mca_coll_rdmc_thread_stop(m);
}
