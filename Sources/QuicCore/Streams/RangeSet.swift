// A set of stream offsets kept as sorted, disjoint, non-adjacent half-open ranges. Used for
// received data (reassembly, RFC 9000 §2.2), acknowledged data and data declared lost
// (retransmission, RFC 9000 §13.3). The backing array is reused, so steady-state inserts and
// removals do not allocate once it has grown to the working set.

public struct OffsetRangeSet: Equatable, Sendable {
    /// Sorted by lower bound; no two ranges overlap or touch; none is empty.
    public private(set) var ranges: [Range<UInt64>] = []

    public init() {}

    @inlinable public var isEmpty: Bool { ranges.isEmpty }
    @inlinable public var count: Int { ranges.count }
    @inlinable public var first: Range<UInt64>? { ranges.first }
    @inlinable public var last: Range<UInt64>? { ranges.last }

    /// The index of the first range whose upper bound is >= `offset`.
    @usableFromInline
    func lowerIndex(_ offset: UInt64) -> Int {
        var lo = 0, hi = ranges.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if ranges[mid].upperBound < offset { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// Adds `r`, merging with ranges it overlaps or touches.
    public mutating func insert(_ r: Range<UInt64>) {
        guard !r.isEmpty else { return }
        let i = lowerIndex(r.lowerBound)
        var j = i
        var lower = r.lowerBound, upper = r.upperBound
        while j < ranges.count, ranges[j].lowerBound <= upper {
            lower = Swift.min(lower, ranges[j].lowerBound)
            upper = Swift.max(upper, ranges[j].upperBound)
            j += 1
        }
        if i == j {
            ranges.insert(lower..<upper, at: i)
        } else {
            ranges[i] = lower..<upper
            if j > i + 1 { ranges.removeSubrange((i + 1)..<j) }
        }
    }

    /// Removes every offset of `r`.
    public mutating func remove(_ r: Range<UInt64>) {
        guard !r.isEmpty else { return }
        var i = lowerIndex(r.lowerBound)
        // A range ending exactly at r.lowerBound is untouched.
        if i < ranges.count, ranges[i].upperBound == r.lowerBound { i += 1 }
        while i < ranges.count, ranges[i].lowerBound < r.upperBound {
            let cur = ranges[i]
            let left = cur.lowerBound..<Swift.max(cur.lowerBound, Swift.min(cur.upperBound, r.lowerBound))
            let right = Swift.min(cur.upperBound, Swift.max(cur.lowerBound, r.upperBound))..<cur.upperBound
            switch (left.isEmpty, right.isEmpty) {
            case (true, true):
                ranges.remove(at: i)
            case (false, true):
                ranges[i] = left; i += 1
            case (true, false):
                ranges[i] = right; i += 1
            case (false, false):
                ranges[i] = left
                ranges.insert(right, at: i + 1)
                i += 2
            }
        }
    }

    /// Removes every offset below `offset`.
    public mutating func removeAll(below offset: UInt64) {
        guard let f = ranges.first, f.lowerBound < offset else { return }
        remove(f.lowerBound..<offset)
    }

    public mutating func removeAll() { ranges.removeAll(keepingCapacity: true) }

    /// True if every offset of `r` is in the set (an empty range is always contained).
    public func contains(_ r: Range<UInt64>) -> Bool {
        if r.isEmpty { return true }
        let i = lowerIndex(r.lowerBound)
        guard i < ranges.count else { return false }
        let c = ranges[i]
        return c.lowerBound <= r.lowerBound && c.upperBound >= r.upperBound
            && !(c.upperBound == r.lowerBound)
    }

    public func contains(_ offset: UInt64) -> Bool {
        offset < UInt64.max && contains(offset..<(offset + 1))
    }

    /// If the set holds a range starting at or below `offset` and covering it, the end of that
    /// range; otherwise `offset` itself. "How far is data contiguous from `offset`?"
    public func contiguousEnd(from offset: UInt64) -> UInt64 {
        let i = lowerIndex(offset)
        guard i < ranges.count, ranges[i].lowerBound <= offset else { return offset }
        return ranges[i].upperBound
    }

    /// Calls `body` for each sub-range of `r` that is NOT in the set, in order.
    @inlinable
    public func forEachGap(in r: Range<UInt64>, _ body: (Range<UInt64>) throws -> Void) rethrows {
        guard !r.isEmpty else { return }
        var cursor = r.lowerBound
        var i = lowerIndex(r.lowerBound)
        while cursor < r.upperBound {
            if i < ranges.count, ranges[i].lowerBound < r.upperBound {
                let c = ranges[i]
                if c.lowerBound > cursor { try body(cursor..<c.lowerBound) }
                cursor = Swift.max(cursor, c.upperBound)
                i += 1
            } else {
                try body(cursor..<r.upperBound)
                cursor = r.upperBound
            }
        }
    }

    /// The total number of offsets in the set.
    public var totalLength: UInt64 { ranges.reduce(0) { $0 + ($1.upperBound - $1.lowerBound) } }
}
