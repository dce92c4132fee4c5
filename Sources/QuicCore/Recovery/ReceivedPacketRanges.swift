// The set of packet numbers received in one packet number space, as disjoint, non-adjacent
// ranges in ascending order, bounded in count: past `maxRanges` the oldest ranges are dropped
// (RFC 9000 §13.2.3 lets a receiver limit the ranges it remembers). Packet numbers below
// `floor` have been forgotten and count as already received (duplicates).

public struct ReceivedPacketRanges: Sendable {
    /// Ascending, disjoint, with a gap of at least one packet number between neighbours.
    public private(set) var ranges: [ClosedRange<UInt64>] = []
    /// Packet numbers below this are forgotten (treated as duplicates).
    public private(set) var floor: UInt64 = 0
    public let maxRanges: Int

    public init(maxRanges: Int = 64) {
        self.maxRanges = max(maxRanges, 1)
        ranges.reserveCapacity(self.maxRanges + 1)
    }

    public var isEmpty: Bool { ranges.isEmpty }
    public var largest: UInt64? { ranges.last?.upperBound }
    public var smallest: UInt64? { ranges.first?.lowerBound }

    /// Index of the first range whose upper bound is >= pn (ranges.count if none).
    private func firstIndex(notBelow pn: UInt64) -> Int {
        var lo = 0, hi = ranges.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if ranges[mid].upperBound < pn { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// True if `pn` was received before or is below the forgotten floor.
    public func contains(_ pn: UInt64) -> Bool {
        if pn < floor { return true }
        // Fast path: newest range.
        if let last = ranges.last {
            if pn > last.upperBound { return false }
            if pn >= last.lowerBound { return true }
        }
        let i = firstIndex(notBelow: pn)
        return i < ranges.count && ranges[i].contains(pn)
    }

    /// Adds `pn`; returns false if it was already present (duplicate) or forgotten.
    @discardableResult
    public mutating func insert(_ pn: UInt64) -> Bool {
        if pn < floor { return false }
        if let last = ranges.last {
            // Fast path: in-order arrival extends the newest range.
            if pn == last.upperBound &+ 1 && pn != 0 {
                ranges[ranges.count - 1] = last.lowerBound...pn
                return true
            }
            if pn > last.upperBound {
                ranges.append(pn...pn)
                trim()
                return true
            }
        } else {
            ranges.append(pn...pn)
            return true
        }
        let i = firstIndex(notBelow: pn)
        // ranges[i].upperBound >= pn here (pn <= largest).
        let r = ranges[i]
        if r.contains(pn) { return false }
        // pn < r.lowerBound; does it touch r or the previous range?
        let joinsNext = pn &+ 1 == r.lowerBound
        let joinsPrev = i > 0 && ranges[i - 1].upperBound &+ 1 == pn
        switch (joinsPrev, joinsNext) {
        case (true, true):
            ranges[i - 1] = ranges[i - 1].lowerBound...r.upperBound
            ranges.remove(at: i)
        case (true, false):
            ranges[i - 1] = ranges[i - 1].lowerBound...pn
        case (false, true):
            ranges[i] = pn...r.upperBound
        case (false, false):
            ranges.insert(pn...pn, at: i)
            trim()
        }
        return true
    }

    /// Drops the oldest ranges beyond `maxRanges`.
    private mutating func trim() {
        let excess = ranges.count - maxRanges
        guard excess > 0 else { return }
        floor = ranges[excess - 1].upperBound &+ 1
        ranges.removeFirst(excess)
    }

    /// Forgets every packet number <= `pn` (RFC 9000 §13.2.4: once an ACK frame whose Largest
    /// Acknowledged was `pn` is itself acknowledged, those need not be acknowledged again).
    public mutating func forget(through pn: UInt64) {
        guard pn != .max else { ranges.removeAll(keepingCapacity: true); floor = .max; return }
        if pn &+ 1 > floor { floor = pn &+ 1 }
        var drop = 0
        while drop < ranges.count && ranges[drop].upperBound <= pn { drop += 1 }
        if drop > 0 { ranges.removeFirst(drop) }
        if let first = ranges.first, first.lowerBound <= pn {
            ranges[0] = (pn + 1)...first.upperBound
        }
    }

    /// Removes everything (the space was discarded).
    public mutating func removeAll() {
        ranges.removeAll(keepingCapacity: true)
    }
}
