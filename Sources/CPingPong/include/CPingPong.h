// CPingPong: a minimal epoll ping-pong over TCP, the baseline of `hj212 bench load`.
//
// The server answers every CR LF-terminated frame with a 9014-shaped acknowledgement (QN, PW and
// MN copied from the frame, CRC computed): what an ingest server must do at the least, with
// nothing else (no validation, no state). The client keeps one frame in flight per connection
// (send, wait for the reply, send again; each connection with its own MN) and counts replies.
// Both use level-triggered epoll, one epoll instance per thread, non-blocking sockets, TCP_NODELAY.
#ifndef CPINGPONG_H
#define CPINGPONG_H

#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

// Starts `threads` server threads on 127.0.0.1:`port` (0: a free port; SO_REUSEPORT spreads
// connections over threads). Stores the bound port. Returns 0 or -errno. Runs until pp_server_stop.
int pp_server_start(uint16_t port, int threads, uint16_t *bound_port);

// Asks the server threads to stop and waits for them (each checks every 100 ms).
void pp_server_stop(void);

// Replies the server has sent so far.
uint64_t pp_server_replies(void);

// The result of a client run.
typedef struct {
    int connected;            // connections established
    int failed;               // connects that failed
    uint64_t replies;         // replies received in the measurement window
    double seconds;           // length of the measurement window
    uint64_t bytes_sent;      // bytes written in the window
} pp_client_result;

// Writes to `out` (room for `n` bytes) the frame connection `index` sends: `frame` with the last
// 8 characters of its MN replaced by `index` in upper-case hex and the CRC recomputed, so that
// every connection is a logger of its own (a platform keeps state per MN). Returns 1, or 0 when
// the frame has no MN of at least 8 characters (`out` is then `frame` unchanged).
int pp_client_frame(const uint8_t *frame, size_t n, uint32_t index, uint8_t *out);

// Connects `connections` clients to `addr`:`port` (host byte order) over `threads` threads,
// each keeping its frame (`pp_client_frame` of `frame`) in flight, and counts replies (CR
// LF-terminated) for `seconds` after `warmup` seconds. Every wait has a timeout (connects: 10 s).
// Returns 0 or -errno.
int pp_client_run(uint32_t addr, uint16_t port, int connections, const uint8_t *frame, size_t frame_len,
                  double warmup, double seconds, int threads, pp_client_result *result);

// As pp_client_run; with `fresh` non-zero, every frame a connection sends has a new QN and
// DataTime, one second after the previous one (the first is the frame's own DataTime, the QN
// being that time with 000 ms), so that a platform stores each as a new packet and a new record
// instead of acknowledging a resent one. Frames without a 17-digit QN and a 14-digit CP DataTime
// are sent unchanged.
int pp_client_run_fresh(uint32_t addr, uint16_t port, int connections, const uint8_t *frame, size_t frame_len,
                        double warmup, double seconds, int threads, int fresh, pp_client_result *result);

// The DataTime of `frame` (14 digits in CP, read as UTC civil time) in seconds since 1970, or -1
// when the frame has no 17-digit QN or no 14-digit DataTime.
int64_t pp_client_base_time(const uint8_t *frame, size_t n);

// Writes `seconds` (UTC civil time) into the frame's DataTime and, with 000 ms, its QN, and the
// CRC; returns 1, or 0 when the frame has no such fields (it is then unchanged) or seconds < 0.
int pp_client_stamp(uint8_t *frame, size_t n, int64_t seconds);

// Ends the calling process when its parent dies (Linux PR_SET_PDEATHSIG), for child servers.
void pp_die_with_parent(void);

// Counts the well-formed frames (`##`, 4-digit length, segment, 4 hex CRC, CR LF) in `p`, and in
// `crc_ok` those whose HJ 212 CRC matches: the floor that `bench codec` compares `lint` with.
uint64_t cscan_frames(const uint8_t *p, size_t n, uint64_t *crc_ok);

#ifdef __cplusplus
}
#endif

#endif
