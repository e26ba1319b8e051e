/*
 * What differs, for this component, between the Open MPI versions it
 * builds against (4.1.x and 5.0.x).  Everything version-dependent lives
 * here, so the rest of coll/ reads the same for both.
 */
#ifndef MCA_COLL_RDMC_COMPAT_H
#define MCA_COLL_RDMC_COMPAT_H

#include "ompi_config.h"

#include "mpi.h"
#include "ompi/mca/coll/coll.h"

#if OMPI_MAJOR_VERSION >= 5
/* coll API 2.4.0: the same fields; only the names carry the version. */
typedef mca_coll_base_component_2_4_0_t rdmc_coll_base_component_t;
#define RDMC_COLL_BASE_VERSION MCA_COLL_BASE_VERSION_2_4_0
#else
typedef mca_coll_base_component_2_0_0_t rdmc_coll_base_component_t;
#define RDMC_COLL_BASE_VERSION MCA_COLL_BASE_VERSION_2_0_0
#endif

/* The component's symbol, which Open MPI looks up after dlopen (the
 * component is built with -fvisibility=hidden).  4.1 spells it
 * OMPI_MODULE_DECLSPEC, 5.0 has no such macro. */
#define RDMC_COMPONENT_EXPORT __attribute__((visibility("default")))

#endif
