import CSQLite
import Glibc
import HJ212

/// SQLite's own cost of storing a packet, on this machine, in this run: the floor under
/// `serve --store` (`hj212 bench store` prints it beside the windows).
///
/// One thread writes `rows` real-time (2011) packet rows of a store's schema into a fresh file,
/// `perTransaction` to a transaction, with the writer's settings (WAL, `synchronous=NORMAL`, its
/// page cache, the checkpoint after `Store.walCheckpointBytes` of WAL, run on the same thread and
/// so counted) and the insert statement `serve --store` runs, binding bytes built before the
/// clock starts. The rows have the shape of the bench's traffic (an industrial-wastewater unit's
/// 2011: a 330-byte frame built by `FrameEncoder`, five factors, seven values with their flags,
/// the `codes`, `flags` and `vals` texts `RecordPacker` makes of it), QNs rising in time over
/// `units` units. What is not in it: everything `serve --store` does beyond SQLite (the record
/// packing on the event loop, the hand-over to the writer, the unit counters, the acks held
/// until the commit).
///
/// The figure is CPU time (user + system, of this thread: `RUSAGE_THREAD`) per row; the disk's
/// writes show in the system part, its waits (iowait) do not.
public enum StoreFloor {
    public struct Figures: Sendable, Equatable {
        public var rows: Int
        public var perTransaction: Int
        /// CPU microseconds per row: user, system.
        public var user: Double
        public var system: Double
        public var perRow: Double { user + system }
        public init(rows: Int, perTransaction: Int, user: Double, system: Double) {
            self.rows = rows
            self.perTransaction = perTransaction
            self.user = user
            self.system = system
        }
    }

    /// Measures into `path` (created; an existing file is refused, so nothing of a user's is
    /// overwritten). The caller removes the file and its `-wal` and `-shm` afterwards.
    public static func measure(path: String, rows: Int = 100_000, perTransaction: Int = 512, units: Int = 10_000) throws(StoreError) -> Figures {
        precondition(rows > 0 && perTransaction > 0 && units > 0)
        var info = stat()
        if stat(path, &info) == 0 { throw StoreError("\(path) exists; the SQLite floor writes a fresh file") }
        let db = try Database(path: path, readOnly: false)
        defer { db.close() }
        try Store.prepare(db, path: path, durability: .normal, readOnly: false)
        try db.execute("PRAGMA wal_autocheckpoint=\(Store.walCheckpointPages(db, bytes: Store.walCheckpointBytes))")

        // The units, in one transaction, before the clock.
        let mns = (0..<units).map { "0100FL" + padded($0, 18) }
        try db.execute("BEGIN IMMEDIATE")
        let insertUnit = try db.prepare("INSERT INTO units(mn, first_seen, last_seen, packets) VALUES(?1, 0, 0, 0)")
        for mn in mns {
            insertUnit.bind(1, mn)
            try insertUnit.run()
        }
        try db.execute("COMMIT")

        // Every row's bytes in one buffer, before the clock: (start, count) of each text.
        var bytes: [UInt8] = []
        bytes.reserveCapacity(rows * 420)
        typealias Span = (start: Int, count: Int)
        func put<C: Collection<UInt8>>(_ b: C) -> Span {
            let start = bytes.count
            bytes.append(contentsOf: b)
            return (start, bytes.count - start)
        }
        let cp = "w00000-Rtd=0.00,w00000-Flag=N;w01001-Rtd=7.10,w01001-Flag=N;w01010-Rtd=18.1,w01010-Flag=N;"
            + "w01018-SampleTime=20261130000000,w01018-Rtd=30.0,w01018-Flag=N;w21003-SampleTime=20261130000000,w21003-Rtd=2.50,w21003-Flag=N"
        func segment(qn: Int64, time: Int64, mn: String) -> String {
            "QN=\(qn);ST=32;CN=2011;PW=123456;MN=\(mn);Flag=5;CP=&&DataTime=\(time);\(cp)&&"
        }
        // The record's texts as the record packer writes them, the same for every row (the rows
        // differ in QN, MN and DataTime, none of which is among them).
        let packer = RecordPacker()
        packer.pack(SegmentParser.parse(segment(qn: 20261205000000000, time: 20261205000000, mn: mns[0])).segment)
        let codes = put(packer.codeBytes.bytes), flags = put(packer.flagBytes.bytes), vals = put(packer.valBytes.bytes)
        struct Row { var unit: Int64; var mn, qn, peer, frame: Span; var dataTime, receivedAt: Int64 }
        var list: [Row] = []
        list.reserveCapacity(rows)
        var second = 0
        for n in 0..<rows {
            let u = n % units
            if u == 0 { second += 1 }
            let time = 20261205000000 + Int64(second / 3600 % 24) * 10_000 + Int64(second / 60 % 60) * 100 + Int64(second % 60)
            let qn = time * 1000 + Int64(u % 1000)
            list.append(Row(unit: Int64(u + 1), mn: put(mns[u].utf8), qn: put(String(qn).utf8), peer: put("127.0.0.1:\(20000 + u % 40000)".utf8),
                            frame: put(FrameEncoder.frame(segment(qn: qn, time: time, mn: mns[u]))),
                            dataTime: time, receivedAt: time * 1000 + 7))
        }

        let insert = try db.prepare(Store.insertPacketSQL)
        let cn: [UInt8] = Array("2011".utf8), st: [UInt8] = Array("32".utf8)
        return try bytes.withUnsafeBufferPointer { b throws(StoreError) -> Figures in
            try cn.withUnsafeBufferPointer { cn throws(StoreError) -> Figures in
                try st.withUnsafeBufferPointer { st throws(StoreError) -> Figures in
                    func text(_ s: Span) -> UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(rebasing: b[s.start..<(s.start + s.count)]) }
                    let before = threadTimes()
                    var n = 0
                    while n < rows {
                        try db.execute("BEGIN IMMEDIATE")
                        let end = min(rows, n + perTransaction)
                        while n < end {
                            let r = list[n]
                            insert.bind(1, r.unit)
                            insert.bindStatic(2, text: text(r.mn))
                            insert.bindStatic(3, text: text(r.qn))
                            insert.bindStatic(4, text: cn)
                            insert.bindStatic(5, text: st)
                            insert.bind(6, 0 as Int64?)
                            insert.bind(7, r.dataTime)
                            insert.bind(8, r.receivedAt)
                            insert.bindStatic(9, text: text(r.peer))
                            insert.bindStatic(10, blob: text(r.frame))
                            insert.bind(11, packer.factorCount)
                            insert.bind(12, packer.invalid)
                            insert.bindStatic(13, text: text(codes))
                            insert.bindStatic(14, text: text(flags))
                            insert.bindStatic(15, text: text(vals))
                            try insert.run()
                            n += 1
                        }
                        try db.execute("COMMIT")
                    }
                    let after = threadTimes()
                    return Figures(rows: rows, perTransaction: perTransaction,
                                   user: (after.user - before.user) / Double(rows), system: (after.system - before.system) / Double(rows))
                }
            }
        }
    }

    /// `n` in decimal with leading zeros to `width` digits.
    static func padded(_ n: Int, _ width: Int) -> String {
        let digits = String(n)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    /// This thread's CPU time so far, in microseconds.
    static func threadTimes() -> (user: Double, system: Double) {
        var usage = rusage()
        getrusage(__rusage_who_t(1), &usage)  // RUSAGE_THREAD (Linux; the Glibc module does not export it)
        func us(_ t: timeval) -> Double { Double(t.tv_sec) * 1e6 + Double(t.tv_usec) }
        return (us(usage.ru_utime), us(usage.ru_stime))
    }
}
