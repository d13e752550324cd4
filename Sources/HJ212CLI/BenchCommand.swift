import Foundation
import HJ212
import HJRoles

/// `hj212 bench codec`: throughput of the codec beside straightforward baselines, measured in
/// the same run. Run it in a release build: `swift run -c release hj212 bench codec`.
struct BenchCommand: CLICommand {
    static let name = "bench"
    static let abstract = "Measure the codec against baselines, or live loggers against serve (run with -c release)."
    static let options: [any OptionDeclaration] = []
    static let subcommands: [any CLICommand.Type] = [
        BenchCodec.self, BenchLive.self, BenchMemory.self, BenchLoad.self, BenchPingPongServer.self, BenchHostile.self, BenchSoak.self, BenchStorm.self,
        BenchStore.self, BenchRoster.self, BenchConsoleCommand.self, BenchGenerate.self,
    ]
    static let discussion = """
    The corpus is a deterministic mix of realistic uploads (2011 water and flue gas, 2051, 2061,
    2031, 3020) and 9014 acknowledgements, about 300 bytes per frame on average. Each figure is
    printed beside a baseline measured in the same run, and as a ratio to it:

      CRC                   table-driven HJ 212 CRC   vs  the standard's bit-by-bit procedure
      frame + CRC verify    streaming FrameDecoder    vs  String line splitting + Int() length + bitwise CRC
      full parse            FrameDecoder + SegmentParser to fields  vs  Foundation components(separatedBy:)
      encode                DataSegment → frame bytes  vs  String(format:) + bitwise CRC
      lint                  every rule of the linter (no baseline; for scale)
      platform              the reference platform's work per upload: decode, lint, access check,
                            9014, store, completeness  vs  lint alone

    'bench load' opens --loggers connections on loopback: first a C epoll ping-pong of our own (C client,
    C server answering each frame with a 9014; one frame in flight per connection, each connection with
    its own MN) as the baseline; the same C client against 'hj212 serve' (the platform's capacity without
    the Swift driver's cost); then 'hj212 load' on its open schedule at rising fractions of the baseline,
    against the C server and then against 'hj212 serve' (both in child processes), and prints the highest
    rate each sustains (≥ 98 % acknowledged, p99 < 1 s, ≤ 0.1 % unacknowledged) as a fraction of the
    baseline.
    """

    var frames: Int
    var rounds: Int
    var only: String?

    /// `hj212 bench` alone: a subcommand is needed.
    init(_ a: ParsedArguments) throws(UsageError) {
        throw Self.expectedSubcommand(path: "bench")
    }

    init(frames: Int, rounds: Int, only: String?) {
        self.frames = frames
        self.rounds = rounds
        self.only = only
    }

    /// `hj212 bench codec`.
    func run(_ io: CommandIO) -> Int32 {
        #if DEBUG
        io.stderr.line("hj212 bench: warning: this is a debug build; figures mean little. Use 'swift run -c release hj212 bench codec'.")
        #endif
        let corpus = BenchCorpus(count: frames)
        let wire = corpus.wire
        let mb = Double(wire.count) / 1e6
        io.stdout.line("hj212 bench codec: \(frames) frames, \(wire.count) bytes (mean \(wire.count / frames) bytes/frame), best of \(rounds) rounds, one core")
        io.stdout.line("operation".padding(toLength: 24, withPad: " ", startingAt: 0) + "frames/s".leftPad(13) + "MB/s".leftPad(9)
                       + "baseline frames/s".leftPad(19) + "ratio".leftPad(8))

        func best(_ body: () -> Int) -> (seconds: Double, check: Int) { Self.bestOf(rounds, body) }
        func wanted(_ name: String) -> Bool { only.map { name.hasPrefix($0) } ?? true }
        func row(_ name: String, _ ours: @autoclosure () -> (seconds: Double, check: Int), _ baseline: @autoclosure () -> (seconds: Double, check: Int)?, bytes: Double) {
            guard wanted(name) else { return }
            let ours = ours(), baseline = baseline()
            let fps = Double(frames) / ours.seconds
            var line = name.padding(toLength: 24, withPad: " ", startingAt: 0) + format(fps).leftPad(13) + String(format: "%.0f", bytes / ours.seconds).leftPad(9)
            if let baseline {
                let bfps = Double(frames) / baseline.seconds
                line += format(bfps).leftPad(19) + String(format: "%.1fx", fps / bfps).leftPad(8)
                if baseline.check != ours.check { line += "  (checks differ: \(ours.check) vs \(baseline.check))" }
            }
            io.stdout.line(line)
            io.stdout.flush()
        }

        let segments = corpus.segments
        let segMB = Double(segments.reduce(0) { $0 + $1.count }) / 1e6
        row("CRC", best { segments.reduce(0) { $0 &+ Int(CRC.hj212($1)) } },
            best { segments.reduce(0) { $0 &+ Int(CRC.hj212BitwiseReference($1)) } }, bytes: segMB)

        row("frame + CRC verify", best { Self.decodeAndVerify(wire) }, best { Self.baselineVerify(wire) }, bytes: mb)
        row("full parse to fields", best { Self.decodeAndParse(wire) }, best { Self.baselineParse(wire) }, bytes: mb)

        let parsed = segments.map { SegmentParser.parse($0).segment }
        row("encode", best { parsed.reduce(0) { $0 &+ FrameEncoder.frame($1).count } },
            best { parsed.reduce(0) { $0 &+ Self.baselineEncode($1).count } }, bytes: mb)

        if let linter = try? Linter() {
            row("lint (all rules)", best { Self.lint(wire, linter) }, nil, bytes: mb)
            // The platform: every upload frame on its own, as it arrives from a logger.
            let uploads = Self.frames(wire).filter { !$0.contains(Array("CN=9014".utf8)) }
            let uploadMB = Double(uploads.reduce(0) { $0 + $1.count }) / 1e6
            let scale = Double(frames) / Double(max(1, uploads.count))
            if wanted("platform") {
                let ours = best { Self.platform(uploads, linter) }
                let lintOnly = best { Self.lint(uploads.flatMap { $0 }, linter) }
                // (The checks differ in kind: acknowledgements vs frames linted clean.)
                row("platform (upload → 9014)", (ours.seconds * scale, 0), (lintOnly.seconds * scale, 0), bytes: uploadMB)
            }
        }
        if wanted("drip") { DripBenchmark.run(rounds: rounds, io: io) }
        realTrafficRows(io: io, wanted: wanted)
        startupRows(io: io, wanted: wanted)
        return Interrupts.requested ? Interrupts.exitStatus : 0
    }

    func format(_ v: Double) -> String {
        v >= 1e6 ? String(format: "%.2fM", v / 1e6) : v >= 1e3 ? String(format: "%.1fk", v / 1e3) : String(format: "%.0f", v)
    }

    /// The frames of a wire capture, each as its own byte array.
    static func frames(_ wire: [UInt8]) -> [[UInt8]] {
        var out: [[UInt8]] = []
        var decoder = FrameDecoder()
        decoder.feed(wire)
        for event in decoder.finish() {
            if case .frame(let f) = event { out.append(f.bytes) }
        }
        return out
    }

    /// Each frame received by a reference platform session on its own; returns the frames acknowledged
    /// (the uploads' frames are all 2011/2051/2061/3020 with Flag=5: every one is acknowledged).
    static func platform(_ frames: [[UInt8]], _ linter: Linter) -> Int {
        let state = PlatformState(registry: nil, linter: linter)
        var session = PlatformSession(state: state, peer: "127.0.0.1:1")
        var acks = 0
        var now: SessionTime = 1_470_000_000_000
        var out: [PlatformOutput] = []  // one buffer for every frame, as the live driver does
        session.connected(at: now, into: &out)
        state.commit(out)
        for f in frames {
            now += 1
            out.removeAll(keepingCapacity: true)
            session.received(f, at: now, into: &out)
            state.commit(out)  // the driver's commit, as the live platform's
            for case .send in out { acks += 1 }
        }
        return acks
    }

    static func decodeAndVerify(_ wire: [UInt8]) -> Int {
        var decoder = FrameDecoder()
        var ok = 0
        var start = 0
        while start < wire.count {
            let end = min(wire.count, start + 65536)
            decoder.feed(wire[start..<end])
            start = end
            while let event = decoder.next() {
                if case .frame(let f) = event, let d = CRC.parseHex(f.crcBytes), d == CRC.hj212(f.segmentBytes) { ok += 1 }
            }
        }
        for event in decoder.finish() {
            if case .frame(let f) = event, let d = CRC.parseHex(f.crcBytes), d == CRC.hj212(f.segmentBytes) { ok += 1 }
        }
        return ok
    }

    static func baselineVerify(_ wire: [UInt8]) -> Int {
        let text = String(decoding: wire, as: UTF8.self)
        var ok = 0
        for line in text.components(separatedBy: "\r\n") where line.hasPrefix("##") && line.utf8.count >= 10 {
            let bytes = Array(line.utf8)
            guard let length = Int(String(decoding: bytes[2..<6], as: UTF8.self)), bytes.count == length + 10 else { continue }
            let segment = bytes[6..<(6 + length)]
            if let d = UInt16(String(decoding: bytes[(6 + length)...], as: UTF8.self), radix: 16), d == CRC.hj212BitwiseReference(segment) { ok += 1 }
        }
        return ok
    }

    static func decodeAndParse(_ wire: [UInt8]) -> Int {
        var decoder = FrameDecoder()
        var fields = 0
        var start = 0
        func take(_ event: FrameDecoder.Event) {
            if case .frame(let f) = event {
                let s = SegmentParser.parse(f.segmentBytes).segment
                fields += s.header.count + (s.cp?.reduce(0) { $0 + $1.count } ?? 0)
            }
        }
        while start < wire.count {
            let end = min(wire.count, start + 65536)
            decoder.feed(wire[start..<end])
            start = end
            while let event = decoder.next() { take(event) }
        }
        for event in decoder.finish() { take(event) }
        return fields
    }

    static func baselineParse(_ wire: [UInt8]) -> Int {
        let text = String(decoding: wire, as: UTF8.self)
        var fields = 0
        for line in text.components(separatedBy: "\r\n") where line.hasPrefix("##") && line.count > 10 {
            let segment = String(line.dropFirst(6).dropLast(4))
            let parts = segment.components(separatedBy: "CP=&&")
            var header: [String: String] = [:]
            for item in parts[0].components(separatedBy: ";") where !item.isEmpty {
                let kv = item.components(separatedBy: "=")
                header[kv[0]] = kv.count > 1 ? kv[1] : ""
            }
            fields += header.count
            if parts.count > 1 {
                let area = parts[1].hasSuffix("&&") ? String(parts[1].dropLast(2)) : parts[1]
                for group in area.components(separatedBy: ";") {
                    var entries: [String: String] = [:]
                    for entry in group.components(separatedBy: ",") where !entry.isEmpty {
                        let kv = entry.components(separatedBy: "=")
                        entries[kv[0]] = kv.count > 1 ? kv[1] : ""
                    }
                    fields += entries.count
                }
            }
        }
        return fields
    }

    static func baselineEncode(_ segment: DataSegment) -> [UInt8] {
        var text = ""
        for f in segment.header { text += "\(f.name)=\(f.value);" }
        text += "CP=&&" + (segment.cp ?? []).map { $0.map { "\($0.name)=\($0.value)" }.joined(separator: ",") }.joined(separator: ";") + "&&"
        let bytes = Array(text.utf8)
        let frame = "##" + String(format: "%04d", bytes.count) + text + String(format: "%04X", CRC.hj212BitwiseReference(bytes)) + "\r\n"
        return Array(frame.utf8)
    }

    static func lint(_ wire: [UInt8], _ linter: Linter) -> Int {
        var decoder = FrameDecoder()
        decoder.feed(wire)
        var n = 0
        var index = 0
        while let event = decoder.next() {
            if case .frame(let f) = event { n += linter.check(f, index: index).diagnostics.count; index += 1 }
        }
        return n
    }
}

extension String {
    func leftPad(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}

/// A deterministic corpus of realistic frames for benchmarks.
struct BenchCorpus {
    var segments: [[UInt8]] = []
    var wire: [UInt8] = []

    init(count: Int) {
        var rng: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            rng ^= rng << 13
            rng ^= rng >> 7
            rng ^= rng << 17
            return rng
        }
        func value(_ base: Double, _ decimals: Int) -> String {
            String(format: "%.\(decimals)f", base * (0.8 + Double(next() % 400) / 1000))
        }
        let mn = "010000A8900016F000169DC0"
        for i in 0..<count {
            let qn = "20160801" + String(format: "%02d%02d%02d%03d", (i / 3600) % 24, (i / 60) % 60, i % 60, i % 1000)
            let time = String(qn.prefix(14))
            let head = "QN=\(qn);ST=32;CN=%@;PW=123456;MN=\(mn);Flag=5;CP=&&"
            var cp: String
            var cn: String
            switch i % 8 {
            case 0, 1:
                cn = "2011"
                cp = "DataTime=\(time);w01001-Rtd=\(value(7.2, 2)),w01001-Flag=N;w01018-SampleTime=\(time),w01018-Rtd=\(value(40, 1)),w01018-Flag=N;w21003-SampleTime=\(time),w21003-Rtd=\(value(3, 2)),w21003-Flag=N;w00000-Rtd=\(value(17, 2)),w00000-Flag=N"
            case 2:
                cn = "2011"
                cp = "DataTime=\(time);a21026-Rtd=\(value(20, 2)),a21026-ZsRtd=\(value(25, 2)),a21026-Flag=N;a21002-Rtd=\(value(40, 1)),a21002-ZsRtd=\(value(50, 1)),a21002-Flag=N;a34013-Rtd=\(value(5, 1)),a34013-Flag=N;a19001-Rtd=\(value(9, 1)),a19001-Flag=N"
            case 3, 4:
                cn = "2051"
                cp = "DataTime=\(time.prefix(12))00;w00000-Cou=\(value(10.5, 1)),w00000-Min=\(value(16, 1)),w00000-Avg=\(value(17.5, 1)),w00000-Max=\(value(20, 1)),w00000-Flag=N;w01001-Min=\(value(7, 1)),w01001-Avg=\(value(7.5, 1)),w01001-Max=\(value(8, 1)),w01001-Flag=N;w01018-Cou=\(value(0.4, 3)),w01018-Min=\(value(40, 1)),w01018-Avg=\(value(41, 1)),w01018-Max=\(value(42, 1)),w01018-Flag=N"
            case 5:
                cn = "2061"
                cp = "DataTime=\(time.prefix(10))0000;w00000-Cou=\(value(63, 1)),w00000-Min=\(value(16, 1)),w00000-Avg=\(value(17.5, 1)),w00000-Max=\(value(20, 1)),w00000-Flag=N;w01018-Cou=\(value(2.6, 3)),w01018-Min=\(value(40, 1)),w01018-Avg=\(value(41, 1)),w01018-Max=\(value(42, 1)),w01018-Flag=N;w21003-Cou=\(value(0.2, 3)),w21003-Min=\(value(3, 2)),w21003-Avg=\(value(3.2, 2)),w21003-Max=\(value(3.4, 2)),w21003-Flag=N"
            case 6:
                cn = "3020"
                cp = "DataTime=\(time);PolId=w01018;i12001-Info=0;i12003-Info=0;i13004-Info=\(value(165, 1));i13005-Info=40"
            default:
                cn = "9014"
                cp = ""
            }
            let text = (head.replacingOccurrences(of: "%@", with: cn)) + cp + "&&"
            let seg = Array(text.utf8)
            segments.append(seg)
            wire += FrameEncoder.frame(segmentBytes: seg)
        }
    }
}
