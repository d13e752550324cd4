import HJ212
import HJConformance

/// What `hj212 replay` sends, taken from a recording: per MN, the logger's own uplink frames with
/// their recorded times and whether the recorded platform acknowledged them, and the logger's
/// recorded answers to the platform's commands (by CN, in the order the commands came).
///
/// A recorded uplink is an *answer* (not replayed on its own) when it is the logger's reply to a
/// platform request on the same connection: it carries the request's QN (9011, 9012, response
/// packets), or it is a history record of the request's CN within its BeginTime–EndTime.
///
/// Budgets: at most `maxFrames` uplinks and `maxBytes` of segment bytes are held (the rest of the
/// recording is not replayed, and the summary says so); at most 64 answers per MN and CN.
struct ReplayPlan {
    struct Uplink {
        /// Recorded time, China local wall ms.
        var at: Int64
        /// The data segment, after `--mn-map`.
        var segment: [UInt8]
        var qn: String?
        var cn: String
        var ackedInRecording = false
        /// The frame as recorded, `##` to the CRC (nil when `--mn-map` changed it): sent byte for
        /// byte, its defects included, unless `--rewrite-time`.
        var original: [UInt8]? = nil
        /// Its Flag asks for an acknowledgement (A=1).
        var asksAck = false
    }

    /// Whether any uplink was acknowledged in the recording (a platform's trace or a capture of
    /// both directions); a logger's own trace has none, and is judged by the Flag instead.
    var hasRecordedAcks: Bool { loggers.contains { $0.uplinks.contains(where: \.ackedInRecording) } }

    /// The uplinks the replay is judged on: those acknowledged in the recording, or, when it
    /// holds no acknowledgement, those whose Flag asks for one.
    func judged(_ u: Uplink) -> Bool { hasRecordedAcks ? u.ackedInRecording : u.asksAck }

    struct Answer {
        /// The QN of the recorded request (replaced by the live command's QN when answering).
        var requestQN: String
        var segments: [[UInt8]] = []
    }

    struct Logger {
        var mn: String
        var uplinks: [Uplink] = []
        var answers: [String: [Answer]] = [:]
        /// Index of the latest uplink per QN (for the recorded acknowledgements).
        var latestByQN: [String: Int] = [:]
    }

    static let maxFrames = 500_000
    static let maxBytes = 128 << 20
    static let maxAnswers = 64

    var loggers: [Logger] = []
    var indexByMN: [String: Int] = [:]
    var firstTime: Int64?
    var hasDayRecords = false
    var truncated = false
    var bytes = 0
    var downFrames = 0

    /// MN → (new MN, new PW or nil), from `--mn-map`.
    var mnMap: [String: (mn: String, pw: String?)] = [:]

    private struct Open { var mn: String; var qn: String; var cn: String; var from: Int64?; var to: Int64? }
    private var open: [String: Open] = [:]
    private var mnOfConnection: [String: String] = [:]

    /// Adds the next recorded frame; false once the budget is full.
    mutating func add(_ f: RecordedFrame) -> Bool {
        if firstTime == nil { firstTime = f.time }
        let segmentBytes = Array(f.raw.segmentBytes)
        let segment = SegmentParser.parse(f.raw.segmentBytes).segment
        let cn = segment.cn ?? ""
        let mn = segment.mn ?? mnOfConnection[f.connection] ?? ""
        if segment.mn != nil, mnOfConnection.count < 100_000 || mnOfConnection[f.connection] != nil { mnOfConnection[f.connection] = mn }
        if !f.up {
            downFrames += 1
            if cn == "9013" || cn == "9014" {
                let qn = segment.qn ?? segment.cpValue("QN")
                if let qn, let l = indexByMN[mn], let i = loggers[l].latestByQN[qn] { loggers[l].uplinks[i].ackedInRecording = true }
            } else if cn != "9011" && cn != "9012", let qn = segment.qn {
                open[f.connection] = Open(mn: mn, qn: qn, cn: cn, from: segment.cpValue("BeginTime").flatMap { HJTime($0) }?.wallMilliseconds,
                                          to: segment.cpValue("EndTime").flatMap { HJTime($0) }?.wallMilliseconds)
                let l = logger(mn)
                if loggers[l].answers[cn, default: []].count < Self.maxAnswers { loggers[l].answers[cn, default: []].append(Answer(requestQN: qn)) }
                else { open[f.connection] = nil }
            }
            return true
        }
        guard bytes + segmentBytes.count <= Self.maxBytes, frameCount < Self.maxFrames else {
            truncated = true
            return false
        }
        let l = logger(mn)
        let mapped = mapIdentity(segmentBytes)
        if let r = open[f.connection], r.mn == mn {
            let dt = segment.cpValue("DataTime").flatMap { HJTime($0) }?.wallMilliseconds
            let history = cn == r.cn && dt != nil && r.from != nil && r.to != nil && dt! >= r.from! && dt! <= r.to!
            if history || segment.qn == r.qn || segment.cpValue("QN") == r.qn {
                if var list = loggers[l].answers[r.cn], !list.isEmpty {
                    list[list.count - 1].segments.append(mapped)
                    loggers[l].answers[r.cn] = list
                }
                bytes += mapped.count
                if cn == "9012" || (cn == "9011" && segment.cpValue("QnRtn") != "1") { open[f.connection] = nil }
                return true
            }
        }
        if cn == "2031" { hasDayRecords = true }
        if let qn = segment.qn { loggers[l].latestByQN[qn] = loggers[l].uplinks.count }
        let original = mapped == segmentBytes ? Array(f.raw.bytes[..<f.raw.crcField.upperBound]) : nil
        loggers[l].uplinks.append(Uplink(at: f.time, segment: mapped, qn: segment.qn, cn: cn, original: original, asksAck: segment.flag?.needsAck ?? false))
        frameCount += 1
        bytes += mapped.count + (original?.count ?? 0)
        return true
    }

    var frameCount = 0

    private mutating func logger(_ mn: String) -> Int {
        if let i = indexByMN[mn] { return i }
        indexByMN[mn] = loggers.count
        loggers.append(Logger(mn: mnMap[mn]?.mn ?? mn))
        return loggers.count - 1
    }

    /// The segment with its MN (and PW) replaced per `--mn-map`.
    func mapIdentity(_ segment: [UInt8]) -> [UInt8] {
        guard !mnMap.isEmpty else { return segment }
        var mapping: (mn: String, pw: String?)?
        _ = ReplayRewrite.edit(segment) { key, value in
            if key == "MN" { mapping = mnMap[value] }
            return nil
        }
        guard let m = mapping else { return segment }
        return ReplayRewrite.edit(segment) { key, _ in
            if key == "MN" { return m.mn }
            if key == "PW", let pw = m.pw { return pw }
            return nil
        }
    }

    /// How far `--rewrite-time` moves the recording: from its first frame to `now` (China local
    /// ms), rounded down to whole hours, or whole days when it holds day records, so that every
    /// DataTime stays on its period boundary (minute, hour, day) and nothing lands in the future.
    func timeShift(now: Int64) -> Int64 {
        guard let first = firstTime else { return 0 }
        let unit: Int64 = hasDayRecords ? 86_400_000 : 3_600_000
        let d = now - first
        return d >= 0 ? d / unit * unit : -((-d + unit - 1) / unit * unit)
    }
}

/// Byte-level edits of a data segment: field values replaced in place, the rest kept byte for
/// byte (so a replayed frame differs from the recorded one only where asked).
enum ReplayRewrite {
    /// Calls `change(key, value)` for every `KEY=VALUE` field of the segment (header and CP);
    /// a non-nil result replaces the value. Field boundaries: start, `;`, `,`, `&&`.
    static func edit(_ segment: [UInt8], _ change: (String, String) -> String?) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(segment.count + 8)
        var i = 0
        let n = segment.count
        func isDelimiter(_ b: UInt8) -> Bool { b == UInt8(ascii: ";") || b == UInt8(ascii: ",") || b == UInt8(ascii: "&") }
        while i < n {
            // A field starts here: read the key up to '=' (or a delimiter: not a field).
            var k = i
            while k < n && segment[k] != UInt8(ascii: "=") && !isDelimiter(segment[k]) { k += 1 }
            guard k < n, segment[k] == UInt8(ascii: "="), k > i else {
                // Not a field: copy up to and including the delimiter.
                let end = min(n, k + 1)
                out += segment[i..<end]
                i = end
                continue
            }
            var v = k + 1
            // "CP=&&": the CP key's value is the '&&…&&' body, whose fields are edited in turn.
            if segment[i..<k].elementsEqual("CP".utf8) {
                out += segment[i...k]
                i = k + 1
                continue
            }
            while v < n && !isDelimiter(segment[v]) { v += 1 }
            let key = String(decoding: segment[i..<k], as: UTF8.self)
            let value = String(decoding: segment[(k + 1)..<v], as: UTF8.self)
            out += segment[i...k]
            if let new = change(key, value) { out += Array(new.utf8) } else { out += segment[(k + 1)..<v] }
            i = v
        }
        return out
    }

    /// QN (17 digits) and every `…Time` field of 14 digits moved by `ms`.
    static func shiftTimes(_ segment: [UInt8], by ms: Int64) -> [UInt8] {
        guard ms != 0 else { return segment }
        return edit(segment) { key, value in
            if key == "QN", value.utf8.count == 17, let t = HJTime(value, allowMilliseconds: true), t.isValid {
                return HJTime(wallMilliseconds: t.wallMilliseconds + ms).text17
            }
            if key.hasSuffix("Time"), value.utf8.count == 14, let t = HJTime(value), t.isValid {
                return HJTime(wallMilliseconds: t.wallMilliseconds + ms).text14
            }
            return nil
        }
    }

    /// The header QN (and a CP `QN`) replaced when it equals `old`.
    static func replaceQN(_ segment: [UInt8], old: String, new: String) -> [UInt8] {
        edit(segment) { key, value in key == "QN" && value == old ? new : nil }
    }
}
