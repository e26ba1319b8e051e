/*
 * ofi/shm/: the SST's window in shared memory, for communicators whose ranks
 * all run on one node (no libfabric, no locks).
 *
 * Each rank's copy of the table lives in a memfd of its own.  A peer maps
 * it by opening /proc/<pid>/fd/<fd> (the 16-byte blob names pid, fd and a
 * random cookie the segment's header repeats), so no name is ever created
 * in /dev/shm or anywhere else: the memory goes when the last process that
 * maps it exits or unmaps it, SIGKILL included.  A write is a copy of our
 * bytes into the peer's mapped copy of our row, so nothing is held between
 * two writes, and a dead peer's segment stays mapped (and writable, to no
 * effect) until the link closes.
 *
 * Wake-ups go through the process's bell: a shared page (rings, sleeping)
 * and a pipe, reopened by the peers through /proc too.  A notifying write
 * bumps the target's rings and writes a byte into its pipe only when the
 * target announced that it sleeps; the sleeper polls the pipe beside its
 * endpoint's completion fd.
 *
 *   shm_segment.c  memfd segments and how a peer opens them
 *   shm_bell.c     the process's bell, and the peers' bells we ring
 *   shm_window.c   the window as an rdmc_transport_t (window ops only)
 *   shm_proc.c     what /proc shows of a process on this node
 *   shm_exits.c    the kernel's word when such a process exits (pidfds)
 *   shm_wake.c     the fd a sleeping progress thread polls for all of these
 */
#ifndef RDMC_SHM_H
#define RDMC_SHM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coll/core/rdmc_transport.h"
#include "membership/core/failure_detector.h"

typedef struct rdmc_shm_window rdmc_shm_window_t;

/* A window for member `me` of n.  Its transport implements window_expose,
 * window_attach and write; writes are placed when write() returns
 * (immediate_writes), in order, and never fail once the peer is attached. */
int rdmc_shm_window_open(int n, int me, rdmc_shm_window_t **w_p);
rdmc_transport_t *rdmc_shm_window_transport(rdmc_shm_window_t *w);
/* Peers whose segment could not be opened because their process is gone
 * (attach succeeded; writes to them fail with -ECONNRESET). */
int rdmc_shm_window_unreachable(const rdmc_shm_window_t *w);
/* Unmaps the peers' segments; the table itself is the caller's (it was
 * remapped in place by window_expose and goes with the caller's munmap). */
void rdmc_shm_window_close(rdmc_shm_window_t *w);

/* Memory mappings the process's open windows hold, counted whole from
 * rdmc_shm_window_open on: a window of n members holds its header and one
 * segment per peer, n in all (its table replaces the caller's mapping).
 * Linux caps a process's mappings (vm.max_map_count, 65530 by default)
 * and an mmap past the cap fails, the application's own large mallocs
 * included. */
long rdmc_shm_window_mappings(void);
/* vm.max_map_count, or -1 when /proc does not say. */
long rdmc_shm_system_map_limit(void);

/* The process's wake set (shm_wake.c): an fd that turns readable when a
 * peer rings our bell while we sleep, or a watched node-mate has exited
 * (until a look, rdmc_shm_exits_look, has seen it); -1 before the first
 * window or watch.  It stays the same fd until rdmc_shm_finalize. */
int rdmc_shm_wake_fd(void);
/* The process's bell (created with the first window).  At the start of
 * each progress pass: rings before this are its work. */
void rdmc_shm_bell_mark(void);
/* About to sleep: announce it; true when a ring came since the last mark
 * (then do not sleep, and disarm). */
bool rdmc_shm_bell_arm(void);
void rdmc_shm_bell_disarm(void);
/* Rings this process received (for tests). */
uint64_t rdmc_shm_bell_rings(void);
/* Close the bell, every peer bell and the wake set (after the last window
 * closed and the last watch ended). */
void rdmc_shm_finalize(void);

/* What /proc shows of process pid of this node (in our PID namespace):
 * live (running, waiting for a CPU, blocked in a call), stopped, or gone
 * (every thread dead, or no such process); unknown for pid 0 or when
 * /proc cannot be read. */
rdmc_peer_state_t rdmc_shm_proc_state(uint32_t pid);

/* Have the kernel tell when process pid of this node exits (counted: one
 * unwatch per watch).  0, or -errno: -ESRCH when it is gone already,
 * -ENOSYS or -EPERM where pidfds are refused (then nothing tells but
 * silence and /proc). */
int rdmc_shm_exits_watch(uint32_t pid);
void rdmc_shm_exits_unwatch(uint32_t pid);
/* Look (without waiting) whether watched processes exited; returns how
 * many exits were seen so far, so that a change means news. */
uint64_t rdmc_shm_exits_look(void);
/* Was pid watched and seen to exit by a look? */
bool rdmc_shm_exited(uint32_t pid);

#endif
