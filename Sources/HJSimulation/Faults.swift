import HJ212

/// One entry of `--faults`: `ID[%RATE][@START/DURATION]`, e.g. `crc-mismatch%5` (5 % of packets),
/// `no-crlf@2026-11-30T10:00/30m` (every packet in that window), `missing-record%50@…`.
public struct FaultSpec: Sendable, Hashable {
    public var id: String
    /// The factor an instrument fault acts on (`flatline:w01018`); nil: every factor.
    public var factor: String?
    /// `protocol` or `instrument`.
    public var layer: String = "protocol"
    /// Share of eligible packets affected, 0…1.
    public var rate: Double
    /// Local wall-clock window in which the fault is active, or always.
    public var window: Range<Int64>?

    /// The fault IDs of `Profiles/faults/catalogue.json`.
    public static func catalogue(store: ProfileStore = .builtin) throws -> [(id: String, layer: String, zh: String, en: String)] {
        guard let text = try store.text("faults/catalogue.json") else { return [] }
        let json = try JSONValue.parse(text)
        guard case .array(let items)? = json["faults"] else { return [] }
        return items.compactMap { item in
            guard case .string(let id)? = item["id"], case .string(let layer)? = item["layer"],
                  case .string(let zh)? = item["zh"], case .string(let en)? = item["en"] else { return nil }
            return (id, layer, zh, en)
        }
    }

    /// Parses a comma-separated list; unknown IDs, bad rates and bad windows are errors that say why.
    public static func parseList(_ text: String, offsetMinutes: Int = SimClock.chinaOffsetMinutes) throws -> [FaultSpec] {
        let catalogue = try catalogue()
        let known = Set(catalogue.map(\.id))
        var specs: [FaultSpec] = []
        for raw in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !raw.isEmpty {
            var rest = Substring(raw)
            var window: Range<Int64>?
            if let at = rest.firstIndex(of: "@") {
                let w = rest[rest.index(after: at)...]
                rest = rest[..<at]
                let parts = w.split(separator: "/", maxSplits: 1)
                guard parts.count == 2, let start = SimClock.parseStart(String(parts[0]), offsetMinutes: offsetMinutes),
                      let length = SimClock.parseDuration(String(parts[1])) else {
                    throw ProfileError(file: "--faults", line: nil, message: "'\(raw)': the window must be @START/DURATION, e.g. @2026-11-30T10:00/30m")
                }
                window = start..<(start + length)
            }
            var rate = 1.0
            if let pct = rest.firstIndex(of: "%") {
                guard let r = Double(rest[rest.index(after: pct)...]), r > 0, r <= 100 else {
                    throw ProfileError(file: "--faults", line: nil, message: "'\(raw)': the rate must be a percentage in (0, 100]")
                }
                rate = r / 100
                rest = rest[..<pct]
            }
            var factor: String?
            if let colon = rest.firstIndex(of: ":") {
                factor = String(rest[rest.index(after: colon)...])
                rest = rest[..<colon]
            }
            let id = String(rest)
            guard let entry = catalogue.first(where: { $0.id == id }) else {
                throw ProfileError(file: "--faults", line: nil, message: "unknown fault '\(id)'; known: \(known.sorted().joined(separator: ", "))")
            }
            if factor != nil && entry.layer != "instrument" {
                throw ProfileError(file: "--faults", line: nil, message: "'\(raw)': only instrument faults take a factor")
            }
            specs.append(FaultSpec(id: id, factor: factor, layer: entry.layer, rate: rate, window: window))
        }
        return specs
    }
}

/// What was injected, for scoring a detection against (one JSON line each).
public struct FaultRecord: Sendable, Hashable {
    public var time: Int64
    public var mn: String
    public var fault: String
    public var cn: String
    public var qn: String
    public var detail: String
    public var layer = "protocol"
    /// The factor of an instrument fault.
    public var factor = ""

    public init(time: Int64, mn: String, fault: String, cn: String, qn: String, detail: String, layer: String = "protocol", factor: String = "") {
        (self.time, self.mn, self.fault, self.cn, self.qn, self.detail, self.layer, self.factor) = (time, mn, fault, cn, qn, detail, layer, factor)
    }

    public func json(offsetMinutes: Int = SimClock.chinaOffsetMinutes) -> String {
        var members: [(String, JSONValue)] = [("t", .string(SimClock.iso(time, offsetMinutes: offsetMinutes))), ("mn", .string(mn)),
                                              ("fault", .string(fault)), ("layer", .string(layer))]
        if !factor.isEmpty { members.append(("factor", .string(factor))) }
        if !cn.isEmpty { members += [("cn", .string(cn)), ("qn", .string(qn))] }
        members.append(("detail", .string(detail)))
        return JSONValue.object(members).serialized
    }
}

/// Instrument faults acting on a logger's readings before aggregation (flatline, drift, flags …).
struct InstrumentFaults: Sendable {
    let specs: [FaultSpec]
    /// Per spec and factor: the reading frozen at activation (flatline) and the activation time.
    var frozen: [String: Double] = [:]
    var active: Set<String> = []
    var records: [FaultRecord] = []

    init(specs: [FaultSpec]) { self.specs = specs.filter { $0.layer == "instrument" } }

    var isEmpty: Bool { specs.isEmpty }

    mutating func apply(_ models: inout [FactorModel], at t: Int64, mn: String, random: inout SimRandom) {
        for (n, spec) in specs.enumerated() {
            let on = spec.window?.contains(t) ?? true
            for i in models.indices where spec.factor == nil || spec.factor == models[i].code {
                let key = "\(n)|\(models[i].code)"
                guard on else {
                    if active.remove(key) != nil { frozen[key] = nil }
                    continue
                }
                if active.insert(key).inserted {
                    records.append(FaultRecord(time: t, mn: mn, fault: spec.id, cn: "", qn: "", detail: "from \(HJTime(wallMilliseconds: t).description)"
                        + (spec.window.map { " to \(HJTime(wallMilliseconds: $0.upperBound).description)" } ?? ""), layer: "instrument", factor: models[i].code))
                }
                var m = models[i]
                switch spec.id {
                case "flatline":
                    if frozen[key] == nil { frozen[key] = m.reading }
                    m.reading = frozen[key]!
                case "under-limit":
                    if let limit = m.limit { m.reading = limit * (0.96 + 0.02 * random.unit()) }
                case "drift":
                    let start = spec.window?.lowerBound ?? t
                    m.reading *= 1 + 0.05 * Double(t - start) / 3_600_000
                case "spike":
                    if random.unit() < 0.02 { m.reading *= 4 }
                case "level-shift": m.reading *= 1.5
                case "negative": m.reading = -abs(m.reading) - 0.1
                case "over-range": m.reading = m.rangeMax; m.flag = UInt8(ascii: "T")
                case "calibration": m.flag = UInt8(ascii: "C")
                case "maintenance": m.flag = UInt8(ascii: "M")
                case "fault": m.flag = UInt8(ascii: "D")
                case "stopped": m.flag = UInt8(ascii: "F")
                case "comm-loss": m.flag = UInt8(ascii: "B")
                case "manual": m.flag = UInt8(ascii: "S")
                default: break
                }
                models[i] = m
            }
        }
    }
}

/// Applies protocol faults to one logger's packets as they are framed, deterministically for a
/// seed, and reports each injection.
public struct FaultInjector: Sendable {
    public let specs: [FaultSpec]
    var random: SimRandom
    var previousQN: String?

    public init(specs: [FaultSpec], seed: UInt64, mn: String) {
        self.specs = specs.filter { $0.layer == "protocol" }
        random = SimRandom(seed: seed &+ 0x5EED, label: "faults:" + mn)
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

    /// The frames to send for a packet (none when it is dropped, two when duplicated) and what was done.
    public mutating func frames(for packet: GeneratedPacket, mn: String) -> (frames: [[UInt8]], records: [FaultRecord]) {
        var segment = packet.segment
        var crcStyle = FrameEncoder.CRCStyle.standard
        var trailer = true
        var lengthDelta = 0
        var corruptCRC = false
        var copies = 1
        var records: [FaultRecord] = []
        let qn = segment.qn ?? ""
        func note(_ id: String, _ detail: String) {
            records.append(FaultRecord(time: packet.time, mn: mn, fault: id, cn: packet.cn, qn: qn, detail: detail))
        }
        for spec in specs {
            if let w = spec.window, !w.contains(packet.time) { continue }
            let record = ["2051", "2061", "2031"].contains(packet.cn)
            if (spec.id == "missing-record" || spec.id == "duplicate-record") && !record { continue }
            if spec.rate < 1 && random.unit() >= spec.rate { continue }
            switch spec.id {
            case "crc-mismatch": corruptCRC = true; note(spec.id, "CRC digits changed")
            case "crc-modbus": crcStyle = .modbus; note(spec.id, "CRC-16/MODBUS, high byte first")
            case "crc-modbus-swapped": crcStyle = .modbusSwapped; note(spec.id, "CRC-16/MODBUS, low byte first")
            case "crc-lowercase": crcStyle = .lowercase; note(spec.id, "CRC in lower case")
            case "length-wrong": lengthDelta = 1; note(spec.id, "declared length + 1")
            case "no-crlf": trailer = false; note(spec.id, "no CR LF")
            case "wrong-pw": segment.setHeader("PW", "000000"); note(spec.id, "PW=000000")
            case "malformed-mn": segment.setHeader("MN", String(mn.suffix(14))); note(spec.id, "MN=\(mn.suffix(14))")
            case "version-2005":
                if let f = segment.flag { segment.setHeader("Flag", String(f.rawValue & 3)); note(spec.id, "Flag=\(f.rawValue & 3)") }
            case "duplicate-qn":
                if let p = previousQN { segment.setHeader("QN", p); note(spec.id, "QN=\(p) of the previous packet") }
            case "missing-record": copies = 0; note(spec.id, "record not sent")
            case "duplicate-record": copies = 2; note(spec.id, "record sent twice")
            case "clock-skew":
                Self.shiftTimes(&segment, by: 7 * 60_000)
                note(spec.id, "QN, DataTime and SampleTime 7 min ahead")
            case "misaligned-datatime":
                if record, let dt = segment.cpValue("DataTime").flatMap({ HJTime($0) }) {
                    Self.setCP(&segment, "DataTime", HJTime(wallMilliseconds: dt.wallMilliseconds + 37_000).text14)
                    note(spec.id, "DataTime + 37 s")
                }
            case "inconsistent-cou":
                if packet.cn == "2061" || packet.cn == "2031", var cp = segment.cp {
                    for g in cp.indices { for e in cp[g].indices where cp[g][e].name.hasSuffix("-Cou") {
                        if let v = Double(cp[g][e].value) { cp[g][e].value = ValueFormat.fixed(v * 1.3, decimals: 3) }
                    } }
                    segment.cp = cp
                    note(spec.id, "Cou x 1.3")
                }
            default: break
            }
        }
        previousQN = packet.segment.qn
        guard copies > 0 else { return ([], records) }
        var frame = records.isEmpty ? FrameEncoder.frame(segmentBytes: packet.bytes) : FrameEncoder.frame(segment, crcStyle: crcStyle, trailer: trailer)
        if lengthDelta != 0 {
            let n = Int(String(decoding: frame[2..<6], as: UTF8.self))! + lengthDelta
            let digits = Array(String(n).utf8)
            frame.replaceSubrange(2..<6, with: [UInt8](repeating: 48, count: max(0, 4 - digits.count)) + digits.suffix(4))
        }
        if corruptCRC {
            let i = frame.count - (trailer ? 3 : 1)
            frame[i] = frame[i] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        }
        return (Array(repeating: frame, count: copies), records)
    }
}
