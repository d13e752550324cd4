import Foundation
import HJ212
import HJAnalysis
import HJLive
import HJNetwork
import HJRoles
import HJSimulation
import Testing
@testable import HJ212CLI
import TestSupport

/// What `generate` and `simulate` say at the end must be what they wrote (session 18, items 3 and 5).
@Suite("generate and simulate outcomes", .serialized)
struct GenerateOutcomeTests {
    /// `CN count` pairs of the summary line's `N packets (…)`.
    func reportedCounts(_ err: String) -> (packets: Int, byCN: [String: Int])? {
        guard let line = err.split(separator: "\n").first(where: { $0.contains(" packets (") }),
              let open = line.range(of: " packets ("), let close = line[open.upperBound...].firstIndex(of: ")"),
              let packets = Int(line[..<open.lowerBound].split(separator: " ").last ?? "") else { return nil }
        var byCN: [String: Int] = [:]
        for pair in line[open.upperBound..<close].split(separator: ",") {
            let parts = pair.split(separator: " ")
            if parts.count == 2, let n = Int(parts[1]) { byCN[String(parts[0])] = n }
        }
        return (packets, byCN)
    }

    @Test("generate with records dropped by missing-record: the summary counts what the file holds and says how many were dropped")
    func droppedNotCounted() throws {
        let out = temporaryPath(".raw")
        defer { try? FileManager.default.removeItem(atPath: out); try? FileManager.default.removeItem(atPath: out + ".truth.jsonl") }
        let r = hj212(["generate", "--unit", "industrial-wastewater", "--start", "2026-11-30", "--duration", "3h", "-o", out, "--faults", "missing-record%20"])
        #expect(r.status == 0, "\(r.err)")
        let text = try String(contentsOfFile: out, encoding: .utf8)
        let frames = text.components(separatedBy: "\r\n").filter { !$0.isEmpty }
        let truth = try String(contentsOfFile: out + ".truth.jsonl", encoding: .utf8).split(separator: "\n")
        let dropped = truth.filter { $0.contains("missing-record") }.count
        #expect(dropped > 0, "the fault fired")
        let reported = try #require(reportedCounts(r.err), "\(r.err)")
        #expect(reported.packets == frames.count, "\(r.err)")
        for cn in ["2051", "2061"] {
            let inFile = frames.filter { $0.contains(";CN=\(cn);") }.count
            #expect(reported.byCN[cn] == inFile, "\(cn): \(r.err)")
        }
        #expect(r.err.contains("\(dropped) record\(dropped == 1 ? "" : "s") dropped by faults"), "\(r.err)")
    }

    @Test("generate stopping while an instrument fault acts: the truth ends the fault at the stop, and the truth's reader ends the injection there")
    func faultEndsAtStop() throws {
        let out = temporaryPath(".raw")
        defer { try? FileManager.default.removeItem(atPath: out); try? FileManager.default.removeItem(atPath: out + ".truth.jsonl") }
        let r = hj212(["generate", "--unit", "industrial-wastewater", "--start", "2026-11-30", "--duration", "3h", "-o", out,
                       "--faults", "calibration:w01018@2026-11-30T02:00/6h"])
        #expect(r.status == 0, "\(r.err)")
        let text = try String(contentsOfFile: out + ".truth.jsonl", encoding: .utf8)
        let lines = text.split(separator: "\n")
        #expect(lines.filter { $0.contains("\"fault\":\"calibration\"") }.count == 1, "\(text)")
        let ended = lines.filter { $0.contains("\"ended\":\"calibration\"") }
        #expect(ended.count == 1 && ended.first?.contains("\"t\":\"2026-11-30T03:00:00.000+08:00\"") == true, "\(text)")
        #expect(r.err.contains("1 fault injection written"), "the end is not an injection: \(r.err)")
        let parsed = Injection.parse(text)
        #expect(parsed.skipped == 0 && parsed.injections.count == 1)
        #expect(parsed.injections.first?.end == HJTime("20261130030000")?.wallMilliseconds, "the injection ends where the run stopped")
    }

    @Test("generate whose ground truth cannot be written (/dev/full): one line, exit 1, never 'written to'")
    func generateTruthFull() throws {
        let out = temporaryPath(".raw")
        defer { try? FileManager.default.removeItem(atPath: out) }
        let r = hj212(["generate", "--unit", "industrial-wastewater", "--start", "2026-11-30", "--duration", "2h", "-o", out,
                       "--faults", "crc-mismatch%50,missing-record%20", "--truth", "/dev/full"])
        #expect(r.status == 1, "\(r.err)")
        #expect(!r.err.contains("written to /dev/full"), "\(r.err)")
        #expect(r.err.split(separator: "\n").filter { $0.contains("GROUND TRUTH WRITE FAILED") && $0.contains("/dev/full") }.count == 1, "\(r.err)")
    }

    /// `simulate` against a platform on loopback, its ground truth going to `truth`.
    func simulate(truth: String, faults: String = "misaligned-datatime%50") throws -> (status: Int32, out: String, err: String) {
        let start = try #require(SimClock.parseStart("2026-11-30T08:00"))
        let group = try EventLoopGroup(threads: 1, name: "truth-platform")
        defer { group.shutdown() }
        var options = PlatformSession.Options()
        options.overTime = 10_000 * 1200
        let platform = LivePlatform(address: .loopback(port: 0), state: try PlatformState(), clock: LiveClock(start: start, speed: 1200),
                                    options: options, trace: nil, group: group)
        let address = try platform.start()
        defer { platform.stop() }
        return hj212(["simulate", "--unit", "industrial-wastewater", "--to", address.description, "--speed", "1200", "--start", "2026-11-30T08:00",
                      "--duration", "30m", "--drain", "10", "--threads", "1", "--faults", faults, "--truth", truth])
    }

    @Test("simulate whose ground truth cannot be written (/dev/full): said in the summary, exit 1; the same run with a file exits 0")
    func simulateTruthFull() throws {
        let good = temporaryPath(".truth.jsonl")
        defer { try? FileManager.default.removeItem(atPath: good) }
        let control = try simulate(truth: good)
        #expect(control.status == 0, "\(control.out)\(control.err)")
        let r = try simulate(truth: "/dev/full")
        #expect(r.status == 1, "\(r.out)\(r.err)")
        let line = r.out.split(separator: "\n").first { $0.hasPrefix("ground truth: /dev/full") } ?? ""
        #expect(line.contains("LOST") && line.contains("writing failed"), "\(r.out)")
    }

    @Test("simulate ending production while an instrument fault acts: the truth ends it at the end of production")
    func simulateFaultEnds() throws {
        let path = temporaryPath(".truth.jsonl")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try simulate(truth: path, faults: "calibration:w01018@2026-11-30T08:10/2h")
        #expect(r.status == 0, "\(r.out)\(r.err)")
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.filter { $0.contains("\"fault\":\"calibration\"") }.count == 1, "\(lines)")
        let ended = lines.filter { $0.contains("\"ended\":\"calibration\"") }
        #expect(ended.count == 1 && ended.first?.contains("\"t\":\"2026-11-30T08:30:00.000+08:00\"") == true, "\(lines)")
    }

    @Test("simulate --trace: no frame is traced as sent while the link is down (an outage), only what went to the socket")
    func traceOnlyWhatWasSent() throws {
        let start = try #require(SimClock.parseStart("2026-11-30T08:00"))
        let group = try EventLoopGroup(threads: 1, name: "trace-platform")
        defer { group.shutdown() }
        var options = PlatformSession.Options()
        options.overTime = 10_000 * 1200
        let platform = LivePlatform(address: .loopback(port: 0), state: try PlatformState(), clock: LiveClock(start: start, speed: 600),
                                    options: options, trace: nil, group: group)
        let address = try platform.start()
        defer { platform.stop() }
        let trace = temporaryPath(".trace.jsonl"), truth = temporaryPath(".truth.jsonl")
        defer { for p in [trace, truth] { try? FileManager.default.removeItem(atPath: p) } }
        let r = hj212(["simulate", "--unit", "industrial-wastewater", "--to", address.description, "--speed", "600", "--start", "2026-11-30T08:00",
                       "--duration", "30m", "--drain", "10", "--threads", "1", "--faults", "outage@2026-11-30T08:10/6m", "--truth", truth, "--trace", trace])
        #expect(r.status == 0, "\(r.out)\(r.err)")
        let lines = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n")
        let from = try #require(HJTime("20261130081000")?.wallMilliseconds), to = try #require(HJTime("20261130081600")?.wallMilliseconds)
        var inside: [String] = []
        for line in lines {
            let v = try JSONValue.parse(String(line))
            guard v["dir"] == .string("up"), case .string(let t)? = v["t"], let ms = Injection.isoTime(t) else { continue }
            if ms >= from + 1000 && ms < to { inside.append(String(line.prefix(120))) }
        }
        #expect(inside.isEmpty, "traced as sent during the outage: \(inside)")
        #expect(lines.count > 20)
    }
}
