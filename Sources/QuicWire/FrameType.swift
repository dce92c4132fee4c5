// Frame type values (RFC 9000 §19, §12.4 Table 3; RFC 9221 §4; draft-ietf-quic-ack-frequency;
// draft-ietf-quic-reliable-stream-reset; MsQuic's variants of the last two).

public enum FrameType {
    public static let padding: UInt64 = 0x00
    public static let ping: UInt64 = 0x01
    public static let ack: UInt64 = 0x02
    public static let ackECN: UInt64 = 0x03
    public static let resetStream: UInt64 = 0x04
    public static let stopSending: UInt64 = 0x05
    public static let crypto: UInt64 = 0x06
    public static let newToken: UInt64 = 0x07
    /// STREAM is 0x08...0x0f: OFF = 0x04, LEN = 0x02, FIN = 0x01 (RFC 9000 §19.8).
    public static let stream: UInt64 = 0x08
    public static let streamOffBit: UInt64 = 0x04
    public static let streamLenBit: UInt64 = 0x02
    public static let streamFinBit: UInt64 = 0x01
    public static let maxData: UInt64 = 0x10
    public static let maxStreamData: UInt64 = 0x11
    public static let maxStreamsBidi: UInt64 = 0x12
    public static let maxStreamsUni: UInt64 = 0x13
    public static let dataBlocked: UInt64 = 0x14
    public static let streamDataBlocked: UInt64 = 0x15
    public static let streamsBlockedBidi: UInt64 = 0x16
    public static let streamsBlockedUni: UInt64 = 0x17
    public static let newConnectionID: UInt64 = 0x18
    public static let retireConnectionID: UInt64 = 0x19
    public static let pathChallenge: UInt64 = 0x1a
    public static let pathResponse: UInt64 = 0x1b
    public static let connectionCloseTransport: UInt64 = 0x1c
    public static let connectionCloseApplication: UInt64 = 0x1d
    public static let handshakeDone: UInt64 = 0x1e
    /// draft-ietf-quic-ack-frequency (the type MsQuic uses).
    public static let immediateAck: UInt64 = 0x1f
    /// MsQuic's RELIABLE_RESET_STREAM (an early reliable-stream-reset draft); same fields as
    /// RESET_STREAM_AT.
    public static let reliableResetStreamMsQuic: UInt64 = 0x21
    /// draft-ietf-quic-reliable-stream-reset RESET_STREAM_AT.
    public static let resetStreamAt: UInt64 = 0x24
    /// RFC 9221 §4: 0x30 without Length, 0x31 with Length.
    public static let datagram: UInt64 = 0x30
    public static let datagramWithLength: UInt64 = 0x31
    /// draft-ietf-quic-ack-frequency.
    public static let ackFrequency: UInt64 = 0xaf
    /// MsQuic's TIMESTAMP frame (draft-huitema-quic-ts), negotiated by transport parameter
    /// 0x7158.
    public static let timestamp: UInt64 = 0x2f5
}
