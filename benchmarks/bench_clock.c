#include "bench_clock.h"

#include <mpi.h>

#define OFFSET_PINGS 20

double bench_clock_offset_to_root(int root, int rank, int size)
{
    double offset = 0;

    for (int peer = 0; peer < size; peer++) {
        if (peer == root) {
            continue;
        }
        double best_rtt = 1e9, best_offset = 0;
        for (int i = 0; i < OFFSET_PINGS; i++) {
            if (rank == peer) {
                double t0 = MPI_Wtime(), root_time;
                MPI_Send(&t0, 1, MPI_DOUBLE, root, 7, MPI_COMM_WORLD);
                MPI_Recv(&root_time, 1, MPI_DOUBLE, root, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                double t1 = MPI_Wtime();
                if (t1 - t0 < best_rtt) {
                    best_rtt = t1 - t0;
                    best_offset = root_time - (t0 + t1) / 2;
                }
            } else if (rank == root) {
                double t, now;
                MPI_Recv(&t, 1, MPI_DOUBLE, peer, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                now = MPI_Wtime();
                MPI_Send(&now, 1, MPI_DOUBLE, peer, 7, MPI_COMM_WORLD);
            }
        }
        if (rank == peer) {
            offset = best_offset;
        }
    }
    return offset;
}
