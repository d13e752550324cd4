import Foundation
import HJ212

/// Message templates of the checks in both languages (`Profiles/checks/messages.json`), so that a
/// `--lang zh` report says in Chinese what was expected and what was seen.
///
/// A template's `en` is the English message with `{1}`, `{2}` … where the run puts its values;
/// `zh` says the same with the same placeholders (in any order). A check's message is written
/// in English (JSON reports keep it, for machines); a report in Chinese shows the first template
/// whose `en` matches it, filled in, and the English message when none does.
///
/// ```swift
/// let m = MessageCatalogue(templates: [("connected from {1}", "已从 {1} 连接")])
/// m.localized("connected from 127.0.0.1:5000", .zh)   // "已从 127.0.0.1:5000 连接"
/// ```
public struct MessageCatalogue: Sendable {
    struct Template: Sendable {
        /// The literal pieces of `en` around its placeholders, and the placeholder numbers in order.
        var pieces: [String]
        var slots: [Int]
        var zh: String
    }

    var templates: [Template] = []
    /// Templates whose `en` is all literal, by text (the common case, looked up at once).
    var exact: [String: String] = [:]
    /// Names of the facts a run reports (`"facts": {"logger": "数采仪", …}`), in Chinese.
    var factNames: [String: String] = [:]

    public init(templates: [(en: String, zh: String)] = []) {
        for t in templates { add(en: t.en, zh: t.zh) }
    }

    mutating func add(en: String, zh: String) {
        var pieces: [String] = []
        var slots: [Int] = []
        var rest = Substring(en)
        while let open = rest.range(of: "{"), let close = rest[open.upperBound...].firstIndex(of: "}"),
              let n = Int(rest[open.upperBound..<close]) {
            pieces.append(String(rest[..<open.lowerBound]))
            slots.append(n)
            rest = rest[rest.index(after: close)...]
        }
        pieces.append(String(rest))
        if slots.isEmpty { exact[en] = zh } else { templates.append(Template(pieces: pieces, slots: slots, zh: zh)) }
    }

    public var count: Int { templates.count + exact.count }

    /// A fact's name in the report language (the English name when the file gives none).
    public func factName(_ name: String, _ lang: ReportLanguage) -> String {
        lang == .zh ? (factNames[name] ?? name) : name
    }

    /// The message in the language asked for (English messages are returned as they are).
    public func localized(_ message: String, _ lang: ReportLanguage) -> String {
        guard lang == .zh, !message.isEmpty else { return message }
        return localized(message, depth: 0)
    }

    /// A value put into a template can itself be a message or a `; `-separated list of evidence
    /// items (`2011 answered with ST=32, expected 91; …`, or a quoted linter diagnostic): each item
    /// is localized too, two levels deep at most.
    ///
    /// A linter finding quoted after its rule ID (`frame.crc-mismatch: declared CRC …`, as the
    /// platform suite's problems and a logger check's noise notes quote it) keeps the ID and has
    /// its message localized; a message of `; `-separated items that no template takes whole (a
    /// linter diagnostic: `CRC '2570' is CRC-16/MODBUS; the HJ 212 CRC is '17C0'`) is localized
    /// item by item, as it is when it fills a placeholder.
    func localized(_ message: String, depth: Int) -> String {
        if let zh = exact[message] { return zh }
        if let colon = message.range(of: ": "), Rules.rule(id: String(message[..<colon.lowerBound])) != nil {
            let rest = String(message[colon.upperBound...])
            return message[..<colon.lowerBound] + "：" + (depth < 2 ? localizedItems(rest, depth: depth + 1) : rest)
        }
        for t in templates {
            guard let values = match(t, message) else { continue }
            var out = t.zh
            for (slot, value) in zip(t.slots, values) {
                let shown = depth < 2 ? localizedItems(value, depth: depth + 1) : value
                out = out.replacingOccurrences(of: "{\(slot)}", with: shown)
            }
            return out
        }
        if message.contains("; ") { return localizedItems(message, depth: depth) }
        return message
    }

    func localizedItems(_ value: String, depth: Int) -> String {
        let items = value.components(separatedBy: "; ")
        let shown = items.map { localized($0, depth: depth) }
        return shown == items ? value : shown.joined(separator: "；")
    }

    /// The values of the placeholders when `message` has the template's form (each value the
    /// shortest that lets the rest match, the last one up to the final piece).
    func match(_ t: Template, _ message: String) -> [String]? {
        guard message.hasPrefix(t.pieces[0]), message.hasSuffix(t.pieces[t.pieces.count - 1]),
              message.count >= t.pieces[0].count + t.pieces[t.pieces.count - 1].count else { return nil }
        var rest = Substring(message).dropFirst(t.pieces[0].count)
        var values: [String] = []
        for (i, piece) in t.pieces.dropFirst().enumerated() {
            let last = i == t.pieces.count - 2
            if last {
                guard rest.hasSuffix(piece) else { return nil }
                let value = rest.dropLast(piece.count)
                guard !value.isEmpty else { return nil }
                values.append(String(value))
            } else {
                guard !piece.isEmpty, let r = rest.range(of: piece), r.lowerBound > rest.startIndex else { return nil }
                values.append(String(rest[..<r.lowerBound]))
                rest = rest[r.upperBound...]
            }
        }
        return values
    }

    /// Parses `messages.json`: `{"version": "…", "messages": [{"en": "…", "zh": "…"}, …], "facts": {"name": "…"}}`
    /// (`facts`, optional: the Chinese names of the facts a run reports).
    public static func parse(_ text: String, file: String) throws(ProfileError) -> MessageCatalogue {
        let json: JSONValue
        do { json = try JSONValue.parse(text) } catch { throw ProfileError(file: file, line: nil, message: "not valid JSON: \(error)") }
        guard case .array(let items)? = json["messages"] else { throw ProfileError(file: file, line: nil, message: "\"messages\" (an array) is missing") }
        var m = MessageCatalogue()
        for (i, item) in items.enumerated() {
            guard case .string(let en)? = item["en"], case .string(let zh)? = item["zh"], !en.isEmpty, !zh.isEmpty else {
                throw ProfileError(file: file, line: nil, message: "message #\(i + 1): \"en\" and \"zh\" (non-empty strings) are required")
            }
            m.add(en: en, zh: zh)
        }
        if let facts = json["facts"] {
            guard case .object(let names) = facts else { throw ProfileError(file: file, line: nil, message: "\"facts\" must be an object of names") }
            for (name, value) in names {
                guard case .string(let zh) = value, !zh.isEmpty else { throw ProfileError(file: file, line: nil, message: "fact \(name): a non-empty string is required") }
                m.factNames[name] = zh
            }
        }
        return m
    }
}
