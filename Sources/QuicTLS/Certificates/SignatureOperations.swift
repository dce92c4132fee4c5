import CCrypto

/// CertificateVerify signatures (RFC 8446 §4.4.3) made and checked with libcrypto.
///
/// The caller builds the signed content (64 × 0x20, the context string, 0x00, the
/// transcript hash; `certificateVerifyContent` does that) and passes it as `message`.
public enum TLSSignature {
    /// The kind of key behind an `EVP_PKEY *`, as far as TLS 1.3 cares.
    enum KeyKind: Equatable {
        case ecP256, ecP384, rsa(bits: Int), ed25519, other
    }

    static func kind(of key: OpaquePointer) -> KeyKind {
        switch ccrypto_EVP_PKEY_base_id(key) {
        case EVP_PKEY_EC:
            var name = [CChar](repeating: 0, count: 80)
            var len = 0
            guard EVP_PKEY_get_group_name(key, &name, name.count, &len) == 1 else {
                ERR_clear_error()
                return .other
            }
            var nid = OBJ_txt2nid(name)
            if nid == NID_undef { nid = EC_curve_nist2nid(name) }
            if nid == NID_X9_62_prime256v1 { return .ecP256 }
            if nid == NID_secp384r1 { return .ecP384 }
            return .other
        case EVP_PKEY_RSA:
            return .rsa(bits: Int(EVP_PKEY_get_bits(key)))
        case EVP_PKEY_ED25519:
            return .ed25519
        default:
            // RSASSA-PSS-only keys (rsa_pss_pss_*), P-521, Ed448, ...: not offered.
            return .other
        }
    }

    /// Whether `scheme` can be used for a CertificateVerify with a key of this kind.
    static func fits(_ scheme: SignatureScheme, _ kind: KeyKind) -> Bool {
        guard scheme.isAllowedInCertificateVerify else { return false } // RFC 8446 §4.2.3
        switch (scheme, kind) {
        case (.ecdsaSecp256r1Sha256, .ecP256), (.ecdsaSecp384r1Sha384, .ecP384), (.ed25519, .ed25519):
            return true
        case (.rsaPssRsaeSha256, .rsa(let bits)), (.rsaPssRsaeSha384, .rsa(let bits)),
             (.rsaPssRsaeSha512, .rsa(let bits)):
            // EMSA-PSS needs emLen >= hLen + sLen + 2 with sLen = hLen (RFC 8017 §9.1.1,
            // RFC 8446 §4.2.3), emLen = ceil((modBits - 1) / 8).
            let emLen = (bits - 1 + 7) / 8
            return emLen >= 2 * scheme.digestLength + 2
        default:
            return false
        }
    }

    /// The CertificateVerify schemes `key` (`EVP_PKEY *`) can produce, most preferred
    /// first: P-256 → ecdsa_secp256r1_sha256, P-384 → ecdsa_secp384r1_sha384,
    /// RSA → rsa_pss_rsae_sha256/384/512 (as far as the modulus allows),
    /// Ed25519 → ed25519. Other keys give an empty list.
    public static func schemes(for key: OpaquePointer) -> [SignatureScheme] {
        let k = kind(of: key)
        let order: [SignatureScheme] = [
            .ecdsaSecp256r1Sha256, .ecdsaSecp384r1Sha384,
            .rsaPssRsaeSha256, .rsaPssRsaeSha384, .rsaPssRsaeSha512, .ed25519,
        ]
        return order.filter { fits($0, k) }
    }

    /// The content a CertificateVerify signs (RFC 8446 §4.4.3): 64 spaces, the context
    /// string for the sender's role, a zero byte, then the transcript hash.
    public static func certificateVerifyContent(fromServer: Bool, transcriptHash: [UInt8]) -> [UInt8] {
        let context = fromServer ? "TLS 1.3, server CertificateVerify" : "TLS 1.3, client CertificateVerify"
        var out = [UInt8](repeating: 0x20, count: 64)
        out += Array(context.utf8)
        out.append(0)
        out += transcriptHash
        return out
    }

    /// Signs `message` with `key` (`EVP_PKEY *`) under `scheme`. Throws
    /// `TLSAlert(.internalError)` if the scheme does not fit the key or libcrypto fails.
    public static func sign(key: OpaquePointer, scheme: SignatureScheme, message: [UInt8]) throws -> [UInt8] {
        guard fits(scheme, kind(of: key)) else {
            throw TLSAlert(.internalError, "signature scheme \(scheme) does not fit the private key")
        }
        guard let md = EVP_MD_CTX_new() else { throw TLSAlert(.internalError, "EVP_MD_CTX_new failed") }
        defer { EVP_MD_CTX_free(md) }
        var pctx: OpaquePointer?
        guard EVP_DigestSignInit(md, &pctx, scheme.digest, nil, key) == 1 else {
            ERR_clear_error()
            throw TLSAlert(.internalError, "EVP_DigestSignInit failed")
        }
        if scheme.isRSAPSS {
            try configurePSS(pctx)
        }
        var length = 0
        let sized = withBytes(message) { m, n in EVP_DigestSign(md, nil, &length, m, n) }
        guard sized == 1, length > 0 else {
            ERR_clear_error()
            throw TLSAlert(.internalError, "EVP_DigestSign (size) failed")
        }
        var signature = [UInt8](repeating: 0, count: length)
        let signed = signature.withUnsafeMutableBufferPointer { s in
            withBytes(message) { m, n in EVP_DigestSign(md, s.baseAddress, &length, m, n) }
        }
        guard signed == 1 else {
            ERR_clear_error()
            throw TLSAlert(.internalError, "EVP_DigestSign failed")
        }
        // ECDSA signatures are DER and may come out shorter than the size estimate.
        return Array(signature[0..<length])
    }

    /// Checks a CertificateVerify signature made with the public key of `certificate`
    /// (`X509 *`). Throws `TLSAlert(.illegalParameter)` when the scheme cannot be used
    /// with that key (wrong algorithm, wrong curve, PKCS#1 v1.5), `TLSAlert(.decryptError)`
    /// when the signature does not verify (RFC 8446 §4.4.3).
    public static func verify(certificate: OpaquePointer, scheme: SignatureScheme,
                              message: [UInt8], signature: [UInt8]) throws {
        guard let key = X509_get0_pubkey(certificate) else {
            ERR_clear_error()
            throw TLSAlert(.badCertificate, "certificate has no usable public key")
        }
        try verify(publicKey: key, scheme: scheme, message: message, signature: signature)
    }

    /// As `verify(certificate:...)`, with the public key (`EVP_PKEY *`) itself.
    public static func verify(publicKey key: OpaquePointer, scheme: SignatureScheme,
                              message: [UInt8], signature: [UInt8]) throws {
        guard fits(scheme, kind(of: key)) else {
            throw TLSAlert(.illegalParameter, "signature scheme \(scheme) does not fit the peer's key")
        }
        guard let md = EVP_MD_CTX_new() else { throw TLSAlert(.internalError, "EVP_MD_CTX_new failed") }
        defer { EVP_MD_CTX_free(md) }
        var pctx: OpaquePointer?
        guard EVP_DigestVerifyInit(md, &pctx, scheme.digest, nil, key) == 1 else {
            ERR_clear_error()
            throw TLSAlert(.internalError, "EVP_DigestVerifyInit failed")
        }
        if scheme.isRSAPSS {
            try configurePSS(pctx)
        }
        let result = withBytes(signature) { s, sn in
            withBytes(message) { m, n in EVP_DigestVerify(md, s, sn, m, n) }
        }
        ERR_clear_error()
        guard result == 1 else {
            throw TLSAlert(.decryptError, "CertificateVerify signature does not verify")
        }
    }

    /// RSASSA-PSS with MGF1 over the signing hash and salt length = digest length
    /// (RFC 8446 §4.2.3).
    private static func configurePSS(_ pctx: OpaquePointer?) throws {
        guard let pctx,
              EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1,
              EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1 else {
            ERR_clear_error()
            throw TLSAlert(.internalError, "cannot configure RSA-PSS")
        }
    }

    /// Runs `body` with a non-NULL pointer to the bytes (libcrypto rejects NULL even with
    /// length 0) and their count.
    private static func withBytes<R>(_ bytes: [UInt8], _ body: (UnsafePointer<UInt8>, Int) -> R) -> R {
        if bytes.isEmpty {
            var zero: UInt8 = 0
            return withUnsafePointer(to: &zero) { body($0, 0) }
        }
        return bytes.withUnsafeBufferPointer { body($0.baseAddress!, $0.count) }
    }
}
