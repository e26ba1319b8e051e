/*
 * The coll/rdmc component: MCA parameters, MPI_T performance variables,
 * open/close and comm_query.
 */
#include "coll_rdmc.h"

#include <string.h>

#include "ompi/constants.h"
#include "opal/memoryhooks/memory.h"
#include "opal/mca/base/mca_base_pvar.h"
#include "opal/mca/base/mca_base_var_enum.h"
#include "opal/util/output.h"

#include "ofi/rdmc_log.h"

static int rdmc_register(void);
static int rdmc_open(void);
static int rdmc_close(void);

mca_coll_rdmc_component_t mca_coll_rdmc_component = {
    .super = {
        .collm_version = {
            MCA_COLL_BASE_VERSION_2_0_0,
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
 * this, Open MPI's tuned bcast, which needs no set-up messages, is faster. */
#define DEFAULT_BCAST_MIN_BYTES (4 * 1024 * 1024)
#define DEFAULT_PRIORITY 40
#define DEFAULT_TIMEOUT_MS 120000

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

static int rdmc_register(void)
{
    mca_coll_rdmc_component_t *c = &mca_coll_rdmc_component;
    mca_base_var_enum_t *schedules = NULL;

    c->priority = DEFAULT_PRIORITY;
    register_int("priority",
                 "Priority of the rdmc collective component; it is used on every "
                 "intra-communicator of 2 or more ranks when this is above the other "
                 "components' (tuned: 30).  A negative value disables rdmc",
                 OPAL_INFO_LVL_6, &c->priority);

    c->bcast_min_bytes = DEFAULT_BCAST_MIN_BYTES;
    register_size("bcast_min_bytes",
                  "Broadcasts smaller than this many bytes go to the collective component "
                  "selected before rdmc (usually tuned); larger ones use the RDMC pipeline",
                  OPAL_INFO_LVL_5, &c->bcast_min_bytes);

    c->block_bytes = 0;
    register_size("block_bytes",
                  "Size of the blocks a broadcast is cut into.  0 (default) chooses it from "
                  "the message size and the number of ranks with the schedule's cost model; "
                  "other values are clamped to 1 KiB .. 64 MiB",
                  OPAL_INFO_LVL_5, &c->block_bytes);

    c->schedule = RDMC_SCHEDULE_AUTO;
    (void)mca_base_var_enum_create("coll_rdmc_schedules", schedule_names, &schedules);
    (void)mca_base_component_var_register(
        &c->super.collm_version, "schedule",
        "Block schedule.  binomial_pipeline: RDMC's hypercube pipeline, about one message "
        "time whatever the number of ranks when links are the bottleneck; fanout: the root "
        "hands each block to every rank in turn, best within one node where receivers copy "
        "from the root's memory; chain: pipeline along the ranks; sequential: the whole "
        "message to each rank in turn; binomial_tree: the whole message down a tree.  auto "
        "(default): fanout over shm, binomial_pipeline otherwise",
        MCA_BASE_VAR_TYPE_INT, schedules, 0, 0, OPAL_INFO_LVL_5, MCA_BASE_VAR_SCOPE_READONLY,
        &c->schedule);
    OBJ_RELEASE(schedules);

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
                 "A broadcast that makes no progress for this many milliseconds (a peer "
                 "stopped answering or never entered it) fails with MPI_ERR_OTHER instead of "
                 "waiting forever; the communicator then refuses further rdmc broadcasts",
                 OPAL_INFO_LVL_5, &c->timeout_ms);

    c->verbose = 0;
    register_int("verbose",
                 "Verbosity: 0 prints only errors, 1 the provider and set-up decisions, "
                 "10 per-broadcast details",
                 OPAL_INFO_LVL_9, &c->verbose);

    register_counter("bcasts", "Broadcasts this process took part in through rdmc",
                     &c->pvar_bcasts);
    register_counter("bytes", "Bytes of the broadcasts this process took part in through rdmc",
                     &c->pvar_bytes);
    register_counter("fallbacks",
                     "Broadcasts rdmc handed to the previously selected component "
                     "(below the crossover, or rdmc unavailable on the communicator)",
                     &c->pvar_fallbacks);
    return OMPI_SUCCESS;
}

static void log_to_opal(int level, const char *msg)
{
    opal_output_verbose(level, mca_coll_rdmc_component.output, "coll:rdmc: %s", msg);
}

static int rdmc_open(void)
{
    mca_coll_rdmc_component_t *c = &mca_coll_rdmc_component;

    c->output = opal_output_open(NULL);
    opal_output_set_verbosity(c->output, c->verbose);
    rdmc_log_set_sink(log_to_opal);
    /* block_bytes is clamped where it is used (rdmc_block_bytes). */
    if (c->timeout_ms <= 0) {
        c->timeout_ms = DEFAULT_TIMEOUT_MS;
    }
    if (c->schedule < RDMC_SCHEDULE_AUTO || c->schedule >= RDMC_SCHEDULE_COUNT) {
        c->schedule = RDMC_SCHEDULE_AUTO;
    }
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
    rdmc_ofi_finalize();
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
