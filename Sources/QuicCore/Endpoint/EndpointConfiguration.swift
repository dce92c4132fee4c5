import QuicCrypto
import QuicWire

/// Settings of an `Endpoint` (one UDP socket's worth of connections).
public struct EndpointConfiguration: @unchecked Sendable {
    /// Length of the connection IDs this endpoint issues (RFC 9000 §5.1); 4 to 20 so that
    /// short headers can be routed.
    public var connectionIDLength = 8
    /// Accept incoming connections with this configuration (a server); nil for a client-only endpoint.
    public var server: ConnectionConfiguration?
    /// Versions accepted from clients, in preference order (RFC 9000 §6; RFC 9369).
    public var supportedVersions: [QuicVersion] = [.v1, .v2]
    /// Answer client Initials of other versions with Version Negotiation (RFC 9000 §6.1) even
    /// without a `server` configuration: for a listener that creates its connections itself.
    public var answersVersionNegotiation = false
    /// Key of the stateless reset tokens (RFC 9000 §10.3.2); random when nil.
    public var statelessResetKey: [UInt8]?
    /// Send a Retry to every client Initial without a valid token (RFC 9000 §8.1.2).
    public var requireRetry = false
    /// Lifetime of Retry tokens, µs.
    public var retryTokenLifetime: UInt64 = 10_000_000
    /// Last-resort bound on connections of this endpoint whose handshake is in progress
    /// (open, not complete; closing/draining ones are not counted). A listener admits new
    /// clients through its handshake-memory budget (Retry above it) long before this is hit.
    public var maxHandshakingConnections = 4096
    /// Stateless Resets are sent only in reply to datagrams larger than the reset (RFC 9000
    /// §10.3.3) and within the stateless-response rate limits below.
    public var sendStatelessResets = true
    /// One stateless answer (Version Negotiation, Retry, Stateless Reset) per remote address
    /// and port within this period, µs (RFC 9000 §10.3.3 loop avoidance; MsQuic keeps one
    /// stateless operation per remote for StatelessOperationExpirationMs = 100 ms).
    public var statelessResponseInterval: UInt64 = 100_000
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
