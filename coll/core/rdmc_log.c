#include "rdmc_log.h"

#include <stdarg.h>
#include <stdio.h>

static rdmc_log_fn_t log_sink;

void rdmc_log_set_sink(rdmc_log_fn_t fn)
{
    log_sink = fn;
}

void rdmc_log(int level, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    if (log_sink == NULL) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_sink(level, msg);
}
