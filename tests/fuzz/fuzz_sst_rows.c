/*
 * libFuzzer target: hostile SST rows (membership/core/sst.c) and the
 * view-change state machine on hostile rows (view_change.c, through
 * group_manager.c and directly).
 *
 * Input: an 8-byte header, then bytes.
 *   [0]    n = 3 + bit 0; the victim (me) and the hostile peer from the rest
 *   [1]    honest steps of the view-change simulation (bits 0-4), and
 *          which member failed in it (bits 5-7)
 *   [2..3] where the raw bytes land in the row (little-endian)
 *   [4..5] how many land there (clipped to the row and to the bytes)
 *   [6]    bit 0: the peer also pushes the bytes as its view-change row,
 *          whole and checksummed (a hostile member running our code);
 *          bit 1: the raw bytes land in the victim's own row instead (a
 *          one-sided write may reach any part of the table);
 *          bits 2-6: the step at which the failed member of B dies
 *   [7]    the first small-message sequence number read
 *
 * A. n SSTs over the fake transport, each with its group manager, carry
 *    cells, small messages and view-change rows honestly; then the bytes
 *    overwrite the peer's row in the victim's table (a garbled or hostile
 *    one-sided write).  The victim reads every cell, the slots of several
 *    sequence numbers and the peer's view region, and every member's group
 *    manager steps twice (their rows travelling meanwhile).
 * B. The view-change state machines of n members run an honest view change
 *    (one member failed) for a few steps; then the bytes overwrite the
 *    victim's copies of the other rows, and the victim steps four times.
 *
 * Aborts (a finding) when a read leaves its row, a slot comes back longer
 * than a slot, an accepted cell goes backwards, or the victim's own row or
 * the view it installs breaks the rules every honest run keeps.  ASan and
 * UBSan catch the rest.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_seeds.h"
#include "membership/core/group_manager.h"
#include "membership/core/sst.h"
#include "membership/core/view_change.h"
#include "tests/unit/fake_transport.h"

enum { MAXN = 4, NSLOTS = 4, PAYLOAD = 64, HEADER = 8, RECEIVED = 4, STEPS = 4 };

typedef struct input {
    int n, me, peer, failed, steps, dies_at;
    size_t offset, len;   /* of the raw write, within the row */
    bool push_row, own_row;
    uint64_t seq;
    const uint8_t *bytes;
    size_t size;
} input_t;

typedef struct table {
    fake_world_t *world;
    rdmc_sst_t *sst[MAXN];
    rdmc_gm_t gm[MAXN];
} table_t;

typedef struct sim {
    rdmc_vc_t vc[MAXN];
    rdmc_vc_row_t rows[MAXN][MAXN];   /* rows[k][w]: k's copy of w's row */
} sim_t;

/* Large: static, not on the stack; every run starts them afresh. */
static table_t table;
static sim_t sim;

static void check(bool fact)
{
    if (!fact) {
        abort();
    }
}

static uint64_t bit(int r)
{
    return UINT64_C(1) << r;
}

static bool parse(const uint8_t *data, size_t size, input_t *in)
{
    if (size < HEADER) {
        return false;
    }
    in->n = 3 + (data[0] & 1);
    in->me = (data[0] >> 1) % in->n;
    in->peer = (in->me + 1 + (data[0] >> 4) % (in->n - 1)) % in->n;
    in->steps = data[1] & 31;
    in->failed = (in->me + 1 + (data[1] >> 5) % (in->n - 1)) % in->n;
    in->offset = (size_t)data[2] | (size_t)data[3] << 8;
    in->len = (size_t)data[4] | (size_t)data[5] << 8;
    in->push_row = data[6] & 1;
    in->own_row = data[6] & 2;
    in->dies_at = (data[6] >> 2) & 31;
    in->seq = data[7];
    in->bytes = data + HEADER;
    in->size = size - HEADER;
    return true;
}

/* ---- what the victim may do with any rows -------------------------------- */

/* The victim's own row keeps the rules of a well-formed row in its view. */
static void check_own(const rdmc_vc_row_t *own, int me, uint64_t vid, uint64_t members)
{
    check(own->vid == vid && own->members == members);
    check((own->suspected & ~members) == 0 && !(own->suspected & bit(me)));
    check(own->num_changes >= own->num_installed &&
          own->num_changes - own->num_installed <= RDMC_VC_MAX_CHANGES);
    check(own->num_acked <= own->num_changes && own->num_committed <= own->num_changes);
    check(own->wedged <= 1 && own->trim_ready <= 1 && own->left <= 1);
}

/* A view the victim installs: the next id, survivors of the old view with
 * the victim among them, and a takeover by survivors only. */
static void check_view(const rdmc_vc_view_t *v, int n, int me, uint64_t vid, uint64_t members)
{
    check(v->vid == vid + 1 && v->n == n);
    check((v->members & ~members) == 0 && (v->members & bit(me)) != 0);
    check(v->failed == (members & ~v->members));
    check((v->edge_mask & ~v->members) == 0 && v->low <= v->trim);
    for (uint64_t seq = v->low; seq < v->trim && seq < v->low + 8; seq++) {
        int r = rdmc_vc_view_resender(v, seq);
        check(r >= 0 && (v->edge_mask & bit(r)));
    }
    for (int r = 0; r < n; r++) {
        uint64_t from, to;
        if (rdmc_vc_view_resend_range(v, r, &from, &to) == 0) {
            check(from <= to);
        }
    }
}

/* ---- A: the SST --------------------------------------------------------- */

static void settle(int n)
{
    for (int i = 0; i < 100; i++) {
        bool pending = fake_world_writes_in_flight(table.world) > 0;
        for (int r = 0; r < n; r++) {
            pending = pending || rdmc_sst_flush_pending(table.sst[r]);
            (void)rdmc_sst_flush(table.sst[r]);
        }
        for (int r = 0; r < n; r++) {
            rdmc_transport_t *tp = fake_world_endpoint(table.world, r);
            tp->ops->progress(tp);
        }
        if (!pending) {
            return;
        }
    }
}

static void step_member(int r, double now_ms)
{
    rdmc_gm_t *gm = &table.gm[r];
    uint64_t vid = gm->vid, members = gm->members;
    rdmc_vc_out_t out;

    rdmc_gm_step(gm, now_ms, RECEIVED, &out);
    check(out.action <= RDMC_VC_PARTITIONED);
    check_own(&gm->rows[r], r, vid, members);
    if (out.action == RDMC_VC_INSTALL) {
        check_view(&out.view, gm->n, r, vid, members);
        rdmc_gm_installed(gm, &out.view);
    }
}

/* Every member: cells, four small messages (empty, 8 bytes, a full slot,
 * the engine's marker), heartbeats and view-change rows, all delivered. */
static void table_open(int n)
{
    uint8_t blob[RDMC_WINDOW_BLOB];
    static const uint32_t lens[NSLOTS] = { 0, 8, PAYLOAD, RDMC_SST_SLOT_ENGINE };

    table.world = fake_world_create(n, 1, 0);
    for (int r = 0; r < n; r++) {
        size_t blob_len = sizeof(blob);
        rdmc_sst_params_t p = { fake_world_endpoint(table.world, r), n, r, NSLOTS, PAYLOAD,
                                false, sizeof(rdmc_vc_row_t), true };
        rdmc_gm_params_t gp = { .sst = NULL, .n = n, .me = r, .failure_timeout_ms = 1000.0 };
        check(rdmc_sst_create(&p, &table.sst[r], blob, &blob_len) == 0);
        gp.sst = table.sst[r];
        check(rdmc_gm_init(&table.gm[r], &gp, 0.0) == 0);
    }
    for (int r = 0; r < n; r++) {
        for (int m = 0; m < n; m++) {
            check(rdmc_sst_attach(table.sst[r], m, blob, 1) == 0);
        }
        rdmc_sst_set(table.sst[r], RDMC_SST_HEARTBEAT, 1, RDMC_SST_LAZY);
        rdmc_sst_set(table.sst[r], RDMC_SST_DELIVERED, 2, RDMC_SST_LAZY);
        rdmc_sst_set(table.sst[r], RDMC_SST_RECEIVED, RECEIVED, RDMC_SST_PUSH);
        for (uint64_t seq = 0; seq < NSLOTS; seq++) {
            uint8_t *slot = rdmc_sst_slot_buffer(table.sst[r], seq);
            memset(slot, 'a' + r, lens[seq] <= PAYLOAD ? lens[seq] : 0);
            rdmc_sst_publish(table.sst[r], seq, lens[seq]);
        }
    }
    settle(n);
    for (int r = 0; r < n; r++) {
        step_member(r, 1.0);
    }
    settle(n);
}

static void table_close(int n)
{
    for (int r = 0; r < n; r++) {
        rdmc_gm_fini(&table.gm[r]);
        rdmc_sst_destroy(table.sst[r]);
    }
    fake_world_destroy(table.world);
}

/* The hostile part: the peer's own view-change row (pushed the proper
 * way), then raw bytes over its row in the victim's table. */
static void table_attack(const input_t *in)
{
    size_t row = rdmc_sst_row_bytes(table.sst[in->me]), offset = in->offset % row;
    size_t len = in->len < in->size ? in->len : in->size;

    if (in->push_row) {
        uint8_t *region = rdmc_sst_view_region(table.sst[in->peer]);
        memcpy(region, in->bytes, in->size < sizeof(rdmc_vc_row_t) ? in->size
                                                                  : sizeof(rdmc_vc_row_t));
        rdmc_sst_view_push(table.sst[in->peer]);
        settle(in->n);
    }
    len = len < row - offset ? len : row - offset;
    check(fake_world_forge_write(table.world, in->me,
                                 (size_t)(in->own_row ? in->me : in->peer) * row + offset,
                                 in->bytes, len) == len);
}

/* Reading a slot stays in the member's row and within one slot.  Checked
 * here, not by ASan: the table is one mapping, a read past a row lands in
 * the next one unseen. */
static void read_slot(const rdmc_sst_t *sst, int member, uint64_t seq, const uint8_t *window,
                      size_t row)
{
    const uint8_t *start = window + (size_t)member * row;
    uint8_t copy[PAYLOAD];
    const char *error = NULL;
    uint32_t len = 0;
    const uint8_t *data = rdmc_sst_slot_read(sst, member, seq, &len, &error);

    if (data == NULL) {
        return;
    }
    check(error == NULL);
    if (len == RDMC_SST_SLOT_ENGINE) {
        len = 0;
    }
    check(len <= PAYLOAD);
    check(data >= start && data + len <= start + row);
    memcpy(copy, data, len);
}

static void table_read(const input_t *in)
{
    rdmc_sst_t *sst = table.sst[in->me];
    size_t row = rdmc_sst_row_bytes(sst), window_len;
    const uint8_t *window = fake_world_window(table.world, in->me, &window_len);
    uint64_t before[MAXN][RDMC_SST_NFIELDS], version = 0;
    static rdmc_vc_row_t region;

    check((size_t)in->n * row <= window_len);
    for (int m = 0; m < in->n; m++) {
        for (int f = 0; f < RDMC_SST_NFIELDS; f++) {
            before[m][f] = rdmc_sst_get(sst, m, f);
        }
    }
    table_attack(in);
    for (int m = 0; m < in->n; m++) {
        for (int f = 0; f < RDMC_SST_NFIELDS; f++) {
            check(rdmc_sst_get(sst, m, f) >= before[m][f]);   /* never backwards */
        }
        for (uint64_t seq = 0; seq < 2 * NSLOTS; seq++) {
            read_slot(sst, m, seq, window, row);
            read_slot(sst, m, in->seq + seq, window, row);
        }
    }
    check(rdmc_sst_min(sst, RDMC_SST_RECEIVED) <= rdmc_sst_get(sst, in->peer, RDMC_SST_RECEIVED));
    if (rdmc_sst_view_read(sst, in->peer, &region, &version)) {
        check(version > 0);
    }
}

static void run_table(const input_t *in)
{
    table_open(in->n);
    table_read(in);
    for (int round = 0; round < 2; round++) {
        for (int r = 0; r < in->n; r++) {
            step_member(r, 2.0 + round);
        }
        settle(in->n);
    }
    table_close(in->n);
}

/* ---- B: the view-change state machine ----------------------------------- */

/* An honest view change, one member's step at a time.  `failed` runs
 * until its step dies_at, suspecting the highest other rank meanwhile (a
 * batch of its own when it leads, for a new leader to adopt); from then
 * on members 0 and 1 suspect it at once, 2 and 3 a round later. */
static void sim_run(const input_t *in)
{
    int other = in->failed == in->n - 1 ? in->n - 2 : in->n - 1;

    for (int k = 0; k < in->n; k++) {
        check(rdmc_vc_init(&sim.vc[k], in->n, k, 0, &sim.rows[k][k]) == 0);
    }
    for (int k = 0; k < in->n; k++) {
        for (int w = 0; w < in->n; w++) {
            sim.rows[k][w] = sim.rows[w][w];
        }
    }
    for (int i = 0; i < in->steps; i++) {
        int k = i % in->n;
        rdmc_vc_out_t out;
        if (k == in->failed && i >= in->dies_at) {
            continue;
        }
        for (int w = 0; w < in->n; w++) {
            if (w != k) {
                sim.rows[k][w] = sim.rows[w][w];
            }
        }
        if (k == in->failed) {
            check(rdmc_vc_suspect(&sim.vc[k], sim.rows[k], other) == 0);
        } else if (i >= in->dies_at + in->n * (k / 2)) {
            check(rdmc_vc_suspect(&sim.vc[k], sim.rows[k], in->failed) == 0);
        }
        (void)rdmc_vc_step(&sim.vc[k], sim.rows[k], RECEIVED + (uint64_t)k, &out);
        if (out.action == RDMC_VC_INSTALL) {
            check(rdmc_vc_installed(&sim.vc[k], sim.rows[k]) == 0);
        }
    }
}

/* The bytes over the victim's copies of the other rows, as one stream
 * from the peer's row on. */
static void sim_attack(const input_t *in)
{
    size_t at = in->offset % sizeof(rdmc_vc_row_t), used = 0;
    int w = in->peer;

    for (int i = 0; i < in->n - 1 && used < in->size; i++) {
        size_t room = sizeof(rdmc_vc_row_t) - at;
        size_t len = in->size - used < room ? in->size - used : room;
        memcpy((uint8_t *)&sim.rows[in->me][w] + at, in->bytes + used, len);
        used += len;
        at = 0;
        w = (w + 1) % in->n == in->me ? (w + 2) % in->n : (w + 1) % in->n;
    }
}

static void run_sim(const input_t *in)
{
    rdmc_vc_t *vc = &sim.vc[in->me];
    rdmc_vc_row_t *rows = sim.rows[in->me];
    uint64_t vid, members;
    bool partitioned = false;

    sim_run(in);
    sim_attack(in);
    vid = rows[in->me].vid;
    members = rows[in->me].members;
    for (int i = 0; i < STEPS; i++) {
        rdmc_vc_out_t out;
        int rc = rdmc_vc_step(vc, rows, RECEIVED + (uint64_t)in->me, &out);
        check(rc == 0 || rc == -EPROTO);
        check(out.action <= RDMC_VC_PARTITIONED);
        check(!partitioned || out.action == RDMC_VC_PARTITIONED);   /* final */
        partitioned = out.action == RDMC_VC_PARTITIONED;
        check_own(&rows[in->me], in->me, vid, members);
        if (out.action == RDMC_VC_INSTALL) {
            check_view(&out.view, in->n, in->me, vid, members);
            check(rdmc_vc_installed(vc, rows) == 0);
            vid = out.view.vid;
            members = out.view.members;
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    input_t in;

    if (!parse(data, size, &in)) {
        return 0;
    }
    run_table(&in);
    run_sim(&in);
    return 0;
}

/* ---- seeds -------------------------------------------------------------- */

static void write_seed(const char *dir, const char *name, const uint8_t header[HEADER],
                       const void *bytes, size_t len)
{
    static uint8_t buf[HEADER + 4096];

    check(len <= sizeof(buf) - HEADER);
    memcpy(buf, header, HEADER);
    memcpy(buf + HEADER, bytes, len);
    fuzz_seed_write(dir, name, buf, HEADER + len);
}

/* A leader's row (n = 3, victim 1, peer 0) whose batch fails member 2 and
 * whose trim decision still counts 2 among the survivors (edge 9, above
 * the others' 3): before view_change.c refused it, the victim installed a
 * view that left collectives 3..8 to the member it removed. */
static void write_bad_edge(const char *dir)
{
    static const uint8_t header[HEADER] = { 0x1a, 0x00, 0, 0, 0, 0, 0, 0 };
    rdmc_vc_row_t rows[2];
    input_t in;

    check(parse(header, HEADER, &in) && in.me == 1 && in.peer == 0 && in.failed == 2);
    memset(rows, 0, sizeof(rows));
    rows[0].members = rows[1].members = 7;
    rows[0].suspected = bit(2);
    rows[0].num_changes = rows[0].num_acked = rows[0].num_committed = 1;
    rows[0].changes[0] = (rdmc_vc_change_t){ RDMC_VC_CHANGE_FAIL, 2, 0, 1 };
    rows[0].wedged = rows[0].trim_ready = 1;
    rows[0].edge_mask = 7;
    rows[0].edge[0] = rows[0].edge[1] = 3;
    rows[0].edge[2] = rows[0].trim = 9;
    write_seed(dir, "vc_rows_bad_edge", header, rows, sizeof(rows));
}

/* --write-seeds DIR: the peer's real SST row over itself (n = 4, victim 0,
 * peer 1); the peer's real view-change rows at points of honest view
 * changes, pushed by the peer: member 3 fails (victim 0, peer 1), and
 * member 0 removes 3, then dies, and 1 takes over (victim 1, peer 2), once
 * with the peer's row from 4 steps later (out of order: the victim adopts
 * the batch it holds); and write_bad_edge's rows. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const struct {
        uint8_t shape, flags;   /* header bytes 0 and 6 */
        uint8_t made, sent;     /* the row's step, the victim's (byte 1: member 3 failed) */
        const char *name;
    } rows[] = {
        { 0x01, 1, 2, 2, "vc_row_proposed" },
        { 0x01, 1, 5, 5, "vc_row_trimmed" },
        { 0x01, 1, 7, 7, "vc_row_installing" },
        { 0x01, 1, 9, 9, "vc_row_installed" },
        { 0x03, 1 | 12 << 2, 19, 19, "vc_row_takeover_proposed" },
        { 0x03, 1 | 12 << 2, 22, 22, "vc_row_takeover_trimmed" },
        { 0x03, 1 | 12 << 2, 19, 15, "vc_row_takeover_early" },
    };
    const char *dir = fuzz_seeds_dir(*argc, *argv);
    uint8_t header[HEADER] = { 0x01, 0x00, 0, 0, 0, 0, 0, 0 };
    input_t in;
    size_t row, window_len;
    const uint8_t *window;

    if (dir == NULL) {
        return 0;
    }
    check(parse(header, HEADER, &in) && in.me == 0 && in.peer == 1);
    table_open(in.n);
    row = rdmc_sst_row_bytes(table.sst[0]);
    window = fake_world_window(table.world, 0, &window_len);
    header[4] = (uint8_t)row;
    header[5] = (uint8_t)(row >> 8);
    write_seed(dir, "sst_row", header, window + row, row);
    table_close(in.n);
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        uint8_t h[HEADER] = { rows[i].shape, rows[i].made | 2 << 5, 0, 0, 0, 0, rows[i].flags, 0 };
        check(parse(h, HEADER, &in) && in.n == 4);
        sim_run(&in);
        h[1] = rows[i].sent | 2 << 5;
        write_seed(dir, rows[i].name, h, &sim.rows[in.peer][in.peer], sizeof(rdmc_vc_row_t));
    }
    write_bad_edge(dir);
    exit(0);
}
