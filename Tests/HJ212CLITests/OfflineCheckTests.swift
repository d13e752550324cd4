import Foundation
import HJ212
import Testing
@testable import HJ212CLI
@testable import HJConformance
import TestSupport

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

    /// A hand-made trace line: time as seconds after 08:00:00, the frame from a segment.
    static func line(_ seconds: Int, _ up: Bool, _ segment: String) -> String {
        let t = String(format: "2026-11-30T08:%02d:%02d.000+08:00", seconds / 60, seconds % 60)
        return "{\"t\":\"\(t)\",\"dir\":\"\(up ? "up" : "down")\",\"peer\":\"10.0.0.2:4000\",\"mn\":\"\",\"frame\":\"\(String(decoding: FrameEncoder.frame(segment, trailer: false), as: UTF8.self))\"}"
    }

    static let mn = "010000A8900016F000169DC0"
    static func upload(_ s: Int, value: String = "1.0") -> String {
        let qn = String(format: "202611300800%02d000", s % 60).replacingOccurrences(of: "0800", with: String(format: "08%02d", s / 60))
        return "QN=\(qn);ST=32;CN=2011;PW=123456;MN=\(mn);Flag=5;CP=&&DataTime=\(qn.prefix(14));w01018-Rtd=\(value),w01018-Flag=N&&"
    }
    static func ack(_ upload: String) -> String {
        "QN=\(upload.dropFirst(3).prefix(17));ST=91;CN=9014;PW=123456;MN=\(mn);Flag=4;CP=&&&&"
    }

    @Test("L-CLOCK offline: DataTimes 400 days ahead of their own QNs fail it, as live; right ones pass (session 22)")
    func recordedDataTimeAhead() throws {
        func trace(_ ahead: Int64) -> String {
            var lines: [String] = []
            for s in stride(from: 0, through: 300, by: 30) {
                let qn = HJTime(year: 2026, month: 11, day: 30, hour: 8).wallMilliseconds + Int64(s) * 1000
                let dt = HJTime(wallMilliseconds: qn + ahead).text14
                let u = "QN=\(HJTime(wallMilliseconds: qn).text17);ST=32;CN=2011;PW=123456;MN=\(Self.mn);Flag=5;CP=&&DataTime=\(dt);w01018-Rtd=1.0,w01018-Flag=N&&"
                lines += [Self.line(s, true, u), Self.line(s, false, Self.ack(u))]
            }
            return lines.joined(separator: "\n") + "\n"
        }
        let bad = try temporaryFile(Array(trace(400 * 86_400_000).utf8))
        defer { try? FileManager.default.removeItem(atPath: bad) }
        let r = hj212(["check", "logger", "--offline", bad, "--pw", "123456", "--only", "L-CLOCK", "--format", "json"])
        // A SHOULD check: its failure shows as a warning when not --strict.
        #expect(["fail", "warn"].contains(try verdicts(r.out).checks["L-CLOCK"] ?? "-"), "\(r.out.prefix(1500))")
        #expect(r.out.contains("DataTime ahead of their own QN"), "\(r.out.prefix(1500))")
        let good = try temporaryFile(Array(trace(0).utf8))
        defer { try? FileManager.default.removeItem(atPath: good) }
        #expect(try verdicts(hj212(["check", "logger", "--offline", good, "--pw", "123456", "--only", "L-CLOCK", "--format", "json"]).out).checks["L-CLOCK"] == "pass")
    }

    @Test("resends seen: an upload the recorded platform left unacknowledged, resent OverTime apart, passes the resend checks; never resent, fails L-RESEND")
    func recordedResends() throws {
        var lines: [String] = []
        // Acknowledged uploads every 30 s, one at +60 s left without a 9014 and resent 3 times 5 s apart.
        for s in stride(from: 0, through: 300, by: 30) {
            let u = Self.upload(s)
            lines.append(Self.line(s, true, u))
            if s == 60 {
                for k in 1...3 { lines.append(Self.line(s + 5 * k, true, u)) }
                lines.append(Self.line(s + 15, false, Self.ack(u)))
            } else {
                lines.append(Self.line(s, false, Self.ack(u)))
            }
        }
        lines.sort { $0.prefix(40) < $1.prefix(40) }
        let good = try temporaryFile(Array((lines.joined(separator: "\n") + "\n").utf8))
        defer { try? FileManager.default.removeItem(atPath: good) }
        let r = hj212(["check", "logger", "--offline", good, "--pw", "123456", "--overtime", "5", "--recount", "3", "--only", "L-RESEND,L-DUPLICATE", "--format", "json"])
        let v = try verdicts(r.out)
        #expect(v.checks["L-RESEND"] == "pass" && v.checks["L-RESEND-QN"] == "pass" && v.checks["L-RESEND-TIMING"] == "pass", "\(v.checks) \(r.err)")
        // The copies were acknowledged at the end (15 s): ReCount cannot be counted on them.
        #expect(v.checks["L-RESEND-COUNT"] == "not-exercised")
        #expect(v.checks["L-DUPLICATE"] == "pass", "copies sent before the 9014 are resends, not duplicates")
        // Without OverTime, the timing is not exercised (never guessed).
        let u = try verdicts(hj212(["check", "logger", "--offline", good, "--pw", "123456", "--only", "L-RESEND", "--format", "json"]).out)
        #expect(u.checks["L-RESEND"] == "pass" && u.checks["L-RESEND-TIMING"] == "not-exercised")

        // The same upload never resent, the connection going on for minutes: L-RESEND fails.
        let never = lines.filter { !$0.contains("QN=20261130080100000") || ($0.contains("\"up\"") && $0.contains("08:01:00.000")) }
        let bad = try temporaryFile(Array((never.joined(separator: "\n") + "\n").utf8))
        defer { try? FileManager.default.removeItem(atPath: bad) }
        let f = try verdicts(hj212(["check", "logger", "--offline", bad, "--pw", "123456", "--overtime", "5", "--only", "L-RESEND", "--format", "json"]).out)
        #expect(f.checks["L-RESEND"] == "fail", "\(f.checks)")

        // One upload resent, a later one left without its 9014 and never resent while the
        // connection went on: one resend does not hide the upload dropped.
        let dropped = lines.filter { !($0.contains("\"down\"") && $0.contains("QN=20261130080200000")) }
        let mixed = try temporaryFile(Array((dropped.joined(separator: "\n") + "\n").utf8))
        defer { try? FileManager.default.removeItem(atPath: mixed) }
        let m = try verdicts(hj212(["check", "logger", "--offline", mixed, "--pw", "123456", "--overtime", "5", "--only", "L-RESEND", "--format", "json"]).out)
        #expect(m.checks["L-RESEND"] == "fail", "\(m.checks)")
        let zh = hj212(["check", "logger", "--offline", mixed, "--pw", "123456", "--overtime", "5", "--only", "L-RESEND", "--lang", "zh"]).out
        #expect(zh.contains("另有 1 个上传被重发"), "\(zh)")
    }

    @Test("past the memory cap of stored frames, the packet checks still count every frame, and the others are not passed on the first frames alone")
    func beyondTheCap() throws {
        // 30,500 real-time uploads 30 s apart (no 9014 asked), more than the 30,000 frames stored;
        // near the end one with a wrong CRC and one reusing an earlier QN.
        let n = LoggerProbe.maxFrames + 500
        let t0 = HJTime(year: 2026, month: 11, day: 1).wallMilliseconds
        var text = ""
        text.reserveCapacity(n * 260)
        for k in 0..<n {
            let t = HJTime(wallMilliseconds: t0 + Int64(k) * 30_000)
            let qn = k == n - 10 ? HJTime(wallMilliseconds: t0 + Int64(n - 20) * 30_000).text14 + "000" : t.text14 + "000"
            var frame = FrameEncoder.frame("QN=\(qn);ST=32;CN=2011;PW=123456;MN=\(Self.mn);Flag=4;CP=&&DataTime=\(t.text14);w01018-Rtd=49.0,w01018-Flag=N&&", trailer: false)
            if k == n - 3 { frame.replaceSubrange((frame.count - 4)..., with: Array("0000".utf8)) }
            let iso = String(format: "%04d-%02d-%02dT%02d:%02d:%02d.000+08:00", t.year, t.month, t.day, t.hour, t.minute, t.second)
            text += "{\"t\":\"\(iso)\",\"dir\":\"up\",\"peer\":\"10.0.0.2:4000\",\"frame\":\"\(String(decoding: frame, as: UTF8.self))\"}\n"
        }
        let path = try temporaryFile(Array(text.utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = hj212(["check", "logger", "--offline", path, "--pw", "123456", "--only", "L-CRC,L-LINT,L-LINT-CLEAN,L-QN", "--format", "json"])
        let v = try verdicts(r.out)
        #expect(v.checks["L-CRC"] == "fail" && v.checks["L-LINT"] == "fail" && v.checks["L-LINT-CLEAN"] != "pass", "\(v.checks)")
        #expect(r.out.contains("frame.crc-mismatch"), "the rule is named although its frame was not stored")
        #expect(v.checks["L-QN"] != "pass", "the reused QN lies beyond the frames kept: \(v.checks)")
        #expect(r.status == 1, "\(r.status)")
        let zh = hj212(["check", "logger", "--offline", path, "--pw", "123456", "--only", "L-QN", "--lang", "zh"]).out
        #expect(zh.contains("内存上限"), "\(zh)")
    }

    @Test("replies to commands seen: a recorded 1011 exchange is judged for form and time; a malformed 9011 fails L-REPLY-FORM")
    func recordedReplies() throws {
        func trace(_ reply9011: String) -> String {
            var lines = [Self.line(0, true, Self.upload(0)), Self.line(0, false, Self.ack(Self.upload(0)))]
            lines.append(Self.line(10, false, "QN=20261130080010000;ST=32;CN=1011;PW=123456;MN=\(Self.mn);Flag=5;CP=&&&&"))
            lines.append(Self.line(10, true, reply9011))
            lines.append(Self.line(11, true, "QN=20261130080010000;ST=32;CN=1011;PW=123456;MN=\(Self.mn);Flag=4;CP=&&SystemTime=20261130080011&&"))
            lines.append(Self.line(11, true, "QN=20261130080010000;ST=91;CN=9012;PW=123456;MN=\(Self.mn);Flag=4;CP=&&ExeRtn=1&&"))
            for s in stride(from: 30, through: 120, by: 30) { lines += [Self.line(s, true, Self.upload(s)), Self.line(s, false, Self.ack(Self.upload(s)))] }
            return lines.joined(separator: "\n") + "\n"
        }
        let good = try temporaryFile(Array(trace("QN=20261130080010000;ST=91;CN=9011;PW=123456;MN=\(Self.mn);Flag=4;CP=&&QnRtn=1&&").utf8))
        defer { try? FileManager.default.removeItem(atPath: good) }
        let g = hj212(["check", "logger", "--offline", good, "--only", "L-REPLY,L-PW,L-CLOCK-CONSISTENT,L-RTD-CADENCE", "--format", "json"])
        let v = try verdicts(g.out)
        #expect(v.checks["L-REPLY-FORM"] == "pass" && v.checks["L-REPLY-TIME"] == "pass", "\(v.checks)")
        #expect(v.checks["L-PW"] == "pass", "the password of the platform's accepted request: \(v.checks)")
        #expect(v.checks["L-CLOCK-CONSISTENT"] == "pass", "\(v.checks)")
        #expect(v.checks["L-RTD-CADENCE"] == "pass", "the 1011 answer is not an upload: \(v.checks)")
        let bad = try temporaryFile(Array(trace("QN=20261130080010000;ST=32;CN=9011;PW=123456;MN=\(Self.mn);Flag=5;CP=&&QnRtn=1&&").utf8))
        defer { try? FileManager.default.removeItem(atPath: bad) }
        let b = try verdicts(hj212(["check", "logger", "--offline", bad, "--only", "L-REPLY", "--format", "json"]).out)
        #expect(b.checks["L-REPLY-FORM"] == "fail", "\(b.checks)")
    }

    @Test("a recording of several loggers: one is judged (--mn, else the first), the others are left out and said")
    func severalLoggers() throws {
        let other = "88888880000001000000000A"
        var lines: [String] = []
        for s in stride(from: 0, through: 120, by: 30) {
            lines.append(Self.line(s, true, Self.upload(s)))
            lines.append(Self.line(s, false, Self.ack(Self.upload(s))))
            // The other logger, on its own connection, with a broken CRC.
            var bad = Self.line(s, true, Self.upload(s).replacingOccurrences(of: Self.mn, with: other)).replacingOccurrences(of: "10.0.0.2:4000", with: "10.0.0.3:4000")
            bad = String(bad.dropLast(6)) + "0000\"}"
            lines.append(bad)
        }
        let path = try temporaryFile(Array((lines.joined(separator: "\n") + "\n").utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let first = hj212(["check", "logger", "--offline", path, "--pw", "123456", "--only", "L-MN,L-CRC", "--format", "json"])
        let v = try verdicts(first.out)
        #expect(v.checks["L-MN"] == "pass" && v.checks["L-CRC"] == "pass", "\(v.checks)")
        #expect(first.out.contains("5 frame(s) of 1 other MN(s) left out"), "\(first.out)")
        let chosen = try verdicts(hj212(["check", "logger", "--offline", path, "--pw", "123456", "--mn", other, "--only", "L-MN,L-CRC", "--format", "json"]).out)
        #expect(chosen.checks["L-MN"] == "pass" && chosen.checks["L-CRC"] == "fail", "\(chosen.checks)")
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
