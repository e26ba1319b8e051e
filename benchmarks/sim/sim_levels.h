/*
 * Broadcasts on the two-level machine (sim_machine.h): RDMC by levels, as
 * the component runs it, next to RDMC over all ranks and what Open MPI
 * does.  m bytes, N nodes, c(b) = alpha + beta b between nodes, g(b) the
 * same inside a node (memory), t = beta m the link time.
 *
 * rdmc         The groups rdmc_groups_of() gives the component, one engine
 *              run each.  Level 0: a binomial pipeline among one leader per
 *              node (the root leads its node), blocks from rdmc_block_bytes()
 *              on the network's alpha and beta, replayed through
 *              rdmc_schedule_send().  Inside a node: a fan-out from the
 *              leader, each receiver copying every block out of the leader's
 *              memory (CMA: the leader is not busy), all receivers at once;
 *              a block is copied once the leader holds its bytes, so the
 *              levels overlap.  Its blocks are the fan-out's own
 *              rdmc_block_bytes() on the memory's alpha and beta, capped at
 *              the level-0 block (a network block goes down as soon as it
 *              arrived) unless --mem-block sets them.
 *                T ~ (k + log2 N - 1) c(m/k) + g(m/k): about t.
 *                  node A: r ==level 0==> B's leader --fan-out--> b1, b2
 *              Each node's link carries each byte in once; the root's
 *              carries about m out (the schedule sends a block twice here
 *              and there), the others less.
 * rdmc_flat    RDMC before levels: one binomial pipeline over all ranks as
 *              if each were a host of its own.  Two ranks of one node talk
 *              at memory speed (the memory's alpha and beta, both busy, one
 *              core); the old component used tcp for them, through loopback,
 *              whose extra CPU cost only --cores models.  Ranks of one node
 *              share its link, which carries more than m: in a step every
 *              rank of a node may send and receive a block across it.
 * tuned_chain  Open MPI tuned's "pipeline": fixed segments down the chain
 *              root, root+1, ... (rank order, so a node's ranks are
 *              consecutive and each link carries m once each way).
 *                T ~ (S + n - 2) max(c(s), g(s)), S = m/s segments.
 * han          Two levels without overlap inside a segment: a binomial tree
 *              of the whole segment among the leaders (the root's node led
 *              by the root, the others by their lowest rank), then, once a
 *              leader holds the segment, a binomial tree of it inside the
 *              node over memory.  Segments default to the whole message
 *              (store and forward: nothing goes down inside a node before
 *              its leader holds all of it); --han-segment cuts it like
 *              Open MPI's coll_han_bcast_segsize (64 KiB there), without
 *              han's lock-step between segments.
 *                T ~ log2 N c(m) + log2 w g(m), w ranks per node.
 *
 * Limits: no slow node (a node's link is what would be slow, not a rank's);
 * jitter applies to every message and copy.  With a core limit, copies get
 * a node's cores in the order the replay reaches them (step by step, level
 * by level), which is time order only roughly once copies queue for cores;
 * without a limit they never queue.  Links and ports are likewise served
 * in replay order.
 */
#ifndef SIM_LEVELS_H
#define SIM_LEVELS_H

#include <stdint.h>

#include "sim_machine.h"
#include "sim_model.h"

typedef enum sim_levels_alg {
    SIM_LEVELS_RDMC,          /* by levels: rdmc_groups_of() */
    SIM_LEVELS_RDMC_FLAT,     /* one binomial pipeline over all ranks */
    SIM_LEVELS_TUNED_CHAIN,   /* Open MPI tuned's segmented chain */
    SIM_LEVELS_HAN,           /* leaders, then each node, store and forward */
    SIM_LEVELS_COUNT
} sim_levels_alg_t;

/* "rdmc", "rdmc_flat", "tuned_chain", "han"; NULL if unknown. */
const char *sim_levels_alg_name(sim_levels_alg_t alg);

typedef struct sim_levels_case {
    sim_levels_alg_t alg;
    uint32_t root;                /* a rank of the machine */
    uint64_t nbytes;
    uint64_t block_bytes;         /* rdmc level 0 and rdmc_flat: 0 = automatic */
    uint64_t mem_block_bytes;     /* rdmc inside a node: 0 = automatic (see above) */
    uint64_t segment_bytes;       /* tuned_chain: 0 = SIM_DEFAULT_SEGMENT_BYTES */
    uint64_t han_segment_bytes;   /* han: 0 = the whole message */
} sim_levels_case_t;

typedef struct sim_levels_result {
    sim_ps_t completion;          /* the last rank holds everything */
    uint64_t block_bytes;         /* rdmc: level 0's block; rdmc_flat: its block;
                                     tuned_chain, han: the segment */
    uint64_t mem_block_bytes;     /* rdmc: the fan-outs' block; 0 if none ran */
    uint64_t busiest_link_bytes;  /* most bytes one node's link carried one way */
} sim_levels_result_t;

/*
 * Simulates one broadcast on the machine.  done_p and received_p, when not
 * NULL, have machine->n entries and receive each rank's completion time (0
 * for the root) and the bytes that arrived at it (a byte that came twice
 * counts twice).  Returns 0, -EINVAL for a bad case (or a slow node in
 * params), -E2BIG over the budget of sim_broadcasts.h, -ENOMEM, or -EPROTO
 * if a rank forwarded bytes it did not hold or a rank never got the whole
 * message.
 */
int sim_levels_run(const sim_machine_t *machine, const sim_levels_case_t *c,
                   const sim_params_t *params, sim_levels_result_t *result_p, sim_ps_t *done_p,
                   uint64_t *received_p);

#endif
