import QuicTLS
import QuicWire

/// Why a connection is shutting down, as the MsQuic API layer reports it.
public struct ConnectionCloseReason: Equatable, Sendable {
    /// The error code of the CONNECTION_CLOSE (transport code for 0x1c, application code for 0x1d).
    public var errorCode: UInt64
    /// True for an application close (CONNECTION_CLOSE 0x1d, RFC 9000 §19.19).
    public var isApplication: Bool
    /// True when the close was received from the peer; false when this endpoint closed.
    public var fromPeer: Bool
    /// True when the error is a TLS alert (CRYPTO_ERROR 0x100-0x1ff, RFC 9001 §4.8).
    public var isTLSAlert: Bool { !isApplication && errorCode & ~0xff == 0x100 }
    /// True when the connection ended by idle timeout (RFC 9000 §10.1), no packet sent.
    public var idleTimeout: Bool = false
    /// True when data stayed unacknowledged for the disconnect timeout (MsQuic's
    /// DisconnectTimeoutMs), no packet sent.
    public var disconnectTimeout: Bool = false
    /// True when the peer's stateless reset ended the connection (RFC 9000 §10.3).
    public var statelessReset: Bool = false
    /// True when the server offered no compatible version (RFC 9000 §6.2).
    public var versionNegotiation: Bool = false
    /// The reason phrase (UTF-8, possibly empty).
    public var reason: [UInt8] = []
}

/// Events for the MsQuic API layer (QUIC_CONNECTION_EVENT_*), in the order they happened.
public enum ConnectionEvent: Equatable, Sendable {
    /// The handshake completed (CONNECTED): negotiated ALPN, session resumed.
    case connected(alpn: [UInt8], resumed: Bool)
    /// The peer's certificate arrived; the handshake waits for
    /// `Connection.completePeerCertificateValidation(accept:)` when the TLS configuration asks
    /// to indicate it (PEER_CERTIFICATE_RECEIVED).
    case peerCertificateReceived(PeerCertificateInfo)
    /// The transport (ours or the peer's) is closing the connection with a transport error
    /// (SHUTDOWN_INITIATED_BY_TRANSPORT).
    case shutdownInitiatedByTransport(ConnectionCloseReason)
    /// The peer closed with an application error code (SHUTDOWN_INITIATED_BY_PEER).
    case shutdownInitiatedByPeer(errorCode: UInt64)
    /// Nothing more will happen on this connection (SHUTDOWN_COMPLETE).
    case shutdownComplete(handshakeCompleted: Bool, peerAcknowledgedShutdown: Bool, appCloseInProgress: Bool)
    /// The peer opened a stream (PEER_STREAM_STARTED).
    case peerStreamStarted(StreamID)
    /// A stream event from the stream layer (QUIC_STREAM_EVENT_*).
    case stream(StreamEvent)
    /// More streams may be opened: the peer raised MAX_STREAMS (STREAMS_AVAILABLE).
    case streamsAvailable(bidirectional: UInt64, unidirectional: UInt64)
    /// The peer is blocked on our stream limit (PEER_NEEDS_STREAMS).
    case peerNeedsStreams(bidirectional: Bool)
    /// A DATAGRAM frame arrived (DATAGRAM_RECEIVED, RFC 9221).
    case datagramReceived([UInt8])
    /// The peer's address changed: the connection now sends to this address (RFC 9000 §9.3;
    /// MsQuic's QUIC_CONNECTION_EVENT_PEER_ADDRESS_CHANGED).
    case peerAddressChanged(SocketAddress)
    /// This endpoint now sends from this local address: a migration it started, or the return
    /// to the previous address when the new path failed validation (RFC 9000 §9.2, §9.3.2;
    /// QUIC_CONNECTION_EVENT_LOCAL_ADDRESS_CHANGED).
    case localAddressChanged(SocketAddress)
    /// Whether the peer accepts DATAGRAM frames and their largest size (DATAGRAM_STATE_CHANGED).
    case datagramStateChanged(sendEnabled: Bool, maxSendLength: Int)
    /// A datagram handed to `sendDatagram` changed state (DATAGRAM_SEND_STATE_CHANGED).
    case datagramSendStateChanged(id: UInt64, state: DatagramSendState)
    /// Client: a session ticket for resumption (RESUMPTION_TICKET_RECEIVED).
    case resumptionTicketReceived([UInt8])
    /// Server: a NEW_TOKEN was sent... Client: a NEW_TOKEN was received (for a future Initial).
    case newTokenReceived([UInt8])
    /// Reliable reset negotiation result, when enabled locally (RELIABLE_RESET_NEGOTIATED).
    case reliableResetNegotiated(Bool)
}

/// QUIC_DATAGRAM_SEND_STATE.
public enum DatagramSendState: Equatable, Sendable {
    case sent, lostSuspect, lostDiscarded, acknowledged, acknowledgedSpurious, canceled
}
