import HJ212
import HJSimulation

/// Real generated uploads of one unit template, prepared so that the sender only stamps them:
/// each logger's packets get its own QN, PW and MN (and, for real-time data, a DataTime of the
/// send second), and a fresh CRC. Everything else is the generator's output.
///
/// The pool is an hour of the unit's simulated uploads that ask for an acknowledgement (2011,
/// 2051, 2061, 3020 …, in their natural proportion); 2081 (boot), split packets (PNUM/PNO) and
/// ST=91 heartbeats are left out, since replaying them out of context would be wrong.
///
/// `Sendable`: immutable after `init`.
///
/// ```swift
/// let pool = try PayloadPool(unit: "industrial-wastewater")
/// var frame: [UInt8] = []
/// pool.frame(entry: 0, qn: qnDigits, pw: Array("123456".utf8), mn: mnBytes, into: &frame)
/// ```
public final class PayloadPool: Sendable {
    /// One prepared packet: `QN=` + 17 digits + `beforePW` + PW + `;MN=` + MN + `tail`.
    public struct Entry: Sendable {
        /// The packet's command number (2011, 2051 …).
        public let cn: String
        /// `;ST=32;CN=2011;PW=`
        let beforePW: [UInt8]
        /// `;Flag=5;CP=&&DataTime=…&&`
        let tail: [UInt8]
        /// Offset in `tail` of the 14 DataTime digits to restamp (real-time data only).
        let dataTimeOffset: Int?
    }

    /// The unit template's name.
    public let unit: String
    /// The unit template.
    public let template: UnitTemplate
    /// The prepared packets, in the order generated.
    public let entries: [Entry]
    /// The unit's real-time interval (RtdInterval), for `--cadence realtime`.
    public var rtdIntervalMilliseconds: Int64 { Int64(template.rtdIntervalSeconds) * 1000 }

    /// Generates the pool of `unit` (a built-in template name or a path): one simulated hour.
    public convenience init(unit: String, store: ProfileStore = .builtin, seed: UInt64 = 1) throws {
        try self.init(template: UnitTemplate.load(unit, from: store), seed: seed)
    }

    /// Generates the pool of a template: one simulated hour from `start`, deterministic for `seed`.
    public init(template: UnitTemplate, seed: UInt64 = 1, start: Int64 = HJTime(year: 2026, month: 11, day: 30).wallMilliseconds) throws {
        self.unit = template.name
        self.template = template
        var sim = try UnitSimulator(template: template, identity: LoggerIdentity(mn: String(repeating: "0", count: 24), pw: "123456"),
                                    seed: seed, start: start)
        var entries: [Entry] = []
        sim.advance(to: start + 3_600_000) { packet in
            let s = packet.segment
            guard let flag = s.flag, flag.needsAck, !flag.isSplit, s.pnum == nil, !s.isCN(.bootTime), !s.isST(.systemInteraction),
                  let st = s.st, let cn = s.cn, let cpStart = Self.find(Array("CP=&&".utf8), in: packet.bytes) else { return }
            let bytes = packet.bytes
            // Header fields after MN (Flag, and anything else but QN/ST/CN/PW/MN), then the CP as generated.
            var tail: [UInt8] = []
            for f in s.header where !["QN", "ST", "CN", "PW", "MN"].contains(f.name) {
                tail += Array(";\(f.name)=\(f.value)".utf8)
            }
            tail.append(UInt8(ascii: ";"))
            tail += bytes[cpStart...]
            var dataTime: Int?
            if cn == CommandCode.realTimeData.rawValue, let d = Self.find(Array("DataTime=".utf8), in: tail), d + 9 + 14 <= tail.count {
                dataTime = d + 9
            }
            entries.append(Entry(cn: cn, beforePW: Array(";ST=\(st);CN=\(cn);PW=".utf8), tail: tail, dataTimeOffset: dataTime))
        }
        guard !entries.isEmpty else {
            throw LoadSpecError("unit '\(template.name)' generated no acknowledged uploads")
        }
        self.entries = entries
    }

    /// A pool of entries prepared elsewhere (packets taken from a recording: `PayloadPool+Recorded.swift`).
    init(unit: String, template: UnitTemplate, entries: [Entry]) {
        self.unit = unit
        self.template = template
        self.entries = entries
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard needle.count <= haystack.count else { return nil }
        var i = 0
        while i + needle.count <= haystack.count {
            if haystack[i] == needle[0] && haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }

    /// Writes the frame of entry `index` (modulo the pool) for one logger into `out` (replacing
    /// its contents): `##`, length, segment, CRC, CR LF. `qn` is the 17 QN digits.
    public func frame(entry index: Int, qn: UnsafeBufferPointer<UInt8>, pw: [UInt8], mn: [UInt8], into out: inout [UInt8]) {
        let e = entries[index % entries.count]
        let length = 3 + 17 + e.beforePW.count + pw.count + 4 + mn.count + e.tail.count
        out.removeAll(keepingCapacity: true)
        out.reserveCapacity(length + 12)
        out.append(UInt8(ascii: "#"))
        out.append(UInt8(ascii: "#"))
        let n = length % 10000
        out.append(UInt8(48 + n / 1000))
        out.append(UInt8(48 + n / 100 % 10))
        out.append(UInt8(48 + n / 10 % 10))
        out.append(UInt8(48 + n % 10))
        out.append(UInt8(ascii: "Q"))
        out.append(UInt8(ascii: "N"))
        out.append(UInt8(ascii: "="))
        out.append(contentsOf: qn)
        out.append(contentsOf: e.beforePW)
        out.append(contentsOf: pw)
        out.append(contentsOf: Self.mnKey)
        out.append(contentsOf: mn)
        let tailStart = out.count
        out.append(contentsOf: e.tail)
        if let d = e.dataTimeOffset, qn.count >= 14 {
            for k in 0..<14 { out[tailStart + d + k] = qn[k] }
        }
        let crc = CRC.hj212(out[6..<out.count])
        out.append(contentsOf: CRC.hexBytes(crc))
        out.append(0x0D)
        out.append(0x0A)
    }

    static let mnKey = Array(";MN=".utf8)
}

/// QN digits (`YYYYMMDDhhmmsszzz`) of wall-clock milliseconds, fast: the date and minute part is
/// cached, seconds and milliseconds are written directly. Also gives the QN as a number, the key
/// acknowledgements are matched by.
///
/// Not `Sendable`: one per event loop.
struct QNStamper {
    private var minute: Int64 = .min
    private var prefix: [UInt8] = []
    private var prefixValue: Int64 = 0
    var digits = [UInt8](repeating: 48, count: 17)

    /// Fills `digits` for `ms` and returns the QN as a number.
    mutating func stamp(_ ms: Int64) -> Int64 {
        let m = ms >= 0 ? ms / 60_000 : (ms - 59_999) / 60_000
        if m != minute {
            minute = m
            let text = HJTime(wallMilliseconds: m * 60_000).text17
            prefix = Array(text.utf8.prefix(12))
            prefixValue = 0
            for d in prefix { prefixValue = prefixValue &* 10 &+ Int64(d &- 48) }
            prefixValue = prefixValue &* 100_000
            for k in 0..<12 { digits[k] = prefix[k] }
        }
        let rest = Int(ms - m * 60_000)  // 0..<60000
        let s = rest / 1000, z = rest % 1000
        digits[12] = UInt8(48 + s / 10)
        digits[13] = UInt8(48 + s % 10)
        digits[14] = UInt8(48 + z / 100)
        digits[15] = UInt8(48 + z / 10 % 10)
        digits[16] = UInt8(48 + z % 10)
        return prefixValue &+ Int64(rest)
    }
}
