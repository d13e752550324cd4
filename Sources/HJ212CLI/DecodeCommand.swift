import HJ212

/// `hj212 decode`: the frames of a stream explained field by field, in Chinese and English.
struct DecodeCommand: CLICommand {
    static let name = "decode"
    static let abstract = "Explain HJ 212 frames field by field, with code names in Chinese and English."
    static let operands = "[FILE…|-]"
    static let options: [any OptionDeclaration] = [
        Shared.dialect,
        Shared.strict.help("Judge findings as in certification (see 'hj212 lint --help')."),
        Shared.profile,
        Shared.profiles.help("Directory of profile files overriding the built-in code tables."),
    ]
    static let discussion = """
    EXIT STATUS: 0 every frame explained without an error; 1 a frame with an error, or no frame
    at all in the input; 2 bad usage or an unreadable file; 130/143 interrupted.

    EXAMPLE:
      echo '##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&1C80' | hj212 decode
    """

    var files: [String]
    var dialect: Dialect?
    var strict: Bool
    var profiles: String?
    var profile: String?

    init(_ a: ParsedArguments) throws(UsageError) {
        files = a.positionals
        dialect = dialectOption(a[Shared.dialect])
        strict = a[Shared.strict]
        profiles = a[Shared.profiles]
        profile = a[Shared.profile]
    }

    func run(_ io: CommandIO) -> Int32 {
        do {
            let linter = try makeLinter(dialect: dialect, strict: strict, profiles: profiles, profile: profile)
            var inputs = try InputFile.openAll(files, io: io)
            let (totals, interrupted) = try lintStreams(&inputs, linter: linter, io: io, verb: "decode") { file, item in
                switch item {
                case .frame(let report):
                    // Field values come from the wire: control characters shown as escapes.
                    io.stdout.write(TerminalText.safeLines(Explainer(dictionary: linter.dictionary(report.dialect)).explain(report)))
                case .skipped(_, let d), .incomplete(_, let d):
                    io.stdout.line("\(d.severity.rawValue) \(d.rule)\(d.offset.map { " @\($0)" } ?? ""): \(TerminalText.safe(d.message, limit: TerminalLimits.message))")
                    io.stdout.line()
                }
            }
            io.stdout.line((interrupted ? "interrupted: " : "") + totals.summary)
            if interrupted { return Interrupts.exitStatus }
            // As lint: no frame at all is nothing explained (1), said in one line.
            if totals.frames == 0 {
                io.stderr.line("hj212 decode: no frame found in the input (\(totals.bytes) byte\(totals.bytes == 1 ? "" : "s") read): nothing to explain")
                return 1
            }
            return totals.errors > 0 ? 1 : 0
        } catch {
            io.stderr.line("hj212 decode: \(safeMessage(error.message))")
            return error.exitCode
        }
    }
}

/// Turns a judged frame into an explanation for a person.
struct Explainer {
    let dictionary: CodeDictionary

    func pad(_ s: String, _ width: Int) -> String {
        let w = s.unicodeScalars.reduce(0) { $0 + ($1.value >= 0x1100 ? 2 : 1) }
        return w >= width ? s + " " : s + String(repeating: " ", count: width - w)
    }

    func fieldName(_ name: String, suffix: Bool) -> String {
        let info = suffix ? dictionary.suffixFields[name] : dictionary.fields[name]
        guard let info else { return "" }
        return [info.nameZh, info.nameEn].filter { !$0.isEmpty }.joined(separator: " ")
    }

    func timeText(_ value: String) -> String? {
        HJTime(value, allowMilliseconds: true).map { $0.description }
    }

    func headerMeaning(_ field: Field, _ segment: DataSegment) -> String {
        let v = field.value
        switch field.name {
        case "QN": return timeText(v) ?? "not a YYYYMMDDhhmmsszzz time stamp"
        case "ST":
            guard let s = dictionary.system(v) else { return "unknown system code" }
            return "\(s.nameZh) \(s.nameEn)"
        case "CN":
            guard let c = dictionary.command(v) else { return "unknown command" }
            let kinds = [c.down.isEmpty ? nil : "platform→logger \(c.down)", c.up.isEmpty ? nil : "logger→platform \(c.up)"].compactMap { $0 }
            return "\(c.nameZh) \(c.nameEn) (\(kinds.joined(separator: ", ")))"
        case "Flag":
            guard let f = segment.flag else { return "not a number" }
            let version = ["HJ/T 212-2005", "HJ 212-2017", "HJ 212-2025"].indices.contains(f.version)
                ? ["HJ/T 212-2005", "HJ 212-2017", "HJ 212-2025"][f.version] : "version \(f.version)"
            return "\(version); \(f.isSplit ? "split (PNUM/PNO)" : "not split"); \(f.needsAck ? "answer required (A=1)" : "no answer (A=0)")"
        default: return ""
        }
    }

    func valueMeaning(code: String?, field: String, value: String) -> String {
        switch field {
        case "Flag" where code != nil:
            return dictionary.dataFlags[value].map { "\($0.nameZh) \($0.nameEn)" } ?? "unknown flag"
        case "DataTime", "SystemTime", "BeginTime", "EndTime", "RestartTime", "SampleTime":
            return timeText(value) ?? "not a valid time"
        case "QnRtn": return dictionary.qnRtn[value].map { "\($0.nameZh) \($0.nameEn)" } ?? "unknown"
        case "ExeRtn": return dictionary.exeRtn[value].map { "\($0.nameZh) \($0.nameEn)" } ?? "unknown"
        case "PolId", "InfoId": return dictionary.factor(value)?.label ?? "unknown code"
        case "RS": return dictionary.infoValues["SB-RS"]?[value].map { "\($0.nameZh) \($0.nameEn)" } ?? ""
        case "Info":
            if let code, let e = dictionary.infoValues[code]?[value] { return "\(e.nameZh) \(e.nameEn)" }
            if let code, let f = dictionary.factor(code), !f.unit.isEmpty { return f.unit }
            return ""
        case "Cou":
            if let code, let f = dictionary.factor(code), !f.couUnit.isEmpty { return f.couUnit }
            return ""
        case "Rtd", "Min", "Avg", "Max", "ZsRtd", "ZsMin", "ZsAvg", "ZsMax":
            if let code, let f = dictionary.factor(code), !f.unit.isEmpty { return f.unit }
            if let code, let e = ElectricityCodes.shared.parse(code) { return e.quantity.unit }
            return ""
        default: return ""
        }
    }

    func explain(_ r: FrameReport) -> String {
        let s = r.segment
        var out = "Frame \(r.index) at byte \(r.raw.offset): \(r.raw.segment.count)-byte data segment, "
        out += "CRC \(r.crc.declared) \(r.crc.ok ? "ok" : r.crc.variant.map { "(\($0.rawValue), expected \(r.crc.computed))" } ?? "WRONG (expected \(r.crc.computed))"), "
        out += "\(r.detectedDialect.title)\n"
        for field in s.header {
            let meaning = [fieldName(field.name, suffix: false), headerMeaning(field, s)].filter { !$0.isEmpty }.joined(separator: ": ")
            out += "  " + pad(field.name, 6) + pad(field.value, 26) + meaning + "\n"
        }
        guard let cp = s.cp else { return out + diagnosticsText(r) }
        out += "  CP" + (cp.isEmpty ? " (empty)" : "") + "\n"
        for group in cp {
            var currentCode: String?
            for field in group {
                if field.name.isEmpty {
                    out += "    (opaque) \(field.value.prefix(80))\n"
                    continue
                }
                if let dash = field.name.lastIndex(of: "-") {
                    let code = String(field.name[..<dash]), name = String(field.name[field.name.index(after: dash)...])
                    if code != currentCode {
                        currentCode = code
                        let title: String
                        if let f = dictionary.factor(code) { title = f.label }
                        else if let e = ElectricityCodes.shared.label(code) { title = e + " (HJ 212-2025 ST=44 用电监控)" }
                        else if code.hasPrefix("SB") { title = "\(code) 污染治理设施 treatment facility \(code.dropFirst(2))" }
                        else { title = "\(code) (not in Appendix B)" }
                        out += "    \(title)\n"
                    }
                    let meaning = [fieldName(name, suffix: true), valueMeaning(code: code, field: name, value: field.value)].filter { !$0.isEmpty }.joined(separator: ": ")
                    out += "      " + pad(name, 12) + pad(field.value, 18) + meaning + "\n"
                } else {
                    currentCode = nil
                    let meaning = [fieldName(field.name, suffix: false), valueMeaning(code: nil, field: field.name, value: field.value)].filter { !$0.isEmpty }.joined(separator: ": ")
                    out += "    " + pad(field.name, 14) + pad(field.value, 18) + meaning + "\n"
                }
            }
        }
        return out + diagnosticsText(r)
    }

    func diagnosticsText(_ r: FrameReport) -> String {
        var out = ""
        for d in r.diagnostics {
            out += "  \(d.severity.rawValue) \(d.rule)\(d.offset.map { " @\($0)" } ?? ""): \(TerminalText.safe(d.message, limit: TerminalLimits.message))\n"
        }
        return out + "\n"
    }
}
