/*
 * Clocks of the benchmarks' ranks against the root's.
 */
#ifndef BENCH_CLOCK_H
#define BENCH_CLOCK_H

/* The root's clock minus this rank's (add it to MPI_Wtime() to read the
 * root's clock), from the ping-pong with the smallest round trip of a few
 * (Cristian's method); 0 at the root.  Collective over MPI_COMM_WORLD. */
double bench_clock_offset_to_root(int root, int rank, int size);

#endif
