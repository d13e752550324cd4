import Glibc
import HJCapture
import Synchronization

/// Writes what a live run sent and received as a pcapng capture (`--pcap FILE`), so that it opens
/// in Wireshark: each connection is synthesised as IPv4/IPv6 TCP with a handshake, correct
/// sequence numbers and checksums (raw-IP link type). Thread-safe; each record is written at once.
///
/// The remote side's address is the real one; the tool's own side is the listen address (serve)
/// or, for loggers the tool plays (simulate), a synthetic address in 198.18.0.0/15 (RFC 2544
/// benchmarking) with one port per MN, because the operating system's choice is not recorded.
package final class CaptureRecorder: Sendable {
    package let path: String
    private let fd: Int32
    private let offsetMinutes: Int
    /// Whether the tool plays the logger (simulate) or the platform (serve).
    private let localIsLogger: Bool
    private let localEndpoint: Endpoint?
    /// Conversations are keyed by peer and MN; at most `maxConversations` (then the oldest goes).
    package static let maxConversations = 65_536
    private let state: Mutex<(writer: PcapngWriter, conversations: [String: TCPConversation], order: [String], packets: Int, failed: String?)>

    package init(file path: String, offsetMinutes: Int, localIsLogger: Bool, local: String? = nil) throws(OutputFileError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw OutputFileError("cannot write capture '\(path)': \(String(cString: strerror(errno)))") }
        self.fd = fd
        self.path = path
        self.offsetMinutes = offsetMinutes
        self.localIsLogger = localIsLogger
        localEndpoint = local.flatMap { Endpoint($0) }.map { e in
            // A wildcard listen address is shown as loopback.
            e.address.bytes.allSatisfy { $0 == 0 } ? Endpoint(IPAddress(e.address.isIPv6 ? Array(repeating: 0, count: 15) + [1] : [127, 0, 0, 1]), e.port) : e
        }
        var writer = PcapngWriter(comment: "written by hj212 \(localIsLogger ? "simulate" : "serve")")
        writer.addInterface(linkType: .raw, name: localIsLogger ? "hj212-loggers" : "hj212-platform")
        state = Mutex((writer, [:], [], 0, nil))
        state.withLock { s in
            let header = s.writer.take()
            s.failed = Self.writeAll(fd, header)
        }
    }

    deinit { close(fd) }

    package var packets: Int { state.withLock { $0.packets } }
    package var failure: String? { state.withLock { $0.failed } }

    /// The value of `MN=` in the first frame of `bytes`, if any (conversations are per logger).
    package static func mn(_ bytes: [UInt8]) -> String {
        guard let range = bytes.firstRange(of: Array("MN=".utf8)) else { return "" }
        let value = bytes[range.upperBound...].prefix { $0 != UInt8(ascii: ";") && $0 != UInt8(ascii: "&") }.prefix(64)
        return String(decoding: value, as: UTF8.self)
    }

    /// Records `bytes` sent (`up` = logger to platform) on the connection with `peer` at local
    /// wall-clock milliseconds `time`.
    package func record(_ bytes: [UInt8], up: Bool, peer: String, at time: Int64) {
        guard !bytes.isEmpty else { return }
        let nanos = (time - Int64(offsetMinutes) * 60_000) * 1_000_000
        state.withLock { s in
            guard s.failed == nil else { return }
            let key = peer + "|" + Self.mn(bytes)
            if s.conversations[key] == nil {
                if s.order.count >= Self.maxConversations {
                    s.conversations[s.order.removeFirst()] = nil
                }
                let remote = Endpoint(peer) ?? Endpoint(IPAddress([198, 19, 0, 1]), 9)
                let n = s.order.count + 1
                let synthetic = remote.address.isIPv6
                    ? Endpoint(IPAddress([0x20, 0x01, 0x02, 0] + Array(repeating: 0, count: 10) + [UInt8(n >> 8), UInt8(n & 0xFF)]), UInt16(40_000 + n % 20_000))
                    : Endpoint(IPAddress([198, 18, UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF)]), UInt16(40_000 + n % 20_000))
                let local = localEndpoint ?? synthetic
                let logger = localIsLogger ? synthetic : remote, platform = localIsLogger ? remote : local
                var c = TCPConversation(client: logger, server: platform, clientISN: UInt32(truncatingIfNeeded: n &* 0x9E37_79B9),
                                        serverISN: UInt32(truncatingIfNeeded: n &* 0x85EB_CA6B), framing: .raw)
                for p in c.handshake() { s.writer.addPacket(interface: 0, timestampNanos: nanos, data: p) }
                s.conversations[key] = c
                s.order.append(key)
            }
            var c = s.conversations[key]!
            for p in c.send(fromClient: up, bytes) {
                s.writer.addPacket(interface: 0, timestampNanos: nanos, data: p)
                s.packets += 1
            }
            s.conversations[key] = c
            s.failed = Self.writeAll(fd, s.writer.take())
        }
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> String? {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
            if n > 0 { done += n; continue }
            if n < 0 && errno == EINTR { continue }
            return String(cString: strerror(errno))
        }
        return nil
    }
}
