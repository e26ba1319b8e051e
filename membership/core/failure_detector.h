/*
 * Failure detection from heartbeats (pure: time and the table's values
 * come in as arguments).  Every member bumps its heartbeat cell in the SST
 * every coll_rdmc_heartbeat_ms, from its progress thread, so even a rank
 * that computes for minutes keeps beating; a member whose cell has not
 * moved for timeout_ms, or whose writes the provider failed, is suspected.
 * A member that announced it is leaving (RDMC_SST_LEAVING) is never
 * suspected: that is a departure, not a failure.
 *
 * Silence is measured on this member's own running time: when it was
 * itself stopped or starved between two observations (a gap longer than a
 * quarter of the timeout), only that quarter of the gap counts.  Peers'
 * writes reach a table only while its owner runs (libfabric's shm places
 * them when the target polls), so a member waking from a long stop would
 * otherwise find every cell unchanged and accuse every live peer.
 *
 * A member not heard from yet (its cell never moved since this member
 * started watching) gets RDMC_FD_FIRST_BEAT_FACTOR timeouts: members
 * finish setting a communicator up at different moments, and one that is
 * stopped or starved then has not started beating, though it lives.
 *
 * Where the operating system shows a member's process (a peer on this
 * node: rdmc_fd_set_peer_state), it is asked about a silent member at
 * every quarter timeout of the silence.  A live process (running, waiting
 * for a CPU, or blocked in a call) also gets RDMC_FD_FIRST_BEAT_FACTOR
 * timeouts: late is not dead.  Such a process may be starved of CPU, or
 * its passes held up inside one libfabric call (a first connection to a
 * peer took 150 to 750 ms on a loaded 2-core machine, part of it asleep
 * waiting for that peer).  A stopped one is suspected at the timeout, as
 * is any member the system does not show.  A gone one (killed, exited) is
 * suspected at the first quarter: waiting out the timeout cannot bring it
 * back.
 *
 * Members are numbered 0..n-1, n <= RDMC_FD_MAX_MEMBERS (a bitmap).
 */
#ifndef RDMC_FAILURE_DETECTOR_H
#define RDMC_FAILURE_DETECTOR_H

#include <stdbool.h>
#include <stdint.h>

#define RDMC_FD_MAX_MEMBERS 64
#define RDMC_FD_FIRST_BEAT_FACTOR 10
/* A member beats at least this often within one failure timeout, so that
 * a verdict takes this many missed beats, never one late beat: 100 ms
 * beats against a 50 ms timeout had every live member accused. */
#define RDMC_FD_BEATS_PER_TIMEOUT 4

/* A member's process as the operating system shows it. */
typedef enum rdmc_peer_state {
    RDMC_PEER_UNKNOWN = 0, /* cannot tell: another node, say */
    RDMC_PEER_LIVE,        /* running, waiting for a CPU, or blocked in a call */
    RDMC_PEER_STOPPED,     /* stopped by a signal or a debugger */
    RDMC_PEER_GONE,        /* exited or killed (a zombie too) */
} rdmc_peer_state_t;

typedef struct rdmc_fd {
    int n, me;
    double timeout_ms;
    uint64_t beat[RDMC_FD_MAX_MEMBERS];        /* last heartbeat value seen */
    double moved_ms[RDMC_FD_MAX_MEMBERS];      /* when it last changed (shifted past
                                                * this member's own stalls) */
    double observed_ms;                        /* the last observation */
    uint64_t suspected;                        /* bit m: member m is suspected */
    uint64_t heard;                            /* bit m: m's cell has moved */
    rdmc_peer_state_t (*peer_state)(void *arg, int m); /* see rdmc_fd_set_peer_state */
    void *peer_state_arg;
    /* The last answer about a silent member, given at quarter `asked_quarter`
     * of the silence that began at `asked_moved_ms`. */
    rdmc_peer_state_t seen[RDMC_FD_MAX_MEMBERS];
    double asked_moved_ms[RDMC_FD_MAX_MEMBERS];
    int asked_quarter[RDMC_FD_MAX_MEMBERS];
} rdmc_fd_t;

/* The heartbeat period for a failure timeout: asked_ms, shortened to fit
 * RDMC_FD_BEATS_PER_TIMEOUT beats into timeout_ms (at least 1 ms). */
int rdmc_fd_heartbeat_ms(int asked_ms, int timeout_ms);

/* Returns 0, or -EINVAL for n out of 1..RDMC_FD_MAX_MEMBERS or me out of
 * range.  Every member counts as just heard from at now_ms. */
int rdmc_fd_init(rdmc_fd_t *fd, int n, int me, double timeout_ms, double now_ms);

/* fn(arg, m): what the operating system shows of member m's process
 * (NULL, or RDMC_PEER_UNKNOWN: nothing). */
void rdmc_fd_set_peer_state(rdmc_fd_t *fd, rdmc_peer_state_t (*fn)(void *arg, int m), void *arg);

/* beats[m]: member m's heartbeat cell as this member sees it now.  Returns
 * the members suspected by this call (bits), newly; suspicions stay. */
uint64_t rdmc_fd_observe(rdmc_fd_t *fd, const uint64_t *beats, double now_ms);

/* What the operating system last showed of member m during its current
 * silence (RDMC_PEER_UNKNOWN if it was not asked), for messages. */
rdmc_peer_state_t rdmc_fd_last_seen(const rdmc_fd_t *fd, int m);

/* The transport failed a write or message to member m: suspect it now.
 * Returns its bit if the suspicion is new, else 0. */
uint64_t rdmc_fd_report_error(rdmc_fd_t *fd, int m);

/* Earliest time at which a member that stays silent becomes suspected
 * (for sleeping until then), or a huge value when nobody can be. */
double rdmc_fd_next_deadline_ms(const rdmc_fd_t *fd);

#endif
