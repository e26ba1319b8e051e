/*
 * Reading and writing the simulator's numbers: sizes with binary suffixes
 * ("4K", "1MiB", "1G"), lists ("2,3,4", "2,4,8,...,4096", "4K:1G" = 4K, 8K,
 * ..., 1G, doubling) and picoseconds as microseconds.
 */
#ifndef SIM_UNITS_H
#define SIM_UNITS_H

#include <stddef.h>
#include <stdint.h>

#include "sim_model.h"

/* "4096", "4K", "4KiB", "1M", "2G" (case-insensitive, powers of 1024). */
int sim_parse_bytes(const char *text, uint64_t *bytes_p);

/* Comma-separated sizes; "LO:HI" adds LO, 2 LO, 4 LO, ... up to HI, and
 * "..." continues the two values before it (doubling if the second is
 * twice the first, otherwise in equal steps) up to the value after it.
 * -EINVAL on a syntax error, -E2BIG past `max` values. */
int sim_parse_list(const char *text, uint64_t *values, size_t max, size_t *count_p);

/* Comma-separated positive numbers ("1,1.5,2,4"). */
int sim_parse_number_list(const char *text, double *values, size_t max, size_t *count_p);

/* "4K", "64M", "1G" when exact, otherwise bytes ("1000"). */
void sim_format_bytes(uint64_t bytes, char *buf, size_t len);

double sim_ps_to_us(sim_ps_t ps);

#endif
