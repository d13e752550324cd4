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

    /// Closes the packet in `writer`.
    mutating func finishBytes(_ code: CommandCode, at t: Int64) -> GeneratedPacket {
        writer.end()
        return GeneratedPacket(time: t, cn: code.rawValue, bytes: writer.bytes)
    }

    /// 2011 of the factors, as `realtimeFields` lists them.
    mutating func realtimeBytes(at t: Int64) -> GeneratedPacket {
        beginBytes(.realTimeData, at: t)
        writer.group()
        writer.key("DataTime")
        writer.time14(t)
        let o2 = o2Index.map { models[$0].reading }
        let k = o2.flatMap { FactorModel.zsFactor(o2: $0, reference: template.referenceO2) }
        let hidden = instrumentFaults.hidden
        for m in models where hidden.isEmpty || !hidden.contains(m.code) {
            writer.group()
            if m.measureEveryMs > 0 {
                writer.key(m.keys.sampleTime)
                writer.time14(m.sampleTime)
            }
            writer.key(m.keys.rtd)
            writer.number(m.reading, decimals: m.decimals)
            if m.zs, let k {
                writer.key(m.keys.zsRtd)
                writer.number(m.reading * k, decimals: m.decimals)
            }
            writer.key(m.keys.flag)
            writer.flag(m.flag)
        }
        return finishBytes(.realTimeData, at: t)
    }

    /// A 2051/2061/2031 record, as `periodCP` lists it.
    mutating func periodBytes(_ code: CommandCode, at t: Int64, dataTime: Int64, _ records: [PeriodRecord]) -> GeneratedPacket {
        beginBytes(code, at: t)
        writer.group()
        writer.key("DataTime")
        writer.time14(dataTime)
        let hidden = instrumentFaults.hidden
        for (m, r) in zip(models, records) where r.count > 0 && (hidden.isEmpty || !hidden.contains(m.code)) {
            writer.group()
            if let cou = r.cou {
                writer.key(m.keys.cou)
                writer.number(cou, decimals: Swift.max(m.decimals, 3))
            }
            writer.key(m.keys.min); writer.number(r.min, decimals: m.decimals)
            writer.key(m.keys.avg); writer.number(r.avg, decimals: m.decimals)
            writer.key(m.keys.max); writer.number(r.max, decimals: m.decimals)
            if let zs = r.zsAvg, let lo = r.zsMin, let hi = r.zsMax {
                writer.key(m.keys.zsMin); writer.number(lo, decimals: m.decimals)
                writer.key(m.keys.zsAvg); writer.number(zs, decimals: m.decimals)
                writer.key(m.keys.zsMax); writer.number(hi, decimals: m.decimals)
            }
            writer.key(m.keys.flag)
            writer.flag(r.flag)
        }
        return finishBytes(code, at: t)
    }
}
