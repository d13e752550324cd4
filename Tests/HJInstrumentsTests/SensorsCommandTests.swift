import Glibc
import Testing
@testable import HJ212CLI
@testable import HJInstruments
import TestSupport

@Suite("hj212 sensors", .serialized)
struct SensorsCommandTests {
    @Test("usage errors and unusable serial paths are one line, exit 2, before anything runs", arguments: [
        (["sensors", "--unit", "industrial-wastewater"], "give at least one line"),
        (["sensors", "--modbus-tcp", "127.0.0.1:0"], "give exactly one of --unit NAME or --fleet FILE --mn MN"),
        (["sensors", "--fleet", "sample-city", "--modbus-tcp", "127.0.0.1:0"], "--fleet needs --mn"),
        (["sensors", "--unit", "industrial-wastewater", "--pty", "--baud", "1000"], "--baud '1000'"),
        (["sensors", "--unit", "industrial-wastewater", "--modbus-rtu", "/dev/ttyNOPE-hj212"], "cannot open /dev/ttyNOPE-hj212: No such file or directory"),
        (["sensors", "--unit", "industrial-wastewater", "--dlt645", "/dev/null"], "/dev/null: not a serial device"),
        (["sensors", "--unit", "no-such-unit", "--pty"], "no such unit template"),
        (["sensors", "--unit", "industrial-wastewater", "--modbus-tcp", "nowhere"], "--modbus-tcp 'nowhere'"),
        (["sensors", "--unit", "industrial-wastewater", "--pty", "--faults", "calibration:a21026"], "has no factor a21026"),
        (["sensors", "--unit", "industrial-wastewater", "--pty", "--faults", "crc-mismatch"], "'crc-mismatch' is a protocol fault"),
        (["sensors", "--unit", "industrial-wastewater", "--pty", "--faults", "no-such-fault"], "unknown fault 'no-such-fault'"),
    ])
    func usage(arguments: [String], message: String) {
        let r = hj212(arguments)
        #expect(r.status == 2)
        #expect(r.out.isEmpty)
        #expect(r.err.hasPrefix("hj212 sensors: ") && r.err.contains(message), "\(r.err)")
        #expect(r.err.filter { $0 == "\n" }.count == 1, "one line: \(r.err)")
    }

    @Test("a busy serial line is refused")
    func busy() throws {
        let pty = try SerialPort.openPTY(baud: 9600, parity: .even)
        let holder = try SerialPort.open(path: pty.path, baud: 9600, parity: .even)
        let r = hj212(["sensors", "--unit", "industrial-wastewater", "--modbus-rtu", pty.path])
        #expect(r.status == 2)
        #expect(r.err == "hj212 sensors: \(pty.path) is busy (locked by another program)\n")
        _ = holder
    }

    @Test("a short run lists the instruments and meters, opens the ptys and ends with a summary")
    func shortRun() throws {
        let truth = "/tmp/hj212-sensors-truth-\(getpid()).jsonl"
        defer { unlink(truth) }
        let r = hj212(["sensors", "--fleet", "mixed-demo", "--mn", try firstMN("mixed-demo"), "--modbus-tcp", "127.0.0.1:0", "--pty",
                          "--duration", "1s", "--speed", "60", "--truth", truth, "--faults", "calibration"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("modbus-tcp  listening on 127.0.0.1:"))
        #expect(r.out.contains("modbus-rtu  /dev/pts/") && r.out.contains("(9600 8E1)"))
        #expect(r.out.contains("dlt645      /dev/pts/") && r.out.contains("(2400 8E1)"))
        #expect(r.out.contains("Modbus instruments (slave address, map, channels):\n  1\t"))
        #expect(r.out.contains("DL/T 645 meters (address, facility):\n  000000000001\t"))
        #expect(r.out.contains("served 0 requests"))
        // The calibration fault is active from the start: its activation is in the ground truth.
        let text = try String(contentsOfFile: truth, encoding: .utf8)
        #expect(text.contains("\"fault\":\"calibration\""))
        // A ground truth that cannot be written is not a success.
        let full = hj212(["sensors", "--fleet", "mixed-demo", "--mn", try firstMN("mixed-demo"), "--modbus-tcp", "127.0.0.1:0",
                          "--duration", "1s", "--speed", "60", "--truth", "/dev/full", "--faults", "calibration"])
        #expect(full.status == 1 && full.out.contains("ground truth:") && full.out.contains("LOST"), "\(full.out)\(full.err)")
    }

    @Test("--dlt645 --pty (the form of the issue) creates a pty for the meters only")
    func ptyAsValue() {
        let r = hj212(["sensors", "--unit", "voc-process", "--dlt645", "--pty", "--duration", "1s"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("dlt645      /dev/pts/") && !r.out.contains("modbus-rtu  "))
        #expect(r.out.contains("  000000000002\t"), "voc-process has two facilities")
    }

    @Test("the trace keeps every frame in hexadecimal, one JSON line each")
    func trace() throws {
        let path = "/tmp/hj212-sensors-trace-\(getpid()).jsonl"
        defer { unlink(path) }
        let trace = try InstrumentTrace(path: path)
        trace.record([0x01, 0x03, 0x00, 0x00, 0x00, 0x0A, 0xC5, 0xCD], incoming: true, line: "modbus-rtu", peer: "/dev/pts/9", at: 1_796_032_800_000)
        trace.record([0x01, 0x83, 0x02, 0xC0, 0xF1], incoming: false, line: "modbus-rtu", peer: "/dev/pts/9", at: 1_796_032_800_050)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = text.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines[0].hasSuffix("\"line\":\"modbus-rtu\",\"peer\":\"/dev/pts/9\",\"dir\":\"in\",\"hex\":\"01030000000AC5CD\"}"))
        #expect(lines[1].contains("\"dir\":\"out\",\"hex\":\"018302C0F1\""))
    }

    func firstMN(_ fleet: String) throws -> String {
        let f = try HJSimulationFleet.load(fleet)
        return f
    }
}

import HJSimulation
enum HJSimulationFleet {
    static func load(_ name: String) throws -> String { try Fleet.load(name).units[0].identity.mn }
}
