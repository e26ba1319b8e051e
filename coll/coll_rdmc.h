/*
 * coll/rdmc: Open MPI collective component carrying MPI_Bcast over RDMC's
 * binomial pipeline on libfabric.
 *
 *   coll_rdmc_component.c  parameters, MPI_T counters, comm_query
 *   coll_rdmc_module.c     the per-communicator module: saved fallbacks and
 *                          the lazily, collectively agreed transport set-up
 *   coll_rdmc_bcast.c      MPI_Bcast: checks, crossover, datatypes, errors
 *   rdmc_engine.c          the broadcast protocol (no MPI, no libfabric)
 *   rdmc_schedule.c        the block schedules (pure functions)
 */
#ifndef MCA_COLL_RDMC_H
#define MCA_COLL_RDMC_H

#include "ompi_config.h"

#include <stdint.h>

#include "mpi.h"
#include "ompi/communicator/communicator.h"
#include "ompi/mca/coll/coll.h"

#include "ofi/rdmc_ofi.h"
#include "rdmc_blocksize.h"
#include "rdmc_schedule.h"

BEGIN_C_DECLS

typedef struct mca_coll_rdmc_component_t {
    mca_coll_base_component_2_0_0_t super;

    /* MCA parameters (coll_rdmc_<name>) */
    int priority;
    size_t bcast_min_bytes;      /* below: the previous module's bcast */
    size_t block_bytes;          /* 0: from the cost model */
    int schedule;                /* rdmc_schedule_alg_t or RDMC_SCHEDULE_AUTO */
    char *provider;              /* "auto" or a FI_PROVIDER name */
    char *domain;                /* "" or a libfabric domain name */
    int timeout_ms;              /* no progress this long: error */
    int verbose;

    int output;                  /* opal_output stream */
    bool mem_hooks_registered;

    /* MPI_T performance variables (coll_rdmc_<name>) */
    unsigned long long pvar_bcasts;     /* broadcasts carried by rdmc */
    unsigned long long pvar_bytes;      /* their bytes, at this rank */
    unsigned long long pvar_fallbacks;  /* handed to the previous module */
} mca_coll_rdmc_component_t;

OMPI_MODULE_DECLSPEC extern mca_coll_rdmc_component_t mca_coll_rdmc_component;

/* coll_rdmc_schedule's default: fanout over shm (one node, receivers copy),
 * binomial_pipeline over networks. */
#define RDMC_SCHEDULE_AUTO (-1)

typedef enum rdmc_setup_state {
    RDMC_SETUP_NOT_YET,   /* first eligible broadcast will set up */
    RDMC_SETUP_READY,     /* transport up at every rank */
    RDMC_SETUP_DECLINED,  /* some rank could not set up: everyone falls back */
    RDMC_SETUP_BROKEN,    /* a broadcast failed: the transport is closed */
} rdmc_setup_state_t;

typedef struct mca_coll_rdmc_module_t {
    mca_coll_base_module_t super;
    ompi_communicator_t *comm;

    /* What was selected before us; used for small messages, for anything
     * we decline, and (allgather, allreduce) for our own set-up. */
    mca_coll_base_module_bcast_fn_t previous_bcast;
    mca_coll_base_module_t *previous_bcast_module;
    mca_coll_base_module_allgather_fn_t previous_allgather;
    mca_coll_base_module_t *previous_allgather_module;
    mca_coll_base_module_allreduce_fn_t previous_allreduce;
    mca_coll_base_module_t *previous_allreduce_module;

    rdmc_setup_state_t state;
    rdmc_ofi_ep_t *ep;             /* READY only */
    rdmc_cost_model_t model;       /* for automatic block sizes */
    rdmc_schedule_alg_t auto_schedule;  /* what "auto" means on this comm */
    uint64_t next_seq;             /* broadcasts carried so far on this comm */
} mca_coll_rdmc_module_t;

OBJ_CLASS_DECLARATION(mca_coll_rdmc_module_t);

int mca_coll_rdmc_init_query(bool enable_progress_threads, bool enable_mpi_threads);
mca_coll_base_module_t *mca_coll_rdmc_comm_query(struct ompi_communicator_t *comm,
                                                 int *priority);

/* Start watching memory releases if a provider in use registers buffers. */
void mca_coll_rdmc_watch_memory(void);

/* Sets up the transport on first use; returns the resulting state. */
rdmc_setup_state_t mca_coll_rdmc_module_ensure_setup(mca_coll_rdmc_module_t *module);
/* After a failed broadcast: close the transport, refuse further use. */
void mca_coll_rdmc_module_break(mca_coll_rdmc_module_t *module);

int mca_coll_rdmc_bcast(void *buf, int count, struct ompi_datatype_t *dtype, int root,
                        struct ompi_communicator_t *comm, mca_coll_base_module_t *module);

static inline void mca_coll_rdmc_count(unsigned long long *pvar, unsigned long long n)
{
    __atomic_add_fetch(pvar, n, __ATOMIC_RELAXED);
}

END_C_DECLS

#endif
