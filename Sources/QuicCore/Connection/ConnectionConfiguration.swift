import QuicTLS
import QuicWire

/// Everything a `Connection` needs besides its addresses. The role is the TLS configuration's.
///
/// Sendable (unchecked): a value whose members are Sendable except
/// `tls.resumptionAcceptance` (see `TLSConfiguration`). It is built on the calling thread and
/// moved to the connection's worker, where the engine reads it and calls that closure.
public struct ConnectionConfiguration: @unchecked Sendable {
    /// The TLS handshake settings; `tls.transportParameters` is filled in by the connection.
    public var tls: TLSConfiguration
    /// Client: the version of the first Initial is `versions[0]`. Server: the versions accepted.
    /// RFC 9000 (v1) and RFC 9369 (v2).
    public var versions: [QuicVersion] = [.v1, .v2]
    /// RFC 9368 (version negotiation extension): send version_information (Chosen Version =
    /// the connection's version, Available Versions = `versions`) in the transport parameters.
    public var sendsVersionInformation = false
    /// RFC 9368 §2.3, §3 (MsQuic's FullyDeployedVersions): a client lists, after its chosen
    /// version, those of these versions compatible with it as its Available Versions, and
    /// accepts a server upgrade only to one of them; a server lists them as its Available
    /// Versions. Nil: `versions`.
    public var fullyDeployedVersions: [QuicVersion]? = nil
    /// Our transport parameters (limits, idle timeout, ...). The connection ID parameters
    /// (original/initial/retry source CID, stateless reset token) are set by the connection
    /// (RFC 9000 §7.3, §18.2).
    public var transportParameters: TransportParameters
    /// Length of the connection IDs we issue (RFC 9000 §5.1); 0 to 20.
    public var localConnectionIDLength = 8
    /// UDP payload size we send, at least 1200 (RFC 9000 §14); never above the peer's
    /// max_udp_payload_size.
    public var maxDatagramSize = 1200
    /// Datagram Packetization Layer PMTU Discovery (RFC 8899, RFC 9000 §14.3) with MsQuic's
    /// MinimumMtu / MaximumMtu / MtuDiscoverySearchCompleteTimeoutUs /
    /// MtuDiscoveryMissingProbeCount. nil: datagrams stay at `maxDatagramSize`.
    public var mtuDiscovery: MTUDiscoveryConfig?
    /// ECN (RFC 9000 §13.4, MsQuic's EcnEnabled): mark ECT(0) while the path's ECN validation
    /// has not failed. Received marks are counted and reported either way (§13.4.1).
    public var ecnEnabled = false
    /// Handshake idle timeout (MsQuic's HandshakeIdleTimeoutMs), `.zero` = none.
    public var handshakeIdleTimeout: QuicDuration = .seconds(10)
    /// Server: answer the client's first CRYPTO data with a close instead of running the
    /// handshake (the application turned the connection away), sent as CONNECTION_CLOSE 0x1c
    /// in an Initial packet (RFC 9000 §10.2.3).
    public var refusal: Refusal?

    public enum Refusal: Sendable, Equatable {
        /// A transport error, e.g. CONNECTION_REFUSED (RFC 9000 §20.1).
        case transportError(TransportErrorCode)
        /// The application's close with its error code (APPLICATION_ERROR on the wire).
        case applicationClose(UInt64)
    }
    /// MsQuic's DisconnectTimeoutMs (default 16 s): a connection whose oldest ack-eliciting
    /// packet stays unacknowledged this long is given up silently (CONNECTION_TIMEOUT), at that
    /// deadline (MsQuic's loss_detection.c caps its loss timer there).
    public var disconnectTimeout: QuicDuration = .seconds(16)
    /// Keep-alive: send a PING after this long without sending, `.zero` = off.
    public var keepAliveInterval: QuicDuration = .zero
    /// Initiate a key update after this many packets protected with one key (RFC 9001 §6;
    /// also capped by the AEAD confidentiality limit, RFC 9001 §6.6). 0 = only at the limit.
    public var keyUpdateInterval: UInt64 = 0
    /// Initiate a key update after this many bytes (whole packets) protected with one 1-RTT
    /// key (RFC 9001 §6; MsQuic's QUIC_SETTINGS.MaxBytesPerKey). 0 = no byte limit.
    public var keyUpdateBytes: UInt64 = 0
    /// Initial RTT estimate (RFC 9002 §6.2.2: 333 ms).
    public var initialRTT: QuicDuration = .milliseconds(333)
    /// Congestion control (RFC 9002 §7 NewReno, RFC 9438 CUBIC).
    public var congestionControl = CongestionControlConfig()
    /// Whether this endpoint receives DATAGRAM frames (RFC 9221 §3): advertises
    /// max_datagram_frame_size when true.
    public var datagramReceiveEnabled = false
    /// draft-ietf-quic-ack-frequency: advertise min_ack_delay (accept ACK_FREQUENCY and
    /// IMMEDIATE_ACK) and ask a peer that advertised it to acknowledge less often, as MsQuic
    /// always does. Off: neither.
    public var ackFrequencyEnabled = true
    /// Reliable stream reset (draft-ietf-quic-reliable-stream-reset; MsQuic's
    /// QUIC_SETTINGS.ReliableResetEnabled): advertise it and, when the peer does too, let an
    /// abortive send shutdown keep the data below the stream's reliable offset.
    public var reliableResetEnabled = false
    /// Number of connection IDs we keep issued to the peer (bounded by its
    /// active_connection_id_limit, RFC 9000 §5.1.1).
    public var issuedConnectionIDs = 4
    /// Client: move to the server's preferred_address once the handshake is confirmed
    /// (RFC 9000 §9.6.1; MsQuic's client ignores it; the runtime turns this off with
    /// MigrationEnabled = FALSE).
    public var usesPreferredAddress = true
    /// Server only: a resumption/validation token for the Initial (client), e.g. from NEW_TOKEN
    /// or Retry (handled by the connection itself).
    public var initialToken: [UInt8] = []
    /// Tests and fuzzing only (internal, reached with @testable): replaces the encoding of our
    /// transport parameters in the TLS handshake. It gets the parameters the connection would
    /// announce (connection ID fields filled in, RFC 9000 §7.3) and returns the bytes to send,
    /// so a harness can play a peer announcing any value while this connection keeps its own
    /// configured limits.
    var transportParametersEncoder: ((TransportParameters) -> [UInt8])?
    /// qlog: makes each connection's observer (ConnectionObserver.swift); nil = not observed.
    public var observerFactory: ConnectionObserverFactory?

    public init(tls: TLSConfiguration, transportParameters: TransportParameters = ConnectionConfiguration.defaultTransportParameters) {
        self.tls = tls
        self.transportParameters = transportParameters
    }

    /// MsQuic-like defaults (flow control windows, stream counts, 30 s idle timeout).
    public static var defaultTransportParameters: TransportParameters {
        var p = TransportParameters()
        p.maxIdleTimeout = 30_000
        p.initialMaxData = 16 * 1024 * 1024
        p.initialMaxStreamDataBidiLocal = 1024 * 1024
        p.initialMaxStreamDataBidiRemote = 1024 * 1024
        p.initialMaxStreamDataUni = 1024 * 1024
        p.initialMaxStreamsBidi = 100
        p.initialMaxStreamsUni = 100
        p.activeConnectionIDLimit = 4
        p.maxUDPPayloadSize = 65527
        return p
    }

    public var role: TLSRole { tls.role }
}
