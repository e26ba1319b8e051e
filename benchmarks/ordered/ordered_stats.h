/*
 * Percentiles of latency samples, shared by the ordered-delivery clients
 * (rdmc's MPI program and the ZooKeeper client).
 */
#ifndef ORDERED_STATS_H
#define ORDERED_STATS_H

/* The p-th percentile (0..100) of v[0..n-1], nearest rank; sorts v in
 * place.  0 when n is 0. */
double ordered_percentile(double *v, int n, double p);

/* Seconds of CLOCK_REALTIME: every emulated host is a namespace of this
 * machine, so every process reads the same clock. */
double ordered_now(void);

#endif
