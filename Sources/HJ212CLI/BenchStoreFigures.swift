import Foundation
import HJStore

/// The figures of `bench store`, computed from snapshots of the loggers without I/O (so that a
/// test can feed them the snapshots of a broken run): a bench is a verdict, and a run whose
/// snapshots do not describe the whole window says `incomplete` with its reason, never a ratio.
struct StoreBenchFigures {
    /// Sums over the loggers whose event loop answered in time, at one moment.
    struct Snapshot: Equatable {
        /// Loggers in the run.
        var expected = 0
        /// Loggers counted in the sums below (their loop answered before the deadline).
        var answered = 0
        var connected = 0
        var acknowledged = 0
        var pending = 0
        /// Connections opened so far, over all loggers (a reconnect adds one).
        var connects = 0
        /// How far behind its own clock the most late logger's device is, in simulated ms (a
        /// device produces on its loop's timer: an overloaded loop falls behind).
        var behindMs: Int64 = 0
    }

    /// The process-level measurements of one window.
    struct Usage: Equatable {
        var window = 0.0
        var serveCPU = 0.0
        /// Of which serve's event-loop threads.
        var serveLoopsCPU = 0.0
        var loggersCPU = 0.0
        var machineBusy = 0.0
        var machineStolen = 0.0
    }

    /// A window that measured something; `nil` reason on `Outcome` otherwise.
    typealias Phase = StoreBenchmark.Phase

    enum Outcome: Equatable {
        case measured(Phase)
        /// The run does not describe the window: why, in one line.
        case incomplete(String)
    }

    /// The loggers' devices may fall behind their clocks by this much real time during a
    /// window (beyond it, the loggers did not offer what `--speed` asks: the run is not valid).
    static let maxFallBehindSeconds = 2.0

    /// Busy share of a core per logger thread above which the loggers themselves may be the limit.
    static let maxLoggerThreadLoad = 0.85

    /// Cores that processes other than serve and the loggers may use in a window for the target
    /// to be judged: above it the two windows did not run on the same machine (session 12: with
    /// builds beside it the bench said "met" at 0.86× and 0.88× for a binary whose quiet ratio was
    /// 0.32×), and the throughput ratio measures the neighbours.
    static let maxOtherCores = 0.25

    /// Cores used during a window by processes other than serve and the loggers (the machine's
    /// busy share, from /proc/stat, less what the two used).
    static func otherCores(_ p: Phase, cores: Int) -> Double {
        guard p.window > 0 else { return 0 }
        return max(0, p.machineBusy * Double(cores) - (p.serveCPU + p.loggersCPU) / p.window)
    }

    /// One window's figures, or why the window measured nothing.
    static func phase(before a: Snapshot, after b: Snapshot, usage: Usage, speed: Double, loggerThreads: Int) -> Outcome {
        for (s, when) in [(a, "start"), (b, "end")] where s.answered < s.expected {
            return .incomplete("the loggers' event loops did not answer at the window's \(when) (\(s.answered) of \(s.expected) loggers reported): the loggers' \(loggerThreads) thread(s) are overloaded; lower --speed or raise --logger-threads")
        }
        for (s, when) in [(a, "start"), (b, "end")] where s.connected < s.expected {
            return .incomplete("\(s.connected) of \(s.expected) loggers connected at the window's \(when)")
        }
        if b.connects != a.connects {
            return .incomplete("\(b.connects - a.connects) reconnection(s) during the window (acks timed out or serve closed connections)")
        }
        let acked = b.acknowledged - a.acknowledged, offered = acked + b.pending - a.pending
        guard acked >= 0, offered >= 0, a.acknowledged >= 0, b.pending >= 0, a.pending >= 0 else {
            return .incomplete("inconsistent logger counters (acknowledged \(a.acknowledged) → \(b.acknowledged), pending \(a.pending) → \(b.pending))")
        }
        guard usage.window > 0 else { return .incomplete("empty measurement window") }
        let fell = Double(b.behindMs - a.behindMs) / 1000 / max(speed, 1e-9)
        if fell > maxFallBehindSeconds {
            return .incomplete(String(format: "the loggers fell %.1f s (real time) behind their schedule during the window (loggers %.2f cores on %d thread(s)): they did not offer what --speed asks; raise --logger-threads or lower --speed",
                                      fell, usage.loggersCPU / usage.window, loggerThreads))
        }
        // A backlog that grew says serve was the limit only if the loggers had CPU to spare: loggers
        // whose threads were busy may not have read their 9014s in time (session 7: "met 0.80x" with
        // the loggers at 1.01 cores of 1 thread and serve at 0.11 cores).
        let loggerCores = usage.loggersCPU / usage.window
        if Double(offered) > Double(acked) * 1.05 && loggerCores >= maxLoggerThreadLoad * Double(loggerThreads) {
            return .incomplete(String(format: "the loggers' backlog grew while their %d thread(s) were busy (%.2f cores): the loggers, not serve, may have set the rate; raise --logger-threads or lower --speed",
                                      loggerThreads, loggerCores))
        }
        var p = Phase()
        p.window = usage.window
        p.serveCPU = usage.serveCPU
        p.serveLoopsCPU = usage.serveLoopsCPU
        p.loggersCPU = usage.loggersCPU
        p.machineBusy = usage.machineBusy
        p.machineStolen = usage.machineStolen
        p.acked = acked
        p.offered = offered
        p.connected = b.connected
        return .measured(p)
    }

    /// The report's lines, from both windows' outcomes.
    static func report(plain: Outcome, stored: Outcome, durability: String, cores: Int) -> [String] {
        var lines: [String] = []
        func describe(_ o: Outcome, _ name: String, _ extra: String) {
            let pad = name.padding(toLength: 21, withPad: " ", startingAt: 0)
            switch o {
            case .measured(let p):
                lines.append("  \(pad)\(Int(p.perSecond)) acknowledged packets/s (\(p.connected) connected, \(p.acked) acks\(extra))")
                lines.append("                       \(p.limit(cores: cores))")
            case .incomplete(let why):
                lines.append("  \(pad)incomplete: \(why)")
            }
        }
        describe(plain, "serve", "")
        describe(stored, "serve --store", "; durability \(durability)")
        guard case .measured(let p) = plain, case .measured(let s) = stored else {
            let why: String
            if case .incomplete(let w) = plain { why = "serve: " + w } else if case .incomplete(let w) = stored { why = "serve --store: " + w } else { why = "" }
            lines.append("  target ≥ 0.70x       incomplete: \(why)")
            return lines
        }
        let throughput = s.perSecond / max(1, p.perSecond), cost = p.cpuPerAck / s.cpuPerAck
        lines.append("  throughput ratio     \(String(format: "%.2f", throughput))x")
        lines.append("  serve CPU per ack    \(String(format: "%.1f", p.cpuPerAck)) µs without store, \(String(format: "%.1f", s.cpuPerAck)) µs with --store: cost ratio \(String(format: "%.2f", cost))x (the throughput ratio when serve's CPU is the limit)")
        lines.append("    of which loops     \(String(format: "%.1f", p.loopsPerAck)) µs without store, \(String(format: "%.1f", s.loopsPerAck)) µs with --store (the rest: the store's writer and other threads, \(String(format: "%.1f", s.cpuPerAck - s.loopsPerAck)) µs)")
        // The target is judged at saturation, on a machine that ran nothing else of weight: a
        // ratio of two rates the loggers or the neighbours set says nothing.
        let others = (otherCores(p, cores: cores), otherCores(s, cores: cores))
        if let judged = judgedRatio(plain: plain, stored: stored, cores: cores) {
            let verdict = "  target ≥ 0.70x       \(judged >= 0.7 ? "met" : "NOT met"): \(String(format: "%.2f", judged))x"
            lines.append(verdict + (s.saturated ? ", both phases saturated (the loggers' backlog grew in each)"
                                                : "; serve without a store was saturated, serve --store was not (it kept up with the loggers)"))
        } else if max(others.0, others.1) > maxOtherCores {
            lines.append("  target ≥ 0.70x       not judged: other processes used \(String(format: "%.2f", others.0)) and \(String(format: "%.2f", others.1)) cores during the two windows (at most \(String(format: "%.2f", maxOtherCores)) for a judgement); run on a quiet machine. The CPU cost ratio, \(String(format: "%.2f", cost))x, estimates the saturated ratio")
        } else {
            lines.append("  target ≥ 0.70x       not judged: serve without a store was not saturated (the loggers' rate set both figures); raise --speed or --logger-threads. The CPU cost ratio, \(String(format: "%.2f", cost))x, estimates the saturated ratio")
        }
        return lines
    }

    /// The throughput ratio of a round whose verdict line judges the target (both windows
    /// measured, a quiet machine, serve without a store saturated); nil when the round measured
    /// nothing or was not judged. `report`'s verdict line and `summary` both judge by it.
    static func judgedRatio(plain: Outcome, stored: Outcome, cores: Int) -> Double? {
        guard case .measured(let p) = plain, case .measured(let s) = stored else { return nil }
        guard max(otherCores(p, cores: cores), otherCores(s, cores: cores)) <= maxOtherCores, p.saturated else { return nil }
        return s.perSecond / max(1, p.perSecond)
    }

    /// The line after a single round's verdict: one window pair is one sample of how the
    /// machine shared its two cores between serve and the loggers (one store code read 0.38x to
    /// 0.72x from run to run in sessions 15 to 21), so a verdict of one round is said to be one;
    /// nil when the round judged nothing.
    static func singleRoundNote(plain: Outcome, stored: Outcome, cores: Int) -> String? {
        guard judgedRatio(plain: plain, stored: stored, cores: cores) != nil else { return nil }
        return "                       (one round: a single sample of how the machine shared its cores; --rounds 3 judges the median of three)"
    }

    /// The median of some numbers (of an even count, the mean of the middle two).
    static func median(_ values: [Double]) -> Double {
        let v = values.sorted()
        guard !v.isEmpty else { return .nan }
        return v.count % 2 == 1 ? v[v.count / 2] : (v[v.count / 2 - 1] + v[v.count / 2]) / 2
    }

    /// The closing lines of a run of several rounds (`--rounds`): each round's ratio, their median
    /// and range, and the verdict on the median. One round is one sample of a machine whose share
    /// of the cores moves from window to window (session 15: the same binary read 0.27x to 0.86x
    /// in successive windows); the median of alternated rounds does not rest on one sample. Every
    /// round must have been judged: otherwise the run judges nothing.
    static func summary(_ rounds: [(plain: Outcome, stored: Outcome)], cores: Int) -> [String] {
        let ratios = rounds.map { judgedRatio(plain: $0.plain, stored: $0.stored, cores: cores) }
        let unjudged = ratios.indices.filter { ratios[$0] == nil }.map { String($0 + 1) }
        guard unjudged.isEmpty else {
            return ["  target ≥ 0.70x       over \(rounds.count) rounds: not judged: round\(unjudged.count == 1 ? "" : "s") \(unjudged.joined(separator: ", ")) measured nothing or could not be judged (see \(unjudged.count == 1 ? "its" : "their") lines above)"]
        }
        let values = ratios.compactMap { $0 }
        let m = median(values), met = values.filter { $0 >= 0.7 }.count
        let list = values.map { String(format: "%.2f", $0) }.joined(separator: ", ")
        return ["  over \(rounds.count) rounds        throughput ratios \(list): median \(String(format: "%.2f", m))x, range \(String(format: "%.2f", values.min()!))–\(String(format: "%.2f", values.max()!))",
                "  target ≥ 0.70x       \(m >= 0.7 ? "met" : "NOT met") over \(rounds.count) rounds: median \(String(format: "%.2f", m))x (met in \(met) of \(rounds.count) rounds)"]
    }

    /// The closing line of a run of several rounds stopped (Ctrl-C, SIGTERM) before every round
    /// was done: the rounds done were printed (a round cut short is printed, not counted); no
    /// verdict over them.
    static func interrupted(after done: Int, of rounds: Int) -> String {
        "  target ≥ 0.70x       over \(rounds) rounds: not judged: interrupted after \(done) of \(rounds) rounds"
    }

    /// The SQLite floor's lines (`StoreFloor`): SQLite's own cost of a packet's row on this
    /// machine, and the budget the 0.70x target leaves the store. The throughput ratio is the
    /// ratio of serve's cores in the two windows times the cost ratio p / (p + x), p serve's CPU
    /// per ack without a store and x what the store adds; the cost ratio is at least 0.70 exactly
    /// when x ≤ 3p/7. A floor above that budget does not decide the verdict (the store's writer is
    /// a thread of its own, which may get serve more of a shared machine), but says what it takes:
    /// serve --store must get at least 0.7 (p + floor) / p times the cores serve had. p is the
    /// median over the rounds' windows without a store that measured something (none: no budget).
    static func floorLines(_ floor: StoreFloor.Figures, serveCPUPerAck: [Double]) -> [String] {
        var lines = ["  SQLite floor         \(String(format: "%.1f", floor.perRow)) µs CPU per packet row (user \(String(format: "%.1f", floor.user)), system \(String(format: "%.1f", floor.system))): SQLite alone writing \(floor.rows) rows of a 2011 with their duplicate key, \(floor.perTransaction) per transaction, on one thread, in the bench's directory"]
        let measured = serveCPUPerAck.filter { $0.isFinite && $0 > 0 }
        guard !measured.isEmpty else {
            lines.append("  store budget         not known: no window without a store measured serve's CPU per ack")
            return lines
        }
        let p = median(measured), budget = p * 3 / 7
        let verdict = floor.perRow > budget
            ? "SQLite alone needs more (\(String(format: "%.1f", floor.perRow)) µs): 0.70x needs serve --store to get at least \(String(format: "%.2f", 0.7 * (p + floor.perRow) / p))x the cores serve had without a store"
            : "SQLite alone needs \(String(format: "%.1f", floor.perRow)) µs of it"
        lines.append("  store budget         \(String(format: "%.1f", budget)) µs per ack for a cost ratio of 0.70x (3/7 of serve's \(String(format: "%.1f", p)) µs per ack without a store\(measured.count > 1 ? ", median of \(measured.count) windows" : "")): " + verdict)
        return lines
    }

    /// Whether both windows measured something (the bench's exit status).
    static func valid(_ outcomes: Outcome...) -> Bool {
        outcomes.allSatisfy { if case .measured = $0 { true } else { false } }
    }
}
