import HJ212
import HJAnalysis
import HJWeb
import Testing

@Suite("Console state and JSON endpoints")
struct ConsoleStateTests {
    static let mn = "010000A89001000000000001"
    static func segment(_ cn: String, _ t: Int64, _ cp: String) -> DataSegment {
        SegmentParser.parse("QN=\(HJTime(wallMilliseconds: t).text14)000;ST=32;CN=\(cn);PW=123456;MN=\(mn);Flag=5;CP=&&DataTime=\(HJTime(wallMilliseconds: t).text14);\(cp)&&").segment
    }

    static func request(_ target: String) -> HTTPRequest {
        guard case .request(let r, _) = HTTPRequestParser.parse(Array("GET \(target) HTTP/1.1\r\nHost: t\r\n\r\n".utf8)[...]) else { fatalError() }
        return r
    }

    @Test("units with online state and last values against limits; alarms; a series over a time range; 404 for unknown routes")
    func endpoints() throws {
        let profile = try UnitProfile.load(template: "industrial-wastewater")
        let state = ConsoleState(catalogue: try AnomalyCatalogue.load(), profiles: [Self.mn: profile], names: [Self.mn: "演示化工", "010000A89001000000000009": "silent"])
        let t0 = HJTime(year: 2026, month: 11, day: 30, hour: 10).wallMilliseconds
        for i in 0..<4 {
            let t = t0 + Int64(i) * 600_000
            state.ingest(segment: Self.segment("2051", t, "w00000-Avg=12.0,w00000-Min=11,w00000-Max=13,w00000-Flag=N;w01018-Avg=\(120 + i).0,w01018-Min=110,w01018-Max=130,w01018-Flag=N"), at: t + 600_000, connection: 1)
        }
        let units = try JSONValue.parse(state.unitsJSON())
        guard case .array(let list)? = units["units"] else { Issue.record("units"); return }
        #expect(list.count == 2)
        let u = list.first { $0["mn"] == .string(Self.mn) }!
        #expect(u["online"] == .bool(true))
        #expect(u["name"] == .string("演示化工"))
        guard case .array(let values)? = u["values"] else { Issue.record("values"); return }
        let cod = values.first { $0["factor"] == .string("w01018") }!
        #expect(cod["over"] == .bool(true))
        #expect(cod["limit"] == .double(100))
        #expect(list.first { $0["mn"] == .string("010000A89001000000000009") }?["online"] == .bool(false))
        let alarms = try JSONValue.parse(state.alarmsJSON(since: 0))
        guard case .array(let a)? = alarms["alarms"] else { Issue.record("alarms"); return }
        #expect(a.contains { $0["rule"] == .string("limit.exceeded") && $0["end"] == .null })
        let series = state.route(Self.request("/api/series?mn=\(Self.mn)&factor=w01018&kind=minute&from=20261130101000&to=20261130102000"))
        #expect(series.status == 200)
        let sv = try JSONValue.parse(String(decoding: series.body, as: UTF8.self))
        guard case .array(let points)? = sv["points"] else { Issue.record("points"); return }
        #expect(points.count == 2)
        #expect(state.route(Self.request("/api/series?mn=x")).status == 400)
        #expect(state.route(Self.request("/api/series?mn=x&factor=y&kind=week")).status == 400)
        #expect(state.route(Self.request("/nothing")).status == 404)
        #expect(state.route(Self.request("/")).body.count > 1000)
        // Offline after two real-time intervals without a packet.
        state.tick(now: t0 + 3 * 600_000 + 600_000 + 120_000)
        let later = try JSONValue.parse(state.unitsJSON())
        guard case .array(let l2)? = later["units"] else { return }
        #expect(l2.first { $0["mn"] == .string(Self.mn) }?["online"] == .bool(false))
    }

    /// `online` of one unit in `/api/units`.
    static func online(_ state: ConsoleState, _ mn: String = mn) throws -> Bool? {
        let units = try JSONValue.parse(state.unitsJSON())
        guard case .array(let list)? = units["units"], case .bool(let b)? = list.first(where: { $0["mn"] == .string(mn) })?["online"] else { return nil }
        return b
    }

    @Test("online 在线 needs an open connection that served the unit: history (a restarted serve's store) and closed connections never show it online")
    func onlineNeedsAnOpenConnection() throws {
        let state = ConsoleState(catalogue: try AnomalyCatalogue.load(), profiles: [:])  // 30 s interval: offline after 60 s
        let t0 = HJTime(year: 2026, month: 11, day: 30, hour: 10).wallMilliseconds
        func upload(_ t: Int64) -> [UInt8] { FrameEncoder.frame(Self.segment("2011", t, "w01018-Rtd=5,w01018-Flag=N")) }
        // What the store held before the restart: a packet 10 s before the platform's clock.
        state.ingest(segment: Self.segment("2011", t0, "w01018-Rtd=5,w01018-Flag=N"), at: t0)
        state.tick(now: t0 + 10_000)
        #expect(try Self.online(state) == false, "no logger is connected")
        let units = try JSONValue.parse(state.unitsJSON())
        guard case .array(let list)? = units["units"] else { Issue.record("units"); return }
        #expect(list.first?["last_seen"] == .string(HJTime(wallMilliseconds: t0).description), "history still says when the unit was last seen")
        // Live on connection 7: online.
        state.ingest(connection: 7, bytes: upload(t0 + 20_000), at: t0 + 20_000)
        #expect(try Self.online(state) == true)
        // A reconnect before the old connection closed: the new one keeps it online.
        state.ingest(connection: 8, bytes: upload(t0 + 25_000), at: t0 + 25_000)
        state.forget(connection: 7)
        #expect(try Self.online(state) == true)
        // Its last connection closed: offline at once, well within the two intervals.
        state.forget(connection: 8)
        state.tick(now: t0 + 26_000)
        #expect(try Self.online(state) == false, "the unit's connection closed")
        // Connected but silent for more than two intervals: offline.
        state.ingest(connection: 9, bytes: upload(t0 + 30_000), at: t0 + 30_000)
        #expect(try Self.online(state) == true)
        state.tick(now: t0 + 30_000 + 60_001)
        #expect(try Self.online(state) == false, "silent for more than two intervals")
        // The packets `serve` hands over (accepted on a connection), then that connection's close.
        state.forget(connection: 9)
        state.ingest(segment: Self.segment("2011", t0 + 100_000, "w01018-Rtd=5,w01018-Flag=N"), at: t0 + 100_000, connection: 10)
        #expect(try Self.online(state) == true)
        state.forget(connection: 10)
        #expect(try Self.online(state) == false)
    }

    @Test("series rings and the alarm list keep to their budgets")
    func budgets() throws {
        var budget = ConsoleState.Budget()
        budget.rtdPoints = 10
        budget.maxAlarms = 3
        let state = ConsoleState(catalogue: try AnomalyCatalogue.load(), profiles: [:], budget: budget)
        let t0 = HJTime(year: 2026, month: 11, day: 30, hour: 10).wallMilliseconds
        for i in 0..<50 {
            let t = t0 + Int64(i) * 30_000
            // A negative value every other record: an alarm opens and closes again and again.
            state.ingest(segment: Self.segment("2011", t, "w01018-Rtd=\(i % 2 == 0 ? 5 : 6),w01018-Flag=\(i % 4 == 0 ? "D" : "N")"), at: t)
        }
        let s = try JSONValue.parse(state.seriesJSON(mn: Self.mn, factor: "w01018", kind: .rtd, from: .min, to: .max))
        guard case .array(let points)? = s["points"] else { Issue.record("points"); return }
        #expect(points.count == 10)
        #expect(points.last == .array([.int(Int(t0 + 49 * 30_000)), .double(6), .string("N")]))
        // Minute records 10 and 40 minutes apart: a gap (data.missing) every other record.
        var t = t0
        for i in 0..<20 {
            t += i % 2 == 0 ? 600_000 : 2_400_000
            state.ingest(segment: Self.segment("2051", t, "w01018-Avg=5,w01018-Flag=N"), at: t)
        }
        let a = try JSONValue.parse(state.alarmsJSON(since: 0))
        guard case .array(let alarms)? = a["alarms"] else { Issue.record("alarms"); return }
        #expect(alarms.count == 3)
        if case .int(let dropped)? = a["dropped"] { #expect(dropped >= 6) } else { Issue.record("dropped") }
    }
}
