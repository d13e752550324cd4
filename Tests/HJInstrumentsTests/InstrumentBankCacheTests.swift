import HJ212
import HJSimulation
import Testing
@testable import HJInstruments

/// The bank keeps what it derives from the simulator between its steps (the channels' snapshot)
/// and resolves parameters from slots, not names: nothing kept may outlive what it was taken from.
@Suite("Instrument bank: nothing kept goes stale")
struct InstrumentBankCacheTests {
    /// The simulator's sampling period of a bank (the clock step after which its values move).
    static func step(_ bank: InstrumentBank) -> Int64 { bank.state.withLock { $0.sim.sampleMilliseconds } }

    @Test("a value read twice in one step is the same; after a step it is the simulator's new one")
    func snapshotFollowsSteps() throws {
        let clock = ManualClock(Fixture.start)
        let bank = try Fixture.bank("industrial-wastewater", clock: clock)
        var seen: Set<Double> = []
        for _ in 0..<20 {
            let truth = bank.readings().first { $0.code == "w01001" }!.value
            let first = Fixture.float(Fixture.read(bank, unit: 4, start: 0, count: 2), at: 0, order: .abcd)
            let again = Fixture.float(Fixture.read(bank, unit: 4, start: 0, count: 2), at: 0, order: .abcd)
            #expect(first == Double(Float(truth)) && again == first)
            seen.insert(truth)
            clock.advance(Self.step(bank))
        }
        #expect(seen.count > 1, "the value moved with the simulator's steps")
    }

    @Test("the totaliser register grows at each step, read between steps or not")
    func totalFollowsSteps() throws {
        let clock = ManualClock(Fixture.start)
        let bank = try Fixture.bank("industrial-wastewater", clock: clock)
        var last = -1.0
        for _ in 0..<10 {
            clock.advance(Self.step(bank))
            let total = Fixture.float(Fixture.read(bank, unit: 3, start: 2, count: 2), at: 0, order: .abcd)!
            #expect(total == Double(Float(bank.total("w00000"))))
            #expect(total > last)
            last = total
        }
    }

    @Test("a parameter written is read back at once, after steps, and becomes the logger's 3020 value")
    func writtenParameter() throws {
        let clock = ManualClock(Fixture.start)
        let bank = try Fixture.bank("industrial-wastewater", clock: clock)
        _ = Fixture.read(bank, unit: 1, start: 16, count: 2)
        let words = RegisterType.float32.encode(1.5, scale: 1, order: .cdab)
        #expect(bank.modbus(unit: 1, pdu: ModbusRequest.writeMultiple(start: 16, values: words).pdu, line: "t", peer: "t") == [0x10, 0, 16, 0, 2])
        #expect(Fixture.float(Fixture.read(bank, unit: 1, start: 16, count: 2), at: 0, order: .cdab) == 1.5)
        clock.advance(10 * Self.step(bank))
        #expect(Fixture.float(Fixture.read(bank, unit: 1, start: 16, count: 2), at: 0, order: .cdab) == 1.5)
        #expect(bank.state.withLock { $0.sim.infoOverrides["w01018|i13008"] } == "1.500")
        // The written slope is the COD analyser's only: NH3-N's (same map, same 3020 code) is its own.
        #expect(Fixture.float(Fixture.read(bank, unit: 2, start: 16, count: 2), at: 0, order: .cdab) != 1.5)
        // A broadcast write reaches every analyser with the register; the generic ones keep theirs
        // at another address.
        bank.modbusBroadcast(pdu: ModbusRequest.writeMultiple(start: 16, values: RegisterType.float32.encode(2.5, scale: 1, order: .cdab)).pdu, line: "t", peer: "t")
        #expect(Fixture.float(Fixture.read(bank, unit: 2, start: 16, count: 2), at: 0, order: .cdab) == 2.5)
        #expect(Fixture.float(Fixture.read(bank, unit: 1, start: 16, count: 2), at: 0, order: .cdab) == 2.5)
    }

    @Test("a 3020 value set in the simulator shows at the next read, and so does its change")
    func infoOverride() throws {
        let clock = ManualClock(Fixture.start)
        let bank = try Fixture.bank("thermal-power", clock: clock)
        // CEMS channel 1 is NOx (a21002); its slope (i13026) at register 100 + 4 × 1 … read the map.
        let map = bank.instruments[0].map
        let slope = try #require(map.registers.first { $0.source == .parameter("slope") && $0.channel == 1 })
        func read() -> Double? { Fixture.float(Fixture.read(bank, unit: 1, start: UInt16(slope.address), count: 2), at: 0, order: slope.order) }
        let code = try #require(bank.instruments[0].codes[1])
        bank.state.withLock { $0.sim.infoOverrides["\(code)|i13026"] = "3.5" }
        #expect(read() == 3.5)
        bank.state.withLock { $0.sim.infoOverrides["\(code)|i13026"] = "4.25" }
        #expect(read() == 4.25)
        clock.advance(Self.step(bank))
        #expect(read() == 4.25)
    }

    @Test("every request to an instrument draws its parameters' noise, whatever registers it reads")
    func noiseDrawnPerRequest() throws {
        // The varying 3020 values (the COD analyser's slope and intercept) draw from the
        // simulator's generator, which its fault models share: what a request touches must not
        // change how many draws it makes, or later values would depend on which registers were read.
        func slopeAfter(_ reads: [(UInt16, UInt16)]) throws -> Double? {
            let bank = try Fixture.bank("industrial-wastewater", clock: ManualClock(Fixture.start))
            for (start, count) in reads { _ = Fixture.read(bank, unit: 1, start: start, count: count) }
            return Fixture.float(Fixture.read(bank, unit: 1, start: 16, count: 2), at: 0, order: .cdab)
        }
        let afterValues = try slopeAfter([(0, 2), (0, 2), (2, 2)])
        let afterParameters = try slopeAfter([(16, 2), (18, 4), (22, 6)])
        let afterException = try slopeAfter([(0, 2), (8, 4), (2, 2)])
        #expect(afterValues != nil && afterValues == afterParameters && afterValues == afterException)
    }
}
