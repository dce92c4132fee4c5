// Decoding the frames of a decrypted packet payload (RFC 9000 §12.4, §19) in place.
//
// The decoder walks a borrowed buffer and returns one `Frame` value per call, with data
// referenced as ranges of that buffer. Malformed frames become a typed `QuicError`
// (FRAME_ENCODING_ERROR or PROTOCOL_VIOLATION, with the offending frame type); nothing traps.
// Semantic checks that need connection state (stream direction and limits, flow control,
// negotiation of extensions, the sender's role) are QuicCore's.

public struct FrameDecoder {
    public var reader: WireReader
    /// The packet type the payload came from, for the Table 3 check (RFC 9000 §12.4).
    public let packetKind: PacketKind
    /// The role of the endpoint that sent the packet, when known: frames only a server may
    /// send (NEW_TOKEN §19.7, HANDSHAKE_DONE §19.20) from a client are a PROTOCOL_VIOLATION.
    public let sender: EndpointRole?
    @usableFromInline var sawFrame = false

    /// A decoder over `payload[start..<end]` of a packet of kind `packetKind`.
    @inlinable
    public init(_ payload: UnsafeRawBufferPointer, start: Int = 0, end: Int? = nil, packetKind: PacketKind,
                sender: EndpointRole? = nil) {
        self.reader = WireReader(payload, start: start, end: end)
        self.packetKind = packetKind
        self.sender = sender
    }

    /// The next frame, or nil at the end of the payload.
    /// RFC 9000 §12.4: a packet with no frames at all is a PROTOCOL_VIOLATION.
    @inlinable
    public mutating func next() throws(QuicError) -> Frame? {
        if reader.isAtEnd {
            if !sawFrame {
                sawFrame = true
                throw QuicError.protocolViolation(nil, "packet contains no frames")
            }
            return nil
        }
        sawFrame = true
        return try FrameDecoder.decodeFrame(&reader, packetKind: packetKind, sender: sender)
    }

    /// Decodes one frame at the reader's position.
    public static func decodeFrame(
        _ r: inout WireReader, packetKind: PacketKind, sender: EndpointRole? = nil
    ) throws(QuicError) -> Frame {
        // RFC 9000 §12.4: the frame type is a varint that MUST use the shortest encoding.
        guard let (type, typeLength) = r.readVarIntWithLength() else {
            throw QuicError.frameEncoding(nil, "truncated frame type")
        }
        if typeLength != VarInt.encodedLength(type) {
            throw QuicError.protocolViolation(type, "frame type not minimally encoded")
        }
        // RFC 9000 §12.4: unknown frame types are a FRAME_ENCODING_ERROR ...
        guard FramePermissions.isKnown(type) else {
            throw QuicError.frameEncoding(type, "unknown frame type")
        }
        // ... and a frame not permitted in this packet type a PROTOCOL_VIOLATION.
        guard FramePermissions.isAllowed(frameType: type, in: packetKind) else {
            throw QuicError.protocolViolation(type, "frame not allowed in this packet type")
        }
        // RFC 9000 §19.7, §19.20: a server MUST treat NEW_TOKEN and HANDSHAKE_DONE from a
        // client as a PROTOCOL_VIOLATION.
        if sender == .client && (type == FrameType.newToken || type == FrameType.handshakeDone) {
            throw QuicError.protocolViolation(type, "frame only a server may send")
        }

        @inline(__always) func varint(_ r: inout WireReader) throws(QuicError) -> UInt64 {
            guard let v = r.readVarInt() else { throw QuicError.frameEncoding(type, "truncated frame") }
            return v
        }

        switch type {
        case FrameType.padding:
            // RFC 9000 §19.1: collapse the run of zero bytes.
            var count = 1
            while let b = r.peekUInt8(), b == 0 {
                r.position += 1
                count += 1
            }
            return .padding(count: count)

        case FrameType.ping:
            return .ping

        case FrameType.ack, FrameType.ackECN:
            return .ack(try decodeAck(&r, type: type))

        case FrameType.resetStream:
            // RFC 9000 §19.4
            let id = try varint(&r)
            let code = try varint(&r)
            let finalSize = try varint(&r)
            return .resetStream(ResetStreamFrame(streamID: id, applicationErrorCode: code, finalSize: finalSize))

        case FrameType.stopSending:
            // RFC 9000 §19.5
            let id = try varint(&r)
            let code = try varint(&r)
            return .stopSending(StopSendingFrame(streamID: id, applicationErrorCode: code))

        case FrameType.crypto:
            // RFC 9000 §19.6
            let offset = try varint(&r)
            let length = try varint(&r)
            guard let data = r.readBytes(varIntCount: length) else {
                throw QuicError.frameEncoding(type, "CRYPTO data exceeds packet")
            }
            // The end offset cannot exceed 2^62-1 (§19.6).
            guard offset <= VarInt.max - length else {
                throw QuicError.frameEncoding(type, "CRYPTO offset + length exceeds 2^62-1")
            }
            return .crypto(CryptoFrame(offset: offset, data: data))

        case FrameType.newToken:
            // RFC 9000 §19.7: an empty token is a FRAME_ENCODING_ERROR.
            let length = try varint(&r)
            guard length > 0 else { throw QuicError.frameEncoding(type, "empty NEW_TOKEN") }
            guard let token = r.readBytes(varIntCount: length) else {
                throw QuicError.frameEncoding(type, "NEW_TOKEN exceeds packet")
            }
            return .newToken(token: token)

        case 0x08...0x0f:
            // RFC 9000 §19.8
            let id = try varint(&r)
            let offset = type & FrameType.streamOffBit != 0 ? try varint(&r) : 0
            let data: Range<Int>
            if type & FrameType.streamLenBit != 0 {
                let length = try varint(&r)
                guard let d = r.readBytes(varIntCount: length) else {
                    throw QuicError.frameEncoding(type, "STREAM data exceeds packet")
                }
                data = d
            } else {
                // Without LEN the data runs to the end of the packet.
                data = r.position..<r.end
                r.position = r.end
            }
            // §19.8: offset + length must not exceed 2^62-1.
            guard offset <= VarInt.max - UInt64(data.count) else {
                throw QuicError.frameEncoding(type, "STREAM offset + length exceeds 2^62-1")
            }
            return .stream(StreamFrame(
                streamID: id, offset: offset, data: data, fin: type & FrameType.streamFinBit != 0,
                hasLength: type & FrameType.streamLenBit != 0))

        case FrameType.maxData:
            return .maxData(try varint(&r))  // §19.9

        case FrameType.maxStreamData:
            let id = try varint(&r)           // §19.10
            return .maxStreamData(streamID: id, maximumStreamData: try varint(&r))

        case FrameType.maxStreamsBidi, FrameType.maxStreamsUni:
            // §19.11: more than 2^60 streams is a FRAME_ENCODING_ERROR.
            let n = try varint(&r)
            guard n <= 1 << 60 else { throw QuicError.frameEncoding(type, "MAX_STREAMS above 2^60") }
            return .maxStreams(bidirectional: type == FrameType.maxStreamsBidi, maximumStreams: n)

        case FrameType.dataBlocked:
            return .dataBlocked(maximumData: try varint(&r))  // §19.12

        case FrameType.streamDataBlocked:
            let id = try varint(&r)           // §19.13
            return .streamDataBlocked(streamID: id, maximumStreamData: try varint(&r))

        case FrameType.streamsBlockedBidi, FrameType.streamsBlockedUni:
            // §19.14: above 2^60 is a FRAME_ENCODING_ERROR.
            let n = try varint(&r)
            guard n <= 1 << 60 else { throw QuicError.frameEncoding(type, "STREAMS_BLOCKED above 2^60") }
            return .streamsBlocked(bidirectional: type == FrameType.streamsBlockedBidi, maximumStreams: n)

        case FrameType.newConnectionID:
            // RFC 9000 §19.15
            let seq = try varint(&r)
            let retirePriorTo = try varint(&r)
            guard retirePriorTo <= seq else {
                throw QuicError.frameEncoding(type, "Retire Prior To greater than Sequence Number")
            }
            guard let length = r.readUInt8() else { throw QuicError.frameEncoding(type, "truncated frame") }
            guard length >= 1, length <= 20 else {
                throw QuicError.frameEncoding(type, "connection ID length not in 1...20")
            }
            guard let cid = r.readConnectionID(length: Int(length)),
                  let token = r.readStatelessResetToken() else {
                throw QuicError.frameEncoding(type, "truncated frame")
            }
            return .newConnectionID(NewConnectionIDFrame(
                sequenceNumber: seq, retirePriorTo: retirePriorTo, connectionID: cid, statelessResetToken: token))

        case FrameType.retireConnectionID:
            return .retireConnectionID(sequenceNumber: try varint(&r))  // §19.16

        case FrameType.pathChallenge, FrameType.pathResponse:
            // §19.17, §19.18: 8 bytes of data.
            guard let data = r.readUInt64() else { throw QuicError.frameEncoding(type, "truncated frame") }
            return type == FrameType.pathChallenge ? .pathChallenge(data) : .pathResponse(data)

        case FrameType.connectionCloseTransport, FrameType.connectionCloseApplication:
            // RFC 9000 §19.19
            let code = try varint(&r)
            let isApplication = type == FrameType.connectionCloseApplication
            let triggering = isApplication ? 0 : try varint(&r)
            let length = try varint(&r)
            guard let reason = r.readBytes(varIntCount: length) else {
                throw QuicError.frameEncoding(type, "reason phrase exceeds packet")
            }
            return .connectionClose(ConnectionCloseFrame(
                isApplicationError: isApplication, errorCode: code, frameType: triggering, reasonPhrase: reason))

        case FrameType.handshakeDone:
            return .handshakeDone  // §19.20

        case FrameType.datagram, FrameType.datagramWithLength:
            // RFC 9221 §4
            if type == FrameType.datagramWithLength {
                let length = try varint(&r)
                guard let data = r.readBytes(varIntCount: length) else {
                    throw QuicError.frameEncoding(type, "DATAGRAM data exceeds packet")
                }
                return .datagram(DatagramFrame(data: data, hasLength: true))
            }
            let data = r.position..<r.end
            r.position = r.end
            return .datagram(DatagramFrame(data: data, hasLength: false))

        case FrameType.ackFrequency:
            // draft-ietf-quic-ack-frequency: four varints.
            let seq = try varint(&r)
            let threshold = try varint(&r)
            let delay = try varint(&r)
            let reordering = try varint(&r)
            return .ackFrequency(AckFrequencyFrame(
                sequenceNumber: seq, ackElicitingThreshold: threshold, requestedMaxAckDelay: delay,
                reorderingThreshold: reordering))

        case FrameType.immediateAck:
            return .immediateAck

        case FrameType.resetStreamAt, FrameType.reliableResetStreamMsQuic:
            // draft-ietf-quic-reliable-stream-reset: a Reliable Size above the Final Size is a
            // FRAME_ENCODING_ERROR.
            let id = try varint(&r)
            let code = try varint(&r)
            let finalSize = try varint(&r)
            let reliableSize = try varint(&r)
            guard reliableSize <= finalSize else {
                throw QuicError.frameEncoding(type, "Reliable Size greater than Final Size")
            }
            return .resetStreamAt(ResetStreamAtFrame(
                streamID: id, applicationErrorCode: code, finalSize: finalSize, reliableSize: reliableSize,
                frameType: type))

        case FrameType.timestamp:
            return .timestamp(try varint(&r))

        default:
            throw QuicError.frameEncoding(type, "unknown frame type")
        }
    }

    /// ACK / ACK_ECN (RFC 9000 §19.3). Validates every range so later iteration cannot fail.
    static func decodeAck(_ r: inout WireReader, type: UInt64) throws(QuicError) -> AckFrame {
        guard let largest = r.readVarInt(), let delay = r.readVarInt(),
              let count = r.readVarInt(), let first = r.readVarInt() else {
            throw QuicError.frameEncoding(type, "truncated ACK")
        }
        // §19.3.1: the smallest packet number of a range must not be negative.
        guard first <= largest else { throw QuicError.frameEncoding(type, "first ACK range underflows") }
        var smallest = largest - first
        let rangesStart = r.position
        var i: UInt64 = 0
        while i < count {
            guard let gap = r.readVarInt(), let length = r.readVarInt() else {
                throw QuicError.frameEncoding(type, "truncated ACK range")
            }
            // largest = previous smallest - gap - 2 (§19.3.1).
            guard gap <= smallest, smallest - gap >= 2 else {
                throw QuicError.frameEncoding(type, "ACK gap underflows")
            }
            let rangeLargest = smallest - gap - 2
            guard length <= rangeLargest else { throw QuicError.frameEncoding(type, "ACK range underflows") }
            smallest = rangeLargest - length
            i += 1
        }
        let rangesEnd = r.position
        var ecn: ECNCounts? = nil
        if type == FrameType.ackECN {
            guard let e0 = r.readVarInt(), let e1 = r.readVarInt(), let ce = r.readVarInt() else {
                throw QuicError.frameEncoding(type, "truncated ECN counts")
            }
            ecn = ECNCounts(ect0: e0, ect1: e1, ce: ce)
        }
        return AckFrame(
            largestAcknowledged: largest, ackDelay: delay, firstAckRange: first, additionalRangeCount: count,
            encodedRanges: rangesStart..<rangesEnd, smallestAcknowledged: smallest, ecn: ecn)
    }
}
