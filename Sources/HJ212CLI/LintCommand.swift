import Glibc
import HJ212

/// `hj212 lint`: find every frame in a byte stream and judge it.
struct LintCommand: CLICommand {
    static let name = "lint"
    static let abstract = "Check HJ 212 frames in a byte stream against the standard."
    static let operands = "[FILE…|-]"
    static let options: [any OptionDeclaration] = [
        Shared.dialect.help("Judge every packet by this dialect; auto (default) takes each packet's own version bits."),
        Shared.profile,
        Shared.profiles.help("Directory of profile files overriding the built-in code tables (same layout as Profiles/)."),
        Shared.strict.help("Certification mode: defects that field devices commonly show (CRC variants, oversize records, missing CR LF) count as errors, and warnings fail the run."),
        format, quiet,
    ]
    static let format = Option("format", "F", choices: ["text", "json"], help: "text for people (default); json: one JSON object per line per frame, skipped run or incomplete tail.")
    static let quiet = Flag("quiet", short: "q", help: "Text format: list only frames that have findings.")
    static let discussion = """
    Reads the files (standard input when none or '-') as raw bytes: frames one per line or run
    together, with noise between them. Every '##' is resynchronised on; skipped bytes and a
    truncated tail are reported with their byte offsets. A JSON Lines trace (as written by serve,
    simulate, demo and generate --format trace) is recognised and its "frame" fields judged; raw
    frames among its lines are judged as raw bytes.

    EXIT STATUS: 0 no errors (warnings allowed unless --strict), 1 errors found or no frame at
    all, 2 bad usage or unreadable input.

    EXAMPLES:
      hj212 lint capture.txt
      hj212 lint --strict --format json < capture.raw | jq 'select(.diagnostics != [])'
      printf '##0101QN=…&&1C80\\r\\n' | hj212 lint -
    """

    var files: [String]
    var dialect: Dialect?
    var strict: Bool
    var json: Bool
    var quiet: Bool
    var profiles: String?
    var profile: String?

    init(_ a: ParsedArguments) throws(UsageError) {
        files = a.positionals
        dialect = dialectOption(a[Shared.dialect])
        strict = a[Shared.strict]
        json = a[Self.format] == "json"
        quiet = a[Self.quiet]
        profiles = a[Shared.profiles]
        profile = a[Shared.profile]
    }

    func run(_ io: CommandIO) -> Int32 {
        do {
            let linter = try makeLinter(dialect: dialect, strict: strict, profiles: profiles, profile: profile)
            var inputs = try InputFile.openAll(files, io: io)
            let multiple = inputs.count > 1
            var writer = JSONWriter(capacity: 1 << 16)
            let item = ByteBuffer(capacity: 1 << 16)
            let textLine = ByteBuffer(capacity: 4096)
            let scratch = ByteBuffer(capacity: 1024)
            let names = CommandNames()
            let fast: (String, ByteLinter) -> Void = { file, r in
                if json {
                    item.removeAll()
                    writeJSON(fast: r, file: multiple ? file : nil, to: item, scratch: scratch)
                    item.withBytes { io.stdout.write(bytes: $0) }
                } else {
                    printText(fast: r, file: multiple ? file : nil, io: io, line: textLine, scratch: scratch, names: names)
                }
            }
            // HJ212_LINT_REFERENCE set: every frame through `Linter.check` (the oracle the tests compare with).
            let reference = getenv("HJ212_LINT_REFERENCE") != nil
            let (totals, interrupted) = try lintStreams(&inputs, linter: linter, io: io, verb: "lint", fast: reference ? nil : fast) { file, item in
                if json {
                    writer.reset()
                    writeJSON(item, file: multiple ? file : nil, to: &writer)
                    io.stdout.write(bytes: writer.bytes)
                } else {
                    printText(item, file: multiple ? file : nil, io: io, line: textLine)
                }
            }
            if !json {
                io.stdout.line((interrupted ? "interrupted: " : "") + totals.summary)
            } else if interrupted {
                io.stderr.line("hj212 lint: interrupted; " + totals.summary)
            }
            io.stdout.flush()
            if interrupted { return Interrupts.exitStatus }
            // The command contract: no frame at all is a failure (1), said in one line.
            if totals.frames == 0 {
                io.stderr.line("hj212 lint: no frame found in the input (\(totals.bytes) byte\(totals.bytes == 1 ? "" : "s") read): nothing to judge")
                return 1
            }
            return totals.errors > 0 || (strict && totals.warnings > 0) ? 1 : 0
        } catch {
            io.stdout.flush()
            io.stderr.line("hj212 lint: \(safeMessage(error.message))")
            return error.exitCode
        }
    }

    /// `printText` for a frame judged by the byte path: the same lines, values copied from the
    /// frame's bytes (printable ASCII there), messages written into `scratch` and shown safe.
    func printText(fast r: ByteLinter, file: String?, io: CommandIO, line out: ByteBuffer, scratch: ByteBuffer, names: CommandNames) {
        if quiet && r.diagnostics.isEmpty { return }
        out.removeAll()
        if let file { out.append(string: file); out.append(": ") }
        let diagnostics = r.diagnostics
        let status: StaticString = r.hasErrors ? "ERROR" : diagnostics.contains { $0.severity == .warning } ? "warn" : "ok"
        out.append(UInt8(ascii: "#"))
        out.appendDecimal(r.index)
        out.append(" @")
        out.appendDecimal(r.frame.offset)
        out.append(0x20)
        out.append(status)
        r.frame.bytes.withUnsafeBufferPointer { buf in
            func field(_ range: Range<Int>?, _ absent: StaticString) {
                if let range {
                    // The byte path takes only segments of printable ASCII (`ByteLinter.run`'s first
                    // check), so a value within the limit is shown as it is; a longer one is cut.
                    if range.count <= TerminalLimits.value {
                        out.append(UnsafeBufferPointer(rebasing: buf[range]))
                        return
                    }
                    TerminalText.appendSafe(validUTF8: UnsafeBufferPointer(rebasing: buf[range]), limit: TerminalLimits.value, to: out)
                } else {
                    out.append(absent)
                }
            }
            out.append(" CN=")
            field(r.headerValue(2), "?")
            if let cn = r.headerValue(2) { names.appendName(r.dialect, UnsafeBufferPointer(rebasing: buf[cn]), to: out) }
            out.append(" MN=")
            field(r.headerValue(4), "?")
            out.append(" QN=")
            field(r.headerValue(0), "-")
        }
        out.append(" [")
        out.append(r.detectedDialect.titleText)
        out.append("]\n")
        let safeMessages = !diagnostics.isEmpty && r.messagesAreTerminalSafe
        for d in diagnostics {
            out.append("    ")
            appendDiagnosticPrefix(d.severity, d.rule, d.offset, to: out)
            scratch.removeAll()
            r.appendMessage(d, to: scratch)
            // Nothing to escape, and no more bytes than the limit allows characters: as it is.
            if safeMessages && scratch.count <= TerminalLimits.message {
                scratch.withBytes { out.append($0) }
            } else {
                scratch.withBytes { TerminalText.appendSafe(validUTF8: $0, limit: TerminalLimits.message, to: out) }
            }
            out.append(0x0A)
        }
        out.withBytes { io.stdout.write(bytes: $0) }
    }

    /// `severity rule[ @offset]: `, the start of a diagnostic line of the text output (the byte
    /// path and the reference path write the same lines).
    func appendDiagnosticPrefix(_ severity: Severity, _ rule: String, _ offset: Int?, to out: ByteBuffer) {
        out.append(severity.text)
        out.append(0x20)
        out.append(string: rule)
        if let offset {
            out.append(" @")
            out.appendDecimal(offset)
        }
        out.append(": ")
    }

    /// Writes the text form of one item as bytes into `line` (reused) and hands them to stdout:
    /// no interpolated `String` per line. Wire-derived text (MN, QN, CN, messages) goes through
    /// `TerminalText.appendSafe`, bounded as before.
    func printText(_ item: LintItem, file: String?, io: CommandIO, line out: ByteBuffer) {
        out.removeAll()
        func diagnosticLine(_ d: Diagnostic) {
            appendDiagnosticPrefix(d.severity, d.rule, d.offset, to: out)
            TerminalText.appendSafe(d.message, limit: TerminalLimits.message, to: out)
            out.append(0x0A)
        }
        if let file { out.append(string: file); out.append(": ") }
        switch item {
        case .frame(let r):
            if quiet && r.diagnostics.isEmpty { return }
            let status = r.hasErrors ? "ERROR" : r.diagnostics.contains { $0.severity == .warning } ? "warn" : "ok"
            let s = r.segment
            let dictionary = CodeDictionary.shared(r.dialect)
            // MN, QN, CN and messages come from the wire: shown safe and bounded.
            out.append(UInt8(ascii: "#"))
            out.appendDecimal(r.index)
            out.append(" @")
            out.appendDecimal(r.raw.offset)
            out.append(0x20)
            out.append(string: status)
            out.append(" CN=")
            TerminalText.appendSafe(s.cn ?? "?", limit: TerminalLimits.value, to: out)
            if let command = s.cn.flatMap({ dictionary.command($0) }) {
                out.append(0x20)
                out.append(string: command.nameZh)
            }
            out.append(" MN=")
            TerminalText.appendSafe(s.mn ?? "?", limit: TerminalLimits.value, to: out)
            out.append(" QN=")
            TerminalText.appendSafe(s.qn ?? "-", limit: TerminalLimits.value, to: out)
            out.append(" [")
            out.append(r.detectedDialect.titleText)
            out.append("]\n")
            for d in r.diagnostics {
                out.append("    ")
                diagnosticLine(d)
            }
        case .skipped(_, let d), .incomplete(_, let d):
            diagnosticLine(d)
        }
        out.withBytes { io.stdout.write(bytes: $0) }
    }
}

/// The text output's ` 中文名` after CN: `CodeDictionary.shared(dialect).command(cn)?.nameZh`,
/// looked up once per dialect and 4-digit CN in a run (bounded: 4 × 10,000 keys at most), any
/// other CN every time.
final class CommandNames {
    private var names: [Int: [UInt8]?] = [:]

    func appendName(_ dialect: Dialect, _ cn: UnsafeBufferPointer<UInt8>, to out: ByteBuffer) {
        var key = -1
        if cn.count == 4 {
            key = 0
            for b in cn {
                let d = b &- 48
                guard d < 10 else { key = -1; break }
                key = key * 10 + Int(d)
            }
            if key >= 0 {
                switch dialect {
                case .hj2005: key += 10_000
                case .hj2017: break
                case .hj2025: key += 20_000
                case .unknown: key += 30_000
                }
            }
        }
        let name: [UInt8]?
        if key >= 0, let known = names[key] {
            name = known
        } else {
            name = CodeDictionary.shared(dialect).command(String(decoding: cn, as: UTF8.self)).map { Array($0.nameZh.utf8) }
            if key >= 0 { names[key] = name }
        }
        if let name {
            out.append(0x20)
            out.append(name)
        }
    }
}
