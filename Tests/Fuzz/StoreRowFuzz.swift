// libFuzzer harness: the store's row read from a frame in place (`serve --store`'s writer,
// `StoreBatch.Rows.resolve` through `SegmentScanner`). Built by .ci/fuzz (see docs/fuzzing.md).
//
// The input is a data segment; it is framed (length, CRC, CR LF) as a logger would, and its
// `DataSegment` is made as the platform makes it (the byte linter's when it takes the frame, which
// must equal `SegmentParser`'s, else `SegmentParser`'s). The packet row is then made both ways:
// read from the frame (the segment's place known) and read from the `DataSegment` on the loop,
// with no record and with the packet's own record. Checked: no trap, and both rows have the same
// columns (header texts, DataTime, the record's codes, flags and packed values, the counts).
import HJ212
import HJRoles
import HJStore

let linter: ByteLinter = {
    guard let l = try? Linter(options: LintOptions(strict: false)) else { fatalError("the linter does not load") }
    return ByteLinter(linter: l)
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzStoreRow(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let segmentBytes = Array(UnsafeBufferPointer(start: data, count: size))
    let frame = FrameEncoder.frame(segmentBytes: segmentBytes)
    for case .frame(let raw) in FrameDecoder.events(in: frame) {
        // The decoder may end the frame elsewhere (a CR LF inside the segment, a length over four
        // digits): the row is read from the segment of the frame it found, as the platform's.
        var segment = SegmentParser.parse(raw.segmentBytes).segment
        if let report = linter.platformReport(raw, index: 1) {
            guard report.segment == segment else { fatalError("the byte linter's segment differs from SegmentParser's") }
            segment = report.segment
        }
        let range = raw.segment
        let packet = AcceptedPacket(frame: raw.bytes, segment: segment, time: 1_796_000_000_000, peer: "127.0.0.1:1", segmentRange: range)
        var reference = packet
        reference.segmentRange = nil
        for record in [nil, segment] as [DataSegment?] {
            var fast = StoreBatch(), slow = StoreBatch()
            fast.add(packet: packet, record: record)
            slow.add(packet: reference, record: record)
            guard fast.rowsFromFrame == 1, slow.rowsFromFrame == 0 else { fatalError("the row did not take the path under test") }
            guard fast.columnBytes() == slow.columnBytes() else {
                fatalError("the row read from the frame differs from the row read from the segment: \(fast.columnBytes()) against \(slow.columnBytes())")
            }
        }
        break
    }
    return 0
}
