import Foundation
import HJ212
import Testing
@testable import HJSimulation

/// Every scenario's story is visible in its data (issue 11 item 10), and clean baselines look like
/// plants: a stopped plant reports F (停运) with flow 0 and noisy readings, never an exact
/// flatline with flag N.
enum Story {
    static let fleet = try! Fleet.load("mixed-demo")
    static let mn = ["industrial-wastewater": "010000A89001000000000001", "thermal-power": "010000A89001000000000004",
                     "msw-incinerator": "010000A89001000000000006"]

    /// The units of mixed-demo of these templates, run from `start` for `hours` with a scenario
    /// (nil: clean), through the protocol injectors; decoded per MN.
    static func run(_ scenario: String?, templates: [String], start: String, hours: Int64, seed: UInt64 = 5) throws -> [String: [Decoded]] {
        let t0 = SimClock.parseStart(start)!
        let units = fleet.units.enumerated().filter { templates.contains($0.element.unit) }
            .map { Scenario.Unit(mn: $0.element.identity.mn, template: fleet.templates[$0.element.unit]!, row: $0.offset + 1, enterprise: $0.element.enterprise) }
        var options = SimulationOptions()
        if let scenario { options.faults = try Scenario.load(scenario).compile(units: units, start: t0, end: t0 + hours * 3_600_000, live: false).specs }
        let sims = try units.map { try UnitSimulator(template: $0.template, identity: LoggerIdentity(mn: $0.mn, pw: "123456"), seed: seed, start: t0, options: options) }
        let generation = FaultedGeneration(generator: FleetGenerator(simulators: sims), mns: units.map(\.mn), faults: options.faults, seed: seed)
        var run = generation
        var bytes: [[UInt8]] = Array(repeating: [], count: units.count)
        run.run(until: t0 + hours * 3_600_000, truth: { _ in }) { unit, _, frames in for f in frames { bytes[unit] += f } }
        for (unit, f) in run.finish() { bytes[unit] += f }
        var out: [String: [Decoded]] = [:]
        for (i, u) in units.enumerated() { out[u.mn] = decode(bytes[i]) }
        return out
    }

    static func decode(_ bytes: [UInt8]) -> [Decoded] {
        let events = FrameDecoder.events(in: bytes)
        var reassembler = Reassembler()
        var out: [Decoded] = []
        for case .frame(let f) in events {
            switch reassembler.add(SegmentParser.parse(f.segmentBytes).segment) {
            case .whole(let s), .complete(let s): out.append(Decoded(cn: s.cn ?? "", st: s.st ?? "", segment: s))
            default: break
            }
        }
        return out
    }

    /// Real-time values of a factor (main ST) between two local times "HHMM" (DataTime text compare).
    static func rtd(_ packets: [Decoded], _ code: String, from: String, to: String) -> [(t: String, v: Double, flag: String)] {
        packets.filter { $0.cn == "2011" && $0.number("\(code)-Rtd") != nil }.compactMap { p in
            let t = p.dataTime ?? ""
            guard String(t.dropFirst(8).prefix(4)) >= from && String(t.dropFirst(8).prefix(4)) < to else { return nil }
            return (t, p.number("\(code)-Rtd")!, p.text("\(code)-Flag") ?? "")
        }
    }

    static func mean(_ xs: [Double]) -> Double { xs.isEmpty ? .nan : xs.reduce(0, +) / Double(xs.count) }
}

@Suite("Scenario stories and plant baselines")
struct ScenarioStoryTests {
    @Test("a clean day of every unit template: stopped hours report F with flow 0; no value repeats with flag N for hours (an hour, or four cycles of a cyclic analyser)",
          arguments: UnitTemplate.available())
    func baseline(_ name: String) throws {
        let template = try UnitTemplate.load(name)
        let packets = try Run.packets(template: template, seed: 11, duration: "1d").packets.filter { $0.cn == "2011" && $0.st == template.st }
        #expect(packets.count > 100)
        for f in template.factors {
            // Longest run of one exact value reported with flag N.
            var longest = 0, run = 0
            var previous: String?
            for p in packets {
                let v = p.text("\(f.code)-Rtd"), flag = p.text("\(f.code)-Flag")
                if flag == "N", let v, v == previous { run += 1 } else { run = 0 }
                previous = flag == "N" ? v : nil
                longest = max(longest, run)
            }
            // A cyclic analyser holds its reading for its cycle, and at the resolution of its
            // Appendix B format (N3.2 for total phosphorus) two or three cycles may read alike;
            // anything else moves within the hour. The flatline fraud being taught lasts 4-6 hours.
            let allowed = f.measureEveryMinutes > 0 ? 4 * f.measureEveryMinutes * 60 / template.rtdIntervalSeconds : 3600 / template.rtdIntervalSeconds
            #expect(longest <= allowed, "\(name) \(f.code) (noise \(f.noise), decimals \(f.decimals), baseline \(f.baseline)): \(longest + 1) identical values with flag N in a row (allowed \(allowed + 1)) \(previous ?? "")")
        }
        guard template.operationStartHour > 0 || template.operationEndHour < 24 else { return }
        // Stopped hours: flag F 停运 for every factor, flow 0, and readings that still vary.
        let stopped = packets.filter {
            let h = Double(String($0.dataTime!.dropFirst(8).prefix(2)))!
            return h < template.operationStartHour || h >= template.operationEndHour
        }
        #expect(stopped.count > 20)
        for f in template.factors {
            let flags = Set(stopped.compactMap { $0.text("\(f.code)-Flag") })
            #expect(flags == ["F"], "\(name) \(f.code) while stopped: \(flags)")
        }
        #expect(stopped.allSatisfy { $0.number("\(template.flowFactor)-Rtd") == 0 })
        // (A quantity that stands at zero reads zero: F says the plant is stopped.)
        let continuous = template.factors.filter { $0.measureEveryMinutes == 0 && $0.code != template.flowFactor && $0.noise > 0 && $0.stopped != 0 }
        for f in continuous {
            let values = Set(stopped.compactMap { $0.text("\(f.code)-Rtd") })
            #expect(values.count > 3, "\(name) \(f.code) while stopped is a flatline: \(values)")
        }
    }

    @Test("night-discharge-bypass: while the plant runs, COD and ammonia triple, the flow meter reads a fifth, the COD load stays low")
    func bypass() throws {
        let mn = Story.mn["industrial-wastewater"]!
        let clean = try Story.run(nil, templates: ["industrial-wastewater"], start: "2026-11-30T12:00", hours: 12)[mn]!
        let fraud = try Story.run("night-discharge-bypass", templates: ["industrial-wastewater"], start: "2026-11-30T12:00", hours: 12)[mn]!
        let window = (from: "1810", to: "2250")
        for code in ["w01018", "w21003"] {
            let f = Story.rtd(fraud, code, from: window.from, to: window.to), c = Story.rtd(clean, code, from: window.from, to: window.to)
            let ratio = Story.mean(f.map(\.v)) / Story.mean(c.map(\.v))
            #expect(ratio > 2.4 && ratio < 3.6, "\(code) up x\(ratio)")
            #expect(f.allSatisfy { $0.flag == "N" }, "the plant runs")
        }
        let flow = Story.mean(Story.rtd(fraud, "w00000", from: window.from, to: window.to).map(\.v)) / Story.mean(Story.rtd(clean, "w00000", from: window.from, to: window.to).map(\.v))
        #expect(flow > 0.12 && flow < 0.3, "flow x\(flow)")
        // Before the window, nothing differs much.
        let before = Story.mean(Story.rtd(fraud, "w01018", from: "1300", to: "1700").map(\.v)) / Story.mean(Story.rtd(clean, "w01018", from: "1300", to: "1700").map(\.v))
        #expect(abs(before - 1) < 0.1)
        // The COD load of the minute records in the window is lower than a true triple load.
        func cou(_ ps: [Decoded]) -> Double {
            ps.filter { $0.cn == "2051" && ($0.dataTime ?? "") >= "20261130181000" && ($0.dataTime ?? "") < "20261130225000" }.compactMap { $0.number("w01018-Cou") }.reduce(0, +)
        }
        #expect(cou(fraud) < 0.8 * cou(clean), "loads stay low: \(cou(fraud)) vs \(cou(clean))")
        // After 23:00 the plant is stopped: F, flow 0.
        #expect(Story.rtd(fraud, "w00000", from: "2300", to: "2400").allSatisfy { $0.v == 0 && $0.flag == "F" })
    }

    @Test("analyser-flatline: the COD analyser and the SO2 channel repeat one value with flag N while the plants run; Min = Avg = Max")
    func flatline() throws {
        let fraud = try Story.run("analyser-flatline", templates: ["industrial-wastewater", "thermal-power"], start: "2026-11-30T08:00", hours: 8)
        let clean = try Story.run(nil, templates: ["industrial-wastewater", "thermal-power"], start: "2026-11-30T08:00", hours: 8)
        for (template, code, from, to) in [("industrial-wastewater", "w01018", "0900", "1500"), ("thermal-power", "a21026", "1000", "1400")] {
            let mn = Story.mn[template]!
            let f = Story.rtd(fraud[mn]!, code, from: from, to: to)
            #expect(f.count > 50 && Set(f.map(\.v)).count == 1 && f.allSatisfy { $0.flag == "N" }, "\(code): \(Set(f.map(\.v)))")
            #expect(Set(Story.rtd(clean[mn]!, code, from: from, to: to).map(\.v)).count > 4, "the baseline moves")
            let minute = fraud[mn]!.filter { $0.cn == "2051" && ($0.dataTime ?? "") >= "20261130\(from)00" && ($0.dataTime ?? "") < "20261130\(to)00" }
            #expect(!minute.isEmpty && minute.allSatisfy { $0.number("\(code)-Min") == $0.number("\(code)-Max") && $0.number("\(code)-Avg") == $0.number("\(code)-Max") })
        }
    }

    @Test("calibration-tampering: SO2 over its limit flagged C in calibration (3020 i12001=3), then 40 % lower with the slope changed; COD check fails, then COD drops")
    func calibration() throws {
        let fraud = try Story.run("calibration-tampering", templates: ["industrial-wastewater", "thermal-power"], start: "2026-11-30", hours: 14)
        let clean = try Story.run(nil, templates: ["industrial-wastewater", "thermal-power"], start: "2026-11-30", hours: 14)
        let power = Story.mn["thermal-power"]!, chem = Story.mn["industrial-wastewater"]!
        let during = Story.rtd(fraud[power]!, "a21026", from: "0200", to: "0300")
        #expect(during.allSatisfy { $0.flag == "C" } && !during.isEmpty)
        #expect(Story.mean(during.map(\.v)) > 2 * Story.mean(Story.rtd(clean[power]!, "a21026", from: "0200", to: "0300").map(\.v)))
        let status = fraud[power]!.filter { $0.cn == "3020" && $0.text("PolId") == "a21026" && $0.text("i12001-Info") == "3" }
        #expect(status.contains { $0.dataTime == "20261130020000" })
        let after = Story.mean(Story.rtd(fraud[power]!, "a21026", from: "0400", to: "1400").map(\.v)) / Story.mean(Story.rtd(clean[power]!, "a21026", from: "0400", to: "1400").map(\.v))
        #expect(after > 0.5 && after < 0.7, "SO2 x\(after) after the slope change")
        #expect(fraud[power]!.contains { $0.cn == "3020" && $0.text("PolId") == "a21026" && $0.text("i13026-Info") != nil && $0.dataTime! >= "20261130030000" })
        // The chemical plant (running from 07:00): the failed check in 3020 at 09:00, COD lower from 11:00.
        #expect(fraud[chem]!.contains { $0.cn == "3020" && $0.text("PolId") == "w01018" && $0.number("i13129-Info").map { abs($0) > 10 } == true && $0.dataTime! >= "20261130090000" })
        let cod = Story.mean(Story.rtd(fraud[chem]!, "w01018", from: "1200", to: "1400").map(\.v)) / Story.mean(Story.rtd(clean[chem]!, "w01018", from: "1200", to: "1400").map(\.v))
        #expect(cod < 0.8, "COD x\(cod) after tampering")
        #expect(Story.rtd(fraud[chem]!, "w01018", from: "1200", to: "1400").allSatisfy { $0.flag == "N" })
    }

    @Test("furnace-below-850: the furnace runs near 810 °C, then near 835 °C, in its two windows, and at ≥ 850 °C otherwise")
    func furnace() throws {
        let mn = Story.mn["msw-incinerator"]!
        let p = try Story.run("furnace-below-850", templates: ["msw-incinerator"], start: "2026-11-30", hours: 5)[mn]!
        let first = Story.rtd(p, "a01901", from: "0105", to: "0145").map(\.v)
        let second = Story.rtd(p, "a01901", from: "0405", to: "0430").map(\.v)
        #expect(!first.isEmpty && first.allSatisfy { $0 < 850 } && abs(Story.mean(first) - 810) < 20, "\(Story.mean(first))")
        #expect(!second.isEmpty && second.filter { $0 < 850 }.count * 10 >= second.count * 9 && abs(Story.mean(second) - 835) < 15, "\(second)")
        #expect(Story.rtd(p, "a01901", from: "0000", to: "0100").allSatisfy { $0.v >= 850 })
        #expect(Story.rtd(p, "a01901", from: "0230", to: "0400").allSatisfy { $0.v >= 850 })
    }

    @Test("protocol-torture: every protocol fault is on the wire where a linter finds it")
    func torture() throws {
        let t0 = SimClock.parseStart("2026-11-30")!
        let fleet = Story.fleet
        let units = fleet.units.enumerated().filter { $0.element.unit == "msw-incinerator" }
            .map { Scenario.Unit(mn: $0.element.identity.mn, template: fleet.templates[$0.element.unit]!, row: $0.offset + 1, enterprise: $0.element.enterprise) }
        let specs = try Scenario.load("protocol-torture").compile(units: units, start: t0, end: t0 + 4 * 3_600_000, live: false).specs
        var options = SimulationOptions()
        options.faults = specs
        let sims = [try UnitSimulator(template: units[0].template, identity: LoggerIdentity(mn: units[0].mn, pw: "123456"), seed: 5, start: t0, options: options)]
        var run = FaultedGeneration(generator: FleetGenerator(simulators: sims), mns: [units[0].mn], faults: specs, seed: 5)
        var bytes: [UInt8] = []
        var truth: [FaultRecord] = []
        run.run(until: t0 + 4 * 3_600_000, truth: { truth.append($0) }) { _, _, frames in for f in frames { bytes += f } }
        for (_, f) in run.finish() { bytes += f }
        #expect(Set(truth.map(\.fault)) == Set(specs.map(\.id.rawValue)), "every fault injected")
        let events = FrameDecoder.events(in: bytes)
        let linter = try Linter()
        var rules: Set<String> = []
        for case .frame(let f) in events { for d in linter.check(f, index: 0).diagnostics { rules.insert(d.rule) } }
        for rule in ["frame.crc-mismatch", "frame.crc-variant-modbus", "frame.crc-variant-modbus-swapped", "frame.crc-lowercase",
                     "frame.length-mismatch", "frame.trailer-missing", "frame.segment-too-long", "segment.mn-format", "dialect.2005"] {
            #expect(rules.contains(rule), "\(rule) not found by the linter: \(rules.sorted())")
        }
    }
}
