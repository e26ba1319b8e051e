/*
 * Failure-driven view changes: one member's state machine, pure (no I/O, no
 * MPI, no libfabric, no threads, no clocks).  Derecho's membership protocol
 * (shared/design/protocols.md section 4) for one communicator:
 *
 *   - a group is the n ranks of a communicator (n <= RDMC_VC_MAX_MEMBERS = 64,
 *     ranks are bits of a uint64_t); ranks keep their numbers across views:
 *     a failed rank just leaves the member set.  Views change only through
 *     failures here: joins make a new communicator (membership/rdmc_join.c);
 *   - one ordered stream of collectives 0, 1, 2, ..., one "subgroup";
 *   - each member owns one rdmc_vc_row_t in a shared table and writes only
 *     that row; it reads possibly stale copies of the others' rows.
 *
 * The caller feeds events in and carries actions out:
 *
 *   detector says "rank r is silent"  -> rdmc_vc_suspect()
 *   any row copy changed / a timer    -> rdmc_vc_step(): push out.changed,
 *                                        then act on out.action:
 *        RDMC_VC_WEDGE        stop starting collectives (and stop completing
 *                             any beyond the received count it passed);
 *        RDMC_VC_INSTALL      move to out.view, then rdmc_vc_installed();
 *        RDMC_VC_PARTITIONED  this member lost its majority (or was removed):
 *                             it must stop using the communicator.
 *
 * One view change, failure of C in {A, B, C, D}, A = leader (one row push =
 * one hop, so about seven hops from the first suspicion to INSTALL):
 *
 *   B: suspect C ─► A,D merge it, wedge ─► A: batch {fail C, eov} (acked)
 *   B,D: copy A's batch, ack, wedge ─► A: every live row acked: commit
 *   A: every live row wedged: trim = max received, edge = each one's received
 *   B,D: echo A's trim ─► everyone sees every live row echo it: INSTALL
 *
 * Differences from Derecho, on purpose:
 *   - one batch per view: a leader proposes once (every member it suspects,
 *     end-of-view on the last); suspicions that come
 *     later wait for the next view, which proposes them as soon as it starts.
 *     So the counters all equal num_installed when a view starts;
 *   - the ragged edge is one stream, not per sender: trim = MAX of the
 *     survivors' received (a collective any survivor completed stays
 *     completed), and collectives [min, trim) are re-sent in the new view by
 *     the lowest-ranked survivor that has them (rdmc_vc_view_resender);
 *   - the leader publishes every survivor's received with the trim (edge[]),
 *     and followers echo all of it: a member installs from its own row alone,
 *     so a member that lags behind one that already installed (and reset its
 *     row) still builds the same view, and a dead leader's decision sticks;
 *   - a new leader adopts the complete batch of the most recent prior leader
 *     (the highest proposer rank), not the longest: with one batch per view
 *     a later leader's batch is the one that superseded the earlier ones.
 *
 * Partition rule (Derecho's, kept as is): a member that suspects
 * k >= (N + 1) / 2 of the N members of its view (integer division: it no
 * longer sees a strict majority) stops: RDMC_VC_PARTITIONED.  So with N = 2
 * no failure is survivable, not even by rank 0: both halves stop.  Any two
 * sets of non-suspected members that keep going intersect, which is what
 * makes a commit or a trim decision visible to every later leader.
 *
 * A member that sees itself suspected by a member it trusts, failed by its
 * leader's batch, or left out of (or suspected in) the later view of a member
 * that went ahead, also stops (Derecho: "removed from the group").
 *
 * Reading rows: every copy must be a snapshot of a state its owner was in.
 * The caller pushes the fields out.changed names, in the order of the bits
 * (data before the counter that guards it, acks and echoes before the
 * suspicion a new leader waits for), and the whole row in one write when
 * RDMC_VC_F_VID is set (a view was installed and the row was reset).
 *
 * Not thread-safe: the caller serialises every call.  No allocation.
 */
#ifndef RDMC_VIEW_CHANGE_H
#define RDMC_VIEW_CHANGE_H

#include <stdbool.h>
#include <stdint.h>

#define RDMC_VC_MAX_MEMBERS 64
/* A batch holds fewer than n/2 failures: < 64. */
#define RDMC_VC_MAX_CHANGES 64

typedef enum rdmc_vc_change_kind {
    RDMC_VC_CHANGE_NONE = 0,
    RDMC_VC_CHANGE_FAIL = 1,   /* rank `who` leaves the view */
} rdmc_vc_change_kind_t;

typedef struct rdmc_vc_change {
    uint8_t kind;          /* rdmc_vc_change_kind_t */
    uint8_t who;
    uint8_t proposer;      /* the leader that published the batch (same on every entry) */
    uint8_t end_of_view;   /* 1 on the batch's last change, 0 elsewhere */
} rdmc_vc_change_t;

/* One member's membership fields: plain data, fixed size, written only by
 * its owner (through this state machine).  Within a view every field moves
 * forward (bits get set, counters grow), with one exception: a follower that
 * switches from an uncommitted batch to a later leader's smaller one. */
typedef struct rdmc_vc_row {
    uint64_t vid;            /* the view this row belongs to */
    uint64_t members;        /* that view's members: a member that lags behind
                              * learns from a later row that it was removed */
    uint64_t suspected;      /* ranks of the view this member suspects: its own
                              * detector, merged from rows it trusts, or failed
                              * by its batch; never cleared within a view */
    uint64_t num_changes;    /* changes proposed over the group's life, as far as
                              * this row knows: the batch is changes[0 ..
                              * num_changes - num_installed) */
    uint64_t num_acked;      /* = num_changes once the batch is copied (and the
                              * member wedged) */
    uint64_t num_committed;  /* = num_changes once every live member acked
                              * (leader; followers echo the leader's) */
    uint64_t num_installed;  /* changes applied by installed views: the same in
                              * every row of a view */
    uint64_t received;       /* collectives 0..received-1 are here; frozen once
                              * the member wedged */
    uint64_t trim;           /* the leader's decision: collectives < trim belong
                              * to this view (= max of edge[]) */
    uint64_t edge_mask;      /* the survivors the decision covers */
    uint64_t edge[RDMC_VC_MAX_MEMBERS]; /* their received, as the leader read it */
    rdmc_vc_change_t changes[RDMC_VC_MAX_CHANGES];
    uint8_t wedged;          /* no new collectives in this view */
    uint8_t trim_ready;      /* trim/edge hold the leader's decision */
    uint8_t left;            /* stopped: partitioned or removed */
    uint8_t pad[5];
} rdmc_vc_row_t;

/* Own-row fields a step changed, in the order the caller must push them. */
enum {
    RDMC_VC_F_VID = 1u << 0,   /* installed: push the whole row in one write */
    RDMC_VC_F_RECEIVED = 1u << 1,
    RDMC_VC_F_CHANGES = 1u << 2,
    RDMC_VC_F_NUM_CHANGES = 1u << 3,
    RDMC_VC_F_NUM_COMMITTED = 1u << 4,
    RDMC_VC_F_NUM_ACKED = 1u << 5,
    RDMC_VC_F_WEDGED = 1u << 6,
    RDMC_VC_F_TRIM = 1u << 7,          /* trim, edge_mask, edge[] */
    RDMC_VC_F_TRIM_READY = 1u << 8,
    RDMC_VC_F_SUSPECTED = 1u << 9,
    RDMC_VC_F_LEFT = 1u << 10,
    RDMC_VC_F_ALL = (1u << 11) - 1,
};

typedef enum rdmc_vc_action {
    RDMC_VC_NONE,
    RDMC_VC_WEDGE,         /* once per view, always before INSTALL */
    RDMC_VC_INSTALL,       /* repeated by every step until rdmc_vc_installed */
    RDMC_VC_PARTITIONED,   /* final: repeated by every later step */
} rdmc_vc_action_t;

/* The next view, as every survivor installs it. */
typedef struct rdmc_vc_view {
    uint64_t vid;            /* old + 1 */
    uint64_t members;        /* ranks of the new view */
    uint64_t failed;         /* ranks this change removed */
    uint64_t num_installed;  /* for the rows of the new view */
    uint64_t low;            /* min received over edge_mask */
    uint64_t trim;           /* collectives < trim complete in the old view's
                              * numbering; [low, trim) are re-sent */
    uint64_t edge_mask;      /* the old view's survivors the trim covers */
    uint64_t edge[RDMC_VC_MAX_MEMBERS]; /* their received (0 outside the mask) */
    int n;                   /* rank slots: rows[] of the new view has n entries */
} rdmc_vc_view_t;

typedef struct rdmc_vc_out {
    rdmc_vc_action_t action;
    uint32_t changed;        /* RDMC_VC_F_* of rows[me] to push (since the last step) */
    uint64_t malformed;      /* members whose row copy was ignored this step */
    uint64_t acks;           /* the leader committed: whose acks it counted */
    rdmc_vc_view_t view;     /* RDMC_VC_INSTALL: the next view */
} rdmc_vc_out_t;

/* One member's state machine.  The fields are private; the struct is here so
 * callers can embed it (no allocation). */
typedef struct rdmc_vc {
    uint32_t magic;
    int n;                   /* rank slots: rows[] has n entries */
    int me;
    uint64_t vid;
    uint64_t members;
    uint64_t num_installed;
    uint64_t seen_vid[RDMC_VC_MAX_MEMBERS]; /* highest vid accepted per row */
    uint32_t dirty;          /* RDMC_VC_F_* not yet reported */
    bool active;             /* leader past the takeover barrier */
    bool wedge_reported;
    bool install_pending;
    rdmc_vc_view_t next;     /* valid while install_pending */
} rdmc_vc_t;

/* The first view: ranks 0..n-1, all members.  *row_p is rows[me]. */
int rdmc_vc_init(rdmc_vc_t *vc, int n, int me, uint64_t view_id, rdmc_vc_row_t *row_p);

/* The local detector says `who` is silent (heartbeat timeout, provider
 * error).  Suspicions are final.  0, or -EINVAL (who out of range, or me);
 * a rank no longer in the view is ignored.  A lost majority shows as
 * RDMC_VC_PARTITIONED at the next step. */
int rdmc_vc_suspect(rdmc_vc_t *vc, rdmc_vc_row_t *rows, int who);

/* Evaluate every rule once over rows[0..n-1] (rows[vc->me] is our own row;
 * received: how many collectives 0..k-1 this member has, never decreasing
 * while not wedged).  Returns 0; -EPROTO when rows were malformed (listed in
 * out.malformed, ignored: *out_p is valid); -EINVAL on bad arguments (*out_p
 * untouched). */
int rdmc_vc_step(rdmc_vc_t *vc, rdmc_vc_row_t *rows, uint64_t received, rdmc_vc_out_t *out_p);

/* The caller moved to the view RDMC_VC_INSTALL gave.  rows now has the new
 * view's n entries; rows[me] is reset for the new view, carrying the change
 * counters and this member's suspicions of members of the new view (their
 * failures are proposed at once).  0, or -EINVAL when no install is pending. */
int rdmc_vc_installed(rdmc_vc_t *vc, rdmc_vc_row_t *rows);

/* Takeover: the survivor that re-sends collective seq of the old view (the
 * lowest-ranked one whose received > seq), or -1 when seq is outside
 * [low, trim). */
int rdmc_vc_view_resender(const rdmc_vc_view_t *view, uint64_t seq);
/* The collectives rank re-sends: [*from_p, *to_p), maybe empty.  -EINVAL
 * when rank is not in view->edge_mask. */
int rdmc_vc_view_resend_range(const rdmc_vc_view_t *view, int rank, uint64_t *from_p,
                              uint64_t *to_p);

#endif
