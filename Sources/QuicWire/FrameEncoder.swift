// Encoding frames (RFC 9000 §19) into a caller-provided buffer. Frame types are always
// written in their shortest encoding (RFC 9000 §12.4). A failed write leaves the writer's
// position where it was.

public enum FrameEncoder {
    /// Writes `frame`, taking variable-length data (STREAM, CRYPTO, DATAGRAM data, tokens,
    /// reason phrases, encoded ACK ranges) from `source` at the frame's ranges.
    public static func write(
        _ frame: Frame, source: UnsafeRawBufferPointer, into w: inout WireWriter
    ) throws(BufferTooSmall) {
        let start = w.position
        do throws(BufferTooSmall) {
            try writeUnchecked(frame, source: source, into: &w)
        } catch {
            w.position = start
            throw error
        }
    }

    /// Writes a frame that carries no data from a buffer (everything but STREAM, CRYPTO,
    /// NEW_TOKEN, CONNECTION_CLOSE with a reason, DATAGRAM and ACK with additional ranges).
    public static func write(_ frame: Frame, into w: inout WireWriter) throws(BufferTooSmall) {
        try write(frame, source: UnsafeRawBufferPointer(start: nil, count: 0), into: &w)
    }

    static func slice(_ source: UnsafeRawBufferPointer, _ range: Range<Int>) throws(BufferTooSmall)
        -> UnsafeRawBufferPointer
    {
        guard range.lowerBound >= 0, range.upperBound <= source.count else { throw BufferTooSmall() }
        return UnsafeRawBufferPointer(rebasing: source[range])
    }

    static func writeUnchecked(
        _ frame: Frame, source: UnsafeRawBufferPointer, into w: inout WireWriter
    ) throws(BufferTooSmall) {
        switch frame {
        case .padding(let count):
            try w.writeZeros(count)
        case .ping, .handshakeDone, .immediateAck:
            try w.writeVarInt(frame.frameType)
        case .ack(let f):
            try w.writeVarInt(frame.frameType)
            try w.writeVarInt(f.largestAcknowledged)
            try w.writeVarInt(f.ackDelay)
            try w.writeVarInt(f.additionalRangeCount)
            try w.writeVarInt(f.firstAckRange)
            try w.writeBytes(slice(source, f.encodedRanges))
            if let e = f.ecn { try writeECN(e, into: &w) }
        case .resetStream(let f):
            try w.writeVarInt(FrameType.resetStream)
            try w.writeVarInt(f.streamID)
            try w.writeVarInt(f.applicationErrorCode)
            try w.writeVarInt(f.finalSize)
        case .stopSending(let f):
            try w.writeVarInt(FrameType.stopSending)
            try w.writeVarInt(f.streamID)
            try w.writeVarInt(f.applicationErrorCode)
        case .crypto(let f):
            try writeCryptoHeader(offset: f.offset, length: f.data.count, into: &w)
            try w.writeBytes(slice(source, f.data))
        case .newToken(let token):
            try w.writeVarInt(FrameType.newToken)
            try w.writeVarInt(UInt64(token.count))
            try w.writeBytes(slice(source, token))
        case .stream(let f):
            try writeStreamHeader(streamID: f.streamID, offset: f.offset, length: f.data.count,
                                  fin: f.fin, explicitLength: f.hasLength, into: &w)
            try w.writeBytes(slice(source, f.data))
        case .maxData(let v), .dataBlocked(let v), .retireConnectionID(let v), .timestamp(let v):
            try w.writeVarInt(frame.frameType)
            try w.writeVarInt(v)
        case .maxStreamData(let id, let v), .streamDataBlocked(let id, let v):
            try w.writeVarInt(frame.frameType)
            try w.writeVarInt(id)
            try w.writeVarInt(v)
        case .maxStreams(_, let v), .streamsBlocked(_, let v):
            try w.writeVarInt(frame.frameType)
            try w.writeVarInt(v)
        case .newConnectionID(let f):
            guard f.connectionID.length >= 1 else { throw BufferTooSmall() }  // §19.15
            try w.writeVarInt(FrameType.newConnectionID)
            try w.writeVarInt(f.sequenceNumber)
            try w.writeVarInt(f.retirePriorTo)
            try w.writeUInt8(UInt8(f.connectionID.length))
            try w.writeConnectionID(f.connectionID)
            try w.writeStatelessResetToken(f.statelessResetToken)
        case .pathChallenge(let v), .pathResponse(let v):
            try w.writeVarInt(frame.frameType)
            try w.writeUInt64(v)
        case .connectionClose(let f):
            try w.writeVarInt(frame.frameType)
            try w.writeVarInt(f.errorCode)
            if !f.isApplicationError { try w.writeVarInt(f.frameType) }
            try w.writeVarInt(UInt64(f.reasonPhrase.count))
            try w.writeBytes(slice(source, f.reasonPhrase))
        case .datagram(let f):
            try writeDatagramHeader(length: f.data.count, explicitLength: f.hasLength, into: &w)
            try w.writeBytes(slice(source, f.data))
        case .ackFrequency(let f):
            try w.writeVarInt(FrameType.ackFrequency)
            try w.writeVarInt(f.sequenceNumber)
            try w.writeVarInt(f.ackElicitingThreshold)
            try w.writeVarInt(f.requestedMaxAckDelay)
            try w.writeVarInt(f.reorderingThreshold)
        case .resetStreamAt(let f):
            guard f.frameType == FrameType.resetStreamAt || f.frameType == FrameType.reliableResetStreamMsQuic
            else { throw BufferTooSmall() }
            try w.writeVarInt(f.frameType)
            try w.writeVarInt(f.streamID)
            try w.writeVarInt(f.applicationErrorCode)
            try w.writeVarInt(f.finalSize)
            try w.writeVarInt(f.reliableSize)
        }
    }

    static func writeECN(_ e: ECNCounts, into w: inout WireWriter) throws(BufferTooSmall) {
        try w.writeVarInt(e.ect0)
        try w.writeVarInt(e.ect1)
        try w.writeVarInt(e.ce)
    }

    // MARK: - Headers for frames whose data the caller copies in place

    /// Bytes of a STREAM frame header (type, stream ID, offset if non-zero, length if explicit).
    @inlinable
    public static func streamHeaderLength(streamID: UInt64, offset: UInt64, length: Int, explicitLength: Bool) -> Int {
        1 + VarInt.encodedLength(streamID) + (offset != 0 ? VarInt.encodedLength(offset) : 0)
            + (explicitLength ? VarInt.encodedLength(UInt64(length)) : 0)
    }

    /// Writes the header of a STREAM frame (RFC 9000 §19.8); the caller writes `length` bytes
    /// of data right after. The OFF bit is set only for a non-zero offset. Without an explicit
    /// length the frame must be the last in the packet.
    @inlinable
    public static func writeStreamHeader(
        streamID: UInt64, offset: UInt64, length: Int, fin: Bool, explicitLength: Bool, into w: inout WireWriter
    ) throws(BufferTooSmall) {
        // §19.8: offset + length <= 2^62-1 (checked without overflowing for any `length`).
        guard length >= 0, UInt64(length) <= VarInt.max, offset <= VarInt.max - UInt64(length) else {
            throw BufferTooSmall()
        }
        let start = w.position
        do throws(BufferTooSmall) {
            let type = FrameType.stream | (offset != 0 ? FrameType.streamOffBit : 0)
                | (explicitLength ? FrameType.streamLenBit : 0) | (fin ? FrameType.streamFinBit : 0)
            try w.writeVarInt(type)
            try w.writeVarInt(streamID)
            if offset != 0 { try w.writeVarInt(offset) }
            if explicitLength { try w.writeVarInt(UInt64(length)) }
        } catch {
            w.position = start
            throw error
        }
    }

    /// Writes the header of a CRYPTO frame (RFC 9000 §19.6); `length` data bytes follow.
    @inlinable
    public static func writeCryptoHeader(offset: UInt64, length: Int, into w: inout WireWriter) throws(BufferTooSmall) {
        // §19.6: offset + length <= 2^62-1 (checked without overflowing for any `length`).
        guard length >= 0, UInt64(length) <= VarInt.max, offset <= VarInt.max - UInt64(length) else {
            throw BufferTooSmall()
        }
        let start = w.position
        do throws(BufferTooSmall) {
            try w.writeVarInt(FrameType.crypto)
            try w.writeVarInt(offset)
            try w.writeVarInt(UInt64(length))
        } catch {
            w.position = start
            throw error
        }
    }

    /// Bytes of a CRYPTO frame header.
    @inlinable
    public static func cryptoHeaderLength(offset: UInt64, length: Int) -> Int {
        1 + VarInt.encodedLength(offset) + VarInt.encodedLength(UInt64(length))
    }

    /// Writes the header of a DATAGRAM frame (RFC 9221 §4); `length` data bytes follow.
    @inlinable
    public static func writeDatagramHeader(length: Int, explicitLength: Bool, into w: inout WireWriter) throws(BufferTooSmall) {
        guard length >= 0 else { throw BufferTooSmall() }
        let start = w.position
        do throws(BufferTooSmall) {
            try w.writeVarInt(explicitLength ? FrameType.datagramWithLength : FrameType.datagram)
            if explicitLength { try w.writeVarInt(UInt64(length)) }
        } catch {
            w.position = start
            throw error
        }
    }

    /// Writes an ACK or ACK_ECN frame (RFC 9000 §19.3) from packet number ranges given
    /// largest first, disjoint and not adjacent (each range's lower bound at least 2 above the
    /// next range's upper bound). `ackDelay` is already scaled by the ack_delay_exponent.
    public static func writeAck<C: Collection>(
        ranges: C, ackDelay: UInt64, ecn: ECNCounts? = nil, into w: inout WireWriter
    ) throws(BufferTooSmall) where C.Element == ClosedRange<UInt64> {
        guard let first = ranges.first else { throw BufferTooSmall() }
        let start = w.position
        do throws(BufferTooSmall) {
            try w.writeVarInt(ecn == nil ? FrameType.ack : FrameType.ackECN)
            try w.writeVarInt(first.upperBound)
            try w.writeVarInt(ackDelay)
            try w.writeVarInt(UInt64(ranges.count - 1))
            try w.writeVarInt(first.upperBound - first.lowerBound)
            var previousSmallest = first.lowerBound
            for range in ranges.dropFirst() {
                // Gap = previous smallest - this largest - 2 (§19.3.1).
                guard range.upperBound < previousSmallest, previousSmallest - range.upperBound >= 2 else {
                    throw BufferTooSmall()
                }
                try w.writeVarInt(previousSmallest - range.upperBound - 2)
                try w.writeVarInt(range.upperBound - range.lowerBound)
                previousSmallest = range.lowerBound
            }
            if let e = ecn { try writeECN(e, into: &w) }
        } catch {
            w.position = start
            throw error
        }
    }
}

extension FrameEncoder {
    /// An ACK frame (RFC 9000 §19.3) from the newest `count` of `ascending` (disjoint ranges
    /// in increasing order, as a receiver keeps them), written newest first. The same bytes as
    /// the generic `writeAck(ranges:)` given the reversed suffix, without generics: the
    /// generic one is not specialised across modules and allocated on every ACK the
    /// connection wrote (6 malloc calls per frame, measured with Fuzz/DecodeBench/count.c).
    public static func writeAck(ascending: [ClosedRange<UInt64>], newest count: Int, ackDelay: UInt64,
                                ecn: ECNCounts? = nil, into w: inout WireWriter) throws(BufferTooSmall) {
        guard count > 0, count <= ascending.count else { throw BufferTooSmall() }
        let start = w.position
        let last = ascending.count - 1
        do throws(BufferTooSmall) {
            let first = ascending[last]
            try w.writeVarInt(ecn == nil ? FrameType.ack : FrameType.ackECN)
            try w.writeVarInt(first.upperBound)
            try w.writeVarInt(ackDelay)
            try w.writeVarInt(UInt64(count - 1))
            try w.writeVarInt(first.upperBound - first.lowerBound)
            var previousSmallest = first.lowerBound
            var i = last - 1
            while i > last - count {
                let range = ascending[i]
                // Gap = previous smallest - this largest - 2 (§19.3.1).
                guard range.upperBound < previousSmallest, previousSmallest - range.upperBound >= 2 else {
                    throw BufferTooSmall()
                }
                try w.writeVarInt(previousSmallest - range.upperBound - 2)
                try w.writeVarInt(range.upperBound - range.lowerBound)
                previousSmallest = range.lowerBound
                i -= 1
            }
            if let e = ecn { try writeECN(e, into: &w) }
        } catch {
            w.position = start
            throw error
        }
    }

    /// The number of bytes `write(frame, ...)` produces, for packing decisions. ACK frames are
    /// measured from their encoded ranges (`encodedRanges.count`).
    public static func encodedLength(_ frame: Frame) -> Int {
        @inline(__always) func v(_ x: UInt64) -> Int { VarInt.encodedLength(x) }
        let type = v(frame.frameType)
        switch frame {
        case .padding(let count): return count
        case .ping, .handshakeDone, .immediateAck: return type
        case .ack(let f):
            var n = type + v(f.largestAcknowledged) + v(f.ackDelay) + v(f.additionalRangeCount) + v(f.firstAckRange)
                + f.encodedRanges.count
            if let e = f.ecn { n += v(e.ect0) + v(e.ect1) + v(e.ce) }
            return n
        case .resetStream(let f): return type + v(f.streamID) + v(f.applicationErrorCode) + v(f.finalSize)
        case .stopSending(let f): return type + v(f.streamID) + v(f.applicationErrorCode)
        case .crypto(let f): return cryptoHeaderLength(offset: f.offset, length: f.data.count) + f.data.count
        case .newToken(let t): return type + v(UInt64(t.count)) + t.count
        case .stream(let f):
            return streamHeaderLength(streamID: f.streamID, offset: f.offset, length: f.data.count,
                                      explicitLength: f.hasLength) + f.data.count
        case .maxData(let x), .dataBlocked(let x), .retireConnectionID(let x), .timestamp(let x): return type + v(x)
        case .maxStreamData(let id, let x), .streamDataBlocked(let id, let x): return type + v(id) + v(x)
        case .maxStreams(_, let x), .streamsBlocked(_, let x): return type + v(x)
        case .newConnectionID(let f):
            return type + v(f.sequenceNumber) + v(f.retirePriorTo) + 1 + f.connectionID.length + 16
        case .pathChallenge, .pathResponse: return type + 8
        case .connectionClose(let f):
            return type + v(f.errorCode) + (f.isApplicationError ? 0 : v(f.frameType))
                + v(UInt64(f.reasonPhrase.count)) + f.reasonPhrase.count
        case .datagram(let f): return type + (f.hasLength ? v(UInt64(f.data.count)) : 0) + f.data.count
        case .ackFrequency(let f):
            return type + v(f.sequenceNumber) + v(f.ackElicitingThreshold) + v(f.requestedMaxAckDelay)
                + v(f.reorderingThreshold)
        case .resetStreamAt(let f):
            return type + v(f.streamID) + v(f.applicationErrorCode) + v(f.finalSize) + v(f.reliableSize)
        }
    }
}
