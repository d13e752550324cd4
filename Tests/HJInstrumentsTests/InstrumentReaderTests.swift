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
