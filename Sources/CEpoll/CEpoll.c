// Implementation of CEpoll.h: thin wrappers, each returning -errno on failure.
#define _GNU_SOURCE
#include "CEpoll.h"

#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <pthread.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

const uint32_t CEPOLL_IN = EPOLLIN;
const uint32_t CEPOLL_OUT = EPOLLOUT;
const uint32_t CEPOLL_ERR = EPOLLERR;
const uint32_t CEPOLL_HUP = EPOLLHUP;
const uint32_t CEPOLL_RDHUP = EPOLLRDHUP;

const int CEPOLL_CTL_ADD = EPOLL_CTL_ADD;
const int CEPOLL_CTL_MOD = EPOLL_CTL_MOD;
const int CEPOLL_CTL_DEL = EPOLL_CTL_DEL;

#define RETURN_FD_OR_ERRNO(expr) do { int r_ = (expr); return r_ < 0 ? -errno : r_; } while (0)

int cepoll_create(void) {
    RETURN_FD_OR_ERRNO(epoll_create1(EPOLL_CLOEXEC));
}

int cepoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.u64 = data;
    RETURN_FD_OR_ERRNO(epoll_ctl(epfd, op, fd, &ev));
}

int cepoll_wait(int epfd, uint64_t *datas, uint32_t *events, int max, int timeout_ms) {
    struct epoll_event evs[CEPOLL_MAX_EVENTS];
    if (max > CEPOLL_MAX_EVENTS) max = CEPOLL_MAX_EVENTS;
    if (max < 1) max = 1;
    int n = epoll_wait(epfd, evs, max, timeout_ms);
    if (n < 0) return -errno;
    for (int i = 0; i < n; i++) {
        datas[i] = evs[i].data.u64;
        events[i] = evs[i].events;
    }
    return n;
}

int cepoll_eventfd(void) {
    RETURN_FD_OR_ERRNO(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
}

int cepoll_eventfd_signal(int fd) {
    uint64_t one = 1;
    ssize_t n = write(fd, &one, sizeof one);
    return n < 0 ? -errno : 0;
}

int cepoll_eventfd_drain(int fd) {
    uint64_t value = 0;
    ssize_t n = read(fd, &value, sizeof value);
    return n < 0 ? -errno : 0;
}

int cepoll_tcp4_socket(void) {
    RETURN_FD_OR_ERRNO(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
}

static int set_int_option(int fd, int level, int name, int value) {
    RETURN_FD_OR_ERRNO(setsockopt(fd, level, name, &value, sizeof value));
}

int cepoll_set_reuseaddr(int fd, int on) { return set_int_option(fd, SOL_SOCKET, SO_REUSEADDR, on ? 1 : 0); }
int cepoll_set_nodelay(int fd, int on) { return set_int_option(fd, IPPROTO_TCP, TCP_NODELAY, on ? 1 : 0); }
int cepoll_set_bind_no_port(int fd, int on) { return set_int_option(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, on ? 1 : 0); }

int cepoll_set_nonblocking(int fd, int on) {
    int flags = fcntl(fd, F_GETFL, 0);
    if (flags < 0) return -errno;
    flags = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
    RETURN_FD_OR_ERRNO(fcntl(fd, F_SETFL, flags));
}

int cepoll_socket_error(int fd) {
    int error = 0;
    socklen_t length = sizeof error;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) < 0) return -errno;
    return error;
}

static struct sockaddr_in make_address(uint32_t addr, uint16_t port) {
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(addr);
    sa.sin_port = htons(port);
    return sa;
}

int cepoll_bind4(int fd, uint32_t addr, uint16_t port) {
    struct sockaddr_in sa = make_address(addr, port);
    RETURN_FD_OR_ERRNO(bind(fd, (struct sockaddr *)&sa, sizeof sa));
}

int cepoll_connect4(int fd, uint32_t addr, uint16_t port) {
    struct sockaddr_in sa = make_address(addr, port);
    RETURN_FD_OR_ERRNO(connect(fd, (struct sockaddr *)&sa, sizeof sa));
}

int cepoll_listen(int fd, int backlog) {
    RETURN_FD_OR_ERRNO(listen(fd, backlog));
}

static void store_address(const struct sockaddr_in *sa, uint32_t *addr, uint16_t *port) {
    if (addr) *addr = ntohl(sa->sin_addr.s_addr);
    if (port) *port = ntohs(sa->sin_port);
}

int cepoll_accept4(int fd, uint32_t *addr, uint16_t *port) {
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    socklen_t length = sizeof sa;
    int client = accept4(fd, (struct sockaddr *)&sa, &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (client < 0) return -errno;
    store_address(&sa, addr, port);
    return client;
}

static int get_address(int fd, int peer, uint32_t *addr, uint16_t *port) {
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    socklen_t length = sizeof ss;
    int r = peer ? getpeername(fd, (struct sockaddr *)&ss, &length)
                 : getsockname(fd, (struct sockaddr *)&ss, &length);
    if (r < 0) return -errno;
    if (ss.ss_family != AF_INET) return -EAFNOSUPPORT;
    store_address((const struct sockaddr_in *)&ss, addr, port);
    return 0;
}

int cepoll_local_address4(int fd, uint32_t *addr, uint16_t *port) { return get_address(fd, 0, addr, port); }
int cepoll_peer_address4(int fd, uint32_t *addr, uint16_t *port) { return get_address(fd, 1, addr, port); }

ssize_t cepoll_read(int fd, void *buffer, size_t count) {
    ssize_t n = read(fd, buffer, count);
    return n < 0 ? -errno : n;
}

ssize_t cepoll_send(int fd, const void *buffer, size_t count) {
    ssize_t n = send(fd, buffer, count, MSG_NOSIGNAL | MSG_DONTWAIT);
    return n < 0 ? -errno : n;
}

int cepoll_shutdown_write(int fd) {
    RETURN_FD_OR_ERRNO(shutdown(fd, SHUT_WR));
}

int cepoll_close(int fd) {
    RETURN_FD_OR_ERRNO(close(fd));
}

int cepoll_ignore_sigpipe(void) {
    return signal(SIGPIPE, SIG_IGN) == SIG_ERR ? -errno : 0;
}

int cepoll_nofile_limit(uint64_t *soft, uint64_t *hard) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0) return -errno;
    if (soft) *soft = (uint64_t)rl.rlim_cur;
    if (hard) *hard = (uint64_t)rl.rlim_max;
    return 0;
}

int cepoll_raise_nofile_limit(uint64_t *soft, uint64_t *hard) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0) return -errno;
    if (rl.rlim_cur != rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
            // An unlimited hard limit cannot be the soft limit for files (fs.nr_open caps it).
            if (rl.rlim_max != RLIM_INFINITY) return -errno;
            rl.rlim_cur = 1048576;
            if (setrlimit(RLIMIT_NOFILE, &rl) < 0) return -errno;
        }
    }
    return cepoll_nofile_limit(soft, hard);
}

int cepoll_set_thread_name(const char *name) {
    char shortName[16];
    strncpy(shortName, name, sizeof shortName - 1);
    shortName[sizeof shortName - 1] = 0;
    int r = pthread_setname_np(pthread_self(), shortName);
    return r == 0 ? 0 : -r;
}

void cepoll_strerror(int error, char *buffer, size_t size) {
    if (size == 0) return;
    buffer[0] = 0;
    // The GNU strerror_r may return a static string instead of filling the buffer.
    const char *text = strerror_r(error, buffer, size);
    if (text != buffer) {
        strncpy(buffer, text ? text : "unknown error", size - 1);
        buffer[size - 1] = 0;
    }
}

int cepoll_release_free_memory(void) {
    return malloc_trim(0);
}
