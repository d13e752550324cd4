/// A Modbus TCP application data unit: the MBAP header and the PDU (Modbus Messaging on TCP/IP
/// Implementation Guide V1.0b, §3.1.3).
public struct MBAPFrame: Sendable, Hashable {
    public var transactionID: UInt16
    public var unitID: UInt8
    public var pdu: [UInt8]

    public init(transactionID: UInt16, unitID: UInt8, pdu: [UInt8]) {
        self.transactionID = transactionID
        self.unitID = unitID
        self.pdu = pdu
    }

    /// The bytes on the wire: transaction, protocol 0, length (unit + PDU), unit, PDU.
    public var bytes: [UInt8] {
        let length = UInt16(pdu.count + 1)
        return [UInt8(transactionID >> 8), UInt8(transactionID & 0xFF), 0, 0, UInt8(length >> 8), UInt8(length & 0xFF), unitID] + pdu
    }
}

/// Cuts a Modbus TCP byte stream into frames (sans-I/O). A header with a protocol identifier
/// other than 0, or a length outside 2...254 (unit + a PDU of 1...253 bytes), loses the stream's
/// framing: the decoder reports it and the connection must be closed.
///
/// Budget: it holds at most one incomplete frame (≤ 259 bytes) between calls to `next()`; the
/// caller takes every complete frame out before feeding more.
public struct MBAPDecoder: Sendable {
    public enum Failure: Error, Sendable, Hashable, CustomStringConvertible {
        case protocolID(UInt16)
        case length(Int)

        public var description: String {
            switch self {
            case .protocolID(let p): return "MBAP protocol identifier \(p), expected 0 (Modbus)"
            case .length(let n): return "MBAP length \(n), expected 2...254"
            }
        }
    }

    public static let headerLength = 7
    public static let maxFrame = 260
    var buffer: [UInt8] = []
    var start = 0
    public private(set) var failed: Failure?

    public init() {}

    /// Bytes held that are not yet a frame.
    public var bufferedBytes: Int { buffer.count - start }

    public mutating func feed<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        guard failed == nil else { return }
        if start > 0 {
            buffer.removeFirst(start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete frame, nil when more bytes are needed, or the failure that ends the stream.
    public mutating func next() -> Result<MBAPFrame, Failure>? {
        if let failed { return .failure(failed) }
        let available = buffer.count - start
        guard available >= Self.headerLength else { return nil }
        let b = start
        let protocolID = UInt16(buffer[b + 2]) << 8 | UInt16(buffer[b + 3])
        let length = Int(buffer[b + 4]) << 8 | Int(buffer[b + 5])
        guard protocolID == 0 else { failed = .protocolID(protocolID); buffer = []; start = 0; return .failure(failed!) }
        guard length >= 2, length <= 254 else { failed = .length(length); buffer = []; start = 0; return .failure(failed!) }
        guard available >= 6 + length else { return nil }
        let frame = MBAPFrame(transactionID: UInt16(buffer[b]) << 8 | UInt16(buffer[b + 1]), unitID: buffer[b + 6],
                              pdu: Array(buffer[(b + 7)..<(b + 6 + length)]))
        start += 6 + length
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        }
        return .success(frame)
    }
}
