/*
 * What the operating system shows of a process on this node, read from
 * /proc/PID/task/TID/stat: the failure detector asks it about a silent
 * member (late, stopped or gone?).
 */
#include "rdmc_shm.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The state letter of a /proc stat file (R running or runnable, S or D
 * blocked, T or t stopped, Z or X dead), or 0 if it cannot be read. */
static char stat_state(const char *path)
{
    char stat[512];
    const char *end;
    ssize_t len;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        return 0;
    }
    len = read(fd, stat, sizeof(stat) - 1);
    close(fd);
    if (len <= 0) {
        return 0;
    }
    stat[len] = '\0';
    end = strrchr(stat, ')');   /* the command name may hold anything */
    return end != NULL && end[1] == ' ' ? end[2] : 0;
}

/* From its threads' states: stopped if one is (a stop signal stops them
 * all), live if one is not dead, gone once every one is dead or the
 * process has left /proc altogether. */
rdmc_peer_state_t rdmc_shm_proc_state(uint32_t pid)
{
    char path[96];
    struct dirent *e;
    bool live = false, stopped = false, dead = false;
    DIR *tasks;

    if (pid == 0) {
        return RDMC_PEER_UNKNOWN;
    }
    if (rdmc_shm_exited(pid)) {
        return RDMC_PEER_GONE;
    }
    snprintf(path, sizeof(path), "/proc/%u/task", pid);
    tasks = opendir(path);
    if (tasks == NULL) {
        return errno == ENOENT ? RDMC_PEER_GONE : RDMC_PEER_UNKNOWN;
    }
    while (!stopped && (e = readdir(tasks)) != NULL) {
        if (e->d_name[0] != '.') {
            snprintf(path, sizeof(path), "/proc/%u/task/%.16s/stat", pid, e->d_name);
            char state = stat_state(path);
            stopped = state == 'T' || state == 't';
            live = live || (state != 0 && state != 'Z' && state != 'X');
            dead = dead || state == 'Z' || state == 'X';
        }
    }
    closedir(tasks);
    if (stopped) {
        return RDMC_PEER_STOPPED;
    }
    if (live) {
        return RDMC_PEER_LIVE;
    }
    return dead ? RDMC_PEER_GONE : RDMC_PEER_UNKNOWN;
}
