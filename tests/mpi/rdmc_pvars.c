#include "rdmc_pvars.h"

#include <mpi.h>
#include <string.h>

/* Open MPI reads a counter relative to when its handle was allocated, so
 * the handles are kept for the whole run: values count from the first read
 * of each variable.  Callers only ever look at differences. */
#define MAX_TRACKED 8

typedef struct tracked {
    char name[64];
    MPI_T_pvar_handle handle;
} tracked_t;

static MPI_T_pvar_session session;
static tracked_t tracked[MAX_TRACKED];
static int ntracked = -1;   /* -1: MPI_T not initialised yet */

static int find_pvar(const char *wanted)
{
    int num = 0;

    MPI_T_pvar_get_num(&num);
    for (int i = 0; i < num; i++) {
        char name[256], desc[512];
        int name_len = sizeof(name), desc_len = sizeof(desc);
        int verbosity, var_class, bind, readonly, continuous, atomic;
        MPI_Datatype dtype;
        MPI_T_enum enumtype;
        if (MPI_T_pvar_get_info(i, name, &name_len, &verbosity, &var_class, &dtype, &enumtype,
                                desc, &desc_len, &bind, &readonly, &continuous,
                                &atomic) == MPI_SUCCESS &&
            strcmp(name, wanted) == 0) {
            return i;
        }
    }
    return -1;
}

static tracked_t *track(const char *name)
{
    int provided, count, index;

    if (ntracked < 0) {
        if (MPI_T_init_thread(MPI_THREAD_SINGLE, &provided) != MPI_SUCCESS ||
            MPI_T_pvar_session_create(&session) != MPI_SUCCESS) {
            return NULL;
        }
        ntracked = 0;
    }
    for (int i = 0; i < ntracked; i++) {
        if (strcmp(tracked[i].name, name) == 0) {
            return &tracked[i];
        }
    }
    index = find_pvar(name);
    if (index < 0 || ntracked == MAX_TRACKED) {
        return NULL;
    }
    tracked_t *t = &tracked[ntracked];
    if (MPI_T_pvar_handle_alloc(session, index, NULL, &t->handle, &count) != MPI_SUCCESS) {
        return NULL;
    }
    strncpy(t->name, name, sizeof(t->name) - 1);
    ntracked++;
    return t;
}

long long rdmc_pvar_read(const char *name)
{
    tracked_t *t = track(name);
    unsigned long long value = 0;

    if (t == NULL || MPI_T_pvar_read(session, t->handle, &value) != MPI_SUCCESS) {
        return -1;
    }
    return (long long)value;
}
