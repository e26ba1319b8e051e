/*
 * An in-process stand-in for ofi/ in unit tests: n endpoints in one
 * process, messages delivered in a random order, one-sided writes into
 * windows, posts that randomly fail with -EAGAIN, and a check that no data block arrives before its receive
 * is posted (the engine's credit flow control promises that).
 */
#ifndef FAKE_TRANSPORT_H
#define FAKE_TRANSPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "coll/core/rdmc_transport.h"

typedef struct fake_world fake_world_t;

typedef struct fake_endpoint {
    rdmc_transport_t base;   /* first: the engine sees this */
    fake_world_t *world;
    int rank;
} fake_endpoint_t;

/* eagain_percent: how often a post is refused with -EAGAIN. */
fake_world_t *fake_world_create(int n, unsigned seed, int eagain_percent);
void fake_world_destroy(fake_world_t *world);
rdmc_transport_t *fake_world_endpoint(fake_world_t *world, int rank);

/* Data messages that found no posted receive (must stay 0). */
uint64_t fake_world_overruns(const fake_world_t *world);
/* Receives matched by a message from another peer than they named. */
uint64_t fake_world_wrong_senders(const fake_world_t *world);
/* Messages sent but never received, and receives never matched. */
uint64_t fake_world_undelivered(const fake_world_t *world);
uint64_t fake_world_posted_recvs(const fake_world_t *world);
/* Of the messages sent and not yet received, the data blocks. */
uint64_t fake_world_undelivered_data(const fake_world_t *world);
/* Memory holds not yet released (must be 0 after every op is released). */
int64_t fake_world_mem_holds(const fake_world_t *world);
/* The largest number of data receives posted at once by one endpoint. */
uint64_t fake_world_max_posted_data(const fake_world_t *world);
/* The most data sends `rank` had posted at once (posted, completion not yet
 * reported to the engine). */
uint64_t fake_world_max_sends_out(const fake_world_t *world, int rank);

/* One-sided writes: applied by the target's progress, in posting order per
 * pair unless unordered (then ordered_write_bytes is 0), and with torn, a
 * random prefix at a time. */
void fake_world_set_writes(fake_world_t *world, bool unordered, bool torn);
uint64_t fake_world_writes_in_flight(const fake_world_t *world);

/* Cut `ranks` (bits) off from the others: from now on a send, inject or
 * write between the two sides fails at once with -EINVAL. */
void fake_world_cut(fake_world_t *world, uint64_t ranks);

/* Deliver a raw message as if `from` had sent it (for malformed input). */
void fake_world_forge(fake_world_t *world, int from, int to, uint64_t tag,
                      const void *buf, size_t len, uint64_t imm);

/* A one-sided write as a hostile or garbled peer lands it: len bytes into
 * rank `to`'s window at offset, at once, clipped to the window.  Returns
 * how many bytes landed. */
size_t fake_world_forge_write(fake_world_t *world, int to, size_t offset, const void *buf,
                              size_t len);
/* rank's window (its SST's table), for checks that a reader stays in it. */
const uint8_t *fake_world_window(const fake_world_t *world, int rank, size_t *len_p);

#endif
