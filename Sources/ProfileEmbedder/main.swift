// Build-time tool: writes a Swift source that embeds the given profile files as string literals.
// Usage: ProfileEmbedder OUTPUT ROOT FILE...
import Foundation

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    FileHandle.standardError.write(Data("usage: ProfileEmbedder OUTPUT ROOT FILE...\n".utf8))
    exit(2)
}
let output = arguments[1]
let root = URL(fileURLWithPath: arguments[2]).standardizedFileURL.path
var source = """
// Generated at build time by ProfileEmbedder from Profiles/. Do not edit; edit Profiles/ instead.

enum EmbeddedProfiles {
    /// Profile files by their path relative to `Profiles/`.
    static let files: [String: String] = [

"""
for path in arguments.dropFirst(3) {
    let full = URL(fileURLWithPath: path).standardizedFileURL.path
    guard let text = try? String(contentsOfFile: full, encoding: .utf8) else {
        FileHandle.standardError.write(Data("ProfileEmbedder: cannot read \(full) as UTF-8\n".utf8))
        exit(1)
    }
    var relative = full
    if relative.hasPrefix(root + "/") { relative.removeFirst(root.count + 1) }
    // A raw string with enough '#' that no run of quotes and hashes in the text can close it.
    var hashes = "#"
    while text.contains("\"" + hashes) { hashes += "#" }
    source += "        \(hashes)\"\(relative)\"\(hashes): \(hashes)\"\"\"\n\(text)\n\"\"\"\(hashes),\n"
}
source += "    ]\n}\n"
do {
    try source.write(toFile: output, atomically: true, encoding: .utf8)
} catch {
    FileHandle.standardError.write(Data("ProfileEmbedder: cannot write \(output): \(error)\n".utf8))
    exit(1)
}
