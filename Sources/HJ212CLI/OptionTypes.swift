import HJCapture
import Foundation
import Glibc
import HJConformance
import HJ212
import HJNetwork
import HJStore
import HJSimulation

/// The parse-and-validate functions of option values, one rule per kind of value, shared by every
/// command. Each returns the typed value or throws a `UsageError` saying what was expected; the
/// parser prefixes the option and the text (`--threads '0': expected an integer from 1 to 256`).
enum Parse {
    /// Any text, as given.
    @Sendable static func text(_ s: String) throws(UsageError) -> String { s }

    /// A file or directory path: not empty, no NUL.
    @Sendable static func path(_ s: String) throws(UsageError) -> String {
        guard !s.isEmpty, !s.utf8.contains(0) else { throw UsageError("expected a file path") }
        return s
    }

    /// An integer within `range`.
    static func int(_ range: ClosedRange<Int>) -> @Sendable (String) throws(UsageError) -> Int {
        { (s: String) throws(UsageError) -> Int in
            guard let v = Int(s), range.contains(v) else {
                throw UsageError(range.upperBound == Int.max ? "expected an integer of at least \(range.lowerBound)"
                                 : "expected an integer from \(range.lowerBound) to \(range.upperBound)")
            }
            return v
        }
    }

    /// A positive count (1, 2, …).
    @Sendable static func count(_ s: String) throws(UsageError) -> Int {
        guard let v = Int(s), v >= 1 else { throw UsageError("expected a positive integer") }
        return v
    }

    /// A random seed: a non-negative integer up to 2⁶⁴−1.
    @Sendable static func seed(_ s: String) throws(UsageError) -> UInt64 {
        guard let v = UInt64(s) else { throw UsageError("expected a non-negative integer") }
        return v
    }

    /// A number within `range`; `above`: the lower bound itself is excluded.
    static func number(_ range: ClosedRange<Double>, above: Bool = false) -> @Sendable (String) throws(UsageError) -> Double {
        { (s: String) throws(UsageError) -> Double in
            guard let v = Double(s), v.isFinite, range.contains(v), !(above && v == range.lowerBound) else {
                throw UsageError("expected a number in \(above ? "(" : "[")\(format(range.lowerBound)), \(format(range.upperBound))]")
            }
            return v
        }
    }

    /// A speed factor: simulated seconds per real second, in (0, 100000].
    @Sendable static func speed(_ s: String) throws(UsageError) -> Double {
        try number(0...100_000, above: true)(s)
    }

    /// A duration in the simulator's syntax (`SimClock.parseDuration`: `90s`, `10m`, `2h30m`,
    /// `1d`, `500ms`, a bare number is seconds), in milliseconds, within `range`; `0` (or `0s`,
    /// `0ms` …) is accepted when the range starts at 0.
    static func duration(_ range: ClosedRange<Int64> = 1...SimClock.maxDurationMs) -> @Sendable (String) throws(UsageError) -> Int64 {
        { (s: String) throws(UsageError) -> Int64 in
            let zero = s.first == "0" && ["", "ms", "s", "m", "h"].contains(String(s.drop { $0 == "0" }))
            guard let ms = zero ? 0 : boundedDuration(s), range.contains(ms) else {
                throw UsageError("expected a duration like 90s, 10m or 2h30m, from \(range.lowerBound <= 0 ? "0" : SimClock.durationText(range.lowerBound)) to \(SimClock.durationText(range.upperBound))")
            }
            return ms
        }
    }

    /// `SimClock.parseDuration`, on text short enough that no sum or product in it can come near
    /// Int64 (at most 24 characters, digit runs of at most 9 digits: 10⁹ weeks < 2^63 ms).
    static func boundedDuration(_ text: String) -> Int64? {
        guard text.count <= 24 else { return nil }
        var run = 0
        for c in text {
            run = c.isASCII && c.isNumber ? run + 1 : 0
            if run > 9 { return nil }
        }
        return SimClock.parseDuration(text)
    }

    /// Seconds, as a number (`0.5`) or a duration (`90s`, `5m`), within `range`.
    static func seconds(_ range: ClosedRange<Double>) -> @Sendable (String) throws(UsageError) -> Double {
        { (s: String) throws(UsageError) -> Double in
            if let v = Double(s), v.isFinite, range.contains(v) { return v }
            if let ms = boundedDuration(s), range.contains(Double(ms) / 1000) { return Double(ms) / 1000 }
            throw UsageError("expected seconds or a duration like 90s or 5m, within \(format(range.lowerBound))…\(format(range.upperBound)) s")
        }
    }

    /// A socket address HOST:PORT: a dotted IPv4 address, `localhost`, or a host name resolved
    /// once (IPv4), e.g. a Kubernetes service.
    @Sendable static func address(_ text: String) throws(UsageError) -> SocketAddress {
        do { return try SocketAddress(parsing: text) } catch {
            guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else {
                throw UsageError(error.message)
            }
            let host = String(text[..<colon])
            var hints = addrinfo()
            hints.ai_family = AF_INET
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            var result: UnsafeMutablePointer<addrinfo>?
            guard getaddrinfo(host, nil, &hints, &result) == 0, let first = result, let sa = first.pointee.ai_addr else {
                throw UsageError("cannot resolve host '\(host)' (\(error.message))")
            }
            defer { freeaddrinfo(result) }
            let ip = sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt32(bigEndian: $0.pointee.sin_addr.s_addr) }
            return SocketAddress(ipv4: ip, port: UInt16(port))
        }
    }

    /// A comma-separated list of HOST:PORT.
    /// HOST:PORT with a numeric address, as captures name their endpoints (`--platform`).
    @Sendable static func endpoint(_ text: String) throws(UsageError) -> Endpoint {
        guard let e = Endpoint(text) else { throw UsageError("'\(text)' is not HOST:PORT with a numeric address") }
        return e
    }

    @Sendable static func addresses(_ text: String) throws(UsageError) -> [SocketAddress] {
        var out: [SocketAddress] = []
        for part in text.split(separator: ",") { out.append(try address(String(part))) }
        guard !out.isEmpty else { throw UsageError("expected HOST:PORT[,HOST:PORT…]") }
        return out
    }

    /// An MN (设备唯一标识): up to 24 letters and digits. It goes into packets as it is, so a
    /// `;`, `=` or `&` (which would make malformed packets) is refused. (HJ 212-2017 MNs are 24
    /// characters 0-9, A-F; older devices use shorter ones.)
    @Sendable static func mn(_ s: String) throws(UsageError) -> String {
        guard !s.isEmpty, s.utf8.count <= 24, s.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) }) else {
            throw UsageError("expected up to 24 letters and digits (an HJ 212-2017 MN is 24 characters 0-9, A-F)")
        }
        return s
    }

    /// A PW (访问密码): up to 32 printable characters without `;`, `=`, `&`.
    @Sendable static func pw(_ s: String) throws(UsageError) -> String {
        guard !s.isEmpty, s.utf8.count <= 32, s.utf8.allSatisfy({ $0 > 32 && $0 < 127 && $0 != UInt8(ascii: ";") && $0 != UInt8(ascii: "=") && $0 != UInt8(ascii: "&") }) else {
            throw UsageError("expected up to 32 printable characters without ; = &")
        }
        return s
    }

    /// A simulated start: `2026-11-30`, `2026-11-30T08:00`, with an optional zone (default UTC+8).
    @Sendable static func start(_ s: String) throws(UsageError) -> Int64 {
        guard let t = SimClock.parseStart(s) else { throw UsageError("expected a date like 2026-11-30T08:00") }
        return t
    }

    /// A day, YYYY-MM-DD.
    @Sendable static func day(_ s: String) throws(UsageError) -> HJTime {
        guard let d = RosterPeriod.day(s) else { throw UsageError("expected a day YYYY-MM-DD") }
        return d
    }

    /// One of a fixed list of words.
    static func choice(_ choices: [String]) -> @Sendable (String) throws(UsageError) -> String {
        { (s: String) throws(UsageError) -> String in
            guard choices.contains(s) else { throw UsageError("is not one of \(choices.joined(separator: ", "))") }
            return s
        }
    }

    /// A value of a string enumeration (`ReportFormat`, `CheckPlan` …).
    static func choice<E: RawRepresentable & CaseIterable & Sendable>(_ type: E.Type) -> @Sendable (String) throws(UsageError) -> E where E.RawValue == String {
        { (s: String) throws(UsageError) -> E in
            guard let v = E(rawValue: s) else { throw UsageError("is not one of \(E.allCases.map(\.rawValue).joined(separator: ", "))") }
            return v
        }
    }

    /// Comma-separated words, blanks dropped (`--only A,B`).
    @Sendable static func list(_ s: String) throws(UsageError) -> [String] {
        s.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    static func format(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? String(Int64(v)) : String(v)
    }
}

/// Options that several commands take, declared once with one rule each. A command lists them
/// in its `options` (optionally with help worded for it: `Shared.threads.help("…")`) and reads
/// them through the same declaration (`a[Shared.threads]`).
enum Shared {
    /// Event-loop threads: 1…256 in every command.
    static let threads = Option("threads", "N", help: "Event-loop threads (default: the number of cores).", parse: Parse.int(1...256))
    /// The logger's MN and PW.
    static let mn = Option("mn", "MN", help: "The logger's MN (default 010000A8900016F000169DC0).", parse: Parse.mn)
    static let pw = Option("pw", "PW", help: "The logger's password (default 123456).", parse: Parse.pw)
    /// Simulated seconds per real second.
    static let speed = Option("speed", "X", help: "Simulated seconds per real second (default 1).", parse: Parse.speed)
    /// A length of (simulated or real) time, in milliseconds.
    static let duration = Option("duration", "D", help: "How long to run, e.g. 10m, 2h.", parse: Parse.duration())
    static let seed = Option("seed", "N", help: "Random seed (default 1).", parse: Parse.seed)
    static let start = Option("start", "ISO8601", help: "Simulated start (default: now, China time).", parse: Parse.start)
    /// Where things come from and go to.
    static let unit = Option("unit", "NAME", help: "A unit template (a file name of Profiles/units without .json).", parse: Parse.text)
    static let fleet = Option("fleet", "FILE", help: "A fleet manifest (CSV) or a built-in fleet (sample-city, mixed-demo).", parse: Parse.path)
    static let profiles = Option("profiles", "DIR", help: "A directory whose files override the built-in Profiles/.", parse: Parse.path)
    static let trace = Option("trace", "FILE", help: "Append every frame sent and received to this JSON Lines trace.", parse: Parse.path)
    static let pcap = Option("pcap", "FILE", help: "Also (or, without --trace, only) write the traffic as a pcapng capture for Wireshark.", parse: Parse.path)
    static let truth = Option("truth", "FILE", help: "Ground truth of injected faults, JSON Lines.", parse: Parse.path)
    static let faults = Option("faults", "SPEC", help: "Faults to inject.", parse: Parse.text)
    static let scenario = Option("scenario", "FILE|NAME", help: "A fault timeline on units of the fleet (Profiles/scenarios, or a file).", parse: Parse.path)
    static let registry = Option("registry", "FILE", help: "CSV mn,pw[,name] of the loggers.", parse: Parse.path)
    /// Report output: where, in which format, in which language. The formats differ per command
    /// (each declares its own `format` with `Option(_:_:choices:help:)`); the file and language do not.
    static let out = Option("out", short: "o", "FILE", help: "Output file (default standard output).", parse: Parse.path)
    static let lang = Option("lang", "L", help: "Language of the report (default en).", choices: ReportLanguage.allCases.map(\.rawValue), parse: Parse.choice(ReportLanguage.self))
    static let dialect = Option("dialect", "D", choices: ["auto", "2005", "2017", "2025"], help: "Explain with this dialect's tables; auto (default) follows each packet.")
    static let profile = Option("profile", "NAME[,NAME]", help: "Code-table profiles on top of the national tables: national (default), hebei-dynamic (动态管控 i-codes, UNCONFIRMED for Jiangsu).", parse: Parse.text)
    /// The protocol edition simulated loggers speak.
    static let edition = Option("dialect", "D", choices: ["2017", "2025"], help: "Protocol edition (default 2017).")
    static let strict = Flag("strict", help: "Judge findings as in certification.")
}
