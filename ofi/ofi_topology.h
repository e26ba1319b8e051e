/*
 * Choosing, among several NICs (libfabric domains), the one nearest to the
 * cores this rank runs on, from hwloc's view of PCI locality.
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

/* Cores this process may run on (at least 1); the topology is read once. */
int rdmc_topology_cores(void);

/* The same on this machine, for this process's current binding. */
int rdmc_topology_pick_nic(const rdmc_nic_candidate_t *cands, int count, char *why,
                           size_t why_len);

#endif
