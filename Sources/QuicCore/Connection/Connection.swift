import QuicCrypto
import QuicTLS
import QuicWire

/// Per packet number space state of a connection (RFC 9000 §12.3).
struct PacketSpaceState {
    /// Initial and Handshake protection; the application space uses `Connection.oneRTT`.
    var sendKeys: PacketProtector?
    var receiveKeys: PacketProtector?
    var nextPacketNumber: UInt64 = 0
    var largestReceived: UInt64?
    var largestAcked: UInt64?
    var discarded = false
    /// PTO probe packets still to send in this space (RFC 9002 §6.2.4).
    var probesPending = 0
}

extension PacketNumberSpace {
    /// The encryption level whose CRYPTO data this space carries (RFC 9001 §4.1.4).
    var encryptionLevel: EncryptionLevel {
        switch self {
        case .initial: return .initial
        case .handshake: return .handshake
        case .application: return .application
        }
    }
}

/// A QUIC connection, client or server, without I/O (RFC 9000). Feed it datagrams with
/// `handle(datagram:from:now:)`, send what `pollTransmit(now:into:)` writes, call
/// `handleTimeout(now:)` at `nextTimeout()`, and drain `pollEvent()` after each call.
/// Time is in microseconds of a monotonic clock chosen by the caller.
public final class Connection {
    public let role: EndpointRole
    let configuration: ConnectionConfiguration
    public internal(set) var version: QuicVersion
    var protectionVersion: ProtectionVersion
    var tls: TLSHandshake
    var spaces = [PacketSpaceState(), PacketSpaceState(), PacketSpaceState()]
    var oneRTT: OneRTTKeys?
    /// 0-RTT protection (RFC 9001 §4.6): the client's send key, the server's receive key.
    var zeroRTTSend: PacketProtector?
    var zeroRTTReceive: PacketProtector?
    var sentZeroRTT = false
    var pendingOneRTTRead: TrafficSecret?
    var pendingOneRTTWrite: TrafficSecret?
    let recovery: RecoveryAdapter
    /// The streams of this connection (RFC 9000 §2-§4).
    public let streams: StreamManager
    var streamFrameScratch: [StreamsSentFrame] = []
    var cids = ConnectionIDState()
    let registry: ConnectionIDRegistry
    /// The peer's reset tokens last reported to the registry (`syncPeerResetTokens`).
    var announcedResetTokens: [StatelessResetToken] = []
    var sentPackets: [UInt64: SentPacketRecord] = [:]
    /// Scratch for `pollTransmit`'s packets and emptied frame lists of finished packets,
    /// reused so that sending allocates nothing per packet in steady state.
    var packetScratch: [PacketUnderConstruction] = []
    var frameListPool: [[SentFrame]] = []
    var nextSentToken: UInt64 = 0

    /// The peer's address (RFC 9000 §9: no migration yet, the path is fixed).
    public internal(set) var remoteAddress: SocketAddress

    // Handshake (RFC 9000 §7)
    /// Client: the DCID of its first Initial; server: the DCID the client chose.
    let originalDestinationCID: ConnectionID
    /// Client: the SCID of the Retry it accepted; server: the SCID it put in its Retry.
    var retrySourceCID: ConnectionID?
    /// The SCID of the first Initial the peer sent (RFC 9000 §7.3).
    var peerInitialSourceCID: ConnectionID?
    var retryToken: [UInt8] = []
    var receivedRetryOrInitial = false
    /// Whether any packet was authenticated and processed (RFC 9000 §6.2: later Version
    /// Negotiation packets are discarded).
    var processedAnyPacket = false
    /// Client: the versions listed by the Version Negotiation packet that made us restart the
    /// attempt in `version` (RFC 9368 §4: checked against the server's Available Versions).
    var versionNegotiationVersions: [QuicVersion]?
    /// Compatible version negotiation (RFC 9368 §2.3; Connection+CompatibleVersion.swift).
    var compatibleVN = CompatibleVersionState()
    /// Server: the 1-RTT write key before the read key exists, for 0.5-RTT data
    /// (Connection+HalfRTT.swift).
    var halfRTTSend: PacketProtector?
    public internal(set) var isHandshakeComplete = false
    public internal(set) var isHandshakeConfirmed = false
    public internal(set) var peerTransportParameters: TransportParameters?
    var handshakeDonePending = false
    /// Server: a NEW_TOKEN token waiting to be sent (or resent after a loss), RFC 9000 §8.1.3.
    var newTokenPending: [UInt8]?
    /// Server: whether the client's address is validated (RFC 9000 §8.1).
    var addressValidated: Bool
    var bytesReceived: UInt64 = 0
    var bytesSent: UInt64 = 0

    // Lifetime (RFC 9000 §10)
    enum State: Equatable { case open, closing, draining, closed }
    var state: State = .open
    var stateDeadline: QuicInstant = .zero
    var closeReason: ConnectionCloseReason?
    var closePacketPending = false
    /// Draining after the peer's CONNECTION_CLOSE: our one reply is still to be sent
    /// (RFC 9000 §10.2.2).
    var drainReplyPending = false
    /// The peer answered our CONNECTION_CLOSE with its own while we were closing
    /// (RFC 9000 §10.2.1): MsQuic's PeerAcknowledgedShutdown.
    var peerAcknowledgedClose = false
    var closeFrameType: UInt64 = 0
    var idleDeadline: QuicInstant = .zero
    var lastSendTime: QuicInstant = .zero
    var ackElicitingSentSinceReceive = false
    var pingPending = false
    var pathResponses: [UInt64] = []
    /// PATH_RESPONSE owed on another path than the current one (RFC 9000 §8.2.2: sent on the
    /// path the PATH_CHALLENGE came from), with what that address may still be sent (3x the
    /// datagram that carried the challenge, §8.1 / §9.3).
    var probedPathResponses: [(data: UInt64, address: SocketAddress, budget: UInt64)] = []
    /// The datagram being sent answers a probe on another path: only its PATH_RESPONSE goes in.
    var probeReplyInProgress: UInt64?
    /// The remote address and size of the datagram being processed.
    var currentDatagramRemote = SocketAddress()
    var currentDatagramSize = 0
    /// A validation of the peer's new address in progress (RFC 9000 §8.2, §9.3).
    var pathValidation: PathValidation?
    /// The local address, a client's migration to a new one, the peer's CID per path
    /// (RFC 9000 §9; Connection+LocalMigration.swift).
    var paths = PathState()
    /// Set while a datagram is processed: a 1-RTT packet carrying a non-probing frame with the
    /// highest packet number so far (RFC 9000 §9.3) was among its packets.
    var datagramMayMigrate = false
    /// The datagram being built carries a PATH_CHALLENGE (padded to 1200 bytes, §8.2.1).
    var pathChallengeWritten = false
    /// The last packet processed carried a frame other than PATH_CHALLENGE, PATH_RESPONSE,
    /// NEW_CONNECTION_ID and PADDING (RFC 9000 §9.1).
    var lastPacketNonProbing = false
    var events: [ConnectionEvent] = []
    var eventIndex = 0
    /// Datagrams queued by the application (RFC 9221).
    var datagramQueue: [(id: UInt64, data: [UInt8])] = []
    var nextDatagramID: UInt64 = 0
    /// Key update bookkeeping (RFC 9001 §6).
    var packetsWithCurrentKey: UInt64 = 0
    /// Bytes of 1-RTT packets protected with the current key (RFC 9001 §6, MaxBytesPerKey).
    var bytesWithCurrentKey: UInt64 = 0
    var firstPacketOfCurrentPhase: UInt64?
    var currentPhaseAcked = true
    /// When the peer first acknowledged a packet of the current key phase after a key update
    /// (nil before any update): the next update we start waits 3 PTOs from then (RFC 9001 §6.5).
    var currentPhaseAckedAt: QuicInstant?
    /// Whether the peer may move to the next key phase: true until a key update, then once
    /// we sent an ACK of one of its packets in the current phase (RFC 9001 §6.1, §6.2).
    var peerMayUpdateKeys = true
    var previousKeysDiscardTime: QuicInstant?
    var forgedPackets: UInt64 = 0
    var counters = ConnectionStatistics()
    /// TLS gave us Handshake / 1-RTT write keys (the ends of our handshake flights, for the
    /// Handshake flight sizes of QUIC_STATISTICS).
    var wroteHandshakeKey = false
    var wroteOneRTTKey = false
    /// Time data waited for the pacer, the amplification limit or the congestion window
    /// (QUIC_STREAM_STATISTICS ConnBlockedBy*; `blockedTimings` adds flow control).
    var sendBlocked = ConnectionBlockedTimings()
    /// When the pacer releases data that waits only for it (RFC 9002 §7.7), set by `pollTransmit`.
    var pacingReleaseTime: QuicInstant?
    /// Raw frame bytes to put in the next 1-RTT packet, as they are: lets tests play a
    /// misbehaving peer. Internal (reached with @testable only).
    var injectedFrames: [[UInt8]] = []
    /// qlog (ConnectionObserver.swift): nil unless `configuration.observerFactory` made one.
    var qlog: ConnectionObserver?
    var qlogCongestionState = ObservedCongestionState.slowStart
    /// DPLPMTUD of the current path (Connection+PMTU.swift, RFC 8899).
    var pmtu = PMTUDiscovery()
    /// ECN validation of the current path and the codepoint of the datagram being processed
    /// (Connection+ECN.swift, RFC 9000 §13.4).
    var ecnValidation = ECNValidation()
    var currentDatagramECN = ECNCodepoint.notECT
    /// ACK_FREQUENCY / IMMEDIATE_ACK state (Connection+AckFrequency.swift).
    var ackFrequency = AckFrequencyState()

    // MARK: Creation

    /// A client connection to `remote`. The first Initial goes out on the first `pollTransmit`.
    public convenience init(client configuration: ConnectionConfiguration, remote: SocketAddress, now: QuicInstant,
                            registry: ConnectionIDRegistry? = nil) throws {
        let dcid = ConnectionID.random(length: 8)  // RFC 9000 §7.2: at least 8 bytes
        try self.init(role: .client, configuration: configuration, remote: remote,
                      version: configuration.versions.first ?? .v1, originalDCID: dcid, peerSCID: dcid,
                      registry: registry, addressValidated: true, now: now)
    }

    /// A server connection for a client Initial whose DCID was `originalDCID` (or, after a
    /// Retry, whose token carried it) and SCID `clientSCID`, created by the `Endpoint`.
    convenience init(server configuration: ConnectionConfiguration, remote: SocketAddress, version: QuicVersion,
         originalDCID: ConnectionID, clientSCID: ConnectionID, currentDCID: ConnectionID, retrySCID: ConnectionID?,
         registry: ConnectionIDRegistry?, addressValidated: Bool, now: QuicInstant) throws {
        try self.init(role: .server, configuration: configuration, remote: remote, version: version,
                      originalDCID: originalDCID, peerSCID: clientSCID, registry: registry,
                      addressValidated: addressValidated, now: now, initialKeysDCID: currentDCID, retrySCID: retrySCID)
    }

    private init(role: EndpointRole, configuration: ConnectionConfiguration, remote: SocketAddress, version: QuicVersion,
                 originalDCID: ConnectionID, peerSCID: ConnectionID, registry: ConnectionIDRegistry?,
                 addressValidated: Bool, now: QuicInstant, initialKeysDCID: ConnectionID? = nil,
                 retrySCID: ConnectionID? = nil) throws {
        // A client may start in a reserved version (RFC 9000 §15, 0x?a?a?a?a) to draw Version
        // Negotiation, its Initial laid out and protected as v1 (MsQuic does the same).
        guard let pv = ProtectionVersion(wireVersion: version.rawValue)
                ?? (role == .client && version.isReservedForNegotiation ? .v1 : nil) else {
            throw QuicError(code: .internalError, reason: "unsupported version \(version)")
        }
        self.role = role
        self.configuration = configuration
        self.version = version
        self.protectionVersion = pv
        self.remoteAddress = remote
        self.originalDestinationCID = originalDCID
        self.retrySourceCID = retrySCID
        self.addressValidated = addressValidated
        self.registry = registry ?? StandaloneConnectionIDs(length: configuration.localConnectionIDLength)
        self.recovery = RecoveryAdapter(role: role, initialRTT: configuration.initialRTT,
                                        localMaxAckDelay: .milliseconds(configuration.transportParameters.maxAckDelay),
                                        congestion: configuration.congestionControl)
        retryToken = configuration.initialToken
        streams = StreamManager(config: StreamsConfig(role: role, local: configuration.transportParameters))
        cids.localActiveLimit = max(2, configuration.transportParameters.activeConnectionIDLimit)
        // The peer's first CID: the client's random DCID until the server's Initial arrives
        // (RFC 9000 §7.2); the client's SCID for a server.
        cids.remote = [ConnectionIDState.Remote(sequence: 0, id: peerSCID, token: nil)]
        if role == .server { peerInitialSourceCID = peerSCID }

        // Placeholder TLS until our parameters are known; replaced below.
        var tlsConfig = configuration.tls
        tlsConfig.transportParameters = []
        self.tls = TLSHandshake(configuration: tlsConfig)

        // Our handshake SCID, sequence 0 (RFC 9000 §5.1.1).
        let (scid, token) = self.registry.issueConnectionID(for: self)
        cids.addLocal(scid, token: token, announce: false)
        try installInitialKeys(dcid: initialKeysDCID ?? originalDCID)
        // Saturating: a handshake idle timeout of 2^62-1 ms (QUIC_SETTINGS allows it) is .never.
        idleDeadline = now + (configuration.handshakeIdleTimeout.isZero ? .infinite : configuration.handshakeIdleTimeout)
        counters.timingStart = now.microseconds
        var finalTLS = configuration.tls
        let ours = ourTransportParameters(resetToken: token)
        finalTLS.transportParameters = try configuration.transportParametersEncoder?(ours) ?? ours.encoded()
        if role == .server, finalTLS.enableEarlyData {
            // RFC 9000 §7.4.1, RFC 9221 §3: no 0-RTT when a remembered limit went down.
            finalTLS.earlyDataAcceptance = Self.earlyDataAcceptance(current: ours, application: configuration.tls.earlyDataAcceptance)
        }
        tls = TLSHandshake(configuration: finalTLS)
        qlog = configuration.observerFactory?.makeObserver(role: role, originalDestinationCID: originalDCID)
        if let q = qlog { observeStart(q, parameters: ours, now: now) }
        if role == .client {
            // RFC 9000 §7.4.1: 0-RTT runs under the server's remembered limits.
            if configuration.tls.enableEarlyData, let ticket = configuration.tls.resumptionTicket, ticket.maxEarlyData > 0,
               let remembered = try? TransportParameters.decode(ticket.serverTransportParameters, sender: .server) {
                streams.setPeerTransportParameters(remembered)
            }
            try startTLS(now: now)
        }
    }

    // MARK: Application API

    /// The next event, nil when none is queued.
    public func pollEvent() -> ConnectionEvent? {
        drainStreamEvents()
        guard eventIndex < events.count else {
            if eventIndex > 0 { events.removeAll(keepingCapacity: true); eventIndex = 0 }
            return nil
        }
        defer { eventIndex += 1 }
        return events[eventIndex]
    }

    func emit(_ e: ConnectionEvent) {
        events.append(e)
        if let q = qlog { observeEvent(q, e) }
    }

    /// True once nothing more will happen (after closing or draining, RFC 9000 §10.2).
    public var isClosed: Bool { state == .closed }
    /// The connection IDs the peer may use to reach us (for the `Endpoint`).
    public var localConnectionIDs: [ConnectionID] { cids.local.filter { !$0.retired }.map(\.id) }
    public var negotiatedALPN: [UInt8]? { tls.negotiatedALPN }
    public var handshake: TLSHandshake { tls }
    /// Smoothed RTT in microseconds (RFC 9002 §5.3).
    public var smoothedRTT: QuicDuration { recovery.smoothedRTT }
    /// The current 1-RTT key phase generation (RFC 9001 §6), for tests and statistics.
    public var keyUpdateGeneration: UInt64 { oneRTT?.generation ?? 0 }

    /// The application's answer to `.peerCertificateReceived`.
    public func completePeerCertificateValidation(accept: Bool, now: QuicInstant) {
        resumeTLS(now: now) { try $0.completePeerCertificateValidation(accept: accept, now: now.microseconds) }
    }

    /// Runs an application decision the TLS handshake waited for, then whatever it unblocked;
    /// a TLS alert or transport error it raises closes the connection (RFC 9001 §4.8).
    private func resumeTLS(now: QuicInstant, _ decide: (TLSHandshake) throws -> Void) {
        do {
            try decide(tls)
            try drainTLS(now: now)
        } catch let alert as TLSAlert {
            closeOnTLSAlert(alert, now: now)
        } catch let e as QuicError {
            closeWithError(e, now: now)
        } catch {
            closeWithError(QuicError(code: .internalError, reason: "\(error)"), now: now)
        }
    }

    /// Server: true while the handshake waits for the application's ticket decision (a
    /// `tls.resumptionAcceptance` that answered `.pending`).
    public var isAwaitingResumptionDecision: Bool { tls.isAwaitingResumptionDecision }

    /// Server: the application's late answer to a ticket (MsQuic's
    /// ConnectionResumptionTicketValidationComplete): accept resumes (with 0-RTT when offered
    /// and allowed), reject goes on with a full handshake without 0-RTT (RFC 8446 §4.2.11).
    /// Does nothing when no decision is pending or the connection is closing (MsQuic ignores
    /// a completion that finds no validation pending, crypto.c).
    public func completeResumptionTicketValidation(accept: Bool, now: QuicInstant) {
        guard role == .server, state == .open, tls.isAwaitingResumptionDecision else { return }
        resumeTLS(now: now) { try $0.completeResumptionValidation(accept: accept, now: now.microseconds) }
    }

    /// Server: sends a NewSessionTicket carrying `appData` (RFC 8446 §4.6.1).
    public func sendResumptionTicket(appData: [UInt8], now: QuicInstant) throws {
        guard role == .server, isHandshakeComplete, state == .open else {
            throw QuicError(code: .internalError, reason: "no ticket before the handshake completes")
        }
        try tls.sendSessionTicket(appData: appData, now: now.microseconds)
        try drainTLS(now: now)
    }

    /// Sends an unreliable DATAGRAM (RFC 9221 §5); returns its id for send-state events.
    /// Throws when the peer does not accept datagrams or the payload cannot fit a packet.
    public func sendDatagram(_ data: [UInt8]) throws -> UInt64 {
        guard state == .open, let max = peerTransportParameters?.maxDatagramFrameSize else {
            throw QuicError(code: .protocolViolation, reason: "peer does not accept DATAGRAM frames")
        }
        // RFC 9221 §3: the whole frame (type, length, payload; we always write the length)
        // stays within the peer's max_datagram_frame_size.
        let frameSize = 1 + VarInt.encodedLength(UInt64(data.count)) + data.count
        guard UInt64(frameSize) <= max, data.count <= maxDatagramPayload else {
            throw QuicError(code: .internalError, reason: "datagram too large")
        }
        let id = nextDatagramID
        nextDatagramID += 1
        datagramQueue.append((id, data))
        return id
    }

    /// Largest DATAGRAM payload that fits one packet.
    var maxDatagramPayload: Int { currentMaxDatagramSize - 1 - 20 - 4 - 16 - 3 }

    /// Sends a PING in the next packet (RFC 9000 §19.2).
    public func ping() { pingPending = true }

    /// RFC 9287: both endpoints advertised grease_quic_bit.
    public var greaseQuicBitNegotiated: Bool {
        configuration.transportParameters.greaseQuicBit && (peerTransportParameters?.greaseQuicBit ?? false)
    }

    /// The Destination Connection ID of the client's first Initial (RFC 9000 §7.3).
    public var originalDestinationConnectionID: ConnectionID { originalDestinationCID }

    /// Sends to a new connection ID of the peer from now on, retiring the one in use (RFC 9000
    /// §5.1.2; MsQuic's private QUIC_PARAM_CONN_FORCE_CID_UPDATE). False before the handshake
    /// is confirmed or when the peer gave no spare CID.
    public func switchPeerConnectionID() -> Bool {
        guard isHandshakeConfirmed, cids.switchRemote() else { return false }
        syncPeerResetTokens()
        return true
    }

    /// Forces a key update (RFC 9001 §6.1); refused until the handshake is confirmed and the
    /// peer acknowledged a packet of the current phase.
    public func initiateKeyUpdate() throws {
        guard isHandshakeConfirmed, currentPhaseAcked, let keys = oneRTT else {
            throw QuicError(code: .keyUpdateError, reason: "key update not allowed yet")
        }
        try keys.update()
        if let q = qlog { observeKeyUpdate(q, generation: keys.generation, local: true, now: observedNow) }
        packetsWithCurrentKey = 0
        bytesWithCurrentKey = 0
        firstPacketOfCurrentPhase = nil
        currentPhaseAcked = false
        peerMayUpdateKeys = false
    }
}

