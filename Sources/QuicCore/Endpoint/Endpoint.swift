import QuicCrypto
import QuicWire

/// What `Endpoint.handle` produced besides routing the datagram.
public enum EndpointEvent {
    /// A client Initial created a server connection (already fed with the datagram).
    case newConnection(Connection)
}

/// Routes datagrams to connections by Destination Connection ID (RFC 9000 §5.2), accepts
/// new connections from client Initials, and answers what no connection can: Version
/// Negotiation (§6), Retry (§8.1.2) and Stateless Reset (§10.3). Sans-IO like `Connection`.
public final class Endpoint: ConnectionIDRegistry {
    public var configuration: EndpointConfiguration
    private(set) var resetTokens: StatelessResetTokenGenerator
    let retryKey: StatelessResetTokenGenerator
    /// CID -> connection, for every CID a connection issued.
    var routes: [ConnectionID: Connection] = [:]
    /// The client-chosen DCID of a server connection's first Initial, until it is closed.
    var initialRoutes: [ConnectionID: Connection] = [:]
    var initialRouteOf: [ObjectIdentifier: ConnectionID] = [:]
    var connections: [ObjectIdentifier: Connection] = [:]
    /// The peers' stateless reset tokens -> connection (RFC 9000 §10.3.1).
    var resetTokenRoutes: [StatelessResetToken: Connection] = [:]
    /// Stateless packets waiting for `pollTransmit`.
    var transmits: [(SocketAddress, [UInt8])] = []
    let maxQueuedTransmits = 64
    /// Limits on stateless answers (RFC 9000 §10.3.3), see `StatelessLimiter`.
    var statelessLimiter: StatelessLimiter

    public init(configuration: EndpointConfiguration) {
        self.configuration = configuration
        let key = configuration.statelessResetKey ?? randomBytes(32)
        resetTokens = StatelessResetTokenGenerator(staticKey: key.isEmpty ? randomBytes(32) : key)
            ?? StatelessResetTokenGenerator(staticKey: [1])!
        let tokenKey = configuration.addressTokenKey ?? randomBytes(32)
        retryKey = StatelessResetTokenGenerator(staticKey: tokenKey.isEmpty ? randomBytes(32) : tokenKey)
            ?? StatelessResetTokenGenerator(staticKey: [2])!
        statelessLimiter = StatelessLimiter(resetBurst: configuration.statelessResetBurst)
    }

    /// A new stateless reset key (MsQuic's QUIC_PARAM_GLOBAL_STATELESS_RESET_KEY applies to
    /// running listeners): tokens for connection IDs issued from now on, and the Stateless Resets
    /// sent from now on, use it (RFC 9000 §10.3.2); tokens already given to peers keep working
    /// only while their connection lives here.
    public func setStatelessResetKey(_ key: [UInt8]) {
        guard !key.isEmpty, let generator = StatelessResetTokenGenerator(staticKey: key) else { return }
        resetTokens = generator
    }

    /// Whether a stateless packet may go to `remote` now (RFC 9000 §10.3.3), recording it.
    func mayAnswerStatelessly(_ remote: SocketAddress, now: QuicInstant) -> Bool {
        statelessLimiter.allow(remote, now: now, interval: configuration.statelessResponseInterval,
                               capacity: configuration.maxStatelessResponseRemotes)
    }

    /// Live connections.
    public var allConnections: [Connection] { Array(connections.values) }

    /// Starts a client connection to `remote`.
    public func connect(configuration: ConnectionConfiguration, to remote: SocketAddress, now: QuicInstant) throws -> Connection {
        var c = configuration
        c.localConnectionIDLength = self.configuration.connectionIDLength
        let conn = try Connection(client: c, remote: remote, now: now, registry: self)
        connections[ObjectIdentifier(conn)] = conn
        return conn
    }

    // MARK: ConnectionIDRegistry

    public func issueConnectionID(for connection: Connection) -> (ConnectionID, StatelessResetToken) {
        var id = newConnectionID()
        while routes[id] != nil { id = newConnectionID() }
        routes[id] = connection
        return (id, resetTokens.token(for: id) ?? StatelessResetToken(randomBytes(16)))
    }

    /// A random connection ID of the configured length whose first byte names this endpoint's
    /// partition (RFC 9000 §5.1: the rest stays unpredictable).
    func newConnectionID() -> ConnectionID {
        var bytes = randomBytes(max(0, min(configuration.connectionIDLength, ConnectionID.maxLength)))
        if let p = configuration.connectionIDPartition, p.count > 1, !bytes.isEmpty {
            // byte0 = index + count * k for a random k that keeps it below 256.
            let slots = (255 - Int(p.index)) / Int(p.count) + 1
            bytes[0] = UInt8(Int(p.index) + Int(p.count) * (Int(bytes[0]) % slots))
        }
        return ConnectionID(bytes) ?? ConnectionID()
    }

    public func retireConnectionID(_ id: ConnectionID) {
        routes[id] = nil
    }

    public func peerResetTokensChanged(for connection: Connection, added: [StatelessResetToken],
                                       removed: [StatelessResetToken]) {
        for t in removed where resetTokenRoutes[t] === connection { resetTokenRoutes[t] = nil }
        for t in added { resetTokenRoutes[t] = connection }
    }

    // MARK: Datagrams

    /// Processes a datagram received from `remote`. The buffer is decrypted in place.
    @discardableResult
    public func handle(datagram: UnsafeMutableRawBufferPointer, from remote: SocketAddress, now: QuicInstant,
                       ecn: ECNCodepoint = .notECT) -> EndpointEvent? {
        let bytes = UnsafeRawBufferPointer(datagram)
        guard let header = try? PacketHeader.parse(bytes, shortHeaderDCIDLength: configuration.connectionIDLength,
                                                   allowFixedBitZero: configuration.allowsFixedBitZero) else {
            return nil  // RFC 9000 §5.2: unparseable datagrams are dropped.
        }
        if let conn = routes[header.dcid] ?? (header.isLongHeader ? initialRoutes[header.dcid] : nil), !conn.isClosed {
            conn.handle(datagram: datagram, from: remote, now: now, ecn: ecn)
            if conn.isClosed { forget(conn) }
            return nil
        }
        if !header.isLongHeader {
            handleUnroutableShortHeader(bytes, header: header, remote: remote, now: now)
            return nil
        }
        // RFC 9000 §6.1: a server answers a version it does not accept with Version
        // Negotiation, only for datagrams that could carry a client's first Initial (§14.1).
        let accepting = configuration.server != nil || configuration.answersVersionNegotiation
        if accepting, header.kind == .unsupportedVersion
            || header.kind == .initial && !configuration.supportedVersions.contains(header.version) {
            if datagram.count >= 1200, mayAnswerStatelessly(remote, now: now) {
                sendVersionNegotiation(header, bytes, to: remote)
            }
            return nil
        }
        guard let serverConfig = configuration.server else { return nil }
        switch header.kind {
        case .initial:
            return acceptInitial(header, datagram: datagram, from: remote, config: serverConfig, now: now, ecn: ecn)
        default:
            return nil  // 0-RTT, Handshake, Retry, VN for no connection: dropped.
        }
    }

    /// `handle` for an array (copied).
    @discardableResult
    public func handle(datagram: [UInt8], from remote: SocketAddress, now: QuicInstant,
                       ecn: ECNCodepoint = .notECT) -> EndpointEvent? {
        var copy = datagram
        return copy.withUnsafeMutableBytes { handle(datagram: $0, from: remote, now: now, ecn: ecn) }
    }

    /// The next stateless packet (Version Negotiation, Retry, Stateless Reset) to send.
    public func pollTransmit() -> (destination: SocketAddress, datagram: [UInt8])? {
        transmits.isEmpty ? nil : transmits.removeFirst()
    }

    func queue(_ datagram: [UInt8], to remote: SocketAddress) {
        if transmits.count < maxQueuedTransmits { transmits.append((remote, datagram)) }
    }

    /// Forgets connections that closed (after timers or API calls closed them); call after
    /// `handleTimeout` (a closed connection's CIDs already stopped routing to it).
    public func removeClosedConnections() {
        for conn in connections.values where conn.isClosed { forget(conn) }
    }

    func forget(_ conn: Connection) {
        connections[ObjectIdentifier(conn)] = nil
        for id in conn.cids.local.map(\.id) where routes[id] === conn { routes[id] = nil }
        for t in conn.announcedResetTokens where resetTokenRoutes[t] === conn { resetTokenRoutes[t] = nil }
        if let id = initialRouteOf.removeValue(forKey: ObjectIdentifier(conn)), initialRoutes[id] === conn {
            initialRoutes[id] = nil
        }
    }

    // MARK: Server side

    func acceptInitial(_ header: PacketHeader, datagram: UnsafeMutableRawBufferPointer, from remote: SocketAddress,
                       config: ConnectionConfiguration, now: QuicInstant, ecn: ECNCodepoint = .notECT) -> EndpointEvent? {
        // RFC 9000 §14.1: a client's first Initial comes in a datagram of at least 1200 bytes;
        // §7.2: its DCID is at least 8 bytes.
        guard datagram.count >= 1200, header.dcid.length >= 8 else { return nil }
        let bytes = UnsafeRawBufferPointer(datagram)
        var originalDCID = header.dcid
        var retrySCID: ConnectionID?
        var validated = false
        if !header.tokenRange.isEmpty {
            let token = Array(bytes[header.tokenRange])
            if let odcid = validateRetryToken(token, retrySCID: header.dcid, remote: remote, now: now) {
                originalDCID = odcid
                retrySCID = header.dcid
                validated = true
            } else if token.first == RetryToken.tag {
                // RFC 9000 §8.1.3: an invalid Retry token; dropping the packet is allowed.
                return nil
            } else if validateNewToken(token, remote: remote, now: now) {
                // RFC 9000 §8.1.3: a NEW_TOKEN token of ours for this address validates it
                // (no Retry, no amplification limit, §8.1). An invalid one is ignored.
                validated = true
            }
        }
        if configuration.requireRetry && !validated {
            if mayAnswerStatelessly(remote, now: now) { sendRetry(header, bytes, to: remote, now: now) }
            return nil
        }
        // Last-resort bound on state for unauthenticated peers (the runtime's handshake-memory
        // budget answers with Retry long before): connections still handshaking, not those
        // already closing or draining, which hold no handshake state worth protecting.
        if handshakingConnectionCount >= configuration.maxHandshakingConnections { return nil }

        var c = config
        c.localConnectionIDLength = configuration.connectionIDLength
        // What the server's version_information lists (RFC 9368 §3): the versions this endpoint accepts.
        c.versions = configuration.supportedVersions
        guard let conn = try? Connection(server: c, remote: remote, version: header.version, originalDCID: originalDCID,
                                         clientSCID: header.scid, currentDCID: header.dcid, retrySCID: retrySCID,
                                         registry: self, addressValidated: validated, now: now) else { return nil }
        connections[ObjectIdentifier(conn)] = conn
        initialRoutes[header.dcid] = conn
        initialRouteOf[ObjectIdentifier(conn)] = header.dcid
        conn.handle(datagram: datagram, from: remote, now: now, ecn: ecn)
        return .newConnection(conn)
    }

    /// Whether a connection of this endpoint owns `id`: one it issued, or the DCID of a
    /// client's first Initial that created a connection.
    public func routesConnectionID(_ id: ConnectionID) -> Bool {
        routes[id] != nil || initialRoutes[id] != nil
    }

    /// Server connections whose handshake is in progress: open (not closing, draining or
    /// closed) and not complete.
    public var handshakingConnectionCount: Int {
        var n = 0
        for c in connections.values where c.role == .server && !c.isHandshakeComplete && c.state == .open { n += 1 }
        return n
    }

    /// What a client Initial's Token field carries (RFC 9000 §8.1), for a listener deciding
    /// on admission before it creates anything.
    public enum InitialToken: Equatable {
        /// No token, or one we did not issue as a Retry token (e.g. a NEW_TOKEN one of another
        /// server instance): the address is not validated.
        case absent
        /// A Retry token of ours, for this client address, unexpired, with the Retry SCID the
        /// client now uses as DCID: the address is validated (RFC 9000 §8.1.2).
        case validRetry
        /// Claims to be our Retry token but does not check out (RFC 9000 §8.1.3: drop).
        case invalidRetry
        /// A token of ours from a NEW_TOKEN frame, for this client's IP address, unexpired: the
        /// address is validated (RFC 9000 §8.1.3). (Other tokens are `absent`: ignored.)
        case validNewToken

        /// Whether the token proves the client's address (RFC 9000 §8.1).
        public var validatesAddress: Bool { self == .validRetry || self == .validNewToken }
    }

    public func initialToken(_ header: PacketHeader, in datagram: UnsafeRawBufferPointer, from remote: SocketAddress,
                             now: QuicInstant) -> InitialToken {
        guard !header.tokenRange.isEmpty else { return .absent }
        let token = Array(datagram[header.tokenRange])
        if validateRetryToken(token, retrySCID: header.dcid, remote: remote, now: now) != nil { return .validRetry }
        if token.first == RetryToken.tag { return .invalidRetry }
        return validateNewToken(token, remote: remote, now: now) ? .validNewToken : .absent
    }

    /// Whether a stateless answer (e.g. a Retry) could go to `remote` now, without using the
    /// allowance: lets a listener skip work on datagrams it could not answer anyway.
    public func couldAnswerStatelessly(_ remote: SocketAddress, now: QuicInstant) -> Bool {
        statelessLimiter.wouldAllow(remote, now: now, interval: configuration.statelessResponseInterval,
                                    capacity: configuration.maxStatelessResponseRemotes)
    }

    /// Answers a client Initial with a Retry (RFC 9000 §8.1.2), within the stateless-answer
    /// limits; nothing is kept. Returns whether a Retry was queued.
    @discardableResult
    public func answerWithRetry(_ header: PacketHeader, datagram: UnsafeRawBufferPointer, from remote: SocketAddress,
                                now: QuicInstant) -> Bool {
        guard header.kind == .initial, datagram.count >= 1200, mayAnswerStatelessly(remote, now: now) else { return false }
        let before = transmits.count
        sendRetry(header, datagram, to: remote, now: now)
        return transmits.count > before
    }

    /// RFC 9000 §6.1, §17.2.1: list our versions, echo the client's CIDs swapped.
    func sendVersionNegotiation(_ header: PacketHeader, _ bytes: UnsafeRawBufferPointer, to remote: SocketAddress) {
        var out = [UInt8](repeating: 0, count: 1 + 4 + 1 + 255 + 1 + 255 + 4 * (configuration.supportedVersions.count + 1))
        // A reserved version too, to exercise the client's handling (RFC 9000 §6.3).
        let versions = configuration.supportedVersions + [QuicVersion(0x1a2a_3a4a)]
        let size: Int? = out.withUnsafeMutableBytes { raw in
            var w = WireWriter(raw)
            do {
                try PacketHeaderWriter.writeVersionNegotiation(
                    into: &w, dcid: header.scidBytes(in: bytes), scid: header.dcidBytes(in: bytes),
                    supportedVersions: versions, unusedBits: UInt8.random(in: 0...0x7f))
                return w.position
            } catch { return nil }
        }
        if let size { queue(Array(out[0..<size]), to: remote) }
    }

    // MARK: Short headers nobody owns

    func handleUnroutableShortHeader(_ bytes: UnsafeRawBufferPointer, header: PacketHeader, remote: SocketAddress, now: QuicInstant) {
        // RFC 9000 §10.3.1: maybe a Stateless Reset for one of our connections.
        // One hash lookup, then the constant-time comparison of the connection's tokens.
        if let token = StatelessReset.candidateToken(in: bytes), let conn = resetTokenRoutes[token],
           conn.matchesStatelessResetToken(token) {
            conn.onStatelessReset(now: now)
            if conn.isClosed { forget(conn) }
            return
        }
        // RFC 9000 §10.3: answer with a Stateless Reset, smaller than what we received so
        // two endpoints cannot loop (§10.3.3), and never below the 21-byte minimum.
        guard configuration.sendStatelessResets, bytes.count > 21 + 1 else { return }
        // RFC 9000 §10.3.3: a bounded number of resets, one per remote per interval.
        guard mayAnswerStatelessly(remote, now: now),
              statelessLimiter.takeResetToken(now: now, burst: configuration.statelessResetBurst,
                                              perSecond: configuration.statelessResetsPerSecond),
              let token = resetTokens.token(for: header.dcid) else { return }
        let size = min(bytes.count - 1, 43)
        let unpredictable = randomBytes(size - 16)
        var out = [UInt8](repeating: 0, count: size)
        let ok = out.withUnsafeMutableBytes { raw in
            unpredictable.withUnsafeBytes { u in
                var w = WireWriter(raw)
                return (try? StatelessReset.write(token: token, unpredictableBytes: u, into: &w)) != nil
            }
        }
        if ok { queue(out, to: remote) }
    }
}
