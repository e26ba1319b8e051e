/* MPI_Bcast_init by its name in each Open MPI: MPI 4.0's in 5.0, the
 * pcollreq extension's MPIX_Bcast_init in 4.1. */
#ifndef RDMC_BCAST_INIT_H
#define RDMC_BCAST_INIT_H

#include <mpi.h>
#include <mpi-ext.h>

#if defined(OMPI_HAVE_MPI_EXT_PCOLLREQ)
#define rdmc_bcast_init MPIX_Bcast_init
#else
#define rdmc_bcast_init MPI_Bcast_init
#endif

#endif
