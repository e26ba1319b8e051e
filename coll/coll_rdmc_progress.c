/*
 * The process-wide progress driver.
 *
 * One lock (mca_coll_rdmc_lock) guards every link (channel, SST, stream,
 * group manager) and every endpoint's completions.  One pass
 * (mca_coll_rdmc_progress_pass) runs the endpoints' completion queues once
 * and then every link that has something to do: set-up messages to look
 * at, collectives in flight, heartbeats under failure handling, a retiring
 * link waiting for its peers.  Three callers run the same pass:
 *
 *   - opal_progress, through our callback, in any application thread that
 *     is inside MPI; it never waits for the lock (someone else is making
 *     progress then);
 *   - a blocking rdmc call (MPI_Bcast, MPI_Barrier, a drain), in its own
 *     wait loop;
 *   - one progress thread for the whole process, so that collectives move
 *     and heartbeats go out while the application computes.  It stands
 *     back while an application thread waits in a blocking rdmc call, so
 *     two sleepers never compete for the same wake-ups.
 *
 * Only application threads touch MPI: set-up messages (point-to-point)
 * and MPI request completion happen in passes they run.  The number of
 * threads, endpoints and callbacks is the same for one communicator or
 * ten thousand.
 */
#include "coll_rdmc.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "opal/runtime/opal_progress.h"
#include "opal/util/output.h"

/* Longest sleep of the progress thread: a link's own deadlines (heartbeat,
 * timeout) are usually shorter. */
#define IDLE_SLEEP_MAX_MS 100
/* While an application thread drives progress itself. */
#define STAND_BACK_MS 1
/* MPI_Finalize waits this long at most for the peers of freed
 * communicators to leave them.  Closing sooner harms nobody: every peer is
 * leaving too, and a write that finds our table gone only ends its own
 * leaving. */
#define FINALIZE_WAIT_MS 2000
/* A broken link's collectives fail once nothing can land in their buffers
 * any more, or this long after the break: a receive matched to a message
 * from a peer that stopped answering (cut off, dead) cannot be cancelled,
 * and the provider may hold it until TCP gives up, minutes later. */
#define SETTLE_WAIT_MS 1000
/* An idle link under failure handling runs on a grid of this period
 * (link_schedule): its deadlines are rounded up to it, so that all idle
 * links run in the same passes.  While the process is on alert (below) it
 * also reads its peers' rows at least every other grid point. */
#define IDLE_LINK_MS 10
/* How often a pass looks whether processes of this node we share
 * communicators with exited (one poll() of their pidfds). */
#define EXIT_LOOK_MS 5
/* Longest time an idle link under failure handling goes without a pass
 * when nothing else bounds it (its heartbeat always does). */
#define QUIET_LINK_MAX_MS 1000
/* A retiring link waits for its peers to free the communicator too.  Most
 * do within milliseconds (a library's dup -> use -> free), and the link
 * looks at every pass for RETIRE_EAGER_MS, so that links do not pile up;
 * a peer may also take as long as coll_rdmc_timeout_ms, and then the link
 * looks every RETIRE_LOOK_MS: every pass, 1000 such links took 20% of a
 * core while the process slept. */
#define RETIRE_EAGER_MS 50
#define RETIRE_LOOK_MS 100
/* Grid points the wheel of idle links holds: more than QUIET_LINK_MAX_MS
 * ahead, so that a lap never mixes two times. */
#define WHEEL_SLOTS 128

pthread_mutex_t mca_coll_rdmc_lock = PTHREAD_MUTEX_INITIALIZER;

/* The links the driver runs: those that need every pass; the idle ones
 * (link_schedule), which run at their own times only, in a wheel by the
 * grid point of that time, so that a pass looks only at the idle links
 * that are due; and the parked ones, idle until a collective is issued. */
static mca_coll_rdmc_link_t *links;
static mca_coll_rdmc_link_t *wheel[WHEEL_SLOTS];
static mca_coll_rdmc_link_t *parked;
static double wheel_served_ms;            /* the wheel's grid points up to here are served */
static double quiet_wake_ms = HUGE_VAL;   /* no idle link needs a pass before */
static bool alert_raised;                 /* raise_alert since the last pass */
static int nlinks;                        /* atomic: on every list */
static bool callback_registered;
static pthread_t thread;
static bool thread_running;
static int thread_stop;                   /* atomic */
static int app_waiting;                   /* atomic: threads in a blocking rdmc wait */
static mca_coll_rdmc_module_t *to_report; /* modules with news for MPI (retained) */
/* Until when idle links under failure handling run every IDLE_LINK_MS:
 * a failure timeout after any link of the process last suspected a member
 * or was in a view change (link_schedule). */
static double alert_until_ms;
/* The exits seen (rdmc_shm_exits_look) at the last look, and when. */
static uint64_t exits_seen;
static double exits_looked_ms;
/* The last pass found every link parked (none busy, none idle with a time
 * in the wheel): the progress thread then sleeps until a peer wakes it
 * rather than in the short slices that serve a collective under way (a
 * rank's 1000 wake-ups a second took 1.1% of a core, 4% with two
 * endpoints, while its application computed).  Whoever gives a link a
 * time again clears it and wakes the thread (unpark).  Atomic. */
static bool all_parked;
/* Has a pass in an application thread anything to do: a link that needs
 * every pass (set-up, a collective in flight) or news for MPI?  Set under
 * the lock as either appears, recomputed at the end of every pass; read
 * without the lock by opal_progress's callback, which otherwise returns at
 * once.  Open MPI runs that callback in every turn of every wait, also for
 * point-to-point: a full pass there took 8-byte ping-pongs from 0.14 to
 * 0.30 us a hop while every communicator was idle.  Idle links under
 * failure handling run on the progress thread's deadlines.  Atomic. */
static bool app_pass_wanted;

/* ---- the lists ---------------------------------------------------------- */

/* The first point of the IDLE_LINK_MS grid at or after t. */
static double next_grid_ms(double t)
{
    return ceil(t / IDLE_LINK_MS) * IDLE_LINK_MS;
}

static mca_coll_rdmc_link_t **wheel_slot(double grid_ms)
{
    return &wheel[(uint64_t)(grid_ms / IDLE_LINK_MS) % WHEEL_SLOTS];
}

/* An idle link's time in the wheel: a grid point not yet served. */
static double wheel_time_ms(double until_ms)
{
    return fmax(next_grid_ms(until_ms), wheel_served_ms + IDLE_LINK_MS);
}

/* What quiet_until_ms holds for a link that needs no pass before
 * until_ms: 0 (every pass), HUGE_VAL (parked) or its wheel time. */
static double quiet_time_ms(double until_ms)
{
    return until_ms > 0 && !isinf(until_ms) ? wheel_time_ms(until_ms) : until_ms;
}

static mca_coll_rdmc_link_t **list_for(double quiet_ms)
{
    if (quiet_ms <= 0) {
        return &links;
    }
    return isinf(quiet_ms) ? &parked : wheel_slot(quiet_ms);
}

static mca_coll_rdmc_link_t **list_of(const mca_coll_rdmc_link_t *l)
{
    return list_for(l->quiet_until_ms);
}

static void list_insert(mca_coll_rdmc_link_t *l)
{
    mca_coll_rdmc_link_t **head = list_of(l);

    l->prev = NULL;
    l->next = *head;
    if (*head != NULL) {
        (*head)->prev = l;
    }
    *head = l;
}

static void list_remove(mca_coll_rdmc_link_t *l)
{
    if (l->prev != NULL) {
        l->prev->next = l->next;
    } else {
        *list_of(l) = l->next;
    }
    if (l->next != NULL) {
        l->next->prev = l->prev;
    }
    l->prev = l->next = NULL;
}

static bool still_parked(void)
{
    return __atomic_load_n(&all_parked, __ATOMIC_SEQ_CST);
}

static void unpark(void)
{
    if (__atomic_exchange_n(&all_parked, false, __ATOMIC_SEQ_CST)) {
        rdmc_ofi_wake_parked();
    }
}

/* A link on no list goes on the one for quiet_ms (quiet_time_ms). */
static void list_put(mca_coll_rdmc_link_t *l, double quiet_ms)
{
    l->quiet_until_ms = quiet_ms;
    list_insert(l);
    if (quiet_ms <= 0) {
        __atomic_store_n(&app_pass_wanted, true, __ATOMIC_RELAXED);
    }
    if (quiet_ms > 0) {
        quiet_wake_ms = fmin(quiet_wake_ms, quiet_ms);
    }
    if (!isinf(quiet_ms)) {
        unpark();
    }
}

void mca_coll_rdmc_link_add(mca_coll_rdmc_link_t *l)
{
    list_put(l, 0);
    __atomic_add_fetch(&nlinks, 1, __ATOMIC_RELAXED);
}

void mca_coll_rdmc_link_unlist(mca_coll_rdmc_link_t *l)
{
    list_remove(l);
    __atomic_sub_fetch(&nlinks, 1, __ATOMIC_RELAXED);
}

/* Under the lock: the link needs no pass before until_ms (0: every pass),
 * and moves to the list that says so.  A link that stays on its list
 * (a busy one, every pass) is not moved: quiet_wake_ms already covers
 * its wheel slot. */
void mca_coll_rdmc_link_quiet_until(mca_coll_rdmc_link_t *l, double until_ms)
{
    double quiet_ms = quiet_time_ms(until_ms);

    if (list_for(quiet_ms) == list_of(l)) {
        l->quiet_until_ms = quiet_ms;
        return;
    }
    list_remove(l);
    list_put(l, quiet_ms);
}

/* Move every link of *list onto the chain *taken (through next). */
static void take_all(mca_coll_rdmc_link_t **list, mca_coll_rdmc_link_t **taken)
{
    while (*list != NULL) {
        mca_coll_rdmc_link_t *l = *list;
        list_remove(l);
        l->next = *taken;
        *taken = l;
    }
}

/* Under the lock: every idle link (in the wheel; parked too if asked)
 * becomes one that needs every pass, or due now if `now` is given. */
static void wake_idle_links(bool parked_too, double now)
{
    mca_coll_rdmc_link_t *woken = NULL;

    for (int slot = 0; slot < WHEEL_SLOTS; slot++) {
        take_all(&wheel[slot], &woken);
    }
    if (parked_too) {
        take_all(&parked, &woken);
    }
    while (woken != NULL) {
        mca_coll_rdmc_link_t *l = woken;
        woken = l->next;
        list_put(l, quiet_time_ms(now));
    }
}

/* Under the lock: the module has finished requests or a new view for MPI;
 * the next pass in an application thread reports them.  No reference is
 * taken here: this may run in the progress thread, and Open MPI's
 * reference counts are atomic only under MPI_THREAD_MULTIPLE.  A module
 * that goes away leaves the queue instead (mca_coll_rdmc_report_forget). */
void mca_coll_rdmc_report_later(mca_coll_rdmc_module_t *m)
{
    if (m->report_queued) {
        return;
    }
    m->report_queued = true;
    m->next_report = to_report;
    to_report = m;
    __atomic_store_n(&app_pass_wanted, true, __ATOMIC_RELAXED);
}

/* Under the lock: the module is being destroyed. */
void mca_coll_rdmc_report_forget(mca_coll_rdmc_module_t *m)
{
    mca_coll_rdmc_module_t **link = &to_report;

    if (!m->report_queued) {
        return;
    }
    while (*link != m) {
        link = &(*link)->next_report;
    }
    *link = m->next_report;
    m->report_queued = false;
}

/* ---- one link ----------------------------------------------------------- */

/* A link of this process suspects a member or changes its view.  A
 * failure usually touches every communicator its process belongs to, and
 * on each the peers wait for this rank's answer to their proposals: for
 * the next for_ms (the link's failure timeout) every idle link reads its
 * peers' rows on the IDLE_LINK_MS grid, from the next pass on
 * (pass_locked). */
static void raise_alert(double now, int for_ms)
{
    if (now >= alert_until_ms) {
        alert_raised = true;
        quiet_wake_ms = now;
    }
    if (now + for_ms > alert_until_ms) {
        alert_until_ms = now + for_ms;
    }
}

/* Under ULFM, Open MPI's runtime hears of a dead process within
 * milliseconds (its daemon sees the exit), and of one another
 * communicator of ours removed (coll_rdmc_verdicts.c tells it): suspect
 * it at once rather than after coll_rdmc_failure_timeout_ms of silence. */
static void take_runtime_failures(mca_coll_rdmc_link_t *l)
{
    ompi_communicator_t *comm;

    if (l->module == NULL || !mca_coll_rdmc_component.ulfm) {
        return;
    }
    comm = l->module->comm;
    if (!rdmc_runtime_saw_failures(comm)) {
        return;
    }
    for (int r = 0; r < ompi_comm_size(comm); r++) {
        uint64_t bit = UINT64_C(1) << r;
        bool watched = (l->gm->members & bit) && !(l->gm->fd.suspected & bit);
        if (watched && rdmc_runtime_says_dead(comm, r)) {
            (void)rdmc_gm_suspect(l->gm, r, "Open MPI counts its process failed");
        }
    }
}

/* A member's process on this node exited (the kernel told: pidfds,
 * look_for_exits): suspect it now rather than after a quarter of the
 * failure timeout of silence. */
static void take_exits(mca_coll_rdmc_link_t *l)
{
    if (l->exits_taken == exits_seen) {
        return;
    }
    l->exits_taken = exits_seen;
    for (uint64_t set = l->exits_watched & l->gm->members; set != 0; set &= set - 1) {
        int r = __builtin_ctzll(set);
        if (rdmc_shm_exited(l->peer_pids[r])) {
            (void)rdmc_gm_peer_exited(l->gm, r);
        }
    }
}

/* Every EXIT_LOOK_MS at most: a process exited since the last look has
 * every idle link run at the next pass, each suspecting it (take_exits).
 * Not in this one: links busy with collectives take it first (with 500
 * idle communicators beside one busy one, running them all in the pass
 * of the news delayed the busy one's new view from 30-41 to 50-71 ms). */
static void look_for_exits(double now)
{
    uint64_t seen;

    if (now - exits_looked_ms < EXIT_LOOK_MS) {
        return;
    }
    exits_looked_ms = now;
    seen = rdmc_shm_exits_look();
    if (seen != exits_seen) {
        exits_seen = seen;
        raise_alert(now, IDLE_LINK_MS);
    }
}

/* Run a ready link's stream once; returns the work done. */
static int link_progress(mca_coll_rdmc_link_t *l)
{
    mca_coll_rdmc_component_t *c = &mca_coll_rdmc_component;
    int work;

    if (l->gm != NULL) {
        take_runtime_failures(l);
        take_exits(l);
        mca_coll_rdmc_verdicts_apply(l);
    }
    work = rdmc_stream_progress(&l->stream);
    if (l->gm != NULL && mca_coll_rdmc_verdicts_publish(l)) {
        /* The other links with that process learn of it at their next
         * pass: have every idle one run at the next one. */
        raise_alert(rdmc_now_ms(), IDLE_LINK_MS);
    }
    uint64_t writes = rdmc_sst_writes(l->sst);

    if (writes != l->sst_writes_counted) {
        mca_coll_rdmc_count(&c->pvar_sst_writes, writes - l->sst_writes_counted);
        l->sst_writes_counted = writes;
    }
    return work;
}

/* The stream broke: fail everything in flight (as soon as nothing can land
 * in its buffers, or SETTLE_WAIT_MS later), refuse further use of rdmc on
 * the communicator. */
static void link_break(mca_coll_rdmc_link_t *l)
{
    mca_coll_rdmc_module_t *m = l->module;

    l->broken_ms = rdmc_now_ms();
    rdmc_stream_abort(&l->stream, l->stream.error, "");
    if (m != NULL && m->state == RDMC_SETUP_READY) {
        m->state = RDMC_SETUP_BROKEN;
        m->broken_status = l->stream.error;
    }
}

static bool link_busy(const mca_coll_rdmc_link_t *l);

/* Does the link suspect one of its members, or is it in a view change? */
static bool link_in_change(const mca_coll_rdmc_link_t *l)
{
    return l->stream.wedged || (l->gm->fd.suspected & l->gm->members) != 0;
}

/* Under the lock, after a link ran: when it needs its next pass.  One
 * with anything in flight needs every pass.  An idle one without failure
 * handling waits for a collective (issuing one runs it); under failure
 * handling it beats, watches its peers and answers their view changes, so
 * it runs at its own deadlines (its next heartbeat, its detector's next
 * verdict), rounded up to the grid of IDLE_LINK_MS, and every
 * IDLE_LINK_MS while the process is on alert (raise_alert).  A view
 * change's rounds then wait for grid points: an idle group of 4 moves on
 * 20-55 ms after a kill.  Running links in a change every pass (or, with
 * the SST in shared memory, those whose table a ring was for) made that
 * 9-12 ms but, with 500 idle communicators beside a busy one, delayed the
 * busy one's new view (30-41 ms to 50-66) or the idle ones' (316-329 ms
 * to 344-369): with many links the cores, not the grid, are the limit.  When every
 * pass ran every link, each cost a few tenths of a microsecond per
 * communicator: 500 communicators that had once run an MPI_Ibarrier
 * slowed a small MPI_Bcast on another from 7 to 82 us at np 4 (from 76 to
 * 1272 us under failure handling); when idle links under failure handling
 * ran every IDLE_LINK_MS, 500 of them took 10% of a core per rank at np 4
 * while the ranks slept. */
static void link_schedule(mca_coll_rdmc_link_t *l)
{
    if (l->gm != NULL && link_in_change(l)) {
        raise_alert(rdmc_now_ms(), l->failure_timeout_ms);
    }
    if (link_busy(l)) {
        mca_coll_rdmc_link_quiet_until(l, 0);
    } else if (l->gm != NULL) {
        double now = rdmc_now_ms();
        int cap_ms = now < alert_until_ms ? IDLE_LINK_MS : QUIET_LINK_MAX_MS;
        mca_coll_rdmc_link_quiet_until(l, next_grid_ms(now + rdmc_stream_sleep_ms(&l->stream,
                                                                                  cap_ms)));
    } else {
        mca_coll_rdmc_link_quiet_until(l, HUGE_VAL);
    }
}

/* How long the progress thread may sleep, at most cap_ms, for the sake of
 * a link that needs every pass: until its stream's next deadline. */
static int link_sleep_ms(const mca_coll_rdmc_link_t *l, int cap_ms)
{
    return l->stream.error == 0 ? rdmc_stream_sleep_ms(&l->stream, cap_ms) : cap_ms;
}

/* The same for the quiet links: until the first of them is due. */
static int quiet_sleep_ms(double now, int cap_ms)
{
    double until = ceil(quiet_wake_ms - now);

    if (until <= 0) {
        return 0;
    }
    return until < cap_ms ? (int)until : cap_ms;
}

/* Under the lock: run a ready link once (and a broken one's settling). */
int mca_coll_rdmc_link_run(mca_coll_rdmc_link_t *l)
{
    int work = 0;

    if (l->stream.error == 0) {
        work = link_progress(l);
        if (l->stream.error != 0) {
            link_break(l);
            work = 1;
        }
    }
    if (l->stream.error != 0) {
        (void)rdmc_stream_settle(&l->stream, rdmc_now_ms() - l->broken_ms > SETTLE_WAIT_MS);
    }
    link_schedule(l);
    return work;
}

/* Does a ready link need every pass?  Collectives in flight, a row still
 * to push (a rank that completed everything may still owe its peers the
 * write that lets them go on), abandoned runs to reap, a break to settle. */
static bool link_busy(const mca_coll_rdmc_link_t *l)
{
    const mca_coll_rdmc_module_t *m = l->module;

    return l->stream.error != 0 || rdmc_stream_busy(&l->stream) ||
           l->stream.ndropped > 0 || rdmc_sst_flush_pending(l->sst) ||
           (m != NULL && __atomic_load_n(&m->pending, __ATOMIC_RELAXED) > 0);
}

/* Cancel the receives of the link's channels (the main one, and the one
 * inside its node); true once nothing they posted is in flight. */
static bool link_quiesce(mca_coll_rdmc_link_t *l)
{
    bool quiet = rdmc_ofi_channel_quiesce(l->channel);

    if (l->local_channel != NULL) {
        quiet = rdmc_ofi_channel_quiesce(l->local_channel) && quiet;
    }
    return quiet;
}

/* A retiring link: leave (every member announces it and waits for the
 * others, so nobody writes into a table that is gone), then wait for what
 * its channel still has posted; free it once both are done.  Past its
 * deadline it stops waiting for peers; what is posted is never freed
 * under the provider's feet (kept until the endpoint closes). */
static bool retire_step(mca_coll_rdmc_link_t *l, double now)
{
    bool left = l->stream.error != 0 || rdmc_stream_leave(&l->stream) ||
                now > l->retire_deadline_ms;

    if (!left) {
        return false;
    }
    if (l->stream.error == 0) {
        rdmc_stream_abort(&l->stream, -ECANCELED, "the communicator was freed");
    }
    bool settled = rdmc_stream_settle(&l->stream, true);   /* nobody waits for these */
    bool quiet = link_quiesce(l);
    if (settled && quiet) {
        mca_coll_rdmc_link_free(l);
        return true;
    }
    if (now > l->retire_deadline_ms + mca_coll_rdmc_component.timeout_ms) {
        opal_output_verbose(1, mca_coll_rdmc_component.output,
                            "coll:rdmc: %s: %zu operation(s) of a freed communicator never "
                            "finished; their memory is kept until MPI_Finalize",
                            l->name,
                            rdmc_ofi_channel_in_flight(l->channel) +
                                (l->local_channel != NULL
                                     ? rdmc_ofi_channel_in_flight(l->local_channel)
                                     : 0));
        l->retire_deadline_ms = HUGE_VAL;   /* said once: kept for finalize */
    }
    return false;
}

/* ---- the pass ----------------------------------------------------------- */

/* One link's turn in a pass: set-up, its stream, or its retirement. */
static int visit(mca_coll_rdmc_link_t *l, double now, bool app_thread, int *sleep_ms)
{
    mca_coll_rdmc_module_t *m = l->module;
    int work = 0;

    if (m == NULL) {
        if (retire_step(l, now)) {
            return 1;   /* freed */
        }
        if (now - l->retire_began_ms > RETIRE_EAGER_MS) {
            mca_coll_rdmc_link_quiet_until(l, now + RETIRE_LOOK_MS);
        }
    } else if (m->state == RDMC_SETUP_CONNECTING) {
        work = app_thread ? mca_coll_rdmc_setup_progress(m) : 0;
    } else if (m->state == RDMC_SETUP_READY || l->stream.error != 0) {
        work = mca_coll_rdmc_link_run(l);
        if (l->stream.error == 0) {
            mca_coll_rdmc_stall_check_link(l, now);
        }
        if (l->quiet_until_ms == 0) {
            *sleep_ms = link_sleep_ms(l, *sleep_ms);
        }
        if (m->link == l && l->stream_started &&
            m->views_reported != l->stream.views_installed) {
            mca_coll_rdmc_report_later(m);
        }
    }
    return work;
}

/* The idle links of one grid point that are due (a link of a later lap
 * stays); each goes back into the wheel with its next time, or to the
 * links that need every pass if it has work. */
static int visit_slot(mca_coll_rdmc_link_t **slot, double now, bool app_thread, int *sleep_ms)
{
    int work = 0;

    for (mca_coll_rdmc_link_t *l = *slot, *next; l != NULL; l = next) {
        next = l->next;
        if (l->quiet_until_ms <= now) {
            work += visit(l, now, app_thread, sleep_ms);
        }
    }
    return work;
}

/* The idle links whose time has come: the wheel's grid points from the
 * last served one to now (every slot once after a long stop). */
static int visit_due_quiet(double now, bool app_thread, int *sleep_ms)
{
    double first = wheel_served_ms + IDLE_LINK_MS, last = floor(now / IDLE_LINK_MS) * IDLE_LINK_MS;
    int work = 0;

    if (now < quiet_wake_ms) {
        return 0;
    }
    if (last - first >= WHEEL_SLOTS * IDLE_LINK_MS) {
        first = last - (WHEEL_SLOTS - 1) * IDLE_LINK_MS;
    }
    wheel_served_ms = last;   /* the links visited go back after it */
    for (double t = first; t <= last; t += IDLE_LINK_MS) {
        work += visit_slot(wheel_slot(t), now, app_thread, sleep_ms);
    }
    /* The next grid point with an idle link on it (perhaps of a later
     * lap: then one pass finds nothing due). */
    quiet_wake_ms = HUGE_VAL;
    for (int i = 1; i <= WHEEL_SLOTS; i++) {
        double t = last + i * IDLE_LINK_MS;
        if (*wheel_slot(t) != NULL) {
            quiet_wake_ms = t;
            break;
        }
    }
    return work;
}

static int pass_locked(bool app_thread, int *sleep_ms_p)
{
    double now = rdmc_now_ms();
    int work = 0, sleep_ms = *sleep_ms_p;
    int rc;

    /* Rings of the shared-memory SST's bell from here on are the next
     * pass's work: a sleep armed after this pass sees them. */
    rdmc_shm_bell_mark();
    look_for_exits(now);
    if (alert_raised) {
        /* Every idle link that watches its peers is due at the next grid
         * point (and then runs on the alert's grid). */
        alert_raised = false;
        wake_idle_links(false, now);
    }
    rc = rdmc_ofi_progress();

    work += rc > 0 ? rc : 0;
    for (mca_coll_rdmc_link_t *l = links, *next; l != NULL; l = next) {
        next = l->next;
        work += visit(l, now, app_thread, &sleep_ms);
    }
    work += visit_due_quiet(now, app_thread, &sleep_ms);
    *sleep_ms_p = quiet_sleep_ms(now, sleep_ms);
    bool parked = links == NULL && isinf(quiet_wake_ms);
    if (parked != __atomic_load_n(&all_parked, __ATOMIC_RELAXED)) {
        /* A full fence only when it changes: passes run in every spin of
         * an application thread's MPI_Wait too. */
        __atomic_store_n(&all_parked, parked, __ATOMIC_SEQ_CST);
    }
    return work;
}

/* A reference to m unless its last one is gone.  Under
 * MPI_THREAD_MULTIPLE another application thread's MPI_Comm_free may have
 * dropped it already, its destructor not yet at the lock: a plain retain
 * would bring the module back, and both threads would destroy it. */
static bool retain_unless_dying(mca_coll_rdmc_module_t *m)
{
    opal_object_t *obj = &m->super.super;
    int32_t seen = __atomic_load_n(&obj->obj_reference_count, __ATOMIC_ACQUIRE);

    while (seen > 0) {
        if (__atomic_compare_exchange_n(&obj->obj_reference_count, &seen, seen + 1, false,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            return true;
        }
    }
    return false;
}

/* Under the lock, in an application thread: take the report queue, each
 * module retained until reported.  A module being destroyed stays queued:
 * its destructor takes it out (mca_coll_rdmc_report_forget). */
static mca_coll_rdmc_module_t **take_reports(size_t *count_p)
{
    mca_coll_rdmc_module_t **all;
    mca_coll_rdmc_module_t **rest = &to_report;
    size_t count = 0;

    for (mca_coll_rdmc_module_t *m = to_report; m != NULL; m = m->next_report) {
        count++;
    }
    if (count == 0 || (all = malloc(count * sizeof(*all))) == NULL) {
        return NULL;   /* nothing, or no memory now: the next pass */
    }
    count = 0;
    while (*rest != NULL) {
        mca_coll_rdmc_module_t *m = *rest;
        if (!retain_unless_dying(m)) {
            rest = &m->next_report;
            continue;
        }
        *rest = m->next_report;
        m->report_queued = false;
        all[count++] = m;
    }
    if (count == 0) {
        free(all);
        return NULL;
    }
    *count_p = count;
    return all;
}

/* Outside the lock: complete finished requests as MPI requests, and tell
 * one view callback (it may free communicators). */
static int report(mca_coll_rdmc_module_t **all, size_t count)
{
    int done = 0;
    bool views_told = false;

    for (size_t i = 0; i < count; i++) {
        done += mca_coll_rdmc_report_finished(all[i]);
        if (!views_told) {
            views_told = mca_coll_rdmc_report_views(all[i]);
        }
    }
    for (size_t i = 0; i < count; i++) {
        OBJ_RELEASE(all[i]);
    }
    free(all);
    return done;
}

int mca_coll_rdmc_progress_pass(bool app_thread, bool wait_for_lock, int *sleep_ms_p)
{
    mca_coll_rdmc_module_t **reporting = NULL;
    size_t nreporting = 0;
    int sleep_ms = sleep_ms_p != NULL ? *sleep_ms_p : IDLE_SLEEP_MAX_MS;
    int work;

    if (wait_for_lock) {
        pthread_mutex_lock(&mca_coll_rdmc_lock);
    } else if (pthread_mutex_trylock(&mca_coll_rdmc_lock) != 0) {
        return 0;
    }
    work = pass_locked(app_thread, &sleep_ms);
    if (work > 0) {
        rdmc_ofi_note_activity();   /* SST work through shared memory is no CQ entry */
    }
    if (app_thread) {
        reporting = take_reports(&nreporting);
    }
    __atomic_store_n(&app_pass_wanted, links != NULL || to_report != NULL, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&mca_coll_rdmc_lock);
    if (app_thread) {
        mca_coll_rdmc_verdicts_tell_runtime();
    }
    if (reporting != NULL) {
        work += report(reporting, nreporting);
    }
    if (app_thread) {
        mca_coll_rdmc_release_freed();
    }
    if (sleep_ms_p != NULL) {
        *sleep_ms_p = sleep_ms;
    }
    return work;
}

/* opal_progress's callback: a pass when an application thread's pass has
 * something to do (app_pass_wanted); otherwise only what must happen in an
 * application thread and costs nothing when there is none of it. */
int mca_coll_rdmc_progress(void)
{
    if (__atomic_load_n(&nlinks, __ATOMIC_RELAXED) == 0) {
        return 0;
    }
    if (!__atomic_load_n(&app_pass_wanted, __ATOMIC_RELAXED)) {
        mca_coll_rdmc_verdicts_tell_runtime();
        mca_coll_rdmc_release_freed();
        return 0;
    }
    return mca_coll_rdmc_progress_pass(true, false, NULL);
}

int mca_coll_rdmc_app_waiting(bool waiting)
{
    return __atomic_add_fetch(&app_waiting, waiting ? 1 : -1, __ATOMIC_RELAXED);
}

/* ---- the thread --------------------------------------------------------- */

static void nap_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

static void *progress_thread(void *arg)
{
    (void)arg;
    while (!__atomic_load_n(&thread_stop, __ATOMIC_ACQUIRE)) {
        if (__atomic_load_n(&app_waiting, __ATOMIC_RELAXED) > 0) {
            nap_ms(STAND_BACK_MS);
            continue;
        }
        int sleep_ms = IDLE_SLEEP_MAX_MS;
        if (mca_coll_rdmc_progress_pass(false, true, &sleep_ms) > 0) {
            continue;
        }
        if (still_parked()) {
            rdmc_ofi_wait_parked(sleep_ms, still_parked);
        } else {
            rdmc_ofi_wait(sleep_ms);
        }
    }
    return NULL;
}

/* MPI_Finalize deletes MPI_COMM_SELF's attributes first (MPI's own hook
 * for libraries), while MPI still works: rdmc stops there.  Open MPI may
 * never close the component (a tool that called MPI_T_init_thread without
 * MPI_T_finalize keeps the framework open), and the endpoints hold shared
 * memory that outlives the process unless they are closed. */
static bool finalize_watched;

static int mpi_finalizing(MPI_Comm comm, int keyval, void *value, void *extra)
{
    (void)comm;
    (void)keyval;
    (void)value;
    (void)extra;
    mca_coll_rdmc_release_freed();
    mca_coll_rdmc_driver_stop();
    rdmc_group_release_key();
    return MPI_SUCCESS;
}

static void watch_finalize(void)
{
    int self_keyval = MPI_KEYVAL_INVALID, rc;

    if (finalize_watched) {
        return;
    }
    finalize_watched = true;
    rc = PMPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, mpi_finalizing, &self_keyval, NULL);
    if (rc == MPI_SUCCESS) {
        rc = PMPI_Comm_set_attr(MPI_COMM_SELF, self_keyval, NULL);
        /* The attribute keeps the key until MPI_Finalize deletes it. */
        (void)PMPI_Comm_free_keyval(&self_keyval);
    }
    if (rc != MPI_SUCCESS) {
        opal_output_verbose(0, mca_coll_rdmc_component.output,
                            "coll:rdmc: cannot watch for MPI_Finalize (%d): endpoints close "
                            "only if Open MPI closes the component",
                            rc);
    }
}

/* Idle waits watch the process's wake set (ofi/shm/shm_wake.c) from the
 * moment something is in it: the first shared-memory SST makes the bell,
 * the first watch of a node-mate adds its pidfd (set-up calls this after
 * either).  Until 7 December the driver's start looked instead, which
 * comes before both: a process with one such communicator never watched
 * its bell, and a peer's ring did not wake its sleeping progress thread. */
static bool waker_set;

void mca_coll_rdmc_watch_wakes(void)
{
    rdmc_ofi_waker_t waker = { rdmc_shm_wake_fd(), rdmc_shm_bell_arm, rdmc_shm_bell_disarm };

    if (!waker_set && waker.fd >= 0) {
        rdmc_ofi_set_waker(&waker);
        waker_set = true;
    }
}

/* The callback and the thread, once a link exists.  Under the lock. */
int mca_coll_rdmc_driver_start(void)
{
    mca_coll_rdmc_component_t *c = &mca_coll_rdmc_component;
    int rc;

    watch_finalize();
    if (!callback_registered) {
        callback_registered = opal_progress_register(mca_coll_rdmc_progress) == OPAL_SUCCESS;
    }
    if (thread_running) {
        return 0;
    }
    thread_stop = 0;
    rc = pthread_create(&thread, NULL, progress_thread, NULL);
    if (rc != 0) {
        opal_output_verbose(0, c->output, "coll:rdmc: cannot start the progress thread: %s",
                            strerror(rc));
        return -rc;
    }
    thread_running = true;
    return 0;
}

/* Every communicator still linked (MPI_COMM_WORLD, and those the
 * application did not free) lets its link go: rdmc steps aside on it. */
static void detach_modules(double deadline)
{
    wake_idle_links(true, 0);
    for (mca_coll_rdmc_link_t *l = links, *next; l != NULL; l = next) {
        mca_coll_rdmc_module_t *m = l->module;
        next = l->next;
        if (m == NULL) {
            continue;
        }
        m->link = NULL;
        if (m->state == RDMC_SETUP_CONNECTING) {
            mca_coll_rdmc_setup_abandon(m);
            mca_coll_rdmc_link_free(l);
        } else {
            l->module = NULL;
            l->retire_deadline_ms = deadline;
        }
        m->state = RDMC_SETUP_DECLINED;
    }
}

/* MPI_Finalize: every link leaves (FINALIZE_WAIT_MS at most for the peers
 * to leave too), then the endpoints close (cancelling what is still
 * posted) and the rest is freed.  Run again (the component closes), it
 * finds nothing to do. */
void mca_coll_rdmc_driver_stop(void)
{
    int wait_ms = mca_coll_rdmc_component.timeout_ms < FINALIZE_WAIT_MS
                      ? mca_coll_rdmc_component.timeout_ms
                      : FINALIZE_WAIT_MS;
    double deadline = rdmc_now_ms() + wait_ms;

    pthread_mutex_lock(&mca_coll_rdmc_lock);
    detach_modules(deadline);
    bool opener_stopped = mca_coll_rdmc_opener_stop(wait_ms);
    pthread_mutex_unlock(&mca_coll_rdmc_lock);
    if (callback_registered) {
        opal_progress_unregister(mca_coll_rdmc_progress);
        callback_registered = false;
    }
    if (thread_running) {
        __atomic_store_n(&thread_stop, 1, __ATOMIC_RELEASE);
        pthread_join(thread, NULL);
        thread_running = false;
    }
    for (;;) {
        pthread_mutex_lock(&mca_coll_rdmc_lock);
        /* Retiring links wait in the wheel between looks: every pass here
         * runs them all, and what follows finds them all on the list. */
        wake_idle_links(true, 0);
        bool all_lost = true;
        for (mca_coll_rdmc_link_t *l = links; l != NULL; l = l->next) {
            all_lost = all_lost && l->retire_deadline_ms == HUGE_VAL;
        }
        pthread_mutex_unlock(&mca_coll_rdmc_lock);
        if (all_lost || rdmc_now_ms() >= deadline) {
            break;
        }
        if (mca_coll_rdmc_progress_pass(false, true, NULL) == 0) {
            rdmc_ofi_wait(1);
        }
    }
    if (links != NULL) {
        opal_output_verbose(1, mca_coll_rdmc_component.output,
                            "coll:rdmc: MPI_Finalize: %d communicator link(s) still retiring",
                            __atomic_load_n(&nlinks, __ATOMIC_RELAXED));
    }
    /* Cancel what is posted while the endpoints are open, close them, and
     * only then free what the cancelled operations pointed to. */
    pthread_mutex_lock(&mca_coll_rdmc_lock);
    for (mca_coll_rdmc_link_t *l = links; l != NULL; l = l->next) {
        rdmc_stream_abort(&l->stream, -ECANCELED, "MPI_Finalize");
        (void)rdmc_stream_settle(&l->stream, true);
        (void)link_quiesce(l);
    }
    rdmc_ofi_close_endpoints();
    while (links != NULL) {
        mca_coll_rdmc_link_free(links);
    }
    if (opener_stopped) {
        rdmc_ofi_finalize();
    }
    rdmc_ofi_set_waker(NULL);
    waker_set = false;
    rdmc_shm_finalize();
    mca_coll_rdmc_verdicts_forget();
    size_t count = 0;
    mca_coll_rdmc_module_t **left = take_reports(&count);
    pthread_mutex_unlock(&mca_coll_rdmc_lock);
    if (left != NULL) {
        (void)report(left, count);
    }
}
