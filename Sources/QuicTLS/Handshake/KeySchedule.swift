import QuicCrypto

/// The TLS 1.3 key schedule (RFC 8446 §7.1) as pure functions over byte arrays, so each
/// step can be checked against the RFC 8448 traces on its own.
enum KeySchedule {
    /// HKDF-Expand-Label with a label given as bytes (exporter labels need not be UTF-8):
    /// HkdfLabel = length || "tls13 " + label || context (RFC 8446 §7.1).
    static func expandLabel(_ hash: HashAlgorithm, secret: [UInt8], label: [UInt8],
                            context: [UInt8], length: Int) -> [UInt8] {
        var w = TLSWriter()
        w.u16(UInt16(length))
        w.vector8(Array("tls13 ".utf8) + label)
        w.vector8(context)
        return HKDF.expand(hash, prk: secret, info: w.bytes, length: length)
    }

    /// Derive-Secret(Secret, Label, Messages) given Transcript-Hash(Messages) (RFC 8446 §7.1).
    static func deriveSecret(_ hash: HashAlgorithm, secret: [UInt8], label: String, transcriptHash: [UInt8]) -> [UInt8] {
        HKDF.expandLabel(hash, secret: secret, label: label, context: transcriptHash, length: hash.digestLength)
    }

    /// Derive-Secret over the empty transcript: the context is Hash("").
    static func deriveSecretEmpty(_ hash: HashAlgorithm, secret: [UInt8], label: String) -> [UInt8] {
        deriveSecret(hash, secret: secret, label: label, transcriptHash: hash.hash([]))
    }

    /// Early Secret = HKDF-Extract(0, PSK), with PSK = 0^HashLen when there is none.
    static func earlySecret(_ hash: HashAlgorithm, psk: [UInt8]?) -> [UInt8] {
        HKDF.extract(hash, salt: [], ikm: psk ?? [UInt8](repeating: 0, count: hash.digestLength))
    }

    /// binder_key = Derive-Secret(Early Secret, "res binder" | "ext binder", "").
    static func binderKey(_ hash: HashAlgorithm, earlySecret: [UInt8], external: Bool = false) -> [UInt8] {
        deriveSecretEmpty(hash, secret: earlySecret, label: external ? "ext binder" : "res binder")
    }

    /// Handshake Secret = HKDF-Extract(Derive-Secret(Early Secret, "derived", ""), (EC)DHE).
    static func handshakeSecret(_ hash: HashAlgorithm, earlySecret: [UInt8], sharedSecret: [UInt8]) -> [UInt8] {
        let derived = deriveSecretEmpty(hash, secret: earlySecret, label: "derived")
        return HKDF.extract(hash, salt: derived, ikm: sharedSecret)
    }

    /// Master Secret = HKDF-Extract(Derive-Secret(Handshake Secret, "derived", ""), 0).
    static func masterSecret(_ hash: HashAlgorithm, handshakeSecret: [UInt8]) -> [UInt8] {
        let derived = deriveSecretEmpty(hash, secret: handshakeSecret, label: "derived")
        return HKDF.extract(hash, salt: derived, ikm: [UInt8](repeating: 0, count: hash.digestLength))
    }

    /// finished_key = HKDF-Expand-Label(BaseKey, "finished", "", Hash.length) (RFC 8446 §4.4.4).
    static func finishedKey(_ hash: HashAlgorithm, baseKey: [UInt8]) -> [UInt8] {
        HKDF.expandLabel(hash, secret: baseKey, label: "finished", context: [], length: hash.digestLength)
    }

    /// verify_data = HMAC(finished_key, Transcript-Hash(...)) (RFC 8446 §4.4.4); also the
    /// PSK binder value (RFC 8446 §4.2.11.2) with BaseKey = binder_key.
    static func finishedVerifyData(_ hash: HashAlgorithm, baseKey: [UInt8], transcriptHash: [UInt8]) -> [UInt8] {
        hash.hmac(key: finishedKey(hash, baseKey: baseKey), data: transcriptHash)
    }

    /// The PSK of a ticket: HKDF-Expand-Label(resumption_master_secret, "resumption",
    /// ticket_nonce, Hash.length) (RFC 8446 §4.6.1).
    static func resumptionPSK(_ hash: HashAlgorithm, resumptionMasterSecret: [UInt8], nonce: [UInt8]) -> [UInt8] {
        HKDF.expandLabel(hash, secret: resumptionMasterSecret, label: "resumption", context: nonce, length: hash.digestLength)
    }

    /// TLS-Exporter(label, context, length) = HKDF-Expand-Label(Derive-Secret(Secret, label, ""),
    /// "exporter", Hash(context_value), key_length) (RFC 8446 §7.5). No context and an
    /// empty context are the same in TLS 1.3.
    static func exporter(_ hash: HashAlgorithm, exporterMasterSecret: [UInt8], label: [UInt8],
                         context: [UInt8], length: Int) -> [UInt8] {
        let perLabel = expandLabel(hash, secret: exporterMasterSecret, label: label,
                                   context: hash.hash([]), length: hash.digestLength)
        return expandLabel(hash, secret: perLabel, label: Array("exporter".utf8),
                           context: hash.hash(context), length: length)
    }
}

/// The running handshake transcript (RFC 8446 §4.4.1): the handshake messages as sent,
/// including their 4-byte headers. Kept as bytes so any hash can be taken, which the
/// client needs for PSK binders before the cipher suite is known.
struct Transcript {
    private(set) var bytes: [UInt8] = []

    mutating func append(_ message: [UInt8]) { bytes += message }

    func hash(_ h: HashAlgorithm) -> [UInt8] { h.hash(bytes) }

    /// The hash over the transcript followed by `extra` bytes that are not part of it yet.
    func hash(_ h: HashAlgorithm, appending extra: ArraySlice<UInt8>) -> [UInt8] { h.hash(bytes + extra) }

    /// After a HelloRetryRequest the first ClientHello is replaced by
    /// message_hash(254) || 00 00 Hash.length || Hash(ClientHello1) (RFC 8446 §4.4.1).
    mutating func replaceWithMessageHash(_ h: HashAlgorithm) {
        let digest = h.hash(bytes)
        bytes = [HandshakeType.messageHash.rawValue, 0, 0, UInt8(digest.count)] + digest
    }
}
