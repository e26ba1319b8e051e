/*
 * Layouts and the groups of a broadcast (rdmc_groups.h).
 */
#include "rdmc_groups.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- layouts ------------------------------------------------------------ */

typedef struct placed_rank {
    rdmc_place_t place;
    uint32_t rank;
} placed_rank_t;

static int compare_int64(int64_t a, int64_t b)
{
    return a < b ? -1 : a > b;
}

/* Up to `level` (0: node, 1: package, 2: NUMA domain), then by rank when
 * level is RDMC_UNIT_LEVELS. */
static int compare_places(const placed_rank_t *a, const placed_rank_t *b, int level)
{
    int c = compare_int64(a->place.node, b->place.node);

    if (c == 0 && level >= 1) {
        c = compare_int64(a->place.package, b->place.package);
    }
    if (c == 0 && level >= 2) {
        c = compare_int64(a->place.numa, b->place.numa);
    }
    if (c == 0 && level >= RDMC_UNIT_LEVELS) {
        c = compare_int64(a->rank, b->rank);
    }
    return c;
}

static int by_place_then_rank(const void *a, const void *b)
{
    return compare_places(a, b, RDMC_UNIT_LEVELS);
}

int rdmc_layout_init(rdmc_layout_t *lay, uint32_t n, const rdmc_place_t *places)
{
    placed_rank_t *sorted = calloc(n ? n : 1, sizeof(*sorted));
    uint32_t run = 0;

    memset(lay, 0, sizeof(*lay));
    lay->n = n;
    for (int l = 0; l < RDMC_UNIT_LEVELS; l++) {
        lay->unit[l] = calloc(n ? n : 1, sizeof(uint32_t));
    }
    if (sorted == NULL || lay->unit[0] == NULL || lay->unit[1] == NULL || lay->unit[2] == NULL) {
        free(sorted);
        rdmc_layout_free(lay);
        return -ENOMEM;
    }
    for (uint32_t r = 0; r < n; r++) {
        sorted[r] = (placed_rank_t){ places[r], r };
    }
    qsort(sorted, n, sizeof(*sorted), by_place_then_rank);
    /* Sorted by place, then rank: a unit's ranks are consecutive and its
     * lowest rank comes first. */
    for (int l = 0; l < RDMC_UNIT_LEVELS; l++) {
        uint32_t first = 0;
        for (uint32_t i = 0; i < n; i++) {
            if (i == 0 || compare_places(&sorted[i - 1], &sorted[i], l) != 0) {
                first = sorted[i].rank;
            }
            lay->unit[l][sorted[i].rank] = first;
        }
    }
    for (uint32_t i = 0; i < n; i++) {
        if (i == 0 || compare_places(&sorted[i - 1], &sorted[i], 0) != 0) {
            lay->nnodes++;
            run = 0;
        }
        run++;
        if (run > lay->widest_node) {
            lay->widest_node = run;
        }
    }
    free(sorted);
    return 0;
}

void rdmc_layout_free(rdmc_layout_t *lay)
{
    for (int l = 0; l < RDMC_UNIT_LEVELS; l++) {
        free(lay->unit[l]);
        lay->unit[l] = NULL;
    }
}

bool rdmc_layout_is_hierarchical(const rdmc_layout_t *lay)
{
    return lay->nnodes > 1 && lay->widest_node > 1;
}

bool rdmc_layout_same_node(const rdmc_layout_t *lay, uint32_t a, uint32_t b)
{
    return lay->unit[0][a] == lay->unit[0][b];
}

/* ---- groups ------------------------------------------------------------- */

typedef struct group_ctx {
    const rdmc_layout_t *lay;
    const uint32_t *members;
    uint32_t nmembers;
    uint32_t root;
} group_ctx_t;

static uint32_t member_at(const group_ctx_t *g, uint32_t i)
{
    return g->members != NULL ? g->members[i] : i;
}

/* The unit whose leaders form a group of `level` (level 3: the rank). */
static uint32_t child_unit(const group_ctx_t *g, uint32_t level, uint32_t rank)
{
    return level < RDMC_UNIT_LEVELS ? g->lay->unit[level][rank] : rank;
}

/* The unit such a group lives in (level 0: the whole communicator). */
static uint32_t parent_unit(const group_ctx_t *g, uint32_t level, uint32_t rank)
{
    return level > 0 ? g->lay->unit[level - 1][rank] : 0;
}

/* Does `rank` lead its unit of `level` (the root, or its lowest member)? */
static bool leads(const group_ctx_t *g, uint32_t level, uint32_t rank)
{
    uint32_t unit = child_unit(g, level, rank);

    if (rank == g->root) {
        return true;
    }
    if (child_unit(g, level, g->root) == unit) {
        return false;
    }
    for (uint32_t i = 0; i < g->nmembers; i++) {
        uint32_t m = member_at(g, i);
        if (child_unit(g, level, m) == unit) {
            return m == rank;   /* members ascend: the first is the lowest */
        }
    }
    return false;
}

static int ascending(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

/* The leaders of `level`'s units inside `me`'s parent unit, into out;
 * scratch (n entries) marks the units seen.  Returns how many. */
static uint32_t collect_group(const group_ctx_t *g, uint32_t level, uint32_t me, uint32_t *out,
                              uint32_t *scratch)
{
    uint32_t parent = parent_unit(g, level, me), count = 0;
    uint32_t root_unit = child_unit(g, level, g->root);

    for (uint32_t i = 0; i < g->nmembers; i++) {
        uint32_t m = member_at(g, i);
        if (parent_unit(g, level, m) == parent) {
            scratch[child_unit(g, level, m)] = UINT32_MAX;
        }
    }
    for (uint32_t i = 0; i < g->nmembers; i++) {
        uint32_t m = member_at(g, i), unit = child_unit(g, level, m);
        if (parent_unit(g, level, m) != parent || scratch[unit] != UINT32_MAX) {
            continue;
        }
        scratch[unit] = unit == root_unit ? g->root : m;
        out[count++] = scratch[unit];
    }
    qsort(out, count, sizeof(*out), ascending);
    return count;
}

static bool is_member(const group_ctx_t *g, uint32_t rank)
{
    for (uint32_t i = 0; i < g->nmembers; i++) {
        if (member_at(g, i) == rank) {
            return true;
        }
    }
    return false;
}

uint32_t rdmc_groups_of(const rdmc_layout_t *lay, const uint32_t *members, uint32_t nmembers,
                        uint32_t root, uint32_t me, rdmc_bcast_group_t *groups, uint32_t *storage)
{
    group_ctx_t g = { lay, members, nmembers, root };
    uint32_t ngroups = 0, first_level = 0;
    uint32_t *scratch = storage, *next = storage + (lay != NULL ? lay->n : nmembers);

    if (!is_member(&g, me) || !is_member(&g, root)) {
        return 0;
    }
    if (lay == NULL) {
        for (uint32_t i = 0; i < nmembers; i++) {
            next[i] = member_at(&g, i);
        }
        groups[0] = (rdmc_bcast_group_t){ 0, root, nmembers, next };
        return nmembers > 1;
    }
    while (!leads(&g, first_level, me)) {
        first_level++;   /* ends at the last level: everyone leads itself */
    }
    for (uint32_t level = first_level; level < RDMC_GROUP_LEVELS; level++) {
        uint32_t count = collect_group(&g, level, me, next, scratch);
        /* The parent unit's leader: the root if the unit holds it, else its
         * lowest member, which leads its own child unit too: the group's
         * lowest. */
        bool holds_root = level == 0 || parent_unit(&g, level, root) == parent_unit(&g, level, me);
        if (count < 2) {
            continue;
        }
        uint32_t group_root = holds_root ? root : next[0];
        groups[ngroups++] = (rdmc_bcast_group_t){ level, group_root, count, next };
        next += count;
    }
    return ngroups;
}
