/// What the linter learnt about CP keys that are not in a dictionary's key table (`011-Rtd`,
/// `B01-Flag`, vendor codes): their code and field halves, the factor (if the code is found case-
/// insensitively or by pattern), whether the field is one of Table 4, and how the value is judged.
/// Field captures repeat the same few unknown keys in every frame; with a cache each is split and
/// looked up once instead of once per entry (a split, two or three dictionary lookups and a
/// lower-casing).
///
/// Budget: at most `budget` keys per dialect, each at most `maxKeyBytes` long (longer keys are
/// resolved every time, not kept). When a dialect's table is full it is emptied and refilled:
/// a hostile stream of millions of distinct unknown codes costs at most `budget` entries of
/// memory (about 1 MB), and only loses the cache's speed, never a diagnostic.
///
/// Not thread-safe: one cache per linting loop (`lint`, `decode`, a capture reader), passed to
/// `Linter.check(_:index:cache:)`.
public final class LintCache {
    /// The most keys kept per dialect.
    public static let budget = 4096
    /// Keys longer than this are not kept.
    public static let maxKeyBytes = 64

    /// How an unknown key was resolved.
    struct Resolved {
        /// nil: no `code-field` form (no hyphen, or nothing before it): a plain CP key.
        let coded: Coded?
    }

    struct Coded {
        let code: String
        let field: String
        let factor: CodeDictionary.Factor?
        let knownField: Bool
        let kind: CodeDictionary.FieldKind
        /// `SBn` facility codes are not reported as unknown factors.
        let isFacility: Bool
    }

    private var tables: [[String: Resolved]] = [[:], [:], [:]]
    /// Times a table was emptied because it reached the budget.
    public private(set) var resets = 0

    public init() {}

    /// Keys held now, over all dialects.
    public var count: Int { tables.reduce(0) { $0 + $1.count } }

    @inline(__always)
    static func slot(_ dialect: Dialect) -> Int {
        switch dialect {
        case .hj2005: 0
        case .hj2025: 2
        case .hj2017, .unknown: 1
        }
    }

    func lookup(_ key: String, _ dialect: Dialect) -> Resolved? { tables[Self.slot(dialect)][key] }

    func store(_ key: String, _ value: Resolved, _ dialect: Dialect) {
        guard key.utf8.count <= Self.maxKeyBytes else { return }
        let slot = Self.slot(dialect)
        if tables[slot].count >= Self.budget {
            tables[slot].removeAll(keepingCapacity: true)
            resets += 1
        }
        tables[slot][key] = value
    }
}
