/*
 * Heartbeats shared between the communicators of a process
 * (group_manager.h, "Heartbeats shared between communicators").
 *
 * One record per peer process, named by its job and rank in it (as in
 * coll_rdmc_verdicts.c), held by every link with failure handling that
 * has the process as a member, and freed with the last of them.  Each
 * link's group manager judges the member by the record's evidence and
 * beats only while it carries the record (or one nobody carries yet).
 * Everything here runs under the engine lock.
 */
#include "coll_rdmc.h"

#include <stdlib.h>

#include "opal/class/opal_hash_table.h"

typedef struct mca_coll_rdmc_beat_record {
    rdmc_beat_share_t share;   /* first: the links hold &record->share */
    uint64_t process;
    int refs;
} beat_record_t;

static opal_hash_table_t records;
static bool records_made;

static beat_record_t *record_get(uint64_t process)
{
    beat_record_t *record = NULL;

    if (!records_made) {
        OBJ_CONSTRUCT(&records, opal_hash_table_t);
        if (opal_hash_table_init(&records, 64) != OPAL_SUCCESS) {
            OBJ_DESTRUCT(&records);
            return NULL;
        }
        records_made = true;
    }
    if (opal_hash_table_get_value_uint64(&records, process, (void **)&record) != OPAL_SUCCESS) {
        record = calloc(1, sizeof(*record));
        if (record == NULL) {
            return NULL;
        }
        record->process = process;
        if (opal_hash_table_set_value_uint64(&records, process, record) != OPAL_SUCCESS) {
            free(record);
            return NULL;
        }
    }
    record->refs++;
    return record;
}

static void record_put(beat_record_t *record)
{
    if (--record->refs > 0) {
        return;
    }
    (void)opal_hash_table_remove_value_uint64(&records, record->process);
    free(record);
    if (opal_hash_table_get_size(&records) == 0) {
        OBJ_DESTRUCT(&records);
        records_made = false;
    }
}

void mca_coll_rdmc_beats_share(mca_coll_rdmc_link_t *l)
{
    ompi_communicator_t *comm = l->module->comm;
    int n = ompi_comm_size(comm), me = ompi_comm_rank(comm);

    l->beat_records = calloc((size_t)n, sizeof(*l->beat_records));
    if (l->beat_records == NULL) {
        return;   /* every member judged by this link's own beats, as before */
    }
    for (int r = 0; r < n; r++) {
        beat_record_t *record = r == me ? NULL : record_get(mca_coll_rdmc_process_of(comm, r));
        if (record != NULL) {
            l->beat_records[r] = record;
            rdmc_gm_share_beats(l->gm, r, &record->share);
        }
    }
    l->nbeat_records = n;
}

void mca_coll_rdmc_beats_unshare(mca_coll_rdmc_link_t *l)
{
    for (int r = 0; r < l->nbeat_records; r++) {
        if (l->beat_records[r] != NULL) {
            record_put(l->beat_records[r]);
        }
    }
    free(l->beat_records);
    l->beat_records = NULL;
    l->nbeat_records = 0;
}
