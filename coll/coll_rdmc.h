/*
 * coll/rdmc: Open MPI collective component carrying MPI_Bcast over RDMC's
 * binomial pipeline on libfabric.
 *
 *   coll_rdmc_component.c  parameters, MPI_T counters, comm_query
 *   coll_rdmc_module.c     the per-communicator module: saved fallbacks and
 *                          the lazily, collectively agreed transport set-up
 *   coll_rdmc_bcast.c      MPI_Bcast and MPI_Ibcast: checks, paths, datatypes
 *   coll_rdmc_request.c    requests, completion, waiting, barriers, progress
 *   coll_rdmc_thread.c     the progress thread of each communicator
 *   rdmc_stream.c          the ordered window of collectives (no MPI)
 *   rdmc_engine.c          the broadcast protocol (no MPI, no libfabric)
 *   rdmc_schedule.c        the block schedules (pure functions)
 *   ../membership/sst.c    the shared state table
 */
#ifndef MCA_COLL_RDMC_H
#define MCA_COLL_RDMC_H

#include "ompi_config.h"

#include <pthread.h>
#include <stdint.h>

#include "mpi.h"
#include "ompi/communicator/communicator.h"
#include "ompi/mca/coll/coll.h"
#include "ompi/request/request.h"
#include "opal/datatype/opal_convertor.h"

#include "membership/rdmc_group.h"
#include "ofi/rdmc_ofi.h"
#include "rdmc_blocksize.h"
#include "rdmc_schedule.h"
#include "rdmc_stream.h"

BEGIN_C_DECLS

typedef struct mca_coll_rdmc_component_t {
    mca_coll_base_component_2_0_0_t super;

    /* MCA parameters (coll_rdmc_<name>) */
    int priority;
    size_t bcast_min_bytes;      /* below: the previous module's bcast */
    size_t block_bytes;          /* 0: from the cost model */
    double alpha_us, beta_ns;    /* > 0: replace the cost model's figures */
    int sends_in_flight;         /* > 0: a pipeline's sends posted at once */
    int schedule;                /* rdmc_schedule_alg_t or RDMC_SCHEDULE_AUTO */
    char *provider;              /* "auto" or a FI_PROVIDER name */
    char *domain;                /* "" or a libfabric domain name */
    int timeout_ms;              /* no progress this long: error */
    int verbose;
    int window;                  /* collectives in flight per communicator */
    bool stable_delivery;        /* coll_rdmc_delivery: stable (true) or local */
    bool small_path_sst;         /* coll_rdmc_small_path: sst (true) or fallback */
    size_t sst_max_bytes;        /* largest broadcast through the SST's slots */
    int heartbeat_ms;
    bool failures;               /* coll_rdmc_failures, resolved */
    int failure_timeout_ms;
    bool sst_fence;              /* coll_rdmc_sst_ordering=completion (testing) */

    int output;                  /* opal_output stream */
    bool mem_hooks_registered;

    /* MPI_T performance variables (coll_rdmc_<name>) */
    unsigned long long pvar_bcasts;     /* broadcasts carried by rdmc */
    unsigned long long pvar_bytes;      /* their bytes, at this rank */
    unsigned long long pvar_fallbacks;  /* handed to the previous module */
    unsigned long long pvar_ibcasts;    /* MPI_Ibcasts carried by rdmc */
    unsigned long long pvar_sst_bcasts; /* broadcasts through the SST's slots */
    unsigned long long pvar_sst_writes; /* one-sided SST writes posted */
    unsigned long long pvar_barriers;   /* MPI_Barrier/MPI_Ibarrier carried by rdmc */
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

struct mca_coll_rdmc_request;

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
    mca_coll_base_module_ibcast_fn_t previous_ibcast;
    mca_coll_base_module_t *previous_ibcast_module;
    mca_coll_base_module_barrier_fn_t previous_barrier;
    mca_coll_base_module_t *previous_barrier_module;
    mca_coll_base_module_ibarrier_fn_t previous_ibarrier;
    mca_coll_base_module_t *previous_ibarrier_module;

    rdmc_setup_state_t state;
    rdmc_ofi_ep_t *ep;             /* READY only */
    rdmc_cost_model_t model;       /* for automatic block sizes */
    unsigned sends_in_flight;      /* per engine run; see choose_sends_in_flight */
    rdmc_schedule_alg_t auto_schedule;  /* what "auto" means on this comm */

    /* READY only.  The lock serialises the stream, the SST and the engine
     * between the application's thread and the progress thread. */
    pthread_mutex_t lock;
    rdmc_sst_t *sst;
    rdmc_stream_t stream;
    struct mca_coll_rdmc_request *finished;   /* done, not yet reported to MPI */
    int pending;                   /* requests issued, not yet reported */
    int held;                      /* of those, nonblocking ones the user holds */
    uint64_t sst_writes_counted;   /* of rdmc_sst_writes, already in the pvar; under lock */
    pthread_t thread;
    bool thread_running;
    int thread_stop;               /* atomic */
    int app_waiting;               /* atomic: the application waits in our code */
    rdmc_group_t group;            /* READY: what librdmc's API sees of us */
    rdmc_gm_t *gm;                 /* failure handling on this communicator, or NULL */
    uint64_t views_reported;       /* views the user's callback has seen */
    uint64_t failed_reported;      /* ranks it was told have left */
    int broken_status;             /* BROKEN: the stream's error */
} mca_coll_rdmc_module_t;

/* One collective rdmc carries, blocking or not. */
typedef struct rdmc_bcast_ctx {
    void *user_buf;
    int count;
    struct ompi_datatype_t *dtype;
    uint64_t own_bytes;
    bool contiguous;
    uint8_t *user_data;          /* first data byte of a contiguous layout */
    uint8_t *packed;             /* packed message, or the truncation scratch */
    uint64_t packed_upto;        /* root: bytes packed so far */
    bool truncated;              /* the root sends more than we hold */
    uint64_t root_bytes;         /* what the root sends */
    opal_convertor_t convertor;  /* packs at the root, unpacks elsewhere */
    bool convertor_ready;
} rdmc_bcast_ctx_t;

typedef struct mca_coll_rdmc_request {
    ompi_request_t super;
    mca_coll_rdmc_module_t *module;
    rdmc_coll_t coll;
    rdmc_bcast_ctx_t ctx;
    const char *what;            /* "MPI_Bcast", "MPI_Ibarrier", ... for messages */
    int root;                    /* as this rank named it */
    bool finished;               /* the stream completed it (under the lock) */
    int stream_status;           /* its status from the stream */
    char stream_error[192];
    bool user_freed;             /* MPI_Request_free before completion */
    bool held;                   /* handed to the user, not yet completed */
    struct mca_coll_rdmc_request *next_finished;
} mca_coll_rdmc_request_t;

OBJ_CLASS_DECLARATION(mca_coll_rdmc_request_t);

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
int mca_coll_rdmc_ibcast(void *buf, int count, struct ompi_datatype_t *dtype, int root,
                         struct ompi_communicator_t *comm, ompi_request_t **request,
                         mca_coll_base_module_t *module);
int mca_coll_rdmc_barrier(struct ompi_communicator_t *comm, mca_coll_base_module_t *module);
int mca_coll_rdmc_ibarrier(struct ompi_communicator_t *comm, ompi_request_t **request,
                           mca_coll_base_module_t *module);

/* Requests (coll_rdmc_request.c). */
mca_coll_rdmc_request_t *mca_coll_rdmc_request_new(mca_coll_rdmc_module_t *m, const char *what);
/* Hand the request's collective to the stream. */
void mca_coll_rdmc_request_issue(mca_coll_rdmc_request_t *req);
/* Give a nonblocking request to the user (MPI_Ibcast, MPI_Ibarrier). */
void mca_coll_rdmc_request_hand_out(mca_coll_rdmc_request_t *req, ompi_request_t **request);
/* Wait for it (blocking calls), then free it; returns its MPI status. */
int mca_coll_rdmc_request_wait_and_free(mca_coll_rdmc_request_t *req);
/* The MPI outcome of a finished broadcast (coll_rdmc_bcast.c). */
int mca_coll_rdmc_bcast_outcome(mca_coll_rdmc_request_t *req);
void mca_coll_rdmc_bcast_ctx_release(rdmc_bcast_ctx_t *ctx);
/* Complete, here, every collective issued so far (before a fallback). */
void mca_coll_rdmc_drain(mca_coll_rdmc_module_t *m);
/* Run the stream once and report finished requests; from opal_progress. */
int mca_coll_rdmc_progress(void);
/* MPI_Comm_free is starting: MPI_SUCCESS, or MPI_ERR_PENDING to refuse. */
int mca_coll_rdmc_comm_freeing(mca_coll_rdmc_module_t *m);
/* The communicator's group manager, for the extended API (rdmc.h). */
void mca_coll_rdmc_group_attach(mca_coll_rdmc_module_t *m);
/* Module start-up and shut-down of the stream and its thread. */
int mca_coll_rdmc_stream_start(mca_coll_rdmc_module_t *m);
void mca_coll_rdmc_stream_stop(mca_coll_rdmc_module_t *m);
int mca_coll_rdmc_thread_start(mca_coll_rdmc_module_t *m);
void mca_coll_rdmc_thread_stop(mca_coll_rdmc_module_t *m);
/* The request whose context is ctx (the hooks' argument). */
static inline struct mca_coll_rdmc_request *mca_coll_rdmc_request_of_ctx(void *ctx)
{
    return (struct mca_coll_rdmc_request *)((char *)ctx -
                                            offsetof(mca_coll_rdmc_request_t, ctx));
}
/* Tell the user's view callback of views installed since the last call;
 * application thread, without the lock. */
void mca_coll_rdmc_report_views(mca_coll_rdmc_module_t *m);
/* Run the stream under the lock; returns the work done, < 0 when broken. */
int mca_coll_rdmc_module_progress(mca_coll_rdmc_module_t *m);

static inline void mca_coll_rdmc_count(unsigned long long *pvar, unsigned long long n)
{
    __atomic_add_fetch(pvar, n, __ATOMIC_RELAXED);
}

END_C_DECLS

#endif
