import Foundation
import HJ212
import HJRoles
import HJSimulation
@testable import HJStore
import Testing
import TestSupport

/// `serve --store`'s loops copy a packet's frame and leave its row's fields (header texts, the
/// record's packed texts, DataTime) to the writer, which reads them from the frame
/// (`StoreBatch.Rows.resolve`, through `SegmentScanner`). The row must be the one the loop
/// would have made from the packet's `DataSegment` (`appendFromSegment`): these tests make every
/// row both ways, from what a real `PlatformSession` accepted, and compare them field by field.
@Suite("Store rows read from the frame")
struct StoreRowFromFrameTests {
    /// A row's texts and numbers, comparable.
    struct RowText: Equatable, CustomStringConvertible {
        var texts: [[UInt8]?]
        var numbers: [Int64]
        var description: String { "\(texts) \(numbers)" }
    }

    static func describe(_ rows: StoreBatch.Rows) -> [RowText] {
        (0..<rows.list.count).map { k in
            let r = rows.list[k]
            // Bytes, not decoded strings: an invalid sequence and its replacement decode alike.
            let texts = [r.mn, r.pw, r.qn, r.cn, r.st, r.peer, r.frame, r.codes, r.flags, r.vals].map { s in
                rows.text(s).map { Array($0) }
            }
            return RowText(texts: texts, numbers: [Int64(r.pno), r.dataTime, r.receivedAt, r.hasRecord ? 1 : 0,
                                                   Int64(r.factors), Int64(r.invalid), Int64(r.values), r.pending ? 1 : 0])
        }
    }

    /// Feeds `frames` (one per input) to a platform session in open mode and adds each
    /// accepted packet, with the record it completed, to two batches: one as `serve --store`
    /// adds it (its segment's place in the frame known), one read from the `DataSegment`.
    /// Returns both batches' rows (the first resolved as the writer does) and how many rows
    /// took each path.
    static func bothWays(_ frames: [[UInt8]], byteLint: Bool) throws -> (fromFrame: [RowText], fromSegment: [RowText], pending: Int, packets: Int) {
        let state = try PlatformState(lintOptions: LintOptions(strict: false), byteLint: byteLint)
        var session = PlatformSession(state: state, peer: "127.0.0.1:40000")
        var out: [PlatformOutput] = []
        var now: SessionTime = 1_796_000_000_000
        session.connected(at: now, into: &out)
        var fast = StoreBatch(), reference = StoreBatch()
        var packets = 0
        for frame in frames {
            out.removeAll()
            session.received(frame, at: now, into: &out)
            state.commit(out)
            now += 137
            // As `StoreSink.hold` pairs them: a record belongs to the packet just before it.
            var pending: AcceptedPacket?
            var record: DataSegment?
            func flush() {
                guard let p = pending else { return }
                fast.add(packet: p, record: record)
                var q = p
                q.segmentRange = nil
                reference.add(packet: q, record: record)
                packets += 1
            }
            for o in out {
                switch o {
                case .packetAccepted(let p):
                    flush()
                    pending = p
                    record = nil
                case .recordAccepted(let r): if pending != nil { record = r.segment }
                default: break
                }
            }
            flush()
        }
        let pending = fast.rows.pendingCount
        #expect(reference.rows.pendingCount == 0)
        fast.rows.resolvePending()
        #expect(fast.rows.pendingCount == 0)
        return (describe(fast.rows), describe(reference.rows), pending, packets)
    }

    static func compare(_ frames: [[UInt8]], _ comment: String) throws -> (pending: Int, packets: Int) {
        var total = (pending: 0, packets: 0)
        for byteLint in [true, false] {
            let r = try bothWays(frames, byteLint: byteLint)
            #expect(r.fromFrame.count == r.fromSegment.count, "\(comment)")
            for (k, (a, b)) in zip(r.fromFrame, r.fromSegment).enumerated() where a != b {
                Issue.record("\(comment), byte lint \(byteLint), row \(k):\nfrom the frame:   \(a)\nfrom the segment: \(b)")
                break
            }
            total.pending += r.pending
            total.packets += r.packets
        }
        return total
    }

    /// The `frame` column of a shared vector table, each with CR LF.
    static func vectorFrames(_ name: String) throws -> [[UInt8]] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let directory = ProcessInfo.processInfo.environment["HJ212_VECTORS"] ?? root.deletingLastPathComponent().appendingPathComponent("shared/vectors").path
        let text = try String(contentsOfFile: directory + "/" + name, encoding: .utf8)
        let lines = text.split(separator: "\n").map { $0.hasSuffix("\r") ? $0.dropLast() : $0 }
        guard let header = lines.first, let column = header.split(separator: "\t", omittingEmptySubsequences: false).firstIndex(of: "frame") else { return [] }
        return lines.dropFirst().compactMap { line in
            let cells = line.split(separator: "\t", omittingEmptySubsequences: false)
            return cells.count > column ? Array(cells[column].utf8) + [13, 10] : nil
        }
    }

    @Test("the shared vectors (appendix and malformed frames): every accepted packet's row is the same both ways")
    func sharedVectors() throws {
        let frames = try Self.vectorFrames("hj212-2017-appendix.tsv") + Self.vectorFrames("malformed.tsv")
        try #require(frames.count > 40)
        let r = try Self.compare(frames, "vectors")
        #expect(r.packets > 40, "\(r.packets) packets")
        #expect(r.pending * 10 > r.packets * 9, "\(r.pending) of \(r.packets) rows read from the frame")
    }

    @Test("generated traffic of a fleet unit: the same both ways, split records read on the loop")
    func generated() throws {
        let template = try UnitTemplate.load("industrial-wastewater")
        let mn = "0100AD000000000000000001"
        let t0: Int64 = 1_796_000_000_000
        var generator = try FleetGenerator(template: template, identity: LoggerIdentity(mn: mn, pw: "123456"), seed: 5, start: t0)
        var frames: [[UInt8]] = []
        generator.run(until: t0 + 2 * 3_600_000) { _, p in frames.append(FrameEncoder.frame(segmentBytes: p.bytes)) }
        try #require(frames.count > 100)
        let r = try Self.compare(frames, "generated")
        #expect(r.packets == 2 * frames.count)
        #expect(r.pending > r.packets / 2)
    }

    @Test("mutated segments (spaces, commas, log text, encrypted areas, invalid UTF-8, doubled fields), re-framed so that they are accepted")
    func mutated() throws {
        var rng = SplitMix64(seed: 22)
        let base = try Self.vectorFrames("hj212-2017-appendix.tsv").compactMap { f -> [UInt8]? in
            guard f.count > 14 else { return nil }
            return Array(f[6..<(f.count - 6)])  // the data segment
        }
        try #require(!base.isEmpty)
        let pieces: [[UInt8]] = [Array(";".utf8), Array(",".utf8), Array("=".utf8), Array(" ".utf8), Array("&&".utf8), Array("//".utf8),
                                 Array("-".utf8), Array("DataTime=20261130120000".utf8), Array("DataTime=2026".utf8), Array("QN=".utf8),
                                 Array("MN=x".utf8), Array("PNO=7".utf8), Array("PNO=-".utf8), Array("a01-Flag=D".utf8),
                                 Array("w01018-Rtd=1e3".utf8), Array("x-Rtd=007.50".utf8), Array("CP=&&".utf8), Array("{0x1}".utf8),
                                 Array("\"\\".utf8), [0x01], [0xC2], [0xC2, 0x80], [0xE4, 0xB8], [0xFF], Array("中".utf8)]
        var frames: [[UInt8]] = []
        for _ in 0..<3_000 {
            var s = base[rng.below(base.count)]
            for _ in 0..<(1 + rng.below(4)) {
                let at = rng.below(s.count + 1)
                switch rng.below(3) {
                case 0: s.insert(contentsOf: pieces[rng.below(pieces.count)], at: at)
                case 1: if at < s.count { s.remove(at: at) }
                default: if at < s.count { s[at] = pieces[rng.below(pieces.count)].first ?? 0x20 }
                }
            }
            frames.append(FrameEncoder.frame(segmentBytes: s))
        }
        let r = try Self.compare(frames, "mutated")
        #expect(r.packets > 1_000, "\(r.packets) packets accepted")
        #expect(r.pending > 1_000, "\(r.pending) rows read from the frame")
    }

    @Test("a record reassembled from split packets is read on the loop; a packet row whose frame is not the segment's place is not read from it")
    func reassembledAndUnknown() throws {
        let seg1 = Array("QN=20261130120000001;ST=32;CN=2011;PW=123456;MN=010000A89001000000000001;Flag=7;PNUM=2;PNO=1;CP=&&DataTime=20261130120000;a01-Rtd=1,a01-Flag=N&&".utf8)
        let seg2 = Array("QN=20261130120000001;ST=32;CN=2011;PW=123456;MN=010000A89001000000000001;Flag=7;PNUM=2;PNO=2;CP=&&DataTime=20261130120000;a02-Rtd=2,a02-Flag=D&&".utf8)
        let r = try Self.compare([FrameEncoder.frame(segmentBytes: seg1), FrameEncoder.frame(segmentBytes: seg2)], "split")
        #expect(r.packets == 4)
        // The first part completes nothing (read from the frame); the second completes a record
        // of both parts, which is not its own segment (read on the loop).
        #expect(r.pending == 2)

        // A range outside the frame: read from the segment.
        let segment = SegmentParser.parse(seg1).segment
        var p = AcceptedPacket(frame: FrameEncoder.frame(segmentBytes: seg1), segment: segment, time: 0, peer: "p", segmentRange: 6..<10_000)
        var batch = StoreBatch()
        batch.add(packet: p, record: segment)
        #expect(batch.rows.pendingCount == 0)
        p.segmentRange = 6..<(6 + seg1.count)
        batch.add(packet: p, record: segment)
        #expect(batch.rows.pendingCount == 1)
        // An equal record in other storage is not taken for the packet's own.
        let copy = SegmentParser.parse(seg1).segment
        batch.add(packet: p, record: copy)
        #expect(batch.rows.pendingCount == 1)
        batch.rows.resolvePending()
        let rows = Self.describe(batch.rows)
        #expect(rows[0].texts == rows[1].texts && rows[1].texts == rows[2].texts)
        #expect(rows[0].numbers.dropLast() == rows[1].numbers.dropLast())
    }
}
