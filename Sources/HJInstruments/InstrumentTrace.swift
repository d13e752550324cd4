import Glibc
import HJSimulation
import Synchronization

/// Appends every frame the instruments receive and send to a JSON Lines file:
/// `{"t":"…","line":"modbus-tcp","peer":"127.0.0.1:50412","dir":"in","hex":"0103…"}`.
/// Flushed per record, so a crash loses at most the record being written.
///
/// `Sendable`: the file is written under a `Mutex`.
public final class InstrumentTrace: Sendable {
    let file: Mutex<UnsafeMutablePointer<FILE>?>
    let offsetMinutes: Int
    private let failed = Mutex<(lost: Int, why: String?)>((0, nil))

    /// Records that could not be written (a full disk), and why the first failed.
    public var lost: (count: Int, why: String?) { failed.withLock { ($0.lost, $0.why) } }

    public init(path: String, offsetMinutes: Int = 480) throws(SerialError) {
        guard let f = fopen(path, "a") else { throw SerialError(message: "cannot open \(path): \(String(cString: strerror(errno)))") }
        file = Mutex(f)
        self.offsetMinutes = offsetMinutes
    }

    deinit { file.withLock { if let f = $0 { fclose(f) } } }

    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 0xF)]) }
        return String(decoding: out, as: UTF8.self)
    }

    public func record(_ bytes: [UInt8], incoming: Bool, line: String, peer: String, at time: Int64) {
        let text = "{\"t\":\"\(SimClock.iso(time, offsetMinutes: offsetMinutes))\",\"line\":\"\(line)\",\"peer\":\"\(peer)\",\"dir\":\"\(incoming ? "in" : "out")\",\"hex\":\"\(Self.hex(bytes))\"}\n"
        file.withLock { f in
            guard let f else { return }
            if fputs(text, f) < 0 || fflush(f) != 0 {
                let why = String(cString: strerror(errno))
                failed.withLock { $0.lost += 1; if $0.why == nil { $0.why = why } }
                clearerr(f)
            }
        }
    }
}

/// Appends ground-truth lines (JSON) to a file. `Sendable`: written under a `Mutex`.
public final class TruthFile: Sendable {
    let file: Mutex<UnsafeMutablePointer<FILE>?>
    private let failed = Mutex<(lost: Int, why: String?)>((0, nil))

    /// Lines that could not be written (a full disk), and why the first failed.
    public var lost: (count: Int, why: String?) { failed.withLock { ($0.lost, $0.why) } }

    public init(path: String) throws(SerialError) {
        guard let f = fopen(path, "a") else { throw SerialError(message: "cannot open \(path): \(String(cString: strerror(errno)))") }
        file = Mutex(f)
    }

    deinit { file.withLock { if let f = $0 { fclose(f) } } }

    public func write(_ lines: [String]) {
        guard !lines.isEmpty else { return }
        file.withLock { f in
            guard let f else { return }
            var written = 0
            for l in lines where fputs(l + "\n", f) >= 0 { written += 1 }
            // A line fputs took may still be lost in the flush: then the whole batch counts as lost.
            if written < lines.count || fflush(f) != 0 {
                let why = String(cString: strerror(errno))
                failed.withLock { $0.lost += lines.count; if $0.why == nil { $0.why = why } }
                clearerr(f)
            }
        }
    }
}
