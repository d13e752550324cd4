import Foundation
import Glibc
import HJ212
import HJ212CLI
import HJCapture
import Testing
import TestSupport

/// `simulate --pcap` and `serve --pcap` on loopback: what the bench did opens as a capture whose
/// frames are those of the trace.
@Suite(.serialized) struct PcapWritingTests {
    /// The `hj212` executable built beside the tests.
    static func binary() -> String? {
        let dir = Bundle.main.bundleURL.deletingLastPathComponent()
        return [dir.appendingPathComponent("hj212").path, Bundle.main.bundleURL.appendingPathComponent("hj212").path]
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    @Test func simulateAndServeWriteCapturesOfWhatTheyDid() throws {
        let binary = try #require(Self.binary(), "the hj212 executable is not built beside the tests")
        let servePcap = try scratchFile("serve.pcapng"), simPcap = try scratchFile("sim.pcapng"), simTrace = try scratchFile("sim.jsonl")
        let imported = try scratchFile("imported.jsonl")
        defer { for p in [servePcap, simPcap, simTrace, imported] { try? FileManager.default.removeItem(atPath: p) } }

        // A free port: bound, read back, released; serve then listens on it.
        let port = try #require(freePort())
        let address = "127.0.0.1:\(port)"
        let serve = Process()
        serve.executableURL = URL(fileURLWithPath: binary)
        serve.arguments = ["serve", "--listen", address, "--pcap", servePcap]
        serve.standardOutput = FileHandle.nullDevice
        serve.standardError = FileHandle.nullDevice
        try serve.run()
        defer { if serve.isRunning { kill(serve.processIdentifier, SIGKILL) } }
        let deadline = Date().addingTimeInterval(60)
        while !Self.accepts(port) && Date() < deadline { usleep(50_000) }
        #expect(Self.accepts(port), "serve did not start listening")

        let sim = hj212(["simulate", "--unit", "industrial-wastewater", "--to", address, "--speed", "600", "--duration", "20m",
                           "--pcap", simPcap, "--trace", simTrace])
        #expect(sim.status == 0, "\(sim.out)\(sim.err)")
        // SIGKILL, not Ctrl-C: a child of the test runner may inherit blocked signals; and the
        // capture is written per record, so even a killed platform leaves a complete file.
        kill(serve.processIdentifier, SIGKILL)
        serve.waitUntilExit()

        // The simulator's capture holds exactly the frames of its trace.
        let fromTrace = try lintedFrames(simTrace)
        #expect(fromTrace.count > 20)
        #expect(try lintedFrames(simPcap) == fromTrace)
        // The platform's capture holds the same conversation, seen from the other end: each
        // direction's frames in the same order (how the two directions interleave depends on
        // when each end read: a burst of uploads read at once is acknowledged after it; the
        // comparison of the whole interleaved list failed under load), but for what was in
        // flight when the simulator stopped. Importing it finds the logger's side: everything
        // but the platform's 9014 acknowledgements goes up.
        let fromServe = try lintedFrames(servePcap)
        func direction(_ frames: [FrameSummary], down: Bool) -> [FrameSummary] {
            frames.filter { $0.header.contains(#"CN=string("9014")"#) == down }
        }
        for down in [false, true] {
            let seenBySim = direction(fromTrace, down: down), seenByServe = direction(fromServe, down: down)
            #expect(abs(seenBySim.count - seenByServe.count) <= 2, "down: \(down)")
            let common = min(seenBySim.count, seenByServe.count)
            #expect(common > 5 && Array(seenBySim.prefix(common)) == Array(seenByServe.prefix(common)), "down: \(down)")
        }
        #expect(hj212(["trace", "import", servePcap, "-o", imported]).status == 0)
        let lines = try String(contentsOfFile: imported, encoding: .utf8).split(separator: "\n").map { try JSONValue.parse(String($0)) }
        #expect(lines.count == fromServe.count)
        for line in lines {
            guard case .string(let frame)? = line["frame"] else { Issue.record("no frame"); continue }
            #expect(line["dir"] == .string(frame.contains("CN=9014") ? "down" : "up"), "\(frame)")
        }
    }

    static func accepts(_ port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_port = port.bigEndian
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &a) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    @Test func unwritableCaptureIsAUsageError() {
        let r = hj212(["simulate", "--unit", "industrial-wastewater", "--to", "127.0.0.1:9", "--pcap", "/nonexistent/dir/x.pcapng"])
        #expect(r.status == 2 && r.err.contains("cannot write capture"))
    }
}
