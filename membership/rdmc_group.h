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
#include <stddef.h>
#include <stdint.h>

#include "rdmc.h"

typedef struct rdmc_group rdmc_group_t;

typedef struct rdmc_group_ops {
    /* Does rdmc still carry the communicator's collectives? */
    bool (*active)(rdmc_group_t *group);
    /* MPI_Comm_free has begun: the handle goes away, collectives in
     * flight on it still complete.  MPI_SUCCESS (an error class would make
     * MPI_Comm_free fail and leave the communicator valid). */
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
    uint64_t view_base;        /* the id of the communicator's first view: 0, or
                                * what it continues (RDMC_Comm_admit) */
};

/* A code of the error class RDMC_Error_class(which): what calls return. */
enum { RDMC_PROC_FAILED, RDMC_PARTITIONED, RDMC_ACCESS, RDMC_NOT_ACTIVE };
int rdmc_error_code(int which);

/* Cache group on comm (an attribute whose deletion asks comm_freeing). */
int rdmc_group_attach(MPI_Comm comm, rdmc_group_t *group);
/* The group on comm, or NULL. */
rdmc_group_t *rdmc_group_of(MPI_Comm comm);
/* MPI_Finalize: release the attribute key the groups hang on (marked for
 * release: the communicators that still carry it keep it until they are
 * freed; rdmc_group_of finds nothing from then on). */
void rdmc_group_release_key(void);
/* The group on comm if rdmc carries comm's collectives, else NULL with
 * *rc = MPI_ERR_COMM (no communicator) or a RDMC_ERR_NOT_ACTIVE code. */
rdmc_group_t *rdmc_active_group(MPI_Comm comm, int *rc);

/* What librdmc asks of coll/rdmc before a communicator has a group.  The
 * component sets them while it is loaded and enabled (priority >= 0),
 * NULL when it goes: their absence is how librdmc knows that coll/rdmc
 * cannot carry any communicator in this process (not loaded, excluded,
 * switched off). */
typedef struct rdmc_component_hooks {
    /* The coll/rdmc settings that every member of a communicator must
     * share (a joiner's are compared with the group's), into buf. */
    void (*settings)(char *buf, size_t len);
    /* Set coll/rdmc up on comm now, collectively (every member calls it):
     * MPI_SUCCESS once its set-up is decided, also where rdmc declines
     * comm or does not carry its collectives; else the error. */
    int (*setup)(MPI_Comm comm);
} rdmc_component_hooks_t;
void rdmc_set_component_hooks(const rdmc_component_hooks_t *hooks);
/* Writes the settings into buf; false when coll/rdmc is not loaded (or is
 * switched off) here. */
bool rdmc_settings(char *buf, size_t len);   /* buf NULL: only the answer */

/* Communicators a join builds on the way (exempt) keep coll/rdmc out:
 * their collectives take the previous component, and rdmc is set up only
 * on the one the join gives. */
int rdmc_comm_set_exempt(MPI_Comm comm, bool exempt);
bool rdmc_comm_exempt(MPI_Comm comm);

#endif
