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
 * Processes are named by their job and rank in it (jobid, vpid), the same
 * in every communicator, joined jobs included.  Verdicts are never taken
 * back: a removed process is dead to this one until MPI_Finalize.
 * Everything here runs under the engine lock.
 */
#include "coll_rdmc.h"

#include <stdlib.h>

#include "ompi/proc/proc.h"
#include "opal/util/output.h"

static uint64_t *removed;           /* the processes removed, in the order heard */
static size_t nremoved, capacity;

static uint64_t process_of(ompi_communicator_t *comm, int r)
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

bool mca_coll_rdmc_verdicts_publish(mca_coll_rdmc_link_t *l)
{
    uint64_t news = l->gm->failed & ~l->verdicts_published;
    bool told = false;

    if (news == 0 || l->module == NULL) {
        return false;
    }
    for (uint64_t set = news; set != 0; set &= set - 1) {
        int r = __builtin_ctzll(set);
        uint64_t process = process_of(l->module->comm, r);
        if (known(process)) {
            continue;
        }
        if (!remember(process)) {
            break;   /* out of memory: the other communicators judge it themselves */
        }
        told = true;
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
        uint64_t process = process_of(l->module->comm, r);
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
    return nremoved > 0 && known(process_of(comm, r));
}

void mca_coll_rdmc_verdicts_forget(void)
{
    free(removed);
    removed = NULL;
    nremoved = capacity = 0;
}
