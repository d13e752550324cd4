import Testing
@testable import HJCapture

/// `IPAddress` holds its bytes inline; what it says must be what the byte form says.
@Suite("IP addresses")
struct AddressTests {
    /// Addresses from a fixed pseudo-random walk, IPv4 and IPv6, with shared prefixes (so that
    /// equal leading bytes and the IPv4-before-IPv6 rule are reached).
    static func samples() -> [[UInt8]] {
        var x: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt8 { x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407; return UInt8(truncatingIfNeeded: x >> 56) }
        var out: [[UInt8]] = [[0, 0, 0, 0], [255, 255, 255, 255], Array(repeating: 0, count: 16), Array(repeating: 255, count: 16),
                              [10, 0, 0, 1], [10, 0, 0, 1] + Array(repeating: 0, count: 12), [10, 0, 0, 0] + Array(repeating: 255, count: 12)]
        for k in 0..<200 {
            let v6 = k % 2 == 1
            var b = (0..<(v6 ? 16 : 4)).map { _ in next() }
            if k % 5 == 0, let prefix = out.last { for i in 0..<min(3, prefix.count) { b[i] = prefix[i] } }
            out.append(b)
        }
        return out
    }

    @Test("bytes, equality, hashing and order are those of the byte sequences")
    func byteSemantics() {
        let all = Self.samples()
        for a in all {
            let x = IPAddress(a)
            #expect(x.bytes == a)
            #expect(x.isIPv6 == (a.count == 16))
            for b in all {
                let y = IPAddress(b)
                #expect((x == y) == (a == b))
                if a == b { #expect(x.hashValue == y.hashValue) }
                #expect((x < y) == a.lexicographicallyPrecedes(b), "\(a) < \(b)")
            }
        }
    }

    @Test("text form: dotted IPv4, RFC 5952 IPv6, parsed back to the same address")
    func text() {
        #expect(IPAddress("192.0.2.1")!.bytes == [192, 0, 2, 1])
        #expect(IPAddress("192.0.2.1")!.description == "192.0.2.1")
        #expect(IPAddress("2001:db8::5")!.description == "2001:db8::5")
        #expect(IPAddress("::1")!.bytes == Array(repeating: 0, count: 15) + [1])
        #expect(IPAddress("1:0:0:2:0:0:0:3")!.description == "1:0:0:2::3")
        #expect(IPAddress("1.2.3") == nil && IPAddress("1::2::3") == nil && IPAddress("256.1.1.1") == nil)
        for a in Self.samples() {
            let x = IPAddress(a)
            #expect(IPAddress(x.description) == x, "\(x)")
        }
        #expect(Endpoint("[2001:db8::2]:40000")!.description == "[2001:db8::2]:40000")
        #expect(Endpoint("10.0.0.2:40000")! < Endpoint("10.0.0.2:40001")!)
    }
}
