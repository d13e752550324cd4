// A minimal epoll ping-pong: the baseline of `hj212 bench load`. See CPingPong.h.
#define _GNU_SOURCE
#include "CPingPong.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PP_MAX_THREADS 64
#define PP_READ_BUFFER 65536
#define PP_MAX_PENDING (1 << 20)

static double pp_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

// ---- HJ 212 CRC (reflected 0xA001 table; the fold of HJ 212-2017 Appendix A) ----------------

static uint16_t pp_table[256];
static pthread_once_t pp_table_once = PTHREAD_ONCE_INIT;

static void pp_make_table(void) {
    for (int i = 0; i < 256; i++) {
        uint16_t crc = (uint16_t)i;
        for (int k = 0; k < 8; k++) crc = (crc & 1) ? (uint16_t)((crc >> 1) ^ 0xA001) : (uint16_t)(crc >> 1);
        pp_table[i] = crc;
    }
}

static uint16_t pp_crc(const uint8_t *p, size_t n) {
    uint16_t crc = 0xFFFF;
    for (size_t i = 0; i < n; i++) crc = pp_table[(uint8_t)(crc >> 8) ^ p[i]];
    return crc;
}

// ---- Server ----------------------------------------------------------------------------------

typedef struct {
    int fd;
    uint8_t *in;       // unread input (a partial frame)
    size_t in_len;
    uint8_t *out;      // output the kernel did not take
    size_t out_len;
} pp_conn;

static atomic_int pp_stop_flag;
static atomic_ullong pp_replies;
static pthread_t pp_threads[PP_MAX_THREADS];
static int pp_thread_count;
static int pp_listeners[PP_MAX_THREADS];

// Finds `key` (e.g. "QN=") in the header of a segment; stores the value's start and length.
static int pp_field(const uint8_t *seg, size_t n, const char *key, const uint8_t **value, size_t *len) {
    size_t k = strlen(key);
    for (size_t i = 0; i + k <= n; i++) {
        if ((i == 0 || seg[i - 1] == ';') && memcmp(seg + i, key, k) == 0) {
            size_t j = i + k;
            while (j < n && seg[j] != ';' && seg[j] != '&') j++;
            *value = seg + i + k;
            *len = j - i - k;
            return 1;
        }
        if (i + 5 <= n && memcmp(seg + i, "CP=&&", 5) == 0) return 0;
    }
    return 0;
}

// Appends the 9014 answering one frame (`##LLLL` + segment + CRC) to `out`; returns bytes.
static size_t pp_reply(const uint8_t *frame, size_t n, uint8_t *out) {
    const uint8_t *seg = frame + 6;
    size_t seg_len = n > 10 ? n - 10 : 0;
    const uint8_t *qn = (const uint8_t *)"", *pw = (const uint8_t *)"", *mn = (const uint8_t *)"";
    size_t qn_len = 0, pw_len = 0, mn_len = 0;
    pp_field(seg, seg_len, "QN=", &qn, &qn_len);
    pp_field(seg, seg_len, "PW=", &pw, &pw_len);
    pp_field(seg, seg_len, "MN=", &mn, &mn_len);
    if (qn_len > 20) qn_len = 20;
    if (pw_len > 32) pw_len = 32;
    if (mn_len > 32) mn_len = 32;
    uint8_t *s = out + 6;
    size_t m = 0;
    memcpy(s + m, "QN=", 3); m += 3;
    memcpy(s + m, qn, qn_len); m += qn_len;
    memcpy(s + m, ";ST=91;CN=9014;PW=", 18); m += 18;
    memcpy(s + m, pw, pw_len); m += pw_len;
    memcpy(s + m, ";MN=", 4); m += 4;
    memcpy(s + m, mn, mn_len); m += mn_len;
    memcpy(s + m, ";Flag=4;CP=&&&&", 15); m += 15;
    out[0] = '#'; out[1] = '#';
    out[2] = (uint8_t)('0' + m / 1000 % 10); out[3] = (uint8_t)('0' + m / 100 % 10);
    out[4] = (uint8_t)('0' + m / 10 % 10); out[5] = (uint8_t)('0' + m % 10);
    uint16_t crc = pp_crc(s, m);
    static const char hex[] = "0123456789ABCDEF";
    uint8_t *c = s + m;
    c[0] = (uint8_t)hex[(crc >> 12) & 15]; c[1] = (uint8_t)hex[(crc >> 8) & 15];
    c[2] = (uint8_t)hex[(crc >> 4) & 15]; c[3] = (uint8_t)hex[crc & 15];
    c[4] = '\r'; c[5] = '\n';
    return 6 + m + 6;
}

static void pp_close(int ep, pp_conn *c) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c->in);
    free(c->out);
    free(c);
}

static int pp_flush(int ep, pp_conn *c) {
    while (c->out_len > 0) {
        ssize_t w = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);
        if (w > 0) {
            memmove(c->out, c->out + w, c->out_len - (size_t)w);
            c->out_len -= (size_t)w;
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
            epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
            return 0;
        } else {
            return -1;
        }
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
    return 0;
}

// Reads what is there, answers every complete frame; returns -1 when the connection must close.
static int pp_serve_read(int ep, pp_conn *c, uint8_t *buf, uint8_t *replies) {
    for (;;) {
        ssize_t r = read(c->fd, buf, PP_READ_BUFFER);
        if (r == 0) return -1;
        if (r < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
            return -1;
        }
        // Join with the partial frame kept from the last read.
        uint8_t *data = buf;
        size_t n = (size_t)r;
        if (c->in_len > 0) {
            uint8_t *joined = realloc(c->in, c->in_len + n);
            if (!joined) return -1;
            memcpy(joined + c->in_len, buf, n);
            c->in = joined;
            data = joined;
            n += c->in_len;
            c->in_len = 0;
        }
        size_t start = 0, out = 0;
        for (size_t i = 0; i + 1 < n; i++) {
            if (data[i] == '\r' && data[i + 1] == '\n') {
                size_t len = i + 2 - start;
                if (len >= 12 && data[start] == '#' && data[start + 1] == '#') {
                    if (out + 256 > PP_READ_BUFFER) {
                        if (c->out_len + out > PP_MAX_PENDING) return -1;
                        uint8_t *grown = realloc(c->out, c->out_len + out);
                        if (!grown) return -1;
                        memcpy(grown + c->out_len, replies, out);
                        c->out = grown;
                        c->out_len += out;
                        out = 0;
                    }
                    out += pp_reply(data + start, len - 2, replies + out);
                    atomic_fetch_add_explicit(&pp_replies, 1, memory_order_relaxed);
                }
                start = i + 2;
                i++;
            }
        }
        size_t rest = n - start;
        if (rest > 16384) rest = 0;  // no CR LF in 16 KiB: noise, dropped
        if (rest > 0) {
            uint8_t *keep = malloc(rest);
            if (!keep) return -1;
            memcpy(keep, data + start, rest);
            if (data != buf) free(c->in);
            c->in = keep;
            c->in_len = rest;
        } else if (data != buf) {
            free(c->in);
            c->in = NULL;
        }
        if (out > 0) {
            if (c->out_len == 0) {
                size_t done = 0;
                while (done < out) {
                    ssize_t w = send(c->fd, replies + done, out - done, MSG_NOSIGNAL);
                    if (w > 0) { done += (size_t)w; continue; }
                    if (w < 0 && errno == EINTR) continue;
                    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
                    return -1;
                }
                out -= done;
                if (out > 0) memmove(replies, replies + done, out);
            }
            if (out > 0) {
                if (c->out_len + out > PP_MAX_PENDING) return -1;
                uint8_t *grown = realloc(c->out, c->out_len + out);
                if (!grown) return -1;
                memcpy(grown + c->out_len, replies, out);
                c->out = grown;
                c->out_len += out;
                if (pp_flush(ep, c) < 0) return -1;
            }
        }
        if ((size_t)r < PP_READ_BUFFER) return 0;
    }
}

static void *pp_server_thread(void *arg) {
    int listener = (int)(intptr_t)arg;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) return NULL;
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, listener, &lev);
    uint8_t *buf = malloc(PP_READ_BUFFER);
    uint8_t *replies = malloc(PP_READ_BUFFER);
    struct epoll_event events[256];
    while (buf && replies && !atomic_load(&pp_stop_flag)) {
        int n = epoll_wait(ep, events, 256, 100);
        for (int i = 0; i < n; i++) {
            pp_conn *c = events[i].data.ptr;
            if (c == NULL) {
                for (;;) {
                    int fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (fd < 0) break;
                    int one = 1;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    pp_conn *nc = calloc(1, sizeof *nc);
                    if (!nc) { close(fd); continue; }
                    nc->fd = fd;
                    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = nc};
                    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) { close(fd); free(nc); }
                }
                continue;
            }
            int bad = 0;
            if (events[i].events & EPOLLOUT) bad = pp_flush(ep, c) < 0;
            if (!bad && (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))) bad = pp_serve_read(ep, c, buf, replies) < 0;
            if (bad) pp_close(ep, c);
        }
    }
    // Connections still open are closed by the process's exit (the server runs in a child).
    free(buf);
    free(replies);
    close(ep);
    return NULL;
}

static int pp_listen(uint16_t port, int reuseport) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (reuseport) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(0x7F000001)};
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 4096) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

int pp_server_start(uint16_t port, int threads, uint16_t *bound_port) {
    pthread_once(&pp_table_once, pp_make_table);
    signal(SIGPIPE, SIG_IGN);
    if (threads < 1) threads = 1;
    if (threads > PP_MAX_THREADS) threads = PP_MAX_THREADS;
    atomic_store(&pp_stop_flag, 0);
    int first = pp_listen(port, 1);
    if (first < 0) return first;
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    getsockname(first, (struct sockaddr *)&a, &len);
    *bound_port = ntohs(a.sin_port);
    pp_listeners[0] = first;
    for (int t = 1; t < threads; t++) {
        int fd = pp_listen(*bound_port, 1);
        if (fd < 0) { threads = t; break; }
        pp_listeners[t] = fd;
    }
    pp_thread_count = 0;
    for (int t = 0; t < threads; t++) {
        if (pthread_create(&pp_threads[t], NULL, pp_server_thread, (void *)(intptr_t)pp_listeners[t]) != 0) break;
        pp_thread_count++;
    }
    return pp_thread_count > 0 ? 0 : -EAGAIN;
}

void pp_server_stop(void) {
    atomic_store(&pp_stop_flag, 1);
    for (int t = 0; t < pp_thread_count; t++) {
        pthread_join(pp_threads[t], NULL);
        close(pp_listeners[t]);
    }
    pp_thread_count = 0;
}

uint64_t pp_server_replies(void) { return atomic_load(&pp_replies); }

// ---- Client ----------------------------------------------------------------------------------

typedef struct {
    uint32_t addr;
    uint16_t port;
    int first, count;              // connections of this thread
    int fresh;                     // a new QN and DataTime for every frame sent
    const uint8_t *frame;
    size_t frame_len;
    double warmup_end, end;
    int connected, failed;
    uint64_t replies;
    uint64_t bytes;
} pp_client_thread;

typedef struct {
    int fd;
    int state;            // 0 connecting, 1 open, 2 failed
    size_t unsent;        // bytes of the current frame not yet written
    uint8_t *frame;       // this connection's frame (its own MN)
    int64_t base;         // fresh mode: the frame's DataTime (seconds), or -1 when not stamping
    uint32_t sent;        // fresh mode: frames stamped so far
    size_t qn_at, dt_at;  // fresh mode: where the QN and the DataTime digits are in `frame`
} pp_client_conn;

// Rewrites the 4 hex digits of the CRC of a whole frame (`##LLLL` + segment + CRC + CR LF).
static void pp_write_crc(uint8_t *frame, size_t n) {
    static const char hex[] = "0123456789ABCDEF";
    size_t seg_len = n - 12;
    uint16_t crc = pp_crc(frame + 6, seg_len);
    uint8_t *c = frame + 6 + seg_len;
    c[0] = (uint8_t)hex[(crc >> 12) & 15]; c[1] = (uint8_t)hex[(crc >> 8) & 15];
    c[2] = (uint8_t)hex[(crc >> 4) & 15]; c[3] = (uint8_t)hex[crc & 15];
}

int pp_client_frame(const uint8_t *frame, size_t n, uint32_t index, uint8_t *out) {
    pthread_once(&pp_table_once, pp_make_table);
    memcpy(out, frame, n);
    if (n < 12 || frame[0] != '#' || frame[1] != '#') return 0;
    size_t seg_len = n - 12;
    const uint8_t *mn;
    size_t mn_len;
    if (!pp_field(out + 6, seg_len, "MN=", &mn, &mn_len) || mn_len < 8) return 0;
    static const char hex[] = "0123456789ABCDEF";
    uint8_t *digits = (uint8_t *)mn + mn_len - 8;  // mn points into out
    for (int k = 7; k >= 0; k--) { digits[k] = (uint8_t)hex[index & 15]; index >>= 4; }
    pp_write_crc(out, n);
    return 1;
}

// Where a frame's QN (17 digits) and CP DataTime (14 digits) are, as offsets into the frame.
static int pp_stamp_offsets(const uint8_t *frame, size_t n, size_t *qn_at, size_t *dt_at) {
    if (n < 12 || frame[0] != '#' || frame[1] != '#') return 0;
    const uint8_t *seg = frame + 6, *qn;
    size_t seg_len = n - 12, qn_len;
    if (!pp_field(seg, seg_len, "QN=", &qn, &qn_len) || qn_len != 17) return 0;
    const uint8_t *cp = memmem(seg, seg_len, "CP=&&", 5);
    if (!cp) return 0;
    const uint8_t *dt = memmem(cp, seg_len - (size_t)(cp - seg), "DataTime=", 9);
    if (!dt || (size_t)(dt - seg) + 9 + 14 > seg_len) return 0;
    for (int i = 0; i < 17; i++) if (qn[i] < '0' || qn[i] > '9') return 0;
    for (int i = 0; i < 14; i++) if (dt[9 + i] < '0' || dt[9 + i] > '9') return 0;
    *qn_at = (size_t)(qn - frame);
    *dt_at = (size_t)(dt + 9 - frame);
    return 1;
}

// Writes the civil time `t` (seconds, read as UTC so that no time zone moves it) as 14 digits.
static void pp_write_time(uint8_t *out, time_t t) {
    struct tm tm;
    gmtime_r(&t, &tm);
    int v[6] = {tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec};
    out[0] = (uint8_t)('0' + v[0] / 1000 % 10); out[1] = (uint8_t)('0' + v[0] / 100 % 10);
    out[2] = (uint8_t)('0' + v[0] / 10 % 10); out[3] = (uint8_t)('0' + v[0] % 10);
    for (int i = 1; i < 6; i++) { out[2 + 2 * i] = (uint8_t)('0' + v[i] / 10); out[3 + 2 * i] = (uint8_t)('0' + v[i] % 10); }
}

static time_t pp_read_time(const uint8_t *d) {
    int v[6], w[6] = {4, 2, 2, 2, 2, 2}, at = 0;
    for (int i = 0; i < 6; i++) { v[i] = 0; for (int k = 0; k < w[i]; k++) v[i] = v[i] * 10 + (d[at++] - '0'); }
    struct tm tm = {.tm_year = v[0] - 1900, .tm_mon = v[1] - 1, .tm_mday = v[2], .tm_hour = v[3], .tm_min = v[4], .tm_sec = v[5]};
    return timegm(&tm);
}

int64_t pp_client_base_time(const uint8_t *frame, size_t n) {
    size_t qn_at, dt_at;
    if (!pp_stamp_offsets(frame, n, &qn_at, &dt_at)) return -1;
    return (int64_t)pp_read_time(frame + dt_at);
}

static void pp_stamp_at(uint8_t *frame, size_t n, size_t qn_at, size_t dt_at, int64_t seconds) {
    pp_write_time(frame + qn_at, (time_t)seconds);
    frame[qn_at + 14] = '0'; frame[qn_at + 15] = '0'; frame[qn_at + 16] = '0';
    pp_write_time(frame + dt_at, (time_t)seconds);
    pp_write_crc(frame, n);
}

int pp_client_stamp(uint8_t *frame, size_t n, int64_t seconds) {
    pthread_once(&pp_table_once, pp_make_table);
    size_t qn_at, dt_at;
    if (seconds < 0 || !pp_stamp_offsets(frame, n, &qn_at, &dt_at)) return 0;
    pp_stamp_at(frame, n, qn_at, dt_at, seconds);
    return 1;
}

// Before each frame a connection sends in `fresh` mode: the next QN and DataTime, one second on.
static void pp_client_next(pp_client_conn *c, size_t n) {
    if (c->base < 0) return;
    pp_stamp_at(c->frame, n, c->qn_at, c->dt_at, c->base + (int64_t)c->sent);
    c->sent++;
}

static void pp_client_send(pp_client_thread *t, pp_client_conn *c, int ep, int counting) {
    while (c->unsent > 0) {
        ssize_t w = send(c->fd, c->frame + (t->frame_len - c->unsent), c->unsent, MSG_NOSIGNAL);
        if (w > 0) { c->unsent -= (size_t)w; if (counting) t->bytes += (uint64_t)w; continue; }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
            epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
            return;
        }
        c->state = 2;
        return;
    }
}

static void *pp_client_main(void *arg) {
    pp_client_thread *t = arg;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) return NULL;
    pp_client_conn *conns = calloc((size_t)t->count, sizeof *conns);
    uint8_t *buf = malloc(PP_READ_BUFFER);
    uint8_t *frames = malloc((size_t)t->count * t->frame_len);
    if (!conns || !buf || !frames) { free(conns); free(buf); free(frames); close(ep); return NULL; }
    for (int i = 0; i < t->count; i++) {
        pp_client_conn *c = &conns[i];
        uint8_t *own = frames + (size_t)i * t->frame_len;
        pp_client_frame(t->frame, t->frame_len, (uint32_t)(t->first + i), own);
        c->frame = own;
        c->base = -1;
        if (t->fresh && pp_stamp_offsets(own, t->frame_len, &c->qn_at, &c->dt_at)) c->base = (int64_t)pp_read_time(own + c->dt_at);
        c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (c->fd < 0) { c->state = 2; t->failed++; continue; }
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(t->port), .sin_addr.s_addr = htonl(t->addr)};
        int r = connect(c->fd, (struct sockaddr *)&a, sizeof a);
        if (r < 0 && errno != EINPROGRESS) { close(c->fd); c->fd = -1; c->state = 2; t->failed++; continue; }
        struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    }
    struct epoll_event events[256];
    double connect_deadline = pp_now() + 10;
    for (;;) {
        double now = pp_now();
        if (now >= t->end) break;
        int n = epoll_wait(ep, events, 256, 50);
        now = pp_now();
        int counting = now >= t->warmup_end && now < t->end;
        for (int i = 0; i < n; i++) {
            pp_client_conn *c = events[i].data.ptr;
            if (c->state == 2) continue;
            if (c->state == 0) {
                int err = 0;
                socklen_t len = sizeof err;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
                if (err != 0 || (events[i].events & (EPOLLERR | EPOLLHUP))) {
                    c->state = 2; t->failed++;
                    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                    continue;
                }
                c->state = 1;
                t->connected++;
                struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                c->unsent = t->frame_len;
                pp_client_next(c, t->frame_len);
                pp_client_send(t, c, ep, counting);
                continue;
            }
            if (events[i].events & EPOLLOUT) {
                pp_client_send(t, c, ep, counting);
                if (c->unsent == 0 && c->state == 1) {
                    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
                    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                }
            }
            if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
                ssize_t r = read(c->fd, buf, PP_READ_BUFFER);
                if (r <= 0) {
                    if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
                    c->state = 2;
                    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                    continue;
                }
                // One frame in flight: each LF ends its reply; send the next frame.
                int got = 0;
                for (ssize_t k = 0; k < r; k++) if (buf[k] == '\n') got++;
                if (got > 0) {
                    if (counting) t->replies += (uint64_t)got;
                    if (c->unsent == 0) {
                        c->unsent = t->frame_len;
                        pp_client_next(c, t->frame_len);
                        pp_client_send(t, c, ep, counting);
                    }
                }
            }
        }
        if (now > connect_deadline) {
            for (int i = 0; i < t->count; i++) {
                if (conns[i].state == 0) {
                    conns[i].state = 2; t->failed++;
                    epoll_ctl(ep, EPOLL_CTL_DEL, conns[i].fd, NULL);
                }
            }
            connect_deadline = 1e300;
        }
    }
    for (int i = 0; i < t->count; i++) if (conns[i].fd >= 0) close(conns[i].fd);
    free(conns);
    free(buf);
    free(frames);
    close(ep);
    return NULL;
}

int pp_client_run(uint32_t addr, uint16_t port, int connections, const uint8_t *frame, size_t frame_len,
                  double warmup, double seconds, int threads, pp_client_result *result) {
    return pp_client_run_fresh(addr, port, connections, frame, frame_len, warmup, seconds, threads, 0, result);
}

int pp_client_run_fresh(uint32_t addr, uint16_t port, int connections, const uint8_t *frame, size_t frame_len,
                        double warmup, double seconds, int threads, int fresh, pp_client_result *result) {
    signal(SIGPIPE, SIG_IGN);
    if (threads < 1) threads = 1;
    if (threads > PP_MAX_THREADS) threads = PP_MAX_THREADS;
    if (connections < 1 || frame_len == 0) return -EINVAL;
    pp_client_thread ts[PP_MAX_THREADS];
    pthread_t ids[PP_MAX_THREADS];
    double start = pp_now();
    int per = connections / threads, extra = connections % threads, first = 0;
    for (int t = 0; t < threads; t++) {
        ts[t] = (pp_client_thread){.addr = addr, .port = port, .first = first, .count = per + (t < extra ? 1 : 0), .fresh = fresh,
                                   .frame = frame, .frame_len = frame_len,
                                   .warmup_end = start + warmup, .end = start + warmup + seconds};
        first += ts[t].count;
    }
    int started = 0;
    for (int t = 0; t < threads; t++) {
        if (pthread_create(&ids[t], NULL, pp_client_main, &ts[t]) != 0) break;
        started++;
    }
    memset(result, 0, sizeof *result);
    for (int t = 0; t < started; t++) {
        pthread_join(ids[t], NULL);
        result->connected += ts[t].connected;
        result->failed += ts[t].failed;
        result->replies += ts[t].replies;
        result->bytes_sent += ts[t].bytes;
    }
    result->seconds = seconds;
    return started > 0 ? 0 : -EAGAIN;
}

void pp_die_with_parent(void) { prctl(PR_SET_PDEATHSIG, SIGKILL); }
