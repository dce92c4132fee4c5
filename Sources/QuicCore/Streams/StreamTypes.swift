// Public value types of the stream layer: states (RFC 9000 §3), events for the API layer
// (MsQuic stream events), records of sent frames for ack/loss feedback, and configuration.

import QuicTLS
import QuicWire

/// Sending part states (RFC 9000 §3.1, Figure 2).
public enum StreamSendState: Equatable, Sendable {
    case ready, send, dataSent, dataRecvd, resetSent, resetRecvd
    /// "Data Recvd" and "Reset Recvd" are terminal (§3.1).
    public var isTerminal: Bool { self == .dataRecvd || self == .resetRecvd }
}

/// Receiving part states (RFC 9000 §3.2, Figure 3).
public enum StreamReceiveState: Equatable, Sendable {
    case recv, sizeKnown, dataRecvd, dataRead, resetRecvd, resetRead
    /// "Data Read" and "Reset Read" are terminal (§3.2).
    public var isTerminal: Bool { self == .dataRead || self == .resetRead }
}

/// Events for the API layer, drained with `StreamManager.pollEvent()`, one per MsQuic
/// stream/connection event.
public enum StreamEvent: Equatable, Sendable {
    /// The peer opened a stream (QUIC_CONNECTION_EVENT_PEER_STREAM_STARTED). Emitted once per
    /// stream, in stream ID order, including streams opened implicitly (RFC 9000 §3.2).
    case peerStreamStarted(StreamID)
    /// New contiguous data can be read with `readable(_:)` (QUIC_STREAM_EVENT_RECEIVE).
    case dataAvailable(StreamID)
    /// A send request completed: all its data (and FIN) acknowledged, or canceled by a reset
    /// or stream shutdown (QUIC_STREAM_EVENT_SEND_COMPLETE).
    case sendComplete(StreamID, context: UInt64, canceled: Bool)
    /// All data up to the FIN was read (QUIC_STREAM_EVENT_PEER_SEND_SHUTDOWN).
    case peerSendShutdown(StreamID)
    /// RESET_STREAM received (QUIC_STREAM_EVENT_PEER_SEND_ABORTED).
    case peerSendAborted(StreamID, errorCode: UInt64)
    /// The peer's reset was a RESET_STREAM_AT (draft-ietf-quic-reliable-stream-reset): its
    /// Reliable Size, reported just before `peerSendAborted` (MsQuic's
    /// QUIC_PARAM_STREAM_RELIABLE_OFFSET_RECV).
    case peerReliableReset(StreamID, reliableSize: UInt64)
    /// STOP_SENDING received (QUIC_STREAM_EVENT_PEER_RECEIVE_ABORTED); the send side has been
    /// reset with the same code (RFC 9000 §3.5).
    case peerReceiveAborted(StreamID, errorCode: UInt64)
    /// The send side is finished: FIN acknowledged (graceful) or RESET_STREAM sent/acked
    /// (QUIC_STREAM_EVENT_SEND_SHUTDOWN_COMPLETE).
    case sendShutdownComplete(StreamID, graceful: Bool)
    /// Both directions are finished; the stream is forgotten by the manager
    /// (QUIC_STREAM_EVENT_SHUTDOWN_COMPLETE).
    case shutdownComplete(StreamID)
    /// The peer raised MAX_STREAMS: new local streams can be opened
    /// (QUIC_CONNECTION_EVENT_STREAMS_AVAILABLE), counts of streams now openable.
    case streamsAvailable(bidirectional: UInt64, unidirectional: UInt64)
    /// The bytes the application should keep queued on this stream so that sending is not
    /// limited by its queue (QUIC_STREAM_EVENT_IDEAL_SEND_BUFFER_SIZE); see `StreamManager`
    /// `raiseIdealSendBytes`.
    case idealSendBufferSize(StreamID, bytes: UInt64)
    /// Data of a stream marked cancel-on-loss was lost (QUIC_STREAM_EVENT_CANCEL_ON_LOSS): it
    /// is not retransmitted, and the API layer aborts the stream with the application's code.
    case cancelOnLoss(StreamID)
    /// A stream in app-owned receive mode got data beyond the space the application provided
    /// (QUIC_STREAM_EVENT_RECEIVE_BUFFER_NEEDED): `bytes` more are needed. The API layer asks
    /// the application, then calls `StreamManager.checkReceiveSpace(_:)`.
    case receiveBufferNeeded(StreamID, bytes: UInt64)
}

/// What the stream layer put into a packet, so the connection can report its fate
/// (`StreamManager.onAcked` / `onLost`). The connection keeps these per packet number.
public enum StreamsSentFrame: Equatable, Sendable {
    case stream(id: UInt64, offset: UInt64, length: Int, fin: Bool)
    case crypto(level: EncryptionLevel, offset: UInt64, length: Int)
    case resetStream(id: UInt64)
    case stopSending(id: UInt64)
    case maxData(UInt64)
    case maxStreamData(id: UInt64, UInt64)
    case maxStreams(bidirectional: Bool, UInt64)
    case dataBlocked(UInt64)
    case streamDataBlocked(id: UInt64, UInt64)
    case streamsBlocked(bidirectional: Bool, UInt64)
}

/// Limits of the stream layer: our own transport parameters (what the peer may do) plus local
/// buffer settings.
public struct StreamsConfig: Equatable, Sendable {
    public var role: EndpointRole
    /// Connection receive window (initial_max_data, RFC 9000 §18.2).
    public var maxData: UInt64
    /// Receive window of bidirectional streams we open (initial_max_stream_data_bidi_local).
    public var maxStreamDataBidiLocal: UInt64
    /// Receive window of bidirectional streams the peer opens (initial_max_stream_data_bidi_remote).
    public var maxStreamDataBidiRemote: UInt64
    /// Receive window of unidirectional streams the peer opens (initial_max_stream_data_uni).
    public var maxStreamDataUni: UInt64
    /// Streams the peer may have open (initial_max_streams_bidi / _uni, §4.6).
    public var maxStreamsBidi: UInt64
    public var maxStreamsUni: UInt64
    /// Most CRYPTO bytes buffered beyond the read offset per level; above that the connection
    /// fails with CRYPTO_BUFFER_EXCEEDED (RFC 9000 §7.5: at least 4096).
    public var cryptoBufferLimit: UInt64

    public init(role: EndpointRole, maxData: UInt64, maxStreamDataBidiLocal: UInt64,
                maxStreamDataBidiRemote: UInt64, maxStreamDataUni: UInt64,
                maxStreamsBidi: UInt64, maxStreamsUni: UInt64, cryptoBufferLimit: UInt64 = 64 * 1024) {
        self.role = role
        self.maxData = maxData
        self.maxStreamDataBidiLocal = maxStreamDataBidiLocal
        self.maxStreamDataBidiRemote = maxStreamDataBidiRemote
        self.maxStreamDataUni = maxStreamDataUni
        self.maxStreamsBidi = maxStreamsBidi
        self.maxStreamsUni = maxStreamsUni
        self.cryptoBufferLimit = cryptoBufferLimit
    }

    /// The limits we advertise in our transport parameters.
    public init(role: EndpointRole, local p: TransportParameters, cryptoBufferLimit: UInt64 = 64 * 1024) {
        self.init(role: role, maxData: p.initialMaxData,
                  maxStreamDataBidiLocal: p.initialMaxStreamDataBidiLocal,
                  maxStreamDataBidiRemote: p.initialMaxStreamDataBidiRemote,
                  maxStreamDataUni: p.initialMaxStreamDataUni,
                  maxStreamsBidi: p.initialMaxStreamsBidi, maxStreamsUni: p.initialMaxStreamsUni,
                  cryptoBufferLimit: cryptoBufferLimit)
    }
}

/// Errors of application calls on streams (mapped to QUIC_STATUS in SwiftQuic).
public enum StreamAPIError: Error, Equatable, Sendable {
    /// No such stream (never opened, or already shut down and forgotten).
    case unknownStream
    /// The operation does not fit the stream's direction or state (e.g. send after FIN, send on
    /// a peer's unidirectional stream) — QUIC_STATUS_INVALID_STATE.
    case invalidState
    /// The peer's MAX_STREAMS does not allow another stream now (QUIC_STATUS_STREAM_LIMIT_REACHED).
    case streamLimitReached
    /// A value out of range (error code above 2^62-1, ...) — QUIC_STATUS_INVALID_PARAMETER.
    case invalidParameter
}
