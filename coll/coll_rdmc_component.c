/*
 * The coll/rdmc component: MCA parameters, MPI_T performance variables,
 * open/close and comm_query.
 */
#include "coll_rdmc.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ompi/constants.h"
#include "opal/memoryhooks/memory.h"
#include "opal/mca/base/mca_base_pvar.h"
#include "opal/mca/base/mca_base_var.h"
#include "opal/mca/base/mca_base_var_enum.h"
#include "opal/runtime/opal_progress.h"
#include "opal/util/output.h"

#include "coll/core/rdmc_log.h"
#include "coll/core/rdmc_staging.h"
#include "membership/core/failure_detector.h"

static int rdmc_register(void);
static int rdmc_open(void);
static int rdmc_close(void);

mca_coll_rdmc_component_t mca_coll_rdmc_component = {
    .super = {
        .collm_version = {
            RDMC_COLL_BASE_VERSION,
            .mca_component_name = "rdmc",
            MCA_BASE_MAKE_VERSION(component, 0, 1, 0),
            .mca_open_component = rdmc_open,
            .mca_close_component = rdmc_close,
            .mca_register_component_params = rdmc_register,
        },
        .collm_data = {
            MCA_BASE_METADATA_PARAM_CHECKPOINT
        },
        .collm_init_query = mca_coll_rdmc_init_query,
        .collm_comm_query = mca_coll_rdmc_comm_query,
    },
};

/* Measured on 4 local ranks (README, "Choosing the crossover"): below
 * this, Open MPI's tuned bcast, which needs no set-up messages and lets
 * every rank leave as soon as its own copy is done, is faster on OSU's
 * average than rdmc with stable delivery. */
#define DEFAULT_BCAST_MIN_BYTES (16 * 1024 * 1024)
/* Between nodes rdmc's pipeline beat Open MPI 4.1's default from 32 KiB
 * (4 emulated hosts x 2 ranks, 1 Gbit/s: 0.47x its time at 32 KiB, 0.26x
 * at 64 KiB, 1.65x at 16 KiB, where its fixed cost, a few round trips,
 * dominates). */
#define DEFAULT_BCAST_MIN_BYTES_NODES (64 * 1024)
#define DEFAULT_PRIORITY 40
/* A collective that does not move is waited for half an hour, as
 * PyTorch's distributed collectives wait 10-30 minutes: a root reading its
 * input from a busy file system, a rank writing a checkpoint or stopped in
 * a debugger is late, not failed, and Open MPI's own collectives would
 * wait for it.  From a minute on, rdmc says that it waits (below). */
#define DEFAULT_TIMEOUT_MS (30 * 60 * 1000)
#define DEFAULT_STALL_WARNING_MS (60 * 1000)
#define DEFAULT_WINDOW 8
#define DEFAULT_SST_MAX_BYTES 4096
#define DEFAULT_HEARTBEAT_MS 100
#define DEFAULT_FAILURE_TIMEOUT_MS 1000
#define MAX_WINDOW 1024
#define MAX_SST_BYTES (1024 * 1024)
/* Enough for the packed copies of a window of 1 MiB broadcasts, or of
 * one 128 MiB one (rdmc_staging.h). */
#define DEFAULT_STAGING_BYTES (128 * 1024 * 1024)

enum { SMALL_PATH_AUTO = -1, SMALL_PATH_FALLBACK = 0, SMALL_PATH_SST = 1 };
static int small_path = SMALL_PATH_AUTO;
enum { FAILURES_AUTO = -1, FAILURES_OFF = 0, FAILURES_ON = 1 };
static int failures = FAILURES_AUTO;
static int delivery = 1;
static int sst_ordering = 0;

static const mca_base_var_enum_value_t small_path_names[] = {
    { SMALL_PATH_AUTO, "auto" },
    { SMALL_PATH_FALLBACK, "fallback" },
    { SMALL_PATH_SST, "sst" },
    { 0, NULL },
};

static const mca_base_var_enum_value_t failures_names[] = {
    { FAILURES_AUTO, "auto" },
    { FAILURES_OFF, "off" },
    { FAILURES_ON, "on" },
    { 0, NULL },
};

static const mca_base_var_enum_value_t delivery_names[] = {
    { 0, "local" },
    { 1, "stable" },
    { 0, NULL },
};

static const mca_base_var_enum_value_t ordering_names[] = {
    { 0, "auto" },
    { 1, "completion" },
    { 0, NULL },
};

static const mca_base_var_enum_value_t levels_names[] = {
    { RDMC_LEVELS_FLAT, "flat" },
    { RDMC_LEVELS_NODE, "node" },
    { RDMC_LEVELS_NUMA, "numa" },
    { 0, NULL },
};

static const mca_base_var_enum_value_t schedule_names[] = {
    { RDMC_SCHEDULE_AUTO, "auto" },
    { RDMC_SCHEDULE_BINOMIAL_PIPELINE, "binomial_pipeline" },
    { RDMC_SCHEDULE_CHAIN, "chain" },
    { RDMC_SCHEDULE_SEQUENTIAL, "sequential" },
    { RDMC_SCHEDULE_BINOMIAL_TREE, "binomial_tree" },
    { RDMC_SCHEDULE_FANOUT, "fanout" },
    { 0, NULL },
};

static void register_int(const char *name, const char *help, int level, int *storage)
{
    (void)mca_base_component_var_register(&mca_coll_rdmc_component.super.collm_version, name,
                                          help, MCA_BASE_VAR_TYPE_INT, NULL, 0, 0, level,
                                          MCA_BASE_VAR_SCOPE_READONLY, storage);
}

static void register_size(const char *name, const char *help, int level, size_t *storage)
{
    (void)mca_base_component_var_register(&mca_coll_rdmc_component.super.collm_version, name,
                                          help, MCA_BASE_VAR_TYPE_SIZE_T, NULL, 0, 0, level,
                                          MCA_BASE_VAR_SCOPE_READONLY, storage);
}

static void register_double(const char *name, const char *help, int level, double *storage)
{
    (void)mca_base_component_var_register(&mca_coll_rdmc_component.super.collm_version, name,
                                          help, MCA_BASE_VAR_TYPE_DOUBLE, NULL, 0, 0, level,
                                          MCA_BASE_VAR_SCOPE_READONLY, storage);
}

static void register_string(const char *name, const char *help, int level, char **storage)
{
    (void)mca_base_component_var_register(&mca_coll_rdmc_component.super.collm_version, name,
                                          help, MCA_BASE_VAR_TYPE_STRING, NULL, 0, 0, level,
                                          MCA_BASE_VAR_SCOPE_READONLY, storage);
}

static void register_counter(const char *name, const char *help, unsigned long long *storage)
{
    (void)mca_base_component_pvar_register(&mca_coll_rdmc_component.super.collm_version, name,
                                           help, OPAL_INFO_LVL_4, MCA_BASE_PVAR_CLASS_COUNTER,
                                           MCA_BASE_VAR_TYPE_UNSIGNED_LONG_LONG, NULL,
                                           MCA_BASE_VAR_BIND_NO_OBJECT,
                                           MCA_BASE_PVAR_FLAG_READONLY |
                                               MCA_BASE_PVAR_FLAG_CONTINUOUS,
                                           NULL, NULL, NULL, storage);
}

static void register_enum(const char *name, const char *help, int level,
                          const mca_base_var_enum_value_t *values, int *storage)
{
    char enum_name[64];
    mca_base_var_enum_t *e = NULL;

    snprintf(enum_name, sizeof(enum_name), "coll_rdmc_%s_values", name);
    (void)mca_base_var_enum_create(enum_name, values, &e);
    (void)mca_base_component_var_register(&mca_coll_rdmc_component.super.collm_version, name,
                                          help, MCA_BASE_VAR_TYPE_INT, e, 0, 0, level,
                                          MCA_BASE_VAR_SCOPE_READONLY, storage);
    OBJ_RELEASE(e);
}

static int rdmc_register(void)
{
    mca_coll_rdmc_component_t *c = &mca_coll_rdmc_component;

    c->priority = DEFAULT_PRIORITY;
    register_int("priority",
                 "Priority of the rdmc collective component; it is used on every "
                 "intra-communicator of 2 or more ranks when this is above the other "
                 "components' (tuned: 30).  A negative value disables rdmc",
                 OPAL_INFO_LVL_6, &c->priority);

    c->bcast_min_bytes = DEFAULT_BCAST_MIN_BYTES;
    register_size("bcast_min_bytes",
                  "Broadcasts smaller than this many bytes go to the collective component "
                  "selected before rdmc (usually tuned); larger ones use the RDMC pipeline.  "
                  "On communicators whose ranks share one node (unset, on a node running more "
                  "than 3 ranks per core, none: rdmc lost to the previous component there); "
                  "set, it applies across nodes too, unless bcast_min_bytes_nodes is set",
                  OPAL_INFO_LVL_5, &c->bcast_min_bytes);

    c->bcast_min_bytes_nodes = DEFAULT_BCAST_MIN_BYTES_NODES;
    register_size("bcast_min_bytes_nodes",
                  "The same for communicators whose ranks run on several nodes, where the "
                  "network, not memory, limits a broadcast.  Default: 65536, or "
                  "bcast_min_bytes when that is set",
                  OPAL_INFO_LVL_5, &c->bcast_min_bytes_nodes);

    c->block_bytes = 0;
    register_size("block_bytes",
                  "Size of the blocks a broadcast is cut into.  0 (default) chooses it from "
                  "the message size and the number of ranks with the schedule's cost model; "
                  "other values are clamped to 1 KiB .. 64 MiB",
                  OPAL_INFO_LVL_5, &c->block_bytes);

    c->staging_bytes = DEFAULT_STAGING_BYTES;
    register_size("staging_bytes",
                  "Memory a process keeps between broadcasts for the packed copies of "
                  "non-contiguous datatypes (a strided column, a struct), so that the next "
                  "one does not fault fresh pages in; 0 frees each copy after its broadcast",
                  OPAL_INFO_LVL_5, &c->staging_bytes);

    c->alpha_us = 0;
    register_double("alpha_us",
                    "The cost model's fixed cost of one pipeline step, in microseconds, for "
                    "the automatic block size.  0 (default): the provider's built-in figure "
                    "(tcp between nodes 3.5, shm 15, other networks 40; 2000 when a node runs "
                    "more ranks than cores).  benchmarks/emu/calibrate.sh shows how to measure it",
                    OPAL_INFO_LVL_6, &c->alpha_us);
    c->beta_ns = 0;
    register_double("beta_ns",
                    "The cost model's time per byte of one link, in nanoseconds (8 for 1 Gbit/s), "
                    "for the automatic block size.  0 (default): the provider's built-in figure "
                    "(tcp between nodes 8.4, shm 0.16, other networks 0.4)",
                    OPAL_INFO_LVL_6, &c->beta_ns);

    c->sends_in_flight = 0;
    register_int("sends_in_flight",
                 "Blocks a rank of a pipelined schedule sends at once (1 to 64).  0 (default): "
                 "1 over tcp between nodes, where a second block to another peer shares the "
                 "link with the first and delays the one the pipeline waits for; 2 otherwise",
                 OPAL_INFO_LVL_6, &c->sends_in_flight);

    c->schedule = RDMC_SCHEDULE_AUTO;
    register_enum("schedule",
        "Block schedule.  binomial_pipeline: RDMC's hypercube pipeline, about one message "
        "time whatever the number of ranks when links are the bottleneck; fanout: the root "
        "hands each block to every rank in turn, best within one node where receivers copy "
        "from the root's memory; chain: pipeline along the ranks; sequential: the whole "
        "message to each rank in turn; binomial_tree: the whole message down a tree.  auto "
        "(default): fanout over shm, binomial_pipeline otherwise",
        OPAL_INFO_LVL_5, schedule_names, &c->schedule);

    c->levels = RDMC_LEVELS_NUMA;
    register_enum("levels",
                  "How a broadcast follows where ranks run.  numa (default): between nodes "
                  "one leader per node (the root on its own node) runs the pipeline over "
                  "the network, and each leader passes the blocks on inside its node over "
                  "shared memory as they arrive, by package, then NUMA domain, then to each "
                  "rank (ranks bound by mpirun --bind-to core or numa); node: the same "
                  "without packages and NUMA domains; flat: one pipeline over all ranks, "
                  "as if each had a node of its own",
                  OPAL_INFO_LVL_5, levels_names, &c->levels);

    c->node_sizes = "";
    register_string("node_sizes",
                    "For testing on one machine: pretend that the job's ranks, in "
                    "MPI_COMM_WORLD order, run on nodes of this many ranks each, e.g. "
                    "\"3,2,1\" (ranks past the list get a node each).  Empty (default): "
                    "Open MPI's locality",
                    OPAL_INFO_LVL_9, &c->node_sizes);

    c->provider = "auto";
    register_string("provider",
                    "libfabric provider, named as FI_PROVIDER names them (shm, tcp, verbs, "
                    "efa, sockets).  auto (default): shm when all ranks of the communicator "
                    "share a node, otherwise the first of verbs, efa, tcp, sockets that "
                    "offers reliable datagram endpoints with RMA",
                    OPAL_INFO_LVL_4, &c->provider);

    c->domain = "";
    register_string("domain",
                    "libfabric domain (NIC or interface, e.g. mlx5_0 or lo) to use.  Empty "
                    "(default): the one nearest to the rank's cores, from hwloc's PCI "
                    "locality",
                    OPAL_INFO_LVL_5, &c->domain);

    c->timeout_ms = DEFAULT_TIMEOUT_MS;
    register_int("timeout_ms",
                 "A collective that makes no progress for this many milliseconds (a peer "
                 "stopped answering or never entered it) fails with MPI_ERR_OTHER instead of "
                 "waiting forever; the communicator then refuses further rdmc collectives.  "
                 "A communicator's set-up (its first collective, which opens libfabric) gets "
                 "at least 10 s.  Default: 30 minutes; under failure handling, waits no failure "
                 "detector watches (set-up, communicators too large for it) end after 2 minutes "
                 "unless this is set",
                 OPAL_INFO_LVL_5, &c->timeout_ms);

    c->stall_warning_ms = DEFAULT_STALL_WARNING_MS;
    register_int("stall_warning_ms",
                 "A collective that makes no progress for this many milliseconds is reported "
                 "on stderr (by its root and by the lowest other rank; the first time in a "
                 "process, later ones at coll_rdmc_verbose 1) with how long it will still be "
                 "waited for (coll_rdmc_timeout_ms); 0: never",
                 OPAL_INFO_LVL_5, &c->stall_warning_ms);

    c->verbose = 0;
    register_int("verbose",
                 "Verbosity: 0 prints only errors, 1 the provider and set-up decisions, "
                 "10 per-broadcast details",
                 OPAL_INFO_LVL_9, &c->verbose);

    c->window = DEFAULT_WINDOW;
    register_int("window",
                 "Collectives (MPI_Ibcast, MPI_Ibarrier, and blocking ones) in flight at once "
                 "on one communicator; more are queued and start as earlier ones complete. "
                 "Also the number of small-message slots in each SST row",
                 OPAL_INFO_LVL_5, &c->window);

    register_enum("delivery",
                  "stable (default): a broadcast completes at a rank only once every rank of "
                  "the communicator has received it (Derecho's uniform delivery); local: once "
                  "this rank's copy is complete (plain MPI semantics, a little faster)",
                  OPAL_INFO_LVL_4, delivery_names, &delivery);

    register_enum("small_path",
                  "How MPI_Bcast carries messages below bcast_min_bytes.  sst: through the "
                  "SST's slots up to sst_max_bytes (and the RDMC engine above), so every "
                  "broadcast stays within rdmc, as failure handling needs; fallback: the "
                  "component selected before rdmc (Open MPI's fast small broadcasts).  auto "
                  "(default): sst when failure handling is on (see failures), fallback "
                  "otherwise.  MPI_Ibcast always uses rdmc",
                  OPAL_INFO_LVL_4, small_path_names, &small_path);

    c->sst_max_bytes = DEFAULT_SST_MAX_BYTES;
    register_size("sst_max_bytes",
                  "Largest broadcast carried through the SST's slots (one-sided writes into "
                  "each member's row); larger ones use the RDMC engine",
                  OPAL_INFO_LVL_5, &c->sst_max_bytes);

    c->heartbeat_ms = DEFAULT_HEARTBEAT_MS;
    register_int("heartbeat_ms",
                 "Period of the heartbeat each member writes into its SST row; at most a "
                 "quarter of failure_timeout_ms (a longer one is shortened to that)",
                 OPAL_INFO_LVL_5, &c->heartbeat_ms);

    register_enum("failures",
                  "Failure handling: heartbeats and provider errors make suspicions, the "
                  "survivors agree on a new view and go on with the same communicator "
                  "(broadcasts of a dead root fail with RDMC_ERR_PROC_FAILED at every "
                  "survivor).  auto (default): on when the job runs with recovery enabled "
                  "(mpirun --enable-recovery), off otherwise (mpirun then ends the job "
                  "anyway).  Communicators of more than 64 ranks run without it",
                  OPAL_INFO_LVL_4, failures_names, &failures);

    c->failure_timeout_ms = DEFAULT_FAILURE_TIMEOUT_MS;
    register_int("failure_timeout_ms",
                 "With failure handling, a member whose heartbeat has not moved for this "
                 "many milliseconds is suspected of having failed (members beat at least "
                 "4 times in it, see heartbeat_ms).  A communicator's info key "
                 "rdmc_failure_timeout_ms (MPI_Comm_dup_with_info) sets its own",
                 OPAL_INFO_LVL_4, &c->failure_timeout_ms);

    register_enum("sst_ordering",
                  "How SST guards are kept behind their data.  auto (default): where the "
                  "provider places writes in order (FI_ORDER_WAW) the guard follows at once, "
                  "elsewhere the data write completes first; completion: always wait for the "
                  "data write (for testing)",
                  OPAL_INFO_LVL_9, ordering_names, &sst_ordering);

    c->shm_sst = true;
    (void)mca_base_component_var_register(
        &c->super.collm_version, "shm_sst",
        "Under failure handling, keep the SST of a communicator whose ranks all run on one "
        "node in shared memory (memfd segments the peers map; their writes are stores, "
        "nothing in it can be left held by a killed process, and nothing is left in "
        "/dev/shm) instead of writing it through the tcp provider: small broadcasts and "
        "stability cost a store and, for a sleeping peer, a wake-up.  true (default): where "
        "it applies; false: always through the provider",
        MCA_BASE_VAR_TYPE_BOOL, NULL, 0, 0, OPAL_INFO_LVL_5, MCA_BASE_VAR_SCOPE_READONLY,
        &c->shm_sst);
    c->shm_sst_max_mappings = 0;
    register_int("shm_sst_max_mappings",
                 "Most memory mappings the shared-memory SSTs of a process may hold (a "
                 "communicator of n ranks takes n).  Linux caps a process's mappings "
                 "(vm.max_map_count) and an mmap past the cap fails, the application's "
                 "included; past this budget a communicator's SST goes through the provider "
                 "instead (said once).  0 (default): a quarter of vm.max_map_count",
                 OPAL_INFO_LVL_5, &c->shm_sst_max_mappings);

    register_counter("bcasts", "Broadcasts this process took part in through rdmc",
                     &c->pvar_bcasts);
    register_counter("bytes", "Bytes of the broadcasts this process took part in through rdmc",
                     &c->pvar_bytes);
    register_counter("fallbacks",
                     "Broadcasts rdmc handed to the previously selected component "
                     "(below the crossover, or rdmc unavailable on the communicator)",
                     &c->pvar_fallbacks);
    register_counter("ibcasts", "MPI_Ibcasts this process took part in through rdmc",
                     &c->pvar_ibcasts);
    register_counter("persistent_starts",
                     "MPI_Starts of persistent broadcasts (MPI_Bcast_init) carried by rdmc",
                     &c->pvar_persistent_starts);
    register_counter("sst_bcasts", "Broadcasts carried through the SST's slots",
                     &c->pvar_sst_bcasts);
    register_counter("sst_writes", "One-sided writes this process posted to push its SST row",
                     &c->pvar_sst_writes);
    register_counter("barriers", "MPI_Barriers and MPI_Ibarriers this process took part in "
                     "through rdmc", &c->pvar_barriers);
    register_counter("links", "Communicators this process linked to rdmc's engine (set-ups "
                     "that succeeded)", &c->pvar_links);
    register_counter("shm_sst_links", "Of the linked communicators, those whose SST is in "
                     "shared memory (coll_rdmc_shm_sst)", &c->pvar_shm_sst_links);
    register_counter("carried_verdicts",
                     "Members this process's communicators suspected because another of its "
                     "communicators had removed them for a failure (one per communicator and "
                     "process)",
                     &c->pvar_carried_verdicts);
    register_counter("tree_bcasts",
                     "Broadcasts this process took part in that ran between nodes through one "
                     "leader per node and on inside the nodes (see levels)",
                     &c->pvar_tree_bcasts);
    register_counter("bytes_between_nodes",
                     "Bytes this process received from another node through rdmc",
                     &c->pvar_bytes_between_nodes);
    register_counter("bytes_inside_node",
                     "Bytes this process received from a rank of its own node through rdmc",
                     &c->pvar_bytes_inside_node);
    register_counter("endpoints", "libfabric endpoints this process opened: one per provider, "
                     "shared by every communicator", &c->pvar_endpoints);
    return OMPI_SUCCESS;
}

/* Did the user set coll_rdmc_<name> (command line, environment, file)? */
static bool param_was_set(const char *name)
{
    int index = mca_base_var_find("ompi", "coll", "rdmc", name);
    mca_base_var_source_t source = MCA_BASE_VAR_SOURCE_DEFAULT;

    return index >= 0 && mca_base_var_get_value(index, NULL, &source, NULL) == OPAL_SUCCESS &&
           source != MCA_BASE_VAR_SOURCE_DEFAULT;
}

/* Did mpirun start the job with failures survivable (coll_rdmc_compat.h)? */
static bool recovery_enabled(void)
{
    int index = mca_base_var_find(RDMC_RECOVERY_VAR);
    const bool *value = NULL;
    const char *env;

    if (index >= 0 && mca_base_var_get_value(index, &value, NULL, NULL) == OPAL_SUCCESS &&
        value != NULL) {
        return *value;
    }
    env = getenv(RDMC_RECOVERY_ENV);
    return env != NULL && (strcmp(env, "1") == 0 || strcmp(env, "true") == 0);
}

static void log_to_opal(int level, const char *msg)
{
    opal_output_verbose(level, mca_coll_rdmc_component.output, "coll:rdmc: %s", msg);
}

/* What every member of a communicator must share, as one line that a
 * joiner's, or another rank's at set-up, can be compared with (and shown
 * beside).  Where each rank may differ (domain, verbosity, timeouts of
 * its own) is left out. */
void mca_coll_rdmc_settings(char *buf, size_t len)
{
    const mca_coll_rdmc_component_t *c = &mca_coll_rdmc_component;

    snprintf(buf, len,
             "failures=%s failure_timeout_ms=%d heartbeat_ms=%d small_path=%s "
             "bcast_min_bytes=%zu/%zu block_bytes=%zu schedule=%d window=%d sst_max_bytes=%zu "
             "delivery=%s sst_ordering=%s provider=%s levels=%d",
             c->failures ? "on" : "off", c->failure_timeout_ms, c->heartbeat_ms,
             c->small_path_sst ? "sst" : "fallback", c->bcast_min_bytes, c->bcast_min_bytes_nodes,
             c->block_bytes,
             c->schedule, c->window, c->sst_max_bytes, c->stable_delivery ? "stable" : "local",
             c->sst_fence ? "completion" : "provider", c->provider != NULL ? c->provider : "",
             c->levels);
}

/* What librdmc (the extended API) asks of the component. */
static const rdmc_component_hooks_t librdmc_hooks = {
    .settings = mca_coll_rdmc_settings,
    .setup = mca_coll_rdmc_group_setup,
};

/* Said once per node (its first rank), and by every rank at verbosity 1:
 * the user set a parameter rdmc cannot use as given. */
static void say_replaced(const char *what, ...)
{
    mca_coll_rdmc_component_t *c = &mca_coll_rdmc_component;
    char text[256];
    va_list ap;

    va_start(ap, what);
    vsnprintf(text, sizeof(text), what, ap);
    va_end(ap);
    opal_output_verbose(opal_process_info.my_local_rank == 0 ? 0 : 1, c->output, "coll:rdmc: %s",
                        text);
}

/* coll_rdmc_<name> if it lies in lo..hi; else below_lo or above_hi, and the
 * user hears which. */
static long long usable(const char *name, long long value, long long lo, long long hi,
                        long long below_lo, long long above_hi)
{
    long long used;

    if (value >= lo && value <= hi) {
        return value;
    }
    used = value < lo ? below_lo : above_hi;
    if (hi >= INT_MAX) {
        say_replaced("coll_rdmc_%s must be at least %lld; using %lld", name, lo, used);
    } else {
        say_replaced("coll_rdmc_%s must be %lld to %lld; using %lld", name, lo, hi, used);
    }
    return used;
}

/* Several beats must fit in the failure timeout (RDMC_FD_BEATS_PER_TIMEOUT),
 * or live members are accused between two of them.  A shorter timeout
 * asks for faster beats; only a period the user chose is worth a word. */
static void fit_heartbeat(mca_coll_rdmc_component_t *c)
{
    int beat = rdmc_fd_heartbeat_ms(c->heartbeat_ms, c->failure_timeout_ms);

    if (beat == c->heartbeat_ms) {
        return;
    }
    if (param_was_set("heartbeat_ms")) {
        say_replaced("coll_rdmc_heartbeat_ms=%d leaves fewer than %d beats in "
                     "coll_rdmc_failure_timeout_ms=%d; members beat every %d ms",
                     c->heartbeat_ms, RDMC_FD_BEATS_PER_TIMEOUT, c->failure_timeout_ms, beat);
    } else {
        opal_output_verbose(1, c->output, "coll:rdmc: heartbeat every %d ms for a failure "
                            "timeout of %d ms", beat, c->failure_timeout_ms);
    }
    c->heartbeat_ms = beat;
}

/* The fabrics made a file in /dev/shm: a process that is killed cannot
 * remove it, so the job's runtime is asked to (the opener's thread, or
 * the caller's; the answer comes from the local daemon). */
static void runtime_removes_file(const char *path)
{
    int rc = rdmc_runtime_removes_at_exit(path);

    if (rc != OPAL_SUCCESS) {
        opal_output_verbose(1, mca_coll_rdmc_component.output,
                            "coll:rdmc: the runtime cannot remove %s should this process be "
                            "killed (%d): it would stay behind",
                            path, rc);
    }
}

static int rdmc_open(void)
{
    mca_coll_rdmc_component_t *c = &mca_coll_rdmc_component;

    c->output = opal_output_open(NULL);
    opal_output_set_verbosity(c->output, c->verbose);
    rdmc_log_set_sink(log_to_opal);
    rdmc_ofi_set_progress_lock(&mca_coll_rdmc_lock);
    rdmc_ofi_set_file_hook(runtime_removes_file);
    rdmc_ofi_preset_provider_params();
    /* block_bytes is clamped where it is used (rdmc_block_bytes). */
    c->timeout_ms = usable("timeout_ms", c->timeout_ms, 1, INT_MAX, DEFAULT_TIMEOUT_MS, 0);
    c->stall_warning_ms = usable("stall_warning_ms", c->stall_warning_ms, 0, INT_MAX,
                                 DEFAULT_STALL_WARNING_MS, 0);
    c->bcast_min_bytes_set = param_was_set("bcast_min_bytes");
    c->timeout_set = param_was_set("timeout_ms");
    c->fabric_set = param_was_set("provider") || param_was_set("domain");
    if (!param_was_set("bcast_min_bytes_nodes") && c->bcast_min_bytes_set) {
        c->bcast_min_bytes_nodes = c->bcast_min_bytes;
    }
    if (c->levels < RDMC_LEVELS_FLAT || c->levels > RDMC_LEVELS_NUMA) {
        c->levels = RDMC_LEVELS_NUMA;
    }
    if (c->schedule < RDMC_SCHEDULE_AUTO || c->schedule >= RDMC_SCHEDULE_COUNT) {
        c->schedule = RDMC_SCHEDULE_AUTO;
    }
    c->sends_in_flight = usable("sends_in_flight", c->sends_in_flight, 0, RDMC_MAX_IN_FLIGHT, 0,
                                RDMC_MAX_IN_FLIGHT);
    c->window = usable("window", c->window, 1, MAX_WINDOW, 1, MAX_WINDOW);
    c->sst_max_bytes = (size_t)usable("sst_max_bytes",
                                      c->sst_max_bytes <= MAX_SST_BYTES ? (long long)c->sst_max_bytes
                                                                        : LLONG_MAX,
                                      0, MAX_SST_BYTES, 0, MAX_SST_BYTES);
    c->failure_timeout_ms = usable("failure_timeout_ms", c->failure_timeout_ms, 1, INT_MAX,
                                   DEFAULT_FAILURE_TIMEOUT_MS, 0);
    c->heartbeat_ms = usable("heartbeat_ms", c->heartbeat_ms, 1, INT_MAX, DEFAULT_HEARTBEAT_MS, 0);
    fit_heartbeat(c);
    rdmc_staging_set_budget(c->staging_bytes);
    c->stable_delivery = delivery != 0;
    c->failures = failures == FAILURES_AUTO ? recovery_enabled() : failures == FAILURES_ON;
    c->ulfm = RDMC_RECOVERY_IS_ULFM && recovery_enabled();
    /* Failure handling needs every broadcast inside rdmc. */
    c->small_path_sst = small_path == SMALL_PATH_AUTO ? c->failures
                                                      : small_path == SMALL_PATH_SST;
    c->sst_fence = sst_ordering == 1;
    /* librdmc learns from this that coll/rdmc may carry communicators in
     * this process; switched off by its priority, it never will, and the
     * API says so (RDMC_ERR_NOT_ACTIVE) as when the component is absent. */
    rdmc_set_component_hooks(c->priority >= 0 ? &librdmc_hooks : NULL);
    return OMPI_SUCCESS;
}

static void memory_released(void *buf, size_t length, void *cbdata, bool from_alloc)
{
    (void)cbdata;
    (void)from_alloc;
    rdmc_ofi_memory_released(buf, length);
}

/* Registration caches must learn when memory goes back to the system; only
 * providers that need registered buffers care. */
void mca_coll_rdmc_watch_memory(void)
{
    mca_coll_rdmc_component_t *c = &mca_coll_rdmc_component;
    int support = opal_mem_hooks_support_level();

    if (c->mem_hooks_registered || !rdmc_ofi_registration_needed()) {
        return;
    }
    if ((support & (OPAL_MEMORY_FREE_SUPPORT | OPAL_MEMORY_MUNMAP_SUPPORT)) == 0) {
        opal_output_verbose(1, c->output,
                            "coll:rdmc: no memory release hooks: registrations are not cached "
                            "across broadcasts");
    }
    c->mem_hooks_registered = opal_mem_hooks_register_release(memory_released, NULL) ==
                              OPAL_SUCCESS;
}

static int rdmc_close(void)
{
    mca_coll_rdmc_component_t *c = &mca_coll_rdmc_component;

    if (c->mem_hooks_registered) {
        opal_mem_hooks_unregister_release(memory_released);
        c->mem_hooks_registered = false;
    }
    mca_coll_rdmc_driver_stop();
    rdmc_staging_set_budget(0);   /* nothing uses staging memory now */
    rdmc_set_component_hooks(NULL);
    rdmc_log_set_sink(NULL);
    opal_output_close(c->output);
    return OMPI_SUCCESS;
}

int mca_coll_rdmc_init_query(bool enable_progress_threads, bool enable_mpi_threads)
{
    (void)enable_progress_threads;
    (void)enable_mpi_threads;
    return OMPI_SUCCESS;
}
