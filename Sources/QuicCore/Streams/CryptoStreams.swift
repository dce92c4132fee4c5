// The CRYPTO data of each encryption level (RFC 9000 §19.6, RFC 9001 §4.1): TLS handshake
// bytes sent and received as an ordered stream per level, without flow control but with a
// bounded reassembly buffer (RFC 9000 §7.5: CRYPTO_BUFFER_EXCEEDED beyond the limit).

import QuicTLS
import QuicWire

public struct CryptoStreams {
    var sendBuffers: [SendBuffer]
    var receiveBuffers: [ReceiveBuffer]
    var discarded: [Bool]
    public let bufferLimit: UInt64
    /// Handshake bytes queued per encryption level since the start (MsQuic's TLS buffer
    /// offsets, for QUIC_STATISTICS Handshake flight sizes).
    public private(set) var queuedBytes: [UInt64]

    public init(bufferLimit: UInt64) {
        self.bufferLimit = bufferLimit
        let n = EncryptionLevel.allCases.count
        sendBuffers = Array(repeating: SendBuffer(), count: n)
        receiveBuffers = Array(repeating: ReceiveBuffer(limit: bufferLimit, initialCapacity: 1024), count: n)
        discarded = Array(repeating: false, count: n)
        queuedBytes = Array(repeating: 0, count: n)
    }

    /// Queues handshake bytes from TLS for `level`.
    public mutating func send(_ bytes: [UInt8], level: EncryptionLevel) {
        guard !discarded[level.rawValue], !bytes.isEmpty else { return }
        queuedBytes[level.rawValue] &+= UInt64(bytes.count)
        sendBuffers[level.rawValue].enqueue(.owned(bytes), fin: false, context: 0, track: false)
    }

    /// Stores a received CRYPTO frame. Returns true if new contiguous data can be read.
    /// CRYPTO_BUFFER_EXCEEDED when the data lies more than the limit beyond what TLS has
    /// consumed (§7.5); FRAME_ENCODING_ERROR beyond 2^62-1 (§19.6).
    @discardableResult
    public mutating func handle(_ f: CryptoFrame, level: EncryptionLevel,
                                payload: UnsafeRawBufferPointer) throws(QuicError) -> Bool {
        let type = FrameType.crypto
        guard f.data.lowerBound >= 0, f.data.upperBound <= payload.count else {
            throw QuicError(code: .frameEncodingError, frameType: type, reason: "CRYPTO data outside the packet")
        }
        let (end, overflow) = f.offset.addingReportingOverflow(UInt64(f.data.count))
        guard !overflow, end <= VarInt.max else {
            throw QuicError(code: .frameEncodingError, frameType: type, reason: "CRYPTO data beyond 2^62-1")
        }
        if discarded[level.rawValue] { return false }
        do {
            return try receiveBuffers[level.rawValue].insert(offset: f.offset, bytes: UnsafeRawBufferPointer(rebasing: payload[f.data]))
        } catch .tooFragmented {
            throw QuicError(code: .cryptoBufferExceeded, frameType: type,
                            reason: "CRYPTO data at \(level) too fragmented")
        } catch {
            throw QuicError(code: .cryptoBufferExceeded, frameType: type,
                            reason: "CRYPTO data at \(level) beyond the \(bufferLimit)-byte buffer")
        }
    }

    /// Contiguous handshake bytes of `level` ready for TLS (in place, valid until `consume`).
    public mutating func readable(level: EncryptionLevel) -> ReadableSpans {
        receiveBuffers[level.rawValue].readable()
    }

    /// TLS consumed `count` bytes of `level`.
    public mutating func consume(_ count: Int, level: EncryptionLevel) {
        receiveBuffers[level.rawValue].consume(UInt64(Swift.max(0, count)))
        receiveBuffers[level.rawValue].releaseIfIdle()
    }

    /// Convenience: takes all contiguous bytes of `level` as an array (consumed).
    public mutating func takeReadable(level: EncryptionLevel) -> [UInt8] {
        let spans = readable(level: level)
        let out = spans.bytes
        consume(out.count, level: level)
        return out
    }

    /// True if `level` has CRYPTO data to (re)send.
    public func hasPendingData(level: EncryptionLevel) -> Bool {
        let b = sendBuffers[level.rawValue]
        return !discarded[level.rawValue] && (b.hasRetransmission || b.hasNewData)
    }

    /// True if any byte sent at `level` is not yet acknowledged.
    public func hasUnacknowledgedData(level: EncryptionLevel) -> Bool {
        let b = sendBuffers[level.rawValue]
        return !discarded[level.rawValue] && b.ackedOffset < b.nextOffset
    }

    /// Writes CRYPTO frames of `level` (lost data first, then new) into `w` while they fit.
    /// Returns true if anything was written.
    @discardableResult
    public mutating func write(level: EncryptionLevel, into w: inout WireWriter,
                               sent: inout [StreamsSentFrame]) -> Bool {
        let i = level.rawValue
        guard !discarded[i] else { return false }
        let start = w.position
        while w.remaining > 3 {
            guard let probe = sendBuffers[i].nextSegment(maxLength: Int.max, newDataCredit: .max) else { break }
            var n = w.remaining - 1 - VarInt.encodedLength(probe.offset) - 1
            while n > 0, FrameEncoder.cryptoHeaderLength(offset: probe.offset, length: n) + n > w.remaining { n -= 1 }
            guard n > 0, let seg = sendBuffers[i].nextSegment(maxLength: n, newDataCredit: .max), seg.length > 0 else { break }
            let before = w.position
            do {
                try FrameEncoder.writeCryptoHeader(offset: seg.offset, length: seg.length, into: &w)
                try sendBuffers[i].copy(offset: seg.offset, length: seg.length, into: &w)
            } catch {
                w.position = before
                break
            }
            sendBuffers[i].markSent(seg)
            sent.append(.crypto(level: level, offset: seg.offset, length: seg.length))
        }
        return w.position != start
    }

    mutating func onAcked(level: EncryptionLevel, offset: UInt64, length: Int) {
        guard !discarded[level.rawValue] else { return }
        var done: [SendRequest] = []
        sendBuffers[level.rawValue].onAcked(offset: offset, length: length, fin: false, completed: &done)
    }

    mutating func onLost(level: EncryptionLevel, offset: UInt64, length: Int) {
        guard !discarded[level.rawValue] else { return }
        sendBuffers[level.rawValue].onLost(offset: offset, length: length, fin: false)
    }

    /// Marks every sent, unacknowledged byte of `level` for resending (e.g. a PTO probe,
    /// RFC 9002 §6.2.4, or Initial data after a Retry, RFC 9000 §17.2.5.3).
    public mutating func requeueUnacknowledged(level: EncryptionLevel) {
        guard !discarded[level.rawValue] else { return }
        sendBuffers[level.rawValue].requeueUnacknowledged()
    }

    /// The keys of `level` are discarded (RFC 9001 §4.9): drop its data in both directions.
    public mutating func discard(level: EncryptionLevel) {
        let i = level.rawValue
        discarded[i] = true
        sendBuffers[i] = SendBuffer()
        receiveBuffers[i] = ReceiveBuffer(limit: bufferLimit)
    }
}
