/* Definitions shared by the files of shm/ only. */
#ifndef RDMC_SHM_INTERNAL_H
#define RDMC_SHM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "rdmc_shm.h"

#define SHM_PAGE 4096
#define SHM_SEGMENT_MAGIC 0x726d6463534d5731ull   /* "rmdcSMW1" */

/* How a peer finds one of our shared objects: the blob of a window. */
typedef struct shm_share {
    uint32_t pid;
    int32_t fd;
    uint64_t cookie;
} shm_share_t;

/* The first page of a window's segment; the table follows. */
typedef struct shm_segment_header {
    uint64_t magic;
    uint64_t cookie;
    uint64_t table_bytes;
    uint32_t pid;
    uint32_t attached;       /* atomic: peers that mapped the segment */
    shm_share_t bell;        /* the owner's bell page */
    int32_t bell_pipe;       /* the owner's wake pipe (an fd of its process) */
} shm_segment_header_t;

/* shm_segment.c */
uint64_t rdmc_shm_random(void);
/* A new memfd of `bytes` bytes. */
int rdmc_shm_memfd(const char *name, size_t bytes, int *fd_p);
/* Open another process's fd through /proc; -ESRCH/-ENOENT when it is gone. */
int rdmc_shm_open_peer_fd(uint32_t pid, int32_t fd, int flags, int *fd_p);
/* Map a whole file shared (the caller checks its header); closes fd. */
int rdmc_shm_map_fd(int fd, void **base_p, size_t *bytes_p);

/* shm_bell.c */
typedef struct shm_bell_page {
    uint64_t rings;          /* atomic: bumped by every notifying write */
    uint32_t sleeping;       /* atomic: threads of the owner about to sleep */
    uint32_t pad;
    uint64_t cookie;
} shm_bell_page_t;

typedef struct shm_peer_bell shm_peer_bell_t;
/* Our bell, created on first use: its share and its pipe's write end. */
int rdmc_shm_bell_share(shm_share_t *share_p, int32_t *pipe_p);
/* A peer process's bell (shared by our windows; counted). */
int rdmc_shm_peer_bell_get(const shm_share_t *share, int32_t pipe, shm_peer_bell_t **bell_p);
void rdmc_shm_peer_bell_put(shm_peer_bell_t *bell);
void rdmc_shm_peer_bell_ring(shm_peer_bell_t *bell);

/* shm_wake.c */
/* Put fd (readable input) in the process's wake set, made on first use:
 * 0 or -errno. */
int rdmc_shm_wake_add(int fd);
/* Close the wake set (rdmc_shm_finalize). */
void rdmc_shm_wake_close(void);

#endif
