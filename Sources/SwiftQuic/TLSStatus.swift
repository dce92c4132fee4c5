// How a TLS handshake failure becomes what a MsQuic application sees: the QUIC transport error
// code of CONNECTION_CLOSE and the QUIC_STATUS of SHUTDOWN_INITIATED_BY_TRANSPORT, the values
// QUIC_CONNECTION_EVENT_PEER_CERTIFICATE_RECEIVED carries, and the reverse, from the
// application's certificate decision to the alert the connection closes with.
//
// The rules follow MsQuic 2.6 (core + OpenSSL TLS provider), restated in our own words:
//  - every close, local or by the peer, reports `CloseStatus = QuicErrorCodeToStatus(code)`
//    (src/core/connection.c, QuicConnTryClose); a CRYPTO_ERROR becomes QUIC_STATUS_TLS_ALERT
//    except the three alerts that have a status of their own;
//  - a TLS failure closes with CRYPTO_ERROR(0xff & alert) (src/core/crypto.c,
//    QuicCryptoProcessTlsCompletion);
//  - certificate validation results become DeferredStatus through
//    CxPlatTlsMapOpenSSLErrorToQuicStatus, with DeferredErrorFlags always 0 on OpenSSL
//    (src/platform/tls_openssl.c, CxPlatTlsCertificateVerifyCallback);
//  - ConnectionCertificateValidationComplete(FALSE, TlsAlert) closes with
//    CRYPTO_ERROR(0xff & TlsAlert) and refuses TlsAlert > QUIC_TLS_ALERT_CODE_MAX
//    (src/core/api.c, src/core/crypto.c QuicCryptoCustomCertValidationComplete).

import QuicTLS
import QuicWire

// MARK: The TLS and certificate status ranges (msquic_posix.h 2.6.0)

extension Status {
    static let errorBase: QuicStatus = 200_000_000                  // ERROR_BASE
    static let tlsErrorBase: QuicStatus = errorBase + 256           // TLS_ERROR_BASE
    static let certErrorBase: QuicStatus = errorBase + 512          // CERT_ERROR_BASE

    /// QUIC_STATUS_TLS_ALERT(Alert): the low byte of `alert` on top of TLS_ERROR_BASE. Any
    /// integer is accepted, as the macro accepts one; only its low 8 bits count.
    static func tlsAlert(_ alert: UInt64) -> QuicStatus { tlsErrorBase + QuicStatus(alert & 0xff) }

    static let closeNotify: QuicStatus = tlsErrorBase + 0               // QUIC_STATUS_CLOSE_NOTIFY
    static let badCertificate: QuicStatus = tlsErrorBase + 42           // QUIC_STATUS_BAD_CERTIFICATE
    static let unsupportedCertificate: QuicStatus = tlsErrorBase + 43   // QUIC_STATUS_UNSUPPORTED_CERTIFICATE
    static let revokedCertificate: QuicStatus = tlsErrorBase + 44       // QUIC_STATUS_REVOKED_CERTIFICATE
    static let expiredCertificate: QuicStatus = tlsErrorBase + 45       // QUIC_STATUS_EXPIRED_CERTIFICATE
    static let unknownCertificate: QuicStatus = tlsErrorBase + 46       // QUIC_STATUS_UNKNOWN_CERTIFICATE
    static let requiredCertificate: QuicStatus = tlsErrorBase + 116     // QUIC_STATUS_REQUIRED_CERTIFICATE

    static let certExpired: QuicStatus = certErrorBase + 1              // QUIC_STATUS_CERT_EXPIRED
    static let certUntrustedRoot: QuicStatus = certErrorBase + 2        // QUIC_STATUS_CERT_UNTRUSTED_ROOT
    static let certNoCert: QuicStatus = certErrorBase + 3               // QUIC_STATUS_CERT_NO_CERT

    /// QUIC_FAILED: failures are positive when read as `int`; PENDING and CONTINUE, which
    /// are negative, count as success.
    static func isFailure(_ status: QuicStatus) -> Bool { Int32(bitPattern: status) > 0 }

    /// The status a connection reports for the transport error code it closed with or the
    /// peer closed with (MsQuic's QuicErrorCodeToStatus, used for both directions):
    ///
    /// | error code                                      | QUIC_STATUS          |
    /// |-------------------------------------------------|----------------------|
    /// | NO_ERROR 0x00                                   | SUCCESS              |
    /// | CONNECTION_REFUSED 0x02                         | CONNECTION_REFUSED   |
    /// | PROTOCOL_VIOLATION 0x0a                         | PROTOCOL_ERROR       |
    /// | APPLICATION_ERROR 0x0c, CRYPTO_ERROR user_canceled 0x15a | USER_CANCELED |
    /// | CRYPTO_ERROR handshake_failure 0x128            | HANDSHAKE_FAILURE    |
    /// | CRYPTO_ERROR no_application_protocol 0x178      | ALPN_NEG_FAILURE     |
    /// | VERSION_NEGOTIATION_ERROR 0x11 (RFC 9368 §4)    | VER_NEG_ERROR        |
    /// | any other CRYPTO_ERROR 0x100-0x1ff              | TLS_ALERT(code)      |
    /// | anything else                                   | INTERNAL_ERROR       |
    static func forTransportErrorCode(_ code: UInt64) -> QuicStatus {
        let error = TransportErrorCode(code)
        switch error {
        case .noError: return success
        case .connectionRefused: return connectionRefused
        case .protocolViolation: return protocolError
        case .applicationError, .cryptoError(alert: AlertDescription.userCanceled.rawValue): return userCanceled
        case .cryptoError(alert: AlertDescription.handshakeFailure.rawValue): return handshakeFailure
        case .cryptoError(alert: AlertDescription.noApplicationProtocol.rawValue): return alpnNegFailure
        case .versionNegotiationError: return verNegError
        default:
            // RFC 9001 §4.8: CRYPTO_ERROR carries the alert in its low byte.
            if let alert = error.tlsAlert { return tlsAlert(UInt64(alert)) }
            return internalError
        }
    }
}

// MARK: A transport close as the application sees it

/// What SHUTDOWN_INITIATED_BY_TRANSPORT reports: `ErrorCode` (the transport error code sent
/// or received in CONNECTION_CLOSE 0x1c, RFC 9000 §19.19) and `Status`.
struct TransportCloseReason: Equatable {
    var errorCode: UInt64
    var status: QuicStatus

    /// A close with a transport error code, by us or by the peer: MsQuic derives the status
    /// from the code alone, so a peer's CRYPTO_ERROR 0x1xx reports exactly what the same
    /// alert raised locally reports.
    init(transportErrorCode code: UInt64) {
        errorCode = code
        status = Status.forTransportErrorCode(code)
    }

    /// The close a handshake failure causes: CRYPTO_ERROR 0x100 + alert (RFC 9001 §4.8), or
    /// PROTOCOL_VIOLATION where RFC 9001 names that code instead (§4.1.3, §4.6.1, §8.3, §8.4),
    /// whichever side raised it.
    init(_ alert: TLSAlert) {
        self.init(transportErrorCode: alert.quicErrorCode)
    }
}

extension TLSAlert {
    /// The transport error code to send in (or that came in) CONNECTION_CLOSE.
    var closeErrorCode: UInt64 { quicErrorCode }
    /// The QUIC_STATUS the connection reports for this failure.
    var closeStatus: QuicStatus { Status.forTransportErrorCode(quicErrorCode) }
}

// MARK: Certificate validation → PEER_CERTIFICATE_RECEIVED

extension CertificateValidationStatus {
    /// The QUIC_STATUS for a validation verdict. MsQuic's OpenSSL provider produces
    /// BAD_CERTIFICATE (X509_V_ERR_CERT_REJECTED), REVOKED_CERTIFICATE, CERT_EXPIRED,
    /// CERT_UNTRUSTED_ROOT and, for every other verify error, TLS_ERROR
    /// (CxPlatTlsMapOpenSSLErrorToQuicStatus); CERT_NO_CERT is what it reports when the peer
    /// sent no certificate at all. Which verify errors fall in which case is QuicTLS's
    /// `CertificateValidationStatus(verifyError:)`.
    var quicStatus: QuicStatus {
        switch self {
        case .valid: return Status.success
        case .expired: return Status.certExpired
        case .untrustedRoot: return Status.certUntrustedRoot
        case .noCertificate: return Status.certNoCert
        case .badCertificate: return Status.badCertificate
        case .revoked: return Status.revokedCertificate
        case .tlsError: return Status.tlsError
        }
    }
}

/// The two numbers QUIC_CONNECTION_EVENT.PEER_CERTIFICATE_RECEIVED carries beside the
/// certificate and chain.
struct PeerCertificateEventStatus: Equatable {
    /// Windows' CERT_TRUST_* error bits under Schannel; MsQuic's OpenSSL provider always
    /// passes 0 (tls_openssl.c hands the literal 0 to the CertificateReceived callback), and
    /// so do we.
    var deferredErrorFlags: UInt32
    /// The validation verdict as a QUIC_STATUS: SUCCESS when the chain validated or
    /// validation is switched off.
    var deferredStatus: QuicStatus

    /// The peer sent a certificate chain. MsQuic fills DeferredStatus only when it defers
    /// validation (DEFER_CERTIFICATE_VALIDATION or REQUIRE_CLIENT_AUTHENTICATION); without
    /// deferral a failed chain ends the handshake before the event, so the event only ever
    /// reports SUCCESS then. `validation.status` is `.valid` for a skipped validation
    /// (NO_CERTIFICATE_VALIDATION), which MsQuic reports as 0 as well.
    init(_ validation: PeerCertificateValidation) {
        deferredErrorFlags = 0
        deferredStatus = validation.status.quicStatus
    }

    /// The peer sent no certificate (a client answering a CertificateRequest with an empty
    /// Certificate, RFC 8446 §4.4.2.4). MsQuic still raises the event, with no certificate,
    /// and reports CERT_NO_CERT when validation is on and either deferred or client
    /// authentication is required, SUCCESS otherwise (tls_openssl.c, after the handshake).
    init(noCertificateValidating validating: Bool, deferredOrClientAuthRequired: Bool) {
        deferredErrorFlags = 0
        deferredStatus = validating && deferredOrClientAuthRequired ? Status.certNoCert : Status.success
    }
}

// MARK: The application's decision → the alert to close with

/// The application's answer to PEER_CERTIFICATE_RECEIVED, given either as the callback's
/// return value or later through ConnectionCertificateValidationComplete.
enum PeerCertificateDecision: Equatable {
    /// Continue the handshake.
    case accept
    /// QUIC_STATUS_PENDING: wait for ConnectionCertificateValidationComplete.
    case pending
    /// Close with CRYPTO_ERROR 0x100 + `alert`. A raw byte, not an AlertDescription: the app
    /// may pass any QUIC_TLS_ALERT_CODES value up to 255 and MsQuic sends it as given.
    case reject(alert: UInt8)

    /// The callback's return status. Anything QUIC_FAILED rejects; PENDING defers; every
    /// other success value (SUCCESS, CONTINUE) accepts. The alert is the one MsQuic's
    /// OpenSSL provider ends up sending: with a certificate the verify callback marks it
    /// X509_V_ERR_CERT_REJECTED, which OpenSSL reports as bad_certificate (42); without one
    /// MsQuic sets certificate_required (116) itself (tls_openssl.c). So an application that
    /// refuses a missing client certificate sees QUIC_STATUS_REQUIRED_CERTIFICATE on both ends.
    init(eventStatus status: QuicStatus, certificatePresent: Bool) {
        if Status.isFailure(status) {
            let alert: AlertDescription = certificatePresent ? .badCertificate : .certificateRequired
            self = .reject(alert: alert.rawValue)
        } else if status == Status.pending {
            self = .pending
        } else {
            self = .accept
        }
    }

    /// ConnectionCertificateValidationComplete(Result, TlsAlert). `tlsAlert` is the raw
    /// QUIC_TLS_ALERT_CODES value. Returns nil for a rejection whose alert exceeds
    /// QUIC_TLS_ALERT_CODE_MAX (255): MsQuic answers that call with INVALID_PARAMETER and
    /// leaves the connection waiting. On acceptance the alert is ignored (MsQuic documents
    /// QUIC_TLS_ALERT_CODE_SUCCESS there but does not check it).
    static func validationComplete(result: Bool, tlsAlert: UInt32) -> PeerCertificateDecision? {
        if result { return .accept }
        guard tlsAlert <= 255 else { return nil }
        return .reject(alert: UInt8(tlsAlert))
    }

    /// The alert as QuicTLS names it, nil for accept/pending or a value RFC 8446 §6 and
    /// RFC 7301 do not define (the engine then closes with the raw code itself).
    var alertDescription: AlertDescription? {
        guard case .reject(let alert) = self else { return nil }
        return AlertDescription(rawValue: alert)
    }

    /// The transport close a rejection causes: CRYPTO_ERROR 0x100 + alert (RFC 9001 §4.8)
    /// with its status; nil for accept/pending.
    var closeReason: TransportCloseReason? {
        guard case .reject(let alert) = self else { return nil }
        return TransportCloseReason(transportErrorCode: TransportErrorCode.cryptoError(alert: alert).rawValue)
    }
}
