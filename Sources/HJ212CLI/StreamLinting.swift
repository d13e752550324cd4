import HJ212
import HJStore
import HJCapture

/// One thing found in an input stream, judged.
enum LintItem {
    case frame(FrameReport)
    case skipped(SkippedBytes, Diagnostic)
    case incomplete(IncompleteTail, Diagnostic)

    var diagnostics: [Diagnostic] {
        switch self {
        case .frame(let report): return report.diagnostics
        case .skipped(_, let d), .incomplete(_, let d): return [d]
        }
    }
}

/// Totals over a run, for the summary line.
struct LintTotals {
    var frames = 0
    var framesWithErrors = 0
    var framesWithWarnings = 0
    var errors = 0
    var warnings = 0
    var infos = 0
    var skippedBytes = 0
    var skippedRuns = 0
    var incompleteTails = 0
    var bytes = 0

    mutating func count(_ item: LintItem) {
        let ds = item.diagnostics
        for d in ds {
            switch d.severity {
            case .error: errors += 1
            case .warning: warnings += 1
            case .info: infos += 1
            }
        }
        switch item {
        case .frame:
            frames += 1
            if ds.contains(where: { $0.severity == .error }) { framesWithErrors += 1 }
            else if ds.contains(where: { $0.severity == .warning }) { framesWithWarnings += 1 }
        case .skipped(let s, _):
            skippedBytes += s.count
            skippedRuns += 1
        case .incomplete:
            incompleteTails += 1
        }
    }

    /// Counts a frame judged by the byte path.
    mutating func count(fast r: ByteLinter) {
        var worst: Severity?
        for d in r.diagnostics {
            switch d.severity {
            case .error: errors += 1
            case .warning: warnings += 1
            case .info: infos += 1
            }
            if worst == nil || worst! < d.severity { worst = d.severity }
        }
        frames += 1
        if worst == .error { framesWithErrors += 1 } else if worst == .warning { framesWithWarnings += 1 }
    }

    var summary: String {
        var parts = ["\(frames) frame\(frames == 1 ? "" : "s")"]
        parts.append("\(frames - framesWithErrors - framesWithWarnings) clean")
        if framesWithWarnings > 0 { parts.append("\(framesWithWarnings) with warnings") }
        if framesWithErrors > 0 { parts.append("\(framesWithErrors) with errors") }
        var text = parts.joined(separator: ", ")
        text += "; \(errors) error\(errors == 1 ? "" : "s"), \(warnings) warning\(warnings == 1 ? "" : "s")"
        if infos > 0 { text += ", \(infos) info" }
        if skippedBytes > 0 { text += "; \(skippedBytes) byte\(skippedBytes == 1 ? "" : "s") skipped in \(skippedRuns) run\(skippedRuns == 1 ? "" : "s")" }
        if incompleteTails > 0 { text += "; \(incompleteTails) incomplete tail\(incompleteTails == 1 ? "" : "s")" }
        return text
    }
}

/// Reads inputs chunk by chunk through a `FrameDecoder` and hands each judged item to `body`,
/// in bounded memory, with progress on a terminal and a stop on Ctrl-C. With `fast`, frames that
/// `ByteLinter` can judge go to `fast` instead (the same findings, without a `FrameReport`).
func lintStreams(_ inputs: inout [InputFile], linter: Linter, io: CommandIO, verb: String,
                 fast: ((String, ByteLinter) -> Void)? = nil,
                 body: (String, LintItem) -> Void) throws(UsageError) -> (totals: LintTotals, interrupted: Bool) {
    var totals = LintTotals()
    var lastProgress = monotonicSeconds()
    var interrupted = false
    // Unknown CP keys resolved once per run, not once per entry (bounded: see LintCache).
    let cache = LintCache()
    let byteLinter = fast == nil ? nil : ByteLinter(linter: linter)
    for index in inputs.indices {
        let name = inputs[index].name
        var decoder = FrameDecoder()
        var frameIndex = 0
        func handle(_ event: FrameDecoder.Event) {
            let item: LintItem
            switch event {
            case .frame(let raw):
                if let byteLinter, let fast, byteLinter.lint(raw, index: frameIndex) {
                    frameIndex += 1
                    totals.count(fast: byteLinter)
                    fast(name, byteLinter)
                    return
                }
                item = .frame(linter.check(raw, index: frameIndex, cache: cache))
                frameIndex += 1
            case .skipped(let s):
                item = .skipped(s, linter.diagnose(s))
            case .incomplete(let t):
                item = .incomplete(t, linter.diagnose(t))
            }
            totals.count(item)
            body(name, item)
        }
        // A JSON Lines trace (ARCHITECTURE.md) is read line by line: each "frame" is judged as if
        // it had arrived alone with CR LF; offsets are the line's offset in the file plus the
        // offset within the frame.
        var traceMode: Bool?
        var pendingLine: [UInt8] = []
        var lineOffset = 0
        func traceLine(_ line: [UInt8], at offset: Int) {
            guard line.contains(where: { $0 != 0x20 && $0 != 0x0D && $0 != 0x09 }) else { return }
            let text = String(decoding: line, as: UTF8.self)
            var d = FrameDecoder()
            if let json = try? JSONValue.parse(text), let frame = TraceFrameBytes.frame(json) {
                d.feed(frame + [0x0D, 0x0A])
            } else if line.firstRange(of: [0x23, 0x23]) != nil {
                // Raw frames among trace lines (`cat a.jsonl b.raw`, or a raw capture under a
                // JSON header): judged as raw bytes, never skipped unjudged.
                d.feed(line + [0x0A])
            } else {
                let skipped = SkippedBytes(offset: offset, count: line.count + 1, reason: .noise, sample: Array(line.prefix(64)))
                let item = LintItem.skipped(skipped, linter.diagnose(skipped))
                totals.count(item)
                body(name, item)
                return
            }
            var events: [FrameDecoder.Event] = []
            while let e = d.next() { events.append(e) }
            events += d.finish()
            for event in events {
                switch event {
                case .frame(var f): f.offset += offset; handle(.frame(f))
                case .skipped(var s): s.offset += offset; handle(.skipped(s))
                case .incomplete(var t): t.offset += offset; handle(.incomplete(t))
                }
            }
        }
        while true {
            if Interrupts.requested { interrupted = true; break }
            let chunk = try inputs[index].read()
            if chunk.isEmpty { break }
            // A pcap or pcapng capture (recognised by its magic number): the frames of its TCP streams.
            if traceMode == nil && decoder.bytesFed == 0 && CaptureFormat.detect(chunk) != nil {
                interrupted = try lintCapture(first: chunk, input: inputs[index], file: name, linter: linter, totals: &totals, io: io, verb: verb, body: body)
                break
            }
            totals.bytes += chunk.count
            if traceMode == nil, let first = chunk.first(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }) {
                traceMode = first == UInt8(ascii: "{")
            }
            if traceMode == true {
                for byte in chunk {
                    if byte == 0x0A {
                        traceLine(pendingLine, at: lineOffset)
                        lineOffset += pendingLine.count + 1
                        pendingLine.removeAll(keepingCapacity: true)
                    } else if pendingLine.count < 1 << 20 {
                        pendingLine.append(byte)
                    }
                }
            } else {
                decoder.feed(chunk)
                while let event = decoder.next() { handle(event) }
            }
            let now = monotonicSeconds()
            if now - lastProgress > 0.5 {
                lastProgress = now
                io.progress("\(verb): \(name): \(totals.bytes / 1_000_000) MB, \(totals.frames) frames, \(totals.errors) errors")
            }
        }
        if traceMode == true { traceLine(pendingLine, at: lineOffset) }
        for event in decoder.finish() { handle(event) }
        inputs[index].close()
        if interrupted { break }
    }
    io.clearProgress()
    return (totals, interrupted)
}

/// Parses `--dialect`.
func dialectOption(_ value: String?) -> Dialect? {
    switch value {
    case "2005": return .hj2005
    case "2017": return .hj2017
    case "2025": return .hj2025
    default: return nil
    }
}

/// Builds the linter for `--profiles` (a directory overriding the built-in code tables).
func makeLinter(dialect: Dialect?, strict: Bool, profiles: String?, profile: String? = nil) throws(UsageError) -> Linter {
    let overlays = (profile ?? "national").split(separator: ",").map(String.init).filter { $0 != "national" }
    do {
        let store = try ProfileStore.opening(profiles)
        return try Linter(options: LintOptions(dialect: dialect, strict: strict, profiles: store, overlays: overlays))
    } catch {
        throw UsageError("profile error: \(error)", exitCode: 2)
    }
}
