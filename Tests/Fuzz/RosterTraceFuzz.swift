// libFuzzer harness: the roster's readers, its trace reader (`hj212 roster --trace`) and the fleet
// manifest (`--fleet FILE`). Built by .ci/fuzz (see docs/fuzzing.md).
//
// An input with a 0xFF byte is a fleet manifest (CSV) before it and a trace after it: the manifest
// is read as `--fleet` reads it (then every unit has an MN of a form the manifest allows, unique,
// a six-character password and the pollutants of its unit template), and the trace is judged
// against it when it reads. Other inputs are a trace, judged against a fixed fleet.
//
// The trace is a JSON Lines trace as `serve --trace` writes it (a frame that is not UTF-8 with its
// bytes in `frame_hex`). It is read as the roster reads it
// (frames a logger sent, framing checked as a platform does, split records reassembled, hour
// records judged against the units' pollutants), then the roster of November 2026 is made from it.
// Checked: every hour counted is a real hour of the period, of a unit of the fleet; a unit never
// has more valid hours than received, nor more received than due, nor more due than the period
// has; invalid hours are all given a cause; the counties and the total add up to the rows; what the reader skipped is counted within what it read; every
// percentage is well formed.
import Foundation
import HJ212
import HJSimulation
import HJStore

/// mixed-demo's first six units, with the roster columns the tests use (one not assessed, one
/// installed mid-period, one not installed).
let fleet: Fleet = {
    guard var f = try? Fleet.load("mixed-demo") else { fatalError("the built-in fleet mixed-demo does not load") }
    f.units = Array(f.units.prefix(6))
    f.units[3].roster.assessed = false
    f.units[3].roster.reason = "停产"
    f.units[4].roster.installedSince = HJTime(year: 2026, month: 11, day: 2, hour: 12)
    f.units[5].roster.notInstalled = true
    return f
}()
let period = RosterPeriod(from: HJTime(year: 2026, month: 11, day: 1), to: HJTime(year: 2026, month: 12, day: 1))
let fromKey = Int64(period.from.text14)! / 10_000, toKey = Int64(period.to.text14)! / 10_000

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRosterTrace(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    guard let cut = bytes.firstIndex(of: 0xFF) else { return judge(String(decoding: bytes, as: UTF8.self), fleet) }
    guard let manifest = try? Fleet.parse(String(decoding: bytes[..<cut], as: UTF8.self), file: "fuzz.csv") else { return 0 }
    var mns = Set<String>()
    for u in manifest.units {
        guard Fleet.isManifestMN(u.identity.mn), mns.insert(u.identity.mn).inserted, u.identity.pw.count == 6, !u.pollutants.isEmpty,
              let template = manifest.templates[u.unit], Set(template.factors.map(\.code)) == Set(u.pollutants) else {
            fatalError("manifest unit \(u.identity.mn.debugDescription) (line \(u.line)) should have been refused")
        }
    }
    guard !manifest.units.isEmpty else { fatalError("an empty manifest read") }
    return judge(String(decoding: bytes[(cut + 1)...], as: UTF8.self), manifest)
}

func judge(_ text: String, _ fleet: Fleet) -> CInt {
    var evidence = RosterEvidence(fleet: fleet)
    let lines = text.split(separator: "\n", omittingEmptySubsequences: true).count
    let read = evidence.add(traceText: Substring(text), period: period)
    guard read.frames + read.skipped <= lines, evidence.skipped.refusedFrames <= read.frames else {
        fatalError("counts: \(read), \(evidence.skipped), \(lines) lines")
    }
    for (mn, hours) in evidence.hours {
        guard fleet.units.contains(where: { $0.identity.mn == mn }) else { fatalError("hours of \(mn), not in the fleet") }
        for key in hours.keys {
            guard key >= fromKey, key < toKey, RosterEvidence.isCalendarTime(key * 10_000) else { fatalError("hour \(key) counted") }
        }
    }
    let roster = Roster(fleet: fleet, evidence: evidence, period: period, now: HJTime(year: 2026, month: 12, day: 10))
    var sum = Roster.Hours()
    for row in roster.rows {
        let h = row.hours
        guard h.valid >= 0, h.valid <= h.received, h.received <= h.due, h.due <= period.hours else { fatalError("row \(row.index): \(h)") }
        guard row.invalidCauses.values.reduce(0, +) == h.received - h.valid else { fatalError("row \(row.index): causes \(row.invalidCauses) for \(h)") }
        if row.assessed { sum += h }
        for r in [h.transmissionRate, h.validityRate, h.effectiveRate] {
            let p = Roster.percent(r)
            guard p == "-" || p.hasSuffix(" %"), !p.unicodeScalars.contains(where: { $0.value < 0x20 }) else { fatalError("percent '\(p)'") }
        }
    }
    guard sum == roster.total.hours, roster.counties.reduce(0, { $0 + $1.units }) == roster.rows.count else {
        fatalError("total \(roster.total.hours) against rows \(sum)")
    }
    return 0
}

@_cdecl("LLVMFuzzerInitialize")
public func initializeRosterTrace(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> CInt {
    // `HJ212_FUZZ_SEEDS=DIR harness`: write the seed inputs to DIR and exit (.ci/fuzz does this).
    guard let dir = ProcessInfo.processInfo.environment["HJ212_FUZZ_SEEDS"] else { return 0 }
    /// A 2061 record of `unit` for 2026-11-`day` `hour`:00, each pollutant with Avg and a flag.
    func record(_ unit: FleetUnit, day: Int, hour: Int, flag: String = "N", extra: Int = 0, dataTime: String? = nil) -> DataSegment {
        let dt = dataTime ?? String(format: "202611%02d%02d0000", day, hour)
        var cp: [[Field]] = [[Field("DataTime", dt)]]
        for c in unit.pollutants { cp.append([Field("\(c)-Avg", "12.5"), Field("\(c)-Flag", flag)]) }
        for k in 0..<extra { cp.append([Field(String(format: "a%05d-Avg", k), "1.25"), Field(String(format: "a%05d-Flag", k), "N")]) }
        return DataSegment(header: [Field("QN", String(dt.prefix(12)) + "00001"), Field("ST", "32"), Field("CN", "2061"), Field("PW", "123456"),
                                    Field("MN", unit.identity.mn), Field("Flag", "5")], cp: cp)
    }
    func line(_ segment: DataSegment, t: String = "2026-11-03T00:00:00.000+08:00", crc: Bool = true) -> String {
        var frame = FrameEncoder.frame(segment)
        frame.removeLast(2)
        if !crc { frame[frame.count - 1] = frame[frame.count - 1] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0") }
        var quoted = ""
        JSONValue.writeString(String(decoding: frame, as: UTF8.self), to: &quoted)
        return "{\"t\":\"\(t)\",\"dir\":\"up\",\"peer\":\"127.0.0.1:40000\",\"frame\":\(quoted)}\n"
    }
    let u = fleet.units
    var seeds: [String] = []
    seeds.append((0..<6).map { line(record(u[0], day: 2, hour: $0)) }.joined())
    seeds.append(line(record(u[1], day: 3, hour: 4, flag: "D")) + line(record(u[1], day: 3, hour: 4)) + line(record(u[2], day: 31, hour: 1))
        + line(record(u[2], day: 4, hour: 24)) + line(record(u[3], day: 5, hour: 6), crc: false))
    seeds.append(line(record(u[4], day: 1, hour: 0), t: "2026-11-01T16:00:00Z") + line(record(u[5], day: 9, hour: 9), t: "2026-11-09T09:00:00.5-05:30")
        + "{\"t\":\"2026-11-03T00:00:00.000+08:00\",\"dir\":\"down\",\"frame\":\"##0000\"}\nnot json\n{\"dir\":\"up\"}\n")
    if let parts = try? PacketSplitter.split(record(u[0], day: 7, hour: 7, extra: 40)) {
        seeds.append(parts.map { line($0) }.joined())
        seeds.append(parts.dropFirst().map { line($0) }.joined())
    }
    var other = record(u[0], day: 8, hour: 8)
    other.setHeader("MN", "99999999999999")
    seeds.append(line(other) + line(record(u[0], day: 8, hour: 8, dataTime: "20261108080000")))
    // A manifest (mixed-demo's first rows, with the roster columns and a HJ/T 212-2005 MN), then a trace.
    let header = "enterprise,county,category,pollutants,voc,mn,pw,unit,platforms,assessed,reason,installed_since\n"
    var rows = ""
    for (i, unit) in u.prefix(3).enumerated() {
        let mn = i == 2 ? "LD130133000015" : unit.identity.mn
        rows += "\"E\(i), 有限公司\",C\(i % 2),化工,\(unit.pollutants.joined(separator: "|")),否,\(mn),\(unit.identity.pw),\(unit.unit),city:7002,"
            + ["是,,", "否,停产,", "是,,2026-11-02"][i] + "\n"
    }
    // A frame that is not UTF-8 (GBK text in a vendor field): its bytes in frame_hex.
    var gbk = Array(record(u[1], day: 6, hour: 6).serialized().utf8)
    gbk.insert(contentsOf: Array(";Info=".utf8) + [0xD6, 0xD0, 0xCE, 0xC4], at: gbk.count - 2)
    var gbkLine = "{\"t\":\"2026-11-06T07:00:00.000+08:00\",\"dir\":\"up\",\"peer\":\"127.0.0.1:40000\""
    TraceFrameBytes.write(FrameEncoder.frame(segmentBytes: gbk).dropLast(2), to: &gbkLine)
    seeds.append(gbkLine + "}\n" + line(record(u[1], day: 6, hour: 7)))
    let withManifest = Array((header + rows).utf8) + [0xFF] + Array((0..<4).map { line(record(u[$0 % 2], day: 2, hour: $0)) }.joined().utf8)
    for (i, s) in (seeds.map { Array($0.utf8) } + [withManifest]).enumerated() {
        _ = FileManager.default.createFile(atPath: "\(dir)/seed-\(i)", contents: Data(s))
    }
    exit(0)
}
