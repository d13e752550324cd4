import Foundation
import HJ212

/// One packet a simulated logger sends, at a virtual time.
public struct GeneratedPacket: Sendable {
    /// Local wall-clock milliseconds (HJTime.wallMilliseconds) when the logger sends it.
    public var time: Int64
    public var cn: String
    /// The data segment: the one built, or (a simulator writing bytes only, `SimulationOptions.bytesOnly`)
    /// parsed from `bytes` when asked.
    public var segment: DataSegment {
        get { built ?? SegmentParser.parse(bytes).segment }
        set { built = newValue }
    }
    var built: DataSegment?
    /// The serialised segment (at most 1024 bytes: longer records are split).
    public var bytes: [UInt8]

    /// The typed command code of `cn`.
    public var command: CommandCode { CommandCode(cn) }

    public init(time: Int64, cn: String, segment: DataSegment, bytes: [UInt8]) {
        self.time = time
        self.cn = cn
        self.built = segment
        self.bytes = bytes
    }

    /// A packet known by its bytes only (generation): its segment is parsed from them when asked.
    public init(time: Int64, cn: String, bytes: [UInt8]) {
        self.time = time
        self.cn = cn
        self.built = nil
        self.bytes = bytes
    }
}

/// Options of a simulated logger.
public struct SimulationOptions: Sendable {
    /// 2017 (Flag version 1) or 2025 (version 2, adds CN 2111 for furnaces).
    public var dialect: Dialect = .hj2017
    /// Uploads ask for 9014 (Flag A=1).
    public var ack = true
    public var rtdIntervalSeconds: Int?
    /// Send 2021 facility states every RtdInterval (normally the platform starts this with a 2021 request).
    public var facilityStatus = false
    /// Minutes between HJ 212-2025 heartbeats (9015).
    public var heartbeatMinutes = 5
    /// Faults (issue 5): the value layers (instrument, fraud, process) act on the readings
    /// before aggregation and on the 3020 parameters; the others are ignored here (the
    /// `FaultInjector` and the live links apply them). Specs with an MN apply to that logger only.
    public var faults: [FaultSpec] = []
    public var minIntervalMinutes: Int?
    public var profiles: ProfileStore = .builtin
    /// Readings from instruments (`simulate --read`): samples come from here, not from the models.
    public var readingSource: (any ReadingSource)?
    /// Write each packet's bytes directly (no `DataSegment` per packet; `GeneratedPacket.segment`
    /// is parsed from the bytes when asked): what `generate` does. The bytes are the same.
    public var bytesOnly = false
    public init() {}
}

/// A data logger (数采仪) of one unit template, in virtual time: values from the template's
/// models, aggregates per Appendix D, packets at their cadence, deterministic for a seed.
///
/// ```swift
/// let template = try UnitTemplate.load("industrial-wastewater")
/// var logger = try UnitSimulator(template: template, identity: LoggerIdentity(mn: "010000A8900016F000169DC0", pw: "123456"),
///                                seed: 1, start: HJTime(year: 2026, month: 11, day: 30).wallMilliseconds)
/// logger.advance(to: start + 86_400_000) { packet in … }
/// ```
public struct UnitSimulator: Sendable {
    public let template: UnitTemplate
    public let identity: LoggerIdentity
    public let options: SimulationOptions
    public let start: Int64
    public private(set) var now: Int64
    /// RtdInterval in ms; a change takes effect at the next multiple of the new interval.
    public var rtdIntervalMs: Int64 {
        didSet { nextRealtime = (now / rtdIntervalMs + (now % rtdIntervalMs == 0 ? 0 : 1)) * rtdIntervalMs }
    }
    public var minIntervalMs: Int64
    /// When the next real-time upload is due.
    var nextRealtime: Int64 = 0
    /// Start of the open MinInterval window, and the interval in force when it began.
    var windowStart: Int64 = 0
    var windowInterval: Int64 = 600_000
    let sampleMs: Int64
    let dictionary: CodeDictionary
    var random: SimRandom
    var models: [FactorModel]
    var wcModels: [FactorModel]
    /// Per factor: (index of the other factor, gain).
    let couplings: [[(index: Int, gain: Double)]]
    let wcCouplings: [[(index: Int, gain: Double)]]
    var lastSecond: Int64 = -1
    var sequence = 0
    var booted = false
    /// Real-time facility states (2021), on request or by option.
    public var sendFacilityStatus: Bool
    /// Real-time data (2011); a platform stops it with 2012 and starts it with 2011.
    public var sendRealtime = true
    /// Parameters set by the platform (3021), by "PolId|InfoId"; they replace the template's values.
    public var infoOverrides: [String: String] = [:]
    /// Analyser parameters read from the instruments (with a reading source), by "PolId|InfoId".
    var readInfo: [String: String] = [:]
    /// The boot parameters (3020) wait for the first parameters read from the instruments (at
    /// most 5 minutes: instruments without parameter registers, or slow); the first parameters
    /// read are uploaded once they are in, even after that.
    var pendingBootInfo = false
    var announcedReadInfo = false
    /// The last time whose period boundaries were closed (advance may stop and resume there).
    var closedThrough: Int64

    /// Everything due at or before this time has been emitted. (`now` is the next sample to take;
    /// the periods ending at `now` are closed only when the simulator next advances to it.)
    public var emittedThrough: Int64 { closedThrough }
    let dynamicControl: DynamicControlProfile?
    /// Minutes of running time per facility today.
    var facilityRunSamples = 0
    var daySamples = 0
    var infoNoise: SimRandom
    var instrumentFaults: InstrumentFaults
    /// Instrument faults that became active since the caller last emptied this list (ground truth).
    public var faultRecords: [FaultRecord] {
        get { instrumentFaults.records }
        set { instrumentFaults.records = newValue }
    }
    /// The run stops at `t`: each instrument fault still acting gets a record of its real end
    /// (`FaultRecord.ends`) in `faultRecords`. Once per run.
    public mutating func endFaults(at t: Int64) {
        if !instrumentFaults.isEmpty { instrumentFaults.endActive(at: t, mn: identity.mn, models: models) }
    }
    /// Furnace 5-minute mean (HJ 212-2025 CN 2111).
    var furnace5 = Accumulator()
    let furnaceIndex: Int?
    let o2Index: Int?
    let flowIndex: Int
    /// Electricity meters of a 2025 logger (ST=44 uploads; UnitSimulator+Electricity.swift).
    var electricity: ElectricityMeters? = nil
    /// The reused buffer packets are written into with `SimulationOptions.bytesOnly`.
    var writer = SegmentBytes()

    public init(template: UnitTemplate, identity: LoggerIdentity, seed: UInt64, start: Int64, options: SimulationOptions = SimulationOptions()) throws {
        self.template = template
        self.identity = identity
        self.options = options
        self.dictionary = CodeDictionary.shared(.hj2017)
        self.sampleMs = Int64(template.sampleSeconds) * 1000
        // Start on a sample boundary.
        self.start = (start / sampleMs) * sampleMs
        self.now = self.start
        closedThrough = self.start
        sendFacilityStatus = options.facilityStatus
        let rtd = Int64(options.rtdIntervalSeconds ?? template.rtdIntervalSeconds) * 1000
        rtdIntervalMs = rtd
        minIntervalMs = Int64(options.minIntervalMinutes ?? template.minIntervalMinutes) * 60_000
        nextRealtime = ((self.start + rtd - 1) / rtd) * rtd
        windowStart = self.start
        windowInterval = minIntervalMs
        random = SimRandom(seed: seed, label: identity.mn)
        infoNoise = SimRandom(seed: seed &+ 1, label: identity.mn)
        let dict = dictionary
        models = template.factors.map { FactorModel($0, medium: template.medium, dictionary: dict, template: template) }
        wcModels = template.workingCondition.map { FactorModel($0, medium: template.medium, dictionary: dict, template: template) }
        dynamicControl = try template.dynamicControl.map { try DynamicControlProfile.load($0, from: options.profiles) }
        instrumentFaults = InstrumentFaults(specs: options.faults, mn: identity.mn, template: template, models: models, dynamicControl: dynamicControl)
        furnaceIndex = template.factors.firstIndex { $0.code == "a01901" }
        o2Index = template.o2Factor.flatMap { code in template.factors.firstIndex { $0.code == code } }
        flowIndex = template.factors.firstIndex { $0.code == template.flowFactor } ?? 0
        couplings = template.factors.map { f in
            f.couple.compactMap { c in template.factors.firstIndex { $0.code == c.to }.map { ($0, c.gain) } }
        }
        wcCouplings = template.workingCondition.map { f in
            f.couple.compactMap { c in template.workingCondition.firstIndex { $0.code == c.to }.map { ($0, c.gain) } }
        }
        electricity = Self.electricityMeters(template: template, seed: seed, mn: identity.mn, options: options, level: operationLevel(self.start))
    }

    // MARK: Time

    static let minuteMs: Int64 = 60_000
    static let hourMs: Int64 = 3_600_000
    static let dayMs: Int64 = 86_400_000

    /// Running level of the plant at a time: 1 running, 0 stopped, ramps at start-up and shut-down.
    func operationLevel(_ t: Int64) -> Double {
        let startH = template.operationStartHour, endH = template.operationEndHour
        if startH <= 0 && endH >= 24 { return 1 }
        let hour = Double((t % Self.dayMs + Self.dayMs) % Self.dayMs) / 3_600_000
        let ramp = max(template.rampMinutes, 0.001) / 60
        if hour < startH || hour >= endH { return 0 }
        let up = (hour - startH) / ramp
        let down = (endH - hour) / ramp
        return Swift.min(1, up, down)
    }

    // MARK: Packets

    mutating func packet(_ code: CommandCode, at t: Int64, st: SystemType? = nil, cp: [[Field]], ack: Bool? = nil) -> GeneratedPacket {
        let cn = code.rawValue
        let second = t / 1000
        if second == lastSecond { sequence += 1 } else { lastSecond = second; sequence = 1 }
        let version = options.dialect == .hj2025 ? 2 : 1
        let flag = PacketFlag(version: version, split: false, ack: ack ?? options.ack)
        if options.bytesOnly {
            writer.begin(qnSecond: second, qnMilliseconds: sequence % 1000, st: st?.rawValue ?? template.st, cn: cn, pw: identity.pw, mn: identity.mn,
                         flag: flag.rawValue)
            writer.fields(cp)
            writer.end()
            return GeneratedPacket(time: t, cn: cn, bytes: writer.bytes)
        }
        let qn = HJTime(wallMilliseconds: second * 1000 + Int64(sequence % 1000)).text17
        let segment = DataSegment(
            header: [Field("QN", qn), Field("ST", st?.rawValue ?? template.st), Field("CN", cn), Field("PW", identity.pw),
                     Field("MN", identity.mn), Field("Flag", String(flag.rawValue))],
            cp: cp)
        return GeneratedPacket(time: t, cn: cn, segment: segment, bytes: [])
    }

    /// Emits a packet, split into PNUM/PNO packets when its segment exceeds 1024 bytes.
    mutating func emit(_ p: GeneratedPacket, _ out: (GeneratedPacket) -> Void) {
        var p = p
        if p.built != nil { p.bytes = p.segment.serializedBytes() }
        guard p.bytes.count > PacketSplitter.maxSegmentBytes,
              let parts = try? PacketSplitter.split(p.segment, nextQN: { _, _ in
                  self.sequence += 1
                  return HJTime(wallMilliseconds: self.lastSecond * 1000 + Int64(self.sequence % 1000)).text17
              }), parts.count > 1
        else { out(p); return }
        for part in parts { out(GeneratedPacket(time: p.time, cn: p.cn, segment: part, bytes: part.serializedBytes())) }
    }

    static func time14(_ t: Int64) -> String { HJTime(wallMilliseconds: t).text14 }

    /// Runs the logger from its current time up to `end` (exclusive for sampling; periods that
    /// close exactly at `end` are sent), handing each packet to `out` in time order.
    public mutating func advance(to end: Int64, _ out: (GeneratedPacket) -> Void) {
        if !booted {
            booted = true
            let boot = now - Int64(60 + random.next() % 240) * 1000
            emit(packet(.bootTime, at: now, cp: [[Field("DataTime", Self.time14(now))], [Field("RestartTime", Self.time14(boot))]]), out)
            // A logger that reads its instruments uploads its parameters once it has read them.
            if options.readingSource == nil { infoPackets(at: now, boot: true, out) } else { pendingBootInfo = true }
        }
        while now <= end {
            let t = now
            if t > closedThrough {
                closedThrough = t
                closePeriods(at: t, out)
            }
            if t == end { break }
            sample(at: t)
            if !instrumentFaults.changedInfo.isEmpty || !instrumentFaults.checksNow.isEmpty { faultInfoPackets(at: t, out) }
            if options.readingSource != nil && !announcedReadInfo && !readInfo.isEmpty {
                // The first parameters read: uploaded at once (the boot 3020, or again after it).
                announcedReadInfo = true
                pendingBootInfo = false
                infoPackets(at: t, boot: true, out)
            } else if pendingBootInfo && t - start >= 5 * Self.minuteMs {
                pendingBootInfo = false
                infoPackets(at: t, boot: true, out)
            }
            // Real-time data at the first sample on or after each multiple of RtdInterval, so that
            // any interval the platform sets (1062) is honoured, not only multiples of the sampling.
            if t >= nextRealtime {
                if sendRealtime { realtimePackets(at: t, out) }
                nextRealtime = (t / rtdIntervalMs + 1) * rtdIntervalMs
            }
            if t % Self.minuteMs == 0 && t > start && infoMayBeDue(at: t) { infoPackets(at: t, out) }
            now += sampleMs
        }
    }

    // MARK: Sampling

    /// cos and sin of 2π·(time of day)/24 h at every 5 s of a day, computed as `sample` computes
    /// them for any time (the samples of 5 s templates fall on these: two libm calls per sample less).
    static let dayPhases: [(cos: Double, sin: Double)] = (0..<17_280).map { k in
        let angle = 2 * Double.pi * (Double(Int64(k) * 5000) / 3_600_000) / 24
        return (cos(angle), sin(angle))
    }

    mutating func sample(at t: Int64) {
        let level = operationLevel(t)
        let timeOfDay = (t % Self.dayMs + Self.dayMs) % Self.dayMs
        let phase: (cos: Double, sin: Double)
        if timeOfDay % 5000 == 0 {
            phase = Self.dayPhases[Int(timeOfDay / 5000)]
        } else {
            let angle = 2 * Double.pi * (Double(timeOfDay) / 3_600_000) / 24
            phase = (cos(angle), sin(angle))
        }
        if !instrumentFaults.isEmpty { instrumentFaults.update(&models, at: t, mn: identity.mn) }
        Self.step(&models, couplings, level: level, dayPhase: phase, t: t, random: &random)
        Self.step(&wcModels, wcCouplings, level: level, dayPhase: phase, t: t, random: &random)
        if !instrumentFaults.isEmpty { instrumentFaults.apply(&models, at: t, random: &infoNoise) }
        if let source = options.readingSource { applyReadings(source, at: t) } else if electricity != nil { electricity!.step(level: level, dt: Double(sampleMs) / 1000) }
        // O2 for conversion.
        let o2 = o2Index.map { models[$0].reading }
        let flow = models[flowIndex].reading
        let dt = Double(sampleMs) / 1000
        let zsK = o2.flatMap { FactorModel.zsFactor(o2: $0, reference: template.referenceO2) }
        let medium = template.medium
        let flowIndex = flowIndex
        // In place through a buffer pointer: `models[i].…` checked the array's uniqueness per factor.
        models.withUnsafeMutableBufferPointer { models in
            for i in models.indices {
                models[i].accumulate(flow: flow, dt: dt, zsK: zsK, isFlow: i == flowIndex, medium: medium)
            }
        }
        if level > 0.5 { facilityRunSamples += 1 }
        daySamples += 1
        if let f = furnaceIndex {
            furnace5.add(value: models[f].reading, valid: models[f].flag == UInt8(ascii: "N"), flag: models[f].flag, min: models[f].reading, max: models[f].reading)
        }
    }

    /// Steps every factor; couplings read the other factors' current (or, for later ones, previous)
    /// values. In place through a buffer pointer: `models[i].step` checked the array's
    /// uniqueness per factor and sample.
    static func step(_ models: inout [FactorModel], _ couplings: [[(index: Int, gain: Double)]], level: Double, dayPhase: (cos: Double, sin: Double),
                     t: Int64, random: inout SimRandom) {
        // An empty array (most units have no working-condition factors) is the shared empty
        // storage, never unique: a buffer pointer to it would "copy" it every sample.
        guard !models.isEmpty else { return }
        models.withUnsafeMutableBufferPointer { models in
            for i in models.indices {
                var product = 1.0
                for (j, gain) in couplings[i] {
                    let other = models.baseAddress.unsafelyUnwrapped + j
                    let baseline = other.pointee.spec.baseline
                    if baseline != 0 { product *= Swift.max(0, 1 + gain * (other.pointee.running / baseline - 1)) }
                }
                models[i].step(level: level, dayPhase: dayPhase, t: t, random: &random, coupling: product)
            }
        }
    }

    mutating func realtimePackets(at t: Int64, _ out: (GeneratedPacket) -> Void) {
        emit(options.bytesOnly ? realtimeBytes(at: t) : packet(.realTimeData, at: t, cp: realtimeFields(at: t)), out)
        if sendFacilityStatus && !template.facilities.isEmpty {
            let rs = operationLevel(t) > 0.5 ? "1" : "0"
            emit(packet(.runningStatus, at: t, cp: [[Field("DataTime", Self.time14(t))]] + template.facilities.map { [Field("\($0.id)-RS", rs)] }), out)
        }
        if !wcModels.isEmpty && options.bytesOnly {
            emit(workingConditionBytes(at: t), out)
        } else if !wcModels.isEmpty {
            var wc: [[Field]] = [[Field("DataTime", Self.time14(t))]]
            for m in wcModels {
                wc.append([Field(m.keys.rtd, m.format(m.reading)), Field(m.keys.flag, String(UnicodeScalar(m.flag)))])
            }
            emit(packet(.realTimeData, at: t, st: template.workingConditionST.map(SystemType.init(rawValue:)), cp: wc), out)
        }
        if electricity != nil { electricityPackets(at: t, out) }
    }

    /// The CP of a 2011 of the factors (`realtimeBytes` writes the same bytes directly).
    func realtimeFields(at t: Int64) -> [[Field]] {
        var cp: [[Field]] = [[Field("DataTime", Self.time14(t))]]
        let o2 = o2Index.map { models[$0].reading }
        for m in models where instrumentFaults.hidden.isEmpty || !instrumentFaults.hidden.contains(m.code) {
            var group: [Field] = []
            if m.measureEveryMs > 0 { group.append(Field(m.keys.sampleTime, Self.time14(m.sampleTime))) }
            group.append(Field(m.keys.rtd, m.format(m.reading)))
            if m.zs, let o2, let k = FactorModel.zsFactor(o2: o2, reference: template.referenceO2) {
                group.append(Field(m.keys.zsRtd, m.format(m.reading * k)))
            }
            group.append(Field(m.keys.flag, String(UnicodeScalar(m.flag))))
            cp.append(group)
        }
        return cp
    }

    // MARK: Periods

    mutating func closePeriods(at t: Int64, _ out: (GeneratedPacket) -> Void) {
        if t % Self.minuteMs == 0 {
            for i in models.indices { models[i].closeMinute(medium: template.medium, samplesPerMinute: Int(Self.minuteMs / sampleMs)) }
        }
        if options.dialect == .hj2025, furnaceIndex != nil, t % (5 * Self.minuteMs) == 0, !furnace5.isEmpty {
            emit(packet(.furnaceTemperature5Min, at: t, cp: [[Field("DataTime", Self.time14(t - 5 * Self.minuteMs))],
                                            [Field("a01901-Avg", models[furnaceIndex!].format(furnace5.mean)),
                                             Field("a01901-Flag", String(UnicodeScalar(furnace5.gasFlag(needed: (Int(5 * Self.minuteMs / sampleMs) * 3 + 3) / 4))))]]), out)
            furnace5 = Accumulator()
        }
        // A MinInterval window closes on a multiple of the interval in force; its DataTime is the
        // (aligned) start of the window, so a change of interval (1064) never repeats a DataTime.
        if t % minIntervalMs == 0 && t > windowStart {
            let begin = (windowStart / windowInterval) * windowInterval
            let records = models.indices.map { models[$0].closeWindow(medium: template.medium, minutes: Int((t - begin) / Self.minuteMs)) }
            emit(periodPacket(.minuteData, at: t, dataTime: begin, records), out)
            windowStart = t
            windowInterval = minIntervalMs
        }
        if t % Self.hourMs == 0 {
            let records = models.indices.map { models[$0].closeHour(medium: template.medium) }
            emit(periodPacket(.hourData, at: t, dataTime: t - Self.hourMs, records), out)
        }
        if options.dialect == .hj2025, (t % Self.dayMs + Self.dayMs) % Self.dayMs == 3 * Self.hourMs {
            standardChecks(at: t, out)
        }
        // HJ 212-2025 heartbeat 9015 (EXTENSIONS.md §7, UNCONFIRMED): ST=91, empty CP, A=1 so that
        // the platform answers 9013.
        if options.dialect == .hj2025, t % (Int64(options.heartbeatMinutes) * Self.minuteMs) == 0 {
            emit(packet(.heartbeat, at: t, st: .systemInteraction, cp: []), out)
        }
        if t % Self.dayMs == 0 {
            let records = models.indices.map { models[$0].closeDay(medium: template.medium) }
            emit(periodPacket(.dailyData, at: t, dataTime: t - Self.dayMs, records), out)
            if !template.facilities.isEmpty {
                let hours = Double(facilityRunSamples) * Double(sampleMs) / 3_600_000
                let rt = ValueFormat.fixed(Swift.min(24, hours), decimals: 2)
                emit(packet(.dailyRunningTime, at: t, cp: [[Field("DataTime", Self.time14(t - Self.dayMs))]] + template.facilities.map { [Field("\($0.id)-RT", rt)] }), out)
            }
            facilityRunSamples = 0
            daySamples = 0
        }
    }

    /// A period record (`periodBytes` writes the same bytes directly).
    mutating func periodPacket(_ code: CommandCode, at t: Int64, dataTime: Int64, _ records: [PeriodRecord]) -> GeneratedPacket {
        options.bytesOnly ? periodBytes(code, at: t, dataTime: dataTime, records) : packet(code, at: t, cp: periodCP(dataTime, records))
    }

    func periodCP(_ dataTime: Int64, _ records: [PeriodRecord]) -> [[Field]] {
        var cp: [[Field]] = [[Field("DataTime", Self.time14(dataTime))]]
        for (m, r) in zip(models, records) where r.count > 0 && (instrumentFaults.hidden.isEmpty || !instrumentFaults.hidden.contains(m.code)) {
            var g: [Field] = []
            if let cou = r.cou { g.append(Field(m.keys.cou, ValueFormat.fixed(cou, decimals: Swift.max(m.decimals, 3)))) }
            g.append(Field(m.keys.min, m.format(r.min)))
            g.append(Field(m.keys.avg, m.format(r.avg)))
            g.append(Field(m.keys.max, m.format(r.max)))
            if let zs = r.zsAvg, let lo = r.zsMin, let hi = r.zsMax {
                g.append(Field(m.keys.zsMin, m.format(lo)))
                g.append(Field(m.keys.zsAvg, m.format(zs)))
                g.append(Field(m.keys.zsMax, m.format(hi)))
            }
            g.append(Field(m.keys.flag, String(UnicodeScalar(r.flag))))
            cp.append(g)
        }
        return cp
    }

    /// HJ 212-2025 CN 2062: the daily automatic standard-sample check of each cyclic water analyser
    /// (EXTENSIONS.md §7, SECONDARY): measured value of a standard of half the range, pass within ±10 %.
    mutating func standardChecks(at t: Int64, only: String? = nil, _ out: (GeneratedPacket) -> Void) {
        for m in models where m.measureEveryMs > 0 && (only == nil || only == m.code) {
            let standard = (m.rangeMax * 0.5).rounded()
            // A failing check (standard-check-fail) is off by its deviation.
            let deviation = instrumentFaults.failingChecks[m.code]
            let measured = standard * (1 + (deviation.map { $0 / 100 } ?? 0.03 * infoNoise.gaussian()))
            let pass = abs(measured - standard) <= standard * 0.1
            emit(packet(.standardCheckData, at: t, cp: [[Field("DataTime", Self.time14(t))],
                                            [Field("\(m.code)-SampleRd", m.format(measured))],
                                            [Field("\(m.code)-StandardValue", m.format(standard))],
                                            [Field("\(m.code)-ResultType", pass ? "1" : "0")]]), out)
        }
    }
}

/// What a period gives for one factor.
struct PeriodRecord {
    var count: Int
    var cou: Double?
    var min: Double
    var avg: Double
    var max: Double
    var zsMin: Double?
    var zsAvg: Double?
    var zsMax: Double?
    var flag: UInt8
}
