// CEpoll: the Linux system calls that the HJNetwork module needs and that Swift cannot
// import well (packed `struct epoll_event`, variadic `fcntl`, `sockaddr` casts, macros).
//
// Conventions, the same for every function here:
// - A call that fails returns the NEGATIVE errno (for example -ECONNREFUSED); it never relies on
//   the caller reading the thread-local `errno` afterwards.
// - No function here retries EINTR: the Swift side retries in one place (`Syscall.swift`).
// - IPv4 addresses and ports cross this boundary in HOST byte order.
#ifndef CEPOLL_H
#define CEPOLL_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

// ---- epoll ---------------------------------------------------------------------------------

// Event bits (the values of EPOLLIN etc., as plain constants Swift can import).
extern const uint32_t CEPOLL_IN;
extern const uint32_t CEPOLL_OUT;
extern const uint32_t CEPOLL_ERR;
extern const uint32_t CEPOLL_HUP;
extern const uint32_t CEPOLL_RDHUP;

// Operations for cepoll_ctl.
extern const int CEPOLL_CTL_ADD;
extern const int CEPOLL_CTL_MOD;
extern const int CEPOLL_CTL_DEL;

// Largest `max` accepted by cepoll_wait (larger values are clamped).
#define CEPOLL_MAX_EVENTS 1024

// epoll_create1(EPOLL_CLOEXEC). Returns the fd or -errno.
int cepoll_create(void);

// epoll_ctl with the event's 64-bit user data. Returns 0 or -errno.
int cepoll_ctl(int epfd, int op, int fd, uint32_t events, uint64_t data);

// epoll_wait; fills datas[i] and events[i] for i < result. Returns the count or -errno.
int cepoll_wait(int epfd, uint64_t *datas, uint32_t *events, int max, int timeout_ms);

// ---- eventfd --------------------------------------------------------------------------------

// eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC). Returns the fd or -errno.
int cepoll_eventfd(void);

// Adds 1 to the eventfd counter (wakes a waiting epoll). Returns 0 or -errno (-EAGAIN if full).
int cepoll_eventfd_signal(int fd);

// Reads and resets the eventfd counter. Returns 0 or -errno (-EAGAIN when it was zero).
int cepoll_eventfd_drain(int fd);

// ---- sockets --------------------------------------------------------------------------------

// socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0). Returns the fd or -errno.
int cepoll_tcp4_socket(void);

// Socket options. Each returns 0 or -errno.
int cepoll_set_reuseaddr(int fd, int on);
int cepoll_set_nodelay(int fd, int on);
// IP_BIND_ADDRESS_NO_PORT: a bind() to a source address leaves the port to connect(), so the
// kernel may reuse a local port for different destinations.
int cepoll_set_bind_no_port(int fd, int on);
int cepoll_set_nonblocking(int fd, int on);

// Returns the pending socket error (SO_ERROR, 0 for none) or -errno if getsockopt failed.
int cepoll_socket_error(int fd);

// bind / connect / listen on IPv4 (host byte order). Each returns 0 or -errno.
int cepoll_bind4(int fd, uint32_t addr, uint16_t port);
int cepoll_connect4(int fd, uint32_t addr, uint16_t port);
int cepoll_listen(int fd, int backlog);

// accept4(SOCK_NONBLOCK | SOCK_CLOEXEC); stores the peer address. Returns the new fd or -errno.
int cepoll_accept4(int fd, uint32_t *addr, uint16_t *port);

// getsockname / getpeername for IPv4. Return 0 or -errno (-EAFNOSUPPORT if not IPv4).
int cepoll_local_address4(int fd, uint32_t *addr, uint16_t *port);
int cepoll_peer_address4(int fd, uint32_t *addr, uint16_t *port);

// read(2). Returns the byte count (0 at end of stream) or -errno.
ssize_t cepoll_read(int fd, void *buffer, size_t count);

// send(2) with MSG_NOSIGNAL | MSG_DONTWAIT. Returns the byte count or -errno.
ssize_t cepoll_send(int fd, const void *buffer, size_t count);

// shutdown(fd, SHUT_WR). Returns 0 or -errno.
int cepoll_shutdown_write(int fd);

// close(2). Returns 0 or -errno. Never retry it: on Linux the fd is released even on EINTR.
int cepoll_close(int fd);

// ---- process --------------------------------------------------------------------------------

// signal(SIGPIPE, SIG_IGN). Returns 0 or -errno.
int cepoll_ignore_sigpipe(void);

// Raises the soft RLIMIT_NOFILE to the hard limit; stores both afterwards. Returns 0 or -errno.
int cepoll_raise_nofile_limit(uint64_t *soft, uint64_t *hard);

// Current RLIMIT_NOFILE. Returns 0 or -errno.
int cepoll_nofile_limit(uint64_t *soft, uint64_t *hard);

// Names the calling thread (at most 15 bytes are kept). Returns 0 or -errno.
int cepoll_set_thread_name(const char *name);

// strerror_r into the caller's buffer (always NUL-terminated).
void cepoll_strerror(int error, char *buffer, size_t size);

/// Returns memory freed by the program to the system (glibc malloc_trim): long runs that have
/// passed a burst (a boot backlog, an outage) give back what the burst took. Returns 1 if memory
/// was released.
int cepoll_release_free_memory(void);

#ifdef __cplusplus
}
#endif

#endif // CEPOLL_H
