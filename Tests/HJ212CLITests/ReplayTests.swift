import Foundation
import HJ212
import HJCapture
import HJConformance
import HJNetwork
import HJRoles
import Synchronization
import Testing
import HJLive
@testable import HJ212CLI
import TestSupport

/// The reference platform in this process, with a registry (nil: open mode).
func startPlatform(registry: Registry?) throws -> (platform: LivePlatform, address: String, group: EventLoopGroup) {
    let group = try EventLoopGroup(threads: 1, name: "platform-test")
    let clock = LiveClock(start: LiveClock.wallNow(offsetMinutes: 480), speed: 1)
    let state = PlatformState(registry: registry, linter: try makeLinter(dialect: nil, strict: false, profiles: nil, profile: "hebei-dynamic"))
    let platform = LivePlatform(address: .loopback(port: 0), state: state, clock: clock, options: PlatformSession.Options(), trace: nil, group: group)
    let bound = try platform.start()
    return (platform, bound.description, group)
}

@Suite("hj212 replay", .serialized)
struct ReplayTests {
    static let mn = "010000A8900016F000169DC0"

    /// Uplink lines of a trace.
    static func uplinks(_ trace: String) throws -> Int {
        try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n").filter { $0.contains("\"dir\":\"up\"") }.count
    }

    @Test("a recorded trace replayed to serve: every uplink sent, every recorded acknowledgement received again, exit 0")
    func replayToServe() throws {
        let rec = try recordSession(duration: "1h")
        defer { removeRecording(rec) }
        let ups = try Self.uplinks(rec.trace)
        #expect(ups > 100)
        let p = try startPlatform(registry: nil)
        defer { p.platform.stop(); p.group.shutdown() }
        let r = hj212(["replay", rec.trace, "--to", p.address, "--as-fast-as-possible"])
        #expect(r.status == 0, "\(r.out)\(r.err)")
        let row = try #require(r.out.split(separator: "\n").dropFirst().first).split(separator: " ").compactMap { Int($0) }
        #expect(row == [1, ups, ups, 0, ups, 0, 0, 0], "\(r.out)")
        #expect(r.out.contains("every uplink acknowledged in the recording (\(ups)) was acknowledged again"))
        #expect(p.platform.state.mns.contains(Self.mn))
        // The capture of the same run replays the same way, paced (a high speed keeps it short).
        let q = try startPlatform(registry: nil)
        defer { q.platform.stop(); q.group.shutdown() }
        let c = hj212(["replay", rec.pcap, "--to", q.address, "--speed", "20000"])
        #expect(c.status == 0, "\(c.out)\(c.err)")
        #expect(c.out.contains("(\(ups)) was acknowledged again"))
    }

    @Test("a registry that rejects the MN: not acknowledged again, exit 1 with the first QNs; --mn-map to a registered MN and PW: exit 0")
    func registryAndMap() throws {
        let rec = try recordSession(duration: "1h")
        defer { removeRecording(rec) }
        let registry = try Registry.parse("mn,pw\n88888880000001,654321\n")
        let p = try startPlatform(registry: registry)
        defer { p.platform.stop(); p.group.shutdown() }
        let r = hj212(["replay", rec.trace, "--to", p.address, "--as-fast-as-possible", "--ack-timeout", "2"])
        #expect(r.status == 1, "\(r.out)\(r.err)")
        #expect(r.out.contains("were not acknowledged: \(Self.mn) QN=2026"), "\(r.out)")
        let map = try temporaryFile(Array("old,new,pw\n\(Self.mn),88888880000001,654321\n".utf8))
        defer { try? FileManager.default.removeItem(atPath: map) }
        let m = hj212(["replay", rec.trace, "--to", p.address, "--as-fast-as-possible", "--mn-map", map])
        #expect(m.status == 0, "\(m.out)\(m.err)")
        #expect(p.platform.state.mns.contains("88888880000001"))
    }

    @Test("--rewrite-time: QN and DataTime moved by whole hours, CRC and length valid, the platform acknowledges everything")
    func rewriteTime() throws {
        let segment = Array("QN=20261130075000001;ST=32;CN=2051;PW=123456;MN=\(Self.mn);Flag=5;CP=&&DataTime=20261130074000;w01018-Avg=12.5,w01018-Flag=N&&".utf8)
        let moved = ReplayRewrite.shiftTimes(segment, by: 3 * 86_400_000 + 2 * 3_600_000)
        let text = String(decoding: moved, as: UTF8.self)
        #expect(text == "QN=20261203095000001;ST=32;CN=2051;PW=123456;MN=\(Self.mn);Flag=5;CP=&&DataTime=20261203094000;w01018-Avg=12.5,w01018-Flag=N&&")
        let frame = FrameEncoder.frame(segmentBytes: moved)
        let linter = try Linter(options: LintOptions(dialect: .hj2017, strict: false))
        var decoder = FrameDecoder()
        decoder.feed(frame)
        guard case .frame(let raw)? = decoder.next() else { Issue.record("no frame"); return }
        let report = linter.check(raw, index: 0)
        #expect(!report.diagnostics.contains { $0.rule.hasPrefix("frame.crc") || $0.rule.hasPrefix("frame.length") }, "\(report.diagnostics)")
        // Whole hours, or whole days when the recording holds day records; never into the future.
        var plan = ReplayPlan()
        plan.firstTime = HJTime(year: 2026, month: 11, day: 30, hour: 7, minute: 50).wallMilliseconds
        let now = HJTime(year: 2026, month: 12, day: 3, hour: 9, minute: 28).wallMilliseconds
        #expect(plan.timeShift(now: now) == 3 * 86_400_000 + 1 * 3_600_000)
        plan.hasDayRecords = true
        #expect(plan.timeShift(now: now) == 3 * 86_400_000)

        let rec = try recordSession(duration: "1h")
        defer { removeRecording(rec) }
        let p = try startPlatform(registry: nil)
        defer { p.platform.stop(); p.group.shutdown() }
        let r = hj212(["replay", rec.trace, "--to", p.address, "--as-fast-as-possible", "--rewrite-time"])
        #expect(r.status == 0, "\(r.out)\(r.err)")
        #expect(p.platform.state.counters.errors == 0, "the platform found no error in the rewritten packets")
    }

    @Test("replay usage and bad input: exit 2 with one line, before anything connects")
    func usage() throws {
        #expect(hj212(["replay", "x.jsonl"]).status == 2)
        #expect(hj212(["replay", "x.jsonl", "--to", "127.0.0.1:9", "--speed", "2", "--as-fast-as-possible"]).status == 2)
        #expect(hj212(["replay", "x.jsonl", "--to", "127.0.0.1:9", "--speed", "0"]).status == 2)
        let badMap = try temporaryFile(Array("old,new\nonly-one-column\n".utf8))
        defer { try? FileManager.default.removeItem(atPath: badMap) }
        let m = hj212(["replay", "x.jsonl", "--to", "127.0.0.1:9", "--mn-map", badMap])
        #expect(m.status == 2 && m.err.contains("line 2: expected old,new[,pw]"), "\(m.err)")
        let garbage = try temporaryFile(Array("{\"not\":\"a trace\"}\n{broken\n".utf8))
        defer { try? FileManager.default.removeItem(atPath: garbage) }
        let g = hj212(["replay", garbage, "--to", "127.0.0.1:9"])
        #expect(g.status == 2 && g.err.contains("no uplink frame to replay") && g.err.contains("2 lines"), "\(g.err)")
        // A capture cut short after its header: read up to there, nothing to replay.
        var w = PcapWriter(linkType: .ethernet)
        let cut = try temporaryFile(Array(w.take().prefix(20)))
        defer { try? FileManager.default.removeItem(atPath: cut) }
        let c = hj212(["replay", cut, "--to", "127.0.0.1:9"])
        #expect(c.status == 2 && c.err.contains("cut short"), "\(c.err)")
        let o = hj212(["check", "logger", "--offline", cut])
        #expect(o.status == 2 && o.err.contains("cut short"), "a capture cut short is not a failed MUST check: \(o.err)")
    }

    @Test("a logger's own trace (no acknowledgement recorded) is judged by its Flag; an unreachable target is exit 2; acknowledgements with a wrong CRC do not count; frames go out as recorded, defects included")
    func honestVerdicts() throws {
        func line(_ s: Int, _ frame: [UInt8]) -> String {
            "{\"t\":\"2026-11-30T08:00:\(String(format: "%02d", s)).000+08:00\",\"dir\":\"up\",\"peer\":\"10.0.0.2:4000\",\"mn\":\"\(Self.mn)\",\"frame\":\"\(String(decoding: frame, as: UTF8.self))\"}"
        }
        func upload(_ s: Int) -> String { "QN=202611300800\(String(format: "%02d", s))000;ST=32;CN=2011;PW=123456;MN=\(Self.mn);Flag=5;CP=&&DataTime=202611300800\(String(format: "%02d", s));w01018-Rtd=1.0,w01018-Flag=N&&" }
        var bad = FrameEncoder.frame(upload(20), trailer: false)
        bad.replaceSubrange((bad.count - 4)..., with: Array("0000".utf8))  // a field defect: a wrong CRC
        let trace = [line(0, FrameEncoder.frame(upload(0), trailer: false)), line(10, FrameEncoder.frame(upload(10), trailer: false)), line(20, bad)].joined(separator: "\n") + "\n"
        let path = try temporaryFile(Array(trace.utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }

        // Nobody listening: nothing was replayed, and that is not a pass.
        let gone = try EventLoopGroup(threads: 1, name: "gone")
        defer { gone.shutdown() }
        let closed = try TCPServer.start(on: .loopback(port: 0), group: gone) { _ in TCPCallbacks() }
        let port = closed.localAddress.port
        _ = closed.stopAndWait(timeout: .seconds(3))
        let u = hj212(["replay", path, "--to", "127.0.0.1:\(port)", "--as-fast-as-possible", "--ack-timeout", "1"])
        #expect(u.status == 2 && u.out.contains("could not be reached"), "\(u.out)\(u.err)")

        // A platform answering every frame with a 9014 whose CRC is wrong, then one answering right.
        let group = try EventLoopGroup(threads: 1, name: "replay-crc")
        defer { group.shutdown() }
        for corrupt in [true, false] {
            let seen = ReceivedBytes()
            let server = try TCPServer.start(on: .loopback(port: 0), group: group) { _ in
                var decoder = FrameDecoder()
                return TCPCallbacks(onRead: { c, bytes in
                    seen.append(bytes)
                    decoder.feed(bytes)
                    while let event = decoder.next() {
                        guard case .frame(let f) = event, let qn = SegmentParser.parse(f.segmentBytes).segment.qn else { continue }
                        var ack = FrameEncoder.frame("QN=\(qn);ST=91;CN=9014;PW=123456;MN=\(Self.mn);Flag=4;CP=&&&&")
                        if corrupt { ack.replaceSubrange((ack.count - 6)..<(ack.count - 2), with: Array("0000".utf8)) }
                        _ = c.write(ack)
                    }
                })
            }
            defer { _ = server.stopAndWait(timeout: .seconds(3)) }
            let r = hj212(["replay", path, "--to", "127.0.0.1:\(server.localAddress.port)", "--as-fast-as-possible", "--ack-timeout", "1"])
            #expect(r.out.contains("judged by the protocol instead"), "\(r.out)")
            if corrupt {
                #expect(r.status == 1 && r.out.contains("3 frame(s) from the target with a wrong CRC were ignored"), "\(r.out)\(r.err)")
            } else {
                #expect(r.status == 0 && r.out.contains("every uplink asking for an acknowledgement (Flag A=1) (3) was acknowledged again"), "\(r.out)\(r.err)")
                // The recorded frame with the wrong CRC went out as it was recorded.
                #expect(seen.text.contains(String(decoding: bad, as: UTF8.self)), "\(seen.text)")
            }
        }
    }

    @Test("commands from the platform are answered with the recorded logger's answer to the same CN, under the command's QN")
    func answersCommands() throws {
        func line(_ t: String, _ dir: String, _ segment: String) -> String {
            "{\"t\":\"2026-11-30T08:00:\(t).000+08:00\",\"dir\":\"\(dir)\",\"peer\":\"10.0.0.2:4000\",\"mn\":\"\(Self.mn)\",\"frame\":\"\(String(decoding: FrameEncoder.frame(segment, trailer: false), as: UTF8.self))\"}"
        }
        let id = "ST=32;CN=%@;PW=123456;MN=\(Self.mn)"
        func seg(_ qn: String, _ cn: String, _ flag: Int, _ cp: String) -> String { "QN=\(qn);" + id.replacingOccurrences(of: "%@", with: cn) + ";Flag=\(flag);CP=&&\(cp)&&" }
        let trace = [
            line("00", "up", seg("20261130080000000", "2011", 5, "DataTime=20261130080000;w01018-Rtd=1.0,w01018-Flag=N")),
            line("00", "down", "QN=20261130080000000;ST=91;CN=9014;PW=123456;MN=\(Self.mn);Flag=4;CP=&&&&"),
            line("01", "down", seg("20261130080001000", "1011", 5, "")),
            line("01", "up", "QN=20261130080001000;ST=91;CN=9011;PW=123456;MN=\(Self.mn);Flag=4;CP=&&QnRtn=1&&"),
            line("01", "up", seg("20261130080001000", "1011", 4, "SystemTime=20261130080001")),
            line("01", "up", "QN=20261130080001000;ST=91;CN=9012;PW=123456;MN=\(Self.mn);Flag=4;CP=&&ExeRtn=1&&"),
            line("30", "up", seg("20261130080030000", "2011", 5, "DataTime=20261130080030;w01018-Rtd=1.1,w01018-Flag=N")),
        ].joined(separator: "\n") + "\n"
        let path = try temporaryFile(Array(trace.utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        var plan = ReplayPlan()
        _ = try Recording.read(path, io: CommandIO(stdout: OutputSink(), stderr: OutputSink(), stdinBytes: nil)) { plan.add($0) }
        #expect(plan.loggers.count == 1 && plan.frameCount == 2, "the answers are not replayed on their own")
        #expect(plan.loggers[0].uplinks.map(\.ackedInRecording) == [true, false])
        #expect(plan.loggers[0].answers["1011"]?.first?.segments.count == 3)

        // A platform that asks 1011 when the first upload comes, and acknowledges uploads.
        let group = try EventLoopGroup(threads: 1, name: "replay-test")
        defer { group.shutdown() }
        let seen = ReceivedBytes()
        let request = FrameEncoder.frame(seg("20261203100000123", "1011", 5, ""))
        let ack = FrameEncoder.frame("QN=20261130080000000;ST=91;CN=9014;PW=123456;MN=\(Self.mn);Flag=4;CP=&&&&")
        let server = try TCPServer.start(on: .loopback(port: 0), group: group) { connection in
            var asked = false
            return TCPCallbacks(onRead: { c, bytes in
                seen.append(bytes)
                if !asked {
                    asked = true
                    _ = c.write(request)
                }
                _ = c.write(ack)
            })
        }
        defer { _ = server.stopAndWait(timeout: .seconds(3)) }
        let r = hj212(["replay", path, "--to", "127.0.0.1:\(server.localAddress.port)", "--speed", "100", "--ack-timeout", "2"])
        #expect(r.status == 0, "\(r.out)\(r.err)")
        let row = try #require(r.out.split(separator: "\n").dropFirst().first).split(separator: " ").compactMap { Int($0) }
        #expect(row == [1, 2, 1, 0, 1, 1, 1, 0], "\(r.out)")
        let text = seen.text
        #expect(text.contains("QN=20261203100000123;ST=91;CN=9011"))
        #expect(text.contains("QN=20261203100000123;ST=32;CN=1011;PW=123456;MN=\(Self.mn);Flag=4;CP=&&SystemTime=20261130080001&&"))
        #expect(text.contains("QN=20261203100000123;ST=91;CN=9012"))
        #expect(!text.contains("QN=20261130080001000"), "the recorded request's QN is not replayed")
    }
}

/// Bytes a test server received, from its loop thread.
final class ReceivedBytes: Sendable {
    private let bytes = Mutex<[UInt8]>([])
    func append(_ b: [UInt8]) { bytes.withLock { $0 += b } }
    var text: String { bytes.withLock { String(decoding: $0, as: UTF8.self) } }
}
