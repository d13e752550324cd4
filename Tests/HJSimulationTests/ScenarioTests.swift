import Foundation
import HJ212
import Testing
@testable import HJSimulation

@Suite("Scenarios")
struct ScenarioTests {
    static func units(_ fleetName: String = "mixed-demo") throws -> [Scenario.Unit] {
        let fleet = try Fleet.load(fleetName)
        return fleet.units.enumerated().map { Scenario.Unit(mn: $1.identity.mn, template: fleet.templates[$1.unit]!, row: $0 + 1, enterprise: $1.enterprise) }
    }

    static let t0 = SimClock.parseStart("2026-11-30")!

    @Test("every shipped scenario loads and compiles against its fleet; generate-able ones without a network")
    func shipped() throws {
        let names = Scenario.builtinNames
        for required in ["analyser-flatline", "furnace-below-850", "calibration-tampering", "night-discharge-bypass", "offline-backfill", "protocol-torture"] {
            #expect(names.contains(required))
        }
        for name in names {
            let s = try Scenario.load(name)
            let specs = try s.specs(units: try Self.units(s.fleet ?? "mixed-demo"), start: Self.t0, end: Self.t0 + 86_400_000, live: true)
            #expect(specs.count >= s.events.count, "\(name)")
            #expect(specs.allSatisfy { $0.mn != nil })
            let transport = specs.contains { $0.layer == .transport }
            let offline = Result { try s.specs(units: try Self.units(s.fleet ?? "mixed-demo"), start: Self.t0, end: nil, live: false) }
            if transport {
                guard case .failure(let e as ProfileError) = offline else { Issue.record("\(name): transport accepted offline"); continue }
                #expect(e.description.contains("transport fault needs a live link"))
            } else {
                #expect((try? offline.get())?.count == specs.count, "\(name)")
            }
        }
    }

    @Test("protocol torture names every protocol fault of the catalogue")
    func torture() throws {
        let s = try Scenario.load("protocol-torture")
        let protocolIDs = Set(try FaultSpec.definitions().filter { $0.layer == .protocol }.map(\.id.rawValue))
        #expect(Set(s.events.map(\.fault)) == protocolIDs)
    }

    @Test("times: offsets, times of day (the first at or after the start), dates; the window ends after the duration")
    func times() throws {
        let start = SimClock.parseStart("2026-11-30T23:30")!
        #expect(Scenario.resolveStart("+90m", runStart: start, offsetMinutes: 480) == start + 5_400_000)
        #expect(Scenario.resolveStart("0", runStart: start, offsetMinutes: 480) == start)
        #expect(Scenario.resolveStart("22:00", runStart: start, offsetMinutes: 480) == SimClock.parseStart("2026-12-01T22:00"))
        #expect(Scenario.resolveStart("23:45", runStart: start, offsetMinutes: 480) == SimClock.parseStart("2026-11-30T23:45"))
        #expect(Scenario.resolveStart("2026-12-01T01:00", runStart: start, offsetMinutes: 480) == SimClock.parseStart("2026-12-01T01:00"))
        #expect(Scenario.resolveStart("soon", runStart: start, offsetMinutes: 480) == nil)
        let s = try Scenario.load("night-discharge-bypass")
        let specs = try s.specs(units: try Self.units(), start: Self.t0, end: nil, live: false)
        let w = try #require(specs.first?.window)
        // In the plant's operating hours (07:00-23:00): the story shows while it runs.
        #expect(w == SimClock.parseStart("2026-11-30T18:00")!..<SimClock.parseStart("2026-11-30T23:00")!)
        #expect(specs.allSatisfy { $0.mn == "010000A89001000000000001" })
    }

    /// A scenario with one event, checked against mixed-demo.
    static func check(_ event: String, live: Bool = true) throws -> [FaultSpec] {
        let text = ##"{"name":"t","title_zh":"测试","title_en":"Test","fleet":"mixed-demo","events":[{"unit":"#1","fault":"flatline","factor":"w01018"},"## + event + "]}"
        return try Scenario.parse(text, file: "bad.json").specs(units: try units(), start: t0, end: t0 + 86_400_000, live: live)
    }

    @Test("bad entries are rejected before anything runs, naming the file, the entry and the reason", arguments: [
        (##"{"unit":"0100000000000000000000FF","fault":"flatline"}"##, "not in the fleet"),
        (##"{"unit":"#99","fault":"flatline"}"##, "#1…#8"),
        (##"{"unit":"template:voc-process","fault":"flatline","factor":"w01018"}"##, "no factor w01018"),
        (##"{"unit":"#1","fault":"gremlins"}"##, "unknown fault 'gremlins'"),
        (##"{"unit":"#1","fault":"furnace-low"}"##, "no furnace temperature a01901"),
        (##"{"unit":"#6","fault":"furnace-low","parameters":{"heat":3}}"##, "unknown parameter 'heat'"),
        (##"{"unit":"#6","fault":"crc-mismatch","factor":"a21026"}"##, "takes no factor"),
        (##"{"unit":"template:nowhere","fault":"flatline"}"##, "no unit of template 'nowhere'"),
        (##"{"unit":"#1","fault":"flatline","start":"yesterday"}"##, "start 'yesterday'"),
        (##"{"unit":"#1","fault":"flatline","colour":"red"}"##, "colour"),
    ])
    func rejected(_ event: String, _ reason: String) {
        do {
            _ = try Self.check(event)
            Issue.record("accepted: \(event)")
        } catch let e as ProfileError {
            let text = e.description
            #expect(text.hasPrefix("bad.json"), "\(text)")
            #expect(text.contains("events[1]"), "\(text)")
            #expect(text.contains(reason), "\(text)")
        } catch {
            Issue.record("\(error)")
        }
    }

    @Test("an entry starting after the run ends is left out with a note, not an error")
    func late() throws {
        let text = ##"{"name":"t","title_zh":"测试","title_en":"Test","events":[{"unit":"#1","fault":"flatline","factor":"w01018","start":"+2d"}]}"##
        let compiled = try Scenario.parse(text, file: "late.json").compile(units: try Self.units(), start: Self.t0, end: Self.t0 + 86_400_000, live: false)
        #expect(compiled.specs.isEmpty && compiled.notes.count == 1 && compiled.notes[0].contains("events[0]"))
    }

    @Test("transport faults are refused without a network, accepted live")
    func transport() throws {
        #expect(try Self.check(##"{"unit":"#2","fault":"outage","start":"+1h","duration":"1h"}"##).last?.layer == .transport)
        #expect(throws: ProfileError.self) { try Self.check(##"{"unit":"#2","fault":"outage"}"##, live: false) }
    }

    @Test("a scenario run is deterministic and its ground truth names the units it targets")
    func deterministic() throws {
        let s = try Scenario.load("calibration-tampering")
        let units = try Self.units()
        func run() throws -> ([UInt8], [String]) {
            var options = SimulationOptions()
            options.faults = try s.specs(units: units, start: Self.t0, end: nil, live: false)
            var g = try FleetGenerator(fleet: try Fleet.load("mixed-demo"), seed: 9, start: Self.t0, options: options)
            var injectors = units.map { FaultInjector(specs: options.faults, seed: 9, mn: $0.mn) }
            var bytes: [UInt8] = [], truth: [String] = []
            g.run(until: Self.t0 + 12 * 3_600_000, faults: { _, r in truth.append(r.json()) }) { i, p in
                let (f, r) = injectors[i].frames(for: p, mn: units[i].mn)
                for x in f { bytes += x }
                truth += r.map { $0.json() }
            }
            return (bytes, truth)
        }
        let a = try run(), b = try run()
        #expect(a.0 == b.0 && a.1 == b.1)
        #expect(a.1.count == 5)
        let mns = Set(a.1.compactMap { try? JSONValue.parse($0)["mn"] }.compactMap { v -> String? in if case .string(let s) = v { return s } else { return nil } })
        #expect(mns == ["010000A89001000000000001", "010000A89001000000000004"])
    }
}
