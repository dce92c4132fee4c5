import CCrypto
import QuicCrypto

/// TLS 1.3 record content types (RFC 8446 §5.1).
enum RecordContentType: UInt8 {
    case changeCipherSpec = 20
    case alert = 21
    case handshake = 22
    case applicationData = 23
}

struct RecordLayerError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// One direction of TLS 1.3 record protection (RFC 8446 §5.2–§5.3), for the test-only
/// record layer that carries our handshake over TCP to OpenSSL. QUIC itself never uses
/// this: RFC 9001 replaces the record layer with CRYPTO frames.
final class RecordProtection {
    let suite: CipherSuite
    let key: [UInt8]
    let iv: [UInt8]
    private(set) var sequenceNumber: UInt64 = 0

    /// Keys from a traffic secret: [sender]_write_key = HKDF-Expand-Label(secret, "key", "",
    /// key_length), [sender]_write_iv = HKDF-Expand-Label(secret, "iv", "", iv_length)
    /// (RFC 8446 §7.3).
    convenience init(suite: CipherSuite, secret: [UInt8]) {
        self.init(suite: suite,
                  key: HKDF.expandLabel(suite.hash, secret: secret, label: "key", length: suite.keyLength),
                  iv: HKDF.expandLabel(suite.hash, secret: secret, label: "iv", length: suite.ivLength))
    }

    init(suite: CipherSuite, key: [UInt8], iv: [UInt8]) {
        self.suite = suite
        self.key = key
        self.iv = iv
    }

    /// The per-record nonce: the 64-bit sequence number, left-padded to iv_length, XORed
    /// with the static IV (RFC 8446 §5.3).
    private func nonce() -> [UInt8] {
        var n = iv
        for i in 0..<8 {
            n[n.count - 1 - i] ^= UInt8(truncatingIfNeeded: sequenceNumber >> (8 * UInt64(i)))
        }
        return n
    }

    private var cipher: OpaquePointer {
        switch suite {
        case .aes128GcmSha256: return EVP_aes_128_gcm()
        case .aes256GcmSha384: return EVP_aes_256_gcm()
        case .chacha20Poly1305Sha256: return EVP_chacha20_poly1305()
        }
    }

    /// Protects one record: TLSInnerPlaintext = content || type || zeros, the header
    /// (opaque_type 23, legacy_record_version 0x0303, length) as additional data
    /// (RFC 8446 §5.2). Returns the whole TLSCiphertext record.
    func seal(_ type: RecordContentType, _ content: [UInt8], padding: Int = 0) throws -> [UInt8] {
        let inner = content + [type.rawValue] + [UInt8](repeating: 0, count: padding)
        let length = inner.count + 16
        guard length <= 16384 + 256 else { throw RecordLayerError("record too long") }
        let header: [UInt8] = [RecordContentType.applicationData.rawValue, 0x03, 0x03,
                               UInt8(length >> 8), UInt8(length & 0xFF)]
        let (body, tag) = try aead(encrypt: true, aad: header, input: inner, tag: nil)
        sequenceNumber += 1
        return header + body + tag
    }

    /// Removes protection from a record whose header is `header` (5 bytes) and body
    /// `body`; returns the real content type and the content without padding.
    func open(header: [UInt8], body: [UInt8]) throws -> (RecordContentType, [UInt8]) {
        guard body.count >= 17 else { throw RecordLayerError("protected record too short") }
        let (inner, _) = try aead(encrypt: false, aad: header, input: Array(body.dropLast(16)),
                                  tag: Array(body.suffix(16)))
        sequenceNumber += 1
        // Strip the zero padding; the last non-zero byte is the content type (RFC 8446 §5.4).
        guard let last = inner.lastIndex(where: { $0 != 0 }),
              let type = RecordContentType(rawValue: inner[last]) else {
            throw RecordLayerError("no content type in TLSInnerPlaintext")
        }
        return (type, Array(inner[..<last]))
    }

    private func aead(encrypt: Bool, aad: [UInt8], input: [UInt8], tag: [UInt8]?) throws -> ([UInt8], [UInt8]) {
        guard let ctx = EVP_CIPHER_CTX_new() else { throw RecordLayerError("EVP_CIPHER_CTX_new") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        let n = nonce()
        var ok = EVP_CipherInit_ex(ctx, cipher, nil, nil, nil, encrypt ? 1 : 0)
        ok &= EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, Int32(n.count), nil)
        ok &= EVP_CipherInit_ex(ctx, nil, nil, key, n, encrypt ? 1 : 0)
        var outLength: Int32 = 0
        ok &= EVP_CipherUpdate(ctx, nil, &outLength, aad, Int32(aad.count))
        var out = [UInt8](repeating: 0, count: input.count + 32)
        var produced = 0
        if !input.isEmpty {
            ok &= EVP_CipherUpdate(ctx, &out, &outLength, input, Int32(input.count))
            produced = Int(outLength)
        }
        if var tag {
            ok &= EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, &tag)
        }
        guard ok == 1 else { throw RecordLayerError("AEAD setup failed") }
        let final = out.withUnsafeMutableBufferPointer { EVP_CipherFinal_ex(ctx, $0.baseAddress! + produced, &outLength) }
        guard final == 1 else {
            ERR_clear_error()
            throw RecordLayerError("record authentication failed (bad_record_mac)")
        }
        produced += Int(outLength)
        var newTag = [UInt8](repeating: 0, count: 16)
        if encrypt {
            guard EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, &newTag) == 1 else {
                throw RecordLayerError("cannot read AEAD tag")
            }
        }
        return (Array(out[0..<produced]), newTag)
    }
}
