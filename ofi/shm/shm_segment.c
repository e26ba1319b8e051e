/*
 * memfd segments, shared without names: a peer opens the owner's fd
 * through /proc/<pid>/fd/<n> (allowed between processes of one user that
 * may read each other's /proc, as mpirun's ranks), so nothing is left in
 * /dev/shm or elsewhere when processes die, however they die.
 */
#define _GNU_SOURCE   /* memfd_create */
#include "shm_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

uint64_t rdmc_shm_random(void)
{
    uint64_t r = 0;

    if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r)) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        r = ((uint64_t)getpid() << 32) ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20);
    }
    return r | 1;   /* never 0: a zeroed header never matches */
}

int rdmc_shm_memfd(const char *name, size_t bytes, int *fd_p)
{
    int fd = memfd_create(name, MFD_CLOEXEC);

    if (fd < 0) {
        return -errno;
    }
    if (ftruncate(fd, (off_t)bytes) != 0) {
        int rc = -errno;
        close(fd);
        return rc;
    }
    *fd_p = fd;
    return 0;
}

int rdmc_shm_open_peer_fd(uint32_t pid, int32_t fd, int flags, int *fd_p)
{
    char path[64];
    int mine;

    if (fd < 0) {
        return -EINVAL;
    }
    snprintf(path, sizeof(path), "/proc/%u/fd/%d", pid, fd);
    mine = open(path, flags | O_CLOEXEC);
    if (mine < 0) {
        return -errno;
    }
    *fd_p = mine;
    return 0;
}

int rdmc_shm_map_fd(int fd, void **base_p, size_t *bytes_p)
{
    struct stat st;
    void *base;
    int rc = 0;

    if (fstat(fd, &st) != 0) {
        rc = -errno;
    } else if (st.st_size < SHM_PAGE) {
        rc = -EINVAL;   /* not one of ours */
    } else if ((base = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                            0)) == MAP_FAILED) {
        rc = -errno;
    } else {
        *base_p = base;
        *bytes_p = (size_t)st.st_size;
    }
    close(fd);
    return rc;
}
