// libFuzzer harness: scenario files and unit templates (strict JSON + JSONReader). Built by .ci/fuzz.
// Any text parses or fails with an error; a scenario that parses compiles against a small fleet
// without trapping.
import HJ212
import HJSimulation

let fuzzUnits: [Scenario.Unit] = {
    // One unit of each built-in template, so that template:NAME, #N and MN selectors all resolve.
    UnitTemplate.available().enumerated().compactMap { n, name in
        (try? UnitTemplate.load(name)).map { Scenario.Unit(mn: "010000A8900016F0001\(String(70000 + n))", template: $0, row: n + 1, enterprise: "E\(n)") }
    }
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzScenario(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    if let scenario = try? Scenario.parse(text, file: "fuzz.json") {
        _ = try? scenario.compile(units: fuzzUnits, start: 1_796_011_200_000, end: 1_796_097_600_000, live: true)
    }
    _ = try? UnitTemplate.parse(text, file: "fuzz-unit.json")
    return 0
}
