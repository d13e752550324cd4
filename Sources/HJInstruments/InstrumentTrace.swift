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
            fputs(text, f)
            fflush(f)
        }
    }
}

/// Appends ground-truth lines (JSON) to a file. `Sendable`: written under a `Mutex`.
public final class TruthFile: Sendable {
    let file: Mutex<UnsafeMutablePointer<FILE>?>

    public init(path: String) throws(SerialError) {
        guard let f = fopen(path, "a") else { throw SerialError(message: "cannot open \(path): \(String(cString: strerror(errno)))") }
        file = Mutex(f)
    }

    deinit { file.withLock { if let f = $0 { fclose(f) } } }

    public func write(_ lines: [String]) {
        guard !lines.isEmpty else { return }
        file.withLock { f in
            guard let f else { return }
            for l in lines { fputs(l + "\n", f) }
            fflush(f)
        }
    }
}
