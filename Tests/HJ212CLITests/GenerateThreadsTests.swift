import Foundation
import HJ212
import TestSupport
import Testing
@testable import HJ212CLI

@Suite("generate --threads")
struct GenerateThreadsTests {
    /// Runs `generate` into a temporary file and returns its bytes (and the truth file's, if any).
    func generate(_ extra: [String]) throws -> (out: [UInt8], truth: [UInt8]?, err: String) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hj212-threads-\(UUID().uuidString).raw").path
        defer { try? FileManager.default.removeItem(atPath: path); try? FileManager.default.removeItem(atPath: path + ".truth.jsonl") }
        let r = hj212(["generate", "--fleet", "mixed-demo", "--start", "2026-11-30T23:40", "--duration", "40m", "-o", path] + extra)
        #expect(r.status == 0, "\(r.err)")
        let out = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let truth = (try? Data(contentsOf: URL(fileURLWithPath: path + ".truth.jsonl"))).map { [UInt8]($0) }
        return (out, truth, r.err)
    }

    @Test("a multi-unit generation is the same bytes with --threads 1 and --threads 2 (raw, trace, and with faults)")
    func sameBytes() throws {
        let one = try generate(["--threads", "1"])
        let two = try generate(["--threads", "2"])
        #expect(one.out.count > 50_000)
        #expect(one.out == two.out)
        // The frames are whole HJ 212 frames, every one of them (across midnight: day records too).
        var decoder = FrameDecoder()
        decoder.feed(two.out)
        var frames = 0
        for event in decoder.finish() {
            guard case .frame = event else { Issue.record("not a frame: \(event)"); continue }
            frames += 1
        }
        #expect(two.err.contains("\(frames) packets"))
        #expect(try generate(["--threads", "1", "--format", "trace"]).out == generate(["--threads", "2", "--format", "trace"]).out)
        let faults = ["--faults", "crc-mismatch%5,out-of-order%20,flatline@2026-11-30T23:50/10m"]
        let f1 = try generate(["--threads", "1"] + faults), f2 = try generate(["--threads", "3"] + faults)
        #expect(f1.out == f2.out)
        #expect(f1.truth != nil && f1.truth == f2.truth)
        #expect(f1.out != one.out)
    }
}
