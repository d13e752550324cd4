import Glibc
import HJ212
import HJSimulation
import Synchronization

/// Appends frames to a trace file in the format of ARCHITECTURE.md, one JSON object per line,
/// flushed per record so that a crash loses at most the record being written. Thread-safe.
final class TraceWriter: Sendable {
    let path: String
    private let fd: Int32
    private let offsetMinutes: Int
    private let state = Mutex<(decoders: [String: FrameDecoder], records: Int, failed: String?)>(([:], 0, nil))
    /// Where the same traffic is also written as pcapng (`--pcap`), if anywhere.
    let capture: CaptureRecorder?

    /// Opens (creates or appends to) the file; fails before any traffic is accepted.
    /// With `path` nil only the capture is written (`--pcap` without `--trace`).
    init(path: String?, offsetMinutes: Int, capture: CaptureRecorder? = nil) throws(UsageError) {
        if let path {
            let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw UsageError("cannot write trace '\(path)': \(String(cString: strerror(errno)))", exitCode: 2) }
            self.fd = fd
        } else {
            fd = -1
        }
        self.path = path ?? capture?.path ?? ""
        self.offsetMinutes = offsetMinutes
        self.capture = capture
    }

    deinit { if fd >= 0 { close(fd) } }

    var records: Int { state.withLock { $0.records } }
    var failure: String? { state.withLock { $0.failed } }

    /// Records the frames in `bytes` (split on frame boundaries per peer and direction).
    func record(_ bytes: [UInt8], up: Bool, peer: String, at time: Int64, mn: String? = nil) {
        capture?.record(bytes, up: up, peer: peer, at: time)
        state.withLock { s in
            let key = (up ? "u" : "d") + peer
            var decoder = s.decoders[key] ?? FrameDecoder()
            decoder.feed(bytes)
            var lines = ""
            while let event = decoder.next() {
                guard case .frame(let f) = event else { continue }
                let segment = SegmentParser.parse(f.segmentBytes).segment
                lines += "{\"t\":\"\(SimClock.iso(time, offsetMinutes: offsetMinutes))\",\"dir\":\"\(up ? "up" : "down")\",\"peer\":"
                JSONValue.writeString(peer, to: &lines)
                lines += ",\"mn\":"
                JSONValue.writeString(mn ?? segment.mn ?? "", to: &lines)
                lines += ",\"frame\":"
                JSONValue.writeString(f.textWithoutTrailer, to: &lines)
                lines += "}\n"
                s.records += 1
            }
            s.decoders[key] = decoder
            guard !lines.isEmpty, s.failed == nil, fd >= 0 else { return }
            var data = Array(lines.utf8)
            var done = 0
            while done < data.count {
                let n = data.withUnsafeMutableBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
                if n > 0 { done += n; continue }
                if n < 0 && errno == EINTR { continue }
                s.failed = String(cString: strerror(errno))
                return
            }
            data.removeAll()
        }
    }
}

/// Appends ground-truth records of injected faults, one JSON object per line, written per record.
/// Thread-safe (loggers on several loops report into it).
final class TruthWriter: Sendable {
    let path: String
    private let fd: Int32
    private let count = Mutex(0)

    init(path: String) throws(UsageError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw UsageError("cannot write ground truth '\(path)': \(String(cString: strerror(errno)))", exitCode: 2) }
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }

    var records: Int { count.withLock { $0 } }

    func write(_ lines: [String]) {
        guard !lines.isEmpty else { return }
        count.withLock { n in
            var data = Array((lines.joined(separator: "\n") + "\n").utf8)
            var done = 0
            while done < data.count {
                let w = data.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
                if w > 0 { done += w; continue }
                if w < 0 && errno == EINTR { continue }
                return
            }
            n += lines.count
            data.removeAll()
        }
    }
}
