// libFuzzer harness: the data-segment parser (QN=…;ST=…;CP=&&…&&). Built by .ci/fuzz.
// Any bytes parse without trapping, and every offset it reports lies inside the input.
// The zero-copy header view (SegmentHeaderView) reads the same QN, ST, CN, MN, Flag and CP area.
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
    let view = SegmentHeaderView(Array(bytes))
    let s = parsed.segment
    guard view.text(view.qn) == s.qn, view.text(view.cn) == s.cn, view.text(view.mn) == s.mn,
          view.text(view.st) == s.st, view.text(view.flag) == s.header("Flag") else { fatalError("header view disagrees with the parser") }
    guard view.cp == parsed.cpArea else { fatalError("header view's CP area differs from the parser's") }
    if let n = view.qnNumber, s.qn.flatMap({ Int64($0) }) != n { fatalError("header view's QN number differs") }
    _ = (view.flagNumber, view.cnNumber, view.isCPEmpty, view.plainAcknowledgementQN)
    return 0
}
