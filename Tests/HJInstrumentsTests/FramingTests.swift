import Testing
@testable import HJInstruments
import HJSimulation

@Suite("Modbus RTU and TCP framing")
struct FramingTests {
    @Test("RTU frame round trip; bad CRC and bad lengths are recognised")
    func rtuRoundTrip() {
        let frame = ModbusRTU.encode(address: 1, pdu: [0x03, 0x00, 0x00, 0x00, 0x0A])
        #expect(frame == [0x01, 0x03, 0x00, 0x00, 0x00, 0x0A, 0xC5, 0xCD])
        #expect(ModbusRTU.decode(frame) == .frame(address: 1, pdu: [0x03, 0x00, 0x00, 0x00, 0x0A]))
        var bad = frame
        bad[7] = 0xCC
        #expect(ModbusRTU.decode(bad) == .badCRC)
        #expect(ModbusRTU.decode([0x01, 0x03, 0x00]) == .badLength(3))
        #expect(ModbusRTU.decode([UInt8](repeating: 1, count: 257)) == .badLength(257))
    }

    @Test("RTU timing: 11-bit characters, t3.5 = 1750 µs above 19200 baud")
    func timing() {
        #expect(RTUTiming(baud: 9600).t35Micros == 4011)
        #expect(RTUTiming(baud: 9600).t15Micros == 1719)
        #expect(RTUTiming(baud: 19200).t35Micros == 2006)
        #expect(RTUTiming(baud: 38400).t35Micros == 1750)
        #expect(RTUTiming(baud: 115200).t15Micros == 750)
        #expect(RTUTiming(baud: 2400).t35Micros == 16042)
    }

    @Test("RTU receiver: frames end after t3.5 of silence; shorter gaps join bytes into one frame")
    func receiverSilence() {
        var rx = RTUReceiver(timing: RTUTiming(baud: 9600))
        let f = ModbusRTU.encode(address: 1, pdu: [0x03, 0x00, 0x00, 0x00, 0x01])
        #expect(rx.receive(f.prefix(3), at: 0) == nil)
        #expect(rx.receive(f.dropFirst(3), at: 1000) == nil)
        #expect(rx.poll(at: 1000 + 4010) == nil, "not yet t3.5")
        let deadline: Int64? = rx.deadline
        #expect(deadline == Int64(5011))
        #expect(rx.poll(at: 1000 + 4011) == f)
        #expect(!rx.isReceiving)
        // Two frames 3 ms apart at 9600 baud are one (bad) frame; 5 ms apart are two.
        _ = rx.receive(f, at: 100_000)
        #expect(rx.receive(f, at: 103_000) == nil)
        #expect(rx.poll(at: 200_000) == f + f)
        _ = rx.receive(f, at: 300_000)
        #expect(rx.receive(f, at: 305_000) == f)
        #expect(rx.poll(at: 400_000) == f)
    }

    @Test("RTU receiver, strict mode: a gap above t1.5 inside a frame discards it")
    func receiverStrict() {
        var rx = RTUReceiver(timing: RTUTiming(baud: 9600), strictInterCharacter: true)
        let f = ModbusRTU.encode(address: 1, pdu: [0x03, 0x00, 0x00, 0x00, 0x01])
        _ = rx.receive(f.prefix(4), at: 0)
        _ = rx.receive(f.dropFirst(4), at: 4 + 1800)  // 1.8 ms > t1.5 (1.72 ms)
        #expect(rx.poll(at: 20_000) == nil)
        #expect(rx.discarded == 1)
        _ = rx.receive(f.prefix(4), at: 30_000)
        _ = rx.receive(f.dropFirst(4), at: 31_000)
        #expect(rx.poll(at: 40_000) == f)
    }

    @Test("RTU receiver budget: a run longer than 256 bytes is dropped whole, then framing resumes")
    func receiverOverflow() {
        var rx = RTUReceiver(timing: RTUTiming(baud: 9600))
        for k in 0..<100 { _ = rx.receive([UInt8](repeating: 0x55, count: 100), at: Int64(k * 100)) }
        #expect(rx.poll(at: 1_000_000) == nil)
        #expect(rx.discarded == 1)
        let f = ModbusRTU.encode(address: 2, pdu: [0x06, 0, 1, 0, 2])
        _ = rx.receive(f, at: 2_000_000)
        #expect(rx.poll(at: 2_100_000) == f)
    }

    @Test("MBAP: whole, byte by byte and in random chunks give the same frames")
    func mbapChunks() {
        var frames: [MBAPFrame] = []
        for k in 0..<20 {
            let pdu = ModbusRequest.readHolding(start: UInt16(k), count: 2).pdu
            frames.append(MBAPFrame(transactionID: UInt16((k * 997) & 0xFFFF), unitID: UInt8(k % 5), pdu: pdu))
        }
        var stream: [UInt8] = []
        for f in frames { stream += f.bytes }
        #expect(frames[0].bytes == [0x00, 0x00, 0x00, 0x00, 0x00, 0x06, 0x00, 0x03, 0x00, 0x00, 0x00, 0x02])
        var generator = SystemRandomNumberGenerator()
        for mode in 0..<3 {
            var d = MBAPDecoder()
            var got: [MBAPFrame] = []
            var i = 0
            while i < stream.count {
                let n = mode == 0 ? stream.count : mode == 1 ? 1 : Int.random(in: 1...17, using: &generator)
                d.feed(stream[i..<min(stream.count, i + n)])
                i += n
                while case .success(let f)? = d.next() { got.append(f) }
                #expect(d.bufferedBytes < MBAPDecoder.maxFrame)
            }
            #expect(got == frames)
        }
    }

    @Test("MBAP: protocol identifier other than 0, or length outside 2...254, ends the stream", arguments: [
        [0x00, 0x01, 0x00, 0x01, 0x00, 0x06, 0x01, 0x03, 0x00, 0x00, 0x00, 0x01],
        [0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x01],
        [0x00, 0x01, 0x00, 0x00, 0x00, 0xFF, 0x01],
        [0x00, 0x01, 0x00, 0x00, 0xFF, 0xFF, 0x01],
    ] as [[UInt8]])
    func mbapFailures(bytes: [UInt8]) {
        var d = MBAPDecoder()
        d.feed(bytes)
        guard case .failure? = d.next() else { Issue.record("expected a failure"); return }
        d.feed([UInt8](repeating: 0, count: 1000))
        #expect(d.bufferedBytes == 0, "nothing is buffered after a failure")
    }
}

@Suite("DL/T 645-2007 framing and meter")
struct DLT645Tests {
    let map = try! MeterMap.load()
    let address = DLT645Frame.address("000000000001")!
    let reading = MeterReading(energy: 12345.67, voltage: [220.1, 219.8, 221.0], current: [12.345, 11.5, 12.0],
                               power: [2.5, 2.4, 2.6], powerFactor: 0.912, frequency: 50.01)

    @Test("read request for DI 00010000 at 000000000001: 68 01 00 00 00 00 00 68 11 04 33 33 34 33 B3 16")
    func encodeRead() {
        let f = DLT645Frame(address: address, control: 0x11, data: DLT645Frame.di(0x0001_0000))
        #expect(f.bytes == [0x68, 0x01, 0, 0, 0, 0, 0, 0x68, 0x11, 0x04, 0x33, 0x33, 0x34, 0x33, 0xB3, 0x16])
        #expect(DLT645Frame.addressText(address) == "000000000001")
        #expect(DLT645Frame.address("123456789012") == [0x12, 0x90, 0x78, 0x56, 0x34, 0x12])
        #expect(DLT645Frame.address("12345678901") == nil)
    }

    @Test("read-address broadcast FE FE FE FE 68 AA…AA 68 13 00 DF 16 is found after the wake-up bytes")
    func readAddressFrame() {
        var d = DLT645Decoder()
        d.feed([0xFE, 0xFE, 0xFE, 0xFE, 0x68] + DLT645Frame.wildcard + [0x68, 0x13, 0x00, 0xDF, 0x16])
        let f = d.next()
        #expect(f == DLT645Frame(address: DLT645Frame.wildcard, control: 0x13, data: []))
        #expect(d.skippedBytes == 4)
        let reply = DLT645Slave.respond(to: f!, address: address, map: map, reading: { reading })
        #expect(reply?.reply == DLT645Frame(address: address, control: 0x93, data: address))
    }

    @Test("BCD: XXXXXX.XX energy, signed XXX.XXX current, round trip")
    func bcd() {
        #expect(DLT645BCD.encode(12345.67, bytes: 4, decimals: 2, signed: false) == [0x67, 0x45, 0x23, 0x01])
        #expect(DLT645BCD.encode(-12.345, bytes: 3, decimals: 3, signed: true) == [0x45, 0x23, 0x81])
        #expect(DLT645BCD.encode(220.1, bytes: 2, decimals: 1, signed: false) == [0x01, 0x22])
        #expect(DLT645BCD.decode([0x45, 0x23, 0x81], decimals: 3, signed: true) == -12.345)
        // Signed values saturate at 79.9999 (top digit 7: the top bit is the sign).
        #expect(DLT645BCD.encode(82.5, bytes: 3, decimals: 4, signed: true) == [0x99, 0x99, 0x79])
        #expect(DLT645BCD.encode(-82.5, bytes: 3, decimals: 4, signed: true) == [0x99, 0x99, 0xF9])
        #expect(DLT645BCD.decode([0x4A, 0x00], decimals: 0, signed: false) == nil)
        // Energy wraps like a meter's register.
        #expect(DLT645BCD.encode(1_000_000.01, bytes: 4, decimals: 2, signed: false) == [0x01, 0x00, 0x00, 0x00])
    }

    @Test("read data: positive active energy, voltage, current, power, blocks; the reply decodes back")
    func readData() {
        func read(_ di: UInt32) -> [UInt8]? {
            let req = DLT645Frame(address: address, control: 0x11, data: DLT645Frame.di(di))
            var d = DLT645Decoder()
            d.feed(req.bytes)
            guard let parsed = d.next(), let r = DLT645Slave.respond(to: parsed, address: address, map: map, reading: { reading }) else { return nil }
            var back = DLT645Decoder()
            back.feed(r.reply.bytes)
            let reply = back.next()
            #expect(reply?.control == 0x91)
            #expect(Array(reply?.data.prefix(4) ?? []) == DLT645Frame.di(di))
            return reply.map { Array($0.data.dropFirst(4)) }
        }
        #expect(read(0x0001_0000) == [0x67, 0x45, 0x23, 0x01])
        #expect(read(0x0000_0000) == [0x67, 0x45, 0x23, 0x01])
        #expect(read(0x0201_0100) == [0x01, 0x22])
        #expect(read(0x0201_0200) == [0x98, 0x21])
        #expect(read(0x0202_0100) == [0x45, 0x23, 0x01])
        #expect(read(0x0203_0000) == [0x00, 0x50, 0x07])
        #expect(read(0x0206_0000) == [0x12, 0x09])
        #expect(read(0x0280_0002) == [0x01, 0x50])
        #expect(read(0x0201_FF00) == [0x01, 0x22, 0x98, 0x21, 0x10, 0x22])
        #expect(read(0x0400_0401) == address)
    }

    @Test("abnormal replies: unknown DI → D1 02, short DI → D1 01, write → D4 04; silence for others' addresses, broadcasts and replies")
    func errors() {
        func respond(_ f: DLT645Frame) -> DLT645Frame? { DLT645Slave.respond(to: f, address: address, map: map, reading: { reading })?.reply }
        #expect(respond(DLT645Frame(address: address, control: 0x11, data: DLT645Frame.di(0x0490_0000))) == DLT645Frame(address: address, control: 0xD1, data: [0x02]))
        #expect(respond(DLT645Frame(address: address, control: 0x11, data: [0x00, 0x00])) == DLT645Frame(address: address, control: 0xD1, data: [0x01]))
        #expect(respond(DLT645Frame(address: address, control: 0x14, data: DLT645Frame.di(0x0400_0101) + [0, 0, 0, 0, 0, 0, 0, 0])) == DLT645Frame(address: address, control: 0xD4, data: [0x04]))
        #expect(respond(DLT645Frame(address: DLT645Frame.address("000000000002")!, control: 0x11, data: DLT645Frame.di(0x0001_0000))) == nil)
        #expect(respond(DLT645Frame(address: DLT645Frame.broadcast, control: 0x08, data: [0, 0, 0, 1, 1, 26])) == nil)
        #expect(respond(DLT645Frame(address: address, control: 0x91, data: DLT645Frame.di(0x0001_0000))) == nil)
        // Short addressing: high bytes AAH are wildcards.
        #expect(respond(DLT645Frame(address: [0x01, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA], control: 0x11, data: DLT645Frame.di(0x0001_0000)))?.control == 0x91)
        #expect(respond(DLT645Frame(address: [0x02, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA], control: 0x11, data: DLT645Frame.di(0x0001_0000))) == nil)
    }

    @Test("decoder: frames fed whole, byte by byte and in random chunks are the same frames")
    func decoderChunks() {
        var frames: [DLT645Frame] = []
        for k in 0..<30 {
            frames.append(DLT645Frame(address: DLT645Frame.address("00000000000\(k % 10)")!, control: 0x11, data: DLT645Frame.di(UInt32(k) << 8)))
        }
        var stream: [UInt8] = []
        for f in frames { stream += [0xFE, 0xFE, 0xFE, 0xFE] + f.bytes }
        var generator = SystemRandomNumberGenerator()
        for mode in 0..<3 {
            var d = DLT645Decoder()
            var got: [DLT645Frame] = []
            var i = 0
            while i < stream.count {
                let n = mode == 0 ? stream.count : mode == 1 ? 1 : Int.random(in: 1...23, using: &generator)
                d.feed(stream[i..<min(stream.count, i + n)])
                i += n
                while let f = d.next() { got.append(f) }
            }
            #expect(got == frames)
            #expect(d.badFrames == 0)
        }
    }

    @Test("decoder: a bad checksum or end byte is skipped and the next good frame found; noise is bounded")
    func decoderResync() {
        let good = DLT645Frame(address: address, control: 0x11, data: DLT645Frame.di(0x0001_0000)).bytes
        var badSum = good
        badSum[14] &+= 1
        var badEnd = good
        badEnd[15] = 0x17
        var d = DLT645Decoder()
        d.feed(badSum + [0x68, 0x68, 0x00] + badEnd + [0xFE, 0xFE] + good)
        #expect(d.next()?.bytes == good)
        #expect(d.next() == nil)
        #expect(d.badFrames == 2)
        var flood = DLT645Decoder()
        for _ in 0..<100 {
            flood.feed([UInt8](repeating: 0x68, count: 100))
            #expect(flood.next() == nil)
            #expect(flood.bufferedBytes < DLT645Decoder.maxFrame, "after draining, at most one incomplete frame")
        }
        var undrained = DLT645Decoder()
        for _ in 0..<1000 { undrained.feed([UInt8](repeating: 0x68, count: 100)) }
        #expect(undrained.bufferedBytes <= DLT645Decoder.maxBuffered)
    }
}
