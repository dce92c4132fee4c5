/// TLS alert descriptions (RFC 8446 §6, plus RFC 7301's no_application_protocol).
/// In QUIC an alert is never sent as a record: it becomes the transport error
/// CRYPTO_ERROR 0x100 + description (RFC 9001 §4.8).
public enum AlertDescription: UInt8, Sendable, Equatable {
    case closeNotify = 0
    case unexpectedMessage = 10
    case badRecordMac = 20
    case recordOverflow = 22
    case handshakeFailure = 40
    case badCertificate = 42
    case unsupportedCertificate = 43
    case certificateRevoked = 44
    case certificateExpired = 45
    case certificateUnknown = 46
    case illegalParameter = 47
    case unknownCA = 48
    case accessDenied = 49
    case decodeError = 50
    case decryptError = 51
    case protocolVersion = 70
    case insufficientSecurity = 71
    case internalError = 80
    case inappropriateFallback = 86
    case userCanceled = 90
    case missingExtension = 109
    case unsupportedExtension = 110
    case unrecognizedName = 112
    case badCertificateStatusResponse = 113
    case unknownPSKIdentity = 115
    case certificateRequired = 116
    case noApplicationProtocol = 120

    /// The QUIC transport error code carrying this alert (RFC 9001 §4.8).
    public var cryptoErrorCode: UInt64 { 0x100 + UInt64(rawValue) }
}

/// A handshake failure: the alert to send (or that the peer sent) and why.
public struct TLSAlert: Error, Equatable, Sendable {
    public var description: AlertDescription
    /// True when the peer reported the alert, false when we raised it.
    public var fromPeer: Bool
    public var reason: String
    /// For the few handshake failures where RFC 9001 names a QUIC transport error instead
    /// of an alert (PROTOCOL_VIOLATION 0x0a: CRYPTO data in 0-RTT or at a finished level
    /// §8.3/§4.1.3, a non-empty legacy_session_id §8.4, max_early_data_size other than
    /// 0xffffffff §4.6.1), that code; nil means CRYPTO_ERROR for `description`.
    public var transportErrorCode: UInt64?

    /// The error code for QUIC's CONNECTION_CLOSE: `transportErrorCode` when RFC 9001 names
    /// one, otherwise CRYPTO_ERROR 0x100 + alert (RFC 9001 §4.8).
    public var quicErrorCode: UInt64 { transportErrorCode ?? description.cryptoErrorCode }

    public init(_ description: AlertDescription, fromPeer: Bool = false, _ reason: String = "") {
        self.description = description
        self.fromPeer = fromPeer
        self.reason = reason
    }

    /// QUIC's PROTOCOL_VIOLATION (RFC 9000 §20.1), with the alert a plain TLS stack would
    /// send for the same fault kept in `description`.
    static func protocolViolation(_ description: AlertDescription, _ reason: String) -> TLSAlert {
        var alert = TLSAlert(description, reason)
        alert.transportErrorCode = 0x0a
        return alert
    }
}
