import HJ212
import Testing
@testable import HJSimulation

/// The zero-copy header view reads generated traffic (every unit template's packets, with every
/// protocol fault applied to them) exactly as `SegmentParser` does.
@Suite struct HeaderViewTrafficTests {
    @Test func generatedTrafficWithProtocolFaults() throws {
        let start = SimClock.parseStart("2026-11-30T00:00")!
        let definitions = try FaultSpec.definitions()
        let protocolFaults = try definitions.filter { $0.layer == .protocol }.map {
            try FaultSpec.make(id: $0.id.rawValue, factor: nil, parameters: [:], rate: 0.3, definitions: definitions, source: "test")
        }
        var packets: [(unit: Int, packet: GeneratedPacket)] = []
        for (i, name) in ["msw-incinerator", "industrial-wastewater"].enumerated() {
            var sim = try UnitSimulator(template: try UnitTemplate.load(name), identity: LoggerIdentity(mn: "010000A8900016F000169DC\(i)", pw: "123456"),
                                        seed: 7, start: start)
            sim.advance(to: start + 65 * 60_000) { packets.append((i, $0)) }
        }
        var frames = 0
        _ = FaultedGeneration.replay(packets, mns: ["010000A8900016F000169DC0", "010000A8900016F000169DC1"], faults: protocolFaults, seed: 7,
                                     truth: { _ in }) { _, _, wire in
            for bytes in wire {
                var decoder = FrameDecoder()
                decoder.feed(bytes)
                while let event = decoder.next() {
                    guard case .frame(let f) = event else { continue }
                    frames += 1
                    let view = SegmentHeaderView(f.segmentBytes)
                    let parsed = SegmentParser.parse(f.segmentBytes)
                    let s = parsed.segment
                    #expect(view.text(view.qn) == s.qn && view.text(view.cn) == s.cn && view.text(view.mn) == s.mn)
                    #expect(view.text(view.st) == s.st && view.text(view.flag) == s.header("Flag") && view.text(view.pnum) == s.header("PNUM"))
                    // The view's ranges index the frame's storage; the parser's offsets are relative to the segment.
                    let base = f.segmentBytes.startIndex
                    #expect(view.cp.map { ($0.lowerBound - base)..<($0.upperBound - base) } == parsed.cpArea)
                    #expect(view.command == s.command && view.packetFlag == s.flag)
                    if let qn = s.qn, qn.utf8.count == 17 { #expect(view.qnNumber == Int64(qn)) }
                }
            }
        }
        #expect(frames > 100)
    }
}
