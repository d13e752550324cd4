/// A growable list of values (offsets, ranges, small tuples) that one owner empties and
/// fills again for every item it works on: the byte linter's per-frame tables of header fields,
/// CP entries and findings. An `Array` checks on every append that its storage is not shared
/// (a call out of line, about 80 per frame of `lint` on the real-traffic stand-in, issue 17);
/// here an append is inlined with one capacity check and nothing else.
///
/// A reference type, so that its owner keeps it in a `let` (no exclusivity check per access) and
/// readers get the elements without a copy. One owner changes it (the linter's tables, the
/// store's record packer); the elements are valid until the owner's next `removeAll`; not shared
/// between threads. Memory: the largest count reached, kept for reuse.
public final class ScratchList<Element>: RandomAccessCollection {
    @usableFromInline @exclusivity(unchecked) var base: UnsafeMutablePointer<Element>
    @usableFromInline @exclusivity(unchecked) var capacity: Int
    @usableFromInline @exclusivity(unchecked) var used = 0

    public init(capacity: Int = 16) {
        self.capacity = Swift.max(4, capacity)
        base = .allocate(capacity: self.capacity)
    }

    deinit {
        base.deinitialize(count: used)
        base.deallocate()
    }

    public typealias Index = Int
    public typealias Indices = Range<Int>

    @inlinable public var startIndex: Int { 0 }
    @inlinable public var endIndex: Int { used }
    @inlinable public var count: Int { used }
    @inlinable public var isEmpty: Bool { used == 0 }
    /// Elements allocated (kept across `removeAll`), for the memory budgets of its owners.
    @inlinable public var allocatedCount: Int { capacity }
    @inlinable public var indices: Range<Int> { 0..<used }
    @inlinable public func index(after i: Int) -> Int { i + 1 }
    @inlinable public func index(before i: Int) -> Int { i - 1 }

    @inlinable
    public subscript(i: Int) -> Element {
        @inline(__always) get {
            precondition(i >= 0 && i < used, "index out of range")
            return base[i]
        }
        @inline(__always) set {
            precondition(i >= 0 && i < used, "index out of range")
            base[i] = newValue
        }
    }

    @inlinable @inline(__always)
    public func append(_ element: Element) {
        if used == capacity { grow() }
        (base + used).initialize(to: element)
        used += 1
    }

    /// Forgets the elements; the memory is kept for the next item.
    @inlinable @inline(__always)
    public func removeAll() {
        // Nothing to do per element for plain values (the specialised code drops the call).
        base.deinitialize(count: used)
        used = 0
    }

    /// Whether any element satisfies `predicate`, read in place.
    @inlinable
    public func contains(where predicate: (Element) throws -> Bool) rethrows -> Bool {
        for i in 0..<used where try predicate(base[i]) { return true }
        return false
    }

    /// A stable sort in place, for the few elements of one item (what `sorted(by:)` gives,
    /// without its new array per call): the linter's findings of one group, the store's invalid
    /// flags of one record.
    @inlinable
    public func insertionSort(by less: (Element, Element) -> Bool) {
        guard used > 1 else { return }
        for i in 1..<used {
            let x = base[i]
            var j = i
            while j > 0 && less(x, base[j - 1]) {
                base[j] = base[j - 1]
                j -= 1
            }
            base[j] = x
        }
    }

    @usableFromInline @inline(never)
    func grow() {
        let (doubled, overflow) = capacity.multipliedReportingOverflow(by: 2)
        precondition(!overflow, "scratch list of \(capacity) elements cannot grow")
        let new = UnsafeMutablePointer<Element>.allocate(capacity: doubled)
        new.moveInitialize(from: base, count: used)
        base.deallocate()
        base = new
        capacity = doubled
    }
}
