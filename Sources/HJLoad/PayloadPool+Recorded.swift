import HJ212
import HJSimulation

extension PayloadPool {
    /// Most packets a recorded pool keeps (the first ones of the recording).
    public static let maxRecordedEntries = 100_000

    /// A pool of packets taken from real traffic (`load --payloads TRACE|CAPTURE`): the data
    /// segments of the recording's uplinks, stamped per logger exactly as generated packets are.
    /// The load tool needs its own QNs (one per scheduled millisecond, unique per logger: they
    /// are what acknowledgements are matched by), so each packet's QN is replaced, its PW and MN
    /// are the load logger's, and the DataTime of real-time data (2011) is the send second;
    /// every other byte (ST, CN, Flag, the whole CP with its DataTime and values) is as
    /// recorded. As for generated pools, only uploads that ask for an acknowledgement are kept
    /// (2081 boot packets, split packets and ST=91 packets are left out).
    ///
    /// `rtdIntervalMilliseconds`: the recording's real-time interval (for `--cadence realtime`),
    /// when known; otherwise the template's.
    ///
    /// ```swift
    /// let pool = try PayloadPool(recorded: segments, name: "site.pcapng", template: try UnitTemplate.load("industrial-wastewater"))
    /// ```
    public convenience init<S: Sequence>(recorded segments: S, name: String, template: UnitTemplate, rtdIntervalMilliseconds: Int64? = nil) throws
    where S.Element == [UInt8] {
        var entries: [Entry] = []
        let cpKey = Array("CP=&&".utf8)
        for bytes in segments {
            guard entries.count < Self.maxRecordedEntries else { break }
            let s = SegmentParser.parse(bytes[...]).segment
            guard let flag = s.flag, flag.needsAck, !flag.isSplit, s.pnum == nil, s.cn != "2081", s.st != "91",
                  let st = s.st, let cn = s.cn, s.qn != nil, let cpStart = Self.find(cpKey, in: bytes) else { continue }
            var tail: [UInt8] = []
            for f in s.header where !["QN", "ST", "CN", "PW", "MN"].contains(f.name) { tail += Array(";\(f.name)=\(f.value)".utf8) }
            tail.append(UInt8(ascii: ";"))
            tail += bytes[cpStart...]
            var dataTime: Int?
            if cn == "2011", let d = Self.find(Array("DataTime=".utf8), in: tail), d + 9 + 14 <= tail.count,
               tail[(d + 9)..<(d + 23)].allSatisfy({ $0 >= 48 && $0 <= 57 }) {
                dataTime = d + 9
            }
            entries.append(Entry(cn: cn, beforePW: Array(";ST=\(st);CN=\(cn);PW=".utf8), tail: tail, dataTimeOffset: dataTime))
        }
        guard !entries.isEmpty else {
            throw LoadSpecError("\(name) holds no upload that asks for an acknowledgement (Flag A=1; 2081, split and ST=91 packets are not used)")
        }
        var t = template
        if let ms = rtdIntervalMilliseconds, ms >= 1000, ms <= 3_600_000 { t.rtdIntervalSeconds = Int(ms / 1000) }
        self.init(unit: "recorded \(name)", template: t, entries: entries)
    }
}
