import HJ212
import HJCapture

/// Thrown by `InputCaptureSource` when Ctrl-C or SIGTERM stopped the reading: the capture was
/// not read to its end, and that is not the file's fault (never "cut short" or "corrupt").
struct CaptureInterrupted: Error {}

/// An `InputFile` as the byte source of a capture reader; the bytes already read to recognise
/// the format come first. Ctrl-C or SIGTERM throws `CaptureInterrupted` (the capture readers
/// rethrow the source's errors), so that an interrupt is told apart from the end of the file.
struct InputCaptureSource: CaptureByteSource {
    var prefix: [UInt8]
    var input: InputFile

    mutating func read(maxCount: Int) throws -> [UInt8] {
        if Interrupts.requested { throw CaptureInterrupted() }
        if !prefix.isEmpty {
            defer { prefix = [] }
            return prefix
        }
        let bytes = try input.read(capacity: max(1 << 12, min(maxCount, 1 << 20)))
        if bytes.isEmpty && Interrupts.requested { throw CaptureInterrupted() }
        return bytes
    }
}

/// One thing found in the TCP streams of a capture. Offsets of frames, skipped runs and tails are
/// byte offsets in their direction's stream (gaps counted), as Wireshark's "Follow TCP stream".
enum CaptureItem {
    case frame(RawFrame, stream: TCPStreamID, timestampNanos: Int64)
    case skipped(SkippedBytes, stream: TCPStreamID)
    case incomplete(IncompleteTail, stream: TCPStreamID)
    /// `bytes` missing from the capture at `offset` of the stream, before packet `packet`.
    case gap(stream: TCPStreamID, offset: Int, bytes: Int, packet: Int)
}

/// Reads a capture's TCP streams through one `FrameDecoder` per direction (bounded by the
/// reassembler's connection budget: a direction's decoder goes when the direction closes).
/// A gap ends the frame being assembled across it (its tail is reported incomplete) and the
/// decoder starts afresh after the hole.
func forEachCaptureItem(_ streams: inout CaptureStreams<InputCaptureSource>, body: (CaptureItem) -> Void) throws {
    var decoders: [TCPStreamID: (decoder: FrameDecoder, base: Int, time: Int64)] = [:]
    func drain(_ id: TCPStreamID, final: Bool) {
        guard var state = decoders[id] else { return }
        var events: [FrameDecoder.Event] = []
        while let e = state.decoder.next() { events.append(e) }
        if final { events += state.decoder.finish() }
        for event in events {
            switch event {
            case .frame(var f): f.offset += state.base; body(.frame(f, stream: id, timestampNanos: state.time))
            case .skipped(var s): s.offset += state.base; body(.skipped(s, stream: id))
            case .incomplete(var t): t.offset += state.base; body(.incomplete(t, stream: id))
            }
        }
        decoders[id] = final ? nil : state
    }
    while let event = try streams.next() {
        switch event {
        case .data(let id, let bytes, let time, _):
            var state = decoders[id] ?? (FrameDecoder(), 0, time)
            state.decoder.feed(bytes)
            state.time = time
            decoders[id] = state
            drain(id, final: false)
        case .gap(let id, let n, let time, let packet):
            let base = decoders[id].map { $0.base + $0.decoder.bytesFed } ?? 0
            drain(id, final: true)
            body(.gap(stream: id, offset: base, bytes: n, packet: packet))
            decoders[id] = (FrameDecoder(), base + n, time)
        case .closed(let id):
            drain(id, final: true)
        }
    }
    for id in decoders.keys.sorted(by: { ($0.connection, $0.source) < ($1.connection, $1.source) }) { drain(id, final: true) }
}

/// One line on a capture, for standard error: what was read and what could not be used.
func captureSummary<S>(_ streams: CaptureStreams<S>, file: String) -> String {
    let st = streams.reassembler.statistics
    var parts = ["\(streams.reader.format.rawValue), \(streams.packets) packet\(streams.packets == 1 ? "" : "s") (\(streams.tcpPackets) TCP, \(st.connections) connection\(st.connections == 1 ? "" : "s"))"]
    if st.connectionsWithoutHandshake > 0 { parts.append("\(st.connectionsWithoutHandshake) without handshake") }
    if st.retransmittedBytes > 0 { parts.append("\(st.retransmittedBytes) bytes retransmitted") }
    if st.gaps > 0 { parts.append("\(st.gaps) gap\(st.gaps == 1 ? "" : "s") (\(st.gapBytes) bytes missing)") }
    if st.evictedConnections > 0 { parts.append("\(st.evictedConnections) connections closed early (budget)") }
    if let other = streams.otherTrafficSummary { parts.append(other) }
    if !streams.reader.comments.isEmpty { parts.append("comments: " + streams.reader.comments.prefix(3).map { TerminalText.safe($0) }.joined(separator: " | ")) }
    return TerminalText.safe(file) + ": " + parts.joined(separator: "; ")
}

/// The capture path of `lint` and `decode`: the frames of every TCP stream, judged; gaps and a
/// truncated or corrupt file reported as diagnostics with their offsets. Returns whether Ctrl-C
/// stopped it.
func lintCapture(first: [UInt8], input: InputFile, file: String, linter: Linter, totals: inout LintTotals,
                 io: CommandIO, verb: String, body: (String, LintItem) -> Void) throws(UsageError) -> Bool {
    var frameIndex = 0
    var local = totals
    func emit(_ item: LintItem, _ stream: TCPStreamID?) {
        local.count(item)
        body(stream.map { "\(file) \($0)" } ?? file, item)
    }
    do {
        var streams = try CaptureStreams(source: InputCaptureSource(prefix: first, input: input))
        try forEachCaptureItem(&streams) { item in
            switch item {
            case .frame(let raw, let stream, _):
                emit(.frame(linter.check(raw, index: frameIndex)), stream)
                frameIndex += 1
            case .skipped(let s, let stream): emit(.skipped(s, linter.diagnose(s)), stream)
            case .incomplete(let t, let stream): emit(.incomplete(t, linter.diagnose(t)), stream)
            case .gap(let stream, let offset, let bytes, let packet):
                let d = Diagnostic(rule: "capture.gap", severity: .warning, offset: offset,
                                   message: "TCP \(stream): \(bytes) byte\(bytes == 1 ? "" : "s") missing from the capture before packet \(packet) (抓包缺失数据); a frame across the hole cannot be judged")
                emit(.skipped(SkippedBytes(offset: offset, count: bytes, reason: .unframed, sample: []), d), stream)
            }
        }
        local.bytes += streams.reader.bytesRead
        if let e = streams.error {
            let d = Diagnostic(rule: e.truncated ? "capture.truncated" : "capture.corrupt", severity: e.truncated ? .warning : .error, offset: e.offset,
                               message: (e.truncated ? "capture file cut short (抓包文件不完整): " : "capture file corrupt (抓包文件损坏): ") + e.description)
            emit(.skipped(SkippedBytes(offset: e.offset, count: 0, reason: .truncated, sample: []), d), nil)
        }
        io.stderr.line("hj212 \(verb): " + captureSummary(streams, file: file))
    } catch let e as CaptureError {
        let d = Diagnostic(rule: "capture.corrupt", severity: .error, offset: e.offset, message: "capture file unreadable (抓包文件无法读取): " + e.description)
        emit(.skipped(SkippedBytes(offset: e.offset, count: 0, reason: .truncated, sample: []), d), nil)
    } catch is CaptureInterrupted {
        // Stopped by Ctrl-C or SIGTERM: what was judged stands; nothing is said about the file.
        totals = local
        return true
    } catch let e as UsageError {
        totals = local
        throw e
    } catch {
        totals = local
        throw UsageError("cannot read '\(file)': \(error)", exitCode: 2)
    }
    totals = local
    return Interrupts.requested
}
