// The sending half's data: bytes queued by the application, which of them are in flight,
// acknowledged or declared lost, and the FIN (RFC 9000 §2.2, §3.1, §13.3).
//
// Data stays in the application's chunks (owned copies or borrowed buffers the application
// keeps valid until its send completes, as MsQuic's StreamSend does) until every byte of a
// chunk is acknowledged; then the chunk is released. Lost ranges are retransmitted before new
// data (RFC 9000 §13.3: "data sent in STREAM frames is retransmitted in new STREAM frames").

import QuicWire

/// Bytes handed to a stream for sending.
///
/// Sendable (unchecked): `.borrowed` points at application memory that the MsQuic contract
/// leaves untouched by the application until SEND_COMPLETE (docs/api/StreamSend.md); the engine
/// reads it only on the connection's worker, before that event.
public enum SendData: @unchecked Sendable {
    /// A copy the stream owns.
    case owned([UInt8])
    /// Memory the caller keeps valid and unchanged until the send request completes
    /// (MsQuic StreamSend semantics: buffers are owned by the app until SEND_COMPLETE).
    case borrowed(UnsafeRawBufferPointer)

    @inlinable public var count: Int {
        switch self {
        case .owned(let a): return a.count
        case .borrowed(let b): return b.count
        }
    }
}

@usableFromInline
struct SendChunk {
    @usableFromInline var start: UInt64
    @usableFromInline var data: SendData
    @usableFromInline var end: UInt64 { start + UInt64(data.count) }
}

/// One application send request: complete when every byte up to `end` (and the FIN if it
/// carried one) is acknowledged, or canceled by a reset (MsQuic SEND_COMPLETE).
public struct SendRequest: Equatable, Sendable {
    public var end: UInt64
    public var fin: Bool
    public var context: UInt64
}

/// A range of stream data (and possibly the FIN) chosen to go into one STREAM frame.
public struct SendSegment: Equatable, Sendable {
    public var offset: UInt64
    public var length: Int
    public var fin: Bool
    /// True if the bytes were never sent before (they consume flow control credit).
    public var isNew: Bool
}

public struct SendBuffer {
    /// Queued chunks from `chunkHead` on; earlier slots are released.
    @usableFromInline var chunks: [SendChunk] = []
    @usableFromInline var chunkHead = 0
    /// Every byte below this offset is acknowledged and released.
    public private(set) var ackedOffset: UInt64 = 0
    /// Acknowledged ranges above `ackedOffset`.
    var acked = OffsetRangeSet()
    /// Ranges sent and declared lost, not yet resent or acknowledged.
    var lost = OffsetRangeSet()
    /// The first byte never sent (the highest offset sent, §4.1 flow control).
    public private(set) var nextOffset: UInt64 = 0
    /// One past the last byte queued.
    public private(set) var queuedEnd: UInt64 = 0
    /// The application asked to end the stream after `queuedEnd` (§3.1 "Data Sent" once sent).
    public private(set) var finQueued = false
    /// The FIN must be (re)sent.
    public private(set) var finPending = false
    public private(set) var finSent = false
    public private(set) var finAcked = false
    /// Outstanding send requests, in order, from `requestHead` on.
    var requests: [SendRequest] = []
    var requestHead = 0
    /// The data was abandoned (reset): nothing more is sent.
    public private(set) var abandoned = false
    /// A reliable reset (draft-ietf-quic-reliable-stream-reset §4) keeps only the bytes below
    /// this offset: they are still sent and retransmitted, nothing at or above it is.
    public private(set) var reliableLimit: UInt64 = .max

    /// One past the last byte that will ever be sent.
    var sendableEnd: UInt64 { Swift.min(queuedEnd, reliableLimit) }

    public init() {}

    /// The final size, once the FIN is queued (RFC 9000 §4.5).
    public var finalSize: UInt64? { finQueued ? queuedEnd : nil }

    /// Bytes queued but never sent.
    public var unsentCount: UInt64 { sendableEnd > nextOffset ? sendableEnd - nextOffset : 0 }

    /// True if every queued byte and the FIN are acknowledged (§3.1 "Data Recvd").
    public var isFullyAcknowledged: Bool { finAcked && ackedOffset == queuedEnd }

    /// True if there is something to (re)transmit, ignoring flow control.
    public var hasRetransmission: Bool { !lost.isEmpty }
    public var hasNewData: Bool { !abandoned && nextOffset < sendableEnd }

    /// After a reliable reset: every byte below the reliable size is acknowledged.
    public var isReliablyDelivered: Bool { reliableLimit != .max && ackedOffset >= reliableLimit }

    /// Queues `data` (and the FIN if `fin`) as one send request with `context` (not tracked
    /// when `track` is false, e.g. CRYPTO data).
    public mutating func enqueue(_ data: SendData, fin: Bool, context: UInt64, track: Bool = true) {
        guard !abandoned else { return }
        let n = data.count
        if n > 0 {
            chunks.append(SendChunk(start: queuedEnd, data: data))
            queuedEnd += UInt64(n)
        }
        if fin {
            finQueued = true
            finPending = true
        }
        if track { requests.append(SendRequest(end: queuedEnd, fin: fin, context: context)) }
    }

    /// Picks the next segment to send: lost data first (lowest offset), then new data limited by
    /// `newDataCredit` (the smaller of stream and connection flow control credit, §4.1).
    /// `maxLength` is the most data bytes the frame can carry. Returns nil if nothing fits.
    public func nextSegment(maxLength: Int, newDataCredit: UInt64) -> SendSegment? {
        guard maxLength >= 0, !abandoned else { return nil }
        if let r = lost.first {
            let len = Swift.min(UInt64(maxLength), r.upperBound - r.lowerBound)
            if len == 0 { return nil }
            let end = r.lowerBound + len
            // A FIN rides along when the segment ends at the final size.
            let fin = finQueued && !finAcked && end == queuedEnd && (finPending || finSent)
            return SendSegment(offset: r.lowerBound, length: Int(len), fin: fin, isNew: false)
        }
        let available = Swift.min(unsentCount, newDataCredit)
        let len = Swift.min(available, UInt64(maxLength))
        let end = nextOffset + len
        let fin = finPending && end == queuedEnd
        if len == 0 && !fin { return nil }
        return SendSegment(offset: nextOffset, length: Int(len), fin: fin, isNew: true)
    }

    /// Records that `segment` was written into a packet.
    public mutating func markSent(_ segment: SendSegment) {
        let r = segment.offset..<(segment.offset + UInt64(segment.length))
        if segment.isNew {
            nextOffset = Swift.max(nextOffset, r.upperBound)
        } else {
            lost.remove(r)
        }
        if segment.fin {
            finPending = false
            finSent = true
        }
    }

    /// Copies the bytes `offset..<offset+length` into `w` (they must be queued and unreleased).
    public func copy(offset: UInt64, length: Int, into w: inout WireWriter) throws(BufferTooSmall) {
        guard length > 0 else { return }
        guard offset >= ackedOffset, w.remaining >= length else { throw BufferTooSmall() }
        var i = chunkIndex(containing: offset)
        var cursor = offset
        let end = offset + UInt64(length)
        while cursor < end, i < chunks.count {
            let c = chunks[i]
            let from = Int(cursor - c.start)
            let n = Int(Swift.min(end, c.end) - cursor)
            switch c.data {
            case .owned(let a):
                let ok = a.withUnsafeBytes { (b: UnsafeRawBufferPointer) -> Bool in
                    (try? w.writeBytes(UnsafeRawBufferPointer(rebasing: b[from..<(from + n)]))) != nil
                }
                if !ok { throw BufferTooSmall() }
            case .borrowed(let b):
                try w.writeBytes(UnsafeRawBufferPointer(rebasing: b[from..<(from + n)]))
            }
            cursor += UInt64(n)
            i += 1
        }
        if cursor < end { throw BufferTooSmall() }
    }

    /// The index of the chunk holding `offset` (or `chunks.count`).
    func chunkIndex(containing offset: UInt64) -> Int {
        var lo = chunkHead, hi = chunks.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if chunks[mid].end <= offset { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// The range `offset..<offset+length` (and the FIN if `fin`) was acknowledged. Returns the
    /// send requests that are now complete, in order, through `completed`.
    public mutating func onAcked(offset: UInt64, length: Int, fin: Bool, completed: inout [SendRequest]) {
        let r = offset..<(offset + UInt64(length))
        if !r.isEmpty {
            acked.insert(r)
            lost.remove(r)
        }
        if fin && finSent {
            finAcked = true
            finPending = false
        }
        // Advance the contiguous acknowledged prefix and release chunks.
        if let f = acked.first, f.lowerBound <= ackedOffset {
            ackedOffset = Swift.max(ackedOffset, f.upperBound)
            acked.removeAll(below: ackedOffset)
        }
        while chunkHead < chunks.count, chunks[chunkHead].end <= ackedOffset {
            chunks[chunkHead].data = .owned([])
            chunkHead += 1
        }
        compactChunks()
        while requestHead < requests.count {
            let q = requests[requestHead]
            guard q.end <= ackedOffset, !q.fin || finAcked else { break }
            completed.append(q)
            requestHead += 1
        }
        compactRequests()
    }

    /// The range (and FIN) was declared lost: queue what is not acknowledged for resending
    /// (RFC 9000 §13.3).
    public mutating func onLost(offset: UInt64, length: Int, fin: Bool) {
        let r = offset..<(offset + UInt64(length))
        if !r.isEmpty, r.upperBound > ackedOffset, r.lowerBound < reliableLimit {
            let clipped = Swift.max(r.lowerBound, ackedOffset)..<Swift.min(r.upperBound, reliableLimit)
            acked.forEachGap(in: clipped) { lost.insert($0) }
        }
        if fin && finSent && !finAcked { finPending = true }
    }

    /// Whether a loss of this range (and FIN) leaves anything to resend: a byte not yet
    /// acknowledged below the reliable limit, or a sent FIN not acknowledged. `onLost` without
    /// the side effect (a cancel-on-loss stream decides before anything is requeued).
    public func lossNeedsResend(offset: UInt64, length: Int, fin: Bool) -> Bool {
        if fin && finSent && !finAcked { return true }
        let (end, overflow) = offset.addingReportingOverflow(UInt64(length))
        let r = offset..<(overflow ? .max : end)
        guard !r.isEmpty, r.upperBound > ackedOffset, r.lowerBound < reliableLimit else { return false }
        var gap = false
        acked.forEachGap(in: Swift.max(r.lowerBound, ackedOffset)..<Swift.min(r.upperBound, reliableLimit)) { _ in gap = true }
        return gap
    }

    /// Marks every sent, unacknowledged byte (and a sent, unacknowledged FIN) for resending,
    /// e.g. for a PTO probe (RFC 9002 §6.2.4).
    public mutating func requeueUnacknowledged() {
        let end = Swift.min(nextOffset, reliableLimit)
        if end > ackedOffset {
            acked.forEachGap(in: ackedOffset..<end) { lost.insert($0) }
        }
        if finSent && !finAcked { finPending = true }
    }

    /// Abandons all data (RESET_STREAM sent, §3.1): returns every outstanding request as
    /// canceled and releases the chunks.
    public mutating func abandon(canceled: inout [SendRequest]) {
        while requestHead < requests.count {
            canceled.append(requests[requestHead])
            requestHead += 1
        }
        requests.removeAll()
        requestHead = 0
        chunks.removeAll()
        chunkHead = 0
        lost.removeAll()
        acked.removeAll()
        finPending = false
        abandoned = true
    }

    /// Reliable reset (draft-ietf-quic-reliable-stream-reset §4): keeps sending and
    /// retransmitting the bytes below `reliableSize` (at most what is queued), drops the rest and
    /// the FIN. Requests that end beyond it are returned as canceled; the others complete when
    /// acknowledged.
    public mutating func truncate(at reliableSize: UInt64, canceled: inout [SendRequest]) {
        let limit = Swift.min(reliableSize, queuedEnd)
        reliableLimit = limit
        var kept: [SendRequest] = []
        for q in requests[requestHead...] {
            if q.end <= limit && !q.fin { kept.append(q) } else { canceled.append(q) }
        }
        requests = kept
        requestHead = 0
        if limit < UInt64.max { lost.remove(limit..<UInt64.max) }
        finQueued = false
        finPending = false
    }

    mutating func compactChunks() {
        if chunkHead == chunks.count {
            chunks.removeAll(keepingCapacity: true)
            chunkHead = 0
        } else if chunkHead >= 32 && chunkHead * 2 >= chunks.count {
            chunks.removeSubrange(0..<chunkHead)
            chunkHead = 0
        }
    }

    mutating func compactRequests() {
        if requestHead == requests.count {
            requests.removeAll(keepingCapacity: true)
            requestHead = 0
        } else if requestHead >= 32 && requestHead * 2 >= requests.count {
            requests.removeSubrange(0..<requestHead)
            requestHead = 0
        }
    }

    /// Outstanding send requests.
    public var pendingRequestCount: Int { requests.count - requestHead }
}
