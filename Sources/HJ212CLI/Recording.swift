import Glibc
import HJ212
import HJStore
import HJCapture
import HJConformance

/// A recorded session read back for `check logger --offline`, `replay` and `load --payloads`:
/// a JSON Lines trace (as written by `serve --trace`, `simulate --trace`, `check --trace` or
/// `trace import`) or a pcap/pcapng capture, told apart by the capture's magic number.
///
/// Frames come out in recording order, each with its time (China local wall-clock ms), its
/// direction, its connection and the logger's address. For a capture, which side is the logger
/// is decided per connection as `trace import` does (`--platform`, else who sends uploads, else
/// who opened the connection), so the capture is read twice and must be a file.
///
/// ```swift
/// let summary = try Recording.read("site.pcapng", platforms: [], io: io) { frame in
///     print(frame.up, frame.raw.segmentText); return true
/// }
/// ```
enum Recording {
    /// Longest trace line read (a maximal HJ 212 frame escaped as JSON fits with room to spare);
    /// longer lines are skipped and counted.
    static let maxLine = 1 << 17

    struct Summary {
        var frames = 0
        var skippedLines = 0
        var capture: String?
        var notes: [String] = []
        /// A capture that could not be read to its end: "file corrupt: …" or "file cut short: …".
        var captureDamage: String?
        /// TCP gaps (bytes never captured) in a capture.
        var gaps = 0
    }

    /// Reads `path` and hands each frame to `body` (false stops). Usage errors: unreadable,
    /// standard input for a capture, or a file that is neither a trace nor a capture.
    @discardableResult
    static func read(_ path: String, platforms: [Endpoint] = [], io: CommandIO, body: (RecordedFrame) -> Bool) throws(UsageError) -> Summary {
        var inputs = try InputFile.openAll([path], io: io)
        let first = try inputs[0].read(capacity: 1 << 16)
        if CaptureFormat.detect(first) != nil {
            inputs[0].close()
            guard path != "-" else { throw UsageError("a capture is read twice: give a file, not standard input") }
            return try readCapture(path, platforms: platforms, io: io, body: body)
        }
        defer { inputs[0].close() }
        guard first.first(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }) == UInt8(ascii: "{") || first.isEmpty else {
            throw UsageError("'\(TerminalText.safe(path))' is neither a JSON Lines trace nor a pcap/pcapng capture")
        }
        var summary = Summary()
        var line: [UInt8] = []
        var overlong = false
        var chunk = first
        var stop = false
        func handle(_ bytes: [UInt8]) {
            guard !bytes.isEmpty else { return }
            guard let f = traceFrame(bytes) else { summary.skippedLines += 1; return }
            summary.frames += 1
            if !body(f) { stop = true }
        }
        while !chunk.isEmpty && !stop {
            for b in chunk {
                if b == 0x0A {
                    if overlong { summary.skippedLines += 1 } else { handle(line) }
                    line.removeAll(keepingCapacity: true)
                    overlong = false
                    if stop { break }
                } else if !overlong {
                    line.append(b)
                    if line.count > maxLine { overlong = true; line.removeAll() }
                }
            }
            if stop || Interrupts.requested { break }
            chunk = try inputs[0].read(capacity: 1 << 16)
        }
        if !stop && !overlong { handle(line) }
        if summary.skippedLines > 0 { summary.notes.append("\(summary.skippedLines) line\(summary.skippedLines == 1 ? "" : "s") of '\(TerminalText.safe(path))' skipped (not a trace record with a frame)") }
        return summary
    }

    /// One trace line as a recorded frame, or nil when it is not one.
    static func traceFrame(_ bytes: [UInt8]) -> RecordedFrame? {
        guard let v = try? JSONValue.parse(String(decoding: bytes, as: UTF8.self)),
              case .string(let t)? = v["t"], case .string(let dir)? = v["dir"], dir == "up" || dir == "down",
              let frame = TraceFrameBytes.frame(v), let time = HJTime.chinaWallMilliseconds(iso: t) else { return nil }
        var peer = ""
        if case .string(let p)? = v["peer"] { peer = p }
        var decoder = FrameDecoder()
        decoder.feed(frame + [0x0D, 0x0A])
        var raw: RawFrame?
        var events: [FrameDecoder.Event] = []
        while let e = decoder.next() { events.append(e) }
        events += decoder.finish()
        for case .frame(let f) in events where raw == nil { raw = f }
        guard let raw else { return nil }
        return RecordedFrame(time: time, up: dir == "up", connection: peer, peer: peer, raw: raw)
    }

    static func readCapture(_ path: String, platforms: [Endpoint], io: CommandIO, body: (RecordedFrame) -> Bool) throws(UsageError) -> Summary {
        var roles: [Int: TraceCommand.Roles] = [:]
        var summary = Summary()
        var damage: String?
        func pass(_ each: (CaptureItem) -> Bool) throws(UsageError) -> String {
            let inputs = try InputFile.openAll([path], io: io)
            defer { inputs[0].close() }
            do {
                var streams = try CaptureStreams(source: InputCaptureSource(prefix: [], input: inputs[0]))
                var stopped = false
                try forEachCaptureItem(&streams) { item in
                    if !stopped && !each(item) { stopped = true }
                }
                var text = captureSummary(streams, file: path)
                damage = nil
                if let e = streams.error {
                    damage = (e.truncated ? "file cut short: " : "file corrupt: ") + e.description
                    text += "; " + damage!
                }
                return text
            } catch is CaptureInterrupted {
                // Ctrl-C or SIGTERM: the callers see Interrupts.requested; nothing is said about the file.
                damage = nil
                return TerminalText.safe(path) + ": interrupted"
            } catch let e as CaptureError {
                throw UsageError("'\(TerminalText.safe(path))' is not a readable capture: \(e.description)", exitCode: 1)
            } catch let e as UsageError {
                throw e
            } catch {
                throw UsageError("cannot read '\(TerminalText.safe(path))': \(error)", exitCode: 2)
            }
        }
        _ = try pass { item in
            guard case .frame(let raw, let stream, _) = item else { return true }
            if roles[stream.connection] == nil {
                guard roles.count < 1_000_000 else { return true }
                roles[stream.connection] = TraceCommand.Roles(client: stream.client, firstSender: stream.source)
            }
            roles[stream.connection]!.score[stream.source, default: 0] += TraceCommand.loggerEvidence(raw)
            roles[stream.connection]!.score[stream.destination, default: 0] += 0
            return true
        }
        var gaps = 0
        let text = try pass { item in
            switch item {
            case .frame(let raw, let stream, let nanos):
                let logger = roles[stream.connection]?.logger(platforms: platforms)?.0 ?? roles[stream.connection]?.firstSender ?? stream.source
                let time = nanos / 1_000_000 + 480 * 60_000
                summary.frames += 1
                return body(RecordedFrame(time: time, up: stream.source == logger, connection: "tcp\(stream.connection)", peer: logger.description, raw: raw))
            case .gap: gaps += 1; return true
            default: return true
            }
        }
        summary.capture = text
        summary.captureDamage = damage
        summary.gaps = gaps
        if gaps > 0 { summary.notes.append("\(gaps) gap\(gaps == 1 ? "" : "s") in the capture: frames across them are not used") }
        return summary
    }
}

extension Recording {
    /// Whether the file at `path` starts with a pcap or pcapng magic number (standard input: no).
    static func isCapture(_ path: String) -> Bool {
        guard path != "-" else { return false }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var head = [UInt8](repeating: 0, count: 4)
        let n = head.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, 4) }
        return n == 4 && CaptureFormat.detect(head) != nil
    }

    /// The logger's frames of a capture, as `report` reads a trace's uplinks: each data segment
    /// with its capture time (China local wall ms). `body` returns false to stop.
    /// Returns the summary (its damage and gaps say whether the capture was read whole).
    @discardableResult
    static func readCaptureUplinks(_ path: String, io: CommandIO, verb: String, _ body: (DataSegment, Int64) -> Bool) throws(UsageError) -> Summary {
        let summary = try read(path, io: io) { f in
            guard f.up else { return true }
            return body(SegmentParser.parse(f.raw.segmentBytes).segment, f.time)
        }
        if let c = summary.capture { io.stderr.line("hj212 \(verb): " + c) }
        for note in summary.notes { io.stderr.line("hj212 \(verb): " + note) }
        return summary
    }
}
