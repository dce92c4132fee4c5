import CCrypto

/// A peer's certificate chain parsed by libcrypto, with the `X509_STORE_CTX` it was (or
/// would be) verified in. It owns every pointer it hands out; they live as long as it does.
///
/// These are the objects MsQuic's OpenSSL build passes in
/// QUIC_CONNECTION_EVENT_PEER_CERTIFICATE_RECEIVED: `Certificate` is the leaf `X509 *`
/// and `Chain` the `X509_STORE_CTX *`; with QUIC_CREDENTIAL_FLAG_USE_PORTABLE_CERTIFICATES
/// they are QUIC_BUFFERs holding `leafDER()` and `pkcs7ChainDER()`.
///
/// Sendable (unchecked): every stored property is a `let`; the store context is verified in
/// `CertificateValidator.validate` right after the chain is made, before it is returned, and
/// the OpenSSL objects are only read afterwards, on the connection's worker (the application
/// gets them inside PEER_CERTIFICATE_RECEIVED, on that same thread).
public final class PeerCertificateChain: @unchecked Sendable {
    /// `X509 *` certificates in the order the peer sent them, leaf first.
    public let certificates: [OpaquePointer]
    /// `X509_STORE_CTX *` initialised with the trust store, the leaf and the peer's other
    /// certificates as untrusted intermediates.
    public let storeContext: OpaquePointer
    /// `STACK_OF(X509) *` of the intermediates (borrowing `certificates`).
    private let untrusted: OpaquePointer
    /// Keeps the `X509_STORE` referenced by `storeContext` alive.
    private let trustStore: CertificateTrustStore

    init(certificates: [OpaquePointer], storeContext: OpaquePointer, untrusted: OpaquePointer,
         trustStore: CertificateTrustStore) {
        self.certificates = certificates
        self.storeContext = storeContext
        self.untrusted = untrusted
        self.trustStore = trustStore
    }

    deinit {
        X509_STORE_CTX_free(storeContext)
        ccrypto_sk_X509_free(untrusted)
        for cert in certificates { X509_free(cert) }
    }

    /// The end-entity certificate (`X509 *`), whose key signs the CertificateVerify.
    public var leaf: OpaquePointer { certificates[0] }

    /// The chain OpenSSL built from the leaf to a trust anchor (`X509 *`, leaf first), as
    /// far as it got. Empty if no verification ran.
    public var verifiedChain: [OpaquePointer] {
        guard let stack = X509_STORE_CTX_get0_chain(storeContext) else { return [] }
        return (0..<ccrypto_sk_X509_num(stack)).compactMap { ccrypto_sk_X509_value(stack, $0) }
    }

    /// DER of the leaf (the portable QUIC_CERTIFICATE).
    public func leafDER() -> [UInt8] { TLSCredential.der(of: leaf) }

    /// A degenerate PKCS#7 signed-data (RFC 2315 §9.1: no signers, content type data)
    /// carrying the verified chain, or the received certificates when no chain was built,
    /// DER-encoded (the portable QUIC_CERTIFICATE_CHAIN). Nil if libcrypto fails.
    public func pkcs7ChainDER() -> [UInt8]? {
        let chain = verifiedChain.isEmpty ? certificates : verifiedChain
        guard let p7 = PKCS7_new() else { return nil }
        defer { PKCS7_free(p7) }
        guard PKCS7_set_type(p7, NID_pkcs7_signed) == 1,
              PKCS7_content_new(p7, NID_pkcs7_data) == 1 else {
            ERR_clear_error()
            return nil
        }
        for cert in chain where PKCS7_add_certificate(p7, cert) != 1 {
            ERR_clear_error()
            return nil
        }
        let len = i2d_PKCS7(p7, nil)
        guard len > 0 else {
            ERR_clear_error()
            return nil
        }
        var out = [UInt8](repeating: 0, count: Int(len))
        let written = out.withUnsafeMutableBufferPointer { buf -> Int32 in
            var p = buf.baseAddress
            return i2d_PKCS7(p7, &p)
        }
        return written == len ? out : nil
    }
}

/// The result of validating a peer chain.
///
/// Sendable (unchecked): `let`s only, around an immutable `PeerCertificateChain`.
public struct PeerCertificateValidation: @unchecked Sendable {
    /// The parsed chain; always present, also when validation failed or was skipped.
    public let chain: PeerCertificateChain
    /// True when the policy said not to validate (NO_CERTIFICATE_VALIDATION).
    public let validationSkipped: Bool
    /// What OpenSSL's verification reported: X509_V_OK or an X509_V_ERR_* code. When
    /// validation is skipped this is still what chain building found, for information.
    public let verifyError: Int32
    /// Depth in the chain of the certificate the error is about (0 = leaf).
    public let errorDepth: Int32

    /// Whether the handshake may continue: validation skipped or passed.
    public var isAccepted: Bool { validationSkipped || verifyError == X509_V_OK }

    /// The MsQuic-style status (see CertificateValidationStatus); `.valid` when skipped.
    public var status: CertificateValidationStatus {
        validationSkipped ? .valid : CertificateValidationStatus(verifyError: verifyError)
    }

    /// The alert to close the handshake with, nil when accepted.
    public var alert: AlertDescription? {
        isAccepted ? nil : certificateAlert(forVerifyError: verifyError)
    }

    /// OpenSSL's text for `verifyError`.
    public var errorDescription: String {
        guard let s = X509_verify_cert_error_string(Int(verifyError)) else { return "unknown" }
        return String(cString: s)
    }

    /// The failure as a TLSAlert, nil when accepted.
    public var failure: TLSAlert? {
        guard let alert else { return nil }
        return TLSAlert(alert, "certificate verify failed: \(errorDescription) (depth \(errorDepth))")
    }
}
