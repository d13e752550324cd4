import HJ212
import HJRoles

/// One data record the logger uploaded on its own (2011, 2051, 2061, 2031 …), reassembled when
/// it was split, with the frame it completed in.
struct LiveRecord {
    var cn: String
    var dataTime: Int64
    var segment: DataSegment
    var frameIndex: Int
    var time: Double
    var connection: Int
    var acked: Bool

    /// `code -> (suffix -> value)` of the CP fields named `code-Suffix` (Rtd, Avg, Min, Max, Cou, Flag, ZsAvg …).
    var factors: [String: [String: String]] {
        var out: [String: [String: String]] = [:]
        for f in segment.cpFields {
            guard let dash = f.name.firstIndex(of: "-") else { continue }
            let code = String(f.name[..<dash])
            let suffix = String(f.name[f.name.index(after: dash)...])
            out[code, default: [:]][suffix] = f.value
        }
        return out
    }

    func number(_ code: String, _ suffix: String) -> Double? { segment.cpValue("\(code)-\(suffix)").flatMap(Double.init) }
}

/// The uploads of a run sorted out for the judgements: exact copies (resends) told apart from
/// duplicates, split records reassembled, QNs reused by different packets, out-of-order records.
struct RecordStreams {
    /// Live records by CN, in arrival order (copies removed). Records of another ST than the
    /// unit's (working-condition data, ST 51/52) are kept under `CN/ST`.
    var byCN: [String: [LiveRecord]] = [:]
    /// The live records of a data command (of the unit's ST).
    func records(_ code: CommandCode) -> [LiveRecord] { byCN[code.rawValue] ?? [] }
    /// Frames that repeat a record already received although nothing justified it.
    var duplicates: [(index: Int, why: String)] = []
    /// Frames whose QN an earlier, different packet already used.
    var reusedQN: [(index: Int, why: String)] = []
    /// Split packets that did not reassemble.
    var splitProblems: [(index: Int, why: String)] = []
    var splitRecords = 0
    /// Exact copies that were legitimate (their 9014 was withheld, or a reconnect came between).
    var legitimateCopies = 0

    static let recordCNs: Set<String> = Set([CommandCode.realTimeData, .minuteData, .hourData, .dailyData, .dailyRunningTime, .runningStatus].map(\.rawValue))

    /// Sorts the upload frames (`role == .upload`) with an index below `limit`.
    init(frames: [ObservedFrame], limit: Int = .max, st: String? = nil) {
        var reassembler = Reassembler(maxPending: 64)
        var seenQN: [String: Int] = [:]  // QN -> index of the first frame with it
        var firstByKey: [String: (index: Int, acked: Bool, qn: String)] = [:]
        let lookup = Dictionary(frames.map { ($0.index, $0) }, uniquingKeysWith: { a, _ in a })
        for f in frames where f.index < limit && f.role == .upload {
            let cn = f.cn
            // Same QN as an earlier packet.
            if let qn = f.qn, let first = seenQN[qn], let earlier = lookup[first] {
                if earlier.text == f.text {
                    // An identical copy: a resend when the earlier copy was not acknowledged
                    // (withheld) or a reconnect came between; otherwise a duplicate.
                    let previous = frames.last { $0.index < f.index && $0.qn == qn && $0.role == .upload }
                    if let p = previous, !p.acked || p.connection != f.connection {
                        legitimateCopies += 1
                    } else {
                        duplicates.append((f.index, "\(cn) QN=\(qn) sent again although its 9014 had been sent"))
                    }
                    continue
                }
                reusedQN.append((f.index, "QN=\(qn) of frame \(first) (\(earlier.cn)) used again by a different \(cn)"))
            } else if let qn = f.qn {
                seenQN[qn] = f.index
            }
            guard Self.recordCNs.contains(cn) else { continue }
            let segment: DataSegment
            let split = (f.segment.flag?.isSplit ?? false) || f.segment.pnum != nil
            switch reassembler.add(f.segment) {
            case .whole(let s): segment = s
            case .complete(let s): segment = s; splitRecords += 1
            case .pending: continue
            case .rejected(let why): splitProblems.append((f.index, why)); continue
            }
            _ = split
            guard let dt = segment.cpValue("DataTime").flatMap({ HJTime($0) })?.wallMilliseconds else { continue }
            let stream = st == nil || segment.st == st ? cn : "\(cn)/\(segment.st ?? "-")"
            let key = "\(stream)|\(dt)"
            if let first = firstByKey[key] {
                // The same record again with another QN: a legitimate re-send only when the
                // first one was not acknowledged.
                if first.acked {
                    duplicates.append((f.index, "\(cn) DataTime=\(HJTime(wallMilliseconds: dt).text14) again (QN \(f.qn ?? "-"); first as QN \(first.qn))"))
                } else {
                    legitimateCopies += 1
                }
                continue
            }
            firstByKey[key] = (f.index, f.acked, f.qn ?? "")
            byCN[stream, default: []].append(LiveRecord(cn: cn, dataTime: dt, segment: segment, frameIndex: f.index, time: f.time,
                                                    connection: f.connection, acked: f.acked))
        }
        // A split record left incomplete is the logger's fault only when it went on sending on the
        // same connection without the missing parts; one cut by the end of its connection (the
        // platform's forced outage) or by the end of the run is not evidence of anything.
        if reassembler.pendingCount > 0 {
            var parts: [String: (connection: Int, pnum: Int, seen: Set<Int>, last: Int)] = [:]
            for f in frames where f.index < limit && f.role == .upload {
                // The parts of one record as the reassembler groups them: MN, CN, first CP group (DataTime), PNUM.
                guard let pnum = f.segment.pnum, let pno = f.segment.pno else { continue }
                let first = f.segment.cp?.first.map { $0.map(\.description).joined(separator: ",") } ?? ""
                let key = "\(f.segment.mn ?? "")|\(f.cn)|\(first)|\(pnum)"
                var p = parts[key] ?? (f.connection, pnum, [], f.index)
                p.seen.insert(pno)
                p.last = f.index
                p.connection = f.connection
                parts[key] = p
            }
            var lastUpload: [Int: Int] = [:]  // connection -> index of its last upload
            for f in frames where f.index < limit && f.role == .upload { lastUpload[f.connection] = f.index }
            let abandoned = parts.filter { $0.value.seen.count < $0.value.pnum && (lastUpload[$0.value.connection] ?? 0) > $0.value.last }
            if !abandoned.isEmpty {
                let first = abandoned.min { $0.value.last < $1.value.last }!
                splitProblems.append((first.value.last, "\(abandoned.count) split record(s) never completed (first: \(first.key.split(separator: "|").dropFirst().prefix(2).joined(separator: " ")), \(first.value.seen.count) of \(first.value.pnum) parts, then other packets followed on the connection)"))
            }
        }
    }
}
