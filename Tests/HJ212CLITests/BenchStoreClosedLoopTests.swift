import CPingPong
import Foundation
import Glibc
import HJ212
import Testing
@testable import HJ212CLI

/// `bench store`'s closed loop: the C client sends every frame with a new QN and DataTime (a
/// resent QN is acknowledged without being stored, which would measure deduplication, not the
/// store), and the verdict is a ratio only when both runs measured the whole window on a quiet
/// machine and the store holds what was acknowledged.
@Suite("bench store: the C client's closed loop")
struct BenchStoreClosedLoopTests {
    typealias C = StoreClosedLoop

    func stamp(_ frame: [UInt8], _ seconds: Int64) -> (Int32, [UInt8]) {
        var out = frame
        let r = out.withUnsafeMutableBufferPointer { pp_client_stamp($0.baseAddress, $0.count, seconds) }
        return (r, out)
    }

    func fields(_ frame: [UInt8]) throws -> (qn: String, dataTime: String, crcOK: Bool) {
        var decoder = FrameDecoder()
        decoder.feed(frame)
        guard case .frame(let raw)? = decoder.next() else { throw CocoaError(.coderInvalidValue) }
        let segment = SegmentParser.parse(raw.segmentBytes).segment
        let qn = try #require(segment.qn)
        let dataTime = try #require(segment.cp?.joined().first { $0.name == "DataTime" }?.value)
        return (qn, dataTime, CRC.parseHex(raw.crcBytes) == CRC.hj212(raw.segmentBytes))
    }

    @Test("each stamp writes a new QN and DataTime, one second apart, with a valid CRC, across day and year ends")
    func stamps() throws {
        let frame = try C.frame(unit: "industrial-wastewater")
        let base = frame.withUnsafeBufferPointer { pp_client_base_time($0.baseAddress, $0.count) }
        let original = try fields(frame)
        var decoder = FrameDecoder()
        decoder.feed(frame)
        guard case .frame(let raw)? = decoder.next() else { Issue.record("not a frame"); return }
        #expect(SegmentParser.parse(raw.segmentBytes).segment.cn == "2011")
        // The pool's first 2011 (its QN is the client's 08:00 one; its DataTime is its own).
        #expect(original.dataTime.hasPrefix("20261130"))
        var day = Glibc.tm(tm_sec: 0, tm_min: 0, tm_hour: 0, tm_mday: 30, tm_mon: 10, tm_year: 126, tm_wday: 0, tm_yday: 0, tm_isdst: 0, tm_gmtoff: 0, tm_zone: nil)
        let midnight = Int64(timegm(&day))
        #expect(midnight == 1_795_996_800)
        // The DataTime read as UTC civil time: its digits, as seconds after that midnight.
        let digits = Array(original.dataTime.utf8).map { Int64($0) - 48 }
        #expect(base == midnight + (digits[8] * 10 + digits[9]) * 3600 + (digits[10] * 10 + digits[11]) * 60 + digits[12] * 10 + digits[13])
        var qns: Set<String> = []
        for k: Int64 in 0..<3 {
            let (r, out) = stamp(frame, base + k)
            #expect(r == 1)
            let f = try fields(out)
            #expect(f.crcOK)
            #expect(f.dataTime == String(original.dataTime.dropLast()) + String(Int(original.dataTime.suffix(1))! + Int(k)))
            #expect(f.qn == f.dataTime + "000")
            // Only the QN's and DataTime's digits and the CRC may differ from the frame.
            #expect(zip(out, frame).filter { $0 != $1 }.count <= 3 + 2 + 4)
            qns.insert(f.qn)
        }
        #expect(qns.count == 3)
        // 2026-12-31 23:59:59 + 1 s: the next year, in every digit.
        var tm = Glibc.tm(tm_sec: 59, tm_min: 59, tm_hour: 23, tm_mday: 31, tm_mon: 11, tm_year: 126, tm_wday: 0, tm_yday: 0, tm_isdst: 0, tm_gmtoff: 0, tm_zone: nil)
        let newYearsEve = Int64(timegm(&tm))
        let f = try fields(stamp(frame, newYearsEve + 1).1)
        #expect(f.dataTime == "20270101000000")
        #expect(f.qn == "20270101000000000")
        #expect(f.crcOK)
    }

    @Test("a frame without a 17-digit QN or a DataTime is not stamped and stays as it is")
    func unstampable() {
        let noDataTime = PingPongClientTests.framed(Array("QN=20261130080000000;ST=32;CN=2011;PW=123456;MN=0100AD000000000000000000;Flag=5;CP=&&w01018-Rtd=1&&".utf8))
        let shortQN = PingPongClientTests.framed(Array("QN=2026113008000000;ST=32;CN=2011;CP=&&DataTime=20261130080000&&".utf8))
        let letters = PingPongClientTests.framed(Array("QN=2026113008000000X;ST=32;CN=2011;CP=&&DataTime=20261130080000&&".utf8))
        for frame in [noDataTime, shortQN, letters, Array("##00".utf8), []] {
            let base = frame.withUnsafeBufferPointer { pp_client_base_time($0.baseAddress, $0.count) }
            #expect(base == -1)
            let (r, out) = stamp(frame, 1_800_000_000)
            #expect(r == 0)
            #expect(out == frame)
        }
        let good = PingPongClientTests.framed(Array("QN=20261130080000000;ST=32;CN=2011;CP=&&DataTime=20261130080000&&".utf8))
        #expect(stamp(good, -5).0 == 0)
    }

    func run(_ perSecond: Int, connected: Int = 100, others: Double? = 0.05, stored: Int? = nil) -> C.Run {
        C.Run(expected: 100, connected: connected, replies: perSecond * 5, seconds: 5, serveCPU: 4, otherCores: others, stored: stored)
    }

    @Test("the verdict: a ratio only from complete runs on a quiet machine with everything acknowledged stored")
    func verdict() {
        #expect(C.verdict(plain: run(40_000), stored: run(30_000, stored: 150_000)) == .met(0.75))
        #expect(C.verdict(plain: run(40_000), stored: run(12_000, stored: 60_000)) == .notMet(0.3))
        // A connection short in either run: no ratio.
        guard case .incomplete(let why) = C.verdict(plain: run(40_000, connected: 99), stored: run(30_000, stored: 150_000)) else { Issue.record("judged"); return }
        #expect(why == "serve: 99 of 100 connections established")
        // Neighbours took the machine: measured, not judged.
        guard case .notJudged(let crowded) = C.verdict(plain: run(40_000), stored: run(30_000, others: 0.9, stored: 150_000)) else { Issue.record("judged"); return }
        #expect(crowded.contains("0.90 cores during the serve --store run"))
        #expect(C.verdict(plain: run(40_000, others: nil), stored: run(30_000, stored: 150_000)).measured == false)
        // The store holds fewer packets than were acknowledged: the store lost acknowledged data,
        // whatever the machine did.
        let lost = C.verdict(plain: run(40_000), stored: run(30_000, others: 0.9, stored: 149_999))
        guard case .failed(let text) = lost else { Issue.record("not failed: \(lost)"); return }
        #expect(text == "the store holds 149999 packets, fewer than the 150000 acknowledged in the window")
        #expect(!lost.measured)
        #expect(C.verdict(plain: run(40_000), stored: run(30_000)).measured == false)  // store unreadable
        #expect(C.verdict(plain: run(0), stored: run(30_000, stored: 150_000)) == .incomplete("serve: nothing acknowledged in the window"))
    }

    @Test("live: the real binary against serve and serve --store stores every frame it acknowledged as a packet of its own")
    func live() throws {
        let tool = try RunningTool(["bench", "store", "--parts", "closed-loop", "--loggers", "50", "--seconds", "2"])
        tool.process.waitUntilExit()
        // The pipe's last bytes may reach the reader after the exit.
        tool.wait(timeout: 10) { out, _ in out.contains("target ≥ 0.70x, closed loop:") }
        let out = tool.stdout
        #expect(out.contains("closed loop, C client: 50 connections, one frame in flight each, a new QN and DataTime per frame"), "\(out)\n\(tool.stderr)")
        let storeLine = try #require(out.split(separator: "\n").first { $0.contains("serve --store") && $0.contains("packets stored") }, "\(out)")
        #expect(storeLine.contains("50 of 50 connected"))
        // "N acknowledged/s … M packets stored": M counts the warm-up too, so it exceeds the
        // window's acknowledgements; with one QN per connection it would be 50.
        let rate = try #require(Int(storeLine.split(separator: " ").first { Int($0) != nil } ?? ""))
        let stored = try #require(storeLine.firstMatch(of: /; ([0-9]+) packets stored/).flatMap { Int($0.1) })
        #expect(rate > 0)
        #expect(stored >= rate * 2, "\(storeLine)")
        #expect(stored > 50)
        let verdict = try #require(out.split(separator: "\n").last { $0.contains("target ≥ 0.70x, closed loop:") })
        #expect(!verdict.contains("FAILED") && !verdict.contains("incomplete"), "\(verdict)")
        #expect(tool.process.terminationStatus == 0)
    }
}
