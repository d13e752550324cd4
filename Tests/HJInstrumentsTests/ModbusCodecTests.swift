import Testing
@testable import HJInstruments

/// A plain register space: `holding[a]` for mapped addresses, writable where `writable` says.
struct ArraySpace: ModbusRegisterSpace {
    var holding: [Int: UInt16]
    var writable: Set<Int>
    var servesInputRegisters = true

    mutating func readRegisters(_ table: RegisterTable, start: Int, count: Int) -> Result<[UInt16], ModbusException> {
        var out: [UInt16] = []
        for a in start..<(start + count) {
            guard let v = holding[a] else { return .failure(.illegalDataAddress) }
            out.append(v)
        }
        return .success(out)
    }

    mutating func writeRegisters(start: Int, values: [UInt16]) -> ModbusException? {
        for k in values.indices where !writable.contains(start + k) { return .illegalDataAddress }
        for (k, v) in values.enumerated() { holding[start + k] = v }
        return nil
    }
}

@Suite("Modbus CRC and PDU (Application Protocol V1.1b3)")
struct ModbusPDUTests {
    @Test("CRC-16/MODBUS of 01 03 00 00 00 0A is C5 CD, low byte first")
    func crcExample() {
        let frame = ModbusCRC.appending(to: [0x01, 0x03, 0x00, 0x00, 0x00, 0x0A])
        #expect(Array(frame.suffix(2)) == [0xC5, 0xCD])
        #expect(ModbusCRC.check(frame))
        var bad = frame
        bad[3] ^= 0x01
        #expect(!ModbusCRC.check(bad))
        // CRC-16/MODBUS check value of "123456789" is 0x4B37.
        #expect(ModbusCRC.compute(Array("123456789".utf8)) == 0x4B37)
    }

    @Test("spec example: read holding registers 108-110 (03 00 6B 00 03)")
    func readHoldingExample() {
        var space = ArraySpace(holding: [0x6B: 0x022B, 0x6C: 0x0000, 0x6D: 0x0064], writable: [])
        let reply = ModbusPDU.respond(to: [0x03, 0x00, 0x6B, 0x00, 0x03][...], space: &space)
        #expect(reply == [0x03, 0x06, 0x02, 0x2B, 0x00, 0x00, 0x00, 0x64])
        #expect(ModbusResponse.parse(reply[...]) == .registers([0x022B, 0, 0x64]))
    }

    @Test("spec examples: write single register 2 (06 00 01 00 03) and write multiple (10 00 01 00 02 04 00 0A 01 02)")
    func writeExamples() {
        var space = ArraySpace(holding: [1: 0, 2: 0], writable: [1, 2])
        #expect(ModbusPDU.respond(to: [0x06, 0x00, 0x01, 0x00, 0x03][...], space: &space) == [0x06, 0x00, 0x01, 0x00, 0x03])
        #expect(space.holding[1] == 3)
        let reply = ModbusPDU.respond(to: [0x10, 0x00, 0x01, 0x00, 0x02, 0x04, 0x00, 0x0A, 0x01, 0x02][...], space: &space)
        #expect(reply == [0x10, 0x00, 0x01, 0x00, 0x02])
        #expect(space.holding[1] == 0x000A && space.holding[2] == 0x0102)
        #expect(ModbusRequest.writeMultiple(start: 1, values: [0x000A, 0x0102]).pdu == [0x10, 0x00, 0x01, 0x00, 0x02, 0x04, 0x00, 0x0A, 0x01, 0x02])
    }

    @Test("exception paths: 01 illegal function, 02 illegal data address, 03 illegal data value", arguments: [
        // Unsupported functions.
        ([0x01, 0x00, 0x00, 0x00, 0x01], [0x81, 0x01]),
        ([0x05, 0x00, 0x00, 0xFF, 0x00], [0x85, 0x01]),
        ([0x2B, 0x0E, 0x01, 0x00], [0xAB, 0x01]),
        // Quantity outside 1...125, wrong length.
        ([0x03, 0x00, 0x00, 0x00, 0x00], [0x83, 0x03]),
        ([0x03, 0x00, 0x00, 0x00, 0x7E], [0x83, 0x03]),
        ([0x04, 0x00, 0x00, 0x00, 0x7E], [0x84, 0x03]),
        ([0x03, 0x00, 0x00, 0x00], [0x83, 0x03]),
        ([0x03, 0x00, 0x00, 0x00, 0x01, 0x00], [0x83, 0x03]),
        ([0x06, 0x00, 0x00, 0x00], [0x86, 0x03]),
        // 16: quantity 0 or above 123, byte count not 2N, data shorter than the byte count.
        ([0x10, 0x00, 0x00, 0x00, 0x00, 0x00], [0x90, 0x03]),
        ([0x10, 0x00, 0x00, 0x00, 0x7C, 0xF8] + [UInt8](repeating: 0, count: 248), [0x90, 0x03]),
        ([0x10, 0x00, 0x00, 0x00, 0x01, 0x03, 0x00, 0x01, 0x00], [0x90, 0x03]),
        ([0x10, 0x00, 0x00, 0x00, 0x02, 0x04, 0x00, 0x01], [0x90, 0x03]),
        // Ranges past 65535, unmapped registers, a read-only register.
        ([0x03, 0xFF, 0xFF, 0x00, 0x02], [0x83, 0x02]),
        ([0x03, 0x00, 0x0A, 0x00, 0x01], [0x83, 0x02]),
        ([0x03, 0x00, 0x00, 0x00, 0x03], [0x83, 0x02]),
        ([0x06, 0x00, 0x00, 0x12, 0x34], [0x86, 0x02]),
        ([0x10, 0x00, 0x01, 0x00, 0x02, 0x04, 0x00, 0x01, 0x00, 0x02], [0x90, 0x02]),
    ] as [([UInt8], [UInt8])])
    func exceptions(request: [UInt8], expected: [UInt8]) {
        var space = ArraySpace(holding: [0: 1, 1: 2], writable: [1])
        let before = space.holding
        #expect(ModbusPDU.respond(to: request[...], space: &space) == expected)
        #expect(space.holding == before, "a refused request changes nothing")
    }

    @Test("function 04 is an illegal function when a map serves no input registers")
    func inputRegistersOff() {
        var space = ArraySpace(holding: [0: 1], writable: [], servesInputRegisters: false)
        #expect(ModbusPDU.respond(to: [0x04, 0x00, 0x00, 0x00, 0x01][...], space: &space) == [0x84, 0x01])
        space.servesInputRegisters = true
        #expect(ModbusPDU.respond(to: [0x04, 0x00, 0x00, 0x00, 0x01][...], space: &space) == [0x04, 0x02, 0x00, 0x01])
    }

    @Test("read quantity 125 and write quantity 123 are accepted; 124 writes are not")
    func quantityLimits() {
        var holding: [Int: UInt16] = [:]
        for a in 0..<200 { holding[a] = UInt16(a) }
        var space = ArraySpace(holding: holding, writable: Set(0..<200))
        let read = ModbusPDU.respond(to: ModbusRequest.readHolding(start: 0, count: 125).pdu[...], space: &space)
        #expect(read.count == 2 + 250 && read[1] == 250)
        let write = ModbusPDU.respond(to: ModbusRequest.writeMultiple(start: 0, values: Array(repeating: 7, count: 123)).pdu[...], space: &space)
        #expect(write == [0x10, 0, 0, 0, 123])
        let tooMany = ModbusPDU.respond(to: ModbusRequest.writeMultiple(start: 0, values: Array(repeating: 7, count: 124)).pdu[...], space: &space)
        #expect(tooMany == [0x90, 0x03])
    }
}

@Suite("Register types and word orders")
struct RegisterCodecTests {
    @Test("float32 1.0 (3F 80 00 00) in the four orders")
    func floatOrders() {
        let t = RegisterType.float32
        #expect(t.encode(1, scale: 1, order: .abcd) == [0x3F80, 0x0000])
        #expect(t.encode(1, scale: 1, order: .cdab) == [0x0000, 0x3F80])
        #expect(t.encode(1, scale: 1, order: .badc) == [0x803F, 0x0000])
        #expect(t.encode(1, scale: 1, order: .dcba) == [0x0000, 0x803F])
        // 123.456 = 42 F6 E9 79
        #expect(t.encode(123.456, scale: 1, order: .cdab) == [0xE979, 0x42F6])
        #expect(t.encode(123.456, scale: 1, order: .dcba) == [0x79E9, 0xF642])
        for order in WordOrder.allCases {
            let v = t.decode(t.encode(-17.25, scale: 1, order: order), scale: 1, order: order)
            #expect(v == -17.25)
        }
        #expect(t.decode([0x7FC0, 0x0000], scale: 1, order: .abcd) == nil, "NaN is not a value")
    }

    @Test("scaled integers round, saturate and round-trip")
    func integers() {
        #expect(RegisterType.int16.encode(12.34, scale: 10, order: .abcd) == [123])
        #expect(RegisterType.int16.encode(-1.5, scale: 10, order: .abcd) == [UInt16(bitPattern: -15)])
        #expect(RegisterType.int16.encode(1e9, scale: 1, order: .abcd) == [0x7FFF])
        #expect(RegisterType.uint16.encode(-3, scale: 1, order: .abcd) == [0])
        #expect(RegisterType.int32.encode(70000.5, scale: 10, order: .abcd) == [0x000A, 0xAE65])
        #expect(RegisterType.int32.encode(70000.5, scale: 10, order: .cdab) == [0xAE65, 0x000A])
        #expect(RegisterType.uint32.decode([0x0001, 0x0000], scale: 1, order: .abcd) == 65536)
        #expect(RegisterType.int32.decode(RegisterType.int32.encode(-123.456, scale: 1000, order: .badc), scale: 1000, order: .badc) == -123.456)
    }

    @Test("datetime: six registers Y M D h m s; impossible dates are not values")
    func datetime() {
        let t = Double(HJTimeFixture.ms(2026, 11, 30, 2, 0, 5))
        #expect(RegisterType.datetime.encode(t, scale: 1, order: .abcd) == [2026, 11, 30, 2, 0, 5])
        #expect(RegisterType.datetime.decode([2026, 11, 30, 2, 0, 5], scale: 1, order: .abcd) == t)
        #expect(RegisterType.datetime.decode([2026, 2, 30, 0, 0, 0], scale: 1, order: .abcd) == nil)
        #expect(RegisterType.datetime.decode([2026, 13, 1, 0, 0, 0], scale: 1, order: .abcd) == nil)
    }
}

import HJ212
enum HJTimeFixture {
    static func ms(_ y: Int, _ mo: Int, _ d: Int, _ h: Int = 0, _ mi: Int = 0, _ s: Int = 0) -> Int64 {
        HJTime(year: y, month: mo, day: d, hour: h, minute: mi, second: s).wallMilliseconds
    }
}
