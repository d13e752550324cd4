/// Character timing of Modbus RTU (Modbus over Serial Line V1.02, §2.5.1.1): a character is 11
/// bits (start, 8 data, parity or a second stop bit, stop); frames are separated by at least
/// 3.5 character times of silence, and a gap of more than 1.5 character times inside a frame
/// makes it incomplete. Above 19200 baud the spec fixes t1.5 = 750 µs and t3.5 = 1750 µs.
///
/// ```swift
/// RTUTiming(baud: 9600).t35Micros    // 4011
/// RTUTiming(baud: 115200).t35Micros  // 1750
/// ```
public struct RTUTiming: Sendable, Hashable {
    public let baud: Int
    public let t15Micros: Int64
    public let t35Micros: Int64

    public init(baud: Int) {
        self.baud = max(1, baud)
        if baud > 19200 {
            t15Micros = 750
            t35Micros = 1750
        } else {
            let charMicros = 11.0 * 1_000_000 / Double(self.baud)
            t15Micros = Int64((1.5 * charMicros).rounded(.up))
            t35Micros = Int64((3.5 * charMicros).rounded(.up))
        }
    }
}

/// Modbus RTU frames: address, PDU, CRC-16/MODBUS low byte first; at most 256 bytes.
public enum ModbusRTU {
    public static let maxFrame = 256
    public static let minFrame = 4

    /// A frame on the line.
    public static func encode(address: UInt8, pdu: [UInt8]) -> [UInt8] { ModbusCRC.appending(to: [address] + pdu) }

    /// What a received frame is.
    public enum Decoded: Sendable, Hashable {
        case frame(address: UInt8, pdu: [UInt8])
        /// Shorter than 4 or longer than 256 bytes.
        case badLength(Int)
        case badCRC
    }

    public static func decode(_ frame: [UInt8]) -> Decoded {
        guard frame.count >= minFrame, frame.count <= maxFrame else { return .badLength(frame.count) }
        guard ModbusCRC.check(frame) else { return .badCRC }
        return .frame(address: frame[0], pdu: Array(frame[1..<(frame.count - 2)]))
    }
}

/// Splits a serial byte stream into RTU frames by silence (sans-I/O: bytes and times in, frames
/// out). Budget: at most `ModbusRTU.maxFrame` bytes are kept; a longer run is dropped whole.
///
/// ```swift
/// var rx = RTUReceiver(timing: RTUTiming(baud: 9600))
/// rx.receive(bytes, at: micros)          // bytes that arrived together
/// if let frame = rx.poll(at: later) { … } // a frame once t3.5 of silence has passed
/// ```
public struct RTUReceiver: Sendable {
    public let timing: RTUTiming
    /// Discard a frame with a gap of more than t1.5 between two characters (the spec's rule).
    /// Off by default on real lines: USB adapters and ptys deliver bytes in bursts, so the OS
    /// cannot see gaps that fine; the framing by t3.5 and the CRC still apply.
    public var strictInterCharacter: Bool
    var buffer: [UInt8] = []
    var lastByte: Int64 = 0
    var overflow = false
    var incomplete = false
    /// Frames dropped: too long, or a gap above t1.5 (strict mode).
    public private(set) var discarded = 0

    public init(timing: RTUTiming, strictInterCharacter: Bool = false) {
        self.timing = timing
        self.strictInterCharacter = strictInterCharacter
        buffer.reserveCapacity(ModbusRTU.maxFrame)
    }

    /// Whether part of a frame is held.
    public var isReceiving: Bool { !buffer.isEmpty || overflow }

    /// When the frame being received ends if nothing more arrives (t3.5 after its last byte).
    public var deadline: Int64? { isReceiving ? lastByte + timing.t35Micros : nil }

    /// Bytes that arrived together at `micros`. Returns the previous frame when these bytes
    /// follow it after t3.5 or more of silence (the caller normally polls first).
    public mutating func receive<C: Collection>(_ bytes: C, at micros: Int64) -> [UInt8]? where C.Element == UInt8 {
        guard !bytes.isEmpty else { return nil }
        var finished: [UInt8]?
        if isReceiving {
            let gap = micros - lastByte
            if gap >= timing.t35Micros {
                finished = poll(at: micros)
            } else if gap > timing.t15Micros && strictInterCharacter {
                incomplete = true
            }
        }
        if !overflow {
            if buffer.count + bytes.count > ModbusRTU.maxFrame {
                overflow = true
                buffer.removeAll(keepingCapacity: true)
            } else {
                buffer.append(contentsOf: bytes)
            }
        }
        lastByte = micros
        return finished
    }

    /// The frame held, once t3.5 of silence has passed at `micros`; nil before, or when the frame
    /// was dropped (too long, or incomplete in strict mode).
    public mutating func poll(at micros: Int64) -> [UInt8]? {
        guard isReceiving, micros - lastByte >= timing.t35Micros else { return nil }
        defer {
            buffer.removeAll(keepingCapacity: true)
            overflow = false
            incomplete = false
        }
        if overflow || incomplete {
            discarded += 1
            return nil
        }
        return buffer
    }
}
