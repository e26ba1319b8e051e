/*
 * Layouts of the two-level machine (sim_machine.h).
 */
#include "sim_machine.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A whole number at *text, at least 1 and at most max; moves *text past it. */
static int parse_count(const char **text, uint32_t max, uint32_t *value_p)
{
    char *end;

    if (!isdigit((unsigned char)**text)) {
        return -EINVAL;
    }
    errno = 0;
    unsigned long v = strtoul(*text, &end, 10);
    if (errno != 0 || v > max) {
        return -E2BIG;
    }
    if (v == 0) {
        return -EINVAL;
    }
    *text = end;
    *value_p = (uint32_t)v;
    return 0;
}

int sim_machine_parse_layout(const char *text, uint32_t *ranks_per_node, uint32_t *nnodes_p)
{
    uint32_t first, count = 0;
    uint64_t ranks = 0;
    int rc;

    rc = parse_count(&text, SIM_MACHINE_MAX_RANKS, &first);
    if (rc != 0) {
        return rc;
    }
    if (*text == 'x' || *text == 'X') {
        uint32_t per_node;
        text++;
        if (first > SIM_MACHINE_MAX_NODES) {
            return -E2BIG;
        }
        rc = parse_count(&text, SIM_MACHINE_MAX_RANKS, &per_node);
        if (rc != 0) {
            return rc;
        }
        if (*text != '\0') {
            return -EINVAL;
        }
        if ((uint64_t)first * per_node > SIM_MACHINE_MAX_RANKS) {
            return -E2BIG;
        }
        for (uint32_t i = 0; i < first; i++) {
            ranks_per_node[i] = per_node;
        }
        *nnodes_p = first;
        return 0;
    }
    ranks_per_node[count++] = first;
    ranks = first;
    while (*text == ',') {
        text++;
        if (count == SIM_MACHINE_MAX_NODES) {
            return -E2BIG;
        }
        rc = parse_count(&text, SIM_MACHINE_MAX_RANKS, &ranks_per_node[count]);
        if (rc != 0) {
            return rc;
        }
        ranks += ranks_per_node[count++];
        if (ranks > SIM_MACHINE_MAX_RANKS) {
            return -E2BIG;
        }
    }
    if (*text != '\0') {
        return -EINVAL;
    }
    *nnodes_p = count;
    return 0;
}

static uint32_t node_ranks(const sim_machine_t *m, uint32_t node)
{
    return m->first_rank[node + 1] - m->first_rank[node];
}

void sim_machine_format_layout(const sim_machine_t *m, char *buf, size_t len)
{
    bool even = true;
    size_t used = 0;

    for (uint32_t node = 1; node < m->nnodes; node++) {
        even = even && node_ranks(m, node) == node_ranks(m, 0);
    }
    if (even) {
        snprintf(buf, len, "%ux%u", m->nnodes, node_ranks(m, 0));
        return;
    }
    buf[0] = '\0';
    for (uint32_t node = 0; node < m->nnodes && used < len; node++) {
        int w = snprintf(buf + used, len - used, node == 0 ? "%u" : ",%u", node_ranks(m, node));
        if (w < 0) {
            return;
        }
        used += (size_t)w;
    }
}

int sim_machine_init(sim_machine_t *m, const uint32_t *ranks_per_node, uint32_t nnodes,
                     const sim_mem_params_t *mem)
{
    uint64_t n = 0;

    memset(m, 0, sizeof(*m));
    if (nnodes == 0 || nnodes > SIM_MACHINE_MAX_NODES) {
        return -EINVAL;
    }
    for (uint32_t node = 0; node < nnodes; node++) {
        if (ranks_per_node[node] == 0) {
            return -EINVAL;
        }
        n += ranks_per_node[node];
    }
    if (n > SIM_MACHINE_MAX_RANKS) {
        return -EINVAL;
    }
    m->node_of = malloc(n * sizeof(*m->node_of));
    if (m->node_of == NULL) {
        return -ENOMEM;
    }
    m->first_rank = malloc((nnodes + 1) * sizeof(*m->first_rank));
    if (m->first_rank == NULL) {
        free(m->node_of);
        m->node_of = NULL;
        return -ENOMEM;
    }
    m->n = (uint32_t)n;
    m->nnodes = nnodes;
    m->mem = *mem;
    uint32_t rank = 0;
    for (uint32_t node = 0; node < nnodes; node++) {
        m->first_rank[node] = rank;
        for (uint32_t i = 0; i < ranks_per_node[node]; i++) {
            m->node_of[rank++] = node;
        }
    }
    m->first_rank[nnodes] = rank;
    return 0;
}

void sim_machine_fini(sim_machine_t *m)
{
    free(m->node_of);
    free(m->first_rank);
    m->node_of = NULL;
    m->first_rank = NULL;
}

int sim_machine_rdmc_layout(const sim_machine_t *m, rdmc_layout_t *lay)
{
    rdmc_place_t *places = malloc(m->n * sizeof(*places));
    int rc;

    if (places == NULL) {
        return -ENOMEM;
    }
    for (uint32_t r = 0; r < m->n; r++) {
        places[r] = (rdmc_place_t){ m->node_of[r], -1, -1 };
    }
    rc = rdmc_layout_init(lay, m->n, places);
    free(places);
    return rc;
}
