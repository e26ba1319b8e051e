/* One broadcast from a root, every byte checked at every rank (shared by
 * the MPI tests that broadcast on communicators of their own making). */
#ifndef RDMC_TEST_BCAST_CHECKED_H
#define RDMC_TEST_BCAST_CHECKED_H

#include <mpi.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

static inline unsigned char bcast_pattern(size_t i, int tag)
{
    return (unsigned char)(i * 131 + (size_t)tag * 17 + 1);
}

/* `bytes` from root on comm (MPI_Bcast, or MPI_Ibcast + MPI_Wait), the
 * root's bytes a pattern of `tag`; false, with a line on stderr that
 * starts with `who`, if the call failed or a byte differs. */
static inline bool bcast_checked(const char *who, MPI_Comm comm, int root, int tag, int bytes,
                                 bool nonblocking)
{
    unsigned char *buf = malloc((size_t)bytes);
    bool right = true;
    int rank, rc;

    MPI_Comm_rank(comm, &rank);
    for (int i = 0; i < bytes; i++) {
        buf[i] = rank == root ? bcast_pattern((size_t)i, tag) : 0;
    }
    if (nonblocking) {
        MPI_Request req;
        rc = MPI_Ibcast(buf, bytes, MPI_BYTE, root, comm, &req);
        if (rc == MPI_SUCCESS) {
            rc = MPI_Wait(&req, MPI_STATUS_IGNORE);
        }
    } else {
        rc = MPI_Bcast(buf, bytes, MPI_BYTE, root, comm);
    }
    if (rc != MPI_SUCCESS) {
        fprintf(stderr, "%s rank %d: broadcast %d from root %d returned %d\n", who, rank, tag,
                root, rc);
        right = false;
    }
    for (int i = 0; i < bytes && right; i++) {
        if (buf[i] != bcast_pattern((size_t)i, tag)) {
            fprintf(stderr, "%s rank %d: broadcast %d from root %d: byte %d of %d differs\n",
                    who, rank, tag, root, i, bytes);
            right = false;
        }
    }
    free(buf);
    return right;
}

#endif
