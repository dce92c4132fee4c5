// Key material of one packet protection key: the secret a TLS epoch hands to QUIC and what
// RFC 9001 §5.1 derives from it (AEAD key, IV, header protection key), plus the next
// generation for key updates (RFC 9001 §6.1). Derivation is a cold path: arrays are fine.

/// The AEAD key, IV and header protection key derived from one traffic secret.
public struct PacketProtectionKeys: Sendable, Equatable {
    public let suite: CipherSuite
    public let version: ProtectionVersion
    /// The traffic secret these keys come from (kept for the next key update).
    public let secret: [UInt8]
    /// AEAD key, `suite.keyLength` bytes ("quic key" / "quicv2 key", RFC 9001 §5.1).
    public let key: [UInt8]
    /// AEAD IV, 12 bytes ("quic iv" / "quicv2 iv", RFC 9001 §5.1).
    public let iv: [UInt8]
    /// Header protection key, `suite.keyLength` bytes ("quic hp" / "quicv2 hp", RFC 9001 §5.4).
    public let headerProtectionKey: [UInt8]
    /// 0 for keys derived from a TLS secret, +1 for each key update since.
    public let generation: UInt64

    /// Derives key, IV and header protection key from `secret` (RFC 9001 §5.1; labels of
    /// RFC 9369 §3.3.2 for v2). The secret must be Hash.length bytes of the suite's hash.
    public init(suite: CipherSuite, secret: [UInt8], version: ProtectionVersion = .v1) {
        let hash = suite.hash
        self.suite = suite
        self.version = version
        self.secret = secret
        self.key = HKDF.expandLabel(hash, secret: secret, label: version.keyLabel, length: suite.keyLength)
        self.iv = HKDF.expandLabel(hash, secret: secret, label: version.ivLabel, length: suite.ivLength)
        self.headerProtectionKey = HKDF.expandLabel(hash, secret: secret, label: version.headerProtectionLabel,
                                                    length: suite.keyLength)
        self.generation = 0
    }

    private init(suite: CipherSuite, version: ProtectionVersion, secret: [UInt8], headerProtectionKey: [UInt8],
                 generation: UInt64) {
        let hash = suite.hash
        self.suite = suite
        self.version = version
        self.secret = secret
        self.key = HKDF.expandLabel(hash, secret: secret, label: version.keyLabel, length: suite.keyLength)
        self.iv = HKDF.expandLabel(hash, secret: secret, label: version.ivLabel, length: suite.ivLength)
        self.headerProtectionKey = headerProtectionKey
        self.generation = generation
    }

    /// The secret of the next key phase:
    /// secret_<n+1> = HKDF-Expand-Label(secret_<n>, "quic ku", "", Hash.length) (RFC 9001 §6.1;
    /// "quicv2 ku" for v2, RFC 9369 §3.3.2).
    public var nextSecret: [UInt8] {
        HKDF.expandLabel(suite.hash, secret: secret, label: version.keyUpdateLabel, length: suite.hash.digestLength)
    }

    /// The keys after a key update: a new AEAD key and IV from `nextSecret`, and the same
    /// header protection key, which is not updated (RFC 9001 §6.1, §5.4).
    public func nextGeneration() -> PacketProtectionKeys {
        PacketProtectionKeys(suite: suite, version: version, secret: nextSecret,
                             headerProtectionKey: headerProtectionKey, generation: generation &+ 1)
    }
}

/// Initial secrets (RFC 9001 §5.2): derived from the client's first Destination Connection ID
/// with a version-specific salt, so that both ends (and any observer) can compute them.
public enum InitialSecrets {
    /// initial_secret = HKDF-Extract(initial_salt, client_dst_connection_id) (RFC 9001 §5.2).
    public static func initialSecret(version: ProtectionVersion, destinationConnectionID: [UInt8]) -> [UInt8] {
        HKDF.extract(.sha256, salt: version.initialSalt, ikm: destinationConnectionID)
    }

    /// client_initial_secret = HKDF-Expand-Label(initial_secret, "client in", "", 32).
    /// The "client in"/"server in" labels are the same in v2 (RFC 9369 §3.3.2 changes only the
    /// quic* labels).
    public static func clientSecret(version: ProtectionVersion, destinationConnectionID: [UInt8]) -> [UInt8] {
        let initial = initialSecret(version: version, destinationConnectionID: destinationConnectionID)
        return HKDF.expandLabel(.sha256, secret: initial, label: "client in", length: 32)
    }

    /// server_initial_secret = HKDF-Expand-Label(initial_secret, "server in", "", 32).
    public static func serverSecret(version: ProtectionVersion, destinationConnectionID: [UInt8]) -> [UInt8] {
        let initial = initialSecret(version: version, destinationConnectionID: destinationConnectionID)
        return HKDF.expandLabel(.sha256, secret: initial, label: "server in", length: 32)
    }

    /// Client and server Initial keys; Initial packets always use AES-128-GCM with SHA-256
    /// (RFC 9001 §5.2).
    public static func keys(version: ProtectionVersion, destinationConnectionID: [UInt8])
        -> (client: PacketProtectionKeys, server: PacketProtectionKeys)
    {
        let initial = initialSecret(version: version, destinationConnectionID: destinationConnectionID)
        let client = HKDF.expandLabel(.sha256, secret: initial, label: "client in", length: 32)
        let server = HKDF.expandLabel(.sha256, secret: initial, label: "server in", length: 32)
        return (PacketProtectionKeys(suite: .aes128GcmSha256, secret: client, version: version),
                PacketProtectionKeys(suite: .aes128GcmSha256, secret: server, version: version))
    }
}
