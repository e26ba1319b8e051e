/*
 * Sizes, lists and times for the simulator's command line and tables.
 */
#include "sim_units.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "benchmarks/bench_options.h"

#define LIST_ITEM_MAX 64

static int suffix_shift(const char *suffix, unsigned *shift_p)
{
    static const char *const units[] = { "", "K", "M", "G", "T" };

    for (unsigned i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        size_t len = strlen(units[i]);
        if (strncasecmp(suffix, units[i], len) != 0) {
            continue;
        }
        const char *rest = suffix + len;
        bool unit_named = strcasecmp(rest, "iB") == 0 || strcasecmp(rest, "B") == 0;
        if (*rest == '\0' || (i > 0 && unit_named)) {
            *shift_p = 10 * i;
            return 0;
        }
    }
    return -EINVAL;
}

int sim_parse_bytes(const char *text, uint64_t *bytes_p)
{
    char *end;
    unsigned shift;

    if (!isdigit((unsigned char)*text)) {
        return -EINVAL;
    }
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno != 0 || suffix_shift(end, &shift) != 0) {
        return -EINVAL;
    }
    if (shift > 0 && value > (UINT64_MAX >> shift)) {
        return -ERANGE;
    }
    *bytes_p = (uint64_t)value << shift;
    return 0;
}

static int append(uint64_t *values, size_t max, size_t *count, uint64_t v)
{
    if (*count >= max) {
        return -E2BIG;
    }
    values[(*count)++] = v;
    return 0;
}

/* "..." between values[count-2], values[count-1] and `last`. */
static int continue_progression(uint64_t *values, size_t max, size_t *count, uint64_t last)
{
    if (*count < 2 || values[*count - 1] <= values[*count - 2] || last < values[*count - 1]) {
        return -EINVAL;
    }
    uint64_t a = values[*count - 2], b = values[*count - 1];
    bool doubling = b == 2 * a;
    uint64_t step = b - a;
    int rc = 0;

    for (uint64_t v = doubling ? 2 * b : b + step; rc == 0 && v < last;
         v = doubling ? 2 * v : v + step) {
        rc = append(values, max, count, v);
    }
    return rc;
}

static int append_powers_of_two(uint64_t *values, size_t max, size_t *count, const char *item)
{
    char low_text[LIST_ITEM_MAX];
    const char *colon = strchr(item, ':');
    uint64_t low, high;
    size_t len = (size_t)(colon - item);

    if (len >= sizeof(low_text)) {
        return -EINVAL;
    }
    memcpy(low_text, item, len);
    low_text[len] = '\0';
    if (sim_parse_bytes(low_text, &low) != 0 || sim_parse_bytes(colon + 1, &high) != 0 ||
        low == 0 || high < low) {
        return -EINVAL;
    }
    int rc = 0;
    for (uint64_t v = low; rc == 0 && v <= high; v *= 2) {
        rc = append(values, max, count, v);
        if (v > UINT64_MAX / 2) {
            break;
        }
    }
    return rc;
}

int sim_parse_list(const char *text, uint64_t *values, size_t max, size_t *count_p)
{
    char item[LIST_ITEM_MAX];
    bool ellipsis = false;
    size_t count = 0;
    int rc = 0;

    for (const char *p = text; rc == 0;) {
        int more = bench_next_item(&p, item, sizeof(item));
        if (more <= 0) {
            rc = more;
            break;
        }
        uint64_t v;
        if (strcmp(item, "...") == 0) {
            if (ellipsis) {
                return -EINVAL;
            }
            ellipsis = true;
        } else if (strchr(item, ':') != NULL) {
            rc = ellipsis ? -EINVAL : append_powers_of_two(values, max, &count, item);
        } else if ((rc = sim_parse_bytes(item, &v)) == 0) {
            if (ellipsis) {
                rc = continue_progression(values, max, &count, v);
                ellipsis = false;
            }
            if (rc == 0) {
                rc = append(values, max, &count, v);
            }
        }
    }
    if (rc == 0 && (ellipsis || count == 0)) {
        rc = -EINVAL;
    }
    if (rc == 0) {
        *count_p = count;
    }
    return rc;
}

int sim_parse_number_list(const char *text, double *values, size_t max, size_t *count_p)
{
    size_t count = 0;
    const char *p = text;

    while (*p != '\0') {
        char *end;
        errno = 0;
        double v = strtod(p, &end);
        if (end == p || errno != 0 || !(v > 0) || (*end != ',' && *end != '\0')) {
            return -EINVAL;
        }
        if (count >= max) {
            return -E2BIG;
        }
        values[count++] = v;
        p = end + (*end == ',');
    }
    if (count == 0) {
        return -EINVAL;
    }
    *count_p = count;
    return 0;
}

void sim_format_bytes(uint64_t bytes, char *buf, size_t len)
{
    static const char units[] = "KMGT";
    int unit = -1;

    while (bytes != 0 && unit < 3 && bytes % 1024 == 0) {
        bytes /= 1024;
        unit++;
    }
    if (unit < 0) {
        snprintf(buf, len, "%llu", (unsigned long long)bytes);
    } else {
        snprintf(buf, len, "%llu%c", (unsigned long long)bytes, units[unit]);
    }
}

double sim_ps_to_us(sim_ps_t ps)
{
    return (double)ps / 1e6;
}
