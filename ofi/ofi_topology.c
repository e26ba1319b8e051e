#include "ofi_topology.h"

#include <pthread.h>
#include <stdio.h>

static hwloc_topology_t topo_loaded;

static void load_machine_topology(void)
{
    hwloc_topology_t topo;

    if (hwloc_topology_init(&topo) != 0) {
        return;
    }
    hwloc_topology_set_io_types_filter(topo, HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
#if HWLOC_API_VERSION >= 0x00020100
    /* Displays are no NICs: hwloc's gl plugin tries to reach an X server
     * from every process (ECONNREFUSED, 50 to 200 ms each here). */
    (void)hwloc_topology_set_components(topo, HWLOC_TOPOLOGY_COMPONENTS_FLAG_BLACKLIST, "gl");
#endif
    if (hwloc_topology_load(topo) != 0) {
        hwloc_topology_destroy(topo);
        return;
    }
    topo_loaded = topo;
}

typedef struct nic_score {
    int coverage;           /* 2: all my cores are local, 1: some, 0: none or unknown */
    int locality_weight;    /* cores local to the NIC; fewer is more specific */
} nic_score_t;

static nic_score_t score_nic(hwloc_topology_t topo, hwloc_const_cpuset_t mine,
                             const rdmc_nic_candidate_t *c, hwloc_obj_t *where_p)
{
    nic_score_t s = { 0, 0 };
    hwloc_obj_t pci, local;

    *where_p = NULL;
    if (!c->has_pci) {
        return s;
    }
    pci = hwloc_get_pcidev_by_busid(topo, c->pci_domain, c->pci_bus, c->pci_device,
                                    c->pci_function);
    if (pci == NULL) {
        return s;
    }
    local = hwloc_get_non_io_ancestor_obj(topo, pci);
    if (local == NULL || local->cpuset == NULL) {
        return s;
    }
    *where_p = local;
    s.locality_weight = hwloc_bitmap_weight(local->cpuset);
    if (hwloc_bitmap_isincluded(mine, local->cpuset)) {
        s.coverage = 2;
    } else if (hwloc_bitmap_intersects(mine, local->cpuset)) {
        s.coverage = 1;
    }
    return s;
}

static int better(nic_score_t a, nic_score_t b)
{
    if (a.coverage != b.coverage) {
        return a.coverage > b.coverage;
    }
    return a.coverage > 0 && a.locality_weight < b.locality_weight;
}

int rdmc_topology_nearest_nic(hwloc_topology_t topo, hwloc_const_cpuset_t mine,
                              const rdmc_nic_candidate_t *cands, int count, char *why,
                              size_t why_len)
{
    int best = 0;
    nic_score_t best_score = { -1, 0 };
    hwloc_obj_t best_where = NULL;

    for (int i = 0; i < count; i++) {
        hwloc_obj_t where;
        nic_score_t s = score_nic(topo, mine, &cands[i], &where);
        if (better(s, best_score)) {
            best = i;
            best_score = s;
            best_where = where;
        }
    }
    if (best_score.coverage == 0 || best_where == NULL) {
        snprintf(why, why_len, "%s (first listed: no NIC is local to this rank's cores)",
                 cands[best].domain);
    } else {
        snprintf(why, why_len, "%s (NIC local to %s L#%u, %s this rank's cores)",
                 cands[best].domain, hwloc_obj_type_string(best_where->type),
                 best_where->logical_index, best_score.coverage == 2 ? "covering" : "sharing");
    }
    return best;
}

/* This machine's topology with its PCI devices, loaded on first use and kept
 * for the life of the process (NULL if hwloc cannot read it). */
static hwloc_topology_t machine_topology(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;

    pthread_once(&once, load_machine_topology);
    return topo_loaded;
}

int rdmc_topology_cores(void)
{
    hwloc_topology_t topo = machine_topology();
    int cores;

    if (topo == NULL) {
        return 1;
    }
    cores = hwloc_get_nbobjs_inside_cpuset_by_type(topo, hwloc_topology_get_allowed_cpuset(topo),
                                                   HWLOC_OBJ_CORE);
    return cores > 0 ? cores : 1;
}

int rdmc_topology_pick_nic(const rdmc_nic_candidate_t *cands, int count, char *why,
                           size_t why_len)
{
    hwloc_topology_t topo;
    hwloc_bitmap_t mine;
    int choice = 0;

    if (count <= 1) {
        snprintf(why, why_len, "%s (the only one)", count ? cands[0].domain : "none");
        return 0;
    }
    topo = machine_topology();
    mine = hwloc_bitmap_alloc();
    if (topo != NULL && mine != NULL &&
        hwloc_get_cpubind(topo, mine, HWLOC_CPUBIND_PROCESS) == 0) {
        choice = rdmc_topology_nearest_nic(topo, mine, cands, count, why, why_len);
    } else {
        snprintf(why, why_len, "%s (first listed: topology unknown)", cands[0].domain);
    }
    hwloc_bitmap_free(mine);
    return choice;
}

/* Logical index of the object of `type` holding all of `mine`, or -1. */
static int32_t holding_index(hwloc_topology_t topo, hwloc_const_cpuset_t mine, hwloc_obj_type_t type)
{
    int count = hwloc_get_nbobjs_by_type(topo, type);

    if (hwloc_bitmap_iszero(mine)) {
        return -1;
    }
    for (int i = 0; i < count; i++) {
        hwloc_obj_t obj = hwloc_get_obj_by_type(topo, type, (unsigned)i);
        if (obj != NULL && obj->cpuset != NULL && hwloc_bitmap_isincluded(mine, obj->cpuset)) {
            return (int32_t)obj->logical_index;
        }
    }
    return -1;
}

void rdmc_topology_place(hwloc_topology_t topo, hwloc_const_cpuset_t mine, int32_t *package_p,
                         int32_t *numa_p)
{
    *package_p = holding_index(topo, mine, HWLOC_OBJ_PACKAGE);
    *numa_p = holding_index(topo, mine, HWLOC_OBJ_NUMANODE);
}

void rdmc_topology_my_place(int32_t *package_p, int32_t *numa_p)
{
    hwloc_topology_t topo = machine_topology();
    hwloc_bitmap_t mine = hwloc_bitmap_alloc();

    *package_p = *numa_p = -1;
    if (topo != NULL && mine != NULL &&
        hwloc_get_cpubind(topo, mine, HWLOC_CPUBIND_PROCESS) == 0) {
        rdmc_topology_place(topo, mine, package_p, numa_p);
    }
    hwloc_bitmap_free(mine);
}
