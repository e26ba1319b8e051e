/*
 * Integration test of MPI_Ibcast through coll/rdmc: a long stream of
 * broadcasts of random sizes from random roots, a window of them in flight
 * at once, optionally mixed with barriers and blocking broadcasts.  Every
 * rank checks every byte it received, that nothing was written next to its
 * buffers, that its requests completed in the order they were issued, and
 * (through MPI_T) who carried the broadcasts.
 *
 *   ibcast_check [--count N] [--window W] [--seed S] [--max-bytes B]
 *                [--dtype byte|int] [--order|--no-order] [--barriers]
 *                [--comm world|dup|split|fresh] [--expect rdmc|fallback|off] [--sst-path]
 *                [--rdmc-from B]
 *                [--time-limit SEC] [--inject-error K] [--inject-guard K]
 *
 *   --count     broadcasts in the stream (10000)
 *   --window    MPI_Ibcast/MPI_Ibarrier requests kept in flight (8): each
 *               one that completes is replaced by the next at once
 *   --seed      of the stream, the same on every rank (printed)
 *   --max-bytes largest broadcast (4M; k, M, G suffixes): about 90% of the
 *               sizes are up to 4 KiB, 9% up to 256 KiB, 1% up to this;
 *               broadcast #0 has this size and #1 is empty
 *   --dtype     int: MPI_INT counts, sizes rounded down to 4 bytes
 *   --order     requests complete in issue order (the default), and a
 *               blocking MPI_Bcast or MPI_Barrier only returns after every
 *               request issued before it, among the requests rdmc carries
 *               (MPI_Ibarriers only with --sst-path); --no-order for
 *               implementations that promise neither (Open MPI's libnbc)
 *   --barriers  about 1 in 50 operations is a barrier (MPI_Barrier, or an
 *               MPI_Ibarrier taking a slot of the window) and about 1 in 100
 *               broadcasts a blocking MPI_Bcast, issued while the window is
 *               full
 *   --comm      dup: a duplicate of MPI_COMM_WORLD; split: even and odd
 *               ranks run their streams at the same time; fresh: every
 *               MPI_Ibcast and MPI_Ibarrier on a new duplicate of
 *               MPI_COMM_WORLD, freed right after the call while it is in
 *               flight, as libraries do (MPI lets it complete normally);
 *               its first collective, so rdmc's set-up is under way too.
 *               Order across communicators is not promised: not checked
 *   --expect    rdmc: MPI_T's coll_rdmc_ibcasts grew by the MPI_Ibcasts
 *               issued on communicators of two or more ranks (the job runs
 *               with coll_rdmc_bcast_min_bytes 0, or MPI_Ibcasts below the
 *               crossover go to the previous component as MPI_Bcasts do),
 *               coll_rdmc_barriers by the barriers with --sst-path and by
 *               none without, and the first of them did not
 *               open libfabric's endpoint before it returned (MPI_T's
 *               coll_rdmc_endpoints); fallback: neither grew; off (the
 *               default): not checked
 *   --sst-path  the job runs with coll_rdmc_small_path sst, so barriers,
 *               blocking or not, go through rdmc
 *   --rdmc-from B  the job's crossover (coll_rdmc_bcast_min_bytes): MPI_Ibcasts
 *               below B bytes go to the previous component, so --expect rdmc
 *               counts and the order check covers only those of B or more
 *   --time-limit  seconds (300) for the whole stream: a rank polling past
 *               them reports a failure and aborts the job instead of hanging
 *               (a blocking call that never returns is left to mpirun's
 *               timeout)
 *   --inject-error K, --inject-guard K  prove that the checks can fail: the
 *               last rank of MPI_COMM_WORLD flips one byte of the first
 *               non-empty broadcast from #K on, or writes the first byte past
 *               the end of broadcast #K, after it completed
 *
 * Completion is found mostly by polling with MPI_Test from the newest request
 * to the oldest, so that a newer request seen complete before an older one
 * is a certain order violation; about 1 in 8 times by MPI_Wait on the oldest.
 *
 * Prints one line per failure (the first 20 per rank) and a summary from
 * rank 0; exits non-zero at every rank when any rank saw a problem.
 */
#include <mpi.h>

#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rdmc_pvars.h"

#define GUARD 64            /* canary bytes on each side of every buffer */
#define CANARY 0xEE
#define MAX_PRINTED 20      /* failure lines per rank */

typedef enum expect { EXPECT_OFF, EXPECT_RDMC, EXPECT_FALLBACK } expect_t;
typedef enum comm_mode { COMM_WORLD, COMM_DUP, COMM_SPLIT, COMM_FRESH } comm_mode_t;
typedef enum op_kind { OP_IBCAST, OP_BCAST, OP_IBARRIER, OP_BARRIER } op_kind_t;

typedef struct options {
    long long count;
    int window;
    uint64_t seed;
    size_t max_bytes;
    int elem;               /* bytes per element: 1 (MPI_BYTE) or 4 (MPI_INT) */
    int order;
    int barriers;
    int sst_path;
    size_t rdmc_from;       /* MPI_Ibcasts of fewer bytes are not rdmc's */
    comm_mode_t comm;
    expect_t expect;
    double time_limit;
    long long inject_error; /* -1: none */
    long long inject_guard;
} options_t;

typedef struct op {
    op_kind_t kind;
    long long index;        /* broadcast number, or barrier number */
    int root;
    int count;              /* elements */
    size_t bytes;
} op_t;

/* One operation in flight (or, for the blocking ones, under way). */
typedef struct flight {
    op_t op;
    uint8_t *mem;           /* guard, data, guard */
    MPI_Request req;
} flight_t;

/* The stream of operations: the same on every rank of a communicator. */
typedef struct stream {
    uint64_t rng;
    long long bcasts, barriers;
    int comm_size;
} stream_t;

typedef struct stats {
    long long bcasts, barriers, bytes;          /* completed */
    long long issued[4];                        /* by op_kind_t */
    long long eligible;     /* MPI_Ibcasts on communicators of 2+ ranks */
    long long eligible_barriers;   /* barriers on communicators of 2+ ranks */
    long long failures, order_failures, printed;
} stats_t;

typedef struct run {
    MPI_Comm comm;
    int rank, size;
    const options_t *opt;
    flight_t *win;          /* in issue order, oldest first */
    int *done;              /* per slot of win: completed in this pass */
    int nflight;
    uint64_t local_rng;     /* this rank's own choices: wait or poll */
    double start;
} run_t;

static int world_rank, world_size;
static stats_t stats;
static MPI_Datatype elem_type;

/* ---- pseudo-random numbers and the payload ----------------------------- */

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t splitmix64(uint64_t *state)
{
    *state += 0x9E3779B97F4A7C15ull;
    return mix64(*state);
}

/* Each broadcast gets its own bytes, so data from the wrong broadcast, the
 * wrong root or the wrong offset shows. */
static uint64_t payload_key(long long index, int root)
{
    return mix64((uint64_t)index * 0x9E3779B97F4A7C15ull + (uint64_t)root + 1);
}

/* Bytes [from, from + n) of the payload, each xor-ed with flip. */
static void fill_pattern(uint8_t *buf, size_t from, size_t n, uint64_t key, uint8_t flip)
{
    size_t i = 0;

    while (i < n) {
        size_t offset = from + i;
        uint64_t word = mix64(key + offset / 8);
        for (unsigned b = offset % 8; b < 8 && i < n; b++, i++) {
            buf[i] = (uint8_t)(word >> (8 * b)) ^ flip;
        }
    }
}

static uint8_t pattern_byte(uint64_t key, size_t offset)
{
    uint8_t byte;
    fill_pattern(&byte, offset, 1, key, 0);
    return byte;
}

/* The first offset where buf differs from the payload, or n. */
static size_t first_wrong(const uint8_t *buf, size_t n, uint64_t key)
{
    uint8_t want[4096];

    for (size_t off = 0; off < n; off += sizeof(want)) {
        size_t len = n - off < sizeof(want) ? n - off : sizeof(want);
        fill_pattern(want, off, len, key, 0);
        if (memcmp(buf + off, want, len) != 0) {
            size_t i = 0;
            while (buf[off + i] == want[i]) {
                i++;
            }
            return off + i;
        }
    }
    return n;
}

/* ---- the stream -------------------------------------------------------- */

/* 90% up to 4 KiB, 9% up to 256 KiB, 1% up to max: thousands of broadcasts
 * take seconds, and small, medium and large transfers all overlap. */
static size_t draw_bytes(uint64_t *rng, size_t max)
{
    unsigned pick = (unsigned)(splitmix64(rng) % 100);
    size_t lo, hi;

    if (pick < 90) {
        lo = 0, hi = 4096;
    } else if (pick < 99) {
        lo = 4097, hi = 256u << 10;
    } else {
        lo = (256u << 10) + 1, hi = max;
    }
    hi = hi < max ? hi : max;
    lo = lo < hi ? lo : hi;
    return lo + (size_t)(splitmix64(rng) % (uint64_t)(hi - lo + 1));
}

/* The next operation, or 0 when all broadcasts have been issued. */
static int next_op(stream_t *s, const options_t *opt, op_t *op)
{
    if (s->bcasts == opt->count) {
        return 0;
    }
    uint64_t r = splitmix64(&s->rng);
    if (opt->barriers && r % 50 == 0) {
        *op = (op_t){ (r >> 32) & 1 ? OP_BARRIER : OP_IBARRIER, s->barriers++, -1, 0, 0 };
        return 1;
    }
    op->kind = opt->barriers && (r >> 8) % 100 == 0 ? OP_BCAST : OP_IBCAST;
    op->index = s->bcasts++;
    /* The edge sizes come first, so they overlap with the rest. */
    size_t bytes = op->index == 0   ? opt->max_bytes
                   : op->index == 1 ? 0
                                    : draw_bytes(&s->rng, opt->max_bytes);
    op->count = (int)(bytes / (size_t)opt->elem);
    op->bytes = (size_t)op->count * (size_t)opt->elem;
    op->root = (int)(splitmix64(&s->rng) % (uint64_t)s->comm_size);
    return 1;
}

/* ---- reporting --------------------------------------------------------- */

static const char *kind_name(op_kind_t kind)
{
    static const char *names[] = { "MPI_Ibcast", "MPI_Bcast", "MPI_Ibarrier", "MPI_Barrier" };
    return names[kind];
}

static const char *describe(const op_t *op, char *buf, size_t len)
{
    if (op->kind == OP_IBARRIER || op->kind == OP_BARRIER) {
        snprintf(buf, len, "barrier #%lld (%s)", op->index, kind_name(op->kind));
    } else {
        snprintf(buf, len, "broadcast #%lld (%s, root %d, %zu bytes = %d x %s)", op->index,
                 kind_name(op->kind), op->root, op->bytes, op->count,
                 elem_type == MPI_INT ? "MPI_INT" : "MPI_BYTE");
    }
    return buf;
}

__attribute__((format(printf, 2, 3))) static void fail(const run_t *run, const char *fmt, ...)
{
    va_list ap;

    stats.failures++;
    if (stats.printed++ == MAX_PRINTED) {
        printf("FAIL rank %d: further failures not printed\n", world_rank);
    }
    if (stats.printed > MAX_PRINTED) {
        return;
    }
    printf("FAIL rank %d (comm rank %d/%d): ", world_rank, run->rank, run->size);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

/* ---- one operation ----------------------------------------------------- */

/* Guards on both sides; the root's data is the payload, everyone else's
 * its complement, so any byte left unwritten shows. */
static void prepare(const run_t *run, flight_t *f)
{
    size_t n = f->op.bytes;
    uint64_t key = payload_key(f->op.index, f->op.root);

    f->mem = malloc(2 * GUARD + n);
    if (f->mem == NULL) {
        fprintf(stderr, "rank %d: out of memory for %zu bytes\n", world_rank, n);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    memset(f->mem, CANARY, GUARD);
    memset(f->mem + GUARD + n, CANARY, GUARD);
    fill_pattern(f->mem + GUARD, 0, n, key, run->rank == f->op.root ? 0 : 0xFF);
    f->req = MPI_REQUEST_NULL;
}

static void inject(const options_t *opt, flight_t *f)
{
    static int data_done, guard_done;
    uint8_t *data = f->mem + GUARD;

    if (world_rank != world_size - 1 || f->op.kind == OP_IBARRIER || f->op.kind == OP_BARRIER) {
        return;
    }
    if (!data_done && opt->inject_error >= 0 && f->op.index >= opt->inject_error &&
        f->op.bytes > 0) {
        data[f->op.bytes / 2] ^= 0x40;
        data_done = 1;
    }
    if (!guard_done && opt->inject_guard >= 0 && f->op.index == opt->inject_guard) {
        data[f->op.bytes] = (uint8_t)~CANARY;
        guard_done = 1;
    }
}

static void check_guard(const run_t *run, const flight_t *f, const uint8_t *guard,
                        const char *side)
{
    char what[160];

    for (size_t i = 0; i < GUARD; i++) {
        if (guard[i] != CANARY) {
            fail(run, "%s: guard byte %zu %s the buffer was overwritten: 0x%02x, want 0x%02x",
                 describe(&f->op, what, sizeof(what)), i, side, guard[i], CANARY);
            return;
        }
    }
}

/* Every byte, at the root too (MPI must not change its buffer), and the
 * guards around it. */
static void check_data(const run_t *run, flight_t *f)
{
    size_t n = f->op.bytes;
    uint64_t key = payload_key(f->op.index, f->op.root);
    const uint8_t *data = f->mem + GUARD;
    char what[160];

    inject(run->opt, f);
    size_t bad = first_wrong(data, n, key);
    if (bad < n) {
        size_t wrong = 0;
        for (size_t i = bad; i < n; i++) {
            wrong += data[i] != pattern_byte(key, i);
        }
        fail(run, "%s: first wrong byte at offset %zu: 0x%02x, want 0x%02x (%zu wrong)",
             describe(&f->op, what, sizeof(what)), bad, data[bad], pattern_byte(key, bad), wrong);
    }
    check_guard(run, f, f->mem, "before");
    check_guard(run, f, data + n, "after");
}

static void retire(run_t *run, flight_t *f)
{
    if (f->op.kind == OP_IBCAST || f->op.kind == OP_BCAST) {
        check_data(run, f);
        stats.bcasts++;
        stats.bytes += (long long)f->op.bytes;
    } else {
        stats.barriers++;
    }
    free(f->mem);
    f->mem = NULL;
}

static void check_rc(const run_t *run, const op_t *op, const char *call, int rc)
{
    char what[160];

    if (rc != MPI_SUCCESS) {
        fail(run, "%s: %s returned %d", describe(op, what, sizeof(what)), call, rc);
    }
}

/* The process's first MPI_Ibcast or MPI_Ibarrier must not open libfabric's
 * endpoint inside the call (100-400 ms the first time): rdmc has a thread
 * do it and the call returns.  MPI_T's endpoint count shows who opened it. */
static void check_first_call_opened_nothing(const run_t *run, const op_t *op,
                                            long long endpoints_before)
{
    long long endpoints_after = rdmc_pvar_read("coll_rdmc_endpoints");
    char what[160];

    if (endpoints_after != endpoints_before) {
        fail(run, "%s: the process's first nonblocking call opened %lld libfabric endpoint(s) "
             "before it returned",
             describe(op, what, sizeof(what)), endpoints_after - endpoints_before);
    }
}

static void start(run_t *run, flight_t *f)
{
    static bool first_call_done;
    bool first_call = !first_call_done && run->opt->expect == EXPECT_RDMC;
    long long endpoints_before = first_call ? rdmc_pvar_read("coll_rdmc_endpoints") : 0;
    MPI_Comm comm = run->comm;
    int rc;

    if (run->opt->comm == COMM_FRESH) {
        check_rc(run, &f->op, "MPI_Comm_dup", MPI_Comm_dup(run->comm, &comm));
    }
    if (f->op.kind == OP_IBARRIER) {
        rc = MPI_Ibarrier(comm, &f->req);
        stats.eligible_barriers += run->size > 1 && run->opt->sst_path;
    } else {
        rc = MPI_Ibcast(f->mem + GUARD, f->op.count, elem_type, f->op.root, comm, &f->req);
        /* Open MPI completes an empty MPI_Ibcast itself, before any component. */
        stats.eligible += run->size > 1 && f->op.count > 0 && f->op.bytes >= run->opt->rdmc_from;
    }
    stats.issued[f->op.kind]++;
    check_rc(run, &f->op, "start", rc);
    if (first_call) {
        check_first_call_opened_nothing(run, &f->op, endpoints_before);
    }
    first_call_done = true;
    if (comm != run->comm) {
        check_rc(run, &f->op, "MPI_Comm_free", MPI_Comm_free(&comm));
    }
}

/* ---- the window -------------------------------------------------------- */

static void drop_completed(run_t *run)
{
    int kept = 0;

    for (int i = 0; i < run->nflight; i++) {
        if (run->done[i]) {
            retire(run, &run->win[i]);
        } else {
            run->win[kept++] = run->win[i];
        }
    }
    run->nflight = kept;
}

/* Does issue order bind this request?  rdmc carries an MPI_Ibarrier only
 * with --sst-path and an MPI_Ibcast from --rdmc-from bytes; the previous
 * component's requests promise no order. */
static bool ordered(const run_t *run, const op_t *op)
{
    return op->kind == OP_IBARRIER ? run->opt->sst_path
                                   : op->kind != OP_IBCAST || op->bytes >= run->opt->rdmc_from;
}

/* One MPI_Test of every request in flight, newest first: once a newer one
 * has been seen complete, an older one tested afterwards that is not is a
 * certain violation of issue order.  After a blocking operation (`after`),
 * every one must be complete.  Returns how many completed. */
static int poll_pass(run_t *run, const op_t *after)
{
    int newest_done = -1, ndone = 0;
    char what[160], other[160];

    for (int i = run->nflight - 1; i >= 0; i--) {
        flight_t *f = &run->win[i];
        int flag = 0;
        check_rc(run, &f->op, "MPI_Test", MPI_Test(&f->req, &flag, MPI_STATUS_IGNORE));
        run->done[i] = flag;
        ndone += flag;
        /* An empty MPI_Ibcast never reaches a component: Open MPI's binding
         * completes it at once, so it says nothing about order. */
        if (flag && newest_done < 0 && f->op.count > 0 && ordered(run, &f->op)) {
            newest_done = i;
        }
        if (!flag && run->opt->order && ordered(run, &f->op) &&
            (after != NULL || newest_done >= 0)) {
            const op_t *newer = after != NULL ? after : &run->win[newest_done].op;
            stats.order_failures++;
            fail(run, "completion order: %s %s while %s, issued before it, was incomplete",
                 describe(newer, other, sizeof(other)), after != NULL ? "returned" : "completed",
                 describe(&f->op, what, sizeof(what)));
        }
    }
    drop_completed(run);
    return ndone;
}

static void time_out(const run_t *run)
{
    char what[160];

    fail(run, "time limit of %g s passed with %lld of %lld broadcasts issued and %lld "
              "completed; oldest in flight: %s",
         run->opt->time_limit, stats.issued[OP_IBCAST] + stats.issued[OP_BCAST],
         run->opt->count, stats.bcasts, describe(&run->win[0].op, what, sizeof(what)));
    MPI_Abort(MPI_COMM_WORLD, 1);
}

/* Waits for at least one request: mostly by polling (which checks the
 * order and the time limit), sometimes by MPI_Wait on the oldest, which
 * only mpirun's own timeout bounds. */
static void progress(run_t *run)
{
    if (splitmix64(&run->local_rng) % 8 == 0) {
        flight_t *f = &run->win[0];
        check_rc(run, &f->op, "MPI_Wait", MPI_Wait(&f->req, MPI_STATUS_IGNORE));
        memset(run->done, 0, (size_t)run->nflight * sizeof(int));
        run->done[0] = 1;
        drop_completed(run);
        return;
    }
    do {
        if (MPI_Wtime() - run->start > run->opt->time_limit) {
            time_out(run);
        }
    } while (poll_pass(run, NULL) == 0);
}

/* A blocking MPI_Bcast or MPI_Barrier while the window is full. */
static void run_blocking(run_t *run, const op_t *op)
{
    flight_t f = { *op, NULL, MPI_REQUEST_NULL };

    stats.issued[op->kind]++;
    if (op->kind == OP_BCAST) {
        prepare(run, &f);
        check_rc(run, op, "MPI_Bcast",
                 MPI_Bcast(f.mem + GUARD, op->count, elem_type, op->root, run->comm));
    } else {
        check_rc(run, op, "MPI_Barrier", MPI_Barrier(run->comm));
        stats.eligible_barriers += run->size > 1 && run->opt->sst_path;
    }
    if (run->nflight > 0) {
        poll_pass(run, op);
    }
    retire(run, &f);
}

static void run_stream(MPI_Comm comm, const options_t *opt)
{
    run_t run = { comm, 0, 0, opt, NULL, NULL, 0, mix64(opt->seed ^ (uint64_t)world_rank), 0 };
    stream_t s = { opt->seed, 0, 0, 0 };
    op_t next;

    MPI_Comm_rank(comm, &run.rank);
    MPI_Comm_size(comm, &run.size);
    s.comm_size = run.size;
    run.win = calloc((size_t)opt->window, sizeof(flight_t));
    run.done = calloc((size_t)opt->window, sizeof(int));
    run.start = MPI_Wtime();
    int more = next_op(&s, opt, &next);
    while (more || run.nflight > 0) {
        /* Keep the window full. */
        while (more && run.nflight < opt->window) {
            if (next.kind == OP_BCAST || next.kind == OP_BARRIER) {
                run_blocking(&run, &next);
            } else {
                flight_t *f = &run.win[run.nflight++];
                f->op = next;
                prepare(&run, f);
                start(&run, f);
            }
            more = next_op(&s, opt, &next);
        }
        if (run.nflight > 0) {
            progress(&run);
        }
    }
    free(run.done);
    free(run.win);
}

/* ---- set-up and the verdict -------------------------------------------- */

/* Did rdmc carry `want` of what `counter` counts (all eligible, or none)? */
static int check_counter(expect_t expect, const char *counter, const char *what,
                         long long before, long long eligible)
{
    long long after = rdmc_pvar_read(counter);
    long long grew = after - before;

    if (expect == EXPECT_OFF) {
        return 1;
    }
    if (before < 0 || after < 0) {
        printf("FAIL rank %d: MPI_T has no %s counter (is coll/rdmc loaded, and does it carry "
               "%s?)\n",
               world_rank, counter, what);
        return 0;
    }
    long long want = expect == EXPECT_RDMC ? eligible : 0;
    if (grew != want) {
        printf("FAIL rank %d: MPI_T says rdmc carried %lld %s; %lld were issued on "
               "communicators of 2+ ranks, expected %s\n",
               world_rank, grew, what, eligible, expect == EXPECT_RDMC ? "all of them" : "none");
        return 0;
    }
    return 1;
}

/* A size with an optional k, M or G suffix. */
static size_t parse_bytes(const char *s)
{
    char *end;
    unsigned long long n = strtoull(s, &end, 10);
    const char *suffixes = "kmg";
    const char *at = *end != '\0' ? strchr(suffixes, *end | 0x20) : NULL;

    return at != NULL ? (size_t)(n << (10 * (at - suffixes + 1))) : (size_t)n;
}

/* The position of word in names, or -1. */
static int pick(const char *word, const char *const *names, int n)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(word, names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

static int usage(const char *arg)
{
    if (world_rank == 0) {
        fprintf(stderr,
                "ibcast_check: bad argument %s\n"
                "usage: ibcast_check [--count N] [--window W] [--seed S] [--max-bytes B]\n"
                "       [--dtype byte|int] [--order|--no-order] [--barriers]\n"
                "       [--comm world|dup|split|fresh] [--expect rdmc|fallback|off] [--sst-path]\n"
                "       [--rdmc-from B]\n"
                "       [--time-limit SEC] [--inject-error K] [--inject-guard K]\n",
                arg);
    }
    return 0;
}

static const char *const dtype_names[] = { "byte", "int" };
static const char *const comm_names[] = { "world", "dup", "split", "fresh" };
static const char *const expect_names[] = { "off", "rdmc", "fallback" };

static int parse_args(int argc, char **argv, options_t *o)
{
    int dtype = 0, comm = 0, expect = 0;

    *o = (options_t){ .count = 10000, .window = 8, .seed = 20240917, .max_bytes = 4u << 20,
                      .elem = 1, .order = 1, .comm = COMM_WORLD, .expect = EXPECT_OFF,
                      .time_limit = 300, .inject_error = -1, .inject_guard = -1 };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        if (strcmp(a, "--order") == 0) {
            o->order = 1;
            continue;
        } else if (strcmp(a, "--no-order") == 0) {
            o->order = 0;
            continue;
        } else if (strcmp(a, "--barriers") == 0) {
            o->barriers = 1;
            continue;
        } else if (strcmp(a, "--sst-path") == 0) {
            o->sst_path = 1;
            continue;
        }
        /* The rest take a value. */
        if (strcmp(a, "--count") == 0) {
            o->count = atoll(v);
        } else if (strcmp(a, "--window") == 0) {
            o->window = atoi(v);
        } else if (strcmp(a, "--seed") == 0) {
            o->seed = strtoull(v, NULL, 0);
        } else if (strcmp(a, "--max-bytes") == 0) {
            o->max_bytes = parse_bytes(v);
        } else if (strcmp(a, "--rdmc-from") == 0) {
            o->rdmc_from = parse_bytes(v);
        } else if (strcmp(a, "--dtype") == 0) {
            dtype = pick(v, dtype_names, 2);
        } else if (strcmp(a, "--comm") == 0) {
            comm = pick(v, comm_names, 4);
        } else if (strcmp(a, "--expect") == 0) {
            expect = pick(v, expect_names, 3);
        } else if (strcmp(a, "--time-limit") == 0) {
            o->time_limit = atof(v);
        } else if (strcmp(a, "--inject-error") == 0) {
            o->inject_error = atoll(v);
        } else if (strcmp(a, "--inject-guard") == 0) {
            o->inject_guard = atoll(v);
        } else {
            return usage(a);
        }
        if (dtype < 0 || comm < 0 || expect < 0 || i + 1 == argc) {
            return usage(a);
        }
        i++;
    }
    o->elem = dtype == 1 ? 4 : 1;
    o->comm = (comm_mode_t)comm;
    if (o->comm == COMM_FRESH) {
        o->order = 0;
    }
    o->expect = (expect_t)expect;
    if (o->count < 0 || o->window < 1 || o->max_bytes > INT_MAX || o->time_limit <= 0) {
        return usage("(a value out of range)");
    }
    return 1;
}

static MPI_Comm make_comm(comm_mode_t mode)
{
    MPI_Comm comm = MPI_COMM_WORLD;

    if (mode == COMM_DUP) {
        MPI_Comm_dup(MPI_COMM_WORLD, &comm);
    } else if (mode == COMM_SPLIT) {
        MPI_Comm_split(MPI_COMM_WORLD, world_rank % 2, world_rank, &comm);
    }
    return comm;
}

int main(int argc, char **argv)
{
    options_t opt;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world_size);
    if (!parse_args(argc, argv, &opt)) {
        MPI_Finalize();
        return 2;
    }
    elem_type = opt.elem == 4 ? MPI_INT : MPI_BYTE;
    if (world_rank == 0) {
        printf("ibcast_check: seed %llu, count %lld, window %d, max %zu bytes, %s, order %s, "
               "barriers %s, comm %s, np %d\n",
               (unsigned long long)opt.seed, opt.count, opt.window, opt.max_bytes,
               opt.elem == 4 ? "MPI_INT" : "MPI_BYTE", opt.order ? "checked" : "not checked",
               opt.barriers ? "on" : "off", comm_names[opt.comm], world_size);
        fflush(stdout);
    }
    MPI_Comm comm = make_comm(opt.comm);
    long long ibcasts_before = rdmc_pvar_read("coll_rdmc_ibcasts");
    long long barriers_before = rdmc_pvar_read("coll_rdmc_barriers");
    double t0 = MPI_Wtime();

    run_stream(comm, &opt);

    double seconds = MPI_Wtime() - t0;
    int ok = check_counter(opt.expect, "coll_rdmc_ibcasts", "MPI_Ibcasts", ibcasts_before,
                           stats.eligible);
    ok = check_counter(opt.expect, "coll_rdmc_barriers", "barriers", barriers_before,
                       stats.eligible_barriers) && ok;
    if (comm != MPI_COMM_WORLD) {
        MPI_Comm_free(&comm);
    }
    /* failures, of which completion order */
    long long mine[2] = { stats.failures + !ok, stats.order_failures }, all[2] = { 0, 0 };
    MPI_Allreduce(mine, all, 2, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
    if (world_rank == 0) {
        printf("ibcast_check: %.2f s; rank 0 issued %lld MPI_Ibcast, %lld MPI_Bcast, "
               "%lld MPI_Ibarrier, %lld MPI_Barrier\n",
               seconds, stats.issued[OP_IBCAST], stats.issued[OP_BCAST],
               stats.issued[OP_IBARRIER], stats.issued[OP_BARRIER]);
        printf("ibcast_check: %lld broadcasts, %lld barriers, %lld bytes per rank, window %d, "
               "np %d: ",
               stats.bcasts, stats.barriers, stats.bytes, opt.window, world_size);
        if (all[0] == 0) {
            printf("OK\n");
        } else {
            printf("FAILED (%lld failures, %lld of them completion order)\n", all[0], all[1]);
        }
    }
    MPI_Finalize();
    return all[0] == 0 ? 0 : 1;
}
