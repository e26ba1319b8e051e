/*
 * Integration test of MPI_Bcast through coll/rdmc: every rank checks every
 * byte it received, that the gaps of non-contiguous datatypes were left
 * alone, and (through MPI_T) who carried the broadcasts.
 *
 *   bcast_check [--expect rdmc|fallback|off] [--block B] [--small] [--large] [--big]
 *               [--comms] [--huge] [--no-split] [--tree N] [--signatures] [--signals]
 *               [--uninit]
 *
 *   --small   every root of WORLD, a dup and a split; sizes 0, 1, odd,
 *             block boundaries +-1 (B = --block, the coll_rdmc_block_bytes
 *             the run was given); MPI_BYTE, MPI_INT, MPI_DOUBLE, a vector
 *             and a struct type
 *   --large   1 MiB .. 64 MiB from two roots, and non-contiguous types
 *   --big     16 and 32 MiB from two roots: at and above the crossover of a
 *             communicator inside one node (coll_rdmc_bcast_min_bytes)
 *   --comms   many communicators at once; dup/bcast/free in a loop
 *   --huge    one broadcast above 2 GiB
 *   --tree N  the job runs on N nodes (coll_rdmc_node_sizes or a real
 *             layout): from every root of WORLD, through MPI_T, each
 *             broadcast ran through the node leaders (coll_rdmc_tree_bcasts)
 *             and crossed between nodes exactly once per node but the
 *             root's: summed over ranks, N-1 times its bytes arrived from
 *             another node and size-N times from the rank's own node; then
 *             the same on WORLD renumbered round robin over the nodes
 *   --no-split  --small on communicators spanning all ranks only
 *   --signatures  root and receivers describe the same ints with different
 *             datatypes (contiguous at one end, every other int at the
 *             other: the type signatures match, as MPI asks), both ways,
 *             4 B to 8 MiB: every int lands, every hole stays untouched
 *   --signals  a SIGALRM every millisecond of the whole run (a handler
 *             installed without SA_RESTART, as sampling profilers do), so
 *             that sleeps and waits inside MPI, in any of its threads, are
 *             interrupted; every rank must have taken some
 *   --uninit  one more broadcast, 64 KiB from rank 0, of bytes it never
 *             wrote (not checked): memcheck.test's proof that valgrind sees
 *             what leaves through rdmc
 *   --env NAME=VALUE  after MPI_Init the process's environment holds it
 *             (what rdmc presets for libfabric's providers, or the user's
 *             own value, which rdmc must keep)
 *   --expect  rdmc: every broadcast was carried by rdmc (the default);
 *             fallback: all were handed to the previous component;
 *             off: rdmc took no part
 *
 * Prints one line per failure and a summary from rank 0; exits non-zero at
 * every rank when any rank saw a problem.
 */
#include <mpi.h>

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "rdmc_pvars.h"

#define SENTINEL 0xEE

typedef enum expect { EXPECT_RDMC, EXPECT_FALLBACK, EXPECT_OFF } expect_t;

typedef struct counters {
    long long checked;      /* broadcasts this rank took part in and checked */
    long long eligible;     /* of those, the ones MPI hands to a component */
    long long errors;
} counters_t;

static int world_rank;
static counters_t counters;

typedef struct mixed {
    int i;
    double d;
    char c[3];
} mixed_t;

typedef struct type_case {
    const char *name;
    MPI_Datatype type;
} type_case_t;

static type_case_t types[5];
static const int ntypes = 5;

static void make_types(void)
{
    MPI_Datatype vector, raw_struct, mixed;
    int lengths[3] = { 1, 1, 3 };
    MPI_Aint displs[3] = { offsetof(mixed_t, i), offsetof(mixed_t, d), offsetof(mixed_t, c) };
    MPI_Datatype members[3] = { MPI_INT, MPI_DOUBLE, MPI_CHAR };

    MPI_Type_vector(2, 3, 5, MPI_INT, &vector);   /* 3 ints, gap of 2, 3 ints */
    MPI_Type_commit(&vector);
    MPI_Type_create_struct(3, lengths, displs, members, &raw_struct);
    MPI_Type_create_resized(raw_struct, 0, sizeof(mixed_t), &mixed);
    MPI_Type_commit(&mixed);
    MPI_Type_free(&raw_struct);

    types[0] = (type_case_t){ "MPI_BYTE", MPI_BYTE };
    types[1] = (type_case_t){ "MPI_INT", MPI_INT };
    types[2] = (type_case_t){ "MPI_DOUBLE", MPI_DOUBLE };
    types[3] = (type_case_t){ "vector", vector };
    types[4] = (type_case_t){ "struct", mixed };
}

static void free_types(void)
{
    MPI_Type_free(&types[3].type);
    MPI_Type_free(&types[4].type);
}

static uint8_t pattern(size_t i, unsigned seed)
{
    return (uint8_t)((i * 2654435761u + seed * 40503u) >> 13);
}

/* Which bytes of count x type are data (1) and which are gaps (0). */
static uint8_t *type_mask(MPI_Datatype type, int count, size_t span)
{
    uint8_t *ones = malloc(span ? span : 1), *mask = calloc(span ? span : 1, 1);
    memset(ones, 1, span);
    MPI_Sendrecv(ones, count, type, 0, 0, mask, count, type, 0, 0, MPI_COMM_SELF,
                 MPI_STATUS_IGNORE);
    free(ones);
    return mask;
}

/* One broadcast of count x type from root on comm, checked everywhere. */
static void check_bcast(MPI_Comm comm, int root, const type_case_t *tc, int count,
                        unsigned seed)
{
    int rank, size;
    MPI_Aint lb, extent, true_lb, true_extent;
    int type_size;

    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    MPI_Type_get_extent(tc->type, &lb, &extent);
    MPI_Type_get_true_extent(tc->type, &true_lb, &true_extent);
    MPI_Type_size(tc->type, &type_size);
    size_t span = count > 0 ? (size_t)(count - 1) * (size_t)extent + (size_t)true_extent : 0;

    uint8_t *buf = malloc(span + 64);
    /* A type without gaps needs no mask (at 2 GiB it would double the
     * memory and the time of the check). */
    int gapless = true_lb == 0 && span == (size_t)count * (size_t)type_size;
    uint8_t *mask = gapless ? NULL : type_mask(tc->type, count, span);
    for (size_t i = 0; i < span + 64; i++) {
        buf[i] = rank == root && i < span ? pattern(i, seed) : SENTINEL;
    }
    int rc = MPI_Bcast(buf, count, tc->type, root, comm);

    long bad = 0;
    for (size_t i = 0; i < span + 64; i++) {
        /* Data bytes carry the root's pattern; gaps of the datatype and
         * everything past the buffer stay untouched. */
        uint8_t want = i < span && (rank == root || !mask || mask[i]) ? pattern(i, seed) : SENTINEL;
        bad += buf[i] != want;
    }
    if (rc != MPI_SUCCESS || bad != 0) {
        printf("FAIL rank %d (comm rank %d/%d): %s x %d from root %d: rc %d, %ld wrong bytes\n",
               world_rank, rank, size, tc->name, count, root, rc, bad);
        counters.errors++;
    }
    counters.checked++;
    if (count > 0 && size > 1) {
        counters.eligible++;
    }
    free(mask);
    free(buf);
}

static int count_for_bytes(const type_case_t *tc, size_t bytes)
{
    int type_size;
    MPI_Type_size(tc->type, &type_size);
    return (int)(bytes / (size_t)type_size);
}

/* Every root, the boundary sizes, every datatype. */
static void run_small(MPI_Comm comm, size_t block)
{
    const size_t sizes[] = { 0, 1, 7, block - 1, block, block + 1, 2 * block + 3,
                             7 * block + 1, 25 * block - 1, 100003 };
    int size;
    unsigned seed = 1;

    MPI_Comm_size(comm, &size);
    for (int root = 0; root < size; root++) {
        for (int t = 0; t < ntypes; t++) {
            for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
                check_bcast(comm, root, &types[t], count_for_bytes(&types[t], sizes[s]),
                            seed++);
            }
        }
    }
}

static void run_large(MPI_Comm comm)
{
    const size_t sizes[] = { (256u << 10) + 1, (1u << 20) - 1, (4u << 20) + 4097, 16u << 20,
                             64u << 20 };
    int size;

    MPI_Comm_size(comm, &size);
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        check_bcast(comm, 0, &types[0], (int)sizes[s], (unsigned)s);
        check_bcast(comm, size - 1, &types[0], (int)sizes[s], (unsigned)s + 100);
    }
    check_bcast(comm, size / 2, &types[3], count_for_bytes(&types[3], 8u << 20), 7);
    check_bcast(comm, size - 1, &types[4], count_for_bytes(&types[4], 1u << 20), 8);
    check_bcast(comm, 0, &types[2], count_for_bytes(&types[2], 3u << 20), 9);
}

static void run_big(MPI_Comm comm)
{
    int size;

    MPI_Comm_size(comm, &size);
    for (unsigned s = 0; s < 2; s++) {
        int bytes = (int)((16u << 20) << s);
        check_bcast(comm, 0, &types[0], bytes, 200 + s);
        check_bcast(comm, size - 1, &types[0], bytes, 210 + s);
    }
}

static void run_comms(void)
{
    enum { AT_ONCE = 6, ROUNDS = 4, LOOPS = 25 };
    MPI_Comm comms[AT_ONCE], split3;
    int size;

    MPI_Comm_size(MPI_COMM_WORLD, &size);
    for (int c = 0; c < AT_ONCE; c++) {
        MPI_Comm_dup(MPI_COMM_WORLD, &comms[c]);
    }
    for (int round = 0; round < ROUNDS; round++) {
        for (int c = 0; c < AT_ONCE; c++) {
            check_bcast(comms[c], (round + c) % size, &types[0], 300000 + c * 17,
                        (unsigned)(round * 10 + c));
        }
    }
    for (int c = 0; c < AT_ONCE; c++) {
        MPI_Comm_free(&comms[c]);
    }
    for (int i = 0; i < LOOPS; i++) {
        MPI_Comm dup;
        MPI_Comm_dup(MPI_COMM_WORLD, &dup);
        check_bcast(dup, i % size, &types[1], 70000 + i, (unsigned)i);
        MPI_Comm_free(&dup);
    }
    MPI_Comm_split(MPI_COMM_WORLD, world_rank % 3, size - world_rank, &split3);
    check_bcast(split3, 0, &types[0], 500001, 3);
    MPI_Comm_free(&split3);
}

static void run_huge(void)
{
    /* 2 GiB + 4 KiB in 4 KiB elements: more bytes than an int counts */
    MPI_Datatype page;
    type_case_t tc = { "4KiB-contiguous", MPI_DATATYPE_NULL };

    MPI_Type_contiguous(4096, MPI_BYTE, &page);
    MPI_Type_commit(&page);
    tc.type = page;
    check_bcast(MPI_COMM_WORLD, 0, &tc, (1 << 19) + 1, 77);
    MPI_Type_free(&page);
}

/* Every root of comm (all of WORLD's ranks), two sizes, contiguous and
 * not: the bytes, and where they came from. */
static void run_tree_on(MPI_Comm comm, const char *name, int nodes)
{
    const size_t sizes[] = { (1u << 20) + 5, 3u << 20 };
    int size;

    MPI_Comm_size(comm, &size);
    for (int root = 0; root < size; root++) {
        for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
            const type_case_t *tc = &types[s == 0 ? 0 : 3];
            int count = count_for_bytes(tc, sizes[s]), type_size;
            long long before[3] = { rdmc_pvar_read("coll_rdmc_tree_bcasts"),
                                    rdmc_pvar_read("coll_rdmc_bytes_between_nodes"),
                                    rdmc_pvar_read("coll_rdmc_bytes_inside_node") };
            long long moved[3], total[3];
            check_bcast(comm, root, tc, count, (unsigned)(root * 7 + s));
            moved[0] = rdmc_pvar_read("coll_rdmc_tree_bcasts") - before[0];
            moved[1] = rdmc_pvar_read("coll_rdmc_bytes_between_nodes") - before[1];
            moved[2] = rdmc_pvar_read("coll_rdmc_bytes_inside_node") - before[2];
            MPI_Allreduce(moved, total, 3, MPI_LONG_LONG, MPI_SUM, comm);
            MPI_Type_size(tc->type, &type_size);
            long long bytes = (long long)count * type_size;
            if (total[0] != size || total[1] != (nodes - 1) * bytes ||
                total[2] != (long long)(size - nodes) * bytes) {
                if (world_rank == 0) {
                    printf("FAIL: %s, root %d, %lld bytes on %d nodes: %lld of %d ranks ran "
                           "it by levels; %lld bytes came from another node (want %lld), %lld "
                           "from the same node (want %lld)\n",
                           name, root, bytes, nodes, total[0], size, total[1], (nodes - 1) * bytes,
                           total[2], (long long)(size - nodes) * bytes);
                }
                counters.errors++;
            }
        }
    }
}

/* WORLD's ranks numbered round robin over the nodes (Open MPI's
 * locality), as `mpirun --map-by node` numbers them: a node's ranks are
 * not neighbours in it.  Where every rank shares one node (or pretends
 * not to, through coll_rdmc_node_sizes) it is WORLD's order. */
static MPI_Comm interleaved_over_nodes(void)
{
    MPI_Comm node, comm;
    int local, leader, size;

    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
    MPI_Comm_rank(node, &local);
    MPI_Allreduce(&world_rank, &leader, 1, MPI_INT, MPI_MIN, node);
    MPI_Comm_free(&node);
    MPI_Comm_split(MPI_COMM_WORLD, 0, local * size + leader, &comm);
    return comm;
}

static void run_tree(int nodes)
{
    MPI_Comm interleaved = interleaved_over_nodes();

    run_tree_on(MPI_COMM_WORLD, "WORLD", nodes);
    run_tree_on(interleaved, "WORLD round robin over the nodes", nodes);
    MPI_Comm_free(&interleaved);
}

static int signature_value(size_t i, size_t c, int root_strided)
{
    return (int)(i * 7 + c * 1000003 + (size_t)root_strided * 31);
}

/* Root and receivers describe the same ints differently: n contiguous
 * MPI_INTs at one end, one vector of n ints with a hole after each at the
 * other (MPI compares type signatures, not types). */
static void run_signatures(MPI_Comm comm)
{
    const int counts[] = { 1, 1000, 70001, 1 << 21 };
    int rank, size;

    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    for (size_t c = 0; c < sizeof(counts) / sizeof(counts[0]); c++) {
        int n = counts[c];
        size_t ints = 2 * (size_t)n;
        int *buf = malloc(ints * sizeof(int));
        MPI_Datatype strided;

        MPI_Type_vector(n, 1, 2, MPI_INT, &strided);
        MPI_Type_commit(&strided);
        for (int root_strided = 0; root_strided < 2; root_strided++) {
            int root = (int)(c + (size_t)root_strided) % size;
            int mine_strided = rank == root ? root_strided : !root_strided;
            size_t stride = mine_strided ? 2 : 1;
            long bad = 0;
            int rc;

            for (size_t i = 0; i < ints; i++) {
                buf[i] = -1;
            }
            for (size_t i = 0; rank == root && i < (size_t)n; i++) {
                buf[i * stride] = signature_value(i, c, root_strided);
            }
            rc = mine_strided ? MPI_Bcast(buf, 1, strided, root, comm)
                              : MPI_Bcast(buf, n, MPI_INT, root, comm);
            for (size_t i = 0; i < ints; i++) {
                int data = i % stride == 0 && i / stride < (size_t)n;
                bad += buf[i] != (data ? signature_value(i / stride, c, root_strided) : -1);
            }
            if (rc != MPI_SUCCESS || bad != 0) {
                printf("FAIL rank %d: %d ints, %s at the root and %s here, root %d: rc %d, "
                       "%ld wrong ints\n",
                       world_rank, n, root_strided ? "strided" : "contiguous",
                       mine_strided ? "strided" : "contiguous", root, rc, bad);
                counters.errors++;
            }
            counters.checked++;
            counters.eligible += size > 1;
        }
        MPI_Type_free(&strided);
        free(buf);
    }
}

static volatile sig_atomic_t signals_taken;

static void take_signal(int sig)
{
    (void)sig;
    signals_taken++;
}

/* SIGALRM every millisecond from now, interrupting system calls (no
 * SA_RESTART); 0 stops it. */
static void interrupt_every_ms(int on)
{
    struct itimerval every = { { 0, on ? 1000 : 0 }, { 0, on ? 1000 : 0 } };
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on ? take_signal : SIG_IGN;
    sigaction(SIGALRM, &sa, NULL);
    setitimer(ITIMER_REAL, &every, NULL);
}

static int check_counters(expect_t expect, long long bcasts_before, long long fallbacks_before)
{
    long long bcasts = rdmc_pvar_read("coll_rdmc_bcasts");
    long long fallbacks = rdmc_pvar_read("coll_rdmc_fallbacks");
    long long carried = bcasts - bcasts_before, handed = fallbacks - fallbacks_before;
    int ok;

    switch (expect) {
    case EXPECT_RDMC:
        ok = bcasts >= 0 && carried == counters.eligible && handed == 0;
        break;
    case EXPECT_FALLBACK:
        ok = bcasts >= 0 && carried == 0 && handed == counters.eligible;
        break;
    default:
        ok = bcasts < 0 || (carried == 0 && handed == 0);
        break;
    }
    if (!ok) {
        printf("FAIL rank %d: MPI_T says rdmc carried %lld and handed on %lld of %lld "
               "broadcasts\n",
               world_rank, carried, handed, counters.eligible);
    }
    return ok;
}

/* "NAME=VALUE": is NAME set to VALUE in this process? */
static int env_holds(const char *assignment)
{
    const char *eq = strchr(assignment, '=');
    char name[128];

    if (eq == NULL || (size_t)(eq - assignment) >= sizeof(name)) {
        printf("FAIL rank %d: --env wants NAME=VALUE, not %s\n", world_rank, assignment);
        return 0;
    }
    memcpy(name, assignment, (size_t)(eq - assignment));
    name[eq - assignment] = '\0';
    const char *value = getenv(name);
    if (value == NULL || strcmp(value, eq + 1) != 0) {
        printf("FAIL rank %d: %s is %s, not %s\n", world_rank, name,
               value == NULL ? "unset" : value, eq + 1);
        return 0;
    }
    return 1;
}

int main(int argc, char **argv)
{
    expect_t expect = EXPECT_RDMC;
    size_t block = 4096;
    int small = 0, large = 0, big = 0, comms = 0, huge = 0, split = 1, tree_nodes = 0, size;
    int signatures = 0, signals = 0, uninit = 0, env_ok = 1;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--expect") == 0 && i + 1 < argc) {
            i++;
            expect = strcmp(argv[i], "fallback") == 0 ? EXPECT_FALLBACK
                     : strcmp(argv[i], "off") == 0    ? EXPECT_OFF
                                                      : EXPECT_RDMC;
        } else if (strcmp(argv[i], "--block") == 0 && i + 1 < argc) {
            block = strtoull(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--small") == 0) {
            small = 1;
        } else if (strcmp(argv[i], "--large") == 0) {
            large = 1;
        } else if (strcmp(argv[i], "--big") == 0) {
            big = 1;
        } else if (strcmp(argv[i], "--comms") == 0) {
            comms = 1;
        } else if (strcmp(argv[i], "--huge") == 0) {
            huge = 1;
        } else if (strcmp(argv[i], "--tree") == 0 && i + 1 < argc) {
            tree_nodes = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--no-split") == 0) {
            split = 0;
        } else if (strcmp(argv[i], "--signatures") == 0) {
            signatures = 1;
        } else if (strcmp(argv[i], "--signals") == 0) {
            signals = 1;
        } else if (strcmp(argv[i], "--uninit") == 0) {
            uninit = 1;
        } else if (strcmp(argv[i], "--env") == 0 && i + 1 < argc) {
            env_ok = env_ok && env_holds(argv[++i]);
        }
    }
    make_types();
    long long bcasts_before = rdmc_pvar_read("coll_rdmc_bcasts");
    long long fallbacks_before = rdmc_pvar_read("coll_rdmc_fallbacks");

    if (signals) {
        interrupt_every_ms(1);
    }
    if (small) {
        MPI_Comm dup, half;
        run_small(MPI_COMM_WORLD, block);
        MPI_Comm_dup(MPI_COMM_WORLD, &dup);
        run_small(dup, block);
        MPI_Comm_free(&dup);
        if (split) {
            MPI_Comm_split(MPI_COMM_WORLD, world_rank % 2, world_rank, &half);
            run_small(half, block);
            MPI_Comm_free(&half);
        }
    }
    if (large) {
        run_large(MPI_COMM_WORLD);
    }
    if (big) {
        run_big(MPI_COMM_WORLD);
    }
    if (comms) {
        run_comms();
    }
    if (huge) {
        run_huge();
    }
    if (tree_nodes > 0) {
        run_tree(tree_nodes);
    }
    if (signatures) {
        run_signatures(MPI_COMM_WORLD);
    }
    if (uninit) {
        char *never_written = malloc(65536);
        if (never_written != NULL) {
            MPI_Bcast(never_written, 65536, MPI_BYTE, 0, MPI_COMM_WORLD);
            counters.eligible++;
            free(never_written);
        }
    }
    if (signals) {
        interrupt_every_ms(0);
        if (signals_taken == 0) {
            printf("FAIL rank %d: no SIGALRM arrived\n", world_rank);
            counters.errors++;
        }
    }

    int ok = check_counters(expect, bcasts_before, fallbacks_before) && counters.errors == 0 &&
             env_ok;
    int all_ok = 0;
    long long checked = 0;
    MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    MPI_Reduce(&counters.checked, &checked, 1, MPI_LONG_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
    if (world_rank == 0) {
        printf("bcast_check: %d ranks, %lld rank-broadcasts checked: %s\n", size, checked,
               all_ok ? "OK" : "FAILED");
        if (signals) {
            printf("bcast_check: rank 0 took %ld SIGALRMs meanwhile\n", (long)signals_taken);
        }
    }
    free_types();
    MPI_Finalize();
    return all_ok ? 0 : 1;
}
