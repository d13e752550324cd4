import Foundation
import PackagePlugin

/// Embeds every data file under `Profiles/` into the `HJ212` module as a generated Swift source.
///
/// `Profiles/` stays the single source of truth (users edit it and point `--profiles` at a copy);
/// the embedded copy gives the binary its built-in defaults, so it works without the source tree.
@main
struct EmbedProfilesPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) async throws -> [Command] {
        let root = context.package.directoryURL.appending(path: "Profiles")
        var files: [URL] = []
        if let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey]) {
            for case let url as URL in walker {
                let name = url.lastPathComponent
                guard !name.hasPrefix("."), name.hasSuffix(".tsv") || name.hasSuffix(".json") || name.hasSuffix(".csv") else { continue }
                if (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true { files.append(url) }
            }
        }
        files.sort { $0.path < $1.path }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedProfiles.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(files.count) profile files",
                executable: try context.tool(named: "ProfileEmbedder").url,
                arguments: [output.path, root.path] + files.map(\.path),
                inputFiles: files,
                outputFiles: [output]
            )
        ]
    }
}
