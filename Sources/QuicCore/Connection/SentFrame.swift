import QuicWire

/// What a sent packet carried that matters once it is acknowledged or lost: the frames to
/// retransmit (RFC 9000 §13.3) and the bookkeeping to release.
enum SentFrame: Equatable {
    case handshakeDone
    /// NEW_TOKEN (RFC 9000 §19.7): resent with the same token when lost (§13.3).
    case newToken([UInt8])
    case ping
    case newConnectionID(sequence: UInt64)
    case retireConnectionID(sequence: UInt64)
    case ack(largest: UInt64)
    case datagram(id: UInt64)
    case pathResponse(UInt64)
    /// ACK_FREQUENCY with this Sequence Number (draft-ietf-quic-ack-frequency §4).
    case ackFrequency(sequence: UInt64)
    /// A frame written by the stream manager.
    case streams(StreamsSentFrame)
}

/// One sent packet as the connection remembers it.
struct SentPacketRecord {
    var space: PacketNumberSpace
    var packetNumber: UInt64
    var frames: [SentFrame]
    /// Key phase generation of 1-RTT packets (key update bookkeeping, RFC 9001 §6).
    var keyGeneration: UInt64
}
