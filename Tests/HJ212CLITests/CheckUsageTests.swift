import Foundation
import Glibc
import HJ212
import HJConformance
import Testing
@testable import HJ212CLI
import TestSupport

/// `hj212 check`: usage errors and unreachable targets in one line with exit 2, before
/// anything runs; `--trace` of a whole certification (issue 11).
@Suite("check usage, one-line errors and --trace")
struct CheckUsageTests {
    /// A bound and listening socket on loopback (a port in use) and its port.
    static func occupiedPort() -> (fd: Int32, port: UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var sin = sockaddr_in()
        sin.sin_family = sa_family_t(AF_INET)
        sin.sin_addr = in_addr(s_addr: UInt32(0x7F00_0001).bigEndian)
        _ = withUnsafePointer(to: &sin) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        _ = listen(fd, 4)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &sin) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return (fd, UInt16(bigEndian: sin.sin_port))
    }

    @Test("--unit nope is a one-line usage error, exit 2, before anything runs")
    func unknownUnit() {
        let started = monotonicSeconds()
        let r = hj212(["check", "logger", "--listen", "127.0.0.1:0", "--unit", "nope", "--window", "5m"])
        #expect(r.status == 2)
        #expect(monotonicSeconds() - started < 5)  // hang guard: nothing was listened for
        #expect(r.out.isEmpty && r.err.split(separator: "\n").count == 1 && r.err.contains("--unit 'nope'"), "\(r.err)")
        #expect(r.err.contains("industrial-wastewater"))
    }

    @Test("other usage errors: --plan unknown or on a platform, an unresolvable host")
    func usage() {
        let plan = hj212(["check", "logger", "--listen", "127.0.0.1:0", "--plan", "week"])
        #expect(plan.status == 2 && plan.err.split(separator: "\n").count == 1, "\(plan.err)")
        let platformPlan = hj212(["check", "platform", "127.0.0.1:7001", "--plan", "hour"])
        #expect(platformPlan.status == 2 && platformPlan.err.contains("--plan"), "\(platformPlan.err)")
        let host = hj212(["check", "platform", "no-such-host.invalid:7001"])
        #expect(host.status == 2 && host.err.split(separator: "\n").count == 1 && host.err.contains("cannot resolve"), "\(host.err)")
    }

    @Test("check and simulate resolve host names as load does (localhost:PORT)")
    func hostNames() {
        let (fd, port) = Self.occupiedPort()
        defer { close(fd) }
        // A platform that accepts and never answers: the run is reachable (not a usage error).
        let r = hj212(["check", "platform", "localhost:\(port)", "--only", "P-ACK-2011", "--overtime", "0.2", "--command-window", "0", "--format", "json"])
        #expect(r.status != 2, "\(r.err)")
        let sim = hj212(["simulate", "--unit", "industrial-wastewater", "--to", "no-such-host.invalid:7001", "--duration", "1m"])
        #expect(sim.status == 2 && sim.err.contains("cannot resolve"), "\(sim.err)")
    }

    @Test("check logger on a port in use: one line, exit 2, no plan and no report")
    func portInUse() {
        let (fd, port) = Self.occupiedPort()
        defer { close(fd) }
        let r = hj212(["check", "logger", "--listen", "127.0.0.1:\(port)", "--window", "1"])
        #expect(r.status == 2)
        #expect(r.out.isEmpty, "\(r.out)")
        #expect(r.err.split(separator: "\n").count == 1 && r.err.contains("cannot listen on 127.0.0.1:\(port)"), "\(r.err)")
    }

    @Test("check platform --trace writes the exchange as JSON Lines: up and down frames with t, dir, peer, mn, frame")
    func platformTrace() throws {
        let platform = try ReferencePlatform()
        defer { platform.stop() }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hj212-check-trace-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = hj212(["check", "platform", "127.0.0.1:\(platform.port)", "--registry", platform.registryPath, "--only", "P-ACK-2011,P-ACK-2051",
                       "--overtime", "0.4", "--command-window", "0", "--trace", path, "--format", "json"])
        #expect(r.status == 0, "\(r.err)")
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count >= 4)
        var dirs = Set<String>()
        for line in lines {
            let j = try JSONValue.parse(String(line))
            for key in ["t", "dir", "peer", "mn", "frame"] { #expect(j[key]?.string != nil, "\(key) in \(line)") }
            dirs.insert(j["dir"]?.string ?? "")
            #expect(j["frame"]?.string?.hasPrefix("##") == true)
        }
        #expect(dirs == ["up", "down"])
    }

    @Test("off a terminal, check logger prints its plan (with the MUST warning) and plain progress lines")
    func planAndProgress() {
        let r = hj212(["check", "logger", "--listen", "127.0.0.1:0", "--connect-timeout", "1", "--window", "3m"])
        // Nothing connects: exit 2 after the connect timeout.
        #expect(r.status == 2)
        #expect(r.err.contains("plan: no --plan, an observation window of 3 min"), "\(r.err)")
        #expect(r.err.contains("WARNING") && r.err.contains("L-HOUR-CADENCE") && r.err.contains("incomplete"), "\(r.err)")
        #expect(r.err.contains("check logger: waiting for the logger") && r.err.contains("elapsed") && r.err.contains("checks done"), "\(r.err)")
        #expect(r.err.contains("no logger connected within 1 s"), "\(r.err)")
        let hour = hj212(["check", "logger", "--listen", "127.0.0.1:0", "--connect-timeout", "1", "--plan", "hour"])
        #expect(hour.err.contains("--plan hour") && !hour.err.contains("WARNING"), "\(hour.err)")
    }
}
