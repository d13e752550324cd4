import Foundation
import HJ212
import HJNetwork
import HJRoles
import Testing
import HJLive
@testable import HJ212CLI
import TestSupport

@Suite("hj212 load --payloads", .serialized)
struct LoadPayloadsTests {
    /// `CN|Flag|CP…` of a frame's segment: what the load keeps of a recorded packet.
    static func body(_ frame: String) -> String? {
        guard let cn = frame.range(of: ";CN="), let cp = frame.range(of: ";CP=") else { return nil }
        let cnValue = frame[cn.upperBound...].prefix { $0 != ";" }
        let flag = frame.range(of: ";Flag=").map { String(frame[$0.upperBound...].prefix { $0 != ";" }) } ?? "-"
        return "\(cnValue)|\(flag)|" + frame[cp.upperBound...].dropLast(4)
    }

    /// The DataTime of real-time data (2011) masked: the load stamps it with the send second.
    static func maskDataTime(_ body: String) -> String {
        guard body.hasPrefix("2011|"), let r = body.range(of: "DataTime=") else { return body }
        return body.replacingCharacters(in: r.upperBound..<body.index(r.upperBound, offsetBy: 14), with: "##############")
    }

    static func frames(_ trace: String, dir: String = "up") throws -> [String] {
        try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n").compactMap { line -> String? in
            guard line.contains("\"dir\":\"\(dir)\""), case .string(let f)? = try JSONValue.parse(String(line))["frame"] else { return nil }
            return f
        }
    }

    @Test("a load against serve with payloads from a trace: every packet acknowledged, each one a recorded packet with its own QN, MN and PW")
    func payloadsFromTrace() throws {
        let rec = try recordSession(duration: "1h")
        defer { removeRecording(rec) }
        let recorded = try Self.frames(rec.trace)
        let recordedBodies = Set(recorded.compactMap(Self.body).map(Self.maskDataTime))
        // The platform records what it receives.
        let seen = FileManager.default.temporaryDirectory.appendingPathComponent("hj212-payloads-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: seen) }
        let group = try EventLoopGroup(threads: 1, name: "platform-test")
        defer { group.shutdown() }
        let state = PlatformState(registry: nil, linter: try makeLinter(dialect: nil, strict: false, profiles: nil, profile: "hebei-dynamic"))
        let platform = LivePlatform(address: .loopback(port: 0), state: state, clock: LiveClock(start: LiveClock.wallNow(offsetMinutes: 480), speed: 1),
                                    options: PlatformSession.Options(), trace: try TraceWriter(path: seen, offsetMinutes: 480), group: group)
        let bound = try platform.start()
        defer { platform.stop() }
        let r = hj212(["load", bound.description, "--loggers", "3", "--rate", "30", "--duration", "2s", "--ramp", "100ms", "--threads", "1",
                       "--payloads", rec.trace, "--format", "json", "--mn-prefix", "0100AD0000000000000000"])
        #expect(r.status == 0, "\(r.err)")
        let report = try jsonReport(r.out)
        #expect(report.counts.sent == 60 && report.counts.acked == 60, "\(report.text())")
        #expect(report.units == ["recorded \(rec.trace)"])
        let sent = try Self.frames(seen)
        #expect(sent.count == 60)
        for f in sent {
            #expect(f.contains(";MN=0100AD00000000000000000"), "the load logger's MN: \(f)")
            // Real-time data carries the send second as DataTime; every other packet is as recorded but for QN, PW, MN.
            #expect(recordedBodies.contains(Self.maskDataTime(Self.body(f) ?? "")), "not a recorded packet: \(f)")
            let qn = String(f.dropFirst(9).prefix(17))
            #expect(!recorded.contains { $0.hasPrefix("##") && $0.dropFirst(9).hasPrefix(qn) }, "QN rewritten: \(qn)")
        }
        #expect(sent.contains { !$0.contains(";CN=2011;") }, "some non-2011 packets were sent")
        #expect(state.counters.errors == 0)
    }

    @Test("--payloads refuses a recording with nothing to send and conflicting options (exit 2)")
    func refusals() throws {
        let only9014 = "{\"t\":\"2026-11-30T08:00:00.000+08:00\",\"dir\":\"down\",\"peer\":\"p\",\"mn\":\"\",\"frame\":\"\(String(decoding: FrameEncoder.frame("QN=20261130080000000;ST=91;CN=9014;PW=123456;MN=010000A8900016F000169DC0;Flag=4;CP=&&&&", trailer: false), as: UTF8.self))\"}\n"
        let path = try temporaryFile(Array(only9014.utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = hj212(["load", "127.0.0.1:9", "--loggers", "1", "--payloads", path])
        #expect(r.status == 2 && r.err.contains("no upload that asks for an acknowledgement"), "\(r.err)")
        let both = hj212(["load", "127.0.0.1:9", "--loggers", "1", "--payloads", path, "--unit", "industrial-wastewater"])
        #expect(both.status == 2 && both.err.contains("give one of --unit, --fleet and --payloads"))
    }
}
