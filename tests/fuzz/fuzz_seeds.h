/*
 * Seed corpora from real messages: every fuzz target, started as
 * `TARGET --write-seeds DIR`, writes a few inputs it built with the real
 * encoders into DIR and exits, before libFuzzer parses its own flags
 * (tests/fuzz/corpus/TARGET/ holds what it wrote).
 */
#ifndef RDMC_FUZZ_SEEDS_H
#define RDMC_FUZZ_SEEDS_H

#include <stddef.h>
#include <stdint.h>

/* A group's coll/rdmc settings line, as coll_rdmc_component.c writes it. */
#define FUZZ_SETTINGS                                                                        \
    "failures=on failure_timeout_ms=1000 heartbeat_ms=100 small_path=sst "                   \
    "bcast_min_bytes=16777216/65536 block_bytes=0 schedule=0 window=8 sst_max_bytes=4096 "   \
    "delivery=stable sst_ordering=provider provider= levels=0"

/* The DIR of `--write-seeds DIR` among argv, or NULL. */
const char *fuzz_seeds_dir(int argc, char **argv);

/* Write one seed, DIR/name; exits the process on failure. */
void fuzz_seed_write(const char *dir, const char *name, const void *bytes, size_t len);

#endif
