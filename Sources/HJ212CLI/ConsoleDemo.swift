import Foundation
import HJ212
import HJAnalysis
import HJNetwork
import HJRoles
import HJSimulation
import HJWeb
import HJLive

/// `hj212 demo --scenario NAME --http HOST:PORT`: a scenario live on loopback with the console
/// open, for a class: paced so that the first anomaly appears within a few minutes; the console's
/// ground-truth overlay (off by default) shows the injected windows when the trainer switches it on.
enum ConsoleDemo {
    /// Simulated time before the first injection: the rules' running means settle.
    static let lead: Int64 = 2 * 3_600_000

    static func run(_ a: ParsedArguments, io: CommandIO) -> Int32 {
        do throws(UsageError) {
            guard let name = a[DemoCommand.scenario] else { throw UsageError("--scenario NAME is required") }
            guard let http = a[DemoCommand.http] else { throw UsageError("--scenario needs --http HOST:PORT for the console") }
            let speed = a[DemoCommand.speed] ?? 60
            // Today 08:00 China time, so that '+1h' windows fall in the working day; absolute
            // windows ('22:00') start the run `lead` before them.
            let wall = LiveClock.wallNow(offsetMinutes: SimClock.chinaOffsetMinutes)
            var start = wall - wall % 86_400_000 + 8 * 3_600_000
            let tmp = NSTemporaryDirectory() + "hj212-demo-\(getpid())"
            func setup(_ start: Int64) throws(UsageError) -> LiveSetup {
                var words = ["--scenario", name, "--to", "127.0.0.1:1", "--speed", String(speed), "--start", SimClock.iso(start),
                             "--truth", a[DemoCommand.truth] ?? tmp + ".truth.jsonl"]
                if let fleet = a[DemoCommand.fleet] { words += ["--fleet", fleet] }
                if let d = a.text(DemoCommand.duration) { words += ["--duration", d] }
                return try LiveSetup(try SimulateCommand.parse(words), io: io)
            }
            var plan = try setup(start)
            let first = plan.sessionOptions.faults.compactMap { $0.window?.lowerBound }.min()
            if let first, first - start > lead {
                start = first - lead
                plan = try setup(start)
            }
            // Run until an hour after the last window ends (or --duration).
            let last = plan.sessionOptions.faults.compactMap { $0.window?.upperBound }.filter { $0 < Int64.max / 2 }.max() ?? (start + 6 * 3_600_000)
            let until = !a.given(DemoCommand.duration) ? min(last + 3_600_000, start + 2 * 86_400_000) : plan.end ?? last
            plan.end = until

            _ = try? ProcessSetup.prepareForNetworking()
            let group: EventLoopGroup
            do { group = try EventLoopGroup(threads: 2, name: "demo") } catch { throw UsageError("\(error)", exitCode: 2) }
            defer { group.shutdown() }
            let state = PlatformState(registry: nil, linter: try makeLinter(dialect: nil, strict: false, profiles: nil, profile: "hebei-dynamic"))
            var options = PlatformSession.Options()
            options.initialise = .never
            options.overTime = Int64(10_000 * speed)
            options.executionTimeout = Int64(60_000 * speed)
            options.idleTimeout = Int64(7_200_000 * speed)
            let platform = LivePlatform(address: SocketAddress.loopback(port: 0), state: state, clock: plan.clock, options: options, trace: plan.trace, group: group)
            let bound: SocketAddress
            do { bound = try platform.start() } catch { throw UsageError("cannot listen on loopback: \(error)", exitCode: 2) }
            defer { platform.stop() }
            let console = try Console.attach(to: platform, http: http, registry: nil, registryPath: nil)
            defer { console.stop() }
            plan.platforms = [bound]
            console.state.setTruth(truth(plan))

            io.stdout.line("hj212 demo: scenario \(name); console on http://\(console.server.localAddress)/ (ground truth overlay: the check box)")
            io.stdout.line("hj212 demo: simulated \(HJTime(wallMilliseconds: start).description) to \(HJTime(wallMilliseconds: until).description) at \(Int(speed))x (\(String(format: "%.1f", Double(until - start) / speed / 60_000)) min real time); first anomaly at \(first.map { HJTime(wallMilliseconds: $0).description } ?? "?")")
            io.stdout.flush()
            var seen = 0
            let status = plan.runLoggers(io: io, verb: "demo", group: group) { _ in
                let alarms = console.state.alarmsSince(seen)
                for alarm in alarms {
                    seen = max(seen, alarm.id)
                    io.clearProgress()
                    io.stdout.line("alarm #\(alarm.id) \(HJTime(wallMilliseconds: alarm.start).description) \(TerminalText.safe(alarm.mn)) \(TerminalText.safe(alarm.factor ?? "")) \(console.state.catalogue.rule(alarm.rule).map { "\($0.zh) \($0.en)" } ?? alarm.rule): \(TerminalText.safe(alarm.evidence))")
                    io.stdout.flush()
                }
                return true
            }
            return status
        } catch {
            io.stderr.line("hj212 demo: \(error.message)")
            return error.exitCode
        }
    }

    /// The injections the console's overlay shows.
    static func truth(_ plan: LiveSetup) -> [Injection] {
        let mns = plan.devices.map(\.identity.mn)
        var out: [Injection] = []
        for spec in plan.sessionOptions.faults {
            guard let window = spec.window else { continue }
            for mn in spec.mn.map({ [$0] }) ?? mns {
                out.append(Injection(index: out.count, mn: mn, fault: spec.id.rawValue, layer: spec.layer.rawValue, factor: spec.factor,
                                     start: window.lowerBound, end: window.upperBound < Int64.max / 2 ? window.upperBound : nil, detail: ""))
            }
        }
        return out
    }
}
