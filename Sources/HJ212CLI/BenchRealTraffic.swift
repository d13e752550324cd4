import Glibc
import CPingPong
import HJ212
import HJSimulation

/// A generated stand-in for real field traffic, as platforms log it: mostly HJ/T 212-2005 packets
/// (no QN or Flag, 14-character MNs, the old 3-character codes `011`, `060`, `B01`, `S01`,
/// milliseconds in DataTime), some 2017 packets with vendor codes, over-wide numbers and lower-case
/// CRCs: several diagnostics per frame, as in the 2016 field capture of issue 17 (≈ 250 bytes per
/// frame). Deterministic.
struct RealTrafficCorpus {
    var wire: [UInt8] = []
    var frames = 0

    init(count: Int) {
        var rng = SimRandom(seed: 0x2545_F491_4F6C_DD1D)
        func next() -> UInt64 { rng.next() }
        func value(_ base: Double, _ decimals: Int) -> String {
            var v = base * (0.7 + Double(next() % 600) / 1000)
            if next() % 50 == 0 { v = -v }
            var text = String(Int(v.rounded(.towardZero)))
            if v < 0 && !text.hasPrefix("-") { text = "-" + text }
            guard decimals > 0 else { return text }
            var frac = abs(v) - Double(Int(abs(v)))
            text += "."
            for _ in 0..<decimals {
                frac *= 10
                let digit = min(9, Int(frac))
                text += String(digit)
                frac -= Double(digit)
            }
            return text
        }
        let mns = (0..<40).map { i in "LD1301330" + String(10000 + i * 37) }
        for i in 0..<count {
            let mn = mns[i % mns.count]
            let second = i / mns.count
            let time = "20160824" + pad(second / 3600 % 24) + pad(second / 60 % 60) + pad(second % 60)
            var text: String
            switch i % 10 {
            case 0, 1, 2:
                text = "ST=32;CN=2011;PW=123456;MN=\(mn);CP=&&DataTime=\(time)000;B01-Rtd=\(value(36, 2));011-Rtd=\(value(230, 1)),011-Flag=N;060-Rtd=\(value(1.8, 3)),060-Flag=N;001-Rtd=\(value(7.2, 2)),001-Flag=N;101-Rtd=\(value(0.3, 3)),101-Flag=N"
            case 3, 4:
                text = "ST=31;CN=2011;PW=123456;MN=\(mn);CP=&&DataTime=\(time)000;01-Rtd=\(value(12, 2)),01-Flag=N;02-Rtd=\(value(40, 2)),02-Flag=N;03-Rtd=\(value(80, 2)),03-Flag=N;S01-Rtd=\(value(9, 2)),S01-Flag=N;S02-Rtd=\(value(11, 2));S03-Rtd=\(value(120, 1));B02-Rtd=\(value(52000, 1))"
            case 5:
                text = "ST=32;CN=2051;PW=123456;MN=\(mn);CP=&&DataTime=\(time.prefix(12))00;060-Cou=\(value(0.017, 4)),060-Min=\(value(3, 4)),060-Avg=\(value(3.1, 4)),060-Max=\(value(3.2, 4));011-Cou=\(value(0.1, 4)),011-Min=\(value(18, 4)),011-Avg=\(value(18, 4)),011-Max=\(value(19, 4));B01-Cou=\(value(5.6, 4)),B01-Min=0.0000,B01-Avg=\(value(9.3, 4)),B01-Max=\(value(23, 4))"
            case 6:
                text = "ST=32;CN=2061;PW=123456;MN=\(mn);CP=&&DataTime=\(time.prefix(10))0000;011-Cou=\(value(2.4, 4)),011-Min=\(value(17, 3)),011-Avg=\(value(18, 3)),011-Max=\(value(19, 3));060-Cou=\(value(0.4, 4)),060-Min=\(value(3, 3)),060-Avg=\(value(3.1, 3)),060-Max=\(value(3.2, 3));B01-Cou=\(value(130, 2))"
            case 7:
                // 2017 packets from a newer logger on the same platform: vendor codes, wide numbers.
                text = "QN=\(time)\(pad3(i % 1000));ST=32;CN=2011;PW=123456;MN=\(mn)0000000000;Flag=5;CP=&&DataTime=\(time);w01018-Rtd=\(value(40, 3)),w01018-Flag=N;w21003-Rtd=\(value(3, 4)),w21003-Flag=N;w99001-Rtd=\(value(5, 2)),w99001-Flag=N;w00000-Rtd=\(value(17, 3)),w00000-Flag=N"
            case 8:
                text = "ST=32;CN=2072;PW=123456;MN=\(mn);CP=&&AlarmTime=\(time);B01-Ala=\(value(16, 2)),AlarmType=1"
            default:
                text = "ST=31;CN=2051;PW=123456;MN=\(mn);CP=&&DataTime=\(time.prefix(12))00;01-Min=\(value(10, 3)),01-Avg=\(value(12, 3)),01-Max=\(value(14, 3)),01-Cou=\(value(0.5, 4));02-Min=\(value(35, 3)),02-Avg=\(value(40, 3)),02-Max=\(value(45, 3)),02-Cou=\(value(1.9, 4));S01-Avg=\(value(9, 2));S03-Avg=\(value(120, 1))"
            }
            let segment = Array((text + "&&").utf8)
            let style: FrameEncoder.CRCStyle = i % 23 == 0 ? .lowercase : .standard
            wire += FrameEncoder.frame(segmentBytes: segment, crcStyle: style)
            frames += 1
        }
    }

    private func pad(_ v: Int) -> String { v < 10 ? "0\(v)" : String(v) }
    private func pad3(_ v: Int) -> String { v < 10 ? "00\(v)" : v < 100 ? "0\(v)" : String(v) }
}

/// The C floor for reading a capture: frames found and CRCs checked (`Sources/CPingPong/CScan.c`).
func cScanFrames(_ wire: [UInt8]) -> (frames: Int, crcOK: Int) {
    var ok: UInt64 = 0
    let n = wire.withUnsafeBufferPointer { cscan_frames($0.baseAddress, $0.count, &ok) }
    return (Int(n), Int(ok))
}

extension BenchCommand {
    /// The best time of `rounds` runs of `body` (and what the last run returned, to compare results).
    static func bestOf(_ rounds: Int, _ body: () -> Int) -> (seconds: Double, check: Int) {
        var bestTime = Double.infinity
        var check = 0
        for _ in 0..<rounds {
            let t0 = monotonicSeconds()
            check = body()
            bestTime = min(bestTime, monotonicSeconds() - t0)
            if Interrupts.requested { break }
        }
        return (bestTime, check)
    }

    /// The real-traffic rows of `bench codec` (issue 17): `lint` as a user runs it, on the 2005-style
    /// stand-in, quiet, as text and as JSON, each beside the C frame + CRC scan of the same bytes.
    func realTrafficRows(io: CommandIO, wanted: (String) -> Bool) {
        guard ["real", "real: C scan", "real: lint --quiet", "real: lint text", "real: lint --format json"].contains(where: wanted) else { return }
        let corpus = RealTrafficCorpus(count: frames)
        let wire = corpus.wire
        let mb = Double(wire.count) / 1e6
        // For profiling `hj212 lint` itself on the same bytes (perf, callgrind).
        if let path = getenv("HJ212_BENCH_CORPUS_OUT").map({ String(cString: $0) }), let file = fopen(path, "w") {
            _ = wire.withUnsafeBufferPointer { fwrite($0.baseAddress, 1, $0.count, file) }
            fclose(file)
        }
        io.stdout.line("real-traffic stand-in: \(corpus.frames) frames, \(wire.count) bytes (2005 dialect, old codes, several diagnostics per frame)")
        func best(_ body: () -> Int) -> (seconds: Double, check: Int) { Self.bestOf(rounds, body) }
        let scan = best { cScanFrames(wire).frames }
        let scanFPS = Double(corpus.frames) / scan.seconds
        io.stdout.line("real: C scan".padding(toLength: 24, withPad: " ", startingAt: 0) + format(scanFPS).leftPad(13)
                       + String(format: "%.0f", mb / scan.seconds).leftPad(9) + "  (\(scan.check) frames found)")
        let null = open("/dev/null", O_WRONLY)
        defer { close(null) }
        for (name, arguments) in [("real: lint --quiet", ["--quiet"]), ("real: lint text", []), ("real: lint --format json", ["--format", "json"])] {
            guard wanted(name) else { continue }
            var outBytes = 0
            let run = best {
                let sink = OutputSink(fd: null)
                let io = CommandIO(stdout: sink, stderr: OutputSink(fd: null), stdinBytes: wire)
                _ = CommandLineTool.run(["lint", "-"] + arguments, io: io)
                sink.flush()
                outBytes = sink.written
                return corpus.frames
            }
            let fps = Double(corpus.frames) / run.seconds
            io.stdout.line(name.padding(toLength: 24, withPad: " ", startingAt: 0) + format(fps).leftPad(13)
                           + String(format: "%.0f", mb / run.seconds).leftPad(9) + format(scanFPS).leftPad(19)
                           + String(format: "%.1fx slower", scanFPS / fps).leftPad(14)
                           + "  (\(outBytes / 1_000_000) MB out, \(String(format: "%.0f", Double(outBytes) / 1e6 / run.seconds)) MB/s)")
            io.stdout.flush()
        }
    }
}
