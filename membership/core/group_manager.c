/*
 * The group manager (group_manager.h): the detector and the view-change
 * state machine, fed from the SST and pushing through it.
 */
#include "group_manager.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rdmc_log.h"

static uint64_t bit(int r)
{
    return UINT64_C(1) << r;
}


static void push_own_row(rdmc_gm_t *gm)
{
    memcpy(rdmc_sst_view_region(gm->sst), &gm->rows[gm->me], sizeof(rdmc_vc_row_t));
    rdmc_sst_view_push(gm->sst);
}

int rdmc_gm_init(rdmc_gm_t *gm, const rdmc_gm_params_t *params, double now_ms)
{
    int rc;

    if (params->n < 1 || params->n > RDMC_VC_MAX_MEMBERS || params->me < 0 ||
        params->me >= params->n) {
        return -EINVAL;
    }
    memset(gm, 0, sizeof(*gm));
    gm->rows = calloc((size_t)params->n, sizeof(*gm->rows));
    gm->peers = calloc((size_t)params->n, sizeof(*gm->peers));
    if (gm->rows == NULL || gm->peers == NULL) {
        rdmc_gm_fini(gm);
        return -ENOMEM;
    }
    gm->sst = params->sst;
    gm->n = params->n;
    gm->me = params->me;
    gm->heartbeat_ms = params->heartbeat_ms > 0 ? params->heartbeat_ms
                                                : params->failure_timeout_ms / 4;
    gm->members = params->n == 64 ? UINT64_MAX : bit(params->n) - 1;
    rc = rdmc_fd_init(&gm->fd, params->n, params->me, params->failure_timeout_ms, now_ms);
    if (rc != 0) {
        rdmc_gm_fini(gm);
        return rc;
    }
    rdmc_fd_set_peer_state(&gm->fd, params->peer_state, params->peer_state_arg);
    /* Until a member's first push arrives, our copy of its row is the row it
     * starts with: a state it really was in. */
    for (int m = 0; m < params->n; m++) {
        rdmc_vc_t scratch;
        rc = rdmc_vc_init(m == params->me ? &gm->vc : &scratch, params->n, m, 0, &gm->rows[m]);
        if (rc != 0) {
            rdmc_gm_fini(gm);
            return rc;
        }
    }
    push_own_row(gm);
    return 0;
}

void rdmc_gm_fini(rdmc_gm_t *gm)
{
    rdmc_gm_stop_carrying(gm);
    free(gm->rows);
    free(gm->peers);
    gm->rows = NULL;
    gm->peers = NULL;
}

/* ---- heartbeats shared between communicators ---------------------------- */

/* We no longer carry or watch member m's beats here. */
static void let_go(rdmc_gm_t *gm, int m)
{
    rdmc_beat_share_t *share = gm->peers[m].share;

    if (share != NULL && share->carrier == gm) {
        share->carrier = NULL;
    }
    if (share != NULL && share->seen_on == gm) {
        share->seen_on = NULL;
    }
}

void rdmc_gm_share_beats(rdmc_gm_t *gm, int m, rdmc_beat_share_t *share)
{
    if (gm->peers != NULL && m >= 0 && m < gm->n && m != gm->me) {
        gm->peers[m].share = share;
    }
}

void rdmc_gm_stop_carrying(rdmc_gm_t *gm)
{
    gm->carrying_stopped = true;
    for (int m = 0; gm->peers != NULL && m < gm->n; m++) {
        let_go(gm, m);
    }
}

/* Can our beats on this communicator reach member m's process? */
static bool can_carry(const rdmc_gm_t *gm, int m, uint64_t cell)
{
    return !gm->carrying_stopped && (gm->members & bit(m)) && !(gm->fd.suspected & bit(m)) &&
           cell != RDMC_SST_LEAVING;
}

/* Claim member m's beats when nobody carries them or we beat more often,
 * let go when we no longer can carry them. */
static void choose_carrier(rdmc_gm_t *gm, int m, uint64_t cell)
{
    rdmc_beat_share_t *share = gm->peers[m].share;

    if (!can_carry(gm, m, cell)) {
        let_go(gm, m);
    } else if (share->carrier == NULL || share->carrier->heartbeat_ms > gm->heartbeat_ms) {
        share->carrier = gm;
    }
}

/* Does some member need this manager: to beat for it (carrier), or to
 * watch its beats at the heartbeat period (seen_on)?  A member with no
 * record, or one nobody carries or has seen beat yet, needs every one. */
static bool needed(const rdmc_gm_t *gm, bool to_watch)
{
    for (int m = 0; m < gm->n; m++) {
        const rdmc_beat_share_t *share = gm->peers[m].share;
        if (m == gm->me || !(gm->members & bit(m))) {
            continue;
        }
        if (share == NULL || share->carrier == NULL || share->carrier == gm) {
            return true;
        }
        if (to_watch && (share->seen_on == NULL || share->seen_on == gm)) {
            return true;
        }
    }
    return false;
}

bool rdmc_gm_must_beat(const rdmc_gm_t *gm)
{
    return needed(gm, false);
}

double rdmc_gm_step_period_ms(const rdmc_gm_t *gm)
{
    double quarter = gm->fd.timeout_ms / 4;

    return needed(gm, true) || quarter < gm->heartbeat_ms ? gm->heartbeat_ms : quarter;
}

/* What the detector watches of member m: its process's evidence when
 * shared (moved by any communicator's reading of its cell), else the
 * cell itself; a member leaving this communicator shows RDMC_SST_LEAVING
 * either way. */
static uint64_t watch_value(rdmc_gm_t *gm, int m)
{
    uint64_t cell = rdmc_sst_get(gm->sst, m, RDMC_SST_HEARTBEAT);
    rdmc_gm_peer_t *peer = &gm->peers[m];

    if (peer->share == NULL || cell == RDMC_SST_LEAVING) {
        if (peer->share != NULL) {
            let_go(gm, m);
        }
        return cell;
    }
    if (cell != peer->cell) {
        peer->cell = cell;
        peer->share->evidence++;
        peer->share->seen_on = gm;
    }
    choose_carrier(gm, m, cell);
    return peer->share->evidence;
}

/* Fresh copies of the others' rows; a torn or older copy is skipped. */
static void read_rows(rdmc_gm_t *gm)
{
    rdmc_vc_row_t copy;

    for (int m = 0; m < gm->n; m++) {
        if (m != gm->me && rdmc_sst_view_read(gm->sst, m, &copy, &gm->versions[m])) {
            gm->rows[m] = copy;
        }
    }
}

/* What the suspicion of a silent member rests on, besides the silence. */
static const char *os_said(const rdmc_gm_t *gm, int m)
{
    switch (rdmc_fd_last_seen(&gm->fd, m)) {
    case RDMC_PEER_GONE:
        return " (its process is gone)";
    case RDMC_PEER_STOPPED:
        return " (its process is stopped)";
    case RDMC_PEER_LIVE:
        return " (its process lives, but stays silent)";
    default:
        return "";
    }
}

static uint64_t detect(rdmc_gm_t *gm, double now_ms)
{
    uint64_t beats[RDMC_FD_MAX_MEMBERS];
    uint64_t newly;

    for (int m = 0; m < gm->n; m++) {
        beats[m] = watch_value(gm, m);
    }
    newly = rdmc_fd_observe(&gm->fd, beats, now_ms);
    for (uint64_t set = newly & gm->members; set != 0; set &= set - 1) {
        int m = __builtin_ctzll(set);
        rdmc_log(1, "member %d suspects %d: no heartbeat for %.0f ms%s", gm->me, m,
                 now_ms - gm->fd.moved_ms[m], os_said(gm, m));
    }
    for (int m = 0; m < gm->n; m++) {
        if (rdmc_sst_peer_failed(gm->sst, m) && rdmc_fd_report_error(&gm->fd, m) != 0) {
            rdmc_log(1, "member %d suspects %d: its SST window failed", gm->me, m);
            newly |= bit(m);
        }
    }
    return newly & gm->members;
}

void rdmc_gm_step(rdmc_gm_t *gm, double now_ms, uint64_t received, rdmc_vc_out_t *out_p)
{
    uint64_t newly = detect(gm, now_ms);

    read_rows(gm);
    for (uint64_t set = newly; set != 0; set &= set - 1) {
        rdmc_vc_suspect(&gm->vc, gm->rows, __builtin_ctzll(set));
    }
    /* -EPROTO: malformed rows were ignored, *out_p is still valid. */
    (void)rdmc_vc_step(&gm->vc, gm->rows, received, out_p);
    if (out_p->changed != 0) {
        push_own_row(gm);
    }
}

bool rdmc_gm_suspect(rdmc_gm_t *gm, int peer, const char *why)
{
    if (peer < 0 || peer >= gm->n || !(gm->members & bit(peer)) ||
        rdmc_fd_report_error(&gm->fd, peer) == 0) {
        return false;
    }
    rdmc_log(1, "member %d suspects %d: %s", gm->me, peer, why);
    rdmc_vc_suspect(&gm->vc, gm->rows, peer);
    return true;
}

bool rdmc_gm_peer_exited(rdmc_gm_t *gm, int peer)
{
    if (peer < 0 || peer >= gm->n ||
        rdmc_sst_get(gm->sst, peer, RDMC_SST_HEARTBEAT) == RDMC_SST_LEAVING) {
        return false;
    }
    return rdmc_gm_suspect(gm, peer, "its process exited");
}

void rdmc_gm_installed(rdmc_gm_t *gm, const rdmc_vc_view_t *view)
{
    (void)rdmc_vc_installed(&gm->vc, gm->rows);
    for (uint64_t set = view->failed; set != 0; set &= set - 1) {
        rdmc_sst_remove(gm->sst, __builtin_ctzll(set));
        let_go(gm, __builtin_ctzll(set));
    }
    gm->vid = view->vid;
    gm->members = view->members;
    gm->failed |= view->failed;
    push_own_row(gm);
}

double rdmc_gm_next_deadline_ms(const rdmc_gm_t *gm)
{
    return rdmc_fd_next_deadline_ms(&gm->fd);
}
