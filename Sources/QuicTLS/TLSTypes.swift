import QuicCrypto

/// QUIC's encryption levels (RFC 9001 §2.1, §4): the packet number spaces and 0-RTT keys
/// that carry TLS handshake messages and use the secrets the handshake derives.
public enum EncryptionLevel: Int, Sendable, CaseIterable, Comparable {
    case initial = 0
    /// 0-RTT: carries no handshake messages (RFC 9001 §4.1.3), only early data keys.
    case earlyData = 1
    case handshake = 2
    /// 1-RTT.
    case application = 3

    public static func < (a: EncryptionLevel, b: EncryptionLevel) -> Bool { a.rawValue < b.rawValue }
}

/// Which end of the connection a handshake runs.
public enum TLSRole: Sendable, Equatable {
    case client
    case server
}

/// Whether a secret protects packets we receive (`read`) or send (`write`).
public enum TrafficDirection: Sendable, Equatable {
    case read
    case write
}

/// A traffic secret for one encryption level and direction (RFC 9001 §5.1): QuicCrypto
/// turns it into packet protection keys with "quic key"/"quic iv"/"quic hp".
public struct TrafficSecret: Sendable, Equatable {
    public var level: EncryptionLevel
    public var direction: TrafficDirection
    public var cipherSuite: CipherSuite
    public var secret: [UInt8]
}

/// The peer's certificate chain as received, with the result of validating it. When the
/// configuration asks for it (`indicatePeerCertificate`), the handshake reports this and
/// waits for `TLSHandshake.completePeerCertificateValidation(accept:)`.
public struct PeerCertificateInfo: Sendable, Equatable {
    /// DER certificates, leaf first. Empty when a client sent no certificate.
    public var chainDER: [[UInt8]]
    /// The validator's verdict with the parsed chain (`X509 *` leaf, `X509_STORE_CTX *`)
    /// for QUIC_CONNECTION_EVENT_PEER_CERTIFICATE_RECEIVED; nil when no certificate came.
    public var validation: PeerCertificateValidation?

    /// The alert validation would send, nil when the chain validated (or validation is off).
    public var validationError: AlertDescription? { validation?.alert }
    /// The OpenSSL X509_V_ERR_* code (0 = X509_V_OK).
    public var verifyErrorCode: Int32 { validation?.verifyError ?? 0 }

    public static func == (a: PeerCertificateInfo, b: PeerCertificateInfo) -> Bool {
        a.chainDER == b.chainDER && a.validationError == b.validationError && a.verifyErrorCode == b.verifyErrorCode
    }
}

/// What the application learns when the handshake completes.
public struct HandshakeSummary: Sendable, Equatable {
    public var alpn: [UInt8]
    public var cipherSuite: CipherSuite
    public var group: NamedGroup
    /// True when the session resumed from a ticket (PSK).
    public var resumed: Bool
    /// True when the server accepted the client's 0-RTT data.
    public var earlyDataAccepted: Bool
    /// The server_name the client sent (on the server), or the one configured (on the client).
    public var serverName: String?
    /// On a resumed server connection, the application data stored in the ticket.
    public var resumptionAppData: [UInt8]?
    /// The peer's certificate chain (DER, leaf first), empty when none was sent.
    public var peerCertificateChain: [[UInt8]]
}

/// One item the handshake hands to its user, in order.
public enum TLSOutput: Sendable, Equatable {
    /// Handshake bytes to send in CRYPTO frames at this level.
    case handshakeData(EncryptionLevel, [UInt8])
    /// A new secret to install.
    case secret(TrafficSecret)
    /// The peer's quic_transport_parameters extension body (RFC 9001 §8.2).
    case peerTransportParameters([UInt8])
    /// The peer's certificates; the handshake is paused until
    /// `completePeerCertificateValidation(accept:)` is called.
    case peerCertificateReceived(PeerCertificateInfo)
    /// The handshake is complete (client: after sending Finished; server: after receiving
    /// the client's Finished).
    case handshakeComplete(HandshakeSummary)
    /// Client only: a serialized `ClientSessionTicket` built from a NewSessionTicket,
    /// usable for QUIC_PARAM_CONN_RESUMPTION_TICKET.
    case newSessionTicket([UInt8])
}

/// Key exchange groups (RFC 8446 §4.2.7) this implementation supports.
public enum NamedGroup: UInt16, Sendable, CaseIterable {
    case secp256r1 = 0x0017
    case secp384r1 = 0x0018
    case x25519 = 0x001d
}

/// Secrets written to an SSLKEYLOGFILE (NSS key log format), one line per label.
public struct KeyLogEntry: Sendable, Equatable {
    /// CLIENT_EARLY_TRAFFIC_SECRET, CLIENT_HANDSHAKE_TRAFFIC_SECRET, SERVER_HANDSHAKE_TRAFFIC_SECRET,
    /// CLIENT_TRAFFIC_SECRET_0, SERVER_TRAFFIC_SECRET_0, EXPORTER_SECRET, EARLY_EXPORTER_SECRET.
    public var label: String
    public var clientRandom: [UInt8]
    public var secret: [UInt8]

    /// "LABEL <client random hex> <secret hex>"
    public var line: String {
        label + " " + KeyLogEntry.hex(clientRandom) + " " + KeyLogEntry.hex(secret)
    }

    static func hex(_ b: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(b.count * 2)
        for x in b { out.append(digits[Int(x >> 4)]); out.append(digits[Int(x & 0xf)]) }
        return String(decoding: out, as: UTF8.self)
    }
}
