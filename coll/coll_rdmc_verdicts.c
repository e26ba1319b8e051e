/*
 * One verdict per process, across its communicators.
 *
 * Each communicator runs its own failure detector and view changes, so
 * a member stopped for about the failure timeout could be removed from
 * some communicators and kept in others (a busy one judges by its latest
 * beat, an idle one by its last reading), and a communicator with a short
 * failure timeout (info key rdmc_failure_timeout_ms) removes a process
 * the others would wait for.  A program then saw a process dead on one
 * communicator and alive on another.  As under ULFM, a failure here
 * belongs to the process: once any link of ours installs a view without a
 * process for its failure, every other link with that process among its
 * members suspects it at its next pass (on alert, within IDLE_LINK_MS),
 * and its members remove it the usual way, agreeing on every broadcast.
 *
 * Under ULFM, Open MPI is told too (rdmc_runtime_mark_failed), so that a
 * ULFM program's MPIX_Comm_shrink leaves out a process rdmc removed but
 * Open MPI's runtime still counts alive (stopped, hung, cut off).
 *
 * Processes are named by mca_coll_rdmc_process_of (job and rank in it).
 * Verdicts are never taken back: a removed process is dead to this one
 * until MPI_Finalize.  Everything here runs under the engine lock, but
 * telling Open MPI (mca_coll_rdmc_verdicts_tell_runtime: after the lock
 * is released, in the application's thread).
 */
#include "coll_rdmc.h"

#include <stdlib.h>

#include "ompi/proc/proc.h"
#include "opal/util/output.h"

static uint64_t *removed;           /* the processes removed, in the order heard */
static size_t nremoved, capacity;
/* Under ULFM: removed processes Open MPI has not been told of yet
 * (nuntold is changed under the lock, and read without it). */
static ompi_proc_t **untold;
static size_t nuntold, untold_capacity;

uint64_t mca_coll_rdmc_process_of(ompi_communicator_t *comm, int r)
{
    const opal_process_name_t *name = &ompi_comm_peer_lookup(comm, r)->super.proc_name;

    return (uint64_t)name->jobid << 32 | name->vpid;
}

static bool known(uint64_t process)
{
    for (size_t i = 0; i < nremoved; i++) {
        if (removed[i] == process) {
            return true;
        }
    }
    return false;
}

static bool remember(uint64_t process)
{
    if (nremoved == capacity) {
        size_t more = capacity == 0 ? 16 : 2 * capacity;
        uint64_t *grown = realloc(removed, more * sizeof(*grown));
        if (grown == NULL) {
            return false;
        }
        removed = grown;
        capacity = more;
    }
    removed[nremoved++] = process;
    return true;
}

/* Queued for mca_coll_rdmc_verdicts_tell_runtime; false when out of
 * memory (Open MPI then learns of the failure its own way, if at all). */
static bool queue_for_runtime(ompi_proc_t *proc)
{
    if (nuntold == untold_capacity) {
        size_t more = untold_capacity == 0 ? 8 : 2 * untold_capacity;
        ompi_proc_t **grown = realloc(untold, more * sizeof(*grown));
        if (grown == NULL) {
            return false;
        }
        untold = grown;
        untold_capacity = more;
    }
    untold[nuntold] = proc;
    __atomic_store_n(&nuntold, nuntold + 1, __ATOMIC_RELEASE);
    return true;
}

bool mca_coll_rdmc_verdicts_publish(mca_coll_rdmc_link_t *l)
{
    uint64_t news = l->gm->failed & ~l->verdicts_published;
    bool told = false;

    if (news == 0 || l->module == NULL) {
        return false;
    }
    for (uint64_t set = news; set != 0; set &= set - 1) {
        int r = __builtin_ctzll(set);
        uint64_t process = mca_coll_rdmc_process_of(l->module->comm, r);
        if (known(process)) {
            continue;
        }
        if (!remember(process)) {
            break;   /* out of memory: the other communicators judge it themselves */
        }
        told = true;
        if (mca_coll_rdmc_component.ulfm) {
            (void)queue_for_runtime(ompi_comm_peer_lookup(l->module->comm, r));
        }
        opal_output_verbose(1, mca_coll_rdmc_component.output,
                            "coll:rdmc: %s: rank %d removed; every communicator of this process "
                            "with it removes it too",
                            l->name, r);
    }
    l->verdicts_published = l->gm->failed;
    return told;
}

/* rdmc_gm_suspect passes over this rank and the members already
 * suspected: only the new verdicts are looked at, once. */
void mca_coll_rdmc_verdicts_apply(mca_coll_rdmc_link_t *l)
{
    if (l->verdicts_applied == nremoved || l->module == NULL) {
        return;
    }
    for (uint64_t set = l->gm->members; set != 0; set &= set - 1) {
        int r = __builtin_ctzll(set);
        uint64_t process = mca_coll_rdmc_process_of(l->module->comm, r);
        for (size_t i = l->verdicts_applied; i < nremoved; i++) {
            if (removed[i] == process) {
                if (rdmc_gm_suspect(l->gm, r, "another communicator of this process removed it")) {
                    mca_coll_rdmc_count(&mca_coll_rdmc_component.pvar_carried_verdicts, 1);
                }
                break;
            }
        }
    }
    l->verdicts_applied = nremoved;
}

bool mca_coll_rdmc_verdicts_removed(ompi_communicator_t *comm, int r)
{
    return nremoved > 0 && known(mca_coll_rdmc_process_of(comm, r));
}

void mca_coll_rdmc_verdicts_tell_runtime(void)
{
    ompi_proc_t **procs;
    size_t n;

    if (__atomic_load_n(&nuntold, __ATOMIC_ACQUIRE) == 0) {
        return;
    }
    pthread_mutex_lock(&mca_coll_rdmc_lock);
    procs = untold;
    n = nuntold;
    untold = NULL;
    untold_capacity = 0;
    __atomic_store_n(&nuntold, 0, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&mca_coll_rdmc_lock);
    for (size_t i = 0; i < n; i++) {
        rdmc_runtime_mark_failed(procs[i]);
    }
    free(procs);
}

void mca_coll_rdmc_verdicts_forget(void)
{
    free(removed);
    removed = NULL;
    nremoved = capacity = 0;
    free(untold);
    untold = NULL;
    untold_capacity = 0;
    __atomic_store_n(&nuntold, 0, __ATOMIC_RELEASE);
}
