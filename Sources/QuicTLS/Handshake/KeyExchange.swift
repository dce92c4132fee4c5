import CCrypto

/// An ephemeral (EC)DHE key pair for one key_share entry (RFC 8446 §4.2.8), generated and
/// used through libcrypto's EVP_PKEY interface.
final class KeyShare {
    let group: NamedGroup
    /// The key_exchange bytes we send: the 32-byte X25519 public key (RFC 8446 §4.2.8.2,
    /// RFC 7748) or the uncompressed P-256/P-384 point 0x04 || X || Y (RFC 8446 §4.2.8.2).
    let publicKey: [UInt8]
    private let key: OpaquePointer

    private init(group: NamedGroup, key: OpaquePointer, publicKey: [UInt8]) {
        self.group = group
        self.key = key
        self.publicKey = publicKey
    }

    deinit { EVP_PKEY_free(key) }

    /// Length of a valid peer key_exchange for `group`.
    static func publicKeyLength(_ group: NamedGroup) -> Int {
        switch group {
        case .x25519: return 32
        case .secp256r1: return 65
        case .secp384r1: return 97
        }
    }

    static func curveName(_ group: NamedGroup) -> String {
        switch group {
        case .x25519: return "X25519"
        case .secp256r1: return "P-256"
        case .secp384r1: return "P-384"
        }
    }

    /// Generates a fresh key pair.
    static func generate(_ group: NamedGroup) throws -> KeyShare {
        let ctx: OpaquePointer?
        switch group {
        case .x25519: ctx = EVP_PKEY_CTX_new_id(NID_X25519, nil)
        case .secp256r1, .secp384r1: ctx = EVP_PKEY_CTX_new_from_name(nil, "EC", nil)
        }
        guard let ctx else { throw TLSAlert(.internalError, "EVP_PKEY_CTX_new failed") }
        defer { EVP_PKEY_CTX_free(ctx) }
        guard EVP_PKEY_keygen_init(ctx) == 1 else { throw keyError("keygen_init") }
        if group != .x25519 {
            guard EVP_PKEY_CTX_set_group_name(ctx, curveName(group)) == 1 else { throw keyError("set_group_name") }
        }
        var pkey: OpaquePointer?
        guard EVP_PKEY_keygen(ctx, &pkey) == 1, let pkey else { throw keyError("keygen") }
        guard let pub = encodedPublicKey(pkey, group: group) else {
            EVP_PKEY_free(pkey)
            throw keyError("public key encoding")
        }
        return KeyShare(group: group, key: pkey, publicKey: pub)
    }

    /// Builds an X25519 key share from a known private key (used by RFC 8448 tests).
    static func x25519(privateKey: [UInt8]) throws -> KeyShare {
        let pkey = privateKey.withUnsafeBufferPointer {
            EVP_PKEY_new_raw_private_key(NID_X25519, nil, $0.baseAddress, $0.count)
        }
        guard let pkey, let pub = encodedPublicKey(pkey, group: .x25519) else { throw keyError("raw private key") }
        return KeyShare(group: .x25519, key: pkey, publicKey: pub)
    }

    private static func encodedPublicKey(_ pkey: OpaquePointer, group: NamedGroup) -> [UInt8]? {
        if group == .x25519 {
            var out = [UInt8](repeating: 0, count: 32)
            var len = 32
            let ok = out.withUnsafeMutableBufferPointer { EVP_PKEY_get_raw_public_key(pkey, $0.baseAddress, &len) }
            return ok == 1 && len == 32 ? out : nil
        }
        // OpenSSL 3 encodes EC public keys as uncompressed points by default.
        var ptr: UnsafeMutablePointer<UInt8>?
        let len = EVP_PKEY_get1_encoded_public_key(pkey, &ptr)
        guard let ptr, len > 0 else { return nil }
        defer { CRYPTO_free(ptr, #fileID, #line) }
        let bytes = Array(UnsafeBufferPointer(start: ptr, count: len))
        return bytes.count == publicKeyLength(group) && bytes.first == 0x04 ? bytes : nil
    }

    private static func keyError(_ what: String) -> TLSAlert {
        ERR_clear_error()
        return TLSAlert(.internalError, "key exchange: \(what) failed")
    }

    /// The (EC)DHE shared secret with the peer's key_exchange bytes (RFC 8446 §7.4).
    /// Invalid peer keys (wrong length, compressed or off-curve points, all-zero X25519
    /// result) fail with illegal_parameter (RFC 8446 §4.2.8.2, §7.4.2).
    func sharedSecret(peerKeyExchange peer: [UInt8]) throws -> [UInt8] {
        guard peer.count == KeyShare.publicKeyLength(group) else {
            throw TLSAlert(.illegalParameter, "key_share of wrong length for \(group)")
        }
        let peerKey: OpaquePointer?
        if group == .x25519 {
            peerKey = peer.withUnsafeBufferPointer { EVP_PKEY_new_raw_public_key(NID_X25519, nil, $0.baseAddress, $0.count) }
        } else {
            // RFC 8446 §4.2.8.2: only the uncompressed form (legacy_form = 4) is allowed.
            guard peer[0] == 0x04 else { throw TLSAlert(.illegalParameter, "EC point not uncompressed") }
            let k = EVP_PKEY_new()
            if let k, EVP_PKEY_copy_parameters(k, key) == 1,
               peer.withUnsafeBufferPointer({ EVP_PKEY_set1_encoded_public_key(k, $0.baseAddress, $0.count) }) == 1 {
                peerKey = k
            } else {
                if let k { EVP_PKEY_free(k) }
                peerKey = nil
            }
        }
        guard let peerKey else {
            ERR_clear_error()
            throw TLSAlert(.illegalParameter, "invalid peer key_share")
        }
        defer { EVP_PKEY_free(peerKey) }
        guard let ctx = EVP_PKEY_CTX_new(key, nil) else { throw KeyShare.keyError("derive ctx") }
        defer { EVP_PKEY_CTX_free(ctx) }
        guard EVP_PKEY_derive_init(ctx) == 1 else { throw KeyShare.keyError("derive_init") }
        // EVP_PKEY_derive_set_peer checks the peer point lies on the curve (public key check).
        guard EVP_PKEY_derive_set_peer(ctx, peerKey) == 1 else {
            ERR_clear_error()
            throw TLSAlert(.illegalParameter, "peer key_share rejected")
        }
        var len = 0
        guard EVP_PKEY_derive(ctx, nil, &len) == 1, len > 0 else { throw KeyShare.keyError("derive length") }
        var out = [UInt8](repeating: 0, count: len)
        guard out.withUnsafeMutableBufferPointer({ EVP_PKEY_derive(ctx, $0.baseAddress, &len) }) == 1 else {
            ERR_clear_error()
            throw TLSAlert(.illegalParameter, "key agreement failed")
        }
        out = Array(out[0..<len])
        // RFC 8446 §7.4.2: an all-zero X25519 output must be rejected.
        if group == .x25519 && out.allSatisfy({ $0 == 0 }) {
            throw TLSAlert(.illegalParameter, "X25519 produced the all-zero value")
        }
        return out
    }
}
