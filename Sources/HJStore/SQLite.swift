import CSQLite

/// An SQLite error: the library's result code and message, or one of ours.
///
/// ```swift
/// do { try db.execute("BEGIN") } catch { print(error.message) }
/// ```
public struct StoreError: Error, Sendable, CustomStringConvertible {
    /// One line, ready to print after the file name.
    public var message: String
    /// The SQLite primary result code (0 when the error is ours, not the library's).
    public var code: Int32

    public init(_ message: String, code: Int32 = 0) {
        self.message = message
        self.code = code
    }

    public var description: String { message }

    /// The database was busy or locked by another connection (another process).
    public var isBusy: Bool { code == SQLITE_BUSY || code == SQLITE_LOCKED }
}

/// SQLITE_TRANSIENT: SQLite copies bound text and blobs before `bind` returns.
let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
/// SQLITE_STATIC: SQLite reads bound text and blobs where they are, until the statement is
/// stepped and reset; the caller keeps the bytes in place until then (`bindStatic`).
let staticBytes: sqlite3_destructor_type? = nil

/// One SQLite connection. Not thread-safe by itself: the owner serialises every use (the
/// `Store` holds it under its mutex).
final class Database {
    private(set) var handle: OpaquePointer?
    let path: String

    /// Process-wide settings made once, before the first connection opens (SQLite accepts
    /// `sqlite3_config` only then): memory statistics off (CSQLite's shim.h says why).
    private static let configured: Bool = hj_sqlite3_config_memstatus(0) == SQLITE_OK

    /// Whether SQLite counts its allocations (it should not once a connection opened: `configured`).
    static var countsMemory: Bool { sqlite3_memory_used() > 0 || sqlite3_memory_highwater(0) > 0 }

    init(path: String, readOnly: Bool) throws(StoreError) {
        _ = Self.configured
        self.path = path
        var db: OpaquePointer?
        let flags = (readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)) | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            if let db { sqlite3_close_v2(db) }
            throw StoreError(message, code: rc & 0xff)
        }
        handle = db
        sqlite3_extended_result_codes(db, 0)
    }

    deinit { close() }

    func close() {
        if let handle { sqlite3_close_v2(handle) }
        handle = nil
    }

    var lastMessage: String { handle.map { String(cString: sqlite3_errmsg($0)) } ?? "closed" }

    func error(_ rc: Int32, _ what: String) -> StoreError {
        StoreError("\(what): \(lastMessage)", code: rc & 0xff)
    }

    /// Runs one or more statements without results.
    func execute(_ sql: String) throws(StoreError) {
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &message)
        if rc != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? lastMessage
            sqlite3_free(message)
            throw StoreError(text, code: rc & 0xff)
        }
    }

    func prepare(_ sql: String) throws(StoreError) -> Statement {
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard rc == SQLITE_OK, let statement else { throw error(rc, "prepare") }
        return Statement(statement, database: self)
    }

    /// The first column of the first row of a query, as an integer (nil: no row or NULL).
    func integer(_ sql: String) throws(StoreError) -> Int64? {
        let s = try prepare(sql)
        guard try s.step() else { return nil }
        return s.isNull(0) ? nil : s.int64(0)
    }

    var changes: Int { Int(sqlite3_changes(handle)) }
    var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }
}

/// A prepared statement; bind by 1-based index, step, read by 0-based column.
final class Statement {
    private var handle: OpaquePointer?
    unowned let database: Database

    init(_ handle: OpaquePointer, database: Database) {
        self.handle = handle
        self.database = database
    }

    deinit { sqlite3_finalize(handle) }

    func bind(_ i: Int32, _ v: Int64?) {
        if let v { sqlite3_bind_int64(handle, i, v) } else { sqlite3_bind_null(handle, i) }
    }
    func bind(_ i: Int32, _ v: Int?) { bind(i, v.map(Int64.init)) }
    func bind(_ i: Int32, _ v: Double?) {
        if let v { sqlite3_bind_double(handle, i, v) } else { sqlite3_bind_null(handle, i) }
    }
    func bind(_ i: Int32, _ v: String?) {
        guard var v else { sqlite3_bind_null(handle, i); return }
        if v.isEmpty { sqlite3_bind_text(handle, i, "", 0, transient); return }
        // A native string's bytes, without the C string Swift would otherwise build per call.
        if v.utf8.withContiguousStorageIfAvailable({ b in
            b.withMemoryRebound(to: CChar.self) { sqlite3_bind_text(handle, i, $0.baseAddress, Int32($0.count), transient) }
        }) == nil {
            v.makeContiguousUTF8()
            sqlite3_bind_text(handle, i, v, -1, transient)
        }
    }
    /// Binds a slice of a string without making a string of it.
    func bind(_ i: Int32, utf8 v: Substring.UTF8View) {
        let done = v.withContiguousStorageIfAvailable { b in
            b.withMemoryRebound(to: CChar.self) { sqlite3_bind_text(handle, i, $0.baseAddress, Int32($0.count), transient) }
        }
        if done == nil { bind(i, String(Substring(v))) }
    }
    /// Binds UTF-8 bytes (built in a reused buffer) as text.
    func bind(_ i: Int32, text: [UInt8]) {
        if text.isEmpty { sqlite3_bind_text(handle, i, "", 0, transient); return }
        _ = text.withUnsafeBytes { sqlite3_bind_text(handle, i, $0.baseAddress?.assumingMemoryBound(to: CChar.self), Int32($0.count), transient) }
    }
    func bind(_ i: Int32, blob: [UInt8]) {
        _ = blob.withUnsafeBytes { sqlite3_bind_blob(handle, i, $0.baseAddress, Int32($0.count), transient) }
    }
    /// Binds bytes without a copy (`SQLITE_STATIC`): they must stay where they are until the
    /// statement has been stepped (`run()`), as the writer's row and packer buffers do. A nil
    /// base address binds an empty text or blob.
    func bindStatic(_ i: Int32, text: UnsafeBufferPointer<UInt8>) {
        if let p = UnsafeRawPointer(text.baseAddress)?.assumingMemoryBound(to: CChar.self) {
            sqlite3_bind_text(handle, i, p, Int32(text.count), staticBytes)
        } else {
            sqlite3_bind_text(handle, i, "", 0, transient)
        }
    }
    func bindStatic(_ i: Int32, blob: UnsafeBufferPointer<UInt8>) {
        if let p = blob.baseAddress {
            sqlite3_bind_blob(handle, i, p, Int32(blob.count), staticBytes)
        } else {
            sqlite3_bind_zeroblob(handle, i, 0)
        }
    }

    /// Steps once: true when a row is ready, false when done.
    @discardableResult
    func step() throws(StoreError) -> Bool {
        let rc = sqlite3_step(handle)
        if rc == SQLITE_ROW { return true }
        if rc == SQLITE_DONE { return false }
        let e = database.error(rc, "step")
        sqlite3_reset(handle)
        throw e
    }

    /// Runs a statement that returns no rows, then resets it for the next use. Its bindings
    /// stay (no `sqlite3_clear_bindings`, which cost 1.4k instructions per row freeing copies):
    /// every statement run this way binds all its parameters before each run.
    func run() throws(StoreError) {
        defer { sqlite3_reset(handle) }
        try step()
    }

    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    func isNull(_ c: Int32) -> Bool { sqlite3_column_type(handle, c) == SQLITE_NULL }
    func int64(_ c: Int32) -> Int64 { sqlite3_column_int64(handle, c) }
    func int(_ c: Int32) -> Int { Int(sqlite3_column_int64(handle, c)) }
    func double(_ c: Int32) -> Double { sqlite3_column_double(handle, c) }
    func text(_ c: Int32) -> String? {
        guard let p = sqlite3_column_text(handle, c) else { return nil }
        return String(decoding: UnsafeBufferPointer(start: p, count: Int(sqlite3_column_bytes(handle, c))), as: UTF8.self)
    }
    func blob(_ c: Int32) -> [UInt8] {
        guard let p = sqlite3_column_blob(handle, c) else { return [] }
        return Array(UnsafeRawBufferPointer(start: p, count: Int(sqlite3_column_bytes(handle, c))))
    }
}
