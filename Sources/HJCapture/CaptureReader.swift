/// Where a capture reader gets its bytes: a file, standard input, or an array in tests.
public protocol CaptureByteSource {
    /// Up to `maxCount` further bytes; an empty array at the end of the input.
    mutating func read(maxCount: Int) throws -> [UInt8]
}

/// A byte source over an array (tests, captures built in memory).
public struct ArrayByteSource: CaptureByteSource {
    private let bytes: [UInt8]
    private var position = 0
    /// The largest piece handed out per read (tests use small values to exercise refills).
    private let chunk: Int

    public init(_ bytes: [UInt8], chunk: Int = 1 << 16) {
        self.bytes = bytes
        self.chunk = max(1, chunk)
    }

    public mutating func read(maxCount: Int) -> [UInt8] {
        let end = min(bytes.count, position + min(maxCount, chunk))
        defer { position = end }
        return Array(bytes[position..<end])
    }
}

/// Budgets of the capture reader.
public struct CaptureReaderLimits: Sendable {
    /// The largest packet accepted, in bytes. 262 144 is libpcap's maximum snap length; a record
    /// declaring more is a corrupt file or an absurd snap length and stops reading with an error.
    public var maxPacketBytes: Int = 262_144
    /// The largest pcapng block accepted: a packet plus its options.
    public var maxBlockBytes: Int = 262_144 + 65_536
    /// Interfaces kept per pcapng section.
    public var maxInterfaces: Int = 4096
    /// Section and interface comments kept (each cut to `maxCommentBytes`).
    public var maxComments: Int = 256
    public var maxCommentBytes: Int = 4096

    public init() {}
}

/// Reads pcap and pcapng files packet by packet, streamed: it holds one record (at most
/// `limits.maxBlockBytes`) plus one read of look-ahead, never the whole file.
///
/// pcap: both byte orders, micro- and nanosecond timestamps. pcapng: several sections (each with
/// its own byte order), several interfaces with their link types, time resolutions and offsets;
/// enhanced, simple and obsolete packet blocks; name resolution, statistics and other blocks are
/// skipped; comments of sections, interfaces and packets are kept.
///
/// ```swift
/// var reader = try CaptureReader(source: ArrayByteSource(bytes))
/// while let packet = try reader.next() { print(packet.number, packet.data.count) }
/// ```
public struct CaptureReader<Source: CaptureByteSource> {
    public let format: CaptureFormat
    public let limits: CaptureReaderLimits
    /// Section and interface comments (pcapng), in file order, at most `limits.maxComments`.
    public private(set) var comments: [String] = []
    /// Interfaces of the current section (pcapng) or the one link type of a pcap file.
    public private(set) var interfaces: [Interface] = []
    /// Packets returned so far.
    public private(set) var packetCount = 0
    /// Bytes of the file consumed so far.
    public var bytesRead: Int { bufferOffset + start }

    /// One capture interface: its link type and how its time stamps are counted.
    public struct Interface: Sendable, Equatable {
        public var linkType: LinkType
        public var snapLength: Int
        /// Time stamp units per second (10^6 for microseconds).
        public var unitsPerSecond: UInt64
        /// Seconds added to every time stamp (`if_tsoffset`).
        public var offsetSeconds: Int64
        public var name: String?
    }

    private var source: Source
    private var buffer: [UInt8] = []
    private var start = 0
    private var bufferOffset = 0
    private var endOfInput = false
    private var order = ByteOrderReader(bigEndian: false)
    /// pcap: the one interface; pcapng: nothing else.
    private var pcapNanoseconds = false

    /// Reads the file header. Throws `CaptureError` when the input is no capture or its header is
    /// cut short or corrupt.
    public init(source: Source, limits: CaptureReaderLimits = CaptureReaderLimits()) throws {
        self.source = source
        self.limits = limits
        // Format is decided from the first 4 bytes.
        var head: [UInt8] = []
        while head.count < 4 {
            let more = try self.source.read(maxCount: 1 << 16)
            if more.isEmpty { break }
            head += more
        }
        buffer = head
        guard let format = CaptureFormat.detect(head) else {
            throw CaptureError("not a pcap or pcapng file (magic number \(head.prefix(4).map { hex8($0) }.joined()))", offset: 0)
        }
        self.format = format
        if format == .pcap { try readPcapHeader() }
        // pcapng: the section header is read as the first block by next().
    }

    // MARK: - Buffering

    /// Makes `count` bytes available from `start`; false at the end of input.
    private mutating func ensure(_ count: Int) throws -> Bool {
        while buffer.count - start < count {
            if endOfInput { return false }
            if start > 0 && (start >= 1 << 16 || start * 2 >= buffer.count) {
                buffer.removeFirst(start)
                bufferOffset += start
                start = 0
            }
            let more = try source.read(maxCount: max(1 << 16, count - (buffer.count - start)))
            if more.isEmpty { endOfInput = true; return false }
            buffer += more
        }
        return true
    }

    private var available: Int { buffer.count - start }

    private func bytes(_ range: Range<Int>) -> [UInt8] { Array(buffer[(start + range.lowerBound)..<(start + range.upperBound)]) }

    // MARK: - pcap

    private mutating func readPcapHeader() throws {
        guard try ensure(24) else { throw CaptureError("pcap file header cut short (\(available) of 24 bytes)", offset: 0, truncated: true) }
        let magic = bytes(0..<4)
        order = ByteOrderReader(bigEndian: magic[0] == 0xA1)
        pcapNanoseconds = magic == [0x4D, 0x3C, 0xB2, 0xA1] || magic == [0xA1, 0xB2, 0x3C, 0x4D]
        let header = bytes(0..<24)
        let major = order.u16(header, 4)
        guard major == 2 else { throw CaptureError("pcap version \(major).\(order.u16(header, 6)) is not 2.x", offset: 4) }
        let snap = Int(order.u32(header, 16))
        // The upper bits of the link-type field carry an FCS length (pcap 2.4 "LinkType and
        // additional information"); only the low 16 bits name the link type.
        let link = LinkType(rawValue: order.u32(header, 20) & 0xFFFF)
        interfaces = [Interface(linkType: link, snapLength: snap, unitsPerSecond: pcapNanoseconds ? 1_000_000_000 : 1_000_000, offsetSeconds: 0)]
        start += 24
    }

    private mutating func nextPcap() throws -> CapturedPacket? {
        let offset = bytesRead
        let number = packetCount + 1
        guard try ensure(16) else {
            if available == 0 { return nil }
            throw CaptureError("record header cut short (\(available) of 16 bytes): the file ends inside packet \(number)", offset: offset, packet: number, truncated: true)
        }
        let h = bytes(0..<16)
        let seconds = Int64(order.u32(h, 0)), fraction = Int64(order.u32(h, 4))
        let captured = Int(order.u32(h, 8)), original = Int(order.u32(h, 12))
        let snap = interfaces[0].snapLength
        guard captured <= limits.maxPacketBytes else {
            throw CaptureError("captured length \(captured) exceeds the budget of \(limits.maxPacketBytes) bytes (snap length in the file header: \(snap)); the file is corrupt or its snap length absurd", offset: offset, packet: number)
        }
        guard try ensure(16 + captured) else {
            throw CaptureError("the file ends inside packet \(number): \(captured) bytes declared, \(available - 16) present", offset: offset, packet: number, truncated: true)
        }
        guard fraction < (pcapNanoseconds ? 1_000_000_000 : 1_000_000) else {
            throw CaptureError("time stamp fraction \(fraction) out of range (corrupt record header)", offset: offset + 4, packet: number)
        }
        let data = bytes(16..<(16 + captured))
        start += 16 + captured
        packetCount = number
        let nanos = seconds * 1_000_000_000 + (pcapNanoseconds ? fraction : fraction * 1000)
        return CapturedPacket(number: number, fileOffset: offset, interface: 0, linkType: interfaces[0].linkType,
                              timestampNanos: nanos, data: data, originalLength: max(original, captured))
    }

    // MARK: - pcapng

    /// The next packet; nil at the clean end of the file. Throws `CaptureError` on a corrupt or
    /// truncated record (the packets before it were valid) or the source's own error.
    public mutating func next() throws -> CapturedPacket? {
        switch format {
        case .pcap: return try nextPcap()
        case .pcapng:
            while true {
                let result = try nextBlock()
                switch result {
                case .end: return nil
                case .packet(let p): return p
                case .other: continue
                }
            }
        }
    }

    private enum BlockResult { case end, packet(CapturedPacket), other }

    private mutating func nextBlock() throws -> BlockResult {
        let offset = bytesRead
        let number = packetCount + 1
        guard try ensure(12) else {
            if available == 0 { return .end }
            throw CaptureError("block header cut short (\(available) of 12 bytes)", offset: offset, truncated: true)
        }
        let head = bytes(0..<12)
        if head[0] == 0x0A && head[1] == 0x0D && head[2] == 0x0D && head[3] == 0x0A {
            // A section header: its byte-order magic decides how everything in the section is read.
            switch (head[8], head[9], head[10], head[11]) {
            case (0x1A, 0x2B, 0x3C, 0x4D): order = ByteOrderReader(bigEndian: true)
            case (0x4D, 0x3C, 0x2B, 0x1A): order = ByteOrderReader(bigEndian: false)
            default: throw CaptureError("section header with a bad byte-order magic \(head[8..<12].map { hex8($0) }.joined())", offset: offset + 8)
            }
            interfaces = []
        } else if offset == 0 {
            throw CaptureError("pcapng file does not start with a section header", offset: 0)
        }
        let type = order.u32(head, 0)
        let length = Int(order.u32(head, 4))
        guard length >= 12, length % 4 == 0 else {
            throw CaptureError("block length \(length) is not a multiple of 4 of at least 12 (block type 0x\(String(type, radix: 16)))", offset: offset + 4, packet: isPacketBlock(type) ? number : nil)
        }
        guard length <= limits.maxBlockBytes else {
            throw CaptureError("block length \(length) exceeds the budget of \(limits.maxBlockBytes) bytes (block type 0x\(String(type, radix: 16))); the file is corrupt or its snap length absurd", offset: offset + 4, packet: isPacketBlock(type) ? number : nil)
        }
        guard try ensure(length) else {
            throw CaptureError("the file ends inside a \(length)-byte block (\(available) bytes present, block type 0x\(String(type, radix: 16)))", offset: offset, packet: isPacketBlock(type) ? number : nil, truncated: true)
        }
        let block = bytes(0..<length)
        guard Int(order.u32(block, length - 4)) == length else {
            throw CaptureError("block's trailing length \(order.u32(block, length - 4)) differs from its leading length \(length)", offset: offset + length - 4, packet: isPacketBlock(type) ? number : nil)
        }
        start += length
        let body = Array(block[8..<(length - 4)])
        switch type {
        case 0x0A0D_0D0A:
            guard body.count >= 16 else { throw CaptureError("section header body too short (\(body.count) bytes)", offset: offset) }
            let major = order.u16(body, 4)
            guard major == 1 else { throw CaptureError("pcapng version \(major) is not 1", offset: offset + 12) }
            keepComments(options(body, from: 16))
            return .other
        case 1:
            guard body.count >= 8 else { throw CaptureError("interface description too short (\(body.count) bytes)", offset: offset) }
            guard interfaces.count < limits.maxInterfaces else {
                throw CaptureError("more than \(limits.maxInterfaces) interfaces in one section", offset: offset)
            }
            var interface = Interface(linkType: LinkType(rawValue: UInt32(order.u16(body, 0))), snapLength: Int(order.u32(body, 4)),
                                      unitsPerSecond: 1_000_000, offsetSeconds: 0)
            let opts = options(body, from: 8)
            for (code, value) in opts {
                switch code {
                case 2: interface.name = String(decoding: value.prefix(256), as: UTF8.self)
                case 9 where value.count >= 1:
                    let r = value[0]
                    let exponent = Int(r & 0x7F)
                    if r & 0x80 == 0 {
                        guard exponent <= 18 else { throw CaptureError("interface time resolution 10^-\(exponent) is out of range", offset: offset) }
                        interface.unitsPerSecond = (0..<exponent).reduce(UInt64(1)) { a, _ in a * 10 }
                    } else {
                        guard exponent <= 63 else { throw CaptureError("interface time resolution 2^-\(exponent) is out of range", offset: offset) }
                        interface.unitsPerSecond = UInt64(1) << UInt64(exponent)
                    }
                case 14 where value.count >= 8: interface.offsetSeconds = Int64(bitPattern: order.u64(value, 0))
                default: break
                }
            }
            keepComments(opts)
            interfaces.append(interface)
            return .other
        case 6, 2:
            // Enhanced packet block (6) and obsolete packet block (2).
            guard body.count >= 20 else { throw CaptureError("packet block too short (\(body.count) bytes)", offset: offset, packet: number) }
            let ifIndex = type == 6 ? Int(order.u32(body, 0)) : Int(order.u16(body, 0))
            guard ifIndex < interfaces.count else {
                throw CaptureError("packet on interface \(ifIndex), but the section describes \(interfaces.count)", offset: offset + 8, packet: number)
            }
            let ts = UInt64(order.u32(body, 4)) << 32 | UInt64(order.u32(body, 8))
            let captured = Int(order.u32(body, 12)), original = Int(order.u32(body, 16))
            guard captured <= limits.maxPacketBytes, 20 + captured <= body.count else {
                throw CaptureError("captured length \(captured) does not fit the \(length)-byte block (budget \(limits.maxPacketBytes) bytes)", offset: offset + 20, packet: number)
            }
            let data = Array(body[20..<(20 + captured)])
            let padded = 20 + (captured + 3) / 4 * 4
            let comment = options(body, from: padded).first { $0.code == 1 }.map { String(decoding: $0.value.prefix(limits.maxCommentBytes), as: UTF8.self) }
            return .packet(makePacket(number: number, offset: offset, interface: ifIndex, ticks: ts, data: data, original: original, comment: comment))
        case 3:
            guard let interface = interfaces.first else {
                throw CaptureError("simple packet block before any interface description", offset: offset, packet: number)
            }
            guard body.count >= 4 else { throw CaptureError("simple packet block too short", offset: offset, packet: number) }
            let original = Int(order.u32(body, 0))
            var captured = min(original, body.count - 4)
            if interface.snapLength > 0 { captured = min(captured, interface.snapLength) }
            guard captured <= limits.maxPacketBytes else {
                throw CaptureError("captured length \(captured) exceeds the budget of \(limits.maxPacketBytes) bytes", offset: offset, packet: number)
            }
            // A simple packet block has no time stamp: it is dated at the epoch, as Wireshark does.
            return .packet(makePacket(number: number, offset: offset, interface: 0, ticks: 0, data: Array(body[4..<(4 + captured)]), original: original, comment: nil))
        default:
            // Name resolution (4), interface statistics (5), decryption secrets (10), custom blocks: skipped.
            return .other
        }
    }

    private func isPacketBlock(_ type: UInt32) -> Bool { type == 6 || type == 2 || type == 3 }

    private mutating func makePacket(number: Int, offset: Int, interface ifIndex: Int, ticks: UInt64, data: [UInt8], original: Int, comment: String?) -> CapturedPacket {
        let interface = interfaces[ifIndex]
        let units = max(1, interface.unitsPerSecond)
        let seconds = ticks / units, rest = ticks % units
        let (fraction, overflow) = rest.multipliedReportingOverflow(by: 1_000_000_000)
        let fractionNanos = overflow ? UInt64(Double(rest) / Double(units) * 1e9) : fraction / units
        let (whole, overflow2) = Int64(clamping: seconds).addingReportingOverflow(interface.offsetSeconds)
        let (wholeNanos, overflow3) = whole.multipliedReportingOverflow(by: 1_000_000_000)
        let nanos = overflow2 || overflow3 ? Int64.max : wholeNanos &+ Int64(fractionNanos)
        packetCount = number
        return CapturedPacket(number: number, fileOffset: offset, interface: ifIndex, linkType: interface.linkType,
                              timestampNanos: nanos, data: data, originalLength: max(original, data.count), comment: comment)
    }

    /// The options of a block body from `from`: (code, value) pairs until opt_endofopt or the end.
    /// A malformed option list ends the list (the packet itself is still valid).
    private func options(_ body: [UInt8], from: Int) -> [(code: UInt16, value: [UInt8])] {
        var result: [(code: UInt16, value: [UInt8])] = []
        var i = from
        while i + 4 <= body.count && result.count < 64 {
            let code = order.u16(body, i), length = Int(order.u16(body, i + 2))
            if code == 0 { break }
            guard i + 4 + length <= body.count else { break }
            result.append((code, Array(body[(i + 4)..<(i + 4 + length)])))
            i += 4 + (length + 3) / 4 * 4
        }
        return result
    }

    private mutating func keepComments(_ opts: [(code: UInt16, value: [UInt8])]) {
        for (code, value) in opts where code == 1 && comments.count < limits.maxComments {
            comments.append(String(decoding: value.prefix(limits.maxCommentBytes), as: UTF8.self))
        }
    }
}

func hex8(_ b: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(b >> 4)], digits[Int(b & 15)]])
}
