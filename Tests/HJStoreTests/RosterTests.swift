import Foundation
import HJ212
@testable import HJ212CLI
import HJRoles
import HJSimulation
@testable import HJStore
import Testing
import TestSupport

/// A 2061 record of the given factors (each with Avg and a flag), as a logger sends it.
func hour(_ mn: String, _ day: Int, _ h: Int, codes: [String], flag: (String) -> String = { _ in "N" }, qnSuffix: Int = 1) -> [UInt8] {
    FrameEncoder.frame(hourSegment(mn, day, h, codes: codes, flag: flag, qnSuffix: qnSuffix))
}

func hourSegment(_ mn: String, _ day: Int, _ h: Int, codes: [String], flag: (String) -> String = { _ in "N" }, qnSuffix: Int = 1) -> DataSegment {
    let dt = "202611\(day < 10 ? "0" : "")\(day)\(h < 10 ? "0" : "")\(h)0000"
    var cp: [[Field]] = [[Field("DataTime", dt)]]
    for c in codes { cp.append([Field("\(c)-Avg", "1.5"), Field("\(c)-Flag", flag(c))]) }
    let qn = String(dt.prefix(12)) + "05" + String(format: "%03d", qnSuffix)
    return DataSegment(header: [Field("QN", qn), Field("ST", "32"), Field("CN", "2061"), Field("PW", "123456"), Field("MN", mn), Field("Flag", "5")], cp: cp)
}

/// A JSON Lines trace of frames sent up (each without its CR LF), at `t`.
func traceText(_ frames: [[UInt8]], t: String = "2026-11-03T00:00:00.000+08:00") -> String {
    var trace = ""
    for frame in frames {
        let text = String(decoding: frame.prefix(frame.count - 2), as: UTF8.self)
        var line = ""
        JSONValue.writeString(text, to: &line)
        trace += "{\"t\":\"\(t)\",\"dir\":\"up\",\"peer\":\"127.0.0.1:1\",\"frame\":\(line)}\n"
    }
    return trace
}

func storeWith(_ path: String, _ frames: [[UInt8]]) throws -> Store {
    let store = try Store(path: path)
    var batch = StoreBatch()
    batch.add(try journal(frames).0)
    try store.write(batch)
    return store
}

@Suite("Roster")
struct RosterTests {
    /// mixed-demo's first six rows with roster columns set in code.
    func fleet() throws -> Fleet {
        var f = try Fleet.load("mixed-demo")
        f.units = Array(f.units.prefix(6))
        f.units[3].roster.assessed = false
        f.units[3].roster.reason = "停产"
        f.units[4].roster.installedSince = HJTime(year: 2026, month: 11, day: 2, hour: 12)
        f.units[5].roster.notInstalled = true
        f.units[5].roster.assessed = false
        f.units[5].roster.reason = "新建未验收"
        return f
    }

    /// Period: 2026-11-01 and 02 (48 hours); now 2026-11-10, so nothing is provisional.
    let period = RosterPeriod(from: HJTime(year: 2026, month: 11, day: 1), to: HJTime(year: 2026, month: 11, day: 3))
    let now = HJTime(year: 2026, month: 11, day: 10)

    /// u0: 40 valid hours; u1: 30 hours, 6 with flag D on one pollutant; u2: 10 hours lacking a pollutant;
    /// u3 (not assessed): 5 hours; u4 (installed 11-02 12:00): 12 hours of which 2 before installation; u5: nothing.
    func frames(_ f: Fleet) -> [[UInt8]] {
        let u = f.units
        var out: [[UInt8]] = []
        for i in 0..<40 { out.append(hour(u[0].identity.mn, 1 + i / 24, i % 24, codes: u[0].pollutants)) }
        for i in 0..<30 {
            out.append(hour(u[1].identity.mn, 1 + i / 24, i % 24, codes: u[1].pollutants, flag: { c in i < 6 && c == u[1].pollutants[2] ? "D" : "N" }))
        }
        for i in 0..<10 { out.append(hour(u[2].identity.mn, 1, i, codes: Array(u[2].pollutants.dropLast()))) }
        for i in 0..<5 { out.append(hour(u[3].identity.mn, 1, i, codes: u[3].pollutants)) }
        for i in 10..<22 { out.append(hour(u[4].identity.mn, 2, i, codes: u[4].pollutants)) }
        return out
    }

    @Test("hours due, received and valid, the three rates, 联网情况 and county totals follow the stated method")
    func figures() throws {
        let f = try fleet()
        let dir = scratchDirectory("roster")
        let store = try storeWith(dir + "/a.db", frames(f))
        var evidence = RosterEvidence(fleet: f)
        try evidence.add(store: store, period: period)
        let roster = Roster(fleet: f, evidence: evidence, period: period, now: now)
        let r = roster.rows
        #expect(r.map(\.hours.due) == [48, 48, 48, 48, 12, 0])
        #expect(r.map(\.hours.received) == [40, 30, 10, 5, 10, 0])
        #expect(r.map(\.hours.valid) == [40, 24, 0, 5, 10, 0])
        #expect(r.map(\.networked) == [.networked, .abnormal, .factorsMissing, .networked, .networked, .notNetworked])
        #expect(r.map(\.installed) == [true, true, true, true, true, false])
        #expect(r[1].hours.validityRate == 0.8)
        #expect(r[1].invalidCauses == ["D 故障": 6])
        #expect(r[1].networkedReason.contains("D 故障 6 h"))
        #expect(r[2].networkedReason.contains(f.units[2].pollutants.last!))
        #expect(r[4].hours.effectiveRate.map { abs($0 - 10.0 / 12) < 1e-9 } == true)
        #expect(r[5].networkedReason == "未安装设备")
        #expect(!roster.provisional)
        // County totals count assessed units only (u3 and u5 are not assessed).
        #expect(roster.total.assessed == 4)
        #expect(roster.total.hours == Roster.Hours(due: 48 * 3 + 12, received: 90, valid: 74))
        // u0 40/48, u1 24/48, u2 0/48, u4 10/12: all below 90 %; u3 is not assessed.
        #expect(roster.total.belowMark == 4)
        #expect(roster.belowMark.map(\.index) == [1, 2, 3, 5])
    }

    @Test("several stores merge: an hour received by two platforms counts once, and a valid copy wins")
    func merge() throws {
        let f = try fleet()
        let dir = scratchDirectory("roster-merge")
        let mn = f.units[0].identity.mn, codes = f.units[0].pollutants
        let a = try storeWith(dir + "/a.db", (0..<10).map { h in hour(mn, 1, h, codes: codes, flag: { _ in h < 5 ? "C" : "N" }) })
        let b = try storeWith(dir + "/b.db", (0..<20).map { hour(mn, 1, $0, codes: codes, qnSuffix: 2) })
        var evidence = RosterEvidence(fleet: f)
        try evidence.add(store: a, period: period)
        try evidence.add(store: b, period: period)
        let row = Roster(fleet: f, evidence: evidence, period: period, now: now).rows[0]
        #expect(row.hours.received == 20)
        #expect(row.hours.valid == 20)
    }

    @Test("a trace gives the same roster as the store of the same traffic")
    func traceEqualsStore() throws {
        let f = try fleet()
        let dir = scratchDirectory("roster-trace")
        let all = frames(f)
        let store = try storeWith(dir + "/a.db", all)
        var fromStore = RosterEvidence(fleet: f)
        try fromStore.add(store: store, period: period)
        let trace = traceText(all) + "not json\n{\"dir\":\"up\"}\n"
        var fromTrace = RosterEvidence(fleet: f)
        let counted = fromTrace.add(traceText: Substring(trace), period: period)
        #expect(counted.frames == all.count)
        #expect(counted.skipped == 1)  // the line without a frame; the line without "up" is not a logger's frame
        #expect(fromTrace.hours == fromStore.hours)
    }

    /// The evidence of the same frames through a store (a real platform session) and a trace.
    func bothWays(_ f: Fleet, _ frames: [[UInt8]], _ name: String) throws -> (store: RosterEvidence, trace: RosterEvidence) {
        let store = try storeWith(scratchDirectory(name) + "/a.db", frames)
        var fromStore = RosterEvidence(fleet: f)
        try fromStore.add(store: store, period: period)
        var fromTrace = RosterEvidence(fleet: f)
        fromTrace.add(traceText: Substring(traceText(frames)), period: period)
        return (fromStore, fromTrace)
    }

    @Test("a HJ/T 212-2005 unit (14-character MN, 2005 codes, no QN or Flag): its hours count under the fleet's 2017 codes, from a store as from a trace")
    func unit2005() throws {
        var f = try fleet()
        let dictionary = CodeDictionary.shared(.hj2017)
        func code2005(_ c: String) -> String? { dictionary.factor(c).map(\.code2005).flatMap { $0 == "-" || $0.isEmpty ? nil : $0 } }
        // The wastewater unit's pollutants that HJ/T 212-2005 had (w01010 water temperature had no code then).
        let i = 0
        f.units[i].pollutants = f.units[i].pollutants.filter { code2005($0) != nil }
        #expect(f.units[i].pollutants.count >= 3)
        f.units[i].identity = LoggerIdentity(mn: "LD130133000015", pw: "123456")
        let u = f.units[i]
        var frames: [[UInt8]] = []
        for h in 0..<48 {
            let cp = u.pollutants.map { c in "\(code2005(c)!)-Avg=1.5,\(code2005(c)!)-Flag=\(h == 5 ? "D" : "N")" }.joined(separator: ";")
            frames.append(FrameEncoder.frame(String(format: "ST=32;CN=2061;PW=123456;MN=%@;CP=&&DataTime=202611%02d%02d0000;%@&&", u.identity.mn, 1 + h / 24, h % 24, cp)))
        }
        let (fromStore, fromTrace) = try bothWays(f, frames, "roster-2005")
        #expect(fromTrace.hours == fromStore.hours)
        let row = Roster(fleet: f, evidence: fromStore, period: period, now: now).rows[i]
        #expect(row.hours == Roster.Hours(due: 48, received: 48, valid: 47), "\(row.hours)")
        #expect(row.networked == .networked && row.invalidCauses == ["D 故障": 1], "\(row.networkedReason) \(row.invalidCauses)")
    }

    @Test("a frame that is not UTF-8 (GBK text) counts from a trace as from a store: its exact bytes come from frame_hex")
    func nonUTF8Frame() throws {
        let f = try fleet()
        let u = f.units[0]
        var segment = Array(hourSegment(u.identity.mn, 1, 3, codes: u.pollutants).serialized().utf8)
        // A vendor's free-text field in GBK ("中文") before the closing &&.
        segment.insert(contentsOf: Array(";Info=".utf8) + [0xD6, 0xD0, 0xCE, 0xC4], at: segment.count - 2)
        let frame = FrameEncoder.frame(segmentBytes: segment)
        var line = "{\"t\":\"2026-11-03T00:00:00.000+08:00\",\"dir\":\"up\",\"peer\":\"127.0.0.1:1\""
        TraceFrameBytes.write(frame.dropLast(2), to: &line)
        line += "}\n"
        let store = try storeWith(scratchDirectory("roster-gbk") + "/a.db", [frame])
        var fromStore = RosterEvidence(fleet: f)
        try fromStore.add(store: store, period: period)
        var fromTrace = RosterEvidence(fleet: f)
        fromTrace.add(traceText: Substring(line), period: period)
        #expect(fromStore.hours[u.identity.mn]?.count == 1)
        #expect(fromTrace.hours == fromStore.hours && fromTrace.skipped.refusedFrames == 0, "\(fromTrace.skipped)")
    }

    @Test("a CRC field is four hex digits: '+1C8' is not the CRC 01C8, so the frame is not counted")
    func crcWithSign() throws {
        // A segment whose CRC starts with a 0 digit.
        var k = 0
        var segment = ""
        repeat {
            k += 1
            segment = "QN=2026110100000\(String(format: "%04d", k));ST=32;CN=2061;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&DataTime=20261101000000&&"
        } while CRC.hj212(Array(segment.utf8)) >= 0x1000
        var frame = FrameEncoder.frame(segment, trailer: false)
        #expect(RosterEvidence.acknowledgeable(frame) != nil)
        frame[frame.count - 4] = UInt8(ascii: "+")
        #expect(RosterEvidence.acknowledgeable(frame) == nil)
    }

    @Test("a record split over several packets (PNUM/PNO) counts once, whole, from a trace as from a store")
    func splitRecords() throws {
        let f = try fleet()
        let u = f.units[0]
        var frames: [[UInt8]] = []
        for h in 0..<3 {
            let parts = try PacketSplitter.split(hourSegment(u.identity.mn, 1, h, codes: u.pollutants), limit: 160)
            #expect(parts.count > 1, "the record must be split for this test")
            frames += parts.map { FrameEncoder.frame($0) }
        }
        let (fromStore, fromTrace) = try bothWays(f, frames, "roster-split")
        #expect(fromStore.hours[u.identity.mn]?.count == 3)
        #expect(fromTrace.hours == fromStore.hours)
        let row = Roster(fleet: f, evidence: fromTrace, period: period, now: now).rows[0]
        #expect(row.hours.received == 3 && row.hours.valid == 3 && row.networked == .networked)
    }

    @Test("an hour record whose DataTime is no real hour (hour 24, minute 60, 31 November) is not counted: received never exceeds due")
    func impossibleDataTimes() throws {
        let f = try fleet()
        let u = f.units[0]
        func record(_ dataTime: String, _ n: Int) -> [UInt8] {
            var cp: [[Field]] = [[Field("DataTime", dataTime)]]
            for c in u.pollutants { cp.append([Field("\(c)-Avg", "1.5"), Field("\(c)-Flag", "N")]) }
            return FrameEncoder.frame(DataSegment(header: [Field("QN", "20261102010000\(100 + n)"), Field("ST", "32"), Field("CN", "2061"),
                                                           Field("PW", "123456"), Field("MN", u.identity.mn), Field("Flag", "5")], cp: cp))
        }
        // Inside the period's numbers, not real hours: hour 24, hour 99, minute 60, second 60.
        let frames = [record("20261102030000", 1), record("20261101240000", 2), record("20261101990000", 3), record("20261102036000", 4),
                      record("20261102030060", 5)]
        let (fromStore, fromTrace) = try bothWays(f, frames, "roster-datetime")
        for evidence in [fromStore, fromTrace] {
            #expect(evidence.hours[u.identity.mn].map { Array($0.keys) } == [2026110203])
            #expect(evidence.skipped.impossibleDataTimes == 4)
            let row = Roster(fleet: f, evidence: evidence, period: period, now: now).rows[0]
            #expect(row.hours.received == 1 && row.hours.received <= row.hours.due)
        }
        #expect(RosterEvidence.isCalendarTime(20240229120000) && !RosterEvidence.isCalendarTime(20260229120000))
        #expect(!RosterEvidence.isCalendarTime(20261301000000) && !RosterEvidence.isCalendarTime(20261201235960))
        #expect(!RosterEvidence.isCalendarTime(20261131000000) && RosterEvidence.isCalendarTime(20261130235959))
        // The same judgement as HJTime's parser, over every day of two years and some hours.
        for y in [2024, 2026] { for m in 0...13 { for d in 0...32 { for h in [0, 23, 24] {
            let t = Int64(y) * 10_000_000_000 + Int64(m) * 100_000_000 + Int64(d) * 1_000_000 + Int64(h) * 10_000
            #expect(RosterEvidence.isCalendarTime(t) == (HJTime(String(t)) != nil), "\(t)")
        } } } }
    }

    @Test("a trace counts only frames a platform would acknowledge: a bad CRC or length field is not an hour received")
    func refusedTraceFrames() throws {
        let f = try fleet()
        let u = f.units[0]
        let good = hour(u.identity.mn, 1, 1, codes: u.pollutants)
        var badCRC = hour(u.identity.mn, 1, 2, codes: u.pollutants)
        badCRC[badCRC.count - 3] = badCRC[badCRC.count - 3] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        var badLength = hour(u.identity.mn, 1, 3, codes: u.pollutants)
        badLength[5] = badLength[5] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        var lowerCRC = hour(u.identity.mn, 1, 4, codes: u.pollutants)
        for i in (lowerCRC.count - 6)..<(lowerCRC.count - 2) where lowerCRC[i] >= 65 && lowerCRC[i] <= 70 { lowerCRC[i] += 32 }
        let (fromStore, fromTrace) = try bothWays(f, [good, badCRC, badLength, lowerCRC], "roster-refused")
        #expect(fromStore.hours[u.identity.mn].map { Set($0.keys) } == [2026110101, 2026110104])
        #expect(fromTrace.hours == fromStore.hours)
        #expect(fromTrace.skipped.refusedFrames == 2)
    }

    @Test("a unit that sent hours while none was due (未安装, or before installed_since) is not told it sent nothing")
    func hoursWhileNoneDue() throws {
        var f = try fleet()
        f.units[4].roster.installedSince = HJTime(year: 2026, month: 12, day: 1)  // after the period
        let frames = (0..<3).map { hour(f.units[5].identity.mn, 1, $0, codes: f.units[5].pollutants) }
            + (0..<4).map { hour(f.units[4].identity.mn, 2, $0, codes: f.units[4].pollutants) }
        let store = try storeWith(scratchDirectory("roster-undue") + "/a.db", frames)
        var evidence = RosterEvidence(fleet: f)
        try evidence.add(store: store, period: period)
        let rows = Roster(fleet: f, evidence: evidence, period: period, now: now).rows
        for (row, text) in [(rows[5], "名录为未安装，但本期收到 3 小时数据"), (rows[4], "安装日期前收到 4 小时数据")] {
            #expect(row.hours.due == 0 && row.hours.received == 0)
            #expect(!row.networkedReason.contains("未收到"), "\(row.networkedReason)")
            #expect(row.networkedReason.contains(text), "\(row.networkedReason)")
            #expect(row.networked == .networked && row.installed)
        }
        #expect(!RosterOutput.explanation(rows[5]).contains("但已收到数据"))
    }

    @Test("MNs outside the fleet are counted and named, from stores and traces alike")
    func unknownMNs() throws {
        let f = try fleet()
        let stranger = "010000A8900100000000ABCD"
        let frames = [hour(stranger, 1, 1, codes: ["w01018"]), hour(stranger, 1, 2, codes: ["w01018"]), hour(f.units[0].identity.mn, 1, 1, codes: f.units[0].pollutants)]
        let (fromStore, fromTrace) = try bothWays(f, frames, "roster-unknown")
        for e in [fromStore, fromTrace] {
            #expect(e.skipped.unknownMNs == 1 && e.skipped.unknownSample == [stranger])
            #expect(e.hours[stranger] == nil)
        }
    }

    @Test("a rate under 90 % never reads 90.0 %; JSON carries the rate unrounded; causes are listed in a stable order")
    func ratesAndOrder() throws {
        #expect(Roster.percent(0.8996) == "89.9 %")
        #expect(Roster.percent(0.7) == "70.0 %" && Roster.percent(0.8) == "80.0 %" && Roster.percent(1.0) == "100.0 %" && Roster.percent(nil) == "-")
        #expect(Roster.percent(8999, of: 10000) == "89.9 %" && Roster.percent(2, of: 3) == "66.6 %" && Roster.percent(1, of: 0) == "-")
        for d in 1...200 { for n in 0...d { #expect(Roster.percent(Double(n) / Double(d)) == Roster.percent(n, of: d)) } }
        #expect(RosterOutput.rate(0.89996) == .double(0.89996))
        #expect(Roster.describe(causes: ["M 维护": 1, "D 故障": 1, "C 校准": 1, "缺因子": 2]) == "缺因子 2 h，C 校准 1 h，D 故障 1 h，M 维护 1 h")
    }

    @Test("CSV cells never hold a formula or a control character, from the manifest or the wire")
    func csvCells() throws {
        var f = try fleet()
        f.units[0].enterprise = "=HYPERLINK(\"http://x\",\"a\")"
        f.units[1].enterprise = "@SUM(1)"
        f.units[2].enterprise = "-2+3,公司"
        f.units[3].county = "+县\u{1B}[31m"
        let u = f.units[4]
        let frames = (0..<10).map { h in hour(u.identity.mn, 2, 12 + h, codes: u.pollutants, flag: { c in c == u.pollutants[0] ? "=cmd|\u{1B}[31m" : "N" }) }
        let store = try storeWith(scratchDirectory("roster-csv") + "/a.db", frames)
        var evidence = RosterEvidence(fleet: f)
        try evidence.add(store: store, period: period)
        let csv = RosterOutput.csv(Roster(fleet: f, evidence: evidence, period: period, now: now))
        #expect(!csv.unicodeScalars.contains { $0.value < 0x20 && $0 != "\r" && $0 != "\n" || $0.value == 0x7F })
        #expect(csv.contains("\\x1b[31m"))
        #expect(csv.contains("\"'=HYPERLINK(\"\"http://x\"\",\"\"a\"\")\"") && csv.contains(",'@SUM(1),") && csv.contains(",\"'-2+3,公司\","))
        // Split on commas outside quotes: no cell starts with = + - @ but the lone "-" of an empty rate.
        for line in csv.dropFirst().components(separatedBy: "\r\n") where !line.isEmpty {
            var cells: [String] = [], cell = "", quoted = false
            for ch in line {
                if ch == "\"" { quoted.toggle() } else if ch == "," && !quoted { cells.append(cell); cell = "" } else { cell.append(ch) }
            }
            cells.append(cell)
            for c in cells where c != "-" { #expect(!(c.first.map { "=+-@".contains($0) } ?? false), "\(c)") }
        }
    }

    @Test("hostile trace lines (mutated frames, times, JSON) never trap, and never count more hours than the period has")
    func hostileTraceLines() throws {
        let f = try fleet()
        let u = f.units[0]
        var base: [String] = []
        for h in 0..<6 {
            let parts = try PacketSplitter.split(hourSegment(u.identity.mn, 1, h, codes: u.pollutants), limit: h % 2 == 0 ? 160 : 1024)
            base += traceText(parts.map { FrameEncoder.frame($0) }).split(separator: "\n").map(String.init)
        }
        // A fixed seed: the same mutations on every run (a failure is reproducible).
        var seed: UInt64 = 0x5EED_0018
        func next() -> UInt64 { seed = seed &* 6364136223846793005 &+ 1442695040888963407; return seed >> 33 }
        for round in 0..<400 {
            var lines = base
            for _ in 0..<(1 + Int(next() % 4)) {
                let i = Int(next() % UInt64(lines.count))
                var bytes = Array(lines[i].utf8)
                guard !bytes.isEmpty else { continue }
                switch next() % 4 {
                case 0: bytes[Int(next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: next())
                case 1: bytes.removeSubrange(Int(next() % UInt64(bytes.count))..<bytes.count)
                case 2: bytes.insert(contentsOf: Array(lines[Int(next() % UInt64(lines.count))].utf8.prefix(40)), at: Int(next() % UInt64(bytes.count)))
                default: lines.swapAt(i, Int(next() % UInt64(lines.count)))
                }
                lines[i] = String(decoding: bytes, as: UTF8.self)
            }
            var e = RosterEvidence(fleet: f)
            let read = e.add(traceText: Substring(lines.joined(separator: "\n")), period: period)
            #expect(read.frames + read.skipped <= lines.count, "round \(round)")
            #expect((e.hours[u.identity.mn]?.count ?? 0) <= 6, "round \(round)")
            let row = Roster(fleet: f, evidence: e, period: period, now: now).rows[0]
            #expect(row.hours.received <= row.hours.due && row.hours.valid <= row.hours.received)
        }
        for t in ["", "2026", "2026-11-30T12:00:00.", "2026-11-30T12:00:00+", "2026-11-30T12:00:00+8", "9999-12-31T23:59:59.999-23:59",
                  "0000-01-01T00:00:00Z", "2026-02-29T00:00:00", String(repeating: "9", count: 100)] {
            _ = RosterEvidence.chinaDigits17(iso: t)
        }
        #expect(RosterEvidence.chinaDigits17(iso: "2026-02-29T00:00:00") == nil)
    }

    @Test("bench roster stores split hour records whole, as serve --store does: every unit of mixed-demo has its hours")
    func benchKeepsSplitRecords() throws {
        let fleet = try Fleet.load("mixed-demo")
        let start = HJTime(year: 2026, month: 11, day: 1).wallMilliseconds
        var generator = try FleetGenerator(fleet: fleet, seed: 1, start: start)
        var journal = PlatformJournal()
        var splits = Reassembler(maxPending: 64)
        var splitParts = 0
        generator.run(until: start + 3 * 3_600_000 + 600_000, block: 3_600_000) { _, p in
            guard p.cn == "2061" else { return }
            if p.segment.header("PNUM") != nil { splitParts += 1 }
            RosterBenchmark.append(p, to: &journal, splits: &splits)
        }
        #expect(splitParts > 0, "mixed-demo must split some hour records for this test")
        let store = try Store(path: scratchDirectory("bench-splits") + "/a.db")
        var batch = StoreBatch()
        batch.add(journal)
        try store.write(batch)
        var evidence = RosterEvidence(fleet: fleet)
        let period = RosterPeriod(from: HJTime(year: 2026, month: 11, day: 1), to: HJTime(year: 2026, month: 11, day: 2))
        try evidence.add(store: store, period: period)
        for u in fleet.units {
            #expect(evidence.hours[u.identity.mn]?.count == 3, "\(u.identity.mn)")
            #expect(evidence.hours[u.identity.mn]?.values.allSatisfy { $0.cause != "缺因子" } == true, "\(u.identity.mn)")
        }
    }

    @Test("a trace's times are read as China time whatever offset they were written with")
    func traceTimes() {
        #expect(RosterEvidence.chinaDigits17(iso: "2026-11-30T12:00:00.250+08:00") == 20261130120000250)
        #expect(RosterEvidence.chinaDigits17(iso: "2026-11-30T20:00:00.000Z") == 20261201040000000)
        #expect(RosterEvidence.chinaDigits17(iso: "2026-11-30T20:00:00+00:00") == 20261201040000000)
        #expect(RosterEvidence.chinaDigits17(iso: "2026-11-30T12:00:00") == 20261130120000000)
        #expect(RosterEvidence.chinaDigits17(iso: "2026-13-30T12:00:00") == nil && RosterEvidence.chinaDigits17(iso: "junk") == nil)
    }

    @Test("CSV is Annex 1: BOM, Chinese headers in order, CR LF, quoted commas; JSON has the English keys")
    func formats() throws {
        var f = try fleet()
        f.units[0].enterprise = "示例市某某有限公司(一厂,二厂)"
        let roster = Roster(fleet: f, evidence: RosterEvidence(fleet: f), period: period, now: HJTime(year: 2026, month: 11, day: 3, hour: 6))
        let csv = RosterOutput.csv(roster)
        #expect(csv.hasPrefix("\u{FEFF}序号,企业名称,所在县区,名录类别,污染物名称,是否涉VOCs,是否安装设备,联网情况,是否参与考核,不考核原因,"))
        #expect(csv.components(separatedBy: "\r\n").count == f.units.count + 2)
        #expect(csv.contains("\"示例市某某有限公司(一厂,二厂)\""))
        #expect(csv.contains(",否,停产,"))
        #expect(csv.contains("暂定"))  // the period ended 6 h before now
        let json = try JSONValue.parse(RosterOutput.json(roster))
        guard case .array(let units)? = json["units"], case .object(let first)? = units.first else {
            Issue.record("no units array")
            return
        }
        let keys = Set(first.map(\.0))
        for key in ["enterprise", "county", "category", "pollutants", "voc", "installed", "networked", "assessed", "reason", "hours_due",
                    "hours_received", "hours_valid", "transmission_rate", "validity_rate", "effective_rate"] {
            #expect(keys.contains(key), "missing \(key)")
        }
        #expect(json["provisional"] == .bool(true))
        let html = RosterOutput.html(roster, fleetName: "mixed-demo")
        #expect(html.contains("<svg") && html.contains("县区汇总") && !html.contains("<script") && !html.contains("http://www.w3.org/1999/xlink"))
    }

    @Test("the fleet manifest's optional roster columns are read and checked")
    func manifestColumns() throws {
        let base = try String(decoding: ProfileStore.builtin.text("fleets/mixed-demo.csv").map { Array($0.utf8) } ?? [], as: UTF8.self)
        var lines = base.split(separator: "\n").map(String.init)
        lines[0] += ",assessed,reason,installed_since"
        lines[1] += ",否,季节性生产,2026-11-16"
        lines[2] += ",是,,未安装"
        let f = try Fleet.parse(lines.joined(separator: "\n"), file: "t.csv")
        #expect(f.units[0].roster.assessed == false && f.units[0].roster.reason == "季节性生产")
        #expect(f.units[0].roster.installedSince == HJTime(year: 2026, month: 11, day: 16))
        #expect(f.units[1].roster.notInstalled)
        #expect(f.units[2].roster.assessed && !f.units[2].roster.notInstalled)
        lines[1] = lines[1].replacingOccurrences(of: ",否,", with: ",maybe,")
        #expect(throws: ProfileError.self) { try Fleet.parse(lines.joined(separator: "\n"), file: "t.csv") }
        let city = try Fleet.load("sample-city")
        #expect(city.units.filter { !$0.roster.assessed }.count >= 20)
        #expect(city.units.contains { $0.roster.notInstalled })
        #expect(city.units.contains { $0.roster.reason == "停产" } && city.units.contains { $0.roster.reason == "季节性生产" })
        #expect(city.units.contains { $0.roster.installedSince != nil })
    }
}
