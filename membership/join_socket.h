/*
 * The TCP socket a joiner's handshake travels on, before any communicator
 * joins the two sides.  Every call is bounded by a deadline (milliseconds
 * of CLOCK_MONOTONIC, rdmc_now_ms in coll/rdmc_clock.h) and sleeps in poll() meanwhile.
 *
 * Frames: a 4-byte big-endian length, then that many bytes (at most
 * RDMC_JOIN_MSG_MAX).  All functions return 0 or a negative errno:
 * -ETIMEDOUT, -ECONNRESET (the peer closed), -EMSGSIZE (a frame longer
 * than allowed), or what the socket call said.
 */
#ifndef RDMC_JOIN_SOCKET_H
#define RDMC_JOIN_SOCKET_H

#include <stddef.h>
#include <stdint.h>

/* A listening socket on every interface, on a port the kernel picks. */
int rdmc_join_listen(int *fd_p, int *port_p);

/* The next connection on a listening socket. */
int rdmc_join_accept(int listen_fd, double deadline_ms, int *fd_p);

/* Connect to host:port (a name or an address). */
int rdmc_join_connect(const char *host, int port, double deadline_ms, int *fd_p);

int rdmc_join_send_frame(int fd, const uint8_t *buf, size_t len, double deadline_ms);
int rdmc_join_recv_frame(int fd, uint8_t *buf, size_t cap, size_t *len_p, double deadline_ms);

#endif
