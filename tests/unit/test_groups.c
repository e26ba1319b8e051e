/*
 * Layouts, the groups of a broadcast (coll/core/rdmc_groups.c), and
 * broadcasts run as trees of engine runs over them (coll/core/rdmc_run.c),
 * on the fake transport: every byte at every rank, from every root, on
 * even and uneven layouts, with NUMA domains, with members missing, and
 * with the levels on one transport or on two.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "coll/core/rdmc_blocksize.h"
#include "coll/core/rdmc_groups.h"
#include "coll/core/rdmc_run.h"
#include "fake_transport.h"

#define MAX_RANKS 24
#define MAX_ROUNDS 1000000

/* Ranks per node, in rank order; packages and NUMA domains unknown. */
static uint32_t layout_of_nodes(rdmc_layout_t *lay, const uint32_t *per_node, uint32_t nodes)
{
    rdmc_place_t places[MAX_RANKS];
    uint32_t n = 0;

    for (uint32_t node = 0; node < nodes; node++) {
        for (uint32_t i = 0; i < per_node[node]; i++) {
            places[n++] = (rdmc_place_t){ .node = 1000 + node, .package = -1, .numa = -1 };
        }
    }
    assert_int_equal(rdmc_layout_init(lay, n, places), 0);
    return n;
}

static bool contains(const rdmc_bcast_group_t *g, uint32_t rank)
{
    for (uint32_t i = 0; i < g->nmembers; i++) {
        if (g->members[i] == rank) {
            return true;
        }
    }
    return false;
}

static void expect_group(const rdmc_bcast_group_t *g, uint32_t level, uint32_t root,
                         const uint32_t *members, uint32_t count)
{
    assert_int_equal(g->level, level);
    assert_int_equal(g->root, root);
    assert_int_equal(g->nmembers, count);
    assert_memory_equal(g->members, members, count * sizeof(*members));
}

static void test_layout_units(void **state)
{
    (void)state;
    rdmc_layout_t lay;
    /* Nodes named out of rank order: 7 7 3 3 3 9. */
    rdmc_place_t places[6] = { { 7, -1, -1 }, { 7, -1, -1 }, { 3, -1, -1 },
                               { 3, -1, -1 }, { 3, -1, -1 }, { 9, -1, -1 } };

    assert_int_equal(rdmc_layout_init(&lay, 6, places), 0);
    assert_int_equal(lay.nnodes, 3);
    assert_int_equal(lay.widest_node, 3);
    assert_true(rdmc_layout_is_hierarchical(&lay));
    uint32_t want[6] = { 0, 0, 2, 2, 2, 5 };
    assert_memory_equal(lay.unit[0], want, sizeof(want));
    assert_true(rdmc_layout_same_node(&lay, 2, 4));
    assert_false(rdmc_layout_same_node(&lay, 1, 2));
    rdmc_layout_free(&lay);

    /* One rank per node: nothing to gain from levels. */
    uint32_t ones[3] = { 1, 1, 1 };
    layout_of_nodes(&lay, ones, 3);
    assert_false(rdmc_layout_is_hierarchical(&lay));
    rdmc_layout_free(&lay);
}

static void test_groups_four_by_two(void **state)
{
    (void)state;
    rdmc_layout_t lay;
    uint32_t per_node[4] = { 2, 2, 2, 2 };
    uint32_t storage[RDMC_GROUPS_STORAGE(8)];
    rdmc_bcast_group_t g[RDMC_GROUP_LEVELS];

    layout_of_nodes(&lay, per_node, 4);
    /* Root 0: the leaders 0 2 4 6 between nodes, then its own node. */
    assert_int_equal(rdmc_groups_of(&lay, NULL, 8, 0, 0, g, storage), 2);
    expect_group(&g[0], 0, 0, (uint32_t[]){ 0, 2, 4, 6 }, 4);
    expect_group(&g[1], 3, 0, (uint32_t[]){ 0, 1 }, 2);
    /* A leader receives between nodes and relays inside its node. */
    assert_int_equal(rdmc_groups_of(&lay, NULL, 8, 0, 4, g, storage), 2);
    expect_group(&g[0], 0, 0, (uint32_t[]){ 0, 2, 4, 6 }, 4);
    expect_group(&g[1], 3, 4, (uint32_t[]){ 4, 5 }, 2);
    /* Others only receive, from their node's leader. */
    assert_int_equal(rdmc_groups_of(&lay, NULL, 8, 0, 5, g, storage), 1);
    expect_group(&g[0], 3, 4, (uint32_t[]){ 4, 5 }, 2);

    /* Root 3 leads its node: no extra hop through rank 2. */
    assert_int_equal(rdmc_groups_of(&lay, NULL, 8, 3, 3, g, storage), 2);
    expect_group(&g[0], 0, 3, (uint32_t[]){ 0, 3, 4, 6 }, 4);
    expect_group(&g[1], 3, 3, (uint32_t[]){ 2, 3 }, 2);
    assert_int_equal(rdmc_groups_of(&lay, NULL, 8, 3, 2, g, storage), 1);
    expect_group(&g[0], 3, 3, (uint32_t[]){ 2, 3 }, 2);

    /* Leader 4 is gone: 5 leads its node. */
    uint32_t members[7] = { 0, 1, 2, 3, 5, 6, 7 };
    assert_int_equal(rdmc_groups_of(&lay, members, 7, 0, 5, g, storage), 1);
    expect_group(&g[0], 0, 0, (uint32_t[]){ 0, 2, 5, 6 }, 4);
    /* Not a member, or a root that is not: no groups. */
    assert_int_equal(rdmc_groups_of(&lay, members, 7, 0, 4, g, storage), 0);
    assert_int_equal(rdmc_groups_of(&lay, members, 7, 4, 0, g, storage), 0);
    rdmc_layout_free(&lay);
}

static void test_groups_uneven_and_flat(void **state)
{
    (void)state;
    rdmc_layout_t lay;
    uint32_t per_node[3] = { 3, 2, 1 };
    uint32_t storage[RDMC_GROUPS_STORAGE(6)];
    rdmc_bcast_group_t g[RDMC_GROUP_LEVELS];

    layout_of_nodes(&lay, per_node, 3);
    assert_int_equal(rdmc_groups_of(&lay, NULL, 6, 5, 5, g, storage), 1);
    expect_group(&g[0], 0, 5, (uint32_t[]){ 0, 3, 5 }, 3);
    assert_int_equal(rdmc_groups_of(&lay, NULL, 6, 5, 0, g, storage), 2);
    expect_group(&g[1], 3, 0, (uint32_t[]){ 0, 1, 2 }, 3);
    rdmc_layout_free(&lay);

    /* No layout: one group of everyone. */
    assert_int_equal(rdmc_groups_of(NULL, NULL, 5, 2, 4, g, storage), 1);
    expect_group(&g[0], 0, 2, (uint32_t[]){ 0, 1, 2, 3, 4 }, 5);
}

/* One node of 8 ranks: packages 0 (NUMA 0: ranks 0 1, NUMA 1: 2 3) and 1
 * (NUMA 2: 4 5, NUMA 3: 6 7). */
static void test_groups_packages_and_numa(void **state)
{
    (void)state;
    rdmc_layout_t lay;
    rdmc_place_t places[8];
    uint32_t storage[RDMC_GROUPS_STORAGE(8)];
    rdmc_bcast_group_t g[RDMC_GROUP_LEVELS];

    for (int r = 0; r < 8; r++) {
        places[r] = (rdmc_place_t){ 5, r / 4, r / 2 };
    }
    assert_int_equal(rdmc_layout_init(&lay, 8, places), 0);
    assert_false(rdmc_layout_is_hierarchical(&lay));
    assert_int_equal(rdmc_groups_of(&lay, NULL, 8, 0, 0, g, storage), 3);
    expect_group(&g[0], 1, 0, (uint32_t[]){ 0, 4 }, 2);
    expect_group(&g[1], 2, 0, (uint32_t[]){ 0, 2 }, 2);
    expect_group(&g[2], 3, 0, (uint32_t[]){ 0, 1 }, 2);
    assert_int_equal(rdmc_groups_of(&lay, NULL, 8, 0, 4, g, storage), 3);
    expect_group(&g[0], 1, 0, (uint32_t[]){ 0, 4 }, 2);
    expect_group(&g[1], 2, 4, (uint32_t[]){ 4, 6 }, 2);
    expect_group(&g[2], 3, 4, (uint32_t[]){ 4, 5 }, 2);
    assert_int_equal(rdmc_groups_of(&lay, NULL, 8, 0, 7, g, storage), 1);
    expect_group(&g[0], 3, 6, (uint32_t[]){ 6, 7 }, 2);
    rdmc_layout_free(&lay);
}

/* Random layouts, roots and member sets: every member but the root
 * receives in exactly one group, from a rank that holds the message
 * before it (the groups form a tree over the members), and no two ranks
 * share two groups. */
static void test_groups_always_form_a_tree(void **state)
{
    (void)state;
    srand(7);
    for (int trial = 0; trial < 300; trial++) {
        uint32_t n = 1 + (uint32_t)rand() % MAX_RANKS, members[MAX_RANKS], nmembers = 0;
        rdmc_place_t places[MAX_RANKS];
        rdmc_layout_t lay;
        for (uint32_t r = 0; r < n; r++) {
            places[r] = (rdmc_place_t){ (uint32_t)rand() % 4, rand() % 3 - 1, rand() % 3 - 1 };
            if (rand() % 5 != 0 || r == 0) {
                members[nmembers++] = r;
            }
        }
        assert_int_equal(rdmc_layout_init(&lay, n, places), 0);
        uint32_t root = members[(uint32_t)rand() % nmembers];
        uint32_t parent[MAX_RANKS], depth[MAX_RANKS];
        uint8_t pair_seen[MAX_RANKS][MAX_RANKS] = { { 0 } };
        for (uint32_t i = 0; i < nmembers; i++) {
            uint32_t me = members[i], storage[RDMC_GROUPS_STORAGE(MAX_RANKS)];
            rdmc_bcast_group_t g[RDMC_GROUP_LEVELS];
            uint32_t count = rdmc_groups_of(&lay, members, nmembers, root, me, g, storage);
            uint32_t receives = 0;
            parent[me] = me;
            for (uint32_t k = 0; k < count; k++) {
                assert_true(contains(&g[k], me) && contains(&g[k], g[k].root));
                assert_true(g[k].nmembers >= 2);
                assert_true(k == 0 || g[k].level > g[k - 1].level);
                if (g[k].root != me) {
                    assert_int_equal(k, 0);   /* it receives first, once */
                    receives++;
                    parent[me] = g[k].root;
                }
                for (uint32_t m = 0; m < g[k].nmembers; m++) {
                    uint32_t other = g[k].members[m];
                    if (other != me) {
                        assert_true(pair_seen[me][other] == 0 ||
                                    pair_seen[me][other] == g[k].level + 1);
                        pair_seen[me][other] = (uint8_t)(g[k].level + 1);
                    }
                }
            }
            assert_int_equal(receives, me == root ? 0 : 1);
            if (nmembers == 1) {
                assert_int_equal(count, 0);
            }
        }
        /* Following parents from any member reaches the root. */
        for (uint32_t i = 0; i < nmembers; i++) {
            uint32_t at = members[i];
            depth[at] = 0;
            while (at != root && depth[members[i]] <= nmembers) {
                at = parent[at];
                depth[members[i]]++;
            }
            assert_int_equal(at, root);
        }
        rdmc_layout_free(&lay);
    }
}

/* ---- broadcasts as trees of engine runs --------------------------------- */

static uint8_t pattern(uint64_t i, unsigned seed)
{
    return (uint8_t)((i * 131u + seed * 7u + (i >> 9)) & 0xff);
}

typedef struct run_case {
    const uint32_t *per_node;
    uint32_t nodes;
    bool numa;              /* two NUMA domains per node */
    bool two_transports;    /* inside nodes on a world of its own */
    uint32_t root;
    uint64_t nbytes, block_bytes, local_block_bytes;
    const uint32_t *members;  /* NULL: all */
    uint32_t nmembers;
    unsigned seed;
} run_case_t;

/* Unless the user sized them, the blocks inside a node are the network's
 * when the broadcast spans nodes (the root's node too), and a single block
 * when it stays in one node (the fan-out's model, here without a cost). */
static void assert_local_blocks(const run_case_t *c, const rdmc_run_t *run)
{
    uint64_t expected = c->nodes > 1 ? c->block_bytes : c->nbytes;

    for (uint32_t i = run->receives ? 1 : 0; i < run->ngroups; i++) {
        if (run->groups[i].level > 0) {
            assert_non_null(run->ops[i]);
            assert_int_equal(run->ops[i]->header.block_bytes, expected);
        }
    }
}

static void run_tree(const run_case_t *c)
{
    rdmc_place_t places[MAX_RANKS];
    rdmc_layout_t lay;
    uint32_t n = 0;

    for (uint32_t node = 0; node < c->nodes; node++) {
        for (uint32_t i = 0; i < c->per_node[node]; i++, n++) {
            places[n] = (rdmc_place_t){ node, c->numa ? 0 : -1, c->numa ? (int32_t)(i % 2) : -1 };
        }
    }
    assert_int_equal(rdmc_layout_init(&lay, n, places), 0);
    fake_world_t *net = fake_world_create((int)n, c->seed, 10);
    fake_world_t *mem = c->two_transports ? fake_world_create((int)n, c->seed + 1, 10) : net;
    rdmc_levels_t levels[MAX_RANKS];
    rdmc_run_t *runs = calloc(n, sizeof(*runs));
    uint8_t *bufs[MAX_RANKS];
    uint32_t width = c->members != NULL ? c->nmembers : n;

    for (uint32_t r = 0; r < n; r++) {
        bufs[r] = malloc(c->nbytes);
        for (uint64_t i = 0; i < c->nbytes; i++) {
            bufs[r][i] = r == c->root ? pattern(i, c->seed) : 0xee;
        }
    }
    for (uint32_t i = 0; i < width; i++) {
        uint32_t r = c->members != NULL ? c->members[i] : i;
        levels[r] = (rdmc_levels_t){
            .layout = &lay,
            .tp_local = fake_world_endpoint(mem, (int)r),
            .local_schedule = RDMC_SCHEDULE_FANOUT,
            .local_block_bytes = c->local_block_bytes,
        };
        rdmc_op_params_t p = {
            .tp = fake_world_endpoint(net, (int)r), .n = n, .rank = r,
            .members = c->members, .nmembers = c->nmembers, .root = c->root, .seq = 5,
            .buf = bufs[r], .nbytes = c->nbytes, .block_bytes = c->block_bytes,
            .schedule = RDMC_SCHEDULE_BINOMIAL_PIPELINE,
        };
        assert_int_equal(rdmc_run_start(&runs[r], &p, &levels[r]), 0);
    }
    bool all = false;
    for (long round = 0; round < MAX_ROUNDS && !all; round++) {
        all = true;
        for (uint32_t i = 0; i < width; i++) {
            uint32_t r = c->members != NULL ? c->members[i] : i;
            rdmc_transport_t *tp = fake_world_endpoint(net, (int)r);
            tp->ops->progress(tp);
            if (mem != net) {
                tp = fake_world_endpoint(mem, (int)r);
                tp->ops->progress(tp);
            }
            all = rdmc_run_test(&runs[r]) && all;
        }
    }
    assert_true(all);
    for (uint32_t i = 0; i < width; i++) {
        uint32_t r = c->members != NULL ? c->members[i] : i;
        if (runs[r].status != 0) {
            fail_msg("rank %u: %s", r, runs[r].error);
        }
        assert_int_equal(rdmc_run_origin(&runs[r]), c->root);
        /* Only node leaders receive from another node. */
        int parent = rdmc_run_parent(&runs[r]);
        if (r == c->root) {
            assert_int_equal(parent, -1);
        } else {
            assert_true(parent >= 0);
            assert_int_equal(runs[r].groups[0].level == 0,
                             !rdmc_layout_same_node(&lay, (uint32_t)parent, r));
        }
        for (uint64_t b = 0; b < c->nbytes; b++) {
            if (bufs[r][b] != pattern(b, c->seed)) {
                fail_msg("rank %u byte %llu: %#x", r, (unsigned long long)b, bufs[r][b]);
            }
        }
        if (c->local_block_bytes == 0) {
            assert_local_blocks(c, &runs[r]);
        }
        assert_true(rdmc_run_quiet(&runs[r]));
        rdmc_run_release(&runs[r]);
    }
    assert_int_equal(fake_world_overruns(net), 0);
    assert_int_equal(fake_world_wrong_senders(net), 0);
    assert_int_equal(fake_world_mem_holds(net), 0);
    if (mem != net) {
        assert_int_equal(fake_world_overruns(mem), 0);
        assert_int_equal(fake_world_wrong_senders(mem), 0);
        assert_int_equal(fake_world_mem_holds(mem), 0);
        fake_world_destroy(mem);
    }
    fake_world_destroy(net);
    for (uint32_t r = 0; r < n; r++) {
        free(bufs[r]);
    }
    free(runs);
    rdmc_layout_free(&lay);
}

static void test_runs_deliver_every_byte(void **state)
{
    (void)state;
    static const uint32_t four_by_two[] = { 2, 2, 2, 2 }, two_by_four[] = { 4, 4 },
                          uneven[] = { 3, 2, 1 }, root_alone[] = { 1, 3, 2 };
    const struct {
        const uint32_t *per_node;
        uint32_t nodes;
    } layouts[] = { { four_by_two, 4 }, { two_by_four, 2 }, { uneven, 3 }, { root_alone, 3 } };

    for (unsigned l = 0; l < sizeof(layouts) / sizeof(layouts[0]); l++) {
        uint32_t n = 0;
        for (uint32_t i = 0; i < layouts[l].nodes; i++) {
            n += layouts[l].per_node[i];
        }
        for (uint32_t root = 0; root < n; root++) {
            /* Blocks of different sizes at the two levels: a relay sends
             * a block once all of its bytes have come. */
            run_case_t c = { layouts[l].per_node, layouts[l].nodes, root % 2 == 1, root % 3 == 0,
                             root, 100000 + root * 777, 4096, 12288, NULL, 0, 3 + root };
            run_tree(&c);
        }
    }
}

static void test_runs_inside_nodes_take_the_network_blocks(void **state)
{
    (void)state;
    static const uint32_t four_by_two[] = { 2, 2, 2, 2 }, uneven[] = { 3, 2, 1 },
                          one_node[] = { 5 };
    const run_case_t cases[] = {
        { four_by_two, 4, false, true, 0, 90001, 8192, 0, NULL, 0, 11 },
        { four_by_two, 4, true, false, 5, 90001, 8192, 0, NULL, 0, 12 },
        { uneven, 3, true, true, 4, 65536, 4096, 0, NULL, 0, 13 },
        { uneven, 3, false, false, 1, 65536, 4096, 0, NULL, 0, 14 },
        { uneven, 3, false, true, 5, 65536, 4096, 0, NULL, 0, 16 },   /* a node of its own */
        { one_node, 1, true, false, 2, 50000, 4096, 0, NULL, 0, 15 },
    };

    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        run_tree(&cases[i]);
    }
}

static void test_runs_with_members_missing(void **state)
{
    (void)state;
    static const uint32_t per_node[] = { 3, 3, 2 };
    /* Rank 3, node 1's leader, is gone: 4 leads it. */
    static const uint32_t members[] = { 0, 1, 2, 4, 5, 6, 7 };
    run_case_t c = { per_node, 3, false, true, 6, 70001, 2048, 8192, members, 7, 9 };

    run_tree(&c);
    c.root = 1;
    c.two_transports = false;
    run_tree(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout_units),
        cmocka_unit_test(test_groups_four_by_two),
        cmocka_unit_test(test_groups_uneven_and_flat),
        cmocka_unit_test(test_groups_packages_and_numa),
        cmocka_unit_test(test_groups_always_form_a_tree),
        cmocka_unit_test(test_runs_deliver_every_byte),
        cmocka_unit_test(test_runs_inside_nodes_take_the_network_blocks),
        cmocka_unit_test(test_runs_with_members_missing),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
