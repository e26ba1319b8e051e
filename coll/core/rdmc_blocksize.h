/*
 * Choosing the block size of a broadcast from the cost model.
 *
 * A schedule of T(k) = a k + L steps moving m bytes in k blocks costs
 *   (a k + L) (alpha + beta m / k)
 * which is smallest at k* = sqrt(L beta m / (a alpha)), rounded to a whole
 * number of blocks.  Pipelines (L > 0, a = 1) want many blocks for large
 * messages; schedules without pipelining (L = 0) want a single block.
 */
#ifndef RDMC_BLOCKSIZE_H
#define RDMC_BLOCKSIZE_H

#include <stddef.h>
#include <stdint.h>

#include "rdmc_schedule.h"

#define RDMC_BLOCK_BYTES_MIN ((uint64_t)1024)
#define RDMC_BLOCK_BYTES_MAX ((uint64_t)64 << 20)
#define RDMC_MAX_BLOCKS ((uint64_t)1 << 22)   /* a step fits the engine's tags */

typedef struct rdmc_cost_model {
    double alpha_us;          /* fixed cost of one step */
    double beta_ns_per_byte;  /* per-byte cost of one step */
    uint64_t min_block_bytes; /* smallest automatic block; 0: RDMC_BLOCK_BYTES_MIN */
    uint64_t max_block_bytes; /* largest automatic block; 0: RDMC_BLOCK_BYTES_MAX */
} rdmc_cost_model_t;

/* TCP between nodes (coll_rdmc_module.c picks it for the tcp and sockets
 * providers across nodes). */
extern const rdmc_cost_model_t rdmc_tcp_model;

/* Block size for `nbytes` on n ranks: `requested` (clamped) when non-zero,
 * otherwise the cost model's optimum rounded to whole pages, within the
 * model's min_block_bytes and max_block_bytes.  The result never yields
 * more than RDMC_MAX_BLOCKS blocks. */
uint64_t rdmc_block_bytes(rdmc_schedule_alg_t alg, uint32_t n, uint64_t nbytes,
                          uint64_t requested, const rdmc_cost_model_t *model);

/* Number of blocks of a message: at least one, even for 0 bytes, so that
 * every receiver hears from the root. */
uint64_t rdmc_block_count(uint64_t nbytes, uint64_t block_bytes);

/* Length of block b. */
uint64_t rdmc_block_len(uint64_t nbytes, uint64_t block_bytes, uint64_t b);

#endif
