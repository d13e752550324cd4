/// Report formats of `hj212 check`.
public enum ReportFormat: String, Sendable, CaseIterable {
    case text, json, junit, html
}

/// Renders a certification run. (Skeleton: text only so far.)
public enum CheckReport {
    public static func render(_ run: CheckRun, format: ReportFormat, lang: ReportLanguage) -> String {
        var s = "hj212 check \(run.target.rawValue) \(run.address)\n"
        for r in run.results {
            s += "\(CheckScore.effective(r, strict: run.strict).rawValue)  \(r.rule.id)  \(r.rule.title(lang))  \(r.message)\n"
        }
        return s
    }

    /// `check --list`: the catalogue as a table.
    public static func list(_ catalogue: RuleCatalogue, target: CheckTarget?, selection: CheckSelection, lang: ReportLanguage) -> String {
        var s = ""
        for t in CheckTarget.allCases where target == nil || target == t {
            s += "\(t.rawValue) checks (catalogue \(catalogue.versions[t] ?? "?")):\n"
            for r in catalogue.rules(for: t) where selection.selects(r) {
                s += "  \(r.id.padding(toLength: 22, withPad: " ", startingAt: 0)) \(r.level.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0)) \(r.titleZh) / \(r.titleEn)\n"
                s += "  \(String(repeating: " ", count: 31))\(r.clause)\n"
            }
        }
        return s
    }
}
