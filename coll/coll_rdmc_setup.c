/*
 * Setting up a communicator's link to the engine, without blocking.
 *
 * The first collective rdmc carries on a communicator starts it, at every
 * rank (MPI has every rank call the same collectives in the same order):
 *
 *   1. locally: find the fabric (shm when this rank sees every rank on its
 *      node, else the network; tcp under failure handling), the process
 *      endpoint on it (opened once per process), a channel on that
 *      endpoint, and the SST exposed through the channel;
 *   2. send every other rank a record (status, channel id, process
 *      address, window) and receive theirs: point-to-point messages through
 *      Open MPI's PML on the communicator itself, posted nonblocking;
 *   3. once every record is in (checked from progress, in an application
 *      thread): every rank succeeded, sees the same locality and uses the
 *      same provider -> attach the peers.  Every rank sees the same
 *      records, but attaching can still fail at one rank alone (a peer's
 *      table it may not map, out of file descriptors), so
 *   4. every rank tells every other whether it attached, and only if all
 *      did the stream starts: READY; otherwise DECLINED.  Every rank has
 *      the same answers, and falls back together: a rank that fell back
 *      alone left the others waiting in rdmc's collectives for it while it
 *      waited in Open MPI's.
 *
 * Nothing waits: collectives issued meanwhile queue on the module and go
 * to the stream (or to the previous component) when the decision is
 * made.  Set-up that has not finished after coll_rdmc_timeout_ms (at
 * least SETUP_MIN_MS; under failure handling at most
 * UNWATCHED_WAIT_MAX_MS by default) fails the queued collectives with
 * MPI_ERR_OTHER; under failure handling a rank known to have failed
 * fails them at once with MPI_ERR_PROC_FAILED.
 */
#include "coll_rdmc.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ompi/constants.h"
#include "ompi/group/group.h"
#include "ompi/mca/coll/base/coll_tags.h"
#include "ompi/mca/pml/pml.h"
#include "opal/util/output.h"
#include "opal/util/proc.h"

#include "ofi/ofi_topology.h"
#include "rdmc_engine.h"

/* Set-up includes every rank opening libfabric (0.2-0.8 s on a loaded
 * node, more where a NIC's driver is slow), which the peers cannot see
 * as progress: with coll_rdmc_timeout_ms 200 the first broadcast of a
 * 4-rank job failed at every rank.  So set-up waits at least this long. */
#define SETUP_MIN_MS 10000
/* Under failure handling, a wait that no failure detector watches ends
 * after at most this long, unless the user set coll_rdmc_timeout_ms
 * (mca_coll_rdmc_wait_bound_ms). */
#define UNWATCHED_WAIT_MAX_MS 120000

/* A tag no collective component of Open MPI 4.1 uses on its own: the far
 * end of the range coll/hcoll reserves (hcoll counts from the other end). */
#define SETUP_TAG MCA_COLL_BASE_TAG_HCOLL_END

int mca_coll_rdmc_wait_bound_ms(bool watched)
{
    const mca_coll_rdmc_component_t *c = &mca_coll_rdmc_component;

    if (c->failures && !watched && !c->timeout_set && c->timeout_ms > UNWATCHED_WAIT_MAX_MS) {
        return UNWATCHED_WAIT_MAX_MS;
    }
    return c->timeout_ms;
}

/* Failure handling on this communicator?  (A view row names ranks by the
 * bits of a 64-bit word.) */
bool mca_coll_rdmc_handles_failures(const mca_coll_rdmc_module_t *m)
{
    return mca_coll_rdmc_component.failures && ompi_comm_size(m->comm) <= RDMC_VC_MAX_MEMBERS;
}

/* True once per node (local rank 0, the first time for this `said`): a
 * message the user did not ask for goes out at level 0 then, at level 1
 * otherwise.  Any thread. */
static bool first_on_node(int *said)
{
    return opal_process_info.my_local_rank == 0 &&
           __atomic_exchange_n(said, 1, __ATOMIC_RELAXED) == 0;
}

void mca_coll_rdmc_say_too_large_for_failures(ompi_communicator_t *comm, const char *then)
{
    static int said;

    opal_output_verbose(first_on_node(&said) ? 0 : 1, mca_coll_rdmc_component.output,
                        "coll:rdmc: %s: %d ranks, more than rdmc's failure handling supports "
                        "(%d); %s",
                        mca_coll_rdmc_comm_name(comm), ompi_comm_size(comm), RDMC_VC_MAX_MEMBERS,
                        then);
}

/* The PID namespace this process's id is valid in (its /proc inode), so
 * that ranks only open each other's tables through /proc/<pid> when they
 * name processes alike; 0 when unknown (then the SST stays with the
 * provider: every rank of the node sees the same). */
static uint64_t pid_namespace(void)
{
    struct stat st;

    return stat("/proc/self/ns/pid", &st) == 0 ? (uint64_t)st.st_ino : 0;
}

/* This process's id, as long as /proc names it so; 0 where /proc belongs
 * to another PID namespace (mounted from outside a container, say): then
 * nobody can ask /proc about us. */
static uint32_t proc_pid(void)
{
    char link[32];
    ssize_t len = readlink("/proc/self", link, sizeof(link) - 1);

    if (len <= 0) {
        return 0;
    }
    link[len] = '\0';
    return strtoul(link, NULL, 10) == (unsigned long)getpid() ? (uint32_t)getpid() : 0;
}

/* The budget of coll_rdmc_shm_sst_max_mappings (vm.max_map_count is read
 * once, under the engine lock like every set-up). */
static long shm_mapping_budget(void)
{
    static long system_limit;

    if (mca_coll_rdmc_component.shm_sst_max_mappings > 0) {
        return mca_coll_rdmc_component.shm_sst_max_mappings;
    }
    if (system_limit == 0) {
        system_limit = rdmc_shm_system_map_limit();
        system_limit = system_limit > 0 ? system_limit : 65530;   /* Linux's default */
    }
    return system_limit / 4;
}

/* A shared-memory SST maps a segment per member, so thousands of
 * communicators of many ranks per node would use up the process's
 * mappings; past the budget the SST goes through the provider.  The ranks
 * of a communicator decide alike when they hold the same communicators
 * (mappings grow with them); where they do not, set-up sees the records
 * differ and Open MPI's collectives carry that communicator. */
static bool shm_mappings_fit(mca_coll_rdmc_module_t *m)
{
    static int said;
    long held = rdmc_shm_window_mappings(), budget = shm_mapping_budget();

    if (held + ompi_comm_size(m->comm) <= budget) {
        return true;
    }
    opal_output_verbose(first_on_node(&said) ? 0 : 1, mca_coll_rdmc_component.output,
                        "coll:rdmc: %s: shared-memory SSTs hold %ld memory mappings of this "
                        "process, and %d more would pass the budget of %ld "
                        "(coll_rdmc_shm_sst_max_mappings; by default a quarter of "
                        "vm.max_map_count); its SST goes through the provider, as will that of "
                        "later communicators while the budget is used up",
                        mca_coll_rdmc_comm_name(m->comm), held, ompi_comm_size(m->comm), budget);
    return false;
}

/* The SST in shared memory?  Where every rank is on this node, failures
 * are handled (so the channel is tcp, whose writes cost a system call and
 * a peer's progress each, and no shm queue a killed process could leave
 * locked is wanted), and the endpoint sleeps on a file descriptor that
 * the bell's pipe can join.  A link that spans nodes keeps the channel's
 * window for every peer: stability waits for the slowest member, so
 * faster rows for the ranks of one node would not make a broadcast
 * complete sooner.  And the process's budget of mappings allows it. */
static bool sst_in_shared_memory(mca_coll_rdmc_module_t *m, mca_coll_rdmc_link_t *l,
                                 const rdmc_setup_record_t *mine)
{
    return mca_coll_rdmc_component.shm_sst && mine->all_local &&
           mca_coll_rdmc_handles_failures(m) && ompi_comm_size(m->comm) > 1 &&
           rdmc_ofi_channel_sleeps_on_fd(l->channel) && pid_namespace() != 0 &&
           shm_mappings_fit(m);
}

/* The failure timeout this rank is asked for on the communicator: its
 * info key rdmc_failure_timeout_ms (given to MPI_Comm_dup_with_info, or to
 * MPI_Comm_set_info before the first collective, when rdmc sets the
 * communicator up), else coll_rdmc_failure_timeout_ms.  A value that is
 * not a whole number of milliseconds is said and ignored. */
static int asked_failure_timeout_ms(const mca_coll_rdmc_module_t *m)
{
    int fallback = mca_coll_rdmc_component.failure_timeout_ms;
    char value[32], *end;
    long ms;

    if (!rdmc_comm_info_get(m->comm, "rdmc_failure_timeout_ms", value, sizeof(value))) {
        return fallback;
    }
    errno = 0;
    ms = strtol(value, &end, 10);
    if (end == value || *end != '\0' || errno != 0 || ms < 1 || ms > INT_MAX) {
        opal_output(0, "coll:rdmc: %s: info rdmc_failure_timeout_ms=\"%s\" is not a number of "
                    "milliseconds (1 or more): %d ms it is",
                    mca_coll_rdmc_comm_name(m->comm), value, fallback);
        return fallback;
    }
    return (int)ms;
}

static int open_sst(mca_coll_rdmc_module_t *m, mca_coll_rdmc_link_t *l,
                    rdmc_setup_record_t *mine)
{
    mca_coll_rdmc_component_t *c = &mca_coll_rdmc_component;
    bool failures = mca_coll_rdmc_handles_failures(m);
    rdmc_transport_t *window = rdmc_ofi_channel_transport(l->channel);

    mine->pid = proc_pid();
    mine->pid_ns = pid_namespace();
    mine->failure_timeout_ms = (uint32_t)asked_failure_timeout_ms(m);
    if (sst_in_shared_memory(m, l, mine)) {
        int rc = rdmc_shm_window_open(ompi_comm_size(m->comm), ompi_comm_rank(m->comm),
                                      &l->shm_window);
        if (rc != 0) {
            opal_output_verbose(1, c->output, "coll:rdmc: %s: no shared-memory SST (%d)",
                                mca_coll_rdmc_comm_name(m->comm), rc);
            return rc;
        }
        window = rdmc_shm_window_transport(l->shm_window);
        mine->sst_shm = 1;
    }
    rdmc_sst_params_t params = {
        .tp = window,
        .n = ompi_comm_size(m->comm),
        .me = ompi_comm_rank(m->comm),
        .nslots = (unsigned)c->window,
        .slot_payload = c->sst_max_bytes,
        .force_fence = c->sst_fence,
        .view_bytes = failures ? sizeof(rdmc_vc_row_t) : 0,
        .tolerate_peer_errors = failures,
    };
    size_t len = sizeof(mine->window);
    int rc = rdmc_sst_create(&params, &l->sst, mine->window, &len);

    if (rc != 0) {
        opal_output_verbose(1, c->output, "coll:rdmc: %s: cannot create the SST (%d)",
                            mca_coll_rdmc_comm_name(m->comm), rc);
        return rc;
    }
    if (l->shm_window != NULL) {
        mca_coll_rdmc_watch_wakes();   /* the SST made the bell */
    }
    if (failures) {
        l->gm = calloc(1, sizeof(*l->gm));   /* zeroed: rdmc_gm_fini before init too */
        if (l->gm == NULL) {
            return -ENOMEM;
        }
    } else if (c->failures) {
        char then[200];
        snprintf(then, sizeof(then),
                 "rdmc carries its collectives without it: after a rank's failure they end "
                 "with MPI_ERR_OTHER once stalled for %d ms (coll_rdmc_timeout_ms)",
                 mca_coll_rdmc_wait_bound_ms(false));
        mca_coll_rdmc_say_too_large_for_failures(m->comm, then);
    }
    mine->window_len = (uint32_t)len;
    opal_output_verbose(10, c->output, "coll:rdmc: %s: SST rows of %zu bytes, %u slots of %zu",
                        mca_coll_rdmc_comm_name(m->comm), rdmc_sst_row_bytes(l->sst), params.nslots,
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

/* coll_rdmc_node_sizes: the node a job rank is pretended to run on, or
 * -1 when the parameter is empty (Open MPI's locality holds). */
static long pretended_node(uint32_t vpid)
{
    const char *sizes = mca_coll_rdmc_component.node_sizes;
    uint64_t first = 0;
    long node = 0;
    char *end;

    if (sizes == NULL || sizes[0] == '\0') {
        return -1;
    }
    for (const char *p = sizes; *p != '\0'; node++) {
        unsigned long count = strtoul(p, &end, 10);
        if (end == p) {
            break;   /* not a number: the rest get a node each */
        }
        if (vpid < first + count) {
            return node;
        }
        first += count;
        p = *end == ',' ? end + 1 : end;
    }
    return node + (long)(vpid - first);
}

static uint32_t job_rank(ompi_communicator_t *comm, int rank)
{
    return ompi_comm_peer_lookup(comm, rank)->super.proc_name.vpid;
}

/* Is the communicator's rank r on this rank's node? */
static bool on_my_node(ompi_communicator_t *comm, int r)
{
    long mine = pretended_node(job_rank(comm, ompi_comm_rank(comm)));

    if (r == ompi_comm_rank(comm)) {
        return true;
    }
    if (mine >= 0) {
        return pretended_node(job_rank(comm, r)) == mine;
    }
    return OPAL_PROC_ON_LOCAL_NODE(ompi_comm_peer_lookup(comm, r)->super.proc_flags);
}

bool mca_coll_rdmc_comm_on_one_node(ompi_communicator_t *comm)
{
    for (int r = 0; r < ompi_comm_size(comm); r++) {
        if (!on_my_node(comm, r)) {
            return false;
        }
    }
    return true;
}

/* How many other ranks of the communicator share this rank's node; the
 * lowest rank on it (the same at every rank of the node) names the node. */
static int count_node_mates(mca_coll_rdmc_module_t *m, int *lowest_p)
{
    int n = ompi_comm_size(m->comm), me = ompi_comm_rank(m->comm);
    int lowest = me, mates = 0;

    for (int r = 0; r < n; r++) {
        if (r != me && on_my_node(m->comm, r)) {
            mates++;
            lowest = r < lowest ? r : lowest;
        }
    }
    *lowest_p = lowest;
    return mates;
}

/* The fabrics a link needs, decided before anything opens. */
typedef struct fabric_plan {
    rdmc_ofi_request_t main;   /* for the link's channel */
    int node;                  /* the lowest rank on this node, which names it */
    bool all_local;            /* every rank is on this node */
    bool local_channel;        /* also a channel to this node's ranks (levels) */
    bool local_on_shm;         /* ... over shm; else on the main fabric */
    rdmc_ofi_request_t local;  /* shm's, when local_on_shm */
} fabric_plan_t;

/* The channel inside the node goes over shm, or, when the user named the
 * provider or failures are handled (shm is not failure-safe, above),
 * on the main fabric. */
static fabric_plan_t plan_fabrics(mca_coll_rdmc_module_t *m)
{
    mca_coll_rdmc_component_t *c = &mca_coll_rdmc_component;
    int n = ompi_comm_size(m->comm), node;
    int mates = count_node_mates(m, &node);
    bool named = c->provider != NULL && c->provider[0] != '\0' && strcmp(c->provider, "auto") != 0;
    fabric_plan_t plan = {
        .main = { .provider = c->provider, .domain = c->domain, .all_local = mates == n - 1 },
        .node = node,
        .all_local = mates == n - 1,
        .local = { .provider = "shm", .domain = "", .all_local = true },
    };

    /* Not for a communicator too large for failure handling: without it,
     * libfabric 1.17's rxm over tcp crashed in fi_cq_read at survivors of
     * a killed rank (large_group.test, 66 ranks on one node), where shm
     * did not. */
    if (mca_coll_rdmc_handles_failures(m)) {
        choose_failure_safe_provider(&plan.main);
    }
    plan.local_channel = c->levels != RDMC_LEVELS_FLAT && !plan.all_local && mates > 0;
    plan.local_on_shm = plan.local_channel && !named && !mca_coll_rdmc_handles_failures(m);
    return plan;
}

/* Where this rank runs: its node, and its package and NUMA domain (with
 * coll_rdmc_levels numa). */
static rdmc_place_t locate(const fabric_plan_t *plan)
{
    rdmc_place_t place = { .node = (uint32_t)plan->node, .package = -1, .numa = -1 };

    if (mca_coll_rdmc_component.levels == RDMC_LEVELS_NUMA) {
        rdmc_topology_my_place(&place.package, &place.numa);
    }
    return place;
}

/* A channel for the communicator on the process endpoint of fab (opened
 * on first use), and this process's address there. */
static int open_channel(mca_coll_rdmc_module_t *m, rdmc_ofi_fabric_t *fab,
                        rdmc_ofi_channel_t **ch_p, void *addr, size_t *len_p)
{
    mca_coll_rdmc_component_t *c = &mca_coll_rdmc_component;
    rdmc_ofi_ep_t *ep;
    int rc = rdmc_ofi_ep_get(fab, c->failures, &ep);

    __atomic_store_n(&c->pvar_endpoints, rdmc_ofi_endpoints_opened(), __ATOMIC_RELAXED);
    if (rc == 0) {
        rc = rdmc_ofi_channel_open(ep, ompi_comm_size(m->comm), ch_p);
    }
    if (rc == 0) {
        rc = rdmc_ofi_ep_address(ep, addr, len_p);
    }
    return rc;
}

/* The channel to this node's ranks, for broadcasts by levels.  On failure
 * the record says none (local_addr_len 0): everyone stays flat. */
static void open_local_channel(mca_coll_rdmc_module_t *m, mca_coll_rdmc_link_t *l,
                               const fabric_plan_t *plan, rdmc_ofi_fabric_t *main_fab,
                               rdmc_setup_record_t *mine)
{
    mca_coll_rdmc_component_t *c = &mca_coll_rdmc_component;
    rdmc_ofi_fabric_t *fab = main_fab;
    size_t len = sizeof(mine->local_addr);
    int rc = 0;

    if (plan->local_on_shm) {
        rc = rdmc_ofi_fabric_get(&plan->local, &fab);
    }
    if (rc == 0) {
        rc = open_channel(m, fab, &l->local_channel, mine->local_addr, &len);
    }
    if (rc != 0) {
        opal_output_verbose(1, c->output,
                            "coll:rdmc: %s: no channel inside the node (%d); broadcasts stay "
                            "flat",
                            mca_coll_rdmc_comm_name(m->comm), rc);
        return;
    }
    mine->local_addr_len = (uint32_t)len;
    mine->local_channel = rdmc_ofi_channel_id(l->local_channel);
    snprintf(mine->local_provider, sizeof(mine->local_provider), "%s",
             rdmc_ofi_fabric_provider(fab));
}

/* No provider (or domain) answers.  Whoever chose one by name hears it
 * without asking for verbosity, once per node: a misspelt name or a node
 * without the NIC must not silently leave broadcasts to Open MPI. */
static void say_no_fabric(int rc)
{
    mca_coll_rdmc_component_t *c = &mca_coll_rdmc_component;
    static int said;
    bool loud = c->fabric_set && first_on_node(&said);
    bool domain = c->domain != NULL && c->domain[0] != '\0';

    opal_output_verbose(loud ? 0 : 1, c->output,
                        "coll:rdmc: no usable libfabric provider for coll_rdmc_provider=%s%s%s "
                        "on this node (%s); rdmc is off for communicators that include it and "
                        "Open MPI's own components carry their broadcasts (fi_info -l lists "
                        "the providers libfabric has)",
                        c->provider, domain ? " coll_rdmc_domain=" : "",
                        domain ? c->domain : "", strerror(-rc));
}

/* Step 1: everything this rank can do alone.  0, or a negative code. */
static int prepare_locally(mca_coll_rdmc_module_t *m, mca_coll_rdmc_link_t *l,
                           const fabric_plan_t *plan, rdmc_setup_record_t *mine)
{
    mca_coll_rdmc_component_t *c = &mca_coll_rdmc_component;
    rdmc_ofi_fabric_t *fab;
    size_t len = sizeof(mine->addr);
    int rc;

    mca_coll_rdmc_settings(mine->settings, sizeof(mine->settings));
    mine->place = locate(plan);
    mine->all_local = plan->all_local;
    rc = rdmc_ofi_fabric_get(&plan->main, &fab);
    if (rc != 0) {
        say_no_fabric(rc);
        return rc;
    }
    rc = open_channel(m, fab, &l->channel, mine->addr, &len);
    if (rc != 0) {
        opal_output_verbose(1, c->output, "coll:rdmc: %s: no channel on %s (%d)",
                            mca_coll_rdmc_comm_name(m->comm), rdmc_ofi_fabric_provider(fab), rc);
        return rc;
    }
    if (rdmc_ofi_channel_transport(l->channel)->inject_limit < sizeof(rdmc_bcast_header_t)) {
        opal_output_verbose(1, c->output,
                            "coll:rdmc: provider %s cannot send the %zu-byte header inline",
                            rdmc_ofi_fabric_provider(fab), sizeof(rdmc_bcast_header_t));
        return -EMSGSIZE;
    }
    mine->addr_len = (uint32_t)len;
    mine->channel = rdmc_ofi_channel_id(l->channel);
    snprintf(mine->provider, sizeof(mine->provider), "%s", rdmc_ofi_fabric_provider(fab));
    opal_output_verbose(10, c->output, "coll:rdmc: %s: channel %u on %s, domain %s",
                        mca_coll_rdmc_comm_name(m->comm), mine->channel, mine->provider,
                        rdmc_ofi_fabric_domain(fab));
    mca_coll_rdmc_module_choose_model(m, rdmc_ofi_fabric_provider(fab), plan->all_local);
    if (plan->local_channel) {
        open_local_channel(m, l, plan, fab, mine);
    }
    return open_sst(m, l, mine);
}

/* Have the kernel tell of the exits of the members on this node
 * (rdmc_shm_exits_watch): a killed member is then suspected at the next
 * pass rather than after a quarter of the failure timeout of silence. */
static void watch_exits(mca_coll_rdmc_link_t *l, int n)
{
    static bool refusal_said;

    for (int r = 0; r < n && r < 64; r++) {
        if (l->peer_pids[r] == 0) {
            continue;   /* not on this node */
        }
        int rc = rdmc_shm_exits_watch(l->peer_pids[r]);
        if (rc == 0) {
            l->exits_watched |= UINT64_C(1) << r;
            mca_coll_rdmc_watch_wakes();   /* its pidfd is in the wake set */
        } else if ((rc == -ENOSYS || rc == -EPERM) && !refusal_said) {
            refusal_said = true;
            opal_output_verbose(1, mca_coll_rdmc_component.output,
                                "coll:rdmc: pidfds refused (%s): a node-mate's exit is found by "
                                "its silence and /proc",
                                strerror(-rc));
        }
    }
}

static void unwatch_exits(mca_coll_rdmc_link_t *l)
{
    for (uint64_t set = l->exits_watched; set != 0; set &= set - 1) {
        rdmc_shm_exits_unwatch(l->peer_pids[__builtin_ctzll(set)]);
    }
    l->exits_watched = 0;
}

void mca_coll_rdmc_link_free(mca_coll_rdmc_link_t *l)
{
    mca_coll_rdmc_link_unlist(l);
    if (l->stream_started) {
        rdmc_stream_fini(&l->stream);
    }
    /* The window's registration goes before the table it covers. */
    rdmc_ofi_channel_close(l->channel);
    rdmc_ofi_channel_close(l->local_channel);
    rdmc_layout_free(&l->layout);
    rdmc_shm_window_close(l->shm_window);
    rdmc_sst_destroy(l->sst);
    if (l->gm != NULL) {
        rdmc_gm_fini(l->gm);   /* lets go of the records first */
        mca_coll_rdmc_beats_unshare(l);
        free(l->gm);
    }
    unwatch_exits(l);
    free(l->peer_pids);
    free(l);
}

/* Steps 2 and 4: post an exchange of one item per rank (items[r], `size`
 * bytes each; ours at our rank), a receive and a send per other rank.
 * Both steps use one tag: MPI keeps a pair's messages in order. */
static int post_exchange(mca_coll_rdmc_module_t *m, void *items, size_t size)
{
    int n = ompi_comm_size(m->comm), me = ompi_comm_rank(m->comm);
    int rc = OMPI_SUCCESS;

    for (int r = 0; r < n && rc == OMPI_SUCCESS; r++) {
        if (r == me) {
            continue;
        }
        rc = MCA_PML_CALL(irecv((char *)items + (size_t)r * size, size, MPI_BYTE, r, SETUP_TAG,
                                m->comm, &m->setup_reqs[m->nsetup_reqs]));
        if (rc == OMPI_SUCCESS) {
            m->nsetup_reqs++;
            rc = MCA_PML_CALL(isend((char *)items + (size_t)me * size, size, MPI_BYTE, r,
                                    SETUP_TAG, MCA_PML_BASE_SEND_STANDARD, m->comm,
                                    &m->setup_reqs[m->nsetup_reqs]));
        }
        if (rc == OMPI_SUCCESS) {
            m->nsetup_reqs++;
        }
    }
    return rc;
}

/* The receive from rank r (another rank) in post_exchange's order, in
 * either step; the send to it follows. */
static int receive_index(const mca_coll_rdmc_module_t *m, int r)
{
    return 2 * (r < ompi_comm_rank(m->comm) ? r : r - 1);
}

static bool request_failed(const mca_coll_rdmc_module_t *m, int i)
{
    return i < m->nsetup_reqs && REQUEST_COMPLETE(m->setup_reqs[i]) &&
           m->setup_reqs[i]->req_status.MPI_ERROR != MPI_SUCCESS;
}

bool mca_coll_rdmc_setup_answered(const mca_coll_rdmc_module_t *m, int r)
{
    int i = receive_index(m, r);

    return i < m->nsetup_reqs && REQUEST_COMPLETE(m->setup_reqs[i]) && !request_failed(m, i);
}

/* Set-up gave up on this communicator at this rank: its collectives are
 * refused from now on, and say that set-up, not a collective, failed. */
static void setup_gave_up(mca_coll_rdmc_module_t *m, int status)
{
    m->state = RDMC_SETUP_BROKEN;
    m->broken_status = status;
    m->broken_in_setup = true;
}

/* Step 2 or 4: our item is in place; the messages go out. */
static void post(mca_coll_rdmc_module_t *m, void *items, size_t size)
{
    int rc;

    m->opening = false;
    rc = post_exchange(m, items, size);
    if (rc != OMPI_SUCCESS) {
        opal_output_verbose(0, mca_coll_rdmc_component.output,
                            "coll:rdmc: %s: cannot post the set-up messages (%d); rdmc is off "
                            "on this communicator",
                            mca_coll_rdmc_comm_name(m->comm), rc);
        setup_gave_up(m, -EIO);
    }
}

/* Steps 1 and 2 once the fabrics this link needs are open (a thread opens
 * them the first time: coll_rdmc_opener.c); false until then. */
static bool prepare_and_post(mca_coll_rdmc_module_t *m)
{
    fabric_plan_t plan = plan_fabrics(m);
    rdmc_ofi_request_t reqs[2] = { plan.main, plan.local };
    rdmc_setup_record_t *mine = &m->records[ompi_comm_rank(m->comm)];

    if (!mca_coll_rdmc_opener_ready(reqs, plan.local_on_shm ? 2 : 1,
                                    mca_coll_rdmc_component.failures)) {
        return false;
    }
    mine->status = prepare_locally(m, m->link, &plan, mine);
    post(m, m->records, sizeof(*m->records));
    return true;
}

/* How long set-up may take: the bound of an unwatched wait (no heartbeats
 * yet), at least SETUP_MIN_MS. */
static int setup_bound_ms(void)
{
    int timeout = mca_coll_rdmc_wait_bound_ms(false);

    return timeout > SETUP_MIN_MS ? timeout : SETUP_MIN_MS;
}

/* Under the engine lock. */
void mca_coll_rdmc_setup_start(mca_coll_rdmc_module_t *m)
{
    mca_coll_rdmc_component_t *c = &mca_coll_rdmc_component;
    int n = ompi_comm_size(m->comm);
    mca_coll_rdmc_link_t *l = calloc(1, sizeof(*l));

    m->records = calloc((size_t)n, sizeof(*m->records));
    m->setup_oks = calloc((size_t)n, sizeof(*m->setup_oks));
    m->setup_reqs = calloc(2 * (size_t)n, sizeof(*m->setup_reqs));
    if (l == NULL || m->records == NULL || m->setup_oks == NULL || m->setup_reqs == NULL) {
        opal_output_verbose(0, c->output, "coll:rdmc: %s: out of memory setting up",
                            mca_coll_rdmc_comm_name(m->comm));
        free(l);
        setup_gave_up(m, -ENOMEM);
        return;
    }
    l->module = m;
    snprintf(l->name, sizeof(l->name), "%s", mca_coll_rdmc_comm_name(m->comm));
    m->link = l;
    mca_coll_rdmc_link_add(l);
    /* The deadline covers the opening of the endpoints too. */
    m->setup_began_ms = rdmc_now_ms();
    m->setup_deadline_ms = m->setup_began_ms + setup_bound_ms();
    m->state = RDMC_SETUP_CONNECTING;
    m->opening = true;
    if (mca_coll_rdmc_driver_start() != 0) {
        m->records[ompi_comm_rank(m->comm)].status = -EAGAIN;   /* every rank declines */
        post(m, m->records, sizeof(*m->records));
    } else {
        (void)prepare_and_post(m);
    }
}

/* Ranks whose settings differ from rank 0's take different paths (the
 * SST's slots, the levels, which sizes go where) and wait for each other:
 * every rank falls back, and rank 0 and the first rank that differs each
 * say what they run with, so that the user sees both. */
static bool settings_agree(mca_coll_rdmc_module_t *m)
{
    const rdmc_setup_record_t *first = &m->records[0];
    int me = ompi_comm_rank(m->comm);

    for (int r = 1; r < ompi_comm_size(m->comm); r++) {
        const rdmc_setup_record_t *rec = &m->records[r];
        if (strncmp(rec->settings, first->settings, sizeof(rec->settings)) != 0) {
            opal_output_verbose(me == 0 || me == r ? 0 : 1, mca_coll_rdmc_component.output,
                                "coll:rdmc: %s: the ranks run coll/rdmc with different settings "
                                "(rank %d's differ from rank 0's), so Open MPI's own components "
                                "carry this communicator; rank %d has: %.*s",
                                mca_coll_rdmc_comm_name(m->comm), r, me,
                                (int)sizeof(rec->settings), m->records[me].settings);
            return false;
        }
    }
    return true;
}

/* Step 3: does every record say we can link, the same way?  Then every
 * member watches the others with the same failure timeout (beats paced for
 * a longer one than the watcher's would be taken for silence): the longest
 * any rank asked for, so that none is judged by a shorter one than it
 * asked for itself. */
static bool records_agree(mca_coll_rdmc_module_t *m)
{
    const rdmc_setup_record_t *mine = &m->records[ompi_comm_rank(m->comm)];
    int n = ompi_comm_size(m->comm);
    uint32_t longest = 0;

    for (int r = 0; r < n; r++) {
        if (m->records[r].status != 0) {
            opal_output_verbose(1, mca_coll_rdmc_component.output,
                                "coll:rdmc: %s: rank %d cannot use rdmc (status %d)",
                                mca_coll_rdmc_comm_name(m->comm), r, (int)m->records[r].status);
            return false;
        }
    }
    if (!settings_agree(m)) {
        return false;
    }
    for (int r = 0; r < n; r++) {
        const rdmc_setup_record_t *rec = &m->records[r];
        const char *why = NULL;
        if (rec->all_local != mine->all_local) {
            why = "sees the communicator's locality differently";
        } else if (strncmp(rec->provider, mine->provider, sizeof(rec->provider)) != 0) {
            why = "uses another libfabric provider";
        } else if (rec->addr_len > sizeof(rec->addr) || rec->window_len > sizeof(rec->window) ||
                   rec->failure_timeout_ms < 1 || rec->failure_timeout_ms > INT_MAX) {
            why = "sent a malformed set-up record";
        } else if (rec->sst_shm != mine->sst_shm) {
            why = "keeps its SST elsewhere (coll_rdmc_shm_sst differs)";
        } else if (mine->sst_shm && rec->pid_ns != mine->pid_ns) {
            why = "runs in another PID namespace (set coll_rdmc_shm_sst 0)";
        }
        if (why != NULL) {
            opal_output_verbose(1, mca_coll_rdmc_component.output,
                                "coll:rdmc: %s: rank %d %s (status %d, provider %.64s)",
                                mca_coll_rdmc_comm_name(m->comm), r, why, (int)rec->status,
                                rec->provider);
            return false;
        }
        longest = rec->failure_timeout_ms > longest ? rec->failure_timeout_ms : longest;
    }
    if (longest != mine->failure_timeout_ms) {
        opal_output_verbose(1, mca_coll_rdmc_component.output,
                            "coll:rdmc: %s: failure timeout %u ms, as another rank asked (%u ms "
                            "here)",
                            mca_coll_rdmc_comm_name(m->comm), longest, mine->failure_timeout_ms);
    }
    m->link->failure_timeout_ms = (int)longest;
    return true;
}

static bool attach_peers(mca_coll_rdmc_module_t *m)
{
    mca_coll_rdmc_link_t *l = m->link;
    int n = ompi_comm_size(m->comm);

    for (int r = 0; r < n; r++) {
        const rdmc_setup_record_t *rec = &m->records[r];
        if (rdmc_ofi_channel_set_peer(l->channel, r, rec->addr, rec->addr_len, rec->channel) !=
                0 ||
            rdmc_sst_attach(l->sst, r, rec->window, rec->window_len) != 0) {
            opal_output_verbose(1, mca_coll_rdmc_component.output,
                                "coll:rdmc: %s: the address of rank %d is unusable",
                                mca_coll_rdmc_comm_name(m->comm), r);
            return false;
        }
    }
    return true;
}

/* Ranks r and its node's lowest rank agree on where r runs, and r has a
 * channel inside its node like its node-mates, when it has node-mates
 * (node_ranks: ranks per node, by the node's lowest rank). */
static bool node_agrees(const mca_coll_rdmc_module_t *m, int r, const uint32_t *node_ranks)
{
    const rdmc_layout_t *lay = &m->link->layout;
    const rdmc_setup_record_t *rec = &m->records[r], *first = &m->records[lay->unit[0][r]];

    if (rec->place.node != lay->unit[0][r]) {
        return false;   /* r's view of its node differs from its node-mates' */
    }
    return node_ranks[lay->unit[0][r]] == 1 ||
           (rec->local_addr_len > 0 && rec->local_addr_len <= sizeof(rec->local_addr) &&
            strncmp(rec->local_provider, first->local_provider, sizeof(rec->local_provider)) ==
                0);
}

/* Broadcasts by levels (rdmc_run.h)?  Decided from the records alone, so
 * every rank decides the same.  On one node they only follow packages and
 * NUMA domains, on the main channel. */
static bool levels_usable(mca_coll_rdmc_module_t *m)
{
    mca_coll_rdmc_link_t *l = m->link;
    int n = ompi_comm_size(m->comm), me = ompi_comm_rank(m->comm);
    uint32_t *node_ranks;
    bool usable = true;

    if (mca_coll_rdmc_component.levels == RDMC_LEVELS_FLAT) {
        return false;
    }
    if (m->records[me].all_local) {
        return true;
    }
    if (!rdmc_layout_is_hierarchical(&l->layout) ||
        (node_ranks = calloc((uint32_t)n, sizeof(*node_ranks))) == NULL) {
        return false;
    }
    for (int r = 0; r < n; r++) {
        node_ranks[l->layout.unit[0][r]]++;
    }
    for (int r = 0; r < n && usable; r++) {
        usable = node_agrees(m, r, node_ranks);
        if (!usable) {
            opal_output_verbose(1, mca_coll_rdmc_component.output,
                                "coll:rdmc: %s: rank %d cannot take part in broadcasts by "
                                "node; they stay flat",
                                mca_coll_rdmc_comm_name(m->comm), r);
        }
    }
    free(node_ranks);
    return usable;
}

/* Under failure handling: the pids of the members whose processes this
 * rank can see in /proc (really on this node, whatever
 * coll_rdmc_node_sizes pretends, and in this PID namespace), so that the
 * failure detector can tell a late member from a gone one, whichever way
 * the SST goes.  None such (every peer elsewhere): l->peer_pids stays
 * NULL and the detector goes by silence alone. */
static bool note_peer_pids(mca_coll_rdmc_module_t *m)
{
    mca_coll_rdmc_link_t *l = m->link;
    int n = ompi_comm_size(m->comm), me = ompi_comm_rank(m->comm);
    const rdmc_setup_record_t *mine = &m->records[me];
    uint32_t *pids;
    bool any = false;

    if (l->gm == NULL || mine->pid == 0 || mine->pid_ns == 0) {
        return true;
    }
    pids = calloc((size_t)n, sizeof(*pids));
    if (pids == NULL) {
        return false;
    }
    for (int r = 0; r < n; r++) {
        const rdmc_setup_record_t *rec = &m->records[r];
        bool local = OPAL_PROC_ON_LOCAL_NODE(ompi_comm_peer_lookup(m->comm, r)->super.proc_flags);
        if (r != me && local && rec->pid_ns == mine->pid_ns) {
            pids[r] = rec->pid;
            any = any || rec->pid != 0;
        }
    }
    if (any) {
        l->peer_pids = pids;
        watch_exits(l, n);
    } else {
        free(pids);
    }
    return true;
}

/* After attach_peers: the layout, and if broadcasts go by levels, the
 * node-mates on the channel inside the node. */
static bool attach_levels(mca_coll_rdmc_module_t *m)
{
    mca_coll_rdmc_link_t *l = m->link;
    int n = ompi_comm_size(m->comm), me = ompi_comm_rank(m->comm);
    const rdmc_setup_record_t *mine = &m->records[me];
    const char *local_provider = mine->provider;
    rdmc_place_t *places = calloc((uint32_t)n, sizeof(*places));
    int rc;

    if (places == NULL) {
        return false;
    }
    for (int r = 0; r < n; r++) {
        places[r] = m->records[r].place;
    }
    rc = rdmc_layout_init(&l->layout, (uint32_t)n, places);
    free(places);
    if (rc != 0) {
        return false;
    }
    l->spans_nodes = !mine->all_local;
    l->use_levels = levels_usable(m);
    if (!l->use_levels) {
        rdmc_ofi_channel_close(l->local_channel);   /* nothing posted yet */
        l->local_channel = NULL;
        return true;
    }
    l->levels.layout = &l->layout;
    l->levels.tp_local = rdmc_ofi_channel_transport(l->channel);
    if (l->local_channel != NULL) {
        for (int r = 0; r < n; r++) {
            const rdmc_setup_record_t *rec = &m->records[r];
            if (rdmc_layout_same_node(&l->layout, (uint32_t)r, (uint32_t)me) &&
                rdmc_ofi_channel_set_peer(l->local_channel, r, rec->local_addr,
                                          rec->local_addr_len, rec->local_channel) != 0) {
                opal_output_verbose(1, mca_coll_rdmc_component.output,
                                    "coll:rdmc: %s: the local address of rank %d is unusable",
                                    mca_coll_rdmc_comm_name(m->comm), r);
                return false;
            }
        }
        l->levels.tp_local = rdmc_ofi_channel_transport(l->local_channel);
        local_provider = mine->local_provider;
    }
    mca_coll_rdmc_module_choose_levels(m, local_provider, &l->levels);
    opal_output_verbose(1, mca_coll_rdmc_component.output,
                        "coll:rdmc: %s: broadcasts by levels: %u node(s), up to %u rank(s) on "
                        "one, %s inside a node%s",
                        mca_coll_rdmc_comm_name(m->comm), l->layout.nnodes, l->layout.widest_node,
                        local_provider,
                        l->spans_nodes && l->local_channel == NULL ? " (alone on this one)" : "");
    return true;
}

static void setup_done(mca_coll_rdmc_module_t *m)
{
    free(m->records);
    m->records = NULL;
    free(m->setup_oks);
    m->setup_oks = NULL;
    free(m->setup_reqs);
    m->setup_reqs = NULL;
    m->nsetup_reqs = 0;
}

/* Set-up gives up: its messages cancelled where they can be. */
static void abandon_requests(mca_coll_rdmc_module_t *m)
{
    for (int i = 0; i < m->nsetup_reqs; i++) {
        if (!REQUEST_COMPLETE(m->setup_reqs[i])) {
            (void)ompi_request_cancel(m->setup_reqs[i]);
        }
        (void)ompi_request_free(&m->setup_reqs[i]);
    }
    /* A send cancelled too late may still read our record or answer, a
     * receive write theirs: leave them. */
    m->records = NULL;
    m->setup_oks = NULL;
    setup_done(m);
}

/* Past the deadline: somebody never answered. */
static void setup_timed_out(mca_coll_rdmc_module_t *m)
{
    opal_output_verbose(0, mca_coll_rdmc_component.output,
                        "coll:rdmc: %s: set-up at rank %d got no answer from some rank within "
                        "%d ms (coll_rdmc_timeout_ms, at least %d ms for set-up); rdmc is off "
                        "on this communicator",
                        mca_coll_rdmc_comm_name(m->comm), ompi_comm_rank(m->comm),
                        setup_bound_ms(), SETUP_MIN_MS);
    abandon_requests(m);
    setup_gave_up(m, -ETIMEDOUT);
}

/* Under failure handling: a rank that cannot finish set-up with us, or
 * -1.  Either a message to or from it failed (ULFM fails them once the
 * runtime reports the rank dead), or its message has not come and it is
 * known to have failed (ULFM's runtime says so, or another communicator
 * of this process removed it).  Ranks that saw a message fail must not
 * fall back to Open MPI's collectives while the others fail theirs. */
static int failed_rank(const mca_coll_rdmc_module_t *m)
{
    if (!mca_coll_rdmc_handles_failures(m)) {
        return -1;
    }
    for (int r = 0; r < ompi_comm_size(m->comm); r++) {
        int i = receive_index(m, r);
        if (r == ompi_comm_rank(m->comm)) {
            continue;
        }
        if (request_failed(m, i) || request_failed(m, i + 1) ||
            (!mca_coll_rdmc_setup_answered(m, r) &&
             (mca_coll_rdmc_verdicts_removed(m->comm, r) ||
              (mca_coll_rdmc_component.ulfm && rdmc_runtime_says_dead(m->comm, r))))) {
            return r;
        }
    }
    return -1;
}

/* Set-up cannot finish: rank r failed before it sent its message.  Like a
 * member failing in a view, it fails the collectives with
 * MPI_ERR_PROC_FAILED (RDMC_ERR_PROC_FAILED), at every rank that waits
 * for it; nothing was delivered through rdmc on the communicator yet. */
static void setup_peer_failed(mca_coll_rdmc_module_t *m, int r)
{
    char why[64];

    /* Under ULFM, once it knows of a failure on the communicator (or a
     * survivor revoked it), every message on it fails, those to live ranks
     * too: which rank failed is not ours to tell then. */
    if (rdmc_runtime_saw_failures(m->comm)) {
        snprintf(why, sizeof(why), "Open MPI (ULFM) reports a failure on it");
    } else {
        snprintf(why, sizeof(why), "rank %d failed before it answered", r);
    }
    opal_output_verbose(0, mca_coll_rdmc_component.output,
                        "coll:rdmc: %s: set-up at rank %d cannot finish: %s; rdmc is off on "
                        "this communicator",
                        mca_coll_rdmc_comm_name(m->comm), ompi_comm_rank(m->comm), why);
    abandon_requests(m);
    setup_gave_up(m, -EOWNERDEAD);
}

/* Past the deadline with the endpoints still opening. */
static void opening_timed_out(mca_coll_rdmc_module_t *m)
{
    opal_output_verbose(0, mca_coll_rdmc_component.output,
                        "coll:rdmc: %s: libfabric did not open this process's endpoints within "
                        "%d ms (coll_rdmc_timeout_ms, at least %d ms for set-up); rdmc is off "
                        "on this communicator",
                        mca_coll_rdmc_comm_name(m->comm), setup_bound_ms(), SETUP_MIN_MS);
    setup_done(m);
    m->opening = false;
    setup_gave_up(m, -ETIMEDOUT);
}

/* Set-up gave up at this rank (BROKEN): the link goes, and the
 * collectives queued meanwhile fail.  Returns 1 (set-up is decided). */
static int drop_broken_link(mca_coll_rdmc_module_t *m)
{
    mca_coll_rdmc_link_free(m->link);
    m->link = NULL;
    mca_coll_rdmc_flush_queued(m);
    return 1;
}

/* Step 4's answers: the first rank that could not attach its peers, or
 * -1 when every rank could. */
static int first_refusal(const mca_coll_rdmc_module_t *m)
{
    for (int r = 0; r < ompi_comm_size(m->comm); r++) {
        if (!m->setup_oks[r]) {
            return r;
        }
    }
    return -1;
}

/* Application thread, under the engine lock: 1 once set-up is decided, or
 * its messages posted. */
int mca_coll_rdmc_setup_progress(mca_coll_rdmc_module_t *m)
{
    mca_coll_rdmc_component_t *c = &mca_coll_rdmc_component;
    bool ok = true;

    if (m->opening) {
        if (rdmc_now_ms() > m->setup_deadline_ms) {
            opening_timed_out(m);
        } else if (mca_coll_rdmc_opener_busy() || !prepare_and_post(m)) {
            return 0;   /* nothing to plan while the thread works */
        }
        return m->state == RDMC_SETUP_BROKEN ? drop_broken_link(m) : 1;
    }

    int failed = failed_rank(m);
    bool waiting = false;

    for (int i = 0; i < m->nsetup_reqs && !waiting; i++) {
        waiting = !REQUEST_COMPLETE(m->setup_reqs[i]);
    }
    if (failed < 0 && waiting) {
        if (rdmc_now_ms() <= m->setup_deadline_ms) {
            mca_coll_rdmc_stall_check_setup(m);
            return 0;
        }
        setup_timed_out(m);
    } else if (failed >= 0) {
        setup_peer_failed(m, failed);
    }
    if (m->state == RDMC_SETUP_BROKEN) {
        return drop_broken_link(m);
    }
    for (int i = 0; i < m->nsetup_reqs; i++) {
        ok = ok && m->setup_reqs[i]->req_status.MPI_ERROR == MPI_SUCCESS;
        (void)ompi_request_free(&m->setup_reqs[i]);
    }
    m->nsetup_reqs = 0;
    if (!m->confirming) {
        /* Step 3, then step 4's messages. */
        ok = ok && records_agree(m) && attach_peers(m) && attach_levels(m) && note_peer_pids(m);
        m->setup_oks[ompi_comm_rank(m->comm)] = ok;
        m->confirming = true;
        post(m, m->setup_oks, sizeof(*m->setup_oks));
        return m->state == RDMC_SETUP_BROKEN ? drop_broken_link(m) : 1;
    }
    int refused = first_refusal(m);
    bool agreed = ok && refused < 0;
    int rc = agreed ? mca_coll_rdmc_stream_start(m) : 0;

    setup_done(m);
    if (rc != 0) {
        /* Every other rank is linked by now: falling back alone would
         * leave them waiting for us.  Fail this rank's collectives. */
        opal_output_verbose(0, c->output,
                            "coll:rdmc: %s: rank %d cannot start its stream (%s); rdmc is off "
                            "on this communicator",
                            mca_coll_rdmc_comm_name(m->comm), ompi_comm_rank(m->comm),
                            strerror(-rc));
        setup_gave_up(m, rc);
        return drop_broken_link(m);
    }
    if (agreed) {
        m->state = RDMC_SETUP_READY;
        mca_coll_rdmc_count(&c->pvar_links, 1);
        if (m->link->shm_window != NULL) {
            mca_coll_rdmc_count(&c->pvar_shm_sst_links, 1);
        }
        mca_coll_rdmc_watch_memory();
        mca_coll_rdmc_report_later(m);   /* attaches the group, outside the lock */
        opal_output_verbose(1, c->output, "coll:rdmc: %s (%d ranks): ready, SST %s",
                            mca_coll_rdmc_comm_name(m->comm), ompi_comm_size(m->comm),
                            m->link->shm_window != NULL ? "in shared memory"
                                                        : "through the provider");
    } else {
        mca_coll_rdmc_link_free(m->link);
        m->link = NULL;
        m->state = RDMC_SETUP_DECLINED;
        if (refused >= 0) {
            opal_output_verbose(1, c->output,
                                "coll:rdmc: %s: set-up failed at rank %d; every rank falls back "
                                "to the previous component",
                                mca_coll_rdmc_comm_name(m->comm), refused);
        } else {
            opal_output_verbose(1, c->output,
                                "coll:rdmc: %s: a set-up message failed; every rank falls back "
                                "to the previous component",
                                mca_coll_rdmc_comm_name(m->comm));
        }
    }
    mca_coll_rdmc_flush_queued(m);
    return 1;
}

/* What /proc shows of member m's process, for the failure detector
 * (rdmc_gm_params_t.peer_state): only members on this node have one. */
rdmc_peer_state_t mca_coll_rdmc_link_peer_state(void *link, int m)
{
    const mca_coll_rdmc_link_t *l = link;

    return rdmc_shm_proc_state(l->peer_pids[m]);
}

/* The module is going away while set-up messages are out (its
 * communicator freed before any of its collectives completed). */
void mca_coll_rdmc_setup_abandon(mca_coll_rdmc_module_t *m)
{
    for (int i = 0; i < m->nsetup_reqs; i++) {
        if (!REQUEST_COMPLETE(m->setup_reqs[i])) {
            (void)ompi_request_cancel(m->setup_reqs[i]);
            m->records = NULL;   /* may still be read or written: leave them */
            m->setup_oks = NULL;
        }
        (void)ompi_request_free(&m->setup_reqs[i]);
    }
    setup_done(m);
}
