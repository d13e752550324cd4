import HJ212

/// How much a check matters, as in RFC 2119: a MUST failure fails the certification,
/// a SHOULD failure counts only under `--strict` (otherwise it is a warning), a MAY is informative.
public enum CheckLevel: String, Sendable, CaseIterable, Comparable {
    case must = "MUST"
    case should = "SHOULD"
    case may = "MAY"

    /// Weight in the score.
    public var weight: Double {
        switch self {
        case .must: 3
        case .should: 2
        case .may: 1
        }
    }

    public static func < (a: CheckLevel, b: CheckLevel) -> Bool { a.weight > b.weight }
}

/// What is under test.
public enum CheckTarget: String, Sendable, CaseIterable {
    /// A receiving platform (ingest server); `hj212` plays the loggers.
    case platform
    /// A data logger (数采仪); `hj212` plays the platform.
    case logger
}

/// Rule profiles: which standard (and which provincial extension) a run certifies against.
public enum CheckProfile: String, Sendable, CaseIterable {
    case national2017 = "national-2017"
    case national2025 = "national-2025"
    /// Jiangsu's extension (动态管控, working condition, electricity) on top of HJ 212-2017.
    case jiangsu = "jiangsu"
}

/// One check of the catalogue (`Profiles/checks/*.json`): stable ID, bilingual title, the clause
/// it comes from, its level and how the tool exercises it.
///
/// ```swift
/// let rule = try RuleCatalogue.builtin().rule(RuleID.platformAckSt)
/// rule?.clause   // "HJ 212-2017 §6.6.1, Table 6 (ST=91)"
/// ```
public struct CheckRule: Sendable, Equatable {
    /// Stable ID, `P-…` for platform checks, `L-…` for logger checks; selection by prefix.
    public var id: String
    public var target: CheckTarget
    /// The group the score is broken down by (e.g. `ack`, `framing`, `access`, `commands`).
    public var group: String
    public var level: CheckLevel
    public var titleZh: String
    public var titleEn: String
    /// The source: HJ 212-2017 section, table or appendix; HJ 212-2025; a provincial profile.
    public var clause: String
    /// How the tool exercises the check (shown by `check --list` and in reports).
    public var exercise: String
    /// The clause and the exercise in Chinese (catalogue `"clause_zh"`, `"exercise_zh"`; empty:
    /// none given, and a Chinese report shows the English).
    public var clauseZh: String = ""
    public var exerciseZh: String = ""
    /// The profiles the check belongs to (empty: all).
    public var profiles: [CheckProfile]
    /// The smallest `check logger --plan` whose window can exercise the check (catalogue field
    /// `"plan"`; default `quick`: the protocol checks).
    public var plan: CheckPlan = .quick
    /// The group's name in Chinese (catalogue `"groups"`; the group ID when none is given).
    public var groupZh: String = ""

    public init(id: String, target: CheckTarget, group: String, level: CheckLevel, titleZh: String, titleEn: String,
                clause: String, exercise: String, profiles: [CheckProfile] = [], plan: CheckPlan = .quick) {
        self.plan = plan
        self.id = id
        self.target = target
        self.group = group
        self.level = level
        self.titleZh = titleZh
        self.titleEn = titleEn
        self.clause = clause
        self.exercise = exercise
        self.profiles = profiles
    }

    /// The title in the report language.
    public func title(_ lang: ReportLanguage) -> String { lang == .zh ? titleZh : titleEn }

    /// The clause in the report language.
    public func clause(_ lang: ReportLanguage) -> String { lang == .zh && !clauseZh.isEmpty ? clauseZh : clause }

    /// How the tool exercises the check, in the report language.
    public func exercise(_ lang: ReportLanguage) -> String { lang == .zh && !exerciseZh.isEmpty ? exerciseZh : exercise }

    /// The group's name in the report language.
    public func groupName(_ lang: ReportLanguage) -> String { lang == .zh && !groupZh.isEmpty ? groupZh : group }

    public func applies(to profile: CheckProfile) -> Bool { profiles.isEmpty || profiles.contains(profile) }
}

/// Language of reports and of `check --list`.
public enum ReportLanguage: String, Sendable, CaseIterable {
    case zh, en
}

/// The outcome of one check.
public enum Verdict: String, Sendable, CaseIterable {
    case pass
    case fail
    /// A SHOULD or MAY check failed without `--strict`, or something suspicious that is not a failure.
    case warn
    /// The check could not be exercised (the reason is in the message): the target never sent
    /// that packet type, the observation window was too short, the profile does not apply …
    case notExercised = "not-exercised"
}

/// One line of the wire log kept with a check result, so that a failure shows the exchange.
public struct WireRecord: Sendable, Equatable {
    public enum Direction: String, Sendable {
        /// From the logger side to the platform side (whoever plays which).
        case up
        /// From the platform side to the logger side.
        case down
        /// A remark of the tool (connection opened, timeout, …).
        case note
    }

    /// Seconds since the start of the run.
    public var time: Double
    public var direction: Direction
    /// The frame without CR LF (bytes that are not UTF-8 escaped), or the remark.
    public var text: String

    public init(time: Double, direction: Direction, text: String) {
        self.time = time
        self.direction = direction
        self.text = text
    }
}

/// The result of one check in one run.
public struct CheckResult: Sendable, Equatable {
    public var rule: CheckRule
    public var verdict: Verdict
    /// What was expected and what was seen (English; the report adds the rule's titles).
    public var message: String
    /// The exchange that shows the verdict (kept for every fail and warn; bounded in size).
    public var wire: [WireRecord]

    public init(rule: CheckRule, verdict: Verdict, message: String, wire: [WireRecord] = []) {
        self.rule = rule
        self.verdict = verdict
        self.message = message
        self.wire = wire
    }
}

/// A whole certification run: what was tested, with which selection, and every result.
public struct CheckRun: Sendable {
    public var target: CheckTarget
    /// `HOST:PORT` of the platform under test, or the address listened on for a logger.
    public var address: String
    public var profile: CheckProfile
    public var strict: Bool
    /// ISO 8601 start time (China time) and length of the run in seconds.
    public var started: String
    public var seconds: Double
    /// False when the target could not be reached at all (exit status 2).
    public var reachable: Bool
    /// True when Ctrl-C ended the run early (the report covers what ran).
    public var interrupted: Bool
    /// Facts about the target worth printing (MN seen, unit kind, versions …).
    public var facts: [(String, String)]
    public var results: [CheckResult]
    /// The catalogue version the rules came from (`RuleCatalogue.versions[target]`), shown in reports.
    public var catalogueVersion: String = ""
    /// Checks of the profile removed from scope (by `--only`/`--skip` or by the plan), with why:
    /// listed in reports, never counted in the verdict or the coverage.
    public var outOfScope: [(rule: CheckRule, why: String)] = []
    /// The plan of a `check logger` run (nil: no plan chosen).
    public var plan: CheckPlan?
    /// Message templates for reports in another language than English.
    public var messages = MessageCatalogue()
    /// The exit status when a signal stopped the run (130 SIGINT, 143 SIGTERM), set by the CLI so
    /// that the reports' `exit_status` is the process's.
    public var signalExitStatus: Int32?

    public init(target: CheckTarget, address: String, profile: CheckProfile, strict: Bool, started: String,
                seconds: Double = 0, reachable: Bool = true, interrupted: Bool = false,
                facts: [(String, String)] = [], results: [CheckResult] = []) {
        self.target = target
        self.address = address
        self.profile = profile
        self.strict = strict
        self.started = started
        self.seconds = seconds
        self.reachable = reachable
        self.interrupted = interrupted
        self.facts = facts
        self.results = results
    }
}

/// Which checks run: `--only` and `--skip` by ID prefix, `--strict`, `--profile`.
public struct CheckSelection: Sendable, Equatable {
    public var only: [String]
    public var skip: [String]
    public var strict: Bool
    public var profile: CheckProfile

    public init(only: [String] = [], skip: [String] = [], strict: Bool = false, profile: CheckProfile = .national2017) {
        self.only = only
        self.skip = skip
        self.strict = strict
        self.profile = profile
    }

    /// Whether a rule runs under this selection.
    public func selects(_ rule: CheckRule) -> Bool {
        guard rule.applies(to: profile) else { return false }
        if !only.isEmpty && !only.contains(where: { rule.id.hasPrefix($0) }) { return false }
        return !skip.contains(where: { rule.id.hasPrefix($0) })
    }
}
