/*
 * Waits that last: a collective, or a communicator's set-up, that has not
 * moved for coll_rdmc_stall_warning_ms is said on stderr, with how long it
 * will still be waited for (coll_rdmc_timeout_ms).  A rank that reads its
 * input, writes a checkpoint or sits in a debugger is late, not failed, so
 * the timeout is long; the user should not have to guess meanwhile.
 *
 * One or two ranks of the communicator speak, not all: in set-up the
 * lowest rank that has heard from no rank below it (after a minute, the
 * lowest rank that is there); in a collective its root and the lowest
 * other member, so that one of them does whichever rank is late.  The
 * first stall of a process is said at once, later ones at
 * coll_rdmc_verbose 1.
 */
#include "coll_rdmc.h"

#include "opal/util/output.h"

static void say_stall(const char *name, int me, double waited_ms, const char *what,
                      double bound_ms)
{
    static int said;
    int level = __atomic_exchange_n(&said, 1, __ATOMIC_RELAXED) == 0 ? 0 : 1;

    opal_output_verbose(level, mca_coll_rdmc_component.output,
                        "coll:rdmc: %s: rank %d has waited %.0f s %s; the call fails with "
                        "MPI_ERR_OTHER if nothing moves for %.0f s (coll_rdmc_timeout_ms; "
                        "this line: coll_rdmc_stall_warning_ms)",
                        name, me, waited_ms / 1000.0, what, bound_ms / 1000.0);
}

static bool stall_due(double waited_ms)
{
    int warn_ms = mca_coll_rdmc_component.stall_warning_ms;

    return warn_ms > 0 && waited_ms >= warn_ms;
}

/* The lowest rank of the link's current members other than `root`. */
static uint32_t lowest_other_member(const mca_coll_rdmc_link_t *l, uint32_t root)
{
    for (uint32_t r = 0; r < l->stream.p.n; r++) {
        if (r != root && rdmc_sst_is_live(l->sst, (int)r)) {
            return r;
        }
    }
    return root;
}

void mca_coll_rdmc_stall_check_link(mca_coll_rdmc_link_t *l, double now)
{
    const rdmc_coll_t *head = l->stream.head;
    uint32_t me = l->stream.p.rank;
    char what[160];

    if (head == NULL || l->stall_said == head->seq + 1) {
        return;
    }
    double waited_ms = rdmc_stream_still_ms(&l->stream, now);
    if (!stall_due(waited_ms)) {
        return;
    }
    l->stall_said = head->seq + 1;
    if (me == head->root || me == lowest_other_member(l, head->root)) {
        char coll[64];
        if (head->kind == RDMC_COLL_BARRIER) {
            snprintf(coll, sizeof(coll), "barrier (collective #%llu)",
                     (unsigned long long)head->seq);
        } else {
            snprintf(coll, sizeof(coll), "broadcast from rank %u (collective #%llu)", head->root,
                     (unsigned long long)head->seq);
        }
        snprintf(what, sizeof(what),
                 "in a %s without progress (a rank is late to it, stopped, or out of reach)",
                 coll);
        say_stall(l->name, (int)me, waited_ms, what, l->stream.p.timeout_ms);
    }
}

void mca_coll_rdmc_stall_check_setup(mca_coll_rdmc_module_t *m)
{
    int n = ompi_comm_size(m->comm), me = ompi_comm_rank(m->comm);
    double waited_ms = rdmc_now_ms() - m->setup_began_ms;
    int missing = 0, first_missing = -1;
    char what[200];

    if (m->setup_stall_said || !stall_due(waited_ms)) {
        return;
    }
    m->setup_stall_said = true;
    for (int r = 0; r < n; r++) {
        bool answered = r == me || mca_coll_rdmc_setup_answered(m, r);
        if (!answered) {
            first_missing = missing++ == 0 ? r : first_missing;
        } else if (r < me) {
            return;   /* a lower rank is there: it speaks */
        }
    }
    snprintf(what, sizeof(what),
             "for rank %d%s to enter this communicator's first rdmc collective (set-up: "
             "late, or coll_rdmc settings that send the collective elsewhere)",
             first_missing, missing > 1 ? " and others" : "");
    say_stall(mca_coll_rdmc_comm_name(m->comm), me, waited_ms, what,
              m->setup_deadline_ms - m->setup_began_ms);
}
