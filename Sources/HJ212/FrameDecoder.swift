import Glibc

/// A streaming HJ 212 frame decoder: feed it bytes as they arrive, take out events.
///
/// It resynchronises on `##`, survives noise, broken headers, wrong lengths, missing CR LF and
/// truncated tails, works the same one byte at a time or many frames per read, and never holds
/// more than one maximal frame (`maxFrameBytes`) plus the unread part of the last read.
///
/// ```swift
/// var decoder = FrameDecoder()
/// decoder.feed(bytesFromSocket)
/// while let event = decoder.next() {
///     if case .frame(let frame) = event { print(frame.segmentText) }
/// }
/// for event in decoder.finish() { ... }   // at end of input: pending noise, truncated tail
/// ```
public struct FrameDecoder: Sendable {
    /// What the decoder found.
    public enum Event: Sendable, Equatable {
        case frame(RawFrame)
        case skipped(SkippedBytes)
        case incomplete(IncompleteTail)
    }

    /// The largest frame the length field can declare: `##` + 9999 + CRC + CR LF.
    public static let largestFrame = 2 + 4 + 9999 + 4 + 2

    /// Frames longer than this are not waited for; their `##` is skipped.
    public let maxFrameBytes: Int

    /// The bytes held: `buffer[start...]` are not yet consumed, and the `stagedCount` bytes in
    /// `staged` follow them (bytes that arrived one at a time while the decoder was quiet).
    @usableFromInline var buffer: [UInt8] = []
    /// Index in `buffer` of the first byte not yet consumed.
    private var start = 0
    /// Stream offset of `buffer[0]`.
    private var bufferOffset = 0
    /// A run of skipped bytes not yet reported (merged while contiguous and of the same reason).
    private var pendingSkip: SkippedBytes?
    private var finished = false

    // Where scanning stopped (in the manner of swift-nio's ByteToMessageDecoder): after a "need
    // more data" decision for the frame starting at `waitingFrom`, the scanner is not run again
    // until a byte arrives that can change that decision (the second byte of a `##` or the LF of
    // a CR LF), or until the buffer reaches `wakeAt` bytes of stream. Bytes in between are looked
    // at once each, so a frame fed one byte at a time costs linear time, not quadratic.
    /// Stream offset of the start the last "need more" decision was for, or -1.
    private var waitingFrom = -1
    /// Stream offset up to which new bytes were checked for significance.
    @usableFromInline var checkedTo = 0
    /// Stream length at which the decision must be taken again whatever the bytes.
    private var wakeAt = 0

    // The fast path for input arriving a byte at a time. While `quiet`, the last decision was
    // "need more" and every byte fed since was checked on arrival and cannot change it: `next()`
    // answers nil without a call, and `feed` of one byte (inlined into the caller) puts it in
    // `staged`, inside the decoder itself, checks it against the byte before and counts down to
    // the length the scanner asked for; every 32 bytes they go to `buffer` in one append. So a
    // dripped byte costs a few instructions and no call, no uniqueness check of the array.
    /// True while waiting with nothing fed that can change the decision (see above).
    @usableFromInline var quiet = false
    /// Bytes fed one at a time while quiet, not yet appended to `buffer` (`stagedCount` of them).
    @usableFromInline var staged: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    @usableFromInline var stagedCount = 0
    /// The last byte held (valid while quiet).
    @usableFromInline var lastByte: UInt8 = 0
    /// Bytes still to come before the stream reaches `wakeAt` (valid while quiet).
    @usableFromInline var untilWake = 0
    /// What the scanner already searched for the frame starting at `waitingFrom`.
    private var memo = FrameScanner.ScanMemo()

    /// Bytes handed to the scanner plus bytes checked while waiting: a measure of decoding work
    /// (tests compare it between dripped and whole input instead of timing).
    public var bytesExamined: Int { bytesScanned + bytesCheckedOnArrival }
    private var bytesScanned = 0
    /// Bytes checked by the inlined one-byte `feed` while quiet.
    @usableFromInline var bytesCheckedOnArrival = 0
    /// How many times the scanner took a decision (`FrameScanner.decide`): a frame fed one byte
    /// at a time needs a handful (at the header, at the declared end), not one per byte.
    public private(set) var decisions = 0

    /// Scan everything again on every call, as the decoder did before it remembered where it
    /// stopped: the reference the tests and the fuzz harness compare against (never set in use).
    public var rescansEveryCall = false {
        didSet {
            if quiet {
                quiet = false
                checkedTo = bytesFed
            }
        }
    }

    public init(maxFrameBytes: Int = FrameDecoder.largestFrame) {
        self.maxFrameBytes = max(16, maxFrameBytes)
    }

    /// Total bytes fed so far.
    public var bytesFed: Int { bufferOffset + buffer.count + stagedCount }
    /// Bytes held and not yet decided (bounded by `maxFrameBytes` plus the last read).
    public var bufferedCount: Int { buffer.count - start + stagedCount }

    /// Appends received bytes.
    public mutating func feed<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
        prepareToAppend()
        buffer.append(contentsOf: bytes)
    }

    // Concrete forms of `feed`: a generic call across the module boundary is not specialised,
    // and for input arriving a byte at a time its overhead outweighed the decoding itself. The
    // one-byte case is inlined into the caller (`feedByte`); longer reads take the call.

    /// Appends received bytes.
    @inlinable
    public mutating func feed(_ bytes: ArraySlice<UInt8>) {
        if bytes.count == 1 { feedByte(bytes[bytes.startIndex]) } else { feedMany(bytes) }
    }

    /// Appends received bytes.
    @inlinable
    public mutating func feed(_ bytes: [UInt8]) {
        if bytes.count == 1 { feedByte(bytes[0]) } else { feedMany(bytes) }
    }

    /// Appends received bytes.
    @inlinable
    public mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>) {
        if bytes.count == 1 { feedByte(bytes[0]) } else { feedMany(bytes) }
    }

    /// One byte: while the decoder is quiet, the byte is staged and checked here, once, for
    /// whether it can change the decision (it completes a `##` or a CR LF, or the stream reaches
    /// the length the scanner asked for); if it can, the decoder stops being quiet and the next
    /// `next()` runs the scanner.
    @inlinable
    mutating func feedByte(_ byte: UInt8) {
        guard quiet && stagedCount < 32 else { return feedOne(byte) }
        let previous = lastByte
        lastByte = byte
        let n = stagedCount
        withUnsafeMutableBytes(of: &staged) { $0[n] = byte }
        stagedCount = n &+ 1
        untilWake &-= 1
        bytesCheckedOnArrival &+= 1
        if untilWake <= 0 || (byte == 0x23 && previous == 0x23) || (byte == 0x0A && previous == 0x0D) {
            wakeUp()
        }
    }

    // The calls behind the inlined fast path: concrete types, so that nothing generic crosses the
    // module boundary.

    /// Leaves the quiet state at a byte that can change the decision: the bytes before it were
    /// checked (`newBytesMatter` starts at this one).
    @usableFromInline
    mutating func wakeUp() {
        quiet = false
        checkedTo = bytesFed - 1
    }

    /// Before bytes go to `buffer` by the general path: staged bytes first, no longer quiet
    /// (the bytes fed so far were all checked), consumed bytes dropped when that is worth it.
    private mutating func prepareToAppend() {
        unstage()
        if quiet {
            quiet = false
            checkedTo = bytesFed
        }
        compactIfUseful()
    }

    private mutating func unstage() {
        guard stagedCount > 0 else { return }
        let n = stagedCount
        withUnsafeBytes(of: staged) { buffer.append(contentsOf: $0[0..<n]) }
        stagedCount = 0
    }

    @usableFromInline
    mutating func feedOne(_ byte: UInt8) {
        if quiet && stagedCount == 32 {
            // Staged bytes go to the buffer, still quiet; this byte is checked as any other.
            unstage()
            return feedByte(byte)
        }
        prepareToAppend()
        buffer.append(byte)
    }

    @usableFromInline
    mutating func feedMany(_ bytes: ArraySlice<UInt8>) {
        prepareToAppend()
        buffer.append(contentsOf: bytes)
    }

    @usableFromInline
    mutating func feedMany(_ bytes: [UInt8]) {
        prepareToAppend()
        buffer.append(contentsOf: bytes)
    }

    @usableFromInline
    mutating func feedMany(_ bytes: UnsafeBufferPointer<UInt8>) {
        prepareToAppend()
        buffer.append(contentsOf: bytes)
    }

    /// The next event, or nil when more input is needed to decide.
    @inlinable
    public mutating func next() -> Event? {
        if quiet { return nil }
        return nextDecision()
    }

    @usableFromInline
    mutating func nextDecision() -> Event? {
        unstage()
        return step(final: finished)
    }

    /// Reports a run of skipped bytes now instead of waiting for what follows it
    /// (for a live connection that has gone quiet after sending noise).
    public mutating func flushSkipped() -> Event? {
        flushSkip()
    }

    /// Marks the end of the input and returns everything that was still pending.
    public mutating func finish() -> [Event] {
        finished = true
        unstage()
        quiet = false
        var events: [Event] = []
        while let event = step(final: true) { events.append(event) }
        return events
    }

    // MARK: - Internals

    @inline(__always)
    private mutating func compactIfUseful() {
        if start > 0 && (start >= 4096 || start * 2 >= buffer.count) {
            buffer.removeFirst(start)
            bufferOffset += start
            start = 0
        }
    }

    /// Produces one event, or nil when nothing more can be decided with the bytes held.
    /// A run of skipped bytes is held until something else follows it or the input ends, so
    /// that the events are the same however the input was chunked.
    private mutating func step(final: Bool) -> Event? {
        while true {
            if start >= buffer.count { return final ? flushSkip() : nil }
            if !final && !rescansEveryCall && waitingFrom == bufferOffset + start && !newBytesMatter() {
                beQuiet()
                return nil
            }
            var wake = 0
            if waitingFrom != bufferOffset + start || rescansEveryCall { memo = FrameScanner.ScanMemo() }
            let decision = buffer.withUnsafeBufferPointer { all in
                FrameScanner.decide(UnsafeBufferPointer(rebasing: all[start...]), final: final, maxFrameBytes: maxFrameBytes, wake: &wake, memo: &memo)
            }
            bytesScanned += memo.scanned
            memo.scanned = 0
            decisions += 1
            switch decision {
            case .needMore:
                // Consumed bytes go now, so that the byte-at-a-time path never has to compact.
                compactIfUseful()
                waitingFrom = bufferOffset + start
                checkedTo = bytesFed
                wakeAt = bufferOffset + start + wake
                if final { return flushSkip() }
                if !rescansEveryCall { beQuiet() }
                return nil
            case .skip(let count, let reason):
                if let event = recordSkip(count: count, reason: reason) { return event }
            case .frame(let layout):
                if let flushed = flushSkip() { return flushed }
                let frame = RawFrame(
                    offset: bufferOffset + start,
                    bytes: Array(buffer[start..<(start + layout.end)]),
                    declaredLength: layout.declaredLength,
                    segment: layout.segment,
                    crcField: layout.crc,
                    trailer: layout.trailer,
                    boundary: layout.boundary)
                start += layout.end
                return .frame(frame)
            case .incomplete(let declared):
                if let flushed = flushSkip() { return flushed }
                let crcEnd = declared.map { start + 6 + $0 + 4 }
                let tail = IncompleteTail(
                    offset: bufferOffset + start, count: buffer.count - start, declaredLength: declared,
                    sample: Array(buffer[start..<min(buffer.count, start + 64)]),
                    crc: crcEnd.flatMap { $0 <= buffer.count ? Array(buffer[($0 - 4)..<$0]) : nil })
                start = buffer.count
                return .incomplete(tail)
            }
        }
    }

    /// After a "need more" decision, with every byte held checked: single bytes take the fast path.
    private mutating func beQuiet() {
        quiet = true
        lastByte = buffer[buffer.count - 1]
        untilWake = wakeAt - bytesFed
    }

    /// Whether the bytes received since the last "need more" decision can change it: the buffer
    /// reached the length the scanner asked for, or a new byte completes a `##` or a CR LF.
    /// Each byte is checked once.
    private mutating func newBytesMatter() -> Bool {
        let end = bytesFed
        if end >= wakeAt { return true }
        var j = max(checkedTo, bufferOffset + start + 1) - bufferOffset
        let stop = end - bufferOffset
        bytesScanned += max(0, stop - j)
        var found = false
        while j < stop {
            let b = buffer[j]
            if (b == FrameScanner.hash && buffer[j - 1] == FrameScanner.hash) || (b == FrameScanner.lf && buffer[j - 1] == FrameScanner.cr) {
                found = true
                break
            }
            j += 1
        }
        checkedTo = bufferOffset + j
        return found
    }

    private mutating func recordSkip(count: Int, reason: SkippedBytes.Reason) -> Event? {
        let offset = bufferOffset + start
        var flushed: Event?
        if var pending = pendingSkip, pending.reason == reason, pending.offset + pending.count == offset {
            pending.count += count
            if pending.sample.count < 64 {
                pending.sample += buffer[start..<min(start + count, start + 64 - pending.sample.count)]
            }
            pendingSkip = pending
        } else {
            flushed = flushSkip()
            pendingSkip = SkippedBytes(
                offset: offset, count: count, reason: reason,
                sample: Array(buffer[start..<min(start + count, start + 64)]))
        }
        start += count
        return flushed
    }

    private mutating func flushSkip() -> Event? {
        guard let pending = pendingSkip else { return nil }
        pendingSkip = nil
        return .skipped(pending)
    }
}

/// Where a frame lies, relative to the position the scanner started at.
struct FrameLayout: Equatable {
    var end: Int
    var declaredLength: Int?
    var segment: Range<Int>
    var crc: Range<Int>
    var trailer: RawFrame.Trailer
    var boundary: RawFrame.Boundary
}

/// The decision procedure shared by the streaming decoder and bulk scanning.
/// Works on the unconsumed bytes; every index is relative to their start.
enum FrameScanner {
    enum Decision: Equatable {
        case needMore
        case skip(Int, SkippedBytes.Reason)
        case frame(FrameLayout)
        case incomplete(declaredLength: Int?)
    }

    static let hash = UInt8(ascii: "#")
    static let cr = UInt8(ascii: "\r")
    static let lf = UInt8(ascii: "\n")
    static let amp = UInt8(ascii: "&")

    @inline(__always)
    static func isDigit(_ b: UInt8) -> Bool { b &- 48 < 10 }

    @inline(__always)
    static func isHex(_ b: UInt8) -> Bool { b &- 48 < 10 || (b | 0x20) &- 97 < 6 }

    /// Index of the first `##` at or after `from`, or nil.
    @inline(__always)
    static func findHashes(_ buf: UnsafeBufferPointer<UInt8>, from: Int, to end: Int) -> Int? { findPair(buf, hash, hash, from, end) }

    /// Index of the first CR LF at or after `from` and before `end`, or nil.
    @inline(__always)
    static func findCRLF(_ buf: UnsafeBufferPointer<UInt8>, from: Int, to end: Int) -> Int? { findPair(buf, cr, lf, from, end) }

    /// The first `i` in `from..<end - 1` with `buf[i] == a && buf[i + 1] == b`: `memchr` (vector
    /// code in the C library) finds each candidate `a`, a frame's bytes are not walked one by one.
    @inline(__always)
    static func findPair(_ buf: UnsafeBufferPointer<UInt8>, _ a: UInt8, _ b: UInt8, _ from: Int, _ end: Int) -> Int? {
        var i = from
        while i + 1 < end, let base = buf.baseAddress, let p = memchr(base + i, Int32(a), end - 1 - i) {
            let at = UnsafeRawPointer(base).distance(to: UnsafeRawPointer(p))
            if buf[at + 1] == b { return at }
            i = at + 1
        }
        return nil
    }

    @inline(__always)
    static func hexRun(_ buf: UnsafeBufferPointer<UInt8>, _ at: Int) -> Bool {
        isHex(buf[at]) && isHex(buf[at + 1]) && isHex(buf[at + 2]) && isHex(buf[at + 3])
    }

    /// A frame ending at the line end `crlf` (at least 10, callers check), with the CRC in the
    /// four bytes before it.
    static func lineEndFrame(_ buf: UnsafeBufferPointer<UInt8>, crlf: Int, declared: Int?) -> FrameLayout {
        FrameLayout(
            end: crlf + 2, declaredLength: declared, segment: 6..<(crlf - 4), crc: (crlf - 4)..<crlf,
            trailer: .crlf, boundary: .lineEnd)
    }

    /// The first line end before the next `##` (searched from `from`), within the frame-size cap.
    /// `.found` also requires a hex CRC before it; a line end without one means this `##` is not a frame.
    enum LineEnd { case found(Int), blocked(skip: Int), needMore }

    static func lineEnd(_ buf: UnsafeBufferPointer<UInt8>, from: Int, limit: Int, final: Bool, memo: inout ScanMemo) -> LineEnd {
        let end = min(buf.count, limit)
        let nextHash = findHashes(buf, from: max(1, memo.hashFree), to: end)
        memo.scanned += max(0, (nextHash ?? end) - max(1, memo.hashFree))
        memo.hashFree = nextHash ?? max(memo.hashFree, end - 1)
        let crlfEnd = nextHash ?? end
        if memo.crlfBase != from {
            memo.crlfBase = from
            memo.crlfFree = from
        }
        let first = findCRLF(buf, from: max(from, memo.crlfFree), to: crlfEnd)
        memo.scanned += max(0, (first ?? crlfEnd) - max(from, memo.crlfFree))
        memo.crlfFree = first ?? max(memo.crlfFree, crlfEnd - 1)
        if let c = first, c >= 10, hexRun(buf, c - 4) {
            return .found(c)
        }
        // Not a frame: skip up to the next "##" (which may overlap, as in "###0218"), else the "##".
        if let h = nextHash { return .blocked(skip: h) }
        if buf.count >= limit || final { return .blocked(skip: 2) }
        return .needMore
    }

    static func decide(_ buf: UnsafeBufferPointer<UInt8>, final: Bool, maxFrameBytes: Int) -> Decision {
        var wake = 0
        var memo = ScanMemo()
        return decide(buf, final: final, maxFrameBytes: maxFrameBytes, wake: &wake, memo: &memo)
    }

    /// What earlier scans of the same unconsumed bytes established, so that a decision taken
    /// again after more bytes arrived resumes the searches where the last one stopped instead of
    /// rescanning from the start (each statement stays true as bytes are appended). Valid only
    /// while the start of the bytes does not move; a fresh memo knows nothing.
    struct ScanMemo: Equatable {
        /// No `##` pair starts in `1..<hashFree` (the search of `lineEnd`).
        var hashFree = 1
        /// For `lineEnd` searching from `crlfBase`: no CR LF starts in `crlfBase..<crlfFree`
        /// (or the first one is at `crlfFree`).
        var crlfBase = -1
        var crlfFree = 0
        /// No header (`##` and four digits) starts in `2..<innerFrom` (the cut-short search).
        var innerFrom = 2
        /// The first CR LF at or after 6 is not before `innerCRLFFree`.
        var innerCRLFFree = 6
        /// Bytes the searches looked at (a measure of work for tests and benchmarks).
        var scanned = 0
    }

    /// Decides what the bytes hold. On `.needMore`, `wake` is the buffer length before which the
    /// decision cannot change unless a new `##` or CR LF arrives (at least `buf.count + 1`); the
    /// stream decoder uses it to avoid rescanning on every byte.
    static func decide(_ buf: UnsafeBufferPointer<UInt8>, final: Bool, maxFrameBytes: Int, wake: inout Int, memo: inout ScanMemo) -> Decision {
        let count = buf.count
        wake = count + 1
        guard count > 0 else { return .needMore }
        // Noise before the next "##".
        if !(count >= 2 && buf[0] == hash && buf[1] == hash) {
            let h = findHashes(buf, from: 0, to: count)
            memo.scanned += h ?? count
            if let h { return .skip(h, .noise) }
            // Keep a trailing '#' that may start a header, unless the input has ended.
            if buf[count - 1] == hash && !final {
                return count > 1 ? .skip(count - 1, .noise) : .needMore
            }
            return .skip(count, .noise)
        }
        guard count >= 6 else {
            wake = 6
            return final ? .incomplete(declaredLength: nil) : .needMore
        }
        let limit = maxFrameBytes
        let digits = isDigit(buf[2]) && isDigit(buf[3]) && isDigit(buf[4]) && isDigit(buf[5])
        guard digits else {
            switch lineEnd(buf, from: 6, limit: limit, final: final, memo: &memo) {
            case .found(let c):
                return .frame(lineEndFrame(buf, crlf: c, declared: nil))
            case .blocked(let skip):
                return .skip(skip, .brokenHeader)
            case .needMore:
                wake = max(count + 1, limit)
                return .needMore
            }
        }
        let declared = Int(buf[2] &- 48) * 1000 + Int(buf[3] &- 48) * 100 + Int(buf[4] &- 48) * 10 + Int(buf[5] &- 48)
        let crcEnd = 6 + declared + 4
        // A frame larger than the cap is never waited for: only a line end within the cap delimits it.
        if crcEnd + 2 > limit {
            switch lineEnd(buf, from: 6, limit: limit, final: final, memo: &memo) {
            case .found(let c): return .frame(lineEndFrame(buf, crlf: c, declared: declared))
            case .blocked: return .skip(2, .unframed)
            case .needMore:
                wake = max(count + 1, limit)
                return .needMore
            }
        }
        // Another header ("##" and four digits) inside the declared frame: this one was cut short.
        let region = min(count, crcEnd)
        var inner: Int?
        var from = max(2, memo.innerFrom)
        var cut = false
        while let h = findHashes(buf, from: from, to: region) {
            memo.scanned += h + 1 - from
            if h + 6 > count {
                if !final {
                    memo.innerFrom = h
                    wake = h + 6
                    return .needMore
                }
                cut = true
                break
            }
            if isDigit(buf[h + 2]) && isDigit(buf[h + 3]) && isDigit(buf[h + 4]) && isDigit(buf[h + 5]) { inner = h; break }
            from = h + 1
        }
        if inner == nil && !cut {
            memo.scanned += max(0, region - from)
            memo.innerFrom = max(from, region - 1)
        }
        // A line end closing "&&XXXX" before the declared end (and before any inner header): the
        // length is wrong (too long), the frame itself is whole.
        let crlfStop = inner ?? region
        let firstCRLF = findCRLF(buf, from: max(6, memo.innerCRLFFree), to: crlfStop)
        memo.scanned += max(0, (firstCRLF ?? crlfStop) - max(6, memo.innerCRLFFree))
        memo.innerCRLFFree = firstCRLF ?? max(memo.innerCRLFFree, crlfStop - 1)
        if let c = firstCRLF, c >= 10, hexRun(buf, c - 4) {
            return .frame(lineEndFrame(buf, crlf: c, declared: declared))
        }
        if let inner { return .skip(inner, .truncated) }
        guard count >= crcEnd else {
            wake = crcEnd
            return final ? .incomplete(declaredLength: declared) : .needMore
        }
        let crcIsHex = hexRun(buf, crcEnd - 4)
        if crcIsHex {
            // Trailer after the CRC.
            if count < crcEnd + 2 && !final {
                if count == crcEnd || buf[crcEnd] == cr || buf[crcEnd] == lf || buf[crcEnd] == hash { return .needMore }
            }
            var trailer: RawFrame.Trailer = .missing
            var end = crcEnd
            if crcEnd + 1 < count && buf[crcEnd] == cr && buf[crcEnd + 1] == lf {
                trailer = .crlf; end = crcEnd + 2
            } else if crcEnd < count && buf[crcEnd] == lf {
                trailer = .lf; end = crcEnd + 1
            } else if crcEnd < count && buf[crcEnd] == cr {
                trailer = .cr; end = crcEnd + 1
            }
            let layout = FrameLayout(
                end: end, declaredLength: declared, segment: 6..<(crcEnd - 4), crc: (crcEnd - 4)..<crcEnd,
                trailer: trailer, boundary: .declaredLength)
            if trailer != .missing { return .frame(layout) }
            // Nothing after the CRC: fine if the next frame or the end of input follows.
            if crcEnd == count || (crcEnd + 1 < count && buf[crcEnd] == hash && buf[crcEnd + 1] == hash) {
                return .frame(layout)
            }
            // Otherwise the declared length is probably short: prefer a later line end.
            switch lineEnd(buf, from: crcEnd, limit: limit, final: final, memo: &memo) {
            case .found(let c): return .frame(lineEndFrame(buf, crlf: c, declared: declared))
            case .blocked: return .frame(layout)
            case .needMore:
                wake = max(count + 1, limit)
                return .needMore
            }
        }
        // No CRC where the length says: find the real end of the line.
        switch lineEnd(buf, from: 6, limit: limit, final: final, memo: &memo) {
        case .found(let c): return .frame(lineEndFrame(buf, crlf: c, declared: declared))
        case .blocked(let skip):
            return final && findHashes(buf, from: 1, to: count) == nil ? .incomplete(declaredLength: declared) : .skip(skip, .unframed)
        case .needMore:
            wake = max(count + 1, limit)
            return .needMore
        }
    }
}
