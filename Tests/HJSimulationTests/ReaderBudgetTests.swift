import HJ212
import Testing
@testable import HJSimulation

// Issue 18, item 9: error messages quoted a 50 MB field whole; scenarios read JSON laxly.
@Suite("Scenario and template readers: bounded quotes, strict JSON")
struct ReaderBudgetTests {
    @Test("a huge value of the wrong type is quoted cut, with the count of what was cut")
    func hugeValueQuoted() {
        let huge = String(repeating: "A", count: 5_000_000)
        let text = #"{"name": ["\#(huge)"], "title_zh": "x", "title_en": "x", "events": []}"#
        do {
            _ = try Scenario.parse(text, file: "big.json")
            Issue.record("accepted an array as the name")
        } catch {
            let message = "\(error)"
            #expect(message.count < 300, "\(message.count) characters")
            #expect(message.contains("more characters"))
            #expect(message.contains("name"))
        }
    }

    @Test("a scenario with a duplicate key or a lax escape is refused with its byte offset")
    func strictScenario() {
        for text in [#"{"name": "a", "name": "b"}"#, #"{"name": "\x41"}"#] {
            do {
                _ = try Scenario.parse(text, file: "s.json")
                Issue.record("accepted \(text)")
            } catch {
                #expect("\(error)".contains("not valid JSON") && "\(error)".contains("byte "), "\(error)")
            }
        }
    }
}

// Regression tests for what fuzzing found (Tests/Fuzz, docs/fuzzing.md).
@Suite("Fuzz findings")
struct FuzzFindingTests {
    /// fault-spec harness, crash a896c046: `d9@ /…` — an empty start time indexed an empty split.
    @Test("a fault window with an empty start is an error, not a trap")
    func emptyWindowStart() {
        let input = "d9@ /" + String(decoding: [0xDD, 0xFF, 0xFF, 0x19, 0x19, 0x19, 0x19, 0x19, 0x19], as: UTF8.self)
        #expect(throws: ProfileError.self) { try FaultSpec.parseList(input) }
        #expect(throws: ProfileError.self) { try FaultSpec.parseList("crc-mismatch@ /1h") }
        for text in ["", " ", "T", "T10:00", "Z", "+08:00"] { #expect(SimClock.parseStart(text) == nil, "\(text)") }
        #expect(SimClock.parseStart("2026-11-30T10:00") != nil)
    }
}
