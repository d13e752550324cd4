import CSQLite
import Dispatch
import Glibc
import HJ212
import Synchronization

/// What the platform acknowledged, in an SQLite file: packets, records, values, units and
/// commands (the schema is in docs/store.md and `Store.schema`).
///
/// A store is ours when its `PRAGMA application_id` is `Store.applicationID` and its `meta`
/// table says a schema version we know. Opening anything else (another SQLite file, a newer
/// schema, a file that is not a database) fails with a one-line `StoreError` and leaves the
/// file untouched. A writer takes an exclusive `flock` on the file, so a second `serve` on the
/// same store is refused at once ("locked by another process") instead of waiting.
///
/// Thread safety: `Store` is `Sendable` because every use of the SQLite connection happens
/// inside `connection.withLock` (one writer at a time, whatever the event-loop thread).
///
/// ```swift
/// let store = try Store(path: "platform.db", durability: .normal)
/// var batch = StoreBatch()
/// batch.add(journal)                       // what a PlatformSession accepted in one event
/// let outcome = try store.write(batch)    // one transaction; acks may leave after it returns
/// ```
public final class Store: Sendable {
    /// `PRAGMA application_id` of an hj212 store: "HJ21" in ASCII.
    public static let applicationID: Int32 = 0x484A_3231
    /// The schema this build writes and reads (in `meta` and in `PRAGMA user_version`).
    public static let schemaVersion = 5
    /// The oldest schema this build opens: versions 2 and 3 are read as they are and migrated to
    /// 4 when a writer opens them (`migrateFromVersion2`, then `migrateFromVersion3`).
    public static let oldestReadableSchema = 2

    /// How much a commit waits for the disk.
    public enum Durability: String, Sendable, CaseIterable {
        /// `synchronous=NORMAL` in WAL mode: a commit survives a crash of the process (kill -9),
        /// the last commits may be lost on power loss.
        case normal
        /// `synchronous=FULL`: every commit is fsynced, so it also survives power loss.
        case full
    }

    public let path: String
    public let readOnly: Bool
    let connection: Mutex<Connection>
    /// The descriptor holding the writer's `flock`; closed after SQLite (closing another
    /// descriptor of the file would drop SQLite's own POSIX locks).
    private let lockDescriptor: Int32
    /// The writer's checkpointer (see `startCheckpointer`): set to stop it, signalled when it stopped.
    private let checkpointerStop = StopFlag()
    private let checkpointerDone = DispatchSemaphore(value: 0)
    private let hasCheckpointer: Bool

    /// The SQLite connection and what the writer caches, touched only under the mutex.
    final class Connection {
        let db: Database
        /// The store's schema version (a reader may hold a version 2 store; a writer always 3).
        var schema = Store.schemaVersion
        /// Unit ids by MN, of the units this connection has written or looked up.
        var unitIDs: [UnitKey: Int64] = [:]
        var statements: [String: Statement] = [:]
        /// Unit counters not yet written (`Store+Units.swift`), and when they last were.
        var unitTally: [Int64: UnitTally] = [:]
        var unitsWrittenAt = Store.monotonicSeconds()
        /// Rows read to settle collisions (`storeCollision`), for the tests of its cost.
        var collisionRowsRead = 0
        init(db: Database) { self.db = db }
        func statement(_ sql: String) throws(StoreError) -> Statement {
            if let s = statements[sql] { return s }
            let s = try db.prepare(sql)
            statements[sql] = s
            return s
        }
    }

    /// Opens (or, for a writer, creates) a store. Every refusal is one line, and nothing is
    /// written to a file that is not ours.
    public init(path: String, durability: Durability = .normal, readOnly: Bool = false,
                walCheckpointBytes: Int = Store.walCheckpointBytes) throws(StoreError) {
        self.path = path
        self.readOnly = readOnly
        var st = stat()
        let exists = stat(path, &st) == 0
        if exists && (st.st_mode & S_IFMT) != S_IFREG { throw StoreError("\(path) is not a regular file") }
        if readOnly && !exists { throw StoreError("\(path): no such store") }
        var fd: Int32 = -1
        if !readOnly {
            fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            if fd < 0 { throw StoreError("\(path): cannot open for writing: \(String(cString: strerror(errno)))") }
            if flock(fd, LOCK_EX | LOCK_NB) != 0 {
                let busy = errno == EWOULDBLOCK
                let why = String(cString: strerror(errno))
                Glibc.close(fd)
                throw StoreError(busy ? "\(path) is locked by another process (another serve on the same store?)" : "\(path): cannot lock: \(why)")
            }
        }
        lockDescriptor = fd
        let db: Database
        let version: Int
        do {
            db = try Database(path: path, readOnly: readOnly)
            version = try Self.prepare(db, path: path, durability: durability, readOnly: readOnly)
            if !readOnly { try Self.reconcileUnits(db, path: path) }
        } catch {
            if fd >= 0 { Glibc.close(fd) }
            throw error
        }
        let c = Connection(db: db)
        c.schema = version
        connection = Mutex(c)
        hasCheckpointer = !readOnly
        if !readOnly { startCheckpointer(walCheckpointBytes: walCheckpointBytes) }
    }

    /// The WAL's size after which the writer checkpoints right after its commit
    /// (`wal_autocheckpoint`, which counts pages: this divided by the file's page size): 16 MiB.
    /// See `startCheckpointer`.
    public static let walCheckpointBytes = 16 << 20

    /// The page size of a store this build creates: 16 KiB (SQLite's default is 4 KiB). A stored
    /// packet's row is about half a kilobyte (its frame, its record's texts) and its key entry
    /// another tenth: with four times the rows per page, a commit writes and checksums fewer WAL
    /// frames, splits fewer pages and the checkpoint copies fewer, for the same bytes. SQLite's
    /// CPU per stored row on this project's 2-core machine, one thread writing 200,000 rows of
    /// the bench's traffic with the store's schema and settings, five alternated pairs: 4 KiB
    /// pages 7.3–8.4 µs, 16 KiB 5.9–6.6 µs; 32 KiB saves 4 % more, but a lone packet's commit
    /// writes the tail page of each table and index it touches, so larger pages cost the quiet
    /// platform more bytes per commit (session 17, decisions.md). A store made before keeps its
    /// page size (SQLite cannot change it in WAL mode); the WAL budget is in bytes, so it holds
    /// for either.
    public static let pageSize = 16_384

    /// `wal_autocheckpoint` for `db`: `bytes` in pages of the file's page size (at least one).
    static func walCheckpointPages(_ db: Database, bytes: Int) -> Int {
        let page = Int((try? db.integer("PRAGMA page_size")) ?? 4096)
        return max(1, bytes / max(512, page))
    }

    /// Moves the WAL into the database. A thread of its own runs a PASSIVE checkpoint (it never
    /// blocks a writer) on its own connection every 250 ms, so most pages are copied beside the
    /// writer. That alone let the WAL grow without end under a steady load (1 GB in 18 s for
    /// 136 MB of database, session 12): a WAL restarts from its first frame only at a write
    /// transaction that finds it wholly copied, which a checkpoint running beside the writer
    /// never leaves, so every commit appended to a growing file (new page-cache pages and disk
    /// blocks for every page written, 6.7 KB per packet). So the writer also checkpoints on its
    /// own connection once the WAL holds `walCheckpointBytes` of frames (`wal_autocheckpoint`,
    /// right after its COMMIT, on the writer thread, never on an event loop): between its own
    /// transactions nothing is appended meanwhile, the checkpoint completes (unless a reader
    /// holds an older snapshot), and the next transaction starts the WAL over. Budget: the WAL
    /// file holds about `walCheckpointBytes` plus one transaction.
    private func startCheckpointer(walCheckpointBytes: Int) {
        let path = self.path
        let stop = checkpointerStop
        let done = checkpointerDone
        connection.withLock { c in try? c.db.execute("PRAGMA wal_autocheckpoint=\(Self.walCheckpointPages(c.db, bytes: walCheckpointBytes))") }
        let checkpointer = try? Database(path: path, readOnly: false)
        nonisolated(unsafe) let db = checkpointer  // owned by the checkpointer thread from here on
        DispatchQueue.global(qos: .utility).async {
            try? db?.execute("PRAGMA busy_timeout=0")
            while !stop.isSet {
                usleep(250_000)
                try? db?.execute("PRAGMA wal_checkpoint(PASSIVE)")
            }
            db?.close()
            done.signal()
        }
    }

    deinit {
        if hasCheckpointer {
            checkpointerStop.set()
            checkpointerDone.wait()
        }
        connection.withLock { c in
            try? flushUnits(c)  // the counters held in memory (a crash leaves them to the next open)
            c.statements.removeAll()
            c.db.close()
        }
        if lockDescriptor >= 0 { Glibc.close(lockDescriptor) }
    }

    /// Checks the identity and version, creates the schema in an empty file, sets WAL and the
    /// durability, migrates a version 2 store (a writer only), and proves a write works (so a
    /// full disk or an unwritable file is found now). Returns the schema version now in the file.
    @discardableResult
    static func prepare(_ db: Database, path: String, durability: Durability, readOnly: Bool) throws(StoreError) -> Int {
        let application: Int64
        let objects: Int64
        do {
            application = try db.integer("PRAGMA application_id") ?? 0
            objects = try db.integer("SELECT count(*) FROM sqlite_master") ?? 0
        } catch {
            // Not a database, or a damaged one: not ours. Anything else (an I/O error, a full
            // disk: in WAL mode even reading writes the shared-memory file) is not the file's fault.
            if error.code == SQLITE_NOTADB || error.code == SQLITE_CORRUPT {
                throw StoreError("\(path) is not an hj212 store (\(error.message))")
            }
            throw StoreError("\(path): cannot open the store\(readOnly ? "" : " for writing"): \(error.message)", code: error.code)
        }
        if application == 0 && objects == 0 {
            guard !readOnly else { throw StoreError("\(path) is empty, not an hj212 store") }
            do {
                try db.execute("PRAGMA page_size=\(pageSize)")  // before the first write, which fixes it
                try db.execute("PRAGMA journal_mode=WAL")
                try db.execute("BEGIN IMMEDIATE; \(schema) PRAGMA application_id=\(applicationID); PRAGMA user_version=\(schemaVersion); COMMIT")
            } catch {
                try? db.execute("ROLLBACK")
                throw StoreError("\(path): cannot create the store: \(error.message)")
            }
        } else if application != Int64(applicationID) {
            throw StoreError("\(path) is not an hj212 store (application_id \(application), expected \(applicationID))")
        }
        let version: Int64
        do { version = try db.integer("SELECT value FROM meta WHERE key='schema_version'") ?? 0 } catch {
            throw StoreError("\(path) is not an hj212 store (no meta table)")
        }
        if version > Int64(schemaVersion) {
            throw StoreError("\(path) has store schema \(version), newer than this hj212 (\(schemaVersion)): use a newer hj212")
        }
        if version < 1 { throw StoreError("\(path) is not an hj212 store (schema version \(version))") }
        if version < Int64(oldestReadableSchema) {
            // Version 1 had a row per value (ten times the rows per packet); it is not converted.
            throw StoreError("\(path) has store schema \(version), older than this hj212 (\(schemaVersion)): read it with the hj212 that wrote it, or start a new store")
        }
        if readOnly { return Int(version) }
        do {
            if version == 2 { try migrateFromVersion2(db) }
            if version <= 3 { try migrateFromVersion3(db) }
            if version <= 4 { try migrateFromVersion4(db) }
            try db.execute("PRAGMA journal_mode=WAL")
            try db.execute("PRAGMA synchronous=\(durability == .full ? "FULL" : "NORMAL")")
            try db.execute("PRAGMA busy_timeout=0")
            try db.execute("PRAGMA cache_size=-\(writerCacheKiB)")
            try db.execute("BEGIN IMMEDIATE; INSERT OR REPLACE INTO meta(key, value) VALUES('last_opened', strftime('%Y-%m-%dT%H:%M:%fZ','now')); COMMIT")
        } catch {
            try? db.execute("ROLLBACK")
            if error.isBusy { throw StoreError("\(path) is locked by another process") }
            throw StoreError("\(path): cannot write: \(error.message)")
        }
        return schemaVersion
    }

    /// Version 2 → 3, in one transaction (all or nothing; a crash midway leaves version 2): each
    /// record's columns move into the row of the packet that completed it (a packet completes at
    /// most one record), `records` becomes a view of those rows, `records_hours` becomes
    /// `packets_hours`. A record's id becomes its packet's id (so `values.record_id` changes).
    /// Time and disk: one pass over both tables; the file keeps the freed pages for reuse.
    static func migrateFromVersion2(_ db: Database) throws(StoreError) {
        try db.execute("""
            BEGIN IMMEDIATE;
            ALTER TABLE packets ADD COLUMN factors INTEGER;
            ALTER TABLE packets ADD COLUMN invalid INTEGER;
            ALTER TABLE packets ADD COLUMN codes TEXT;
            ALTER TABLE packets ADD COLUMN flags TEXT;
            ALTER TABLE packets ADD COLUMN vals TEXT;
            UPDATE packets SET factors = r.factors, invalid = r.invalid, codes = r.codes, flags = r.flags, vals = r.vals,
              data_time = coalesce(r.data_time, packets.data_time)
              FROM records r WHERE r.packet_id = packets.id;
            DROP VIEW "values";
            DROP INDEX records_hours;
            DROP TABLE records;
            \(recordsSchema)
            UPDATE meta SET value = '3' WHERE key = 'schema_version';
            INSERT OR REPLACE INTO meta(key, value) VALUES('migrated_from_2', strftime('%Y-%m-%dT%H:%M:%fZ','now'));
            PRAGMA user_version=3;
            COMMIT
            """)
    }

    /// Version 3 → 4, in one transaction (a crash midway leaves version 3): the duplicate key
    /// gains `qn_reuse`, so that a different packet under a QN already stored (same MN, CN and
    /// PNO: a logger that reuses QNs) can be stored beside it instead of being taken for a
    /// resend. Every row stored so far gets `qn_reuse` 0 (version 3 held one row per key). The
    /// units' `packets` counters are counted again from the rows up to `units_through` (version 3
    /// counted resent packets too; the rows after it are added by `reconcileUnits` as after a
    /// crash). Time and disk: the new index is built in one pass over the table (sorted), the
    /// old one's pages are kept for reuse; one grouped pass over the table for the counters.
    static func migrateFromVersion3(_ db: Database) throws(StoreError) {
        try db.execute("""
            BEGIN IMMEDIATE;
            ALTER TABLE packets ADD COLUMN qn_reuse INTEGER NOT NULL DEFAULT 0;
            DROP INDEX packets_key;
            \(packetsKeySchema)
            UPDATE units SET packets = 0;
            UPDATE units SET packets = c.n
              FROM (SELECT unit_id, count(*) AS n FROM packets
                    WHERE id <= coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'units_through'), 0)
                    GROUP BY unit_id) c
              WHERE c.unit_id = units.id;
            UPDATE meta SET value = '4' WHERE key = 'schema_version';
            INSERT OR REPLACE INTO meta(key, value) VALUES('migrated_from_3', strftime('%Y-%m-%dT%H:%M:%fZ','now'));
            PRAGMA user_version=4;
            COMMIT
            """)
    }

    /// Version 4 → 5, in one transaction (a crash midway leaves version 4): `cp_hash` and its
    /// index `packets_reused`, so that a collision reads only the rows that may hold the same
    /// packet (`storeCollision`; version 4 read every row under the key: quadratic for a logger
    /// with one constant QN). The rows stored under a reused QN (`qn_reuse` > 0, usually none)
    /// get their hash here. Time: one pass over the table for the partial index (it holds only
    /// the reused rows), one update per reused row.
    static func migrateFromVersion4(_ db: Database) throws(StoreError) {
        try db.execute("""
            BEGIN IMMEDIATE;
            ALTER TABLE packets ADD COLUMN cp_hash INTEGER;
            \(packetsReusedSchema)
            """)
        do throws(StoreError) {
            let select = try db.prepare("SELECT id, frame FROM packets WHERE qn_reuse > 0")
            let update = try db.prepare("UPDATE packets SET cp_hash = ?1 WHERE id = ?2")
            while try select.step() {
                let id = select.int64(0)
                let hash = select.blob(1).withUnsafeBufferPointer { contentHash($0) }
                update.bind(1, hash)
                update.bind(2, id)
                try update.run()
            }
            try db.execute("""
                UPDATE meta SET value = '5' WHERE key = 'schema_version';
                INSERT OR REPLACE INTO meta(key, value) VALUES('migrated_from_4', strftime('%Y-%m-%dT%H:%M:%fZ','now'));
                PRAGMA user_version=5;
                COMMIT
                """)
        } catch {
            try? db.execute("ROLLBACK")
            throw error
        }
    }

    /// The writer's page cache (KiB): the tails of the tables and indexes a commit touches, and
    /// the pages of the unit rows it updates, stay in memory between commits.
    public static let writerCacheKiB = 32_768

    /// The schema, version 5 (documented in docs/store.md). Times are local wall-clock digits:
    /// `data_time` YYYYMMDDhhmmss (the packet's DataTime; the record's when the packet completed
    /// one), `received_at` YYYYMMDDhhmmssSSS. The record a packet completed is in the packet's
    /// own row (`factors` … `vals`, NULL when it completed none: one insert per packet); the
    /// `records` view shows those rows as version 2's table did, and the `values` view unpacks
    /// `vals` (JSON).
    public static let schema = """
    CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
    INSERT INTO meta(key, value) VALUES('schema_version', '5'), ('application', 'hj212 platform store'), ('units_through', '0');
    CREATE TABLE units(
      id INTEGER PRIMARY KEY, mn TEXT NOT NULL UNIQUE, pw TEXT, st TEXT, dialect TEXT,
      first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, last_peer TEXT, packets INTEGER NOT NULL DEFAULT 0);
    CREATE TABLE packets(
      id INTEGER PRIMARY KEY, unit_id INTEGER NOT NULL REFERENCES units(id), mn TEXT NOT NULL, qn TEXT, cn TEXT NOT NULL,
      st TEXT, pno INTEGER NOT NULL DEFAULT 0, data_time INTEGER, received_at INTEGER NOT NULL, peer TEXT, frame BLOB NOT NULL,
      factors INTEGER, invalid INTEGER, codes TEXT, flags TEXT, vals TEXT, qn_reuse INTEGER NOT NULL DEFAULT 0,
      cp_hash INTEGER);
    \(packetsKeySchema)
    \(packetsReusedSchema)
    \(recordsSchema)
    CREATE TABLE commands(
      id INTEGER PRIMARY KEY, mn TEXT NOT NULL, cn TEXT NOT NULL, qn TEXT, peer TEXT, outcome TEXT NOT NULL,
      qn_rtn INTEGER, exe_rtn INTEGER, records INTEGER NOT NULL, attempts INTEGER NOT NULL,
      queued_at INTEGER NOT NULL, sent_at INTEGER, finished_at INTEGER NOT NULL, request TEXT);
    """

    /// The duplicate key (version 4): one row per (QN, MN, CN, PNO) and `qn_reuse`, which is 0
    /// for the first packet stored under its key and 1, 2 … for different packets stored later
    /// under the same key (a reused QN; `Store.insert`). A resend of a stored packet collides
    /// and is not stored again. Packets without a QN are not in it (always stored).
    static let packetsKeySchema = """
    CREATE UNIQUE INDEX packets_key ON packets(qn, mn, cn, pno, qn_reuse) WHERE qn IS NOT NULL;
    """

    /// The rows stored under a reused QN (`qn_reuse` > 0) by key and `cp_hash` (version 5): a
    /// collision finds the stored rows that may be the same packet in one search, however many
    /// packets a logger sent under one QN. The first row of a key (`qn_reuse` 0, nearly every
    /// row) is not in it and has no hash: a packet with a fresh key costs nothing more.
    static let packetsReusedSchema = """
    CREATE INDEX packets_reused ON packets(qn, mn, cn, pno, cp_hash) WHERE qn_reuse > 0;
    """

    /// Version 3's records: the hour/day index over the packet rows that carry one, and the
    /// views (shared by a new store and the migration from version 2). `codes` is NULL exactly
    /// when the packet completed no record (a record's `codes` is a text, maybe empty).
    static let recordsSchema = """
    CREATE INDEX packets_hours ON packets(cn, data_time, unit_id, codes, flags) WHERE cn IN ('2061', '2031') AND codes IS NOT NULL;
    CREATE VIEW records(id, packet_id, unit_id, cn, data_time, factors, invalid, codes, flags, vals) AS
      SELECT id, id, unit_id, cn, data_time, factors, invalid, codes, flags, vals FROM packets WHERE codes IS NOT NULL;
    CREATE VIEW "values"(record_id, unit_id, cn, data_time, factor, kind, value, text, flag) AS
      SELECT r.id, r.unit_id, r.cn, r.data_time, v.value->>0, v.value->>1, CAST(v.value->>2 AS REAL), v.value->>3, v.value->>4
      FROM records r, json_each(r.vals) v;
    """
}

/// A flag one thread sets and another polls.
final class StopFlag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}
