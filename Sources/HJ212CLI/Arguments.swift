/// A usage error: what was wrong with the command line (exit 2), or an input that cannot be read.
public struct UsageError: Error, CustomStringConvertible {
    public var message: String
    public var exitCode: Int32

    public init(_ message: String, exitCode: Int32 = 2) {
        self.message = message
        self.exitCode = exitCode
    }

    public var description: String { message }
}

/// One option a command accepts, with its help text next to it.
struct OptionSpec {
    /// Long name without dashes (`dialect`), and an optional one-letter alias.
    let name: String
    let short: Character?
    /// The placeholder of its value (`NAME`), or nil for a flag.
    let value: String?
    let help: String
    /// Allowed values, checked at parse time.
    let choices: [String]?
    /// Accepted but not shown by `--help` (switches for the tool's own self-tests).
    let hidden: Bool

    init(_ name: String, short: Character? = nil, value: String? = nil, choices: [String]? = nil, hidden: Bool = false, help: String) {
        self.name = name
        self.short = short
        self.value = value
        self.help = help
        self.choices = choices
        self.hidden = hidden
    }
}

/// What the command line said.
struct ParsedArguments {
    var values: [String: [String]] = [:]
    var flags: Set<String> = []
    var positionals: [String] = []

    func value(_ name: String) -> String? { values[name]?.last }
    func has(_ name: String) -> Bool { flags.contains(name) }
}

/// A command: a small value with its options declared next to its `run()`.
protocol CLICommand: Sendable {
    static var name: String { get }
    static var abstract: String { get }
    /// Usage line after `hj212 NAME`.
    static var usage: String { get }
    static var options: [OptionSpec] { get }
    /// Longer explanation and examples, shown by `--help`.
    static var discussion: String { get }
    init(_ arguments: ParsedArguments) throws(UsageError)
    func run(_ io: CommandIO) -> Int32
}

extension CLICommand {
    static var help: String {
        var text = "\(abstract)\n\nUSAGE: hj212 \(name) \(usage)\n"
        let all = options.filter { !$0.hidden } + [OptionSpec("help", short: "h", help: "Show this help.")]
        text += "\nOPTIONS:\n"
        let labels = all.map { o -> String in
            var l = (o.short.map { "-\($0), " } ?? "    ") + "--\(o.name)"
            if let v = o.value { l += " \(v)" }
            return l
        }
        let width = min(30, (labels.map(\.count).max() ?? 0) + 2)
        for (o, l) in zip(all, labels) {
            let pad = l.count < width ? String(repeating: " ", count: width - l.count) : "\n" + String(repeating: " ", count: width + 2)
            var h = o.help
            if let c = o.choices { h += " (\(c.joined(separator: "|")))" }
            text += "  \(l)\(pad)\(h)\n"
        }
        if !discussion.isEmpty { text += "\n" + discussion + "\n" }
        return text
    }

    /// Parses `arguments` against `options`: `--name value`, `--name=value`, `-x value`, flags,
    /// `--` to end options, and `-` as a positional (standard input).
    static func parse(_ arguments: [String]) throws(UsageError) -> ParsedArguments {
        var parsed = ParsedArguments()
        var i = 0
        var onlyPositionals = false
        while i < arguments.count {
            let arg = arguments[i]
            i += 1
            if onlyPositionals || arg == "-" || !arg.hasPrefix("-") || Self.looksNumeric(arg) {
                parsed.positionals.append(arg)
                continue
            }
            if arg == "--" { onlyPositionals = true; continue }
            var name: String
            var inline: String?
            if arg.hasPrefix("--") {
                name = String(arg.dropFirst(2))
                if let eq = name.firstIndex(of: "=") {
                    inline = String(name[name.index(after: eq)...])
                    name = String(name[..<eq])
                }
            } else {
                guard arg.count == 2, let match = (options + [OptionSpec("help", short: "h", help: "")]).first(where: { $0.short == arg.last }) else {
                    throw UsageError("unknown option '\(arg)' for 'hj212 \(Self.name)'; see 'hj212 \(Self.name) --help'")
                }
                name = match.name
            }
            if name == "help" { parsed.flags.insert("help"); continue }
            guard let spec = options.first(where: { $0.name == name }) else {
                let close = options.map(\.name).filter { $0.hasPrefix(String(name.prefix(3))) }
                let hint = close.isEmpty ? "" : " (did you mean --\(close[0])?)"
                throw UsageError("unknown option '--\(name)' for 'hj212 \(Self.name)'\(hint); see 'hj212 \(Self.name) --help'")
            }
            if let placeholder = spec.value {
                let value: String
                if let inline { value = inline } else {
                    guard i < arguments.count else { throw UsageError("--\(name) needs a value (\(placeholder))") }
                    value = arguments[i]
                    i += 1
                }
                if let choices = spec.choices, !choices.contains(value) {
                    throw UsageError("--\(name) '\(value)' is not one of \(choices.joined(separator: ", "))")
                }
                parsed.values[name, default: []].append(value)
            } else {
                if inline != nil { throw UsageError("--\(name) takes no value") }
                parsed.flags.insert(name)
            }
        }
        return parsed
    }

    static func looksNumeric(_ arg: String) -> Bool {
        arg.count > 1 && arg.dropFirst().allSatisfy { $0.isNumber || $0 == "." }
    }
}
