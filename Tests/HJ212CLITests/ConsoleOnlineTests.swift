import Foundation
import HJ212
import HJLive
import HJNetwork
import HJRoles
import HJStore
import Testing
@testable import HJ212CLI
import TestSupport

/// The console of `serve --http` (with `--store`): a unit is online 在线 only while a connection
/// that served it is open (review 20: after a restart, or once its logger disconnected, units
/// showed online for about 65 s with no logger connected).
@Suite("serve --http: online means connected", .serialized)
struct ConsoleOnlineTests {
    static let mn = "010000A8900016F0CONSOLE1"

    static func segment(at t: Int64) -> DataSegment {
        let dt = HJTime(wallMilliseconds: t).text14
        return SegmentParser.parse("QN=\(dt)000;ST=32;CN=2011;PW=123456;MN=\(mn);Flag=5;CP=&&DataTime=\(dt);w01018-Rtd=12.5,w01018-Flag=N&&").segment
    }

    static func online(_ console: Console) throws -> Bool? {
        let units = try JSONValue.parse(console.state.unitsJSON())
        guard case .array(let list)? = units["units"], case .bool(let b)? = list.first(where: { $0["mn"] == .string(mn) })?["online"] else { return nil }
        return b
    }

    /// Polls `condition` every 20 ms for up to `seconds`.
    static func eventually(_ seconds: Double = 3, _ condition: () throws -> Bool) rethrows -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if try condition() { return true }
            usleep(20_000)
        }
        return try condition()
    }

    @Test("a restarted serve's console lists the stored unit, offline: history never makes a unit online")
    func restartShowsStoredUnitsOffline() throws {
        let (platform, _, group) = try startPlatform(registry: nil)
        defer { platform.stop(); group.shutdown() }
        let path = temporaryPath(".db")
        defer { try? FileManager.default.removeItem(atPath: path) }
        // The earlier run stored a packet 10 s before the restart.
        let store = try Store(path: path)
        let t = platform.clock.now - 10_000
        let segment = Self.segment(at: t)
        var journal = PlatformJournal()
        journal.packets.append(AcceptedPacket(frame: FrameEncoder.frame(segment), segment: segment, time: t, peer: "127.0.0.1:1"))
        var batch = StoreBatch()
        batch.add(journal)
        try store.write(batch)
        let console = try Console.attach(to: platform, http: "127.0.0.1:0", registry: nil, registryPath: nil)
        defer { console.stop() }
        #expect(try console.seed(from: store) == 1)
        // What the ticker does (5 s behind the clock).
        console.state.tick(now: platform.clock.now - 5_000)
        #expect(try Self.online(console) == false, "no logger is connected after the restart")
    }

    @Test("a unit goes offline when its logger's connection closes, not two intervals later")
    func disconnectGoesOffline() throws {
        let (platform, address, group) = try startPlatform(registry: nil)
        defer { platform.stop(); group.shutdown() }
        let console = try Console.attach(to: platform, http: "127.0.0.1:0", registry: nil, registryPath: nil)
        defer { console.stop() }
        let port = try #require(UInt16(address.split(separator: ":").last ?? ""))
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(fd >= 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        #expect(connected == 0)
        let bytes = FrameEncoder.frame(Self.segment(at: platform.clock.now))
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        #expect(try Self.eventually { try Self.online(console) == true }, "online while connected and sending")
        close(fd)
        #expect(try Self.eventually { try Self.online(console) == false }, "offline once its connection closed")
    }
}
