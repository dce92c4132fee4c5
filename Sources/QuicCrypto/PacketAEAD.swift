// AEAD packet protection (RFC 9001 §5.3) in place, with one libcrypto cipher context per key
// and direction: the key schedule runs once in `init`, each packet only re-initialises the
// context with its nonce. Nothing is allocated per packet.
import CCrypto

/// The AEAD of one packet protection key (AES-128-GCM, AES-256-GCM or ChaCha20-Poly1305).
///
/// Not thread-safe: the cipher contexts are reused for every packet, so an instance is
/// confined to one thread at a time (the worker that owns the connection).
///
/// Sendable (unchecked): confined to the owning connection's worker (see `OneRTTKeys`).
public final class PacketAEAD: @unchecked Sendable {
    /// The AEAD tag length of every QUIC cipher suite (RFC 9001 §5.3).
    public static let tagLength = 16

    public let suite: CipherSuite
    private let sealContext: OpaquePointer
    private let openContext: OpaquePointer
    // The 12-byte IV: bytes 0..<4 as stored, bytes 4..<12 as a big-endian integer, ready to
    // be XORed with the packet number (RFC 9001 §5.3).
    private let ivPrefix: UInt32
    private let ivSuffix: UInt64

    /// Creates the cipher contexts for `key` and `iv` (lengths from `suite`).
    public init(suite: CipherSuite, key: [UInt8], iv: [UInt8]) throws(PacketProtectionError) {
        guard key.count == suite.keyLength, iv.count == suite.ivLength else { throw .invalidArgument }
        guard let seal = EVP_CIPHER_CTX_new() else { throw .cryptoLibraryFailure }
        guard let open = EVP_CIPHER_CTX_new() else {
            EVP_CIPHER_CTX_free(seal)
            throw .cryptoLibraryFailure
        }
        let cipher = PacketAEAD.evpCipher(suite)
        let ok = key.withUnsafeBufferPointer { k in
            EVP_CipherInit_ex(seal, cipher, nil, k.baseAddress, nil, 1) == 1
                && EVP_CipherInit_ex(open, cipher, nil, k.baseAddress, nil, 0) == 1
        }
        guard ok else {
            EVP_CIPHER_CTX_free(seal)
            EVP_CIPHER_CTX_free(open)
            throw .cryptoLibraryFailure
        }
        self.suite = suite
        self.sealContext = seal
        self.openContext = open
        var prefix: UInt32 = 0
        var suffix: UInt64 = 0
        for i in 0..<4 { prefix = prefix << 8 | UInt32(iv[i]) }
        for i in 4..<12 { suffix = suffix << 8 | UInt64(iv[i]) }
        self.ivPrefix = prefix
        self.ivSuffix = suffix
    }

    /// Convenience: the AEAD of derived key material.
    public convenience init(keys: PacketProtectionKeys) throws(PacketProtectionError) {
        try self.init(suite: keys.suite, key: keys.key, iv: keys.iv)
    }

    deinit {
        EVP_CIPHER_CTX_free(sealContext)
        EVP_CIPHER_CTX_free(openContext)
    }

    /// The AEAD cipher, fetched once from the default provider (a legacy `EVP_aes_128_gcm()`
    /// makes libcrypto 3 look the implementation up by name at every key set-up).
    static func evpCipher(_ suite: CipherSuite) -> OpaquePointer? {
        switch suite {
        case .aes128GcmSha256: return fetchedAES128GCM ?? EVP_aes_128_gcm()
        case .aes256GcmSha384: return fetchedAES256GCM ?? EVP_aes_256_gcm()
        case .chacha20Poly1305Sha256: return fetchedChaCha20Poly1305 ?? EVP_chacha20_poly1305()
        }
    }

    /// The nonce: the IV XORed with the packet number, left-padded to 12 bytes (RFC 9001 §5.3).
    @inline(__always)
    private func nonce(_ packetNumber: UInt64) -> (UInt32, UInt32, UInt32) {
        var n: (UInt32, UInt32, UInt32) = (0, 0, 0)
        withUnsafeMutableBytes(of: &n) { raw in
            raw.storeBytes(of: ivPrefix.bigEndian, toByteOffset: 0, as: UInt32.self)
            raw.storeBytes(of: (ivSuffix ^ packetNumber).bigEndian, toByteOffset: 4, as: UInt64.self)
        }
        return n
    }

    /// Protects a packet in place. `packet` holds the header (`headerLength` bytes, the AAD),
    /// then the plaintext payload, then `tagLength` bytes of room for the tag; on return the
    /// payload is encrypted and the tag written after it (RFC 9001 §5.3).
    public func seal(packet: UnsafeMutableRawBufferPointer, headerLength: Int, packetNumber: UInt64)
        throws(PacketProtectionError)
    {
        guard headerLength >= 0, headerLength <= packet.count, packet.count - headerLength >= PacketAEAD.tagLength,
              packet.count <= Int(Int32.max), let base = packet.baseAddress
        else { throw .invalidArgument }
        let bytes = base.assumingMemoryBound(to: UInt8.self)
        let payloadLength = packet.count - headerLength - PacketAEAD.tagLength
        let ctx = sealContext
        var n = nonce(packetNumber)
        let ok = withUnsafeBytes(of: &n) { nonceBytes -> Bool in
            var outLength: Int32 = 0
            guard EVP_CipherInit_ex(ctx, nil, nil, nil, nonceBytes.baseAddress?.assumingMemoryBound(to: UInt8.self),
                                    1) == 1 else { return false }
            if headerLength > 0 {
                guard EVP_CipherUpdate(ctx, nil, &outLength, bytes, Int32(headerLength)) == 1 else { return false }
            }
            let payload = bytes + headerLength
            if payloadLength > 0 {
                guard EVP_CipherUpdate(ctx, payload, &outLength, payload, Int32(payloadLength)) == 1 else {
                    return false
                }
            }
            let tag = payload + payloadLength
            guard EVP_CipherFinal_ex(ctx, tag, &outLength) == 1 else { return false }
            return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, Int32(PacketAEAD.tagLength), tag) == 1
        }
        guard ok else { throw .cryptoLibraryFailure }
    }

    /// Removes protection in place. `packet` holds the header (`headerLength` bytes, already
    /// freed of header protection), the ciphertext, and the 16-byte tag. On success the
    /// plaintext is at `headerLength ..< packet.count - 16` and that range is returned.
    /// A tag that does not verify throws `.authenticationFailed`; the payload bytes are then
    /// garbage and the packet must be discarded (RFC 9001 §5.5).
    @discardableResult
    public func open(packet: UnsafeMutableRawBufferPointer, headerLength: Int, packetNumber: UInt64)
        throws(PacketProtectionError) -> Range<Int>
    {
        guard headerLength >= 0, packet.count <= Int(Int32.max), let base = packet.baseAddress else {
            throw .invalidArgument
        }
        // Written as a difference so that no headerLength can overflow.
        guard headerLength <= packet.count, packet.count - headerLength >= PacketAEAD.tagLength else {
            throw .packetTooShort
        }
        let bytes = base.assumingMemoryBound(to: UInt8.self)
        let payloadLength = packet.count - headerLength - PacketAEAD.tagLength
        let ctx = openContext
        var n = nonce(packetNumber)
        // 0: library failure, 1: authentic, 2: forged.
        let result = withUnsafeBytes(of: &n) { nonceBytes -> Int in
            var outLength: Int32 = 0
            guard EVP_CipherInit_ex(ctx, nil, nil, nil, nonceBytes.baseAddress?.assumingMemoryBound(to: UInt8.self),
                                    0) == 1 else { return 0 }
            let payload = bytes + headerLength
            let tag = payload + payloadLength
            guard EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, Int32(PacketAEAD.tagLength), tag) == 1 else {
                return 0
            }
            if headerLength > 0 {
                guard EVP_CipherUpdate(ctx, nil, &outLength, bytes, Int32(headerLength)) == 1 else { return 0 }
            }
            if payloadLength > 0 {
                guard EVP_CipherUpdate(ctx, payload, &outLength, payload, Int32(payloadLength)) == 1 else {
                    return 0
                }
            }
            return EVP_CipherFinal_ex(ctx, tag, &outLength) == 1 ? 1 : 2
        }
        switch result {
        case 1: return headerLength ..< headerLength + payloadLength
        case 2:
            // libcrypto may queue an error for the failed tag check; clear it so it does not
            // leak into unrelated calls on this thread.
            ERR_clear_error()
            throw .authenticationFailed
        default:
            ERR_clear_error()
            throw .cryptoLibraryFailure
        }
    }
}

// Fetched once and shared by all threads (fetched algorithm objects are immutable).
nonisolated(unsafe) private let fetchedAES128GCM: OpaquePointer? = EVP_CIPHER_fetch(nil, "AES-128-GCM", nil)
nonisolated(unsafe) private let fetchedAES256GCM: OpaquePointer? = EVP_CIPHER_fetch(nil, "AES-256-GCM", nil)
nonisolated(unsafe) private let fetchedChaCha20Poly1305: OpaquePointer? = EVP_CIPHER_fetch(nil, "ChaCha20-Poly1305", nil)
