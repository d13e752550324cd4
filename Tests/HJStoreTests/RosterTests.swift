import Foundation
import HJ212
@testable import HJ212CLI
import HJRoles
import HJSimulation
import HJStore
import Testing
import TestSupport

/// A 2061 record of the given factors (each with Avg and a flag), as a logger sends it.
func hour(_ mn: String, _ day: Int, _ h: Int, codes: [String], flag: (String) -> String = { _ in "N" }, qnSuffix: Int = 1) -> [UInt8] {
    let dt = "202611\(day < 10 ? "0" : "")\(day)\(h < 10 ? "0" : "")\(h)0000"
    var cp: [[Field]] = [[Field("DataTime", dt)]]
    for c in codes { cp.append([Field("\(c)-Avg", "1.5"), Field("\(c)-Flag", flag(c))]) }
    let qn = String(dt.prefix(12)) + "05" + String(format: "%03d", qnSuffix)
    return FrameEncoder.frame(DataSegment(header: [Field("QN", qn), Field("ST", "32"), Field("CN", "2061"), Field("PW", "123456"),
                                                   Field("MN", mn), Field("Flag", "5")], cp: cp))
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
        var trace = ""
        for frame in all {
            let text = String(decoding: frame.prefix(frame.count - 2), as: UTF8.self)
            var line = ""
            JSONValue.writeString(text, to: &line)
            trace += "{\"t\":\"2026-11-03T00:00:00.000+08:00\",\"dir\":\"up\",\"peer\":\"127.0.0.1:1\",\"frame\":\(line)}\n"
        }
        trace += "not json\n{\"dir\":\"up\"}\n"
        var fromTrace = RosterEvidence(fleet: f)
        let counted = fromTrace.add(traceText: Substring(trace), period: period)
        #expect(counted.frames == all.count)
        #expect(counted.skipped == 1)  // the line without a frame; the line without "up" is not a logger's frame
        #expect(fromTrace.hours == fromStore.hours)
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
