import QuicCrypto
import QuicWire

/// Settings of an `Endpoint` (one UDP socket's worth of connections).
///
/// Sendable (unchecked): a value; unchecked only because it carries a `ConnectionConfiguration`
/// (see there). A copy is built on the calling thread and then read and changed only on the
/// worker of the endpoint's socket.
public struct EndpointConfiguration: @unchecked Sendable {
    /// Length of the connection IDs this endpoint issues (RFC 9000 §5.1); 4 to 20 so that
    /// short headers can be routed.
    public var connectionIDLength = 8
    /// This endpoint's place in a group of endpoints sharing one UDP port (one per worker):
    /// the first byte of every connection ID it issues is congruent to `index` modulo `count`,
    /// which is how the group's datagram steering finds it (MsQuic encodes a partition id in its
    /// connection IDs the same way). nil: connection IDs are fully random.
    public var connectionIDPartition: (index: UInt8, count: UInt8)? = nil
    /// Accept incoming connections with this configuration (a server); nil for a client-only endpoint.
    public var server: ConnectionConfiguration?
    /// Versions accepted from clients, in preference order (RFC 9000 §6; RFC 9369).
    public var supportedVersions: [QuicVersion] = [.v1, .v2]
    /// Answer client Initials of other versions with Version Negotiation (RFC 9000 §6.1) even
    /// without a `server` configuration: for a listener that creates its connections itself.
    public var answersVersionNegotiation = false
    /// Packets with the fixed bit 0 are parsed rather than dropped: a connection of this
    /// endpoint advertised grease_quic_bit (RFC 9287 §3).
    public var allowsFixedBitZero = false
    /// Key of the stateless reset tokens (RFC 9000 §10.3.2); random when nil.
    public var statelessResetKey: [UInt8]?
    /// Send a Retry to every client Initial without a valid token (RFC 9000 §8.1.2).
    public var requireRetry = false
    /// Lifetime of Retry tokens.
    public var retryTokenLifetime: QuicDuration = .seconds(10)
    /// Lifetime of the tokens server connections send in NEW_TOKEN frames (RFC 9000 §8.1.3:
    /// tokens "SHOULD have an expiration"); zero: no NEW_TOKEN is sent.
    public var newTokenLifetime: QuicDuration = .seconds(24 * 3600)
    /// Key of the Retry and NEW_TOKEN tokens (32 bytes); random per endpoint when nil. Endpoints
    /// sharing a port (one per worker) share it, so that a client's token checks out on whichever
    /// endpoint its next connection reaches.
    public var addressTokenKey: [UInt8]?
    /// Last-resort bound on connections of this endpoint whose handshake is in progress
    /// (open, not complete; closing/draining ones are not counted). A listener admits new
    /// clients through its handshake-memory budget (Retry above it) long before this is hit.
    public var maxHandshakingConnections = 4096
    /// Stateless Resets are sent only in reply to datagrams larger than the reset (RFC 9000
    /// §10.3.3) and within the stateless-response rate limits below.
    public var sendStatelessResets = true
    /// One stateless answer (Version Negotiation, Retry, Stateless Reset) per remote address
    /// and port within this period (RFC 9000 §10.3.3 loop avoidance; MsQuic keeps one
    /// stateless operation per remote for StatelessOperationExpirationMs = 100 ms).
    public var statelessResponseInterval: QuicDuration = .milliseconds(100)
    /// At most this many remotes are remembered at once; when full, further stateless answers
    /// are refused until entries expire (MsQuic's MaxBindingStatelessOperations = 100). With
    /// `statelessResponseInterval` it bounds the stateless send rate to capacity/interval.
    public var maxStatelessResponseRemotes = 100
    /// Token bucket for Stateless Resets (RFC 9000 §10.3.3: "stop generating new Stateless
    /// Resets once a limit is reached"): burst, and refill per second.
    public var statelessResetBurst = 8
    public var statelessResetsPerSecond = 100

    public init(server: ConnectionConfiguration? = nil) {
        self.server = server
    }
}
