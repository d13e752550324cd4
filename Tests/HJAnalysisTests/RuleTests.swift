import HJ212
import HJAnalysis
import Testing

/// Builds records as a logger would send them, for rule tests.
enum Feed {
    static let mn = "010000A89001000000000001"
    static let water = try! UnitProfile.load(template: "industrial-wastewater")
    static let gas = try! UnitProfile.load(template: "thermal-power")
    static let furnace = try! UnitProfile.load(template: "msw-incinerator")

    static func t(_ h: Int, _ m: Int, _ s: Int = 0) -> Int64 { HJTime(year: 2026, month: 11, day: 30, hour: h, minute: m, second: s).wallMilliseconds }

    static func segment(_ cn: String, _ time: Int64, _ groups: String, st: String = "32", extra: String = "") -> DataSegment {
        let dt = HJTime(wallMilliseconds: time).text14
        return SegmentParser.parse("QN=\(dt)000;ST=\(st);CN=\(cn);PW=123456;MN=\(mn);Flag=5;\(extra)CP=&&DataTime=\(dt);\(groups)&&").segment
    }

    /// A minute record of the water unit: flow, COD (Min = Avg = Max = cod unless given), flags.
    static func waterMinute(_ time: Int64, flow: Double = 12, cod: Double, codMin: Double? = nil, codMax: Double? = nil, flag: String = "N", nh3: Double = 3.5) -> DataSegment {
        segment("2051", time, "w00000-Cou=1,w00000-Min=\(flow),w00000-Avg=\(flow),w00000-Max=\(flow),w00000-Flag=N;w01018-Cou=1,w01018-Min=\(codMin ?? cod),w01018-Avg=\(cod),w01018-Max=\(codMax ?? cod),w01018-Flag=\(flag);w21003-Min=\(nh3),w21003-Avg=\(nh3),w21003-Max=\(nh3),w21003-Flag=N")
    }

    static func analyzer(_ profile: UnitProfile = water) -> Analyzer {
        Analyzer(catalogue: try! AnomalyCatalogue.load(), profiles: [mn: profile])
    }

    static func run(_ analyzer: inout Analyzer, _ segments: [(DataSegment, Int64)]) -> [AlarmEvent] {
        var assembler = RecordAssembler()
        var events: [AlarmEvent] = []
        for (s, arrival) in segments {
            for input in assembler.add(s, arrival: arrival) { events += analyzer.feed(input) }
            events += analyzer.advance(to: arrival)
        }
        for input in assembler.flush() { events += analyzer.feed(input) }
        return events
    }

    static func opened(_ events: [AlarmEvent], _ rule: String) -> [Alarm] {
        events.compactMap { if case .opened(let a) = $0, a.rule == rule { a } else { nil } }
    }
}

@Suite("Anomaly rules")
struct RuleTests {
    @Test("the catalogue has every rule with zh/en titles, evidence and known faults")
    func catalogue() throws {
        let c = try AnomalyCatalogue.load()
        #expect(c.rules.count >= 13)
        for id in ["limit.exceeded", "value.flatline", "value.zero-negative", "value.over-range", "data.missing", "unit.offline", "flag.trouble",
                   "process.furnace-low", "fraud.bypass", "process.o2-implausible", "analyser.parameter-change", "analyser.standard-check", "analyser.calibration-unscheduled"] {
            let r = try #require(c.rule(id))
            #expect(!r.zh.isEmpty && !r.en.isEmpty && !r.evidence.isEmpty)
        }
        let faults = try JSONValue.parse(try #require(try ProfileStore.builtin.text("faults/catalogue.json")))
        guard case .array(let list)? = faults["faults"] else { Issue.record("no faults"); return }
        let ids = Set(list.compactMap { if case .string(let s)? = $0["id"] { s } else { nil } })
        for r in c.rules { for f in r.faults { #expect(ids.contains(f), "\(r.id) names unknown fault \(f)") } }
    }

    @Test("unit templates give limits and ranges (COD 100 mg/L; SO2 35 converted at 6 % O2)")
    func profiles() throws {
        #expect(Feed.water.factor("w01018")?.limit == 100)
        #expect(Feed.water.factor("w01018")?.cycleMinutes == 60)
        #expect(Feed.gas.factor("a21026")?.limit == 35)
        #expect(Feed.gas.factor("a21026")?.zs == true)
        #expect(Feed.gas.referenceO2 == 6)
        let fleet = try UnitProfile.fleet(csv: try #require(try ProfileStore.builtin.text("fleets/mixed-demo.csv")), file: "mixed-demo.csv")
        #expect(fleet.count == 8)
        #expect(fleet[Feed.mn]?.template == "industrial-wastewater")
    }

    @Test("split records are merged before they are judged")
    func split() {
        var assembler = RecordAssembler()
        let t = Feed.t(10, 0)
        let p1 = Feed.segment("2051", t, "a01901-Avg=990,a01901-Flag=N", st: "31", extra: "PNUM=2;PNO=1;")
        let p2 = Feed.segment("2051", t, "a21026-Avg=20,a21026-Flag=N", st: "31", extra: "PNUM=2;PNO=2;")
        #expect(assembler.add(p1, arrival: t).isEmpty)
        let out = assembler.add(p2, arrival: t)
        guard case .data(let r)? = out.first else { Issue.record("no record"); return }
        #expect(out.count == 1)
        #expect(r.factors.map(\.code) == ["a01901", "a21026"])
        #expect(assembler.pendingCount == 0)
    }

    @Test("exceedance: two minute means over the limit open an alarm, normal values close it")
    func exceedance() {
        var a = Feed.analyzer()
        var s: [(DataSegment, Int64)] = []
        for (i, cod) in [50.0, 130, 140, 45, 44, 43, 42, 41].enumerated() { s.append((Feed.waterMinute(Feed.t(10, i * 10), cod: cod, codMin: cod - 1, codMax: cod + 1), Feed.t(10, i * 10 + 10))) }
        let events = Feed.run(&a, s)
        let opened = Feed.opened(events, "limit.exceeded")
        #expect(opened.count == 1)
        #expect(opened.first?.start == Feed.t(10, 10))
        #expect(opened.first?.factor == "w01018")
        let closed = events.compactMap { if case .closed(let x) = $0, x.rule == "limit.exceeded" { x } else { nil } }
        #expect(closed.first?.end == Feed.t(10, 20))
    }

    @Test("exceedance of a gas factor is judged on the converted value at the reference O2")
    func converted() {
        var a = Feed.analyzer(Feed.gas)
        var s: [(DataSegment, Int64)] = []
        // 30 mg/m3 measured at 12 % O2 is 30 × 15/9 = 50 at 6 %: over 35. No ZsAvg sent: computed.
        for i in 0..<3 {
            s.append((Feed.segment("2051", Feed.t(10, i * 10), "a00000-Avg=300,a00000-Flag=N;a19001-Avg=12,a19001-Flag=N;a21026-Avg=30,a21026-Min=28,a21026-Max=32,a21026-Flag=N", st: "31"), Feed.t(10, i * 10 + 10)))
        }
        let opened = Feed.opened(Feed.run(&a, s), "limit.exceeded")
        #expect(opened.count == 1)
        #expect(opened.first.map { abs(($0.value ?? 0) - 50) < 0.01 } == true)
    }

    @Test("flatline while running is found; a stopped unit's constant values are not a flatline")
    func flatline() {
        var running = Feed.analyzer()
        var stopped = Feed.analyzer()
        var r: [(DataSegment, Int64)] = [], s: [(DataSegment, Int64)] = []
        // A cyclic analyser (hourly) frozen for 4 hours: 3 cycles + 1 record.
        for i in 0..<25 {
            r.append((Feed.waterMinute(Feed.t(8, 0) + Int64(i) * 600_000, cod: 47.3, nh3: 3.5 + Double(i / 6) * 0.1), Feed.t(8, 10) + Int64(i) * 600_000))
            s.append((Feed.waterMinute(Feed.t(0, 0) + Int64(i) * 600_000, flow: 0, cod: 30), Feed.t(0, 10) + Int64(i) * 600_000))
        }
        let found = Feed.opened(Feed.run(&running, r), "value.flatline").filter { $0.factor == "w01018" }
        #expect(found.count == 1)
        #expect(found.first?.start == Feed.t(8, 0))
        #expect(Feed.opened(Feed.run(&stopped, s), "value.flatline").isEmpty)
    }

    @Test("negative values, over range (flag T) and trouble flags; F of a stopped unit is no trouble")
    func valuesAndFlags() {
        var a = Feed.analyzer()
        let t = Feed.t(10, 0)
        let rtd: [(DataSegment, Int64)] = [
            (Feed.segment("2011", t, "w00000-Rtd=12,w00000-Flag=N;w01018-Rtd=-3.0,w01018-Flag=N"), t),
            (Feed.segment("2011", t + 30_000, "w00000-Rtd=12,w00000-Flag=N;w01018-Rtd=500.0,w01018-Flag=T"), t + 30_000),
            (Feed.segment("2011", t + 60_000, "w00000-Rtd=12,w00000-Flag=N;w21003-Rtd=3.1,w21003-Flag=C"), t + 60_000),
            (Feed.segment("2011", t + 90_000, "w00000-Rtd=0,w00000-Flag=N;w01010-Rtd=18.0,w01010-Flag=F"), t + 90_000),
        ]
        let events = Feed.run(&a, rtd)
        #expect(Feed.opened(events, "value.zero-negative").map(\.factor) == ["w01018"])
        #expect(Feed.opened(events, "value.over-range").map(\.factor) == ["w01018"])
        let flags = Feed.opened(events, "flag.trouble")
        #expect(flags.map(\.factor) == ["w21003"])
        #expect(flags.first?.evidence.contains("校准") == true)
    }

    @Test("missing minute records and an offline unit")
    func gapsAndOffline() {
        var a = Feed.analyzer()
        let s: [(DataSegment, Int64)] = [
            (Feed.waterMinute(Feed.t(10, 0), cod: 40), Feed.t(10, 10)),
            (Feed.waterMinute(Feed.t(10, 40), cod: 40), Feed.t(10, 50)),
        ]
        let events = Feed.run(&a, s)
        let gap = Feed.opened(events, "data.missing")
        #expect(gap.count == 1)
        #expect(gap.first?.value == 3)
        // Two minutes without a packet (interval 30 s): offline; the next packet closes it.
        let later = a.advance(to: Feed.t(10, 53))
        #expect(Feed.opened(later, "unit.offline").count == 1)
        var assembler = RecordAssembler()
        var back: [AlarmEvent] = []
        for i in assembler.add(Feed.waterMinute(Feed.t(10, 50), cod: 40), arrival: Feed.t(11, 0)) { back += a.feed(i) }
        #expect(back.contains { if case .closed(let x) = $0 { x.rule == "unit.offline" } else { false } })
    }

    @Test("furnace below 850 °C for four real-time values while burning; a cold furnace is not judged")
    func furnace() {
        var a = Feed.analyzer(Feed.furnace)
        var s: [(DataSegment, Int64)] = []
        for (i, temp) in [990.0, 830, 825, 820, 815, 990, 80, 80, 80, 80, 80].enumerated() {
            let t = Feed.t(10, 0) + Int64(i) * 30_000
            s.append((Feed.segment("2011", t, "a01901-Rtd=\(temp),a01901-Flag=N;a00000-Rtd=22,a00000-Flag=N", st: "31"), t))
        }
        let found = Feed.opened(Feed.run(&a, s), "process.furnace-low")
        #expect(found.count == 1)
        #expect(found.first?.start == Feed.t(10, 0) + 30_000)
    }

    @Test("bypass: the flow collapses while the concentration keeps")
    func bypass() {
        var a = Feed.analyzer()
        var s: [(DataSegment, Int64)] = []
        for i in 0..<12 {
            let flow = i < 8 ? 12.0 + Double(i % 3) * 0.2 : 2.4
            s.append((Feed.waterMinute(Feed.t(9, 0) + Int64(i) * 600_000, flow: flow, cod: 45 + Double(i % 2)), Feed.t(9, 10) + Int64(i) * 600_000))
        }
        let found = Feed.opened(Feed.run(&a, s), "fraud.bypass")
        #expect(found.count == 1)
        #expect(found.first?.start == Feed.t(9, 0) + 8 * 600_000)
        // A shut-down (flow and concentrations fall together to the stopped state) is not a bypass.
        var b = Feed.analyzer()
        var d: [(DataSegment, Int64)] = []
        for i in 0..<12 {
            let k = i < 8 ? 1.0 : max(0, 1 - Double(i - 7) / 3)
            d.append((Feed.waterMinute(Feed.t(22, 0) + Int64(i) * 600_000, flow: 12 * k, cod: 30 + 15 * k), Feed.t(22, 10) + Int64(i) * 600_000))
        }
        #expect(Feed.opened(Feed.run(&b, d), "fraud.bypass").isEmpty)
    }

    @Test("a start-up ramp is not a step; a step in steady running is (value.step-up)")
    func stepUpAfterStartUp() {
        // From stopped the plant ramps its flow over an hour and its COD over an hour and a half
        // (as the clean generated thermal unit did with dust), then runs steadily with COD around
        // 60: the ramp's low values must not become the running mean.
        var a = Feed.analyzer()
        var s: [(DataSegment, Int64)] = []
        for i in 0..<48 {
            let ramp = min(1, Double(i) / 6)
            let cod = i < 9 ? 5 + 5 * Double(i) : 60 + Double(i % 3)
            s.append((Feed.waterMinute(Feed.t(0, 0) + Int64(i) * 600_000, flow: 12 * ramp, cod: cod), Feed.t(0, 10) + Int64(i) * 600_000))
        }
        #expect(Feed.opened(Feed.run(&a, s), "value.step-up").isEmpty)
        // The same start, then COD three times its level for an hour after four hours of steady running.
        var b = Feed.analyzer()
        var d: [(DataSegment, Int64)] = []
        for i in 0..<48 {
            let ramp = min(1, Double(i) / 6)
            var cod = i < 6 ? 40 * ramp : 40 + Double(i % 3)
            if (30..<36).contains(i) { cod *= 3 }
            d.append((Feed.waterMinute(Feed.t(0, 0) + Int64(i) * 600_000, flow: 12 * ramp, cod: cod), Feed.t(0, 10) + Int64(i) * 600_000))
        }
        let found = Feed.opened(Feed.run(&b, d), "value.step-up")
        #expect(found.count == 1)
        #expect(found.first.map { $0.start >= Feed.t(0, 0) + 30 * 600_000 } == true)
    }

    @Test("3020: a slope change and a failed standard check are alarms; everyday noise is not")
    func analyserParameters() {
        var a = Feed.analyzer()
        let info = { (h: Int, body: String) in (Feed.segment("3020", Feed.t(h, 0), "PolId=w01018;\(body)"), Feed.t(h, 0)) }
        let events = Feed.run(&a, [
            info(0, "i13008-Info=458.55;i13007-Info=0.86;i13129-Info=2.0"),
            info(1, "i13008-Info=469.86;i13007-Info=1.07;i13129-Info=3.1"),
            info(2, "i13008-Info=349.65;i13007-Info=-4.15;i13129-Info=22.0"),
        ])
        let changes = Feed.opened(events, "analyser.parameter-change")
        #expect(changes.count == 2)
        #expect(changes.allSatisfy { $0.start == Feed.t(2, 0) && $0.factor == "w01018" })
        #expect(Feed.opened(events, "analyser.standard-check").count == 1)
    }

    @Test("unit budget: records of MNs beyond the budget are counted, not judged")
    func budget() {
        var budget = Analyzer.Budget()
        budget.maxUnits = 2
        var a = Analyzer(catalogue: try! AnomalyCatalogue.load(), budget: budget)
        for i in 0..<5 {
            let mn = "01000000000000000000000\(i)"
            let r = DataRecord(mn: mn, st: "32", kind: .rtd, dataTime: Feed.t(1, 0), arrival: Feed.t(1, 0), factors: [])
            _ = a.feed(.data(r))
        }
        #expect(a.unitCount == 2)
        #expect(a.droppedInputs == 3)
    }

    @Test("random and truncated segments never crash the assembler or the rules")
    func robustness() {
        var rng = SystemRandomNumberGenerator()
        var a = Feed.analyzer()
        var assembler = RecordAssembler(maxPending: 8)
        let alphabet = Array("QN=ST;CN2011205130203;PW=MN=010000A89001000000000001Flag=7PNUM=2PNO=1CP=&&DataTime=20261130100000w01018-Avg=-,.1e9Flag=NTCi13008-Info=PolId".utf8)
        for _ in 0..<3000 {
            let n = Int.random(in: 0..<200, using: &rng)
            let bytes = (0..<n).map { _ in alphabet.randomElement(using: &rng)! }
            let seg = SegmentParser.parse(bytes).segment
            for input in assembler.add(seg, arrival: Feed.t(10, 0)) { _ = a.feed(input) }
        }
        #expect(assembler.pendingCount <= 8)
    }
}
