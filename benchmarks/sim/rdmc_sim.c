/*
 * rdmc_sim: how long RDMC's broadcasts take on a LogGP-style network of up
 * to thousands of nodes, next to what MPI libraries do and to the lower
 * bound.  It replays the engine's own schedules (coll/rdmc_schedule.c) and
 * block-size choice (coll/rdmc_blocksize.c); the model is in sim_model.h.
 * With --layout, ranks sit on nodes that share a link (sim_machine.h) and
 * the broadcasts are those of sim_levels.h.
 *
 * This file only reads the command line and says what to print.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchmarks/bench_options.h"
#include "coll/core/rdmc_blocksize.h"
#include "sim_levels.h"
#include "sim_machine.h"
#include "sim_report.h"
#include "sim_study.h"
#include "sim_units.h"

#define MAX_VALUES 4096
#define MAX_FACTORS 64
#define MAX_NODES ((uint64_t)1 << 20)
#define DEFAULT_FIXED_N 64
#define MAX_LAYOUTS 16

static const char usage_text[] =
    "usage: rdmc_sim [options]\n"
    "\n"
    "Simulates broadcasts on n nodes with full-duplex links: a node sends one message\n"
    "and receives one at a time, and a message of b bytes takes alpha + beta*b.\n"
    "RDMC's schedules are replayed as the engine runs them (each node in its own step\n"
    "order, a block forwarded once it has arrived); the MPI broadcasts are modelled\n"
    "directly.  Times are in microseconds; 'bound' is the best equal-block broadcast,\n"
    "(k + ceil(log2 n) - 1)(alpha + beta m/k) at the best k.\n"
    "\n"
    "Network:\n"
    "  --alpha-us A        per-message latency in us (default 30)\n"
    "  --rate-gbps G       link rate, sets beta = 8/G ns per byte (default 1)\n"
    "  --beta-ns B         per-byte time in ns instead of --rate-gbps\n"
    "  --slow-node R       rank R (relative to the root) has a slow link ...\n"
    "  --slow-factor F     ... at 1/F of the rate (default 4)\n"
    "  --jitter J          every transfer takes up to J (a fraction) longer, at random\n"
    "  --seed S            seed of the jitter (default 1; runs repeat exactly)\n"
    "\n"
    "Broadcasts:\n"
    "  --alg LIST          comma-separated; 'all' (default), 'rdmc', 'mpi', or names:\n"
    "                      binomial_pipeline chain sequential binomial_tree fanout (RDMC)\n"
    "                      mpi_binomial mpi_chain mpi_scatter_allgather (MPI)\n"
    "  --block BYTES       RDMC block size (default: automatic, rdmc_block_bytes)\n"
    "  --min-block BYTES   floor of the automatic block (default none)\n"
    "  --max-block BYTES   cap of the automatic block (default none)\n"
    "  --tcp-model         alpha, beta, floor and cap of the engine's model for tcp between\n"
    "                      nodes (rdmc_tcp_model), so that blocks are chosen as there\n"
    "  --segment BYTES     mpi_chain segment size (default 128K)\n"
    "\n"
    "What to print (LIST: 2,3,4 or 2,4,8,...,4096 or 4K:1G = powers of two;\n"
    "sizes take K, M, G suffixes, powers of 1024):\n"
    "  --n LIST            one row per n, 2 <= n <= 2^20 (default 2:4096), at --size\n"
    "  --size BYTES        message size of the rows per n (default 1M)\n"
    "  --sizes LIST        one row per message size instead, at --fixed-n\n"
    "  --slow-factors LIST one row per slowdown factor of the slow node (default\n"
    "                      rank 1): the completion time of all the other nodes\n"
    "  --fixed-n N         n of the size and slowdown rows (default: the only --n\n"
    "                      value if there is one, else 64)\n"
    "  --sweep-block       the automatic RDMC block size against every fixed one from\n"
    "                      16K to 4M, for the pipelined schedules (per n, or per size)\n"
    "  --steps             only the step and block counts, without simulating\n"
    "  --plot PREFIX       all three studies (by n, by size, slow node) as tables,\n"
    "                      PREFIX-*.dat, PREFIX.gp, and PREFIX-*.png if gnuplot is on PATH\n"
    "\n"
    "Examples:\n"
    "  rdmc_sim --alpha-us 30 --rate-gbps 1 --n 2,4,8,...,4096 --size 1M\n"
    "  rdmc_sim --n 64 --sizes 4K:1G --alg binomial_pipeline,mpi\n"
    "  rdmc_sim --n 256 --size 64M --slow-node 1 --slow-factors 1,2,4,8,16\n"
    "  rdmc_sim --n 2:4096 --size 64M --sweep-block\n"
    "  rdmc_sim --plot /tmp/rdmc\n"
    "\n"
    "Two levels: ranks on nodes (instead of the tables above).  Each node has one\n"
    "link, which all its ranks share (one message at a time each way); inside a\n"
    "node a message is a memory copy.  One table per layout and message size\n"
    "(--size, --sizes): rdmc by levels (rdmc_groups_of: a binomial pipeline between\n"
    "nodes, a fan-out inside), rdmc_flat (one pipeline over all ranks), tuned_chain\n"
    "(Open MPI tuned's segmented chain in rank order) and han (leaders, then each\n"
    "node), each time over the link time m*beta and the most bytes a link carried.\n"
    "  --layout L          4x2 (4 nodes of 2 ranks) or 3,2,1 (ranks per node, in\n"
    "                      order); repeat the option for more layouts\n"
    "  --root R            the root's rank (default 0)\n"
    "  --mem-bw G          memory bandwidth inside a node, GB/s (default 6.25)\n"
    "  --mem-beta-ns B     the same as ns per byte\n"
    "  --mem-alpha-us A    latency of one copy inside a node (default 15)\n"
    "  --cores C           copies one node runs at once (default 0: no limit)\n"
    "  --mem-block BYTES   rdmc's fan-out block (default: automatic, capped at the\n"
    "                      block between nodes)\n"
    "  --han-segment BYTES han's segment (default: the whole message)\n"
    "  Between nodes: --alpha-us, --rate-gbps or --beta-ns, --block, --min-block,\n"
    "  --max-block, --tcp-model; --segment (tuned_chain); --jitter and --seed apply\n"
    "  to every message and copy.\n"
    "  rdmc_sim --layout 4x2 --layout 2x4 --layout 3,2,1 --sizes 16M,64M\n";

typedef struct options {
    sim_setup_t setup;
    uint64_t ns[MAX_VALUES];
    size_t n_count;
    uint64_t size;
    uint64_t sizes[MAX_VALUES];
    size_t size_count;   /* 0: no --sizes */
    double factors[MAX_FACTORS];
    size_t factor_count;   /* 0: no --slow-factors */
    uint32_t fixed_n;      /* 0: not given */
    bool sweep_block;
    bool steps_only;
    const char *plot_prefix;
    const char *study_option;   /* one only the studies take, given */
    /* --layout and what only it takes */
    uint32_t layouts[MAX_LAYOUTS][SIM_MACHINE_MAX_NODES];   /* ranks per node */
    uint32_t layout_nodes[MAX_LAYOUTS];
    size_t layout_count;
    sim_mem_params_t mem;
    sim_levels_case_t levels;   /* root, fan-out block and han segment */
    const char *levels_option;  /* one of them given (to refuse it without --layout) */
} options_t;

enum option_id {
    OPT_ALPHA = 256, OPT_RATE, OPT_BETA, OPT_SLOW_NODE, OPT_SLOW_FACTOR, OPT_JITTER, OPT_SEED,
    OPT_ALG, OPT_BLOCK, OPT_MIN_BLOCK, OPT_MAX_BLOCK, OPT_TCP_MODEL, OPT_SEGMENT, OPT_N,
    OPT_SIZE, OPT_SIZES, OPT_SLOW_FACTORS, OPT_FIXED_N, OPT_SWEEP_BLOCK, OPT_STEPS, OPT_PLOT,
    OPT_LAYOUT, OPT_ROOT, OPT_MEM_BW, OPT_MEM_BETA, OPT_MEM_ALPHA, OPT_CORES, OPT_MEM_BLOCK,
    OPT_HAN_SEGMENT, OPT_HELP
};

static const struct option long_options[] = {
    { "alpha-us", required_argument, NULL, OPT_ALPHA },
    { "rate-gbps", required_argument, NULL, OPT_RATE },
    { "beta-ns", required_argument, NULL, OPT_BETA },
    { "slow-node", required_argument, NULL, OPT_SLOW_NODE },
    { "slow-factor", required_argument, NULL, OPT_SLOW_FACTOR },
    { "jitter", required_argument, NULL, OPT_JITTER },
    { "seed", required_argument, NULL, OPT_SEED },
    { "alg", required_argument, NULL, OPT_ALG },
    { "block", required_argument, NULL, OPT_BLOCK },
    { "min-block", required_argument, NULL, OPT_MIN_BLOCK },
    { "max-block", required_argument, NULL, OPT_MAX_BLOCK },
    { "tcp-model", no_argument, NULL, OPT_TCP_MODEL },
    { "segment", required_argument, NULL, OPT_SEGMENT },
    { "n", required_argument, NULL, OPT_N },
    { "size", required_argument, NULL, OPT_SIZE },
    { "sizes", required_argument, NULL, OPT_SIZES },
    { "slow-factors", required_argument, NULL, OPT_SLOW_FACTORS },
    { "fixed-n", required_argument, NULL, OPT_FIXED_N },
    { "sweep-block", no_argument, NULL, OPT_SWEEP_BLOCK },
    { "steps", no_argument, NULL, OPT_STEPS },
    { "plot", required_argument, NULL, OPT_PLOT },
    { "layout", required_argument, NULL, OPT_LAYOUT },
    { "root", required_argument, NULL, OPT_ROOT },
    { "mem-bw", required_argument, NULL, OPT_MEM_BW },
    { "mem-beta-ns", required_argument, NULL, OPT_MEM_BETA },
    { "mem-alpha-us", required_argument, NULL, OPT_MEM_ALPHA },
    { "cores", required_argument, NULL, OPT_CORES },
    { "mem-block", required_argument, NULL, OPT_MEM_BLOCK },
    { "han-segment", required_argument, NULL, OPT_HAN_SEGMENT },
    { "help", no_argument, NULL, OPT_HELP },
    { NULL, 0, NULL, 0 },
};

static void set_defaults(options_t *o)
{
    memset(o, 0, sizeof(*o));
    o->setup.params.alpha_us = 30;
    o->setup.params.beta_ns_per_byte = 8;
    o->setup.params.slow_node = SIM_NO_SLOW_NODE;
    o->setup.params.slow_factor = 4;
    o->setup.params.seed = 1;
    o->setup.segment_bytes = SIM_DEFAULT_SEGMENT_BYTES;
    for (unsigned a = 0; a < SIM_ALG_COUNT; a++) {
        o->setup.selected[a] = true;
    }
    for (uint64_t n = 2; n <= 4096; n *= 2) {
        o->ns[o->n_count++] = n;
    }
    o->size = (uint64_t)1 << 20;
    o->mem.alpha_us = SIM_MEM_DEFAULT_ALPHA_US;
    o->mem.beta_ns_per_byte = SIM_MEM_DEFAULT_BETA_NS;
}

static int parse_number(const char *text, double min, double *value_p)
{
    char *end;

    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end != '\0' || errno != 0 || !(v >= min)) {
        return -EINVAL;
    }
    *value_p = v;
    return 0;
}

static int parse_algs(const char *text, bool *selected)
{
    char name[64];
    bool chosen[SIM_ALG_COUNT] = { false };
    int rc;

    while ((rc = bench_next_item(&text, name, sizeof(name))) > 0) {
        for (unsigned a = 0; a < SIM_ALG_COUNT; a++) {
            bool rdmc = sim_alg_is_rdmc((sim_alg_t)a);
            if (strcmp(name, "all") == 0 || (strcmp(name, "rdmc") == 0 && rdmc) ||
                (strcmp(name, "mpi") == 0 && !rdmc)) {
                chosen[a] = true;
            }
        }
        if (strcmp(name, "all") != 0 && strcmp(name, "rdmc") != 0 && strcmp(name, "mpi") != 0) {
            sim_alg_t alg = sim_alg_from_name(name);
            if (alg == SIM_ALG_COUNT) {
                return -EINVAL;
            }
            chosen[alg] = true;
        }
    }
    if (rc < 0) {
        return -EINVAL;
    }
    memcpy(selected, chosen, sizeof(chosen));
    return 0;
}

static int check_ns(const uint64_t *ns, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (ns[i] < 2 || ns[i] > MAX_NODES) {
            return -EINVAL;
        }
    }
    return 0;
}

static const char *option_name(int id)
{
    for (const struct option *opt = long_options; opt->name != NULL; opt++) {
        if (opt->val == id) {
            return opt->name;
        }
    }
    return "?";
}

/* The options only --layout takes. */
static int parse_levels_option(options_t *o, int id, const char *arg)
{
    double v;
    uint64_t value;
    int rc = 0;

    switch (id) {
    case OPT_ROOT:
        rc = sim_parse_bytes(arg, &value);
        if (rc == 0 && value >= SIM_MACHINE_MAX_RANKS) {
            rc = -EINVAL;
        }
        if (rc == 0) {
            o->levels.root = (uint32_t)value;
        }
        break;
    case OPT_MEM_BW:
        rc = parse_number(arg, 1e-9, &v);
        if (rc == 0) {
            o->mem.beta_ns_per_byte = 1.0 / v;
        }
        break;
    case OPT_MEM_BETA:
        rc = parse_number(arg, 0, &o->mem.beta_ns_per_byte);
        break;
    case OPT_MEM_ALPHA:
        rc = parse_number(arg, 0, &o->mem.alpha_us);
        break;
    case OPT_CORES:
        rc = sim_parse_bytes(arg, &value);
        if (rc == 0 && value > 4096) {
            rc = -EINVAL;
        }
        if (rc == 0) {
            o->mem.cores = (uint32_t)value;
        }
        break;
    case OPT_MEM_BLOCK:
        rc = sim_parse_bytes(arg, &o->levels.mem_block_bytes);
        break;
    case OPT_HAN_SEGMENT:
        rc = sim_parse_bytes(arg, &o->levels.han_segment_bytes);
        break;
    default:
        rc = -EINVAL;
        break;
    }
    return rc;
}

static int parse_option(options_t *o, int id, const char *arg)
{
    sim_params_t *p = &o->setup.params;
    double v;
    uint64_t bytes;
    int rc = 0;

    switch (id) {
    case OPT_ALPHA:
        rc = parse_number(arg, 0, &p->alpha_us);
        break;
    case OPT_RATE:
        rc = parse_number(arg, 1e-9, &v);
        if (rc == 0) {
            p->beta_ns_per_byte = 8.0 / v;
        }
        break;
    case OPT_BETA:
        rc = parse_number(arg, 0, &p->beta_ns_per_byte);
        break;
    case OPT_SLOW_NODE:
        rc = sim_parse_bytes(arg, &bytes);
        if (rc == 0 && bytes >= MAX_NODES) {
            rc = -EINVAL;
        }
        if (rc == 0) {
            p->slow_node = (uint32_t)bytes;
        }
        break;
    case OPT_SLOW_FACTOR:
        rc = parse_number(arg, 1, &p->slow_factor);
        break;
    case OPT_JITTER:
        rc = parse_number(arg, 0, &p->jitter);
        break;
    case OPT_SEED:
        rc = sim_parse_bytes(arg, &p->seed);
        break;
    case OPT_ALG:
        rc = parse_algs(arg, o->setup.selected);
        break;
    case OPT_BLOCK:
        rc = sim_parse_bytes(arg, &o->setup.block_bytes);
        break;
    case OPT_MIN_BLOCK:
        rc = sim_parse_bytes(arg, &p->min_block_bytes);
        break;
    case OPT_MAX_BLOCK:
        rc = sim_parse_bytes(arg, &p->max_block_bytes);
        break;
    case OPT_TCP_MODEL:
        p->alpha_us = rdmc_tcp_model.alpha_us;
        p->beta_ns_per_byte = rdmc_tcp_model.beta_ns_per_byte;
        p->min_block_bytes = rdmc_tcp_model.min_block_bytes;
        p->max_block_bytes = rdmc_tcp_model.max_block_bytes;
        break;
    case OPT_SEGMENT:
        rc = sim_parse_bytes(arg, &bytes);
        if (rc == 0 && bytes == 0) {
            rc = -EINVAL;
        }
        if (rc == 0) {
            o->setup.segment_bytes = bytes;
        }
        break;
    case OPT_N:
        rc = sim_parse_list(arg, o->ns, MAX_VALUES, &o->n_count);
        if (rc == 0) {
            rc = check_ns(o->ns, o->n_count);
        }
        break;
    case OPT_SIZE:
        rc = sim_parse_bytes(arg, &o->size);
        break;
    case OPT_SIZES:
        rc = sim_parse_list(arg, o->sizes, MAX_VALUES, &o->size_count);
        break;
    case OPT_SLOW_FACTORS:
        rc = sim_parse_number_list(arg, o->factors, MAX_FACTORS, &o->factor_count);
        break;
    case OPT_FIXED_N:
        rc = sim_parse_bytes(arg, &bytes);
        if (rc == 0) {
            rc = check_ns(&bytes, 1);
        }
        if (rc == 0) {
            o->fixed_n = (uint32_t)bytes;
        }
        break;
    case OPT_SWEEP_BLOCK:
        o->sweep_block = true;
        break;
    case OPT_STEPS:
        o->steps_only = true;
        break;
    case OPT_PLOT:
        o->plot_prefix = arg;
        break;
    case OPT_LAYOUT:
        if (o->layout_count == MAX_LAYOUTS) {
            rc = -E2BIG;
            break;
        }
        rc = sim_machine_parse_layout(arg, o->layouts[o->layout_count],
                                      &o->layout_nodes[o->layout_count]);
        o->layout_count += rc == 0;
        break;
    default:
        rc = parse_levels_option(o, id, arg);
        o->levels_option = option_name(id);
        break;
    }
    return rc;
}

/* The two-level tables take neither the one-level studies' options nor a
 * slow node; their own options need --layout. */
static bool only_for_studies(int id)
{
    return id == OPT_N || id == OPT_FIXED_N || id == OPT_ALG || id == OPT_SLOW_NODE ||
           id == OPT_SLOW_FACTOR || id == OPT_SLOW_FACTORS || id == OPT_SWEEP_BLOCK ||
           id == OPT_STEPS || id == OPT_PLOT;
}

static int check_layout_options(const options_t *o)
{
    if (o->layout_count == 0 && o->levels_option != NULL) {
        fprintf(stderr, "rdmc_sim: --%s needs --layout (see --help)\n", o->levels_option);
        return -EINVAL;
    }
    if (o->layout_count > 0 && o->study_option != NULL) {
        fprintf(stderr, "rdmc_sim: --%s does not go with --layout (see --help)\n",
                o->study_option);
        return -EINVAL;
    }
    return 0;
}

static int parse_args(int argc, char **argv, options_t *o)
{
    int id;

    set_defaults(o);
    while ((id = getopt_long(argc, argv, "h", long_options, NULL)) != -1) {
        if (id == 'h' || id == OPT_HELP) {
            fputs(usage_text, stdout);
            exit(EXIT_SUCCESS);
        }
        if (id == '?') {
            fprintf(stderr, "rdmc_sim: try --help\n");
            return -EINVAL;
        }
        if (only_for_studies(id)) {
            o->study_option = option_name(id);
        }
        if (parse_option(o, id, optarg) != 0) {
            fprintf(stderr, "rdmc_sim: bad value for --%s: '%s' (see --help)\n",
                    option_name(id), optarg);
            return -EINVAL;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "rdmc_sim: unexpected argument '%s' (see --help)\n", argv[optind]);
        return -EINVAL;
    }
    if (o->fixed_n == 0) {
        o->fixed_n = o->n_count == 1 ? (uint32_t)o->ns[0] : DEFAULT_FIXED_N;
    }
    if (o->layout_count > 0) {
        /* The two-level tables run their own broadcasts: the setup printed
         * above them names none of the studies'. */
        memset(o->setup.selected, 0, sizeof(o->setup.selected));
    }
    return check_layout_options(o);
}

/* The rows of --steps and --sweep-block: n by n at --size, or size by size
 * at the fixed n. */
static void table_axes(const options_t *o, const uint64_t **ns_p, size_t *n_count_p,
                       const uint64_t **sizes_p, size_t *size_count_p, uint64_t *fixed_n)
{
    *fixed_n = o->fixed_n;
    if (o->size_count > 0) {
        *ns_p = fixed_n;
        *n_count_p = 1;
        *sizes_p = o->sizes;
        *size_count_p = o->size_count;
    } else {
        *ns_p = o->ns;
        *n_count_p = o->n_count;
        *sizes_p = &o->size;
        *size_count_p = 1;
    }
}

static int run_sweep(const options_t *o)
{
    const uint64_t *ns, *sizes;
    size_t n_count, size_count;
    uint64_t fixed_n;
    sim_sweep_t sweep;

    table_axes(o, &ns, &n_count, &sizes, &size_count, &fixed_n);
    int rc = sim_sweep_run(&o->setup, ns, n_count, sizes, size_count, &sweep);
    if (rc != 0) {
        return rc;
    }
    sim_table_print_sweep(stdout, &sweep);
    sim_sweep_free(&sweep);
    return 0;
}

static const uint64_t default_plot_sizes[] = {
    (uint64_t)4 << 10, (uint64_t)16 << 10, (uint64_t)64 << 10, (uint64_t)256 << 10,
    (uint64_t)1 << 20, (uint64_t)4 << 20, (uint64_t)16 << 20, (uint64_t)64 << 20,
    (uint64_t)256 << 20, (uint64_t)1 << 30,
};
static const double default_factors[] = { 1, 1.5, 2, 3, 4, 6, 8, 12, 16 };

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static int run_studies(const options_t *o)
{
    bool plot = o->plot_prefix != NULL;
    bool by_n = plot || (o->size_count == 0 && o->factor_count == 0);
    bool by_size = plot || o->size_count > 0;
    bool by_slowdown = plot || o->factor_count > 0;
    sim_setup_t slow_setup = o->setup;
    sim_study_t studies[3];
    const sim_study_t *done[3];
    size_t count = 0;
    int rc = 0;

    if (slow_setup.params.slow_node == SIM_NO_SLOW_NODE) {
        slow_setup.params.slow_node = 1;
    }
    if (by_n) {
        rc = sim_study_by_n(&o->setup, o->ns, o->n_count, o->size, &studies[count]);
        count += rc == 0;
    }
    if (rc == 0 && by_size) {
        const uint64_t *sizes = o->size_count ? o->sizes : default_plot_sizes;
        size_t size_count = o->size_count ? o->size_count : ARRAY_LEN(default_plot_sizes);
        rc = sim_study_by_size(&o->setup, o->fixed_n, sizes, size_count, &studies[count]);
        count += rc == 0;
    }
    if (rc == 0 && by_slowdown) {
        const double *factors = o->factor_count ? o->factors : default_factors;
        size_t factor_count = o->factor_count ? o->factor_count : ARRAY_LEN(default_factors);
        rc = sim_study_by_slowdown(&slow_setup, o->fixed_n, o->size, factors, factor_count,
                                   &studies[count]);
        count += rc == 0;
    }
    for (size_t i = 0; i < count; i++) {
        sim_table_print_study(stdout, &studies[i]);
        sim_table_print_rdmc_model(stdout, &studies[i]);
        done[i] = &studies[i];
    }
    if (rc == 0 && plot) {
        fflush(stdout);
        rc = sim_plot_write(o->plot_prefix, done, count);
    }
    for (size_t i = 0; i < count; i++) {
        sim_study_free(&studies[i]);
    }
    return rc;
}

/* One table per layout and size.  A model error (a rank forwarding what it
 * does not hold) fails the run; a broadcast over the budget is a "-". */
static int run_levels(const options_t *o)
{
    const uint64_t *sizes = o->size_count ? o->sizes : &o->size;
    size_t size_count = o->size_count ? o->size_count : 1;
    sim_levels_case_t shape = o->levels;
    int rc = 0;

    shape.block_bytes = o->setup.block_bytes;
    shape.segment_bytes = o->setup.segment_bytes;
    sim_table_print_levels_setup(stdout, &o->mem, &shape);
    for (size_t l = 0; rc == 0 && l < o->layout_count; l++) {
        sim_machine_t machine;
        rc = sim_machine_init(&machine, o->layouts[l], o->layout_nodes[l], &o->mem);
        if (rc != 0) {
            fprintf(stderr, "rdmc_sim: layout %zu: %s\n", l + 1, strerror(-rc));
            break;
        }
        if (machine.n < 2) {
            fprintf(stderr, "rdmc_sim: layout %zu has one rank: nobody to send to\n", l + 1);
            rc = -EINVAL;
        } else if (shape.root >= machine.n) {
            fprintf(stderr, "rdmc_sim: --root %u: layout %zu has %u ranks\n", shape.root, l + 1,
                    machine.n);
            rc = -EINVAL;
        }
        for (size_t i = 0; rc == 0 && i < size_count; i++) {
            sim_levels_result_t results[SIM_LEVELS_COUNT];
            int status[SIM_LEVELS_COUNT];
            for (unsigned a = 0; a < SIM_LEVELS_COUNT; a++) {
                sim_levels_case_t c = shape;
                c.alg = (sim_levels_alg_t)a;
                c.nbytes = sizes[i];
                status[a] = sim_levels_run(&machine, &c, &o->setup.params, &results[a], NULL,
                                           NULL);
                if (status[a] != 0 && status[a] != -E2BIG) {
                    fprintf(stderr, "rdmc_sim: %s failed: %s\n",
                            sim_levels_alg_name((sim_levels_alg_t)a), strerror(-status[a]));
                    rc = status[a];
                }
            }
            sim_table_print_levels(stdout, &machine, shape.root, sizes[i], &o->setup.params,
                                   results, status);
        }
        sim_machine_fini(&machine);
    }
    return rc;
}

int main(int argc, char **argv)
{
    static options_t options;   /* large: kept off the stack */
    int rc;

    if (parse_args(argc, argv, &options) != 0) {
        return EXIT_FAILURE;
    }
    sim_table_print_setup(stdout, &options.setup);
    if (options.layout_count > 0) {
        return run_levels(&options) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
    }
    if (options.steps_only) {
        const uint64_t *ns, *sizes;
        size_t n_count, size_count;
        uint64_t fixed_n;
        table_axes(&options, &ns, &n_count, &sizes, &size_count, &fixed_n);
        sim_table_print_step_counts(stdout, &options.setup, ns, n_count, sizes, size_count);
        return EXIT_SUCCESS;
    }
    rc = options.sweep_block ? run_sweep(&options) : run_studies(&options);
    return rc == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
