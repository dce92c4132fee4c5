import CCrypto

/// Seals and opens the server state carried in a NewSessionTicket's `ticket` field
/// (RFC 8446 §4.6.1 leaves its format to the server; RFC 5077 §4 describes the usual
/// protected form). Layout:
///
///     key id (16) | nonce (12) | AES-256-GCM ciphertext of the state | tag (16)
///
/// with the key id as additional authenticated data. The first key seals; every key
/// opens, so keys can rotate: put the new key first and keep the old ones while tickets
/// sealed with them may still come back. A ticket that is truncated, altered or sealed
/// with a key no longer in the ring opens to nil, and the handshake falls back to a
/// full one (RFC 8446 §4.2.11: the server ignores a PSK it cannot use).
///
/// Sendable (unchecked): the keys are an immutable `let`; sealing and opening use a fresh
/// cipher context per call, so workers may share one ring.
public final class TicketKeyRing: @unchecked Sendable {
    static let nonceLength = 12
    static let tagLength = 16
    /// Bytes a sealed ticket adds to the state.
    public static let overhead = TicketKey.identifierLength + nonceLength + tagLength

    private let keys: [(id: [UInt8], key: [UInt8])]

    /// `keys` in order: the first seals. Throws on an empty list or a repeated id.
    public init(keys: [TicketKey]) throws {
        guard !keys.isEmpty else { throw TicketKeyError.noKeys }
        for i in keys.indices {
            for j in keys.indices where j > i && keys[i].id == keys[j].id {
                throw TicketKeyError.duplicateIdentifier
            }
        }
        self.keys = keys.map { ($0.id, $0.aeadKey) }
    }

    /// A ring with one random key, for configurations without ticket keys.
    public static func makeDefault() throws -> TicketKeyRing {
        try TicketKeyRing(keys: [TicketKey.random()])
    }

    /// The id of the key that seals.
    public var sealingKeyID: [UInt8] { keys[0].id }

    /// Encrypts `state` under the first key with a fresh random nonce.
    public func seal(_ state: [UInt8]) throws -> [UInt8] {
        let (id, key) = keys[0]
        let nonce = try randomBytes(TicketKeyRing.nonceLength)
        guard let sealed = TicketKeyRing.gcm(encrypt: true, key: key, nonce: nonce, aad: id,
                                             input: state, tag: nil) else {
            throw TLSAlert(.internalError, "ticket encryption failed")
        }
        return id + nonce + sealed.output + sealed.tag
    }

    /// Decrypts a ticket sealed by any key of the ring; nil if it cannot be authenticated.
    public func open(_ ticket: [UInt8]) -> [UInt8]? {
        let idLength = TicketKey.identifierLength
        guard ticket.count >= TicketKeyRing.overhead else { return nil }
        let id = Array(ticket[0..<idLength])
        guard let entry = keys.first(where: { $0.id == id }) else { return nil }
        let nonceEnd = idLength + TicketKeyRing.nonceLength
        let tagStart = ticket.count - TicketKeyRing.tagLength
        let nonce = Array(ticket[idLength..<nonceEnd])
        let body = Array(ticket[nonceEnd..<tagStart])
        let tag = Array(ticket[tagStart...])
        return TicketKeyRing.gcm(encrypt: false, key: entry.key, nonce: nonce, aad: id,
                                 input: body, tag: tag)?.output
    }

    /// One AES-256-GCM operation. Decryption returns nil when the tag does not match.
    private static func gcm(encrypt: Bool, key: [UInt8], nonce: [UInt8], aad: [UInt8],
                            input: [UInt8], tag: [UInt8]?) -> (output: [UInt8], tag: [UInt8])? {
        guard let ctx = EVP_CIPHER_CTX_new() else { return nil }
        defer {
            EVP_CIPHER_CTX_free(ctx)
            ERR_clear_error()
        }
        let initOK = key.withUnsafeBufferPointer { k in
            nonce.withUnsafeBufferPointer { n in
                encrypt
                    ? EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nil, k.baseAddress, n.baseAddress)
                    : EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nil, k.baseAddress, n.baseAddress)
            }
        }
        guard initOK == 1 else { return nil }
        var outLength: Int32 = 0
        let aadOK = aad.withUnsafeBufferPointer { a in
            encrypt
                ? EVP_EncryptUpdate(ctx, nil, &outLength, a.baseAddress, Int32(a.count))
                : EVP_DecryptUpdate(ctx, nil, &outLength, a.baseAddress, Int32(a.count))
        }
        guard aadOK == 1, input.count < Int(Int32.max) - 16 else { return nil }
        var output = [UInt8](repeating: 0, count: input.count + 16)
        var produced = 0
        if !input.isEmpty {
            let ok = output.withUnsafeMutableBufferPointer { o in
                input.withUnsafeBufferPointer { i in
                    encrypt
                        ? EVP_EncryptUpdate(ctx, o.baseAddress, &outLength, i.baseAddress, Int32(i.count))
                        : EVP_DecryptUpdate(ctx, o.baseAddress, &outLength, i.baseAddress, Int32(i.count))
                }
            }
            guard ok == 1 else { return nil }
            produced = Int(outLength)
        }
        if let tag {
            guard tag.count == tagLength else { return nil }
            var expected = tag
            let ok = expected.withUnsafeMutableBytes {
                EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, Int32(tagLength), $0.baseAddress)
            }
            guard ok == 1 else { return nil }
        }
        let finalOK = output.withUnsafeMutableBufferPointer { o in
            encrypt
                ? EVP_EncryptFinal_ex(ctx, o.baseAddress! + produced, &outLength)
                : EVP_DecryptFinal_ex(ctx, o.baseAddress! + produced, &outLength)
        }
        // For decryption a final result other than 1 is an authentication failure.
        guard finalOK == 1 else { return nil }
        produced += Int(outLength)
        var newTag = [UInt8]()
        if encrypt {
            newTag = [UInt8](repeating: 0, count: tagLength)
            let ok = newTag.withUnsafeMutableBytes {
                EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, Int32(tagLength), $0.baseAddress)
            }
            guard ok == 1 else { return nil }
        }
        return (Array(output[0..<produced]), newTag)
    }
}
