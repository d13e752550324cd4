import Foundation
import HJ212
import Testing
@testable import HJSimulation

/// Aggregates checked against Appendix D by an independent calculation on the decoded packets.
@Suite("Appendix D aggregation")
struct AggregationTests {
    /// Half a unit in the last place times the number of rounded terms.
    static func tolerance(decimals: Int, terms: Int) -> Double { 0.5 * pow(10, -Double(decimals)) * Double(terms) + 1e-9 }

    @Test("water: one day gives 2880 x 2011, 144 x 2051, 24 x 2061, 1 x 2031, 1 x 2041, 1 x 2081, 24 x 3020")
    func counts() throws {
        var options = SimulationOptions()
        options.facilityStatus = true
        let (_, packets) = try Run.packets(template: Run.water, options: options)
        var counts: [String: Int] = [:]
        for p in packets { counts[p.cn, default: 0] += 1 }
        #expect(counts["2011"] == 2880)
        #expect(counts["2051"] == 144)
        #expect(counts["2061"] == 24)
        #expect(counts["2031"] == 1)
        #expect(counts["2041"] == 1)
        #expect(counts["2081"] == 1)
        #expect(counts["2021"] == 2880)
        #expect(counts["3020"] == 24)  // at boot, then every hour until the end
        let (_, plain) = try Run.packets(template: Run.water, duration: "2h")
        #expect(!plain.contains { $0.cn == "2021" })  // facility states only when asked for
    }

    @Test("water: the hour is the flow-weighted sum of its 10-minute records; the day the sum of its hours")
    func waterHierarchy() throws {
        let (_, packets) = try Run.packets(template: Run.water)
        let minutes = packets.filter { $0.cn == "2051" }
        let hours = packets.filter { $0.cn == "2061" }
        let day = try #require(packets.first { $0.cn == "2031" })
        #expect(hours.count == 24)
        for hour in hours {
            let begin = try #require(hour.dataTime)
            let prefix = String(begin.prefix(10))
            let parts = minutes.filter { $0.dataTime!.hasPrefix(prefix) }
            #expect(parts.count == 6)
            // D_h = Σ D_m (m³), G_h = Σ G_m (kg)
            let d = parts.reduce(0) { $0 + $1.number("w00000-Cou")! }
            let g = parts.reduce(0) { $0 + $1.number("w01018-Cou")! }
            #expect(abs(hour.number("w00000-Cou")! - d) <= Self.tolerance(decimals: 3, terms: 7))
            #expect(abs(hour.number("w01018-Cou")! - g) <= Self.tolerance(decimals: 3, terms: 7))
            // Q_h = D_h / 3600 s, in L/s
            #expect(abs(hour.number("w00000-Avg")! - hour.number("w00000-Cou")! / 3600 * 1000) <= 0.01)
            // C = G/D·10³ (mg/L), flow-weighted
            let weighted = hour.number("w01018-Cou")! / hour.number("w00000-Cou")! * 1000
            #expect(abs(hour.number("w01018-Avg")! - weighted) <= 0.05 + weighted * 0.002)
            // Extremes of the parts; pH arithmetic mean of equal parts.
            #expect(hour.number("w00000-Min") == parts.map { $0.number("w00000-Min")! }.min())
            #expect(hour.number("w00000-Max") == parts.map { $0.number("w00000-Max")! }.max())
            let ph = parts.reduce(0) { $0 + $1.number("w01001-Avg")! } / 6
            // Rounding: the hour's (≤ 0.005) plus the mean of six rounded windows (≤ 0.005).
            #expect(abs(hour.number("w01001-Avg")! - ph) <= 0.0101)
            #expect(hour.text("w01018-Flag") == "N")
        }
        let dayD = hours.reduce(0) { $0 + $1.number("w00000-Cou")! }
        #expect(abs(day.number("w00000-Cou")! - dayD) <= Self.tolerance(decimals: 3, terms: 25))
        let dayG = hours.reduce(0) { $0 + $1.number("w01018-Cou")! }
        #expect(abs(day.number("w01018-Cou")! - dayG) <= Self.tolerance(decimals: 3, terms: 25))
        #expect(day.number("w00000-Max") == hours.map { $0.number("w00000-Max")! }.max())
        #expect(day.number("w00000-Min") == hours.map { $0.number("w00000-Min")! }.min())
        // The day runs 24 h: SB1-RT = 24.
        #expect(packets.first { $0.cn == "2041" }?.number("SB1-RT") == 24)
    }

    @Test("water: a 10-minute flow total is Q·T·10⁻³ and the load G = D·C·10⁻³ while the analyser holds")
    func waterWindow() throws {
        let (_, packets) = try Run.packets(template: Run.water, duration: "2h")
        for m in packets where m.cn == "2051" {
            let q = m.number("w00000-Avg")!, d = m.number("w00000-Cou")!
            #expect(abs(d - q * 600 * 1e-3) <= 0.006, "\(m.segment.cpText)")
            // COD is measured hourly, so within a 10-minute window it is constant.
            let c = m.number("w01018-Avg")!
            #expect(m.number("w01018-Min") == c && m.number("w01018-Max") == c)
            #expect(abs(m.number("w01018-Cou")! - d * c * 1e-3) <= 0.002, "\(m.segment.cpText)")
        }
    }

    @Test("water analysers hold their value and carry SampleTime on the hour")
    func sampleTime() throws {
        let (_, packets) = try Run.packets(template: Run.water, duration: "3h")
        let rt = packets.filter { $0.cn == "2011" }
        for p in rt {
            let sampleTime = try #require(p.text("w01018-SampleTime"))
            #expect(sampleTime.hasSuffix("0000"), "measured on the hour: \(sampleTime)")
            #expect(sampleTime <= p.dataTime!)
            #expect(p.text("w00000-SampleTime") == nil)
        }
        let firstHour = rt.filter { $0.dataTime!.hasPrefix("2026113000") }
        #expect(Set(firstHour.map { $0.text("w01018-Rtd")! }).count == 1)
    }

    @Test("gas: Zs = C·(21−O2ref)/(21−O2) in real time, and within 2 % of the formula on averages")
    func gasZs() throws {
        let (_, packets) = try Run.packets(template: Run.gas, duration: "3h")
        for p in packets where p.cn == "2011" {
            let c = p.number("a21026-Rtd")!, o2 = p.number("a19001-Rtd")!
            let zs = try #require(p.number("a21026-ZsRtd"))
            // The logger converts the unrounded values: allow the rounding of C (0.005) and O2 (0.05).
            let expected = c * (21 - 6) / (21 - o2)
            #expect(abs(zs - expected) <= 0.01 + expected * 0.05 / (21 - o2), "\(p.segment.cpText)")
        }
        for p in packets where p.cn == "2051" || p.cn == "2061" {
            let avg = p.number("a21026-Avg")!, o2 = p.number("a19001-Avg")!
            let zs = try #require(p.number("a21026-ZsAvg"))
            #expect(abs(zs - avg * 15 / (21 - o2)) <= zs * 0.02, "\(p.segment.cpText)")
            #expect(p.number("a21026-ZsMin")! <= zs && zs <= p.number("a21026-ZsMax")!)
        }
    }

    @Test("gas: the hour mean is the mean of its minute means, loads add up, flow Cou = Q·t")
    func gasHierarchy() throws {
        let (_, packets) = try Run.packets(template: Run.gas, duration: "1d")
        let minutes = packets.filter { $0.cn == "2051" }
        let hours = packets.filter { $0.cn == "2061" }
        #expect(hours.count == 24)
        for hour in hours {
            let prefix = String(hour.dataTime!.prefix(10))
            let parts = minutes.filter { $0.dataTime!.hasPrefix(prefix) }
            #expect(parts.count == 6)
            let mean = parts.reduce(0) { $0 + $1.number("a21026-Avg")! } / 6
            // Rounding: the hour's (≤ 0.005) plus the mean of six rounded windows (≤ 0.005).
            #expect(abs(hour.number("a21026-Avg")! - mean) <= 0.0101)
            let load = parts.reduce(0) { $0 + $1.number("a21026-Cou")! }
            #expect(abs(hour.number("a21026-Cou")! - load) <= Self.tolerance(decimals: 3, terms: 7))
            let flow = hour.number("a00000-Cou")!
            #expect(abs(flow - hour.number("a00000-Avg")! * 3600) <= flow * 0.001 + 180)
            // Emission G = C·Q·t·10⁻⁶ kg (mg/m³ × m³).
            #expect(abs(hour.number("a21026-Cou")! - hour.number("a21026-Avg")! * flow * 1e-6) <= hour.number("a21026-Cou")! * 0.05)
            #expect(hour.text("a21026-Flag") == "N")
        }
        let day = try #require(packets.first { $0.cn == "2031" })
        let mean = hours.reduce(0) { $0 + $1.number("a21026-Avg")! } / 24
        #expect(abs(day.number("a21026-Avg")! - mean) <= 0.0101)
    }

    @Test("flag roll-up: water any abnormal → abnormal; gas needs 45 valid minutes per hour, 20 valid hours per day")
    func flagRollUp() {
        var water = Accumulator()
        for _ in 0..<119 { water.add(value: 1, valid: true, flag: UInt8(ascii: "N"), min: 1, max: 1) }
        #expect(water.waterFlag == UInt8(ascii: "N"))
        water.add(value: 1, valid: false, flag: UInt8(ascii: "T"), min: 1, max: 1)
        #expect(water.waterFlag == UInt8(ascii: "T"))
        var hour = Accumulator()
        for i in 0..<60 { hour.add(value: 1, valid: i < 45, flag: UInt8(ascii: i < 45 ? "N" : "D"), min: 1, max: 1) }
        #expect(hour.gasFlag(needed: 45) == UInt8(ascii: "N"))
        var short = Accumulator()
        for i in 0..<60 { short.add(value: 1, valid: i < 44, flag: UInt8(ascii: i < 44 ? "N" : "C"), min: 1, max: 1) }
        #expect(short.gasFlag(needed: 45) == UInt8(ascii: "D"))
        #expect(short.mean == 1)
    }

    @Test("flag counts of every letter (P and unknown letters in the small second vector) survive merge; the accumulator stays 128 bytes")
    func flagCountsAndSize() {
        let letters = Array("NFMSDCTBPXZ".utf8)
        var a = Accumulator(), b = Accumulator()
        for (n, letter) in letters.enumerated() {
            for _ in 0...n { a.add(value: 1, valid: letter == UInt8(ascii: "N"), flag: letter, min: 1, max: 1) }
            b.add(value: 2, valid: false, flag: letter, min: 2, max: 2)
        }
        for (n, letter) in letters.enumerated().dropLast(2) { #expect(a.count(of: letter) == n + 1, "\(UnicodeScalar(letter))") }
        // Letters outside the table share one slot.
        #expect(a.count(of: UInt8(ascii: "X")) == 10 + 11)
        #expect(a.dominantAbnormal == UInt8(ascii: "P"))
        a.merge(b)
        #expect(a.count(of: UInt8(ascii: "P")) == 10)
        #expect(a.count(of: UInt8(ascii: "N")) == 2)
        #expect(a.count(of: UInt8(ascii: "Z")) == 21 + 2)
        #expect(a.count == Int32((1...11).reduce(0, +) + 11))
        #expect(a.valid == 1)
        #expect(MemoryLayout<Accumulator>.stride == 128)
    }

    @Test("over-range readings are clamped to the range and flagged T, and the window is flagged T")
    func overRange() throws {
        var t = Run.water
        t.factors[0].baseline = 800  // range max 500
        t.factors[0].stopped = 800
        let (_, packets) = try Run.packets(template: t, duration: "30m")
        let rt = packets.first { $0.cn == "2011" }!
        #expect(rt.text("w01018-Flag") == "T")
        #expect(rt.number("w01018-Rtd") == 500)
        #expect(packets.first { $0.cn == "2051" }?.text("w01018-Flag") == "T")
    }
}

@Suite("Appendix D validity counts")
struct ValidityTests {
    @Test("a flue-gas hour or day with too few valid values is flagged D, not passed as normal")
    func partialPeriods() throws {
        let template = try UnitTemplate.load("thermal-power")
        let (_, packets) = try Run.packets(template: template, start: "2026-01-01T23:40:00", duration: "30m")
        let hour = try #require(packets.first { $0.cn == "2061" })
        #expect(hour.dataTime == "20260101230000")
        #expect(hour.text("a21026-Flag") == "D")  // 20 minutes of data: fewer than 45 valid minute means
        let day = try #require(packets.first { $0.cn == "2031" })
        #expect(day.text("a21026-Flag") == "D")   // one (invalid) hour: fewer than 20 valid hour means
    }
}
