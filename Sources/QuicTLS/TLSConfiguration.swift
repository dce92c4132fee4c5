import QuicCrypto

/// Seals and opens the server's session-ticket state (RFC 8446 §4.6.1 leaves the ticket
/// format to the server). The tlscert helper's `TicketKeyRing` is the implementation used
/// in practice: the newest key seals, every configured key opens.
public protocol SessionTicketSealer: AnyObject, Sendable {
    func seal(_ plaintext: [UInt8]) throws -> [UInt8]
    /// nil when no key opens the ticket (tampered, foreign or expired key).
    func open(_ ticket: [UInt8]) -> [UInt8]?
}

/// Everything one handshake needs to know, for either role.
///
/// Sendable (unchecked): a value whose members are Sendable (values, immutable credential and
/// validator classes, a Sendable ticket sealer, a @Sendable `earlyDataAcceptance`) except
/// `resumptionAcceptance`, which the API layer sets to a closure over one connection and which
/// the handshake calls only on that connection's worker.
public struct TLSConfiguration: @unchecked Sendable {
    public var role: TLSRole

    /// ALPN protocols (RFC 7301), mandatory in QUIC (RFC 9001 §8.1). A client offers them in
    /// this order; a server picks the first of ITS list that the client offered.
    public var alpnProtocols: [[UInt8]]

    /// Client: the server_name sent (RFC 6066 §3) and checked against the certificate.
    /// Not sent when nil or an IP address literal (RFC 6066 §3).
    public var serverName: String?

    /// The chain and key we present: always for a server, for a client only when asked.
    public var credential: TLSCredential?

    /// Allowed cipher suites, in preference order (the server's order wins).
    public var cipherSuites: [CipherSuite] = [.aes128GcmSha256, .aes256GcmSha384, .chacha20Poly1305Sha256]

    /// Allowed key exchange groups, in preference order. A client sends a key share for the
    /// first one; a server asks for another with HelloRetryRequest when needed.
    public var groups: [NamedGroup] = [.x25519, .secp256r1, .secp384r1]

    /// Signature schemes we accept from the peer for CertificateVerify, in preference order.
    /// Sent in signature_algorithms; the PKCS#1 v1.5 ones only ever cover certificate
    /// signatures (RFC 8446 §4.2.3).
    public var signatureSchemes: [SignatureScheme] = SignatureScheme.advertised

    /// Our quic_transport_parameters extension body (RFC 9001 §8.2), encoded by QuicWire.
    public var transportParameters: [UInt8] = []
    /// RFC 9001 §8.2 makes quic_transport_parameters mandatory (missing_extension otherwise).
    /// Only tests against plain TLS 1.3 peers (OpenSSL s_client/s_server over TCP) turn this
    /// off: a missing extension is then accepted, and a server sends its own only when the
    /// client sent one (RFC 8446 §4.2: no unsolicited extensions in responses).
    public var requirePeerTransportParameters = true

    // MARK: Peer certificate validation

    /// Do not validate the peer's chain (QUIC_CREDENTIAL_FLAG_NO_CERTIFICATE_VALIDATION).
    /// The CertificateVerify signature is still checked against the leaf's key.
    public var skipCertificateValidation = false
    /// PEM file of trusted CAs; nil uses the system trust store.
    public var trustedCAFile: String?
    /// A validator built once for the configuration (tlscert's CertificateValidator); when
    /// nil one is built per handshake from `trustedCAFile`, `serverName` and the role.
    public var certificateValidator: CertificateValidator?
    /// Report validation failures to the application (in `.peerCertificateReceived`)
    /// instead of failing the handshake (QUIC_CREDENTIAL_FLAG_DEFER_CERTIFICATE_VALIDATION).
    public var deferCertificateValidation = false
    /// Emit `.peerCertificateReceived` and wait for `completePeerCertificateValidation`
    /// (QUIC_CREDENTIAL_FLAG_INDICATE_CERTIFICATE_RECEIVED).
    public var indicatePeerCertificate = false

    // MARK: Client authentication (server side)

    /// Send a CertificateRequest (RFC 8446 §4.3.2).
    public var requestClientCertificate = false
    /// Fail with certificate_required when the client sends no certificate (RFC 8446 §4.4.2.4).
    public var requireClientCertificate = false

    // MARK: Resumption and 0-RTT

    /// Client: the ticket to resume with (from a previous `.newSessionTicket`).
    public var resumptionTicket: ClientSessionTicket?
    /// Client: send early_data when the ticket allows it. Server: accept 0-RTT.
    public var enableEarlyData = false
    /// Server: seals tickets; resumption is off when nil.
    public var ticketSealer: (any SessionTicketSealer)?
    /// Server: the transport parameters a ticket remembers for judging 0-RTT later
    /// (RFC 9000 §7.4.1); nil stores `transportParameters` whole.
    public var ticketTransportParameters: [UInt8]?
    /// Server: ticket_lifetime in seconds (RFC 8446 §4.6.1 caps it at 7 days).
    public var ticketLifetime: UInt32 = 86_400
    /// Server: accepted gap, in milliseconds, between the client's and our view of a
    /// ticket's age before 0-RTT is refused (RFC 8446 §8.3).
    public var maxTicketAgeSkewMs: UInt64 = 10_000
    /// Server: final say over 0-RTT for a valid ticket, given the ticket's application data
    /// and the transport parameters we had when we issued it (RFC 9001 §4.6.1, §7.4.1).
    public var earlyDataAcceptance: (@Sendable (_ appData: [UInt8], _ ticketTransportParameters: [UInt8]) -> Bool)?
    /// Server: the application's say over resumption (MsQuic's QUIC_CONNECTION_EVENT_RESUMED),
    /// asked once per handshake, with the ticket's application data, after the ticket opened,
    /// passed its checks and its binder verified. `.reject` ignores the PSK: the handshake
    /// goes on as a full one (certificate, no 0-RTT), as RFC 8446 §4.2.11 allows a server to
    /// decline every offered PSK. `.pending` pauses the handshake until
    /// `TLSHandshake.completeResumptionValidation(accept:now:)`. nil accepts.
    public var resumptionAcceptance: ((_ appData: [UInt8]) -> ResumptionDecision)?

    public init(role: TLSRole, alpnProtocols: [[UInt8]], serverName: String? = nil,
                credential: TLSCredential? = nil, transportParameters: [UInt8] = []) {
        self.role = role
        self.alpnProtocols = alpnProtocols
        self.serverName = serverName
        self.credential = credential
        self.transportParameters = transportParameters
    }
}

/// The configuration's ticket key ring seals the server's tickets.
extension TicketKeyRing: SessionTicketSealer {}
