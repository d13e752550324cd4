import Glibc
import HJ212
import HJSimulation

/// One line of a logger that reads instruments (`simulate --read`), run on its own thread: every
/// `pollMs` of the logger's time (5 s, the sampling slice of Appendix D) it reads the value and
/// status registers of each Modbus instrument on the line in turn (one request outstanding, as on
/// an RS-485 bus), or the DL/T 645 meters; every `parameterMs` (1 min) the analyser parameters
/// (slope, intercept, range, last calibration) that carry a 3020 information code. Readings go to
/// `PolledReadings`; an instrument that does not answer within `timeoutMs` (real time) has its
/// factors flagged B (通讯异常) with their last value. Logger-side reading faults act on the
/// decoding, and every injection goes to the ground truth (what was read, what was taken).
public final class InstrumentPollingLine: @unchecked Sendable {
    // @unchecked Sendable: handed to one thread, which alone touches it after `run` starts.
    public let line: any InstrumentMasterLine
    public let instruments: [InstrumentInfo]
    public let meters: [MeterInfo]
    public let meterMap: MeterMap?
    let readers: [InstrumentReader]
    let meterReaders: [MeterReader]
    public let readings: PolledReadings
    let faults: ReadingFaults
    let clock: @Sendable () -> Int64
    let speed: Double
    public let pollMs: Int64
    public let parameterMs: Int64
    public let timeoutMs: Int
    let mn: String
    let truth: @Sendable ([FaultRecord]) -> Void
    /// Last valid reading per factor (what a lost instrument leaves behind).
    var last: [String: SourcedReading] = [:]
    /// Last values taken from each meter, by facility.
    var lastMeter: [String: [String: Double]] = [:]
    /// When each (fault, factor) last wrote a truth record (one when it starts, then one a minute).
    var lastTruth: [String: Int64] = [:]

    public init(line: any InstrumentMasterLine, instruments: [InstrumentInfo], meters: [MeterInfo] = [], meterMap: MeterMap? = nil,
                readings: PolledReadings, faults: [FaultSpec] = [], mn: String, clock: @escaping @Sendable () -> Int64, speed: Double = 1,
                pollMs: Int64 = 5000, parameterMs: Int64 = 60_000, timeoutMs: Int = 500, truth: @escaping @Sendable ([FaultRecord]) -> Void = { _ in }) {
        self.line = line
        self.instruments = instruments
        self.meters = meters
        self.meterMap = meterMap
        readers = instruments.map { InstrumentReader($0) }
        meterReaders = meterMap.map { map in meters.map { MeterReader(map: map, address: $0.address) } } ?? []
        self.readings = readings
        self.faults = ReadingFaults(faults, mn: mn)
        (self.clock, self.speed, self.pollMs, self.parameterMs, self.timeoutMs, self.mn, self.truth) = (clock, speed, pollMs, parameterMs, timeoutMs, mn, truth)
        var keys = Set<String>()
        for inst in instruments {
            for r in inst.map.registers {
                guard case .parameter(let name) = r.source, let info = inst.map.parameters.first(where: { $0.name == name })?.info,
                      inst.codes.indices.contains(r.channel), let code = inst.codes[r.channel] else { continue }
                keys.insert("\(code)|\(info)")
            }
        }
        readings.expectParameters(keys)
        readings.expectMeters(meters.map(\.facility))
    }

    /// Polls until `stop()` says so.
    public func run(stop: () -> Bool) {
        var nextPoll = clock()
        var nextParameters = nextPoll
        while !stop() {
            let now = clock()
            guard now >= nextPoll else {
                let ms = Double(nextPoll - now) / max(speed, 0.001)
                usleep(UInt32(min(100_000, max(500, ms * 1000))))
                continue
            }
            cycle(at: now)
            if now >= nextParameters {
                parameterCycle()
                nextParameters = (now / parameterMs + 1) * parameterMs
            }
            nextPoll = (now / pollMs + 1) * pollMs
        }
        line.close()
    }

    /// One polling cycle over every instrument and meter of the line.
    public func cycle(at t0: Int64) {
        var records: [FaultRecord] = []
        for (i, inst) in instruments.enumerated() {
            let codes = inst.codes.compactMap { $0 }
            if let (code, spec) = codes.lazy.compactMap({ c in self.faults.active(.readingStale, c, at: self.clock()).map { (c, $0) } }).first {
                // Lost to the logger: not polled; the last readings stay, flagged N (the fault).
                let t = clock()
                var held: [String: SourcedReading] = [:]
                for c in codes { if var r = last[c] { r.flag = UInt8(ascii: "N"); held[c] = r } }
                readings.add(held, at: t, read: false)
                // Once a minute per window: a new window is recorded even within a minute of the last.
                if due("reading-stale|\(code)|\(spec.window?.lowerBound ?? 0)", t) {
                    let what = held.sorted { $0.key < $1.key }.map { "\($0.key)=\(ValueFormat.fixed($0.value.value, decimals: 4))" }.joined(separator: " ")
                    // With nothing read before, nothing is held: the logger has no reading to pass off.
                    records.append(record("reading-stale", code, t, held.isEmpty
                        ? "instrument \(inst.label) not read, and never read before: no reading held to upload as N (the logger's uploads stay flagged B, 通讯异常)"
                        : "instrument \(inst.label) not read; uploading the last reading as N: \(what)"))
                }
                continue
            }
            var replies: [ModbusResponse] = []
            for request in readers[i].requests {
                guard let pdu = line.modbus(unit: inst.address, pdu: request.pdu, timeoutMs: timeoutMs) else { break }
                let response = ModbusResponse.parse(pdu[...])
                guard case .registers = response else { break }
                replies.append(response)
            }
            let t = clock()
            guard replies.count == readers[i].requests.count else {
                readings.countFailure()
                var lost: [String: SourcedReading] = [:]
                for c in codes { lost[c] = SourcedReading(value: last[c]?.value ?? 0, flag: UInt8(ascii: "B")) }
                readings.add(lost, at: t, read: false)
                continue
            }
            let registers = readers[i].registers(replies: replies)
            let correct = readers[i].decode(registers)
            var taken: [String: SourcedReading] = [:]
            for (c, code) in inst.codes.enumerated() {
                guard let code, let right = correct[code] else { continue }
                var value = right.value, flag = right.flag
                var faultID: String?
                if faults.active(.readingByteOrder, code, at: t) != nil,
                   let r = inst.map.registers.first(where: { $0.channel == c && $0.source == .value }) {
                    let wrong = readers[i].decode(ReadingFaults.swapped(registers, value: r))
                    value = wrong[code]?.value ?? .nan
                    faultID = "reading-byte-order"
                }
                if let spec = faults.active(.readingScale, code, at: t) {
                    value *= spec.parameter("factor", default: 10)
                    faultID = "reading-scale"
                }
                if faults.active(.readingNoStatus, code, at: t) != nil {
                    flag = UInt8(ascii: "N")
                    faultID = faultID ?? "reading-no-status"
                }
                if !value.isFinite { value = 0; flag = UInt8(ascii: "D") }
                taken[code] = SourcedReading(value: value, flag: flag)
                last[code] = taken[code]
                if let id = faultID, due("\(id)|\(code)", t) {
                    records.append(record(id, code, t, "instrument \(inst.label) served \(ValueFormat.fixed(right.value, decimals: 4)) flag \(String(UnicodeScalar(right.flag))); the logger took \(ValueFormat.fixed(value, decimals: 4)) flag \(String(UnicodeScalar(flag)))"))
                }
            }
            readings.add(taken, at: t)
        }
        for (k, reader) in meterReaders.enumerated() {
            let facility = meters[k].facility
            if let held = meterStale(facility, &records) {
                readings.setMeter(facility, held, at: clock(), read: false)
                continue
            }
            var replies: [DLT645Frame] = []
            for request in reader.requests { if let reply = line.dlt645(request, timeoutMs: timeoutMs) { replies.append(reply) } }
            let values = reader.decode(replies)
            if values.isEmpty { readings.countFailure() } else {
                let taken = meterFaults(facility, values, &records)
                lastMeter[facility] = taken
                readings.setMeter(facility, taken, at: clock())
            }
        }
        if !records.isEmpty { truth(records) }
    }

    /// Reads the analyser parameters that carry a 3020 information code.
    func parameterCycle() {
        var values: [String: String] = [:]
        defer { if !values.isEmpty { readings.setParameters(values) } }
        for inst in instruments {
            for r in inst.map.registers {
                guard case .parameter(let name) = r.source, let info = inst.map.parameters.first(where: { $0.name == name })?.info,
                      inst.codes.indices.contains(r.channel), let code = inst.codes[r.channel] else { continue }
                if faults.active(.readingStale, code, at: clock()) != nil { continue }
                guard let pdu = line.modbus(unit: inst.address, pdu: ModbusRequest.readHolding(start: UInt16(r.address), count: UInt16(r.type.width)).pdu, timeoutMs: timeoutMs),
                      case .registers(let words) = ModbusResponse.parse(pdu[...]), let v = r.type.decode(words, scale: r.scale, order: r.order) else { continue }
                values["\(code)|\(info)"] = Self.infoText(v, type: r.type, name: name)
            }
        }
    }

    /// A parameter as 3020 carries it: a time as YYYYMMDDhhmmss, a number with up to 4 decimals.
    public static func infoText(_ v: Double, type: RegisterType, name: String) -> String {
        if type == .datetime || name == "last_calibration" { return HJTime(wallMilliseconds: Int64(v)).text14 }
        var s = ValueFormat.fixed(v, decimals: 4)
        if s.contains(".") {
            while s.hasSuffix("0") { s.removeLast() }
            if s.hasSuffix(".") { s.removeLast() }
        }
        return s
    }

    func due(_ key: String, _ t: Int64) -> Bool {
        if let l = lastTruth[key], t - l < 60_000 { return false }
        lastTruth[key] = t
        return true
    }

    func record(_ id: String, _ code: String, _ t: Int64, _ detail: String) -> FaultRecord {
        FaultRecord(time: t, mn: mn, fault: id, cn: "", qn: "", detail: detail, layer: "reading", factor: code)
    }
}
