/// TLS 1.3 SignatureScheme code points (RFC 8446 §4.2.3) that swiftquic understands.
///
/// Two uses, with different rules (RFC 8446 §4.2.3):
/// - CertificateVerify: only ECDSA with the curve named by the scheme, RSASSA-PSS and
///   EdDSA. RSASSA-PKCS1-v1_5 "MUST NOT" be used there.
/// - signatures inside certificates: the PKCS#1 v1.5 schemes are still allowed, since most
///   public CA chains are signed that way.
public enum SignatureScheme: UInt16, Sendable, CaseIterable, Equatable {
    // RSASSA-PKCS1-v1_5: certificate signatures only.
    case rsaPkcs1Sha256 = 0x0401
    case rsaPkcs1Sha384 = 0x0501
    case rsaPkcs1Sha512 = 0x0601
    // ECDSA: in TLS 1.3 the scheme fixes the curve as well as the hash.
    case ecdsaSecp256r1Sha256 = 0x0403
    case ecdsaSecp384r1Sha384 = 0x0503
    // RSASSA-PSS with an rsaEncryption public key ("rsae"); MGF1 with the same hash and a
    // salt as long as the digest.
    case rsaPssRsaeSha256 = 0x0804
    case rsaPssRsaeSha384 = 0x0805
    case rsaPssRsaeSha512 = 0x0806
    // EdDSA (RFC 8032), the message is signed whole (no pre-hash).
    case ed25519 = 0x0807

    /// Whether a CertificateVerify may use this scheme (RFC 8446 §4.2.3: no PKCS#1 v1.5).
    public var isAllowedInCertificateVerify: Bool {
        switch self {
        case .rsaPkcs1Sha256, .rsaPkcs1Sha384, .rsaPkcs1Sha512: return false
        default: return true
        }
    }

    /// The schemes swiftquic puts in its signature_algorithms extension, in preference
    /// order: first those it can verify in a CertificateVerify, then the PKCS#1 v1.5 ones
    /// so that peers know RSA-signed certificate chains are accepted (RFC 8446 §4.2.3:
    /// without signature_algorithms_cert, signature_algorithms covers certificates too).
    public static let advertised: [SignatureScheme] = [
        .ecdsaSecp256r1Sha256, .rsaPssRsaeSha256, .ed25519,
        .ecdsaSecp384r1Sha384, .rsaPssRsaeSha384, .rsaPssRsaeSha512,
        .rsaPkcs1Sha256, .rsaPkcs1Sha384, .rsaPkcs1Sha512,
    ]

    /// The schemes that may appear in a CertificateVerify, in the same order.
    public static let certificateVerifySchemes: [SignatureScheme] =
        advertised.filter { $0.isAllowedInCertificateVerify }

    /// The message digest of the scheme (`const EVP_MD *`), nil for Ed25519 which hashes
    /// internally.
    var digest: OpaquePointer? {
        switch self {
        case .rsaPkcs1Sha256, .ecdsaSecp256r1Sha256, .rsaPssRsaeSha256: return EVP_sha256()
        case .rsaPkcs1Sha384, .ecdsaSecp384r1Sha384, .rsaPssRsaeSha384: return EVP_sha384()
        case .rsaPkcs1Sha512, .rsaPssRsaeSha512: return EVP_sha512()
        case .ed25519: return nil
        }
    }

    /// Digest output length in bytes (0 for Ed25519).
    var digestLength: Int {
        switch self {
        case .rsaPkcs1Sha256, .ecdsaSecp256r1Sha256, .rsaPssRsaeSha256: return 32
        case .rsaPkcs1Sha384, .ecdsaSecp384r1Sha384, .rsaPssRsaeSha384: return 48
        case .rsaPkcs1Sha512, .rsaPssRsaeSha512: return 64
        case .ed25519: return 0
        }
    }

    var isRSAPSS: Bool {
        switch self {
        case .rsaPssRsaeSha256, .rsaPssRsaeSha384, .rsaPssRsaeSha512: return true
        default: return false
        }
    }
}

import CCrypto
