/*
 * The SST: table layout, checked cells, guarded pushes, predicates (sst.h).
 *
 * Row layout: RDMC_SST_NFIELDS cells, then nslots slot headers, then the
 * ring of message bytes (nslots + 1 payloads, each rounded up to 8 bytes),
 * then the view region {version, checksum, view_bytes rounded up to 8};
 * rows are padded to 64 bytes.
 *
 * Messages: the slot of seq is header seq % nslots; its message goes into
 * the ring right after our previous one (8-byte aligned), or at the ring's
 * start where a whole payload no longer fits before its end.  Slot reuse
 * (rdmc_sst_slot_free) leaves at most nslots - 1 of our messages that some
 * member has not received when we write the next; their bytes, the next
 * one's payload and the tail skipped where the ring wraps take less than
 * nslots + 1 payloads, so no message is overwritten before every member
 * has it.
 *
 * Pushing: each peer has a "placed" mark, the published value whose slots
 * are known to be in that peer's copy (ordered transport: once the writes
 * are posted; otherwise once they completed).  Our published cell is the
 * minimum of the marks, so the guard a peer sees never runs ahead of the
 * data it has.  While data writes to a peer are in flight, new slots wait:
 * a burst of small messages leaves together, as one write of their headers
 * and one of their bytes (two each where a ring wraps).  Packed, the bytes
 * are the messages' own: whole slots made a burst of 10-byte messages in
 * 4 KiB slots cost 3.3 KiB on the wire per message and peer, and on
 * 1 Gbit/s links the stream stopped at the link's rate (18,000/s, no more
 * with 16 outstanding than with one at a time).
 */
#include "sst.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define ROW_ALIGN 64
#define TABLE_ALIGN 4096
#define SLOT_CHECK_SALT 0x53535431u   /* "SST1" */
#define HEAD_BYTES (RDMC_SST_NFIELDS * sizeof(rdmc_sst_cell_t))
/* A slot range up to this many inject-sized pieces goes as injects. */
#define INJECT_PIECES_MAX 2
/* A flush's data writes to one peer: headers and bytes, each in at most two
 * ranges (see post_slots). */
#define DATA_WRITES_MAX 4

typedef struct sst_write_req {
    rdmc_req_t base;
    rdmc_sst_t *sst;
    int peer;
} sst_write_req_t;

typedef struct sst_peer {
    uint64_t placed;          /* published value whose slots this peer holds */
    uint64_t inflight_upto;   /* published value the writes in flight carry */
    unsigned inflight;        /* data writes not yet completed (0..DATA_WRITES_MAX) */
    bool head_dirty;          /* our cells changed since the last push */
    bool head_inflight;       /* a head write (not injected) not yet completed */
    bool view_dirty;          /* our view region changed since the last push */
    bool view_inflight;
    bool live;                /* see rdmc_sst_remove */
    bool failed;              /* a write to this peer failed */
    sst_write_req_t data_reqs[DATA_WRITES_MAX];
    sst_write_req_t head_req;
    sst_write_req_t view_req;
} sst_peer_t;

/* Where one of our messages went: kept apart from the table, which peers
 * can write into. */
typedef struct sst_own_slot {
    uint64_t seq;
    size_t offset, len;       /* of its bytes in our ring */
} sst_own_slot_t;

typedef struct sst_view_header {
    uint64_t version;
    uint64_t check;           /* view_check(version, region) */
} sst_view_header_t;

typedef struct sst_predicate {
    rdmc_sst_pred_kind_t kind;
    rdmc_sst_pred_fn_t pred;
    rdmc_sst_trigger_fn_t trigger;
    void *arg;
    bool last;                /* TRANSITION: the previous value */
    bool used;
} sst_predicate_t;

struct rdmc_sst {
    rdmc_sst_params_t p;
    size_t payload_bytes;     /* slot_payload rounded up to 8 */
    size_t ring_offset, ring_bytes;   /* the ring of message bytes within a row */
    size_t row_bytes;
    size_t view_offset;       /* of the view region within a row */
    uint8_t *table;           /* mapped: pages cost memory once touched */
    size_t table_bytes;
    bool table_reusable;      /* kept for another SST once destroyed */
    uint64_t *accepted;       /* last whole value per member and field */
    sst_peer_t *peers;
    uint64_t pending_publish; /* published value once every peer has the slots */
    size_t ring_next;         /* where in our ring the message after the last one goes */
    sst_own_slot_t *own;      /* nslots: our messages, by seq % nslots */
    bool notify_pending;      /* the next head push should wake the peers */
    uint64_t writes;
    int error;
    sst_predicate_t preds[RDMC_SST_MAX_PREDICATES];
};

static size_t round_up(size_t x, size_t to)
{
    return (x + to - 1) / to * to;
}

static uint8_t *row_of(const rdmc_sst_t *sst, int member)
{
    return sst->table + (size_t)member * sst->row_bytes;
}

static rdmc_sst_cell_t *cell_of(const rdmc_sst_t *sst, int member, rdmc_sst_field_t field)
{
    return (rdmc_sst_cell_t *)row_of(sst, member) + field;
}

static size_t slot_offset(unsigned slot)
{
    return HEAD_BYTES + (size_t)slot * sizeof(rdmc_sst_slot_header_t);
}

static rdmc_sst_slot_header_t *slot_of(const rdmc_sst_t *sst, int member, uint64_t seq)
{
    return (rdmc_sst_slot_header_t *)(row_of(sst, member) +
                                      slot_offset((unsigned)(seq % sst->p.nslots)));
}

static uint8_t *ring_of(const rdmc_sst_t *sst, int member)
{
    return row_of(sst, member) + sst->ring_offset;
}

/* Where our next message goes in our ring. */
static size_t ring_place(const rdmc_sst_t *sst)
{
    return sst->ring_next + sst->payload_bytes <= sst->ring_bytes ? sst->ring_next : 0;
}

/* The message bytes a slot holds (none for the engine's marker). */
static size_t message_bytes(const rdmc_sst_t *sst, uint32_t len)
{
    return len <= sst->p.slot_payload ? len : 0;
}

uint32_t rdmc_sst_slot_check(uint64_t seq, uint32_t offset, uint32_t len)
{
    return (uint32_t)(seq ^ (seq >> 32)) ^ (len * 2654435761u) ^ (offset * 2246822519u) ^
           SLOT_CHECK_SALT;
}

/* Tables of destroyed SSTs kept for the next SST of the same size: a
 * library that makes a communicator per object frees and creates them in
 * turn, and in a process with several threads munmap has the kernel flush
 * the TLB of every core the process ran on.  That flush took 60% of a
 * dup -> MPI_Bcast -> free cycle at np 4 on a 2-core virtual machine
 * (2.7 ms a cycle, 1.1 ms with munmap made a no-op).  At most
 * KEPT_TABLES, each at most KEPT_TABLE_MAX_BYTES (a kept table is zeroed
 * whole when reused). */
#define KEPT_TABLES 4
#define KEPT_TABLE_MAX_BYTES ((size_t)1 << 20)

static struct kept_table {
    uint8_t *table;
    size_t bytes;
} kept_tables[KEPT_TABLES];
static pthread_mutex_t kept_lock = PTHREAD_MUTEX_INITIALIZER;

static uint8_t *table_take_kept(size_t bytes)
{
    uint8_t *table = NULL;

    pthread_mutex_lock(&kept_lock);
    for (int i = 0; i < KEPT_TABLES && table == NULL; i++) {
        if (kept_tables[i].table != NULL && kept_tables[i].bytes == bytes) {
            table = kept_tables[i].table;
            kept_tables[i].table = NULL;
        }
    }
    pthread_mutex_unlock(&kept_lock);
    return table;
}

static bool table_keep(uint8_t *table, size_t bytes)
{
    bool kept = false;

    if (bytes > KEPT_TABLE_MAX_BYTES) {
        return false;
    }
    pthread_mutex_lock(&kept_lock);
    for (int i = 0; i < KEPT_TABLES && !kept; i++) {
        if (kept_tables[i].table == NULL) {
            kept_tables[i] = (struct kept_table){ table, bytes };
            kept = true;
        }
    }
    pthread_mutex_unlock(&kept_lock);
    return kept;
}

/* The table is mapped, not allocated: its pages are zero until touched,
 * and a row's slots cost memory only once a broadcast uses them, so a
 * communicator that broadcasts little costs little (README, "What a
 * communicator costs").  A kept table is all in memory already. */
static uint8_t *table_map(size_t bytes)
{
    uint8_t *table = table_take_kept(bytes);
    void *fresh;

    if (table != NULL) {
        memset(table, 0, bytes);
        return table;
    }
    fresh = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return fresh == MAP_FAILED ? NULL : fresh;
}

static void sst_free(rdmc_sst_t *sst)
{
    if (sst->table != NULL &&
        (!sst->table_reusable || !table_keep(sst->table, sst->table_bytes))) {
        munmap(sst->table, sst->table_bytes);
    }
    free(sst->own);
    free(sst->peers);
    free(sst->accepted);
    free(sst);
}

int rdmc_sst_create(const rdmc_sst_params_t *params, rdmc_sst_t **sst_p, void *blob,
                    size_t *blob_len)
{
    rdmc_sst_t *sst;
    size_t table_bytes;
    int rc;

    if (params->n < 1 || params->me < 0 || params->me >= params->n || params->nslots == 0 ||
        (params->nslots + 1ull) * round_up(params->slot_payload, 8) > UINT32_MAX) {
        return -EINVAL;   /* a slot header holds a 32-bit offset into the ring */
    }
    sst = calloc(1, sizeof(*sst));
    if (sst == NULL) {
        return -ENOMEM;
    }
    sst->p = *params;
    sst->payload_bytes = round_up(params->slot_payload, 8);
    sst->ring_offset = slot_offset(params->nslots);
    sst->ring_bytes = (params->nslots + 1) * sst->payload_bytes;
    sst->view_offset = sst->ring_offset + sst->ring_bytes;
    sst->row_bytes = round_up(sst->view_offset + sizeof(sst_view_header_t) +
                                  (params->view_bytes > 0 ? round_up(params->view_bytes, 8) : 0),
                              ROW_ALIGN);
    table_bytes = round_up(sst->row_bytes * (size_t)params->n, TABLE_ALIGN);
    sst->accepted = calloc((size_t)params->n * RDMC_SST_NFIELDS, sizeof(*sst->accepted));
    sst->peers = calloc((size_t)params->n, sizeof(*sst->peers));
    sst->own = calloc(params->nslots, sizeof(*sst->own));
    sst->table_bytes = table_bytes;
    sst->table = table_map(table_bytes);
    /* Known now: the transport may be gone when the SST is destroyed.  A
     * table the transport maps its memory over is not ours to reuse. */
    sst->table_reusable = !params->tp->maps_over_window;
    if (sst->accepted == NULL || sst->peers == NULL || sst->own == NULL || sst->table == NULL) {
        rc = -ENOMEM;
        goto err;
    }
    /* Zero is a whole value: every cell starts with its complement. */
    for (int m = 0; m < params->n; m++) {
        for (int f = 0; f < RDMC_SST_NFIELDS; f++) {
            cell_of(sst, m, f)->check = ~(uint64_t)0;
        }
    }
    for (int m = 0; m < params->n; m++) {
        for (int i = 0; i < DATA_WRITES_MAX; i++) {
            sst->peers[m].data_reqs[i].sst = sst;
            sst->peers[m].data_reqs[i].peer = m;
        }
        sst->peers[m].head_req.sst = sst;
        sst->peers[m].head_req.peer = m;
        sst->peers[m].view_req.sst = sst;
        sst->peers[m].view_req.peer = m;
        sst->peers[m].live = true;
    }
    rc = params->tp->ops->window_expose(params->tp, sst->table, table_bytes, blob, blob_len);
    if (rc != 0) {
        goto err;
    }
    *sst_p = sst;
    return 0;

err:
    sst_free(sst);
    return rc;
}

int rdmc_sst_attach(rdmc_sst_t *sst, int member, const void *blob, size_t blob_len)
{
    return sst->p.tp->ops->window_attach(sst->p.tp, member, blob, blob_len);
}

void rdmc_sst_destroy(rdmc_sst_t *sst)
{
    if (sst != NULL) {
        sst_free(sst);
    }
}

size_t rdmc_sst_row_bytes(const rdmc_sst_t *sst)
{
    return sst->row_bytes;
}

int rdmc_sst_members(const rdmc_sst_t *sst)
{
    return sst->p.n;
}

int rdmc_sst_me(const rdmc_sst_t *sst)
{
    return sst->p.me;
}

uint64_t rdmc_sst_writes(const rdmc_sst_t *sst)
{
    return sst->writes;
}

/* ---- members ------------------------------------------------------------ */

void rdmc_sst_remove(rdmc_sst_t *sst, int member)
{
    if (member >= 0 && member < sst->p.n && member != sst->p.me) {
        sst->peers[member].live = false;
    }
}

bool rdmc_sst_is_live(const rdmc_sst_t *sst, int member)
{
    return member >= 0 && member < sst->p.n && sst->peers[member].live;
}

bool rdmc_sst_peer_failed(const rdmc_sst_t *sst, int member)
{
    return member >= 0 && member < sst->p.n && sst->peers[member].failed;
}

/* A peer we still push to. */
static bool reachable(const rdmc_sst_t *sst, int member)
{
    return member != sst->p.me && sst->peers[member].live && !sst->peers[member].failed;
}

/* A write to a peer failed: with tolerate_peer_errors only that peer is
 * written off (the failure detector hears of it), otherwise the table. */
static void write_failed(rdmc_sst_t *sst, int peer, int status)
{
    if (sst->p.tolerate_peer_errors) {
        sst->peers[peer].failed = true;
    } else if (sst->error == 0) {
        sst->error = status;
    }
}

/* ---- cells -------------------------------------------------------------- */

uint64_t rdmc_sst_get(const rdmc_sst_t *sst, int member, rdmc_sst_field_t field)
{
    const rdmc_sst_cell_t *cell = cell_of(sst, member, field);
    uint64_t *accepted = &sst->accepted[(size_t)member * RDMC_SST_NFIELDS + field];
    /* value before check: the writer's bytes land in address order, so a
     * matching check means the value read before it was whole. */
    uint64_t value = __atomic_load_n(&cell->value, __ATOMIC_ACQUIRE);
    uint64_t check = __atomic_load_n(&cell->check, __ATOMIC_ACQUIRE);

    if (check == ~value && value > *accepted) {
        *accepted = value;
    }
    return *accepted;
}

uint64_t rdmc_sst_min(const rdmc_sst_t *sst, rdmc_sst_field_t field)
{
    uint64_t min = UINT64_MAX;

    for (int m = 0; m < sst->p.n; m++) {
        if (sst->peers[m].live) {
            uint64_t v = rdmc_sst_get(sst, m, field);
            min = v < min ? v : min;
        }
    }
    return min;
}

void rdmc_sst_set(rdmc_sst_t *sst, rdmc_sst_field_t field, uint64_t value, rdmc_sst_push_t how)
{
    rdmc_sst_cell_t *cell = cell_of(sst, sst->p.me, field);

    __atomic_store_n(&cell->value, value, __ATOMIC_RELEASE);
    __atomic_store_n(&cell->check, ~value, __ATOMIC_RELEASE);
    sst->accepted[(size_t)sst->p.me * RDMC_SST_NFIELDS + field] = value;
    if (how == RDMC_SST_LAZY) {
        return;
    }
    for (int m = 0; m < sst->p.n; m++) {
        sst->peers[m].head_dirty = m != sst->p.me;
    }
    sst->notify_pending = sst->notify_pending || how == RDMC_SST_NOTIFY;
}

/* ---- slots -------------------------------------------------------------- */

bool rdmc_sst_slot_free(const rdmc_sst_t *sst, uint64_t seq)
{
    return seq < sst->p.nslots || rdmc_sst_min(sst, RDMC_SST_RECEIVED) > seq - sst->p.nslots;
}

void *rdmc_sst_slot_buffer(rdmc_sst_t *sst, uint64_t seq)
{
    (void)seq;   /* the bytes go where the next message goes, whatever its seq */
    return ring_of(sst, sst->p.me) + ring_place(sst);
}

void rdmc_sst_publish(rdmc_sst_t *sst, uint64_t seq, uint32_t len)
{
    rdmc_sst_slot_header_t *h = slot_of(sst, sst->p.me, seq);
    size_t at = ring_place(sst), bytes = message_bytes(sst, len);

    h->seq = seq;
    h->offset = (uint32_t)at;
    h->len = len;
    h->check = rdmc_sst_slot_check(seq, h->offset, len);
    sst->own[seq % sst->p.nslots] = (sst_own_slot_t){ seq, at, bytes };
    sst->ring_next = at + round_up(bytes, 8);
    sst->pending_publish = seq + 1;
}

const void *rdmc_sst_slot_read(const rdmc_sst_t *sst, int member, uint64_t seq, uint32_t *len,
                               const char **error)
{
    const rdmc_sst_slot_header_t *h = slot_of(sst, member, seq);
    rdmc_sst_slot_header_t head;

    *error = NULL;
    if (rdmc_sst_get(sst, member, RDMC_SST_PUBLISHED) <= seq) {
        return NULL;
    }
    /* Each field read once, then checked and used from the copy: a write
     * landing meanwhile (torn, or from a peer gone wrong) cannot slip a longer
     * length past the check. */
    head.seq = __atomic_load_n(&h->seq, __ATOMIC_RELAXED);
    head.offset = __atomic_load_n(&h->offset, __ATOMIC_RELAXED);
    head.len = __atomic_load_n(&h->len, __ATOMIC_RELAXED);
    head.check = __atomic_load_n(&h->check, __ATOMIC_RELAXED);
    if (head.seq != seq) {
        *error = "the slot holds another message (bad sequence number)";
        return NULL;
    }
    if ((head.len > sst->p.slot_payload && head.len != RDMC_SST_SLOT_ENGINE) ||
        head.offset + message_bytes(sst, head.len) > sst->ring_bytes ||
        head.check != rdmc_sst_slot_check(head.seq, head.offset, head.len)) {
        *error = "the slot's length or place is malformed";
        return NULL;
    }
    *len = head.len;
    return ring_of(sst, member) + head.offset;
}

/* ---- pushing ------------------------------------------------------------ */

static uint64_t min_placed(const rdmc_sst_t *sst)
{
    uint64_t min = sst->pending_publish;

    for (int m = 0; m < sst->p.n; m++) {
        if (reachable(sst, m) && sst->peers[m].placed < min) {
            min = sst->peers[m].placed;
        }
    }
    return min;
}

/* The guard may move up to what every peer holds. */
static void advance_published(rdmc_sst_t *sst)
{
    uint64_t placed = min_placed(sst);

    if (placed > rdmc_sst_get(sst, sst->p.me, RDMC_SST_PUBLISHED)) {
        rdmc_sst_set(sst, RDMC_SST_PUBLISHED, placed, RDMC_SST_NOTIFY);
    }
}

static void on_write_done(rdmc_req_t *base, int status, size_t len, uint64_t imm)
{
    sst_write_req_t *req = (sst_write_req_t *)base;
    rdmc_sst_t *sst = req->sst;
    sst_peer_t *peer = &sst->peers[req->peer];

    (void)len;
    (void)imm;
    if (status != 0) {
        write_failed(sst, req->peer, status);
    }
    if (req == &peer->head_req) {
        peer->head_inflight = false;
        return;
    }
    if (req == &peer->view_req) {
        peer->view_inflight = false;
        return;
    }
    if (--peer->inflight == 0 && status == 0) {
        peer->placed = peer->inflight_upto;
        advance_published(sst);
    }
}

static int post_write(rdmc_sst_t *sst, int peer, size_t offset, size_t len, bool notify,
                      sst_write_req_t *req)
{
    rdmc_transport_t *tp = sst->p.tp;
    int rc;

    if (req != NULL) {
        req->base.complete = on_write_done;
    }
    rc = tp->ops->write(tp, peer, offset, len, notify, req ? &req->base : NULL);
    if (rc == 0) {
        sst->writes++;
    }
    return rc;
}

/* Placed in posting order, or (immediate_writes) complete when posted,
 * which is all that force_fence asks for. */
static bool writes_ordered(const rdmc_sst_t *sst)
{
    return sst->p.tp->immediate_writes ||
           (!sst->p.force_fence && sst->p.tp->ordered_write_bytes >= sst->row_bytes);
}

/* Injected writes report no failure: with tolerate_peer_errors every write
 * has a completion, unless writes are placed (or refused) at once (shared
 * memory), where write() itself says whether the write landed. */
static bool may_inject(const rdmc_sst_t *sst)
{
    return writes_ordered(sst) && (!sst->p.tolerate_peer_errors || sst->p.tp->immediate_writes);
}

/* One range of our row.  Where writes are ordered and the range is small,
 * injected in pieces the provider copies at once (no completion to await,
 * and on shm no cross-memory read by the target); otherwise one write whose
 * completion moves `placed`. */
static int post_range(rdmc_sst_t *sst, int peer, size_t offset, size_t len,
                      sst_write_req_t *req)
{
    sst_peer_t *pp = &sst->peers[peer];
    size_t piece = sst->p.tp->inject_limit;
    int rc = 0;

    if (may_inject(sst) && piece > 0 && len <= INJECT_PIECES_MAX * piece) {
        for (size_t done = 0; done < len && rc == 0; done += piece) {
            rc = post_write(sst, peer, offset + done, len - done < piece ? len - done : piece,
                            false, NULL);
        }
        return rc;
    }
    pp->inflight++;
    rc = post_write(sst, peer, offset, len, false, req);
    if (rc != 0) {
        pp->inflight--;
    }
    return rc;
}

/* The slots of seqs [from, to) in our row: the headers (at most two
 * ranges, where the headers wrap), then the bytes of the messages among
 * them that are ours (another root's seq leaves an older header of ours in
 * its slot, and nothing to send).  Our messages follow one another in the
 * ring, with at most 7 bytes of padding between, except where it wraps:
 * once at most, since the last nslots seqs hold at most nslots of our
 * messages and a lap of the ring holds more.  Nothing past the last
 * message's end is sent. */
static int post_slots(rdmc_sst_t *sst, int peer, uint64_t from, uint64_t to)
{
    sst_peer_t *pp = &sst->peers[peer];
    size_t row = (size_t)sst->p.me * sst->row_bytes;
    unsigned nslots = sst->p.nslots;
    uint64_t lo = to - from > nslots ? to - nslots : from;
    unsigned first = (unsigned)(lo % nslots), count = (unsigned)(to - lo);
    unsigned head_part = count < nslots - first ? count : nslots - first;
    size_t ranges[DATA_WRITES_MAX][2] = {   /* offset in the row, length */
        { slot_offset(first), head_part * sizeof(rdmc_sst_slot_header_t) },
        { slot_offset(0), (count - head_part) * sizeof(rdmc_sst_slot_header_t) },
    };
    int nranges = 2, rc = 0;

    for (uint64_t seq = lo; seq < to; seq++) {
        const sst_own_slot_t *msg = &sst->own[seq % nslots];
        size_t start = sst->ring_offset + msg->offset;
        size_t *last = ranges[nranges - 1];

        if (msg->seq != seq || msg->len == 0) {
            continue;
        }
        if (nranges > 2 && start >= last[0] + last[1] && start - (last[0] + last[1]) < 8) {
            last[1] = start + msg->len - last[0];
        } else if (nranges < DATA_WRITES_MAX) {
            ranges[nranges][0] = start;
            ranges[nranges][1] = msg->len;
            nranges++;
        } else {
            return -EINVAL;   /* a second wrap: cannot happen (above) */
        }
    }
    pp->inflight_upto = to;
    for (int i = 0; i < nranges && rc == 0; i++) {
        if (ranges[i][1] > 0) {
            rc = post_range(sst, peer, row + ranges[i][0], ranges[i][1], &pp->data_reqs[i]);
        }
    }
    if (rc != 0) {
        /* A range was refused (-EAGAIN: later): writes already on the way
         * must not move `placed` past it; the next flush posts from there. */
        pp->inflight_upto = pp->placed;
    }
    return rc;
}

static int push_head(rdmc_sst_t *sst, int peer)
{
    sst_peer_t *pp = &sst->peers[peer];
    size_t offset = (size_t)sst->p.me * sst->row_bytes;
    /* Unordered writes could land older cells over newer ones: there, one
     * head write per peer at a time, each awaiting its completion. */
    bool inject = HEAD_BYTES <= sst->p.tp->inject_limit && may_inject(sst);
    int rc;

    if (pp->head_inflight) {
        return -EAGAIN;
    }
    rc = post_write(sst, peer, offset, HEAD_BYTES, sst->notify_pending,
                    inject ? NULL : &pp->head_req);
    if (rc == 0) {
        pp->head_dirty = false;
        pp->head_inflight = !inject;
    }
    return rc;
}

/* Data first: slots the peer lacks, unless some are already on the way. */
static int flush_slots(rdmc_sst_t *sst, int peer)
{
    sst_peer_t *pp = &sst->peers[peer];
    int rc;

    if (pp->inflight > 0 || pp->placed >= sst->pending_publish) {
        return 0;
    }
    rc = post_slots(sst, peer, pp->placed, sst->pending_publish);
    if (rc == 0 && writes_ordered(sst)) {
        /* Placed in posting order: the guard may follow right away. */
        pp->placed = pp->inflight_upto;
    }
    return rc;
}

/* The whole view region, one write at a time: a newer copy must never be
 * overtaken by an older one. */
static int push_view(rdmc_sst_t *sst, int peer)
{
    sst_peer_t *pp = &sst->peers[peer];
    size_t offset = (size_t)sst->p.me * sst->row_bytes + sst->view_offset;
    int rc;

    if (!pp->view_dirty || pp->view_inflight) {
        return 0;
    }
    pp->view_dirty = false;
    pp->view_inflight = !sst->p.tp->immediate_writes;
    pp->view_req.base.complete = on_write_done;
    rc = sst->p.tp->ops->write(sst->p.tp, peer, offset,
                               sizeof(sst_view_header_t) + sst->p.view_bytes, true,
                               pp->view_inflight ? &pp->view_req.base : NULL);
    if (rc != 0) {
        pp->view_dirty = true;
        pp->view_inflight = false;
    } else {
        sst->writes++;
    }
    return rc;
}

int rdmc_sst_flush(rdmc_sst_t *sst)
{
    bool all_pushed = true;

    for (int pass = 0; pass < 2 && sst->error == 0; pass++) {
        for (int m = 0; m < sst->p.n; m++) {
            if (!reachable(sst, m)) {
                continue;
            }
            /* Pass 0 posts data, pass 1 the cells, the guard among them. */
            int rc = pass == 0 ? flush_slots(sst, m)
                               : sst->peers[m].head_dirty ? push_head(sst, m) : 0;
            if (rc == 0 && pass == 1) {
                rc = push_view(sst, m);
            }
            if (rc != 0 && rc != -EAGAIN) {
                write_failed(sst, m, rc);
            }
            all_pushed = all_pushed && (pass == 0 || !sst->peers[m].head_dirty);
        }
        if (pass == 0) {
            advance_published(sst);
        }
    }
    if (all_pushed) {
        sst->notify_pending = false;
    }
    return sst->error;
}

bool rdmc_sst_flush_pending(const rdmc_sst_t *sst)
{
    for (int m = 0; m < sst->p.n; m++) {
        const sst_peer_t *pp = &sst->peers[m];
        if (reachable(sst, m) && (pp->head_dirty || pp->inflight > 0 || pp->view_dirty ||
                                  pp->view_inflight || pp->placed < sst->pending_publish)) {
            return true;
        }
    }
    return false;
}

/* ---- the view region ---------------------------------------------------- */

static uint64_t view_check(uint64_t version, const uint8_t *bytes, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull ^ version;   /* FNV-1a */

    for (size_t i = 0; i < len; i++) {
        h = (h ^ bytes[i]) * 0x100000001b3ull;
    }
    return h ^ (version * 0x9e3779b97f4a7c15ull);
}

static sst_view_header_t *view_header_of(const rdmc_sst_t *sst, int member)
{
    return (sst_view_header_t *)(row_of(sst, member) + sst->view_offset);
}

void *rdmc_sst_view_region(rdmc_sst_t *sst)
{
    return view_header_of(sst, sst->p.me) + 1;
}

void rdmc_sst_view_push(rdmc_sst_t *sst)
{
    sst_view_header_t *h = view_header_of(sst, sst->p.me);

    h->version++;
    h->check = view_check(h->version, (const uint8_t *)(h + 1), sst->p.view_bytes);
    for (int m = 0; m < sst->p.n; m++) {
        sst->peers[m].view_dirty = m != sst->p.me;
    }
}

bool rdmc_sst_view_read(const rdmc_sst_t *sst, int member, void *out, uint64_t *version_p)
{
    const sst_view_header_t *h = view_header_of(sst, member);
    sst_view_header_t copy;

    /* A write may be landing right now: take a copy, then check it. */
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    memcpy(&copy, h, sizeof(copy));
    if (copy.version <= *version_p) {
        return false;
    }
    memcpy(out, h + 1, sst->p.view_bytes);
    if (copy.check != view_check(copy.version, out, sst->p.view_bytes)) {
        return false;
    }
    *version_p = copy.version;
    return true;
}

/* ---- predicates --------------------------------------------------------- */

int rdmc_sst_predicate_add(rdmc_sst_t *sst, rdmc_sst_pred_kind_t kind, rdmc_sst_pred_fn_t pred,
                           rdmc_sst_trigger_fn_t trigger, void *arg)
{
    for (int i = 0; i < RDMC_SST_MAX_PREDICATES; i++) {
        if (!sst->preds[i].used) {
            sst->preds[i] = (sst_predicate_t){ kind, pred, trigger, arg, false, true };
            return i;
        }
    }
    return -1;
}

void rdmc_sst_predicate_remove(rdmc_sst_t *sst, int handle)
{
    if (handle >= 0 && handle < RDMC_SST_MAX_PREDICATES) {
        sst->preds[handle].used = false;
    }
}

int rdmc_sst_evaluate(rdmc_sst_t *sst)
{
    int fired = 0;

    for (int i = 0; i < RDMC_SST_MAX_PREDICATES; i++) {
        sst_predicate_t *p = &sst->preds[i];
        if (!p->used) {
            continue;
        }
        bool holds = p->pred(sst, p->arg);
        bool fire = p->kind == RDMC_SST_TRANSITION ? holds && !p->last : holds;
        p->last = holds;
        if (!fire) {
            continue;
        }
        if (p->kind == RDMC_SST_ONE_TIME) {
            p->used = false;
        }
        p->trigger(sst, p->arg);
        fired++;
    }
    return fired;
}
