/*
 * Integration test of derived datatypes in MPI_Bcast and MPI_Ibcast through
 * coll/rdmc: contiguous (the baseline), vector, resized vector, indexed,
 * indexed block, struct with holes, and a type with a negative lower bound,
 * each at counts that take the SST's slots (up to 4 KiB), one engine block
 * and many (the run chooses the block size), from every root.
 *
 *   dtype_check [--bcast rdmc|fallback] [--type NAME] [--inject-data K] [--inject-hole K]
 *
 *   --bcast   rdmc (the default): MPI_Bcast and MPI_Ibcast are carried by
 *             rdmc at every size (the job runs with coll_rdmc_bcast_min_bytes
 *             0); fallback: both are handed to the previous component (the
 *             default configuration: every size here is below the
 *             crossover), and truncation is not tested (only rdmc promises
 *             MPI_ERR_TRUNCATE there)
 *   --type    only the type of that name (e.g. "indexed block")
 *   --inject-data K, --inject-hole K  prove that the checks can fail: the
 *             last rank flips a data byte, or writes a hole byte, of the
 *             K-th broadcast it receives, before checking it
 *
 * For every broadcast the root fills its data with a pattern of (root,
 * packed byte index, iteration); every receiver first sets its whole buffer,
 * holes and guard bytes on both sides, to a sentinel.  After completion
 * every data byte must hold the pattern and every other byte the sentinel;
 * the root's buffer must be unchanged.  MPI_Ibcasts run three at once from
 * different roots (MPI_Waitall), and one more is completed by an MPI_Test
 * loop.  Then, with MPI_ERRORS_RETURN, receivers that post half the root's
 * count must get MPI_ERR_TRUNCATE, keep the elements that fit and leave
 * everything else alone.  Finally MPI_T must show that rdmc carried every
 * broadcast (--bcast rdmc) or none (--bcast fallback).
 *
 * Prints one line per failure (the first 20 per rank) naming rank, type,
 * count, root and the first bad byte offset (from the buffer pointer);
 * exits non-zero at every rank when any rank saw a problem.
 */
#include <mpi.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rdmc_pvars.h"

#define SENTINEL 0xA5
#define GUARD 64
#define MAX_BLOCKS 4
#define MAX_PRINTED 20
#define OUTSTANDING 3       /* MPI_Ibcasts in flight at once */

/* A datatype and, independently of MPI, where its data bytes lie: blocks of
 * bytes in the order the type packs them, displacements from the buffer
 * pointer of the element. */
typedef struct type_case {
    const char *name;
    MPI_Datatype type;
    int nblocks;
    struct {
        MPI_Aint disp;
        int len;
    } block[MAX_BLOCKS];
    MPI_Aint lb, extent;
    int size;
} type_case_t;

/* One user buffer: GUARD, count elements of extent bytes, GUARD. */
typedef struct buffer {
    uint8_t *mem;
    size_t mem_len;
    uint8_t *buf;           /* what MPI is given: mem + GUARD - lb */
} buffer_t;

typedef struct totals {
    long long bcasts, ibcasts;      /* issued on communicators of 2+ ranks */
    long long failures, printed;
    long long received;             /* broadcasts this rank checked as a receiver */
} totals_t;

static int world_rank, world_size;
static totals_t totals;
static long long inject_data = -1, inject_hole = -1;

static void failure(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void failure(const char *fmt, ...)
{
    va_list ap;

    totals.failures++;
    if (totals.printed++ >= MAX_PRINTED) {
        return;
    }
    va_start(ap, fmt);
    fprintf(stderr, "dtype_check: rank %d: ", world_rank);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ---- the types ------------------------------------------------------------ */

#define NTYPES 7
static type_case_t types[NTYPES];

static void describe(type_case_t *tc, const char *name, MPI_Datatype type, int nblocks,
                     const MPI_Aint *disp, const int *len)
{
    tc->name = name;
    tc->type = type;
    tc->nblocks = nblocks;
    for (int i = 0; i < nblocks; i++) {
        tc->block[i].disp = disp[i];
        tc->block[i].len = len[i];
    }
    MPI_Type_commit(&tc->type);
    MPI_Type_get_extent(tc->type, &tc->lb, &tc->extent);
    MPI_Type_size(tc->type, &tc->size);
}

static void make_types(void)
{
    MPI_Datatype vector, resized_vector, raw;

    /* 6 ints in a row. */
    MPI_Type_contiguous(6, MPI_INT, &raw);
    describe(&types[0], "contiguous", raw, 1, (MPI_Aint[]){ 0 }, (int[]){ 24 });

    /* 3 blocks of 2 ints, stride 4 ints: holes of 8 bytes, extent 40. */
    MPI_Type_vector(3, 2, 4, MPI_INT, &vector);
    describe(&types[1], "vector", vector, 3, (MPI_Aint[]){ 0, 16, 32 }, (int[]){ 8, 8, 8 });

    /* The same, extent 64 (24 bytes of hole after each element's true end). */
    MPI_Type_create_resized(vector, 0, 64, &resized_vector);
    describe(&types[2], "resized vector", resized_vector, 3, (MPI_Aint[]){ 0, 16, 32 },
             (int[]){ 8, 8, 8 });

    /* Blocks of 1, 3, 2 ints at 0, 3, 8 ints. */
    MPI_Type_indexed(3, (int[]){ 1, 3, 2 }, (int[]){ 0, 3, 8 }, MPI_INT, &raw);
    describe(&types[3], "indexed", raw, 3, (MPI_Aint[]){ 0, 12, 32 }, (int[]){ 4, 12, 8 });

    /* Blocks of 2 doubles at 0, 3, 7 doubles. */
    MPI_Type_create_indexed_block(3, 2, (int[]){ 0, 3, 7 }, MPI_DOUBLE, &raw);
    describe(&types[4], "indexed block", raw, 3, (MPI_Aint[]){ 0, 24, 56 },
             (int[]){ 16, 16, 16 });

    /* { int; 12 bytes of hole; double }, extent 24. */
    MPI_Type_create_struct(2, (int[]){ 1, 1 }, (MPI_Aint[]){ 0, 16 },
                           (MPI_Datatype[]){ MPI_INT, MPI_DOUBLE }, &raw);
    describe(&types[5], "struct with holes", raw, 2, (MPI_Aint[]){ 0, 16 }, (int[]){ 4, 8 });

    /* Data below the buffer pointer: an int at -24 and a double at -8,
     * resized to lb -32, extent 40 (holes before, between and after). */
    MPI_Datatype below;
    MPI_Type_create_struct(2, (int[]){ 1, 1 }, (MPI_Aint[]){ -24, -8 },
                           (MPI_Datatype[]){ MPI_INT, MPI_DOUBLE }, &below);
    MPI_Type_create_resized(below, -32, 40, &raw);
    MPI_Type_free(&below);
    describe(&types[6], "negative lb", raw, 2, (MPI_Aint[]){ -24, -8 }, (int[]){ 4, 8 });
}

static void free_types(void)
{
    for (int i = 0; i < NTYPES; i++) {
        MPI_Type_free(&types[i].type);
    }
}

/* Offset (from the buffer pointer) of packed byte j of count x type. */
static MPI_Aint data_offset(const type_case_t *tc, size_t j)
{
    size_t elem = j / (size_t)tc->size, within = j % (size_t)tc->size;

    for (int b = 0; b < tc->nblocks; b++) {
        if (within < (size_t)tc->block[b].len) {
            return (MPI_Aint)elem * tc->extent + tc->block[b].disp + (MPI_Aint)within;
        }
        within -= (size_t)tc->block[b].len;
    }
    abort();   /* sizes and blocks disagree: caught by check_descriptions */
}

/* The descriptions above must be what MPI makes of the types, or the test
 * would check the wrong bytes: compare with MPI_Pack on this rank. */
static void check_descriptions(void)
{
    for (int t = 0; t < NTYPES; t++) {
        const type_case_t *tc = &types[t];
        int count = 3, sum = 0, position = 0;
        size_t span = (size_t)count * (size_t)tc->extent;
        uint8_t *mem = malloc(span), *packed = malloc((size_t)count * (size_t)tc->size);

        for (int b = 0; b < tc->nblocks; b++) {
            sum += tc->block[b].len;
        }
        if (sum != tc->size) {
            failure("type %s: described %d data bytes, MPI says %d", tc->name, sum, tc->size);
            free(mem);
            free(packed);
            continue;
        }
        for (size_t i = 0; i < span; i++) {
            mem[i] = (uint8_t)(i * 7 + 3);
        }
        MPI_Pack(mem - tc->lb, count, tc->type, packed, count * tc->size, &position,
                 MPI_COMM_SELF);
        for (size_t j = 0; j < (size_t)(count * tc->size); j++) {
            if (packed[j] != mem[data_offset(tc, j) - tc->lb]) {
                failure("type %s: described layout differs from MPI's at packed byte %zu",
                        tc->name, j);
                break;
            }
        }
        free(mem);
        free(packed);
    }
}

/* ---- buffers --------------------------------------------------------------- */

static uint8_t pattern(int root, size_t j, int iter)
{
    uint32_t x = (uint32_t)j * 2654435761u ^ (uint32_t)root * 0x9E3779B9u ^ (uint32_t)iter * 40503u;
    uint8_t v = (uint8_t)(x >> 11 ^ x >> 23);

    return v == SENTINEL ? (uint8_t)(v ^ 0x5A) : v;
}

static void buffer_alloc(buffer_t *b, const type_case_t *tc, int count)
{
    b->mem_len = 2 * GUARD + (size_t)count * (size_t)tc->extent;
    b->mem = malloc(b->mem_len);
    if (b->mem == NULL) {
        fprintf(stderr, "dtype_check: out of memory\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    b->buf = b->mem + GUARD - tc->lb;
    memset(b->mem, SENTINEL, b->mem_len);
}

/* The root's data: everything else stays the sentinel. */
static void buffer_fill(buffer_t *b, const type_case_t *tc, int count, int root, int iter)
{
    size_t nbytes = (size_t)count * (size_t)tc->size;

    memset(b->mem, SENTINEL, b->mem_len);
    for (size_t j = 0; j < nbytes; j++) {
        b->buf[data_offset(tc, j)] = pattern(root, j, iter);
    }
}

/* Data bytes of the first `kept` elements hold the pattern of a count-element
 * broadcast; every other byte of the buffer and its guards the sentinel. */
static void buffer_check(const buffer_t *b, const type_case_t *tc, int count, int kept,
                         int root, int iter, const char *what)
{
    uint8_t *want = malloc(b->mem_len);
    size_t nbytes = (size_t)kept * (size_t)tc->size;

    memset(want, SENTINEL, b->mem_len);
    for (size_t j = 0; j < nbytes; j++) {
        want[data_offset(tc, j) + (b->buf - b->mem)] = pattern(root, j, iter);
    }
    if (world_rank != root && world_rank == world_size - 1) {
        /* Proving the checks can fail: damage the K-th receive. */
        if (totals.received == inject_data && nbytes > 0) {
            b->buf[data_offset(tc, nbytes / 2)] ^= 0x01;
        } else if (totals.received == inject_hole) {
            b->mem[GUARD / 2] ^= 0x01;   /* a guard byte is a hole too */
        }
    }
    if (world_rank != root) {
        totals.received++;
    }
    for (size_t i = 0; i < b->mem_len; i++) {
        if (b->mem[i] != want[i]) {
            failure("%s: type %s, count %d, root %d, iteration %d: first bad byte at offset "
                    "%ld from the buffer pointer (%s): 0x%02x instead of 0x%02x",
                    what, tc->name, count, root, iter, (long)((ptrdiff_t)i - (b->buf - b->mem)),
                    want[i] == SENTINEL ? "hole" : "data", b->mem[i], want[i]);
            break;
        }
    }
    free(want);
}

/* ---- the broadcasts --------------------------------------------------------- */

static void prepare(buffer_t *b, const type_case_t *tc, int count, int root, int iter,
                    MPI_Comm comm)
{
    int rank;

    MPI_Comm_rank(comm, &rank);
    buffer_alloc(b, tc, count);
    if (rank == root) {
        buffer_fill(b, tc, count, root, iter);
    }
}

static void finish(buffer_t *b, const type_case_t *tc, int count, int root, int iter,
                   const char *what)
{
    buffer_check(b, tc, count, count, root, iter, what);
    free(b->mem);
}

static void check_rc(int rc, const char *what, const type_case_t *tc, int count, int root)
{
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;

    if (rc != MPI_SUCCESS) {
        MPI_Error_string(rc, text, &len);
        failure("%s: type %s, count %d, root %d: returned %s", what, tc->name, count, root,
                text);
    }
}

static void run_case(MPI_Comm comm, const type_case_t *tc, int count, int *iter)
{
    int size;
    buffer_t b[OUTSTANDING];
    MPI_Request reqs[OUTSTANDING];
    MPI_Status statuses[OUTSTANDING];
    int roots[OUTSTANDING], iters[OUTSTANDING];
    /* Open MPI 4.1 returns at once from MPI_Bcast and MPI_Ibcast of no
     * elements, without asking any component. */
    int carried = count > 0;

    MPI_Comm_size(comm, &size);
    for (int root = 0; root < size; root++) {
        /* Blocking. */
        int it = (*iter)++;
        prepare(&b[0], tc, count, root, it, comm);
        check_rc(MPI_Bcast(b[0].buf, count, tc->type, root, comm), "MPI_Bcast", tc, count, root);
        totals.bcasts += carried;
        finish(&b[0], tc, count, root, it, "MPI_Bcast");

        /* Several in flight, from different roots. */
        for (int k = 0; k < OUTSTANDING; k++) {
            roots[k] = (root + k) % size;
            iters[k] = (*iter)++;
            prepare(&b[k], tc, count, roots[k], iters[k], comm);
            check_rc(MPI_Ibcast(b[k].buf, count, tc->type, roots[k], comm, &reqs[k]),
                     "MPI_Ibcast", tc, count, roots[k]);
            totals.ibcasts += carried;
        }
        int rc = MPI_Waitall(OUTSTANDING, reqs, statuses);
        for (int k = 0; k < OUTSTANDING; k++) {
            check_rc(rc == MPI_ERR_IN_STATUS ? statuses[k].MPI_ERROR : rc, "MPI_Waitall", tc,
                     count, roots[k]);
            finish(&b[k], tc, count, roots[k], iters[k], "MPI_Ibcast (MPI_Waitall)");
        }

        /* One completed by polling. */
        it = (*iter)++;
        prepare(&b[0], tc, count, root, it, comm);
        check_rc(MPI_Ibcast(b[0].buf, count, tc->type, root, comm, &reqs[0]), "MPI_Ibcast", tc,
                 count, root);
        totals.ibcasts += carried;
        int flag = 0;
        while (!flag) {
            check_rc(MPI_Test(&reqs[0], &flag, MPI_STATUS_IGNORE), "MPI_Test", tc, count, root);
        }
        finish(&b[0], tc, count, root, it, "MPI_Ibcast (MPI_Test)");
    }
}

/* Counts (elements) that take each path for a type of `size` bytes: empty,
 * one element, a few, the largest the SST carries, the smallest the engine
 * carries, about 12 KiB and about 300 KiB. */
static int counts_for(int size, int *counts)
{
    int n = 0;

    counts[n++] = 0;
    counts[n++] = 1;
    counts[n++] = 5;
    counts[n++] = 4096 / size;
    counts[n++] = 4096 / size + 1;
    counts[n++] = 12 * 1024 / size;
    counts[n++] = 300 * 1024 / size;
    return n;
}

/* Receivers post half the root's count: MPI_ERR_TRUNCATE, what fits kept,
 * nothing else touched; the root succeeds. */
static void run_truncation(MPI_Comm comm, const type_case_t *tc, int count, int blocking,
                           int *iter)
{
    int rank, size;
    const char *what = blocking ? "truncated MPI_Bcast" : "truncated MPI_Ibcast";

    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    for (int root = 0; root < size; root++) {
        int mine = rank == root ? count : count / 2, it = (*iter)++, rc, cls;
        buffer_t b;
        MPI_Request req;

        prepare(&b, tc, mine, root, it, comm);
        if (blocking) {
            rc = MPI_Bcast(b.buf, mine, tc->type, root, comm);
            totals.bcasts++;
        } else {
            rc = MPI_Ibcast(b.buf, mine, tc->type, root, comm, &req);
            totals.ibcasts++;
            if (rc == MPI_SUCCESS) {
                rc = MPI_Wait(&req, MPI_STATUS_IGNORE);
            }
        }
        MPI_Error_class(rc, &cls);
        if (rank == root) {
            check_rc(rc, what, tc, count, root);
        } else if (cls != MPI_ERR_TRUNCATE) {
            char text[MPI_MAX_ERROR_STRING];
            int len = 0;
            MPI_Error_string(rc, text, &len);
            failure("%s: type %s, count %d (root's %d), root %d: returned %s, not "
                    "MPI_ERR_TRUNCATE", what, tc->name, mine, count, root, text);
        }
        buffer_check(&b, tc, mine, mine, root, it, what);
        free(b.mem);
    }
}

static void check_pvar(const char *name, long long before, long long expected)
{
    long long after = rdmc_pvar_read(name);

    if (before < 0 || after < 0) {
        failure("MPI_T counter %s missing: is coll/rdmc loaded?", name);
    } else if (after - before != expected) {
        failure("MPI_T counter %s grew by %lld, expected %lld", name, after - before, expected);
    }
}

int main(int argc, char **argv)
{
    int bcast_rdmc = 1, iter = 0;
    const char *only = NULL;
    long long failures = 0;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world_size);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--bcast") == 0 && i + 1 < argc) {
            bcast_rdmc = strcmp(argv[++i], "rdmc") == 0;
        } else if (strcmp(argv[i], "--type") == 0 && i + 1 < argc) {
            only = argv[++i];
        } else if (strcmp(argv[i], "--inject-data") == 0 && i + 1 < argc) {
            inject_data = atoll(argv[++i]);
        } else if (strcmp(argv[i], "--inject-hole") == 0 && i + 1 < argc) {
            inject_hole = atoll(argv[++i]);
        } else {
            if (world_rank == 0) {
                fprintf(stderr, "usage: dtype_check [--bcast rdmc|fallback] "
                                "[--type NAME] [--inject-data K] [--inject-hole K]\n");
            }
            MPI_Finalize();
            return 2;
        }
    }

    make_types();
    check_descriptions();

    MPI_Comm comm;
    MPI_Comm_dup(MPI_COMM_WORLD, &comm);
    MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
    /* Open MPI 4.1 reports an error of a nonblocking collective's request
     * to MPI_COMM_WORLD's handler, not to the request's communicator's. */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    long long bcasts_before = rdmc_pvar_read("coll_rdmc_bcasts");
    long long ibcasts_before = rdmc_pvar_read("coll_rdmc_ibcasts");

    for (int t = 0; t < NTYPES; t++) {
        if (only != NULL && strcmp(types[t].name, only) != 0) {
            continue;
        }
        int counts[8], ncounts = counts_for(types[t].size, counts);
        for (int c = 0; c < ncounts; c++) {
            run_case(comm, &types[t], counts[c], &iter);
        }
    }
    /* Truncation with every non-contiguous type: through the SST, from the
     * engine into a size the SST would carry, and through the engine. */
    for (int t = 1; t < NTYPES && bcast_rdmc; t++) {
        if (only != NULL && strcmp(types[t].name, only) != 0) {
            continue;
        }
        int size = types[t].size;
        int counts[3] = { 4096 / size, 4096 / size + 1, 300 * 1024 / size };
        for (int c = 0; c < 3; c++) {
            run_truncation(comm, &types[t], counts[c], 0, &iter);
            run_truncation(comm, &types[t], counts[c], 1, &iter);
        }
    }

    if (world_size > 1) {
        check_pvar("coll_rdmc_ibcasts", ibcasts_before, bcast_rdmc ? totals.ibcasts : 0);
        check_pvar("coll_rdmc_bcasts", bcasts_before,
                   bcast_rdmc ? totals.ibcasts + totals.bcasts : 0);
    }
    MPI_Comm_free(&comm);
    free_types();

    MPI_Allreduce(&totals.failures, &failures, 1, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
    if (world_rank == 0) {
        printf("dtype_check: %d ranks, %d types, %lld MPI_Bcast and %lld MPI_Ibcast per rank "
               "(through %s): %lld failures\n",
               world_size, NTYPES, totals.bcasts, totals.ibcasts,
               bcast_rdmc ? "rdmc" : "the previous component", failures);
    }
    MPI_Finalize();
    return failures == 0 ? 0 : 1;
}
