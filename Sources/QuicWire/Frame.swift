// Decoded frames as plain values. Variable-length data (STREAM, CRYPTO, DATAGRAM data, tokens,
// reason phrases, ACK ranges) is referenced as a range of the buffer the frame was decoded
// from, never copied (RFC 9000 §19).

/// ECN counts of an ACK_ECN frame (RFC 9000 §19.3.2).
public struct ECNCounts: Equatable, Hashable, Sendable {
    public var ect0: UInt64
    public var ect1: UInt64
    public var ce: UInt64
    @inlinable public init(ect0: UInt64, ect1: UInt64, ce: UInt64) {
        self.ect0 = ect0; self.ect1 = ect1; self.ce = ce
    }
}

/// ACK / ACK_ECN (RFC 9000 §19.3). The additional ranges stay encoded in the buffer; iterate
/// them with `ranges(in:)`. The decoder has already checked that every range is valid.
public struct AckFrame: Equatable, Sendable {
    public var largestAcknowledged: UInt64
    /// Encoded ACK Delay; multiply by 2^ack_delay_exponent for microseconds (§19.3).
    public var ackDelay: UInt64
    public var firstAckRange: UInt64
    public var additionalRangeCount: UInt64
    /// The encoded Gap/ACK Range Length pairs in the source buffer.
    public var encodedRanges: Range<Int>
    /// The smallest packet number acknowledged by the frame.
    public var smallestAcknowledged: UInt64
    public var ecn: ECNCounts?

    @inlinable
    public init(largestAcknowledged: UInt64, ackDelay: UInt64, firstAckRange: UInt64,
                additionalRangeCount: UInt64, encodedRanges: Range<Int>, smallestAcknowledged: UInt64,
                ecn: ECNCounts?) {
        self.largestAcknowledged = largestAcknowledged
        self.ackDelay = ackDelay
        self.firstAckRange = firstAckRange
        self.additionalRangeCount = additionalRangeCount
        self.encodedRanges = encodedRanges
        self.smallestAcknowledged = smallestAcknowledged
        self.ecn = ecn
    }

    /// The acknowledged ranges, largest first, read from `source` (the buffer the frame was
    /// decoded from).
    @inlinable
    public func ranges(in source: UnsafeRawBufferPointer) -> AckRangeIterator {
        AckRangeIterator(frame: self, source: source)
    }
}

/// Iterates the packet number ranges of an ACK frame, largest first (RFC 9000 §19.3.1).
public struct AckRangeIterator: IteratorProtocol, Sequence {
    @usableFromInline var reader: WireReader
    @usableFromInline var remaining: UInt64
    @usableFromInline var pending: ClosedRange<UInt64>?

    @inlinable
    init(frame: AckFrame, source: UnsafeRawBufferPointer) {
        reader = WireReader(source, start: frame.encodedRanges.lowerBound, end: frame.encodedRanges.upperBound)
        remaining = frame.additionalRangeCount
        if frame.firstAckRange <= frame.largestAcknowledged {
            pending = (frame.largestAcknowledged - frame.firstAckRange)...frame.largestAcknowledged
        } else {
            pending = nil
        }
    }

    @inlinable
    public mutating func next() -> ClosedRange<UInt64>? {
        guard let current = pending else { return nil }
        pending = nil
        if remaining > 0, let gap = reader.readVarInt(), let length = reader.readVarInt() {
            remaining -= 1
            // largest = previous smallest - gap - 2; smallest = largest - length (§19.3.1).
            let (a, o1) = current.lowerBound.subtractingReportingOverflow(gap)
            let (largest, o2) = a.subtractingReportingOverflow(2)
            if !o1 && !o2 && length <= largest {
                pending = (largest - length)...largest
            }
        }
        return current
    }
}

/// RESET_STREAM (RFC 9000 §19.4).
public struct ResetStreamFrame: Equatable, Sendable {
    public var streamID: UInt64
    public var applicationErrorCode: UInt64
    public var finalSize: UInt64
    @inlinable public init(streamID: UInt64, applicationErrorCode: UInt64, finalSize: UInt64) {
        self.streamID = streamID; self.applicationErrorCode = applicationErrorCode; self.finalSize = finalSize
    }
}

/// RESET_STREAM_AT (draft-ietf-quic-reliable-stream-reset, type 0x24) or MsQuic's
/// RELIABLE_RESET_STREAM (0x21): a reset that still delivers the first `reliableSize` bytes.
public struct ResetStreamAtFrame: Equatable, Sendable {
    public var streamID: UInt64
    public var applicationErrorCode: UInt64
    public var finalSize: UInt64
    public var reliableSize: UInt64
    /// 0x24 or 0x21: which code point the frame used on the wire.
    public var frameType: UInt64
    @inlinable
    public init(streamID: UInt64, applicationErrorCode: UInt64, finalSize: UInt64, reliableSize: UInt64,
                frameType: UInt64 = FrameType.resetStreamAt) {
        self.streamID = streamID; self.applicationErrorCode = applicationErrorCode
        self.finalSize = finalSize; self.reliableSize = reliableSize; self.frameType = frameType
    }
}

/// STOP_SENDING (RFC 9000 §19.5).
public struct StopSendingFrame: Equatable, Sendable {
    public var streamID: UInt64
    public var applicationErrorCode: UInt64
    @inlinable public init(streamID: UInt64, applicationErrorCode: UInt64) {
        self.streamID = streamID; self.applicationErrorCode = applicationErrorCode
    }
}

/// CRYPTO (RFC 9000 §19.6).
public struct CryptoFrame: Equatable, Sendable {
    public var offset: UInt64
    /// The crypto data in the source buffer.
    public var data: Range<Int>
    @inlinable public init(offset: UInt64, data: Range<Int>) { self.offset = offset; self.data = data }
}

/// STREAM (RFC 9000 §19.8).
public struct StreamFrame: Equatable, Sendable {
    public var streamID: UInt64
    public var offset: UInt64
    /// The stream data in the source buffer.
    public var data: Range<Int>
    public var fin: Bool
    /// Whether the frame carried a Length field (LEN bit) or ran to the end of the packet.
    public var hasLength: Bool
    @inlinable
    public init(streamID: UInt64, offset: UInt64, data: Range<Int>, fin: Bool, hasLength: Bool = true) {
        self.streamID = streamID; self.offset = offset; self.data = data; self.fin = fin; self.hasLength = hasLength
    }
    /// The stream offset just past this frame's data.
    @inlinable public var endOffset: UInt64 { offset + UInt64(data.count) }
}

/// NEW_CONNECTION_ID (RFC 9000 §19.15).
public struct NewConnectionIDFrame: Equatable, Sendable {
    public var sequenceNumber: UInt64
    public var retirePriorTo: UInt64
    public var connectionID: ConnectionID
    public var statelessResetToken: StatelessResetToken
    @inlinable
    public init(sequenceNumber: UInt64, retirePriorTo: UInt64, connectionID: ConnectionID,
                statelessResetToken: StatelessResetToken) {
        self.sequenceNumber = sequenceNumber; self.retirePriorTo = retirePriorTo
        self.connectionID = connectionID; self.statelessResetToken = statelessResetToken
    }
}

/// CONNECTION_CLOSE (RFC 9000 §19.19): 0x1c carries a transport error code and the frame
/// type that caused it, 0x1d an application error code.
public struct ConnectionCloseFrame: Equatable, Sendable {
    public var isApplicationError: Bool
    public var errorCode: UInt64
    /// The triggering frame type (0x1c only; 0 when unknown).
    public var frameType: UInt64
    /// The UTF-8 reason phrase in the source buffer (not validated, §19.19).
    public var reasonPhrase: Range<Int>
    @inlinable
    public init(isApplicationError: Bool, errorCode: UInt64, frameType: UInt64 = 0, reasonPhrase: Range<Int>) {
        self.isApplicationError = isApplicationError; self.errorCode = errorCode
        self.frameType = frameType; self.reasonPhrase = reasonPhrase
    }
}

/// DATAGRAM (RFC 9221 §4).
public struct DatagramFrame: Equatable, Sendable {
    public var data: Range<Int>
    public var hasLength: Bool
    @inlinable public init(data: Range<Int>, hasLength: Bool) { self.data = data; self.hasLength = hasLength }
}

/// ACK_FREQUENCY (draft-ietf-quic-ack-frequency; MsQuic's QUIC_ACK_FREQUENCY_EX fields).
public struct AckFrequencyFrame: Equatable, Sendable {
    public var sequenceNumber: UInt64
    public var ackElicitingThreshold: UInt64
    /// Requested max ack delay in microseconds.
    public var requestedMaxAckDelay: UInt64
    public var reorderingThreshold: UInt64
    @inlinable
    public init(sequenceNumber: UInt64, ackElicitingThreshold: UInt64, requestedMaxAckDelay: UInt64,
                reorderingThreshold: UInt64) {
        self.sequenceNumber = sequenceNumber; self.ackElicitingThreshold = ackElicitingThreshold
        self.requestedMaxAckDelay = requestedMaxAckDelay; self.reorderingThreshold = reorderingThreshold
    }
}

/// One decoded frame.
public enum Frame: Equatable, Sendable {
    /// A run of consecutive PADDING bytes (RFC 9000 §19.1), reported once.
    case padding(count: Int)
    case ping
    case ack(AckFrame)
    case resetStream(ResetStreamFrame)
    case stopSending(StopSendingFrame)
    case crypto(CryptoFrame)
    /// NEW_TOKEN (§19.7): the token in the source buffer.
    case newToken(token: Range<Int>)
    case stream(StreamFrame)
    case maxData(UInt64)
    case maxStreamData(streamID: UInt64, maximumStreamData: UInt64)
    case maxStreams(bidirectional: Bool, maximumStreams: UInt64)
    case dataBlocked(maximumData: UInt64)
    case streamDataBlocked(streamID: UInt64, maximumStreamData: UInt64)
    case streamsBlocked(bidirectional: Bool, maximumStreams: UInt64)
    case newConnectionID(NewConnectionIDFrame)
    case retireConnectionID(sequenceNumber: UInt64)
    /// PATH_CHALLENGE / PATH_RESPONSE data (8 bytes, big-endian).
    case pathChallenge(UInt64)
    case pathResponse(UInt64)
    case connectionClose(ConnectionCloseFrame)
    case handshakeDone
    case datagram(DatagramFrame)
    case ackFrequency(AckFrequencyFrame)
    case immediateAck
    case resetStreamAt(ResetStreamAtFrame)
    /// MsQuic's TIMESTAMP frame: microseconds.
    case timestamp(UInt64)

    /// The frame type as it is (or would be) encoded.
    public var frameType: UInt64 {
        switch self {
        case .padding: return FrameType.padding
        case .ping: return FrameType.ping
        case .ack(let f): return f.ecn == nil ? FrameType.ack : FrameType.ackECN
        case .resetStream: return FrameType.resetStream
        case .stopSending: return FrameType.stopSending
        case .crypto: return FrameType.crypto
        case .newToken: return FrameType.newToken
        case .stream(let f):
            return FrameType.stream | (f.offset != 0 ? FrameType.streamOffBit : 0)
                | (f.hasLength ? FrameType.streamLenBit : 0) | (f.fin ? FrameType.streamFinBit : 0)
        case .maxData: return FrameType.maxData
        case .maxStreamData: return FrameType.maxStreamData
        case .maxStreams(let bidi, _): return bidi ? FrameType.maxStreamsBidi : FrameType.maxStreamsUni
        case .dataBlocked: return FrameType.dataBlocked
        case .streamDataBlocked: return FrameType.streamDataBlocked
        case .streamsBlocked(let bidi, _): return bidi ? FrameType.streamsBlockedBidi : FrameType.streamsBlockedUni
        case .newConnectionID: return FrameType.newConnectionID
        case .retireConnectionID: return FrameType.retireConnectionID
        case .pathChallenge: return FrameType.pathChallenge
        case .pathResponse: return FrameType.pathResponse
        case .connectionClose(let f):
            return f.isApplicationError ? FrameType.connectionCloseApplication : FrameType.connectionCloseTransport
        case .handshakeDone: return FrameType.handshakeDone
        case .datagram(let f): return f.hasLength ? FrameType.datagramWithLength : FrameType.datagram
        case .ackFrequency: return FrameType.ackFrequency
        case .immediateAck: return FrameType.immediateAck
        case .resetStreamAt(let f): return f.frameType
        case .timestamp: return FrameType.timestamp
        }
    }

    /// Ack-eliciting frames: all but ACK, PADDING and CONNECTION_CLOSE (RFC 9002 §2).
    public var isAckEliciting: Bool {
        switch self {
        case .ack, .padding, .connectionClose: return false
        default: return true
        }
    }

    /// Frames that make a packet count as in flight: ack-eliciting frames and PADDING
    /// (RFC 9002 §2).
    public var countsInFlight: Bool {
        switch self {
        case .ack, .connectionClose: return false
        default: return true
        }
    }
}

extension AckFrame {
    /// The ACK Delay in microseconds: the field scaled by 2^ack_delay_exponent (RFC 9000
    /// §19.3), saturating instead of overflowing for hostile values.
    @inlinable
    public func ackDelayMicroseconds(exponent: UInt64) -> UInt64 {
        guard exponent < 64 else { return ackDelay == 0 ? 0 : .max }
        let (v, overflow) = ackDelay.multipliedReportingOverflow(by: 1 << exponent)
        return overflow ? .max : v
    }
}
