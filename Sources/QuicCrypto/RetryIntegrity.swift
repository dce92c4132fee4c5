// The Retry Integrity Tag (RFC 9001 §5.8; RFC 9369 §3.3.3 for v2): AES-128-GCM with a fixed
// key and nonce, empty plaintext, and the Retry Pseudo-Packet as associated data. Retry is a
// cold path: a cipher context is created per call.
import CCrypto

public enum RetryIntegrity {
    public static let tagLength = 16

    /// The tag over the Retry Pseudo-Packet: ODCID Length (1 byte), Original Destination
    /// Connection ID, then the Retry packet without its tag (RFC 9001 §5.8, Figure 8).
    public static func tag(version: ProtectionVersion, originalDestinationConnectionID odcid: [UInt8],
                           retryPacketWithoutTag: UnsafeRawBufferPointer) throws(PacketProtectionError) -> [UInt8]
    {
        guard odcid.count <= 255, retryPacketWithoutTag.count <= Int(Int32.max) - 256 else {
            throw .invalidArgument
        }
        guard let ctx = EVP_CIPHER_CTX_new() else { throw .cryptoLibraryFailure }
        defer { EVP_CIPHER_CTX_free(ctx) }
        var tag = [UInt8](repeating: 0, count: tagLength)
        let key = version.retryIntegrityKey
        let nonce = version.retryIntegrityNonce
        var odcidLength = UInt8(odcid.count)
        var outLength: Int32 = 0
        var ok = key.withUnsafeBufferPointer { k in
            nonce.withUnsafeBufferPointer { n in
                EVP_EncryptInit_ex(ctx, EVP_aes_128_gcm(), nil, k.baseAddress, n.baseAddress) == 1
            }
        }
        // The pseudo-packet is fed to the AAD in three pieces; GCM allows that.
        ok = ok && EVP_EncryptUpdate(ctx, nil, &outLength, &odcidLength, 1) == 1
        if ok, !odcid.isEmpty {
            ok = odcid.withUnsafeBufferPointer { EVP_EncryptUpdate(ctx, nil, &outLength, $0.baseAddress, Int32($0.count)) == 1 }
        }
        if ok, retryPacketWithoutTag.count > 0 {
            ok = EVP_EncryptUpdate(ctx, nil, &outLength,
                                   retryPacketWithoutTag.baseAddress?.assumingMemoryBound(to: UInt8.self),
                                   Int32(retryPacketWithoutTag.count)) == 1
        }
        ok = ok && tag.withUnsafeMutableBufferPointer { t in
            EVP_EncryptFinal_ex(ctx, t.baseAddress, &outLength) == 1
                && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, Int32(tagLength), t.baseAddress) == 1
        }
        guard ok else {
            ERR_clear_error()
            throw .cryptoLibraryFailure
        }
        return tag
    }

    /// `tag` for a Retry packet held in an array.
    public static func tag(version: ProtectionVersion, originalDestinationConnectionID odcid: [UInt8],
                           retryPacketWithoutTag: [UInt8]) throws(PacketProtectionError) -> [UInt8]
    {
        let result = retryPacketWithoutTag.withUnsafeBytes { raw -> Result<[UInt8], PacketProtectionError> in
            do throws(PacketProtectionError) {
                return .success(try tag(version: version, originalDestinationConnectionID: odcid,
                                        retryPacketWithoutTag: raw))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// The full Retry packet with its tag appended.
    public static func seal(version: ProtectionVersion, originalDestinationConnectionID odcid: [UInt8],
                            retryPacketWithoutTag: [UInt8]) throws(PacketProtectionError) -> [UInt8]
    {
        retryPacketWithoutTag + (try tag(version: version, originalDestinationConnectionID: odcid,
                                         retryPacketWithoutTag: retryPacketWithoutTag))
    }

    /// True if the last 16 bytes of `retryPacket` are the integrity tag of the rest, compared
    /// in constant time. A client discards a Retry that fails this check (RFC 9000 §17.2.5.2).
    public static func verify(version: ProtectionVersion, originalDestinationConnectionID odcid: [UInt8],
                              retryPacket: UnsafeRawBufferPointer) -> Bool
    {
        guard retryPacket.count >= tagLength else { return false }
        let split = retryPacket.count - tagLength
        guard let expected = try? tag(version: version, originalDestinationConnectionID: odcid,
                                      retryPacketWithoutTag: UnsafeRawBufferPointer(rebasing: retryPacket[..<split]))
        else { return false }
        return expected.withUnsafeBytes { e in
            ConstantTime.equal(e, UnsafeRawBufferPointer(rebasing: retryPacket[split...]))
        }
    }

    /// `verify` for a Retry packet held in an array.
    public static func verify(version: ProtectionVersion, originalDestinationConnectionID odcid: [UInt8],
                              retryPacket: [UInt8]) -> Bool
    {
        retryPacket.withUnsafeBytes { verify(version: version, originalDestinationConnectionID: odcid, retryPacket: $0) }
    }
}
