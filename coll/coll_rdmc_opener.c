/*
 * Opening the process's fabrics and endpoints off the caller's thread.
 *
 * The first communicator of a process that needs a fabric pays for it:
 * libfabric loads its providers (75-100 ms here), the endpoint opens
 * (35-45 ms), hwloc reads the machine (10-40 ms), more with ranks sharing
 * cores.  Done inside MPI_Ibcast, or inside Open MPI's progress, that made
 * a nonblocking call take 0.2-0.4 s.  So a thread opens them, one request
 * at a time; the communicator's set-up waits (CONNECTING, its collectives
 * queued) and goes on from progress once they are open.  Communicators that
 * find them open set up at once, in the caller's thread.
 */
#include "coll_rdmc.h"

#include <string.h>
#include <time.h>

#include "opal/util/output.h"

#include "ofi/ofi_topology.h"
#include "rdmc_clock.h"

typedef struct opening {
    rdmc_ofi_request_t reqs[2];
    int count;
    bool failure_safe;
} opening_t;

/* Under the engine lock, but `job`, which the thread reads while running
 * and nobody changes then, and `finished`. */
static opening_t job, last_job;
static bool last_job_valid;
static pthread_t thread;
static bool running;
static int finished;

static bool same_text(const char *a, const char *b)
{
    return strcmp(a != NULL ? a : "", b != NULL ? b : "") == 0;
}

static bool same_request(const rdmc_ofi_request_t *a, const rdmc_ofi_request_t *b)
{
    return same_text(a->provider, b->provider) && same_text(a->domain, b->domain) &&
           a->all_local == b->all_local;
}

static bool same_opening(const opening_t *a, const opening_t *b)
{
    bool same = a->count == b->count && a->failure_safe == b->failure_safe;

    for (int i = 0; i < a->count && same; i++) {
        same = same_request(&a->reqs[i], &b->reqs[i]);
    }
    return same;
}

static void *open_in_background(void *arg)
{
    (void)arg;
    /* hwloc's view of the machine first: set-up goes on as soon as its
     * endpoints are open, and must then find it loaded. */
    (void)rdmc_topology_cores();
    for (int i = 0; i < job.count; i++) {
        /* A failure is found again, and said, by the set-up that asked. */
        (void)rdmc_ofi_open(&job.reqs[i], job.failure_safe);
    }
    __atomic_store_n(&finished, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* A finished thread is joined (at once: it has returned). */
static void collect(void)
{
    if (running && __atomic_load_n(&finished, __ATOMIC_ACQUIRE)) {
        pthread_join(thread, NULL);
        running = false;
        last_job = job;
        last_job_valid = true;
    }
}

bool mca_coll_rdmc_opener_ready(const rdmc_ofi_request_t *reqs, int count, bool failure_safe)
{
    opening_t wanted = { .count = count, .failure_safe = failure_safe };
    bool open = true;
    int rc;

    collect();
    for (int i = 0; i < count; i++) {
        wanted.reqs[i] = reqs[i];
        open = open && rdmc_ofi_is_open(&reqs[i]);
    }
    if (open || (last_job_valid && same_opening(&last_job, &wanted))) {
        return true;   /* open, or tried: set-up finds out why not */
    }
    if (running) {
        return false;   /* another request first */
    }
    job = wanted;
    __atomic_store_n(&finished, 0, __ATOMIC_RELAXED);
    rc = pthread_create(&thread, NULL, open_in_background, NULL);
    if (rc != 0) {
        opal_output_verbose(1, mca_coll_rdmc_component.output,
                            "coll:rdmc: no thread to open endpoints (%s): the caller opens them",
                            strerror(rc));
        return true;
    }
    running = true;
    return false;
}

bool mca_coll_rdmc_opener_busy(void)
{
    return running && !__atomic_load_n(&finished, __ATOMIC_ACQUIRE);
}

bool mca_coll_rdmc_opener_stop(int wait_ms)
{
    const struct timespec nap = { 0, 1000000L };
    double deadline = rdmc_now_ms() + wait_ms;

    while (mca_coll_rdmc_opener_busy() && rdmc_now_ms() < deadline) {
        nanosleep(&nap, NULL);
    }
    collect();
    if (running) {
        opal_output_verbose(0, mca_coll_rdmc_component.output,
                            "coll:rdmc: MPI_Finalize: libfabric has been opening an endpoint for "
                            "more than %d ms; it is left open",
                            wait_ms);
    }
    return !running;
}
