/*
 * What hwloc tells about where this rank runs: the NIC (libfabric domain)
 * nearest to its cores, from PCI locality, and the package and NUMA domain
 * holding them, which place it in a broadcast's tree inside a node.
 */
#ifndef RDMC_OFI_TOPOLOGY_H
#define RDMC_OFI_TOPOLOGY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hwloc.h>

typedef struct rdmc_nic_candidate {
    const char *domain;       /* libfabric domain name */
    bool has_pci;             /* the provider told us where the NIC sits */
    uint16_t pci_domain;
    uint8_t pci_bus, pci_device, pci_function;
} rdmc_nic_candidate_t;

/* Index of the candidate nearest to `mine` in `topo`: a NIC whose locality
 * covers all our cores beats one that covers some, which beats the rest;
 * among equals the more specific locality, then the earlier candidate.
 * Describes the choice in `why`. */
int rdmc_topology_nearest_nic(hwloc_topology_t topo, hwloc_const_cpuset_t mine,
                              const rdmc_nic_candidate_t *cands, int count, char *why,
                              size_t why_len);

/* The package and the NUMA domain (their logical indexes) holding every
 * core of `mine`; -1 for either when `mine` spans several (not bound) or
 * the topology has none. */
void rdmc_topology_place(hwloc_topology_t topo, hwloc_const_cpuset_t mine, int32_t *package_p,
                         int32_t *numa_p);

/* The same for this process's current binding on this machine. */
void rdmc_topology_my_place(int32_t *package_p, int32_t *numa_p);

/* Cores this process may run on (at least 1); the topology is read once. */
int rdmc_topology_cores(void);

/* The same on this machine, for this process's current binding. */
int rdmc_topology_pick_nic(const rdmc_nic_candidate_t *cands, int count, char *why,
                           size_t why_len);

#endif
