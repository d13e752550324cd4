import HJ212

/// QNs for the probe's packets: China time with milliseconds, strictly increasing within a run
/// (so unique), as HJ 212-2017 Table 3 asks.
///
/// The QNs run one second behind the clock: a platform that answers with a fresh QN of its own
/// instead of echoing (a fault the checks must attribute right) takes it from its clock at the
/// time of answering, which then never equals a QN the probe sent a moment earlier.
final class QNSource {
    private var last: Int64 = .min
    static let lag: Int64 = 1_000

    func next() -> String {
        let t = Swift.max(chinaWallMilliseconds() - Self.lag, last == .min ? .min : last + 1)
        last = t
        return HJTime(wallMilliseconds: t).text17
    }
}

/// The packets the probe sends, built as a well-behaved HJ 212-2017 logger would (Appendix C
/// forms), with DataTimes aligned to their periods in China time.
struct ProbePackets {
    var mn: String
    var pw: String
    var st: String

    static func time14(_ ms: Int64) -> String { HJTime(wallMilliseconds: ms).text14 }

    /// A packet: `QN;ST;CN;PW;MN;Flag;CP`.
    func segment(cn: CommandCode, qn: String?, flag: Int?, cp: [[Field]], st stOverride: String? = nil, mn mnOverride: String? = nil,
                 pw pwOverride: String? = nil) -> DataSegment {
        var header: [Field] = []
        if let qn { header.append(Field("QN", qn)) }
        header.append(Field("ST", stOverride ?? st))
        header.append(Field("CN", cn.rawValue))
        header.append(Field("PW", pwOverride ?? pw))
        header.append(Field("MN", mnOverride ?? mn))
        if let flag { header.append(Field("Flag", String(flag))) }
        return DataSegment(header: header, cp: cp)
    }

    /// The CP of an upload of `cn` at `now` (China wall milliseconds).
    static func uploadCP(_ cn: CommandCode, now: Int64) -> [[Field]] {
        let minute: Int64 = 60_000, hour: Int64 = 3_600_000, day: Int64 = 86_400_000
        func aggregate(_ code: String, _ avg: String, cou: String? = nil) -> [Field] {
            var g: [Field] = []
            if let cou { g.append(Field("\(code)-Cou", cou)) }
            g += [Field("\(code)-Min", avg), Field("\(code)-Avg", avg), Field("\(code)-Max", avg), Field("\(code)-Flag", "N")]
            return g
        }
        switch cn {
        case .realTimeData:
            return [[Field("DataTime", time14(now / 1000 * 1000))],
                    [Field("w01018-Rtd", "42.1"), Field("w01018-Flag", "N")],
                    [Field("w21003-Rtd", "1.25"), Field("w21003-Flag", "N")],
                    [Field("w00000-Rtd", "12.5"), Field("w00000-Flag", "N")]]
        case .minuteData:
            let t = now / (10 * minute) * (10 * minute) - 10 * minute
            return [[Field("DataTime", time14(t))], aggregate("w00000", "12.5", cou: "7.5"), aggregate("w01018", "42.1", cou: "0.316"),
                    aggregate("w21003", "1.25", cou: "0.009")]
        case .hourData:
            let t = now / hour * hour - hour
            return [[Field("DataTime", time14(t))], aggregate("w00000", "12.5", cou: "45.0"), aggregate("w01018", "42.1", cou: "1.895"),
                    aggregate("w21003", "1.25", cou: "0.056")]
        case .dailyData:
            let t = now / day * day - day
            return [[Field("DataTime", time14(t))], aggregate("w00000", "12.5", cou: "1080.0"), aggregate("w01018", "42.1", cou: "45.47"),
                    aggregate("w21003", "1.25", cou: "1.35")]
        case .dailyRunningTime:
            let t = now / day * day - day
            return [[Field("DataTime", time14(t))], [Field("SB1-RT", "23.5")]]
        case .runningStatus:
            return [[Field("DataTime", time14(now / 1000 * 1000))], [Field("SB1-RS", "1")]]
        case .bootTime:
            return [[Field("DataTime", time14(now / 1000 * 1000))], [Field("RestartTime", time14(now / 1000 * 1000 - 60_000))]]
        case .loggerInfo:
            return [[Field("DataTime", time14(now / 1000 * 1000))], [Field("PolId", "w01018")], [Field("i12001-Info", "1")], [Field("i12003-Info", "0")]]
        default:
            return []
        }
    }

    /// A 2061 hour record long enough to need splitting (about 2.5 KB), split into Flag=7
    /// packets with PNUM/PNO and consecutive QNs (C.49/C.50).
    func splitRecord(qn: String, now: Int64) -> [DataSegment] {
        let hour: Int64 = 3_600_000
        var cp: [[Field]] = [[Field("DataTime", Self.time14(now / hour * hour - hour))]]
        // Wastewater working-condition factors (Table B.5, e-codes with equipment numbers).
        for kind in ["e101", "e102", "e103", "e104", "e105", "e106", "e107", "e108"] {
            for unit in 1...4 {
                let code = "\(kind)\(unit < 10 ? "0" : "")\(unit)"
                cp.append([Field("\(code)-Min", "1.0"), Field("\(code)-Avg", "1.5"), Field("\(code)-Max", "2.0"), Field("\(code)-Flag", "N")])
            }
        }
        let whole = segment(cn: .hourData, qn: qn, flag: 5, cp: cp)
        return (try? PacketSplitter.split(whole)) ?? [whole]
    }

    /// An unsplit 2061 whose data segment is over 1024 bytes (about 1500).
    func oversized(qn: String, now: Int64) -> DataSegment {
        let hour: Int64 = 3_600_000
        var cp: [[Field]] = [[Field("DataTime", Self.time14(now / hour * hour - hour))]]
        var n = 1
        while true {
            let code = "e101\(n < 10 ? "0" : "")\(n)"
            cp.append([Field("\(code)-Min", "1.0"), Field("\(code)-Avg", "1.5"), Field("\(code)-Max", "2.0"), Field("\(code)-Flag", "N")])
            n += 1
            let s = segment(cn: .hourData, qn: qn, flag: 5, cp: cp)
            if s.serializedBytes().count > 1400 || n > 99 { return s }
        }
    }

    /// An HJ/T 212-2005 2051 (Flag=1, 3-character codes, §9.1).
    func legacy2051(qn: String, now: Int64) -> DataSegment {
        let t = now / 600_000 * 600_000 - 600_000
        return segment(cn: .minuteData, qn: qn, flag: 1, cp: [[Field("DataTime", Self.time14(t))],
                                                          [Field("B01-Cou", "7.5")],
                                                          [Field("011-Min", "40.1"), Field("011-Avg", "42.1"), Field("011-Max", "44.0"), Field("011-Flag", "N")]])
    }

    /// Hebei-scheme dynamic-control parameters of a water analyser (EXTENSIONS.md §4.1).
    func dynamicControl3020(qn: String, now: Int64) -> DataSegment {
        let t = Self.time14(now / 1000 * 1000)
        return segment(cn: .loggerInfo, qn: qn, flag: 5, cp: [[Field("DataTime", t)], [Field("PolId", "w01018")],
                                                          [Field("i12101-Info", "1")], [Field("i12102-Info", "0")], [Field("i12103-Info", "0")],
                                                          [Field("i13101-Info", Self.time14(now / 3_600_000 * 3_600_000 - 3_600_000))],
                                                          [Field("i13104-Info", "0.00")], [Field("i13107-Info", Self.time14(now / 3_600_000 * 3_600_000 - 3_600_000))]])
    }

    /// Working-condition (工况) real-time data, ST=51 with Table B.5 e-codes (C.29).
    func process2011(qn: String, now: Int64) -> DataSegment {
        segment(cn: .realTimeData, qn: qn, flag: 5, cp: [[Field("DataTime", Self.time14(now / 1000 * 1000))],
                                                   [Field("e10101-Rtd", "12.5"), Field("e10101-Flag", "N")],
                                                   [Field("e10201-Rtd", "210.0"), Field("e10201-Flag", "N")]], st: "51")
    }
}
