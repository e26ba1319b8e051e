/*
 * The progress thread of a communicator: moves its collectives while the
 * application computes, and sleeps on the transport's wait object (the CQ's
 * file descriptor, or the shm doorbell) when there is nothing to do.
 *
 * It touches only our own endpoint, SST and stream, under the module's
 * lock; MPI requests are completed by the application's thread
 * (coll_rdmc_request.c).  While the application waits inside one of our
 * blocking calls, that call drives progress itself and the thread stands
 * back, so two sleepers never compete for the same wake-ups.
 */
#include "coll_rdmc.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "opal/util/output.h"

/* Longest sleep: the stream's own deadlines (heartbeat, timeout) are
 * usually shorter. */
#define IDLE_SLEEP_MAX_MS 100
/* While the application drives progress itself. */
#define STAND_BACK_MS 1

static void nap_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

static void *progress_thread(void *arg)
{
    mca_coll_rdmc_module_t *m = arg;
    rdmc_transport_t *tp = rdmc_ofi_ep_transport(m->ep);

    while (!__atomic_load_n(&m->thread_stop, __ATOMIC_ACQUIRE)) {
        if (__atomic_load_n(&m->app_waiting, __ATOMIC_RELAXED) > 0) {
            nap_ms(STAND_BACK_MS);
            continue;
        }
        int work = mca_coll_rdmc_module_progress(m);
        if (work < 0) {
            /* Broken: the application's thread cleans up when it next
             * calls in; nothing more to move here. */
            break;
        }
        if (work == 0) {
            pthread_mutex_lock(&m->lock);
            int sleep_ms = rdmc_stream_sleep_ms(&m->stream, IDLE_SLEEP_MAX_MS);
            pthread_mutex_unlock(&m->lock);
            tp->ops->wait(tp, sleep_ms);
        }
    }
    return NULL;
}

int mca_coll_rdmc_thread_start(mca_coll_rdmc_module_t *m)
{
    int rc;

    m->thread_stop = 0;
    rc = pthread_create(&m->thread, NULL, progress_thread, m);
    if (rc != 0) {
        opal_output_verbose(1, mca_coll_rdmc_component.output,
                            "coll:rdmc: %s: cannot start the progress thread: %s",
                            m->comm->c_name, strerror(rc));
        return -rc;
    }
    m->thread_running = true;
    return 0;
}

void mca_coll_rdmc_thread_stop(mca_coll_rdmc_module_t *m)
{
    if (!m->thread_running) {
        return;
    }
    __atomic_store_n(&m->thread_stop, 1, __ATOMIC_RELEASE);
    pthread_join(m->thread, NULL);
    m->thread_running = false;
}
