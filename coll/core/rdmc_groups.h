/*
 * Where ranks sit, and the groups a broadcast runs in.
 *
 * A layout nests units: nodes, inside a node its packages, inside a
 * package its NUMA domains.  A broadcast from `root` among `members` runs
 * as a tree of groups, one engine run per group:
 *
 *   level 0   one leader per node, rooted at the root (between nodes);
 *   level 1   inside the root's node, and every other node: one leader per
 *             package, rooted at the node's leader;
 *   level 2   inside each package: one leader per NUMA domain;
 *   level 3   inside each NUMA domain: all of its ranks.
 *
 *   node A (root r)               node B                 node C
 *   [r] ---- level 0 ------------> [b] <----------------> [c]
 *    |  \ level 1..3               / \                     |
 *   r1  r2                       b1  b2                   c1
 *
 * A unit's leader is the root when the unit holds it (so the root's node
 * costs no extra hop), else its lowest member.  A group with one member is
 * skipped; so a layout of one node per rank gives the flat broadcast
 * (level 0 holds everyone), and one node gives the intra-node tree alone.
 *
 * Every rank belongs to a suffix of the levels: it receives in the highest
 * group it is in (not at all if it is the root) and is the root of every
 * group below it.  Two ranks share at most one group (their lowest common
 * unit's), which is why groups of one broadcast can share a transport and
 * its tags without mixing.
 *
 * Pure: no state, no I/O; the engine glue, the unit tests and the
 * simulator compute the same groups.
 */
#ifndef RDMC_GROUPS_H
#define RDMC_GROUPS_H

#include <stdbool.h>
#include <stdint.h>

/* Levels of units: node, package, NUMA domain. */
#define RDMC_UNIT_LEVELS 3
/* Levels of groups: one more than units (the ranks of the innermost unit). */
#define RDMC_GROUP_LEVELS (RDMC_UNIT_LEVELS + 1)

/* What a rank says of where it sits: its node (any id equal exactly for the
 * ranks of one node), its package and NUMA domain within that node (-1:
 * unknown, e.g. not bound; such ranks share one "unknown" unit). */
typedef struct rdmc_place {
    uint32_t node;
    int32_t package;
    int32_t numa;
} rdmc_place_t;

/* A communicator's layout, the same at every rank: unit[l][r] is the
 * lowest rank sharing rank r's unit at level l (and so at every level
 * above). */
typedef struct rdmc_layout {
    uint32_t n;
    uint32_t *unit[RDMC_UNIT_LEVELS];
    uint32_t nnodes;             /* distinct nodes */
    uint32_t widest_node;        /* most ranks on one node */
} rdmc_layout_t;

/* Build the layout of n ranks from what each said (places[r]).  0 or
 * -ENOMEM; free with rdmc_layout_free. */
int rdmc_layout_init(rdmc_layout_t *lay, uint32_t n, const rdmc_place_t *places);
void rdmc_layout_free(rdmc_layout_t *lay);

/* Several nodes, and more than one rank on some node: a broadcast between
 * nodes gains from the levels.  (One node: only its inside levels.) */
bool rdmc_layout_is_hierarchical(const rdmc_layout_t *lay);

/* Are ranks a and b on one node? */
bool rdmc_layout_same_node(const rdmc_layout_t *lay, uint32_t a, uint32_t b);

/* One group of a broadcast, as one rank takes part in it. */
typedef struct rdmc_bcast_group {
    uint32_t level;              /* 0: between nodes; 1 ..: inside one node */
    uint32_t root;               /* the rank that sends in it */
    uint32_t nmembers;
    uint32_t *members;           /* ascending ranks, the root among them */
} rdmc_bcast_group_t;

/*
 * The groups `me` takes part in, for a broadcast from `root` among
 * `members` (ascending; NULL: ranks 0 .. nmembers-1), highest level first: the one
 * it receives in (unless it is the root), then those it is the root of.
 * groups must have room for RDMC_GROUP_LEVELS, and storage for
 * RDMC_GROUPS_STORAGE(n) ranks, n the communicator's size (the groups' member lists point into
 * it).  lay NULL: the flat broadcast, one group.  Returns how many groups
 * (0 when me or root is not a member).
 */
#define RDMC_GROUPS_STORAGE(n) ((RDMC_GROUP_LEVELS + 1) * (size_t)(n))
uint32_t rdmc_groups_of(const rdmc_layout_t *lay, const uint32_t *members, uint32_t nmembers,
                        uint32_t root, uint32_t me, rdmc_bcast_group_t *groups, uint32_t *storage);

#endif
