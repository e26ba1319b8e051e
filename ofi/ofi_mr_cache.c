#include "ofi_mr_cache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void rdmc_mr_cache_init(rdmc_mr_cache_t *cache, rdmc_mr_reg_fn_t reg,
                        rdmc_mr_dereg_fn_t dereg, void *ctx)
{
    memset(cache, 0, sizeof(*cache));
    cache->reg = reg;
    cache->dereg = dereg;
    cache->ctx = ctx;
}

static bool entry_covers(const rdmc_mr_entry_t *e, uintptr_t addr, size_t len)
{
    return e->in_use && !e->stale && addr >= e->addr && addr + len <= e->addr + e->len;
}

static void entry_drop(rdmc_mr_cache_t *cache, rdmc_mr_entry_t *e)
{
    cache->dereg(cache->ctx, e->handle);
    memset(e, 0, sizeof(*e));
}

/* A free slot, or the least recently used idle entry evicted. */
static rdmc_mr_entry_t *cache_slot(rdmc_mr_cache_t *cache)
{
    rdmc_mr_entry_t *victim = NULL;

    for (int i = 0; i < RDMC_MR_CACHE_ENTRIES; i++) {
        rdmc_mr_entry_t *e = &cache->entries[i];
        if (!e->in_use) {
            return e;
        }
        if (e->refs == 0 && (victim == NULL || e->last_use < victim->last_use)) {
            victim = e;
        }
    }
    if (victim != NULL) {
        entry_drop(cache, victim);
    }
    return victim;
}

int rdmc_mr_cache_acquire(rdmc_mr_cache_t *cache, const void *addr, size_t len,
                          rdmc_mr_entry_t **entry_p)
{
    uintptr_t a = (uintptr_t)addr;
    rdmc_mr_entry_t *e = NULL;

    for (int i = 0; i < RDMC_MR_CACHE_ENTRIES && e == NULL; i++) {
        if (entry_covers(&cache->entries[i], a, len)) {
            e = &cache->entries[i];
        }
    }
    if (e != NULL) {
        cache->hits++;
    } else {
        e = cache_slot(cache);
        if (e == NULL) {
            /* Every entry is held by a running broadcast: this one gets a
             * registration of its own, dropped when it releases it. */
            e = calloc(1, sizeof(*e));
            if (e == NULL) {
                return -ENOMEM;
            }
            e->overflow = true;
        }
        int rc = cache->reg(cache->ctx, addr, len, &e->handle, &e->desc);
        if (rc != 0) {
            if (e->overflow) {
                free(e);
            }
            return rc;
        }
        cache->misses++;
        if (e->overflow) {
            cache->overflows++;
            e->next_overflow = cache->overflow;
            cache->overflow = e;
        }
        e->addr = a;
        e->len = len;
        e->in_use = true;
    }
    e->refs++;
    e->last_use = ++cache->clock;
    *entry_p = e;
    return 0;
}

static void overflow_drop(rdmc_mr_cache_t *cache, rdmc_mr_entry_t *entry)
{
    rdmc_mr_entry_t **link = &cache->overflow;

    while (*link != entry) {
        link = &(*link)->next_overflow;
    }
    *link = entry->next_overflow;
    cache->dereg(cache->ctx, entry->handle);
    free(entry);
}

void rdmc_mr_cache_release(rdmc_mr_cache_t *cache, rdmc_mr_entry_t *entry)
{
    if (--entry->refs > 0) {
        return;
    }
    if (entry->overflow) {
        overflow_drop(cache, entry);
    } else if (entry->stale) {
        entry_drop(cache, entry);
    }
}

void *rdmc_mr_cache_desc(const rdmc_mr_cache_t *cache, const void *addr, size_t len)
{
    for (int i = 0; i < RDMC_MR_CACHE_ENTRIES; i++) {
        const rdmc_mr_entry_t *e = &cache->entries[i];
        /* A stale entry still serves the broadcast that holds it. */
        if (e->in_use && e->refs > 0 && (uintptr_t)addr >= e->addr &&
            (uintptr_t)addr + len <= e->addr + e->len) {
            return e->desc;
        }
    }
    for (const rdmc_mr_entry_t *e = cache->overflow; e != NULL; e = e->next_overflow) {
        if ((uintptr_t)addr >= e->addr && (uintptr_t)addr + len <= e->addr + e->len) {
            return e->desc;
        }
    }
    return NULL;
}

void rdmc_mr_cache_forget(rdmc_mr_cache_t *cache)
{
    for (int i = 0; i < RDMC_MR_CACHE_ENTRIES; i++) {
        rdmc_mr_entry_t *e = &cache->entries[i];
        if (!e->in_use) {
            continue;
        }
        if (e->refs == 0) {
            entry_drop(cache, e);
        } else {
            e->stale = true;
        }
    }
}

void rdmc_mr_cache_flush(rdmc_mr_cache_t *cache)
{
    while (cache->overflow != NULL) {
        overflow_drop(cache, cache->overflow);
    }
    for (int i = 0; i < RDMC_MR_CACHE_ENTRIES; i++) {
        if (cache->entries[i].in_use) {
            entry_drop(cache, &cache->entries[i]);
        }
    }
}
