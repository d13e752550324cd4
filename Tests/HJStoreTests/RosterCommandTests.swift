import Foundation
@testable import HJ212CLI
import HJ212
import HJSimulation
import HJStore
import Testing
import TestSupport

@Suite("roster command")
struct RosterCommandTests {
    func run(_ args: [String]) -> (Int32, String, String) {
        hj212(["roster"] + args)
    }

    @Test("usage errors are one line and exit 2 before anything runs")
    func usage() {
        for args in [["--store", "x.db"], ["--fleet", "mixed-demo"], ["--fleet", "mixed-demo", "--store", "x.db", "--period", "2026-13"],
                     ["--fleet", "mixed-demo", "--store", "x.db", "--period", "2026-11", "--from", "2026-11-01"],
                     ["--fleet", "mixed-demo", "--store", "x.db", "--from", "2026-11-05", "--to", "2026-11-01"],
                     ["--fleet", "mixed-demo", "--store", "x.db", "--format", "xlsx"]] {
            let (status, out, err) = run(args)
            #expect(status == 2, "\(args)")
            #expect(out.isEmpty && err.split(separator: "\n").count == 1, "\(args): \(err)")
        }
    }

    @Test("a store that is not ours is one line, exit 1; a real store gives the roster to a file")
    func endToEnd() throws {
        let dir = scratchDirectory("roster-cli")
        try Data("hello".utf8).write(to: URL(fileURLWithPath: dir + "/not.db"))
        let (bad, _, err) = run(["--fleet", "mixed-demo", "--store", dir + "/not.db", "--period", "2026-11"])
        #expect(bad == 1 && err.contains("is not an hj212 store") && err.split(separator: "\n").count == 1)
        let fleet = try Fleet.load("mixed-demo")
        let mn = fleet.units[0].identity.mn
        _ = try storeWith(dir + "/a.db", (0..<24).map { hour(mn, 1, $0, codes: fleet.units[0].pollutants) })
        let (status, out, _) = run(["--fleet", "mixed-demo", "--store", dir + "/a.db", "--from", "2026-11-01", "--to", "2026-11-01",
                                    "--now", "2026-11-10T00:00:00+08:00", "--format", "json", "--out", dir + "/r.json"])
        #expect(status == 0)
        #expect(out.contains("→ \(dir)/r.json"))
        let json = try JSONValue.parse(String(contentsOfFile: dir + "/r.json", encoding: .utf8))
        guard case .array(let units)? = json["units"], let first = units.first else { Issue.record("no units"); return }
        #expect(first["hours_due"] == .int(24) && first["hours_received"] == .int(24) && first["effective_rate"] == .double(1))
        #expect(first["networked"] == .string("联网"))
        #expect(units.count == 8)
        #expect(units[1]["networked"] == .string("未联网"))
    }
}

extension RosterCommandTests {
    @Test("what the sources held and the roster did not count is said, one line each, on stderr")
    func notCounted() throws {
        let dir = scratchDirectory("roster-cli-notes")
        let fleet = try Fleet.load("mixed-demo")
        let u = fleet.units[0]
        var badCRC = hour(u.identity.mn, 1, 2, codes: u.pollutants)
        badCRC[badCRC.count - 3] = badCRC[badCRC.count - 3] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        let parts = try PacketSplitter.split(hourSegment(u.identity.mn, 1, 5, codes: u.pollutants), limit: 160)
        let frames = [hour(u.identity.mn, 1, 1, codes: u.pollutants), badCRC, hour("010000A8900100000000\u{1B}[2J", 1, 1, codes: ["w01018"])] + [FrameEncoder.frame(parts[0])]
        try Data(traceText(frames).utf8).write(to: URL(fileURLWithPath: dir + "/t.jsonl"))
        let (status, _, err) = run(["--fleet", "mixed-demo", "--trace", dir + "/t.jsonl", "--from", "2026-11-01", "--to", "2026-11-01",
                                    "--now", "2026-11-10T00:00:00+08:00", "--out", dir + "/r.csv"])
        #expect(status == 0)
        #expect(err.contains("1 MN(s) not in the fleet") && err.contains("\\x1b[2J") && !err.contains("\u{1B}"))
        #expect(err.contains("1 trace frame(s) a platform would not acknowledge"))
        #expect(err.contains("1 split record(s) of a trace left incomplete"))
        #expect(!err.contains("DataTime"))
        #expect(err.split(separator: "\n").count == 3)
    }
}

@Suite("serve --registry")
struct RegistryNameTests {
    @Test("--registry takes a built-in fleet name as --fleet does; a missing file is an error")
    func builtinName() throws {
        #expect(try ServeCommand.registry("sample-city").entries.count == 520)
        #expect(throws: UsageError.self) { try ServeCommand.registry("no-such-fleet-or-file") }
    }
}
