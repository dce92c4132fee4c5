import CCrypto

/// How a peer's certificate chain is checked. A client checks a server (`.serverAuth`),
/// a server doing client authentication checks a client (`.clientAuth`). The fields follow
/// the QUIC_CREDENTIAL_FLAG_* options of a MsQuic credential.
public struct CertificateValidationPolicy: Sendable, Equatable {
    /// Where trust anchors come from.
    public enum Trust: Sendable, Equatable {
        /// The system store: OpenSSL's default CA file and directory
        /// (`X509_STORE_set_default_paths`, honouring SSL_CERT_FILE / SSL_CERT_DIR).
        case systemStore
        /// A PEM file of CA certificates (and optionally CRLs)
        /// (QUIC_CREDENTIAL_FLAG_SET_CA_CERTIFICATE_FILE).
        case caFile(String)
        /// DER-encoded trust anchors held in memory.
        case caCertificates([[UInt8]])
    }

    /// Which extended key usage the leaf needs (RFC 5280 §4.2.1.12).
    public enum Purpose: Sendable, Equatable {
        /// A client checking a server: id-kp-serverAuth.
        case serverAuth
        /// A server checking a client certificate: id-kp-clientAuth.
        case clientAuth
    }

    /// Certificate revocation checking against CRLs (QUIC_CREDENTIAL_FLAG_REVOCATION_CHECK_*).
    /// OpenSSL does not fetch CRLs: they must be in the CA file or in `crlFiles`.
    public enum RevocationCheck: Sendable, Equatable {
        case none
        /// The leaf only (REVOCATION_CHECK_END_CERT).
        case endCertificate
        /// Every certificate of the chain (REVOCATION_CHECK_CHAIN).
        case chain
        /// Every certificate but the trust anchor (REVOCATION_CHECK_CHAIN_EXCLUDE_ROOT).
        case chainExcludingRoot
    }

    public var trust: Trust
    public var purpose: Purpose
    /// QUIC_CREDENTIAL_FLAG_NO_CERTIFICATE_VALIDATION: the chain is parsed (so the
    /// CertificateVerify signature can still be checked against the leaf) but not judged.
    public var skipValidation: Bool
    /// The name the leaf must carry (a client's server name): a DNS name, checked with
    /// RFC 6125 rules, or an IPv4/IPv6 literal, checked against iPAddress SANs.
    /// nil checks no name.
    public var expectedName: String?
    public var revocation: RevocationCheck
    /// PEM files of CRLs used by `revocation`.
    public var crlFiles: [String]
    /// QUIC_CREDENTIAL_FLAG_IGNORE_NO_REVOCATION_CHECK (and ..._IGNORE_REVOCATION_OFFLINE,
    /// which is the same condition with local CRLs): a certificate with no CRL available
    /// passes revocation checking.
    public var ignoreMissingRevocationInformation: Bool
    /// Verification time in seconds since the epoch; nil means now.
    public var verificationTime: Int?
    /// Longest chain accepted, leaf excluded (MsQuic's OpenSSL default is 10).
    public var maxDepth: Int

    public init(trust: Trust = .systemStore, purpose: Purpose, skipValidation: Bool = false,
                expectedName: String? = nil, revocation: RevocationCheck = .none,
                crlFiles: [String] = [], ignoreMissingRevocationInformation: Bool = false,
                verificationTime: Int? = nil, maxDepth: Int = 10) {
        self.trust = trust
        self.purpose = purpose
        self.skipValidation = skipValidation
        self.expectedName = expectedName
        self.revocation = revocation
        self.crlFiles = crlFiles
        self.ignoreMissingRevocationInformation = ignoreMissingRevocationInformation
        self.verificationTime = verificationTime
        self.maxDepth = maxDepth
    }
}

/// The outcome of certificate validation in MsQuic's terms: the status MsQuic hands to the
/// application in QUIC_CONNECTION_EVENT_PEER_CERTIFICATE_RECEIVED (DeferredStatus) when
/// validation is deferred. SwiftQuic maps each case to the QUIC_STATUS of msquic_posix.h:
///
/// | case                     | QUIC_STATUS                     |
/// |--------------------------|---------------------------------|
/// | `.valid`                 | QUIC_STATUS_SUCCESS             |
/// | `.expired`               | QUIC_STATUS_CERT_EXPIRED        |
/// | `.untrustedRoot`         | QUIC_STATUS_CERT_UNTRUSTED_ROOT |
/// | `.noCertificate`         | QUIC_STATUS_CERT_NO_CERT        |
/// | `.badCertificate`        | QUIC_STATUS_BAD_CERTIFICATE     |
/// | `.revoked`               | QUIC_STATUS_REVOKED_CERTIFICATE |
/// | `.tlsError`              | QUIC_STATUS_TLS_ERROR           |
///
/// MsQuic's OpenSSL build maps X509_V_ERR_CERT_REJECTED → BAD_CERTIFICATE,
/// CERT_REVOKED → REVOKED_CERTIFICATE, CERT_HAS_EXPIRED → CERT_EXPIRED,
/// DEPTH_ZERO_SELF_SIGNED_CERT and CERT_UNTRUSTED → CERT_UNTRUSTED_ROOT and everything
/// else → TLS_ERROR. swiftquic keeps that and, like MsQuic's Windows build (where a chain
/// that ends at an unknown root is CERT_E_UNTRUSTEDROOT and "not yet valid" is
/// CERT_E_EXPIRED), also reports a missing or untrusted issuer as `.untrustedRoot` and a
/// not-yet-valid certificate as `.expired`.
public enum CertificateValidationStatus: Sendable, Equatable {
    case valid
    case expired
    case untrustedRoot
    case noCertificate
    case badCertificate
    case revoked
    case tlsError

    /// The status for an OpenSSL verify result (`X509_V_OK` or `X509_V_ERR_*`).
    public init(verifyError error: Int32) {
        switch error {
        case X509_V_OK:
            self = .valid
        case X509_V_ERR_CERT_REJECTED:
            self = .badCertificate
        case X509_V_ERR_CERT_REVOKED:
            self = .revoked
        case X509_V_ERR_CERT_HAS_EXPIRED, X509_V_ERR_CERT_NOT_YET_VALID:
            self = .expired
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, X509_V_ERR_CERT_UNTRUSTED,
             X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT,
             X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
            self = .untrustedRoot
        default:
            self = .tlsError
        }
    }
}

/// The TLS alert that reports an OpenSSL verify error to the peer (RFC 8446 §6.2).
/// Returns nil for X509_V_OK.
public func certificateAlert(forVerifyError error: Int32) -> AlertDescription? {
    switch error {
    case X509_V_OK:
        return nil
    // No path to a trust anchor: "a valid certificate chain or partial chain was received,
    // but the certificate was not accepted because the CA certificate could not be located
    // or could not be matched with a known trust anchor".
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
         X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT,
         X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, X509_V_ERR_CERT_UNTRUSTED:
        return .unknownCA
    // "A certificate has expired or is not currently valid."
    case X509_V_ERR_CERT_HAS_EXPIRED, X509_V_ERR_CERT_NOT_YET_VALID:
        return .certificateExpired
    case X509_V_ERR_CERT_REVOKED:
        return .certificateRevoked
    // "A certificate was of an unsupported type": wrong extended key usage / key usage.
    case X509_V_ERR_INVALID_PURPOSE, X509_V_ERR_KEYUSAGE_NO_CERTSIGN,
         X509_V_ERR_KEYUSAGE_NO_DIGITAL_SIGNATURE:
        return .unsupportedCertificate
    // Revocation status unknown: "some other (unspecified) issue".
    case X509_V_ERR_UNABLE_TO_GET_CRL, X509_V_ERR_CRL_HAS_EXPIRED, X509_V_ERR_CRL_NOT_YET_VALID,
         X509_V_ERR_CRL_SIGNATURE_FAILURE, X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE,
         X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
        return .certificateUnknown
    // Name mismatch, bad signatures, malformed fields, bad CA, too long: "a certificate was
    // corrupt, contained signatures that did not verify correctly, etc."
    default:
        return .badCertificate
    }
}
