/*
 * Staging memory for packed copies: the whole message of a broadcast whose
 * datatype is not contiguous, which the engine sends from (root) and
 * receives into and forwards from (every other rank).  Fresh memory costs
 * a page fault per page at first touch and a munmap when freed: a 32 MiB
 * strided broadcast took 212 ms on the project's paravirtualised machine,
 * 9.5 ms with the memory reused (Open MPI's pipelined pack: 3.3 ms).  So
 * buffers are kept between broadcasts, up to a budget of bytes, and the
 * smallest that fits is handed out again.  One cache per process, under
 * its own lock.
 */
#ifndef RDMC_STAGING_H
#define RDMC_STAGING_H

#include <stddef.h>

/* At most this many buffers are kept, whatever the budget. */
#define RDMC_STAGING_KEPT_MAX 16

/* At least `bytes` of memory, or NULL when there is none; *capacity says
 * how much (to give back with it). */
void *rdmc_staging_get(size_t bytes, size_t *capacity);

/* Back to the cache: buf and capacity from rdmc_staging_get (NULL is
 * ignored).  Kept if it fits the budget, the buffers put back longest ago
 * freed to make room; freed otherwise. */
void rdmc_staging_put(void *buf, size_t capacity);

/* Bytes kept between uses (0, the start: every buffer is freed when put
 * back); buffers past a smaller budget are freed now (0 at the end frees
 * them all). */
void rdmc_staging_set_budget(size_t bytes);

/* Bytes kept now. */
size_t rdmc_staging_kept_bytes(void);

#endif
