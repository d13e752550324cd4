/// Modbus exception codes (Modbus Application Protocol V1.1b3, §7).
public enum ModbusException: UInt8, Error, Sendable, Hashable, CustomStringConvertible {
    case illegalFunction = 0x01
    case illegalDataAddress = 0x02
    case illegalDataValue = 0x03
    case serverDeviceFailure = 0x04
    /// A gateway (our Modbus TCP server in front of several instruments) has no path to the unit.
    case gatewayPathUnavailable = 0x0A
    case gatewayTargetFailedToRespond = 0x0B

    public var description: String {
        switch self {
        case .illegalFunction: return "01 illegal function (非法功能码)"
        case .illegalDataAddress: return "02 illegal data address (非法数据地址)"
        case .illegalDataValue: return "03 illegal data value (非法数据值)"
        case .serverDeviceFailure: return "04 server device failure (从站设备故障)"
        case .gatewayPathUnavailable: return "0A gateway path unavailable (网关路径不可用)"
        case .gatewayTargetFailedToRespond: return "0B gateway target failed to respond (网关目标设备无响应)"
        }
    }
}

/// Which register table a read addresses.
public enum RegisterTable: String, Sendable, Hashable {
    /// Function 03 (and the writes 06, 16).
    case holding
    /// Function 04.
    case input
}

/// A request PDU of the functions the slaves implement.
public enum ModbusRequest: Sendable, Hashable {
    /// 03 Read Holding Registers.
    case readHolding(start: UInt16, count: UInt16)
    /// 04 Read Input Registers.
    case readInput(start: UInt16, count: UInt16)
    /// 06 Write Single Register.
    case writeSingle(address: UInt16, value: UInt16)
    /// 16 (0x10) Write Multiple Registers.
    case writeMultiple(start: UInt16, values: [UInt16])

    public var functionCode: UInt8 {
        switch self {
        case .readHolding: return 0x03
        case .readInput: return 0x04
        case .writeSingle: return 0x06
        case .writeMultiple: return 0x10
        }
    }

    /// Whether it writes (executed, without reply, when broadcast to address 0).
    public var isWrite: Bool {
        switch self {
        case .writeSingle, .writeMultiple: return true
        default: return false
        }
    }

    /// The request PDU (master side), e.g. `03 00 00 00 0A`.
    public var pdu: [UInt8] {
        func be(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xFF)] }
        switch self {
        case .readHolding(let s, let n): return [0x03] + be(s) + be(n)
        case .readInput(let s, let n): return [0x04] + be(s) + be(n)
        case .writeSingle(let a, let v): return [0x06] + be(a) + be(v)
        case .writeMultiple(let s, let values):
            return [0x10] + be(s) + be(UInt16(truncatingIfNeeded: values.count)) + [UInt8(truncatingIfNeeded: values.count * 2)] + values.flatMap(be)
        }
    }
}

/// What a slave's registers look like to the PDU processor. Addresses are PDU addresses
/// (0-based, 0...65535). A range that touches an unmapped register is `illegalDataAddress`.
public protocol ModbusRegisterSpace {
    /// Whether function 04 (input registers) is served; when not, 04 is an illegal function.
    var servesInputRegisters: Bool { get }
    /// The registers `start ..< start + count` of a table, or the exception to return.
    mutating func readRegisters(_ table: RegisterTable, start: Int, count: Int) -> Result<[UInt16], ModbusException>
    /// Writes holding registers from `start`; nil on success, else the exception to return.
    mutating func writeRegisters(start: Int, values: [UInt16]) -> ModbusException?
}

/// Pure Modbus PDU processing (Modbus Application Protocol V1.1b3 §6 and the per-function
/// state diagrams): function supported → quantity and length → address range → execution.
public enum ModbusPDU {
    /// Longest PDU (§4.1): 253 bytes.
    public static let maxLength = 253
    /// Quantity limits: 03/04 read 1...125 registers, 16 writes 1...123.
    public static let maxReadQuantity = 125
    public static let maxWriteQuantity = 123

    /// An exception response PDU: the function code with its high bit set, then the code.
    public static func exception(function: UInt8, _ code: ModbusException) -> [UInt8] {
        [function | 0x80, code.rawValue]
    }

    /// Parses a request PDU, or says which exception its structure calls for.
    public static func parse(_ pdu: ArraySlice<UInt8>) -> Result<ModbusRequest, ModbusException> {
        guard let function = pdu.first else { return .failure(.illegalFunction) }
        // Indexed from the slice's start, without copying it (a copy per request was measurable).
        let b = pdu, base = pdu.startIndex
        func u16(_ i: Int) -> UInt16 { UInt16(b[base + i]) << 8 | UInt16(b[base + i + 1]) }
        switch function {
        case 0x03, 0x04:
            guard b.count == 5 else { return .failure(.illegalDataValue) }
            let start = u16(1), count = u16(3)
            guard count >= 1, count <= maxReadQuantity else { return .failure(.illegalDataValue) }
            guard Int(start) + Int(count) <= 0x10000 else { return .failure(.illegalDataAddress) }
            return .success(function == 0x03 ? .readHolding(start: start, count: count) : .readInput(start: start, count: count))
        case 0x06:
            guard b.count == 5 else { return .failure(.illegalDataValue) }
            return .success(.writeSingle(address: u16(1), value: u16(3)))
        case 0x10:
            guard b.count >= 6 else { return .failure(.illegalDataValue) }
            let start = u16(1), count = Int(u16(3)), byteCount = Int(b[base + 5])
            guard count >= 1, count <= maxWriteQuantity, byteCount == count * 2, b.count == 6 + byteCount else {
                return .failure(.illegalDataValue)
            }
            guard Int(start) + count <= 0x10000 else { return .failure(.illegalDataAddress) }
            let values = (0..<count).map { u16(6 + 2 * $0) }
            return .success(.writeMultiple(start: start, values: values))
        default:
            return .failure(.illegalFunction)
        }
    }

    /// The response PDU to a request PDU, executed against `space`.
    ///
    /// ```swift
    /// let reply = ModbusPDU.respond(to: [0x03, 0x00, 0x00, 0x00, 0x02], space: &registers)
    /// // [0x03, 0x04, hi, lo, hi, lo] or an exception such as [0x83, 0x02]
    /// ```
    public static func respond<S: ModbusRegisterSpace>(to pdu: ArraySlice<UInt8>, space: inout S) -> [UInt8] {
        respond(to: parse(pdu), function: pdu.first ?? 0, space: &space)
    }

    /// The response to a request already parsed (`parse`) from a PDU whose first byte is
    /// `function`: for a caller that needs the request too, without parsing it twice.
    public static func respond<S: ModbusRegisterSpace>(to parsed: Result<ModbusRequest, ModbusException>, function: UInt8, space: inout S) -> [UInt8] {
        switch parsed {
        case .failure(let e):
            return exception(function: function, e)
        case .success(let request):
            return execute(request, space: &space)
        }
    }

    /// Executes a parsed request.
    public static func execute<S: ModbusRegisterSpace>(_ request: ModbusRequest, space: inout S) -> [UInt8] {
        let function = request.functionCode
        switch request {
        case .readHolding(let start, let count), .readInput(let start, let count):
            let table: RegisterTable = function == 0x03 ? .holding : .input
            if table == .input && !space.servesInputRegisters { return exception(function: function, .illegalFunction) }
            switch space.readRegisters(table, start: Int(start), count: Int(count)) {
            case .failure(let e): return exception(function: function, e)
            case .success(let words):
                guard words.count == Int(count) else { return exception(function: function, .serverDeviceFailure) }
                var out: [UInt8] = [function, UInt8(count * 2)]
                out.reserveCapacity(2 + words.count * 2)
                for w in words { out.append(UInt8(w >> 8)); out.append(UInt8(w & 0xFF)) }
                return out
            }
        case .writeSingle(let address, let value):
            if let e = space.writeRegisters(start: Int(address), values: [value]) { return exception(function: function, e) }
            return request.pdu
        case .writeMultiple(let start, let values):
            if let e = space.writeRegisters(start: Int(start), values: values) { return exception(function: function, e) }
            return [0x10, UInt8(start >> 8), UInt8(start & 0xFF), 0, UInt8(values.count)]
        }
    }
}

/// A response as a master reads it.
public enum ModbusResponse: Sendable, Hashable {
    case registers([UInt16])
    case written(address: UInt16, count: UInt16)
    case exception(function: UInt8, ModbusException?, raw: UInt8)
    case malformed

    /// Parses a response PDU (master side).
    public static func parse(_ pdu: ArraySlice<UInt8>) -> ModbusResponse {
        let b = Array(pdu)
        guard let f = b.first else { return .malformed }
        if f & 0x80 != 0 {
            guard b.count == 2 else { return .malformed }
            return .exception(function: f & 0x7F, ModbusException(rawValue: b[1]), raw: b[1])
        }
        switch f {
        case 0x03, 0x04:
            guard b.count >= 2, b[1] % 2 == 0, b.count == 2 + Int(b[1]) else { return .malformed }
            return .registers((0..<Int(b[1]) / 2).map { UInt16(b[2 + 2 * $0]) << 8 | UInt16(b[3 + 2 * $0]) })
        case 0x06, 0x10:
            guard b.count == 5 else { return .malformed }
            let a = UInt16(b[1]) << 8 | UInt16(b[2]), v = UInt16(b[3]) << 8 | UInt16(b[4])
            return .written(address: a, count: f == 0x06 ? 1 : v)
        default:
            return .malformed
        }
    }
}
