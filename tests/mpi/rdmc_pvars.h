/* Reading coll/rdmc's MPI_T performance variables (shared by the MPI tests
 * and the benchmark). */
#ifndef RDMC_PVARS_H
#define RDMC_PVARS_H

/* The counter `name` (e.g. "coll_rdmc_bcasts") counted from this process's
 * first call for it, or -1 when no such variable exists (coll/rdmc not
 * loaded).  Any time after MPI_Init; compare differences only. */
long long rdmc_pvar_read(const char *name);

#endif
