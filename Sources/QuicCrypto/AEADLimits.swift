// Usage limits of the packet protection AEADs (RFC 9001 §6.6), for QuicCore to count packets
// against: update keys before the confidentiality limit, close the connection with
// AEAD_LIMIT_REACHED once the integrity limit of forged packets is exceeded.
import QuicWire

extension CipherSuite {
    /// Packets that may be protected with one key (RFC 9001 §6.6): 2^23 for AES-GCM; ChaCha20
    /// has no limit below the packet number space (2^62).
    public var confidentialityLimit: UInt64 {
        switch self {
        case .aes128GcmSha256, .aes256GcmSha384: return 1 << 23
        case .chacha20Poly1305Sha256: return 1 << 62
        }
    }

    /// Packets failing authentication allowed across all keys of a connection (RFC 9001
    /// §6.6): 2^52 for AES-GCM, 2^36 for ChaCha20-Poly1305.
    public var integrityLimit: UInt64 {
        switch self {
        case .aes128GcmSha256, .aes256GcmSha384: return 1 << 52
        case .chacha20Poly1305Sha256: return 1 << 36
        }
    }
}

extension InitialSecrets {
    /// `keys(version:destinationConnectionID:)` for a QuicWire connection ID.
    public static func keys(version: ProtectionVersion, destinationConnectionID: ConnectionID)
        -> (client: PacketProtectionKeys, server: PacketProtectionKeys)
    {
        keys(version: version, destinationConnectionID: destinationConnectionID.bytes)
    }
}
