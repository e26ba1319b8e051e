/*
 * Doorbells: a wait object for providers whose completion queue has none
 * (shm, whose fi_cq_sread spins).
 *
 * Each endpoint owns a small shared-memory page holding a futex word.  A
 * rank that finds nothing to do announces that it sleeps and sleeps on its
 * word; a rank that gives it work (a message, or the completion of a
 * message it sent) rings it, with a system call only when it sleeps.  So
 * idle ranks leave the cores to the ranks that copy data, and wake the
 * moment they have something to do.  Nothing but this wake-up travels
 * outside libfabric.
 */
#ifndef RDMC_OFI_DOORBELL_H
#define RDMC_OFI_DOORBELL_H

#include <stdbool.h>
#include <stdint.h>

#define RDMC_DOORBELL_NAME_MAX 48

typedef struct rdmc_doorbell_page {
    uint32_t rings;      /* futex word: bumped by every ring of a sleeper */
    uint32_t sleeping;   /* the owner is (about to be) asleep: RDMC_DOORBELL_NAP or _DEEP */
} rdmc_doorbell_page_t;

/* A nap is short (a collective is under way, and the provider may have
 * news nobody rings for); a deep sleep is long, taken only while nothing
 * of the owner's is under way, so every peer's message or write wakes it. */
#define RDMC_DOORBELL_NAP 1u
#define RDMC_DOORBELL_DEEP 2u

typedef struct rdmc_doorbell {
    rdmc_doorbell_page_t *page;     /* NULL: no doorbell */
    char name[RDMC_DOORBELL_NAME_MAX];
    bool owner_linked;              /* we created the name and have not unlinked it */
} rdmc_doorbell_t;

/* A new doorbell for this process, with a unique name. */
int rdmc_doorbell_create(rdmc_doorbell_t *db);
/* Map a peer's doorbell by name. */
int rdmc_doorbell_open(rdmc_doorbell_t *db, const char *name);
/* Remove the name (every peer has mapped the page by now). */
void rdmc_doorbell_unlink(rdmc_doorbell_t *db);
void rdmc_doorbell_close(rdmc_doorbell_t *db);

/* Wake the owner if it sleeps. */
void rdmc_doorbell_ring(rdmc_doorbell_t *db);
/* Wake the owner only if it sleeps deeply (news a napping owner finds on
 * its own: a one-sided write without a completion at its end). */
void rdmc_doorbell_nudge(rdmc_doorbell_t *db);

/* Sleep on our own doorbell for at most timeout_us, unless `ready` (called
 * after announcing the sleep, so no ring is missed) reports work.  How:
 * RDMC_DOORBELL_NAP or RDMC_DOORBELL_DEEP. */
void rdmc_doorbell_sleep(rdmc_doorbell_t *db, unsigned how, int timeout_us,
                         bool (*ready)(void *arg), void *arg);

#endif
