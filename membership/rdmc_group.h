/*
 * How coll/rdmc hands a communicator's group manager to librdmc, the
 * library behind the extended API (rdmc.h).  The component and the
 * applications both link librdmc, so they share one copy of its state (the
 * error classes, the attribute that holds the group); a small ops table
 * keeps Open MPI's internals on the component's side.
 */
#ifndef RDMC_GROUP_H
#define RDMC_GROUP_H

#include <stdbool.h>
#include <stdint.h>

#include "rdmc.h"

typedef struct rdmc_group rdmc_group_t;

typedef struct rdmc_group_ops {
    /* Does rdmc still carry the communicator's collectives? */
    bool (*active)(rdmc_group_t *group);
    /* MPI_Comm_free is about to free the communicator: MPI_SUCCESS lets
     * it, an error class refuses (the communicator stays valid). */
    int (*comm_freeing)(rdmc_group_t *group);
    /* The current view, as in RDMC_Comm_get_view / RDMC_Comm_get_failed. */
    int (*get_view)(rdmc_group_t *group, uint64_t *view_id, MPI_Group *members);
    int (*get_failed)(rdmc_group_t *group, MPI_Group *failed);
} rdmc_group_ops_t;

struct rdmc_group {
    const rdmc_group_ops_t *ops;
    MPI_Comm comm;
    RDMC_View_fn *view_fn;     /* RDMC_Comm_set_view_callback's */
    void *view_arg;
};

/* A code of the error class RDMC_Error_class(which): what calls return. */
enum { RDMC_PROC_FAILED, RDMC_PARTITIONED, RDMC_ACCESS, RDMC_NOT_ACTIVE };
int rdmc_error_code(int which);

/* Cache group on comm (an attribute whose deletion asks comm_freeing). */
int rdmc_group_attach(MPI_Comm comm, rdmc_group_t *group);
/* The group on comm, or NULL. */
rdmc_group_t *rdmc_group_of(MPI_Comm comm);

#endif
