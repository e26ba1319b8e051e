/*
 * Requests: how a collective in the stream becomes an MPI request, and how
 * an application thread waits for one.
 *
 * The stream runs under the engine lock, in whichever thread drives it
 * (an application thread, or the progress thread).  When it completes a
 * collective, done() only records the outcome, puts the request on the
 * module's finished list and the module on the driver's report list.  MPI
 * learns of it (the data is unpacked by then) in an application thread
 * only, outside the lock: from opal_progress (our registered callback),
 * from MPI_Test/MPI_Wait through it, or from a blocking call's own wait
 * loop.  Open MPI's request completion is thus never raced by our thread.
 *
 * A collective issued while the communicator's link is being set up
 * queues on the module; set-up's outcome sends it to the stream, to the
 * previous component (whose request then completes ours), or fails it.
 */
#include "coll_rdmc.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ompi/datatype/ompi_datatype.h"
#include "opal/runtime/opal_progress.h"
#include "opal/util/output.h"

/* Blocking waits call Open MPI's own progress at most this often, so that
 * the rest of MPI moves while we wait, without stealing the core. */
#define MPI_PROGRESS_INTERVAL_MS 1.0
/* Longest single sleep of a blocking wait. */
#define WAIT_SLICE_MS 10
/* A blocking wait that has a core to itself (see wait_begin) polls on
 * without yielding it for this long after the first empty poll since its
 * last work. */
#define POLL_ONLY_MS 0.02
/* After such polling did not pay this many waits in a row, only one wait
 * in POLL_PROBE_EVERY tries it again. */
#define POLL_MISSES_TOLERATED 4
#define POLL_PROBE_EVERY 16
/* A blocking set-up yields between turns this long, then naps. */
#define SETUP_SPIN_MS 20.0

static int request_free(ompi_request_t **rptr);

static int request_cancel(ompi_request_t *request, int complete)
{
    (void)request;
    (void)complete;
    return MPI_ERR_REQUEST;   /* collectives cannot be cancelled */
}

static void on_done(void *arg, int status, const char *error);

static void request_construct(mca_coll_rdmc_request_t *req)
{
    memset(&req->nbc, 0, sizeof(req->nbc));
    req->module = NULL;
    req->what = "";
    req->user_freed = false;
    req->persistent = NULL;
    req->stream_error = NULL;
    req->ctx.error = NULL;
    mca_coll_rdmc_request_reset(req);
}

static void request_destruct(mca_coll_rdmc_request_t *req)
{
    free(req->stream_error);
    free(req->ctx.error);
    if (req->fallback != NULL) {
        (void)ompi_request_free(&req->fallback);   /* complete: it completed ours */
    }
    if (req->super.req_persistent) {
        mca_coll_rdmc_persistent_release(req);
    }
    if (req->module != NULL) {
        /* Through a local: the last reference frees the communicator and
         * with it the module, and OBJ_RELEASE clears the pointer it is given. */
        ompi_communicator_t *comm = req->module->comm;
        OBJ_RELEASE(comm);
    }
}

OBJ_CLASS_INSTANCE(mca_coll_rdmc_request_t, ompi_request_t, request_construct, request_destruct);

void mca_coll_rdmc_request_reset(mca_coll_rdmc_request_t *req)
{
    memset(&req->coll, 0, sizeof(req->coll));
    free(req->ctx.error);
    memset(&req->ctx, 0, sizeof(req->ctx));
    req->root = -1;
    req->finished = false;
    req->stream_status = 0;
    free(req->stream_error);
    req->stream_error = NULL;
    req->fallback = NULL;
    req->next_finished = NULL;
    req->next_queued = NULL;
    req->coll.hooks.done = on_done;
    /* The ctx is the hooks' argument; done() gets the request back from it. */
    req->coll.hooks.arg = &req->ctx;
    req->super.req_status.MPI_ERROR = MPI_SUCCESS;
}

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
    /* Held until the request is freed, as Open MPI's own requests hold
     * theirs: MPI_Comm_free lets collectives in flight complete normally,
     * and the module they run in lives as long as the communicator. */
    OBJ_RETAIN(m->comm);
    req->module = m;
    req->what = what;
    return req;
}

/* MPI_T: where a broadcast came from, this node or another. */
static void count_path(const mca_coll_rdmc_request_t *req)
{
    mca_coll_rdmc_component_t *c = &mca_coll_rdmc_component;
    const mca_coll_rdmc_link_t *l = req->module->link;
    int from = req->coll.received_from;

    if (req->coll.kind != RDMC_COLL_BCAST_LARGE || l == NULL) {
        return;
    }
    if (l->use_levels && l->spans_nodes) {
        mca_coll_rdmc_count(&c->pvar_tree_bcasts, 1);
    }
    if (from < 0) {
        return;   /* the root */
    }
    if (rdmc_layout_same_node(&l->layout, (uint32_t)from,
                              (uint32_t)ompi_comm_rank(req->module->comm))) {
        mca_coll_rdmc_count(&c->pvar_bytes_inside_node, req->ctx.root_bytes);
    } else {
        mca_coll_rdmc_count(&c->pvar_bytes_between_nodes, req->ctx.root_bytes);
    }
}

/* Under the engine lock, in any thread. */
static void on_done(void *arg, int status, const char *error)
{
    mca_coll_rdmc_request_t *req = mca_coll_rdmc_request_of_ctx(arg);
    mca_coll_rdmc_module_t *m = req->module;

    req->stream_status = status;
    if (status == 0) {
        count_path(req);
    }
    if (error != NULL) {
        free(req->stream_error);
        req->stream_error = strdup(error);   /* NULL without memory: "aborted" */
    }
    /* Linked before it is marked: a waiter that sees `finished` (without
     * the lock) must also find it on the list, or it would free it while
     * the list still points to it. */
    req->next_finished = m->finished;
    __atomic_store_n(&m->finished, req, __ATOMIC_RELEASE);
    __atomic_store_n(&req->finished, true, __ATOMIC_RELEASE);
    mca_coll_rdmc_report_later(m);
}

/* Under the engine lock: into the stream, now. */
static void issue_to_stream(mca_coll_rdmc_request_t *req)
{
    mca_coll_rdmc_link_t *l = req->module->link;
    bool was_idle = !rdmc_stream_busy(&l->stream);

    rdmc_stream_issue(&l->stream, &req->coll);
    /* The first collective after a quiet spell is pushed out (its slot, its
     * first sends) at once: the progress thread sleeps until a peer wakes
     * it, and the application may compute for long before it calls MPI
     * again.  Later ones join the batch that the next progress pass sends,
     * which the peers' answers to the first will trigger. */
    if (was_idle) {
        mca_coll_rdmc_link_run(l);
    }
}

/* The MPI side of completing a request, whoever carried it. */
static void complete_for_mpi(mca_coll_rdmc_request_t *req, int status)
{
    req->super.req_status.MPI_ERROR = status;
    __atomic_store_n(&req->finished, true, __ATOMIC_RELEASE);
    if (req->user_freed) {
        /* Nobody waits, but Open MPI's completion callback still releases
         * what MPI_Ibcast retained (a derived datatype). */
        ompi_request_complete(&req->super, false);
        mca_coll_rdmc_request_release_later(req);
    } else {
        ompi_request_complete(&req->super, true);
    }
}

/* Application thread, without the engine lock. */
void mca_coll_rdmc_request_complete(mca_coll_rdmc_request_t *req, int status)
{
    mca_coll_rdmc_bcast_ctx_release(&req->ctx);
    if (req->ctx.dtype != NULL) {
        OMPI_DATATYPE_RELEASE(req->ctx.dtype);
    }
    __atomic_sub_fetch(&req->module->pending, 1, __ATOMIC_RELAXED);
    complete_for_mpi(req, status);
}

/* The previous component finished the request it carried for us (an
 * application thread, in that component's progress): one issued to rdmc
 * first, or one handed over at once. */
static int fallback_done(ompi_request_t *inner)
{
    mca_coll_rdmc_request_t *req = inner->req_complete_cb_data;

    mca_coll_rdmc_request_complete(req, inner->req_status.MPI_ERROR);
    return 0;
}

static int handed_over_done(ompi_request_t *inner)
{
    mca_coll_rdmc_request_t *req = inner->req_complete_cb_data;

    complete_for_mpi(req, inner->req_status.MPI_ERROR);
    return 0;
}

/* The previous component's nonblocking barrier or broadcast in
 * req->fallback, which completes req. */
static int start_previous(mca_coll_rdmc_request_t *req, bool barrier, void *buf, int count,
                          struct ompi_datatype_t *dtype, int root,
                          ompi_request_complete_fn_t done)
{
    mca_coll_rdmc_module_t *m = req->module;
    int rc;

    mca_coll_rdmc_count(&mca_coll_rdmc_component.pvar_fallbacks, 1);
    if (barrier) {
        rc = m->previous_ibarrier(m->comm, &req->fallback, m->previous_ibarrier_module);
    } else {
        rc = m->previous_ibcast(buf, count, dtype, root, m->comm, &req->fallback,
                                m->previous_ibcast_module);
    }
    if (rc != MPI_SUCCESS) {
        req->fallback = NULL;
        return rc;
    }
    (void)ompi_request_set_callback(req->fallback, done, req);
    return MPI_SUCCESS;
}

/* Set-up declined after the collective was queued: the previous
 * component carries it, and its request completes ours. */
static void issue_to_fallback(mca_coll_rdmc_request_t *req)
{
    rdmc_bcast_ctx_t *ctx = &req->ctx;
    int rc = start_previous(req, req->coll.kind == RDMC_COLL_BARRIER, ctx->user_buf, ctx->count,
                            ctx->dtype, req->root, fallback_done);

    if (rc != MPI_SUCCESS) {
        opal_output_verbose(0, mca_coll_rdmc_component.output,
                            "coll:rdmc: %s on %s: the previous component refused it (%d)",
                            req->what, mca_coll_rdmc_comm_name(req->module->comm), rc);
        mca_coll_rdmc_request_complete(req, rc);
    }
}

int mca_coll_rdmc_hand_over(mca_coll_rdmc_module_t *m, const char *what, bool barrier,
                            void *buf, int count, struct ompi_datatype_t *dtype, int root,
                            ompi_request_t **request)
{
    mca_coll_rdmc_request_t *req = mca_coll_rdmc_request_new(m, what);
    int rc;

    if (req == NULL) {
        return MPI_ERR_NO_MEM;
    }
    rc = start_previous(req, barrier, buf, count, dtype, root, handed_over_done);
    if (rc != MPI_SUCCESS) {
        OBJ_RELEASE(req);
        return rc;
    }
    *request = &req->super;
    return MPI_SUCCESS;
}

/* Under the engine lock: set-up is decided; the queue goes where the
 * outcome says, in issue order. */
void mca_coll_rdmc_flush_queued(mca_coll_rdmc_module_t *m)
{
    while (m->queued != NULL) {
        mca_coll_rdmc_request_t *req = m->queued;
        m->queued = req->next_queued;
        req->next_queued = NULL;
        if (m->state == RDMC_SETUP_READY) {
            issue_to_stream(req);
        } else if (m->state == RDMC_SETUP_DECLINED) {
            issue_to_fallback(req);
        } else {
            on_done(&req->ctx, m->broken_status, "setting up rdmc on this communicator failed");
        }
    }
    m->queued_tail = NULL;
}

void mca_coll_rdmc_request_issue(mca_coll_rdmc_request_t *req)
{
    mca_coll_rdmc_module_t *m = req->module;

    if (req->ctx.dtype != NULL) {
        OMPI_DATATYPE_RETAIN(req->ctx.dtype);
    }
    __atomic_add_fetch(&m->pending, 1, __ATOMIC_RELAXED);
    pthread_mutex_lock(&mca_coll_rdmc_lock);
    if (m->state == RDMC_SETUP_CONNECTING) {
        if (m->queued_tail != NULL) {
            m->queued_tail->next_queued = req;
        } else {
            m->queued = req;
        }
        m->queued_tail = req;
    } else if (m->state == RDMC_SETUP_READY) {
        issue_to_stream(req);
    } else {
        on_done(&req->ctx, m->broken_status,
                "rdmc is off on this communicator after an earlier failure");
    }
    pthread_mutex_unlock(&mca_coll_rdmc_lock);
}

/* The MPI status of a finished request, with its message logged. */
static int outcome(mca_coll_rdmc_request_t *req)
{
    mca_coll_rdmc_module_t *m = req->module;
    int out = mca_coll_rdmc_component.output;
    const char *why = req->stream_error != NULL ? req->stream_error : "aborted";

    if (req->stream_status == -EOWNERDEAD) {
        opal_output_verbose(1, out, "coll:rdmc: %s on %s failed at rank %d: %s", req->what,
                            mca_coll_rdmc_comm_name(m->comm), ompi_comm_rank(m->comm), why);
        return rdmc_error_code(RDMC_PROC_FAILED);
    }
    if (req->stream_status == -ENETUNREACH) {
        opal_output_verbose(0, out, "coll:rdmc: %s on %s failed at rank %d: %s", req->what,
                            mca_coll_rdmc_comm_name(m->comm), ompi_comm_rank(m->comm), why);
        return rdmc_error_code(RDMC_PARTITIONED);
    }
    if (req->stream_status != 0) {
        opal_output_verbose(0, mca_coll_rdmc_component.output,
                            "coll:rdmc: %s on %s failed at rank %d: %s; rdmc is off on this "
                            "communicator from now on",
                            req->what, mca_coll_rdmc_comm_name(m->comm), ompi_comm_rank(m->comm),
                            why);
        return MPI_ERR_OTHER;
    }
    if (req->coll.kind == RDMC_COLL_BARRIER) {
        return MPI_SUCCESS;
    }
    return mca_coll_rdmc_bcast_outcome(req);
}

/* Application thread, without the lock: finish what the stream completed,
 * as MPI requests. */
int mca_coll_rdmc_report_finished(mca_coll_rdmc_module_t *m)
{
    mca_coll_rdmc_request_t *list, *reversed = NULL;
    int count = 0;

    /* The extended API's attribute, before the first request completes:
     * set here, outside the lock, since setting an attribute may run a
     * delete callback that drains. */
    if (!__atomic_load_n(&m->group_attached, __ATOMIC_ACQUIRE) &&
        m->state == RDMC_SETUP_READY &&
        !__atomic_exchange_n(&m->group_attached, true, __ATOMIC_ACQ_REL)) {
        mca_coll_rdmc_group_attach(m);
    }
    if (__atomic_load_n(&m->finished, __ATOMIC_ACQUIRE) == NULL) {
        return 0;
    }
    /* Taken under the lock: on_done links into the list under it. */
    pthread_mutex_lock(&mca_coll_rdmc_lock);
    list = m->finished;
    m->finished = NULL;
    pthread_mutex_unlock(&mca_coll_rdmc_lock);
    /* The list is newest first: report in issue order. */
    while (list != NULL) {
        mca_coll_rdmc_request_t *next = list->next_finished;
        list->next_finished = reversed;
        reversed = list;
        list = next;
    }
    for (mca_coll_rdmc_request_t *req = reversed, *next; req != NULL; req = next, count++) {
        next = req->next_finished;
        mca_coll_rdmc_request_complete(req, outcome(req));
    }
    return count;
}

static int request_free(ompi_request_t **rptr)
{
    mca_coll_rdmc_request_t *req = (mca_coll_rdmc_request_t *)*rptr;

    /* MPI_Wait and MPI_Test free a request in the thread that waited, which
     * may not be the one whose progress completed it and wrote the data.
     * Open MPI's wait saw the completion through its own atomics; this
     * acquire pairs with the release of `finished`, so that the edge is
     * also one ThreadSanitizer sees (libmpi is not instrumented). */
    (void)__atomic_load_n(&req->finished, __ATOMIC_ACQUIRE);
    if (REQUEST_COMPLETE(&req->super)) {
        OBJ_RELEASE(req);
    } else {
        req->user_freed = true;   /* released once it completes */
    }
    *rptr = MPI_REQUEST_NULL;
    return MPI_SUCCESS;
}

/* ---- blocking waits ----------------------------------------------------- */

/* A blocking wait, from one turn to the next. */
typedef struct wait_state {
    double last_mpi_progress;   /* when it last ran Open MPI's progress */
    bool own_core;              /* may poll without yielding (wait_begin) */
    bool polling;               /* it does: no work since window_start */
    double window_start;        /* its first empty poll since the last work */
} wait_state_t;

/* Did polling without yielding pay lately?  The waits in a row whose
 * poll-only window ran out before work came; 0 once work comes within it.
 * Atomic, for the whole process. */
static int polling_misses;
static unsigned polling_probes;   /* atomic: waits that could have tried */

/* A wait may keep its core between polls, for POLL_ONLY_MS from its first
 * empty poll after work, when the node runs no more ranks than it has cores and no other
 * thread of the process waits in rdmc (it would queue for the lock every
 * pass takes): Open MPI's own waits do not yield there either (its
 * mpi_yield_when_idle is on only when oversubscribed).  An empty poll
 * otherwise yields (rdmc_ofi_wait), and each yield costs about 0.5 us on
 * the project's machine, as much as a shared-memory SST hop: at np 2 an
 * 8-byte broadcast through the SST took 1.03-1.51 us with a yield after
 * every empty poll, 0.67-0.69 without (OSU's average over both ranks).
 *
 * Only while that pays: where answers take longer than the window (other
 * nodes, or cores that other processes share: 3 emulated hosts on the 2
 * cores took 128-150 us for small broadcasts through the SST, against
 * 97-132 yielding), after POLL_MISSES_TOLERATED windows in a row ran out
 * the waits yield at once, but for one in POLL_PROBE_EVERY, which tries
 * again.  The progress thread always yields (rdmc_ofi_wait says why). */
static void wait_begin(wait_state_t *w)
{
    int waiting = mca_coll_rdmc_app_waiting(true);

    w->last_mpi_progress = rdmc_now_ms();
    w->own_core = waiting == 1 && !mca_coll_rdmc_node_oversubscribed();
    w->polling = false;
    if (w->own_core &&
        __atomic_load_n(&polling_misses, __ATOMIC_RELAXED) >= POLL_MISSES_TOLERATED) {
        w->own_core =
            __atomic_add_fetch(&polling_probes, 1, __ATOMIC_RELAXED) % POLL_PROBE_EVERY == 0;
    }
}

/* Polling without yielding found work (paid) or ran out of its window. */
static void polling_paid(bool paid)
{
    int misses = __atomic_load_n(&polling_misses, __ATOMIC_RELAXED);

    if (paid ? misses != 0 : misses < POLL_MISSES_TOLERATED) {
        __atomic_store_n(&polling_misses, paid ? 0 : misses + 1, __ATOMIC_RELAXED);
    }
}

static void wait_end(void)
{
    mca_coll_rdmc_app_waiting(false);
}

/* One turn of a blocking wait: a progress pass; when idle, let the rest of
 * MPI progress now and then, and sleep on the endpoints until the next
 * deadline of a link. */
static void wait_turn(wait_state_t *w)
{
    int sleep_ms = WAIT_SLICE_MS;
    double now;

    if (mca_coll_rdmc_progress_pass(true, true, &sleep_ms) > 0) {
        if (w->polling) {
            polling_paid(true);
            w->polling = false;
        }
        return;
    }
    now = rdmc_now_ms();
    if (now - w->last_mpi_progress >= MPI_PROGRESS_INTERVAL_MS) {
        opal_progress();
        w->last_mpi_progress = rdmc_now_ms();
        return;
    }
    if (w->own_core) {
        if (!w->polling) {
            w->polling = true;
            w->window_start = now;
        }
        if (now - w->window_start < POLL_ONLY_MS) {
            return;
        }
        polling_paid(false);
        w->own_core = w->polling = false;   /* for the rest of this wait */
    }
    rdmc_ofi_wait(sleep_ms);
}

int mca_coll_rdmc_request_wait_and_free(mca_coll_rdmc_request_t *req)
{
    wait_state_t w;
    int rc;

    wait_begin(&w);
    while (!REQUEST_COMPLETE(&req->super)) {
        mca_coll_rdmc_report_finished(req->module);
        if (!REQUEST_COMPLETE(&req->super)) {
            wait_turn(&w);
        }
    }
    wait_end();
    mca_coll_rdmc_report_views(req->module);
    mca_coll_rdmc_verdicts_tell_runtime();   /* before the caller can shrink */
    rc = req->super.req_status.MPI_ERROR;
    OBJ_RELEASE(req);
    return rc;
}

static rdmc_setup_state_t state_of(mca_coll_rdmc_module_t *m, bool *opening_p)
{
    rdmc_setup_state_t state;

    pthread_mutex_lock(&mca_coll_rdmc_lock);
    state = m->state;
    *opening_p = m->opening;
    pthread_mutex_unlock(&mca_coll_rdmc_lock);
    return state;
}

/* Set-up under way: wait (a blocking call) until it is decided.  Set-up's
 * messages travel through Open MPI's PML, so its progress runs every turn
 * (and our passes with it, through the callback).  While a thread opens
 * the endpoints, which takes a while, and once set-up has taken longer
 * than SETUP_SPIN_MS (the other ranks are late: reading their input, say),
 * the turns are a millisecond apart, so that the thread has the core and
 * a rank waiting for late ones does not take one. */
void mca_coll_rdmc_setup_wait(mca_coll_rdmc_module_t *m)
{
    const struct timespec nap = { 0, 1000000L };
    double spin_until = rdmc_now_ms() + SETUP_SPIN_MS;
    bool opening;

    while (state_of(m, &opening) == RDMC_SETUP_CONNECTING) {
        opal_progress();
        (void)mca_coll_rdmc_progress_pass(true, true, NULL);
        if (opening || rdmc_now_ms() > spin_until) {
            nanosleep(&nap, NULL);
        } else {
            sched_yield();
        }
    }
}

/* Wait (in this thread) until every collective issued so far has completed
 * here: a blocking call handed to another component must come after them.
 * Local waiting only, so every rank may decide differently to wait. */
void mca_coll_rdmc_drain(mca_coll_rdmc_module_t *m)
{
    wait_state_t w;

    if (__atomic_load_n(&m->pending, __ATOMIC_ACQUIRE) == 0) {
        return;   /* the common case: every small MPI_Bcast and MPI_Barrier */
    }
    wait_begin(&w);
    while (__atomic_load_n(&m->pending, __ATOMIC_ACQUIRE) > 0) {
        if (mca_coll_rdmc_report_finished(m) == 0) {
            wait_turn(&w);
        }
    }
    wait_end();
}

/* ---- MPI_Comm_free with collectives in flight --------------------------- */

/* Asked by the communicator's group (coll_rdmc_group.c) when MPI_Comm_free
 * starts.  Collectives in flight go on (each request holds the
 * communicator); the user's view callback hears no more of it. */
int mca_coll_rdmc_comm_freeing(mca_coll_rdmc_module_t *m)
{
    pthread_mutex_lock(&mca_coll_rdmc_lock);
    m->comm_freed = true;
    pthread_mutex_unlock(&mca_coll_rdmc_lock);
    return MPI_SUCCESS;
}

/* Requests freed while active, completed since.  Their completion may run
 * under the engine lock or in another component's callback, where freeing
 * a communicator (and our module with it) is not safe; they wait here for
 * mca_coll_rdmc_release_freed. */
static mca_coll_rdmc_request_t *released;

void mca_coll_rdmc_request_release_later(mca_coll_rdmc_request_t *req)
{
    req->next_released = __atomic_load_n(&released, __ATOMIC_RELAXED);
    while (!__atomic_compare_exchange_n(&released, &req->next_released, req, true,
                                        __ATOMIC_RELEASE, __ATOMIC_RELAXED)) {
    }
}

void mca_coll_rdmc_release_freed(void)
{
    mca_coll_rdmc_request_t *req;

    if (__atomic_load_n(&released, __ATOMIC_RELAXED) == NULL) {
        return;
    }
    req = __atomic_exchange_n(&released, NULL, __ATOMIC_ACQUIRE);
    while (req != NULL) {
        mca_coll_rdmc_request_t *next = req->next_released;
        OBJ_RELEASE(req);
        req = next;
    }
}

/* ---- the stream's start ------------------------------------------------- */

/* Under the engine lock, once every peer is attached. */
int mca_coll_rdmc_stream_start(mca_coll_rdmc_module_t *m)
{
    mca_coll_rdmc_component_t *c = &mca_coll_rdmc_component;
    mca_coll_rdmc_link_t *l = m->link;
    rdmc_stream_params_t params = {
        .tp = rdmc_ofi_channel_transport(l->channel),
        .sst = l->sst,
        .n = (uint32_t)ompi_comm_size(m->comm),
        .rank = (uint32_t)ompi_comm_rank(m->comm),
        .window = (unsigned)c->window,
        .stable = c->stable_delivery,
        .timeout_ms = mca_coll_rdmc_wait_bound_ms(l->gm != NULL),
        .heartbeat_ms = rdmc_fd_heartbeat_ms(c->heartbeat_ms, l->failure_timeout_ms),
        .gm = l->gm,
        .sends_in_flight = m->sends_in_flight,
        .levels = l->use_levels ? &l->levels : NULL,
        .fail_unsettled = c->ulfm,
    };
    int rc;

    if (l->gm != NULL) {
        rdmc_gm_params_t gm_params = {
            .sst = l->sst,
            .n = (int)params.n,
            .me = (int)params.rank,
            .failure_timeout_ms = l->failure_timeout_ms,
            .heartbeat_ms = params.heartbeat_ms,
            .peer_state = l->peer_pids != NULL ? mca_coll_rdmc_link_peer_state : NULL,
            .peer_state_arg = l,
        };
        rc = rdmc_gm_init(l->gm, &gm_params, rdmc_now_ms());
        if (rc != 0) {
            return rc;
        }
        mca_coll_rdmc_beats_share(l);
    }
    rc = rdmc_stream_init(&l->stream, &params);
    if (rc == 0) {
        l->stream_started = true;
    }
    return rc;
}
