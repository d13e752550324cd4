import HJLive
import HJStore

/// The options and the opening of `serve --store` (the sink itself is HJLive's `StoreSink`).
extension StoreSink {
    /// Opens the store of `serve --store FILE [--durability normal|full]`, before listening.
    static func open(_ arguments: ParsedArguments) throws(UsageError) -> StoreSink? {
        guard let path = arguments[Self.storeOption] else { return nil }
        let durability: Store.Durability = arguments[Self.durabilityOption] == "full" ? .full : .normal
        do {
            return StoreSink(store: try Store(path: path, durability: durability))
        } catch {
            throw UsageError("store: \(error.message)", exitCode: 1)
        }
    }

    /// The options `serve` gains for the store.
    static let storeOption = Option("store", "FILE", help: "Store every accepted packet, record, value, unit and command in this SQLite file (created if missing); an acknowledgement leaves only after its packet is committed. See docs/store.md.", parse: Parse.path)
    static let durabilityOption = Option("durability", "MODE", choices: ["normal", "full"], help: "--store: normal (default) survives a crash of serve; full also fsyncs every commit, for power loss.")
    static let serveOptions: [any OptionDeclaration] = [storeOption, durabilityOption]
}
