import Foundation
@testable import HJ212
import HJRoles
import HJSimulation
import Testing
import TestSupport

/// The platform lints through `ByteLinter` (PlatformState.byteLinters) and through `Linter.check`
/// only when the byte path does not take a frame; `HJ212_PLATFORM_LINT_REFERENCE` (here:
/// `byteLint: false`) sends every frame through `Linter.check`. Both must give the same outputs:
/// diagnostics, acknowledgements, packets, records, log lines and counters, in the same order.
@Suite("Platform lint: byte path against Linter.check")
struct PlatformByteLintTests {
    /// Every output of one session fed `wire` in reads of `chunk` bytes, with the state's
    /// counters and diagnostics after each read.
    static func outputs(_ wire: [UInt8], byteLint: Bool, chunk: Int, lintOptions: LintOptions = LintOptions(strict: false)) throws -> [String] {
        let state = try PlatformState(lintOptions: lintOptions, byteLint: byteLint)
        #expect((state.byteLinters != nil) == byteLint)
        var session = PlatformSession(state: state, peer: "127.0.0.1:40000")
        var out: [PlatformOutput] = []
        var lines: [String] = []
        var now: SessionTime = 1_000
        session.connected(at: now, into: &out)
        var i = 0
        while i < wire.count {
            let j = min(wire.count, i + chunk)
            session.received(Array(wire[i..<j]), at: now, into: &out)
            state.commit(out)
            lines += out.map(Self.describe)
            out.removeAll()
            i = j
            now += 700
        }
        session.disconnected(at: now, into: &out)
        state.commit(out)
        lines += out.map(Self.describe)
        lines.append(Self.describe(state.counters))
        lines.append(String(describing: state.diagnostics))
        return lines
    }

    /// An output as text, with the counters' rule dictionary in rule order (a dictionary's own
    /// order differs from instance to instance).
    static func describe(_ output: PlatformOutput) -> String {
        if case .counted(let c) = output { return "counted(" + describe(c) + ")" }
        return String(describing: output)
    }

    static func describe(_ counters: PlatformCounters) -> String {
        var c = counters
        let rules = c.byRule.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        c.byRule = [:]
        return String(describing: c) + " rules " + rules
    }

    /// Compares both ways on `wire`; returns how many frames the byte path took and how many
    /// diagnostics the platform reported (so that a test can tell it compared something).
    @discardableResult
    static func compare(_ wire: [UInt8], chunk: Int = 4096, lintOptions: LintOptions = LintOptions(strict: false),
                        _ comment: Comment? = nil) throws -> (taken: Int, frames: Int, diagnostics: Int) {
        let fast = try outputs(wire, byteLint: true, chunk: chunk, lintOptions: lintOptions)
        let reference = try outputs(wire, byteLint: false, chunk: chunk, lintOptions: lintOptions)
        #expect(fast.count == reference.count, comment)
        for (a, b) in zip(fast, reference) where a != b {
            Issue.record("byte path: \(a)\nreference: \(b)")
            break
        }
        // How many of the frames the byte path takes (the same decoder, the same linter).
        let byteLinter = ByteLinter(linter: try Linter(options: lintOptions))
        let events = FrameDecoder.events(in: wire)
        var taken = 0, frames = 0
        for case .frame(let raw) in events {
            frames += 1
            if byteLinter.lint(raw, index: frames) { taken += 1 }
        }
        return (taken, frames, reference.filter { $0.hasPrefix("diagnostic(") }.count)
    }

    static func vectorFrames(_ name: String) throws -> [UInt8] {
        let text = try PlatformVectors.text(name)
        let lines = text.split(separator: "\n").map { $0.hasSuffix("\r") ? $0.dropLast() : $0 }
        guard let header = lines.first else { return [] }
        let columns = header.split(separator: "\t", omittingEmptySubsequences: false)
        guard let frame = columns.firstIndex(of: "frame") else { return [] }
        var wire: [UInt8] = []
        for line in lines.dropFirst() {
            let cells = line.split(separator: "\t", omittingEmptySubsequences: false)
            if cells.count > frame { wire += Array(cells[frame].utf8) + [13, 10] }
        }
        return wire
    }

    @Test("the shared vectors: appendix, malformed frames, a stream with noise")
    func sharedVectors() throws {
        let appendix = try Self.vectorFrames("hj212-2017-appendix.tsv")
        let malformed = try Self.vectorFrames("malformed.tsv")
        let noise = Array(try PlatformVectors.text("stream-with-noise.txt").utf8)
        #expect(!appendix.isEmpty && !malformed.isEmpty && !noise.isEmpty)
        var taken = 0, diagnostics = 0
        for (wire, name) in [(appendix, "appendix"), (malformed, "malformed"), (noise, "noise")] {
            for chunk in [4096, 97] {
                let r = try Self.compare(wire, chunk: chunk, Comment(rawValue: name))
                taken += r.taken
                diagnostics += r.diagnostics
            }
            let strict = try Self.compare(wire, lintOptions: LintOptions(strict: true), Comment(rawValue: "\(name), strict"))
            taken += strict.taken
        }
        #expect(taken > 20, "\(taken) frames took the byte path")
        #expect(diagnostics > 20, "\(diagnostics) diagnostics compared")
    }

    @Test("generated traffic with protocol faults, both ways the same")
    func generatedWithFaults() throws {
        let template = try UnitTemplate.load("industrial-wastewater")
        let mn = "0100AD000000000000000001"
        let t0: Int64 = 1_796_000_000_000
        let specs = try FaultSpec.parseList("crc-mismatch%3,crc-lowercase%3,crc-modbus%2,length-wrong%2,no-crlf%2,duplicate-qn%2,misaligned-datatime%3,version-2005%2,inconsistent-avg%3")
        var run = FaultedGeneration(generator: try FleetGenerator(template: template, identity: LoggerIdentity(mn: mn, pw: "123456"), seed: 7, start: t0),
                                    mns: [mn], faults: specs, seed: 7)
        var wire: [UInt8] = []
        run.run(until: t0 + 3 * 3_600_000, truth: { _ in }) { _, _, frames in for f in frames { wire += f } }
        for (_, frame) in run.finish() { wire += frame }
        let r = try Self.compare(wire, chunk: 1500)
        #expect(r.frames > 300, "\(r.frames) frames")
        #expect(r.taken * 2 > r.frames, "\(r.taken) of \(r.frames) frames took the byte path")
        #expect(r.diagnostics > 10, "\(r.diagnostics) diagnostics")
    }

    @Test("mutated frames (the byte path's refusals and near-misses), both ways the same")
    func mutated() throws {
        var r = SplitMix64(seed: 11)
        let appendix = try Self.vectorFrames("hj212-2017-appendix.tsv")
        let frames = appendix.split(separator: 10, omittingEmptySubsequences: true).map { Array($0) + [10] }
        try #require(!frames.isEmpty)
        let alphabet: [UInt8] = Array(";,=&-/ .{xN09AZaz".utf8) + [0x01, 0xC2, 0x80]
        var wire: [UInt8] = []
        for _ in 0..<400 {
            var frame = frames[Int(r.next() % UInt64(frames.count))]
            if r.next() % 2 == 0, frame.count > 20 {
                // Mutate the data segment, then give it a right length and CRC half of the time.
                let i = 6 + Int(r.next() % UInt64(frame.count - 14))
                frame[i] = alphabet[Int(r.next() % UInt64(alphabet.count))]
                if r.next() % 2 == 0 { frame = FrameEncoder.frame(segmentBytes: Array(frame[6..<(frame.count - 6)])) }
            }
            wire += frame
        }
        let result = try Self.compare(wire, chunk: 512)
        #expect(result.taken > 50 && result.taken < result.frames, "\(result.taken) of \(result.frames)")
    }
}
