/*
 * The one clock of ompi-rdmc: milliseconds of CLOCK_MONOTONIC, for
 * timeouts, deadlines and heartbeats (never for wall-clock time).  The
 * stream can be given a virtual clock instead (rdmc_stream_params_t);
 * everything else reads this one.
 */
#ifndef RDMC_CLOCK_H
#define RDMC_CLOCK_H

double rdmc_now_ms(void);

#endif
