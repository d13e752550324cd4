import Dispatch
import Foundation
import HJ212
import HJInstruments
import HJLive
import HJSimulation
import Synchronization
import Testing
@testable import HJ212CLI

/// The serial lines of the check's instruments and the polling lines of a reading logger block
/// for the whole run: they get threads of their own (`LineThread`), not work items on the
/// process-wide `DispatchQueue.global()`, where they waited behind blocked work (the electricity
/// tests running next to `demo --sensors`: its logger started reading 3 s late, half an hour at
/// ×600, after the instrument's calibration was over).
@Suite("line threads: instrument and polling lines do not wait for the Dispatch pool")
struct LineThreadTests {
    @Test("with DispatchQueue.global() full of blocked work, a meter on a DL/T 645 pty is still served and read")
    func saturatedPool() throws {
        // Far more blocked items than the pool has threads: anything queued after them waits
        // until they end (30 s at most, or when this test releases them).
        let blockers = 64
        let release = DispatchSemaphore(value: 0)
        let blocked = DispatchGroup()
        for _ in 0..<blockers { DispatchQueue.global().async(group: blocked) { _ = release.wait(timeout: .now() + 30) } }
        defer {
            for _ in 0..<blockers { release.signal() }
            _ = blocked.wait(timeout: .now() + 30)
        }

        let template = try UnitTemplate.load("industrial-wastewater")
        let mn = "010000A8900016F000169DC0"
        let start = try #require(SimClock.parseStart("2026-11-30T09:57"))
        let clock = LiveClock(start: start, speed: 60)
        let pty = try SerialPort.openPTY(baud: 2400, parity: .even)
        let sensors = try CheckSensors.make(template: template, mn: mn, seed: 7, clock: clock, tcp: nil, ports: [(pty, .dlt645, "dlt645")])
        defer { sensors.stop() }
        let readings = PolledReadings()
        var options = SimulationOptions()
        options.readingSource = readings
        options.dialect = .hj2025
        let sim = try UnitSimulator(template: template, identity: LoggerIdentity(mn: mn, pw: "123456"), seed: 7, start: start, options: options)
        let lines = try ReadingLoggerLines(InstrumentLineSpec.parseList("dlt645:\(pty.path)", option: "--read"), sim: sim, readings: readings, faults: [],
                                           clock: { clock.now }, speed: clock.speed, truth: { _ in })
        defer { lines.stopAndWait() }
        lines.start()

        // Hang guard, not a duration claim: the first poll happens as soon as both lines run.
        let guardUntil = monotonicSeconds() + 10
        while readings.meters.isEmpty && monotonicSeconds() < guardUntil { usleep(10_000) }
        let power = readings.meters["SB1"]?["power"]
        #expect(power.map { $0 > 0 } == true, "no meter read while the Dispatch pool was busy: \(readings.meters), failures \(readings.counts.failures)")
    }
}
