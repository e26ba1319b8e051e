#include "ofi_doorbell.h"
#include "ofi_internal.h"   /* rdmc_ofi_instance */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define PAGE_BYTES 4096

static long futex(uint32_t *word, int op, uint32_t value, const struct timespec *timeout)
{
    return syscall(SYS_futex, word, op, value, timeout, NULL, 0);
}

static int map_page(rdmc_doorbell_t *db, int fd)
{
    void *page = mmap(NULL, PAGE_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

    close(fd);
    if (page == MAP_FAILED) {
        return -errno;
    }
    db->page = page;
    return 0;
}

int rdmc_doorbell_create(rdmc_doorbell_t *db)
{
    static unsigned counter;
    int fd, rc;

    memset(db, 0, sizeof(*db));
    snprintf(db->name, sizeof(db->name), "/rdmc-doorbell-%s-%u", rdmc_ofi_instance(),
             __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED));
    fd = shm_open(db->name, O_CREAT | O_EXCL | O_RDWR, 0600);
    if (fd < 0) {
        return -errno;
    }
    if (ftruncate(fd, PAGE_BYTES) != 0) {
        rc = -errno;
        close(fd);
        shm_unlink(db->name);
        return rc;
    }
    db->owner_linked = true;
    rdmc_ofi_tell_shm_file(db->name);
    rc = map_page(db, fd);
    if (rc != 0) {
        rdmc_doorbell_unlink(db);
    }
    return rc;
}

int rdmc_doorbell_open(rdmc_doorbell_t *db, const char *name)
{
    int fd;

    memset(db, 0, sizeof(*db));
    snprintf(db->name, sizeof(db->name), "%s", name);
    fd = shm_open(db->name, O_RDWR, 0);
    if (fd < 0) {
        return -errno;
    }
    return map_page(db, fd);
}

void rdmc_doorbell_unlink(rdmc_doorbell_t *db)
{
    if (db->owner_linked) {
        shm_unlink(db->name);
        db->owner_linked = false;
    }
}

void rdmc_doorbell_close(rdmc_doorbell_t *db)
{
    rdmc_doorbell_unlink(db);
    if (db->page != NULL) {
        munmap(db->page, PAGE_BYTES);
        db->page = NULL;
    }
}

/* Wake the owner if it sleeps (deeply only, if asked). */
static void wake(rdmc_doorbell_t *db, bool deep_only)
{
    uint32_t sleeping;

    if (db->page == NULL) {
        return;
    }
    /* Our message is posted; only now look whether the owner sleeps (the
     * owner announces its sleep before its last look for messages). */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    sleeping = __atomic_load_n(&db->page->sleeping, __ATOMIC_SEQ_CST);
    if (sleeping == RDMC_DOORBELL_DEEP || (sleeping == RDMC_DOORBELL_NAP && !deep_only)) {
        __atomic_add_fetch(&db->page->rings, 1, __ATOMIC_SEQ_CST);
        futex(&db->page->rings, FUTEX_WAKE, INT_MAX, NULL);
    }
}

void rdmc_doorbell_ring(rdmc_doorbell_t *db)
{
    wake(db, false);
}

void rdmc_doorbell_nudge(rdmc_doorbell_t *db)
{
    wake(db, true);
}

void rdmc_doorbell_sleep(rdmc_doorbell_t *db, unsigned how, int timeout_us,
                         bool (*ready)(void *arg), void *arg)
{
    struct timespec timeout = { timeout_us / 1000000, (timeout_us % 1000000) * 1000L };
    uint32_t seen;

    __atomic_store_n(&db->page->sleeping, how, __ATOMIC_SEQ_CST);
    seen = __atomic_load_n(&db->page->rings, __ATOMIC_SEQ_CST);
    if (!ready(arg)) {
        /* Returns at once if a ring came after `seen` was read. */
        futex(&db->page->rings, FUTEX_WAIT, seen, &timeout);
    }
    __atomic_store_n(&db->page->sleeping, 0, __ATOMIC_SEQ_CST);
}
