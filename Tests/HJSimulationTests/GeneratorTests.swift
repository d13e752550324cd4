import Foundation
import HJ212
import Testing
@testable import HJSimulation

@Suite("Generator")
struct GeneratorTests {
    @Test("same template, seed and start give byte-identical output; another seed differs")
    func determinism() throws {
        let a = try Run.packets(template: Run.gas, seed: 42, duration: "2h").bytes
        let b = try Run.packets(template: Run.gas, seed: 42, duration: "2h").bytes
        let c = try Run.packets(template: Run.gas, seed: 43, duration: "2h").bytes
        #expect(a == b)
        #expect(a != c)
    }

    @Test("running in pieces gives the same packets as in one go")
    func resumable() throws {
        let t0 = SimClock.parseStart("2026-11-30T07:59:35")!
        func run(_ steps: [Int64]) throws -> [UInt8] {
            var g = try FleetGenerator(template: Run.water, identity: LoggerIdentity(mn: "010000A8900016F000169DC0", pw: "123456"), seed: 3, start: t0)
            var bytes: [UInt8] = []
            for end in steps { g.run(until: t0 + end, block: 45_000) { _, p in bytes += FrameEncoder.frame(p.segment) } }
            return bytes
        }
        #expect(try run([7_200_000]) == run([1_000, 600_000, 3_599_999, 3_600_000, 7_200_000]))
    }

    @Test("QNs are unique per logger and DataTimes aligned to their periods")
    func qnAndAlignment() throws {
        let (_, packets) = try Run.packets(template: Run.water, duration: "1d")
        let qns = packets.map { $0.segment.qn! }
        #expect(Set(qns).count == qns.count)
        for p in packets {
            guard let t = p.dataTime.flatMap({ HJTime($0) }) else { continue }
            switch p.cn {
            case "2051": #expect(t.second == 0 && t.minute % 10 == 0)
            case "2061": #expect(t.minute == 0 && t.second == 0)
            case "2031", "2041": #expect(t.hour == 0 && t.minute == 0 && t.second == 0)
            case "2011": #expect(t.second % 30 == 0)
            default: break
            }
        }
    }

    @Test("generated packets lint clean in strict mode")
    func lintsClean() throws {
        for template in [Run.water, Run.gas] {
            let (bytes, _) = try Run.packets(template: template, duration: "2h")
            var decoder = FrameDecoder()
            decoder.feed(bytes)
            let linter = try Linter(options: LintOptions(strict: true))
            var n = 0
            while let e = decoder.next() {
                guard case .frame(let f) = e else { Issue.record("not a frame: \(e)"); continue }
                let r = linter.check(f, index: n)
                #expect(r.diagnostics.isEmpty, "\(template.name) \(r.segment.serialized()): \(r.diagnostics.map(\.message))")
                n += 1
            }
            #expect(n > 200)
        }
    }

    @Test("the 2025 dialect sets version bits 000010, sends 2111 furnace means and 2062 standard checks, and lints clean")
    func dialect2025() throws {
        var options = SimulationOptions()
        options.dialect = .hj2025
        let (_, packets) = try Run.packets(template: Run.gas, duration: "30m", options: options)
        #expect(packets.allSatisfy { $0.segment.flag?.version == 2 && $0.segment.flag?.needsAck == true })
        let msw = try UnitTemplate.load("msw-incinerator")
        let (bytes, furnace) = try Run.packets(template: msw, duration: "1h", options: options)
        let means = furnace.filter { $0.cn == "2111" }
        #expect(means.count == 12)
        let heartbeats = furnace.filter { $0.cn == "9015" }
        #expect(heartbeats.count == 12)
        #expect(heartbeats.allSatisfy { $0.st == "91" && $0.segment.cp == [] && $0.segment.flag?.rawValue == 9 })
        for m in means {
            let t = try #require(m.dataTime.flatMap { HJTime($0) })
            #expect(t.minute % 5 == 0 && t.second == 0)
            #expect(m.number("a01901-Avg")! > 850)
        }
        let water = try UnitTemplate.load("industrial-wastewater")
        let (wbytes, checks) = try Run.packets(template: water, start: "2026-11-30T02:00", duration: "2h", options: options)
        let standard = checks.filter { $0.cn == "2062" }
        #expect(standard.count == water.factors.filter { $0.measureEveryMinutes > 0 }.count)
        #expect(standard.allSatisfy { $0.text("w01018-ResultType") != nil || $0.text("w21003-ResultType") != nil })
        let linter = try Linter(options: LintOptions(strict: true, overlays: ["hebei-dynamic"]))
        for b in [bytes, wbytes] {
            var decoder = FrameDecoder()
            decoder.feed(b)
            var n = 0
            while case .frame(let f)? = decoder.next() {
                let r = linter.check(f, index: n)
                #expect(r.diagnostics.map(\.rule) == ["dialect.2025"], "\(r.segment.serialized().prefix(100)): \(r.diagnostics.map(\.message))")
                n += 1
            }
        }
    }

    @Test("times and durations parse as users type them")
    func clock() {
        #expect(SimClock.parseDuration("90m") == 5_400_000)
        // Absurd durations are refused, not trapped on (and start + duration cannot overflow).
        #expect(SimClock.parseDuration("2562047788015h2562047788015h") == nil)
        #expect(SimClock.parseDuration("9223372036854775807ms") == nil)
        #expect(SimClock.parseDuration("1000w") != nil)
        #expect(throws: (any Error).self) { try FaultSpec.parseList("crc-mismatch@2026-11-30T10:00/2562047788015h") }
        #expect(SimClock.parseDuration("1d") == 86_400_000)
        #expect(SimClock.parseDuration("2h30m") == 9_000_000)
        #expect(SimClock.parseDuration("1500ms") == 1500)
        #expect(SimClock.parseDuration("") == nil)
        #expect(SimClock.parseDuration("5x") == nil)
        #expect(SimClock.parseDuration("99999999999999999999d") == nil)
        let local = SimClock.parseStart("2026-11-30")!
        #expect(SimClock.parseStart("2026-11-30T00:00:00+08:00") == local)
        #expect(SimClock.parseStart("2026-11-29T16:00:00Z") == local)
        #expect(SimClock.parseStart("2026-02-30") == nil)
        #expect(SimClock.iso(local) == "2026-11-30T00:00:00.000+08:00")
    }

    @Test("value formatting rounds half away from zero and never prints -0")
    func formatting() {
        #expect(ValueFormat.fixed(2.25, decimals: 1) == "2.3")
        #expect(ValueFormat.fixed(-0.041, decimals: 3) == "-0.041")
        #expect(ValueFormat.fixed(-0.0004, decimals: 3) == "0.000")
        #expect(ValueFormat.fixed(17, decimals: 0) == "17")
        #expect(ValueFormat.fixed(0.05, decimals: 2) == "0.05")
        #expect(ValueFormat.fixed(1234.5, decimals: 2) == "1234.50")
        #expect(ValueFormat.fixed(1e25, decimals: 2) == "10000000000000000905969664")  // no trap on absurd values
        #expect(ValueFormat.fixed(-3e16, decimals: 0) == "-30000000000000000")
        // Against the plain integer-and-fraction construction, over random values and every width.
        var rng = SimRandom(seed: 42)
        for _ in 0..<20_000 {
            let magnitude = [1e-3, 1, 100, 1e5, 1e9][Int(rng.next() % 5)]
            let v = (rng.unit() - 0.5) * 2 * magnitude
            let d = Int(rng.next() % 7)
            let p = [1.0, 10, 100, 1e3, 1e4, 1e5, 1e6][d]
            let n = Int64((abs(v) * p).rounded(.toNearestOrAwayFromZero))
            var expected = (v < 0 && n != 0 ? "-" : "") + String(n / Int64(p))
            if d > 0 {
                let frac = String(n % Int64(p))
                expected += "." + String(repeating: "0", count: d - frac.count) + frac
            }
            #expect(ValueFormat.fixed(v, decimals: d) == expected, "\(v) with \(d) decimals")
        }
    }

    @Test("a template with an error names the file, the key and what was expected")
    func templateErrors() {
        func message(_ json: String) -> String? {
            do { _ = try UnitTemplate.parse(json, file: "bad.json"); return nil } catch { return "\(error)" }
        }
        #expect(message(Run.waterJSON.replacingOccurrences(of: "\"peak_hour\":14", with: "\"peak_hour\":14,\"peek\":1"))?.contains("factors[0].peek: unknown key") == true)
        #expect(message(Run.waterJSON.replacingOccurrences(of: "\"w01018\"", with: "\"w99999\""))?.contains("factors[0].code: 'w99999' is not a code of Appendix B") == true)
        #expect(message(Run.waterJSON.replacingOccurrences(of: "\"min_interval_minutes\":10", with: "\"min_interval_minutes\":7"))?.contains("min_interval_minutes") == true)
        #expect(message(Run.waterJSON.replacingOccurrences(of: "\"medium\":\"water\"", with: "\"medium\":\"air\""))?.contains("medium") == true)
        #expect(message("{\"name\": ")?.hasPrefix("bad.json: not valid JSON at byte") == true)
    }

    @Test("a fleet with an error names the line and nothing is generated from it")
    func fleetErrors() throws {
        let header = "enterprise,county,category,pollutants,voc,mn,pw,unit,platforms\n"
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hj212-fleet-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("units"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Run.waterJSON.write(to: dir.appendingPathComponent("units/t-water.json"), atomically: true, encoding: .utf8)
        let store = ProfileStore(overrideDirectory: dir.path)
        let good = "\"某化工有限公司, 一厂\",示例区,化工,w01018|w00000|w01001,否,010000A89000000000000001,123456,t-water,province:7001|city:7002\n"
        let fleet = try Fleet.parse(header + good, file: "f.csv", store: store)
        #expect(fleet.units.count == 1 && fleet.units[0].enterprise == "某化工有限公司, 一厂")
        #expect(fleet.units[0].platforms == ["province:7001", "city:7002"])
        func message(_ body: String) -> String? {
            do { _ = try Fleet.parse(header + body, file: "f.csv", store: store); return nil } catch { return "\(error)" }
        }
        #expect(message(good + good)?.contains("f.csv:3: mn 010000A89000000000000001 already used on line 2") == true)
        #expect(message(good.replacingOccurrences(of: "t-water", with: "no-such"))?.contains("f.csv:2: unit 'no-such'") == true)
        #expect(message(good.replacingOccurrences(of: "w01018|", with: ""))?.contains("do not match") == true)
        #expect(message(good.replacingOccurrences(of: "010000A89000000000000001", with: "XYZ"))?.contains("mn 'XYZ'") == true)
        // HJ/T 212-2005 MNs (14 letters and digits), still common in the field, are listed; near-misses are not.
        for mn in ["LD130133000015", "0873HHMZWSLH02"] {
            #expect(try Fleet.parse(header + good.replacingOccurrences(of: "010000A89000000000000001", with: mn), file: "f.csv", store: store).units[0].identity.mn == mn)
        }
        for mn in ["010000A89000000000000001A", "010000a89000000000000001", "LD13013300001", "LD13013300001;", "LD1301330000 5"] {
            #expect(message(good.replacingOccurrences(of: "010000A89000000000000001", with: mn))?.contains("mn '\(mn)'") == true, "\(mn)")
        }
        #expect(message("")?.contains("no units") == true)
    }
}

@Suite("Shipped unit templates and fleets")
struct ShippedProfileTests {
    static let templates = UnitTemplate.available()

    @Test("there is a template for every kind the emulator promises")
    func kinds() {
        for name in ["industrial-wastewater", "np-wastewater", "wwtp-inlet", "wwtp-outlet", "thermal-power", "industrial-boiler",
                     "msw-incinerator", "hazardous-waste-incinerator", "voc-process"] {
            #expect(Self.templates.contains(name), "\(name)")
        }
    }

    @Test("every template generates packets that pass lint --strict", arguments: templates)
    func lintsStrict(_ name: String) throws {
        let template = try UnitTemplate.load(name)
        var options = SimulationOptions()
        options.facilityStatus = true
        let (bytes, packets) = try Run.packets(template: template, duration: "3h", options: options)
        var decoder = FrameDecoder()
        decoder.feed(bytes)
        // The dynamic-control i-codes are Hebei's, not national: lint with that profile when used.
        let overlays = template.dynamicControl == nil ? [] : ["hebei-dynamic"]
        let linter = try Linter(options: LintOptions(strict: true, overlays: overlays))
        var n = 0
        while let e = decoder.next() {
            guard case .frame(let f) = e else { Issue.record("\(name): not a frame: \(e)"); continue }
            let r = linter.check(f, index: n)
            #expect(r.diagnostics.isEmpty, "\(name) \(r.segment.serialized().prefix(120)): \(r.diagnostics.map(\.message))")
            #expect(f.segment.count <= 1024)
            n += 1
        }
        let cns = Set(packets.map(\.cn))
        #expect(cns.isSuperset(of: ["2011", "2051", "2061", "2081", "3020"]), "\(name): \(cns)")
        if !template.facilities.isEmpty { #expect(cns.contains("2021")) }
        // Every factor of the template is in every real-time upload.
        for p in packets where p.cn == "2011" && p.st == template.st {
            for f in template.factors { #expect(p.text("\(f.code)-Rtd") != nil, "\(name) \(f.code)") }
        }
        // Working-condition data goes with its own ST (51 flue gas, 52 wastewater).
        if let st = template.workingConditionST { #expect(packets.contains { $0.cn == "2011" && $0.st == st }) }
        // Hourly averages stay near the templates' baselines while running continuously.
        if template.operationStartHour == 0 && template.operationEndHour == 24 {
            for hour in packets where hour.cn == "2061" {
                for f in template.factors where f.baseline > 0 && f.limit != nil {
                    let avg = try #require(hour.number("\(f.code)-Avg"))
                    #expect(avg > f.baseline * 0.4 && avg < f.baseline * 1.8, "\(name) \(f.code) hour avg \(avg) vs baseline \(f.baseline)")
                }
            }
        }
    }

    @Test("long records are split into PNUM/PNO packets of at most 1024 bytes and reassemble whole")
    func splitRecords() throws {
        var template = try UnitTemplate.load("msw-incinerator")
        // Working-condition factors moved into the main record make the hour record too long.
        template.factors += template.workingCondition.map { var f = $0; f.zs = false; return f }
        template.workingCondition = []
        let (bytes, packets) = try Run.packets(template: template, duration: "1h")
        var decoder = FrameDecoder()
        decoder.feed(bytes)
        var split = 0
        while let e = decoder.next() {
            guard case .frame(let f) = e else { continue }
            #expect(f.segment.count <= 1024)
            if SegmentParser.parse(f.segmentBytes).segment.pnum != nil { split += 1 }
        }
        #expect(split >= 2)
        let hour = try #require(packets.first { $0.cn == "2061" })
        for f in template.factors { #expect(hour.text("\(f.code)-Avg") != nil, "\(f.code)") }
        #expect(hour.segment.flag?.isSplit == false)
    }

    @Test("the sample fleet has 500+ units covering every template, and the demo fleet one per kind")
    func fleets() throws {
        let city = try Fleet.load("sample-city")
        #expect(city.units.count >= 500)
        #expect(Set(city.units.map(\.unit)) == Set(Self.templates))
        #expect(Set(city.units.map(\.identity.mn)).count == city.units.count)
        let demo = try Fleet.load("mixed-demo")
        #expect(demo.units.count >= 4)
        #expect(Set(demo.units.map { demo.templates[$0.unit]!.medium }) == [.water, .gas])
    }

    @Test("a fleet hour is deterministic and time-ordered across units")
    func fleetOrder() throws {
        let fleet = try Fleet.load("mixed-demo")
        let t0 = SimClock.parseStart("2026-11-30T10:00")!
        func run() throws -> [(Int, Int64, [UInt8])] {
            var g = try FleetGenerator(fleet: fleet, seed: 9, start: t0)
            var out: [(Int, Int64, [UInt8])] = []
            g.run(until: t0 + 900_000) { unit, p in out.append((unit, p.time, p.bytes)) }
            return out
        }
        let a = try run(), b = try run()
        #expect(a.map(\.2) == b.map(\.2))
        #expect(zip(a, a.dropFirst()).allSatisfy { $0.1 <= $1.1 })
        #expect(Set(a.map(\.0)).count == fleet.units.count)
    }
}
