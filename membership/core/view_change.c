/*
 * Failure-driven view changes (view_change.h): the rules one member
 * evaluates over its copy of the rows.
 *
 * Why the protocol is safe, in the terms the rules below use:
 *   - live = members of the view I do not suspect.  Every member that keeps
 *     going sees a strict majority live (the partition rule), so any two
 *     members' live sets intersect;
 *   - a follower acks and echoes only its current leader (the lowest rank it
 *     does not suspect), and pushes those before any later suspicion of that
 *     leader;
 *   - a new leader waits until every row it trusts suspects every rank below
 *     it (the takeover barrier).  A commit needed the acks of a majority, a
 *     trim echoed by one member's whole live set is echoed by a majority, so
 *     the barrier shows the new leader at least one of those rows: it adopts
 *     that batch and that trim, and the view every survivor installs is the
 *     same.
 */
#include "view_change.h"

#include <errno.h>
#include <string.h>

#define VC_MAGIC 0x56435631u   /* "VCV1" */

typedef struct vc_scan {
    uint64_t cur;     /* members whose row is well formed and in my view */
    uint64_t ahead;   /* members already in a later view: they finished mine */
    bool evicted;     /* one of those left me out of its view, or suspects me */
} vc_scan_t;

static uint64_t bit(int r)
{
    return UINT64_C(1) << r;
}

static int popcount64(uint64_t x)
{
    return __builtin_popcountll(x);
}

/* The lowest rank in a non-empty set. */
static int lowest(uint64_t set)
{
    return __builtin_ctzll(set);
}

static bool vc_ok(const rdmc_vc_t *vc)
{
    return vc != NULL && vc->magic == VC_MAGIC;
}

static uint64_t batch_len(const rdmc_vc_row_t *r)
{
    return r->num_changes - r->num_installed;
}

static uint64_t live_set(const rdmc_vc_t *vc, const rdmc_vc_row_t *own)
{
    return vc->members & ~own->suspected;
}

static int leader_of(const rdmc_vc_t *vc, const rdmc_vc_row_t *own)
{
    return lowest(live_set(vc, own));   /* never empty: I do not suspect myself */
}

static void mark(rdmc_vc_t *vc, uint32_t fields)
{
    vc->dirty |= fields;
}

/* ---------------------------------------------------------------------------
 * Comparing and copying batches and trim decisions. */

/* The same changes, whoever relabelled them. */
static bool same_content(const rdmc_vc_row_t *a, const rdmc_vc_row_t *b)
{
    if (a->num_changes != b->num_changes) {
        return false;
    }
    for (uint64_t i = 0; i < batch_len(a); i++) {
        const rdmc_vc_change_t *x = &a->changes[i], *y = &b->changes[i];
        if (x->kind != y->kind || x->who != y->who || x->end_of_view != y->end_of_view) {
            return false;
        }
    }
    return true;
}

/* The same changes from the same leader: what an ack is an ack of. */
static bool same_batch(const rdmc_vc_row_t *a, const rdmc_vc_row_t *b)
{
    return same_content(a, b) &&
           (batch_len(a) == 0 || a->changes[0].proposer == b->changes[0].proposer);
}

static bool same_decision(const rdmc_vc_row_t *a, const rdmc_vc_row_t *b)
{
    if (a->trim != b->trim || a->edge_mask != b->edge_mask) {
        return false;
    }
    for (uint64_t m = a->edge_mask; m != 0; m &= m - 1) {
        if (a->edge[lowest(m)] != b->edge[lowest(m)]) {
            return false;
        }
    }
    return true;
}

/* src may be own (a new leader relabelling the batch it acked). */
static void copy_batch(rdmc_vc_t *vc, rdmc_vc_row_t *own, const rdmc_vc_row_t *src, int proposer)
{
    uint64_t len = batch_len(src);

    memmove(own->changes, src->changes, len * sizeof(src->changes[0]));
    memset(own->changes + len, 0, (RDMC_VC_MAX_CHANGES - len) * sizeof(own->changes[0]));
    for (uint64_t i = 0; i < len; i++) {
        own->changes[i].proposer = (uint8_t)proposer;
    }
    own->num_changes = src->num_changes;
    own->num_acked = own->num_changes;
    mark(vc, RDMC_VC_F_CHANGES | RDMC_VC_F_NUM_CHANGES | RDMC_VC_F_NUM_ACKED);
}

static void copy_decision(rdmc_vc_t *vc, rdmc_vc_row_t *own, const rdmc_vc_row_t *src)
{
    if (src == own) {
        return;
    }
    own->trim = src->trim;
    own->edge_mask = src->edge_mask;
    memset(own->edge, 0, sizeof(own->edge));
    for (uint64_t m = src->edge_mask; m != 0; m &= m - 1) {
        own->edge[lowest(m)] = src->edge[lowest(m)];
    }
    own->trim_ready = 1;
    mark(vc, RDMC_VC_F_TRIM | RDMC_VC_F_TRIM_READY);
}

static uint64_t batch_fails(const rdmc_vc_row_t *r)
{
    uint64_t fails = 0;
    for (uint64_t i = 0; i < batch_len(r); i++) {
        if (r->changes[i].kind == RDMC_VC_CHANGE_FAIL) {
            fails |= bit(r->changes[i].who);
        }
    }
    return fails;
}

/* ---------------------------------------------------------------------------
 * Validating the others' rows: a malformed copy is ignored, never trusted. */

/* Every change fails a member of the view, each once. */
static bool change_ok(const rdmc_vc_t *vc, const rdmc_vc_change_t *c, uint64_t *fails)
{
    if (c->who >= RDMC_VC_MAX_MEMBERS || c->kind != RDMC_VC_CHANGE_FAIL ||
        !(vc->members & bit(c->who)) || (*fails & bit(c->who))) {
        return false;
    }
    *fails |= bit(c->who);
    return true;
}

static bool batch_ok(const rdmc_vc_t *vc, const rdmc_vc_row_t *r)
{
    uint64_t len = batch_len(r), fails = 0;

    if (len == 0) {
        return true;
    }
    if (len > RDMC_VC_MAX_CHANGES) {
        return false;
    }
    int proposer = r->changes[0].proposer;
    if (proposer >= vc->n || !(vc->members & bit(proposer))) {
        return false;
    }
    for (uint64_t i = 0; i < len; i++) {
        const rdmc_vc_change_t *c = &r->changes[i];
        if (c->proposer != proposer || c->end_of_view != (i == len - 1) ||
            !change_ok(vc, c, &fails)) {
            return false;
        }
    }
    return (vc->members & ~fails) != 0;   /* someone survives */
}

/* A trim decision over survivors only: a leader's live set excludes every
 * member its batch fails.  One that counts a failed member would hand that
 * member the takeover of collectives nobody else has (and a trim past what
 * any survivor received). */
static bool decision_ok(const rdmc_vc_t *vc, const rdmc_vc_row_t *r)
{
    uint64_t max = 0;

    if (r->edge_mask == 0 || (r->edge_mask & ~vc->members) != 0 || batch_len(r) == 0 ||
        r->num_committed != r->num_changes || (r->edge_mask & batch_fails(r)) != 0) {
        return false;
    }
    for (uint64_t m = r->edge_mask; m != 0; m &= m - 1) {
        max = r->edge[lowest(m)] > max ? r->edge[lowest(m)] : max;
    }
    return r->trim == max;
}

/* A row in my view.  Commits are all-or-nothing (one batch per view). */
static bool row_ok(const rdmc_vc_t *vc, const rdmc_vc_row_t *r)
{
    if (r->members != vc->members || r->num_installed != vc->num_installed ||
        r->num_changes < r->num_installed ||
        r->num_committed > r->num_changes || r->num_acked > r->num_changes ||
        r->num_acked < r->num_installed ||
        (r->num_committed != r->num_installed && r->num_committed != r->num_changes)) {
        return false;
    }
    if ((r->suspected & ~vc->members) != 0 || r->wedged > 1 || r->trim_ready > 1 || r->left > 1) {
        return false;
    }
    return batch_ok(vc, r) && (!r->trim_ready || decision_ok(vc, r));
}

/* Sort the members' rows into usable now / finished my view; returns the
 * malformed ones.  A view id must never go backwards; a row behind mine is a
 * member that has not installed yet.  A
 * member ahead installed without my echo only if it suspected me: then its
 * later view removed me or suspects me, and I must stop, not wait for a
 * leader that has moved on. */
static uint64_t scan_rows(rdmc_vc_t *vc, const rdmc_vc_row_t *rows, vc_scan_t *scan)
{
    uint64_t malformed = 0;

    scan->cur = scan->ahead = 0;
    scan->evicted = false;
    for (uint64_t set = vc->members & ~bit(vc->me); set != 0; set &= set - 1) {
        int m = lowest(set);
        const rdmc_vc_row_t *r = &rows[m];
        if (r->vid < vc->seen_vid[m] || (r->vid == vc->vid && !row_ok(vc, r)) ||
            (r->vid > vc->vid && (r->suspected & ~r->members) != 0)) {
            malformed |= bit(m);
            continue;
        }
        vc->seen_vid[m] = r->vid;
        if (r->vid == vc->vid) {
            scan->cur |= bit(m);
        } else if (r->vid > vc->vid) {
            scan->ahead |= bit(m);
            scan->evicted |= !(r->members & bit(vc->me)) || (r->suspected & bit(vc->me));
        }
    }
    return malformed;
}

/* ---------------------------------------------------------------------------
 * Suspicions, the partition rule, leaving. */

static void leave(rdmc_vc_t *vc, rdmc_vc_row_t *own)
{
    own->left = 1;
    own->wedged = 1;
    mark(vc, RDMC_VC_F_LEFT | RDMC_VC_F_WEDGED);
}

/* Derecho's rule: suspects >= (N + 1) / 2 means no strict majority left. */
static bool lost_majority(const rdmc_vc_t *vc, const rdmc_vc_row_t *own)
{
    int n = popcount64(vc->members);
    int suspects = popcount64(own->suspected & vc->members & ~bit(vc->me));
    return suspects >= (n + 1) / 2;
}

/* Suspicions are final; one of me means the group is removing me. */
static void add_suspects(rdmc_vc_t *vc, rdmc_vc_row_t *own, uint64_t set)
{
    if (set & bit(vc->me)) {
        leave(vc, own);
        return;
    }
    set &= vc->members;
    if ((own->suspected | set) != own->suspected) {
        own->suspected |= set;
        mark(vc, RDMC_VC_F_SUSPECTED);
    }
    if (lost_majority(vc, own)) {
        leave(vc, own);
    }
}

/* OR in the suspicions of the rows I trust; a row that says it left is a
 * member gone.  Rows I suspect are ignored: a partitioned member's view of
 * me must not remove me from the majority side. */
static void merge_suspicions(rdmc_vc_t *vc, rdmc_vc_row_t *rows, const vc_scan_t *scan)
{
    rdmc_vc_row_t *own = &rows[vc->me];
    uint64_t add = 0;

    for (uint64_t set = scan->cur & ~own->suspected; set != 0; set &= set - 1) {
        int m = lowest(set);
        add |= rows[m].suspected | (rows[m].left ? bit(m) : 0);
    }
    add_suspects(vc, own, add);
}

/* ---------------------------------------------------------------------------
 * The leader: takeover, proposal, commit, trim. */

/* Every row I trust suspects every member ranked below me, so none of them
 * acks or echoes an earlier leader any more, and what they did is visible. */
static bool takeover_barrier(const rdmc_vc_t *vc, const rdmc_vc_row_t *rows,
                             const vc_scan_t *scan)
{
    const rdmc_vc_row_t *own = &rows[vc->me];
    uint64_t below = vc->members & (bit(vc->me) - 1);

    for (uint64_t set = live_set(vc, own) & ~bit(vc->me); below && set; set &= set - 1) {
        int m = lowest(set);
        if (scan->ahead & bit(m)) {
            continue;
        }
        if (!(scan->cur & bit(m)) || (rows[m].suspected & below) != below) {
            return false;
        }
    }
    return true;
}

/* Adopt the complete batch of the most recent prior leader that a trusted
 * row holds (mine included), relabelled as mine; then any trim decision made
 * for it.  A decision proves the batch was committed. */
static void adopt_prior(rdmc_vc_t *vc, rdmc_vc_row_t *rows, const vc_scan_t *scan)
{
    rdmc_vc_row_t *own = &rows[vc->me];
    uint64_t trusted = (scan->cur & ~own->suspected) | bit(vc->me);
    const rdmc_vc_row_t *best = NULL;

    for (uint64_t set = trusted; set != 0; set &= set - 1) {
        const rdmc_vc_row_t *r = &rows[lowest(set)];
        int author = batch_len(r) ? r->changes[0].proposer : -1;
        if (author >= 0 && author <= vc->me && (!best || author > best->changes[0].proposer)) {
            best = r;
        }
    }
    if (best == NULL) {
        return;
    }
    if (!same_content(own, best)) {
        /* Whatever I held (maybe nothing) was never committed: no trim either. */
        own->num_committed = own->num_installed;
        own->trim_ready = 0;
        mark(vc, RDMC_VC_F_NUM_COMMITTED | RDMC_VC_F_TRIM_READY);
    }
    copy_batch(vc, own, best, vc->me);
    add_suspects(vc, own, batch_fails(own));
    for (uint64_t set = trusted; set != 0 && !own->left; set &= set - 1) {
        const rdmc_vc_row_t *r = &rows[lowest(set)];
        if (r->trim_ready && same_content(r, own)) {
            own->num_committed = own->num_changes;
            mark(vc, RDMC_VC_F_NUM_COMMITTED);
            copy_decision(vc, own, r);
            return;
        }
    }
}

/* One batch per view: every member I suspect. */
static void propose(rdmc_vc_t *vc, rdmc_vc_row_t *own)
{
    uint64_t fails = own->suspected & vc->members;
    unsigned len = 0;

    if (fails == 0) {
        return;
    }
    memset(own->changes, 0, sizeof(own->changes));
    for (uint64_t set = fails; set != 0; set &= set - 1) {
        own->changes[len++] = (rdmc_vc_change_t){ RDMC_VC_CHANGE_FAIL, (uint8_t)lowest(set),
                                                  (uint8_t)vc->me, 0 };
    }
    own->changes[len - 1].end_of_view = 1;
    own->num_changes = own->num_installed + len;
    own->num_acked = own->num_changes;
    mark(vc, RDMC_VC_F_CHANGES | RDMC_VC_F_NUM_CHANGES | RDMC_VC_F_NUM_ACKED);
}

/* A commit needs the ack of every live member, not a quorum. */
static void try_commit(rdmc_vc_t *vc, rdmc_vc_row_t *rows, const vc_scan_t *scan,
                       rdmc_vc_out_t *out)
{
    rdmc_vc_row_t *own = &rows[vc->me];
    uint64_t acks = bit(vc->me);

    if (own->num_committed == own->num_changes) {
        return;
    }
    for (uint64_t set = live_set(vc, own) & ~bit(vc->me); set != 0; set &= set - 1) {
        int m = lowest(set);
        const rdmc_vc_row_t *r = &rows[m];
        bool acked = (scan->ahead & bit(m)) || ((scan->cur & bit(m)) && same_batch(r, own) &&
                                                 r->num_acked == own->num_changes);
        if (!acked) {
            return;
        }
        acks |= bit(m);
    }
    own->num_committed = own->num_changes;
    out->acks = acks;
    mark(vc, RDMC_VC_F_NUM_COMMITTED);
}

/* Once every live member is wedged (its received frozen): trim = the
 * largest received, with each survivor's count for the takeover. */
static void try_trim(rdmc_vc_t *vc, rdmc_vc_row_t *rows, const vc_scan_t *scan)
{
    rdmc_vc_row_t *own = &rows[vc->me];
    uint64_t live = live_set(vc, own), trim = 0;

    if (own->trim_ready || !own->wedged || own->num_committed != own->num_changes) {
        return;
    }
    for (uint64_t set = live & ~bit(vc->me); set != 0; set &= set - 1) {
        const rdmc_vc_row_t *r = &rows[lowest(set)];
        if (!(scan->cur & bit(lowest(set))) || !r->wedged || !same_batch(r, own)) {
            return;
        }
    }
    memset(own->edge, 0, sizeof(own->edge));
    for (uint64_t set = live; set != 0; set &= set - 1) {
        uint64_t received = rows[lowest(set)].received;
        own->edge[lowest(set)] = received;
        trim = received > trim ? received : trim;
    }
    own->edge_mask = live;
    own->trim = trim;
    own->trim_ready = 1;
    mark(vc, RDMC_VC_F_TRIM | RDMC_VC_F_TRIM_READY);
}

static void lead(rdmc_vc_t *vc, rdmc_vc_row_t *rows, const vc_scan_t *scan, rdmc_vc_out_t *out)
{
    rdmc_vc_row_t *own = &rows[vc->me];

    if (!vc->active) {
        if (!takeover_barrier(vc, rows, scan)) {
            return;
        }
        vc->active = true;
        adopt_prior(vc, rows, scan);
        if (own->left) {
            return;
        }
    }
    if (batch_len(own) == 0) {
        propose(vc, own);
        return;
    }
    try_commit(vc, rows, scan, out);
    try_trim(vc, rows, scan);
}

/* ---------------------------------------------------------------------------
 * A follower: ack the leader's batch, echo its commit and its trim. */

static void ack(rdmc_vc_t *vc, rdmc_vc_row_t *own, const rdmc_vc_row_t *lr, int leader)
{
    bool same = same_content(own, lr);

    copy_batch(vc, own, lr, leader);
    /* Only an uncommitted batch is ever superseded, and no trim was decided
     * for it; clearing them keeps the row well formed whatever happened. */
    if (!same) {
        own->num_committed = own->num_installed;
        own->trim_ready = 0;
        mark(vc, RDMC_VC_F_NUM_COMMITTED | RDMC_VC_F_TRIM_READY);
    }
    add_suspects(vc, own, batch_fails(own));
}

static void follow(rdmc_vc_t *vc, rdmc_vc_row_t *rows, const vc_scan_t *scan)
{
    rdmc_vc_row_t *own = &rows[vc->me];
    int leader = leader_of(vc, own);
    const rdmc_vc_row_t *lr = &rows[leader];

    if (!(scan->cur & bit(leader))) {
        return;
    }
    /* A leader still waiting for its barrier may hold an earlier leader's
     * batch: only the batch it published itself is acked. */
    if (batch_len(lr) && lr->changes[0].proposer == leader && !same_batch(own, lr)) {
        ack(vc, own, lr, leader);
        if (own->left) {
            return;
        }
    }
    if (batch_len(own) == 0 || !same_batch(own, lr)) {
        return;
    }
    if (lr->num_committed > own->num_committed) {
        own->num_committed = lr->num_committed;
        mark(vc, RDMC_VC_F_NUM_COMMITTED);
    }
    if (lr->trim_ready && own->num_committed == own->num_changes &&
        !(own->trim_ready && same_decision(own, lr))) {
        copy_decision(vc, own, lr);
    }
}

/* ---------------------------------------------------------------------------
 * Wedging and installing. */

static bool wedge_if_needed(rdmc_vc_t *vc, rdmc_vc_row_t *own)
{
    if (own->wedged || !((own->suspected & vc->members) || batch_len(own))) {
        return false;
    }
    own->wedged = 1;
    mark(vc, RDMC_VC_F_WEDGED);
    return true;
}

static void build_view(const rdmc_vc_t *vc, const rdmc_vc_row_t *own, rdmc_vc_view_t *v)
{
    memset(v, 0, sizeof(*v));
    v->vid = vc->vid + 1;
    v->members = vc->members;
    v->n = vc->n;
    for (uint64_t i = 0; i < batch_len(own); i++) {
        const rdmc_vc_change_t *c = &own->changes[i];
        v->failed |= bit(c->who);   /* batch_ok: every change is a failure */
        v->members &= ~bit(c->who);
    }
    v->num_installed = own->num_changes;
    v->trim = own->trim;
    v->low = own->trim;
    v->edge_mask = own->edge_mask;
    for (uint64_t set = own->edge_mask; set != 0; set &= set - 1) {
        uint64_t e = own->edge[lowest(set)];
        v->edge[lowest(set)] = e;
        v->low = e < v->low ? e : v->low;
    }
}

/* Every live row shows the committed batch and echoed the same trim (or has
 * already installed, which needed the same). */
static void check_install(rdmc_vc_t *vc, const rdmc_vc_row_t *rows, const vc_scan_t *scan)
{
    const rdmc_vc_row_t *own = &rows[vc->me];

    if (!vc->wedge_reported || batch_len(own) == 0 || own->num_committed != own->num_changes ||
        !own->trim_ready) {
        return;
    }
    for (uint64_t set = live_set(vc, own) & ~bit(vc->me); set != 0; set &= set - 1) {
        int m = lowest(set);
        const rdmc_vc_row_t *r = &rows[m];
        if (scan->ahead & bit(m)) {
            continue;
        }
        if (!(scan->cur & bit(m)) || !r->trim_ready || !same_content(r, own) ||
            !same_decision(r, own)) {
            return;
        }
    }
    build_view(vc, own, &vc->next);
    vc->install_pending = true;
}

static void advance(rdmc_vc_t *vc, rdmc_vc_row_t *rows, uint64_t received, rdmc_vc_out_t *out)
{
    rdmc_vc_row_t *own = &rows[vc->me];
    vc_scan_t scan;

    if (!own->wedged && own->received != received) {
        own->received = received;
        mark(vc, RDMC_VC_F_RECEIVED);
    }
    out->malformed = scan_rows(vc, rows, &scan);
    merge_suspicions(vc, rows, &scan);
    if (scan.evicted || (!own->left && lost_majority(vc, own))) {
        leave(vc, own);   /* or: a view installed with suspicions carried over */
    }
    if (own->left) {
        return;
    }
    if (leader_of(vc, own) == vc->me) {
        lead(vc, rows, &scan, out);
    } else {
        follow(vc, rows, &scan);
    }
    if (own->left || wedge_if_needed(vc, own)) {
        return;   /* WEDGE is always reported in a step before INSTALL */
    }
    check_install(vc, rows, &scan);
}

/* ---------------------------------------------------------------------------
 * API. */

static void row_start(rdmc_vc_row_t *row, uint64_t vid, uint64_t members, uint64_t counters,
                      uint64_t suspected, uint64_t received)
{
    memset(row, 0, sizeof(*row));
    row->vid = vid;
    row->members = members;
    row->suspected = suspected;
    row->num_changes = row->num_acked = row->num_committed = row->num_installed = counters;
    row->received = received;
}

static void vc_start(rdmc_vc_t *vc, int n, int me, uint64_t vid, uint64_t members,
                     uint64_t num_installed)
{
    memset(vc, 0, sizeof(*vc));
    vc->magic = VC_MAGIC;
    vc->n = n;
    vc->me = me;
    vc->vid = vid;
    vc->members = members;
    vc->num_installed = num_installed;
    vc->dirty = RDMC_VC_F_ALL;
}

int rdmc_vc_init(rdmc_vc_t *vc, int n, int me, uint64_t view_id, rdmc_vc_row_t *row_p)
{
    if (vc == NULL || row_p == NULL || n < 1 || n > RDMC_VC_MAX_MEMBERS || me < 0 || me >= n) {
        return -EINVAL;
    }
    uint64_t members = n == RDMC_VC_MAX_MEMBERS ? UINT64_MAX : bit(n) - 1;
    vc_start(vc, n, me, view_id, members, 0);
    row_start(row_p, view_id, members, 0, 0, 0);
    return 0;
}

int rdmc_vc_suspect(rdmc_vc_t *vc, rdmc_vc_row_t *rows, int who)
{
    if (!vc_ok(vc) || rows == NULL || who < 0 || who >= vc->n || who == vc->me) {
        return -EINVAL;
    }
    rdmc_vc_row_t *own = &rows[vc->me];
    if (!own->left && (vc->members & bit(who))) {
        add_suspects(vc, own, bit(who));
    }
    return 0;
}

int rdmc_vc_step(rdmc_vc_t *vc, rdmc_vc_row_t *rows, uint64_t received, rdmc_vc_out_t *out_p)
{
    if (!vc_ok(vc) || rows == NULL || out_p == NULL) {
        return -EINVAL;
    }
    rdmc_vc_row_t *own = &rows[vc->me];
    if (!own->wedged && received < own->received) {
        return -EINVAL;
    }
    memset(out_p, 0, sizeof(*out_p));
    if (!own->left && !vc->install_pending) {
        advance(vc, rows, received, out_p);
    }
    if (own->left) {
        out_p->action = RDMC_VC_PARTITIONED;
    } else if (vc->install_pending) {
        out_p->action = RDMC_VC_INSTALL;
        out_p->view = vc->next;
    } else if (own->wedged && !vc->wedge_reported) {
        out_p->action = RDMC_VC_WEDGE;
        vc->wedge_reported = true;
    }
    out_p->changed = vc->dirty;
    vc->dirty = 0;
    return out_p->malformed ? -EPROTO : 0;
}

int rdmc_vc_installed(rdmc_vc_t *vc, rdmc_vc_row_t *rows)
{
    if (!vc_ok(vc) || rows == NULL || !vc->install_pending) {
        return -EINVAL;
    }
    const rdmc_vc_view_t *v = &vc->next;
    rdmc_vc_row_t *own = &rows[vc->me];
    /* My suspicions of members of the new view stand: the next step wedges
     * the new view and its leader proposes them at once. */
    uint64_t carried = own->suspected & v->members;

    row_start(own, v->vid, v->members, v->num_installed, carried, own->received);
    uint64_t seen[RDMC_VC_MAX_MEMBERS];
    memcpy(seen, vc->seen_vid, sizeof(seen));
    vc_start(vc, v->n, vc->me, v->vid, v->members, v->num_installed);
    memcpy(vc->seen_vid, seen, sizeof(seen));
    return 0;
}

int rdmc_vc_view_resender(const rdmc_vc_view_t *view, uint64_t seq)
{
    if (view == NULL || seq < view->low || seq >= view->trim) {
        return -1;
    }
    for (uint64_t set = view->edge_mask; set != 0; set &= set - 1) {
        if (view->edge[lowest(set)] > seq) {
            return lowest(set);
        }
    }
    return -1;
}

int rdmc_vc_view_resend_range(const rdmc_vc_view_t *view, int rank, uint64_t *from_p,
                              uint64_t *to_p)
{
    if (view == NULL || from_p == NULL || to_p == NULL || rank < 0 ||
        rank >= RDMC_VC_MAX_MEMBERS || !(view->edge_mask & bit(rank))) {
        return -EINVAL;
    }
    /* Rank r re-sends what no lower-ranked survivor has. */
    uint64_t from = view->low;
    for (uint64_t set = view->edge_mask & (bit(rank) - 1); set != 0; set &= set - 1) {
        from = view->edge[lowest(set)] > from ? view->edge[lowest(set)] : from;
    }
    *from_p = from;
    *to_p = view->edge[rank] > from ? view->edge[rank] : from;
    return 0;
}
