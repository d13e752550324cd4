import Foundation
import Testing
@testable import HJ212CLI
import TestSupport

@Suite("demo --scenario with the console", .serialized)
struct DemoScenarioTests {
    @Test("a scenario runs live with the console open; its anomalies are announced as alarms")
    func furnace() {
        let r = hj212(["demo", "--scenario", "furnace-below-850", "--http", "127.0.0.1:0", "--speed", "1200"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("console on http://127.0.0.1:"))
        let alarms = r.out.split(separator: "\n").filter { $0.hasPrefix("alarm #") }
        #expect(alarms.filter { $0.contains("炉膛温度低于 850") }.count == 2, "\(alarms)")
        // No assertion on outages: at 1200x a CPU-starved machine (the whole suite in parallel on two
        // cores) can stall the loggers for longer than the console's five-second slack.
    }

    @Test("usage: --scenario needs --http; an unknown scenario is refused before anything runs")
    func usage() {
        #expect(hj212(["demo", "--scenario", "furnace-below-850"]).status == 2)
        #expect(hj212(["demo", "--scenario", "no-such-scenario", "--http", "127.0.0.1:0"]).status == 2)
    }
}
