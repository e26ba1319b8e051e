/*
 * coll/rdmc: Open MPI collective component carrying MPI_Bcast over RDMC's
 * binomial pipeline on libfabric.
 *
 *   coll_rdmc_component.c  parameters, MPI_T counters, open/close
 *   coll_rdmc_module.c     the per-communicator module: comm_query, the
 *                          saved fallbacks, the cost model, retiring
 *   coll_rdmc_setup.c      the communicator's link to the engine, set up
 *                          without blocking (point-to-point messages)
 *   coll_rdmc_progress.c   the process-wide progress driver: one lock, the
 *                          list of active links, one thread, opal_progress
 *   coll_rdmc_bcast.c      MPI_Bcast and MPI_Ibcast: checks, paths, datatypes
 *   coll_rdmc_request.c    requests, completion, waiting, barriers
 *   coll_rdmc_group.c      the group manager as the extended API sees it
 *
 * The pure core the glue drives (no MPI, libfabric or hwloc):
 *   core/rdmc_stream.c     the ordered window of collectives
 *   core/rdmc_engine.c     the broadcast protocol
 *   core/rdmc_schedule.c   the block schedules (pure functions)
 *   ../membership/core/    the shared state table, views, failure detection
 */
#ifndef MCA_COLL_RDMC_H
#define MCA_COLL_RDMC_H

#include "ompi_config.h"

#include <pthread.h>
#include <stdint.h>

#include "mpi.h"
#include "ompi/communicator/communicator.h"
#include "ompi/mca/coll/coll.h"
#include "coll_rdmc_compat.h"
#include "ompi/request/request.h"
#include "opal/datatype/opal_convertor.h"

#include "membership/rdmc_group.h"
#include "ofi/rdmc_ofi.h"
#include "shm/rdmc_shm.h"
#include "rdmc_blocksize.h"
#include "rdmc_groups.h"
#include "rdmc_run.h"
#include "rdmc_schedule.h"
#include "rdmc_stream.h"

BEGIN_C_DECLS

typedef struct mca_coll_rdmc_component_t {
    rdmc_coll_base_component_t super;

    /* MCA parameters (coll_rdmc_<name>) */
    int priority;
    size_t bcast_min_bytes;      /* below: the previous module's bcast */
    size_t bcast_min_bytes_nodes;   /* the same across nodes */
    bool bcast_min_bytes_set;    /* by the user (else a crowded node falls back) */
    bool fabric_set;             /* provider or domain chosen by the user */
    size_t block_bytes;          /* 0: from the cost model */
    double alpha_us, beta_ns;    /* > 0: replace the cost model's figures */
    int sends_in_flight;         /* > 0: a pipeline's sends posted at once */
    int schedule;                /* rdmc_schedule_alg_t or RDMC_SCHEDULE_AUTO */
    int levels;                  /* RDMC_LEVELS_*: how broadcasts follow the layout */
    char *node_sizes;            /* testing: nodes of these many ranks; "" */
    char *provider;              /* "auto" or a FI_PROVIDER name */
    char *domain;                /* "" or a libfabric domain name */
    int timeout_ms;              /* no progress this long: error */
    bool timeout_set;            /* by the user (else set-up under failures is capped) */
    int stall_warning_ms;        /* no progress this long: say so (0: never) */
    size_t staging_bytes;        /* kept for packed copies between broadcasts */
    int verbose;
    int window;                  /* collectives in flight per communicator */
    bool stable_delivery;        /* coll_rdmc_delivery: stable (true) or local */
    bool small_path_sst;         /* coll_rdmc_small_path: sst (true) or fallback */
    size_t sst_max_bytes;        /* largest broadcast through the SST's slots */
    int heartbeat_ms;
    bool failures;               /* coll_rdmc_failures, resolved */
    bool ulfm;                   /* ULFM is on: a view change fails what was unsettled
                                  * (rdmc_stream.h, fail_unsettled) */
    int failure_timeout_ms;
    bool sst_fence;              /* coll_rdmc_sst_ordering=completion (testing) */
    bool shm_sst;                /* coll_rdmc_shm_sst: SSTs of one-node links in shared memory */
    int shm_sst_max_mappings;    /* their memory mappings per process; 0: a quarter of
                                  * vm.max_map_count */

    int output;                  /* opal_output stream */
    bool mem_hooks_registered;

    /* MPI_T performance variables (coll_rdmc_<name>) */
    unsigned long long pvar_bcasts;     /* broadcasts carried by rdmc */
    unsigned long long pvar_bytes;      /* their bytes, at this rank */
    unsigned long long pvar_fallbacks;  /* handed to the previous module */
    unsigned long long pvar_ibcasts;    /* MPI_Ibcasts carried by rdmc */
    unsigned long long pvar_persistent_starts; /* MPI_Starts of MPI_Bcast_init requests */
    unsigned long long pvar_sst_bcasts; /* broadcasts through the SST's slots */
    unsigned long long pvar_sst_writes; /* one-sided SST writes posted */
    unsigned long long pvar_barriers;   /* MPI_Barrier/MPI_Ibarrier carried by rdmc */
    unsigned long long pvar_links;      /* communicators linked to the engine */
    unsigned long long pvar_shm_sst_links; /* of them, with the SST in shared memory */
    unsigned long long pvar_carried_verdicts; /* suspicions taken from another link's verdict */
    unsigned long long pvar_endpoints;  /* libfabric endpoints this process opened */
    unsigned long long pvar_tree_bcasts;           /* ran through node leaders */
    unsigned long long pvar_bytes_between_nodes;   /* received from another node */
    unsigned long long pvar_bytes_inside_node;     /* received from this node */
} mca_coll_rdmc_component_t;

RDMC_COMPONENT_EXPORT extern mca_coll_rdmc_component_t mca_coll_rdmc_component;

/* coll_rdmc_levels */
enum { RDMC_LEVELS_FLAT = 0, RDMC_LEVELS_NODE = 1, RDMC_LEVELS_NUMA = 2 };

/* coll_rdmc_schedule's default: fanout over shm (one node, receivers copy),
 * binomial_pipeline over networks. */
#define RDMC_SCHEDULE_AUTO (-1)

typedef enum rdmc_setup_state {
    RDMC_SETUP_NOT_YET,     /* the first collective rdmc carries sets up */
    RDMC_SETUP_CONNECTING,  /* set-up messages in flight; collectives queue */
    RDMC_SETUP_READY,       /* linked at every rank */
    RDMC_SETUP_DECLINED,    /* some rank cannot: everyone falls back */
    RDMC_SETUP_BROKEN,      /* a collective failed: rdmc is off here */
} rdmc_setup_state_t;

struct mca_coll_rdmc_request;
struct mca_coll_rdmc_module_t;

/* What a rank tells every other rank at set-up (point-to-point, once). */
typedef struct rdmc_setup_record {
    int32_t status;              /* 0, or why this rank cannot link */
    uint32_t all_local;          /* this rank sees every rank on its node */
    uint32_t channel;            /* the channel id it receives on */
    uint32_t addr_len;
    uint32_t window_len;
    char provider[64];
    uint8_t addr[RDMC_OFI_MAX_ADDR];
    uint8_t window[RDMC_WINDOW_BLOB];
    /* Where it runs (the node: its lowest rank there), and its channel for
     * the broadcasts' groups inside the node (local_addr_len 0: none). */
    rdmc_place_t place;
    uint32_t local_channel;
    uint32_t local_addr_len;
    char local_provider[64];
    uint8_t local_addr[RDMC_OFI_MAX_ADDR];
    /* Its SST's window: in shared memory (ofi/shm/) or through the channel;
     * its process id and the PID namespace that id is valid in (peers on
     * its node open its shared-memory table through /proc/<pid>, and ask
     * /proc about it when it falls silent). */
    uint32_t sst_shm;
    uint32_t pid;
    uint64_t pid_ns;
    /* The failure timeout it was asked for on this communicator (its info
     * key rdmc_failure_timeout_ms, or coll_rdmc_failure_timeout_ms). */
    uint32_t failure_timeout_ms;
    /* Its coll/rdmc settings (mca_coll_rdmc_settings): every rank must run
     * with the same, or the ranks take different paths and wait for each
     * other (a window of 2 against one of 8 stalled the first broadcast). */
    char settings[512];
} rdmc_setup_record_t;

/*
 * A communicator's link to the process-wide engine: its channel on the
 * shared endpoint, its SST, its stream and group manager.  Owned by the
 * module while the communicator lives; when it is freed, the link retires
 * (announces it leaves, waits in the background for the peers to leave and
 * for its posted operations to finish) and frees itself: MPI_Comm_free
 * does not wait for peers.  Everything in it is guarded by the engine lock.
 */
typedef struct mca_coll_rdmc_link {
    rdmc_ofi_channel_t *channel;
    /* Broadcasts as trees (rdmc_run.h): the layout everyone agreed on, the
     * channel to this node's ranks (NULL: none, or the main one serves). */
    rdmc_ofi_channel_t *local_channel;
    rdmc_layout_t layout;
    rdmc_levels_t levels;
    bool use_levels;               /* the stream runs its broadcasts by levels */
    bool spans_nodes;              /* some rank is on another node */
    rdmc_sst_t *sst;
    rdmc_shm_window_t *shm_window;   /* the SST's window in shared memory, or NULL */
    rdmc_stream_t stream;
    bool stream_started;
    rdmc_gm_t *gm;                 /* failure handling, or NULL */
    int failure_timeout_ms;        /* with gm: the communicator's, alike at every member */
    uint64_t verdicts_published;   /* with gm: removals told the process (coll_rdmc_verdicts.c) */
    size_t verdicts_applied;       /* the process's verdicts this link has looked at */
    uint32_t *peer_pids;           /* with gm: members' pids on this node, else 0 (NULL: none) */
    uint64_t exits_watched;        /* members whose process exits the kernel tells us of */
    uint64_t exits_taken;          /* the process's count of exits seen (rdmc_shm_exits_look)
                                    * when this link last looked at its members' */
    struct mca_coll_rdmc_beat_record **beat_records;   /* with gm: by member (coll_rdmc_beats.c) */
    int nbeat_records;
    uint64_t sst_writes_counted;   /* of rdmc_sst_writes, already in the pvar */
    struct mca_coll_rdmc_module_t *module;   /* NULL once retiring */
    double retire_began_ms;        /* retiring: since (MPI_Comm_free) */
    double retire_deadline_ms;     /* retiring: give up waiting for peers then */
    double quiet_until_ms;         /* an idle link needs no pass before then (0: every pass) */
    double broken_ms;              /* when its stream broke */
    uint64_t stall_said;           /* 1 + the last collective said to stall, or 0 */
    char name[MPI_MAX_OBJECT_NAME];   /* the communicator's, for messages */
    struct mca_coll_rdmc_link *prev, *next;  /* the driver's list (by quiet_until_ms) */
} mca_coll_rdmc_link_t;

typedef struct mca_coll_rdmc_module_t {
    mca_coll_base_module_t super;
    ompi_communicator_t *comm;

    /* What was selected before us; used for small messages and for
     * anything we decline. */
    mca_coll_base_module_bcast_fn_t previous_bcast;
    mca_coll_base_module_t *previous_bcast_module;
    mca_coll_base_module_ibcast_fn_t previous_ibcast;
    mca_coll_base_module_t *previous_ibcast_module;
    mca_coll_base_module_bcast_init_fn_t previous_bcast_init;   /* may be NULL */
    mca_coll_base_module_t *previous_bcast_init_module;
    mca_coll_base_module_barrier_fn_t previous_barrier;
    mca_coll_base_module_t *previous_barrier_module;
    mca_coll_base_module_ibarrier_fn_t previous_ibarrier;
    mca_coll_base_module_t *previous_ibarrier_module;

    rdmc_setup_state_t state;      /* changed under the engine lock */
    rdmc_cost_model_t model;       /* for automatic block sizes */
    unsigned sends_in_flight;      /* per engine run; see choose_sends_in_flight */
    rdmc_schedule_alg_t auto_schedule;  /* what "auto" means on this comm */
    char link_provider[64];        /* the main channel's provider */
    int spans_nodes;               /* ranks on several nodes: 1, 0, or -1 unknown yet */

    /* Set-up (CONNECTING): the process's endpoints still opening (nothing
     * posted yet), then our record, everyone's, the messages; then whether
     * each rank could attach its peers (confirming). */
    bool opening;
    bool confirming;
    rdmc_setup_record_t *records;  /* by rank; ours at our rank */
    uint8_t *setup_oks;            /* by rank, confirming: 1 if it attached its peers */
    ompi_request_t **setup_reqs;
    int nsetup_reqs;
    double setup_began_ms;
    double setup_deadline_ms;
    bool setup_stall_said;         /* coll_rdmc_stall.c */
    struct mca_coll_rdmc_request *queued, *queued_tail;  /* issued while connecting */

    mca_coll_rdmc_link_t *link;    /* READY (and BROKEN, until freed) */
    struct mca_coll_rdmc_request *finished;   /* done, not yet reported to MPI */
    int pending;                   /* requests issued, not yet reported */
    rdmc_group_t group;            /* READY: what librdmc's API sees of us */
    bool group_attached;           /* the attribute holding it is set */
    bool comm_freed;               /* MPI_Comm_free called; requests keep it alive */
    uint64_t views_reported;       /* views the user's callback has seen */
    uint64_t failed_reported;      /* ranks it was told have left */
    int broken_status;             /* BROKEN: the stream's error */
    bool broken_in_setup;          /* BROKEN: set-up failed, not a collective */
    bool refusal_said;             /* BROKEN: the first refused collective said why */
    struct mca_coll_rdmc_module_t *next_report;   /* the driver's report queue */
    bool report_queued;            /* in it (under the engine lock) */
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
    size_t packed_capacity;      /* its size in the staging cache (rdmc_staging.h) */
    uint64_t packed_upto;        /* root: bytes packed so far */
    bool truncated;              /* the root sends more than we hold */
    uint64_t root_bytes;         /* what the root sends */
    opal_convertor_t convertor;  /* packs at the root, unpacks elsewhere */
    bool convertor_ready;
    /* Receivers: MPI_SUCCESS, or the error unpacking met (its cause in
     * error); the message still flows on, this rank's outcome reports it. */
    int status;
    char *error;                 /* its message (malloc'd; NULL: none or no memory) */
} rdmc_bcast_ctx_t;


/* MPI_Bcast_init's (coll_rdmc_persistent.c): what every MPI_Start issues
 * again, chosen and registered once. */
typedef struct mca_coll_rdmc_persistent {
    void *buf;
    int count;
    struct ompi_datatype_t *dtype;
    int root;
    uint64_t nbytes;
    bool small;
    uint64_t block_bytes;    /* engine path: chosen at init; 0 otherwise */
    rdmc_schedule_alg_t schedule;
    void *registered[2];     /* the buffer's handles on the link's transports */
    rdmc_transport_t *registered_on[2];
    ompi_request_t *inner;   /* below the crossover: the previous
                              * component's persistent broadcast, which
                              * each start runs */
} mca_coll_rdmc_persistent_t;

typedef struct mca_coll_rdmc_request {
    ompi_request_t super;
    mca_coll_rdmc_nbc_fields_t nbc;  /* Open MPI's (coll_rdmc_compat.h): never touched by us */
    mca_coll_rdmc_module_t *module;
    rdmc_coll_t coll;
    rdmc_bcast_ctx_t ctx;
    const char *what;            /* "MPI_Bcast", "MPI_Ibarrier", ... for messages */
    int root;                    /* as this rank named it */
    bool finished;               /* the stream completed it (under the lock) */
    int stream_status;           /* its status from the stream */
    char *stream_error;          /* the stream's message (malloc'd), or NULL */
    bool user_freed;             /* MPI_Request_free before completion */
    ompi_request_t *fallback;    /* declined after it was queued: the previous
                                  * component's request carrying it */
    /* MPI_Bcast_init's (super.req_persistent), NULL for the others: kept
     * apart, so that a request stays small. */
    mca_coll_rdmc_persistent_t *persistent;
    struct mca_coll_rdmc_request *next_finished;
    struct mca_coll_rdmc_request *next_released;   /* in the list of freed ones */
    struct mca_coll_rdmc_request *next_queued;
} mca_coll_rdmc_request_t;

/* Every MPI_Ibcast allocates one, those handed to the previous component
 * too.  glibc serves blocks past 1008 bytes from its large bins and first
 * merges its fast bins: at 1320 bytes (error texts and the persistent part
 * inside) that cost an 8-byte MPI_Ibcast through libnbc 0.05 us of its
 * 0.4.  Now 896 bytes on Open MPI 4.1, whose requests are smaller than
 * 5.0's. */
_Static_assert(sizeof(mca_coll_rdmc_request_t) <= 1008,
               "mca_coll_rdmc_request_t outgrew glibc's small blocks");

OBJ_CLASS_DECLARATION(mca_coll_rdmc_request_t);

OBJ_CLASS_DECLARATION(mca_coll_rdmc_module_t);

int mca_coll_rdmc_init_query(bool enable_progress_threads, bool enable_mpi_threads);
mca_coll_base_module_t *mca_coll_rdmc_comm_query(struct ompi_communicator_t *comm,
                                                 int *priority);

/* Start watching memory releases if a provider in use registers buffers. */
void mca_coll_rdmc_watch_memory(void);

/* The communicator's name for messages (coll_rdmc_module.c); an unnamed
 * one (MPI_Intercomm_merge's result, say) by its id.  The text lasts
 * until the calling thread's next call. */
const char *mca_coll_rdmc_comm_name(ompi_communicator_t *comm);

/* Does this node run more ranks of the job than it has cores? */
bool mca_coll_rdmc_node_oversubscribed(void);
/* Does this node run more than 3 ranks of the job per core?  Broadcasts
 * inside it then go to the previous component unless the user set
 * coll_rdmc_bcast_min_bytes (coll_rdmc_module.c). */
bool mca_coll_rdmc_node_crowded(void);

/* The module (coll_rdmc_module.c): the cost model, schedule and sends in
 * flight for the provider its link uses. */
void mca_coll_rdmc_module_choose_model(mca_coll_rdmc_module_t *m, const char *provider,
                                       bool all_local);

/* The same for broadcasts by levels (rdmc_run.h): between nodes, and
 * inside a node over local_provider. */
void mca_coll_rdmc_module_choose_levels(mca_coll_rdmc_module_t *m, const char *local_provider,
                                        rdmc_levels_t *lv);

/* The settings every rank of a communicator (and a joiner) must share, as
 * one line (coll_rdmc_component.c). */
void mca_coll_rdmc_settings(char *buf, size_t len);

/* Set-up (coll_rdmc_setup.c), under the engine lock unless said. */
bool mca_coll_rdmc_handles_failures(const mca_coll_rdmc_module_t *m);
/* How long a collective may go without moving: coll_rdmc_timeout_ms, but
 * where failures are to be handled and no detector watches (set-up, before
 * heartbeats; a communicator too large for failure handling) that bound is
 * what finds a dead rank, and it is 2 minutes unless the user set it.  Any
 * thread. */
int mca_coll_rdmc_wait_bound_ms(bool watched);
/* Failure handling is on, and the communicator has more ranks than it
 * supports: says so (once per node without asking), and what becomes of
 * the communicator's collectives.  Any thread. */
void mca_coll_rdmc_say_too_large_for_failures(ompi_communicator_t *comm, const char *then);
/* Every rank of the communicator on this rank's node (Open MPI's locality,
 * or coll_rdmc_node_sizes)?  Any thread, without the lock. */
bool mca_coll_rdmc_comm_on_one_node(ompi_communicator_t *comm);
void mca_coll_rdmc_setup_start(mca_coll_rdmc_module_t *m);
/* Application thread: 1 once set-up is decided (READY, DECLINED, BROKEN). */
int mca_coll_rdmc_setup_progress(mca_coll_rdmc_module_t *m);
/* Set-up messages posted: has rank r's (another rank) arrived? */
bool mca_coll_rdmc_setup_answered(const mca_coll_rdmc_module_t *m, int r);
/* The module goes while set-up messages are out. */
void mca_coll_rdmc_setup_abandon(mca_coll_rdmc_module_t *m);
/* Without the lock, in a blocking call: until set-up is decided. */
void mca_coll_rdmc_setup_wait(mca_coll_rdmc_module_t *m);
void mca_coll_rdmc_link_free(mca_coll_rdmc_link_t *l);
/* The failure detector's view of member m's process (link: the
 * mca_coll_rdmc_link_t; rdmc_gm_params_t.peer_state). */
rdmc_peer_state_t mca_coll_rdmc_link_peer_state(void *link, int m);

/* Opening fabrics and endpoints (coll_rdmc_opener.c), under the engine
 * lock.  true when the fabrics of reqs (count: 1 or 2) have their
 * endpoints open, or were tried and failed (set-up tries again and says
 * why); false while a thread opens them (started here): ask again later. */
bool mca_coll_rdmc_opener_ready(const rdmc_ofi_request_t *reqs, int count, bool failure_safe);
/* Is the thread at work?  Set-ups waiting for it need not look again. */
bool mca_coll_rdmc_opener_busy(void);
/* MPI_Finalize: wait for the thread, at most wait_ms; false if it is still
 * at work (libfabric must then stay open). */
bool mca_coll_rdmc_opener_stop(int wait_ms);

/* One verdict per process across its communicators (coll_rdmc_verdicts.c),
 * under the engine lock, for links with failure handling.  publish: tell
 * the process of the ranks the link's views removed; true if a process
 * was new to it.  apply: suspect the members other links removed.
 * forget: MPI_Finalize. */
bool mca_coll_rdmc_verdicts_publish(mca_coll_rdmc_link_t *l);
void mca_coll_rdmc_verdicts_apply(mca_coll_rdmc_link_t *l);
/* Has a link of ours removed the process of rank r of comm? */
bool mca_coll_rdmc_verdicts_removed(ompi_communicator_t *comm, int r);
/* Under ULFM: tell Open MPI of the processes removed since; call without
 * the engine lock, in a thread that makes MPI calls (Open MPI's PML takes
 * no locks in a program that is not MPI_THREAD_MULTIPLE). */
void mca_coll_rdmc_verdicts_tell_runtime(void);
void mca_coll_rdmc_verdicts_forget(void);

/* Heartbeats shared between the communicators of the process
 * (coll_rdmc_beats.c), under the engine lock: share once the link's group
 * manager is initialised, unshare once it is finalised. */
void mca_coll_rdmc_beats_share(mca_coll_rdmc_link_t *l);
void mca_coll_rdmc_beats_unshare(mca_coll_rdmc_link_t *l);
/* A process, named the same in every communicator (joined jobs too): its
 * job and its rank in it. */
uint64_t mca_coll_rdmc_process_of(ompi_communicator_t *comm, int r);

/* Waits that last (coll_rdmc_stall.c), under the engine lock: say, once
 * per collective or set-up, that it has not moved for
 * coll_rdmc_stall_warning_ms (now: the progress pass's rdmc_now_ms). */
void mca_coll_rdmc_stall_check_link(mca_coll_rdmc_link_t *l, double now);
void mca_coll_rdmc_stall_check_setup(mca_coll_rdmc_module_t *m);

/* The progress driver (coll_rdmc_progress.c). */
extern pthread_mutex_t mca_coll_rdmc_lock;   /* the engine lock */
void mca_coll_rdmc_link_add(mca_coll_rdmc_link_t *l);
void mca_coll_rdmc_link_unlist(mca_coll_rdmc_link_t *l);
void mca_coll_rdmc_link_quiet_until(mca_coll_rdmc_link_t *l, double until_ms);
/* Run a ready link once; the work done.  Under the lock. */
int mca_coll_rdmc_link_run(mca_coll_rdmc_link_t *l);
/* The module has news for MPI (finished requests, a view): under the lock. */
void mca_coll_rdmc_report_later(mca_coll_rdmc_module_t *m);
/* The module is being destroyed: out of the report queue.  Under the lock. */
void mca_coll_rdmc_report_forget(mca_coll_rdmc_module_t *m);
/* One pass over every link (app_thread: also set-up and reporting to MPI);
 * returns the work done; *sleep_ms_p (if given, in: the cap) says how long
 * the caller may sleep before a link needs attention. */
int mca_coll_rdmc_progress_pass(bool app_thread, bool wait_for_lock, int *sleep_ms_p);
/* opal_progress's callback: a pass, unless another thread runs one or an
 * application thread's pass has nothing to do (coll_rdmc_progress.c). */
int mca_coll_rdmc_progress(void);
/* An application thread enters (true) or leaves a blocking rdmc wait;
 * returns how many are in one then. */
int mca_coll_rdmc_app_waiting(bool waiting);
/* Under the lock: the callback and the progress thread, once. */
int mca_coll_rdmc_driver_start(void);
/* Have idle waits watch the process's wake set: the shared-memory SST's
 * bell and the pidfds of node-mates (call after a link's SST was made in
 * shared memory, or a node-mate's process was watched).  Under the lock. */
void mca_coll_rdmc_watch_wakes(void);
/* Component close: retire what is left (bounded), close the endpoints. */
void mca_coll_rdmc_driver_stop(void);

int mca_coll_rdmc_bcast(void *buf, int count, struct ompi_datatype_t *dtype, int root,
                        struct ompi_communicator_t *comm, mca_coll_base_module_t *module);
int mca_coll_rdmc_ibcast(void *buf, int count, struct ompi_datatype_t *dtype, int root,
                         struct ompi_communicator_t *comm, ompi_request_t **request,
                         mca_coll_base_module_t *module);
int mca_coll_rdmc_bcast_init(void *buf, int count, struct ompi_datatype_t *dtype, int root,
                             struct ompi_communicator_t *comm, struct ompi_info_t *info,
                             ompi_request_t **request, mca_coll_base_module_t *module);
int mca_coll_rdmc_barrier(struct ompi_communicator_t *comm, mca_coll_base_module_t *module);
int mca_coll_rdmc_ibarrier(struct ompi_communicator_t *comm, ompi_request_t **request,
                           mca_coll_base_module_t *module);

/* Requests (coll_rdmc_request.c). */
mca_coll_rdmc_request_t *mca_coll_rdmc_request_new(mca_coll_rdmc_module_t *m, const char *what);
/* Clear what one run of it used (a persistent request's next MPI_Start). */
void mca_coll_rdmc_request_reset(mca_coll_rdmc_request_t *req);
/* Hand the request's collective to the stream (or queue it during set-up). */
void mca_coll_rdmc_request_issue(mca_coll_rdmc_request_t *req);
/* A nonblocking broadcast (or barrier) that the previous component
 * carries (below the crossover, or where rdmc declined the communicator),
 * in a request of ours that holds the
 * communicator as every request of ours does: Open MPI 4.1's libnbc does
 * not, and a communicator freed with its MPI_Ibarrier in flight crashed
 * it.  Not pending for mca_coll_rdmc_drain: the previous component's
 * collectives keep no order with ours. */
int mca_coll_rdmc_hand_over(mca_coll_rdmc_module_t *m, const char *what, bool barrier,
                            void *buf, int count, struct ompi_datatype_t *dtype, int root,
                            ompi_request_t **request);
/* Under the lock: set-up is decided; queued collectives go on. */
void mca_coll_rdmc_flush_queued(mca_coll_rdmc_module_t *m);
/* Wait for it (blocking calls), then free it; returns its MPI status. */
int mca_coll_rdmc_request_wait_and_free(mca_coll_rdmc_request_t *req);
/* Complete it as an MPI request with this status (without the lock). */
void mca_coll_rdmc_request_complete(mca_coll_rdmc_request_t *req, int status);
/* Complete the module's finished requests; how many.  Without the lock. */
int mca_coll_rdmc_report_finished(mca_coll_rdmc_module_t *m);
/* A persistent request is freed: what its init holds goes
 * (coll_rdmc_persistent.c). */
void mca_coll_rdmc_persistent_release(mca_coll_rdmc_request_t *req);
/* Broadcast helpers (coll_rdmc_bcast.c), shared with the persistent one. */
int mca_coll_rdmc_bcast_check_args(const char *what, int count, int root,
                                   ompi_communicator_t *comm);
uint64_t mca_coll_rdmc_message_bytes(struct ompi_datatype_t *dtype, int count);
/* MPI_Bcast, MPI_Ibcast and MPI_Bcast_init of nbytes go to the previous
 * component (below the crossover, unless small messages take the SST). */
bool mca_coll_rdmc_bcast_falls_back(mca_coll_rdmc_module_t *m, uint64_t nbytes);
/* The engine's schedule and block size for nbytes on m. */
void mca_coll_rdmc_bcast_choose_blocks(mca_coll_rdmc_module_t *m, uint64_t nbytes,
                                       rdmc_schedule_alg_t *schedule, uint64_t *block_bytes);
/* Is rdmc usable on the module's communicator (set-up started, and waited
 * for if blocking)?  On false, *rc: MPI_SUCCESS to fall back, or the error. */
bool mca_coll_rdmc_usable(mca_coll_rdmc_module_t *m, const char *what, bool blocking, int *rc);
/* Describe req's broadcast and issue it (the request is the caller's). */
int mca_coll_rdmc_bcast_issue(mca_coll_rdmc_request_t *req, void *buf, int count,
                              struct ompi_datatype_t *dtype, int root, uint64_t nbytes,
                              bool small);
/* The MPI outcome of a finished broadcast. */
int mca_coll_rdmc_bcast_outcome(mca_coll_rdmc_request_t *req);
void mca_coll_rdmc_bcast_ctx_release(rdmc_bcast_ctx_t *ctx);
/* Complete, here, every collective issued so far (before a fallback). */
void mca_coll_rdmc_drain(mca_coll_rdmc_module_t *m);
/* MPI_Comm_free is starting (collectives may still be in flight on it). */
int mca_coll_rdmc_comm_freeing(mca_coll_rdmc_module_t *m);
/* A completed request nobody holds any longer, released at the next safe
 * point (mca_coll_rdmc_release_freed), since with it may go the
 * communicator. */
void mca_coll_rdmc_request_release_later(mca_coll_rdmc_request_t *req);
/* An application thread without the engine lock, outside other components'
 * callbacks (its progress pass, MPI_Finalize): release what
 * mca_coll_rdmc_request_release_later kept. */
void mca_coll_rdmc_release_freed(void);
/* The communicator's group manager, for the extended API (rdmc.h). */
void mca_coll_rdmc_group_attach(mca_coll_rdmc_module_t *m);
/* RDMC_Comm_active's set-up of comm (rdmc_component_hooks_t's setup). */
int mca_coll_rdmc_group_setup(ompi_communicator_t *comm);
/* Under the lock, once every peer is attached: the link's stream. */
int mca_coll_rdmc_stream_start(mca_coll_rdmc_module_t *m);
/* The request whose context is ctx (the hooks' argument). */
static inline struct mca_coll_rdmc_request *mca_coll_rdmc_request_of_ctx(void *ctx)
{
    return (struct mca_coll_rdmc_request *)((char *)ctx -
                                            offsetof(mca_coll_rdmc_request_t, ctx));
}
/* Tell the user's view callback of views installed since the last call;
 * application thread, without the lock.  True if the callback ran. */
bool mca_coll_rdmc_report_views(mca_coll_rdmc_module_t *m);

static inline void mca_coll_rdmc_count(unsigned long long *pvar, unsigned long long n)
{
    __atomic_add_fetch(pvar, n, __ATOMIC_RELAXED);
}

END_C_DECLS

#endif
