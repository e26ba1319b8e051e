/*
 * gnuplot output: a data file per study, one script drawing a PNG per
 * study, and gnuplot itself when it is installed.
 */
#include <errno.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim_report.h"
#include "sim_units.h"

extern char **environ;

static const char *study_suffix(sim_study_kind_t kind)
{
    switch (kind) {
    case SIM_STUDY_BY_N:
        return "by-n";
    case SIM_STUDY_BY_SIZE:
        return "by-size";
    case SIM_STUDY_BY_SLOWDOWN:
        return "slow-node";
    }
    return "study";
}

static int path_of(char *buf, size_t len, const char *prefix, const sim_study_t *study,
                   const char *ext)
{
    int w = study != NULL ? snprintf(buf, len, "%s-%s.%s", prefix, study_suffix(study->kind), ext)
                          : snprintf(buf, len, "%s.%s", prefix, ext);

    return w < 0 || (size_t)w >= len ? -ENAMETOOLONG : 0;
}

static int close_checked(FILE *f, const char *path)
{
    if (ferror(f) | (fclose(f) != 0)) {
        fprintf(stderr, "rdmc_sim: writing %s failed: %s\n", path, strerror(errno));
        return -EIO;
    }
    return 0;
}

static FILE *open_for_writing(const char *path)
{
    FILE *f = fopen(path, "w");

    if (f == NULL) {
        fprintf(stderr, "rdmc_sim: cannot write %s: %s\n", path, strerror(errno));
    }
    return f;
}

/* Columns: the x value, then each selected algorithm's time in us ("?" when
 * not simulated), then the lower bound (not for the slow node: it is the
 * nominal network's). */
static int write_data(const char *path, const sim_study_t *study)
{
    FILE *f = open_for_writing(path);

    if (f == NULL) {
        return -errno;
    }
    fprintf(f, "# %s", study->kind == SIM_STUDY_BY_N      ? "n"
                       : study->kind == SIM_STUDY_BY_SIZE ? "bytes"
                                                          : "slowdown");
    for (unsigned a = 0; a < SIM_ALG_COUNT; a++) {
        if (study->setup->selected[a]) {
            fprintf(f, " %s", sim_alg_label((sim_alg_t)a));
        }
    }
    fprintf(f, "%s   (times in us)\n", study->kind != SIM_STUDY_BY_SLOWDOWN ? " bound" : "");
    for (size_t i = 0; i < study->nrows; i++) {
        const sim_row_t *row = &study->rows[i];
        switch (study->kind) {
        case SIM_STUDY_BY_N:
            fprintf(f, "%u", row->n);
            break;
        case SIM_STUDY_BY_SIZE:
            fprintf(f, "%llu", (unsigned long long)row->nbytes);
            break;
        case SIM_STUDY_BY_SLOWDOWN:
            fprintf(f, "%g", row->slow_factor);
            break;
        }
        for (unsigned a = 0; a < SIM_ALG_COUNT; a++) {
            if (!study->setup->selected[a]) {
                continue;
            }
            if (row->cells[a].status == 0) {
                fprintf(f, " %.3f", sim_ps_to_us(sim_study_metric(study, &row->cells[a])));
            } else {
                fprintf(f, " ?");
            }
        }
        if (study->kind != SIM_STUDY_BY_SLOWDOWN) {
            fprintf(f, " %.3f", sim_ps_to_us(row->bound));
        }
        fprintf(f, "\n");
    }
    return close_checked(f, path);
}

static void write_axes(FILE *f, const sim_study_t *study)
{
    const sim_row_t *first = &study->rows[0];
    char size[32];

    sim_format_bytes(first->nbytes, size, sizeof(size));
    fprintf(f, "unset logscale\nset logscale y\nset format x '%%g'\n");
    switch (study->kind) {
    case SIM_STUDY_BY_N:
        fprintf(f, "set title 'Broadcast of %s bytes: completion time by number of nodes'\n"
                   "set logscale x 2\nset xlabel 'nodes'\n",
                size);
        break;
    case SIM_STUDY_BY_SIZE:
        fprintf(f, "set title 'Broadcast to %u nodes: completion time by message size'\n"
                   "set logscale x 2\nset format x '%%.0b %%BB'\nset xlabel 'message size'\n",
                first->n);
        break;
    case SIM_STUDY_BY_SLOWDOWN:
        fprintf(f, "set title 'One slow node (rank %u of %u, %s bytes): "
                   "completion time of the others'\n"
                   "set xlabel 'slowdown factor of the slow node''s link'\n",
                study->setup->params.slow_node, first->n, size);
        break;
    }
    fprintf(f, "set ylabel 'completion time (us)'\n");
}

/* The bound first, so that the algorithms are drawn over it. */
static void write_plot_command(FILE *f, const char *data, const sim_study_t *study)
{
    int column = 2;

    fprintf(f, "plot ");
    if (study->kind != SIM_STUDY_BY_SLOWDOWN) {
        int bound_column = column;
        for (unsigned a = 0; a < SIM_ALG_COUNT; a++) {
            bound_column += study->setup->selected[a];
        }
        fprintf(f, "'%s' using 1:%d with lines lw 6 lc rgb '#c8c8c8' title 'lower bound'",
                data, bound_column);
    }
    for (unsigned a = 0; a < SIM_ALG_COUNT; a++) {
        if (!study->setup->selected[a]) {
            continue;
        }
        /* linetype by algorithm: the same colour in every figure */
        bool first = column == 2 && study->kind == SIM_STUDY_BY_SLOWDOWN;
        fprintf(f, "%s'%s' using 1:%d with linespoints lt %u title '%s'",
                first ? "" : ", \\\n     ", data, column, a + 1, sim_alg_name((sim_alg_t)a));
        column++;
    }
    fprintf(f, "\n");
}

static int write_script(const char *path, const char *prefix, const sim_study_t *const *studies,
                        size_t count)
{
    FILE *f = open_for_writing(path);
    char data[4096], png[4096];
    int rc = 0;

    if (f == NULL) {
        return -errno;
    }
    /* noenhanced: the names' underscores are not subscripts. */
    fprintf(f, "# Written by rdmc_sim; run as: gnuplot %s\n"
               "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
               "    set terminal pngcairo size 1000,650 noenhanced\n"
               "} else {\n"
               "    set terminal png size 1000,650 noenhanced\n"
               "}\n"
               "set datafile missing '?'\n"
               "set key outside right top\n"
               "set grid\n"
               "set format y '%%g'\n",
            path);
    for (size_t i = 0; rc == 0 && i < count; i++) {
        rc = path_of(data, sizeof(data), prefix, studies[i], "dat");
        if (rc == 0) {
            rc = path_of(png, sizeof(png), prefix, studies[i], "png");
        }
        if (rc == 0 && studies[i]->nrows > 0) {
            fprintf(f, "\nset output '%s'\n", png);
            write_axes(f, studies[i]);
            write_plot_command(f, data, studies[i]);
        }
    }
    fprintf(f, "unset output\n");
    int closed = close_checked(f, path);
    return rc != 0 ? rc : closed;
}

static bool on_path(const char *program)
{
    const char *path = getenv("PATH");
    char candidate[4096];

    while (path != NULL && *path != '\0') {
        size_t len = strcspn(path, ":");
        int w = snprintf(candidate, sizeof(candidate), "%.*s/%s", (int)len, path, program);
        if (w > 0 && (size_t)w < sizeof(candidate) && access(candidate, X_OK) == 0) {
            return true;
        }
        path += len + (path[len] == ':');
    }
    return false;
}

static int run_gnuplot(const char *script)
{
    char *argv[] = { "gnuplot", (char *)script, NULL };
    pid_t pid;
    int status;
    int rc = posix_spawnp(&pid, "gnuplot", NULL, NULL, argv, environ);

    if (rc != 0) {
        fprintf(stderr, "rdmc_sim: starting gnuplot failed: %s\n", strerror(rc));
        return -rc;
    }
    if (waitpid(pid, &status, 0) < 0) {
        fprintf(stderr, "rdmc_sim: waiting for gnuplot failed: %s\n", strerror(errno));
        return -errno;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "rdmc_sim: gnuplot %s failed (status %d)\n", script, status);
        return -EIO;
    }
    return 0;
}

int sim_plot_write(const char *prefix, const sim_study_t *const *studies, size_t count)
{
    char path[4096];
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < count; i++) {
        rc = path_of(path, sizeof(path), prefix, studies[i], "dat");
        if (rc == 0) {
            rc = write_data(path, studies[i]);
        }
    }
    if (rc == 0) {
        rc = path_of(path, sizeof(path), prefix, NULL, "gp");
    }
    if (rc == 0) {
        rc = write_script(path, prefix, studies, count);
    }
    if (rc != 0) {
        return rc;
    }
    if (!on_path("gnuplot")) {
        fprintf(stderr, "rdmc_sim: gnuplot is not on PATH; draw the PNGs with: gnuplot %s\n",
                path);
        return 0;
    }
    rc = run_gnuplot(path);
    if (rc == 0) {
        for (size_t i = 0; i < count; i++) {
            char png[4096];
            if (path_of(png, sizeof(png), prefix, studies[i], "png") == 0) {
                fprintf(stderr, "rdmc_sim: wrote %s\n", png);
            }
        }
    }
    return rc;
}
