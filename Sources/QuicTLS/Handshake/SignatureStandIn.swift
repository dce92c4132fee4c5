// TEMPORARY stand-in for the tlscert helper's Signatures API (agreed shape:
// SignatureScheme, TLSSignature.schemes/sign/verify). Deleted when branch `tlscert` is merged.
import CCrypto

public enum SignatureScheme: UInt16, Sendable, CaseIterable {
    case ecdsaSecp256r1Sha256 = 0x0403
    case ecdsaSecp384r1Sha384 = 0x0503
    case rsaPssRsaeSha256 = 0x0804
    case rsaPssRsaeSha384 = 0x0805
    case rsaPssRsaeSha512 = 0x0806
    case ed25519 = 0x0807
    case rsaPkcs1Sha256 = 0x0401
    case rsaPkcs1Sha384 = 0x0501
    case rsaPkcs1Sha512 = 0x0601
}

public enum TLSSignature {
    public static func schemes(for key: OpaquePointer) -> [SignatureScheme] {
        switch ccrypto_EVP_PKEY_base_id(key) {
        case NID_rsaEncryption: return [.rsaPssRsaeSha256, .rsaPssRsaeSha384, .rsaPssRsaeSha512]
        case NID_ED25519: return [.ed25519]
        case NID_X9_62_id_ecPublicKey:
            switch EVP_PKEY_get_bits(key) {
            case 256: return [.ecdsaSecp256r1Sha256]
            case 384: return [.ecdsaSecp384r1Sha384]
            default: return []
            }
        default: return []
        }
    }

    private static func md(_ s: SignatureScheme) -> OpaquePointer? {
        switch s {
        case .ecdsaSecp256r1Sha256, .rsaPssRsaeSha256, .rsaPkcs1Sha256: return EVP_sha256()
        case .ecdsaSecp384r1Sha384, .rsaPssRsaeSha384, .rsaPkcs1Sha384: return EVP_sha384()
        case .rsaPssRsaeSha512, .rsaPkcs1Sha512: return EVP_sha512()
        case .ed25519: return nil
        }
    }

    private static func isPSS(_ s: SignatureScheme) -> Bool {
        s == .rsaPssRsaeSha256 || s == .rsaPssRsaeSha384 || s == .rsaPssRsaeSha512
    }

    public static func sign(key: OpaquePointer, scheme: SignatureScheme, message: [UInt8]) throws -> [UInt8] {
        guard let ctx = EVP_MD_CTX_new() else { throw TLSAlert(.internalError) }
        defer { EVP_MD_CTX_free(ctx) }
        var pctx: OpaquePointer?
        guard EVP_DigestSignInit(ctx, &pctx, md(scheme), nil, key) == 1 else { ERR_clear_error(); throw TLSAlert(.internalError, "sign init") }
        if isPSS(scheme), let pctx {
            guard EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1,
                  EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1 else { throw TLSAlert(.internalError) }
        }
        var len = 0
        let ok1 = message.withUnsafeBufferPointer { EVP_DigestSign(ctx, nil, &len, $0.baseAddress, $0.count) }
        guard ok1 == 1 else { ERR_clear_error(); throw TLSAlert(.internalError, "sign length") }
        var sig = [UInt8](repeating: 0, count: len)
        let ok2 = message.withUnsafeBufferPointer { m in
            sig.withUnsafeMutableBufferPointer { EVP_DigestSign(ctx, $0.baseAddress, &len, m.baseAddress, m.count) }
        }
        guard ok2 == 1 else { ERR_clear_error(); throw TLSAlert(.internalError, "sign") }
        return Array(sig[0..<len])
    }

    public static func verify(certificate: OpaquePointer, scheme: SignatureScheme, message: [UInt8], signature: [UInt8]) throws {
        guard let key = X509_get0_pubkey(certificate) else { throw TLSAlert(.badCertificate) }
        guard schemes(for: key).contains(scheme) || (scheme.rawValue & 0xff == 0x01 && ccrypto_EVP_PKEY_base_id(key) == NID_rsaEncryption) else {
            throw TLSAlert(.illegalParameter, "scheme does not match the key")
        }
        guard let ctx = EVP_MD_CTX_new() else { throw TLSAlert(.internalError) }
        defer { EVP_MD_CTX_free(ctx) }
        var pctx: OpaquePointer?
        guard EVP_DigestVerifyInit(ctx, &pctx, md(scheme), nil, key) == 1 else { ERR_clear_error(); throw TLSAlert(.decryptError) }
        if isPSS(scheme), let pctx {
            _ = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING)
            _ = EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST)
        }
        let ok = message.withUnsafeBufferPointer { m in
            signature.withUnsafeBufferPointer { EVP_DigestVerify(ctx, $0.baseAddress, $0.count, m.baseAddress, m.count) }
        }
        ERR_clear_error()
        guard ok == 1 else { throw TLSAlert(.decryptError, "bad signature") }
    }
}
