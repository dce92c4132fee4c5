// Which frames each packet type may carry (RFC 9000 §12.4 Table 3, §12.5, §17.2.3;
// RFC 9221 §4; draft-ietf-quic-ack-frequency; draft-ietf-quic-reliable-stream-reset).

public enum FramePermissions {
    /// True if a frame of type `frameType` may appear in a packet of kind `kind`.
    /// Receiving a frame in a packet type that does not permit it is a PROTOCOL_VIOLATION
    /// (RFC 9000 §12.4).
    @inlinable
    public static func isAllowed(frameType: UInt64, in kind: PacketKind) -> Bool {
        switch kind {
        case .initial, .handshake:
            // Table 3 "IH": PADDING, PING, ACK, CRYPTO, CONNECTION_CLOSE of type 0x1c.
            switch frameType {
            case FrameType.padding, FrameType.ping, FrameType.ack, FrameType.ackECN, FrameType.crypto,
                 FrameType.connectionCloseTransport:
                return true
            default:
                return false
            }
        case .zeroRTT:
            // Table 3 "0", and §12.5/§17.2.3: no ACK, CRYPTO, HANDSHAKE_DONE, NEW_TOKEN,
            // PATH_RESPONSE or RETIRE_CONNECTION_ID in 0-RTT. ACK_FREQUENCY and IMMEDIATE_ACK
            // cannot be sent in 0-RTT either (ack-frequency draft §3). TIMESTAMP is 1-RTT only.
            switch frameType {
            case FrameType.ack, FrameType.ackECN, FrameType.crypto, FrameType.handshakeDone,
                 FrameType.newToken, FrameType.pathResponse, FrameType.retireConnectionID,
                 FrameType.ackFrequency, FrameType.immediateAck, FrameType.timestamp:
                return false
            default:
                return isKnown(frameType)
            }
        case .oneRTT:
            return isKnown(frameType)
        case .retry, .versionNegotiation, .unsupportedVersion:
            return false
        }
    }

    /// Frame types this module can decode.
    @inlinable
    public static func isKnown(_ frameType: UInt64) -> Bool {
        switch frameType {
        case 0x00...0x1f, FrameType.reliableResetStreamMsQuic, FrameType.resetStreamAt,
             FrameType.datagram, FrameType.datagramWithLength, FrameType.ackFrequency, FrameType.timestamp:
            return true
        default:
            return false
        }
    }
}
