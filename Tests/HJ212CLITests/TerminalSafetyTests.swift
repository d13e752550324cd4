import Foundation
import HJ212
import Testing
@testable import HJ212CLI
import TestSupport

// Issue 18, item 6: escape sequences from the network reached the terminal raw through lint,
// decode, serve's lines, load merge and registry errors; messages quoted huge fields whole.
// Item 9: `--profiles` mistakes were ignored silently.
@Suite("Terminal safety and profile errors on the command line")
struct TerminalSafetyTests {
    static func frame(mn: String) -> [UInt8] {
        FrameEncoder.frame("QN=20260101120000000;ST=32;CN=2011;PW=123456;MN=\(mn);Flag=4;CP=&&DataTime=20260101120000;w01018-Rtd=1.5,w01018-Flag=N&&")
    }

    /// True when the text holds a control character other than a line break.
    static func hasControl(_ text: String) -> Bool {
        text.unicodeScalars.contains { ($0.value < 0x20 && $0 != "\n") || (0x7F...0x9F).contains($0.value) }
    }

    @Test("lint and decode show an MN with an escape sequence as \\x1b, in text output", arguments: ["lint", "decode"])
    func escapes(command: String) {
        let r = hj212([command, "-"], stdin: Self.frame(mn: "\u{1B}]2:owned\u{07}\u{1B}[2JABC\u{9B}"))
        #expect(!Self.hasControl(r.out), "\(r.out)")
        #expect(r.out.contains("\\x1b]2:owned\\x07\\x1b[2JABC\\x9b"))
    }

    @Test("a 9,000-character field is quoted cut, with the count of what was cut")
    func hugeField() {
        let mn = String(repeating: "M", count: 9_000)
        let r = hj212(["lint", "-"], stdin: Self.frame(mn: mn))
        #expect(!r.out.contains(String(repeating: "M", count: 1000)))
        #expect(r.out.contains("more characters)"))
    }

    @Test("a registry that quotes a hostile MN is reported safely and bounded")
    func registryError() throws {
        let path = try temporaryFile(Array(("mn,pw\n\u{1B}[31m" + String(repeating: "X", count: 5000) + " x,123456\n").utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = hj212(["serve", "--listen", "127.0.0.1:0", "--registry", path, "--duration", "1"])
        #expect(r.status == 2)
        #expect(!Self.hasControl(r.err))
        #expect(r.err.count < 1200, "\(r.err.count) characters")
    }

    @Test("--profiles naming nothing, a file, or a tree with a file in place of units/ is a one-line error, exit 2")
    func profilesMistakes() throws {
        let file = try temporaryFile(Array("x".utf8))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let dir = NSTemporaryDirectory() + "hj212-cli-profiles-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = FileManager.default.createFile(atPath: dir + "/units", contents: Data("x".utf8))
        for profiles in ["/nonexistent/profiles", file, dir] {
            for command in [["lint", "-"], ["decode", "-"], ["generate", "--list"]] {
                let r = hj212(command + ["--profiles", profiles], stdin: Self.frame(mn: "M1"))
                #expect(r.status == 2, "\(command) --profiles \(profiles): \(r.status) \(r.err)")
                #expect(r.err.split(separator: "\n").count == 1, "\(r.err)")
                #expect(r.out.isEmpty)
            }
        }
    }

    @Test("a broken faults/catalogue.json is an error, exit 2")
    func brokenCatalogue() throws {
        let dir = NSTemporaryDirectory() + "hj212-cli-profiles-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir + "/faults", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = FileManager.default.createFile(atPath: dir + "/faults/catalogue.json", contents: Data("{\"faults\": [{\"id\": ".utf8))
        let r = hj212(["generate", "--list", "--profiles", dir])
        #expect(r.status == 2)
        #expect(r.err.contains("catalogue.json"))
    }
}

@Suite("Standard error never carries raw control characters")
struct StandardErrorSafetyTests {
    @Test("every command's one-line errors show escapes instead of control characters from their input")
    func errorsAreEscaped() {
        let hostile = "/nonexistent/\u{1B}]0;owned\u{7}\u{1B}[2J.raw"
        for arguments in [["report", hostile], ["lint", hostile], ["decode", hostile], ["trace", "import", hostile, "-o", "/tmp/x.jsonl"],
                          ["roster", "--fleet", hostile, "--trace", hostile], ["serve", "--listen", "127.0.0.1:0", "--registry", hostile]] {
            let r = hj212(arguments)
            #expect(r.status != 0)
            #expect(!r.err.isEmpty)
            #expect(!r.err.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" }, "\(arguments[0]): \(r.err.debugDescription)")
        }
    }
}
