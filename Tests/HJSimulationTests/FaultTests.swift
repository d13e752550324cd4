import Foundation
import HJ212
import Testing
@testable import HJSimulation

/// Protocol faults change the traffic as described, checked by decoding with the codec.
@Suite("Protocol faults")
struct FaultTests {
    static let expectedRule: [String: String] = [
        "crc-mismatch": "frame.crc-mismatch", "crc-modbus": "frame.crc-variant-modbus",
        "crc-modbus-swapped": "frame.crc-variant-modbus-swapped", "crc-lowercase": "frame.crc-lowercase",
        "length-wrong": "frame.length-mismatch", "no-crlf": "frame.trailer-missing", "malformed-mn": "segment.mn-format",
        "version-2005": "dialect.2005",
    ]

    /// One hour of the test water unit through an injector; the frames decoded and linted.
    static func run(_ spec: String) throws -> (reports: [FrameReport], records: [FaultRecord], clean: Int) {
        let t0 = SimClock.parseStart("2026-11-30")!
        var g = try FleetGenerator(template: Run.water, identity: LoggerIdentity(mn: "010000A8900016F000169DC0", pw: "123456"), seed: 4, start: t0)
        var injector = FaultInjector(specs: try FaultSpec.parseList(spec), seed: 4, mn: "010000A8900016F000169DC0")
        var bytes: [UInt8] = []
        var records: [FaultRecord] = []
        var clean = 0
        g.run(until: t0 + 3_600_000) { _, p in
            clean += 1
            let (frames, r) = injector.frames(for: p, mn: "010000A8900016F000169DC0")
            records += r
            for f in frames { bytes += f }
        }
        var decoder = FrameDecoder()
        decoder.feed(bytes)
        var events: [FrameDecoder.Event] = []
        while let e = decoder.next() { events.append(e) }
        events += decoder.finish()
        let linter = try Linter()
        var reports: [FrameReport] = []
        for case .frame(let f) in events { reports.append(linter.check(f, index: reports.count)) }
        return (reports, records, clean)
    }

    @Test("each frame fault shows up as its rule on every affected packet, and in the ground truth", arguments: Array(expectedRule.keys).sorted())
    func frameFaults(_ id: String) throws {
        let (reports, records, total) = try Self.run(id)
        #expect(records.count == total)  // rate 100 %: every packet
        #expect(reports.count == total)
        let rule = Self.expectedRule[id]!
        // A CRC of digits only has no case: lower case shows only where it has a letter.
        let affected = id == "crc-lowercase" ? reports.filter { $0.crc.computed.contains { $0.isLetter } } : reports
        #expect(!affected.isEmpty)
        #expect(affected.allSatisfy { $0.diagnostics.contains { $0.rule == rule } }, "\(id): \(affected.first?.diagnostics.map(\.rule) ?? [])")
        #expect(Set(records.map(\.qn)) == Set(reports.compactMap { $0.segment.qn }))
    }

    @Test("no faults, no records, byte-identical traffic")
    func none() throws {
        let (reports, records, total) = try Self.run("")
        #expect(records.isEmpty)
        #expect(reports.count == total)
        #expect(reports.allSatisfy { $0.diagnostics.isEmpty })
    }

    @Test("records can go missing or come twice; a rate and a window limit the injection")
    func recordFaults() throws {
        let missing = try Self.run("missing-record")
        #expect(!missing.reports.contains { ["2051", "2061"].contains($0.segment.cn ?? "") })
        #expect(missing.records.count == 7)  // six 2051 and one 2061 in the hour
        let twice = try Self.run("duplicate-record")
        #expect(twice.reports.filter { $0.segment.cn == "2051" }.count == 12)
        let some = try Self.run("wrong-pw%50")
        #expect(some.records.count > 10 && some.records.count < some.clean - 10)
        #expect(some.reports.filter { $0.segment.pw == "000000" }.count == some.records.count)
        let window = try Self.run("crc-lowercase@2026-11-30T00:10/10m")
        #expect(!window.records.isEmpty)
        let from = SimClock.parseStart("2026-11-30T00:10")!
        #expect(window.records.allSatisfy { $0.time >= from && $0.time < from + 600_000 })
    }

    @Test("unknown faults and malformed specs are rejected with the reason")
    func badSpecs() {
        #expect(throws: ProfileError.self) { try FaultSpec.parseList("crc-bogus") }
        #expect(throws: ProfileError.self) { try FaultSpec.parseList("no-crlf%0") }
        #expect(throws: ProfileError.self) { try FaultSpec.parseList("no-crlf@tomorrow") }
    }
}
