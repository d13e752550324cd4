// libFuzzer harness: the data-segment parser (QN=…;ST=…;CP=&&…&&). Built by .ci/fuzz.
// Any bytes parse without trapping, and every offset it reports lies inside the input.
import HJ212

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSegmentParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let parsed = SegmentParser.parse(bytes)
    guard parsed.headerOffsets.count == parsed.segment.header.count else { fatalError("header offsets out of step") }
    guard parsed.headerOffsets.allSatisfy({ $0 >= 0 && $0 <= size }) else { fatalError("header offset outside the input") }
    if let cp = parsed.segment.cp {
        guard parsed.cpOffsets.count == cp.count else { fatalError("CP offsets out of step") }
        for (g, group) in cp.enumerated() {
            guard parsed.cpOffsets[g].count == group.count, parsed.cpOffsets[g].allSatisfy({ $0 >= 0 && $0 <= size }) else {
                fatalError("CP offset outside the input")
            }
        }
    }
    if let area = parsed.cpArea, area.lowerBound < 0 || area.upperBound > size { fatalError("CP area outside the input") }
    for f in parsed.findings { if let at = f.offset, at < 0 || at > size { fatalError("finding outside the input") } }
    _ = parsed.segment.serializedBytes()
    return 0
}
