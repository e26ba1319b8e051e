/*
 * Command-line values shared by the benchmarks and the simulator (no MPI):
 * whole strings only, so that a typo is refused instead of read as 0.
 * Each returns 0 or -EINVAL and sets its outputs only on success.
 */
#ifndef BENCH_OPTIONS_H
#define BENCH_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

/* A decimal integer >= min ("-i 100", "-r 2"); the int one also refuses
 * what does not fit an int. */
int bench_parse_long(const char *text, long min, long *value_p);
int bench_parse_int(const char *text, int min, int *value_p);

/* The options every timing program shares: -i ITERATIONS (>= 1) and
 * -x WARMUP (>= 0).  True when `option` is one of them (then *rc_p says
 * whether its value was good); false for the caller's own options. */
int bench_loop_option(int option, const char *arg, int *iterations, int *warmup, int *rc_p);

/* Byte counts "max", "min:max" or "min:" (min <= max); *min_p and *max_p
 * keep their values where "min:" or the max after a colon is left out. */
int bench_parse_range(const char *text, uint64_t *min_p, uint64_t *max_p);

/* Comma-separated items: copies the next one of *text_p into item (cap
 * bytes with its terminator) and moves *text_p past it.  1 for an item,
 * 0 at the end, -EINVAL for an empty item or one that does not fit. */
int bench_next_item(const char **text_p, char *item, size_t cap);

#endif
