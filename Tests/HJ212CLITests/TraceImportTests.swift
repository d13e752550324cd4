import Foundation
import HJ212
import HJCapture
import Testing
@testable import HJ212CLI
import TestSupport

/// `trace import`: the output is replaced only by a finished import, never by the capture itself,
/// and frames that are not UTF-8 survive the trace.
@Suite("trace import", .serialized)
struct TraceImportTests {
    @Test("an output that is the capture (same path, or a hard link to it) is refused and the capture kept")
    func outputIsInput() throws {
        let bytes = loggerCapture(minuteFrames(count: 10))
        let capture = try temporaryFile(bytes, suffix: ".pcap")
        let link = temporaryPath(".jsonl")
        defer { for p in [capture, link] { try? FileManager.default.removeItem(atPath: p) } }
        try FileManager.default.linkItem(atPath: capture, toPath: link)
        for out in [capture, link] {
            let r = hj212(["trace", "import", capture, "-o", out])
            #expect(r.status == 2, "\(r.err)")
            #expect(r.err.contains("is the capture"), "\(r.err)")
            #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: capture))) == bytes)
        }
    }

    @Test("SIGTERM during the import: exit 143, 'interrupted: nothing written', the previous trace untouched, no claim of a cut-short capture")
    func interruptedImportKeepsOldTrace() throws {
        let big = try temporaryFile(loggerCapture(minuteFrames(count: 60_000)), suffix: ".pcap")
        let previous = temporaryPath(".jsonl")
        defer { for p in [big, previous] { try? FileManager.default.removeItem(atPath: p) } }
        let old = Array("{\"previous\":true}\n".utf8)
        #expect(FileManager.default.createFile(atPath: previous, contents: Data(old)))
        let tool = try RunningTool(["trace", "import", big, "-o", previous])
        usleep(400_000)
        let status = tool.terminate()
        #expect(!tool.stdout.contains("written to"), "the import finished before the signal: make the capture bigger")
        #expect(status == 143, "\(tool.stderr)")
        #expect(tool.stderr.contains("interrupted: nothing written"), "\(tool.stderr)")
        #expect(!tool.stderr.contains("cut short") && !tool.stderr.contains("not a readable capture"), "\(tool.stderr)")
        #expect([UInt8](try Data(contentsOf: URL(fileURLWithPath: previous))) == old)
        let dir = (previous as NSString).deletingLastPathComponent
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix((previous as NSString).lastPathComponent + ".") }
        #expect(leftovers.isEmpty, "temporary files left: \(leftovers)")
    }

    @Test("lint stopped by SIGTERM while reading a capture does not call the capture cut short")
    func interruptedLintOfCapture() throws {
        let big = try temporaryFile(loggerCapture(minuteFrames(count: 60_000)), suffix: ".pcap")
        defer { try? FileManager.default.removeItem(atPath: big) }
        let tool = try RunningTool(["lint", big])
        usleep(400_000)
        let status = tool.terminate()
        #expect(status == 143, "\(tool.stderr)")
        #expect(!(tool.stdout + tool.stderr).contains("cut short"), "\(tool.stdout.suffix(500))\(tool.stderr)")
    }

    @Test("a frame with GBK bytes survives the trace: linting the trace gives the capture's verdict (no CRC or length error)")
    func gbkFrameLossless() throws {
        var segment = Array("QN=20261130080000000;ST=32;CN=2051;PW=123456;MN=010000A89001000000000001;Flag=4;CP=&&DataTime=20261130080000;w01018-Avg=12.1,w01018-Flag=N;log=".utf8)
        segment += [0xB7, 0xA7, 0xC3, 0xC5, 0xB9, 0xCA, 0xD5, 0xCF]  // 阀门故障 in GBK
        segment += Array("&&".utf8)
        var frame: [UInt8] = []
        FrameEncoder.appendFrame(segmentBytes: segment, to: &frame)
        let capture = try temporaryFile(loggerCapture([frame] + minuteFrames(count: 2, fromHour: 9)), suffix: ".pcap")
        let trace = temporaryPath(".jsonl")
        defer { for p in [capture, trace] { try? FileManager.default.removeItem(atPath: p) } }
        let i = hj212(["trace", "import", capture, "-o", trace])
        #expect(i.status == 0, "\(i.err)")
        let fromCapture = hj212(["lint", capture, "--format", "json"])
        let fromTrace = hj212(["lint", trace, "--format", "json"])
        func rules(_ text: String) -> Set<String> {
            Set(text.split(separator: "\n").compactMap { try? JSONValue.parse(String($0)) }.flatMap { v -> [String] in
                guard case .array(let ds)? = v["diagnostics"] else { return [] }
                return ds.compactMap { if case .string(let r)? = $0["rule"] { r } else { nil } }
            })
        }
        #expect(rules(fromCapture.out).contains("frame.encoding-not-utf8"), "\(fromCapture.out)")
        #expect(rules(fromTrace.out) == rules(fromCapture.out), "\(fromTrace.out)")
        #expect(fromTrace.status == fromCapture.status)
        // report reads the frame's record from the trace too.
        let r = hj212(["report", trace, "--format", "json"])
        #expect(try JSONValue.parse(r.out)["records"] == .int(3), "\(r.err)")
    }
}
