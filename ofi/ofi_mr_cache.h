/*
 * Registration cache: keeps memory registrations of recently used buffers
 * so that broadcasting from the same buffer again registers nothing.
 *
 * Entries are reference counted while a broadcast uses them; unused ones
 * are kept for reuse and evicted least recently used first.  When memory may
 * have gone back to the system (Open MPI's release hook fired), the cache
 * forgets: idle entries are deregistered and held ones are never handed out
 * again, so a new buffer at an old address is registered afresh.  When
 * every entry is held (more broadcasts in flight than entries), a new
 * buffer gets a registration of its own, outside the entries, dropped at
 * its release: the cache never refuses.
 *
 * The cache is plain logic over two callbacks, so it is tested without a
 * provider.  It is used by one thread at a time.
 */
#ifndef RDMC_OFI_MR_CACHE_H
#define RDMC_OFI_MR_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RDMC_MR_CACHE_ENTRIES 32

typedef int (*rdmc_mr_reg_fn_t)(void *ctx, const void *addr, size_t len, void **handle_p,
                                void **desc_p);
typedef void (*rdmc_mr_dereg_fn_t)(void *ctx, void *handle);

typedef struct rdmc_mr_entry {
    uintptr_t addr;
    size_t len;
    void *handle;      /* the registration (struct fid_mr *) */
    void *desc;        /* what goes into a post */
    unsigned refs;     /* broadcasts using it now */
    uint64_t last_use;
    bool in_use;       /* slot holds a registration */
    bool stale;        /* forgotten while held: drop once released */
    bool overflow;     /* outside the entries (all were held): drop once released */
    struct rdmc_mr_entry *next_overflow;
} rdmc_mr_entry_t;

typedef struct rdmc_mr_cache {
    rdmc_mr_entry_t entries[RDMC_MR_CACHE_ENTRIES];
    uint64_t clock;
    uint64_t hits, misses;
    uint64_t overflows;              /* registrations made outside the entries */
    rdmc_mr_entry_t *overflow;       /* those still held */
    rdmc_mr_reg_fn_t reg;
    rdmc_mr_dereg_fn_t dereg;
    void *ctx;
} rdmc_mr_cache_t;

void rdmc_mr_cache_init(rdmc_mr_cache_t *cache, rdmc_mr_reg_fn_t reg,
                        rdmc_mr_dereg_fn_t dereg, void *ctx);

/* Find or make a registration covering [addr, addr+len) and hold it. */
int rdmc_mr_cache_acquire(rdmc_mr_cache_t *cache, const void *addr, size_t len,
                          rdmc_mr_entry_t **entry_p);
void rdmc_mr_cache_release(rdmc_mr_cache_t *cache, rdmc_mr_entry_t *entry);

/* Descriptor of a held registration covering the range, or NULL. */
void *rdmc_mr_cache_desc(const rdmc_mr_cache_t *cache, const void *addr, size_t len);

/* Memory may have been returned to the system: reuse nothing cached. */
void rdmc_mr_cache_forget(rdmc_mr_cache_t *cache);

/* Deregister everything (entries still held are dropped too). */
void rdmc_mr_cache_flush(rdmc_mr_cache_t *cache);

#endif
