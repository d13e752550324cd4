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

/// What the parser, `--help` and the reference need to know of one declared option, whatever the
/// type of its value. Built by `Option` and `Flag`; commands never make one by hand.
struct OptionInfo: Sendable {
    /// Long name without dashes (`threads`), and an optional one-letter alias.
    let name: String
    let short: Character?
    /// The placeholder of its value (`N`), or nil for a flag.
    let placeholder: String?
    let help: String
    /// Accepted but not shown by `--help` (switches for the tool's own self-tests).
    let hidden: Bool
    /// Shown without brackets in the usage line; its absence is a usage error.
    let required: Bool
    /// May be given more than once (shown with `…`).
    let repeatable: Bool
    /// The values it takes, when they are a fixed list (shown by `--help`).
    let choices: [String]?
    /// Parses and validates one value; the error says what was expected, without the option's name.
    let parse: @Sendable (String) throws(UsageError) -> any Sendable
}

/// Anything a command can list in `options`: an `Option` or a `Flag`.
protocol OptionDeclaration: Sendable {
    var info: OptionInfo { get }
}

/// An option that takes a value, declared once with the function that parses and validates it:
///
///     static let rounds = Option("rounds", "N", help: "Rounds per measurement.", parse: Parse.count)
///     …
///     let rounds = a[Self.rounds] ?? 5        // an Int, already validated
///
/// A bad value is a usage error (exit 2) at parse time, whether or not the command reads it.
struct Option<Value: Sendable>: OptionDeclaration {
    let info: OptionInfo
    let defaultValue: Value?

    init(_ name: String, short: Character? = nil, _ placeholder: String, help: String, hidden: Bool = false, required: Bool = false,
         repeatable: Bool = false, default defaultValue: Value? = nil, choices: [String]? = nil,
         parse: @escaping @Sendable (String) throws(UsageError) -> Value) {
        info = OptionInfo(name: name, short: short, placeholder: placeholder, help: help, hidden: hidden, required: required, repeatable: repeatable,
                          choices: choices, parse: { (text: String) throws(UsageError) -> any Sendable in try parse(text) })
        self.defaultValue = defaultValue
    }

    private init(info: OptionInfo, defaultValue: Value?) {
        self.info = info
        self.defaultValue = defaultValue
    }

    var name: String { info.name }

    /// The same option (same name, same rule) with help worded for one command.
    func help(_ text: String) -> Option {
        Option(info: OptionInfo(name: info.name, short: info.short, placeholder: info.placeholder, help: text, hidden: info.hidden, required: info.required,
                                repeatable: info.repeatable, choices: info.choices, parse: info.parse), defaultValue: defaultValue)
    }

    /// The same option, required by this command.
    func required() -> Option {
        Option(info: OptionInfo(name: info.name, short: info.short, placeholder: info.placeholder, help: info.help, hidden: info.hidden, required: true,
                                repeatable: info.repeatable, choices: info.choices, parse: info.parse), defaultValue: defaultValue)
    }
}

extension Option where Value == String {
    /// A value out of a fixed list (checked at parse time, listed by `--help`).
    init(_ name: String, short: Character? = nil, _ placeholder: String, choices: [String], help: String, hidden: Bool = false) {
        self.init(name, short: short, placeholder, help: help, hidden: hidden, choices: choices, parse: Parse.choice(choices))
    }
}

/// An option without a value.
struct Flag: OptionDeclaration {
    let info: OptionInfo

    init(_ name: String, short: Character? = nil, help: String, hidden: Bool = false) {
        info = OptionInfo(name: name, short: short, placeholder: nil, help: help, hidden: hidden, required: false, repeatable: false, choices: nil,
                          parse: { (_: String) throws(UsageError) -> any Sendable in true })
    }

    var name: String { info.name }

    /// The same flag with help worded for one command.
    func help(_ text: String) -> Flag { Flag(info.name, short: info.short, help: text, hidden: info.hidden) }
}

/// What the command line said, as typed values. Read it through the declarations:
/// `a[Self.threads]`, `a.all(Self.threshold)`, `a[Self.strict]`. Reading an option the command did
/// not declare is a programmer error and traps (a test runs every command's reads).
struct ParsedArguments: Sendable {
    /// `check platform`: the command path, for messages.
    let command: String
    /// The declarations this command line was parsed against, by name.
    let declared: [String: OptionInfo]
    private var parsedValues: [String: [any Sendable]] = [:]
    fileprivate(set) var texts: [String: [String]] = [:]
    fileprivate(set) var flags: Set<String> = []
    /// The operands (words that are not options), in order.
    var positionals: [String] = []
    /// `--help` or `-h` was given.
    var wantsHelp = false

    init(command: String, declared: [any OptionDeclaration]) {
        self.command = command
        var byName: [String: OptionInfo] = [:]
        for d in declared {
            precondition(byName[d.info.name] == nil, "hj212 \(command) declares --\(d.info.name) twice")
            byName[d.info.name] = d.info
        }
        self.declared = byName
    }

    private func declaration(_ name: String) -> OptionInfo {
        guard let info = declared[name] else {
            preconditionFailure("hj212 \(command) reads --\(name), which it does not declare")
        }
        return info
    }

    /// The last value given, else the declaration's default, else nil.
    subscript<V>(_ option: Option<V>) -> V? {
        _ = declaration(option.name)
        guard let last = parsedValues[option.name]?.last else { return option.defaultValue }
        guard let typed = last as? V else { preconditionFailure("--\(option.name) of hj212 \(command) read as \(V.self)") }
        return typed
    }

    /// Every value given, in order (repeatable options).
    func all<V>(_ option: Option<V>) -> [V] {
        _ = declaration(option.name)
        return (parsedValues[option.name] ?? []).map { value in
            guard let typed = value as? V else { preconditionFailure("--\(option.name) of hj212 \(command) read as \(V.self)") }
            return typed
        }
    }

    subscript(_ flag: Flag) -> Bool {
        _ = declaration(flag.name)
        return flags.contains(flag.name)
    }

    /// Whether the command line gave this option (a default does not count).
    func given(_ option: some OptionDeclaration) -> Bool {
        let name = option.info.name
        _ = declaration(name)
        return parsedValues[name] != nil || flags.contains(name)
    }

    /// The text of the last value as typed (for messages that quote it).
    func text<V>(_ option: Option<V>) -> String? {
        _ = declaration(option.name)
        return texts[option.name]?.last
    }

    /// Sets an option from its text, as if given on the command line (for a command that runs
    /// another one's set-up, e.g. `demo --scenario` running simulate's).
    mutating func set<V>(_ option: Option<V>, _ text: String) throws(UsageError) {
        let info = declaration(option.name)
        try record(info, text)
    }

    private mutating func record(_ info: OptionInfo, _ text: String) throws(UsageError) {
        let value: any Sendable
        do { value = try info.parse(text) } catch { throw UsageError("--\(info.name) '\(text)': \(error.message)", exitCode: error.exitCode) }
        parsedValues[info.name, default: []].append(value)
        texts[info.name, default: []].append(text)
    }

    /// Parses `arguments` against `options`: `--name value`, `--name=value`, `-x value`, flags,
    /// `--` to end options, and `-` as an operand (standard input). Every value is parsed and
    /// validated here. An option declared by a sibling subcommand is named as belonging there.
    static func parse(_ arguments: [String], command: String, options: [any OptionDeclaration],
                      siblings: [(command: String, options: [any OptionDeclaration])] = []) throws(UsageError) -> ParsedArguments {
        var parsed = ParsedArguments(command: command, declared: options)
        let infos = options.map(\.info)
        var i = 0
        var onlyPositionals = false
        while i < arguments.count {
            let arg = arguments[i]
            i += 1
            if onlyPositionals || arg == "-" || !arg.hasPrefix("-") || looksNumeric(arg) {
                parsed.positionals.append(arg)
                continue
            }
            if arg == "--" { onlyPositionals = true; continue }
            if arg == "--help" || arg == "-h" { parsed.wantsHelp = true; continue }
            var name: String
            var inline: String?
            if arg.hasPrefix("--") {
                name = String(arg.dropFirst(2))
                if let eq = name.firstIndex(of: "=") {
                    inline = String(name[name.index(after: eq)...])
                    name = String(name[..<eq])
                }
            } else {
                guard arg.count == 2, let match = infos.first(where: { $0.short == arg.last }) else {
                    throw UsageError("unknown option '\(arg)' for 'hj212 \(command)'; see 'hj212 \(command) --help'")
                }
                name = match.name
            }
            guard let info = parsed.declared[name] else {
                if let home = siblings.first(where: { s in s.options.contains { $0.info.name == name } }) {
                    throw UsageError("--\(name) belongs to 'hj212 \(home.command)', not 'hj212 \(command)'; see 'hj212 \(command) --help'")
                }
                let close = infos.map(\.name).filter { $0.hasPrefix(String(name.prefix(3))) }
                let hint = close.isEmpty ? "" : " (did you mean --\(close[0])?)"
                throw UsageError("unknown option '--\(name)' for 'hj212 \(command)'\(hint); see 'hj212 \(command) --help'")
            }
            if let placeholder = info.placeholder {
                let value: String
                if let inline { value = inline } else {
                    guard i < arguments.count else { throw UsageError("--\(name) needs a value (\(placeholder))") }
                    value = arguments[i]
                    i += 1
                }
                try parsed.record(info, value)
            } else {
                if inline != nil { throw UsageError("--\(name) takes no value") }
                parsed.flags.insert(name)
            }
        }
        if !parsed.wantsHelp, let missing = infos.first(where: { $0.required && parsed.parsedValues[$0.name] == nil }) {
            throw UsageError("--\(missing.name) \(missing.placeholder ?? "") is required")
        }
        return parsed
    }

    static func looksNumeric(_ arg: String) -> Bool {
        arg.count > 1 && arg.dropFirst().allSatisfy { $0.isNumber || $0 == "." }
    }
}

/// A command: a small value with its options declared next to its `run()`. A command with
/// `subcommands` is a group: `hj212 check logger …` runs `CheckLogger`, and each subcommand
/// declares its own options.
protocol CLICommand: Sendable {
    /// The word that selects it (`check`, or `logger` for a subcommand).
    static var name: String { get }
    static var abstract: String { get }
    /// The operands after the name in the usage line (`HOST:PORT`, `[FILE…|-]`); options are added from `options`.
    static var operands: String { get }
    static var options: [any OptionDeclaration] { get }
    static var subcommands: [any CLICommand.Type] { get }
    /// Not listed by `--help` and the reference (an internal helper process, e.g. `bench pingpong-server`).
    static var hidden: Bool { get }
    /// Longer explanation and examples, shown by `--help`.
    static var discussion: String { get }
    init(_ arguments: ParsedArguments) throws(UsageError)
    func run(_ io: CommandIO) -> Int32
}

extension CLICommand {
    static var operands: String { "" }
    static var subcommands: [any CLICommand.Type] { [] }
    static var discussion: String { "" }
    static var hidden: Bool { false }

    /// The subcommands `--help` and the reference list.
    static var shownSubcommands: [any CLICommand.Type] { subcommands.filter { !$0.hidden } }

    /// Whether the command runs on its own (not only through a subcommand): it has options or operands.
    static var runsAlone: Bool { subcommands.isEmpty || !options.isEmpty || !operands.isEmpty }

    /// The usage line after `hj212 `, generated from the declarations.
    static func usage(path: String) -> String {
        var parts = [path]
        if !operands.isEmpty { parts.append(operands) }
        for o in options.map(\.info) where !o.hidden {
            var word = "--\(o.name)" + (o.placeholder.map { " \($0)" } ?? "")
            if !o.required { word = "[\(word)]" }
            if o.repeatable { word += "…" }
            parts.append(word)
        }
        return "hj212 " + parts.joined(separator: " ")
    }

    /// The usage lines: the command's own, then one per subcommand.
    static func usageLines(path: String) -> [String] {
        (runsAlone ? [usage(path: path)] : []) + shownSubcommands.map { $0.usage(path: path + " " + $0.name) }
    }

    /// `--help`, generated from the declarations.
    static func help(path: String) -> String {
        var text = "\(abstract)\n\nUSAGE: " + usageLines(path: path).joined(separator: "\n       ") + "\n"
        if !shownSubcommands.isEmpty {
            text += "\nSUBCOMMANDS:\n"
            let width = (shownSubcommands.map { $0.name.count }.max() ?? 0) + 4
            for s in shownSubcommands { text += "  " + s.name.padding(toLength: width, withPad: " ", startingAt: 0) + s.abstract + "\n" }
            text += "\nSee 'hj212 \(path) SUBCOMMAND --help' for a subcommand's options.\n"
        }
        let all = options.map(\.info).filter { !$0.hidden } + [Flag("help", short: "h", help: "Show this help.").info]
        text += "\nOPTIONS:\n"
        let labels = all.map { o -> String in
            var l = (o.short.map { "-\($0), " } ?? "    ") + "--\(o.name)"
            if let v = o.placeholder { l += " \(v)" }
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

    /// Parses the arguments of this command (its path in `path`; `siblings`: the other subcommands of its group).
    static func parse(_ arguments: [String], path: String, siblings: [(command: String, options: [any OptionDeclaration])] = []) throws(UsageError) -> ParsedArguments {
        try ParsedArguments.parse(arguments, command: path, options: options, siblings: siblings)
    }

    /// Parses as a top-level command (tests and commands that run another's set-up).
    static func parse(_ arguments: [String]) throws(UsageError) -> ParsedArguments {
        try parse(arguments, path: name)
    }

    /// "expected 'bench codec', 'bench live' …": for a group run without a subcommand.
    static func expectedSubcommand(path: String) -> UsageError {
        UsageError("expected " + shownSubcommands.map { "'\(path) \($0.name)'" }.joined(separator: ", ") + "; see 'hj212 \(path) --help'")
    }
}
