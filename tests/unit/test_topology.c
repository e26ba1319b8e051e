/*
 * NIC choice by locality, on a made-up two-socket machine loaded from XML:
 * socket 0 holds PUs 0-1 and a NIC at 0000:01:00.0, socket 1 holds PUs 2-3
 * and a NIC at 0000:81:00.0.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "coll/core/rdmc_groups.h"
#include "ofi/ofi_topology.h"

#define SETS(cpus, nodes) \
    "cpuset=\"" cpus "\" complete_cpuset=\"" cpus "\" nodeset=\"" nodes \
    "\" complete_nodeset=\"" nodes "\""

static const char two_socket_xml[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<!DOCTYPE topology SYSTEM \"hwloc2.dtd\">\n"
    "<topology version=\"2.0\">\n"
    " <object type=\"Machine\" os_index=\"0\" " SETS("0x0000000f", "0x00000003")
    " allowed_cpuset=\"0x0000000f\" allowed_nodeset=\"0x00000003\" gp_index=\"1\">\n"
    "  <object type=\"Package\" os_index=\"0\" " SETS("0x00000003", "0x00000001") " gp_index=\"2\">\n"
    "   <object type=\"NUMANode\" os_index=\"0\" " SETS("0x00000003", "0x00000001")
    " gp_index=\"3\" local_memory=\"1073741824\"/>\n"
    "   <object type=\"Core\" os_index=\"0\" " SETS("0x00000001", "0x00000001") " gp_index=\"4\">\n"
    "    <object type=\"PU\" os_index=\"0\" " SETS("0x00000001", "0x00000001") " gp_index=\"5\"/>\n"
    "   </object>\n"
    "   <object type=\"Core\" os_index=\"1\" " SETS("0x00000002", "0x00000001") " gp_index=\"6\">\n"
    "    <object type=\"PU\" os_index=\"1\" " SETS("0x00000002", "0x00000001") " gp_index=\"7\"/>\n"
    "   </object>\n"
    "   <object type=\"Bridge\" gp_index=\"20\" bridge_type=\"0-1\" depth=\"0\" bridge_pci=\"0000:[01-01]\">\n"
    "    <object type=\"PCIDev\" gp_index=\"21\" pci_busid=\"0000:01:00.0\""
    " pci_type=\"0200 [15b3:1017] [15b3:0000] 00\" pci_link_speed=\"0.000000\"/>\n"
    "   </object>\n"
    "  </object>\n"
    "  <object type=\"Package\" os_index=\"1\" " SETS("0x0000000c", "0x00000002") " gp_index=\"8\">\n"
    "   <object type=\"NUMANode\" os_index=\"1\" " SETS("0x0000000c", "0x00000002")
    " gp_index=\"9\" local_memory=\"1073741824\"/>\n"
    "   <object type=\"Core\" os_index=\"2\" " SETS("0x00000004", "0x00000002") " gp_index=\"10\">\n"
    "    <object type=\"PU\" os_index=\"2\" " SETS("0x00000004", "0x00000002") " gp_index=\"11\"/>\n"
    "   </object>\n"
    "   <object type=\"Core\" os_index=\"3\" " SETS("0x00000008", "0x00000002") " gp_index=\"12\">\n"
    "    <object type=\"PU\" os_index=\"3\" " SETS("0x00000008", "0x00000002") " gp_index=\"13\"/>\n"
    "   </object>\n"
    "   <object type=\"Bridge\" gp_index=\"22\" bridge_type=\"0-1\" depth=\"0\" bridge_pci=\"0000:[81-81]\">\n"
    "    <object type=\"PCIDev\" gp_index=\"23\" pci_busid=\"0000:81:00.0\""
    " pci_type=\"0200 [15b3:1017] [15b3:0000] 00\" pci_link_speed=\"0.000000\"/>\n"
    "   </object>\n"
    "  </object>\n"
    " </object>\n"
    "</topology>\n";

static const rdmc_nic_candidate_t nic0 = { "mlx5_0", true, 0, 0x01, 0, 0 };
static const rdmc_nic_candidate_t nic1 = { "mlx5_1", true, 0, 0x81, 0, 0 };
static const rdmc_nic_candidate_t no_pci = { "lo", false, 0, 0, 0, 0 };
static const rdmc_nic_candidate_t unknown_pci = { "ghost", true, 0, 0x42, 0, 0 };

static int setup(void **state)
{
    hwloc_topology_t topo;
    if (hwloc_topology_init(&topo) != 0 ||
        hwloc_topology_set_xmlbuffer(topo, two_socket_xml, (int)sizeof(two_socket_xml)) != 0 ||
        hwloc_topology_set_io_types_filter(topo, HWLOC_TYPE_FILTER_KEEP_ALL) != 0 ||
        hwloc_topology_load(topo) != 0) {
        return -1;
    }
    *state = topo;
    return 0;
}

static int teardown(void **state)
{
    hwloc_topology_destroy(*state);
    return 0;
}

static int pick(hwloc_topology_t topo, const char *cpus, const rdmc_nic_candidate_t *c,
                int count, char *why)
{
    hwloc_bitmap_t mine = hwloc_bitmap_alloc();
    hwloc_bitmap_list_sscanf(mine, cpus);
    int choice = rdmc_topology_nearest_nic(topo, mine, c, count, why, 256);
    hwloc_bitmap_free(mine);
    return choice;
}

static void test_the_nic_on_our_socket_wins(void **state)
{
    char why[256];
    rdmc_nic_candidate_t both[2] = { nic0, nic1 };

    assert_int_equal(pick(*state, "2-3", both, 2, why), 1);
    assert_non_null(strstr(why, "mlx5_1"));
    assert_non_null(strstr(why, "covering"));
    assert_int_equal(pick(*state, "0", both, 2, why), 0);
    assert_int_equal(pick(*state, "3", both, 2, why), 1);
}

static void test_spanning_both_sockets_keeps_the_first(void **state)
{
    char why[256];
    rdmc_nic_candidate_t both[2] = { nic1, nic0 };

    assert_int_equal(pick(*state, "1-2", both, 2, why), 0);
    assert_non_null(strstr(why, "sharing"));
}

static void test_nics_without_locality_lose_to_local_ones(void **state)
{
    char why[256];
    rdmc_nic_candidate_t mixed[3] = { no_pci, unknown_pci, nic0 };
    rdmc_nic_candidate_t none[2] = { no_pci, unknown_pci };

    assert_int_equal(pick(*state, "0-1", mixed, 3, why), 2);
    assert_int_equal(pick(*state, "0-1", none, 2, why), 0);
    assert_non_null(strstr(why, "first listed"));
}

/* ---- places inside a node: 2 packages x 2 NUMA domains x 2 cores ------ */

/* Generated by hwloc from "pack:2 l3:2 [numa] core:2 pu:1" and exported. */
#define TWO_BY_TWO_XML RDMC_TEST_DATA "/topo_2pkg_2numa.xml"

static hwloc_topology_t load_two_by_two(void)
{
    hwloc_topology_t topo;

    assert_int_equal(hwloc_topology_init(&topo), 0);
    assert_int_equal(hwloc_topology_set_xml(topo, TWO_BY_TWO_XML), 0);
    assert_int_equal(hwloc_topology_load(topo), 0);
    assert_int_equal(hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PACKAGE), 2);
    assert_int_equal(hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE), 4);
    return topo;
}

static rdmc_place_t place_of(hwloc_topology_t topo, const char *cpus)
{
    hwloc_bitmap_t mine = hwloc_bitmap_alloc();
    rdmc_place_t p = { .node = 1 };

    hwloc_bitmap_list_sscanf(mine, cpus);
    rdmc_topology_place(topo, mine, &p.package, &p.numa);
    hwloc_bitmap_free(mine);
    return p;
}

static void test_places_by_package_and_numa(void **state)
{
    (void)state;
    hwloc_topology_t topo = load_two_by_two();
    rdmc_place_t p;

    p = place_of(topo, "5");
    assert_int_equal(p.package, 1);
    assert_int_equal(p.numa, 2);
    p = place_of(topo, "2-3");
    assert_int_equal(p.package, 0);
    assert_int_equal(p.numa, 1);
    /* Bound to a package, not to one of its NUMA domains. */
    p = place_of(topo, "4-7");
    assert_int_equal(p.package, 1);
    assert_int_equal(p.numa, -1);
    /* Not bound at all. */
    p = place_of(topo, "0-7");
    assert_int_equal(p.package, -1);
    assert_int_equal(p.numa, -1);
    hwloc_topology_destroy(topo);
}

/* Eight ranks, each bound to one core, ranks in core order: the tree
 * crosses between packages once, then between NUMA domains once per
 * package, then copies inside each domain. */
static void test_tree_inside_a_node_follows_the_topology(void **state)
{
    (void)state;
    hwloc_topology_t topo = load_two_by_two();
    rdmc_place_t places[8];
    rdmc_layout_t lay;
    uint32_t storage[RDMC_GROUPS_STORAGE(8)];
    rdmc_bcast_group_t g[RDMC_GROUP_LEVELS];
    /* Cores listed out of order: rank r runs on core cores[r]. */
    static const char *const cores[8] = { "6", "0", "1", "7", "2", "4", "3", "5" };

    for (int r = 0; r < 8; r++) {
        places[r] = place_of(topo, cores[r]);
    }
    assert_int_equal(rdmc_layout_init(&lay, 8, places), 0);
    /* Root 1 (core 0: package 0, NUMA 0): to rank 0 (core 6) in package 1,
     * to rank 4 (core 2) in NUMA 1, to rank 2 (core 1) beside it. */
    assert_int_equal(rdmc_groups_of(&lay, NULL, 8, 1, 1, g, storage), 3);
    assert_int_equal(g[0].level, 1);
    assert_int_equal(g[0].nmembers, 2);
    assert_int_equal(g[0].members[0], 0);
    assert_int_equal(g[0].members[1], 1);
    assert_int_equal(g[1].level, 2);
    assert_int_equal(g[1].members[0], 1);
    assert_int_equal(g[1].members[1], 4);
    assert_int_equal(g[2].level, 3);
    assert_int_equal(g[2].members[0], 1);
    assert_int_equal(g[2].members[1], 2);
    /* Rank 0 leads package 1 (its lowest rank) and relays to NUMA 2's
     * leader, rank 5 (core 4), and to rank 3 (core 7) in its own NUMA 3. */
    assert_int_equal(rdmc_groups_of(&lay, NULL, 8, 1, 0, g, storage), 3);
    assert_int_equal(g[0].root, 1);
    assert_int_equal(g[1].level, 2);
    assert_int_equal(g[1].root, 0);
    assert_int_equal(g[1].members[1], 5);
    assert_int_equal(g[2].members[0], 0);
    assert_int_equal(g[2].members[1], 3);
    rdmc_layout_free(&lay);
    hwloc_topology_destroy(topo);
}

int main(void)
{
    const struct CMUnitTest places[] = {
        cmocka_unit_test(test_places_by_package_and_numa),
        cmocka_unit_test(test_tree_inside_a_node_follows_the_topology),
    };
    int failed = cmocka_run_group_tests_name("places", places, NULL, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_nic_on_our_socket_wins),
        cmocka_unit_test(test_spanning_both_sockets_keeps_the_first),
        cmocka_unit_test(test_nics_without_locality_lose_to_local_ones),
    };
    return failed + cmocka_run_group_tests_name("topology", tests, setup, teardown);
}
