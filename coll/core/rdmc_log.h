/*
 * Logging seam: ofi/ and the engine report through rdmc_log(); the MCA
 * component routes it to opal_output_verbose, tests to stderr.
 */
#ifndef RDMC_LOG_H
#define RDMC_LOG_H

typedef void (*rdmc_log_fn_t)(int level, const char *msg);

/* Install the sink (NULL: drop everything). */
void rdmc_log_set_sink(rdmc_log_fn_t fn);

/* level 1: errors and decisions worth one line; 10+: chatter. */
void rdmc_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
