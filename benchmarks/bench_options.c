#include "bench_options.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

int bench_parse_long(const char *text, long min, long *value_p)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(text, &end, 10);
    if (end == text || *end != '\0' || errno != 0 || v < min) {
        return -EINVAL;
    }
    *value_p = v;
    return 0;
}

int bench_parse_int(const char *text, int min, int *value_p)
{
    long v;

    if (bench_parse_long(text, min, &v) != 0 || v > INT_MAX) {
        return -EINVAL;
    }
    *value_p = (int)v;
    return 0;
}

static int parse_bytes(const char *text, const char *stop, uint64_t *bytes_p)
{
    char *end;
    unsigned long long v;

    if (*text < '0' || *text > '9') {
        return -EINVAL;   /* strtoull would take "-1" and " 1" */
    }
    errno = 0;
    v = strtoull(text, &end, 10);
    if (end != stop || errno != 0) {
        return -EINVAL;
    }
    *bytes_p = (uint64_t)v;
    return 0;
}

int bench_parse_range(const char *text, uint64_t *min_p, uint64_t *max_p)
{
    const char *colon = strchr(text, ':');
    uint64_t min = *min_p, max = *max_p;

    if (colon != NULL && parse_bytes(text, colon, &min) != 0) {
        return -EINVAL;
    }
    text = colon != NULL ? colon + 1 : text;
    if ((colon == NULL || *text != '\0') && parse_bytes(text, text + strlen(text), &max) != 0) {
        return -EINVAL;
    }
    if (min > max) {
        return -EINVAL;
    }
    *min_p = min;
    *max_p = max;
    return 0;
}

int bench_next_item(const char **text_p, char *item, size_t cap)
{
    const char *p = *text_p;
    size_t len;

    if (*p == '\0') {
        return 0;
    }
    len = strcspn(p, ",");
    if (len == 0 || len >= cap) {
        return -EINVAL;
    }
    memcpy(item, p, len);
    item[len] = '\0';
    *text_p = p + len + (p[len] == ',');
    return 1;
}

int bench_loop_option(int option, const char *arg, int *iterations, int *warmup, int *rc_p)
{
    if (option == 'i') {
        *rc_p = bench_parse_int(arg, 1, iterations);
        return 1;
    }
    if (option == 'x') {
        *rc_p = bench_parse_int(arg, 0, warmup);
        return 1;
    }
    return 0;
}
