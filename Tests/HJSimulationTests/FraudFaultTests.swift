import Foundation
import HJ212
import Testing
@testable import HJSimulation

/// A run of one logger with faults, framed and decoded back through the codec (split records
/// reassembled), with its ground truth.
enum FaultRun {
    static let mn = "010000A8900016F000169DC0"

    static func run(_ template: UnitTemplate, _ spec: String, duration: String = "1h", dialect: Dialect = .hj2017,
                    start: String = "2026-11-30") throws -> (packets: [Decoded], records: [FaultRecord], frames: [RawFrame]) {
        var options = SimulationOptions()
        options.faults = try FaultSpec.parseList(spec)
        options.dialect = dialect
        let t0 = SimClock.parseStart(start)!
        var g = try FleetGenerator(template: template, identity: LoggerIdentity(mn: mn, pw: "123456"), seed: 4, start: t0, options: options)
        var injector = FaultInjector(specs: options.faults, seed: 4, mn: mn)
        var bytes: [UInt8] = []
        var records: [FaultRecord] = []
        g.run(until: t0 + SimClock.parseDuration(duration)!, faults: { _, r in records.append(r) }) { _, p in
            let (frames, r) = injector.frames(for: p, mn: mn)
            records += r
            for f in frames { bytes += f }
        }
        for f in injector.flush() { bytes += f }
        let events = FrameDecoder.events(in: bytes)
        var reassembler = Reassembler()
        var packets: [Decoded] = []
        var frames: [RawFrame] = []
        for case .frame(let f) in events {
            frames.append(f)
            switch reassembler.add(SegmentParser.parse(f.segmentBytes).segment) {
            case .whole(let s), .complete(let s): packets.append(Decoded(cn: s.cn ?? "", st: s.st ?? "", segment: s))
            default: break
            }
        }
        return (packets, records, frames)
    }

    /// Real-time packets of the monitored stream (not working conditions), by DataTime.
    static func realtime(_ packets: [Decoded], st: String) -> [String: Decoded] {
        var out: [String: Decoded] = [:]
        for p in packets where p.cn == "2011" && p.st == st { out[p.dataTime!] = p }
        return out
    }

    static var msw: UnitTemplate { try! UnitTemplate.load("msw-incinerator") }
    static var wastewater: UnitTemplate { try! UnitTemplate.load("industrial-wastewater") }
}

/// Fraud and process faults: values and device parameters together, checked on decoded traffic
/// against a clean run of the same seed (faults that consume no randomness leave the process
/// values untouched, so the two runs can be compared sample by sample).
@Suite("Fraud and process faults")
struct FraudFaultTests {
    @Test("O2 manipulation: O2 reads 3 points low, C stays, Zs = C·(21 − O2ref)/(21 − O2) drops")
    func o2() throws {
        let clean = FaultRun.realtime(try FaultRun.run(Run.gas, "").packets, st: "31")
        let (packets, records, _) = try FaultRun.run(Run.gas, "o2-manipulation@2026-11-30T00:20/20m")
        let faulty = FaultRun.realtime(packets, st: "31")
        var inside = 0
        for (time, p) in faulty {
            let c = try #require(clean[time])
            let o2 = p.number("a19001-Rtd")!, o2Clean = c.number("a19001-Rtd")!
            #expect(p.number("a21026-Rtd") == c.number("a21026-Rtd"))
            if time >= "20261130002000" && time < "20261130004000" {
                inside += 1
                #expect(abs(o2Clean - o2 - 3) < 0.11, "\(time): \(o2Clean) → \(o2)")
                let zs = p.number("a21026-ZsRtd")!, rtd = p.number("a21026-Rtd")!
                #expect(abs(zs - rtd * 15 / (21 - o2)) <= 0.02 + zs * 0.01, "Zs consistent with the reported O2")
                #expect(zs < c.number("a21026-ZsRtd")!)
            } else {
                #expect(o2 == o2Clean)
            }
        }
        #expect(inside == 40)
        #expect(records.count == 1 && records[0].factor == "a19001" && records[0].layer == "fraud" && records[0].fault == "o2-manipulation")
    }

    @Test("flow bypass: flow reads a fraction, concentrations keep, the loads (Cou) drop by the same fraction")
    func flowBypass() throws {
        let clean = try FaultRun.run(Run.water, "")
        let (packets, records, _) = try FaultRun.run(Run.water, "flow-bypass(fraction=0.25)")
        let a = FaultRun.realtime(clean.packets, st: "32"), b = FaultRun.realtime(packets, st: "32")
        for (time, p) in b {
            let c = try #require(a[time])
            #expect(abs(p.number("w00000-Rtd")! - c.number("w00000-Rtd")! * 0.25) <= 0.006)
            #expect(p.number("w01018-Rtd") == c.number("w01018-Rtd"))
        }
        let hourClean = try #require(clean.packets.first { $0.cn == "2061" }), hour = try #require(packets.first { $0.cn == "2061" })
        let ratio = hour.number("w01018-Cou")! / hourClean.number("w01018-Cou")!
        #expect(abs(ratio - 0.25) < 0.01, "Cou ratio \(ratio)")
        #expect(abs(hour.number("w01018-Avg")! - hourClean.number("w01018-Avg")!) <= 0.2)
        #expect(records.map(\.factor) == ["w00000"])
    }

    @Test("furnace below 850 °C: a01901 at the target, CO up through the coupling, per-point temperatures in 3020 down")
    func furnace() throws {
        let clean = try FaultRun.run(FaultRun.msw, "", duration: "2h")
        let (packets, records, _) = try FaultRun.run(FaultRun.msw, "furnace-low(temperature=800)@2026-11-30T00:30/1h", duration: "2h")
        let rt = FaultRun.realtime(packets, st: "31"), rtClean = FaultRun.realtime(clean.packets, st: "31")
        var coIn: [Double] = [], coClean: [Double] = []
        for (time, p) in rt {
            let t = p.number("a01901-Rtd")!
            if time >= "20261130003100" && time < "20261130013000" {
                #expect(t < 850, "\(time): \(t)")
                coIn.append(p.number("a21005-Rtd")!)
                coClean.append(rtClean[time]!.number("a21005-Rtd")!)
            } else if time < "20261130003000" {
                #expect(t > 900)
            }
        }
        #expect(coIn.reduce(0, +) > 1.5 * coClean.reduce(0, +), "CO rises when the furnace cools")
        let furnaceInfo = packets.filter { $0.cn == "3020" && $0.segment.cpValue("i33320-Info") != nil }
        let during = furnaceInfo.filter { $0.dataTime! >= "20261130003000" && $0.dataTime! < "20261130013000" }
        #expect(!during.isEmpty && during.allSatisfy { $0.number("i33320-Info")! < 850 })
        #expect(during.first?.dataTime == "20261130003000", "sent when the fault starts")
        #expect(furnaceInfo.filter { $0.dataTime! >= "20261130013000" }.allSatisfy { $0.number("i33320-Info")! > 900 })
        #expect(records.count == 1 && records[0].layer == "process" && records[0].factor == "a01901")
    }

    @Test("calibration: flag C and i12001=3 in a 3020 sent at the start, i12001=0 at the end (Hebei water: i12101=5)")
    func calibrationStatus() throws {
        let (packets, records, _) = try FaultRun.run(FaultRun.wastewater, "calibration:w01018@2026-11-30T00:20/15m")
        let status = packets.filter { $0.cn == "3020" && $0.text("PolId") == "w01018" && $0.text("i12001-Info") != nil }
        #expect(status.first { $0.dataTime == "20261130002000" }?.text("i12001-Info") == "3")
        #expect(status.first { $0.dataTime == "20261130003500" }?.text("i12001-Info") == "0")
        let hebei = packets.filter { $0.cn == "3020" && $0.text("PolId") == "w01018" && $0.text("i12101-Info") != nil }
        #expect(hebei.first { $0.dataTime == "20261130002000" }?.text("i12101-Info") == "5")
        #expect(hebei.first { $0.dataTime == "20261130003500" }?.text("i12101-Info") == "1")
        for p in packets where p.cn == "2011" && p.st == "32" {
            let t = p.dataTime!
            // The plant is stopped before 07:00: outside the calibration its data are F (停运).
            #expect(p.text("w01018-Flag") == (t >= "20261130002000" && t < "20261130003500" ? "C" : "F"), "\(t)")
        }
        #expect(records.count == 1)
    }

    @Test("parameter tampering: the slope in 3020 and the readings change together; a cyclic analyser's held value is not compounded")
    func tampering() throws {
        let clean = FaultRun.realtime(try FaultRun.run(FaultRun.wastewater, "", duration: "3h").packets, st: "32")
        let (packets, records, _) = try FaultRun.run(FaultRun.wastewater, "parameter-tampering:w01018(slope=0.5)@2026-11-30T01:00/2h", duration: "3h")
        for (time, p) in FaultRun.realtime(packets, st: "32") where time >= "20261130010000" {
            let c = try #require(clean[time]).number("w01018-Rtd")!
            #expect(abs(p.number("w01018-Rtd")! - c * 0.5) <= 0.06, "\(time)")
        }
        let slopes = packets.filter { $0.cn == "3020" && $0.text("PolId") == "w01018" }.compactMap { p in p.number("i13008-Info").map { (p.dataTime!, $0) } }
        #expect(slopes.contains { $0.0 == "20261130010000" && abs($0.1 - 233.1) < 0.01 }, "466.2 x 0.5 at the start: \(slopes)")
        #expect(records.count == 1 && records[0].layer == "fraud")
        // A level shift on the hourly analyser stays at x1.5 of the held value, hour after hour.
        let shifted = FaultRun.realtime(try FaultRun.run(FaultRun.wastewater, "level-shift:w01018", duration: "3h").packets, st: "32")
        for (time, p) in shifted { #expect(abs(p.number("w01018-Rtd")! - clean[time]!.number("w01018-Rtd")! * 1.5) <= 0.06, "\(time)") }
    }

    @Test("failing standard-sample check: Hebei i13129 out of tolerance at the start; HJ 212-2025 2062 with ResultType 0")
    func standardCheck() throws {
        let (packets, records, _) = try FaultRun.run(FaultRun.wastewater, "standard-check-fail:w01018(deviation=21)@2026-11-30T00:30/1h")
        let check = try #require(packets.first { $0.cn == "3020" && $0.text("PolId") == "w01018" && $0.dataTime == "20261130003000" && $0.text("i13129-Info") != nil })
        #expect(check.number("i13129-Info") == 21 && check.text("i13128-Info") == "20261130003000")
        #expect(packets.filter { $0.cn == "3020" && $0.text("i13129-Info") != nil && $0.dataTime! < "20261130003000" }.allSatisfy { abs($0.number("i13129-Info")!) < 10 })
        #expect(records.count == 1)
        let v2025 = try FaultRun.run(FaultRun.wastewater, "standard-check-fail:w01018@2026-11-30T00:30/1h", dialect: .hj2025)
        let c2062 = try #require(v2025.packets.first { $0.cn == "2062" && $0.dataTime == "20261130003000" })
        #expect(c2062.text("w01018-ResultType") == "0")
        let measured = c2062.number("w01018-SampleRd")!, standard = c2062.number("w01018-StandardValue")!
        #expect(abs(measured / standard - 1.18) < 0.01)
    }

    @Test("missing factor: absent from real-time and minute records while active, back afterwards")
    func missingFactor() throws {
        let (packets, records, _) = try FaultRun.run(Run.water, "missing-factor:w01001@2026-11-30T00:20/20m")
        for p in packets where p.cn == "2011" || p.cn == "2051" {
            let t = p.dataTime!
            let closeTime = p.cn == "2051" ? HJTime(wallMilliseconds: HJTime(t)!.wallMilliseconds + 600_000).text14 : t
            // Records close before the sample of their closing time: a window closing at the
            // fault's start still has the factor, one closing at its end not.
            let hidden = p.cn == "2051" ? closeTime > "20261130002000" && closeTime <= "20261130004000" : closeTime >= "20261130002000" && closeTime < "20261130004000"
            #expect((p.segment.cpValue("w01001-Flag") == nil) == hidden, "\(p.cn) \(t)")
            #expect(p.segment.cpValue("w01018-Flag") != nil)
        }
        #expect(records.count == 1 && records[0].factor == "w01001")
    }

    @Test("parameters, factors and applicability are checked: unknown parameter, missing or superfluous factor, a unit without furnace")
    func validation() throws {
        #expect(throws: ProfileError.self) { try FaultSpec.parseList("flow-bypass(speed=2)") }
        #expect(throws: ProfileError.self) { try FaultSpec.parseList("flow-bypass(fraction=2)") }
        #expect(throws: ProfileError.self) { try FaultSpec.parseList("parameter-tampering") }
        #expect(throws: ProfileError.self) { try FaultSpec.parseList("furnace-low:a01901") }
        #expect(throws: ProfileError.self) { try FaultSpec.parseList("crc-mismatch#0") }
        let furnace = try FaultSpec.parseList("furnace-low")[0]
        #expect(furnace.inapplicability(to: Run.water)?.contains("a01901") == true)
        #expect(furnace.inapplicability(to: FaultRun.msw) == nil)
        #expect(try FaultSpec.parseList("o2-manipulation")[0].inapplicability(to: Run.water) != nil)
        #expect(try FaultSpec.parseList("level-shift:w01018(scale=2)#1")[0].parameters["scale"] == 2)
    }
}

/// The logger faults added for issue 5's second part, on decoded traffic.
@Suite("Logger faults")
struct LoggerFaultTests {
    static func dataTimes(_ frames: [RawFrame], cn: String) -> [String] {
        frames.map { SegmentParser.parse($0.segmentBytes).segment }.filter { $0.cn == cn && ($0.pno ?? 1) == 1 }.compactMap { $0.cpValue("DataTime") }
    }

    @Test("clock jump: DataTime jumps back once for the window, then returns; every shifted packet is in the ground truth")
    func clockJump() throws {
        let (_, records, frames) = try FaultRun.run(Run.water, "clock-jump(minutes=-30)@2026-11-30T00:40/10m")
        let times = Self.dataTimes(frames, cn: "2011")
        let backwards = zip(times, times.dropFirst()).filter { $0.1 < $0.0 }
        #expect(backwards.count == 1, "one jump back: \(backwards)")
        let gap: Int64 = backwards.first.map { HJTime($0.0)!.wallMilliseconds - HJTime($0.1)!.wallMilliseconds } ?? 0
        #expect(gap == 30 * 60_000 - 30_000)
        let qns = Set(frames.compactMap { SegmentParser.parse($0.segmentBytes).segment.qn })
        #expect(records.count == 21 && records.allSatisfy { qns.contains($0.qn) })  // 20 real-time, one 2051
        #expect(records.allSatisfy { $0.fault == "clock-jump" })
    }

    @Test("out of order: one record comes after the next packet; nothing is lost")
    func outOfOrder() throws {
        let (_, records, frames) = try FaultRun.run(Run.water, "out-of-order#1@2026-11-30T00:15/1h")
        let minutes = Self.dataTimes(frames, cn: "2051")
        #expect(minutes.count == 6 && Set(minutes).count == 6)
        let order = frames.map { SegmentParser.parse($0.segmentBytes).segment }.filter { $0.cn == "2051" || $0.cn == "2011" }.compactMap { $0.cpValue("DataTime") }
        #expect(zip(order, order.dropFirst()).contains { $0.1 < $0.0 })
        #expect(records.count == 1 && records[0].cn == "2051")
        // A split record (incinerator) is held back whole.
        let msw = try FaultRun.run(FaultRun.msw, "out-of-order#1")
        #expect(msw.packets.filter { $0.cn == "2051" }.count == 6)
        #expect(msw.records.count == 1)
    }

    @Test("oversized record: a split record sent whole without PNUM/PNO; wrong PNO: the record never completes")
    func splitFaults() throws {
        let linter = try Linter()
        let (packets, records, frames) = try FaultRun.run(FaultRun.msw, "oversized-record#1")
        let big = frames.filter { $0.segmentBytes.count > 1024 }
        #expect(big.count == 1)
        let report = linter.check(big[0], index: 0)
        #expect(report.diagnostics.contains { $0.rule == "frame.segment-too-long" } && report.segment.header("PNUM") == nil)
        #expect(records.count == 1 && records[0].qn == report.segment.qn)
        #expect(packets.filter { $0.cn == "2051" }.count == 6)
        let wrong = try FaultRun.run(FaultRun.msw, "wrong-pno#1")
        let bad = wrong.frames.map { linter.check($0, index: 0) }.filter { $0.diagnostics.contains { $0.rule == "segment.pno-range" } }
        #expect(bad.count == 1 && wrong.records.count == 1 && wrong.records[0].qn == bad[0].segment.qn)
        #expect(wrong.packets.filter { $0.cn == "2051" }.count == 5, "the damaged record cannot be reassembled")
    }

    @Test("inconsistent Avg: the hour's Avg is no longer the flow-weighted mean of its windows")
    func inconsistentAvg() throws {
        let clean = try #require(try FaultRun.run(Run.water, "").packets.first { $0.cn == "2061" })
        let (packets, records, _) = try FaultRun.run(Run.water, "inconsistent-avg(scale=1.2)")
        let hour = try #require(packets.first { $0.cn == "2061" })
        #expect(abs(hour.number("w01018-Avg")! / clean.number("w01018-Avg")! - 1.2) < 0.01)
        #expect(hour.number("w01018-Cou") == clean.number("w01018-Cou"))
        #expect(records.count == 1 && records[0].cn == "2061")
    }
}
