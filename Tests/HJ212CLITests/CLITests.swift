import Foundation
import HJ212
import Testing
@testable import HJ212CLI
import TestSupport

let v1Segment = "QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&"
let v1Frame = "##0101" + v1Segment + "1C80"

@Suite("Command line")
struct CLITests {
    @Test("crc prints the HJ 212 CRC; with --all the MODBUS forms; a whole frame is checked")
    func crc() {
        #expect(hj212(["crc", v1Segment]).out == "1C80\n")
        #expect(hj212(["crc", "123456789"]).out == "2F80\n")
        let all = hj212(["crc", "--all", "123456789"]).out
        #expect(all.contains("modbus          4B37") && all.contains("modbus-swapped  374B"))
        let checked = hj212(["crc", v1Frame])
        #expect(checked.status == 0 && checked.out.contains("ok"))
        let wrong = hj212(["crc", "##0101" + v1Segment + "1C81"])
        #expect(wrong.status == 1 && wrong.out.contains("WRONG"))
        #expect(hj212(["crc"]).status == 2)
    }

    @Test("frame wraps segments from arguments and from standard input")
    func frame() {
        #expect(hj212(["frame", v1Segment]).out == v1Frame + "\r\n")
        #expect(hj212(["frame", "-"], stdin: Array((v1Segment + "\n" + v1Segment + "\n").utf8)).out == v1Frame + "\r\n" + v1Frame + "\r\n")
        let lower = hj212(["frame", "--crc", "modbus-swapped", "--no-crlf", v1Segment]).out
        #expect(lower.hasPrefix("##0101") && !lower.hasSuffix("1C80\n"))
        #expect(hj212(["frame", "--crc", "nonsense", v1Segment]).status == 2)
    }

    @Test("frame --split cuts a long record into packets that lint clean and reassemble")
    func frameSplit() throws {
        var groups = ["DataTime=20160801080000"]
        for i in 0..<40 { groups.append("w010\(10 + i)-Cou=63.0,w010\(10 + i)-Min=16.4,w010\(10 + i)-Avg=17.5,w010\(10 + i)-Max=20.1,w010\(10 + i)-Flag=N") }
        let long = "QN=20160801085857534;ST=32;CN=2061;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&" + groups.joined(separator: ";") + "&&"
        let result = hj212(["frame", "--split", long])
        #expect(result.status == 0)
        let lines = result.out.split(separator: "\r\n")
        #expect(lines.count >= 3)
        let lint = hj212(["lint", "--strict", "--format", "json", "-"], stdin: Array(result.out.utf8))
        let reports = try lint.out.split(separator: "\n").map { try JSONValue.parse(String($0)) }
        #expect(reports.count == lines.count)
        for json in reports {
            // The synthetic codes are not in Appendix B (a warning); nothing about the split is wrong.
            guard case .array(let ds)? = json["diagnostics"] else { Issue.record("no diagnostics"); continue }
            #expect(ds.allSatisfy { $0["severity"] == .string("warning") && ($0["rule"] == .string("code.factor-unknown") || $0["rule"] == .string("value.number-width")) }, "\(ds)")
            #expect(json["header"]?["Flag"] == .string("7"))
        }
        var reassembler = Reassembler()
        var whole: DataSegment?
        for line in lines {
            #expect(line.utf8.count <= 1024 + 10)
            let seg = SegmentParser.parse(String(line.dropFirst(6).dropLast(4))).segment
            if case .complete(let s) = reassembler.add(seg) { whole = s }
        }
        #expect(whole?.cp == SegmentParser.parse(long).segment.cp)
    }

    @Test("lint: clean input exits 0 with a summary")
    func lintClean() throws {
        let path = try temporaryFile(Array((v1Frame + "\r\n" + v1Frame + "\r\n").utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = hj212(["lint", path])
        #expect(r.status == 0)
        #expect(r.out.contains("2 frames, 2 clean; 0 errors, 0 warnings"))
    }

    @Test("lint: errors exit 1; warnings exit 0, or 1 with --strict")
    func lintStatus() {
        let bad = Array(("##0101" + v1Segment + "1C81\r\n").utf8)
        #expect(hj212(["lint", "-"], stdin: bad).status == 1)
        let lower = Array(("##0101" + v1Segment + "1c80\r\n").utf8)
        #expect(hj212(["lint"], stdin: lower).status == 0)
        #expect(hj212(["lint", "--strict"], stdin: lower).status == 1)
    }

    @Test("lint: an unreadable file or a bad option exits 2 with the reason")
    func lintUsage() {
        let missing = hj212(["lint", "/nonexistent/capture.txt"])
        #expect(missing.status == 2)
        #expect(missing.err.contains("cannot read '/nonexistent/capture.txt': No such file or directory"))
        let dir = hj212(["lint", "/tmp"])
        #expect(dir.status == 2 && dir.err.contains("directory"))
        let option = hj212(["lint", "--dialekt", "2017"])
        #expect(option.status == 2 && option.err.contains("unknown option '--dialekt'"))
        let choice = hj212(["lint", "--dialect", "2019"])
        #expect(choice.status == 2 && choice.err.contains("not one of"))
        #expect(hj212(["nonsense"]).status == 2)
        #expect(hj212([]).status == 2)
    }

    @Test("lint --format json gives the contract's fields for frames, skipped bytes and tails")
    func lintJSON() throws {
        let bytes = Array(("noise" + v1Frame + "\r\n##0101QN=2016").utf8)
        let r = hj212(["lint", "--format", "json"], stdin: bytes)
        let objects = try r.out.split(separator: "\n").map { try JSONValue.parse(String($0)) }
        #expect(objects.map { $0["type"] } == [.string("skipped"), .string("frame"), .string("incomplete")])
        let frame = objects[1]
        #expect(frame["index"] == .int(0))
        #expect(frame["offset"] == .int(5))
        #expect(frame["dialect"] == .string("2017"))
        #expect(frame["crc"]?["declared"] == .string("1C80"))
        #expect(frame["crc"]?["computed"] == .string("1C80"))
        #expect(frame["crc"]?["ok"] == .bool(true))
        #expect(frame["crc"]?["variant"] == .null)
        #expect(frame["header"]?["MN"] == .string("010000A8900016F000169DC0"))
        #expect(frame["cp"] == .array([.array([.array([.string("RtdInterval"), .string("30")])])]))
        #expect(frame["diagnostics"] == .array([]))
        #expect(objects[0]["offset"] == .int(0) && objects[0]["length"] == .int(5))
        #expect(objects[2]["offset"] == .int(5 + v1Frame.count + 2))
        // A variant CRC is reported as such.
        let seg = Array(v1Segment.utf8)
        let swapped = FrameEncoder.frame(segmentBytes: seg, crcStyle: .modbusSwapped)
        let v = try JSONValue.parse(String(hj212(["lint", "--format", "json"], stdin: swapped).out.split(separator: "\n")[0]))
        #expect(v["crc"]?["variant"] == .string("modbus-swapped"))
        #expect(v["crc"]?["ok"] == .bool(false))
    }

    @Test("lint reads several files and the shared vectors give their stated verdicts")
    func lintVectors() throws {
        let dir = ProcessInfo.processInfo.environment["HJ212_VECTORS"] ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/vectors").path
        let noisy = hj212(["lint", "--format", "json", dir + "/stream-with-noise.txt"])
        let types = try noisy.out.split(separator: "\n").map { try JSONValue.parse(String($0))["type"] }
        #expect(types.filter { $0 == .string("frame") }.count == 4)
        #expect(types.filter { $0 == .string("incomplete") }.count == 1)
        #expect(noisy.status == 0)
    }

    @Test("lint: raw frames after a trace line, or under a JSON header line, are judged, not skipped as noise")
    func mixedInput() {
        let good = "QN=20160801085857223;ST=32;CN=2011;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&DataTime=20160801085857;w01018-Rtd=50.1,w01018-Flag=N&&"
        var bad = FrameEncoder.frame(good)
        bad.replaceSubrange((bad.count - 6)..<(bad.count - 2), with: Array("0000".utf8))
        let traceLine = "{\"t\":\"2016-08-01T08:58:57.000+08:00\",\"dir\":\"up\",\"frame\":\"\(String(decoding: FrameEncoder.frame(good, trailer: false), as: UTF8.self))\"}\n"
        let mixed = hj212(["lint"], stdin: Array(traceLine.utf8) + bad)
        #expect(mixed.status == 1 && mixed.out.contains("frame.crc-mismatch"), "\(mixed.out)\(mixed.err)")
        let header = hj212(["lint"], stdin: Array("{\"capture\":\"site 3\"}\n".utf8) + FrameEncoder.frame(good) + FrameEncoder.frame(good))
        #expect(header.status == 0 && header.out.contains("2 frames"), "\(header.out)\(header.err)")
    }

    @Test("decode explains fields with Chinese and English names and units")
    func decode() {
        let a14 = "##0218QN=20160801085857223;ST=32;CN=2011;PW=123456;MN=010000A8900016F000169DC0;Flag=5;CP=&&DataTime=20160801085857;w01001-Rtd=7.1,w01001-Flag=N;w01018-SampleTime=20160801070000,w01018-Rtd=2.2,w01018-Flag=N,w01018-EFlag=A01&&6E80\r\n"
        let r = hj212(["decode"], stdin: Array(a14.utf8))
        #expect(r.status == 0)
        for text in ["化学需氧量", "COD", "mg/L", "地表水体环境污染源", "上传污染物实时数据", "2016-08-01 08:58:57", "HJ 212-2017", "answer required", "实时采样数据"] {
            #expect(r.out.contains(text), "missing '\(text)' in:\n\(r.out)")
        }
        // Nothing to explain is not a success (as lint): empty input, or no frame in it.
        for input in ["", "just some text\n"] {
            let n = hj212(["decode"], stdin: Array(input.utf8))
            #expect(n.status == 1 && n.err.contains("no frame found"), "\(n.status) \(n.err)")
        }
    }

    @Test("every command has help that names its options")
    func help() {
        for (command, option) in [("lint", "--strict"), ("decode", "--dialect"), ("frame", "--split"), ("crc", "--all"), ("bench", "--frames")] {
            let r = hj212([command, "--help"])
            #expect(r.status == 0)
            #expect(r.out.contains("USAGE: hj212 \(command)") && r.out.contains(option))
        }
        #expect(hj212(["--help"]).out.contains("lint"))
    }
}

@Suite("generate with faults")
struct GenerateFaultsTests {
    @Test("faults are written with their ground truth; a fault on an unknown factor is a usage error")
    func faults() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("hj212-gen-\(UUID().uuidString).raw").path
        defer { try? FileManager.default.removeItem(atPath: out); try? FileManager.default.removeItem(atPath: out + ".truth.jsonl") }
        let r = hj212(["generate", "--unit", "industrial-wastewater", "--start", "2026-11-30", "--duration", "1h", "-o", out,
                       "--faults", "no-crlf%20,flatline:w01018@2026-11-30T00:10/20m"])
        #expect(r.status == 0, "\(r.err)")
        let truth = try String(contentsOfFile: out + ".truth.jsonl", encoding: .utf8).split(separator: "\n")
        let records = try truth.map { try JSONValue.parse(String($0)) }
        #expect(records.contains { $0["fault"] == .string("flatline") && $0["factor"] == .string("w01018") })
        #expect(records.filter { $0["fault"] == .string("no-crlf") }.count > 5)
        let lint = hj212(["lint", "--format", "json", out])
        let missing = try lint.out.split(separator: "\n").map { try JSONValue.parse(String($0)) }
            .filter { if case .array(let ds)? = $0["diagnostics"] { return ds.contains { $0["rule"] == .string("frame.trailer-missing") } } else { return false } }
        #expect(missing.count == records.filter { $0["fault"] == .string("no-crlf") }.count)
        let bad = hj212(["generate", "--unit", "industrial-wastewater", "--start", "2026-11-30", "--duration", "1h", "-o", out, "--faults", "flatline:a21026"])
        #expect(bad.status == 2 && bad.err.contains("no logger has factor a21026"))
        let unknown = hj212(["generate", "--unit", "industrial-wastewater", "--start", "2026-11-30", "--duration", "1h", "-o", out, "--faults", "gremlins"])
        #expect(unknown.status == 2 && unknown.err.contains("unknown fault 'gremlins'"))
    }
}
