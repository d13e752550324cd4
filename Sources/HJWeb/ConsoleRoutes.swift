import HJ212
import HJAnalysis

/// The console's routes: the page and the JSON endpoints (documented in docs/console.md).
///
/// | route | answer |
/// |---|---|
/// | `/` | the console page |
/// | `/api/units` | every unit: name, template, online, last values against limits |
/// | `/api/alarms?since=ID` | the last 1000 alarms kept (with an id above ID when given), open ones with `end` null |
/// | `/api/series?mn=MN&factor=CODE&kind=rtd\|minute\|hour\|day&from=T&to=T` | one series, T = YYYYMMDDhhmmss |
/// | `/api/rules` | the rule catalogue |
/// | `/api/truth` | the ground truth (demo), `[]` otherwise |
/// | `/healthz` | `ok` |
extension ConsoleState {
    public func route(_ request: HTTPRequest) -> HTTPResponse {
        switch request.path {
        case "/", "/index.html": return .html(ConsolePage.html)
        case "/healthz": return .text(200, "ok")
        case "/api/units": return .json(unitsJSON())
        case "/api/alarms": return .json(alarmsJSON(since: request.parameter("since").flatMap(Int.init) ?? 0))
        case "/api/rules": return .json(rulesJSON())
        case "/api/truth": return .json(truthJSON())
        case "/api/series":
            guard let mn = request.parameter("mn"), let factor = request.parameter("factor") else { return .text(400, "mn and factor are required") }
            let kindText = request.parameter("kind") ?? "rtd"
            guard let kind = SeriesKind(rawValue: kindText) else { return .text(400, "kind: rtd, minute, hour or day") }
            var from: Int64 = .min, to: Int64 = .max
            if let f = request.parameter("from") { guard let t = HJTime(f), t.isValid else { return .text(400, "from: YYYYMMDDhhmmss") }; from = t.wallMilliseconds }
            if let t2 = request.parameter("to") { guard let t = HJTime(t2), t.isValid else { return .text(400, "to: YYYYMMDDhhmmss") }; to = t.wallMilliseconds }
            return .json(seriesJSON(mn: mn, factor: factor, kind: kind, from: from, to: to))
        default:
            return .text(404, "not found: \(String(request.path.prefix(200)))")
        }
    }

    /// Online 在线: an open connection served the unit, and its last packet on one is at most
    /// `unit.offline` intervals old (history from a store never counts; docs/console.md).
    func isOnline(_ u: UnitInfo, now: Int64) -> Bool {
        guard !u.connections.isEmpty, let last = u.lastLive else { return false }
        let interval = Int64(profiles[u.mn]?.rtdIntervalSeconds ?? 30) * 1000
        return now - last <= Int64(catalogue.parameter("unit.offline", "intervals", 2)) * interval
    }

    public func unitsJSON() -> String {
        storage.withLock { s in
            let now = s.now
            let open = Set(s.alarms.filter(\.isOpen).map(\.mn))
            let units: [JSONValue] = s.units.values.sorted { $0.mn < $1.mn }.map { u in
                let profile = profiles[u.mn]
                let order = profile?.factors.map(\.code) ?? []
                let codes = u.last.keys.sorted { (order.firstIndex(of: $0) ?? 999, $0) < (order.firstIndex(of: $1) ?? 999, $1) }
                let values: [JSONValue] = codes.map { code in
                    let l = u.last[code]!
                    let limit = profile?.factor(code)?.limit
                    return .object([("factor", .string(code)), ("kind", .string(l.kind.rawValue)), ("value", .double(l.point.value)),
                                    ("flag", l.point.flag.map { .string($0) } ?? .null), ("time", .string(HJTime(wallMilliseconds: l.point.time).description)),
                                    ("limit", limit.map { .double($0) } ?? .null), ("over", .bool(limit.map { l.point.value > $0 } ?? false))])
                }
                return .object([("mn", .string(u.mn)), ("name", .string(u.name)), ("template", profile.map { .string($0.template) } ?? .null),
                                ("title_zh", profile.map { .string($0.titleZh) } ?? .null), ("title_en", profile.map { .string($0.titleEn) } ?? .null),
                                ("online", .bool(isOnline(u, now: now))),
                                ("last_seen", u.lastArrival.map { .string(HJTime(wallMilliseconds: $0).description) } ?? .null),
                                ("open_alarms", .bool(open.contains(u.mn))), ("values", .array(values))])
            }
            return JSONValue.object([("now", .string(HJTime(wallMilliseconds: now).description)), ("units", .array(units)),
                                     ("units_not_tracked", .int(s.unitsDropped))]).serialized
        }
    }

    public func alarmsJSON(since: Int) -> String {
        storage.withLock { s in
            let list = s.alarms.filter { $0.id > since }
            return JSONValue.object([("latest", .int(s.latestAlarm)), ("open", .int(s.alarms.filter(\.isOpen).count)), ("dropped", .int(s.alarmsDropped)),
                                     ("alarms", .array(list.suffix(1000).map { $0.json(catalogue: catalogue) }))]).serialized
        }
    }

    public func seriesJSON(mn: String, factor: String, kind: SeriesKind, from: Int64, to: Int64) -> String {
        storage.withLock { s in
            let points = (s.series[SeriesKey(mn: mn, factor: factor, kind: kind)]?.ordered ?? []).filter { $0.time >= from && $0.time <= to }
            let fp = profiles[mn]?.factor(factor)
            let alarms = s.alarms.filter { $0.mn == mn && ($0.factor == factor || $0.factor == nil) }
            let truth = s.truth.filter { $0.mn == mn && ($0.factor == factor || $0.factor == nil) }
            return JSONValue.object([
                ("mn", .string(mn)), ("factor", .string(factor)), ("kind", .string(kind.rawValue)),
                ("limit", fp?.limit.map { .double($0) } ?? .null),
                ("minimum", factor == "a01901" ? .double(catalogue.parameter("process.furnace-low", "minimum", 850)) : .null),
                ("range", fp.map { .array([.double($0.rangeMin), .double($0.rangeMax)]) } ?? .null),
                ("kinds", .array(SeriesKind.allCases.filter { s.series[SeriesKey(mn: mn, factor: factor, kind: $0)] != nil }.map { .string($0.rawValue) })),
                ("points", .array(points.map { .array([.int(Int($0.time)), .double($0.value), $0.flag.map { .string($0) } ?? .null]) })),
                ("alarms", .array(alarms.map { $0.json(catalogue: catalogue) })),
                ("truth", .array(truth.map { .object([("fault", .string($0.fault)), ("start_ms", .int(Int($0.start))), ("end_ms", $0.end.map { .int(Int($0)) } ?? .null)]) })),
            ]).serialized
        }
    }

    public func rulesJSON() -> String {
        JSONValue.array(catalogue.rules.map { r in
            .object([("id", .string(r.id)), ("zh", .string(r.zh)), ("en", .string(r.en)), ("evidence", .string(r.evidence)),
                     ("parameters", .object(r.parameters.sorted { $0.key < $1.key }.map { ($0.key, .double($0.value)) })),
                     ("faults", .array(r.faults.map { .string($0) }))])
        }).serialized
    }

    public func truthJSON() -> String {
        storage.withLock { s in
            JSONValue.array(s.truth.map { i in
                .object([("mn", .string(i.mn)), ("fault", .string(i.fault)), ("factor", i.factor.map { .string($0) } ?? .null),
                         ("start", .string(HJTime(wallMilliseconds: i.start).description)), ("end", i.end.map { .string(HJTime(wallMilliseconds: $0).description) } ?? .null)])
            }).serialized
        }
    }
}
