import HJ212

/// The packets that make up nearly all of a generation (2011 real-time data, 2051/2061/2031
/// records) written straight into the simulator's byte buffer (`SimulationOptions.bytesOnly`):
/// no `Field`, no `String` per value. Each writes exactly the bytes of its `[[Field]]` form in
/// UnitSimulator.swift (`realtimeFields`, `periodCP`); `GenerationBytesTests` compare the two
/// for every template, so a change to one must be made to the other.
extension UnitSimulator {
    /// Starts a packet in `writer`: the header as `packet(_:at:st:cp:ack:)` writes it (QN sequence included).
    mutating func beginBytes(_ code: CommandCode, at t: Int64, st: SystemType? = nil) {
        let second = t / 1000
        if second == lastSecond { sequence += 1 } else { lastSecond = second; sequence = 1 }
        let flag = PacketFlag(version: options.dialect == .hj2025 ? 2 : 1, split: false, ack: options.ack)
        writer.begin(qnSecond: second, qnMilliseconds: sequence % 1000, st: st?.rawValue ?? template.st, cn: code.rawValue, pw: identity.pw,
                     mn: identity.mn, flag: flag.rawValue)
    }

    /// Lets go of the reused packet buffer (a live logger between two advances holds none; a
    /// generation keeps it for speed).
    public mutating func releaseWriterBuffer() { writer = SegmentBytes() }

    /// Closes the packet in `writer`.
    mutating func finishBytes(_ code: CommandCode, at t: Int64) -> GeneratedPacket {
        writer.end()
        return GeneratedPacket(time: t, cn: code.rawValue, bytes: writer.bytes)
    }

    /// 2011 of the factors, as `realtimeFields` lists them. Each factor's constants and keys come
    /// through its shared `FactorSpec`, and what the packet needs of a factor is read in place
    /// through a pointer (`pointee` addresses the field), into locals, before anything is
    /// written: `models[i]`, and a buffer pointer's subscript too, copied the whole 592-byte
    /// `FactorModel`, with a retain and a release of its spec, per factor and packet. The writer
    /// is a local meanwhile.
    mutating func realtimeBytes(at t: Int64) -> GeneratedPacket {
        beginBytes(.realTimeData, at: t)
        var w = writer
        writer = SegmentBytes()
        w.group()
        w.key("DataTime")
        w.time14(t)
        let o2 = o2Index.map { models[$0].reading }
        let k = o2.flatMap { FactorModel.zsFactor(o2: $0, reference: template.referenceO2) }
        let hidden = instrumentFaults.hidden
        models.withUnsafeBufferPointer { models in
            for i in models.indices {
                let m = models.baseAddress.unsafelyUnwrapped + i
                let spec = m.pointee.spec
                if !hidden.isEmpty && hidden.contains(spec.code) { continue }
                let reading = m.pointee.reading, sampleTime = m.pointee.sampleTime, flag = m.pointee.flag
                w.group()
                if spec.measureEveryMs > 0 {
                    w.key(spec.keys.bytes.sampleTime)
                    w.time14(sampleTime)
                }
                let decimals = spec.decimals
                w.key(spec.keys.bytes.rtd)
                w.number(reading, decimals: decimals)
                if spec.zs, let k {
                    w.key(spec.keys.bytes.zsRtd)
                    w.number(reading * k, decimals: decimals)
                }
                w.key(spec.keys.bytes.flag)
                w.flag(flag)
            }
        }
        writer = w
        return finishBytes(.realTimeData, at: t)
    }

    /// The working-condition 2011 (its own ST), as `realtimePackets` lists it for `packet`.
    mutating func workingConditionBytes(at t: Int64) -> GeneratedPacket {
        beginBytes(.realTimeData, at: t, st: template.workingConditionST.map(SystemType.init(rawValue:)))
        var w = writer
        writer = SegmentBytes()
        w.group()
        w.key("DataTime")
        w.time14(t)
        wcModels.withUnsafeBufferPointer { models in
            for i in models.indices {
                let m = models.baseAddress.unsafelyUnwrapped + i
                let spec = m.pointee.spec, reading = m.pointee.reading, flag = m.pointee.flag
                w.group()
                w.key(spec.keys.bytes.rtd)
                w.number(reading, decimals: spec.decimals)
                w.key(spec.keys.bytes.flag)
                w.flag(flag)
            }
        }
        writer = w
        return finishBytes(.realTimeData, at: t)
    }

    /// A 2051/2061/2031 record, as `periodCP` lists it.
    mutating func periodBytes(_ code: CommandCode, at t: Int64, dataTime: Int64, _ records: [PeriodRecord]) -> GeneratedPacket {
        beginBytes(code, at: t)
        var w = writer
        writer = SegmentBytes()
        w.group()
        w.key("DataTime")
        w.time14(dataTime)
        let hidden = instrumentFaults.hidden
        for i in 0..<Swift.min(models.count, records.count) {
            let r = records[i]
            guard r.count > 0 && (hidden.isEmpty || !hidden.contains(models[i].code)) else { continue }
            let spec = models[i].spec
            let d = spec.decimals
            w.group()
            if let cou = r.cou {
                w.key(spec.keys.bytes.cou)
                w.number(cou, decimals: Swift.max(d, 3))
            }
            w.key(spec.keys.bytes.min); w.number(r.min, decimals: d)
            w.key(spec.keys.bytes.avg); w.number(r.avg, decimals: d)
            w.key(spec.keys.bytes.max); w.number(r.max, decimals: d)
            if let zs = r.zsAvg, let lo = r.zsMin, let hi = r.zsMax {
                w.key(spec.keys.bytes.zsMin); w.number(lo, decimals: d)
                w.key(spec.keys.bytes.zsAvg); w.number(zs, decimals: d)
                w.key(spec.keys.bytes.zsMax); w.number(hi, decimals: d)
            }
            w.key(spec.keys.bytes.flag)
            w.flag(r.flag)
        }
        writer = w
        return finishBytes(code, at: t)
    }
}
