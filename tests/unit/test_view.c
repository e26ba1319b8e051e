/*
 * Unit tests of the view-change state machine (membership/view_change.c).
 *
 * A simulator: up to MAXN members, each with its state machine and its own
 * copy of every row.  The network delivers old snapshots of a member's row to
 * each reader late, skipping some, never going back, with a seeded random lag
 * per (reader, writer) pair.  A killed member stops stepping and its row
 * stops travelling; the survivors' detectors suspect it after their own
 * delays.  Every run must settle within ROUNDS_MAX rounds.
 *
 * Scenarios: every single failure in every order of detection; every
 * ordered double failure, the second at each step of the first view change;
 * partitions; malformed row copies; a survivor whose
 * acks never arrive; and random crashes and false suspicions (of the leader
 * above all) at random steps, which is where the takeover barrier and the
 * adoption of an earlier leader's batch and trim are needed.
 *
 * Checked on every run, whatever the scenario:
 *   - all members that install view v install the same v (members, failed,
 *     trim, received edge, hence the same takeover);
 *   - when anyone installs, every old member still running has acked the
 *     batch in its actual row; every ack a commit counted is a real ack;
 *   - the takeover covers [low, trim), each seq by the lowest-ranked
 *     survivor that has it; trim/edge are the frozen received counts;
 *   - WEDGE comes before INSTALL, and received is frozen from the wedge on.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "membership/core/view_change.h"

#define MAXN 8
#define ROUNDS_MAX 400
#define HIST_MAX (2 * ROUNDS_MAX + 8)
#define VIDS 8          /* view ids 1..VIDS-1 */
#define DET_RANDOM (-1)
#define DET_NEVER (-2)

typedef enum phase {
    AT_ONCE,     /* the second victim dies with the first */
    PROPOSED,    /* ... once some row holds a batch (the leader proposed) */
    ACKED,       /* ... once a follower acked it */
    COMMITTED,   /* ... once the leader committed */
    TRIMMED,     /* ... once the leader decided the trim */
    INSTALLED,   /* ... once somebody installed */
    NPHASES
} phase_t;

/* Something that happens once a phase of the view change is reached. */
typedef struct event {
    phase_t phase;
    int delay;                    /* rounds after the phase */
    bool kill;                    /* w dies; otherwise k suspects w, alive */
    int k, w;                     /* < 0: the lowest-ranked member running */
    bool cut;                     /* and w's row stops reaching k */
    int at;                       /* the round it fires, -1 until the phase */
    bool done;
} event_t;

#define EVENTS_MAX 4

typedef struct member {
    bool exists, killed, left;
    int det;                      /* detector delay: >= 0, DET_RANDOM or DET_NEVER */
    int detect_at[MAXN];          /* round at which it suspects each rank, -1 never */
    rdmc_vc_t vc;
    rdmc_vc_row_t rows[MAXN];     /* rows[me] is its own */
    uint64_t base, speed;         /* it reports received = base + round / speed */
    uint64_t corrupt;             /* copies the test corrupted for this step */
    uint64_t must_flag;           /* ... of which the step must report these */
    int nviews;
    rdmc_vc_view_t views[VIDS];
    uint64_t start_vid;           /* the view it started in */
    bool wedge_seen;              /* WEDGE reported in the current view */
    bool frozen_known[VIDS];
    uint64_t frozen[VIDS];        /* received frozen at the wedge, per view id */
} member_t;

typedef struct sim {
    int n;
    member_t m[MAXN];
    rdmc_vc_row_t (*hist)[HIST_MAX]; /* every version of each member's own row */
    int nhist[MAXN];
    int seen[MAXN][MAXN];         /* seen[k][w]: the version of w's row k holds */
    bool cut[MAXN][MAXN];         /* cut[k][w]: w's row no longer reaches k */
    uint64_t lost;                /* killed, cut off by the scenario, or left */
    unsigned rng;
    int round, pct, det_max;
    int kill_at[MAXN];
    event_t ev[EVENTS_MAX];
    int nev;
    bool view_known[VIDS];
    rdmc_vc_view_t view[VIDS];    /* the first install of each view id */
    int installs;
    /* Called before each step: the test may corrupt copies (listed in
     * m->corrupt, and in m->must_flag those the step must reject). */
    void (*hook)(struct sim *s, int k);
} sim_t;

/* One run at a time: the versions live here, not on every run's heap. */
static rdmc_vc_row_t hist_store[MAXN][HIST_MAX];

static uint64_t bit(int r)
{
    return UINT64_C(1) << r;
}

static int lowest_of(uint64_t set)
{
    return __builtin_ctzll(set);
}

static unsigned rnd(sim_t *s)
{
    s->rng = s->rng * 1103515245u + 12345u;
    return (s->rng >> 16) & 0x7fff;
}

static bool live(const sim_t *s, int k)
{
    return s->m[k].exists && !s->m[k].killed && !s->m[k].left;
}

/* ---------------------------------------------------------------------------
 * The network. */

static void record(sim_t *s, int w)
{
    const rdmc_vc_row_t *own = &s->m[w].rows[w];
    int last = s->nhist[w] - 1;

    if (last >= 0 && memcmp(&s->hist[w][last], own, sizeof(*own)) == 0) {
        return;
    }
    assert_true(s->nhist[w] < HIST_MAX);
    s->hist[w][s->nhist[w]++] = *own;
}

static void restore_copy(sim_t *s, int k, int w)
{
    if (s->seen[k][w] >= 0) {
        s->m[k].rows[w] = s->hist[w][s->seen[k][w]];
    } else {
        memset(&s->m[k].rows[w], 0, sizeof(rdmc_vc_row_t));
    }
}

/* Each lagging copy moves forward with probability pct, to a random newer
 * version: copies lag, skip, never go back, differently at every reader. */
static void network(sim_t *s)
{
    for (int w = 0; w < s->n; w++) {
        for (int k = 0; k < s->n; k++) {
            int last = s->nhist[w] - 1;
            if (k == w || !s->m[w].exists || !s->m[k].exists || s->cut[k][w] ||
                s->seen[k][w] >= last || (int)(rnd(s) % 100) >= s->pct) {
                continue;
            }
            s->seen[k][w] += 1 + (int)(rnd(s) % (unsigned)(last - s->seen[k][w]));
            restore_copy(s, k, w);
        }
    }
}

/* ---------------------------------------------------------------------------
 * Setting up and driving. */

static void member_start(sim_t *s, int k, uint64_t base)
{
    member_t *m = &s->m[k];

    m->exists = true;
    m->base = base;
    m->speed = 2 + (uint64_t)k % 3;
    m->det = DET_RANDOM;
    m->start_vid = m->vc.vid;
    for (int w = 0; w < MAXN; w++) {
        m->detect_at[w] = -1;
    }
    record(s, k);
}

static sim_t *sim_new(int n, unsigned seed)
{
    sim_t *s = calloc(1, sizeof(*s));

    assert_non_null(s);
    s->n = n;
    s->rng = seed * 2654435761u + 1;
    s->pct = 50;
    s->det_max = 12;
    s->hist = hist_store;
    for (int k = 0; k < MAXN; k++) {
        s->kill_at[k] = -1;
        for (int w = 0; w < MAXN; w++) {
            s->seen[k][w] = -1;
        }
    }
    for (int k = 0; k < n; k++) {
        assert_int_equal(rdmc_vc_init(&s->m[k].vc, n, k, 1, &s->m[k].rows[k]), 0);
        member_start(s, k, 10 + (uint64_t)(k * 7) % 5);
    }
    for (int k = 0; k < n; k++) {
        for (int w = 0; w < n; w++) {
            if (w != k) {
                s->seen[k][w] = 0;
                restore_copy(s, k, w);
            }
        }
    }
    return s;
}

static void sim_free(sim_t *s)
{
    free(s);
}

static uint64_t received_of(const sim_t *s, int k)
{
    return s->m[k].base + (uint64_t)s->round / s->m[k].speed;
}

/* Every running member's detector notices w after its own delay. */
static void detect_later(sim_t *s, int w)
{
    for (int k = 0; k < s->n; k++) {
        member_t *m = &s->m[k];
        if (k == w || !live(s, k) || m->det == DET_NEVER) {
            continue;
        }
        int when = s->round + 1 + (m->det == DET_RANDOM ? (int)(rnd(s) % (unsigned)s->det_max)
                                                        : m->det);
        if (m->detect_at[w] < 0 || when < m->detect_at[w]) {
            m->detect_at[w] = when;
        }
    }
}

static void sim_kill(sim_t *s, int w)
{
    s->m[w].killed = true;
    s->lost |= bit(w);
    for (int k = 0; k < MAXN; k++) {
        s->cut[k][w] = true;
    }
    detect_later(s, w);
}

/* Nothing crosses between side and the rest; each side suspects the other. */
static void sim_partition(sim_t *s, uint64_t side)
{
    for (int k = 0; k < s->n; k++) {
        for (int w = 0; w < s->n; w++) {
            if (!(side & bit(k)) != !(side & bit(w))) {
                s->cut[k][w] = true;
                s->m[k].detect_at[w] = s->round + 1 + (int)(rnd(s) % (unsigned)s->det_max);
            }
        }
    }
    s->lost |= ~side & (bit(s->n) - 1);
}

static bool phase_reached(const sim_t *s, phase_t phase)
{
    if (phase == AT_ONCE) {
        return true;
    }
    for (int k = 0; k < s->n; k++) {
        const rdmc_vc_row_t *r = &s->m[k].rows[k];
        bool batch = s->m[k].exists && r->num_changes > r->num_installed;
        if ((phase == PROPOSED && batch) ||
            (phase == ACKED && batch && r->changes[0].proposer != k) ||
            (phase == COMMITTED && batch && r->num_committed == r->num_changes) ||
            (phase == TRIMMED && r->trim_ready) || (phase == INSTALLED && s->m[k].nviews > 0)) {
            return true;
        }
    }
    return false;
}

static void triggers(sim_t *s)
{
    for (int w = 0; w < s->n; w++) {
        if (s->kill_at[w] == s->round && live(s, w)) {
            sim_kill(s, w);
        }
    }
    for (int i = 0; i < s->nev; i++) {
        event_t *e = &s->ev[i];
        if (e->at < 0 && (phase_reached(s, e->phase) || s->round >= ROUNDS_MAX / 2)) {
            e->at = s->round + e->delay;
        }
        if (e->done || e->at != s->round) {
            continue;
        }
        e->done = true;
        int k = e->k, w = e->w;
        for (int r = 0; r < s->n && k < 0; r++) {
            k = live(s, r) && r != w ? r : -1;
        }
        for (int r = 0; r < s->n && w < 0; r++) {
            w = live(s, r) && r != k ? r : -1;
        }
        if (w < 0 || !live(s, w)) {
            continue;
        }
        if (e->kill) {
            sim_kill(s, w);
        } else if (k >= 0 && k != w && live(s, k)) {
            s->m[k].detect_at[w] = s->round;
            s->cut[k][w] = e->cut;
            s->lost |= bit(w);
        }
    }
    for (int k = 0; k < s->n; k++) {
        for (int w = 0; w < s->n && live(s, k); w++) {
            if (s->m[k].detect_at[w] == s->round) {
                assert_int_equal(rdmc_vc_suspect(&s->m[k].vc, s->m[k].rows, w), 0);
                record(s, k);
            }
        }
    }
}

/* ---------------------------------------------------------------------------
 * What every install and every commit must satisfy. */

static void assert_view_equal(const rdmc_vc_view_t *a, const rdmc_vc_view_t *b)
{
    assert_int_equal(a->vid, b->vid);
    assert_int_equal(a->n, b->n);
    assert_int_equal(a->members, b->members);
    assert_int_equal(a->failed, b->failed);
    assert_int_equal(a->num_installed, b->num_installed);
    assert_int_equal(a->low, b->low);
    assert_int_equal(a->trim, b->trim);
    assert_int_equal(a->edge_mask, b->edge_mask);
    for (int r = 0; r < RDMC_VC_MAX_MEMBERS; r++) {
        assert_int_equal(a->edge[r], b->edge[r]);
    }
}

/* trim = max, low = min of the edge; each seq in [low, trim) re-sent by the
 * lowest-ranked survivor holding it, and by nobody else. */
static void check_takeover(const rdmc_vc_view_t *v)
{
    uint64_t max = 0, min = UINT64_MAX;

    assert_true(v->edge_mask != 0);
    for (int r = 0; r < MAXN; r++) {
        if (v->edge_mask & bit(r)) {
            max = v->edge[r] > max ? v->edge[r] : max;
            min = v->edge[r] < min ? v->edge[r] : min;
        }
    }
    assert_int_equal(v->trim, max);
    assert_int_equal(v->low, min);
    assert_int_equal(rdmc_vc_view_resender(v, v->trim), -1);
    assert_int_equal(rdmc_vc_view_resender(v, v->low - 1), v->low == 0 ? 0 : -1);
    for (uint64_t seq = v->low; seq < v->trim; seq++) {
        int who = -1;
        for (int r = 0; r < MAXN && who < 0; r++) {
            who = (v->edge_mask & bit(r)) && v->edge[r] > seq ? r : -1;
        }
        assert_int_equal(rdmc_vc_view_resender(v, seq), who);
        for (int r = 0; r < MAXN; r++) {
            uint64_t from, to;
            if (v->edge_mask & bit(r)) {
                assert_int_equal(rdmc_vc_view_resend_range(v, r, &from, &to), 0);
                assert_int_equal(seq >= from && seq < to, r == who);
            }
        }
    }
}

/* Nothing installs before every old member still running (and reachable)
 * acked the batch (in its actual row, not in anybody's copy). */
static void check_all_acked(const sim_t *s, uint64_t old_members, uint64_t old_vid,
                            uint64_t num)
{
    for (int x = 0; x < s->n; x++) {
        const rdmc_vc_row_t *r = &s->m[x].rows[x];
        if ((old_members & bit(x)) && live(s, x) && !(s->lost & bit(x))) {
            assert_true(r->vid > old_vid || (r->vid == old_vid && r->num_acked >= num));
        }
    }
}

static void on_install(sim_t *s, int k, const rdmc_vc_view_t *v)
{
    member_t *m = &s->m[k];

    assert_true(m->wedge_seen);
    assert_int_equal(v->vid, m->vc.vid + 1);
    assert_true(v->vid < VIDS && m->nviews < VIDS);
    assert_int_equal(v->failed & ~s->lost, 0);
    check_all_acked(s, m->vc.members, m->vc.vid, v->num_installed);
    check_takeover(v);
    for (int r = 0; r < MAXN; r++) {
        if (v->edge_mask & bit(r)) {
            assert_true(s->m[r].frozen_known[m->vc.vid]);
            assert_int_equal(v->edge[r], s->m[r].frozen[m->vc.vid]);
        }
    }
    if (s->view_known[v->vid]) {
        assert_view_equal(v, &s->view[v->vid]);
    } else {
        s->view_known[v->vid] = true;
        s->view[v->vid] = *v;
    }
    m->views[m->nviews++] = *v;
    s->installs++;
    assert_int_equal(rdmc_vc_installed(&m->vc, m->rows), 0);
    m->wedge_seen = false;
}

/* A commit counted only real acks: never a dead member that did not ack. */
static void check_acks(const sim_t *s, int k, uint64_t acks)
{
    const rdmc_vc_row_t *own = &s->m[k].rows[k];

    assert_true(own->num_committed == own->num_changes && (acks & bit(k)));
    for (int x = 0; x < s->n; x++) {
        const rdmc_vc_row_t *r = &s->m[x].rows[x];
        if (acks & bit(x)) {
            assert_true(r->vid > own->vid ||
                        (r->vid == own->vid && r->num_acked == own->num_changes));
        }
    }
}

static void sim_step(sim_t *s, int k)
{
    member_t *m = &s->m[k];
    rdmc_vc_out_t out;
    uint64_t received = received_of(s, k);

    m->corrupt = m->must_flag = 0;
    if (s->hook) {
        s->hook(s, k);
    }
    int rc = rdmc_vc_step(&m->vc, m->rows, received, &out);
    assert_int_equal(rc, out.malformed ? -EPROTO : 0);
    assert_int_equal(out.malformed & ~m->corrupt, 0);
    assert_int_equal(out.malformed & m->must_flag, m->must_flag);
    for (int w = 0; w < s->n; w++) {
        if (m->corrupt & bit(w)) {
            restore_copy(s, k, w);
        }
    }
    const rdmc_vc_row_t *own = &m->rows[k];
    uint64_t vid = m->vc.vid;
    if (own->wedged && !m->frozen_known[vid]) {
        m->frozen_known[vid] = true;
        m->frozen[vid] = own->received;
    }
    if (own->wedged) {
        assert_int_equal(own->received, m->frozen[vid]);   /* frozen at the wedge */
    }
    if (out.acks) {
        check_acks(s, k, out.acks);
    }
    switch (out.action) {
    case RDMC_VC_WEDGE:
        assert_false(m->wedge_seen);
        assert_int_equal(own->received, received);   /* froze this step's count */
        m->wedge_seen = true;
        break;
    case RDMC_VC_INSTALL:
        on_install(s, k, &out.view);
        break;
    case RDMC_VC_PARTITIONED:
        m->left = true;
        s->lost |= bit(k);
        detect_later(s, k);
        break;
    case RDMC_VC_NONE:
        break;
    }
    record(s, k);
}

static void sim_round(sim_t *s)
{
    int order[MAXN], n = s->n;

    triggers(s);
    for (int k = 0; k < n; k++) {
        order[k] = k;
    }
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(rnd(s) % (unsigned)(i + 1)), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (int i = 0; i < n; i++) {
        if (live(s, order[i])) {
            sim_step(s, order[i]);
        }
    }
    network(s);
    s->round++;
}

/* Some scripted event (a kill, a detector) is still to come. */
static bool events_ahead(const sim_t *s)
{
    for (int i = 0; i < s->nev; i++) {
        if (!s->ev[i].done) {
            return true;
        }
    }
    for (int k = 0; k < s->n; k++) {
        if (s->kill_at[k] >= s->round) {
            return true;
        }
        for (int w = 0; w < s->n && live(s, k); w++) {
            if (s->m[k].detect_at[w] >= s->round && live(s, w)) {
                return true;
            }
        }
    }
    return false;
}

/* Every member still running is in the same view, made of exactly the
 * members still running, with nothing pending. */
static bool settled(const sim_t *s)
{
    uint64_t running = 0, vid = 0;

    if (events_ahead(s)) {
        return false;
    }

    for (int k = 0; k < s->n; k++) {
        running |= live(s, k) ? bit(k) : 0;
    }
    for (int k = 0; k < s->n; k++) {
        const member_t *m = &s->m[k];
        const rdmc_vc_row_t *own = &m->rows[k];
        if (!live(s, k)) {
            continue;
        }
        if ((vid && m->vc.vid != vid) || m->vc.members != running || own->wedged ||
            m->vc.install_pending) {
            return false;
        }
        vid = m->vc.vid;
    }
    return true;
}

/* What each member is at, for a run that did not settle. */
static void sim_dump(const sim_t *s)
{
    for (int k = 0; k < s->n; k++) {
        const member_t *m = &s->m[k];
        const rdmc_vc_row_t *r = &m->rows[k];
        print_message("member %d%s%s vid %llu members %#llx suspected %#llx changes %llu acked "
                      "%llu committed %llu installed %llu author %d wedged %d trim_ready %d "
                      "active %d\n",
                      k, m->killed ? " killed" : "", m->left ? " left" : "",
                      (unsigned long long)m->vc.vid, (unsigned long long)m->vc.members,
                      (unsigned long long)r->suspected, (unsigned long long)r->num_changes,
                      (unsigned long long)r->num_acked, (unsigned long long)r->num_committed,
                      (unsigned long long)r->num_installed,
                      r->num_changes > r->num_installed ? r->changes[0].proposer : -1, r->wedged,
                      r->trim_ready, m->vc.active);
    }
}

/* Run to a settled state; fails the test past ROUNDS_MAX when it must. */
static bool sim_run(sim_t *s, int rounds, bool must_settle)
{
    for (int i = 0; i < rounds; i++) {
        sim_round(s);
        if (settled(s)) {
            return true;
        }
    }
    if (must_settle) {
        sim_dump(s);
        fail_msg("no agreement within %d rounds", rounds);
    }
    return false;
}

/* ---------------------------------------------------------------------------
 * Scenario helpers. */

static uint64_t survivors_of(const sim_t *s)
{
    uint64_t set = 0;
    for (int k = 0; k < s->n; k++) {
        set |= live(s, k) ? bit(k) : 0;
    }
    return set;
}

/* Every running member is in view 1 + views, made of them, and installed
 * every view since it started. */
static void assert_outcome(const sim_t *s, int views)
{
    uint64_t running = survivors_of(s);

    assert_true(running != 0);
    for (int k = 0; k < s->n; k++) {
        if (live(s, k)) {
            assert_int_equal(s->m[k].vc.vid, 1 + (uint64_t)views);
            assert_int_equal(s->m[k].nviews, (int)(s->m[k].vc.vid - s->m[k].start_vid));
            assert_int_equal(s->m[k].vc.members, running);
        }
    }
}

static int permutations(int *a, int n, int out[][MAXN], int count)
{
    if (n <= 1) {
        memcpy(out[count], a, MAXN * sizeof(int));
        return count + 1;
    }
    for (int i = 0; i < n; i++) {
        int t = a[i];
        a[i] = a[n - 1];
        a[n - 1] = t;
        count = permutations(a, n - 1, out, count);
        a[n - 1] = a[i];
        a[i] = t;
    }
    return count;
}

/* ---------------------------------------------------------------------------
 * 1, 2: one failure, every victim, every order in which the survivors'
 * detectors fire (and the same with only the first one firing: the others
 * learn it from its row). */

static void run_single(int n, int victim, const int *order, bool only_first, unsigned seed)
{
    sim_t *s = sim_new(n, seed);
    uint64_t survivors = (bit(n) - 1) & ~bit(victim);

    for (int i = 0; i < n - 1; i++) {
        s->m[order[i]].det = only_first && i > 0 ? DET_NEVER : 2 * i;
    }
    s->kill_at[victim] = 2;
    sim_run(s, ROUNDS_MAX, true);
    assert_int_equal(survivors_of(s), survivors);
    assert_outcome(s, 1);
    const rdmc_vc_view_t *v = &s->view[2];
    assert_int_equal(v->failed, bit(victim));
    assert_int_equal(v->edge_mask, survivors);
    assert_int_equal(v->n, n);
    sim_free(s);
}

static void test_single_failure_every_order(void **state)
{
    static int perms[120][MAXN];
    (void)state;

    for (int n = 3; n <= 6; n++) {
        for (int victim = 0; victim < n; victim++) {
            int base[MAXN], len = 0;
            for (int r = 0; r < n; r++) {
                if (r != victim) {
                    base[len++] = r;
                }
            }
            int count = permutations(base, len, perms, 0);
            for (int p = 0; p < count; p++) {
                unsigned seed = (unsigned)(n * 10000 + victim * 1000 + p);
                run_single(n, victim, perms[p], false, seed);
                run_single(n, victim, perms[p], true, seed);
            }
        }
    }
}

/* Many random lags and detector delays for the leader's failure. */
static void test_leader_failure_random(void **state)
{
    (void)state;
    for (unsigned seed = 0; seed < 300; seed++) {
        int n = 3 + (int)(seed % 6);
        sim_t *s = sim_new(n, seed);
        s->pct = 10 + (int)(seed % 80);
        s->kill_at[0] = 1 + (int)(seed % 5);
        sim_run(s, ROUNDS_MAX, true);
        assert_outcome(s, 1);
        assert_int_equal(s->view[2].failed, 1);
        sim_free(s);
    }
}

/* ---------------------------------------------------------------------------
 * 3: two failures, every ordered pair, at once or at each step of the first
 * view change (the leader dying after proposing, after committing, after
 * deciding the trim...).  One view or two, but everyone agrees. */

static void run_double(int n, int a, int b, phase_t phase, unsigned seed)
{
    sim_t *s = sim_new(n, seed);
    uint64_t survivors = (bit(n) - 1) & ~bit(a) & ~bit(b);

    s->kill_at[a] = 2;
    if (phase == AT_ONCE) {
        s->kill_at[b] = 2;
    } else {
        s->ev[s->nev++] = (event_t){ phase, 0, true, -1, b, false, -1, false };
    }
    sim_run(s, ROUNDS_MAX, true);
    uint64_t running = survivors_of(s);
    if (n == 4 && phase == AT_ONCE) {
        /* 2 suspects of 4: no strict majority anywhere. */
        assert_int_equal(running, 0);
        assert_int_equal(s->installs, 0);
    } else if (n >= 5 || running != 0) {
        /* n = 4 may also end with everyone partitioned: all or none. */
        assert_int_equal(running, survivors);
        int views = s->m[lowest_of(survivors)].nviews;
        assert_true(views == 1 || views == 2);
        assert_outcome(s, views);
    }
    sim_free(s);
}

static void test_double_failures(void **state)
{
    (void)state;
    for (int n = 4; n <= 6; n++) {
        for (int a = 0; a < n; a++) {
            for (int b = 0; b < n; b++) {
                for (int phase = 0; phase < NPHASES && a != b; phase++) {
                    for (unsigned seed = 0; seed < 3; seed++) {
                        run_double(n, a, b, (phase_t)phase,
                                   seed + (unsigned)(n * 1000 + a * 100 + b * 10 + phase) * 7);
                    }
                }
            }
        }
    }
}

/* False suspicions (a slow member, a lost link) and crashes, at random
 * steps of a view change, often of the leader: a suspicion is final, so the
 * suspected member is removed or leaves, and whoever keeps going agrees on
 * every view.  Here a live member can be left out of a commit or a trim,
 * which is what the takeover barrier and the adoption of a prior leader's
 * batch and trim are for. */
static void test_false_suspicions_random(void **state)
{
    (void)state;
    for (unsigned seed = 0; seed < 20000; seed++) {
        int n = 4 + (int)(seed % 4);
        sim_t *s = sim_new(n, seed);
        s->pct = 20 + (int)(rnd(s) % 70);
        s->kill_at[rnd(s) % (unsigned)n] = 2;
        s->nev = 1 + (int)(rnd(s) % 3);
        for (int i = 0; i < s->nev; i++) {
            event_t *e = &s->ev[i];
            e->phase = (phase_t)(1 + rnd(s) % (NPHASES - 1));
            e->delay = (int)(rnd(s) % 4);
            e->kill = rnd(s) % 3 == 0;
            e->k = (int)(rnd(s) % (unsigned)n);
            e->w = rnd(s) % 2 ? -1 : (int)(rnd(s) % (unsigned)n);
            e->cut = rnd(s) % 2;
            e->at = -1;
        }
        if (s->nev >= 2 && rnd(s) % 2) {
            /* The leader and another member suspect each other at once:
             * each may go on with a majority that the other reaches too. */
            s->ev[1] = s->ev[0];
            s->ev[0].kill = s->ev[1].kill = false;
            s->ev[0].w = s->ev[1].k = -1;
            s->ev[1].w = s->ev[0].k;
            s->ev[1].delay = (int)(rnd(s) % 3);
        }
        sim_run(s, ROUNDS_MAX, true);
        sim_free(s);
    }
}

/* ---------------------------------------------------------------------------
 * 4: partitions.  The majority side installs, the minority stops. */

static void test_partition_3_of_5(void **state)
{
    (void)state;
    for (unsigned seed = 0; seed < 50; seed++) {
        sim_t *s = sim_new(5, seed);
        sim_run(s, 2, false);
        sim_partition(s, 0x07);
        sim_run(s, ROUNDS_MAX, true);
        for (int k = 3; k < 5; k++) {
            assert_true(s->m[k].left);
            assert_int_equal(s->m[k].nviews, 0);
        }
        /* One view, or two when the leader proposed 3 before suspecting 4. */
        assert_int_equal(survivors_of(s), 0x07);
        int views = s->m[0].nviews;
        assert_true(views == 1 || views == 2);
        assert_outcome(s, views);
        assert_int_equal(s->view[2].failed | (views == 2 ? s->view[3].failed : 0), 0x18);
        sim_free(s);
    }
}

static void test_partition_2_of_4(void **state)
{
    (void)state;
    for (unsigned seed = 0; seed < 50; seed++) {
        sim_t *s = sim_new(4, seed);
        sim_run(s, 2, false);
        sim_partition(s, 0x03);
        sim_run(s, ROUNDS_MAX, true);
        assert_int_equal(survivors_of(s), 0);
        assert_int_equal(s->installs, 0);
        sim_free(s);
    }
}

/* Derecho's rule kept as is: with two members nobody survives a failure,
 * not even rank 0. */
static void test_two_members_partition(void **state)
{
    (void)state;
    for (int victim = 0; victim < 2; victim++) {
        sim_t *s = sim_new(2, (unsigned)victim);
        s->kill_at[victim] = 1;
        sim_run(s, ROUNDS_MAX, true);
        assert_true(s->m[1 - victim].left);
        assert_int_equal(s->installs, 0);
        sim_free(s);
    }
}

/* suspects >= (N + 1) / 2 stops a member, for every N up to 64. */
static void test_partition_rule(void **state)
{
    static rdmc_vc_row_t rows[RDMC_VC_MAX_MEMBERS];
    rdmc_vc_t vc, other;
    rdmc_vc_out_t out;
    (void)state;

    for (int n = 1; n <= RDMC_VC_MAX_MEMBERS; n++) {
        for (int r = 1; r < n; r++) {
            assert_int_equal(rdmc_vc_init(&other, n, r, 1, &rows[r]), 0);
        }
        assert_int_equal(rdmc_vc_init(&vc, n, 0, 1, &rows[0]), 0);
        for (int k = 1; k < n; k++) {
            assert_int_equal(rdmc_vc_suspect(&vc, rows, k), 0);
            assert_true(rdmc_vc_step(&vc, rows, 0, &out) >= 0);
            bool stop = k >= (n + 1) / 2;
            assert_int_equal(out.action == RDMC_VC_PARTITIONED, stop);
            assert_int_equal(rows[0].left, stop);
            if (stop) {
                assert_int_equal(k, n - n / 2);   /* the first k without a strict majority */
                break;
            }
        }
    }
}

/* ---------------------------------------------------------------------------
 * 5: malformed rows are rejected, never trusted, never fatal. */

static void test_malformed_rows_rejected(void **state)
{
    rdmc_vc_t vc[3];
    rdmc_vc_row_t rows[3], good[3];
    rdmc_vc_out_t out;
    (void)state;

    for (int r = 0; r < 3; r++) {
        assert_int_equal(rdmc_vc_init(&vc[r], 3, r, 1, &rows[r]), 0);
    }
    memcpy(good, rows, sizeof(rows));
    assert_int_equal(rdmc_vc_step(&vc[0], rows, 0, &out), 0);

    for (int kind = 0; kind < 9; kind++) {
        rdmc_vc_row_t *r = &rows[1];
        rdmc_vc_change_t fail99 = { RDMC_VC_CHANGE_FAIL, 99, 1, 1 };
        *r = good[1];
        switch (kind) {
        case 0: r->num_committed = r->num_changes + 1; break;
        case 1: r->num_changes = 1; r->changes[0] = fail99; break;
        case 2: r->vid = 0; break;                                     /* backwards */
        case 3: r->suspected = bit(40); break;                         /* not a member */
        case 4: r->num_changes = 1; r->changes[0] = fail99; r->changes[0].who = 2;
                r->changes[0].end_of_view = 0; break;                  /* no end of view */
        case 5: r->num_changes = 1; r->changes[0] = fail99; r->changes[0].who = 2;
                r->changes[0].kind = 2; break;                         /* not a failure */
        case 6: r->num_changes = 1; r->changes[0] = fail99; r->changes[0].who = 2;
                r->changes[0].proposer = 99; break;
        case 7: r->trim_ready = 1; r->trim = 5; r->edge_mask = 1; break;  /* nothing committed */
        case 8: r->num_changes = r->num_acked = r->num_committed = 1;   /* a decision that */
                r->changes[0] = fail99; r->changes[0].who = 2;          /* counts the member */
                r->trim_ready = 1; r->edge_mask = 7; r->edge[0] = 3;    /* its batch fails: */
                r->edge[1] = 3; r->edge[2] = 9; r->trim = 9; break;     /* 2 would re-send */
        }
        assert_int_equal(rdmc_vc_step(&vc[0], rows, 0, &out), -EPROTO);
        assert_int_equal(out.malformed, bit(1));
        assert_int_equal(out.action, RDMC_VC_NONE);
        assert_int_equal(rows[0].suspected, 0);   /* nothing of it was trusted */
        assert_int_equal(rows[0].wedged, 0);
    }
    rows[1] = good[1];
    assert_int_equal(rdmc_vc_step(&vc[0], rows, 0, &out), 0);
    assert_int_equal(out.malformed, 0);
}

/* Corrupted copies of live rows for one step, and of the dead member's row
 * for good, during a view change: rejected each time, same outcome. */
static void corrupt_hook(sim_t *s, int k)
{
    member_t *m = &s->m[k];

    if (k == 1 && s->round >= 3 && s->round < 40) {
        rdmc_vc_row_t *r = &m->rows[2];
        int kind = s->round % 3;
        bool current = r->vid == m->vc.vid;
        if (kind == 0) {
            r->num_committed = r->num_changes + 1;
        } else if (kind == 1) {
            r->num_changes = r->num_installed + 1;
            r->changes[0] = (rdmc_vc_change_t){ RDMC_VC_CHANGE_FAIL, 99, 2, 1 };
        } else {
            r->vid = 0;
            current = true;
        }
        m->corrupt |= bit(2);
        m->must_flag |= current ? bit(2) : 0;
    }
    if (k == 2 && (m->vc.members & bit(4))) {
        m->rows[4].num_committed = m->rows[4].num_changes + 7;
        m->corrupt |= bit(4);
    }
}

static void test_malformed_rows_during_view_change(void **state)
{
    (void)state;
    for (unsigned seed = 0; seed < 40; seed++) {
        sim_t *s = sim_new(5, seed);
        s->hook = corrupt_hook;
        s->kill_at[4] = 2;
        sim_run(s, ROUNDS_MAX, true);
        assert_outcome(s, 1);
        assert_int_equal(s->view[2].failed, bit(4));
        sim_free(s);
    }
}

/* ---------------------------------------------------------------------------
 * 7 and the negative controls: a commit needs every live ack. */

static void test_silent_survivor_blocks_install(void **state)
{
    (void)state;
    for (unsigned seed = 0; seed < 10; seed++) {
        sim_t *s = sim_new(4, seed);
        s->kill_at[3] = 2;
        for (int k = 0; k < 4; k++) {
            s->cut[k][2] = true;   /* 2 runs and acks, but nobody sees its row */
        }
        assert_false(sim_run(s, ROUNDS_MAX / 2, false));
        assert_int_equal(s->installs, 0);
        const rdmc_vc_row_t *lead = &s->m[0].rows[0];
        assert_true(lead->num_changes > lead->num_installed);      /* proposed ... */
        assert_int_equal(lead->num_committed, lead->num_installed); /* ... never committed */
        assert_true(s->m[2].rows[2].num_acked == lead->num_changes); /* 2 did ack */

        for (int k = 0; k < 4; k++) {
            s->cut[k][2] = false;
        }
        sim_run(s, ROUNDS_MAX, true);
        assert_outcome(s, 1);
        sim_free(s);
    }
}

static void test_bad_arguments(void **state)
{
    rdmc_vc_t vc;
    rdmc_vc_row_t rows[3];
    rdmc_vc_out_t out;
    rdmc_vc_view_t view;
    uint64_t from, to;
    (void)state;

    assert_int_equal(rdmc_vc_init(&vc, 0, 0, 1, &rows[0]), -EINVAL);
    assert_int_equal(rdmc_vc_init(&vc, 65, 0, 1, &rows[0]), -EINVAL);
    assert_int_equal(rdmc_vc_init(&vc, 3, 3, 1, &rows[0]), -EINVAL);
    assert_int_equal(rdmc_vc_init(NULL, 3, 0, 1, &rows[0]), -EINVAL);
    memset(&vc, 0, sizeof(vc));
    assert_int_equal(rdmc_vc_step(&vc, rows, 0, &out), -EINVAL);   /* never initialised */
    for (int r = 2; r >= 0; r--) {
        assert_int_equal(rdmc_vc_init(&vc, 3, r, 1, &rows[r]), 0);
    }
    assert_int_equal(rdmc_vc_suspect(&vc, rows, -1), -EINVAL);
    assert_int_equal(rdmc_vc_suspect(&vc, rows, 3), -EINVAL);
    assert_int_equal(rdmc_vc_suspect(&vc, rows, 99), -EINVAL);
    assert_int_equal(rdmc_vc_suspect(&vc, rows, 0), -EINVAL);   /* myself */
    assert_int_equal(rdmc_vc_step(&vc, NULL, 0, &out), -EINVAL);
    assert_int_equal(rdmc_vc_step(&vc, rows, 0, NULL), -EINVAL);
    assert_int_equal(rdmc_vc_step(&vc, rows, 5, &out), 0);
    assert_int_equal(rdmc_vc_step(&vc, rows, 4, &out), -EINVAL);   /* received went back */
    assert_int_equal(rdmc_vc_installed(&vc, rows), -EINVAL);       /* nothing to install */

    memset(&view, 0, sizeof(view));
    view.vid = 2;
    view.n = 4;
    view.members = 0x0b;
    view.low = 3;
    view.trim = 7;
    view.edge_mask = 0x03;
    view.edge[0] = 3;
    view.edge[1] = 7;
    assert_int_equal(rdmc_vc_view_resender(&view, 2), -1);
    assert_int_equal(rdmc_vc_view_resender(&view, 3), 1);
    assert_int_equal(rdmc_vc_view_resender(&view, 7), -1);
    assert_int_equal(rdmc_vc_view_resend_range(&view, 2, &from, &to), -EINVAL);
    assert_int_equal(rdmc_vc_view_resend_range(&view, 99, &from, &to), -EINVAL);
    assert_int_equal(rdmc_vc_view_resend_range(&view, 0, &from, &to), 0);
    assert_true(from == to);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_failure_every_order),
        cmocka_unit_test(test_leader_failure_random),
        cmocka_unit_test(test_double_failures),
        cmocka_unit_test(test_false_suspicions_random),
        cmocka_unit_test(test_partition_3_of_5),
        cmocka_unit_test(test_partition_2_of_4),
        cmocka_unit_test(test_two_members_partition),
        cmocka_unit_test(test_partition_rule),
        cmocka_unit_test(test_malformed_rows_rejected),
        cmocka_unit_test(test_malformed_rows_during_view_change),
        cmocka_unit_test(test_silent_survivor_blocks_install),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests_name("view_change", tests, NULL, NULL);
}
