/*
 * The group manager of one communicator: the failure detector and the
 * view-change state machine (failure_detector.h, view_change.h) run over
 * the SST.  Each member's view-change row travels in the SST's view region
 * (whole copies, version and checksum), heartbeats in its heartbeat cell.
 *
 * No MPI, no libfabric: the caller (the stream) hands in the time and how
 * many collectives it has received, and carries out the actions one step
 * returns: WEDGE, INSTALL (then rdmc_gm_installed), PARTITIONED.
 *
 * Not thread-safe: the caller serialises every call (the module's lock).
 */
#ifndef RDMC_GROUP_MANAGER_H
#define RDMC_GROUP_MANAGER_H

#include <stdbool.h>
#include <stdint.h>

#include "failure_detector.h"
#include "sst.h"
#include "view_change.h"

typedef struct rdmc_gm {
    rdmc_sst_t *sst;
    int n, me;
    rdmc_fd_t fd;
    rdmc_vc_t vc;
    /* Our row and our copies of the others': n of them (a row is 856
     * bytes; the most a group can have, 64, made every communicator's
     * manager 57 KiB under failure handling). */
    rdmc_vc_row_t *rows;
    uint64_t versions[RDMC_VC_MAX_MEMBERS];    /* of the copies we accepted */
    uint64_t vid;                              /* the installed view */
    uint64_t members;                          /* its members */
    uint64_t failed;                           /* every rank removed so far */
} rdmc_gm_t;

typedef struct rdmc_gm_params {
    rdmc_sst_t *sst;            /* created with view_bytes = sizeof(rdmc_vc_row_t) */
    int n, me;                  /* n <= RDMC_VC_MAX_MEMBERS */
    double failure_timeout_ms;  /* heartbeat silence that makes a suspicion */
    /* What the operating system shows of a member's process (members on
     * this node), or NULL: see rdmc_fd_set_peer_state. */
    rdmc_peer_state_t (*peer_state)(void *arg, int m);
    void *peer_state_arg;
} rdmc_gm_params_t;

/* View 0: every rank.  -EINVAL for bad sizes, -ENOMEM.  Once it returned
 * 0, rdmc_gm_fini releases what it allocated. */
int rdmc_gm_init(rdmc_gm_t *gm, const rdmc_gm_params_t *params, double now_ms);
/* Also on a zeroed manager that was never initialised. */
void rdmc_gm_fini(rdmc_gm_t *gm);

/* One step: read the rows and heartbeats, suspect the silent and the peers
 * whose writes failed, run the state machine, push our row if it changed.
 * received: our SST received count (frozen by the caller once wedged). */
void rdmc_gm_step(rdmc_gm_t *gm, double now_ms, uint64_t received, rdmc_vc_out_t *out_p);

/* Suspect member `peer` now, for the reason `why` (logged): the transport
 * failed something addressed to it, the runtime saw it die, or another
 * communicator of this process removed it.  true if it was not suspected
 * yet. */
bool rdmc_gm_suspect(rdmc_gm_t *gm, int peer, const char *why);

/* The caller moved to out.view (RDMC_VC_INSTALL): the removed ranks leave
 * the SST for good. */
void rdmc_gm_installed(rdmc_gm_t *gm, const rdmc_vc_view_t *view);

/* When a silent member would be suspected (to bound a sleep). */
double rdmc_gm_next_deadline_ms(const rdmc_gm_t *gm);

#endif
