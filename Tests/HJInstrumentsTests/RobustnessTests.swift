import HJ212
import HJSimulation
import Testing
@testable import HJInstruments

/// Randomized robustness (libFuzzer harnesses for these parsers are still to be added under
/// Tests/Fuzz): thousands of mutated and random frames through every parser and the bank; each
/// answer must be silence, an exception or a well-formed reply, and buffers stay within budget.
@Suite("Robustness: mutated Modbus and DL/T 645 frames")
struct RobustnessTests {
    static func mutate(_ frame: [UInt8], _ rng: inout SimRandom) -> [UInt8] {
        var f = frame
        switch rng.next() % 6 {
        case 0: if !f.isEmpty { f[Int(rng.next() % UInt64(f.count))] ^= UInt8(truncatingIfNeeded: rng.next() | 1) }
        case 1: if !f.isEmpty { f.removeLast(Int(rng.next() % UInt64(f.count))) }
        case 2: f += (0..<Int(rng.next() % 20)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        case 3: f = (0..<Int(rng.next() % 300)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        case 4: if f.count > 2 { f.insert(UInt8(truncatingIfNeeded: rng.next()), at: Int(rng.next() % UInt64(f.count))) }
        default: if f.count > 1 { f.swapAt(Int(rng.next() % UInt64(f.count)), Int(rng.next() % UInt64(f.count))) }
        }
        return f
    }

    static func wellFormed(_ reply: [UInt8], for function: UInt8) -> Bool {
        switch ModbusResponse.parse(reply[...]) {
        case .malformed: return false
        case .exception(let f, let code, _): return f == function & 0x7F && code != nil
        case .registers, .written: return reply.first == function
        }
    }

    @Test("10 000 mutated Modbus PDUs and RTU frames against a served unit")
    func modbusPDUs() throws {
        let clock = ManualClock(Fixture.start)
        let bank = try Fixture.bank("industrial-wastewater", truth: false, clock: clock)
        var rng = SimRandom(seed: 42)
        let seeds: [[UInt8]] = [
            ModbusRequest.readHolding(start: 0, count: 19).pdu, ModbusRequest.readInput(start: 20, count: 8).pdu,
            ModbusRequest.writeSingle(address: 20, value: 0x3F80).pdu,
            ModbusRequest.writeMultiple(start: 20, values: [0x3F80, 0, 0x4000, 0]).pdu,
            ModbusRequest.writeMultiple(start: 26, values: [2026, 11, 30, 2, 0, 0]).pdu,
        ]
        var replies = 0, silent = 0
        for k in 0..<10_000 {
            if k % 100 == 0 { clock.advance(5000) }
            let seed = seeds[Int(rng.next() % UInt64(seeds.count))]
            let unit = UInt8(1 + rng.next() % 6)
            let rtu = Self.mutate(ModbusRTU.encode(address: unit, pdu: seed), &rng)
            switch ModbusRTU.decode(rtu) {
            case .badCRC, .badLength: silent += 1
            case .frame(let address, let pdu):
                if let reply = bank.modbus(unit: address, pdu: pdu, line: "fuzz", peer: "fuzz") {
                    #expect(Self.wellFormed(reply, for: pdu.first ?? 0))
                    #expect(reply.count <= ModbusPDU.maxLength)
                    replies += 1
                }
            }
            // The PDU alone (as Modbus TCP would carry it).
            let pdu = Self.mutate(seed, &rng)
            if !pdu.isEmpty, pdu.count <= ModbusPDU.maxLength, let reply = bank.modbus(unit: unit, pdu: pdu, line: "fuzz", peer: "fuzz") {
                #expect(Self.wellFormed(reply, for: pdu[0]))
                replies += 1
            }
        }
        #expect(replies > 5000 && silent > 1000, "both paths exercised: \(replies) replies, \(silent) silent")
    }

    @Test("random byte streams through the MBAP decoder, the RTU receiver and the DL/T 645 decoder stay within budget")
    func streams() throws {
        let bank = try Fixture.bank("thermal-power", truth: false, clock: ManualClock(Fixture.start))
        var rng = SimRandom(seed: 7)
        var mbap = MBAPDecoder()
        var rx = RTUReceiver(timing: RTUTiming(baud: 9600))
        var dlt = DLT645Decoder()
        let goodDLT = DLT645Frame(address: DLT645Frame.address("000000000001")!, control: 0x11, data: DLT645Frame.di(0x0201_FF00)).bytes
        let goodTCP = MBAPFrame(transactionID: 1, unitID: 1, pdu: ModbusRequest.readHolding(start: 0, count: 22).pdu).bytes
        var now: Int64 = 0
        var dltReplies = 0
        for _ in 0..<5000 {
            let chunk = rng.next() % 3 == 0 ? Self.mutate(rng.next() % 2 == 0 ? goodDLT : goodTCP, &rng)
                                            : (0..<Int(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            // Modbus TCP: a failure would close the connection; start a new one.
            mbap.feed(chunk)
            while let r = mbap.next() {
                guard case .success(let f) = r else { mbap = MBAPDecoder(); break }
                _ = bank.modbus(unit: f.unitID, pdu: f.pdu, line: "fuzz", peer: "fuzz")
            }
            #expect(mbap.bufferedBytes < MBAPDecoder.maxFrame + 64)
            now += Int64(rng.next() % 10_000)
            if let frame = rx.receive(chunk, at: now), case .frame(let a, let pdu) = ModbusRTU.decode(frame) {
                _ = bank.modbus(unit: a, pdu: pdu, line: "fuzz", peer: "fuzz")
            }
            dlt.feed(chunk)
            while let f = dlt.next() {
                if let reply = bank.dlt645(f, line: "fuzz") {
                    var back = DLT645Decoder()
                    back.feed(reply.bytes)
                    #expect(back.next() == reply, "a reply is a valid frame")
                    dltReplies += 1
                }
            }
            #expect(dlt.bufferedBytes < DLT645Decoder.maxFrame)
        }
        #expect(dltReplies > 0)
    }
    @Test("a DL/T 645 buffer full of frame starts that all fail is searched once through (each byte dropped in turn) and a good frame after it still decodes")
    func dlt645WorstCaseBuffer() {
        // Every byte is 68H: each position looks like a frame start with a data length of 68H
        // (104) and fails its checksum, so the decoder drops one byte at a time across the whole
        // 64 KiB budget. With a removeFirst per dropped byte this was quadratic (4 GB of moves).
        var d = DLT645Decoder()
        d.feed([UInt8](repeating: 0x68, count: DLT645Decoder.maxBuffered))
        #expect(d.next() == nil)
        let waiting = 12 + 0x68 - 1
        #expect(d.badFrames == DLT645Decoder.maxBuffered - waiting)
        #expect(d.bufferedBytes == waiting, "the tail can still start a frame")
        let good = DLT645Frame(address: DLT645Frame.address("000000000001")!, control: 0x11, data: DLT645Frame.di(0x0201_FF00))
        // Filler longer than a frame, so that every start in the tail fails on its end byte.
        d.feed([UInt8](repeating: 0x00, count: 200) + good.bytes)
        var got: [DLT645Frame] = []
        while let f = d.next() { got.append(f) }
        #expect(got == [good])
        #expect(d.bufferedBytes == 0)
        // The last seven 68H have filler where the second 68H belongs: not a frame start, not a bad frame.
        #expect(d.badFrames == DLT645Decoder.maxBuffered - 7)
        #expect(d.skippedBytes == DLT645Decoder.maxBuffered + 200)
    }
}

