import Foundation
import HJ212
import Testing
@testable import HJSimulation

/// The generation fast path (packets written as bytes, framed into block buffers, several
/// threads) against the reference path it replaced: `DataSegment` per packet, one thread.
@Suite("Generation bytes")
struct GenerationBytesTests {
    @Test("SegmentBytes.number writes exactly the digits of ValueFormat.fixed")
    func numbers() {
        var w = SegmentBytes()
        var random = SimRandom(seed: 5, label: "numbers")
        var values: [Double] = [0, -0.0, 0.5, -0.5, 1.5, 2.5, -2.5, 0.05, 0.005, 0.0005, 1e-9, -1e-9, 123.456789, 9.999999, -9.9999999,
                                8.9e15, 9.1e15, -9.2e15, 1e20, -3e18, .infinity, -.infinity, .nan, 45.25, 45.35, 1.005, 2.675]
        for _ in 0..<20_000 {
            let magnitude = pow(10, Double(random.next() % 12) - 4)
            values.append((random.unit() - 0.3) * magnitude)
        }
        for v in values {
            for d in -1...7 {
                w.begin(qnSecond: 0, qnMilliseconds: 0, st: "32", cn: "2011", pw: "123456", mn: "010000A8900016F000169DC0", flag: 5)
                w.group(); w.key("x"); w.number(v, decimals: d)
                let text = String(decoding: w.bytes, as: UTF8.self)
                #expect(text.hasSuffix("CP=&&x=" + ValueFormat.fixed(v, decimals: d)), "\(v) decimals \(d): \(text)")
            }
        }
    }

    @Test("SegmentBytes writes the bytes DataSegment serialises, empty CP and value-only fields included")
    func segments() {
        let cps: [[[Field]]] = [
            [],
            [[Field("DataTime", "20261130000000")]],
            [[Field("DataTime", "20261130000000")], [Field("w01018-Rtd", "45.2"), Field("w01018-Flag", "N")], [Field("", "opaque")]],
            [[Field("a", "1"), Field("", "2"), Field("c", "")], [], [Field("中文-Info", "值")]],
        ]
        for (n, cp) in cps.enumerated() {
            let t: Int64 = 1_795_000_000_123 + Int64(n) * 1000
            var w = SegmentBytes()
            w.begin(qnSecond: t / 1000, qnMilliseconds: 7, st: "32", cn: "2011", pw: "123456", mn: "010000A8900016F000169DC0", flag: 5 + n * 3)
            w.fields(cp)
            w.end()
            let reference = DataSegment(header: [Field("QN", HJTime(wallMilliseconds: (t / 1000) * 1000 + 7).text17), Field("ST", "32"), Field("CN", "2011"),
                                                 Field("PW", "123456"), Field("MN", "010000A8900016F000169DC0"), Field("Flag", String(5 + n * 3))], cp: cp)
            #expect(w.bytes == reference.serializedBytes(), "\(String(decoding: w.bytes, as: UTF8.self))")
        }
    }

    /// The frames of a run: the reference path (segments, `run`, `FrameEncoder.frame`) or the
    /// fast one (bytes only, `runFrames`).
    static func frames(_ make: (SimulationOptions) throws -> FleetGenerator, options: SimulationOptions, until: Int64, fast: Bool, threads: Int = 1) throws -> [UInt8] {
        var options = options
        options.bytesOnly = fast
        var g = try make(options)
        var out: [UInt8] = []
        if fast {
            var units: [Int] = []
            g.runFrames(until: until, threads: threads) { block in
                out += block.bytes
                units += block.packets.map(\.unit)
                #expect(block.packets.last?.end ?? 0 == block.bytes.count)
            }
        } else {
            g.run(until: until, threads: threads) { _, p in out += FrameEncoder.frame(p.segment) }
        }
        return out
    }

    @Test("every template writes the same frames through bytes as through DataSegment (2017, 2025, facility states, faults)",
          arguments: UnitTemplate.available())
    func templatesMatch(_ name: String) throws {
        let template = try UnitTemplate.load(name)
        // Across midnight: hour, day and 2025 daily checks; start off a sample boundary.
        let t0 = SimClock.parseStart("2026-11-30T21:59:47")!
        var variants: [SimulationOptions] = []
        var o = SimulationOptions()
        variants.append(o)
        o.dialect = .hj2025
        o.facilityStatus = true
        variants.append(o)
        o = SimulationOptions()
        o.rtdIntervalSeconds = 45
        o.minIntervalMinutes = 4
        // A value fault hides a factor and another flattens one (the hidden set and the 3020s of faults).
        let codes = template.factors.map(\.code)
        o.faults = try FaultSpec.parseList("missing-factor:\(codes[0])@2026-11-30T22:30/1h,flatline:\(codes[codes.count - 1])@2026-11-30T23:00/2h,"
                                           + "calibration:\(codes[Swift.min(1, codes.count - 1)])@2026-11-30T22:20/30m", offsetMinutes: 480)
        variants.append(o)
        for options in variants {
            let make = { (o: SimulationOptions) in
                try FleetGenerator(template: template, identity: LoggerIdentity(mn: "010000A8900016F000169DC0", pw: "654321"), seed: 11, start: t0, options: o)
            }
            let reference = try Self.frames(make, options: options, until: t0 + 3 * 3_600_000, fast: false)
            let fast = try Self.frames(make, options: options, until: t0 + 3 * 3_600_000, fast: true)
            #expect(reference.count > 10_000)
            #expect(fast == reference, "\(name) \(options.dialect) faults \(options.faults.count)")
        }
    }

    @Test("a fleet's frames are the same bytes with 1, 2 and 3 threads, and the same as the reference path")
    func threads() throws {
        let fleet = try Fleet.load("mixed-demo")
        let t0 = SimClock.parseStart("2026-11-30T23:00")!
        let make = { (o: SimulationOptions) in try FleetGenerator(fleet: fleet, seed: 4, start: t0, options: o) }
        let end = t0 + 7_200_000
        let reference = try Self.frames(make, options: SimulationOptions(), until: end, fast: false)
        #expect(reference.count > 100_000)
        for threads in [1, 2, 3] {
            #expect(try Self.frames(make, options: SimulationOptions(), until: end, fast: true, threads: threads) == reference, "threads \(threads)")
        }
        #expect(try Self.frames(make, options: SimulationOptions(), until: end, fast: false, threads: 2) == reference)
    }

    @Test("faults: frames and ground truth are the same with bytes only and 2 threads as with DataSegments and one")
    func faultsMatch() throws {
        let fleet = try Fleet.load("mixed-demo")
        let t0 = SimClock.parseStart("2026-11-30T08:00")!
        let mns = fleet.units.map(\.identity.mn)
        let specs = try FaultSpec.parseList("crc-mismatch%5,duplicate-qn%3,out-of-order%10,clock-skew%2,inconsistent-avg%20,wrong-pw#3,flatline@2026-11-30T08:20/30m",
                                            offsetMinutes: 480)
        func run(fast: Bool, threads: Int) throws -> (frames: [UInt8], truth: [String]) {
            var options = SimulationOptions()
            options.bytesOnly = fast
            options.faults = specs
            var r = FaultedGeneration(generator: try FleetGenerator(fleet: fleet, seed: 2, start: t0, options: options), mns: mns, faults: specs, seed: 2)
            var frames: [UInt8] = []
            var truth: [String] = []
            r.run(until: t0 + 3_600_000, threads: threads, truth: { truth.append($0.json(offsetMinutes: 480)) }) { _, _, fs in for f in fs { frames += f } }
            for (_, f) in r.finish() { frames += f }
            return (frames, truth)
        }
        let reference = try run(fast: false, threads: 1)
        #expect(reference.truth.count > 20)
        let fast = try run(fast: true, threads: 2)
        #expect(fast.frames == reference.frames)
        #expect(fast.truth == reference.truth)
    }

    @Test("SegmentBytes times (the day's digits made once a day) match HJTime across days, before 1970 and at extremes")
    func times() {
        var random = SimRandom(seed: 9, label: "times")
        var values: [Int64] = [0, -1, 86_399_999, 86_400_000, -86_400_000, -86_400_001, 1_795_000_000_123, 1 << 50, -(1 << 50), -(1 << 50) + 1]
        var t: Int64 = 1_795_000_000_000
        for _ in 0..<3000 {
            t += Int64(random.next() % 7_200_000)  // forward, crossing midnights
            values.append(t)
            values.append(Int64(bitPattern: random.next()) / 1000)  // anywhere, either sign
        }
        var w = SegmentBytes()
        for (n, ms) in values.enumerated() {
            // Each time written twice (the second from the cached day) in one segment.
            w.begin(qnSecond: 0, qnMilliseconds: 0, st: "32", cn: "2011", pw: "123456", mn: "010000A8900016F000169DC0", flag: 5)
            w.group(); w.key("A"); w.time(ms, milliseconds: n % 2 == 0); w.key("B"); w.time14(ms)
            w.end()
            let h = HJTime(wallMilliseconds: ms)
            let expected = "A=" + (n % 2 == 0 ? h.text17 : h.text14) + ",B=" + h.text14 + "&&"
            #expect(String(decoding: w.bytes, as: UTF8.self).hasSuffix("CP=&&" + expected), "\(ms)")
        }
    }

    @Test("SegmentBytes headers: a cached header is used only for the same ST, CN, PW, MN and Flag")
    func headers() {
        var w = SegmentBytes()
        let combos: [(st: String, cn: String, pw: String, mn: String, flag: Int)] = (0..<40).map { n in
            (n % 3 == 0 ? "32" : "31", ["2011", "2051", "2061", "3020", "9014"][n % 5], n % 7 == 0 ? "654321" : "123456",
             n % 11 == 0 ? "010000A8900016F000169DC1" : "010000A8900016F000169DC0", [4, 5, 9][n % 3])
        }
        for c in combos + combos.reversed() {
            w.begin(qnSecond: 1_795_000_000, qnMilliseconds: 1, st: c.st, cn: c.cn, pw: c.pw, mn: c.mn, flag: c.flag)
            w.end()
            let expected = "QN=\(HJTime(wallMilliseconds: 1_795_000_000_001).text17);ST=\(c.st);CN=\(c.cn);PW=\(c.pw);MN=\(c.mn);Flag=\(c.flag);CP=&&&&"
            #expect(String(decoding: w.bytes, as: UTF8.self) == expected)
        }
    }

    @Test("the factor constants are one object per template factor, shared by every logger of the template")
    func sharedSpecs() throws {
        let template = try UnitTemplate.load("msw-incinerator")
        let start = SimClock.parseStart("2026-11-30")!
        let a = try UnitSimulator(template: template, identity: LoggerIdentity(mn: "010000A8900016F000169DC0", pw: "123456"), seed: 1, start: start)
        let b = try UnitSimulator(template: template, identity: LoggerIdentity(mn: "010000A8900016F000169DC1", pw: "123456"), seed: 2, start: start)
        #expect(a.models.count == template.factors.count)
        for (x, y) in zip(a.models, b.models) { #expect(x.spec === y.spec) }
        // A changed factor gets its own spec, with its own constants.
        var changed = template
        changed.factors[0].baseline += 1
        let c = try UnitSimulator(template: changed, identity: LoggerIdentity(mn: "010000A8900016F000169DC2", pw: "123456"), seed: 1, start: start)
        #expect(c.models[0].spec !== a.models[0].spec)
        #expect(c.models[0].baseline == a.models[0].baseline + 1)
        #expect(c.models[1].spec === a.models[1].spec)
    }
}
