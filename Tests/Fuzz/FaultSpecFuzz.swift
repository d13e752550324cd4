// libFuzzer harness: the --faults list (ID[:FACTOR][(NAME=VALUE;…)][%RATE][#COUNT][@START/DURATION]).
// Built by .ci/fuzz. Any text parses or fails with an error; never a trap.
import HJ212
import HJSimulation

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFaultSpec(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    _ = try? FaultSpec.parseList(text)
    return 0
}
