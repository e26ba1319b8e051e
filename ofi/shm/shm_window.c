/*
 * The SST's window in shared memory (rdmc_shm.h): an rdmc_transport_t with
 * the window ops only.
 *
 * expose() backs the caller's table with a memfd: it copies what the table
 * holds (only pages that are not all zero, so untouched slots still cost
 * nothing) and maps the memfd over it in place (MAP_FIXED), behind a header
 * page that names the segment (cookie) and the owner's bell.  attach()
 * maps a peer's whole segment through /proc.  write() copies [offset,
 * offset+len) of our table into the same place of the peer's: a release
 * fence, then word stores, so a reader that acquires a guard the write
 * carries (a cell's value) sees every byte of the earlier writes, the
 * order FI_ORDER_WAW gave the fabric path.
 *
 * Once every peer has mapped our segment we close its fd: a link then
 * costs no file descriptor.  A peer that dies leaves its segment mapped
 * here until the window closes; writing into it harms nobody.
 */
#define _GNU_SOURCE
#include "shm_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "rdmc_log.h"

typedef struct shm_window_peer {
    shm_segment_header_t *segment;   /* NULL: not attached */
    size_t segment_bytes;
    uint8_t *table;
    shm_peer_bell_t *bell;
    bool gone;                       /* its process was gone at attach */
} shm_window_peer_t;

/* Mappings the open windows hold or will once attached
 * (rdmc_shm_window_mappings): counted whole from the window's opening, so
 * that ranks setting up the same communicators count alike. */
static long mappings;

static void count_mappings(long delta)
{
    __atomic_add_fetch(&mappings, delta, __ATOMIC_RELAXED);
}

struct rdmc_shm_window {
    rdmc_transport_t base;           /* first: what the SST holds */
    int n, me;
    int fd;                          /* our segment; -1 once every peer mapped it */
    shm_segment_header_t *header;    /* our segment's first page */
    uint8_t *table;
    size_t table_bytes;
    shm_window_peer_t *peers;
};

static rdmc_shm_window_t *window_of(rdmc_transport_t *tp)
{
    return (rdmc_shm_window_t *)tp;
}

static bool page_is_zero(const uint8_t *page)
{
    const uint64_t *w = (const uint64_t *)page;

    for (size_t i = 0; i < SHM_PAGE / sizeof(*w); i++) {
        if (w[i] != 0) {
            return false;
        }
    }
    return true;
}

/* Copy the table's non-zero pages into the segment, then map the segment
 * over the table. */
static int back_table(rdmc_shm_window_t *w, void *base, size_t len)
{
    uint8_t *staging = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, w->fd, SHM_PAGE);

    if (staging == MAP_FAILED) {
        return -errno;
    }
    for (size_t off = 0; off < len; off += SHM_PAGE) {
        if (!page_is_zero((const uint8_t *)base + off)) {
            memcpy(staging + off, (const uint8_t *)base + off, SHM_PAGE);
        }
    }
    munmap(staging, len);
    if (mmap(base, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, w->fd, SHM_PAGE) ==
        MAP_FAILED) {
        return -errno;
    }
    return 0;
}

static int window_expose(rdmc_transport_t *tp, void *base, size_t len, void *blob,
                         size_t *blob_len)
{
    rdmc_shm_window_t *w = window_of(tp);
    shm_share_t share;
    void *header;
    int rc;

    if (w->header != NULL || *blob_len < sizeof(share) || (uintptr_t)base % SHM_PAGE != 0 ||
        len % SHM_PAGE != 0) {
        return -EINVAL;
    }
    rc = rdmc_shm_memfd("rdmc-sst", SHM_PAGE + len, &w->fd);
    if (rc != 0) {
        rdmc_log(1, "shm SST: no memfd of %zu bytes: %s", len, strerror(-rc));
        return rc;
    }
    header = mmap(NULL, SHM_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, w->fd, 0);
    if (header == MAP_FAILED) {
        rc = -errno;
        goto err_close_fd;
    }
    w->header = header;
    rc = rdmc_shm_bell_share(&w->header->bell, &w->header->bell_pipe);
    if (rc == 0) {
        rc = back_table(w, base, len);
    }
    if (rc != 0) {
        rdmc_log(1, "shm SST: cannot share the table: %s", strerror(-rc));
        goto err_unmap_header;
    }
    w->table = base;
    w->table_bytes = len;
    w->header->pid = (uint32_t)getpid();
    w->header->table_bytes = len;
    w->header->cookie = rdmc_shm_random();
    __atomic_store_n(&w->header->magic, SHM_SEGMENT_MAGIC, __ATOMIC_RELEASE);
    share = (shm_share_t){ w->header->pid, w->fd, w->header->cookie };
    memcpy(blob, &share, sizeof(share));
    *blob_len = sizeof(share);
    return 0;

err_unmap_header:
    munmap(w->header, SHM_PAGE);
    w->header = NULL;
err_close_fd:
    close(w->fd);
    w->fd = -1;
    return rc;
}

static int window_attach(rdmc_transport_t *tp, int peer, const void *blob, size_t blob_len)
{
    rdmc_shm_window_t *w = window_of(tp);
    shm_window_peer_t *p;
    shm_share_t share;
    shm_segment_header_t *seg;
    void *base;
    size_t bytes;
    int fd, rc;

    if (peer < 0 || peer >= w->n || blob_len != sizeof(share)) {
        rdmc_log(1, "shm SST: malformed window of rank %d (%zu bytes)", peer, blob_len);
        return -EINVAL;
    }
    if (peer == w->me) {
        return 0;
    }
    p = &w->peers[peer];
    memcpy(&share, blob, sizeof(share));
    rc = rdmc_shm_open_peer_fd(share.pid, share.fd, O_RDWR, &fd);
    if (rc == 0) {
        rc = rdmc_shm_map_fd(fd, &base, &bytes);
    }
    if (rc == -ENOENT || rc == -ESRCH) {
        /* It died after sending its record: the failure detector will
         * hear its silence; our writes to it fail meanwhile. */
        rdmc_log(1, "shm SST: rank %d (pid %u) is gone", peer, share.pid);
        p->gone = true;
        return 0;
    }
    if (rc != 0) {
        rdmc_log(1, "shm SST: cannot map the table of rank %d (pid %u): %s", peer, share.pid,
                 strerror(-rc));
        return rc;
    }
    seg = base;
    if (__atomic_load_n(&seg->magic, __ATOMIC_ACQUIRE) != SHM_SEGMENT_MAGIC ||
        seg->cookie != share.cookie || seg->table_bytes != w->table_bytes ||
        bytes != SHM_PAGE + w->table_bytes) {
        /* The fd number now holds something else: the process that sent
         * the record is not the one we opened (gone, or another pid
         * namespace). */
        rdmc_log(1, "shm SST: rank %d's segment does not match its record", peer);
        munmap(base, bytes);
        return -ESRCH;
    }
    rc = rdmc_shm_peer_bell_get(&seg->bell, seg->bell_pipe, &p->bell);
    if (rc != 0) {
        rdmc_log(1, "shm SST: cannot reach the bell of rank %d: %s", peer, strerror(-rc));
        munmap(base, bytes);
        return rc;
    }
    p->segment = seg;
    p->segment_bytes = bytes;
    p->table = (uint8_t *)base + SHM_PAGE;
    __atomic_add_fetch(&seg->attached, 1, __ATOMIC_RELEASE);
    return 0;
}

/* Every peer holds a mapping: our fd is no longer needed to find it. */
static void maybe_close_fd(rdmc_shm_window_t *w)
{
    if (w->fd >= 0 &&
        __atomic_load_n(&w->header->attached, __ATOMIC_ACQUIRE) >= (uint32_t)(w->n - 1)) {
        close(w->fd);
        w->fd = -1;
    }
}

/* Release, then word stores in address order (bytes at the ends). */
static void copy_ordered(uint8_t *to, const uint8_t *from, size_t len)
{
    size_t i = 0;

    __atomic_thread_fence(__ATOMIC_RELEASE);
    for (; i < len && ((uintptr_t)(to + i) & 7) != 0; i++) {
        __atomic_store_n(to + i, from[i], __ATOMIC_RELAXED);
    }
    for (; i + 8 <= len; i += 8) {
        uint64_t word;
        memcpy(&word, from + i, 8);
        __atomic_store_n((uint64_t *)(void *)(to + i), word, __ATOMIC_RELAXED);
    }
    for (; i < len; i++) {
        __atomic_store_n(to + i, from[i], __ATOMIC_RELAXED);
    }
}

static int window_write(rdmc_transport_t *tp, int peer, size_t offset, size_t len, bool notify,
                        rdmc_req_t *req)
{
    rdmc_shm_window_t *w = window_of(tp);
    shm_window_peer_t *p;

    if (peer < 0 || peer >= w->n || peer == w->me || offset + len > w->table_bytes) {
        return -EINVAL;
    }
    p = &w->peers[peer];
    if (p->segment == NULL) {
        return p->gone ? -ECONNRESET : -EINVAL;
    }
    maybe_close_fd(w);
    copy_ordered(p->table + offset, w->table + offset, len);
    if (notify) {
        rdmc_shm_peer_bell_ring(p->bell);
    }
    if (req != NULL) {
        req->complete(req, 0, len, 0);   /* placed already (immediate_writes) */
    }
    return 0;
}

static const rdmc_transport_ops_t shm_window_ops = {
    .window_expose = window_expose,
    .window_attach = window_attach,
    .write = window_write,
};

int rdmc_shm_window_open(int n, int me, rdmc_shm_window_t **w_p)
{
    rdmc_shm_window_t *w;

    if (n < 1 || me < 0 || me >= n) {
        return -EINVAL;
    }
    w = calloc(1, sizeof(*w));
    if (w == NULL) {
        return -ENOMEM;
    }
    w->peers = calloc((size_t)n, sizeof(*w->peers));
    if (w->peers == NULL) {
        free(w);
        return -ENOMEM;
    }
    w->base.ops = &shm_window_ops;
    w->base.inject_limit = SIZE_MAX / 4;
    w->base.ordered_write_bytes = SIZE_MAX;
    w->base.immediate_writes = true;
    w->base.maps_over_window = true;
    w->n = n;
    w->me = me;
    w->fd = -1;
    count_mappings(n);
    *w_p = w;
    return 0;
}

rdmc_transport_t *rdmc_shm_window_transport(rdmc_shm_window_t *w)
{
    return &w->base;
}

int rdmc_shm_window_unreachable(const rdmc_shm_window_t *w)
{
    int count = 0;

    for (int r = 0; r < w->n; r++) {
        count += w->peers[r].gone ? 1 : 0;
    }
    return count;
}

void rdmc_shm_window_close(rdmc_shm_window_t *w)
{
    if (w == NULL) {
        return;
    }
    for (int r = 0; r < w->n; r++) {
        shm_window_peer_t *p = &w->peers[r];
        if (p->segment != NULL) {
            munmap(p->segment, p->segment_bytes);
            rdmc_shm_peer_bell_put(p->bell);
        }
    }
    if (w->header != NULL) {
        munmap(w->header, SHM_PAGE);
    }
    if (w->fd >= 0) {
        close(w->fd);
    }
    count_mappings(-w->n);
    free(w->peers);
    free(w);
}

long rdmc_shm_window_mappings(void)
{
    return __atomic_load_n(&mappings, __ATOMIC_RELAXED);
}

long rdmc_shm_system_map_limit(void)
{
    long limit = -1;
    FILE *f = fopen("/proc/sys/vm/max_map_count", "re");

    if (f != NULL) {
        if (fscanf(f, "%ld", &limit) != 1 || limit < 1) {
            limit = -1;
        }
        fclose(f);
    }
    return limit;
}
