import Foundation
import HJ212
import Testing
@testable import HJ212CLI
import TestSupport

@Suite("hj212 report on captures", .serialized)
struct ReportCaptureTests {
    @Test("report reads a pcapng capture as it reads the trace of the same run: same frames, records, units and alarms")
    func captureEqualsTrace() throws {
        // pH is measured continuously: a flatline shows within the window (COD, an hourly analyser, holds its value by design).
        let rec = try recordSession(duration: "2h", faults: "flatline:w01001@2026-11-30T08:00/40m")
        // The unit's template comes from a fleet: a unit in no fleet is not judged by the value
        // rules (flatline among them), docs/anomalies.md.
        let fleet = try temporaryFile(Array("enterprise,county,category,pollutants,voc,mn,pw,unit,platforms\n示例企业,示东区,化工,w00000|w01001|w01010|w01018|w21003,否,010000A8900016F000169DC0,123456,industrial-wastewater,province:7001\n".utf8), suffix: ".csv")
        defer { removeRecording(rec); try? FileManager.default.removeItem(atPath: fleet) }
        let t = hj212(["report", rec.trace, "--format", "json", "--fleet", fleet])
        let c = hj212(["report", rec.pcap, "--format", "json", "--fleet", fleet])
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
