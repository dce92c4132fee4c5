// Reassembly of stream and CRYPTO data received out of order (RFC 9000 §2.2: "endpoints MUST
// be able to deliver stream data to an application as an ordered byte stream", duplicates and
// overlaps allowed; §19.6 the same for CRYPTO).
//
// Bytes live in a ring indexed by `offset % capacity`. The ring grows by doubling up to
// `limit` bytes beyond the read offset (the advertised flow control window, or the CRYPTO
// buffer limit), so memory is bounded by what we allowed the peer to send. Only missing
// bytes are written, so data already handed to the application is never overwritten.
// The application reads the contiguous prefix in place (at most two spans, because of the
// wrap) and then says how much it consumed. If the ring must grow while the application still
// holds spans, the old storage is kept until that read completes.

@usableFromInline
final class RingStorage {
    @usableFromInline let base: UnsafeMutableRawPointer
    @usableFromInline let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        base = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
    }

    deinit { base.deallocate() }
}

/// The contiguous readable data of a receive buffer: up to two spans (the second is non-empty
/// only when the data wraps around the ring).
public struct ReadableSpans {
    /// The stream offset of the first byte of `first`.
    public var offset: UInt64
    public var first: UnsafeRawBufferPointer
    public var second: UnsafeRawBufferPointer
    @inlinable public var count: Int { first.count + second.count }
    @inlinable public var isEmpty: Bool { count == 0 }

    /// Copies the spans into a new array (tests and cold paths).
    public var bytes: [UInt8] { Array(first) + Array(second) }
}

public struct ReceiveBuffer {
    var storage: RingStorage?
    /// Storage replaced while spans into it were lent out; released on the next consume.
    var retired: [RingStorage] = []
    var lent = false
    /// Bytes below this offset were consumed by the reader.
    public private(set) var readOffset: UInt64 = 0
    /// Received ranges at or above `readOffset`.
    var received = OffsetRangeSet()
    /// The most bytes beyond `readOffset` the buffer may hold.
    public var limit: UInt64
    /// The smallest ring allocated.
    let initialCapacity: Int

    public init(limit: UInt64, initialCapacity: Int = 4096) {
        self.limit = limit
        self.initialCapacity = Swift.max(64, initialCapacity)
    }

    /// The end of the data contiguous from the read offset.
    public var contiguousEnd: UInt64 { received.contiguousEnd(from: readOffset) }

    /// Bytes ready to read.
    public var readableCount: UInt64 { contiguousEnd - readOffset }

    /// The highest offset received (one past the last byte), or the read offset.
    public var highestReceived: UInt64 { Swift.max(received.last?.upperBound ?? readOffset, readOffset) }

    /// Bytes of memory held.
    public var allocatedBytes: Int { (storage?.capacity ?? 0) + retired.reduce(0) { $0 + $1.capacity } }

    public enum InsertError: Error, Equatable {
        /// The data ends more than `limit` bytes past the read offset.
        case exceedsLimit
        /// Storing the data would leave more than `maxGaps` separate received ranges.
        case tooFragmented
    }

    /// The most separate received ranges kept: bounds the bookkeeping (and the CPU spent on
    /// it) when a peer sends many tiny out-of-order pieces.
    public static let maxGaps = 4096

    /// Stores `bytes` at stream offset `offset`. Bytes below the read offset or already received
    /// are ignored. Throws if the data would end more than `limit` bytes past the read offset
    /// (the caller maps it to FLOW_CONTROL_ERROR or CRYPTO_BUFFER_EXCEEDED). Returns true if the
    /// contiguous readable data grew.
    @discardableResult
    public mutating func insert(offset: UInt64, bytes: UnsafeRawBufferPointer) throws(InsertError) -> Bool {
        let (end, overflow) = offset.addingReportingOverflow(UInt64(bytes.count))
        guard !overflow else { throw .exceedsLimit }
        guard end > readOffset, !bytes.isEmpty else { return false }
        guard end - readOffset <= limit else { throw .exceedsLimit }
        if received.count >= Self.maxGaps, !received.contains(Swift.max(offset, readOffset)..<end) {
            // Only accept data that does not add a new range.
            var probe = received
            probe.insert(Swift.max(offset, readOffset)..<end)
            if probe.count > Self.maxGaps { throw .tooFragmented }
        }
        let start = Swift.max(offset, readOffset)
        let before = contiguousEnd
        ensureCapacity(Int(end - readOffset))
        guard let st = storage else { return false }
        let cap = UInt64(st.capacity)
        received.forEachGap(in: start..<end) { gap in
            // Copy gap bytes into the ring, splitting at the wrap.
            var cursor = gap.lowerBound
            while cursor < gap.upperBound {
                let pos = Int(cursor % cap)
                let n = Int(Swift.min(gap.upperBound - cursor, cap - UInt64(pos)))
                let src = bytes.baseAddress.map { $0 + Int(cursor - offset) }
                if let src { (st.base + pos).copyMemory(from: src, byteCount: n) }
                cursor += UInt64(n)
            }
        }
        received.insert(start..<end)
        return contiguousEnd > before
    }

    /// Grows the ring so that `needed` bytes past the read offset fit.
    mutating func ensureCapacity(_ needed: Int) {
        if let st = storage, st.capacity >= needed { return }
        var cap = storage?.capacity ?? initialCapacity
        while cap < needed { cap *= 2 }
        // Never hold more than the limit allows (the limit may not be a power of two).
        if UInt64(cap) > limit, UInt64(needed) <= limit { cap = Swift.max(needed, Int(limit)) }
        let fresh = RingStorage(capacity: cap)
        if let old = storage {
            // Move every received byte at or above the read offset to its new position.
            let oldCap = UInt64(old.capacity), newCap = UInt64(cap)
            for r in received.ranges {
                var cursor = Swift.max(r.lowerBound, readOffset)
                while cursor < r.upperBound {
                    let op = Int(cursor % oldCap), np = Int(cursor % newCap)
                    let n = Int(Swift.min(r.upperBound - cursor, oldCap - UInt64(op), newCap - UInt64(np)))
                    (fresh.base + np).copyMemory(from: old.base + op, byteCount: n)
                    cursor += UInt64(n)
                }
            }
            if lent { retired.append(old) }
        }
        storage = fresh
    }

    /// The contiguous data from the read offset, in place. The spans stay valid until the next
    /// `consume` (even if more data arrives meanwhile).
    public mutating func readable() -> ReadableSpans {
        let n = Int(readableCount)
        guard n > 0, let st = storage else {
            return ReadableSpans(offset: readOffset, first: UnsafeRawBufferPointer(start: nil, count: 0),
                                 second: UnsafeRawBufferPointer(start: nil, count: 0))
        }
        lent = true
        let pos = Int(readOffset % UInt64(st.capacity))
        let firstCount = Swift.min(n, st.capacity - pos)
        return ReadableSpans(
            offset: readOffset,
            first: UnsafeRawBufferPointer(start: st.base + pos, count: firstCount),
            second: UnsafeRawBufferPointer(start: st.base, count: n - firstCount))
    }

    /// Marks `count` readable bytes as consumed (clamped to what is readable). Returns the
    /// number of bytes consumed.
    @discardableResult
    public mutating func consume(_ count: UInt64) -> UInt64 {
        let n = Swift.min(count, readableCount)
        readOffset += n
        received.removeAll(below: readOffset)
        lent = false
        retired.removeAll()
        return n
    }

    /// Drops all buffered data and moves the read offset to `offset` (e.g. after RESET_STREAM
    /// or STOP_SENDING, where unread data is discarded, RFC 9000 §3.2).
    public mutating func discardAll(upTo offset: UInt64) {
        readOffset = Swift.max(readOffset, offset)
        received.removeAll()
        if !lent { storage = nil }
    }

    /// Releases the ring (nothing buffered and nothing lent).
    public mutating func releaseIfIdle() {
        if received.isEmpty && !lent { storage = nil; retired.removeAll() }
    }
}
