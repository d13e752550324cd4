import HJLive
import HJStore

/// The options and the opening of `serve --store` (the sink itself is HJLive's `StoreSink`).
extension StoreSink {
    /// Opens the store of `serve --store FILE [--durability normal|full]`, before listening.
    static func open(_ arguments: ParsedArguments) throws(UsageError) -> StoreSink? {
        guard let path = arguments.value("store") else { return nil }
        let durability: Store.Durability
        switch arguments.value("durability") ?? "normal" {
        case "normal": durability = .normal
        case "full": durability = .full
        case let other: throw UsageError("--durability '\(other)': expected normal or full")
        }
        do {
            return StoreSink(store: try Store(path: path, durability: durability))
        } catch {
            throw UsageError("store: \(error.message)", exitCode: 1)
        }
    }

    /// The options `serve` gains for the store.
    static let serveOptions = [
        OptionSpec("store", value: "FILE", help: "Store every accepted packet, record, value, unit and command in this SQLite file (created if missing); an acknowledgement leaves only after its packet is committed. See docs/store.md."),
        OptionSpec("durability", value: "MODE", choices: ["normal", "full"], help: "--store: normal (default) survives a crash of serve; full also fsyncs every commit, for power loss."),
    ]
}
