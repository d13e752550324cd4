import Foundation
import HJ212
import Testing
@testable import HJ212CLI

/// A recorded session from an in-process `simulate` against an in-process reference platform:
/// the trace and, of the same run, the pcapng capture.
func recordSession(duration: String = "2h", faults: String? = nil, speed: Int = 3600) throws -> (trace: String, pcap: String, out: String) {
    let p = try startPlatform()
    defer { p.platform.stop(); p.group.shutdown() }
    let base = FileManager.default.temporaryDirectory.appendingPathComponent("hj212-rec-\(UUID().uuidString)").path
    var args = ["simulate", "--unit", "industrial-wastewater", "--to", p.address, "--speed", String(speed), "--start", "2026-11-30T07:50",
                "--duration", duration, "--drain", "5", "--threads", "1", "--trace", base + ".jsonl", "--pcap", base + ".pcapng"]
    if let faults { args += ["--faults", faults, "--truth", base + ".truth.jsonl"] }
    let r = hj212(args)
    return (base + ".jsonl", base + ".pcapng", r.out + r.err)
}

func removeRecording(_ r: (trace: String, pcap: String, out: String)) {
    for p in [r.trace, r.pcap, r.trace.replacingOccurrences(of: ".jsonl", with: ".truth.jsonl")] { try? FileManager.default.removeItem(atPath: p) }
}

/// check id → verdict of a JSON check report.
func verdicts(_ json: String) throws -> (verdict: String, checks: [String: String]) {
    let v = try JSONValue.parse(json)
    guard case .string(let verdict)? = v["verdict"], case .array(let checks)? = v["checks"] else { return ("?", [:]) }
    var out: [String: String] = [:]
    for c in checks { if case .string(let id)? = c["id"], case .string(let s)? = c["verdict"] { out[id] = s } }
    return (verdict, out)
}

@Suite("check logger --offline", .serialized)
struct OfflineCheckTests {
    static let passive = ["L-LINT", "L-CRC", "L-FRAME", "L-VERSION", "L-MN", "L-PW", "L-QN", "L-RTD-CADENCE", "L-MIN-CADENCE", "L-HOUR-CADENCE",
                          "L-MIN-ALIGN", "L-HOUR-ALIGN", "L-DUPLICATE", "L-FACTORS", "L-AGG-HOUR"]

    @Test("a simulate trace: passive checks pass, active ones not exercised, verdict incomplete (3); scoped to the passive checks, pass (0)")
    func cleanTrace() throws {
        let rec = try recordSession()
        defer { removeRecording(rec) }
        let r = hj212(["check", "logger", "--offline", rec.trace, "--pw", "123456", "--format", "json"])
        #expect(r.status == 3, "\(r.err)")
        let (verdict, checks) = try verdicts(r.out)
        #expect(verdict == "incomplete")
        for id in Self.passive { #expect(checks[id] == "pass", "\(id): \(checks[id] ?? "-")") }
        for id in ["L-CMD-1011", "L-CMD-1061", "L-RECONNECT", "L-BACKFILL", "L-RESEND"] { #expect(checks[id] == "not-exercised", "\(id): \(checks[id] ?? "-")") }
        #expect(r.out.contains("not exercised offline"))
        // Scoped knowingly to what a recording can show: pass.
        let scoped = hj212(["check", "logger", "--offline", rec.trace, "--pw", "123456", "--only", Self.passive.joined(separator: ",")])
        #expect(scoped.status == 0, "\(scoped.out.prefix(1500))")
        #expect(scoped.out.contains("VERDICT: PASS"))
        // In Chinese, the offline messages too.
        let zh = hj212(["check", "logger", "--offline", rec.trace, "--pw", "123456", "--lang", "zh"])
        #expect(zh.out.contains("离线未执行") && zh.out.contains("录制数据：从"), "\(zh.out.prefix(1500))")
        #expect(!zh.out.contains("not exercised offline") && !zh.out.contains("the recording holds") && !zh.out.contains("acknowledged every upload"), "\(zh.out)")
        // Without --pw the password cannot be judged (never learnt from the logger): not exercised.
        let nopw = hj212(["check", "logger", "--offline", rec.trace, "--only", "L-PW,L-LINT"])
        #expect(nopw.status == 3 && nopw.out.contains("give --pw"), "\(nopw.out.prefix(800))")
    }

    @Test("the capture of the same run gives the same verdicts as its trace")
    func captureEqualsTrace() throws {
        let rec = try recordSession()
        defer { removeRecording(rec) }
        let t = hj212(["check", "logger", "--offline", rec.trace, "--pw", "123456", "--format", "json"])
        let c = hj212(["check", "logger", "--offline", rec.pcap, "--pw", "123456", "--format", "json"])
        #expect(c.status == t.status, "\(c.err)")
        #expect(c.err.contains("pcapng"))
        let a = try verdicts(t.out), b = try verdicts(c.out)
        #expect(a.verdict == b.verdict)
        #expect(a.checks == b.checks)
        #expect(b.checks["L-MIN-CADENCE"] == "pass" && b.checks["L-CRC"] == "pass")
    }

    @Test("protocol faults in the recording fail their checks: a wrong CRC fails L-CRC, a missing minute record L-MIN-CADENCE (exit 1)")
    func faults() throws {
        let crc = try recordSession(faults: "crc-mismatch#1")
        defer { removeRecording(crc) }
        let r = hj212(["check", "logger", "--offline", crc.trace, "--pw", "123456", "--format", "json"])
        #expect(r.status == 1, "\(crc.out)\(r.err)")
        let (verdict, checks) = try verdicts(r.out)
        #expect(verdict == "fail" && checks["L-CRC"] == "fail")
        #expect(checks["L-MIN-CADENCE"] == "pass")

        // A 2051 line taken out of a clean trace: the minute cadence fails, the rest holds.
        let clean = try recordSession()
        defer { removeRecording(clean) }
        let lines = try String(contentsOfFile: clean.trace, encoding: .utf8).split(separator: "\n")
        let victim = try #require(lines.dropFirst(lines.count / 2).firstIndex { $0.contains("CN=2051") && $0.contains("\"dir\":\"up\"") })
        var kept = lines
        kept.remove(at: victim)
        let cut = clean.trace + ".cut.jsonl"
        try (kept.joined(separator: "\n") + "\n").write(toFile: cut, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: cut) }
        let m = hj212(["check", "logger", "--offline", cut, "--pw", "123456", "--format", "json"])
        #expect(m.status == 1)
        let mv = try verdicts(m.out)
        #expect(mv.checks["L-MIN-CADENCE"] == "fail" && mv.checks["L-CRC"] == "pass")
    }

    @Test("offline usage: options of a live run refused, a file that is not a recording refused (exit 2)")
    func usage() throws {
        #expect(hj212(["check", "logger", "--offline", "x.jsonl", "--window", "5m"]).status == 2)
        #expect(hj212(["check", "logger", "--offline", "/nonexistent/x.jsonl"]).status == 2)
        let raw = try temporaryFile(Array((v1Frame + "\r\n").utf8))
        defer { try? FileManager.default.removeItem(atPath: raw) }
        let r = hj212(["check", "logger", "--offline", raw])
        #expect(r.status == 2 && r.err.contains("neither a JSON Lines trace nor a pcap"))
    }
}
