/// Migration shim (removed once every command declares typed options): an option declared the
/// old way, read by name.
struct OptionSpec: OptionDeclaration {
    let info: OptionInfo

    init(_ name: String, short: Character? = nil, value: String? = nil, choices: [String]? = nil, hidden: Bool = false, help: String) {
        let check: (@Sendable (String) throws(UsageError) -> String)? = choices.map { Parse.choice($0) }
        let parse: @Sendable (String) throws(UsageError) -> any Sendable = { (s: String) throws(UsageError) -> any Sendable in
            if let check { return try check(s) }
            return s
        }
        info = OptionInfo(name: name, short: short, placeholder: value, help: help, hidden: hidden, required: false, repeatable: false, choices: choices, parse: parse)
    }
}

extension ParsedArguments {
    func value(_ name: String) -> String? {
        precondition(declared[name] != nil, "hj212 \(command) reads --\(name), which it does not declare")
        return texts[name]?.last
    }

    func has(_ name: String) -> Bool {
        precondition(declared[name] != nil, "hj212 \(command) reads --\(name), which it does not declare")
        return flags.contains(name)
    }

    var values: [String: [String]] { texts }
}
