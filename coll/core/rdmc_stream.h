/*
 * The stream: every collective rdmc carries on one communicator, numbered
 * in issue order (MPI makes every rank issue them in the same order), with
 * up to `window` of them in flight at once, completing in that order.
 *
 *   large broadcasts   the RDMC engine (rdmc_engine.h), many at once;
 *   small broadcasts   the SST's slots: the root writes the message into its
 *                      own row and pushes it, receivers copy it out;
 *   barriers           nothing to move: entering is receiving.
 *
 * Each member's SST row says how many collectives it has received
 * contiguously (`received`).  A collective is stable once every member has
 * received it: min over rows of received > seq.  With stable delivery a
 * broadcast completes only when stable (Derecho's rule); with local delivery
 * when this rank's copy is done.  Barriers always wait for stability.
 *
 * Failures (params.gm set): the group manager runs from every pass.  On
 * WEDGE the stream starts and completes nothing new and freezes the
 * received count it publishes; on INSTALL it removes the failed ranks and
 * settles every collective not yet completed by the new view's ragged
 * edge:
 *   seq < low            every survivor has it: it completes as usual;
 *   low <= seq < trim    a survivor has it: the lowest such survivor sends
 *                        it again (engine) to those that lack it; a small
 *                        broadcast whose root survives stays in its slot;
 *   seq >= trim          nobody has it: rerun from its root, or, if the root
 *                        died, failed with -EOWNERDEAD at every survivor.
 * Collectives issued later follow the same rules, and a broadcast of a root
 * an earlier view removed, past that view's trim, fails whatever a later
 * edge says (where it counts as received, it was received as a failure).
 * With fail_unsettled (ULFM, where Open MPI refuses collectives on a
 * communicator with a known failure, so a survivor may never issue the next
 * one), a view change instead completes seq < low only and fails every
 * later collective, issued or still to come, with -EOWNERDEAD at every
 * survivor: nothing at or past low was completed anywhere (stability needs
 * every member), so the outcome is the same at all of them.  Engine runs
 * carry the view id in their tags, so nothing of an abandoned run lands in
 * a new one.
 * A member that loses its majority fails everything with -ENETUNREACH.
 *
 * No MPI and no libfabric in here (unit-tested over the fake transport).
 * Not thread-safe: the caller serialises every call (the module's lock).
 */
#ifndef RDMC_STREAM_H
#define RDMC_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "membership/core/group_manager.h"
#include "membership/core/sst.h"
#include "rdmc_clock.h"
#include "rdmc_engine.h"
#include "rdmc_run.h"

typedef enum rdmc_coll_kind {
    RDMC_COLL_BCAST_LARGE,
    RDMC_COLL_BCAST_SMALL,
    RDMC_COLL_BARRIER,
} rdmc_coll_kind_t;

typedef enum rdmc_coll_state {
    RDMC_COLL_QUEUED,      /* issued, waiting for room in the window */
    RDMC_COLL_RUNNING,     /* started, not yet here */
    RDMC_COLL_RECEIVED,    /* here (root: sent, or published) */
    RDMC_COLL_DONE,        /* completed: done() was called */
} rdmc_coll_state_t;

typedef struct rdmc_coll rdmc_coll_t;

/* What the caller (the MPI glue) supplies per collective. */
typedef struct rdmc_coll_hooks {
    /* Small root: copy the nbytes message into the slot. */
    void (*fill_small)(void *arg, void *slot, uint64_t nbytes);
    /* Small receiver: the root's message, in place; from_root is who sent it
     * (it differs from the root this rank named on a root mismatch). */
    void (*take_small)(void *arg, const void *data, uint32_t len, uint32_t from_root);
    /* After a view change: this rank takes part in a new run of the
     * broadcast, as its sender (it holds the message) or as a receiver
     * (start over).  Set `large` for that role. */
    void (*rerun)(void *arg, rdmc_op_params_t *large, bool as_sender);
    /* Completion, in issue order.  status: 0, or negative (engine codes,
     * -ETIMEDOUT, -EPROTO for a malformed slot, -ECANCELED when an earlier
     * failure broke the stream, -EOWNERDEAD when its root died and no
     * survivor had it, -ENETUNREACH when this rank lost its majority). */
    void (*done)(void *arg, int status, const char *error);
    void *arg;
} rdmc_coll_hooks_t;

struct rdmc_coll {
    /* Filled by the caller before rdmc_stream_issue. */
    rdmc_coll_kind_t kind;
    uint32_t root;
    uint64_t nbytes;               /* small root: the message length */
    rdmc_op_params_t large;        /* large: as for rdmc_op_start (tp, n, rank, seq set here) */
    rdmc_coll_hooks_t hooks;

    /* The stream's. */
    uint64_t seq;
    rdmc_coll_state_t state;
    uint32_t actual_root;          /* who really sent it (root mismatch) */
    int received_from;             /* large: the rank it came from; -1: none */
    rdmc_run_t *op;                /* large only: its engine runs */
    int status;                    /* 0, or -EOWNERDEAD (see above) */
    uint32_t run_root;             /* who sends it in its current engine run */
    uint32_t *run_members;         /* ranks of a re-send run; NULL: the view's */
    uint32_t nrun_members;
    rdmc_coll_t *next;
};

typedef struct rdmc_stream_params {
    rdmc_transport_t *tp;
    rdmc_sst_t *sst;
    uint32_t n, rank;
    unsigned window;               /* collectives in flight at once */
    bool stable;                   /* stable (true) or local delivery */
    int timeout_ms;                /* the collectives did not move this long while one
                                    * waits: error (heartbeats and SST traffic alone
                                    * are not movement) */
    int heartbeat_ms;
    rdmc_gm_t *gm;                 /* failure handling, or NULL */
    double (*clock_ms)(void);      /* NULL: rdmc_now_ms; unit tests pass a virtual clock */
    unsigned sends_in_flight;      /* for every engine run (rdmc_op_params_t) */
    const rdmc_levels_t *levels;   /* the layout's groups (rdmc_run.h), or NULL: flat */
    bool fail_unsettled;           /* ULFM's rule: once a view changed, see below */
} rdmc_stream_params_t;

/* An engine run made moot (a view change, or a message that came through
 * the root's slot), kept until nothing of it can land anywhere any more. */
typedef struct rdmc_dropped_op {
    rdmc_run_t *op;
    uint64_t seq;
} rdmc_dropped_op_t;

typedef struct rdmc_stream {
    rdmc_stream_params_t p;
    uint64_t next_seq;             /* given to the next issued collective */
    uint64_t received;             /* collectives 0..received-1 are here */
    uint64_t completed;            /* collectives 0..completed-1 completed */
    uint64_t stable;               /* every member has received 0..stable-1 */
    rdmc_coll_t *head, *tail;      /* issued, not completed, in seq order */
    int error;                     /* first failure; the stream is broken */
    char error_text[192];
    double last_event_ms;          /* for the idle timeout: when the collectives last moved */
    uint64_t motion;               /* what moved them, summed (rdmc_stream.c, motion_of) */
    double next_heartbeat_ms;
    double push_waiting_ms;    /* since when our row has waited to be pushed, or 0 */
    int predicates[3];
    uint64_t small_bcasts;         /* carried through the slots */

    /* Failure handling (p.gm). */
    bool wedged;                   /* a view change is under way */
    uint32_t epoch;                /* the installed view's id */
    uint32_t members[RDMC_VC_MAX_MEMBERS];   /* the view's members, ascending */
    uint32_t nmembers;
    rdmc_vc_view_t edge;           /* the last view change's ragged edge */
    uint64_t root_gone_at[RDMC_VC_MAX_MEMBERS];   /* a removed rank: the trim of
                                                   * the view that removed it
                                                   * (UINT64_MAX: a member) */
    uint64_t views_installed;      /* edge is valid once this is non-zero */
    double next_gm_ms;             /* the next group manager step */
    rdmc_dropped_op_t *dropped;
    unsigned ndropped;
} rdmc_stream_t;

int rdmc_stream_init(rdmc_stream_t *s, const rdmc_stream_params_t *params);
/* Only once the transport is closed, or nothing is in flight. */
void rdmc_stream_fini(rdmc_stream_t *s);

/* Number the collective and queue it; starts it if the window has room.
 * Never fails: errors arrive through done() (at once on a broken stream). */
void rdmc_stream_issue(rdmc_stream_t *s, rdmc_coll_t *c);

/* One pass of progress: transport completions, starts, SST predicates,
 * pushes, completions in order, heartbeats, the timeout.  Returns how much
 * happened (0: idle). */
int rdmc_stream_progress(rdmc_stream_t *s);

/* Leaving (the communicator is freed, a collective call at every rank):
 * announce it in our row and push it, and write nothing after it; true
 * once every member has left (or a write to it failed) and our last
 * writes completed, so closing the transport cannot race a peer's write.
 * Call until true or a deadline. */
bool rdmc_stream_leave(rdmc_stream_t *s);

/* Fail everything, now and later (the communicator broke, or is freed
 * with nothing to wait for): every engine run is abandoned (its receives
 * cancelled, its hooks cut off from the caller's memory) and kept until
 * nothing of it is posted any more; each collective completes with the
 * stream's error once nothing can land in its buffer any more. */
void rdmc_stream_abort(rdmc_stream_t *s, int status, const char *why);
/* After an abort, from progress (the transport's completions run
 * elsewhere): complete what became quiet; true once nothing of the
 * stream's is posted any more, so rdmc_stream_fini frees nothing in use.
 * stop_waiting: complete every collective now, even one whose receive
 * could not be cancelled (matched to a message from a peer that no longer
 * answers); the runs themselves are still kept until they are quiet. */
bool rdmc_stream_settle(rdmc_stream_t *s, bool stop_waiting);

/* Something issued and not yet completed? */
bool rdmc_stream_busy(const rdmc_stream_t *s);
/* How long, at now_ms (the stream's clock), the oldest collective in
 * flight has gone without moving, in the sense of the timeout (0: none in
 * flight, or the stream broke). */
double rdmc_stream_still_ms(const rdmc_stream_t *s, double now_ms);
/* How long the caller may sleep before the stream needs attention again
 * (heartbeat, timeout), at most cap_ms. */
int rdmc_stream_sleep_ms(const rdmc_stream_t *s, int cap_ms);

#endif
