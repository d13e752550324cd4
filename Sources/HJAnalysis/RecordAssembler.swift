import HJ212

/// Turns data segments into analysis inputs: one `DataRecord` per 2011/2051/2061/2031 record
/// (the parts of a split record, PNUM/PNO, merged by MN, ST, CN and DataTime) and one
/// `InfoRecord` per 3020 packet. Other commands are ignored.
///
/// Budget: at most `maxPending` partly received split records are held (one per MN, ST and CN);
/// beyond that the oldest is handed out as it is. A split record whose last part never comes
/// is handed out when the next record of the same MN, ST and CN starts, or at `flush()`.
///
/// ```swift
/// var assembler = RecordAssembler()
/// for input in assembler.add(segment, arrival: now) { events += analyzer.feed(input) }
/// ```
public struct RecordAssembler: Sendable {
    public let maxPending: Int
    private var pending: [String: DataRecord] = [:]
    private var pendingOrder: [String] = []

    public init(maxPending: Int = 4096) {
        self.maxPending = max(1, maxPending)
    }

    /// Records held, waiting for their remaining parts.
    public var pendingCount: Int { pending.count }

    /// The inputs completed by this segment (usually one; none for a first split part).
    public mutating func add(_ segment: DataSegment, arrival: Int64) -> [AnalysisInput] {
        guard let cn = segment.cn, let mn = segment.mn, let cp = segment.cp else { return [] }
        if segment.isCN(.loggerInfo) {
            return Self.info(segment, cp: cp, mn: mn, arrival: arrival).map { [.info($0)] } ?? []
        }
        guard let kind = SeriesKind(cn: cn) else { return [] }
        guard let dataTime = parseDataTime(segment.cpValue("DataTime")) else { return [] }
        let st = segment.st ?? ""
        let factors = Self.factors(cp)
        let key = mn + "|" + st + "|" + cn
        var out: [AnalysisInput] = []
        var record = DataRecord(mn: mn, st: st, kind: kind, dataTime: dataTime, arrival: arrival, factors: factors)
        if let held = pending[key] {
            if held.dataTime == dataTime, segment.pnum ?? 1 > 1 {
                record = held
                record.arrival = arrival
                for f in factors where !record.factors.contains(where: { $0.code == f.code }) { record.factors.append(f) }
            } else {
                out.append(.data(held))
            }
            pending[key] = nil
            pendingOrder.removeAll { $0 == key }
        }
        if let pnum = segment.pnum, pnum > 1, let pno = segment.pno, pno < pnum {
            pending[key] = record
            pendingOrder.append(key)
            if pendingOrder.count > maxPending {
                let oldest = pendingOrder.removeFirst()
                if let r = pending.removeValue(forKey: oldest) { out.append(.data(r)) }
            }
        } else {
            out.append(.data(record))
        }
        return out
    }

    /// Hands out every held record (end of input).
    public mutating func flush() -> [AnalysisInput] {
        let out = pendingOrder.compactMap { pending[$0] }.map { AnalysisInput.data($0) }
        pending = [:]
        pendingOrder = []
        return out
    }

    static func factors(_ cp: [[Field]]) -> [(code: String, reading: FactorReading)] {
        var out: [(code: String, reading: FactorReading)] = []
        var index: [String: Int] = [:]
        for group in cp {
            for field in group {
                guard let dash = field.name.firstIndex(of: "-") else { continue }
                let code = String(field.name[..<dash])
                let suffix = field.name[field.name.index(after: dash)...]
                let i: Int
                if let existing = index[code] {
                    i = existing
                } else {
                    guard out.count < 256 else { continue }
                    i = out.count
                    index[code] = i
                    out.append((code, FactorReading()))
                }
                switch suffix {
                case "Rtd", "Avg":
                    out[i].reading.value = Double(field.value)
                    out[i].reading.decimals = decimalsOf(field.value)
                case "ZsRtd", "ZsAvg": out[i].reading.zs = Double(field.value)
                case "Min": out[i].reading.min = Double(field.value)
                case "Max": out[i].reading.max = Double(field.value)
                case "Cou": out[i].reading.cou = Double(field.value)
                case "Flag": out[i].reading.flag = field.value
                default: break
                }
            }
        }
        return out.filter { $0.reading.value != nil || $0.reading.flag != nil || $0.reading.cou != nil }
    }

    static func info(_ segment: DataSegment, cp: [[Field]], mn: String, arrival: Int64) -> InfoRecord? {
        guard let dataTime = parseDataTime(segment.cpValue("DataTime")) else { return nil }
        var polId: String?
        var values: [(polId: String?, code: String, value: String)] = []
        for group in cp {
            for field in group {
                if field.name == "PolId" { polId = field.value; continue }
                guard field.name.hasSuffix("-Info"), values.count < 512 else { continue }
                values.append((polId, String(field.name.dropLast(5)), field.value))
            }
        }
        return InfoRecord(mn: mn, dataTime: dataTime, arrival: arrival, values: values)
    }
}
