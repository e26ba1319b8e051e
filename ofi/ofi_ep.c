/*
 * The process's endpoint on a fabric: opened at the first communicator that
 * needs it, shared by every communicator after it, closed at finalize.
 * Its address vector knows each peer process once (looked up by the
 * address blob it published), so the cost of a new communicator does not
 * grow with the number that exist.
 *
 * The address a process publishes is both endpoints' names followed by the
 * doorbell's name (empty without a doorbell).
 */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rdma/fi_cm.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_tagged.h>

#include "ofi_internal.h"
#include "rdmc_log.h"

/* Atomic: the idle waits of the progress thread read them without the
 * lock. */
void rdmc_ofi_note_work(rdmc_ofi_ep_t *ep)
{
    double now = rdmc_now_ms();

    __atomic_store_n(&ep->idle_waits, 0, __ATOMIC_RELAXED);
    __atomic_store(&ep->last_work_ms, &now, __ATOMIC_RELAXED);
}

static int open_cq(rdmc_ofi_ep_t *ep)
{
    struct fi_cq_attr attr;
    int rc;

    memset(&attr, 0, sizeof(attr));
    attr.format = FI_CQ_FORMAT_TAGGED;
    attr.wait_obj = FI_WAIT_FD;
    rc = fi_cq_open(ep->fab->domain, &attr, &ep->cq, NULL);
    if (rc == 0 && fi_control(&ep->cq->fid, FI_GETWAIT, &ep->wait_fd) == 0) {
        return 0;
    }
    if (rc == 0) {
        fi_close(&ep->cq->fid);
    }
    /* No file descriptor to sleep on: the doorbell, or naps, instead. */
    ep->wait_fd = -1;
    attr.wait_obj = FI_WAIT_NONE;
    return fi_cq_open(ep->fab->domain, &attr, &ep->cq, NULL);
}

const char *rdmc_ofi_instance(void)
{
    static char instance[32];

    if (instance[0] == '\0') {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        uint32_t mix = (uint32_t)now.tv_nsec ^ (uint32_t)(uintptr_t)&now ^
                       ((uint32_t)now.tv_sec << 7);
        snprintf(instance, sizeof(instance), "%d-%08x", (int)getpid(), mix);
    }
    return instance;
}

static void (*file_hook)(const char *path);

void rdmc_ofi_set_file_hook(void (*hook)(const char *path))
{
    file_hook = hook;
}

void rdmc_ofi_tell_shm_file(const char *shm_name)
{
    char path[PATH_MAX];

    while (*shm_name == '/') {
        shm_name++;
    }
    snprintf(path, sizeof(path), "/dev/shm/%s", shm_name);
    if (file_hook != NULL && access(path, F_OK) == 0) {
        file_hook(path);
    }
}

/* shm names an endpoint's shared memory after the process id by default,
 * and cannot open an endpoint whose name a crashed process left behind
 * (rdmc would then fall back for good on that node, with no word why):
 * our names carry the instance instead.  The name shm opens its queue
 * under goes to file_name ("" when there is none of ours). */
#define SHM_URI_PREFIX "fi_shm://"

static void name_shm_endpoint(rdmc_ofi_ep_t *ep, struct fid_ep *fid, char *file_name,
                              size_t size)
{
    static unsigned counter;
    char name[64];
    int rc;

    file_name[0] = '\0';
    if (strcmp(ep->fab->info->fabric_attr->prov_name, "shm") != 0) {
        return;
    }
    snprintf(name, sizeof(name), SHM_URI_PREFIX "rdmc-%s-%u", rdmc_ofi_instance(),
             __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED));
    rc = fi_setname(&fid->fid, name, strlen(name) + 1);
    if (rc != 0) {
        rdmc_log(1, "naming the shm endpoint %s failed (%s): shm's own name it is", name,
                 fi_strerror(-rc));
        return;
    }
    snprintf(file_name, size, "%s", name + strlen(SHM_URI_PREFIX));
}

/* An endpoint on our CQ and AV, enabled. */
static int open_fi_endpoint(rdmc_ofi_ep_t *ep, struct fid_ep **fid_p)
{
    int rc = fi_endpoint(ep->fab->domain, ep->fab->info, fid_p, NULL);
    char file_name[64];

    if (rc != 0) {
        rdmc_log(1, "fi_endpoint failed: %s", fi_strerror(-rc));
        return rc;
    }
    name_shm_endpoint(ep, *fid_p, file_name, sizeof(file_name));
    rc = fi_ep_bind(*fid_p, &ep->cq->fid, FI_TRANSMIT | FI_RECV);
    if (rc == 0) {
        rc = fi_ep_bind(*fid_p, &ep->av->fid, 0);
    }
    if (rc == 0) {
        rc = fi_enable(*fid_p);
    }
    if (rc != 0) {
        rdmc_log(1, "enabling the endpoint failed: %s", fi_strerror(-rc));
        fi_close(&(*fid_p)->fid);
    } else if (file_name[0] != '\0') {
        rdmc_ofi_tell_shm_file(file_name);
    }
    return rc;
}

/* How long the warm-up may take at most. */
#define WARM_UP_MS 2000

/* The warm-up's two operations.  Their contexts are requests like any
 * other, so that a completion arriving after we gave up (kept, never
 * freed then) goes through the endpoint's progress harmlessly. */
typedef struct warm_up {
    rdmc_req_t recv, send;
    bool received, sent, failed;
} warm_up_t;

static void warm_up_received(rdmc_req_t *req, int status, size_t len, uint64_t imm)
{
    (void)len;
    (void)imm;
    warm_up_t *w = (warm_up_t *)((char *)req - offsetof(warm_up_t, recv));

    w->received = true;
    w->failed = w->failed || status != 0;
}

static void warm_up_sent(rdmc_req_t *req, int status, size_t len, uint64_t imm)
{
    (void)len;
    (void)imm;
    warm_up_t *w = (warm_up_t *)((char *)req - offsetof(warm_up_t, send));

    w->sent = true;
    w->failed = w->failed || status != 0;
}

/* A connection-oriented provider under rxm (tcp) sets up the resources of
 * its connections (the receive buffers all of them share: 256 of up to
 * 64 KiB, touched page by page) at the endpoint's first connection.  Made
 * by the first broadcast, that held one progress pass, the process lock
 * and its heartbeats for 136-177 ms at 5 ranks on 2 cores, 200-750 ms
 * under load.  An empty message to ourselves, here in the opener thread,
 * before any communicator uses the endpoint, pays it off that path.  A
 * failure only leaves the cost where it was. */
static void warm_up(rdmc_ofi_ep_t *ep, struct fid_ep *fid)
{
    const struct timespec nap = { 0, 1000000L };
    double deadline = rdmc_now_ms() + WARM_UP_MS;
    uint8_t name[256];
    size_t len = sizeof(name);
    fi_addr_t self;
    warm_up_t *w;
    ssize_t rc;

    if (strstr(rdmc_ofi_fabric_provider(ep->fab), "ofi_rxm") == NULL ||
        fi_getname(&fid->fid, name, &len) != 0 ||
        fi_av_insert(ep->av, name, 1, &self, 0, NULL) != 1 ||
        (w = calloc(1, sizeof(*w))) == NULL) {
        return;
    }
    w->recv.complete = warm_up_received;
    w->send.complete = warm_up_sent;
    if (fi_trecv(fid, NULL, 0, NULL, FI_ADDR_UNSPEC, 0, 0, &w->recv) != 0) {
        free(w);
        return;
    }
    while ((rc = fi_tsend(fid, NULL, 0, NULL, self, 0, &w->send)) == -FI_EAGAIN &&
           rdmc_now_ms() < deadline) {
        nanosleep(&nap, NULL);
    }
    /* The endpoint is not published yet: its completion queue is ours. */
    while (rc == 0 && !(w->received && w->sent) && !w->failed && rdmc_now_ms() < deadline &&
           rdmc_ofi_ep_progress(ep) >= 0) {
        nanosleep(&nap, NULL);
    }
    if (w->received && w->sent && !w->failed) {
        rdmc_log(1, "endpoint warmed up: its first connection is made");
        free(w);
        return;
    }
    rdmc_log(1, "warming the endpoint up gave up (%s)",
             rc != 0 ? fi_strerror((int)-rc) : w->failed ? "an error completion" : "no answer");
    (void)fi_cancel(&fid->fid, &w->recv);   /* w stays: its completions may still come */
}

int rdmc_ofi_ep_open(rdmc_ofi_fabric_t *fab, bool failure_safe, rdmc_ofi_ep_t **ep_p)
{
    rdmc_ofi_ep_t *ep = calloc(1, sizeof(*ep));
    struct fi_av_attr av_attr;
    int rc;

    if (ep == NULL) {
        return -FI_ENOMEM;
    }
    ep->fab = fab;
    ep->inject_limit = fab->info->tx_attr->inject_size;
    ep->pieces_up_to = rdmc_ofi_pieces_up_to(fab->info);
    ep->piece_bytes = rdmc_ofi_piece_bytes();
    if (fab->info->tx_attr->msg_order & FI_ORDER_WAW) {
        ep->ordered_write_bytes = fab->info->ep_attr->max_order_waw_size;
    }
    ep->failure_safe = failure_safe;
    rdmc_ofi_note_work(ep);
    rdmc_ofi_mr_cache_init(ep);
    if (failure_safe) {
        ep->quiet = calloc(OFI_QUIET_SENDS, sizeof(*ep->quiet));
        if (ep->quiet == NULL) {
            rc = -FI_ENOMEM;
            goto err_free_ep;
        }
    }
    rc = open_cq(ep);
    if (rc != 0) {
        rdmc_log(1, "fi_cq_open failed: %s", fi_strerror(-rc));
        goto err_free_ep;
    }
    if (ep->wait_fd < 0) {
        rc = rdmc_doorbell_create(&ep->doorbell);
        if (rc != 0) {
            /* Still correct, only slower to wake: naps instead. */
            rdmc_log(1, "no doorbell (%s): idle waits will nap", strerror(-rc));
        }
    }
    memset(&av_attr, 0, sizeof(av_attr));
    av_attr.type = FI_AV_TABLE;
    rc = fi_av_open(fab->domain, &av_attr, &ep->av, NULL);
    if (rc != 0) {
        rdmc_log(1, "fi_av_open failed: %s", fi_strerror(-rc));
        goto err_close_cq;
    }
    rc = open_fi_endpoint(ep, &ep->ep);
    if (rc != 0) {
        goto err_close_av;
    }
    rc = open_fi_endpoint(ep, &ep->sst_ep);
    if (rc != 0) {
        goto err_close_endpoint;
    }
    warm_up(ep, ep->ep);
    warm_up(ep, ep->sst_ep);
    rdmc_log(1, "process endpoint open on %s (%s)", fab->info->fabric_attr->prov_name,
             fab->info->domain_attr->name);
    if (ep->pieces_up_to != 0) {
        rdmc_log(1, "messages above %zu bytes up to %zu go in pieces of %zu", ep->piece_bytes,
                 ep->pieces_up_to, ep->piece_bytes);
    }
    *ep_p = ep;
    return 0;

err_close_endpoint:
    fi_close(&ep->ep->fid);
err_close_av:
    fi_close(&ep->av->fid);
err_close_cq:
    rdmc_doorbell_unlink(&ep->doorbell);
    rdmc_doorbell_close(&ep->doorbell);
    fi_close(&ep->cq->fid);
err_free_ep:
    free(ep->quiet);
    free(ep);
    return rc;
}

void rdmc_ofi_ep_shut(rdmc_ofi_ep_t *ep)
{
    if (ep == NULL || ep->ep == NULL) {
        return;
    }
    fi_close(&ep->sst_ep->fid);
    fi_close(&ep->ep->fid);
    ep->sst_ep = ep->ep = NULL;
}

void rdmc_ofi_ep_close(rdmc_ofi_ep_t *ep)
{
    if (ep == NULL) {
        return;
    }
    rdmc_ofi_ep_shut(ep);
    rdmc_ofi_pieces_free(ep);
    rdmc_mr_cache_flush(&ep->mr_cache);
    fi_close(&ep->av->fid);
    fi_close(&ep->cq->fid);
    for (uint32_t i = 0; i < ep->npeers; i++) {
        rdmc_doorbell_close(&ep->peers[i]->doorbell);
        free(ep->peers[i]);
    }
    rdmc_doorbell_unlink(&ep->doorbell);
    rdmc_doorbell_close(&ep->doorbell);
    free(ep->peers);
    free(ep->peer_index);
    free(ep->quiet);
    free(ep);
}

/* ---- our address --------------------------------------------------------- */

/* Address blob: per endpoint [uint32 name length][provider's name], the
 * engine's then the SST's; then [doorbell name, NUL]. */
static int put_name(struct fid_ep *fid, uint8_t **out, size_t *room)
{
    size_t name_len = *room > sizeof(uint32_t) ? *room - sizeof(uint32_t) : 0;
    uint32_t len32;
    int rc = fi_getname(&fid->fid, *out + sizeof(uint32_t), &name_len);

    if (rc != 0) {
        return rc;
    }
    if (sizeof(uint32_t) + name_len > *room) {
        return -FI_ETOOSMALL;
    }
    len32 = (uint32_t)name_len;
    memcpy(*out, &len32, sizeof(len32));
    *out += sizeof(uint32_t) + name_len;
    *room -= sizeof(uint32_t) + name_len;
    return 0;
}

int rdmc_ofi_ep_address(rdmc_ofi_ep_t *ep, void *buf, size_t *len_p)
{
    uint8_t *out = buf;
    size_t room = *len_p;
    size_t bell_len = strlen(ep->doorbell.name) + 1;
    int rc;

    rc = put_name(ep->ep, &out, &room);
    if (rc == 0) {
        rc = put_name(ep->sst_ep, &out, &room);
    }
    if (rc != 0) {
        return rc;
    }
    if (bell_len > room) {
        return -FI_ETOOSMALL;
    }
    memcpy(out, ep->doorbell.name, bell_len);
    *len_p = (size_t)(out - (uint8_t *)buf) + bell_len;
    return 0;
}

/* ---- peers ---------------------------------------------------------------- */

static uint32_t blob_hash(const uint8_t *blob, size_t len)
{
    uint32_t h = 2166136261u;   /* FNV-1a */

    for (size_t i = 0; i < len; i++) {
        h = (h ^ blob[i]) * 16777619u;
    }
    return h;
}

/* The slot of the index where the blob is, or the empty slot it would go to. */
static uint32_t index_slot(const rdmc_ofi_ep_t *ep, const void *addr, size_t len)
{
    uint32_t mask = ep->peer_index_cap - 1;
    uint32_t slot = blob_hash(addr, len) & mask;

    for (;;) {
        uint32_t id1 = ep->peer_index[slot];
        if (id1 == 0) {
            return slot;
        }
        const ofi_peer_t *p = ep->peers[id1 - 1];
        if (p->addr_len == len && memcmp(p->addr, addr, len) == 0) {
            return slot;
        }
        slot = (slot + 1) & mask;
    }
}

/* Keep the index at most half full. */
static int index_grow(rdmc_ofi_ep_t *ep)
{
    uint32_t old_cap = ep->peer_index_cap, *old = ep->peer_index;
    uint32_t cap = old_cap ? old_cap * 2 : 64;

    if ((ep->npeers + 1) * 2 <= old_cap) {
        return 0;
    }
    ep->peer_index = calloc(cap, sizeof(*ep->peer_index));
    if (ep->peer_index == NULL) {
        ep->peer_index = old;
        return -FI_ENOMEM;
    }
    ep->peer_index_cap = cap;
    for (uint32_t id = 0; id < ep->npeers; id++) {
        const ofi_peer_t *p = ep->peers[id];
        ep->peer_index[index_slot(ep, p->addr, p->addr_len)] = id + 1;
    }
    free(old);
    return 0;
}

/* Insert the next name of an address blob; false when it is malformed. */
static bool take_name(rdmc_ofi_ep_t *ep, const uint8_t **in, size_t *left, fi_addr_t *addr_p)
{
    uint32_t name_len;

    if (*left < sizeof(uint32_t)) {
        return false;
    }
    memcpy(&name_len, *in, sizeof(name_len));
    if (sizeof(uint32_t) + (size_t)name_len >= *left ||
        fi_av_insert(ep->av, *in + sizeof(uint32_t), 1, addr_p, 0, NULL) != 1) {
        return false;
    }
    *in += sizeof(uint32_t) + name_len;
    *left -= sizeof(uint32_t) + name_len;
    return true;
}

static int peer_insert(rdmc_ofi_ep_t *ep, const void *addr, size_t len, ofi_peer_t *p)
{
    const uint8_t *in = addr;
    size_t left = len;

    if (len == 0 || len > sizeof(p->addr) || in[len - 1] != '\0' ||
        !take_name(ep, &in, &left, &p->msg) || !take_name(ep, &in, &left, &p->rma)) {
        rdmc_log(1, "malformed or unusable peer address (%zu bytes)", len);
        return -FI_EINVAL;
    }
    const char *bell = (const char *)in;
    if (bell[0] != '\0' && ep->doorbell.page != NULL) {
        int rc = rdmc_doorbell_open(&p->doorbell, bell);
        if (rc != 0) {
            rdmc_log(1, "cannot map a peer's doorbell %s (%s)", bell, strerror(-rc));
            return rc;
        }
    }
    memcpy(p->addr, addr, len);
    p->addr_len = (uint32_t)len;
    return 0;
}

int rdmc_ofi_ep_peer(rdmc_ofi_ep_t *ep, const void *addr, size_t len, uint32_t *id_p)
{
    ofi_peer_t *p;
    uint32_t slot;
    int rc;

    if (len == 0 || len > RDMC_OFI_MAX_ADDR) {
        rdmc_log(1, "peer address of %zu bytes refused", len);
        return -FI_EINVAL;
    }
    rc = index_grow(ep);
    if (rc != 0) {
        return rc;
    }
    slot = index_slot(ep, addr, len);
    if (ep->peer_index[slot] != 0) {
        *id_p = ep->peer_index[slot] - 1;
        return 0;
    }
    if (ep->npeers == ep->peers_cap) {
        uint32_t cap = ep->peers_cap ? ep->peers_cap * 2 : 16;
        ofi_peer_t **grown = realloc(ep->peers, cap * sizeof(*grown));
        if (grown == NULL) {
            return -FI_ENOMEM;
        }
        ep->peers = grown;
        ep->peers_cap = cap;
    }
    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        return -FI_ENOMEM;
    }
    rc = peer_insert(ep, addr, len, p);
    if (rc != 0) {
        free(p);
        return rc;
    }
    ep->peers[ep->npeers] = p;
    ep->peer_index[slot] = ++ep->npeers;
    *id_p = ep->npeers - 1;
    return 0;
}
