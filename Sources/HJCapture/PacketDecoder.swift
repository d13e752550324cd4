/// An IPv4 or IPv6 address, held inline (no allocation: every captured packet makes two, and
/// the reassembler hashes and compares them per segment).
public struct IPAddress: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The address as a 128-bit big-endian number: an IPv4 address in the low 32 bits of `low`.
    private var high: UInt64
    private var low: UInt64
    public let isIPv6: Bool

    /// 4 or 16 bytes, network order.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(16)
        appendBytes(to: &out)
        return out
    }

    /// Appends the 4 or 16 bytes, network order.
    public func appendBytes(to out: inout [UInt8]) {
        if isIPv6 {
            for k in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: high >> UInt64(k))) }
            for k in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: low >> UInt64(k))) }
        } else {
            for k in stride(from: 24, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: low >> UInt64(k))) }
        }
    }

    /// From 4 bytes (IPv4) or 16 (IPv6), network order.
    public init(_ bytes: [UInt8]) { self.init(bytes[...]) }

    /// From 4 bytes (IPv4) or 16 (IPv6) of a packet, network order.
    public init(_ bytes: ArraySlice<UInt8>) {
        precondition(bytes.count == 4 || bytes.count == 16, "an IP address is 4 or 16 bytes, not \(bytes.count)")
        var h: UInt64 = 0, l: UInt64 = 0
        var i = bytes.startIndex
        if bytes.count == 16 {
            for _ in 0..<8 { h = h << 8 | UInt64(bytes[i]); i += 1 }
        }
        while i < bytes.endIndex { l = l << 8 | UInt64(bytes[i]); i += 1 }
        high = h
        low = l
        isIPv6 = bytes.count == 16
    }

    /// Parses `192.0.2.1` or an IPv6 text (`::1`, `2001:db8::5`); nil when it is neither.
    public init?(_ text: String) {
        let dotted = text.split(separator: ".", omittingEmptySubsequences: false)
        if dotted.count == 4 {
            var b: [UInt8] = []
            for part in dotted {
                guard let v = UInt8(part) else { return nil }
                b.append(v)
            }
            self.init(b)
            return
        }
        guard text.contains(":") else { return nil }
        var halves = [text]
        if let r = text.firstRange(of: "::") {
            halves = [String(text[..<r.lowerBound]), String(text[r.upperBound...])]
            guard !halves[1].contains("::") else { return nil }
        }
        func groups(_ s: String) -> [UInt16]? {
            if s.isEmpty { return [] }
            var out: [UInt16] = []
            for g in s.split(separator: ":", omittingEmptySubsequences: false) {
                guard g.count <= 4, let v = UInt16(g, radix: 16) else { return nil }
                out.append(v)
            }
            return out
        }
        guard let head = groups(halves[0]) else { return nil }
        var all = head
        if halves.count == 2 {
            guard let tail = groups(halves[1]), head.count + tail.count <= 7 else { return nil }
            all += Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        }
        guard all.count == 8 else { return nil }
        self.init(all.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] })
    }

    public var description: String {
        let bytes = self.bytes
        if !isIPv6 { return bytes.map(String.init).joined(separator: ".") }
        let groups = stride(from: 0, to: 16, by: 2).map { Int(bytes[$0]) << 8 | Int(bytes[$0 + 1]) }
        // RFC 5952: the longest run (2 or more) of zero groups becomes "::".
        var bestStart = -1, bestLength = 0, i = 0
        while i < 8 {
            if groups[i] == 0 {
                var j = i
                while j < 8 && groups[j] == 0 { j += 1 }
                if j - i > bestLength && j - i >= 2 { bestStart = i; bestLength = j - i }
                i = j
            } else { i += 1 }
        }
        func text(_ r: ArraySlice<Int>) -> String { r.map { String($0, radix: 16) }.joined(separator: ":") }
        if bestStart < 0 { return text(groups[...]) }
        return text(groups[..<bestStart]) + "::" + text(groups[(bestStart + bestLength)...])
    }

    /// The order of the byte sequences (lexicographic, so an IPv4 address comes before an IPv6
    /// one that starts with its four bytes).
    public static func < (a: IPAddress, b: IPAddress) -> Bool {
        switch (a.isIPv6, b.isIPv6) {
        case (false, false): return a.low < b.low
        case (true, true): return a.high != b.high ? a.high < b.high : a.low < b.low
        case (false, true): return a.low <= b.high >> 32
        case (true, false): return a.high >> 32 < b.low
        }
    }
}

/// An address and a TCP port.
public struct Endpoint: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var address: IPAddress
    public var port: UInt16

    public init(_ address: IPAddress, _ port: UInt16) {
        self.address = address
        self.port = port
    }

    /// Parses `HOST:PORT` with a numeric IPv4 host, or `[IPv6]:PORT`.
    public init?(_ text: String) {
        var host = Substring(text), portText: Substring
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]"), host[host.index(after: close)...].hasPrefix(":") else { return nil }
            portText = host[host.index(close, offsetBy: 2)...]
            host = host[host.index(after: host.startIndex)..<close]
        } else {
            guard let colon = host.lastIndex(of: ":") else { return nil }
            portText = host[host.index(after: colon)...]
            host = host[..<colon]
        }
        guard let port = UInt16(portText), let address = IPAddress(String(host)) else { return nil }
        self.init(address, port)
    }

    public var description: String { address.isIPv6 ? "[\(address)]:\(port)" : "\(address):\(port)" }

    public static func < (a: Endpoint, b: Endpoint) -> Bool { a.address == b.address ? a.port < b.port : a.address < b.address }
}

/// A TCP segment taken out of a captured packet.
public struct TCPSegment: Sendable, Equatable {
    public var source: Endpoint
    public var destination: Endpoint
    public var sequence: UInt32
    public var acknowledgement: UInt32
    public var flags: UInt8
    public var payload: ArraySlice<UInt8>

    public var syn: Bool { flags & 0x02 != 0 }
    public var ack: Bool { flags & 0x10 != 0 }
    public var fin: Bool { flags & 0x01 != 0 }
    public var rst: Bool { flags & 0x04 != 0 }
}

/// Decodes a captured packet through its link layer, IPv4 or IPv6, down to TCP.
///
/// Link types: Ethernet with any number (up to 8) of 802.1Q/802.1ad tags, Linux cooked SLL and
/// SLL2, raw IP, BSD NULL and OpenBSD loopback. IPv4 options are skipped by the header length;
/// IPv6 hop-by-hop, routing, destination-options and authentication headers are followed.
/// Fragments are reported, not reassembled (HJ 212 frames are small; a fragmented TCP segment
/// shows as a gap in its stream).
public enum PacketDecoder {
    /// What a packet turned out to be.
    public enum Result: Sendable, Equatable {
        case tcp(TCPSegment)
        /// Not TCP over IP, or not decodable: why, for the summary (`"UDP"`, `"ARP"`, `"IPv4 fragment"`…).
        case other(String)
    }

    public static func decode(_ packet: CapturedPacket) -> Result {
        decode(packet.data[...], linkType: packet.linkType)
    }

    public static func decode(_ data: ArraySlice<UInt8>, linkType: LinkType) -> Result {
        var b = data
        var etherType: Int
        switch linkType {
        case .ethernet:
            guard b.count >= 14 else { return .other("Ethernet header cut short") }
            etherType = be16(b, 12)
            b = b.dropFirst(14)
            var tags = 0
            while etherType == 0x8100 || etherType == 0x88A8 || etherType == 0x9100 {
                tags += 1
                guard tags <= 8, b.count >= 4 else { return .other("VLAN tag cut short") }
                etherType = be16(b, 2)
                b = b.dropFirst(4)
            }
        case .linuxSLL:
            guard b.count >= 16 else { return .other("SLL header cut short") }
            etherType = be16(b, 14)
            b = b.dropFirst(16)
        case .linuxSLL2:
            guard b.count >= 20 else { return .other("SLL2 header cut short") }
            etherType = be16(b, 0)
            b = b.dropFirst(20)
        case .raw:
            guard let first = b.first else { return .other("empty packet") }
            etherType = first >> 4 == 6 ? 0x86DD : 0x0800
        case .ipv4: etherType = 0x0800
        case .ipv6: etherType = 0x86DD
        case .null, .loop:
            guard b.count >= 4 else { return .other("loopback header cut short") }
            let s = b.startIndex
            // NULL: host byte order of the capturing machine; a family is < 256, so the zero
            // half tells the order. LOOP: network order.
            let family: Int = b[s] == 0 && b[s + 1] == 0 ? Int(b[s + 2]) << 8 | Int(b[s + 3]) : Int(b[s + 1]) << 8 | Int(b[s])
            b = b.dropFirst(4)
            switch family {
            case 2: etherType = 0x0800
            case 10, 24, 28, 30: etherType = 0x86DD
            default: return .other("loopback address family \(family)")
            }
        default:
            return .other("unsupported \(linkType)")
        }
        switch etherType {
        case 0x0800: return ipv4(b)
        case 0x86DD: return ipv6(b)
        case 0x0806: return .other("ARP")
        default: return .other("EtherType 0x\(String(etherType, radix: 16))")
        }
    }

    static func ipv4(_ b: ArraySlice<UInt8>) -> Result {
        guard b.count >= 20 else { return .other("IPv4 header cut short") }
        let s = b.startIndex
        guard b[s] >> 4 == 4 else { return .other("not IPv4 (version \(b[s] >> 4))") }
        let headerLength = Int(b[s] & 0x0F) * 4
        let total = be16(b, 2)
        guard headerLength >= 20, b.count >= headerLength, total >= headerLength else { return .other("IPv4 header length invalid") }
        let fragment = be16(b, 6)
        let proto = b[s + 9]
        if fragment & 0x3FFF != 0 { return .other("IPv4 fragment (not reassembled)") }
        let src = IPAddress(b[(s + 12)..<(s + 16)]), dst = IPAddress(b[(s + 16)..<(s + 20)])
        // Ethernet pads short frames: the IP total length, not the frame, says where data ends.
        // A total of 0 is TCP segmentation offload on the capturing host: take what was captured.
        let end = total == 0 ? b.endIndex : min(b.endIndex, s + total)
        return transport(proto: proto, b[(s + headerLength)..<end], src: src, dst: dst, family: "IPv4")
    }

    static func ipv6(_ b: ArraySlice<UInt8>) -> Result {
        guard b.count >= 40 else { return .other("IPv6 header cut short") }
        let s = b.startIndex
        guard b[s] >> 4 == 6 else { return .other("not IPv6 (version \(b[s] >> 4))") }
        let payloadLength = be16(b, 4)
        var next = b[s + 6]
        let src = IPAddress(b[(s + 8)..<(s + 24)]), dst = IPAddress(b[(s + 24)..<(s + 40)])
        let end = payloadLength == 0 ? b.endIndex : min(b.endIndex, s + 40 + payloadLength)
        var i = s + 40
        for _ in 0..<16 {
            switch next {
            case 0, 43, 60:
                guard i + 8 <= end else { return .other("IPv6 extension header cut short") }
                next = b[i]
                i += (Int(b[i + 1]) + 1) * 8
            case 51:
                guard i + 8 <= end else { return .other("IPv6 authentication header cut short") }
                next = b[i]
                i += (Int(b[i + 1]) + 2) * 4
            case 44:
                guard i + 8 <= end else { return .other("IPv6 fragment header cut short") }
                let offsetAndMore = be16(b[i..<(i + 8)], 2)
                if offsetAndMore & 0xFFF9 != 0 { return .other("IPv6 fragment (not reassembled)") }
                next = b[i]
                i += 8
            default:
                guard i <= end else { return .other("IPv6 extension headers overrun the packet") }
                return transport(proto: next, b[i..<end], src: src, dst: dst, family: "IPv6")
            }
        }
        return .other("IPv6 extension header chain too long")
    }

    static func transport(proto: UInt8, _ b: ArraySlice<UInt8>, src: IPAddress, dst: IPAddress, family: String) -> Result {
        switch proto {
        case 6: break
        case 17: return .other("UDP")
        case 1, 58: return .other("ICMP")
        case 50: return .other("ESP (encrypted)")
        default: return .other("\(family) protocol \(proto)")
        }
        guard b.count >= 20 else { return .other("TCP header cut short") }
        let s = b.startIndex
        let dataOffset = Int(b[s + 12] >> 4) * 4
        guard dataOffset >= 20, dataOffset <= b.count else { return .other("TCP header length invalid") }
        return .tcp(TCPSegment(
            source: Endpoint(src, UInt16(be16(b, 0))), destination: Endpoint(dst, UInt16(be16(b, 2))),
            sequence: be32(b, 4), acknowledgement: be32(b, 8), flags: b[s + 13], payload: b[(s + dataOffset)...]))
    }
}
