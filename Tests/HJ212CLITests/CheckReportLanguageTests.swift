import Foundation
import HJ212
import HJConformance
import Testing
@testable import HJ212CLI
import TestSupport

/// A report in the chosen language is wholly in that language: codes (CN=2011, check IDs, rule
/// IDs, MNs, numbers, units) stay as they are, prose does not. Each test prints the offending
/// lines, one issue per line, so that a failure says what is still untranslated.
@Suite("a --lang zh report is wholly in Chinese, a --lang en report wholly in English")
struct CheckReportLanguageTests {
    /// What a Chinese report may hold in Latin letters besides what `hasEnglish` already takes
    /// out (protocol field names, rule IDs, CRCs): identifiers, not words.
    static func identifiersRemoved(_ line: String, _ catalogue: RuleCatalogue) -> String {
        var rest = line
        // By design (docs/certification.md, "Language") a title shows both languages, the chosen one first.
        for r in catalogue.rules { rest = rest.replacingOccurrences(of: "\(r.titleZh) / \(r.titleEn)", with: r.titleZh) }
        rest = rest.replacing(/\b[PL]-[A-Z0-9-]+/, with: "")            // check IDs (P-CMD-FORM)
        rest = rest.replacing(/--[a-z][a-z0-9-]*/, with: "")            // command-line options (--only)
        rest = rest.replacing(/national-20(17|25)|jiangsu/, with: "")  // profile names
        rest = rest.replacing(/\b(MUST|SHOULD|MAY)\b/, with: "")         // levels
        rest = rest.replacing(#/^hj212 check (platform|logger) /#, with: "")  // the command, echoed as the first line
        rest = rest.replacing(/\bhj212\b/, with: "")                     // the tool
        // Field names, formats and protocol names the standard spells so (RestartTime, O2ref, Modbus).
        for t in ["RestartTime", "YYYYMMDDhhmmsszzz", "ZsAvg", "O2ref", "ADSL", "MODBUS", "Modbus"] { rest = rest.replacingOccurrences(of: t, with: "") }
        // A wire line's packet is data, not prose (`+0.642s ↑ ##1008QN=…`, or after a label:
        // `↑ 一次写入：##0200QN=…`); the label stays, to be judged.
        rest = rest.replacing(/##[0-9]{4}.*$/, with: "")
        return rest
    }

    /// The lines of `report` that still hold an English word (`hasEnglish`) once identifiers are out.
    static func englishLines(_ report: String, _ catalogue: RuleCatalogue) -> [String] {
        report.split(separator: "\n").map(String.init).filter { hasEnglish(identifiersRemoved($0, catalogue)) }
    }

    /// Records one issue per offending line (the first 40), so that a failure shows them all.
    static func expectNone(_ lines: [String], _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        for line in lines.prefix(40) { Issue.record("\(what): \(line)", sourceLocation: sourceLocation) }
        if lines.count > 40 { Issue.record("\(what): \(lines.count - 40) more lines", sourceLocation: sourceLocation) }
    }

    /// The prose of an HTML page: text between tags, entities decoded, style sheet left out.
    static func htmlText(_ html: String) -> String {
        var s = html.replacing(/(?s)<style.*?<\/style>/, with: "")
        s = s.replacing(/<[^>]*>/, with: "\n")
        for (entity, ch) in [("&lt;", "<"), ("&gt;", ">"), ("&quot;", "\""), ("&#39;", "'"), ("&amp;", "&")] { s = s.replacingOccurrences(of: entity, with: ch) }
        return s
    }

    /// The run's `<property>` entries that are machine values for CI tools (as in the JSON report:
    /// `strict="true"`, `verdict="fail"`), not prose; the facts' values are prose.
    static let machineProperties: Set<String> = ["address", "profile", "strict", "verdict", "coverage", "score", "outcome", "reachable", "interrupted", "catalogue"]

    /// The prose of a JUnit file: text content, `message=` attributes, test case names and the
    /// facts' values. Element and attribute names, suite and class names, `<property>` keys and
    /// the machine properties are identifiers for CI tools.
    static func junitText(_ xml: String) -> String {
        var parts: [String] = []
        for m in xml.matches(of: /message="([^"]*)"/) { parts.append(String(m.1)) }
        for m in xml.matches(of: /<testcase [^>]*name="([^"]*)"/) { parts.append(String(m.1)) }
        for m in xml.matches(of: /<property name="([^"]*)" value="([^"]*)"/) where !machineProperties.contains(String(m.1)) { parts.append(String(m.2)) }
        parts.append(xml.replacing(/<[^>]*>/, with: "\n"))
        var s = parts.joined(separator: "\n")
        for (entity, ch) in [("&lt;", "<"), ("&gt;", ">"), ("&quot;", "\""), ("&apos;", "'"), ("&#10;", "\n"), ("&amp;", "&")] { s = s.replacingOccurrences(of: entity, with: ch) }
        return s
    }

    /// Lines with a CJK character other than those the English report shows by design: the
    /// Chinese title after the English one, and the Chinese terms the catalogue's clauses quote
    /// from the standard (`§6.5 (上传命令)`).
    static func chineseLines(_ report: String, _ catalogue: RuleCatalogue) -> [String] {
        report.split(separator: "\n").map(String.init).filter { line in
            var rest = line
            for r in catalogue.rules { rest = rest.replacingOccurrences(of: "\(r.titleEn) / \(r.titleZh)", with: r.titleEn) }
            // Longest first: one clause can begin another (§6.3.1 Table 2).
            for clause in catalogue.rules.map(\.clause).sorted(by: { $0.count > $1.count }) { rest = rest.replacingOccurrences(of: clause, with: "") }
            return rest.unicodeScalars.contains { (0x3000...0x9FFF).contains($0.value) || (0xFF00...0xFFEF).contains($0.value) }
        }
    }

    /// `check platform` against a platform that answers every upload in the 2017 form and sends
    /// no command of its own, in `format` and `lang`; the report as written.
    static func platformReport(format: String, lang: String) throws -> String {
        let platform = try WirePlatform.answering { s in WirePlatform.form2017(s) }
        defer { platform.stop() }
        let path = temporaryPath(".\(format)")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = hj212(["check", "platform", "127.0.0.1:\(platform.port)", "--mn", WirePlatform.mn, "--pw", WirePlatform.pw, "--overtime", "0.3",
                       "--command-window", "0.5", "--loggers", "2", "--format", format, "--out", path, "--lang", lang])
        #expect(r.status == 1 || r.status == 3, "\(r.out)\(r.err)")
        return try String(contentsOfFile: path, encoding: .utf8)
    }

    static func prose(_ report: String, format: String) -> String {
        switch format {
        case "html": htmlText(report)
        case "junit": junitText(report)
        default: report
        }
    }

    @Test("check platform, a platform that sends no commands: the Chinese report has no English", arguments: ["text", "html", "junit"])
    func platformChinese(_ format: String) async throws {
        let catalogue = try RuleCatalogue.load()
        let report = try await offPool { try Self.platformReport(format: format, lang: "zh") }
        #expect(report.contains("P-CMD-FORM"))
        Self.expectNone(Self.englishLines(Self.prose(report, format: format), catalogue), "English in the Chinese \(format) report")
    }

    @Test("check platform, a platform that sends no commands: the English report has no Chinese", arguments: ["text", "html", "junit"])
    func platformEnglish(_ format: String) async throws {
        let catalogue = try RuleCatalogue.load()
        let report = try await offPool { try Self.platformReport(format: format, lang: "en") }
        #expect(report.contains("P-CMD-FORM"))
        Self.expectNone(Self.chineseLines(Self.prose(report, format: format), catalogue), "Chinese in the English \(format) report")
    }

    /// `check logger` against the scripted logger (history records reusing the request QN, every
    /// request answered 9011/9012): failures, warnings, not-exercised checks and wire logs.
    @Test("check logger, a scripted logger: the Chinese report has no English, the English one no Chinese (text, HTML, JUnit)")
    func logger() async throws {
        let catalogue = try RuleCatalogue.load()
        let run = try await offPool { try ScriptedLogger.run(only: ["L-CONNECT", "L-BOOT", "L-QN", "L-CMD-1011", "L-CMD-1061", "L-CMD-2051", "L-CMD-EMPTY", "L-REPLY-FORM"], window: 1) }
        #expect(run.results.contains { $0.verdict == .fail }, "\(CheckLoggerTests.describe(run))")
        for format in [ReportFormat.text, .html, .junit] {
            let zh = Self.prose(CheckReport.render(run, format: format, lang: .zh), format: format.rawValue)
            Self.expectNone(Self.englishLines(zh, catalogue), "English in the Chinese \(format.rawValue) report")
            let en = Self.prose(CheckReport.render(run, format: format, lang: .en), format: format.rawValue)
            Self.expectNone(Self.chineseLines(en, catalogue), "Chinese in the English \(format.rawValue) report")
        }
    }

    @Test("every check of the catalogue has its clause and its exercise in Chinese")
    func catalogueChinese() throws {
        let catalogue = try RuleCatalogue.load()
        for r in catalogue.rules {
            #expect(!r.clauseZh.isEmpty && !r.exerciseZh.isEmpty, "\(r.id): clause_zh or exercise_zh missing")
            let english = [r.clauseZh, r.exerciseZh].filter { hasEnglish(Self.identifiersRemoved($0, catalogue)) }
            #expect(english.isEmpty, "\(r.id): \(english)")
        }
    }
}
