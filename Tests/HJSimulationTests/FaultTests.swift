import Foundation
import HJ212
import Testing
@testable import HJSimulation

/// Protocol faults change the traffic as described, checked by decoding with the codec.
@Suite("Protocol faults")
struct FaultTests {
    static let expectedRule: [String: String] = [
        "crc-mismatch": "frame.crc-mismatch", "crc-modbus": "frame.crc-variant-modbus",
        "crc-modbus-swapped": "frame.crc-variant-modbus-swapped", "crc-lowercase": "frame.crc-lowercase",
        "length-wrong": "frame.length-mismatch", "no-crlf": "frame.trailer-missing", "malformed-mn": "segment.mn-format",
        "version-2005": "dialect.2005",
    ]

    /// One hour of the test water unit through an injector; the frames decoded and linted.
    static func run(_ spec: String) throws -> (reports: [FrameReport], records: [FaultRecord], clean: Int) {
        let t0 = SimClock.parseStart("2026-11-30")!
        var g = try FleetGenerator(template: Run.water, identity: LoggerIdentity(mn: "010000A8900016F000169DC0", pw: "123456"), seed: 4, start: t0)
        var injector = FaultInjector(specs: try FaultSpec.parseList(spec), seed: 4, mn: "010000A8900016F000169DC0")
        var bytes: [UInt8] = []
        var records: [FaultRecord] = []
        var clean = 0
        g.run(until: t0 + 3_600_000) { _, p in
            clean += 1
            let (frames, r) = injector.frames(for: p, mn: "010000A8900016F000169DC0")
            records += r
            for f in frames { bytes += f }
        }
        let events = FrameDecoder.events(in: bytes)
        let linter = try Linter()
        var reports: [FrameReport] = []
        for case .frame(let f) in events { reports.append(linter.check(f, index: reports.count)) }
        return (reports, records, clean)
    }

    @Test("each frame fault shows up as its rule on every affected packet, and in the ground truth", arguments: Array(expectedRule.keys).sorted())
    func frameFaults(_ id: String) throws {
        let (reports, records, total) = try Self.run(id)
        #expect(reports.count == total)
        let rule = Self.expectedRule[id]!
        // A CRC of digits only has no case: lower case shows (and is injected and recorded) only
        // where it has a letter; every other fault on every packet (rate 100 %).
        let affected = id == "crc-lowercase" ? reports.filter { $0.crc.computed.contains { $0.isLetter } } : reports
        #expect(records.count == affected.count)
        #expect(!affected.isEmpty)
        #expect(affected.allSatisfy { $0.diagnostics.contains { $0.rule == rule } }, "\(id): \(affected.first?.diagnostics.map(\.rule) ?? [])")
        #expect(Set(records.map(\.qn)) == Set(affected.compactMap { $0.segment.qn }))
    }

    @Test("no faults, no records, byte-identical traffic")
    func none() throws {
        let (reports, records, total) = try Self.run("")
        #expect(records.isEmpty)
        #expect(reports.count == total)
        #expect(reports.allSatisfy { $0.diagnostics.isEmpty })
    }

    @Test("records can go missing or come twice; a rate and a window limit the injection")
    func recordFaults() throws {
        let missing = try Self.run("missing-record")
        #expect(!missing.reports.contains { ["2051", "2061"].contains($0.segment.cn ?? "") })
        #expect(missing.records.count == 7)  // six 2051 and one 2061 in the hour
        let twice = try Self.run("duplicate-record")
        #expect(twice.reports.filter { $0.segment.cn == "2051" }.count == 12)
        let some = try Self.run("wrong-pw%50")
        #expect(some.records.count > 10 && some.records.count < some.clean - 10)
        #expect(some.reports.filter { $0.segment.pw == "000000" }.count == some.records.count)
        let window = try Self.run("crc-lowercase@2026-11-30T00:10/10m")
        #expect(!window.records.isEmpty)
        let from = SimClock.parseStart("2026-11-30T00:10")!
        #expect(window.records.allSatisfy { $0.time >= from && $0.time < from + 600_000 })
    }

    @Test("a split record goes missing whole or comes twice whole (all its packets, then all again), with one truth line", arguments: ["missing-record%50", "duplicate-record%50"])
    func splitRecordFaults(_ spec: String) throws {
        let t0 = SimClock.parseStart("2026-11-30")!
        let mn = "010000A8900016F000169DC0"
        var g = try FleetGenerator(template: try UnitTemplate.load("msw-incinerator"), identity: LoggerIdentity(mn: mn, pw: "123456"), seed: 4, start: t0)
        var injector = FaultInjector(specs: try FaultSpec.parseList(spec), seed: 4, mn: mn)
        var wire: [String] = []
        var records: [FaultRecord] = []
        var groups: [[String]] = []     // the QNs of each split record's packets, in order
        g.run(until: t0 + 3 * 3_600_000) { _, p in
            if let pno = p.segment.pno, p.segment.pnum ?? 1 > 1 {
                if pno == 1 { groups.append([]) }
                groups[groups.count - 1].append(p.segment.qn ?? "?")
            }
            let (frames, r) = injector.frames(for: p, mn: mn)
            records += r
            for f in frames { for case .frame(let raw) in FrameDecoder.events(in: f) { wire.append(SegmentParser.parse(raw.segmentBytes).segment.qn ?? "?") } }
        }
        #expect(groups.count >= 6, "split records in 3 h: \(groups.count)")
        let missing = spec.hasPrefix("missing")
        var affected = 0
        for parts in groups {
            let counts = parts.map { qn in wire.filter { $0 == qn }.count }
            let truth = records.filter { r in parts.contains(r.qn) }
            if missing {
                #expect(counts.allSatisfy { $0 == 0 } || counts.allSatisfy { $0 == 1 }, "\(parts): \(counts)")
                if counts.first == 0 {
                    affected += 1
                    #expect(truth.count == 1 && truth.first?.qn == parts.first, "one truth line, naming the first packet: \(truth)")
                } else {
                    #expect(truth.isEmpty)
                }
            } else {
                #expect(counts.allSatisfy { $0 == 1 } || counts.allSatisfy { $0 == 2 }, "\(parts): \(counts)")
                if counts.first == 2 {
                    affected += 1
                    #expect(truth.count == 1 && truth.first?.qn == parts.first, "one truth line, naming the first packet: \(truth)")
                    // The whole record, then the whole record again.
                    if let first = wire.firstIndex(of: parts[0]) {
                        #expect(Array(wire[first..<min(wire.count, first + 2 * parts.count)]) == parts + parts, "\(wire[first...].prefix(2 * parts.count))")
                    }
                } else {
                    #expect(truth.isEmpty)
                }
            }
        }
        #expect(affected > 0 && affected < groups.count, "\(affected) of \(groups.count)")
    }

    @Test("a fast clock shifts QN and DataTime; inflated Cou no longer adds up to the minute records")
    func loggerFaults() throws {
        let clean = try Self.run("")
        let skewed = try Self.run("clock-skew")
        let a = try #require(clean.reports.first { $0.segment.cn == "2011" }), b = try #require(skewed.reports.first { $0.segment.cn == "2011" })
        let ta = HJTime(a.segment.cpValue("DataTime")!)!, tb = HJTime(b.segment.cpValue("DataTime")!)!
        #expect(tb.wallMilliseconds - ta.wallMilliseconds == 420_000)
        let cou = try Self.run("inconsistent-cou")
        let hour = try #require(cou.reports.first { $0.segment.cn == "2061" })
        let parts = cou.reports.filter { $0.segment.cn == "2051" }.compactMap { $0.segment.cpValue("w00000-Cou").flatMap(Double.init) }.reduce(0, +)
        let declared = try #require(hour.segment.cpValue("w00000-Cou").flatMap(Double.init))
        #expect(abs(declared - parts * 1.3) < 0.05 && abs(declared - parts) > 1)
        // Misaligned DataTime: every minute and hour record is flagged by the linter, nothing else.
        let misaligned = try Self.run("misaligned-datatime")
        let records = misaligned.reports.filter { ["2051", "2061"].contains($0.segment.cn ?? "") }
        #expect(records.count == 7 && misaligned.records.count == 7)
        #expect(records.allSatisfy { $0.diagnostics.contains { $0.rule == "command.datatime-alignment" } })
        #expect(misaligned.reports.filter { $0.segment.cn == "2011" }.allSatisfy { $0.diagnostics.isEmpty })
    }

    @Test("unknown faults and malformed specs are rejected with the reason")
    func badSpecs() {
        #expect(throws: ProfileError.self) { try FaultSpec.parseList("crc-bogus") }
        #expect(throws: ProfileError.self) { try FaultSpec.parseList("no-crlf%0") }
        #expect(throws: ProfileError.self) { try FaultSpec.parseList("no-crlf@tomorrow") }
    }
}

/// Instrument faults change the readings before aggregation, checked on the decoded packets.
@Suite("Instrument faults")
struct InstrumentFaultTests {
    static func run(_ spec: String, duration: String = "1h") throws -> (packets: [Decoded], records: [FaultRecord]) {
        var options = SimulationOptions()
        options.faults = try FaultSpec.parseList(spec)
        let t0 = SimClock.parseStart("2026-11-30")!
        var g = try FleetGenerator(template: Run.water, identity: LoggerIdentity(mn: "010000A8900016F000169DC0", pw: "123456"), seed: 4, start: t0, options: options)
        var bytes: [UInt8] = []
        var records: [FaultRecord] = []
        g.run(until: t0 + SimClock.parseDuration(duration)!, faults: { _, r in records.append(r) }) { _, p in bytes += FrameEncoder.frame(p.segment) }
        var d = FrameDecoder()
        d.feed(bytes)
        var out: [Decoded] = []
        while case .frame(let f)? = d.next() {
            let s = SegmentParser.parse(f.segmentBytes).segment
            out.append(Decoded(cn: s.cn ?? "", st: s.st ?? "", segment: s))
        }
        return (out, records)
    }

    @Test("flatline freezes a factor: one value in real time, Min = Max in the hour")
    func flatline() throws {
        let (packets, records) = try Self.run("flatline:w00000")
        let values = Set(packets.filter { $0.cn == "2011" }.compactMap { $0.text("w00000-Rtd") })
        #expect(values.count == 1)
        let hour = try #require(packets.first { $0.cn == "2061" })
        #expect(hour.number("w00000-Min") == hour.number("w00000-Max"))
        #expect(records.count == 1 && records[0].factor == "w00000" && records[0].layer == "instrument")
        // Other factors untouched.
        #expect(Set(packets.filter { $0.cn == "2011" }.compactMap { $0.text("w01001-Rtd") }).count > 10)
    }

    @Test("flags: calibration in a window marks real-time data C there and the windows it touches C")
    func calibration() throws {
        let (packets, records) = try Self.run("calibration:w01001@2026-11-30T00:20/10m")
        for p in packets where p.cn == "2011" {
            let t = p.dataTime!
            let inside = t >= "20261130002000" && t < "20261130003000"
            #expect(p.text("w01001-Flag") == (inside ? "C" : "N"), "\(t)")
        }
        let windows = packets.filter { $0.cn == "2051" }
        #expect(windows.first { $0.dataTime == "20261130002000" }?.text("w01001-Flag") == "C")
        #expect(windows.first { $0.dataTime == "20261130001000" }?.text("w01001-Flag") == "N")
        #expect(packets.first { $0.cn == "2061" }?.text("w01001-Flag") == "C")  // water: any abnormal value
        #expect(records.count == 1)
    }

    @Test("under-limit holds values just under the emission limit; over-range flags T at the range")
    func values() throws {
        let (held, _) = try Self.run("under-limit:w01018", duration: "3h")
        for p in held where p.cn == "2011" {
            let v = p.number("w01018-Rtd")!
            #expect(v >= 95.9 && v <= 98.1, "\(v)")  // limit 100
        }
        let (over, _) = try Self.run("over-range:w00000", duration: "30m")
        #expect(over.filter { $0.cn == "2011" }.allSatisfy { $0.text("w00000-Flag") == "T" && $0.number("w00000-Rtd") == 200 })
    }

    @Test("a fault on a factor no logger has is refused; a protocol fault takes no factor")
    func validation() {
        #expect(throws: ProfileError.self) { try FaultSpec.parseList("crc-mismatch:w01018") }
        #expect((try? FaultSpec.parseList("flatline:w01018"))?.first?.layer == .instrument)
    }
}
