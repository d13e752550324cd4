import Glibc
import HJ212
import HJNetwork
import HJRoles
import HJSimulation
import HJLive

/// `hj212 bench memory`: what one idle emulated logger costs, part by part, without the network
/// (the unit simulator, the device with its history, the session after its boot packets were
/// acknowledged). `bench live` adds the connection and measures the whole.
struct MemoryBenchmark {
    var loggers: Int
    var unit: String

    func run(_ io: CommandIO) -> Int32 {
        let template: UnitTemplate
        do { template = try UnitTemplate.load(unit) } catch {
            io.stderr.line("hj212 bench memory: \(error)")
            return 2
        }
        let start = LiveClock.wallNow(offsetMinutes: SimClock.chinaOffsetMinutes)
        func rss() -> Int {
            ProcessSetup.releaseFreeMemory()
            return LiveBenchmark.residentKiB()
        }
        let r0 = rss()
        var simulators: [UnitSimulator] = []
        simulators.reserveCapacity(loggers)
        for i in 0..<loggers {
            let hex = String(i, radix: 16, uppercase: true)
            let mn = "0100BE00000000" + String(repeating: "0", count: 10 - hex.count) + hex
            guard let sim = try? UnitSimulator(template: template, identity: LoggerIdentity(mn: mn, pw: "123456"), seed: UInt64(i), start: start) else { continue }
            simulators.append(sim)
        }
        let r1 = rss()
        var devices: [LoggerDevice] = simulators.map { LoggerDevice(simulator: $0) }
        simulators = []
        let r2 = rss()
        var sessions: [LoggerSession] = devices.map { LoggerSession(device: $0) }
        var sent = 0
        for i in sessions.indices {
            // Boot, then a minute of real-time cadence, every upload acknowledged.
            var actions = sessions[i].connected(at: start)
            for s in stride(from: Int64(0), through: 60_000, by: 10_000) {
                devices[i].advance(to: start + s)
                actions += sessions[i].tick(at: start + s)
                var acks: [UInt8] = []
                var decoder = FrameDecoder()
                for case .send(let bytes, _) in actions {
                    decoder.feed(bytes)
                    while let event = decoder.next() {
                        guard case .frame(let frame) = event else { continue }
                        sent += 1
                        let segment = SegmentParser.parse(frame.segmentBytes).segment
                        guard segment.flag?.needsAck == true else { continue }
                        acks += FrameEncoder.frame(replySegment(cn: CommandCode.dataReply.rawValue, to: segment, cp: []))
                    }
                }
                actions = acks.isEmpty ? [] : sessions[i].received(acks, at: start + s)
            }
        }
        let r3 = rss()
        let pending = sessions.reduce(0) { $0 + $1.pendingCount }
        let n = Double(max(1, devices.count))
        func kib(_ d: Int) -> String { String(format: "%.2f", Double(d) / n) }
        io.stdout.line("hj212 bench memory: \(devices.count) loggers (\(unit)), idle after boot and one minute, \(sent) packets sent, \(pending) pending")
        io.stdout.line("  unit simulator        \(kib(r1 - r0)) KiB per logger")
        io.stdout.line("  device                \(kib(r2 - r1)) KiB per logger")
        io.stdout.line("  session, booted       \(kib(r3 - r2)) KiB per logger (history, queues, decoder)")
        io.stdout.line("  total                 \(kib(r3 - r0)) KiB per logger (without the connection; see bench live)")
        withExtendedLifetime((devices, sessions)) {}
        devices = []
        sessions = []
        return Interrupts.requested ? Interrupts.exitStatus : 0
    }
}
