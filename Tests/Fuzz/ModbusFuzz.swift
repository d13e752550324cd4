// libFuzzer harness: Modbus as the emulated instruments see it. Built by .ci/fuzz (docs/fuzzing.md).
//
// The first byte chooses the unit (a water or a gas unit's instruments), the serial speed and
// whether the harness repairs RTU checksums (so that the mutated PDUs reach the slaves instead of
// stopping at the CRC). The rest is used three ways:
// - as a PDU: `ModbusPDU.parse`, `ModbusResponse.parse`, and the request handled by every slave
//   address of the bank;
// - as a serial line: records [length][bytes][silence] fed to `RTUReceiver` as bursts with
//   silences, each frame decoded (`ModbusRTU.decode`) and answered as `SerialLineRunner` does;
// - as a TCP stream: `MBAPDecoder` fed whole and in input-chosen pieces must give the same frames
//   and the same failure, hold at most one partial frame, and each frame is answered as
//   `ModbusTCPHandler` does.
// Every reply is checked: at most 253 bytes, the request's function code or its exception with a
// defined exception code, a read answers exactly the registers asked for, and the reply survives
// RTU and MBAP encoding and decoding unchanged.
import Foundation
import HJ212
import HJSimulation
import HJInstruments

let start = SimClock.parseStart("2026-11-30T10:00")!
let identity = LoggerIdentity(mn: "010000A8900016F000169DC0", pw: "123456")
let banks: [InstrumentBank] = ["industrial-wastewater", "thermal-power"].map { unit in
    try! InstrumentBank(template: try! UnitTemplate.load(unit), identity: identity, seed: 1, start: start, recordsTruth: false, clock: { start })
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzModbus(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let mode = bytes[0]
    let bank = banks[Int(mode & 1)]
    let body = Array(bytes.dropFirst())

    // As a PDU, to every address (known ones answer, others are silent).
    _ = ModbusResponse.parse(body[...])
    if case .success(let request) = ModbusPDU.parse(body[...]) {
        guard request.pdu == body else { fatalError("request \(request) does not re-encode to its PDU") }
    }
    for unit in Set([0, 1, 2, 3, 4, 247, Int(body.first ?? 0)]) {
        answer(bank, unit: UInt8(unit), pdu: body)
    }

    // As a serial line.
    let timing = RTUTiming(baud: mode & 2 == 0 ? 9600 : 115_200)
    var rx = RTUReceiver(timing: timing, strictInterCharacter: mode & 4 != 0)
    let repairCRC = mode & 8 != 0
    var t: Int64 = 1_000_000
    var i = 0
    func handle(_ frame: [UInt8]) {
        guard !frame.isEmpty, frame.count <= ModbusRTU.maxFrame else { fatalError("RTU frame of \(frame.count) bytes") }
        var frame = frame
        if repairCRC && frame.count >= ModbusRTU.minFrame { frame = ModbusCRC.appending(to: Array(frame.dropLast(2))) }
        switch ModbusRTU.decode(frame) {
        case .badLength(let n): guard n < ModbusRTU.minFrame || n > ModbusRTU.maxFrame else { fatalError("bad length \(n)") }
        case .badCRC: guard !repairCRC || frame.count < ModbusRTU.minFrame else { fatalError("repaired CRC refused") }
        case .frame(let address, let pdu):
            guard ModbusRTU.encode(address: address, pdu: pdu) == frame else { fatalError("RTU frame does not re-encode") }
            if address == 0 { bank.modbusBroadcast(pdu: pdu, line: "fuzz", peer: "fuzz") } else { answer(bank, unit: address, pdu: pdu) }
        }
    }
    while i < body.count {
        let n = min(body.count - i, Int(body[i] % 64) + 1)
        i += 1
        let chunk = body[min(i, body.count)..<min(body.count, i + n)]
        i += n
        let silence = i < body.count ? Int64(body[i]) * 100 : 10_000
        i += 1
        if let frame = rx.receive(chunk, at: t) { handle(frame) }
        if let deadline = rx.deadline, deadline < t { fatalError("deadline before the last byte") }
        t += silence
        if let frame = rx.poll(at: t) { handle(frame) }
    }
    if let frame = rx.poll(at: t + timing.t35Micros) { handle(frame) }
    guard !rx.isReceiving else { fatalError("a frame held after t3.5 of silence") }

    // As a TCP stream, whole and in pieces.
    let whole = mbap(body) { _ in body.count }
    var seed = UInt32(truncatingIfNeeded: size) &* 2_654_435_761
    let pieces = mbap(body) { _ in
        seed = seed &* 1_103_515_245 &+ 12345
        return Int(seed >> 16) % 13 + 1
    }
    guard whole == pieces else { fatalError("MBAP frames depend on how the stream was cut") }
    for case .success(let frame) in whole {
        let pdu = bank.modbus(unit: frame.unitID, pdu: frame.pdu, line: "fuzz", peer: "fuzz")
            ?? ModbusPDU.exception(function: frame.pdu.first ?? 0, .gatewayTargetFailedToRespond)
        let reply = MBAPFrame(transactionID: frame.transactionID, unitID: frame.unitID, pdu: pdu)
        var back = MBAPDecoder()
        back.feed(reply.bytes)
        guard case .success(let decoded)? = back.next(), decoded == reply, back.bufferedBytes == 0 else { fatalError("MBAP reply does not decode back") }
    }
    return 0
}

/// The frames of a Modbus TCP stream fed in pieces; stops at the first failure (the connection closes).
func mbap(_ bytes: [UInt8], piece: (Int) -> Int) -> [Result<MBAPFrame, MBAPDecoder.Failure>] {
    var d = MBAPDecoder()
    var out: [Result<MBAPFrame, MBAPDecoder.Failure>] = []
    var i = 0
    while i < bytes.count {
        let n = min(bytes.count - i, max(1, piece(i)))
        d.feed(bytes[i..<(i + n)])
        i += n
        while let r = d.next() {
            out.append(r)
            if case .failure = r { return out }
        }
        guard d.bufferedBytes < MBAPDecoder.maxFrame else { fatalError("MBAP decoder holds \(d.bufferedBytes) bytes") }
    }
    return out
}

func answer(_ bank: InstrumentBank, unit: UInt8, pdu: [UInt8]) {
    guard let reply = bank.modbus(unit: unit, pdu: pdu, line: "fuzz", peer: "fuzz") else {
        guard bank.instrument(unit: unit) == nil else { fatalError("instrument \(unit) did not answer") }
        return
    }
    guard bank.instrument(unit: unit) != nil else { fatalError("address \(unit) answered without an instrument") }
    let function = pdu.first ?? 0
    guard !reply.isEmpty, reply.count <= ModbusPDU.maxLength else { fatalError("reply of \(reply.count) bytes") }
    if reply[0] == function | 0x80 && (reply.count == 2) {
        guard ModbusException(rawValue: reply[1]) != nil else { fatalError("undefined exception code \(reply[1])") }
    } else {
        guard reply[0] == function, function & 0x80 == 0 else { fatalError("reply \(reply) to function \(function)") }
        switch ModbusPDU.parse(pdu[...]) {
        case .success(.readHolding(_, let count)), .success(.readInput(_, let count)):
            guard case .registers(let words) = ModbusResponse.parse(reply[...]), words.count == Int(count) else {
                fatalError("read of \(count) registers answered \(reply)")
            }
        case .success(.writeSingle), .success(.writeMultiple):
            guard case .written = ModbusResponse.parse(reply[...]) else { fatalError("write answered \(reply)") }
        case .failure:
            fatalError("a refused request answered normally: \(reply)")
        }
    }
    let rtu = ModbusRTU.encode(address: unit, pdu: reply)
    guard ModbusRTU.decode(rtu) == .frame(address: unit, pdu: reply) else { fatalError("RTU reply does not decode back") }
}

@_cdecl("LLVMFuzzerInitialize")
public func initializeModbus(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    // `HJ212_FUZZ_SEEDS=DIR harness`: write the seed inputs to DIR and exit (.ci/fuzz does this).
    guard let dir = ProcessInfo.processInfo.environment["HJ212_FUZZ_SEEDS"] else { return 0 }
    let requests: [ModbusRequest] = [.readHolding(start: 0, count: 10), .readInput(start: 0, count: 4), .readHolding(start: 100, count: 125),
                                     .writeSingle(address: 40, value: 7), .writeMultiple(start: 40, values: [1, 2, 3, 4]),
                                     .readHolding(start: 0xFFFF, count: 2)]
    var n = 0
    func write(_ bytes: [UInt8]) {
        n += 1
        _ = FileManager.default.createFile(atPath: "\(dir)/seed-\(n)", contents: Data(bytes))
    }
    for (k, r) in requests.enumerated() {
        for mode: UInt8 in [0, 1, 2, 8, 9] {
            let unit = UInt8(1 + k % 3)
            write([mode] + r.pdu)                                                       // a PDU
            let rtu = ModbusRTU.encode(address: unit, pdu: r.pdu)
            write([mode, UInt8(rtu.count - 1)] + rtu + [50])                            // one RTU frame, then silence
            write([mode] + MBAPFrame(transactionID: UInt16(k), unitID: unit, pdu: r.pdu).bytes
                  + MBAPFrame(transactionID: 9, unitID: 0xFF, pdu: [0x03, 0, 0, 0, 1]).bytes)  // two MBAP frames
        }
    }
    exit(0)
}
