import Foundation
import HJ212
import HJStore
import HJAnalysis

/// What `report` and the console share: unit profiles from fleets, trace reading, CSV export.
enum AnalysisGlue {
    /// MN → unit profile from one fleet (a name or a file), or from every built-in fleet.
    static func profiles(fleet: String?, store: ProfileStore) throws -> [String: UnitProfile] {
        var names: [String] = []
        if let fleet { names = [fleet] } else {
            names = ProfileStore.builtinPaths.filter { $0.hasPrefix("fleets/") && $0.hasSuffix(".csv") }.map { String($0.dropFirst(7).dropLast(4)) }
        }
        var out: [String: UnitProfile] = [:]
        for name in names {
            let text: String
            if let builtin = try store.text("fleets/\(name).csv") {
                text = builtin
            } else if let data = FileManager.default.contents(atPath: name) {
                text = String(decoding: data, as: UTF8.self)
            } else {
                throw ProfileError(file: name, line: nil, message: "not a built-in fleet and not a readable file")
            }
            out.merge(try UnitProfile.fleet(csv: text, file: name, store: store)) { a, _ in a }
        }
        return out
    }

    /// Fault ID → (zh, en) for pages.
    static func faultNames(store: ProfileStore) -> [String: (String, String)] {
        guard let text = try? store.text("faults/catalogue.json"), let root = try? JSONValue.parse(text), case .array(let list)? = root["faults"] else { return [:] }
        var out: [String: (String, String)] = [:]
        for f in list {
            if case .string(let id)? = f["id"], case .string(let zh)? = f["zh"], case .string(let en)? = f["en"] { out[id] = (zh, en) }
        }
        return out
    }

    /// What reading a trace passed over: lines that are not an uplink trace record (not JSON, no
    /// readable `t`, no frame, cut short …) and down-direction lines (fine to skip, counted apart).
    struct TraceReadCounts: Sendable, Equatable {
        var unreadable = 0
        var down = 0
        /// Frames of a raw byte stream cut short (an incomplete tail).
        var cutFrames = 0
    }

    /// Reads a JSON Lines trace (uplink frames with their arrival time) or a raw byte stream
    /// (arrival = DataTime), handing out each data segment. `body` returns false to stop.
    /// Returns what was passed over (blank lines are not counted).
    @discardableResult
    static func readTrace(_ input: inout InputFile, _ body: (DataSegment, Int64) -> Bool) throws(UsageError) -> TraceReadCounts {
        var pending: [UInt8] = []
        var decided: Bool?
        var decoder = FrameDecoder()
        var counts = TraceReadCounts()
        func raw(_ frame: RawFrame) -> Bool {
            let segment = SegmentParser.parse(frame.segmentBytes).segment
            let time = segment.cpValue("DataTime").flatMap { HJTime($0) }.map(\.wallMilliseconds) ?? 0
            return body(segment, time)
        }
        func rawEvents(_ events: [FrameDecoder.Event]) -> Bool {
            for event in events {
                switch event {
                case .frame(let frame): if !raw(frame) { return false }
                case .incomplete: counts.cutFrames += 1
                case .skipped: break
                }
            }
            return true
        }
        func line(_ bytes: ArraySlice<UInt8>) -> Bool {
            guard bytes.contains(where: { $0 != 0x20 && $0 != 0x0D && $0 != 0x09 }) else { return true }
            guard bytes.first == UInt8(ascii: "{"), let v = try? JSONValue.parse(String(decoding: bytes, as: UTF8.self)) else { counts.unreadable += 1; return true }
            guard case .string(let dir)? = v["dir"], dir == "up" || dir == "down" else { counts.unreadable += 1; return true }
            if dir == "down" { counts.down += 1; return true }
            guard case .string(let t)? = v["t"], let time = Injection.isoTime(t), let f = TraceFrameBytes.frame(v) else { counts.unreadable += 1; return true }
            guard f.count >= 10, f[0] == UInt8(ascii: "#"), f[1] == UInt8(ascii: "#") else { counts.unreadable += 1; return true }
            var end = f.count
            if end >= 2, f[end - 1] == 0x0A { end -= 2 }
            guard end - 4 > 6 else { counts.unreadable += 1; return true }
            return body(SegmentParser.parse(f[6..<(end - 4)]).segment, time)
        }
        while true {
            let chunk = try input.read(capacity: 1 << 20)
            if chunk.isEmpty { break }
            if decided == nil, let first = chunk.first(where: { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }) {
                decided = first == UInt8(ascii: "{")
            }
            if decided == false {
                decoder.feed(chunk)
                var events: [FrameDecoder.Event] = []
                while let event = decoder.next() { events.append(event) }
                if !rawEvents(events) { return counts }
                continue
            }
            pending += chunk
            var start = 0
            while let nl = pending[start...].firstIndex(of: 0x0A) {
                if !line(pending[start..<nl]) { return counts }
                start = nl + 1
            }
            pending.removeFirst(start)
            if pending.count > 64 << 20 { throw UsageError("'\(input.name)': a line longer than 64 MB", exitCode: 2) }
        }
        if decided == false {
            _ = rawEvents(decoder.finish())
        } else if !pending.isEmpty {
            _ = line(pending[...])
        }
        return counts
    }

    /// The series as CSV for spreadsheets: UTF-8 with BOM, one row per value.
    static func csv(_ run: TraceAnalysis) -> [UInt8] {
        var out: [UInt8] = [0xEF, 0xBB, 0xBF]
        out += Array("unit 监控点,factor 因子,kind 类型,DataTime 数据时间,value 数值,flag 标记\r\n".utf8)
        for key in run.series.keys.sorted() {
            for p in run.series[key]! {
                let flag = (p.flag ?? "").filter { $0.isLetter || $0.isNumber }
                out += Array("\(key.mn.filter { $0.isLetter || $0.isNumber }),\(key.factor.filter { $0.isLetter || $0.isNumber }),\(key.kind.rawValue),\(HJTime(wallMilliseconds: p.time).description),\(p.value),\(flag)\r\n".utf8)
            }
        }
        return out
    }
}
