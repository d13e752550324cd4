import HJ212
import HJInstruments
import HJSimulation

/// L-VALUE-POWER (`check logger --sensors` with a `dlt645` line): the electricity values of the
/// logger's HJ 212-2025 ST=44 CN=2011 uploads against what the check's DL/T 645 meters served.
/// Every metered facility must be in every upload with each quantity of
/// `Profiles/dialects/hj212-2025/electricity.tsv` (`SB1P`, `SB1E`, `SB1Ua` … `SB1Ic`); each value
/// not flagged B must equal a value served in its window (as L-VALUE-RTD), within half a unit of
/// its last printed digit plus the meter's resolution.
extension LoggerCheckRunner {
    func judgeElectricity(_ ev: SensorEvidence, offset: Int64, before: Int64, after: Int64) {
        guard wants(.loggerValuePower), !ev.meters.isEmpty else { return }
        let served = ev.served.meters
        let codes = ElectricityCodes.shared
        let uploads = probe.frames.filter { $0.role == .upload && $0.cn == CommandCode.realTimeData.rawValue && $0.segment.st == SystemType.electricityMonitoring.rawValue }
        let reads = served.values.reduce(0) { $0 + $1.count }
        facts.append(("electricity (ST=44)", "\(uploads.count) uploads; meters \(ev.meters.map { "\($0.facility) \($0.addressText)" }.joined(separator: ", ")); \(reads) values served"))
        func time14(_ t: Int64) -> String { HJTime(wallMilliseconds: t).text14 }
        func num(_ v: Double, _ decimals: Int) -> String { ValueFormat.fixed(v, decimals: decimals) }
        func printed(_ text: String) -> Double {
            guard let dot = text.firstIndex(of: ".") else { return 0.5 }
            return 0.5 * pow10(-text[text.index(after: dot)...].count)
        }
        guard !uploads.isEmpty else {
            if reads == 0 {
                skip(.loggerValuePower, "not exercised: the meters served no value")
            } else {
                let why = "no ST=44 electricity upload, while the meters of \(ev.meters.map(\.facility).joined(separator: " ")) were read \(reads) times"
                fail(.loggerValuePower, why, wire: [WireRecord(time: (probe.now * 1000).rounded() / 1000, direction: .note, text: why)])
            }
            return
        }
        var judged = 0, facilitiesSeen = Set<String>()
        var bad: [(Int, String)] = []
        for f in uploads {
            guard let dt = f.dataTime else { continue }
            var fields: [String: String] = [:]
            for field in f.segment.cpFields { fields[field.name] = field.value }
            for meter in ev.meters {
                let expected = codes.quantities.map { codes.code(facility: meter.facility, $0) }
                if expected.contains(where: { fields["\($0)-Rtd"] == nil }) {
                    bad.append((f.index, "facility \(meter.facility) missing from the ST=44 upload of \(time14(dt)) (expected \(expected.map { "\($0)-Rtd" }.joined(separator: " ")))"))
                    continue
                }
                facilitiesSeen.insert(meter.facility)
                for q in codes.quantities {
                    let code = codes.code(facility: meter.facility, q)
                    guard let text = fields["\(code)-Rtd"], let v = Double(text) else {
                        bad.append((f.index, "\(code) at \(time14(dt)) uploaded \(TerminalText.safe(fields["\(code)-Rtd"] ?? "", limit: 24)), meter of \(meter.facility) served - to - (\(meter.addressText))"))
                        continue
                    }
                    let flag = fields["\(code)-Flag"].flatMap { $0.utf8.first } ?? UInt8(ascii: "N")
                    if flag == UInt8(ascii: "B") { continue }
                    judged += 1
                    let list = served["\(meter.facility)|\(q.source)"] ?? []
                    let lo = dt - before - offset, hi = dt + after - offset
                    let candidates = list.filter { $0.time >= lo && $0.time <= hi }
                    guard !candidates.isEmpty else {
                        bad.append((f.index, "\(code) at \(time14(dt)) uploaded \(text) flag \(String(UnicodeScalar(flag))), no value served by the meter of \(meter.facility) in its window"))
                        continue
                    }
                    let resolution = ev.meterResolution[q.source] ?? pow10(-q.decimals)
                    if !candidates.contains(where: { abs($0.value - v) <= printed(text) + resolution + 1e-9 * abs(v) }) {
                        let values = candidates.map(\.value)
                        bad.append((f.index, "\(code) at \(time14(dt)) uploaded \(text), meter of \(meter.facility) served \(num(values.min()!, q.decimals)) to \(num(values.max()!, q.decimals)) (\(meter.addressText))"))
                    }
                }
            }
        }
        if bad.isEmpty {
            if judged > 0 {
                pass(.loggerValuePower, "\(judged) electricity values of \(facilitiesSeen.count) facilities in \(uploads.count) ST=44 uploads match a value their meter served in their window")
            } else if reads == 0 {
                skip(.loggerValuePower, "not exercised: the meters served no value")
            } else {
                skip(.loggerValuePower, "not exercised: every electricity value of the \(uploads.count) ST=44 uploads was flagged B (meter not read)")
            }
        } else {
            var wire = probe.wire(of: Array(Set(bad.prefix(6).map(\.0))).sorted())
            wire += bad.prefix(6).map { WireRecord(time: (probe.now * 1000).rounded() / 1000, direction: .note, text: $0.1) }
            fail(.loggerValuePower, "\(bad.count) of \(max(judged, bad.count)) electricity values are wrong or missing: \(bad.prefix(3).map(\.1).joined(separator: "; "))", wire: wire)
        }
    }
}
