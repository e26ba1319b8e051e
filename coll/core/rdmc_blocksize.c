#include "rdmc_blocksize.h"

#include <math.h>

#define PAGE_BYTES ((uint64_t)4096)

/* TCP between nodes (the tcp and sockets providers), calibrated on the
 * emulated cluster (benchmarks/emu/calibrate.sh): 1 Gbit/s links cost
 * 8.4 ns/B and 3.5 us per pipelined step, 200 Mbit/s links 41.8 ns/B and
 * 20 us.  The ratio (about 420 bytes) is what sets the block size, and it
 * is the same for both.  That alpha was measured with two hosts, whose CPUs
 * keep up, and the model's cost is linear in the block; with more hosts
 * neither holds at the ends, so automatic blocks stay within 32-64 KiB:
 * - blocks under 32 KiB lost to 32 KiB ones by 1.6-3x (system calls and
 *   wake-ups per message outgrow the link time of a small block);
 * - blocks over 64 KiB lost too, more with more hosts: 64 MiB at 1 Gbit/s,
 *   8 hosts, took 573/584 ms with 48/64 KiB blocks, 600 with 96 KiB, 616
 *   with the model's 116 KiB and 832 with 256 KiB; 4 hosts 572 (64 KiB)
 *   against 583; 2 hosts 566 against 561.
 * The cap is 60 KiB, not 64: one 64 KiB TCP send (GSO) packet carries
 * 65,160 payload bytes at MSS 1448, so a 65,536-byte block with rxm's
 * header trails a small second packet.  With rxm's eager limit at 64 KiB
 * (ofi_fabric.c) 8 emulated hosts took 1.34-1.6 s for 64 MiB in
 * 65,536-byte blocks, 588 ms in 61,440-byte ones (69,632: 768; 57,344:
 * 670). */
const rdmc_cost_model_t rdmc_tcp_model = { 3.5, 8.4, 32768, 61440 };

static uint64_t clamp_u64(uint64_t v, uint64_t lo, uint64_t hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

static uint64_t round_up(uint64_t v, uint64_t unit)
{
    return (v + unit - 1) / unit * unit;
}

static uint64_t cost_model_block_bytes(rdmc_schedule_alg_t alg, uint32_t n,
                                       uint64_t nbytes, const rdmc_cost_model_t *model)
{
    /* T(k) = a k + L, read off the schedule itself. */
    double a = (double)rdmc_schedule_num_steps(alg, n, 2) -
               (double)rdmc_schedule_num_steps(alg, n, 1);
    double extra = (double)rdmc_schedule_num_steps(alg, n, 1) - a;

    if (extra <= 0 || a <= 0 || model->alpha_us <= 0 || model->beta_ns_per_byte <= 0) {
        return nbytes;   /* no pipelining: one block is best */
    }
    double alpha_ns = model->alpha_us * 1000.0;
    double k = round(sqrt(extra * model->beta_ns_per_byte * (double)nbytes / (a * alpha_ns)));
    if (k < 1.0) {
        k = 1.0;
    }
    /* Equal blocks: a whole number of them, each a whole number of pages. */
    return round_up((uint64_t)ceil((double)nbytes / k), PAGE_BYTES);
}

uint64_t rdmc_block_bytes(rdmc_schedule_alg_t alg, uint32_t n, uint64_t nbytes,
                          uint64_t requested, const rdmc_cost_model_t *model)
{
    uint64_t block = requested;

    if (block == 0) {
        block = cost_model_block_bytes(alg, n, nbytes, model);
        /* A message under the floor goes as a single block. */
        if (block < model->min_block_bytes) {
            block = nbytes < model->min_block_bytes ? round_up(nbytes, PAGE_BYTES)
                                                    : model->min_block_bytes;
        }
        if (model->max_block_bytes != 0 && block > model->max_block_bytes) {
            block = model->max_block_bytes;
        }
    }
    block = clamp_u64(block, RDMC_BLOCK_BYTES_MIN, RDMC_BLOCK_BYTES_MAX);
    /* Very large messages: grow the blocks rather than exceed the count. */
    if (nbytes / block >= RDMC_MAX_BLOCKS) {
        block = round_up(nbytes / RDMC_MAX_BLOCKS + 1, PAGE_BYTES);
    }
    return block;
}

uint64_t rdmc_block_count(uint64_t nbytes, uint64_t block_bytes)
{
    return nbytes == 0 ? 1 : (nbytes + block_bytes - 1) / block_bytes;
}

uint64_t rdmc_block_len(uint64_t nbytes, uint64_t block_bytes, uint64_t b)
{
    uint64_t start = b * block_bytes;

    if (start >= nbytes) {
        return 0;
    }
    return nbytes - start < block_bytes ? nbytes - start : block_bytes;
}
