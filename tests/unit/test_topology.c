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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_nic_on_our_socket_wins),
        cmocka_unit_test(test_spanning_both_sockets_keeps_the_first),
        cmocka_unit_test(test_nics_without_locality_lose_to_local_ones),
    };
    return cmocka_run_group_tests_name("topology", tests, setup, teardown);
}
