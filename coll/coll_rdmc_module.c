/*
 * The per-communicator module: what was selected before us (our fallback),
 * and the transport, set up at the first broadcast rdmc carries.
 *
 * Set-up is collective and agreed: every rank opens its endpoint, all ranks
 * learn whether everyone succeeded (through the saved, lower-priority
 * allreduce), exchange addresses (saved allgather), and agree once more.
 * One rank's failure therefore makes every rank fall back together; nobody
 * is left waiting.
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

static bool node_oversubscribed(void)
{
    int ranks = opal_process_info.num_local_peers + 1, cores = rdmc_topology_cores();

    opal_output_verbose(1, mca_coll_rdmc_component.output,
                        "coll:rdmc: this node runs %d ranks of the job on %d cores%s", ranks,
                        cores, ranks > cores ? ": oversubscribed, few large blocks" : "");
    return ranks > cores;
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

/* The cost model for this communicator's provider; coll_rdmc_alpha_us and
 * coll_rdmc_beta_ns replace either figure (a user's own calibration). */
static rdmc_cost_model_t choose_model(const char *provider, bool all_local)
{
    const mca_coll_rdmc_component_t *c = &mca_coll_rdmc_component;
    bool sockets = is_sockets_provider(provider);
    rdmc_cost_model_t model = network_model;

    if (node_oversubscribed()) {
        model = oversubscribed_model;
    } else if (strcmp(provider, "shm") == 0) {
        model = shm_model;
    } else if (sockets && !all_local) {
        model = rdmc_tcp_model;
    }
    if (c->alpha_us > 0) {
        model.alpha_us = c->alpha_us;
    }
    if (c->beta_ns > 0) {
        model.beta_ns_per_byte = c->beta_ns;
    }
    opal_output_verbose(1, c->output, "coll:rdmc: cost model: %.1f us per step, %.2f ns per byte",
                        model.alpha_us, model.beta_ns_per_byte);
    return model;
}

static void rdmc_module_construct(mca_coll_rdmc_module_t *m)
{
    /* Everything after the base class starts at zero (NULL, false, 0),
     * so a field added later cannot be left uninitialised. */
    memset((char *)m + sizeof(m->super), 0, sizeof(*m) - sizeof(m->super));
    m->state = RDMC_SETUP_NOT_YET;
    m->model = shm_model;
    m->auto_schedule = RDMC_SCHEDULE_BINOMIAL_PIPELINE;
    pthread_mutex_init(&m->lock, NULL);
}

/* Stop the thread, close the transport, then fail whatever is in flight
 * (nothing posted may still point at what that frees). */
static void shut_down(mca_coll_rdmc_module_t *m)
{
    if (m->ep == NULL) {
        return;
    }
    mca_coll_rdmc_stream_stop(m);
    pthread_mutex_lock(&m->lock);
    if (m->state == RDMC_SETUP_READY && m->stream.error == 0) {
        /* Freeing is collective: wait (bounded) until every member stopped
         * writing into our table before closing. */
        double deadline = rdmc_now_ms() + mca_coll_rdmc_component.timeout_ms;
        while (!rdmc_stream_leave(&m->stream) && rdmc_now_ms() < deadline) {
            pthread_mutex_unlock(&m->lock);
            rdmc_ofi_ep_transport(m->ep)->ops->wait(rdmc_ofi_ep_transport(m->ep), 1);
            pthread_mutex_lock(&m->lock);
        }
    }
    rdmc_ofi_ep_close(m->ep);
    m->ep = NULL;
    if (m->sst != NULL) {
        if (m->stream.p.sst != NULL) {
            rdmc_stream_fini(&m->stream);
        }
        rdmc_sst_destroy(m->sst);
        m->sst = NULL;
    }
    free(m->gm);
    m->gm = NULL;
    pthread_mutex_unlock(&m->lock);
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
    shut_down(m);
    pthread_mutex_destroy(&m->lock);
    release_previous(&m->previous_bcast_module);
    release_previous(&m->previous_allgather_module);
    release_previous(&m->previous_allreduce_module);
    release_previous(&m->previous_ibcast_module);
    release_previous(&m->previous_barrier_module);
    release_previous(&m->previous_ibarrier_module);
}

OBJ_CLASS_INSTANCE(mca_coll_rdmc_module_t, mca_coll_base_module_t, rdmc_module_construct,
                   rdmc_module_destruct);

static int rdmc_module_enable(mca_coll_base_module_t *base, struct ompi_communicator_t *comm)
{
    mca_coll_rdmc_module_t *m = (mca_coll_rdmc_module_t *)base;

    m->comm = comm;
    /* Our set-up runs on the saved allgather and allreduce; the others
     * carry what we decline or cannot do. */
    m->previous_bcast = comm->c_coll->coll_bcast;
    m->previous_bcast_module = comm->c_coll->coll_bcast_module;
    m->previous_allgather = comm->c_coll->coll_allgather;
    m->previous_allgather_module = comm->c_coll->coll_allgather_module;
    m->previous_allreduce = comm->c_coll->coll_allreduce;
    m->previous_allreduce_module = comm->c_coll->coll_allreduce_module;
    m->previous_ibcast = comm->c_coll->coll_ibcast;
    m->previous_ibcast_module = comm->c_coll->coll_ibcast_module;
    m->previous_barrier = comm->c_coll->coll_barrier;
    m->previous_barrier_module = comm->c_coll->coll_barrier_module;
    m->previous_ibarrier = comm->c_coll->coll_ibarrier;
    m->previous_ibarrier_module = comm->c_coll->coll_ibarrier_module;
    mca_coll_base_module_t *saved[] = {
        m->previous_bcast_module,   m->previous_allgather_module, m->previous_allreduce_module,
        m->previous_ibcast_module,  m->previous_barrier_module,   m->previous_ibarrier_module,
    };
    for (size_t i = 0; i < sizeof(saved) / sizeof(saved[0]); i++) {
        if (saved[i] == NULL) {
            opal_output_verbose(1, mca_coll_rdmc_component.output,
                                "coll:rdmc: %s: no lower-priority bcast, allgather, allreduce, "
                                "ibcast, barrier or ibarrier to build on; declining",
                                comm->c_name);
            m->previous_bcast_module = m->previous_allgather_module = NULL;
            m->previous_allreduce_module = m->previous_ibcast_module = NULL;
            m->previous_barrier_module = m->previous_ibarrier_module = NULL;
            return OMPI_ERROR;
        }
    }
    for (size_t i = 0; i < sizeof(saved) / sizeof(saved[0]); i++) {
        OBJ_RETAIN(saved[i]);
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
    }
    if (why != NULL) {
        opal_output_verbose(10, c->output, "coll:rdmc: %s: not used (%s)", comm->c_name, why);
        return NULL;
    }
    m = OBJ_NEW(mca_coll_rdmc_module_t);
    if (m == NULL) {
        return NULL;
    }
    m->super.coll_module_enable = rdmc_module_enable;
    m->super.coll_bcast = mca_coll_rdmc_bcast;
    m->super.coll_ibcast = mca_coll_rdmc_ibcast;
    m->super.coll_barrier = mca_coll_rdmc_barrier;
    m->super.coll_ibarrier = mca_coll_rdmc_ibarrier;
    *priority = c->priority;
    return &m->super;
}

/* ---- collective set-up -------------------------------------------------- */

typedef struct rdmc_setup_record {
    int32_t status;
    uint32_t addr_len;
    uint32_t window_len;
    char provider[64];
    uint8_t addr[RDMC_OFI_MAX_ADDR];
    uint8_t window[RDMC_WINDOW_BLOB];
} rdmc_setup_record_t;

/* Does every rank report success?  (Saved allreduce: never ourselves.) */
static bool everyone_ok(mca_coll_rdmc_module_t *m, bool mine)
{
    int local = mine ? 1 : 0, all = 0;
    int rc = m->previous_allreduce(&local, &all, 1, MPI_INT, MPI_MIN, m->comm,
                                   m->previous_allreduce_module);

    return rc == OMPI_SUCCESS && all == 1;
}

/* The table, exposed through the endpoint: its address goes to the peers. */
/* Failure handling on this communicator?  (A view row names ranks by the
 * bits of a 64-bit word.) */
static bool handles_failures(const mca_coll_rdmc_module_t *m)
{
    return mca_coll_rdmc_component.failures && ompi_comm_size(m->comm) <= RDMC_VC_MAX_MEMBERS;
}

static int open_sst(mca_coll_rdmc_module_t *m, rdmc_setup_record_t *mine)
{
    mca_coll_rdmc_component_t *c = &mca_coll_rdmc_component;
    bool failures = handles_failures(m);
    rdmc_sst_params_t params = {
        .tp = rdmc_ofi_ep_transport(m->ep),
        .n = ompi_comm_size(m->comm),
        .me = ompi_comm_rank(m->comm),
        .nslots = (unsigned)c->window,
        .slot_payload = c->sst_max_bytes,
        .force_fence = c->sst_fence,
        .view_bytes = failures ? sizeof(rdmc_vc_row_t) : 0,
        .tolerate_peer_errors = failures,
    };
    size_t len = sizeof(mine->window);
    int rc = rdmc_sst_create(&params, &m->sst, mine->window, &len);

    if (rc != 0) {
        opal_output_verbose(1, c->output, "coll:rdmc: %s: cannot create the SST (%d)",
                            m->comm->c_name, rc);
        return rc;
    }
    if (failures) {
        m->gm = malloc(sizeof(*m->gm));
        if (m->gm == NULL) {
            return -ENOMEM;
        }
    } else if (c->failures) {
        opal_output_verbose(1, c->output,
                            "coll:rdmc: %s: %d ranks, more than failure handling supports (%d)",
                            m->comm->c_name, ompi_comm_size(m->comm), RDMC_VC_MAX_MEMBERS);
    }
    mine->window_len = (uint32_t)len;
    opal_output_verbose(10, c->output, "coll:rdmc: %s: SST rows of %zu bytes, %u slots of %zu",
                        m->comm->c_name, rdmc_sst_row_bytes(m->sst), params.nslots,
                        params.slot_payload);
    return 0;
}

/* shm's queues are guarded by locks in shared memory: a member killed
 * while it holds one blocks, forever, everyone who sends to that peer.
 * Sockets fail cleanly, so with failure handling "auto" means tcp (over
 * loopback when the communicator is on one node). */
static void choose_failure_safe_provider(rdmc_ofi_request_t *req)
{
    mca_coll_rdmc_component_t *c = &mca_coll_rdmc_component;
    bool auto_provider = req->provider == NULL || req->provider[0] == '\0' ||
                         strcmp(req->provider, "auto") == 0;

    if (auto_provider) {
        req->provider = "tcp";
        if (req->all_local && (req->domain == NULL || req->domain[0] == '\0')) {
            req->domain = "lo";
        }
    } else if (strcmp(req->provider, "shm") == 0) {
        opal_output_verbose(0, c->output,
                            "coll:rdmc: warning: provider shm with failure handling: a process "
                            "killed inside shm's shared queues can block its peers for good; "
                            "tcp is safe");
    }
}

static int open_endpoint(mca_coll_rdmc_module_t *m, rdmc_setup_record_t *mine)
{
    mca_coll_rdmc_component_t *c = &mca_coll_rdmc_component;
    /* Agreed: a joiner from another job may not know it shares our node. */
    rdmc_ofi_request_t req = {
        .provider = c->provider,
        .domain = c->domain,
        .all_local = everyone_ok(m, !ompi_group_have_remote_peers(m->comm->c_local_group)),
    };
    rdmc_ofi_fabric_t *fab;
    size_t len = sizeof(mine->addr);
    int rc;

    if (handles_failures(m)) {
        choose_failure_safe_provider(&req);
    }
    rc = rdmc_ofi_fabric_get(&req, &fab);
    if (rc != 0) {
        opal_output_verbose(1, c->output, "coll:rdmc: no usable libfabric provider for %s (%d)",
                            req.provider, rc);
        return rc;
    }
    rc = rdmc_ofi_ep_open(fab, ompi_comm_size(m->comm), &m->ep);
    if (rc != 0) {
        return rc;
    }
    if (handles_failures(m)) {
        rc = rdmc_ofi_ep_set_failure_safe(m->ep);
        if (rc != 0) {
            return rc;
        }
    }
    rc = rdmc_ofi_ep_address(m->ep, mine->addr, &len);
    if (rc != 0) {
        opal_output_verbose(1, c->output, "coll:rdmc: endpoint address unavailable (%d)", rc);
        return rc;
    }
    if (rdmc_ofi_ep_transport(m->ep)->inject_limit < sizeof(rdmc_bcast_header_t)) {
        opal_output_verbose(1, c->output,
                            "coll:rdmc: provider %s cannot send the %zu-byte header inline",
                            rdmc_ofi_fabric_provider(fab), sizeof(rdmc_bcast_header_t));
        return -EMSGSIZE;
    }
    mine->addr_len = (uint32_t)len;
    snprintf(mine->provider, sizeof(mine->provider), "%s", rdmc_ofi_fabric_provider(fab));
    opal_output_verbose(1, c->output, "coll:rdmc: %s: endpoint on %s, domain %s",
                        m->comm->c_name, mine->provider, rdmc_ofi_fabric_domain(fab));
    bool shm = strcmp(rdmc_ofi_fabric_provider(fab), "shm") == 0;
    m->model = choose_model(rdmc_ofi_fabric_provider(fab), req.all_local);
    m->sends_in_flight = choose_sends_in_flight(rdmc_ofi_fabric_provider(fab), req.all_local);
    m->auto_schedule = shm ? RDMC_SCHEDULE_FANOUT : RDMC_SCHEDULE_BINOMIAL_PIPELINE;
    return open_sst(m, mine);
}

/* Insert every peer's address; false if any is unusable. */
static bool connect_peers(mca_coll_rdmc_module_t *m, const rdmc_setup_record_t *mine,
                          const rdmc_setup_record_t *all)
{
    int n = ompi_comm_size(m->comm);

    for (int r = 0; r < n; r++) {
        if (strcmp(all[r].provider, mine->provider) != 0) {
            opal_output_verbose(1, mca_coll_rdmc_component.output,
                                "coll:rdmc: %s: rank %d uses provider %s, we use %s",
                                m->comm->c_name, r, all[r].provider, mine->provider);
            return false;
        }
        if (rdmc_ofi_ep_set_peer(m->ep, r, all[r].addr, all[r].addr_len) != 0 ||
            rdmc_sst_attach(m->sst, r, all[r].window, all[r].window_len) != 0) {
            return false;
        }
    }
    return true;
}

rdmc_setup_state_t mca_coll_rdmc_module_ensure_setup(mca_coll_rdmc_module_t *m)
{
    mca_coll_rdmc_component_t *c = &mca_coll_rdmc_component;
    int n = ompi_comm_size(m->comm);
    rdmc_setup_record_t mine;
    rdmc_setup_record_t *all;
    bool ok;

    if (m->state != RDMC_SETUP_NOT_YET) {
        return m->state;
    }
    memset(&mine, 0, sizeof(mine));
    all = calloc((size_t)n, sizeof(*all));
    ok = all != NULL && open_endpoint(m, &mine) == 0;
    if (everyone_ok(m, ok)) {
        int rc = m->previous_allgather(&mine, sizeof(mine), MPI_BYTE, all, sizeof(mine),
                                       MPI_BYTE, m->comm, m->previous_allgather_module);
        ok = rc == OMPI_SUCCESS && connect_peers(m, &mine, all);
        ok = everyone_ok(m, ok);
    } else {
        ok = false;
    }
    free(all);

    if (ok) {
        rdmc_ofi_ep_connected(m->ep);
    }
    /* Agree once more: the stream and its thread must start everywhere. */
    if (m->state == RDMC_SETUP_NOT_YET && ok) {
        ok = everyone_ok(m, mca_coll_rdmc_stream_start(m) == 0);
    }
    if (ok) {
        m->state = RDMC_SETUP_READY;
        mca_coll_rdmc_watch_memory();
        opal_output_verbose(1, c->output, "coll:rdmc: %s (%d ranks): ready over %s",
                            m->comm->c_name, n, mine.provider);
    } else {
        shut_down(m);
        rdmc_ofi_ep_close(m->ep);
        m->ep = NULL;
        rdmc_sst_destroy(m->sst);
        m->sst = NULL;
        m->state = RDMC_SETUP_DECLINED;
        opal_output_verbose(1, c->output,
                            "coll:rdmc: %s: set-up failed on some rank; every rank falls back "
                            "to the previous bcast",
                            m->comm->c_name);
    }
    return m->state;
}

void mca_coll_rdmc_module_break(mca_coll_rdmc_module_t *m)
{
    m->state = RDMC_SETUP_BROKEN;   /* first: no waiting for peers to leave */
    shut_down(m);
}
