import HJ212

/// Applies protocol faults to one logger's packets as they are framed, deterministically for a
/// seed, and reports each injection.
public struct FaultInjector: Sendable {
    public let specs: [FaultSpec]
    var random: SimRandom
    var previousQN: String?
    /// Injections so far, per spec (for `#COUNT`).
    var injections: [Int: Int] = [:]
    /// A record held back by `out-of-order`, sent after the next record of its CN (so that its
    /// DataTime arrives after a later one: out of order where a platform sees it).
    var held: [[UInt8]] = []
    var heldCN: String?
    /// The QN of the last frame held back (the previous QN once it goes out).
    var heldLastQN: String?
    /// The out-of-order truth of the held record, written when a later record has gone first.
    var heldRecords: [FaultRecord] = []
    /// The parts of a split record being held back are still coming.
    var holdingParts = false
    /// Parts of a split record being joined by `oversized-record`.
    var joining: Reassembler?
    /// The rest of a split record that `missing-record` does not send (decided on its first packet:
    /// the whole record goes missing, not one of its packets).
    var droppingParts = false
    /// The frames of a split record that `duplicate-record` sends twice: all its packets, then all
    /// of them again after the last (decided on its first packet).
    var repeatingParts: [[UInt8]]?

    /// The specs whose window contains a packet's time: a packet looks at those only (a spec out
    /// of its window neither fires nor draws a random number), in spec order as before.
    let schedule: WindowIndex
    /// The first spec of each ID (looked up per packet for `oversized-record` and `duplicate-qn`).
    let firstOfID: [FaultID: Int]

    public init(specs: [FaultSpec], seed: UInt64, mn: String) {
        let specs = specs.filter { $0.layer == .protocol && $0.applies(to: mn) }
        self.specs = specs
        random = SimRandom(seed: seed &+ 0x5EED, label: "faults:" + mn)
        schedule = WindowIndex(specs.map(\.window))
        var first: [FaultID: Int] = [:]
        for (n, spec) in specs.enumerated() where first[spec.id] == nil { first[spec.id] = n }
        firstOfID = first
    }

    /// Shifts every time stamp of a segment (QN, DataTime, *SampleTime, RestartTime).
    static func shiftTimes(_ segment: inout DataSegment, by ms: Int64) {
        if let qn = segment.qn, let t = HJTime(qn, allowMilliseconds: true) { segment.setHeader("QN", HJTime(wallMilliseconds: t.wallMilliseconds + ms).text17) }
        guard var cp = segment.cp else { return }
        for g in cp.indices {
            for e in cp[g].indices where cp[g][e].name == "DataTime" || cp[g][e].name.hasSuffix("SampleTime") || cp[g][e].name == "RestartTime" {
                if let t = HJTime(cp[g][e].value) { cp[g][e].value = HJTime(wallMilliseconds: t.wallMilliseconds + ms).text14 }
            }
        }
        segment.cp = cp
    }

    static func setCP(_ segment: inout DataSegment, _ name: String, _ value: String) {
        guard var cp = segment.cp else { return }
        for g in cp.indices { for e in cp[g].indices where cp[g][e].name == name { cp[g][e].value = value } }
        segment.cp = cp
    }

    static func hasCP(_ segment: DataSegment, suffix: String) -> Bool {
        segment.cp?.contains { $0.contains { $0.name.hasSuffix(suffix) && Double($0.value) != nil } } ?? false
    }

    static func scaleCP(_ segment: inout DataSegment, suffix: String, by k: Double) {
        guard var cp = segment.cp else { return }
        for g in cp.indices { for e in cp[g].indices where cp[g][e].name.hasSuffix(suffix) {
            if let v = Double(cp[g][e].value) {
                let decimals = cp[g][e].value.split(separator: ".").dropFirst().first?.count ?? 0
                cp[g][e].value = ValueFormat.fixed(v * k, decimals: Swift.max(decimals, 1))
            }
        } }
        segment.cp = cp
    }

    /// Whether spec n fires on this packet (window, count limit, rate).
    mutating func fires(_ n: Int, at t: Int64) -> Bool {
        let spec = specs[n]
        if let w = spec.window, !w.contains(t) { return false }
        if let limit = spec.limit, injections[n, default: 0] >= limit { return false }
        if spec.rate < 1 && random.unit() >= spec.rate { return false }
        return true
    }

    /// Frames held back now (a record `out-of-order` kept for after the next record of its CN).
    public var heldCount: Int { held.count }

    /// Frames still held back (a record `out-of-order` kept for after the next packet): send
    /// them when the run ends. They go in order (no later record of their CN went first), so no
    /// out-of-order truth is written for them.
    public mutating func flush() -> [[UInt8]] {
        defer { held = []; heldCN = nil; heldRecords = [] }
        return held
    }

    /// The frames to send for a packet (none when it is dropped or held, two or more when
    /// duplicated or when a held record follows) and what was done.
    public mutating func frames(for packet: GeneratedPacket, mn: String) -> (frames: [[UInt8]], records: [FaultRecord]) {
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
            records.append(FaultRecord(time: packet.time, mn: mn, fault: specs[n].id, cn: packet.cn, qn: segment.qn ?? "", detail: detail))
        }
        let live = schedule.active(at: packet.time)
        let record = [CommandCode.minuteData, .hourData, .dailyData].contains(packet.command)
        let pnum = segment.pnum, pno = segment.pno
        let isPart = segment.header("PNUM") != nil
        // An oversized record: the parts of a split record joined back into one packet.
        if isPart, let n = firstOfID[.oversizedRecord] {
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
        // The rest of a split record whose first packet missing-record did not send.
        if droppingParts {
            if stillPart && pno != 1 {
                if pno == pnum { droppingParts = false }
                return ([], [])
            }
            droppingParts = false
        }
        if repeatingParts != nil && !(stillPart && pno != 1) { repeatingParts = nil }
        // A record that is not sent carries no other fault: missing-record is decided first (on
        // the first packet of a split record, for all of them), and when it fires nothing else is
        // injected (or counted) on that packet.
        if record && !(stillPart && pno != 1), let n = live.first(where: { specs[$0].id == .missingRecord && fires($0, at: packet.time) }) {
            for r in records { if let m = firstOfID[r.faultID] { injections[m, default: 1] -= 1 } }
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
        let late: Set<FaultID> = [.duplicateQN, .crcMismatch, .crcModbus, .crcModbusSwapped, .crcLowercase, .missingRecord]
        var framing = false
        var outOfOrder: Int?
        for n in live {
            let spec = specs[n]
            if spec.id == .oversizedRecord || late.contains(spec.id) { continue }
            if [FaultID.duplicateRecord, .outOfOrder].contains(spec.id) && !record { continue }
            if spec.id == .duplicateRecord && stillPart && pno != 1 { continue }
            if spec.id == .wrongPNO && !(stillPart && pno == pnum) { continue }
            if spec.id == .outOfOrder && (!held.isEmpty || (stillPart && pno != 1)) { continue }
            if (spec.id == .inconsistentCou || spec.id == .inconsistentAvg) && !(packet.command == .hourData || packet.command == .dailyData) { continue }
            if spec.id == .inconsistentCou && !Self.hasCP(segment, suffix: "-Cou") { continue }
            if spec.id == .inconsistentAvg && !Self.hasCP(segment, suffix: "-Avg") { continue }
            if spec.id == .misalignedDataTime && !(record && segment.cpValue("DataTime").flatMap({ HJTime($0) }) != nil) { continue }
            if spec.id == .version2005 && segment.flag == nil { continue }
            if (spec.id == .lengthWrong || spec.id == .noCRLF) && framing { continue }
            guard fires(n, at: packet.time) else { continue }
            switch spec.id {
            // One framing fault per frame: a wrong length without CR LF leaves no way to find where
            // the frame ends, and the frame would be lost in the next one.
            case .lengthWrong: lengthDelta = 1; framing = true; note(n, "declared length + 1")
            case .noCRLF: trailer = false; framing = true; note(n, "no CR LF")
            case .wrongPW: segment.setHeader("PW", "000000"); note(n, "PW=000000")
            case .malformedMN: segment.setHeader("MN", String(mn.suffix(14))); note(n, "MN=\(mn.suffix(14))")
            case .version2005:
                let f = segment.flag!
                segment.setHeader("Flag", String(f.rawValue & 3))
                note(n, "Flag=\(f.rawValue & 3)")
            case .duplicateRecord:
                if stillPart, let pnum, pnum > 1 {
                    repeatingParts = []
                    note(n, "record sent twice (its \(pnum) packets, then again)")
                } else {
                    copies = 2
                    note(n, "record sent twice")
                }
            case .outOfOrder:
                holdBack = true
                heldCN = packet.cn
                if stillPart && pno != pnum { holdingParts = true }
                note(n, "held back, sent after the next \(packet.cn) record")
                outOfOrder = records.count - 1
            case .wrongPNO:
                let wrong = (pnum ?? 0) + 1
                segment.setHeader("PNO", String(wrong))
                note(n, "PNO=\(wrong) with PNUM=\(pnum ?? 0)")
            case .clockSkew:
                Self.shiftTimes(&segment, by: 7 * 60_000)
                note(n, "QN, DataTime and SampleTime 7 min ahead")
            case .clockJump:
                let minutes = Int64(spec.parameter("minutes", default: 60))
                Self.shiftTimes(&segment, by: minutes * 60_000)
                note(n, "clock jumped \(minutes >= 0 ? "+" : "")\(minutes) min: QN, DataTime and SampleTime shifted")
            case .misalignedDataTime:
                let dt = segment.cpValue("DataTime").flatMap({ HJTime($0) })!
                Self.setCP(&segment, "DataTime", HJTime(wallMilliseconds: dt.wallMilliseconds + 37_000).text14)
                note(n, "DataTime + 37 s")
            case .inconsistentCou:
                Self.scaleCP(&segment, suffix: "-Cou", by: 1.3)
                note(n, "Cou x 1.3")
            case .inconsistentAvg:
                let k = spec.parameter("scale", default: 1.3)
                Self.scaleCP(&segment, suffix: "-Avg", by: k)
                note(n, "Avg x \(k)")
            default: break
            }
        }
        if let n = firstOfID[.duplicateQN], !holdBack, let previous = previousQN, previous != segment.qn, fires(n, at: packet.time) {
            segment.setHeader("QN", previous)
            note(n, "QN=\(previous) of the previous packet")
        }
        for n in live where [FaultID.crcMismatch, .crcModbus, .crcModbusSwapped, .crcLowercase].contains(specs[n].id) {
            if specs[n].id == .crcLowercase && !CRC.hex(CRC.hj212(segment.serializedBytes())).contains(where: { $0.isLetter }) { continue }
            guard fires(n, at: packet.time) else { continue }
            switch specs[n].id {
            case .crcMismatch: corruptCRC = true; note(n, "CRC digits changed")
            case .crcModbus: crcStyle = .modbus; note(n, "CRC-16/MODBUS, high byte first")
            case .crcModbusSwapped: crcStyle = .modbusSwapped; note(n, "CRC-16/MODBUS, low byte first")
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
            // Held back by out-of-order, the record's later packets join the held frames, not the
            // repetition: the duplicate is not made, and not counted.
            repeatingParts = nil
            if let i = records.firstIndex(where: { $0.faultID == .duplicateRecord }), let m = firstOfID[.duplicateRecord] {
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
