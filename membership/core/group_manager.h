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
 * Heartbeats shared between communicators.  A process that shares many
 * communicators with a peer needs to send that peer only one stream of
 * heartbeats, and every communicator may judge the peer by any of them:
 * under failure handling 2000 idle communicators of 4 ranks each wrote a
 * heartbeat to each peer every 100 ms, 60,000 writes a second per rank,
 * which took 42% of a core per rank through tcp.  The caller gives each
 * manager, per member, the process-wide record of that member's process
 * (rdmc_beat_share_t, rdmc_gm_share_beats).  Then:
 *   - evidence: whenever any manager sees the member's heartbeat cell
 *     move, the record's evidence count moves, and every manager's
 *     detector watches that count instead of its own cell;
 *   - carrier: one manager per record beats for it (the one with the
 *     shortest heartbeat period, the first to claim among equals); a
 *     manager beats only while it carries some member, or a member has no
 *     record or no carrier yet (rdmc_gm_must_beat).  A carrier lets go of
 *     a member it can no longer reach that way (the member left the
 *     communicator, is suspected or removed) and of all of them when its
 *     communicator is freed or broken (rdmc_gm_stop_carrying); another
 *     manager with that member claims it at its next step.
 *   - watching: a manager on which some member's beats were last seen to
 *     move (or nobody's yet), or that beats itself, steps at its heartbeat
 *     period; the others every quarter of the failure timeout
 *     (rdmc_gm_step_period_ms): their detectors judge by the evidence the
 *     watching ones keep moving, and a peer's beats that move over to
 *     another communicator are seen there within that quarter.
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

/* One peer process, shared by the managers of every communicator of this
 * process that has it as a member (see the top). */
typedef struct rdmc_beat_share {
    uint64_t evidence;              /* moves whenever a manager sees the process beat */
    const struct rdmc_gm *carrier;  /* the manager that beats for it, or NULL */
    const struct rdmc_gm *seen_on;  /* the manager that last saw its beats move, or NULL */
} rdmc_beat_share_t;

typedef struct rdmc_gm_peer {
    rdmc_beat_share_t *share;   /* NULL: judged by this communicator's cell alone */
    uint64_t cell;              /* its heartbeat cell when last read */
} rdmc_gm_peer_t;

typedef struct rdmc_gm {
    rdmc_sst_t *sst;
    int n, me;
    double heartbeat_ms;        /* this communicator's period (carrier choice) */
    rdmc_gm_peer_t *peers;      /* n of them */
    bool carrying_stopped;      /* rdmc_gm_stop_carrying was called */
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
    double heartbeat_ms;        /* the period of our beats (0: a quarter of the timeout) */
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

/* The operating system says member `peer`'s process exited: suspect it,
 * unless its row says it left this communicator (a process that left
 * every communicator may end before its peers have stepped).  true if the
 * suspicion is new. */
bool rdmc_gm_peer_exited(rdmc_gm_t *gm, int peer);

/* The caller moved to out.view (RDMC_VC_INSTALL): the removed ranks leave
 * the SST for good. */
void rdmc_gm_installed(rdmc_gm_t *gm, const rdmc_vc_view_t *view);

/* Judge member m by the process-wide record share from now on; share
 * must outlive rdmc_gm_fini, which lets go of it. */
void rdmc_gm_share_beats(rdmc_gm_t *gm, int m, rdmc_beat_share_t *share);

/* Must this communicator's heartbeats go out (see the top)? */
bool rdmc_gm_must_beat(const rdmc_gm_t *gm);
/* How soon this manager should step again when nothing else is due: its
 * heartbeat period while it beats or watches, else a quarter of the
 * failure timeout (never less than the period). */
double rdmc_gm_step_period_ms(const rdmc_gm_t *gm);

/* The communicator is freed or broken: carry nobody's beats any more. */
void rdmc_gm_stop_carrying(rdmc_gm_t *gm);

/* When a silent member would be suspected (to bound a sleep). */
double rdmc_gm_next_deadline_ms(const rdmc_gm_t *gm);

#endif
