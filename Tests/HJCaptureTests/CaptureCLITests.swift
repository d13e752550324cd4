import Foundation
import HJ212
import HJ212CLI
import HJCapture
import Testing
import TestSupport

/// A temporary path ending in `-name`, holding `bytes` when given.
func scratchFile(_ name: String, _ bytes: [UInt8]? = nil) throws -> String {
    guard let bytes else { return temporaryPath("-cap-\(name)") }
    return try temporaryFile(bytes, suffix: "-cap-\(name)")
}

/// A logger session: uploads answered by 9014, a platform command answered by 9011 and 9012.
enum Session {
    static let mn = "010000A8900016F000169DC0"
    static func segment(_ qn: String, st: String, cn: String, flag: String, cp: String) -> String {
        "QN=\(qn);ST=\(st);CN=\(cn);PW=123456;MN=\(mn);Flag=\(flag);CP=&&\(cp)&&"
    }

    /// (up, frame with CR LF) in wire order.
    static let frames: [(up: Bool, frame: [UInt8])] = {
        var out: [(Bool, [UInt8])] = []
        for minute in 0..<4 {
            let qn = "20251201120\(minute)00000"
            out.append((true, FrameEncoder.frame(segment(qn, st: "32", cn: "2051", flag: "5",
                cp: "DataTime=2025120112\(String(format: "%02d", minute))00;w01018-Cou=1.2,w01018-Min=10.0,w01018-Avg=11.0,w01018-Max=12.5,w01018-Flag=N"))))
            out.append((false, FrameEncoder.frame(segment(qn, st: "91", cn: "9014", flag: "4", cp: ""))))
        }
        out.append((false, FrameEncoder.frame(segment("20251201120500000", st: "32", cn: "1062", flag: "5", cp: "RtdInterval=60"))))
        out.append((true, FrameEncoder.frame(segment("20251201120500000", st: "91", cn: "9011", flag: "4", cp: "QnRtn=1"))))
        out.append((true, FrameEncoder.frame(segment("20251201120500000", st: "91", cn: "9012", flag: "4", cp: "ExeRtn=1"))))
        return out
    }()

    static var raw: [UInt8] { frames.flatMap(\.frame) }

    /// The session as a pcapng capture: frames cut into small segments, one retransmitted,
    /// the segments of every frame shuffled; times one second apart per frame.
    /// Without the handshake the segments are kept in order: the stream starts at the first
    /// segment seen, so a shuffled start could not be told from a retransmission.
    static func capture(framing: LinkFraming = .ethernet(vlan: nil), handshake: Bool = true, v6: Bool = false) -> [UInt8] {
        var c = TCPConversation(client: v6 ? Build.client6 : Build.client, server: v6 ? Build.server6 : Build.server, framing: framing)
        var w = PcapngWriter(comment: "hj212 test session")
        let i = w.addInterface(linkType: framing.linkType)
        var t = Build.t0
        func add(_ packets: [[UInt8]]) {
            for p in packets {
                w.addPacket(interface: i, timestampNanos: t, data: p)
                t += 1000
            }
        }
        let hs = c.handshake()
        if handshake { add(hs) }
        var rng = Build.Random(seed: 5)
        for (n, f) in frames.enumerated() {
            t = Build.t0 + Int64(n + 1) * 1_000_000_000
            var segments = c.send(fromClient: f.up, f.frame, maxSegment: 23)
            segments.append(segments[0])
            if handshake { segments.shuffle(using: &rng) }
            add(segments)
        }
        add(c.close())
        return w.take()
    }
}

struct FrameSummary: Equatable {
    var header: String
    var cp: String
    var crcOK: Bool
}

func lintedFrames(_ path: String) throws -> [FrameSummary] {
    let r = hj212(["lint", "--format", "json", path])
    return try r.out.split(separator: "\n").compactMap { line -> FrameSummary? in
        let json = try JSONValue.parse(String(line))
        guard case .string("frame")? = json["type"] else { return nil }
        guard case .object(let h)? = json["header"], case .object(let crc)? = json["crc"] else { return nil }
        let ok = crc.first { $0.0 == "ok" }.map { $0.1 == .bool(true) } ?? false
        return FrameSummary(header: h.map { "\($0.0)=\($0.1)" }.joined(separator: ";"), cp: "\(json["cp"] ?? .null)", crcOK: ok)
    }
}

@Suite struct CaptureCLITests {
    @Test(arguments: [LinkFraming.ethernet(vlan: 3), .linuxSLL2, .null(bigEndian: false)], [false, true])
    func rawStreamTraceAndCaptureGiveTheSameFrames(framing: LinkFraming, v6: Bool) throws {
        let raw = try scratchFile("raw.txt", Session.raw)
        let capture = try scratchFile("s.pcapng", Session.capture(framing: framing, v6: v6))
        let trace = try scratchFile("t.jsonl")
        defer { for p in [raw, capture, trace] { try? FileManager.default.removeItem(atPath: p) } }
        let fromRaw = try lintedFrames(raw)
        #expect(fromRaw.count == Session.frames.count)
        #expect(fromRaw.allSatisfy { $0.crcOK })
        #expect(try lintedFrames(capture) == fromRaw)
        let imported = hj212(["trace", "import", capture, "-o", trace])
        #expect(imported.status == 0, "\(imported.err)")
        #expect(imported.out.contains("\(Session.frames.count) frames written"))
        #expect(try lintedFrames(trace) == fromRaw)
        // Directions, times and the logger's address carry into the trace.
        let lines = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n").map { try JSONValue.parse(String($0)) }
        #expect(lines.map { $0["dir"] == .string("up") } == Session.frames.map(\.up))
        #expect(lines.allSatisfy { $0["peer"] == .string((v6 ? Build.client6 : Build.client).description) && $0["mn"] == .string(Session.mn) })
        // Frame 1 completes in the second after t0 (2025-12-01T04:00:01Z = 12:00:01 China time).
        #expect(lines.first?["t"] == .string("2025-12-01T12:00:01.000+08:00"))
        #expect(lines.last?["t"] == .string("2025-12-01T12:00:11.000+08:00"))
    }

    @Test func withoutHandshakeTheLoggerIsWhoSendsUploadsOrGiven() throws {
        let capture = try scratchFile("nohs.pcapng", Session.capture(handshake: false))
        let trace = try scratchFile("t.jsonl")
        defer { for p in [capture, trace] { try? FileManager.default.removeItem(atPath: p) } }
        #expect(hj212(["trace", "import", capture, "-o", trace]).status == 0)
        var dirs = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n").map { try JSONValue.parse(String($0))["dir"] }
        #expect(dirs == Session.frames.map { .string($0.up ? "up" : "down") })
        // Told the other way round, the tool believes the user.
        #expect(hj212(["trace", "import", capture, "-o", trace, "--platform", Build.client.description]).status == 0)
        dirs = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n").map { try JSONValue.parse(String($0))["dir"] }
        #expect(dirs == Session.frames.map { .string($0.up ? "down" : "up") })
        #expect(hj212(["trace", "import", capture, "-o", trace, "--platform", "nonsense"]).status == 2)
        #expect(hj212(["trace", "import", capture]).status == 2)
        #expect(hj212(["trace", "export", capture, "-o", trace]).status == 2)
    }

    @Test func aGapIsReportedAndTheFramesAroundItSurvive() throws {
        var c = TCPConversation(client: Build.client, server: Build.server)
        var packets = c.handshake()
        packets += c.send(fromClient: true, Session.frames[0].frame)
        _ = c.send(fromClient: true, Array(Session.frames[2].frame.prefix(30)))   // lost
        packets += c.send(fromClient: true, Array(Session.frames[2].frame.dropFirst(30)) + Session.frames[4].frame)
        let capture = try scratchFile("gap.pcapng", Build.pcapng(packets))
        defer { try? FileManager.default.removeItem(atPath: capture) }
        let r = hj212(["lint", "--format", "json", capture])
        let items = try r.out.split(separator: "\n").map { try JSONValue.parse(String($0)) }
        #expect(items.filter { $0["type"] == .string("frame") }.count == 2)
        #expect(r.out.contains("capture.gap") && r.out.contains("30 bytes missing"))
        #expect(r.err.contains("1 gap (30 bytes missing)"))
    }

    @Test func badCapturesGiveClearMessagesNeverACrash() throws {
        let good = Session.capture()
        // Truncated: frames before the cut are judged, the cut is a warning with its offset.
        let cut = try scratchFile("cut.pcapng", Array(good.prefix(good.count - 30)))
        // Corrupt: a block length smashed in the middle.
        var smashed = good
        var block = 0
        for _ in 0..<8 {   // the 9th block (a packet): its length field smashed
            block += Int(good[block + 4]) | Int(good[block + 5]) << 8 | Int(good[block + 6]) << 16
        }
        smashed[block + 4] = 0xFF; smashed[block + 5] = 0xFF; smashed[block + 6] = 0xFF; smashed[block + 7] = 0x7F
        let corrupt = try scratchFile("bad.pcapng", smashed)
        // Only UDP.
        var conversation = TCPConversation(client: Build.client, server: Build.server, framing: .raw)
        var udp = conversation.send(fromClient: true, Session.frames[0].frame)[0]
        udp[9] = 17
        let notTCP = try scratchFile("udp.pcapng", Build.pcapng([udp], link: .raw))
        defer { for p in [cut, corrupt, notTCP] { try? FileManager.default.removeItem(atPath: p) } }

        let a = hj212(["lint", cut])
        #expect(a.out.contains("capture.truncated") && a.out.contains("file cut short"))
        #expect(a.out.contains("frames") && a.status == 0)
        let b = hj212(["lint", corrupt])
        #expect(b.status == 1 && b.out.contains("capture.corrupt") && b.out.contains("packet 7, byte \(block + 4)"))
        let c = hj212(["decode", notTCP])
        #expect(c.out.contains("0 frames") && c.err.contains("1 packet not TCP: UDP 1"))
        let out = try scratchFile("x.jsonl")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let d = hj212(["trace", "import", corrupt, "-o", out])
        #expect(d.status == 1 && d.err.contains("file corrupt"))
    }

    @Test func decodeExplainsFramesOfACapture() throws {
        let capture = try scratchFile("d.pcapng", Session.capture())
        defer { try? FileManager.default.removeItem(atPath: capture) }
        let r = hj212(["decode", capture])
        #expect(r.status == 0)
        #expect(r.out.contains("化学需氧量") && r.out.contains("CN    2051"))
        #expect(r.out.contains("\(Session.frames.count) frames"))
    }
}
