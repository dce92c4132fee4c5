import QuicWire

// The seam through which a connection reports what it does, for qlog
// (draft-ietf-quic-qlog-main-schema, draft-ietf-quic-qlog-quic-events). The engine holds an
// optional observer (`Connection.qlog`), nil unless the configuration's `observerFactory` made
// one; every call site is `qlog?.event(...)`, so with no observer the arguments are never
// evaluated: no event value is built, nothing is allocated, no string is formatted. The
// observer runs inline on the connection's thread; serialisation and I/O are its business
// (SwiftQuic's qlog writer buffers in memory and writes to a file, outside this sans-IO core).

/// The packet types of qlog's PacketHeader.packet_type (quic-events §PacketType).
public enum ObservedPacketType: Sendable, Equatable {
    case initial, handshake, zeroRTT, oneRTT, retry, versionNegotiation, statelessReset, unknown

    init(_ kind: PacketKind) {
        switch kind {
        case .initial: self = .initial
        case .handshake: self = .handshake
        case .zeroRTT: self = .zeroRTT
        case .oneRTT: self = .oneRTT
        case .retry: self = .retry
        case .versionNegotiation: self = .versionNegotiation
        case .unsupportedVersion: self = .unknown
        }
    }
}

/// A packet as qlog's packet_sent / packet_received describe it. `payload` is the plaintext
/// frame bytes, valid only during the call (the observer decodes the frames it wants).
public struct ObservedPacket {
    public var type: ObservedPacketType
    public var packetNumber: UInt64
    public var dcid: ConnectionID
    /// Long headers only.
    public var scid: ConnectionID?
    /// Bytes of the whole protected packet on the wire (header, payload, AEAD tag).
    public var length: Int
    public var payload: UnsafeRawBufferPointer
    /// The role of the endpoint that wrote the frames (to decode them with its permissions).
    public var sender: EndpointRole
    /// The writer's ack_delay_exponent (RFC 9000 §18.2), to scale ACK Delay fields.
    public var ackDelayExponent: UInt64
}

/// Why a packet was dropped (qlog's packet_dropped trigger values).
public enum ObservedDropTrigger: Sendable, Equatable {
    case keyUnavailable, decryptionFailure, duplicate, unsupportedVersion, headerParseError, unexpectedPacket, general
}

/// qlog's connectivity:connection_state_updated states (quic-events, ConnectionState).
public enum ObservedConnectionState: Sendable, Equatable {
    case attempted, handshakeStarted, handshakeCompleted, handshakeConfirmed, closing, draining, closed
}

/// qlog's recovery:congestion_state_updated states.
public enum ObservedCongestionState: Sendable, Equatable {
    case slowStart, congestionAvoidance, recovery, applicationLimited
}

/// qlog's key types (security:key_updated / key_discarded).
public enum ObservedKeyType: Sendable, Equatable {
    case serverInitial, clientInitial, serverHandshake, clientHandshake, server0RTT, client0RTT, server1RTT, client1RTT
}

/// recovery:metrics_updated (quic-events §recovery:metrics_updated); times in microseconds.
public struct ObservedRecoveryMetrics: Sendable, Equatable {
    public var minRTT: QuicDuration
    public var smoothedRTT: QuicDuration
    public var latestRTT: QuicDuration
    public var rttVariance: QuicDuration
    public var ptoCount: UInt32
    public var congestionWindow: UInt64
    public var bytesInFlight: UInt64
    public var ssthresh: UInt64?
    /// Bits per second: the congestion window over the smoothed RTT (RFC 9002 §7.7).
    public var pacingRate: UInt64
}

/// Receives a connection's events. Called on the connection's thread, one call at a time.
public protocol ConnectionObserver: AnyObject {
    /// connectivity:connection_started.
    func connectionStarted(role: EndpointRole, version: QuicVersion, localCID: ConnectionID, remoteCID: ConnectionID,
                           remote: SocketAddress, now: QuicInstant)
    /// transport:parameters_set (`local`: ours, else the peer's).
    func parametersSet(local: Bool, _ parameters: TransportParameters, now: QuicInstant)
    /// transport:version_information.
    func versionInformation(local: [QuicVersion], peer: [QuicVersion]?, chosen: QuicVersion, now: QuicInstant)
    /// transport:alpn_information (the negotiated protocol).
    func alpnInformation(local: [[UInt8]], chosen: [UInt8], now: QuicInstant)
    func packetSent(_ packet: ObservedPacket, now: QuicInstant)
    func packetReceived(_ packet: ObservedPacket, now: QuicInstant)
    func packetDropped(type: ObservedPacketType, packetNumber: UInt64?, length: Int, trigger: ObservedDropTrigger, now: QuicInstant)
    /// connectivity:connection_state_updated.
    func connectionStateUpdated(_ state: ObservedConnectionState, now: QuicInstant)
    /// connectivity:connection_closed.
    func connectionClosed(_ reason: ConnectionCloseReason, now: QuicInstant)
    /// The peer's address changed (RFC 9000 §9.3): the connection now sends to `remote`;
    /// `validating` when a path validation of it is in progress (§8.2).
    func peerAddressChanged(to remote: SocketAddress, validating: Bool, now: QuicInstant)
    /// This endpoint now sends from `local` (RFC 9000 §9.2 migration, or the return after a
    /// failed validation, §9.3.2).
    func localAddressChanged(to local: SocketAddress, now: QuicInstant)
    func metricsUpdated(_ metrics: ObservedRecoveryMetrics, now: QuicInstant)
    func packetLost(type: ObservedPacketType, packetNumber: UInt64, now: QuicInstant)
    func congestionStateUpdated(from old: ObservedCongestionState, to new: ObservedCongestionState, now: QuicInstant)
    /// security:key_updated (`generation` counts 1-RTT key updates).
    func keyUpdated(_ key: ObservedKeyType, generation: UInt64, localUpdate: Bool, now: QuicInstant)
    /// security:key_discarded.
    func keyDiscarded(_ key: ObservedKeyType, generation: UInt64, now: QuicInstant)
    /// The connection is over: write what is buffered and release the output.
    func finish(now: QuicInstant)
}

/// Makes one observer per connection (nil: this connection is not observed).
public protocol ConnectionObserverFactory: AnyObject, Sendable {
    func makeObserver(role: EndpointRole, originalDestinationCID: ConnectionID) -> ConnectionObserver?
}

// MARK: Engine-side helpers (called only behind `qlog?`, or cheap)

extension Connection {
    func observedType(_ space: PacketNumberSpace, isLong: Bool) -> ObservedPacketType {
        switch space {
        case .initial: return .initial
        case .handshake: return .handshake
        case .application: return isLong ? .zeroRTT : .oneRTT
        }
    }

    /// The key type of `space`'s keys written by `writer`.
    func observedKey(_ space: PacketNumberSpace, writer: EndpointRole) -> ObservedKeyType {
        let server = writer == .server
        switch space {
        case .initial: return server ? .serverInitial : .clientInitial
        case .handshake: return server ? .serverHandshake : .clientHandshake
        case .application: return server ? .server1RTT : .client1RTT
        }
    }

    var observedMetrics: ObservedRecoveryMetrics {
        let r = recovery.recovery
        let srtt = r.rtt.smoothedRTT.microseconds == .max ? 0 : r.rtt.smoothedRTT.microseconds
        let cwnd = r.congestion.congestionWindow
        // Bound: cwnd < 2^62 bytes; bits per second = cwnd * 8 * 1e6 / srtt, computed
        // saturating (multipliedReportingOverflow) so a huge window cannot trap.
        var rate: UInt64 = 0
        if srtt > 0 {
            let (bits, o1) = cwnd.multipliedReportingOverflow(by: 8_000_000)
            rate = o1 ? UInt64.max / UInt64(srtt) : bits / UInt64(srtt)
        }
        // BBR paces at its model's rate (bytes/s; Recovery/Bbr.swift): report that one.
        if let bbrRate = r.congestion.pacingRate { rate = mulDiv(bbrRate, 8, 1) }
        let ss = r.congestion.slowStartThreshold
        return ObservedRecoveryMetrics(minRTT: r.rtt.minRTT, smoothedRTT: r.rtt.smoothedRTT, latestRTT: r.rtt.latestRTT,
                                       rttVariance: r.rtt.rttVariance, ptoCount: r.ptoCount, congestionWindow: cwnd,
                                       bytesInFlight: r.bytesInFlight, ssthresh: ss == .max ? nil : ss, pacingRate: rate)
    }

    var observedCongestionState: ObservedCongestionState {
        let c = recovery.recovery.congestion
        if c.recoveryStartTime != nil { return .recovery }   // RFC 9002 §7.3.2
        if c.config.algorithm == .bbr && c.bbr.recoveryState != .notInRecovery { return .recovery }
        if c.isApplicationLimited { return .applicationLimited }
        return c.inSlowStart ? .slowStart : .congestionAvoidance
    }
}
