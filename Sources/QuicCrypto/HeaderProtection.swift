// Header protection (RFC 9001 §5.4): a 5-byte mask computed from a 16-byte sample of the
// ciphertext hides the low bits of the first byte and the packet number. One libcrypto
// context per key, reused for every packet; nothing is allocated per packet.
import CCrypto

/// The header protection of one key: AES-ECB (AES-128/256 suites, RFC 9001 §5.4.3) or
/// ChaCha20 (RFC 9001 §5.4.4).
///
/// Not thread-safe: the cipher context is reused, so an instance is confined to one thread
/// at a time.
///
/// Sendable (unchecked): confined to the owning connection's worker (see `OneRTTKeys`).
public final class HeaderProtection: @unchecked Sendable {
    /// Bytes of ciphertext sampled (RFC 9001 §5.4.2).
    public static let sampleLength = 16
    /// The sample starts this many bytes after the start of the Packet Number field, as if
    /// the packet number were 4 bytes long (RFC 9001 §5.4.2).
    public static let sampleOffsetFromPacketNumber = 4

    public let suite: CipherSuite
    private let context: OpaquePointer

    public init(suite: CipherSuite, key: [UInt8]) throws(PacketProtectionError) {
        guard key.count == suite.keyLength else { throw .invalidArgument }
        guard let ctx = EVP_CIPHER_CTX_new() else { throw .cryptoLibraryFailure }
        let cipher: OpaquePointer?
        switch suite {
        case .aes128GcmSha256: cipher = fetchedAES128ECB ?? EVP_aes_128_ecb()
        case .aes256GcmSha384: cipher = fetchedAES256ECB ?? EVP_aes_256_ecb()
        case .chacha20Poly1305Sha256: cipher = fetchedChaCha20 ?? EVP_chacha20()
        }
        let ok = key.withUnsafeBufferPointer { k in
            EVP_EncryptInit_ex(ctx, cipher, nil, k.baseAddress, nil) == 1
        }
        // One block in, one block out: no padding for ECB (RFC 9001 §5.4.3).
        guard ok, EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 else {
            EVP_CIPHER_CTX_free(ctx)
            throw .cryptoLibraryFailure
        }
        self.suite = suite
        self.context = ctx
    }

    /// Convenience: the header protection of derived key material.
    public convenience init(keys: PacketProtectionKeys) throws(PacketProtectionError) {
        try self.init(suite: keys.suite, key: keys.headerProtectionKey)
    }

    deinit { EVP_CIPHER_CTX_free(context) }

    /// The 5-byte mask for a 16-byte `sample`, returned in the low 40 bits: mask[0] is bits
    /// 32..<40, mask[1...4] are bits 0..<32 (big-endian, to XOR with the packet number bytes).
    @inline(__always)
    private func mask(sample: UnsafeRawPointer) -> UInt64? {
        let ctx = context
        var block: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0) // output room: 2 blocks
        let ok = withUnsafeMutableBytes(of: &block) { out -> Bool in
            let o = out.baseAddress!.assumingMemoryBound(to: UInt8.self)
            var outLength: Int32 = 0
            switch suite {
            case .aes128GcmSha256, .aes256GcmSha384:
                // mask = AES-ECB(hp_key, sample) (RFC 9001 §5.4.3)
                return EVP_EncryptUpdate(ctx, o, &outLength, sample.assumingMemoryBound(to: UInt8.self),
                                         Int32(HeaderProtection.sampleLength)) == 1
                    && outLength == Int32(HeaderProtection.sampleLength)
            case .chacha20Poly1305Sha256:
                // counter = sample[0..3] (little-endian), nonce = sample[4..15]; mask =
                // ChaCha20(hp_key, counter, nonce, {0,0,0,0,0}) (RFC 9001 §5.4.4). libcrypto's
                // ChaCha20 IV is exactly counter || nonce, so the sample is the IV.
                guard EVP_EncryptInit_ex(ctx, nil, nil, nil, sample.assumingMemoryBound(to: UInt8.self)) == 1
                else { return false }
                // `o` is zero: encrypting the zero bytes in place yields the keystream.
                return EVP_EncryptUpdate(ctx, o, &outLength, o, 5) == 1 && outLength == 5
            }
        }
        guard ok else { return nil }
        return withUnsafeBytes(of: &block) { b in
            UInt64(b[0]) << 32 | UInt64(b[1]) << 24 | UInt64(b[2]) << 16 | UInt64(b[3]) << 8 | UInt64(b[4])
        }
    }

    /// Masks for `count` samples at once (for a batch of packets about to be sent or just
    /// received): `samples` holds `count` 16-byte samples back to back, `masks` receives
    /// `count` 16-byte blocks whose first 5 bytes are each packet's mask. With AES this is a
    /// single ECB call over all samples (RFC 9001 §5.4.3 is per-block, so batching does not
    /// change the result); with ChaCha20 each sample needs its own IV (RFC 9001 §5.4.4).
    /// `samples` and `masks` may be the same buffer.
    public func masks(samples: UnsafeRawPointer, count: Int, into masks: UnsafeMutableRawPointer)
        throws(PacketProtectionError)
    {
        guard count >= 0, count <= Int(Int32.max) / HeaderProtection.sampleLength else { throw .invalidArgument }
        if count == 0 { return }
        let ctx = context
        var outLength: Int32 = 0
        let out = masks.assumingMemoryBound(to: UInt8.self)
        switch suite {
        case .aes128GcmSha256, .aes256GcmSha384:
            let total = Int32(count * HeaderProtection.sampleLength)
            guard EVP_EncryptUpdate(ctx, out, &outLength, samples.assumingMemoryBound(to: UInt8.self), total) == 1,
                  outLength == total
            else { throw .cryptoLibraryFailure }
        case .chacha20Poly1305Sha256:
            for i in 0..<count {
                let offset = i * HeaderProtection.sampleLength
                guard EVP_EncryptInit_ex(ctx, nil, nil, nil, (samples + offset).assumingMemoryBound(to: UInt8.self)) == 1
                else { throw .cryptoLibraryFailure }
                let block = out + offset
                // Encrypting zeros yields the keystream. The sample may share the buffer,
                // which is fine: the IV was copied by the init above.
                for j in 0..<5 { block[j] = 0 }
                guard EVP_EncryptUpdate(ctx, block, &outLength, block, 5) == 1, outLength == 5 else {
                    throw .cryptoLibraryFailure
                }
            }
        }
    }

    /// The raw 5-byte mask for a sample (for tests and diagnostics).
    public func mask(sample: [UInt8]) throws(PacketProtectionError) -> [UInt8] {
        guard sample.count == HeaderProtection.sampleLength else { throw .invalidArgument }
        let m = sample.withUnsafeBytes { mask(sample: $0.baseAddress!) }
        guard let m else { throw .cryptoLibraryFailure }
        return (0..<5).map { UInt8(truncatingIfNeeded: m >> (32 - 8 * UInt64($0))) }
    }

    /// The bits of the first byte covered by header protection: the low 4 bits of a long
    /// header (reserved bits and packet number length), the low 5 of a short header (also
    /// the key phase) (RFC 9001 §5.4.1).
    @inlinable
    public static func protectedBits(firstByte: UInt8) -> UInt8 {
        firstByte & 0x80 != 0 ? 0x0f : 0x1f
    }

    /// Applies header protection in place to a packet whose payload is already sealed.
    /// The Packet Number field is `pnLength` (1...4) bytes at `pnOffset`; the sample is taken
    /// at `pnOffset + 4` (RFC 9001 §5.4.2).
    public func apply(packet: UnsafeMutableRawBufferPointer, pnOffset: Int, pnLength: Int)
        throws(PacketProtectionError)
    {
        guard pnOffset >= 1, (1...4).contains(pnLength), let base = packet.baseAddress else {
            throw .invalidArgument
        }
        guard pnOffset <= packet.count,
              packet.count - pnOffset >= HeaderProtection.sampleOffsetFromPacketNumber + HeaderProtection.sampleLength
        else { throw .packetTooShort }
        let sampleStart = pnOffset + HeaderProtection.sampleOffsetFromPacketNumber
        guard let m = mask(sample: base + sampleStart) else { throw .cryptoLibraryFailure }
        let first = base.load(as: UInt8.self)
        // RFC 9001 §5.4.1: the first byte is masked with mask[0], then each packet number
        // byte with mask[1...].
        base.storeBytes(of: first ^ (UInt8(truncatingIfNeeded: m >> 32) & HeaderProtection.protectedBits(firstByte: first)),
                        as: UInt8.self)
        for i in 0..<pnLength {
            let p = base + pnOffset + i
            p.storeBytes(of: p.load(as: UInt8.self) ^ UInt8(truncatingIfNeeded: m >> (24 - 8 * UInt64(i))),
                         as: UInt8.self)
        }
    }

    /// Removes header protection in place: unmasks the first byte, reads the packet number
    /// length from it and unmasks that many packet number bytes (RFC 9001 §5.4.1). Returns the
    /// unprotected first byte, the packet number length and the truncated packet number.
    /// Fails only if the packet is too short to hold the sample (RFC 9001 §5.4.2).
    public func remove(packet: UnsafeMutableRawBufferPointer, pnOffset: Int)
        throws(PacketProtectionError) -> (firstByte: UInt8, pnLength: Int, truncatedPacketNumber: UInt32)
    {
        guard pnOffset >= 1, let base = packet.baseAddress else { throw .invalidArgument }
        // A difference rather than a sum, so that no pnOffset can overflow.
        guard pnOffset <= packet.count,
              packet.count - pnOffset >= HeaderProtection.sampleOffsetFromPacketNumber + HeaderProtection.sampleLength
        else { throw .packetTooShort }
        let sampleStart = pnOffset + HeaderProtection.sampleOffsetFromPacketNumber
        guard let m = mask(sample: base + sampleStart) else { throw .cryptoLibraryFailure }
        let protected = base.load(as: UInt8.self)
        let first = protected ^ (UInt8(truncatingIfNeeded: m >> 32) & HeaderProtection.protectedBits(firstByte: protected))
        base.storeBytes(of: first, as: UInt8.self)
        let pnLength = Int(first & 0x03) + 1
        var truncated: UInt32 = 0
        for i in 0..<pnLength {
            let p = base + pnOffset + i
            let b = p.load(as: UInt8.self) ^ UInt8(truncatingIfNeeded: m >> (24 - 8 * UInt64(i)))
            p.storeBytes(of: b, as: UInt8.self)
            truncated = truncated << 8 | UInt32(b)
        }
        return (first, pnLength, truncated)
    }
}

// Fetched once and shared by all threads (fetched algorithm objects are immutable); the
// legacy `EVP_aes_128_ecb()` objects would be looked up by name at every key set-up.
nonisolated(unsafe) private let fetchedAES128ECB: OpaquePointer? = EVP_CIPHER_fetch(nil, "AES-128-ECB", nil)
nonisolated(unsafe) private let fetchedAES256ECB: OpaquePointer? = EVP_CIPHER_fetch(nil, "AES-256-ECB", nil)
nonisolated(unsafe) private let fetchedChaCha20: OpaquePointer? = EVP_CIPHER_fetch(nil, "ChaCha20", nil)
