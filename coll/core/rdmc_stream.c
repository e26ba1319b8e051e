/*
 * The stream of collectives on one communicator (rdmc_stream.h).
 *
 * One pass of progress:
 *   1. run the transport's completions (engine callbacks, SST writes);
 *   2. start what the window admits, in seq order;
 *   3. evaluate the SST predicates: a small message arrived, a slot became
 *      free, the stable frontier moved;
 *   4. count what is here contiguously, publish it in our row;
 *   5. complete, in order, what delivery allows;
 *   6. with failure handling, a step of the group manager;
 *   7. the heartbeat (after the step, which decides whether this
 *      communicator carries the process's beats), then push our row.
 */
#include "rdmc_stream.h"
#include "rdmc_log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A small receive looks for its message in other rows (a root mismatch)
 * only after waiting this long, to keep the common pass O(1). */
#define ROOT_SCAN_AFTER_MS 5.0
/* Transport progress calls per pass, so one pass stays short. */
#define PROGRESS_ROUNDS 8
/* The group manager steps this often (more often while a view changes). */
#define GM_STEP_MS 1.0
#define GM_STEP_WEDGED_MS 0.1

static uint64_t bit(uint32_t r)
{
    return UINT64_C(1) << r;
}

/* Heartbeats, suspicions and timeouts all read the stream's clock. */
static double stream_now(const rdmc_stream_t *s)
{
    return s->p.clock_ms != NULL ? s->p.clock_ms() : rdmc_now_ms();
}

static void stream_fail(rdmc_stream_t *s, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void stream_fail(rdmc_stream_t *s, int status, const char *fmt, ...)
{
    va_list ap;

    if (s->error != 0) {
        return;
    }
    s->error = status;
    if (s->p.gm != NULL) {
        rdmc_gm_stop_carrying(s->p.gm);   /* our beats stop here */
    }
    va_start(ap, fmt);
    vsnprintf(s->error_text, sizeof(s->error_text), fmt, ap);
    va_end(ap);
}

/* ---- predicates --------------------------------------------------------- */

/* The oldest collective of a kind in a state, within the window. */
static rdmc_coll_t *oldest(const rdmc_stream_t *s, rdmc_coll_kind_t kind,
                           rdmc_coll_state_t state, bool as_root)
{
    for (rdmc_coll_t *c = s->head; c != NULL; c = c->next) {
        if (c->seq >= s->completed + s->p.window) {
            break;
        }
        if (c->kind == kind && c->state == state && (c->root == s->p.rank) == as_root) {
            return c;
        }
    }
    return NULL;
}

static bool stable_moved(const rdmc_sst_t *sst, void *arg)
{
    const rdmc_stream_t *s = arg;

    return rdmc_sst_min(sst, RDMC_SST_RECEIVED) > s->stable;
}

static void on_stable_moved(rdmc_sst_t *sst, void *arg)
{
    rdmc_stream_t *s = arg;

    s->stable = rdmc_sst_min(sst, RDMC_SST_RECEIVED);
}

static bool small_arrived(const rdmc_sst_t *sst, void *arg)
{
    const rdmc_coll_t *c = oldest(arg, RDMC_COLL_BCAST_SMALL, RDMC_COLL_RUNNING, false);

    return c != NULL && rdmc_sst_get(sst, (int)c->root, RDMC_SST_PUBLISHED) > c->seq;
}

static void start_large(rdmc_stream_t *s, rdmc_coll_t *c);

/* Take the message of c from `member`'s row; false if it isn't there yet.
 * Only the root's row must hold it: elsewhere (looking for a root this rank
 * did not name) a slot holding something else just means "not here". */
static bool take_from(rdmc_stream_t *s, rdmc_coll_t *c, int member, bool must_hold)
{
    const char *error;
    uint32_t len;
    const void *data = rdmc_sst_slot_read(s->p.sst, member, c->seq, &len, &error);

    if (error != NULL && !must_hold) {
        return false;
    }
    if (error != NULL) {
        stream_fail(s, -EPROTO, "small broadcast #%llu from rank %d: %s",
                    (unsigned long long)c->seq, member, error);
        return false;
    }
    if (data == NULL) {
        return false;
    }
    if (len == RDMC_SST_SLOT_ENGINE) {
        /* The root's message is larger than this rank's: join the engine's
         * broadcast, which delivers what fits and reports the truncation. */
        if (!must_hold) {
            return false;
        }
        c->kind = RDMC_COLL_BCAST_LARGE;
        start_large(s, c);
        return true;
    }
    c->actual_root = (uint32_t)member;
    c->hooks.take_small(c->hooks.arg, data, len, (uint32_t)member);
    c->state = RDMC_COLL_RECEIVED;
    s->small_bcasts++;
    return true;
}

static void on_small_arrived(rdmc_sst_t *sst, void *arg)
{
    rdmc_stream_t *s = arg;
    rdmc_coll_t *c;

    (void)sst;
    while ((c = oldest(s, RDMC_COLL_BCAST_SMALL, RDMC_COLL_RUNNING, false)) != NULL &&
           take_from(s, c, (int)c->root, true)) {
    }
}

static bool slot_freed(const rdmc_sst_t *sst, void *arg)
{
    const rdmc_coll_t *c = oldest(arg, RDMC_COLL_BCAST_SMALL, RDMC_COLL_QUEUED, true);

    return c != NULL && rdmc_sst_slot_free(sst, c->seq);
}

static void start_ready(rdmc_stream_t *s);

static void on_slot_freed(rdmc_sst_t *sst, void *arg)
{
    (void)sst;
    start_ready(arg);
}

/* ---- starting ----------------------------------------------------------- */

/* With a group manager, a transfer that failed most likely failed because
 * its peer died or was cut off: suspect the peer and let the view change
 * settle the collective.  Malformed or oversized messages stay fatal. */
static bool left_to_view_change(rdmc_stream_t *s, const rdmc_run_t *op)
{
    if (s->p.gm == NULL || op->status == 0 || op->status == -EPROTO ||
        op->status == -EMSGSIZE) {
        return false;
    }
    rdmc_log(1, "rank %u: %s (%d)", s->p.rank, op->error[0] ? op->error : "a transfer failed",
             op->status);
    (void)rdmc_gm_suspect(s->p.gm, op->error_peer, "a transfer with it failed");
    return true;
}

static void start_large(rdmc_stream_t *s, rdmc_coll_t *c)
{
    int rc;

    c->op = calloc(1, sizeof(*c->op));
    if (c->op == NULL) {
        stream_fail(s, -ENOMEM, "out of memory for broadcast #%llu", (unsigned long long)c->seq);
        return;
    }
    c->large.tp = s->p.tp;
    c->large.n = s->p.n;
    c->large.rank = s->p.rank;
    c->large.root = c->run_root;
    c->large.seq = c->seq;
    c->large.sends_in_flight = s->p.sends_in_flight;
    c->large.epoch = s->epoch;
    c->large.members = c->run_members != NULL   ? c->run_members
                       : s->views_installed != 0 ? s->members
                                                 : NULL;
    c->large.nmembers = c->run_members != NULL ? c->nrun_members : s->nmembers;
    rc = rdmc_run_start(c->op, &c->large, s->p.levels);
    if (rc != 0 && rc == c->op->status && left_to_view_change(s, c->op)) {
        /* E.g. a control message to a peer behind a cut: poll_running sees
         * the failed op, and the next view settles the collective. */
        c->state = RDMC_COLL_RUNNING;
        return;
    }
    if (rc != 0) {
        stream_fail(s, rc, "broadcast #%llu could not start: %s", (unsigned long long)c->seq,
                    c->op->error[0] ? c->op->error : "transport refused");
        return;
    }
    c->state = RDMC_COLL_RUNNING;
}

static bool start_after_view_change(rdmc_stream_t *s, rdmc_coll_t *c);

/* Returns false when c must wait (its slot is still in use). */
static bool start_one(rdmc_stream_t *s, rdmc_coll_t *c)
{
    if (start_after_view_change(s, c)) {
        return true;
    }
    switch (c->kind) {
    case RDMC_COLL_BARRIER:
        c->state = RDMC_COLL_RECEIVED;
        return true;
    case RDMC_COLL_BCAST_SMALL:
        if (c->root != s->p.rank) {
            c->state = RDMC_COLL_RUNNING;
            return true;
        }
        if (!rdmc_sst_slot_free(s->p.sst, c->seq)) {
            return false;
        }
        c->hooks.fill_small(c->hooks.arg, rdmc_sst_slot_buffer(s->p.sst, c->seq), c->nbytes);
        rdmc_sst_publish(s->p.sst, c->seq, (uint32_t)c->nbytes);
        c->state = RDMC_COLL_RECEIVED;
        s->small_bcasts++;
        return true;
    case RDMC_COLL_BCAST_LARGE:
        if (c->root == s->p.rank) {
            /* A marker in our slot tells a member that sized this broadcast
             * for the SST that it comes through the engine. */
            if (!rdmc_sst_slot_free(s->p.sst, c->seq)) {
                return false;
            }
            rdmc_sst_publish(s->p.sst, c->seq, RDMC_SST_SLOT_ENGINE);
        }
        start_large(s, c);
        return true;
    }
    return true;
}

static void start_ready(rdmc_stream_t *s)
{
    if (s->wedged) {
        return;   /* nothing new until the next view is installed */
    }
    for (rdmc_coll_t *c = s->head; c != NULL && s->error == 0; c = c->next) {
        if (c->seq >= s->completed + s->p.window) {
            break;
        }
        if (c->state == RDMC_COLL_QUEUED && !start_one(s, c)) {
            break;   /* later small publishes wait for this one's slot */
        }
    }
}

/* ---- view changes ------------------------------------------------------- */

/* What a collective not yet completed needs after a view change. */
typedef enum plan {
    PLAN_NORMAL,   /* nothing to settle: run it as usual (again) */
    PLAN_HOLD,     /* this rank has it: nothing to move */
    PLAN_FAIL,     /* its root died and no survivor has it (or fail_unsettled) */
    PLAN_SLOT,     /* small, its root survives: take it from the root's slot */
    PLAN_RESEND,   /* on the ragged edge: a survivor that has it sends it */
} plan_t;

static plan_t plan_of(const rdmc_stream_t *s, const rdmc_coll_t *c)
{
    const rdmc_vc_view_t *v = &s->edge;
    bool root_alive = s->root_gone_at[c->root] == UINT64_MAX;
    bool holds;

    if (s->views_installed == 0) {
        return PLAN_NORMAL;
    }
    if (s->p.fail_unsettled) {
        return c->seq < v->low ? PLAN_HOLD : PLAN_FAIL;
    }
    if (c->kind == RDMC_COLL_BARRIER) {
        return PLAN_NORMAL;
    }
    /* Past the trim of the view that removed its root, a broadcast failed
     * wherever it was reached, and counts as received there: a later
     * view's edge shows it held by survivors that hold no message. */
    if (c->seq >= s->root_gone_at[c->root]) {
        return PLAN_FAIL;
    }
    if (c->seq >= v->trim) {
        return root_alive ? PLAN_NORMAL : PLAN_FAIL;
    }
    if (c->seq < v->low) {
        return PLAN_HOLD;
    }
    /* A root has its own message even if its sends were cut short. */
    holds = c->root == s->p.rank || v->edge[s->p.rank] > c->seq;
    if (c->kind == RDMC_COLL_BCAST_SMALL && root_alive) {
        return holds ? PLAN_HOLD : PLAN_SLOT;
    }
    if (holds && rdmc_vc_view_resender(v, c->seq) != (int)s->p.rank) {
        return PLAN_HOLD;
    }
    return PLAN_RESEND;
}

/* The ranks of a re-send: its sender and the members that lack it (every
 * rank computes the same list from the same view). */
static uint32_t resend_members(const rdmc_stream_t *s, const rdmc_coll_t *c, uint32_t sender,
                               uint32_t *list)
{
    uint32_t count = 0;

    for (uint32_t i = 0; i < s->nmembers; i++) {
        uint32_t r = s->members[i];
        bool lacks = r != c->root && s->edge.edge[r] <= c->seq;
        if (r == sender || lacks) {
            list[count++] = r;
        }
    }
    return count;
}

/* A new engine run of c from `sender`, over c->run_members or the view. */
static void run_engine(rdmc_stream_t *s, rdmc_coll_t *c, uint32_t sender)
{
    /* The root already holds the sender's part; everyone else is told. */
    if (c->root != s->p.rank) {
        c->hooks.rerun(c->hooks.arg, &c->large, sender == s->p.rank);
    }
    c->kind = RDMC_COLL_BCAST_LARGE;
    c->run_root = sender;
    start_large(s, c);
}

static void resend(rdmc_stream_t *s, rdmc_coll_t *c)
{
    uint32_t sender = (uint32_t)rdmc_vc_view_resender(&s->edge, c->seq);
    uint32_t *list = malloc(sizeof(*list) * (s->nmembers ? s->nmembers : 1));

    if (list == NULL) {
        stream_fail(s, -ENOMEM, "out of memory re-sending #%llu", (unsigned long long)c->seq);
        return;
    }
    c->nrun_members = resend_members(s, c, sender, list);
    if (c->nrun_members < 2) {
        free(list);   /* nobody lacks it */
        c->nrun_members = 0;
        c->state = RDMC_COLL_RECEIVED;
        return;
    }
    c->run_members = list;
    run_engine(s, c, sender);
}

/* Put c on the path its plan says (NORMAL: as at a first start). */
static void apply_plan(rdmc_stream_t *s, rdmc_coll_t *c, plan_t plan)
{
    switch (plan) {
    case PLAN_HOLD:
        c->state = RDMC_COLL_RECEIVED;
        break;
    case PLAN_FAIL:
        c->status = -EOWNERDEAD;
        c->state = RDMC_COLL_RECEIVED;
        break;
    case PLAN_SLOT:
        if (c->state != RDMC_COLL_RECEIVED) {
            c->state = RDMC_COLL_RUNNING;   /* small_arrived takes it */
        }
        break;
    case PLAN_RESEND:
        resend(s, c);
        break;
    case PLAN_NORMAL:
        if (c->kind == RDMC_COLL_BCAST_LARGE) {
            run_engine(s, c, c->root);
        }
        break;   /* small and barriers: where they were */
    }
}

static bool start_after_view_change(rdmc_stream_t *s, rdmc_coll_t *c)
{
    plan_t plan = plan_of(s, c);

    if (plan == PLAN_NORMAL) {
        return false;
    }
    apply_plan(s, c, plan);
    return true;
}

/* An engine run made moot (by a view change, or because the root sent the
 * message through its slot) is abandoned and kept until it is quiet. */
static void drop_op(rdmc_stream_t *s, rdmc_coll_t *c)
{
    rdmc_dropped_op_t *grown;

    free(c->run_members);
    c->run_members = NULL;
    c->nrun_members = 0;
    if (c->op == NULL) {
        return;
    }
    rdmc_run_abandon(c->op);
    grown = realloc(s->dropped, (s->ndropped + 1) * sizeof(*grown));
    if (grown == NULL) {
        stream_fail(s, -ENOMEM, "out of memory abandoning broadcast #%llu",
                    (unsigned long long)c->seq);
        return;   /* c->op stays: released with the stream */
    }
    s->dropped = grown;
    s->dropped[s->ndropped++] = (rdmc_dropped_op_t){ c->op, c->seq };
    c->op = NULL;
}

static void reap_dropped(rdmc_stream_t *s)
{
    for (unsigned i = 0; i < s->ndropped;) {
        if (rdmc_run_quiet(s->dropped[i].op)) {
            rdmc_run_release(s->dropped[i].op);
            free(s->dropped[i].op);
            s->dropped[i] = s->dropped[--s->ndropped];
        } else {
            i++;
        }
    }
}

/* Could an abandoned run of seq still write into its buffer? */
static bool draining(const rdmc_stream_t *s, uint64_t seq)
{
    for (unsigned i = 0; i < s->ndropped; i++) {
        if (s->dropped[i].seq == seq && !rdmc_run_receives_quiet(s->dropped[i].op)) {
            return true;
        }
    }
    return false;
}

static void count_received(rdmc_stream_t *s);

static void install(rdmc_stream_t *s, const rdmc_vc_view_t *v)
{
    s->epoch = (uint32_t)v->vid;
    s->nmembers = 0;
    for (uint32_t r = 0; r < s->p.n; r++) {
        if (v->members & bit(r)) {
            s->members[s->nmembers++] = r;
        }
    }
    for (uint64_t set = v->failed; set != 0; set &= set - 1) {
        s->root_gone_at[__builtin_ctzll(set)] = v->trim;
    }
    s->edge = *v;
    s->views_installed++;
    s->wedged = false;
    /* What we published when we wedged; anything later is re-examined. */
    s->received = v->edge[s->p.rank];
    for (rdmc_coll_t *c = s->head; c != NULL && s->error == 0; c = c->next) {
        if (c->state == RDMC_COLL_QUEUED) {
            continue;   /* planned when it starts */
        }
        drop_op(s, c);
        apply_plan(s, c, plan_of(s, c));
    }
    count_received(s);
}

static void membership_step(rdmc_stream_t *s, double now)
{
    rdmc_vc_out_t out;

    if (s->p.gm == NULL || s->error != 0 || now < s->next_gm_ms) {
        return;
    }
    rdmc_gm_step(s->p.gm, now, rdmc_sst_get(s->p.sst, (int)s->p.rank, RDMC_SST_RECEIVED), &out);
    switch (out.action) {
    case RDMC_VC_WEDGE:
        rdmc_log(5, "rank %u: view %llu wedged (received %llu)", s->p.rank,
                 (unsigned long long)s->p.gm->vid, (unsigned long long)s->received);
        s->wedged = true;
        break;
    case RDMC_VC_INSTALL:
        rdmc_log(5, "rank %u: view %llu installed: members %#llx, collectives below %llu "
                 "held by every survivor, below %llu by one",
                 s->p.rank, (unsigned long long)out.view.vid,
                 (unsigned long long)out.view.members, (unsigned long long)out.view.low,
                 (unsigned long long)out.view.trim);
        rdmc_gm_installed(s->p.gm, &out.view);
        install(s, &out.view);
        break;
    case RDMC_VC_PARTITIONED:
        stream_fail(s, -ENETUNREACH,
                    "rank %u can no longer reach a majority of view %llu (or was removed "
                    "from it) and stopped",
                    s->p.rank, (unsigned long long)s->p.gm->vid);
        break;
    case RDMC_VC_NONE:
        break;
    }
    s->next_gm_ms = now + (s->wedged ? GM_STEP_WEDGED_MS : GM_STEP_MS);
}

/* ---- receiving and completing ------------------------------------------- */

/* A receiver named a root that publishes nothing: did someone else
 * broadcast this collective as small?  (Then the roots differ.) */
static void look_for_other_root(rdmc_stream_t *s, rdmc_coll_t *c, double now)
{
    if (c->state != RDMC_COLL_RUNNING || now - s->last_event_ms < ROOT_SCAN_AFTER_MS) {
        return;
    }
    for (uint32_t m = 0; m < s->p.n; m++) {
        if (m != c->root && m != s->p.rank && take_from(s, c, (int)m, false)) {
            return;
        }
    }
}

/* A member sized c for the engine, but the root may have sent it through
 * its slot (its message is smaller): then take it from there, and drop the
 * engine run (its header receive is cancelled). */
static void take_small_instead(rdmc_stream_t *s, rdmc_coll_t *c)
{
    const char *error;
    uint32_t len;

    /* A re-send (a run among the members that lack it) is the message,
     * whatever the root's slot holds: its sender may hold it from that
     * slot, and its receivers lack it. */
    if (c->root == s->p.rank || c->run_members != NULL) {
        return;
    }
    if (rdmc_sst_slot_read(s->p.sst, (int)c->root, c->seq, &len, &error) == NULL) {
        if (error != NULL) {
            stream_fail(s, -EPROTO, "broadcast #%llu from rank %u: %s",
                        (unsigned long long)c->seq, c->root, error);
        }
        return;
    }
    if (len == RDMC_SST_SLOT_ENGINE) {
        return;   /* as this rank expected */
    }
    drop_op(s, c);
    c->kind = RDMC_COLL_BCAST_SMALL;
    take_from(s, c, (int)c->root, true);
}

static void poll_running(rdmc_stream_t *s, double now)
{
    for (rdmc_coll_t *c = s->head; c != NULL && s->error == 0; c = c->next) {
        /* A large one whose run a view change abandoned waits for its
         * re-run (or the idle timeout) without an op. */
        if (c->state != RDMC_COLL_RUNNING || (c->kind == RDMC_COLL_BCAST_LARGE && c->op == NULL)) {
            continue;
        }
        if (c->kind == RDMC_COLL_BCAST_LARGE && rdmc_run_test(c->op)) {
            if (left_to_view_change(s, c->op)) {
                continue;
            }
            if (c->op->status != 0) {
                stream_fail(s, c->op->status, "broadcast #%llu: %s", (unsigned long long)c->seq,
                            c->op->error);
                return;
            }
            /* A re-send comes from a survivor on the root's behalf. */
            c->actual_root = c->run_root != c->root ? c->root : rdmc_run_origin(c->op);
            c->received_from = rdmc_run_parent(c->op);
            c->state = RDMC_COLL_RECEIVED;
        } else if (c->kind == RDMC_COLL_BCAST_LARGE) {
            take_small_instead(s, c);
        } else if (c->kind == RDMC_COLL_BCAST_SMALL) {
            look_for_other_root(s, c, now);
        }
    }
}

static void count_received(rdmc_stream_t *s)
{
    uint64_t before = s->received;

    for (rdmc_coll_t *c = s->head; c != NULL && c->seq <= s->received; c = c->next) {
        if (c->seq == s->received && c->state >= RDMC_COLL_RECEIVED) {
            s->received++;
        }
    }
    if (s->received != before && !s->wedged) {
        rdmc_sst_set(s->p.sst, RDMC_SST_RECEIVED, s->received, RDMC_SST_NOTIFY);
        /* Our own row counts too: a rank alone may complete at once. */
        on_stable_moved(s->p.sst, s);
    }
}

static bool may_complete(const rdmc_stream_t *s, const rdmc_coll_t *c)
{
    if (c->state != RDMC_COLL_RECEIVED || draining(s, c->seq)) {
        return false;
    }
    /* ULFM: the view failed it everywhere; a survivor that Open MPI
     * refused it to will never receive it, so do not wait for them. */
    if (s->p.fail_unsettled && c->status != 0) {
        return true;
    }
    if (c->kind == RDMC_COLL_BARRIER || s->p.stable) {
        return s->stable > c->seq;
    }
    return true;
}

static void release_op(rdmc_coll_t *c)
{
    if (c->op != NULL) {
        rdmc_run_release(c->op);
        free(c->op);
        c->op = NULL;
    }
    free(c->run_members);
    c->run_members = NULL;
}

static int complete_in_order(rdmc_stream_t *s)
{
    int completed = 0;

    /* Wedged, this rank's plans are the old view's while members that
     * installed the new one count its failures as received: their rows
     * can make a collective look stable here that the new view fails.
     * The new view settles everything first. */
    if (s->wedged) {
        return 0;
    }

    while (s->head != NULL && may_complete(s, s->head)) {
        rdmc_coll_t *c = s->head;
        s->head = c->next;
        if (s->head == NULL) {
            s->tail = NULL;
        }
        s->completed++;
        c->state = RDMC_COLL_DONE;
        release_op(c);
        if (c->status != 0) {
            char why[96];
            if (s->p.fail_unsettled) {
                snprintf(why, sizeof(why), "a member failed before every survivor had it");
            } else {
                snprintf(why, sizeof(why), "its root (rank %u) failed and no survivor had it",
                         c->root);
            }
            c->hooks.done(c->hooks.arg, c->status, why);
        } else {
            c->hooks.done(c->hooks.arg, 0, NULL);
        }
        completed++;
    }
    if (completed > 0) {
        rdmc_sst_set(s->p.sst, RDMC_SST_DELIVERED, s->completed, RDMC_SST_LAZY);
    }
    return completed;
}

/* ---- the stream --------------------------------------------------------- */

int rdmc_stream_init(rdmc_stream_t *s, const rdmc_stream_params_t *params)
{
    memset(s, 0, sizeof(*s));
    s->p = *params;
    for (int r = 0; r < RDMC_VC_MAX_MEMBERS; r++) {
        s->root_gone_at[r] = UINT64_MAX;
    }
    if (s->p.window == 0) {
        s->p.window = 1;
    }
    s->last_event_ms = stream_now(s);
    s->next_heartbeat_ms = s->last_event_ms;   /* the first beat says we have started */
    s->predicates[0] = rdmc_sst_predicate_add(s->p.sst, RDMC_SST_RECURRENT, small_arrived,
                                              on_small_arrived, s);
    s->predicates[1] = rdmc_sst_predicate_add(s->p.sst, RDMC_SST_RECURRENT, slot_freed,
                                              on_slot_freed, s);
    s->predicates[2] = rdmc_sst_predicate_add(s->p.sst, RDMC_SST_RECURRENT, stable_moved,
                                              on_stable_moved, s);
    for (int i = 0; i < 3; i++) {
        if (s->predicates[i] < 0) {
            return -ENOSPC;
        }
    }
    return 0;
}

void rdmc_stream_abort(rdmc_stream_t *s, int status, const char *why)
{
    stream_fail(s, status, "%s", why);
    for (rdmc_coll_t *c = s->head; c != NULL; c = c->next) {
        drop_op(s, c);
    }
}

bool rdmc_stream_settle(rdmc_stream_t *s, bool stop_waiting)
{
    while (s->head != NULL && (stop_waiting || !draining(s, s->head->seq))) {
        rdmc_coll_t *c = s->head;
        s->head = c->next;
        release_op(c);
        c->state = RDMC_COLL_DONE;
        c->hooks.done(c->hooks.arg, s->error, s->error_text);
    }
    if (s->head == NULL) {
        s->tail = NULL;
    }
    reap_dropped(s);
    return s->head == NULL && s->ndropped == 0;
}

void rdmc_stream_fini(rdmc_stream_t *s)
{
    for (int i = 0; i < 3; i++) {
        rdmc_sst_predicate_remove(s->p.sst, s->predicates[i]);
    }
    /* Whatever is left fails (the transport is closed by now). */
    if (s->head != NULL && s->error == 0) {
        stream_fail(s, -ECANCELED, "the communicator is going away");
    }
    while (s->head != NULL) {
        rdmc_coll_t *c = s->head;
        s->head = c->next;
        release_op(c);
        c->state = RDMC_COLL_DONE;
        c->hooks.done(c->hooks.arg, s->error, s->error_text);
    }
    s->tail = NULL;
    for (unsigned i = 0; i < s->ndropped; i++) {
        rdmc_run_release(s->dropped[i].op);
        free(s->dropped[i].op);
    }
    free(s->dropped);
    s->dropped = NULL;
    s->ndropped = 0;
}

void rdmc_stream_issue(rdmc_stream_t *s, rdmc_coll_t *c)
{
    c->seq = s->next_seq++;
    c->state = RDMC_COLL_QUEUED;
    c->actual_root = c->root;
    c->run_root = c->root;
    c->run_members = NULL;
    c->nrun_members = 0;
    c->status = 0;
    c->received_from = -1;
    c->op = NULL;
    c->next = NULL;
    if (s->tail != NULL) {
        s->tail->next = c;
    } else {
        s->head = c;
    }
    s->tail = c;
    if (s->head == c) {
        s->last_event_ms = stream_now(s);   /* the timeout counts from here */
    }
    if (s->error == 0) {
        start_ready(s);
    }
}

static int run_transport(rdmc_stream_t *s)
{
    int total = 0;

    for (int i = 0; i < PROGRESS_ROUNDS; i++) {
        int rc = s->p.tp->ops->progress(s->p.tp);
        if (rc < 0) {
            stream_fail(s, rc, "transport progress failed (%d)", rc);
            break;
        }
        if (rc == 0) {
            break;
        }
        total += rc;
    }
    return total;
}

/* After the membership step, which may have made this communicator the
 * carrier of a member's beats (group_manager.h): it beats at once. */
static void heartbeat(rdmc_stream_t *s, double now)
{
    if (now < s->next_heartbeat_ms || s->error != 0 ||
        rdmc_sst_get(s->p.sst, (int)s->p.rank, RDMC_SST_HEARTBEAT) == RDMC_SST_LEAVING) {
        return;
    }
    if (now - s->next_heartbeat_ms > 4.0 * s->p.heartbeat_ms) {
        rdmc_log(1, "rank %u: heartbeat %.0f ms late (no progress pass ran meanwhile)",
                 s->p.rank, now - s->next_heartbeat_ms);
    }
    if (s->p.gm == NULL) {
        s->next_heartbeat_ms = now + s->p.heartbeat_ms;
    } else {
        /* Another communicator of this process may carry our beats to
         * every member and watch theirs: then this one only looks at its
         * rows, less often (group_manager.h). */
        s->next_heartbeat_ms = now + rdmc_gm_step_period_ms(s->p.gm);
        if (!rdmc_gm_must_beat(s->p.gm)) {
            return;
        }
    }
    rdmc_sst_set(s->p.sst, RDMC_SST_HEARTBEAT,
                 rdmc_sst_get(s->p.sst, (int)s->p.rank, RDMC_SST_HEARTBEAT) + 1, RDMC_SST_PUSH);
}

/* How far the collectives have come: here (received, completed, blocks of
 * the engine runs under way) and at the members (their received counts,
 * stability).  Heartbeats, view-change rows and the completions of SST
 * writes are not in it: a live member that is late to a collective keeps
 * all of those going, and the timeout must still fire. */
static uint64_t motion_of(const rdmc_stream_t *s)
{
    uint64_t motion = s->received + s->completed + s->stable;

    for (uint32_t m = 0; m < s->p.n; m++) {
        if (rdmc_sst_is_live(s->p.sst, (int)m)) {
            motion += rdmc_sst_get(s->p.sst, (int)m, RDMC_SST_RECEIVED);
        }
    }
    for (const rdmc_coll_t *c = s->head; c != NULL; c = c->next) {
        if (c->op != NULL) {
            motion += rdmc_run_transfers_done(c->op);
        }
    }
    return motion;
}

/* A row that waits to be pushed for several beats (the transport refuses
 * or does not complete our writes) silences us: say so, once a stretch. */
static void note_push_waiting(rdmc_stream_t *s, double now)
{
    if (!rdmc_sst_flush_pending(s->p.sst)) {
        s->push_waiting_ms = 0;
    } else if (s->push_waiting_ms == 0) {
        s->push_waiting_ms = now;
    } else if (now - s->push_waiting_ms > 4.0 * s->p.heartbeat_ms) {
        rdmc_log(1, "rank %u: its SST row has waited %.0f ms to reach every peer", s->p.rank,
                 now - s->push_waiting_ms);
        s->push_waiting_ms = now;
    }
}

int rdmc_stream_progress(rdmc_stream_t *s)
{
    uint64_t completed_before = s->completed, received_before = s->received;
    double now;
    int work;

    if (s->error != 0) {
        return 0;
    }
    work = run_transport(s);
    now = stream_now(s);
    start_ready(s);
    poll_running(s, now);
    work += rdmc_sst_evaluate(s->p.sst);
    count_received(s);
    reap_dropped(s);
    complete_in_order(s);
    membership_step(s, now);
    heartbeat(s, now);
    if (s->error == 0) {
        int rc = rdmc_sst_flush(s->p.sst);
        if (rc != 0) {
            stream_fail(s, rc, "pushing the SST row failed (%d)", rc);
        }
        note_push_waiting(s, now);
    }
    /* A view change may move received back (to what this rank had when it
     * wedged): that is not work, and must not make the sum negative. */
    work += (int)(s->completed - completed_before);
    if (s->received > received_before) {
        work += (int)(s->received - received_before);
    }
    uint64_t motion = s->head != NULL ? motion_of(s) : 0;
    if (s->head == NULL || motion != s->motion) {
        s->motion = motion;
        s->last_event_ms = now;
    } else if (now - s->last_event_ms > s->p.timeout_ms) {
        stream_fail(s, -ETIMEDOUT,
                    "collective #%llu (root %u) made no progress for %d ms (every member has "
                    "received collectives up to #%lld)",
                    (unsigned long long)s->head->seq, s->head->root, s->p.timeout_ms,
                    (long long)s->stable - 1);
    }
    return work;
}

bool rdmc_stream_leave(rdmc_stream_t *s)
{
    rdmc_sst_t *sst = s->p.sst;
    bool all_left = true;

    if (rdmc_sst_get(sst, (int)s->p.rank, RDMC_SST_HEARTBEAT) != RDMC_SST_LEAVING) {
        rdmc_sst_set(sst, RDMC_SST_HEARTBEAT, RDMC_SST_LEAVING, RDMC_SST_NOTIFY);
        if (s->p.gm != NULL) {
            rdmc_gm_stop_carrying(s->p.gm);   /* another communicator beats for us */
        }
    }
    run_transport(s);
    /* No group manager steps any more: nothing may follow our LEAVING into
     * a peer's table, which the peer frees once it has every member's (a
     * write into a table that is gone can break the connection the peers'
     * other communicators share).  A member that died meanwhile counts as
     * left once a write to it failed; otherwise the caller's deadline
     * ends the wait. */
    if (s->error != 0) {
        return true;   /* partitioned: nobody will wait for us */
    }
    if (rdmc_sst_flush(sst) != 0) {
        return true;   /* nothing more can be written anyway */
    }
    for (uint32_t m = 0; m < s->p.n; m++) {
        all_left = all_left && (!rdmc_sst_is_live(sst, (int)m) ||
                                rdmc_sst_peer_failed(sst, (int)m) ||
                                rdmc_sst_get(sst, (int)m, RDMC_SST_HEARTBEAT) == RDMC_SST_LEAVING);
    }
    return all_left && !rdmc_sst_flush_pending(sst);
}

bool rdmc_stream_busy(const rdmc_stream_t *s)
{
    return s->head != NULL;
}

double rdmc_stream_still_ms(const rdmc_stream_t *s, double now_ms)
{
    return s->head != NULL && s->error == 0 ? now_ms - s->last_event_ms : 0;
}

int rdmc_stream_sleep_ms(const rdmc_stream_t *s, int cap_ms)
{
    double now = stream_now(s);
    double until = s->next_heartbeat_ms - now;

    if (s->head != NULL) {
        double timeout_in = s->last_event_ms + s->p.timeout_ms - now;
        until = timeout_in < until ? timeout_in : until;
    }
    if (s->p.gm != NULL) {
        double suspect_in = rdmc_gm_next_deadline_ms(s->p.gm) - now;
        double step_in = s->wedged ? s->next_gm_ms - now : until;
        until = suspect_in < until ? suspect_in : until;
        until = step_in < until ? step_in : until;
    }
    if (until < 0) {
        return 0;
    }
    return until < cap_ms ? (int)until : cap_ms;
}
