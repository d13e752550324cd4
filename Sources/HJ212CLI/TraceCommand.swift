import Glibc
import HJ212
import HJStore
import HJCapture
import HJSimulation

/// `hj212 trace`: a group; its one subcommand is `import`.
struct TraceGroup: CLICommand {
    static let name = "trace"
    static let abstract = "Convert a pcap or pcapng capture into a JSON Lines trace (trace import)."
    static let options: [any OptionDeclaration] = []
    static let subcommands: [any CLICommand.Type] = [TraceCommand.self]

    init(_ a: ParsedArguments) throws(UsageError) {
        throw UsageError("expected 'hj212 trace import CAPTURE -o TRACE.jsonl'")
    }

    func run(_ io: CommandIO) -> Int32 { 2 }
}

/// `hj212 trace import CAPTURE -o TRACE.jsonl`: a pcap/pcapng capture turned into a JSON Lines trace.
struct TraceCommand: CLICommand {
    static let name = "import"
    static let abstract = "Convert a pcap or pcapng capture into a JSON Lines trace."
    static let operands = "CAPTURE"
    static let out = Shared.out.help("The trace to write (created, or replaced once the import has finished; never the capture itself).").required()
    static let platform = Option("platform", "HOST:PORT", help: "The platform's address in the capture (repeatable); without it, the logger is the side that sends uploads.", repeatable: true,
                                 parse: { (text: String) throws(UsageError) -> Endpoint in
                                     guard let e = Endpoint(text) else { throw UsageError("is not HOST:PORT with a numeric address") }
                                     return e
                                 })
    static let utcOffset = Option("utc-offset", "MINUTES", help: "Zone of the trace's time stamps, minutes east of UTC (default 480, China time).", parse: Parse.int(-840...840))
    static let options: [any OptionDeclaration] = [out, platform, utcOffset]
    static let discussion = """
    Reads the capture streamed (pcap or pcapng, any byte order; Ethernet with VLAN tags, Linux
    cooked SLL/SLL2, raw IP, BSD loopback; IPv4 and IPv6), reassembles every TCP connection per
    direction and writes each HJ 212 frame as one trace line {"t","dir","peer","mn","frame"} with
    the capture time of the packet that completed it. "dir" is up for logger to platform; "peer"
    is the logger's address.

    Which side is the logger is decided per connection, in this order: --platform; the side that
    sends uploads (CN with an upload meaning, or DataTime in CP) or the 9011/9012 answers; else the
    side that opened the connection (a warning says so). Gaps in the capture (bytes never
    captured) and a truncated file are reported on standard error with their byte counts and
    positions; frames across a gap are not written.

    The trace is written to a temporary file next to --out and renamed into place when the import
    has finished: an interrupted or failed import leaves an existing file untouched.

    EXIT STATUS: 0 written, 1 the capture held no HJ 212 frame or was corrupt, 2 bad usage (also:
    --out is the capture itself), 130/143 stopped by Ctrl-C/SIGTERM (nothing written).

    EXAMPLE:
      hj212 trace import site.pcapng -o site.jsonl --platform 10.0.0.5:7001
    """

    var capture: String
    var out: String
    var platforms: [Endpoint]
    var offsetMinutes: Int

    init(_ a: ParsedArguments) throws(UsageError) {
        guard a.positionals.count == 1 else { throw UsageError("trace import takes one capture file") }
        capture = a.positionals[0]
        guard capture != "-" else { throw UsageError("trace import reads the capture twice: give a file, not standard input") }
        guard let out = a[Self.out] else { throw UsageError("trace import needs -o TRACE.jsonl") }
        self.out = out
        platforms = a.all(Self.platform)
        offsetMinutes = a[Self.utcOffset] ?? 480
    }


    /// What the first pass learnt of a connection: how strongly each side looks like the logger.
    struct Roles {
        var client: Endpoint?
        var firstSender: Endpoint
        var score: [Endpoint: Int] = [:]

        func logger(platforms: [Endpoint]) -> (Endpoint, inferred: String)? {
            let sides = Array(score.keys) + [firstSender] + (client.map { [$0] } ?? [])
            if let p = sides.first(where: { platforms.contains($0) }) {
                return (sides.first { $0 != p } ?? p, "given")
            }
            let ranked = score.sorted { $0.value > $1.value }
            if let best = ranked.first, best.value > 0, ranked.count < 2 || ranked[1].value < best.value { return (best.key, "uploads") }
            if let client { return (client, "opened the connection") }
            return nil
        }
    }

    static let answers: Set<String> = ["9011", "9012"]

    /// How much a frame says its sender is the logger (positive) or the platform (negative).
    static func loggerEvidence(_ frame: RawFrame) -> Int {
        let segment = SegmentParser.parse(frame.segmentBytes).segment
        guard let cn = segment.cn else { return 0 }
        if answers.contains(cn) { return 2 }
        if cn == "9013" || cn == "9014" || segment.st == "91" { return 0 }
        let dictionary = CodeDictionary.shared(.hj2017)
        let hasDataTime = segment.cp?.contains { group in group.contains { $0.name == "DataTime" } } ?? false
        guard let command = dictionary.command(cn) else { return hasDataTime ? 1 : 0 }
        if command.down == "-" || command.down.isEmpty { return 2 }
        if command.up == "-" || command.up.isEmpty { return -2 }
        return hasDataTime ? 1 : 0
    }

    func run(_ io: CommandIO) -> Int32 {
        var temporary: String?
        defer { if let temporary { unlink(temporary) } }
        do throws(UsageError) {
            // The output must not be the capture (same file under any name: device and inode).
            var inStat = stat(), outStat = stat()
            if stat(capture, &inStat) == 0, stat(out, &outStat) == 0, inStat.st_dev == outStat.st_dev, inStat.st_ino == outStat.st_ino {
                throw UsageError("--out '\(TerminalText.safe(out))' is the capture itself: give another file", exitCode: 2)
            }
            // Pass 1: roles per connection.
            var roles: [Int: Roles] = [:]
            var rolesOverflow = false
            try readCapture(io: io) { item in
                guard case .frame(let raw, let stream, _) = item else { return }
                if roles[stream.connection] == nil {
                    guard roles.count < 1_000_000 else { rolesOverflow = true; return }
                    roles[stream.connection] = Roles(client: stream.client, firstSender: stream.source)
                }
                roles[stream.connection]!.score[stream.source, default: 0] += Self.loggerEvidence(raw)
                roles[stream.connection]!.score[stream.destination, default: 0] += 0
            }
            if Interrupts.requested { return interrupted(io) }
            if rolesOverflow { io.stderr.line("hj212 trace: more than 1 000 000 connections; sides of the rest taken from who opened them") }
            // Pass 2: the trace, into a temporary file next to the output (renamed at the end).
            // An output that exists and is not a regular file (a device, a pipe) is written in place.
            var target = out
            var inPlace = false
            var mode: mode_t = 0o644
            if lstat(out, &outStat) == 0 {
                if (outStat.st_mode & S_IFMT) == S_IFLNK, let resolved = realpath(out, nil) {
                    target = String(cString: resolved)
                    free(resolved)
                    if stat(target, &outStat) != 0 { outStat = stat() }
                }
                if (outStat.st_mode & S_IFMT) == S_IFREG { mode = outStat.st_mode & 0o7777 } else if outStat.st_mode != 0 { inPlace = true }
            }
            let path = inPlace ? target : "\(target).\(getpid()).tmp"
            let fd = inPlace ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) : open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
            guard fd >= 0 else { throw UsageError("cannot write trace '\(TerminalText.safe(out))': \(String(cString: strerror(errno)))", exitCode: 2) }
            if !inPlace { temporary = path }
            defer { close(fd) }
            let sink = OutputSink(fd: fd)
            var written = 0, gaps = 0, gapBytes = 0, skipped = 0
            var warned: Set<Int> = []
            let summary = try readCapture(io: io) { item in
                switch item {
                case .frame(let raw, let stream, let time):
                    let decided = roles[stream.connection]?.logger(platforms: platforms)
                    if decided == nil && !warned.contains(stream.connection) && warned.count < 100 {
                        warned.insert(stream.connection)
                        io.stderr.line("hj212 trace: connection \(stream.connection) (\(stream.source) ↔ \(stream.destination)): no uploads and no handshake seen; taking its first sender as the logger")
                    }
                    let logger = decided?.0 ?? roles[stream.connection]?.firstSender ?? stream.source
                    let up = stream.source == logger
                    let segment = SegmentParser.parse(raw.segmentBytes).segment
                    let localMs = time / 1_000_000 + Int64(offsetMinutes) * 60_000
                    var line = "{\"t\":\"\(SimClock.iso(localMs, offsetMinutes: offsetMinutes))\",\"dir\":\"\(up ? "up" : "down")\",\"peer\":"
                    JSONValue.writeString(logger.description, to: &line)
                    line += ",\"mn\":"
                    JSONValue.writeString(segment.mn ?? "", to: &line)
                    // Lossless: a frame that is not UTF-8 (GBK from the field) keeps its bytes in frame_hex.
                    TraceFrameBytes.write(raw.bytes[..<raw.crcField.upperBound], to: &line)
                    line += "}\n"
                    sink.write(line)
                    written += 1
                case .gap(let stream, let offset, let bytes, let packet):
                    gaps += 1
                    gapBytes += bytes
                    io.stderr.line("hj212 trace: gap: TCP \(stream) misses \(bytes) bytes at stream offset \(offset), before packet \(packet); frames across it are not written")
                case .skipped(let s, _): skipped += s.count
                case .incomplete(let t, let stream):
                    io.stderr.line("hj212 trace: TCP \(stream): frame cut short at stream offset \(t.offset) (\(t.count) bytes), not written")
                }
            }
            if Interrupts.requested { return interrupted(io) }
            sink.flush()
            if let failure = sink.failure { throw UsageError("cannot write trace '\(TerminalText.safe(out))': \(failure)", exitCode: 2) }
            if !inPlace {
                guard fsync(fd) == 0, rename(path, target) == 0 else {
                    throw UsageError("cannot write trace '\(TerminalText.safe(out))': \(String(cString: strerror(errno)))", exitCode: 2)
                }
                temporary = nil
            }
            io.stderr.line("hj212 trace: " + summary.text)
            var line = "\(written) frame\(written == 1 ? "" : "s") written to \(TerminalText.safe(out))"
            if gaps > 0 { line += "; \(gaps) gap\(gaps == 1 ? "" : "s") (\(gapBytes) bytes missing)" }
            if skipped > 0 { line += "; \(skipped) bytes outside frames skipped" }
            io.stdout.line(line)
            return written == 0 || summary.corrupt ? 1 : 0
        } catch {
            io.stderr.line("hj212 trace: \(error.message)")
            return error.exitCode
        }
    }

    /// Ctrl-C or SIGTERM stopped the import: the output is left as it was.
    func interrupted(_ io: CommandIO) -> Int32 {
        io.stderr.line("hj212 trace: interrupted: nothing written ('\(TerminalText.safe(out))' unchanged)")
        return Interrupts.exitStatus
    }

    /// Reads the capture once through `body`; the summary line and whether the file was corrupt.
    @discardableResult
    func readCapture(io: CommandIO, body: (CaptureItem) -> Void) throws(UsageError) -> (text: String, corrupt: Bool) {
        let inputs = try InputFile.openAll([capture], io: io)
        defer { inputs[0].close() }
        do {
            var streams = try CaptureStreams(source: InputCaptureSource(prefix: [], input: inputs[0]))
            try forEachCaptureItem(&streams, body: body)
            var text = captureSummary(streams, file: capture)
            if let e = streams.error { text += "; " + (e.truncated ? "file cut short: " : "file corrupt: ") + e.description }
            return (text, streams.error.map { !$0.truncated } ?? false)
        } catch is CaptureInterrupted {
            // The caller sees Interrupts.requested and writes nothing.
            return ("interrupted", false)
        } catch let e as CaptureError {
            throw UsageError("'\(capture)' is not a readable capture: \(e.description)", exitCode: 1)
        } catch let e as UsageError {
            throw e
        } catch {
            throw UsageError("cannot read '\(capture)': \(error)", exitCode: 2)
        }
    }
}
