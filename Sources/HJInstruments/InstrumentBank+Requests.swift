import HJ212
import HJSimulation

extension InstrumentBank {
    /// The instrument at a slave address.
    public func instrument(unit: UInt8) -> Int? { instruments.firstIndex { $0.address == unit } }

    /// The snapshot of an instrument's channels now (the caller holds the lock and has synced).
    /// Taken once per simulator step (`State.epoch`) and kept for the requests until the next.
    func snapshot(_ i: Int, _ s: inout State) -> [ChannelSnapshot] {
        if let kept = s.snapshots[i], kept.epoch == s.epoch { return kept.channels }
        let inst = instruments[i]
        let channels = inst.codes.indices.map { c -> ChannelSnapshot in
            guard let code = inst.codes[c], let r = reading(i, c, in: s.readings) else { return .unbound }
            // A factor the logger cannot see (missing-factor) is an instrument that does not answer
            // its channel properly: shown with the communication-fault flag.
            return ChannelSnapshot(code: code, value: r.value, flag: r.hidden ? UInt8(ascii: "B") : r.flag, sampleTime: r.sampleTime,
                                   total: s.totals[code] ?? 0, limit: r.limit, rangeMin: r.rangeMin, rangeMax: r.rangeMax)
        }
        s.snapshots[i] = (s.epoch, channels)
        return channels
    }

    /// Resolved parameter values of an instrument for a request on the registers `range` (nil:
    /// a request refused before any register): written ones, else the simulator's 3020 value of
    /// the parameter's information code, else the map's default. Only the parameters the range
    /// shows are resolved; the others are NaN in the table, since nothing reads them.
    ///
    /// Except for the draws: resolving a varying 3020 value draws noise from the simulator's
    /// generator, which the fault models share. Every request has always drawn for each such
    /// parameter, in the map's order, whatever registers it asked for; it still does, so that
    /// later values and faults are those of the same run.
    func parameters(_ i: Int, _ channels: [ChannelSnapshot], _ s: inout State, at t: Int64, touching range: Range<Int>?) -> ParameterTable {
        // The parts used, not the whole InstrumentInfo: copying it retains and releases every
        // array of its map, at each request.
        let count = instruments[i].codes.count, list = instruments[i].map.parameters, index = indexes[i]
        let draws = drawingSlots(i, channels, &s)
        var values = [Double](repeating: .nan, count: count * list.count)
        for c in 0..<count {
            let snap = channels[c]
            for (p, parameter) in list.enumerated() {
                let slot = index.slot(channel: c, parameter: p)
                if let v = s.written[i][index.slot(channel: c, parameter: index.firstOfName[p])] { values[slot] = v; continue }
                guard let range, index.touches(range, slot) else {
                    if draws[slot] { s.sim.skipInfoDraw() }
                    continue
                }
                if let info = parameter.info, let code = snap.code, let text = s.sim.infoValue(polId: code, code: info, at: t), let v = Self.number(text) {
                    values[slot] = v
                    continue
                }
                switch index.defaults[p] {
                case .number(let v): values[slot] = v
                case .rangeMax: values[slot] = snap.rangeMax
                case .rangeMin: values[slot] = snap.rangeMin
                case .calibrationTime:
                    let day: Int64 = 86_400_000
                    let candidate = (t / day) * day + 2 * 3_600_000
                    values[slot] = Double(candidate <= t ? candidate : candidate - day)
                }
            }
        }
        return ParameterTable(values: values, perChannel: list.count)
    }

    /// Per parameter slot of an instrument, whether resolving it draws noise: asked of the
    /// simulator once per step; a parameter written (a 3020 override) clears its slots in
    /// `applyWrite`. Nothing else changes the answer.
    func drawingSlots(_ i: Int, _ channels: [ChannelSnapshot], _ s: inout State) -> [Bool] {
        if let kept = s.draws[i], kept.epoch == s.epoch { return kept.slots }
        let inst = instruments[i], list = inst.map.parameters
        var slots: [Bool] = []
        slots.reserveCapacity(inst.codes.count * list.count)
        for c in inst.codes.indices {
            for p in list {
                guard let info = p.info, let code = channels[c].code else { slots.append(false); continue }
                slots.append(s.sim.infoValueDraws(polId: code, code: info))
            }
        }
        s.draws[i] = (s.epoch, slots)
        return slots
    }

    /// A 3020 value as a number: a 14-digit time as wall-clock milliseconds, else the decimal.
    static func number(_ text: String) -> Double? {
        if text.utf8.count == 14, let t = HJTime(text) { return Double(t.wallMilliseconds) }
        return Double(text)
    }

    /// Answers a Modbus request PDU for the instrument at `unit`. Nil when no instrument has that
    /// address (RTU: silence; TCP: the caller answers 0x0B). `line` and `peer` go to the truth.
    public func modbus(unit: UInt8, pdu: [UInt8], line: String, peer: String) -> [UInt8]? {
        guard let i = instrument(unit: unit) else { return nil }
        let t = clock()
        let request = ModbusPDU.parse(pdu[...])
        return state.withLock { s -> [UInt8] in
            sync(&s, to: t)
            return handle(i, pdu: pdu, request: request, at: t, line: line, peer: peer, &s)
        }
    }

    /// A broadcast (address 0): writes are executed by every instrument, nothing is answered.
    public func modbusBroadcast(pdu: [UInt8], line: String, peer: String) {
        guard case .success(let request) = ModbusPDU.parse(pdu[...]), request.isWrite else { return }
        let t = clock()
        let peer = peer + " (broadcast)"
        state.withLock { s in
            sync(&s, to: t)
            for i in instruments.indices { _ = handle(i, pdu: pdu, request: .success(request), at: t, line: line, peer: peer, &s) }
        }
    }

    /// Answers `pdu`, parsed once by the caller as `request` (the reply, the served log and the
    /// truth all need it).
    func handle(_ i: Int, pdu: [UInt8], request: Result<ModbusRequest, ModbusException>, at t: Int64, line: String, peer: String, _ s: inout State) -> [UInt8] {
        let map = instruments[i].map
        let channels = snapshot(i, &s)
        let range: Range<Int>?
        switch request {
        case .success(.readHolding(let a, let n)), .success(.readInput(let a, let n)): range = Int(a)..<(Int(a) + Int(n))
        case .success(.writeSingle(let a, _)): range = Int(a)..<(Int(a) + 1)
        case .success(.writeMultiple(let a, let v)): range = Int(a)..<(Int(a) + v.count)
        case .failure: range = nil
        }
        var registers = InstrumentRegisters(map: map, index: indexes[i], channels: channels, parameters: parameters(i, channels, &s, at: t, touching: range))
        let reply = ModbusPDU.respond(to: request, function: pdu.first ?? 0, space: &registers)
        s.requests += 1
        let isException = reply.first.map { $0 & 0x80 != 0 } == true
        if isException { s.exceptions += 1 }
        for slot in registers.changed { applyWrite(i, slot, registers.parameters.values[slot], &s) }
        if let served, !isException, case .success(let request) = request {
            if case .readHolding(let a, let n) = request { served.recordRead(instruments[i], index: indexes[i], start: Int(a), count: Int(n), channels: channels, parameters: registers.parameters, at: t) }
            if case .readInput(let a, let n) = request { served.recordRead(instruments[i], index: indexes[i], start: Int(a), count: Int(n), channels: channels, parameters: registers.parameters, at: t) }
        }
        guard recordsTruth else { return reply }
        var j: [(String, JSONValue)] = [("t", .string(SimClock.iso(t, offsetMinutes: offsetMinutes))), ("line", .string(line)), ("peer", .string(peer)),
                                        ("unit", .int(Int(instruments[i].address))), ("instrument", .string(map.name)),
                                        ("function", .int(Int(pdu.first ?? 0)))]
        if case .success(let request) = request {
            switch request {
            case .readHolding(let a, let n), .readInput(let a, let n): j += [("start", .int(Int(a))), ("count", .int(Int(n)))]
            case .writeSingle(let a, _): j += [("start", .int(Int(a))), ("count", .int(1))]
            case .writeMultiple(let a, let v): j += [("start", .int(Int(a))), ("count", .int(v.count))]
            }
        }
        if isException {
            j.append(("exception", .int(Int(reply[1]))))
        } else if reply.first == 0x03 || reply.first == 0x04 {
            j.append(("served", .array(channels.compactMap { c in
                c.code.map { .object([("code", .string($0)), ("value", .double(c.value)), ("flag", .string(String(UnicodeScalar(c.flag))))]) }
            })))
        }
        // Every parameter a write changed, in one array (a 16 may write several).
        if !registers.changed.isEmpty {
            j.append(("wrote", .array(registers.changed.map { slot in
                let (c, p) = slot.quotientAndRemainder(dividingBy: map.parameters.count)
                return .object([("channel", .int(c)), ("parameter", .string(map.parameters[p].name)), ("value", .double(registers.parameters.values[slot]))])
            })))
        }
        appendTruth(JSONValue.object(j).serialized, &s)
        return reply
    }

    /// Keeps a written parameter; the logger's 3020 parameters follow what was written to the analyser.
    /// `slot` is the parameter's `RegisterIndex.slot`; the write is kept under the first parameter of its name.
    func applyWrite(_ i: Int, _ slot: Int, _ v: Double, _ s: inout State) {
        let inst = instruments[i], index = indexes[i]
        let (c, p) = slot.quotientAndRemainder(dividingBy: index.parameterCount)
        let first = index.firstOfName[p]
        s.written[i][index.slot(channel: c, parameter: first)] = v
        let name = inst.map.parameters[first].name
        if let code = inst.codes[c], let info = inst.map.parameters[first].info {
            // With an override the value draws no noise any more (`infoValueDraws`): so for
            // every channel of the factor (one; a template listing a factor twice could give two).
            for (k, other) in instruments.enumerated() where s.draws[k] != nil {
                for (oc, ocode) in other.codes.enumerated() where ocode == code {
                    for (op, q) in other.map.parameters.enumerated() where q.info == info { s.draws[k]?.slots[indexes[k].slot(channel: oc, parameter: op)] = false }
                }
            }
            s.sim.infoOverrides["\(code)|\(info)"] = name == "last_calibration" ? HJTime(wallMilliseconds: Int64(v)).text14 : ValueFormat.fixed(v, decimals: 3)
        }
    }

    func appendTruth(_ line: String, _ s: inout State) {
        if s.truth.count >= truthBudget {
            // The oldest tenth goes at once (not one per line: a stalled disk would make every request shift the array).
            let n = max(1, s.truth.count / 10)
            s.truth.removeFirst(n)
            s.truthDropped += n
        }
        s.truth.append(line)
    }

    /// Answers a DL/T 645 frame: the first meter it selects replies (a wildcard address on a
    /// bus of several meters would make them all talk at once; here only the first does).
    public func dlt645(_ frame: DLT645Frame, line: String) -> DLT645Frame? {
        let t = clock()
        return state.withLock { s -> DLT645Frame? in
            sync(&s, to: t)
            for (i, m) in meters.enumerated() {
                let reading = s.meterReadings[i]
                guard let (reply, item) = DLT645Slave.respond(to: frame, address: m.address, map: meterMap, reading: { reading }) else { continue }
                s.requests += 1
                if reply.control & 0x40 != 0 { s.exceptions += 1 }
                if let served, reply.control & 0x40 == 0, let item {
                    for p in item.block.isEmpty ? [item] : item.block.compactMap({ meterMap.item($0) }) where p.source != "address" {
                        if let v = reading.value(p.source) { served.addMeter("\(m.facility)|\(p.source)", time: t, value: v) }
                    }
                }
                guard recordsTruth else { return reply }
                var j: [(String, JSONValue)] = [("t", .string(SimClock.iso(t, offsetMinutes: offsetMinutes))), ("line", .string(line)),
                                                ("meter", .string(m.addressText)), ("facility", .string(m.facility)),
                                                ("control", .string(String(frame.control, radix: 16, uppercase: true)))]
                if reply.control & 0x40 != 0 { j.append(("error", .int(Int(reply.data.first ?? 0)))) }
                if let item {
                    j.append(("di", .string(Self.hex8(item.di))))
                    let parts = item.block.isEmpty ? [item] : item.block.compactMap { meterMap.item($0) }
                    j.append(("values", .object(parts.map { p in (p.source, p.source == "address" ? .string(m.addressText) : .double(reading.value(p.source) ?? 0)) })))
                }
                appendTruth(JSONValue.object(j).serialized, &s)
                return reply
            }
            return nil
        }
    }

    static func hex8(_ v: UInt32) -> String {
        let h = String(v, radix: 16, uppercase: true)
        return String(repeating: "0", count: 8 - h.count) + h
    }

    /// Takes the ground-truth lines (JSON) gathered since the last call.
    public func takeTruth() -> [String] {
        state.withLock { s in
            defer { s.truth = [] }
            return s.truth
        }
    }

    /// Requests answered and exceptions among them, since the start.
    public var counters: (requests: Int, exceptions: Int) { state.withLock { ($0.requests, $0.exceptions) } }

    /// The readings the instruments hold now (after running the models to the clock).
    public func readings() -> [FactorReading] {
        let t = clock()
        return state.withLock { s in
            sync(&s, to: t)
            return s.sim.factorReadings
        }
    }

    /// A meter's state now.
    public func meterReading(_ i: Int) -> MeterReading {
        let t = clock()
        return state.withLock { s in
            sync(&s, to: t)
            return s.meterReadings[i]
        }
    }

    /// A totaliser now, by factor code.
    public func total(_ code: String) -> Double { state.withLock { $0.totals[code] ?? 0 } }
}
