/*
 * Bounded TCP for the join handshake (join_socket.h).
 */
#define _GNU_SOURCE   /* accept4 */
#include "join_socket.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "coll/core/rdmc_clock.h"
#include "join_wire.h"

/* Sleep until fd is ready for `events` or the deadline passes. */
static int wait_ready(int fd, short events, double deadline_ms)
{
    for (;;) {
        double left = deadline_ms - rdmc_now_ms();
        struct pollfd p = { .fd = fd, .events = events };
        int rc;

        if (left <= 0) {
            return -ETIMEDOUT;
        }
        rc = poll(&p, 1, left > 1000 ? 1000 : (int)left + 1);
        if (rc > 0) {
            return 0;
        }
        if (rc < 0 && errno != EINTR) {
            return -errno;
        }
    }
}

static int nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);

    return flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ? -errno : 0;
}

int rdmc_join_listen(int *fd_p, int *port_p)
{
    struct sockaddr_in6 addr = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT };
    socklen_t len = sizeof(addr);
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0), off = 0, rc = 0;

    if (fd < 0) {
        return -errno;
    }
    /* One socket for IPv4 and IPv6 joiners alike. */
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) != 0 ||
        bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(fd, 16) != 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &len) != 0) {
        rc = -errno;
    }
    if (rc == 0) {
        rc = nonblocking(fd);
    }
    if (rc != 0) {
        close(fd);
        return rc;
    }
    *fd_p = fd;
    *port_p = ntohs(addr.sin6_port);
    return 0;
}

int rdmc_join_accept(int listen_fd, double deadline_ms, int *fd_p)
{
    for (;;) {
        int rc = wait_ready(listen_fd, POLLIN, deadline_ms), fd;

        if (rc != 0) {
            return rc;
        }
        fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd >= 0) {
            *fd_p = fd;
            return 0;
        }
        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
            return -errno;
        }
    }
}

static int connect_one(const struct addrinfo *ai, double deadline_ms, int *fd_p)
{
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), rc, err = 0;
    socklen_t len = sizeof(err);

    if (fd < 0) {
        return -errno;
    }
    rc = nonblocking(fd);
    if (rc == 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        rc = errno == EINPROGRESS ? wait_ready(fd, POLLOUT, deadline_ms) : -errno;
        if (rc == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err != 0) {
            rc = -err;
        }
    }
    if (rc != 0) {
        close(fd);
        return rc;
    }
    *fd_p = fd;
    return 0;
}

int rdmc_join_connect(const char *host, int port, double deadline_ms, int *fd_p)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *list, *ai;
    char service[16];
    int rc;

    snprintf(service, sizeof(service), "%d", port);
    rc = getaddrinfo(host, service, &hints, &list);
    if (rc != 0) {
        return -EHOSTUNREACH;
    }
    rc = -EHOSTUNREACH;
    for (ai = list; ai != NULL && rc != 0 && rc != -ETIMEDOUT; ai = ai->ai_next) {
        rc = connect_one(ai, deadline_ms, fd_p);
    }
    freeaddrinfo(list);
    return rc;
}

static int send_all(int fd, const uint8_t *buf, size_t len, double deadline_ms)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

        if (n > 0) {
            buf += n;
            len -= (size_t)n;
        } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
            return errno == EPIPE ? -ECONNRESET : -errno;
        } else {
            int rc = wait_ready(fd, POLLOUT, deadline_ms);
            if (rc != 0) {
                return rc;
            }
        }
    }
    return 0;
}

static int recv_all(int fd, uint8_t *buf, size_t len, double deadline_ms)
{
    while (len > 0) {
        ssize_t n = recv(fd, buf, len, 0);

        if (n > 0) {
            buf += n;
            len -= (size_t)n;
        } else if (n == 0) {
            return -ECONNRESET;
        } else if (errno != EAGAIN && errno != EINTR) {
            return -errno;
        } else {
            int rc = wait_ready(fd, POLLIN, deadline_ms);
            if (rc != 0) {
                return rc;
            }
        }
    }
    return 0;
}

int rdmc_join_send_frame(int fd, const uint8_t *buf, size_t len, double deadline_ms)
{
    uint8_t head[4] = { (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
                        (uint8_t)len };
    int rc;

    if (len > RDMC_JOIN_MSG_MAX) {
        return -EMSGSIZE;
    }
    rc = send_all(fd, head, sizeof(head), deadline_ms);
    return rc != 0 ? rc : send_all(fd, buf, len, deadline_ms);
}

int rdmc_join_recv_frame(int fd, uint8_t *buf, size_t cap, size_t *len_p, double deadline_ms)
{
    uint8_t head[4];
    size_t len;
    int rc = recv_all(fd, head, sizeof(head), deadline_ms);

    if (rc != 0) {
        return rc;
    }
    len = (size_t)head[0] << 24 | (size_t)head[1] << 16 | (size_t)head[2] << 8 | head[3];
    if (len > cap || len > RDMC_JOIN_MSG_MAX) {
        return -EMSGSIZE;
    }
    rc = recv_all(fd, buf, len, deadline_ms);
    if (rc == 0) {
        *len_p = len;
    }
    return rc;
}
