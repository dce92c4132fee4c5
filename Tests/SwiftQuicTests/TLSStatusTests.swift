// TLS alerts, certificate verdicts and certificate decisions against the values of
// include/msquic_posix.h / msquic.h as Swift imports them from CMsQuic.

import CMsQuic
import Foundation
import QuicTLS
import XCTest
@testable import SwiftQuic

final class TLSStatusTests: XCTestCase {
    /// Every AlertDescription case (RFC 8446 §6 and RFC 7301 §3.2), by value.
    /// `testAlertListIsComplete` proves no case is missing.
    static let allAlerts: [UInt8] = [0, 10, 20, 22, 40, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51,
                                     70, 71, 80, 86, 90, 109, 110, 112, 113, 115, 116, 120]

    func testAlertListIsComplete() {
        let defined = (0...255).filter { AlertDescription(rawValue: UInt8($0)) != nil }.map(UInt8.init)
        XCTAssertEqual(defined, Self.allAlerts)
    }

    // MARK: Status values against the header

    func testRangeBasesMatchHeader() {
        XCTAssertEqual(Status.errorBase, QuicStatus(ERROR_BASE))
        XCTAssertEqual(Status.tlsErrorBase, QuicStatus(TLS_ERROR_BASE))
        XCTAssertEqual(Status.certErrorBase, QuicStatus(CERT_ERROR_BASE))
    }

    func testNamedTLSAndCertificateStatusesMatchHeader() {
        XCTAssertEqual(Status.closeNotify, QuicStatus(QUIC_STATUS_CLOSE_NOTIFY))
        XCTAssertEqual(Status.badCertificate, QuicStatus(QUIC_STATUS_BAD_CERTIFICATE))
        XCTAssertEqual(Status.unsupportedCertificate, QuicStatus(QUIC_STATUS_UNSUPPORTED_CERTIFICATE))
        XCTAssertEqual(Status.revokedCertificate, QuicStatus(QUIC_STATUS_REVOKED_CERTIFICATE))
        XCTAssertEqual(Status.expiredCertificate, QuicStatus(QUIC_STATUS_EXPIRED_CERTIFICATE))
        XCTAssertEqual(Status.unknownCertificate, QuicStatus(QUIC_STATUS_UNKNOWN_CERTIFICATE))
        XCTAssertEqual(Status.requiredCertificate, QuicStatus(QUIC_STATUS_REQUIRED_CERTIFICATE))
        XCTAssertEqual(Status.certExpired, QuicStatus(QUIC_STATUS_CERT_EXPIRED))
        XCTAssertEqual(Status.certUntrustedRoot, QuicStatus(QUIC_STATUS_CERT_UNTRUSTED_ROOT))
        XCTAssertEqual(Status.certNoCert, QuicStatus(QUIC_STATUS_CERT_NO_CERT))
        XCTAssertEqual(Status.tlsError, QuicStatus(QUIC_STATUS_TLS_ERROR))
        XCTAssertEqual(Status.handshakeFailure, QuicStatus(QUIC_STATUS_HANDSHAKE_FAILURE))
        XCTAssertEqual(Status.userCanceled, QuicStatus(QUIC_STATUS_USER_CANCELED))
        XCTAssertEqual(Status.alpnNegFailure, QuicStatus(QUIC_STATUS_ALPN_NEG_FAILURE))
        XCTAssertEqual(Status.protocolError, QuicStatus(QUIC_STATUS_PROTOCOL_ERROR))
        XCTAssertEqual(Status.internalError, QuicStatus(QUIC_STATUS_INTERNAL_ERROR))
        XCTAssertEqual(Status.connectionRefused, QuicStatus(QUIC_STATUS_CONNECTION_REFUSED))
        XCTAssertEqual(Status.verNegError, QuicStatus(QUIC_STATUS_VER_NEG_ERROR))
    }

    /// QUIC_STATUS_TLS_ALERT(Alert) is a function-like macro Swift cannot import; the header
    /// defines it as ((QUIC_STATUS)(0xff & (Alert)) + TLS_ERROR_BASE), computed here from the
    /// imported TLS_ERROR_BASE.
    func testTLSAlertMacro() {
        for alert in 0...UInt64(255) {
            XCTAssertEqual(Status.tlsAlert(alert), QuicStatus(TLS_ERROR_BASE) + QuicStatus(alert))
        }
        XCTAssertEqual(Status.tlsAlert(0x178), QuicStatus(TLS_ERROR_BASE) + 0x78, "only the low byte counts")
        XCTAssertEqual(Status.tlsAlert(42), QuicStatus(QUIC_STATUS_BAD_CERTIFICATE))
    }

    // MARK: TLSAlert → error code and status

    /// The status MsQuic reports for a CRYPTO_ERROR carrying `alert`.
    static func expectedStatus(forAlert alert: UInt8) -> QuicStatus {
        switch alert {
        case 40: return QuicStatus(QUIC_STATUS_HANDSHAKE_FAILURE)
        case 90: return QuicStatus(QUIC_STATUS_USER_CANCELED)
        case 120: return QuicStatus(QUIC_STATUS_ALPN_NEG_FAILURE)
        default: return QuicStatus(TLS_ERROR_BASE) + QuicStatus(alert)
        }
    }

    func testEveryAlertMapsToCryptoErrorAndStatus() throws {
        for raw in Self.allAlerts {
            let description = try XCTUnwrap(AlertDescription(rawValue: raw))
            for fromPeer in [false, true] {
                let alert = TLSAlert(description, fromPeer: fromPeer, "test")
                XCTAssertEqual(alert.closeErrorCode, 0x100 + UInt64(raw), "alert \(raw)")
                XCTAssertEqual(alert.closeStatus, Self.expectedStatus(forAlert: raw), "alert \(raw)")
                let reason = TransportCloseReason(alert)
                XCTAssertEqual(reason, TransportCloseReason(transportErrorCode: 0x100 + UInt64(raw)))
                XCTAssertEqual(reason.errorCode, alert.closeErrorCode)
                XCTAssertEqual(reason.status, alert.closeStatus)
            }
        }
    }

    func testAlertsWithNamedHeaderStatuses() {
        let named: [(AlertDescription, UInt32)] = [
            (.closeNotify, UInt32(QUIC_STATUS_CLOSE_NOTIFY)),
            (.handshakeFailure, UInt32(QUIC_STATUS_HANDSHAKE_FAILURE)),
            (.badCertificate, UInt32(QUIC_STATUS_BAD_CERTIFICATE)),
            (.unsupportedCertificate, UInt32(QUIC_STATUS_UNSUPPORTED_CERTIFICATE)),
            (.certificateRevoked, UInt32(QUIC_STATUS_REVOKED_CERTIFICATE)),
            (.certificateExpired, UInt32(QUIC_STATUS_EXPIRED_CERTIFICATE)),
            (.certificateUnknown, UInt32(QUIC_STATUS_UNKNOWN_CERTIFICATE)),
            (.userCanceled, UInt32(QUIC_STATUS_USER_CANCELED)),
            (.certificateRequired, UInt32(QUIC_STATUS_REQUIRED_CERTIFICATE)),
            (.noApplicationProtocol, UInt32(QUIC_STATUS_ALPN_NEG_FAILURE)),
        ]
        for (description, status) in named {
            XCTAssertEqual(TLSAlert(description).closeStatus, status, "\(description)")
        }
        // ALPN mismatch: CRYPTO_ERROR 0x178 (issue 4 item 1).
        XCTAssertEqual(TLSAlert(.noApplicationProtocol).closeErrorCode, 0x178)
    }

    /// RFC 9001 names PROTOCOL_VIOLATION for CRYPTO frames in 0-RTT (§8.3), new data at a
    /// finished level (§4.1.3), a non-empty legacy_session_id (§8.4) and a wrong
    /// max_early_data_size (§4.6.1); QuicTLS marks those with `transportErrorCode = 0x0a`
    /// whatever alert it keeps in `description`.
    func testProtocolViolationAlerts() throws {
        for raw in Self.allAlerts {
            var alert = TLSAlert(try XCTUnwrap(AlertDescription(rawValue: raw)))
            alert.transportErrorCode = 0x0a
            XCTAssertEqual(alert.closeErrorCode, 0x0a)
            XCTAssertEqual(alert.closeStatus, QuicStatus(QUIC_STATUS_PROTOCOL_ERROR))
            XCTAssertEqual(TransportCloseReason(alert),
                           TransportCloseReason(transportErrorCode: 0x0a))
        }
    }

    // MARK: Transport error code → status (QuicErrorCodeToStatus)

    func testTransportErrorCodesToStatus() {
        let table: [(UInt64, UInt32)] = [
            (0x00, UInt32(QUIC_STATUS_SUCCESS)),
            (0x02, UInt32(QUIC_STATUS_CONNECTION_REFUSED)),
            (0x0a, UInt32(QUIC_STATUS_PROTOCOL_ERROR)),
            (0x0c, UInt32(QUIC_STATUS_USER_CANCELED)),
            (0x11, UInt32(QUIC_STATUS_VER_NEG_ERROR)),
            (0x128, UInt32(QUIC_STATUS_HANDSHAKE_FAILURE)),
            (0x15a, UInt32(QUIC_STATUS_USER_CANCELED)),
            (0x178, UInt32(QUIC_STATUS_ALPN_NEG_FAILURE)),
        ]
        for (code, status) in table {
            XCTAssertEqual(Status.forTransportErrorCode(code), status, "code 0x\(String(code, radix: 16))")
        }
        // Every other transport error code is INTERNAL_ERROR.
        for code: UInt64 in [0x01, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0b, 0x0d, 0x0e, 0x0f, 0x10,
                             0x12, 0xff, 0x200, 0x2ff, 0x1_0000, (1 << 62) - 1] {
            XCTAssertEqual(Status.forTransportErrorCode(code), UInt32(QUIC_STATUS_INTERNAL_ERROR),
                           "code 0x\(String(code, radix: 16))")
        }
        // The whole CRYPTO_ERROR range, including alert values no RFC defines.
        for alert in UInt64(0)...255 where ![40, 90, 120].contains(alert) {
            XCTAssertEqual(Status.forTransportErrorCode(0x100 + alert), QuicStatus(TLS_ERROR_BASE) + QuicStatus(alert))
        }
    }

    /// A peer's CONNECTION_CLOSE with CRYPTO_ERROR reports what the same alert raised here
    /// reports: MsQuic derives the status from the code alone.
    func testPeerCryptoErrorClose() {
        let alpn = TransportCloseReason(transportErrorCode: 0x178)
        XCTAssertEqual(alpn.errorCode, 0x178)
        XCTAssertEqual(alpn.status, UInt32(QUIC_STATUS_ALPN_NEG_FAILURE))
        let unknownCA = TransportCloseReason(transportErrorCode: 0x130)
        XCTAssertEqual(unknownCA.status, QuicStatus(TLS_ERROR_BASE) + 48)
        XCTAssertEqual(unknownCA, TransportCloseReason(TLSAlert(.unknownCA, fromPeer: true)))
    }

    // MARK: Certificate verdicts → DeferredStatus

    func testEveryCertificateValidationStatus() {
        let table: [(CertificateValidationStatus, UInt32)] = [
            (.valid, UInt32(QUIC_STATUS_SUCCESS)),
            (.expired, UInt32(QUIC_STATUS_CERT_EXPIRED)),
            (.untrustedRoot, UInt32(QUIC_STATUS_CERT_UNTRUSTED_ROOT)),
            (.noCertificate, UInt32(QUIC_STATUS_CERT_NO_CERT)),
            (.badCertificate, UInt32(QUIC_STATUS_BAD_CERTIFICATE)),
            (.revoked, UInt32(QUIC_STATUS_REVOKED_CERTIFICATE)),
            (.tlsError, UInt32(QUIC_STATUS_TLS_ERROR)),
        ]
        for (verdict, status) in table {
            XCTAssertEqual(verdict.quicStatus, status, "\(verdict)")
        }
        XCTAssertEqual(Set(table.map(\.1)).count, table.count, "each verdict has its own status")
    }

    /// DER of the first certificate of a gen-certs.sh PEM file.
    private func der(_ name: String) throws -> [UInt8] {
        let credential = try TLSCredential.loadPEM(certificateFile: Certs.path(name + ".crt"),
                                                   privateKeyFile: Certs.path(name + ".key"), password: nil)
        return try XCTUnwrap(credential.chainDER.first)
    }

    private func validate(_ leaf: String, trust: String, name: String? = "localhost", skip: Bool = false,
                          time: Int? = nil) throws -> PeerCertificateValidation {
        let policy = CertificateValidationPolicy(trust: .caCertificates([try der(trust)]), purpose: .serverAuth,
                                                 skipValidation: skip, expectedName: name, verificationTime: time)
        return try CertificateValidator(policy: policy).validate([try der(leaf)])
    }

    func testPeerCertificateEventFromRealValidations() throws {
        let cases: [(String, PeerCertificateValidation, UInt32)] = [
            ("chain to the trusted CA", try validate("server", trust: "ca"), UInt32(QUIC_STATUS_SUCCESS)),
            ("issuer not trusted", try validate("server", trust: "ecdsa-p256"), UInt32(QUIC_STATUS_CERT_UNTRUSTED_ROOT)),
            ("self-signed leaf", try validate("ecdsa-p256", trust: "ca"), UInt32(QUIC_STATUS_CERT_UNTRUSTED_ROOT)),
            ("expired", try validate("server", trust: "ca", time: Int(Date().timeIntervalSince1970) + 400 * 86_400),
             UInt32(QUIC_STATUS_CERT_EXPIRED)),
            ("name mismatch", try validate("server", trust: "ca", name: "example.com"), UInt32(QUIC_STATUS_TLS_ERROR)),
            ("validation skipped", try validate("server", trust: "ecdsa-p256", skip: true), UInt32(QUIC_STATUS_SUCCESS)),
        ]
        for (label, validation, status) in cases {
            let event = PeerCertificateEventStatus(validation)
            XCTAssertEqual(event.deferredErrorFlags, 0, label)
            XCTAssertEqual(event.deferredStatus, status, label)
        }
    }

    func testPeerCertificateEventWithoutCertificate() {
        let noCert = PeerCertificateEventStatus(noCertificateValidating: true, deferredOrClientAuthRequired: true)
        XCTAssertEqual(noCert.deferredErrorFlags, 0)
        XCTAssertEqual(noCert.deferredStatus, UInt32(QUIC_STATUS_CERT_NO_CERT))
        for (validating, deferred) in [(true, false), (false, true), (false, false)] {
            let event = PeerCertificateEventStatus(noCertificateValidating: validating, deferredOrClientAuthRequired: deferred)
            XCTAssertEqual(event.deferredStatus, UInt32(QUIC_STATUS_SUCCESS), "\(validating) \(deferred)")
            XCTAssertEqual(event.deferredErrorFlags, 0)
        }
    }

    // MARK: The application's decision → alert

    func testEventReturnStatusDecision() {
        XCTAssertEqual(PeerCertificateDecision(eventStatus: UInt32(QUIC_STATUS_SUCCESS), certificatePresent: true), .accept)
        XCTAssertEqual(PeerCertificateDecision(eventStatus: 0xFFFF_FFFF, certificatePresent: true), .accept, "CONTINUE")
        XCTAssertEqual(PeerCertificateDecision(eventStatus: 0xFFFF_FFFE, certificatePresent: true), .pending)
        XCTAssertEqual(PeerCertificateDecision(eventStatus: 0xFFFF_FFFE, certificatePresent: false), .pending)
        for failure: UInt32 in [UInt32(QUIC_STATUS_CONNECTION_REFUSED), UInt32(QUIC_STATUS_BAD_CERTIFICATE),
                                UInt32(QUIC_STATUS_CERT_UNTRUSTED_ROOT), UInt32(QUIC_STATUS_INTERNAL_ERROR), 1] {
            let withCert = PeerCertificateDecision(eventStatus: failure, certificatePresent: true)
            XCTAssertEqual(withCert, .reject(alert: 42))
            XCTAssertEqual(withCert.alertDescription, .badCertificate)
            XCTAssertEqual(withCert.closeReason?.errorCode, 0x12a)
            XCTAssertEqual(withCert.closeReason?.status, UInt32(QUIC_STATUS_BAD_CERTIFICATE))

            let withoutCert = PeerCertificateDecision(eventStatus: failure, certificatePresent: false)
            XCTAssertEqual(withoutCert, .reject(alert: 116))
            XCTAssertEqual(withoutCert.alertDescription, .certificateRequired)
            XCTAssertEqual(withoutCert.closeReason?.errorCode, 0x174)
            XCTAssertEqual(withoutCert.closeReason?.status, UInt32(QUIC_STATUS_REQUIRED_CERTIFICATE))
        }
        XCTAssertNil(PeerCertificateDecision.accept.closeReason)
        XCTAssertNil(PeerCertificateDecision.pending.closeReason)
        XCTAssertNil(PeerCertificateDecision.accept.alertDescription)
    }

    /// Every QUIC_TLS_ALERT_CODES value through ConnectionCertificateValidationComplete.
    func testValidationCompleteEveryAlertCode() throws {
        let codes: [(QUIC_TLS_ALERT_CODES, AlertDescription?)] = [
            (QUIC_TLS_ALERT_CODE_UNEXPECTED_MESSAGE, .unexpectedMessage),
            (QUIC_TLS_ALERT_CODE_BAD_CERTIFICATE, .badCertificate),
            (QUIC_TLS_ALERT_CODE_UNSUPPORTED_CERTIFICATE, .unsupportedCertificate),
            (QUIC_TLS_ALERT_CODE_CERTIFICATE_REVOKED, .certificateRevoked),
            (QUIC_TLS_ALERT_CODE_CERTIFICATE_EXPIRED, .certificateExpired),
            (QUIC_TLS_ALERT_CODE_CERTIFICATE_UNKNOWN, .certificateUnknown),
            (QUIC_TLS_ALERT_CODE_ILLEGAL_PARAMETER, .illegalParameter),
            (QUIC_TLS_ALERT_CODE_UNKNOWN_CA, .unknownCA),
            (QUIC_TLS_ALERT_CODE_ACCESS_DENIED, .accessDenied),
            (QUIC_TLS_ALERT_CODE_INSUFFICIENT_SECURITY, .insufficientSecurity),
            (QUIC_TLS_ALERT_CODE_INTERNAL_ERROR, .internalError),
            (QUIC_TLS_ALERT_CODE_USER_CANCELED, .userCanceled),
            (QUIC_TLS_ALERT_CODE_CERTIFICATE_REQUIRED, .certificateRequired),
            (QUIC_TLS_ALERT_CODE_MAX, nil),
        ]
        for (code, description) in codes {
            let raw = UInt32(code.rawValue)
            let decision = try XCTUnwrap(PeerCertificateDecision.validationComplete(result: false, tlsAlert: raw))
            XCTAssertEqual(decision, .reject(alert: UInt8(raw)))
            XCTAssertEqual(decision.alertDescription, description)
            let close = try XCTUnwrap(decision.closeReason)
            XCTAssertEqual(close.errorCode, 0x100 + UInt64(raw))
            XCTAssertEqual(close.status, Self.expectedStatus(forAlert: UInt8(raw)))
            // Result TRUE ignores the alert.
            XCTAssertEqual(PeerCertificateDecision.validationComplete(result: true, tlsAlert: raw), .accept)
        }
        // QUIC_TLS_ALERT_CODE_USER_CANCELED → QUIC_STATUS_USER_CANCELED, not TLS_ALERT(90).
        XCTAssertEqual(PeerCertificateDecision.validationComplete(result: false, tlsAlert: 90)?.closeReason?.status,
                       UInt32(QUIC_STATUS_USER_CANCELED))
    }

    func testValidationCompleteRejectsOutOfRangeAlert() {
        let success = UInt32(QUIC_TLS_ALERT_CODE_SUCCESS.rawValue)
        XCTAssertEqual(success, 0xFFFF)
        XCTAssertNil(PeerCertificateDecision.validationComplete(result: false, tlsAlert: success))
        XCTAssertNil(PeerCertificateDecision.validationComplete(result: false, tlsAlert: 256))
        XCTAssertNil(PeerCertificateDecision.validationComplete(result: false, tlsAlert: .max))
        XCTAssertEqual(PeerCertificateDecision.validationComplete(result: true, tlsAlert: success), .accept)
        XCTAssertEqual(PeerCertificateDecision.validationComplete(result: true, tlsAlert: .max), .accept)
    }
}
