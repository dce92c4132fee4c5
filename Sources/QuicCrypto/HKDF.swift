import CCrypto

/// The hash functions of the TLS 1.3 cipher suites QUIC uses (RFC 8446 §B.4).
public enum HashAlgorithm: Sendable, Equatable {
    case sha256
    case sha384

    public var digestLength: Int {
        switch self {
        case .sha256: return 32
        case .sha384: return 48
        }
    }

    /// The libcrypto digest (`const EVP_MD *`), a static object owned by OpenSSL.
    public var evpMD: OpaquePointer {
        switch self {
        case .sha256: return EVP_sha256()
        case .sha384: return EVP_sha384()
        }
    }

    /// The digest fetched once from the default provider: passing a fetched `EVP_MD` spares
    /// libcrypto 3 a provider lookup by name on every call.
    var fetchedMD: OpaquePointer {
        switch self {
        case .sha256: return fetchedSHA256 ?? EVP_sha256()
        case .sha384: return fetchedSHA384 ?? EVP_sha384()
        }
    }

    /// The block size of the hash, for HMAC's key pads (RFC 2104 §2).
    var blockLength: Int { self == .sha256 ? 64 : 128 }

    /// One-shot digest of `data`.
    public func hash(_ data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 64)
        var len: UInt32 = 0
        let ok = data.withUnsafeBufferPointer { d in
            out.withUnsafeMutableBufferPointer { o in
                EVP_Digest(d.baseAddress, d.count, o.baseAddress, &len, fetchedMD, nil)
            }
        }
        precondition(ok == 1, "EVP_Digest failed") // only fails on allocation failure
        return Array(out[0..<Int(len)])
    }

    /// One-shot HMAC of `data` under `key` (RFC 2104).
    public func hmac(key: [UInt8], data: [UInt8]) -> [UInt8] {
        data.withUnsafeBytes { hmac(key: key, parts: $0) }
    }

    /// HMAC(key, parts[0] || parts[1] || ...) (RFC 2104 §2), computed with two digests over
    /// the padded key instead of libcrypto's one-shot `HMAC()`, which looks the MAC and the
    /// digest up by name on every call (most of the cost of a key derivation).
    func hmac(key: [UInt8], parts: UnsafeRawBufferPointer...) -> [UInt8] {
        let blockLength = self.blockLength
        // K' = H(K) if K is longer than a block, else K; padded with zeros to a block.
        var pad = key.count > blockLength ? hash(key) : key
        pad += [UInt8](repeating: 0, count: blockLength - pad.count)
        for i in 0..<blockLength { pad[i] ^= 0x36 } // K' ^ ipad
        var out = [UInt8](repeating: 0, count: 64)
        var length: UInt32 = 0
        guard let ctx = EVP_MD_CTX_new() else { preconditionFailure("EVP_MD_CTX_new failed") }
        defer {
            EVP_MD_CTX_free(ctx)
            pad.withUnsafeMutableBytes { OPENSSL_cleanse($0.baseAddress, $0.count) }
        }
        let md = fetchedMD
        var ok = EVP_DigestInit_ex2(ctx, md, nil) == 1 && EVP_DigestUpdate(ctx, pad, blockLength) == 1
        for part in parts where ok && part.count > 0 {
            ok = EVP_DigestUpdate(ctx, part.baseAddress, part.count) == 1
        }
        ok = ok && out.withUnsafeMutableBufferPointer { EVP_DigestFinal_ex(ctx, $0.baseAddress, &length) == 1 }
        for i in 0..<blockLength { pad[i] ^= 0x36 ^ 0x5c } // K' ^ opad
        ok = ok && EVP_DigestInit_ex2(ctx, md, nil) == 1 && EVP_DigestUpdate(ctx, pad, blockLength) == 1
            && EVP_DigestUpdate(ctx, out, Int(length)) == 1
            && out.withUnsafeMutableBufferPointer { EVP_DigestFinal_ex(ctx, $0.baseAddress, &length) == 1 }
        precondition(ok, "HMAC digest failed") // only fails on allocation failure
        return Array(out[0..<Int(length)])
    }
}

// Fetched once, shared by all threads (fetched algorithm objects are immutable).
nonisolated(unsafe) private let fetchedSHA256: OpaquePointer? = EVP_MD_fetch(nil, "SHA256", nil)
nonisolated(unsafe) private let fetchedSHA384: OpaquePointer? = EVP_MD_fetch(nil, "SHA384", nil)

/// HKDF (RFC 5869) and TLS 1.3's HKDF-Expand-Label (RFC 8446 §7.1), as QUIC uses them
/// for its initial secrets, packet protection keys and key updates (RFC 9001 §5).
public enum HKDF {
    /// HKDF-Extract(salt, IKM) = HMAC-Hash(salt, IKM) (RFC 5869 §2.2). An empty salt
    /// means a string of HashLen zeros.
    public static func extract(_ hash: HashAlgorithm, salt: [UInt8], ikm: [UInt8]) -> [UInt8] {
        let key = salt.isEmpty ? [UInt8](repeating: 0, count: hash.digestLength) : salt
        return hash.hmac(key: key, data: ikm)
    }

    /// HKDF-Expand(PRK, info, L) (RFC 5869 §2.3); `length` is at most 255 * HashLen.
    public static func expand(_ hash: HashAlgorithm, prk: [UInt8], info: [UInt8], length: Int) -> [UInt8] {
        precondition(length >= 0 && length <= 255 * hash.digestLength, "HKDF-Expand length out of range")
        var okm: [UInt8] = []
        okm.reserveCapacity(length + hash.digestLength)
        // T(i) = HMAC-Hash(PRK, T(i-1) | info | i), T(0) empty.
        var t: [UInt8] = []
        var counter: UInt8 = 1
        while okm.count < length {
            t = t.withUnsafeBytes { tb in
                info.withUnsafeBytes { ib in
                    withUnsafeBytes(of: &counter) { cb in hash.hmac(key: prk, parts: tb, ib, cb) }
                }
            }
            okm += t
            counter &+= 1
        }
        return Array(okm[0..<length])
    }

    /// HKDF-Expand-Label(Secret, Label, Context, Length) (RFC 8446 §7.1): the info is
    /// struct { uint16 length; opaque label<7..255> = "tls13 " + Label; opaque context<0..255>; }.
    public static func expandLabel(_ hash: HashAlgorithm, secret: [UInt8], label: String,
                                   context: [UInt8] = [], length: Int) -> [UInt8] {
        let fullLabel = Array("tls13 ".utf8) + Array(label.utf8)
        precondition(fullLabel.count <= 255 && context.count <= 255, "HKDF label or context too long")
        var info: [UInt8] = [UInt8(truncatingIfNeeded: length >> 8), UInt8(truncatingIfNeeded: length)]
        info.append(UInt8(fullLabel.count))
        info += fullLabel
        info.append(UInt8(context.count))
        info += context
        return expand(hash, prk: secret, info: info, length: length)
    }
}

/// The TLS 1.3 cipher suites QUIC supports (RFC 9001 §5.3), with the sizes of the
/// keys they derive. The raw value is the TLS code point.
public enum CipherSuite: UInt16, Sendable, CaseIterable {
    case aes128GcmSha256 = 0x1301
    case aes256GcmSha384 = 0x1302
    case chacha20Poly1305Sha256 = 0x1303

    public var hash: HashAlgorithm {
        switch self {
        case .aes128GcmSha256, .chacha20Poly1305Sha256: return .sha256
        case .aes256GcmSha384: return .sha384
        }
    }

    /// AEAD key length ("quic key"), also the header protection key length ("quic hp").
    public var keyLength: Int {
        switch self {
        case .aes128GcmSha256: return 16
        case .aes256GcmSha384, .chacha20Poly1305Sha256: return 32
        }
    }

    /// AEAD nonce length ("quic iv"), 12 bytes for every suite (RFC 8446 §5.3).
    public var ivLength: Int { 12 }
}
