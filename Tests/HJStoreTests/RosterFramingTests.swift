import HJ212
import HJRoles
@testable import HJStore
import Testing

/// The roster counts a trace's frame when a platform would acknowledge its framing
/// (`RosterEvidence.acknowledgeable`): it must take and refuse the frames `serve`'s platform
/// (`PlatformSession`, open registry, default options) takes and refuses for their length
/// field, size and CRC.
@Suite("Roster framing: as the platform acknowledges")
struct RosterFramingTests {
    static let head = "QN=20261101000000001;ST=32;CN=2061;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&DataTime=20261101000000"

    /// `##`, the length field (the segment's UTF-8 bytes unless given), the segment, the CRC
    /// field (the HJ 212 CRC unless given); no CR LF, as a trace keeps it.
    static func frame(_ segment: String, length: String? = nil, crc: String? = nil) -> [UInt8] {
        let bytes = Array(segment.utf8)
        let declared = length ?? String(bytes.count).leftPadded(4)
        return Array("##\(declared)".utf8) + bytes + Array((crc ?? CRC.hex(CRC.hj212(bytes))).utf8)
    }

    /// Whether the platform accepts the frame (a `packetAccepted` event).
    static func platformAccepts(_ frame: [UInt8]) throws -> Bool {
        var session = PlatformSession(state: try PlatformState(), peer: "127.0.0.1:1")
        _ = session.connected(at: 1_000)
        return session.received(frame + [0x0D, 0x0A], at: 1_000).contains { if case .packetAccepted = $0 { true } else { false } }
    }

    static var cases: [(String, [UInt8], Bool)] {
        let good = head + ";w01018-Avg=1.5,w01018-Flag=N&&"
        let chinese = head + ";w01018-Avg=1.5,w01018-Flag=N;Remark=设备正常&&"  // 4 characters, 12 bytes
        let big = head + ";" + (0..<60).map { "w\(String(10000 + $0))-Avg=1.500,w\(String(10000 + $0))-Flag=N" }.joined(separator: ";") + "&&"
        let bytes = Array(good.utf8)
        return [
            ("good", frame(good), true),
            ("CRC in lower case", frame(good, crc: CRC.hex(CRC.hj212(bytes)).lowercased()), true),
            ("length in characters", frame(chinese, length: String(chinese.unicodeScalars.count).leftPadded(4)), true),
            ("length in bytes of a Chinese segment", frame(chinese), true),
            ("length off by one", frame(good, length: String(bytes.count + 1).leftPadded(4)), false),
            ("length not digits", frame(good, length: "0x7F"), false),
            ("over 1024 bytes, not split", frame(big), false),
            ("wrong CRC", frame(good, crc: CRC.hex(CRC.hj212(bytes) ^ 1)), false),
            ("the Modbus CRC variant", frame(good, crc: CRC.hex(CRC.modbus(bytes))), false),
        ]
    }

    @Test("the roster counts what the platform acknowledges, and refuses what it refuses")
    func sameFraming() throws {
        for (name, frame, accepted) in Self.cases {
            #expect(try Self.platformAccepts(frame) == accepted, "platform: \(name)")
            #expect((RosterEvidence.acknowledgeable(frame) != nil) == accepted, "roster: \(name)")
        }
    }

    /// A deliberate difference: the roster judges framing only (the CN and MN are what it then
    /// reads), the platform refuses a frame without a CN.
    @Test("a frame without a CN: refused by the platform, framed well for the roster")
    func noCN() throws {
        let frame = Self.frame("QN=20261101000000001;ST=32;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&DataTime=20261101000000&&")
        #expect(try Self.platformAccepts(frame) == false)
        #expect(RosterEvidence.acknowledgeable(frame) != nil)
    }
}

private extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
