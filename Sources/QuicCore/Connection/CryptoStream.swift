import QuicWire

/// The CRYPTO stream of one encryption level (RFC 9000 §19.6, RFC 9001 §4.1.3): handshake
/// bytes to send with retransmission of lost ranges, and received bytes reassembled in order.
struct CryptoStream {
    // MARK: Send side
    /// Every byte queued so far (handshake flights are small; kept until the level is discarded).
    var sendData: [UInt8] = []
    /// Bytes below this offset were sent at least once.
    var sentOffset: Int = 0
    /// Ranges declared lost, to resend before new data.
    var lost: [Range<Int>] = []
    /// Ranges acknowledged (only to avoid resending acked bytes after a spurious loss).
    var acked = CryptoRangeSet()

    var hasDataToSend: Bool { sentOffset < sendData.count || !lost.isEmpty }

    mutating func queue(_ bytes: [UInt8]) { sendData += bytes }

    /// The next range to send, at most `maxLength` bytes (lost data first).
    mutating func nextRange(maxLength: Int) -> Range<Int>? {
        guard maxLength > 0 else { return nil }
        while let r = lost.first {
            let remaining = acked.subtracting(from: r)
            guard let first = remaining.first else { lost.removeFirst(); continue }
            let end = min(first.upperBound, first.lowerBound + maxLength)
            let taken = first.lowerBound..<end
            // Put back what is left of this lost range.
            lost.removeFirst()
            var rest: [Range<Int>] = []
            if end < first.upperBound { rest.append(end..<first.upperBound) }
            rest += remaining.dropFirst()
            lost.insert(contentsOf: rest, at: 0)
            return taken
        }
        guard sentOffset < sendData.count else { return nil }
        let end = min(sendData.count, sentOffset + maxLength)
        defer { sentOffset = end }
        return sentOffset..<end
    }

    mutating func onLost(_ r: Range<Int>) {
        if !acked.contains(r) { lost.append(r) }
    }
    mutating func onAcked(_ r: Range<Int>) { acked.insert(r) }

    /// Everything sent so far goes again (PTO probe, RFC 9002 §6.2.4; after a Retry).
    mutating func resendAll() {
        lost = acked.subtracting(from: 0..<sentOffset)
    }

    // MARK: Receive side
    /// Bytes delivered to TLS so far.
    var receivedOffset: UInt64 = 0
    /// Out-of-order data keyed by offset.
    var pending: [UInt64: [UInt8]] = [:]
    var pendingBytes = 0

    /// Accepts a CRYPTO frame and returns the newly contiguous bytes. Data beyond
    /// `receivedOffset + limit` is CRYPTO_BUFFER_EXCEEDED (RFC 9000 §7.5).
    mutating func receive(offset: UInt64, data: UnsafeRawBufferPointer, limit: Int) throws(QuicError) -> [UInt8] {
        let end = offset + UInt64(data.count)
        guard end <= receivedOffset + UInt64(limit) else {
            throw QuicError(code: .cryptoBufferExceeded, frameType: FrameType.crypto, reason: "crypto data beyond buffer")
        }
        if end <= receivedOffset { return [] }
        if offset > receivedOffset {
            if pendingBytes + data.count > 2 * limit {
                throw QuicError(code: .cryptoBufferExceeded, frameType: FrameType.crypto, reason: "too much out-of-order crypto data")
            }
            if pending[offset].map({ $0.count < data.count }) ?? true {
                pendingBytes += data.count - (pending[offset]?.count ?? 0)
                pending[offset] = Array(data)
            }
            return []
        }
        var out = Array(data[Int(receivedOffset - offset)...])
        receivedOffset = end
        // Drain pending segments that now connect.
        while true {
            var progressed = false
            for (o, bytes) in pending where o <= receivedOffset {
                pending[o] = nil
                pendingBytes -= bytes.count
                let e = o + UInt64(bytes.count)
                if e > receivedOffset {
                    out += bytes[Int(receivedOffset - o)...]
                    receivedOffset = e
                }
                progressed = true
            }
            if !progressed { break }
        }
        return out
    }
}

/// A small set of disjoint half-open integer ranges.
struct CryptoRangeSet {
    private(set) var ranges: [Range<Int>] = []

    mutating func insert(_ r: Range<Int>) {
        guard !r.isEmpty else { return }
        var lo = r.lowerBound, hi = r.upperBound
        var out: [Range<Int>] = []
        for x in ranges {
            if x.upperBound < lo || x.lowerBound > hi { out.append(x) } else {
                lo = min(lo, x.lowerBound); hi = max(hi, x.upperBound)
            }
        }
        out.append(lo..<hi)
        out.sort { $0.lowerBound < $1.lowerBound }
        ranges = out
    }

    func contains(_ r: Range<Int>) -> Bool {
        ranges.contains { $0.lowerBound <= r.lowerBound && $0.upperBound >= r.upperBound }
    }

    /// The parts of `r` not in the set, in order.
    func subtracting(from r: Range<Int>) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var cursor = r.lowerBound
        for x in ranges where x.upperBound > cursor && x.lowerBound < r.upperBound {
            if x.lowerBound > cursor { out.append(cursor..<x.lowerBound) }
            cursor = max(cursor, x.upperBound)
        }
        if cursor < r.upperBound { out.append(cursor..<r.upperBound) }
        return out
    }
}
