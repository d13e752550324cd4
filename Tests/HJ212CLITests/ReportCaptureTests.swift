import Foundation
import HJ212
import Testing
@testable import HJ212CLI
import TestSupport

@Suite("hj212 report on captures", .serialized)
struct ReportCaptureTests {
    @Test("report reads a pcapng capture as it reads the trace of the same run: same frames, records, units and alarms")
    func captureEqualsTrace() throws {
        let rec = try recordSession(duration: "2h", faults: "flatline:w01018@2026-11-30T08:00/40m")
        defer { removeRecording(rec) }
        let t = hj212(["report", rec.trace, "--format", "json"])
        let c = hj212(["report", rec.pcap, "--format", "json"])
        #expect(t.status == 0 && c.status == 0, "\(t.err)\(c.err)")
        #expect(c.err.contains("pcapng"), "the capture summary: \(c.err)")
        let a = try JSONValue.parse(t.out), b = try JSONValue.parse(c.out)
        for key in ["frames", "records", "units"] { #expect(a[key] == b[key], "\(key): \(String(describing: a[key])) vs \(String(describing: b[key]))") }
        guard case .int(let frames)? = b["frames"], case .array(let alarmsA)? = a["alarms"], case .array(let alarmsB)? = b["alarms"] else {
            Issue.record("no frames/alarms: \(c.out.prefix(300))"); return
        }
        #expect(frames > 200)
        #expect(alarmsA.count == alarmsB.count && !alarmsB.isEmpty, "the flatline is seen in both")
    }
}
