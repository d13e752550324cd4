import HJ212
import HJSimulation
import Testing
@testable import HJInstruments

@Suite("Reading instruments back (master side of the maps)")
struct InstrumentReaderTests {
    func poll(_ bank: InstrumentBank) -> [String: (value: Double, flag: UInt8)] {
        var all: [String: (value: Double, flag: UInt8)] = [:]
        for inst in bank.instruments {
            let reader = InstrumentReader(inst)
            let replies = reader.requests.map { r in ModbusResponse.parse(bank.modbus(unit: inst.address, pdu: r.pdu, line: "t", peer: "t")![...]) }
            all.merge(reader.decode(reader.registers(replies: replies))) { a, _ in a }
        }
        return all
    }

    @Test("polling every instrument of a unit gives back each factor's value (to float32 precision) and flag")
    func roundTrip() throws {
        for unit in ["industrial-wastewater", "thermal-power", "msw-incinerator", "wwtp-outlet"] {
            let clock = ManualClock(Fixture.start)
            let bank = try Fixture.bank(unit, faults: "calibration:a21026@2026-11-30T10:00/1h,maintenance:w01018@2026-11-30T10:00/1h", clock: clock)
            clock.advance(10 * 60_000)
            let truth = bank.readings()
            let read = poll(bank)
            #expect(read.count == truth.count, "\(unit): every factor has an instrument")
            for r in truth {
                guard let got = read[r.code] else { Issue.record("\(unit) \(r.code) not read"); continue }
                #expect(got.value == Double(Float(r.value)), "\(unit) \(r.code)")
                #expect(got.flag == r.flag, "\(unit) \(r.code) flag")
            }
            if unit == "thermal-power" { #expect(read["a21026"]?.flag == UInt8(ascii: "C")) }
            if unit == "industrial-wastewater" { #expect(read["w01018"]?.flag == UInt8(ascii: "M")) }
        }
    }

    @Test("reads are grouped into contiguous mapped runs of at most 125 registers")
    func plan() throws {
        let bank = try Fixture.bank("thermal-power", clock: ManualClock(Fixture.start))
        let cems = InstrumentReader(bank.instruments[0])
        // Values 0…21 contiguous; statuses at 40… after an unmapped gap.
        #expect(cems.requests == [.readHolding(start: 0, count: 18), .readHolding(start: 40, count: 9)])
        let cod = InstrumentReader(try Fixture.bank("industrial-wastewater", clock: ManualClock(Fixture.start)).instruments[0])
        #expect(cod.requests == [.readHolding(start: 0, count: 3)])
    }
}

@Suite("Reading meters back (master side of DL/T 645)")
struct MeterReaderTests {
    @Test("reading a facility's meter gives its energy, per-phase voltage and current, power and power factor")
    func roundTrip() throws {
        let clock = ManualClock(Fixture.start)
        let bank = try Fixture.bank("thermal-power", clock: clock)
        clock.advance(30 * 60_000)
        for (i, meter) in bank.meters.enumerated() {
            let reader = MeterReader(map: bank.meterMap, address: meter.address)
            #expect(reader.requests.count == 5)
            var replies: [DLT645Frame] = []
            for request in reader.requests {
                // Over the wire and back, as a logger would see it.
                var d = DLT645Decoder()
                d.feed([0xFE, 0xFE] + request.bytes)
                guard let parsed = d.next(), let reply = bank.dlt645(parsed, line: "t") else { Issue.record("no reply"); continue }
                var back = DLT645Decoder()
                back.feed([0xFE, 0xFE, 0xFE, 0xFE] + reply.bytes)
                replies.append(back.next()!)
            }
            let values = reader.decode(replies)
            let truth = bank.meterReading(i)
            #expect(abs(values["energy"]! - truth.energy) <= 0.005 + 1e-9)
            for (k, phase) in ["a", "b", "c"].enumerated() {
                #expect(abs(values["voltage_\(phase)"]! - truth.voltage[k]) <= 0.05 + 1e-9)
                #expect(abs(values["current_\(phase)"]! - truth.current[k]) <= 0.0005 + 1e-9)
            }
            #expect(abs(values["power"]! - truth.totalPower) <= 0.00005 + 1e-9)
            #expect(abs(values["power_factor"]! - truth.powerFactor) <= 0.0005 + 1e-9)
            // Another meter's reply and an abnormal reply are not values of this meter.
            let other = DLT645Frame(address: DLT645Frame.address("000000000099")!, control: 0x91, data: DLT645Frame.di(0x0001_0000) + [0, 0, 0, 0])
            let abnormal = DLT645Frame(address: meter.address, control: 0xD1, data: [0x02])
            #expect(reader.decode([other, abnormal]).isEmpty)
        }
    }
}

@Suite("Polling instruments (sans-I/O)")
struct ModbusPollerTests {
    @Test("a cycle reads every instrument; a silent instrument keeps its last value with flag B")
    func cycle() throws {
        let clock = ManualClock(Fixture.start)
        let bank = try Fixture.bank("industrial-wastewater", clock: clock)
        var poller = ModbusPoller(bank.instruments, timeoutMs: 500)
        func runCycle(silent: UInt8?) {
            var t = clock.now
            var action: ModbusPoller.Action? = poller.startCycle(at: t)
            var sent = 0
            while case .send(let unit, let pdu, let deadline)? = action {
                sent += 1
                if unit == silent {
                    // Nothing comes back: a reply from someone else is ignored, then the deadline.
                    #expect(poller.received([0x03, 0x02, 0, 0], from: 99, at: t) == nil)
                    #expect(poller.tick(at: deadline - 1) == nil)
                    t = deadline
                    action = poller.tick(at: t)
                } else {
                    action = poller.received(bank.modbus(unit: unit, pdu: pdu, line: "t", peer: "t")!, from: unit, at: t)
                }
                #expect(sent < 100, "the cycle ends")
            }
            #expect(action == .cycleComplete)
        }
        clock.advance(60_000)
        runCycle(silent: nil)
        let first = bank.readings()
        for r in first { #expect(poller.latest[r.code]?.value == Double(Float(r.value)) && poller.latest[r.code]?.flag == r.flag) }
        clock.advance(60_000)
        runCycle(silent: 1)
        #expect(poller.latest["w01018"]?.value == Double(Float(first.first { $0.code == "w01018" }!.value)), "the stale value is kept")
        #expect(poller.latest["w01018"]?.flag == UInt8(ascii: "B"))
        #expect(poller.latest["w21003"]?.value == Double(Float(bank.readings().first { $0.code == "w21003" }!.value)), "the others are fresh")
        #expect(poller.timeouts == 1)
    }

    @Test("an exception reply marks the instrument like a timeout")
    func exception() throws {
        let bank = try Fixture.bank("industrial-wastewater", clock: ManualClock(Fixture.start))
        var poller = ModbusPoller(bank.instruments, timeoutMs: 500)
        guard case .send(let unit, _, _) = poller.startCycle(at: 0) else { Issue.record("no request"); return }
        let next = poller.received([0x83, 0x02], from: unit, at: 1)
        guard case .send(let unit2, _, _)? = next else { Issue.record("no next request"); return }
        #expect(unit2 == unit + 1)
        #expect(poller.latest["w01018"]?.flag == UInt8(ascii: "B"))
    }
}
