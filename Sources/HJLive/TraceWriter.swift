import Glibc
import HJ212
import HJStore
import HJSimulation
import Synchronization

/// Appends frames to a trace file in the format of ARCHITECTURE.md, one JSON object per line,
/// flushed per record so that a crash loses at most the record being written. Thread-safe.
///
/// Bytes are split into frames per stream (one connection and one direction). A stream's
/// decoder is kept only while it holds part of a frame: once its bytes are all decided it is
/// dropped, `forget(stream:)` drops it when the connection closes, and at most
/// `maxPartialStreams` partial frames are held (the oldest is dropped beyond that, counted in
/// `partialDropped`). So a trace costs no memory per closed or idle connection.
///
/// A failed write (disk full, I/O error) loses that record, is counted in `lost`, and is
/// reported once through `takeFailureNotice()`; later records are tried again.
package final class TraceWriter: Sendable {
    package let path: String
    private let fd: Int32
    private let offsetMinutes: Int
    /// Streams holding part of a frame, at most this many (each at most one maximal frame, 10 KiB).
    package let maxPartialStreams: Int
    /// Where the same traffic is also written as pcapng (`--pcap`), if anywhere.
    package let capture: CaptureRecorder?

    private struct State {
        package var decoders: [UInt64: FrameDecoder] = [:]
        /// Stream keys in the order they started a partial frame (for dropping the oldest).
        package var order: [UInt64] = []
        package var records = 0
        package var lost = 0
        package var partialDropped = 0
        package var failed: String?
        /// The last write failed (a notice is given once per run of failures).
        package var failing = false
        /// A failure not yet reported by `takeFailureNotice`.
        package var unreported: String?
    }
    private let state = Mutex(State())

    /// Opens (creates or appends to) the file; fails before any traffic is accepted.
    /// With `path` nil only the capture is written (`--pcap` without `--trace`).
    package init(file path: String?, offsetMinutes: Int, maxPartialStreams: Int = 4_096, capture: CaptureRecorder? = nil) throws(OutputFileError) {
        if let path {
            let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw OutputFileError("cannot write trace '\(TerminalText.safe(path))': \(String(cString: strerror(errno)))") }
            self.fd = fd
        } else {
            fd = -1
        }
        self.path = path ?? capture?.path ?? ""
        self.offsetMinutes = offsetMinutes
        self.maxPartialStreams = max(1, maxPartialStreams)
        self.capture = capture
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Records written.
    package var records: Int { state.withLock { $0.records } }
    /// Records that could not be written (each failed write loses its records).
    package var lost: Int { state.withLock { $0.lost } }
    /// The last write error, if any write failed.
    package var failure: String? { state.withLock { $0.failed } }
    /// Streams holding part of a frame now.
    package var partialStreams: Int { state.withLock { $0.decoders.count } }
    /// Partial frames dropped because more than `maxPartialStreams` streams held one.
    package var partialDropped: Int { state.withLock { $0.partialDropped } }

    /// The first write failure not yet reported (then nil until a later write succeeds and
    /// another fails): one line for the operator, at once.
    package func takeFailureNotice() -> String? {
        state.withLock { s in defer { s.unreported = nil }; return s.unreported }
    }

    /// The summary line: `trace: FILE (N frames)`, with what was lost when writes failed.
    package var summary: String {
        let s = state.withLock { $0 }
        var text = "trace: \(TerminalText.safe(path)) (\(s.records) frames"
        if s.lost > 0 { text += "; \(s.lost) LOST, writing failed: \(s.failed ?? "?")" }
        if s.partialDropped > 0 { text += "; \(s.partialDropped) partial frames dropped over the budget of \(maxPartialStreams) streams" }
        return text + ")"
    }

    /// A stream key for one connection and direction.
    package static func stream(_ connection: UInt64, up: Bool) -> UInt64 { connection << 1 | (up ? 1 : 0) }

    /// Drops what is held for a connection (both directions); call when it closes.
    package func forget(connection: UInt64) {
        state.withLock { s in
            for key in [Self.stream(connection, up: true), Self.stream(connection, up: false)] where s.decoders.removeValue(forKey: key) != nil {
                s.order.removeAll { $0 == key }
            }
        }
    }

    /// Records the frames in `bytes` (split on frame boundaries per connection and direction).
    package func record(_ bytes: [UInt8], up: Bool, peer: String, connection: UInt64, at time: Int64, mn: String? = nil) {
        capture?.record(bytes, up: up, peer: peer, at: time)
        guard fd >= 0 else { return }
        let key = Self.stream(connection, up: up)
        state.withLock { s in
            var decoder = s.decoders.removeValue(forKey: key) ?? FrameDecoder()
            let wasPartial = decoder.bufferedCount > 0
            decoder.feed(bytes)
            var lines = ""
            var frames = 0
            while let event = decoder.next() {
                guard case .frame(let f) = event else { continue }
                let segment = SegmentParser.parse(f.segmentBytes).segment
                lines += "{\"t\":\"\(SimClock.iso(time, offsetMinutes: offsetMinutes))\",\"dir\":\"\(up ? "up" : "down")\",\"peer\":"
                JSONValue.writeString(peer, to: &lines)
                lines += ",\"mn\":"
                JSONValue.writeString(mn ?? segment.mn ?? "", to: &lines)
                // Lossless: a frame that is not UTF-8 also gets its bytes in hex (TraceFrameBytes).
                TraceFrameBytes.write(f.bytes[..<f.crcField.upperBound], to: &lines)
                lines += "}\n"
                frames += 1
            }
            if decoder.bufferedCount > 0 {
                // Still inside a frame: keep the decoder (bounded), else let it go.
                s.decoders[key] = decoder
                if !wasPartial {
                    s.order.append(key)
                    if s.order.count > maxPartialStreams {
                        let oldest = s.order.removeFirst()
                        s.decoders[oldest] = nil
                        s.partialDropped += 1
                    }
                }
            } else if wasPartial {
                s.order.removeAll { $0 == key }
            }
            guard frames > 0 else { return }
            if writeAll(Array(lines.utf8)) {
                s.records += frames
                s.failing = false
            } else {
                let message = String(cString: strerror(errno))
                if !s.failing { s.unreported = message }
                s.failing = true
                s.failed = message
                s.lost += frames
            }
        }
    }

    /// Writes everything, retrying after EINTR and short writes; false on an error.
    private func writeAll(_ data: [UInt8]) -> Bool {
        var done = 0
        while done < data.count {
            let n = data.withUnsafeBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
            if n > 0 { done += n; continue }
            if n < 0 && errno == EINTR { continue }
            if n == 0 { errno = EIO }
            return false
        }
        return true
    }
}
/// Appends ground-truth records of injected faults, one JSON object per line, written per record.
/// Thread-safe (loggers on several loops report into it). A failed write (disk full, I/O error)
/// loses its records, counted in `lost` with the error in `failure`, as `TraceWriter` does; the
/// summary line (`summary`) says so and `simulate` exits 1: a truth file missing records is not
/// the truth.
package final class TruthWriter: Sendable {
    package let path: String
    private let fd: Int32
    private struct State {
        var records = 0
        var lost = 0
        var failed: String?
    }
    private let state = Mutex(State())

    package init(file path: String) throws(OutputFileError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw OutputFileError("cannot write ground truth '\(TerminalText.safe(path))': \(String(cString: strerror(errno)))") }
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }

    /// Records written.
    package var records: Int { state.withLock { $0.records } }
    /// Records that could not be written.
    package var lost: Int { state.withLock { $0.lost } }
    /// The last write error, if any write failed.
    package var failure: String? { state.withLock { $0.failed } }

    /// `ground truth: FILE (N fault injections)`, with what was lost when writes failed.
    package var summary: String {
        let s = state.withLock { $0 }
        var text = "ground truth: \(TerminalText.safe(path)) (\(s.records) fault injections"
        if s.lost > 0 { text += "; \(s.lost) LOST, writing failed: \(s.failed ?? "?")" }
        return text + ")"
    }

    package func write(_ lines: [String]) {
        guard !lines.isEmpty else { return }
        state.withLock { s in
            let data = Array((lines.joined(separator: "\n") + "\n").utf8)
            var done = 0
            while done < data.count {
                let w = data.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
                if w > 0 { done += w; continue }
                if w < 0 && errno == EINTR { continue }
                if w == 0 { errno = EIO }
                s.lost += lines.count
                s.failed = String(cString: strerror(errno))
                return
            }
            s.records += lines.count
        }
    }
}


/// A trace, ground-truth or capture file that cannot be written (the CLI reports it as a usage error, exit 2).
package struct OutputFileError: Error, CustomStringConvertible {
    package var message: String
    package init(_ message: String) { self.message = message }
    package var description: String { message }
}
