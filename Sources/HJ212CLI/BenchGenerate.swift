import Foundation
import Glibc
import HJ212
import HJSimulation

/// `hj212 bench generate`: what `generate` does for a fleet (no faults), without the file: the
/// packets written as bytes and framed per block (one thread, then --threads), beside the path
/// it replaced (a `DataSegment` per packet, framed one by one) and beside copying the same
/// bytes alone, all measured in the same run. Every row must give the same bytes (checked).
struct BenchGenerate: CLICommand {
    static let name = "generate"
    static let abstract = "Fleet generation (the sample city) on one and several threads against the DataSegment path it replaced, in the same run."
    static let fleet = Option("fleet", "NAME", help: "Fleet manifest or built-in fleet (default sample-city).", parse: Parse.text)
    static let duration = Option("duration", "D", help: "Simulated time per round (default 2h).", parse: Parse.duration(60_000...86_400_000))
    static let rounds = Option("rounds", "N", help: "Rounds per row; the best is reported (default 3).", parse: Parse.count)
    static let threads = BenchOptions.threads.help("Threads of the last row (default 2).")
    static let options: [any OptionDeclaration] = [fleet, duration, rounds, threads]

    var fleetName: String
    var duration: Int64
    var rounds: Int
    var threads: Int

    init(_ a: ParsedArguments) throws(UsageError) {
        fleetName = a[Self.fleet] ?? "sample-city"
        duration = a[Self.duration] ?? 7_200_000
        rounds = a[Self.rounds] ?? 3
        threads = a[Self.threads] ?? 2
    }

    /// What a row made: packets, bytes, and a digest of the bytes in order (to compare rows).
    struct Made: Equatable {
        var packets = 0
        var bytes = 0
        var digest: UInt64 = 0xCBF2_9CE4_8422_2325

        /// Folds a block of output in (its CRC-16 and length: cheap, and order-sensitive across blocks).
        mutating func add(_ block: [UInt8], packets n: Int) {
            packets += n
            bytes += block.count
            digest = (digest ^ UInt64(CRC.hj212(block)) ^ UInt64(block.count) << 16) &* 0x100_0000_01B3
        }
    }

    func run(_ io: CommandIO) -> Int32 {
        #if DEBUG
        io.stderr.line("hj212 bench: warning: this is a debug build; figures mean little. Use 'swift run -c release hj212 bench generate'.")
        #endif
        let start = SimClock.parseStart("2026-11-30")!
        let end = start + duration
        // Each round runs a copy of these (values: a copy starts where they stand, at the start).
        let fleet: Fleet
        let segments: FleetGenerator, bytesOnly: FleetGenerator
        do {
            fleet = try Fleet.load(fleetName)
            var options = SimulationOptions()
            segments = try FleetGenerator(fleet: fleet, seed: 1, start: start, options: options)
            options.bytesOnly = true
            bytesOnly = try FleetGenerator(fleet: fleet, seed: 1, start: start, options: options)
        } catch {
            io.stderr.line("hj212 bench generate: \(TerminalText.safe("\(error)"))")
            return 2
        }
        func generator(bytesOnly only: Bool) -> FleetGenerator { only ? bytesOnly : segments }
        /// The output buffer of `generate` (1 MiB, then written: here, emptied).
        var sink: [UInt8] = []
        sink.reserveCapacity(1 << 21)
        var made = Made()
        func emit(_ frames: [UInt8], packets: Int) {
            made.add(frames, packets: packets)
            sink += frames
            if sink.count >= 1 << 20 { sink.removeAll(keepingCapacity: true) }
        }

        // The path before: a DataSegment per packet, each framed into its own array.
        func reference() {
            var g = generator(bytesOnly: false)
            var block: [UInt8] = []
            var n = 0
            g.run(until: end, shouldContinue: { _ in
                emit(block, packets: n)
                block.removeAll(keepingCapacity: true)
                n = 0
                return !Interrupts.requested
            }) { _, p in
                block += FrameEncoder.frame(segmentBytes: p.bytes)
                n += 1
            }
        }
        func bytes(_ threads: Int) {
            var g = generator(bytesOnly: true)
            g.runFrames(until: end, threads: threads, shouldContinue: { _ in !Interrupts.requested }) { emit($0.bytes, packets: $0.packets.count) }
        }
        // Copying the same frames alone (made once, before): the floor under any generation.
        var blocks: [(bytes: [UInt8], packets: Int)] = []
        do {
            var g = generator(bytesOnly: true)
            g.runFrames(until: end) { blocks.append(($0.bytes, $0.packets.count)) }
        }
        func copyOnly() { for b in blocks { emit(b.bytes, packets: b.packets) } }

        io.stdout.line("hj212 bench generate: \(fleetName) (\(fleet.units.count) units), \(SimClock.durationText(duration)) of virtual time, best of \(rounds) rounds")
        io.stdout.line("path".padding(toLength: 34, withPad: " ", startingAt: 0) + "wall s".leftPad(8) + "CPU s".leftPad(8) + "packets/s".leftPad(11)
                       + "MB/s".leftPad(7) + "wall vs before".leftPad(16) + "CPU vs before".leftPad(15))
        var before: (wall: Double, cpu: Double)?
        var expected: Made?
        func row(_ name: String, _ body: () -> Void) {
            var bestWall = Double.infinity, bestCPU = Double.infinity
            for _ in 0..<rounds where !Interrupts.requested {
                made = Made()
                let c0 = Self.cpuSeconds(), t0 = monotonicSeconds()
                body()
                let wall = monotonicSeconds() - t0, cpu = Self.cpuSeconds() - c0
                if wall < bestWall { bestWall = wall; bestCPU = cpu }
            }
            if Interrupts.requested { return }
            let ratio = before.map { String(format: "%.2fx", $0.wall / bestWall) } ?? "1.00x"
            let cpuRatio = before.map { String(format: "%.2fx", $0.cpu / bestCPU) } ?? "1.00x"
            var line = name.padding(toLength: 34, withPad: " ", startingAt: 0) + String(format: "%.2f", bestWall).leftPad(8) + String(format: "%.2f", bestCPU).leftPad(8)
                + format(Double(made.packets) / bestWall).leftPad(11) + String(format: "%.0f", Double(made.bytes) / 1e6 / bestWall).leftPad(7) + ratio.leftPad(16) + cpuRatio.leftPad(15)
            if let expected, expected != made { line += "  (output differs: \(made.bytes) bytes vs \(expected.bytes))" }
            io.stdout.line(line)
            io.stdout.flush()
            if before == nil { before = (bestWall, bestCPU); expected = made }
        }
        row("before: DataSegment per packet", reference)
        row("bytes, 1 thread", { bytes(1) })
        if threads > 1 { row("bytes, \(threads) threads", { bytes(threads) }) }
        row("copy of the same frames only", copyOnly)
        io.stdout.line("(\(made.packets) packets, \(made.bytes) bytes per round; ratios: time before / time of the row. CPU counts every")
        io.stdout.line(" thread: with --threads it shows the cost, the wall time the gain; on a loaded machine trust CPU for one thread.)")
        return Interrupts.requested ? Interrupts.exitStatus : 0
    }

    func format(_ v: Double) -> String {
        v >= 1e6 ? String(format: "%.2fM", v / 1e6) : v >= 1e3 ? String(format: "%.1fk", v / 1e3) : String(format: "%.0f", v)
    }

    /// User + system CPU time of this process (all threads).
    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }
}
