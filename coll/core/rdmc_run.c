/*
 * A broadcast as a tree of engine runs (rdmc_run.h).
 */
#include "rdmc_run.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void run_fail(rdmc_run_t *run, int status, int peer, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void run_fail(rdmc_run_t *run, int status, int peer, const char *fmt, ...)
{
    va_list ap;

    if (run->status != 0) {
        return;   /* keep the first cause */
    }
    run->status = status < 0 ? status : -EIO;
    run->error_peer = peer;
    va_start(ap, fmt);
    vsnprintf(run->error, sizeof(run->error), fmt, ap);
    va_end(ap);
}

static bool is_origin(const rdmc_run_t *run)
{
    return run->p.rank == run->p.root;
}

/* ---- the hooks the engine runs call ------------------------------------- */

/* The root: the caller packs bytes in order, once, whichever run asks. */
static int origin_fill(void *arg, uint64_t offset, uint64_t len)
{
    rdmc_run_t *run = arg;
    uint64_t end = offset + len;
    int rc = 0;

    if (end > run->held && run->p.hooks.fill != NULL) {
        rc = run->p.hooks.fill(run->p.hooks.arg, run->held, end - run->held);
    }
    if (rc == 0 && end > run->held) {
        run->held = end;
    }
    return rc;
}

/* A relay sends only what has come in from above. */
static int relay_fill(void *arg, uint64_t offset, uint64_t len)
{
    const rdmc_run_t *run = arg;

    return run->held >= offset + len ? 0 : RDMC_FILL_LATER;
}

/* Inside a node, a broadcast between nodes takes the network's blocks:
 * a relay passes them on in the size they come in, so each can go on at
 * once, and the root's node takes them too.  In one block, as a broadcast
 * inside one node takes it, the root's node-mates copied the whole message
 * at once (a system call that holds a core for milliseconds) while the
 * pipeline between nodes started; the network's blocks were faster on
 * every emulated layout with several ranks per host (4 hosts x 2 ranks,
 * 16 MiB: 141.5-142.1 ms against 143.7-145.1).  A broadcast inside one
 * node sizes its own, as the user set them or from the local model. */
static uint64_t group_block_bytes(const rdmc_run_t *run, const rdmc_bcast_group_t *g)
{
    const rdmc_levels_t *lv = run->levels;

    if (g->level == 0 || lv == NULL) {
        return run->p.block_bytes;
    }
    if (lv->local_block_bytes == 0 && run->receives) {
        return run->ops[0]->header.block_bytes;   /* a relay: as they come in */
    }
    if (lv->local_block_bytes == 0 && run->groups[0].level == 0) {
        return run->p.block_bytes;                /* the root's node: the network's */
    }
    return rdmc_block_bytes(lv->local_schedule, g->nmembers, run->nbytes, lv->local_block_bytes,
                            &lv->local_model);
}

static const char *level_name(uint32_t level)
{
    static const char *const names[RDMC_GROUP_LEVELS] = { "between nodes", "between packages",
                                                           "between NUMA domains",
                                                           "inside a NUMA domain" };

    return level < RDMC_GROUP_LEVELS ? names[level] : "?";
}

/* Start the run of group i, rooted here, over the message at run->base. */
static int start_sending(rdmc_run_t *run, uint32_t i)
{
    const rdmc_bcast_group_t *g = &run->groups[i];
    const rdmc_levels_t *lv = run->levels;
    bool local = g->level > 0 && lv != NULL;
    rdmc_op_params_t q = run->p;
    int rc;

    run->ops[i] = calloc(1, sizeof(*run->ops[i]));
    if (run->ops[i] == NULL) {
        run_fail(run, -ENOMEM, -1, "out of memory starting a broadcast's run");
        return -ENOMEM;
    }
    q.tp = local ? lv->tp_local : run->p.tp;
    q.members = g->members;
    q.nmembers = g->nmembers;
    q.level = g->level;
    q.root = run->p.rank;
    q.relay = !is_origin(run);
    q.origin = rdmc_run_origin(run);
    q.buf = run->base;
    q.nbytes = run->nbytes;
    q.block_bytes = group_block_bytes(run, g);
    q.schedule = local ? lv->local_schedule : run->p.schedule;
    q.sends_in_flight = local ? lv->local_sends_in_flight : run->p.sends_in_flight;
    q.hooks = (rdmc_op_hooks_t){ .fill = q.relay ? relay_fill : origin_fill, .arg = run };
    rc = rdmc_op_start(run->ops[i], &q);
    if (rc != 0) {
        run_fail(run, rc, run->ops[i]->error_peer, "%s: %s", level_name(g->level),
                 run->ops[i]->error[0] ? run->ops[i]->error : "transport refused");
    }
    return rc;
}

static void start_relays(rdmc_run_t *run)
{
    for (uint32_t i = run->receives ? 1 : 0; i < run->ngroups && run->status == 0; i++) {
        (void)start_sending(run, i);
    }
}

/* The receiving run learned the message's size: place it, then start the
 * groups this rank relays it to. */
static void *received_place(void *arg, uint64_t nbytes)
{
    rdmc_run_t *run = arg;
    void *base = NULL;

    if (run->p.hooks.place != NULL) {
        base = run->p.hooks.place(run->p.hooks.arg, nbytes);
    } else if (nbytes <= run->p.nbytes) {
        base = (void *)run->p.buf;
    }
    if (base == NULL && nbytes > 0) {
        return NULL;   /* the engine fails the run: no room */
    }
    run->base = base;
    run->nbytes = nbytes;
    start_relays(run);
    return base;
}

static void received_bytes(void *arg, uint64_t offset, uint64_t len)
{
    rdmc_run_t *run = arg;

    if (run->p.hooks.arrived != NULL) {
        run->p.hooks.arrived(run->p.hooks.arg, offset, len);
    }
    run->held = offset + len;   /* in order: see rdmc_op_hooks_t */
    for (uint32_t i = 1; i < run->ngroups; i++) {
        if (run->ops[i] != NULL) {
            rdmc_op_poke(run->ops[i]);
        }
    }
}

static int start_receiving(rdmc_run_t *run)
{
    const rdmc_bcast_group_t *g = &run->groups[0];
    bool local = g->level > 0 && run->levels != NULL;
    rdmc_op_params_t q = run->p;
    int rc;

    run->ops[0] = calloc(1, sizeof(*run->ops[0]));
    if (run->ops[0] == NULL) {
        run_fail(run, -ENOMEM, -1, "out of memory starting a broadcast's run");
        return -ENOMEM;
    }
    q.tp = local ? run->levels->tp_local : run->p.tp;
    q.members = g->members;
    q.nmembers = g->nmembers;
    q.level = g->level;
    q.root = g->root;
    q.hooks = (rdmc_op_hooks_t){ .place = received_place, .arrived = received_bytes,
                                 .arg = run };
    rc = rdmc_op_start(run->ops[0], &q);
    if (rc != 0) {
        run_fail(run, rc, run->ops[0]->error_peer, "%s: %s", level_name(g->level),
                 run->ops[0]->error[0] ? run->ops[0]->error : "transport refused");
    }
    return rc;
}

/* ---- public -------------------------------------------------------------- */

int rdmc_run_start(rdmc_run_t *run, const rdmc_op_params_t *params,
                   const rdmc_levels_t *levels)
{
    const rdmc_layout_t *lay = levels != NULL ? levels->layout : NULL;
    uint32_t width = params->members != NULL ? params->nmembers : params->n;

    memset(run, 0, sizeof(*run));
    run->p = *params;
    run->levels = levels;
    run->error_peer = -1;
    run->storage = calloc(RDMC_GROUPS_STORAGE(lay != NULL ? lay->n : width), sizeof(uint32_t));
    if (run->storage == NULL) {
        run_fail(run, -ENOMEM, -1, "out of memory for a broadcast's groups");
        return run->status;
    }
    run->ngroups = rdmc_groups_of(lay, params->members, width, params->root, params->rank,
                                  run->groups, run->storage);
    if (run->ngroups == 0) {
        bool alone = width == 1 && params->rank == params->root;
        if (!alone) {
            run_fail(run, -EINVAL, -1, "rank %u or root %u is not among the members",
                     params->rank, params->root);
            return run->status;
        }
        run->done = true;   /* nobody to send to */
        return 0;
    }
    run->receives = run->groups[0].root != params->rank;
    if (run->receives) {
        return start_receiving(run);
    }
    run->base = (uint8_t *)params->buf;
    run->nbytes = params->nbytes;
    start_relays(run);
    return run->status;
}

bool rdmc_run_test(rdmc_run_t *run)
{
    bool all_done = true;

    for (uint32_t i = 0; i < run->ngroups && run->status == 0; i++) {
        rdmc_op_t *op = run->ops[i];
        if (op == NULL) {
            all_done = false;   /* a relay waiting for the message's size */
            continue;
        }
        if (rdmc_op_test(op) && op->status != 0) {
            run_fail(run, op->status, op->error_peer, "%s: %s", level_name(run->groups[i].level),
                     op->error);
        }
        all_done = all_done && op->done;
    }
    if (run->status == 0 && all_done) {
        run->done = true;
    }
    return run->done || run->status != 0;
}

uint32_t rdmc_run_origin(const rdmc_run_t *run)
{
    if (run->receives && run->ops[0] != NULL && run->ops[0]->header_known) {
        return run->ops[0]->header.origin;
    }
    return run->p.root;
}

int rdmc_run_parent(const rdmc_run_t *run)
{
    return run->receives ? (int)run->groups[0].root : -1;
}

void rdmc_run_abandon(rdmc_run_t *run)
{
    run_fail(run, -ECANCELED, -1, "abandoned after a view change");
    run->p.hooks = (rdmc_op_hooks_t){ .arg = NULL };
    for (uint32_t i = 0; i < run->ngroups; i++) {
        if (run->ops[i] != NULL) {
            rdmc_op_abandon(run->ops[i]);
        }
    }
}

bool rdmc_run_receives_quiet(const rdmc_run_t *run)
{
    for (uint32_t i = 0; i < run->ngroups; i++) {
        if (run->ops[i] != NULL && !rdmc_op_receives_quiet(run->ops[i])) {
            return false;
        }
    }
    return true;
}

uint64_t rdmc_run_transfers_done(const rdmc_run_t *run)
{
    uint64_t done = 0;

    for (uint32_t i = 0; i < run->ngroups; i++) {
        if (run->ops[i] != NULL) {
            done += run->ops[i]->sends_done + run->ops[i]->recvs_done;
        }
    }
    return done;
}

bool rdmc_run_quiet(const rdmc_run_t *run)
{
    for (uint32_t i = 0; i < run->ngroups; i++) {
        if (run->ops[i] != NULL && !rdmc_op_quiet(run->ops[i])) {
            return false;
        }
    }
    return true;
}

void rdmc_run_release(rdmc_run_t *run)
{
    for (uint32_t i = 0; i < run->ngroups; i++) {
        if (run->ops[i] != NULL) {
            rdmc_op_release(run->ops[i]);
            free(run->ops[i]);
            run->ops[i] = NULL;
        }
    }
    free(run->storage);
    run->storage = NULL;
}
