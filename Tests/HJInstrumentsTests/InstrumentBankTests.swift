import Glibc
import HJ212
import HJSimulation
import Synchronization
import Testing
@testable import HJInstruments

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    let t: Mutex<Int64>
    init(_ start: Int64) { t = Mutex(start) }
    var now: Int64 { t.withLock { $0 } }
    func advance(_ ms: Int64) { t.withLock { $0 += ms } }
}

enum Fixture {
    static let start = HJTimeFixture.ms(2026, 11, 30, 10, 0, 0)
    static let identity = LoggerIdentity(mn: "010000A8900016F000169DC0", pw: "123456")

    static func bank(_ unit: String, faults: String? = nil, truth: Bool = true, clock: ManualClock) throws -> InstrumentBank {
        var options = SimulationOptions()
        if let faults { options.faults = try FaultSpec.parseList(faults) }
        return try InstrumentBank(template: try UnitTemplate.load(unit), identity: identity, seed: 1, start: start, options: options,
                                  recordsTruth: truth, clock: { clock.now })
    }

    static func read(_ bank: InstrumentBank, unit: UInt8, start: UInt16, count: UInt16, function: UInt8 = 3) -> ModbusResponse {
        let request: ModbusRequest = function == 3 ? .readHolding(start: start, count: count) : .readInput(start: start, count: count)
        guard let reply = bank.modbus(unit: unit, pdu: request.pdu, line: "test", peer: "test") else { return .malformed }
        return ModbusResponse.parse(reply[...])
    }

    static func float(_ r: ModbusResponse, at offset: Int, order: WordOrder) -> Double? {
        guard case .registers(let w) = r else { return nil }
        return RegisterType.float32.decode(Array(w[offset..<(offset + 2)]), scale: 1, order: order)
    }
}

@Suite("Instruments driven by the value models")
struct InstrumentBankTests {
    @Test("water unit: COD, NH3-N, flow and generic instruments at addresses 1…5; one meter per facility")
    func assignment() throws {
        let bank = try Fixture.bank("industrial-wastewater", clock: ManualClock(Fixture.start))
        #expect(bank.instruments.map(\.map.name) == ["cod-analyser", "nh3n-analyser", "water-flow-meter", "generic-analyser", "generic-analyser"])
        #expect(bank.instruments.map(\.address) == [1, 2, 3, 4, 5])
        #expect(bank.instruments.map { $0.codes.compactMap { $0 } } == [["w01018"], ["w21003"], ["w00000"], ["w01001"], ["w01010"]])
        #expect(bank.meters.map(\.addressText) == ["000000000001"])
        let gas = try Fixture.bank("thermal-power", clock: ManualClock(Fixture.start))
        #expect(gas.instruments[0].map.name == "cems")
        #expect(Set(gas.instruments[0].codes.compactMap { $0 }) == ["a21026", "a21002", "a19001", "a34013", "a00000", "a01011", "a01012", "a01013", "a01014"])
        #expect(gas.meters.count == 3)
        // Working-condition parameters get generic instruments too.
        #expect(gas.instruments.dropFirst().allSatisfy { $0.map.name == "generic-analyser" } && gas.instruments.count == 1 + 5)
    }

    @Test("the generic map serves the model's reading in every layout, and it follows the clock")
    func servesModelValues() throws {
        let clock = ManualClock(Fixture.start)
        let bank = try Fixture.bank("industrial-wastewater", clock: clock)
        var seen: Set<Double> = []
        for _ in 0..<5 {
            clock.advance(60_000)
            let truth = bank.readings().first { $0.code == "w01001" }!
            let r = Fixture.read(bank, unit: 4, start: 0, count: 19)
            guard case .registers(let w) = r else { Issue.record("no registers: \(r)"); return }
            let f = Float(truth.value)
            for (k, order) in [WordOrder.abcd, .cdab, .badc, .dcba].enumerated() {
                #expect(Fixture.float(r, at: 2 * k, order: order) == Double(f))
            }
            #expect(Int16(bitPattern: w[8]) == Int16((truth.value * 10).rounded()))
            #expect(RegisterType.int32.decode(Array(w[9...10]), scale: 1000, order: .abcd) == (truth.value * 1000).rounded() / 1000)
            #expect(w[11] == 0, "status normal")
            #expect(Array(w[13...18]) == RegisterType.datetime.encode(Double(truth.sampleTime), scale: 1, order: .abcd))
            // 04 serves the same map.
            #expect(Fixture.read(bank, unit: 4, start: 0, count: 2, function: 4) == .registers(Array(w[0...1])))
            seen.insert(truth.value)
        }
        #expect(seen.count > 1, "the value moves with simulated time")
        // The truth lists what was served.
        let truth = bank.takeTruth()
        #expect(truth.count == 10)
        #expect(truth[0].contains("\"code\":\"w01001\"") && truth[0].contains("\"function\":3"))
    }

    @Test("a calibration fault shows in the status and alarm registers and in the served flag")
    func calibrationStatus() throws {
        let clock = ManualClock(Fixture.start)
        let bank = try Fixture.bank("industrial-wastewater", faults: "calibration:w01018@2026-11-30T10:10/20m", clock: clock)
        func status() -> [UInt16] {
            guard case .registers(let w) = Fixture.read(bank, unit: 1, start: 2, count: 2) else { return [] }
            return w
        }
        clock.advance(5 * 60_000)
        #expect(status() == [0, 0])
        clock.advance(10 * 60_000)
        #expect(status() == [3, 1 << 2], "status 3 calibration, alarm bit 2")
        let truth = bank.takeTruth()
        #expect(truth.contains { $0.contains("\"flag\":\"C\"") })
        #expect(truth.contains { $0.contains("\"fault\":\"calibration\"") }, "the fault's activation is in the ground truth")
        clock.advance(20 * 60_000)
        #expect(status() == [0, 0])
    }

    @Test("without a truth file nothing is gathered, faults included")
    func noTruth() throws {
        let clock = ManualClock(Fixture.start)
        let bank = try Fixture.bank("industrial-wastewater", faults: "calibration:w01018", truth: false, clock: clock)
        clock.advance(10 * 60_000)
        #expect(Fixture.read(bank, unit: 1, start: 2, count: 1) == .registers([3]))
        #expect(bank.takeTruth().isEmpty)
        #expect(bank.counters.requests == 1)
    }

    @Test("analyser parameters: readable, writable through 06/16, refused where read-only or invalid")
    func parameters() throws {
        let clock = ManualClock(Fixture.start)
        let bank = try Fixture.bank("industrial-wastewater", clock: clock)
        let slope = Fixture.float(Fixture.read(bank, unit: 1, start: 16, count: 2), at: 0, order: .cdab)
        #expect(slope != nil && slope! > 0)
        let range = Fixture.float(Fixture.read(bank, unit: 4, start: 24, count: 2), at: 0, order: .abcd)
        #expect(range == Double(Float(try UnitTemplate.load("industrial-wastewater").factors.first { $0.code == "w01001" }!.rangeMax)))
        // Write slope 1.25 (CDAB) with 16.
        let words = RegisterType.float32.encode(1.25, scale: 1, order: .cdab)
        let w = bank.modbus(unit: 1, pdu: ModbusRequest.writeMultiple(start: 16, values: words).pdu, line: "t", peer: "t")!
        #expect(w == [0x10, 0x00, 0x10, 0x00, 0x02])
        #expect(Fixture.float(Fixture.read(bank, unit: 1, start: 16, count: 2), at: 0, order: .cdab) == 1.25)
        // Half a float with 06: combined with the other half.
        let w6 = bank.modbus(unit: 1, pdu: ModbusRequest.writeSingle(address: 17, value: 0x4000).pdu, line: "t", peer: "t")!
        #expect(w6 == [0x06, 0x00, 0x11, 0x40, 0x00])
        #expect(Fixture.float(Fixture.read(bank, unit: 1, start: 16, count: 2), at: 0, order: .cdab) == 2.0)
        // Last calibration time, six registers.
        let when = RegisterType.datetime.encode(Double(HJTimeFixture.ms(2026, 11, 29, 2, 30, 0)), scale: 1, order: .abcd)
        #expect(bank.modbus(unit: 1, pdu: ModbusRequest.writeMultiple(start: 22, values: when).pdu, line: "t", peer: "t")! == [0x10, 0, 22, 0, 6])
        #expect(Fixture.read(bank, unit: 1, start: 22, count: 6) == .registers(when))
        // Refusals.
        #expect(bank.modbus(unit: 1, pdu: ModbusRequest.writeSingle(address: 0, value: 1).pdu, line: "t", peer: "t")! == [0x86, 0x02], "the reading is read-only")
        #expect(bank.modbus(unit: 1, pdu: ModbusRequest.writeMultiple(start: 22, values: [2026, 2, 30, 0, 0, 0]).pdu, line: "t", peer: "t")! == [0x90, 0x03], "30 February")
        #expect(bank.modbus(unit: 1, pdu: ModbusRequest.writeMultiple(start: 16, values: [0x0000, 0x7FC0]).pdu, line: "t", peer: "t")! == [0x90, 0x03], "NaN")
        #expect(Fixture.read(bank, unit: 1, start: 8, count: 4) == .exception(function: 3, .illegalDataAddress, raw: 2), "a gap in the map")
        #expect(Fixture.read(bank, unit: 1, start: 28, count: 1) == .exception(function: 3, .illegalDataAddress, raw: 2), "past the map")
        #expect(bank.modbus(unit: 9, pdu: [3, 0, 0, 0, 1], line: "t", peer: "t") == nil, "no instrument at 9")
        let truth = bank.takeTruth()
        #expect(truth.contains { $0.contains("\"wrote\":[{\"channel\":0,\"parameter\":\"slope\",\"value\":1.25}]") })
    }

    @Test("a 16 writing several parameters gives one truth line with every write, readable JSON (no repeated key)")
    func severalWrites() throws {
        let clock = ManualClock(Fixture.start)
        let bank = try Fixture.bank("industrial-wastewater", clock: clock)
        // Slope 1.25 and intercept 0.5 (CDAB), registers 16…19, in one request.
        let words = RegisterType.float32.encode(1.25, scale: 1, order: .cdab) + RegisterType.float32.encode(0.5, scale: 1, order: .cdab)
        #expect(bank.modbus(unit: 1, pdu: ModbusRequest.writeMultiple(start: 16, values: words).pdu, line: "t", peer: "t")! == [0x10, 0, 16, 0, 4])
        let lines = bank.takeTruth()
        #expect(lines.count == 1)
        let v = try JSONValue.parse(try #require(lines.first))
        guard case .array(let wrote)? = v["wrote"] else { Issue.record("no wrote array: \(lines)"); return }
        #expect(wrote.count == 2)
        #expect(wrote.first?["parameter"] == .string("slope") && wrote.first?["value"] == .double(1.25))
        #expect(wrote.last?["parameter"] == .string("intercept") && wrote.last?["value"] == .double(0.5))
    }

    @Test("a fault still acting when the run stops gets the record of its end at the stop; one that ended before, none")
    func faultEndsAtStop() throws {
        let clock = ManualClock(Fixture.start)
        let bank = try Fixture.bank("industrial-wastewater", faults: "calibration:w01018@2026-11-30T10:10/20m,drift:w21003@2026-11-30T10:01/5m",
                                    clock: clock)
        clock.advance(15 * 60_000)
        _ = bank.advance()
        let before = bank.takeTruth()
        #expect(before.filter { $0.contains("\"fault\":") }.count == 2, "both activations: \(before)")
        let stop = bank.finish()
        #expect(stop == HJTimeFixture.ms(2026, 11, 30, 10, 15, 0))
        let after = bank.takeTruth()
        #expect(after.count == 1, "only the calibration still acted: \(after)")
        let end = try JSONValue.parse(try #require(after.first))
        #expect(end["ended"] == .string("calibration") && end["fault"] == nil)
        #expect(end["factor"] == .string("w01018"))
        #expect(end["t"] == .string("2026-11-30T10:15:00.000+08:00"))
        guard case .string(let detail)? = end["detail"] else { Issue.record("no detail"); return }
        #expect(detail.contains("2026-11-30 10:15:00") && detail.contains("to 2026-11-30 10:30:00"), "\(detail)")
        bank.finish()
        #expect(bank.takeTruth().isEmpty, "once")
    }

    @Test("truth lines over the budget are dropped oldest first and counted, never silently")
    func truthBudget() throws {
        let clock = ManualClock(Fixture.start)
        var options = SimulationOptions()
        options.faults = []
        let bank = try InstrumentBank(template: try UnitTemplate.load("industrial-wastewater"), identity: Fixture.identity, seed: 1, start: Fixture.start,
                                      options: options, recordsTruth: true, truthBudget: 10, clock: { clock.now })
        for _ in 0..<25 { _ = Fixture.read(bank, unit: 1, start: 0, count: 2) }
        let kept = bank.takeTruth()
        #expect(kept.count <= 10)
        #expect(bank.truthDropped > 0)
        #expect(kept.count + bank.truthDropped == 25)
    }

    @Test("parameter tampering in the value models shows in the analyser's slope register")
    func tamperingShows() throws {
        let clock = ManualClock(Fixture.start)
        let bank = try Fixture.bank("industrial-wastewater", faults: "parameter-tampering:w01018(slope=2)@2026-11-30T10:05/1h", clock: clock)
        clock.advance(2 * 60_000)
        let before = Fixture.float(Fixture.read(bank, unit: 1, start: 16, count: 2), at: 0, order: .cdab)!
        clock.advance(10 * 60_000)
        let during = Fixture.float(Fixture.read(bank, unit: 1, start: 16, count: 2), at: 0, order: .cdab)!
        #expect(abs(during / before - 2) < 0.1, "slope doubled: \(before) → \(during)")
    }

    @Test("flow totaliser integrates the flow (L/s → m³) and the meter's energy its power")
    func totals() throws {
        let clock = ManualClock(Fixture.start)
        let bank = try Fixture.bank("industrial-wastewater", clock: clock)
        var expected = 0.0
        var energy0 = bank.meterReading(0).energy
        var energyExpected = energy0
        for _ in 0..<120 {
            clock.advance(5000)
            bank.advance()
            expected += max(0, bank.readings().first { $0.code == "w00000" }!.value) * 5 * 0.001
            energyExpected += bank.meterReading(0).totalPower * 5 / 3600
        }
        let total = Fixture.float(Fixture.read(bank, unit: 3, start: 2, count: 2), at: 0, order: .abcd)!
        #expect(abs(total - expected) < 1e-3 * max(1, expected))
        guard case .registers(let w) = Fixture.read(bank, unit: 3, start: 4, count: 4) else { Issue.record("no total"); return }
        #expect(RegisterType.uint32.decode(Array(w[0...1]), scale: 1, order: .dcba) == expected.rounded())
        #expect(abs(RegisterType.int32.decode(Array(w[2...3]), scale: 1000, order: .cdab)! - expected) < 0.002)
        energy0 = bank.meterReading(0).energy
        #expect(abs(energy0 - energyExpected) < 1e-6 * energyExpected)
        #expect(energy0 > 1000, "energy grows from its start value")
    }

    @Test("CEMS: one slave for the whole system; channels the unit lacks read NaN with status FFFF")
    func cems() throws {
        let clock = ManualClock(Fixture.start)
        let bank = try Fixture.bank("thermal-power", clock: clock)
        clock.advance(60_000)
        let so2 = bank.readings().first { $0.code == "a21026" }!.value
        #expect(Fixture.float(Fixture.read(bank, unit: 1, start: 0, count: 2), at: 0, order: .cdab) == Double(Float(so2)))
        // CO (channel 9) and HCl (10) are not instruments of a thermal-power unit.
        guard case .registers(let w) = Fixture.read(bank, unit: 1, start: 18, count: 4) else { Issue.record("no registers"); return }
        #expect(RegisterType.float32.decode(Array(w[0...1]), scale: 1, order: .cdab) == nil)
        #expect(Fixture.read(bank, unit: 1, start: 49, count: 2) == .registers([0xFFFF, 0xFFFF]))
        #expect(Fixture.read(bank, unit: 1, start: 40, count: 1) == .registers([0]))
    }

    @Test("DL/T 645 through the bank: energy, voltage and power of the facility's meter; truth names the DI")
    func meters() throws {
        let clock = ManualClock(Fixture.start)
        let bank = try Fixture.bank("thermal-power", clock: clock)
        clock.advance(60_000)
        let m = bank.meterReading(1)
        let reply = bank.dlt645(DLT645Frame(address: DLT645Frame.address("000000000002")!, control: 0x11, data: DLT645Frame.di(0x0203_0000)), line: "t")
        #expect(reply?.control == 0x91)
        let power = DLT645BCD.decode(Array(reply!.data.dropFirst(4)), decimals: 4, signed: true)!
        #expect(abs(power - m.totalPower) <= 0.00005 + 1e-9)
        #expect(bank.dlt645(DLT645Frame(address: DLT645Frame.address("000000000009")!, control: 0x11, data: DLT645Frame.di(0x0203_0000)), line: "t") == nil)
        let wildcard = bank.dlt645(DLT645Frame(address: DLT645Frame.wildcard, control: 0x13, data: []), line: "t")
        #expect(wildcard?.data == DLT645Frame.address("000000000001"), "only the first meter answers a wildcard")
        #expect(bank.takeTruth().contains { $0.contains("\"di\":\"02030000\"") && $0.contains("\"meter\":\"000000000002\"") })
    }

    @Test("a vendor's map in an override directory takes its factor before the built-in maps")
    func overrideMap() throws {
        let dir = "/tmp/hj212-maps-\(getpid())"
        mkdir(dir, 0o755)
        mkdir(dir + "/instruments", 0o755)
        defer { unlink(dir + "/instruments/vendor-ph.json"); rmdir(dir + "/instruments"); rmdir(dir) }
        let map = #"{"name":"vendor-ph","title_zh":"某厂 pH 计","title_en":"Vendor pH meter","protocol":"modbus","medium":"water","assign":"each","priority":5,"input_registers":false,"channels":[{"name":"pH","codes":["w01001"]}],"status_codes":{"N":0},"alarm_bits":{},"parameters":[],"registers":[{"address":100,"type":"int16","scale":100,"source":"value"}]}"#
        let f = fopen(dir + "/instruments/vendor-ph.json", "w")!
        fputs(map, f)
        fclose(f)
        let store = ProfileStore(overrideDirectory: dir)
        let clock = ManualClock(Fixture.start)
        let bank = try InstrumentBank(template: try UnitTemplate.load("industrial-wastewater"), identity: Fixture.identity, seed: 1, start: Fixture.start,
                                      store: store, clock: { clock.now })
        #expect(bank.instruments[0].map.name == "vendor-ph" && bank.instruments[0].codes == ["w01001"])
        let ph = bank.readings().first { $0.code == "w01001" }!.value
        #expect(Fixture.read(bank, unit: 1, start: 100, count: 1) == .registers([UInt16(bitPattern: Int16((ph * 100).rounded()))]))
        #expect(Fixture.read(bank, unit: 1, start: 100, count: 1, function: 4) == .exception(function: 4, .illegalFunction, raw: 1))
    }

    @Test("every built-in map parses; a bad map is refused with its place")
    func maps() throws {
        let maps = try InstrumentBank.modbusMaps(.builtin)
        #expect(Set(maps.map(\.name)) == ["cems", "cod-analyser", "nh3n-analyser", "water-flow-meter", "generic-analyser"])
        let generic = try InstrumentMap.load("generic-analyser")
        #expect(generic.registers.filter { $0.writable }.count == 4)
        for bad in [
            #"{"name":"x","title_zh":"x","title_en":"x","protocol":"modbus","medium":"any","assign":"each","priority":1,"input_registers":true,"channels":[{"name":"v","codes":["*"]}],"status_codes":{},"alarm_bits":{},"parameters":[],"registers":[{"address":0,"type":"float32","source":"value"},{"address":1,"type":"uint16","source":"status"}]}"#,
            #"{"name":"x","title_zh":"x","title_en":"x","protocol":"modbus","medium":"any","assign":"each","priority":1,"input_registers":true,"channels":[{"name":"v","codes":["*"]}],"status_codes":{},"alarm_bits":{},"parameters":[],"registers":[{"address":0,"type":"float32","order":"ACBD","source":"value"}]}"#,
            #"{"name":"x","title_zh":"x","title_en":"x","protocol":"modbus","medium":"any","assign":"each","priority":1,"input_registers":true,"channels":[{"name":"v","codes":["*"]}],"status_codes":{},"alarm_bits":{},"parameters":[],"registers":[{"address":0,"type":"float32","source":"value","writable":true}]}"#,
            #"{"name":"x","title_zh":"x","title_en":"x","protocol":"modbus","medium":"any","assign":"each","priority":1,"input_registers":true,"channels":[{"name":"v","codes":["*"]}],"status_codes":{},"alarm_bits":{},"parameters":[{"name":"slope","default":1},{"name":"slope","default":2}],"registers":[{"address":0,"type":"float32","source":"parameter:slope","writable":true}]}"#,
        ] {
            #expect(throws: ProfileError.self) { try InstrumentMap.parse(bad, file: "bad.json") }
        }
        // The duplicate's line names both declarations.
        let twice = #"{"name":"x","title_zh":"x","title_en":"x","protocol":"modbus","medium":"any","assign":"each","priority":1,"input_registers":true,"channels":[{"name":"v","codes":["*"]}],"status_codes":{},"alarm_bits":{},"parameters":[{"name":"slope","default":1},{"name":"slope","default":2}],"registers":[]}"#
        #expect { try InstrumentMap.parse(twice, file: "bad.json") } throws: { "\($0)".contains("parameters[1]") && "\($0)".contains("already declared by parameters[0]") }
    }
}
