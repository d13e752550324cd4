import Foundation
import HJ212
import Testing
import TestSupport
@testable import HJSimulation

// Issue 18: fault scheduling that scales. `FaultInjector` and `InstrumentFaults` used to look at
// every fault of a scenario for every packet and every sample (events × packets: a scenario of
// 100,000 events took minutes); they now ask a `WindowIndex` for the faults whose window contains
// the time. The results must not change at all: these tests run the scanning code they replaced
// (kept here, and only here, as the reference) side by side with the new code on scenarios of many
// overlapping faults, and compare every frame, every ground-truth record and every reading.

/// The reference: the code of `FaultInjector.frames` and `InstrumentFaults.update`/`apply` before
/// the window index (each spec scanned per packet or sample), verbatim but for the names, and for
/// the active set (a set of binding keys before, a flag per binding now: keys are unique, since a
/// template's factor codes are).
extension FaultInjector {
    mutating func referenceFrames(for packet: GeneratedPacket, mn: String) -> (frames: [[UInt8]], records: [FaultRecord]) {
        var segment = packet.segment
        var crcStyle = FrameEncoder.CRCStyle.standard
        var trailer = true
        var lengthDelta = 0
        var corruptCRC = false
        var copies = 1
        var holdBack = false
        var records: [FaultRecord] = []
        func note(_ n: Int, _ detail: String) {
            injections[n, default: 0] += 1
            records.append(FaultRecord(time: packet.time, mn: mn, fault: specs[n].id.rawValue, cn: packet.cn, qn: segment.qn ?? "", detail: detail))
        }
        let record = ["2051", "2061", "2031"].contains(packet.cn)
        let pnum = segment.pnum, pno = segment.pno
        let isPart = segment.header("PNUM") != nil
        // An oversized record: the parts of a split record joined back into one packet.
        if isPart, let n = specs.indices.first(where: { specs[$0].id.rawValue == "oversized-record" }) {
            if joining != nil || (pno == 1 && fires(n, at: packet.time)) {
                if joining == nil { joining = Reassembler(maxPending: 4) }
                switch joining!.add(segment) {
                case .pending: return ([], [])
                case .complete(var whole):
                    joining = nil
                    whole.setHeader("QN", segment.qn ?? "")
                    segment = whole
                    note(n, "\(pnum ?? 0) packets sent as one of \(segment.serializedBytes().count) bytes, without PNUM/PNO")
                case .whole, .rejected:
                    joining = nil
                }
            }
        }
        let stillPart = segment.header("PNUM") != nil
        // The rest of a split record held back by out-of-order joins it, unchanged.
        if holdingParts && stillPart {
            held.append(FrameEncoder.frame(segmentBytes: packet.bytes.isEmpty ? segment.serializedBytes() : packet.bytes))
            if pno == pnum { holdingParts = false }
            heldLastQN = segment.qn
            return ([], [])
        }
        // (Session 20, in both: missing-record and duplicate-record act on a split record whole.)
        if droppingParts {
            if stillPart && pno != 1 {
                if pno == pnum { droppingParts = false }
                return ([], [])
            }
            droppingParts = false
        }
        if repeatingParts != nil && !(stillPart && pno != 1) { repeatingParts = nil }
        // A record that is not sent carries no other fault: missing-record is decided first, and
        // when it fires nothing else is injected (or counted) on that packet.
        if record && !(stillPart && pno != 1), let n = specs.indices.first(where: { specs[$0].id.rawValue == "missing-record" && fires($0, at: packet.time) }) {
            for r in records { if let m = specs.firstIndex(where: { $0.id.rawValue == r.fault }) { injections[m, default: 1] -= 1 } }
            records = []
            if stillPart, let pnum, pnum > 1 {
                droppingParts = true
                note(n, "record not sent (its \(pnum) packets)")
            } else {
                note(n, "record not sent")
            }
            return ([], records)
        }
        /// Faults decided after the segment is final: the QN (duplicate-qn takes the QN of the frame
        /// sent before) and the CRC (one CRC fault per frame; lower case only where it shows).
        let late: Set<String> = ["duplicate-qn", "crc-mismatch", "crc-modbus", "crc-modbus-swapped", "crc-lowercase", "missing-record"]
        var framing = false
        var outOfOrder: Int?
        for n in specs.indices {
            let spec = specs[n]
            if spec.id.rawValue == "oversized-record" || late.contains(spec.id.rawValue) { continue }
            if ["duplicate-record", "out-of-order"].contains(spec.id.rawValue) && !record { continue }
            if spec.id.rawValue == "duplicate-record" && stillPart && pno != 1 { continue }
            if spec.id.rawValue == "wrong-pno" && !(stillPart && pno == pnum) { continue }
            if spec.id.rawValue == "out-of-order" && (!held.isEmpty || (stillPart && pno != 1)) { continue }
            if (spec.id.rawValue == "inconsistent-cou" || spec.id.rawValue == "inconsistent-avg") && !(packet.cn == "2061" || packet.cn == "2031") { continue }
            if spec.id.rawValue == "inconsistent-cou" && !Self.hasCP(segment, suffix: "-Cou") { continue }
            if spec.id.rawValue == "inconsistent-avg" && !Self.hasCP(segment, suffix: "-Avg") { continue }
            if spec.id.rawValue == "misaligned-datatime" && !(record && segment.cpValue("DataTime").flatMap({ HJTime($0) }) != nil) { continue }
            if spec.id.rawValue == "version-2005" && segment.flag == nil { continue }
            if (spec.id.rawValue == "length-wrong" || spec.id.rawValue == "no-crlf") && framing { continue }
            guard fires(n, at: packet.time) else { continue }
            switch spec.id.rawValue {
            // One framing fault per frame: a wrong length without CR LF leaves no way to find where
            // the frame ends, and the frame would be lost in the next one.
            case "length-wrong": lengthDelta = 1; framing = true; note(n, "declared length + 1")
            case "no-crlf": trailer = false; framing = true; note(n, "no CR LF")
            case "wrong-pw": segment.setHeader("PW", "000000"); note(n, "PW=000000")
            case "malformed-mn": segment.setHeader("MN", String(mn.suffix(14))); note(n, "MN=\(mn.suffix(14))")
            case "version-2005":
                let f = segment.flag!
                segment.setHeader("Flag", String(f.rawValue & 3))
                note(n, "Flag=\(f.rawValue & 3)")
            case "duplicate-record":
                if stillPart, let pnum, pnum > 1 {
                    repeatingParts = []
                    note(n, "record sent twice (its \(pnum) packets, then again)")
                } else {
                    copies = 2
                    note(n, "record sent twice")
                }
            case "out-of-order":
                holdBack = true
                heldCN = packet.cn
                if stillPart && pno != pnum { holdingParts = true }
                note(n, "held back, sent after the next \(packet.cn) record")
                outOfOrder = records.count - 1
            case "wrong-pno":
                let wrong = (pnum ?? 0) + 1
                segment.setHeader("PNO", String(wrong))
                note(n, "PNO=\(wrong) with PNUM=\(pnum ?? 0)")
            case "clock-skew":
                Self.shiftTimes(&segment, by: 7 * 60_000)
                note(n, "QN, DataTime and SampleTime 7 min ahead")
            case "clock-jump":
                let minutes = Int64(spec.parameter("minutes", default: 60))
                Self.shiftTimes(&segment, by: minutes * 60_000)
                note(n, "clock jumped \(minutes >= 0 ? "+" : "")\(minutes) min: QN, DataTime and SampleTime shifted")
            case "misaligned-datatime":
                let dt = segment.cpValue("DataTime").flatMap({ HJTime($0) })!
                Self.setCP(&segment, "DataTime", HJTime(wallMilliseconds: dt.wallMilliseconds + 37_000).text14)
                note(n, "DataTime + 37 s")
            case "inconsistent-cou":
                Self.scaleCP(&segment, suffix: "-Cou", by: 1.3)
                note(n, "Cou x 1.3")
            case "inconsistent-avg":
                let k = spec.parameter("scale", default: 1.3)
                Self.scaleCP(&segment, suffix: "-Avg", by: k)
                note(n, "Avg x \(k)")
            default: break
            }
        }
        if let n = specs.indices.first(where: { specs[$0].id.rawValue == "duplicate-qn" }), !holdBack, let previous = previousQN, previous != segment.qn, fires(n, at: packet.time) {
            segment.setHeader("QN", previous)
            note(n, "QN=\(previous) of the previous packet")
        }
        for n in specs.indices where ["crc-mismatch", "crc-modbus", "crc-modbus-swapped", "crc-lowercase"].contains(specs[n].id.rawValue) {
            if specs[n].id.rawValue == "crc-lowercase" && !CRC.hex(CRC.hj212(segment.serializedBytes())).contains(where: { $0.isLetter }) { continue }
            guard fires(n, at: packet.time) else { continue }
            switch specs[n].id.rawValue {
            case "crc-mismatch": corruptCRC = true; note(n, "CRC digits changed")
            case "crc-modbus": crcStyle = .modbus; note(n, "CRC-16/MODBUS, high byte first")
            case "crc-modbus-swapped": crcStyle = .modbusSwapped; note(n, "CRC-16/MODBUS, low byte first")
            default: crcStyle = .lowercase; note(n, "CRC in lower case")
            }
            break
        }
        // The ground truth names the QN the frame carries.
        let finalQN = segment.qn ?? ""
        for i in records.indices { records[i].qn = finalQN }
        var release: [[UInt8]] = []
        if !held.isEmpty && !holdBack && !holdingParts && (heldCN == nil || (record && packet.cn == heldCN)) {
            release = held
            held = []
            heldCN = nil
            // Out of order only now that a later record went first: its truth goes with it.
            records += heldRecords
            heldRecords = []
        }
        let changed = !records.isEmpty
        var frame = changed ? FrameEncoder.frame(segment, crcStyle: crcStyle, trailer: trailer) : FrameEncoder.frame(segmentBytes: packet.bytes)
        if lengthDelta != 0, frame.count >= 6, let declared = Int(String(decoding: frame[2..<6], as: UTF8.self)) {
            let digits = Array(String(declared + lengthDelta).utf8)
            frame.replaceSubrange(2..<6, with: [UInt8](repeating: 48, count: max(0, 4 - digits.count)) + digits.suffix(4))
        }
        if corruptCRC {
            let i = frame.count - (trailer ? 3 : 1)
            frame[i] = frame[i] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        }
        var frames = Array(repeating: frame, count: copies)
        if repeatingParts != nil && holdBack {
            repeatingParts = nil
            if let i = records.firstIndex(where: { $0.fault == "duplicate-record" }), let m = specs.firstIndex(where: { $0.id.rawValue == "duplicate-record" }) {
                records.remove(at: i)
                if let o = outOfOrder, o > i { outOfOrder = o - 1 }
                injections[m, default: 1] -= 1
            }
        }
        if repeatingParts != nil && stillPart {
            repeatingParts!.append(frame)
            if pno == pnum {
                frames += repeatingParts!
                repeatingParts = nil
            }
        }
        if holdBack {
            held += frames
            heldLastQN = finalQN
            // The frame's other faults are on the wire when it goes; out-of-order only if a later
            // record goes first (a record still held at the end of the run is sent in order).
            if let i = outOfOrder { heldRecords.append(records.remove(at: i)) }
            return ([], records)
        }
        previousQN = release.isEmpty ? finalQN : heldLastQN ?? finalQN
        return (frames + release, records)
    }
}

extension InstrumentFaults {
    mutating func referenceUpdate(_ models: inout [FactorModel], at t: Int64, mn: String) {
        for (n, b) in bindings.enumerated() {
            let spec = specs[b.spec]
            var on = spec.window?.contains(t) ?? true
            let wasOn = isActive[n]
            if on && !wasOn, let limit = spec.limit, activations[b.spec, default: 0] >= limit { on = false }
            if on == wasOn {
                if on && spec.id.rawValue == "furnace-low" { models[b.model].processTarget = spec.parameter("temperature", default: 820) }
                continue
            }
            let code = models[b.model].code
            if on {
                isActive[n] = true
                activations[b.spec, default: 0] += 1
                since[b.key] = t
                records.append(FaultRecord(time: t, mn: mn, fault: spec.id, cn: "", qn: "", detail: spec.describe(from: t), layer: spec.layer, factor: code))
                var set: [String] = []
                for (pol, c, v) in infoEffects(spec, models[b.model], at: t) {
                    info["\(pol)|\(c)"] = v
                    set.append("\(pol)|\(c)")
                    noteChanged(pol, c)
                }
                infoSetBy[b.key] = set
                switch spec.id.rawValue {
                case "missing-factor": hidden.insert(code)
                case "standard-check-fail":
                    failingChecks[code] = spec.parameter("deviation", default: 18)
                    checksNow.append(code)
                case "furnace-low": models[b.model].processTarget = spec.parameter("temperature", default: 820)
                default: break
                }
            } else {
                isActive[n] = false
                frozen[b.key] = nil
                for k in infoSetBy.removeValue(forKey: b.key) ?? [] {
                    info[k] = nil
                    let parts = k.split(separator: "|", maxSplits: 1, omittingEmptySubsequences: false)
                    noteChanged(String(parts[0]), String(parts[1]))
                }
                switch spec.id.rawValue {
                case "missing-factor": hidden.remove(code)
                case "standard-check-fail": failingChecks[code] = nil
                case "furnace-low": models[b.model].processTarget = nil
                default: break
                }
            }
        }
    }

    mutating func referenceApply(_ models: inout [FactorModel], at t: Int64, random: inout SimRandom) {
        for i in models.indices {
            models[i].reading = models[i].trueReading
            models[i].flag = models[i].trueFlag
        }
        for (n, b) in bindings.enumerated() where isActive[n] {
            let spec = specs[b.spec]
            var m = models[b.model]
            switch spec.id.rawValue {
            case "flatline":
                if frozen[b.key] == nil { frozen[b.key] = m.reading }
                m.reading = frozen[b.key]!
            case "under-limit":
                if let limit = m.limit { m.reading = limit * (0.96 + 0.02 * random.unit()) }
            case "drift":
                let start = spec.window?.lowerBound ?? since[b.key] ?? t
                m.reading *= 1 + 0.05 * Double(t - start) / 3_600_000
            case "spike":
                if random.unit() < 0.02 { m.reading *= 4 }
            case "level-shift": m.reading *= spec.parameter("scale", default: 1.5)
            case "negative": m.reading = -abs(m.reading) - 0.1
            case "over-range": m.reading = m.rangeMax; m.flag = UInt8(ascii: "T")
            case "calibration": m.flag = UInt8(ascii: "C")
            case "maintenance": m.flag = UInt8(ascii: "M")
            case "fault": m.flag = UInt8(ascii: "D")
            case "stopped": m.flag = UInt8(ascii: "F")
            case "comm-loss": m.flag = UInt8(ascii: "B")
            case "manual": m.flag = UInt8(ascii: "S")
            case "parameter-tampering":
                m.reading = m.reading * spec.parameter("slope", default: 1) + spec.parameter("intercept")
                let range = spec.parameter("range")
                if range > 0 { m.reading = Swift.min(m.reading, range) }
            case "o2-manipulation": m.reading = Swift.max(0.1, m.reading - spec.parameter("points", default: 3))
            case "flow-bypass": m.reading *= spec.parameter("fraction", default: 0.3)
            default: break
            }
            models[b.model] = m
        }
    }
}

enum ScheduleFixtures {
    static let fleet = try! Fleet.load("mixed-demo")
    static let protocolIDs = ["crc-mismatch", "crc-modbus", "crc-modbus-swapped", "crc-lowercase", "length-wrong", "no-crlf",
                              "oversized-record", "wrong-pno", "wrong-pw", "malformed-mn", "version-2005", "duplicate-qn",
                              "missing-record", "duplicate-record", "out-of-order", "clock-skew", "clock-jump",
                              "misaligned-datatime", "inconsistent-cou", "inconsistent-avg"]
    static let valueIDs = ["flatline", "under-limit", "drift", "spike", "level-shift", "negative", "over-range", "calibration",
                           "maintenance", "fault", "stopped", "comm-loss", "manual", "furnace-low", "flow-bypass", "o2-manipulation",
                           "standard-check-fail", "parameter-tampering", "missing-factor"]

    /// `count` faults with random, heavily overlapping windows over `hours` from `t0` (some
    /// without a window, some empty, some open-ended), random rates and counts, on random units
    /// (or on all), of the given IDs.
    static func specs(count: Int, ids: [String], mns: [String], templates: [UnitTemplate], t0: Int64, hours: Int64, seed: UInt64) throws -> [FaultSpec] {
        var rng = SimRandom(seed: seed, label: "schedule-test")
        let definitions = try FaultSpec.definitions()
        var out: [FaultSpec] = []
        func pick(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
        while out.count < count {
            let id = ids[pick(ids.count)]
            let unit = pick(mns.count + 1)
            let template = templates[unit == mns.count ? 0 : unit]
            let start = t0 + Int64(pick(Int(hours * 60))) * 60_000 - 600_000 + Int64(pick(60_000))
            var window: Range<Int64>?
            switch pick(10) {
            case 0: window = nil
            case 1: window = start..<start
            case 2: window = start..<Int64.max
            default: window = start..<(start + Int64(1 + pick(180)) * 60_000 + Int64(pick(1000)))
            }
            var factor: String?
            if id == "standard-check-fail" || id == "parameter-tampering" || id == "missing-factor" || pick(3) == 0 {
                factor = template.factors[pick(template.factors.count)].code
            }
            if ["furnace-low", "flow-bypass", "o2-manipulation"].contains(id) { factor = nil }
            let rate = [1, 1, 0.5, 0.05][pick(4)]
            let limit: Int? = pick(3) == 0 ? 1 + pick(4) : nil
            var parameters: [String: Double] = [:]
            if id == "clock-jump" { parameters["minutes"] = Double(pick(120) - 60) }
            guard let spec = try? FaultSpec.make(id: id, factor: factor, parameters: parameters, rate: rate, window: window, limit: limit,
                                                 mn: unit == mns.count ? nil : mns[unit], definitions: definitions, source: "test") else { continue }
            if FaultDefinition.valueLayers.contains(spec.layer), spec.inapplicability(to: template) != nil { continue }
            out.append(spec)
        }
        return out
    }
}

@Suite("Fault scheduling: the window index")
struct WindowIndexTests {
    @Test("answers exactly the windows containing a time, ascending, whatever the order of the queries", arguments: 0..<12)
    func matchesBruteForce(seed: Int) {
        var rng = SplitMix64(seed: UInt64(seed))
        let n = [0, 1, 2, 7, 64, 300, 1000, 3][seed % 8]
        var windows: [Range<Int64>?] = []
        for _ in 0..<n {
            let a = Int64(rng.next() % 1000)
            switch rng.next() % 8 {
            case 0: windows.append(nil)
            case 1: windows.append(a..<a)
            case 2: windows.append(a..<Int64.max)
            case 3: windows.append(Int64.min..<a)
            default: windows.append(a..<(a + Int64(rng.next() % 200) + 1))
            }
        }
        let index = WindowIndex(windows)
        var times: [Int64] = [Int64.min, -1, 0, 999, 1000, 1500, Int64.max - 1]
        for w in windows { if let w { times += [w.lowerBound, w.upperBound, w.lowerBound &- 1] } }
        for _ in 0..<200 { times.append(Int64(rng.next() % 1300) - 50) }
        for t in times.shuffled(using: &rng) {
            let expected = windows.indices.filter { windows[$0].map { $0.contains(t) } ?? true }
            #expect(index.active(at: t) == expected, "t=\(t)")
        }
    }
}


@Suite("Fault scheduling: the same results as scanning every fault")
struct FaultScheduleEquivalenceTests {
    @Test("protocol faults: every frame and record equals the scanning injector's, on 3 loggers × 5 h with hundreds of overlapping faults", arguments: [1, 2])
    func injector(seed: UInt64) throws {
        let fleet = ScheduleFixtures.fleet
        let t0 = SimClock.parseStart("2026-11-30T06:00")!
        let chosen = [0, 3, 5].map { fleet.units[$0] }
        let mns = chosen.map(\.identity.mn)
        let templates = chosen.map { fleet.templates[$0.unit]! }
        let specs = try ScheduleFixtures.specs(count: 400, ids: ScheduleFixtures.protocolIDs, mns: mns, templates: templates, t0: t0, hours: 5, seed: seed)
        let sims = try chosen.indices.map { try UnitSimulator(template: templates[$0], identity: LoggerIdentity(mn: mns[$0], pw: "123456"), seed: seed, start: t0) }
        var generator = FleetGenerator(simulators: sims)
        var packets: [(unit: Int, packet: GeneratedPacket)] = []
        generator.run(until: t0 + 5 * 3_600_000) { unit, packet in packets.append((unit, packet)) }
        var fast = mns.map { FaultInjector(specs: specs, seed: seed, mn: $0) }
        var slow = fast
        var records = 0, changed = 0
        for (unit, packet) in packets {
            let a = fast[unit].frames(for: packet, mn: mns[unit])
            let b = slow[unit].referenceFrames(for: packet, mn: mns[unit])
            guard a.frames == b.frames, a.records == b.records else {
                Issue.record("unit \(unit), packet \(packet.cn) at \(packet.time): \(a.records) vs \(b.records)")
                return
            }
            records += a.records.count
            if a.frames.count != 1 || a.frames.first != FrameEncoder.frame(segmentBytes: packet.bytes) { changed += 1 }
        }
        for u in mns.indices { #expect(fast[u].flush() == slow[u].flush()) }
        // The comparison meant something: many packets were faulted, of many kinds.
        #expect(packets.count > 1000)
        #expect(records > 500, "\(records) records")
        #expect(changed > 300, "\(changed) packets changed")
    }

    @Test("value faults: every reading, flag, process target, record and device parameter equals the scanning code's, sample by sample", arguments: [1, 2])
    func instrument(seed: UInt64) throws {
        let fleet = ScheduleFixtures.fleet
        for unit in [fleet.units[0], fleet.units[5]] {
            let template = fleet.templates[unit.unit]!
            let mn = unit.identity.mn
            let t0 = SimClock.parseStart("2026-11-30T06:00")!
            let specs = try ScheduleFixtures.specs(count: 200, ids: ScheduleFixtures.valueIDs, mns: [mn, "010000A89001999999999999"],
                                                   templates: [template, template], t0: t0, hours: 4, seed: seed)
            let dictionary = CodeDictionary.shared(.hj2017)
            var modelsA = template.factors.map { FactorModel($0, medium: template.medium, dictionary: dictionary, template: template) }
            var modelsB = modelsA
            let dynamicControl = try template.dynamicControl.map { try DynamicControlProfile.load($0) }
            var fast = InstrumentFaults(specs: specs, mn: mn, template: template, models: modelsA, dynamicControl: dynamicControl)
            var slow = fast
            var randomA = SimRandom(seed: seed, label: "readings"), randomB = randomA
            var values = SimRandom(seed: seed, label: "values")
            var activeSamples = 0
            let sample = Int64(template.sampleSeconds) * 1000
            var t = t0
            while t < t0 + 5 * 3_600_000 {
                fast.update(&modelsA, at: t, mn: mn)
                slow.referenceUpdate(&modelsB, at: t, mn: mn)
                for i in modelsA.indices {
                    let v = modelsA[i].baseline * (0.5 + values.unit())
                    modelsA[i].trueReading = v
                    modelsB[i].trueReading = v
                }
                fast.apply(&modelsA, at: t, random: &randomA)
                slow.referenceApply(&modelsB, at: t, random: &randomB)
                let same = modelsA.indices.allSatisfy {
                    modelsA[$0].reading.bitPattern == modelsB[$0].reading.bitPattern && modelsA[$0].flag == modelsB[$0].flag
                        && modelsA[$0].processTarget == modelsB[$0].processTarget
                }
                guard same, fast.records == slow.records, fast.info == slow.info, fast.hidden == slow.hidden,
                      fast.failingChecks == slow.failingChecks, fast.checksNow == slow.checksNow, fast.frozen == slow.frozen,
                      fast.changedInfo.map({ "\($0.polId):\($0.codes)" }) == slow.changedInfo.map({ "\($0.polId):\($0.codes)" }),
                      fast.isActive == slow.isActive else {
                    Issue.record("\(unit.unit) at \(HJTime(wallMilliseconds: t).description): the window index changed the result")
                    return
                }
                #expect(fast.activeList == fast.isActive.indices.filter { fast.isActive[$0] })
                if !fast.activeList.isEmpty { activeSamples += 1 }
                // As the simulator does after uploading them.
                if t % 600_000 == 0 { fast.changedInfo = []; slow.changedInfo = []; fast.checksNow = []; slow.checksNow = [] }
                t += sample
            }
            #expect(fast.records.count > 50, "\(fast.records.count) activations")
            #expect(activeSamples > 100)
        }
    }
}
