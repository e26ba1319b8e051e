/*
 * The per-communicator module: what was selected before us (our
 * fallback), the cost model for the provider the link uses, and the
 * module's life cycle.  Creating a module costs no communication; the link
 * to the engine is set up at the first collective rdmc carries
 * (coll_rdmc_setup.c), and retires in the background when the module goes
 * (coll_rdmc_progress.c).
 */
#include "coll_rdmc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ompi/constants.h"
#include "ompi/group/group.h"
#include "opal/util/output.h"
#include "opal/util/proc.h"

#include "ofi/ofi_topology.h"
#include "rdmc_engine.h"

/* Cost model: one step's fixed cost and per-byte cost, measured on this
 * project's reference machine (README, "Block size").  When a node runs more
 * ranks than it has cores, a step waits for the scheduler to run the rank
 * that holds the next block: about a scheduling quantum, so few large
 * blocks win. */
static const rdmc_cost_model_t shm_model = { 15.0, 0.16, 0, 0 };
static const rdmc_cost_model_t network_model = { 40.0, 0.40, 0, 0 };
static const rdmc_cost_model_t oversubscribed_model = { 2000.0, 0.16, 0, 0 };

/* Past this many ranks per core, rdmc's broadcast inside a node lost to
 * Open MPI's default on the project's 2-core machine (np 8, 16-64 MiB:
 * 1.3-4x its time on OSU's average, 1.05-1.9x until the last rank has the
 * data; np 6: faster; README, "Crowded nodes"). */
#define CROWDED_RANKS_PER_CORE 3.0

/* Ranks of the job per core on this node: looked up (and said) once per
 * process, by whichever thread asks first. */
static double node_ranks_per_core;
static pthread_once_t node_looked_up = PTHREAD_ONCE_INIT;

static void look_up_node(void)
{
    int ranks = opal_process_info.num_local_peers + 1, cores = rdmc_topology_cores();

    node_ranks_per_core = (double)ranks / cores;
    opal_output_verbose(1, mca_coll_rdmc_component.output,
                        "coll:rdmc: this node runs %d ranks of the job on %d cores%s%s", ranks,
                        cores, ranks > cores ? ": oversubscribed, few large blocks" : "",
                        node_ranks_per_core > CROWDED_RANKS_PER_CORE
                            ? "; broadcasts inside it go to the previous component unless "
                              "coll_rdmc_bcast_min_bytes is set"
                            : "");
}

static double ranks_per_core(void)
{
    pthread_once(&node_looked_up, look_up_node);
    return node_ranks_per_core;
}

bool mca_coll_rdmc_node_oversubscribed(void)
{
    return ranks_per_core() > 1.0;
}

bool mca_coll_rdmc_node_crowded(void)
{
    return ranks_per_core() > CROWDED_RANKS_PER_CORE;
}

/* The tcp and sockets providers: TCP streams rather than a NIC's queues. */
static bool is_sockets_provider(const char *provider)
{
    return strncmp(provider, "tcp", 3) == 0 || strncmp(provider, "sockets", 7) == 0;
}

/* Over TCP between nodes, two blocks in flight to different peers share the
 * link as two streams, and the one the receiver forwards next arrives late:
 * one at a time was 7% faster with 8 emulated hosts at 1 Gbit/s (16-64 MiB)
 * and the same with 4 and 16.  Elsewhere two keep the link busy between
 * completions. */
static unsigned choose_sends_in_flight(const char *provider, bool all_local)
{
    int requested = mca_coll_rdmc_component.sends_in_flight;
    bool sockets = is_sockets_provider(provider);

    if (requested > 0) {
        return (unsigned)requested;
    }
    return sockets && !all_local ? 1 : RDMC_SENDS_IN_FLIGHT;
}

/* coll_rdmc_alpha_us and coll_rdmc_beta_ns replace either figure of a
 * built-in model (a user's own calibration). */
static rdmc_cost_model_t with_user_figures(rdmc_cost_model_t model)
{
    const mca_coll_rdmc_component_t *c = &mca_coll_rdmc_component;

    if (c->alpha_us > 0) {
        model.alpha_us = c->alpha_us;
    }
    if (c->beta_ns > 0) {
        model.beta_ns_per_byte = c->beta_ns;
    }
    return model;
}

/* The cost model for this communicator's provider. */
static rdmc_cost_model_t cost_model(const char *provider, bool all_local)
{
    const mca_coll_rdmc_component_t *c = &mca_coll_rdmc_component;
    bool sockets = is_sockets_provider(provider);
    rdmc_cost_model_t model = network_model;

    if (mca_coll_rdmc_node_oversubscribed()) {
        model = oversubscribed_model;
    } else if (strcmp(provider, "shm") == 0) {
        model = shm_model;
    } else if (sockets && !all_local) {
        model = rdmc_tcp_model;
    }
    model = with_user_figures(model);
    opal_output_verbose(10, c->output, "coll:rdmc: cost model: %.1f us per step, %.2f ns per byte",
                        model.alpha_us, model.beta_ns_per_byte);
    return model;
}

const char *mca_coll_rdmc_comm_name(ompi_communicator_t *comm)
{
    static __thread char unnamed[48];

    if (comm->c_name[0] != '\0') {
        return comm->c_name;
    }
    snprintf(unnamed, sizeof(unnamed), "unnamed communicator %u", rdmc_comm_local_id(comm));
    return unnamed;
}

void mca_coll_rdmc_module_choose_model(mca_coll_rdmc_module_t *m, const char *provider,
                                       bool all_local)
{
    snprintf(m->link_provider, sizeof(m->link_provider), "%s", provider);
    m->model = cost_model(provider, all_local);
    m->sends_in_flight = choose_sends_in_flight(provider, all_local);
    m->auto_schedule = strcmp(provider, "shm") == 0 ? RDMC_SCHEDULE_FANOUT
                                                    : RDMC_SCHEDULE_BINOMIAL_PIPELINE;
}

/* Broadcasts by levels: between nodes only one leader per node takes part,
 * so the link, not the node's other ranks, sets its pace (no
 * oversubscription figure); inside a node, local_provider's model, and the
 * schedule "auto" means there. */
void mca_coll_rdmc_module_choose_levels(mca_coll_rdmc_module_t *m, const char *local_provider,
                                        rdmc_levels_t *lv)
{
    const mca_coll_rdmc_component_t *c = &mca_coll_rdmc_component;
    bool shm = strcmp(local_provider, "shm") == 0;

    if (m->link->spans_nodes && is_sockets_provider(m->link_provider)) {
        m->model = with_user_figures(rdmc_tcp_model);
    }
    lv->local_model = cost_model(local_provider, true);
    lv->local_sends_in_flight = choose_sends_in_flight(local_provider, true);
    lv->local_schedule = c->schedule != RDMC_SCHEDULE_AUTO ? (rdmc_schedule_alg_t)c->schedule
                         : shm ? RDMC_SCHEDULE_FANOUT
                               : RDMC_SCHEDULE_BINOMIAL_PIPELINE;
    lv->local_block_bytes = c->block_bytes;
}

static void rdmc_module_construct(mca_coll_rdmc_module_t *m)
{
    /* Everything after the base class starts at zero (NULL, false, 0),
     * so a field added later cannot be left uninitialised. */
    memset((char *)m + sizeof(m->super), 0, sizeof(*m) - sizeof(m->super));
    m->state = RDMC_SETUP_NOT_YET;
    m->spans_nodes = -1;
    m->model = shm_model;
    m->auto_schedule = RDMC_SCHEDULE_BINOMIAL_PIPELINE;
}

/* The link goes on without us: it leaves and frees itself (or, set-up
 * still under way, the messages are cancelled). */
static void let_link_go(mca_coll_rdmc_module_t *m)
{
    mca_coll_rdmc_link_t *l;

    pthread_mutex_lock(&mca_coll_rdmc_lock);
    mca_coll_rdmc_report_forget(m);
    l = m->link;
    m->link = NULL;
    if (m->state == RDMC_SETUP_CONNECTING) {
        mca_coll_rdmc_setup_abandon(m);
    }
    if (l != NULL && l->stream_started) {
        l->module = NULL;
        l->retire_began_ms = rdmc_now_ms();
        l->retire_deadline_ms = l->retire_began_ms + mca_coll_rdmc_component.timeout_ms;
        mca_coll_rdmc_link_quiet_until(l, 0);
    } else if (l != NULL) {
        mca_coll_rdmc_link_free(l);
    }
    pthread_mutex_unlock(&mca_coll_rdmc_lock);
}

static void release_previous(mca_coll_base_module_t **module)
{
    if (*module != NULL) {
        OBJ_RELEASE(*module);
        *module = NULL;
    }
}

static void rdmc_module_destruct(mca_coll_rdmc_module_t *m)
{
    let_link_go(m);
    release_previous(&m->previous_bcast_module);
    release_previous(&m->previous_ibcast_module);
    release_previous(&m->previous_barrier_module);
    release_previous(&m->previous_ibarrier_module);
    release_previous(&m->previous_bcast_init_module);
}

OBJ_CLASS_INSTANCE(mca_coll_rdmc_module_t, mca_coll_base_module_t, rdmc_module_construct,
                   rdmc_module_destruct);

static int rdmc_module_enable(mca_coll_base_module_t *base, struct ompi_communicator_t *comm)
{
    mca_coll_rdmc_module_t *m = (mca_coll_rdmc_module_t *)base;

    m->comm = comm;
    /* The previous components carry what we decline or cannot do. */
    m->previous_bcast = comm->c_coll->coll_bcast;
    m->previous_bcast_module = comm->c_coll->coll_bcast_module;
    m->previous_ibcast = comm->c_coll->coll_ibcast;
    m->previous_ibcast_module = comm->c_coll->coll_ibcast_module;
    m->previous_barrier = comm->c_coll->coll_barrier;
    m->previous_barrier_module = comm->c_coll->coll_barrier_module;
    m->previous_ibarrier = comm->c_coll->coll_ibarrier;
    m->previous_ibarrier_module = comm->c_coll->coll_ibarrier_module;
    mca_coll_base_module_t *saved[] = {
        m->previous_bcast_module,
        m->previous_ibcast_module,
        m->previous_barrier_module,
        m->previous_ibarrier_module,
    };
    for (size_t i = 0; i < sizeof(saved) / sizeof(saved[0]); i++) {
        if (saved[i] == NULL) {
            opal_output_verbose(1, mca_coll_rdmc_component.output,
                                "coll:rdmc: %s: no lower-priority bcast, ibcast, barrier or "
                                "ibarrier to build on; declining",
                                mca_coll_rdmc_comm_name(comm));
            m->previous_bcast_module = m->previous_ibcast_module = NULL;
            m->previous_barrier_module = m->previous_ibarrier_module = NULL;
            return OMPI_ERROR;
        }
    }
    for (size_t i = 0; i < sizeof(saved) / sizeof(saved[0]); i++) {
        OBJ_RETAIN(saved[i]);
    }
    /* Persistent broadcasts: ours where rdmc carries the communicator,
     * whatever came before (if anything) where it declines. */
    m->previous_bcast_init = comm->c_coll->coll_bcast_init;
    m->previous_bcast_init_module = comm->c_coll->coll_bcast_init_module;
    if (m->previous_bcast_init_module != NULL) {
        OBJ_RETAIN(m->previous_bcast_init_module);
    } else {
        m->previous_bcast_init = NULL;
    }
    return OMPI_SUCCESS;
}

mca_coll_base_module_t *mca_coll_rdmc_comm_query(struct ompi_communicator_t *comm, int *priority)
{
    mca_coll_rdmc_component_t *c = &mca_coll_rdmc_component;
    mca_coll_rdmc_module_t *m;
    const char *why = NULL;

    if (c->priority < 0) {
        why = "disabled by coll_rdmc_priority";
    } else if (OMPI_COMM_IS_INTER(comm)) {
        why = "intercommunicator";
    } else if (ompi_comm_size(comm) < 2) {
        why = "size 1";
    } else if (c->failures && c->ulfm && ompi_comm_size(comm) > RDMC_VC_MAX_MEMBERS) {
        /* Open MPI's own collectives report a failure as ULFM says;
         * rdmc's, without failure handling, could only time out. */
        mca_coll_rdmc_say_too_large_for_failures(comm, "Open MPI's ULFM collectives carry it");
        why = "too large for failure handling under ULFM";
    }
    if (why != NULL) {
        opal_output_verbose(10, c->output, "coll:rdmc: %s: not used (%s)",
                            mca_coll_rdmc_comm_name(comm), why);
        return NULL;
    }
    m = OBJ_NEW(mca_coll_rdmc_module_t);
    if (m == NULL) {
        return NULL;
    }
    m->super.coll_module_enable = rdmc_module_enable;
    m->super.coll_bcast = mca_coll_rdmc_bcast;
    m->super.coll_ibcast = mca_coll_rdmc_ibcast;
    m->super.coll_bcast_init = mca_coll_rdmc_bcast_init;
    m->super.coll_barrier = mca_coll_rdmc_barrier;
    m->super.coll_ibarrier = mca_coll_rdmc_ibarrier;
    *priority = c->priority;
    return &m->super;
}
