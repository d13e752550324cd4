import Foundation
import HJ212
import Synchronization
import Testing
@testable import HJSimulation

/// Ground truth equals the wire (issue 11 item 8, deliver 5): for every pair of catalogue faults
/// that `generate` can inject, the output is decoded and each truth record is checked against the
/// frame that carries its QN; every frame that differs from the fault-free run, and every
/// fault-free frame that is not on the wire, has a truth record.
///
/// Cost: two loggers (an MSW incinerator, whose long records are split, and a chemical plant with
/// cyclic analysers) for 65 virtual minutes. Protocol faults never change what a logger generates,
/// so their combinations are framed over one stored generation (`FaultedGeneration.replay`); only
/// pairs of two value faults generate again.
enum TruthBench {
    static let start = SimClock.parseStart("2026-11-30T00:00")!
    static let end = start + 65 * 60_000
    static let seed: UInt64 = 3
    static let units: [(template: String, mn: String)] = [("msw-incinerator", "010000A8900016F000169DC1"), ("industrial-wastewater", "010000A8900016F000169DC2")]
    static let mns = units.map(\.mn)
    static let definitions = try! FaultSpec.definitions()
    static let generable = definitions.filter { $0.layer != .transport && $0.layer != .reading }
    static let templates = units.map { try! UnitTemplate.load($0.template) }

    /// The factor a fault that needs one takes here.
    static let requiredFactor: [String: String] = ["missing-factor": "a21026", "standard-check-fail": "w01018", "parameter-tampering": "w01018"]

    static func spec(_ id: String, limit: Int? = nil) -> FaultSpec {
        let d = definitions.first { $0.id.rawValue == id }!
        return try! FaultSpec.make(id: id, factor: d.factor == "required" ? requiredFactor[id] : nil, parameters: [:], limit: limit,
                                   definitions: definitions, source: "test")
    }

    struct Generated: Sendable {
        var packets: [(unit: Int, packet: GeneratedPacket)]
        var records: [FaultRecord]
        /// The fault-free frames of these packets: logger, generation time, CN, bytes, segment.
        var reference: [ReferenceFrame] = []
    }

    static func generate(_ faults: [FaultSpec], minutes: Int64 = 65) -> Generated {
        var options = SimulationOptions()
        options.faults = faults
        options.rtdIntervalSeconds = 300
        var sims = [UnitSimulator]()
        for (i, u) in units.enumerated() {
            sims.append(try! UnitSimulator(template: templates[i], identity: LoggerIdentity(mn: u.mn, pw: "123456"), seed: seed, start: start, options: options))
        }
        var generator = FleetGenerator(simulators: sims)
        var out = Generated(packets: [], records: [])
        generator.run(until: start + minutes * 60_000, faults: { _, r in out.records.append(r) }) { unit, packet in out.packets.append((unit, packet)) }
        _ = FaultedGeneration.replay(out.packets, mns: mns, faults: [], seed: seed, truth: { _ in }) { unit, p, frames in
            for f in frames { out.reference.append(ReferenceFrame(unit: unit, time: p.time, cn: p.cn, bytes: f, segment: p.segment)) }
        }
        return out
    }

    static let clean = generate([])
    /// Each value fault alone (active the whole run), generated once.
    static let valueAlone: [String: Generated] = {
        var out: [String: Generated] = [:]
        for d in generable where FaultDefinition.valueLayers.contains(d.layer) { out[d.id.rawValue] = generate([spec(d.id.rawValue)]) }
        return out
    }()

    /// The pairs: every two distinct generable faults; protocol pairs in both orders (the order
    /// of specs decides which is applied first).
    static var pairs: [[String]] {
        let ids = generable.map(\.id.rawValue)
        var out: [[String]] = []
        for i in ids.indices {
            for j in ids.indices where i != j {
                let a = generable[i], b = generable[j]
                let bothProtocol = a.layer == .protocol && b.layer == .protocol
                if i < j || bothProtocol { out.append([ids[i], ids[j]]) }
            }
        }
        return out
    }
}

/// A frame of the fault-free run.
struct ReferenceFrame: Sendable {
    var unit: Int
    var time: Int64
    var cn: String
    var bytes: [UInt8]
    var segment: DataSegment
}

/// One decoded frame of the output.
struct WireFrame {
    var index: Int
    var raw: RawFrame
    var segment: DataSegment
    var qn: String { segment.qn ?? "" }
    var mn: String { segment.mn ?? "" }
    var cn: String { segment.cn ?? "" }
    var crcText: String { String(decoding: raw.crcBytes, as: UTF8.self) }
}

enum Wire {
    static func decode(_ bytes: [UInt8]) -> [WireFrame] {
        let events = FrameDecoder.events(in: bytes)
        var out: [WireFrame] = []
        for case .frame(let f) in events {
            out.append(WireFrame(index: out.count, raw: f, segment: SegmentParser.parse(f.segmentBytes).segment))
        }
        return out
    }

    /// Whether a frame came from this logger (malformed-mn keeps the last 14 characters).
    static func from(_ f: WireFrame, _ mn: String) -> Bool { f.mn == mn || f.mn == String(mn.suffix(14)) }

    static func time(_ text: String?) -> Int64? { text.flatMap { HJTime($0, allowMilliseconds: true)?.wallMilliseconds } }
}

/// The checks of one faulted output against its fault-free reference.
struct TruthCheck {
    var frames: [WireFrame]
    var truth: [FaultRecord]
    var reference: [ReferenceFrame]
    var mns: [String]
    var specs: [FaultSpec]
    var problems: [String] = []

    init(output: [UInt8], truth: [FaultRecord], reference: [ReferenceFrame], mns: [String] = TruthBench.mns, specs: [FaultSpec]) {
        frames = Wire.decode(output)
        self.truth = truth
        self.reference = reference
        self.mns = mns
        self.specs = specs
    }

    /// A parameter of the fault as given for this logger.
    func parameter(_ id: String, _ name: String, mn: String, default value: Double) -> Double {
        specs.first { $0.id.rawValue == id && $0.applies(to: mn) }?.parameter(name, default: value) ?? value
    }

    /// The reference frame of a record with this CN and DataTime (the period start).
    /// (With its part number when the record is split.)
    func referenceRecord(unit: Int, cn: String, dataTime: Int64, pno: Int?) -> DataSegment? {
        for r in reference where r.unit == unit && r.cn == cn {
            let s = r.segment
            if Wire.time(s.cpValue("DataTime")) == dataTime || (pno ?? 1) > 1, s.pno == pno {
                // A later part carries no DataTime: find it by the part before.
                if (pno ?? 1) > 1 {
                    if let first = reference.first(where: { $0.unit == unit && $0.cn == cn && $0.time == r.time && $0.segment.pno == 1 }),
                       Wire.time(first.segment.cpValue("DataTime")) == dataTime { return s }
                    continue
                }
                return s
            }
        }
        return nil
    }

    /// The DataTime of the first part of the split record a later part belongs to.
    func firstPartDataTime(_ f: WireFrame) -> String? {
        guard let pno = f.segment.pno, pno > 1 else { return nil }
        return frames[..<f.index].last { $0.mn == f.mn && $0.cn == f.cn && $0.segment.pno == 1 }?.segment.cpValue("DataTime")
    }

    /// "MN|QN" of every packet of a split record → the packets of its record, in order (a
    /// record's faults `missing-record` and `duplicate-record` act on all of them and their truth
    /// names the first).
    var partsOfRecord: [String: [String]] {
        var out: [String: [String]] = [:]
        var open: [Int: [String]] = [:]
        for r in reference {
            guard let pno = r.segment.pno, (r.segment.pnum ?? 1) > 1, let qn = r.segment.qn else { continue }
            if pno == 1 { open[r.unit] = [] }
            open[r.unit, default: []].append(qn)
            if pno == r.segment.pnum, let parts = open.removeValue(forKey: r.unit) {
                for q in parts { out["\(mns[r.unit])|\(q)"] = parts }
            }
        }
        return out
    }

    mutating func run() {
        let parts = partsOfRecord
        var truthQNs = Set(truth.filter { !$0.qn.isEmpty }.map { "\($0.mn)|\($0.qn)" })
        // A record fault on a split record covers all its packets.
        for r in truth where ["missing-record", "duplicate-record"].contains(r.fault) {
            for q in parts["\(r.mn)|\(r.qn)"] ?? [] { truthQNs.insert("\(r.mn)|\(q)") }
        }
        for r in truth where !r.qn.isEmpty {
            let unit = mns.firstIndex(of: r.mn)!
            let mine = frames.filter { Wire.from($0, r.mn) }
            let carrying = mine.filter { $0.qn == r.qn }
            func expect(_ ok: Bool, _ why: String) { if !ok { problems.append("\(r.fault) QN=\(r.qn) CN=\(r.cn): \(why)") } }
            if r.fault == "missing-record" {
                expect(!carrying.contains { $0.cn == r.cn }, "a frame with this QN and CN is on the wire")
                // A split record is missing whole: none of its packets is on the wire.
                for q in (parts["\(r.mn)|\(r.qn)"] ?? []) where q != r.qn {
                    expect(!mine.contains { $0.qn == q && $0.cn == r.cn }, "packet QN=\(q) of the record is on the wire")
                }
                continue
            }
            expect(!carrying.isEmpty, "no frame on the wire carries this QN")
            let shown: Bool
            switch r.fault {
            case "crc-mismatch":
                shown = carrying.contains { CRC.parseHex($0.raw.crcBytes) != CRC.hj212($0.raw.segmentBytes) }
            case "crc-modbus":
                shown = carrying.contains { $0.crcText == CRC.hex(CRC.modbus($0.raw.segmentBytes)) && CRC.modbus($0.raw.segmentBytes) != CRC.hj212($0.raw.segmentBytes) }
            case "crc-modbus-swapped":
                shown = carrying.contains { let m = CRC.modbus($0.raw.segmentBytes); return $0.crcText == CRC.hex((m << 8) | (m >> 8)) }
            case "crc-lowercase":
                shown = carrying.contains { $0.crcText == CRC.hex(CRC.hj212($0.raw.segmentBytes)).lowercased() && $0.crcText != $0.crcText.uppercased() }
            case "length-wrong": shown = carrying.contains { $0.raw.declaredLength != $0.raw.segment.count }
            case "no-crlf": shown = carrying.contains { $0.raw.trailer != .crlf }
            case "oversized-record": shown = carrying.contains { $0.raw.segment.count > 1024 && $0.segment.header("PNUM") == nil }
            case "wrong-pno": shown = carrying.contains { ($0.segment.pno ?? 0) > ($0.segment.pnum ?? .max) }
            case "wrong-pw": shown = carrying.contains { $0.segment.pw == "000000" }
            case "malformed-mn": shown = carrying.contains { $0.mn.count == 14 }
            case "version-2005": shown = carrying.contains { ($0.segment.flag?.rawValue ?? 4) >> 2 == 0 }
            case "duplicate-qn":
                shown = carrying.contains { f in f.index > 0 && frames[..<f.index].last { Wire.from($0, r.mn) }?.qn == r.qn }
            case "duplicate-record":
                // Every packet of the record (one, or all of a split record's) twice.
                // (A record that oversized-record joined is one packet again.)
                let split = carrying.contains { $0.segment.header("PNUM") != nil }
                shown = (split ? parts["\(r.mn)|\(r.qn)"] ?? [r.qn] : [r.qn]).allSatisfy { q in
                    let copies = mine.filter { $0.qn == q && $0.cn == r.cn }
                    return copies.contains { f in copies.filter { $0.raw.bytes == f.raw.bytes }.count >= 2 }
                }
            case "out-of-order":
                shown = carrying.contains { f in
                    guard let dt = Wire.time(f.segment.cpValue("DataTime")) else { return false }
                    return mine.contains { $0.index < f.index && $0.cn == f.cn && (Wire.time($0.segment.cpValue("DataTime")) ?? .min) > dt }
                }
            case "clock-skew", "clock-jump":
                // Both clock faults on one frame add up.
                let clocks = truth.filter { $0.mn == r.mn && $0.qn == r.qn && $0.cn == r.cn && $0.time == r.time }.map(\.fault)
                var shift: Int64 = 0
                if clocks.contains("clock-skew") { shift += 7 * 60_000 }
                if clocks.contains("clock-jump") { shift += Int64(parameter("clock-jump", "minutes", mn: r.mn, default: 60)) * 60_000 }
                shown = carrying.contains { f in
                    guard let q = Wire.time(f.qn) else { return false }
                    return q - r.time >= shift && q - r.time < shift + 1000
                }
            case "misaligned-datatime":
                shown = carrying.contains { (Wire.time($0.segment.cpValue("DataTime")) ?? 0) % 60_000 == 37_000 }
            case "inconsistent-cou", "inconsistent-avg":
                let suffix = r.fault == "inconsistent-cou" ? "-Cou" : "-Avg"
                let k = r.fault == "inconsistent-cou" ? 1.3 : parameter(r.fault, "scale", mn: r.mn, default: 1.3)
                // Undo the time faults on the same frame to find its fault-free record.
                let others = truth.filter { $0.mn == r.mn && $0.qn == r.qn && $0.cn == r.cn }.map(\.fault)
                var shift: Int64 = 0
                if others.contains("clock-skew") { shift += 7 * 60_000 }
                if others.contains("clock-jump") { shift += Int64(parameter("clock-jump", "minutes", mn: r.mn, default: 60)) * 60_000 }
                if others.contains("misaligned-datatime") { shift += 37_000 }
                shown = carrying.contains { f in
                    guard let dt = Wire.time(f.segment.cpValue("DataTime") ?? firstPartDataTime(f)),
                          let ref = referenceRecord(unit: unit, cn: f.cn, dataTime: dt - shift, pno: f.segment.pno) else { return false }
                    var compared = 0
                    for group in f.segment.cp ?? [] {
                        for field in group where field.name.hasSuffix(suffix) {
                            guard let v = Double(field.value), let w = ref.cpValue(field.name).flatMap(Double.init) else { return false }
                            if abs(v - w * k) > max(0.02 * abs(w * k), 0.01) { return false }
                            compared += 1
                        }
                    }
                    return compared > 0
                }
            default:
                shown = false
            }
            expect(shown, "the frame(s) with this QN do not show the fault")
        }
        // Every frame that differs from the fault-free output has a truth record with its QN.
        var pool: [[UInt8]: Int] = [:]
        for r in reference { pool[r.bytes, default: 0] += 1 }
        for f in frames {
            if let n = pool[f.raw.bytes], n > 0 { pool[f.raw.bytes] = n - 1; continue }
            let mn = mns.first { Wire.from(f, $0) } ?? f.mn
            if !truthQNs.contains("\(mn)|\(f.qn)") { problems.append("frame #\(f.index) CN=\(f.cn) QN=\(f.qn) differs from the fault-free run but has no truth record") }
        }
        // Every fault-free frame missing from the output has a truth record for its packet.
        for r in reference {
            guard let n = pool[r.bytes], n > 0 else { continue }
            pool[r.bytes] = n - 1
            let mn = mns[r.unit]
            if !truth.contains(where: { $0.mn == mn && $0.time == r.time && $0.cn == r.cn }) {
                problems.append("the fault-free CN=\(r.cn) frame at \(HJTime(wallMilliseconds: r.time).description) is not on the wire and no truth record says why")
            }
        }
    }
}

@Suite("Ground truth equals the wire")
struct GroundTruthTests {
    /// Frames a generation (replayed through the injectors of `faults`), with the truth.
    static func output(_ g: TruthBench.Generated, faults: [FaultSpec]) -> (bytes: [UInt8], truth: [FaultRecord], reference: [ReferenceFrame]) {
        var bytes: [UInt8] = []
        var truth = g.records
        let reference = g.reference
        let rest = FaultedGeneration.replay(g.packets, mns: TruthBench.mns, faults: faults, seed: TruthBench.seed, truth: { truth.append($0) }) { _, _, frames in
            for f in frames { bytes += f }
        }
        for (_, f) in rest { bytes += f }
        return (bytes, truth, reference)
    }

    @Test("every pair of catalogue faults: each truth record is on the frame with its QN, and no faulty frame lacks one",
          arguments: TruthBench.pairs)
    func pair(_ ids: [String]) {
        let defs = ids.map { id in TruthBench.generable.first { $0.id.rawValue == id }! }
        let value = defs.filter { FaultDefinition.valueLayers.contains($0.layer) }
        let generated: TruthBench.Generated
        var protocolSpecs: [FaultSpec] = []
        // The first of the pair limited to 2 injections, the second to 3 (so that limits interact).
        for (n, d) in defs.enumerated() where d.layer == .protocol { protocolSpecs.append(TruthBench.spec(d.id.rawValue, limit: n == 0 ? 2 : 3)) }
        switch value.count {
        case 0: generated = TruthBench.clean
        case 1: generated = TruthBench.valueAlone[value[0].id.rawValue]!
        // Two value faults: only their activation records to check (no frame changes that a
        // protocol rule judges); a short run is enough.
        default: generated = TruthBench.generate(value.map { TruthBench.spec($0.id.rawValue) }, minutes: 10)
        }
        let (bytes, truth, reference) = Self.output(generated, faults: protocolSpecs)
        // Each fault was injected at least once where it can act.
        for d in defs { #expect(truth.contains { $0.faultID == d.id }, "\(d.id) never injected with \(ids)") }
        // Value faults: records of an activation, naming a factor of the logger, without a QN.
        for r in truth where r.faultLayer.map(FaultDefinition.valueLayers.contains) ?? false {
            let unit = TruthBench.mns.firstIndex(of: r.mn)
            #expect(unit != nil && r.qn.isEmpty && (r.factor.isEmpty || TruthBench.templates[unit!].factors.contains { $0.code == r.factor }), "\(r.json())")
        }
        var check = TruthCheck(output: bytes, truth: truth, reference: reference, specs: protocolSpecs)
        check.run()
        #expect(check.problems.isEmpty, "\(ids): \(check.problems.prefix(5).joined(separator: "; "))")
    }

    @Test("every scenario: generate's truth equals the wire; a scenario of transport faults is refused by generate",
          arguments: Scenario.builtinNames)
    func scenario(_ name: String) throws {
        let scenario = try Scenario.load(name)
        let fleet = try Fleet.load(scenario.fleet ?? "mixed-demo")
        let units = fleet.units.enumerated().map { Scenario.Unit(mn: $1.identity.mn, template: fleet.templates[$1.unit]!, row: $0 + 1, enterprise: $1.enterprise) }
        let mns = units.map(\.mn)
        // The run starts an hour before a clock-time event (22:00), else at midnight; 5 hours.
        let clock = scenario.events.compactMap { e -> Int64? in
            let p = e.start.split(separator: ":")
            guard p.count == 2, !e.start.contains("T"), let h = Int64(p[0]), let m = Int64(p[1]) else { return nil }
            return h * 3_600_000 + m * 60_000
        }.min()
        let start = TruthBench.start + (clock.map { $0 - 3_600_000 } ?? 0), end = start + 5 * 3_600_000
        let definitions = try FaultSpec.definitions()
        let transport = scenario.events.filter { e in definitions.first { $0.id.rawValue == e.fault }?.layer == .transport }
        guard transport.isEmpty else {
            #expect(throws: ProfileError.self) { try scenario.compile(units: units, start: start, end: end, live: false) }
            return
        }
        let specs = try scenario.compile(units: units, start: start, end: end, live: false).specs
        var options = SimulationOptions()
        options.faults = specs
        options.rtdIntervalSeconds = 300
        var generator = try FleetGenerator(fleet: fleet, seed: TruthBench.seed, start: start, options: options)
        var g = TruthBench.Generated(packets: [], records: [])
        generator.run(until: end, faults: { _, r in g.records.append(r) }) { unit, packet in g.packets.append((unit, packet)) }
        _ = FaultedGeneration.replay(g.packets, mns: mns, faults: [], seed: TruthBench.seed, truth: { _ in }) { unit, p, frames in
            for f in frames { g.reference.append(ReferenceFrame(unit: unit, time: p.time, cn: p.cn, bytes: f, segment: p.segment)) }
        }
        var bytes: [UInt8] = []
        var truth = g.records
        let rest = FaultedGeneration.replay(g.packets, mns: mns, faults: specs, seed: TruthBench.seed, truth: { truth.append($0) }) { _, _, frames in
            for f in frames { bytes += f }
        }
        for (_, f) in rest { bytes += f }
        // Every event of the scenario left a truth record.
        for e in scenario.events { #expect(truth.contains { $0.fault == e.fault }, "\(name): \(e.fault) never injected") }
        var check = TruthCheck(output: bytes, truth: truth, reference: g.reference, mns: mns, specs: specs)
        check.run()
        #expect(check.problems.isEmpty, "\(name): \(check.problems.prefix(5).joined(separator: "; "))")
    }
}
