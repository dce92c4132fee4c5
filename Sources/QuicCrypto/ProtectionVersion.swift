// The per-version inputs of QUIC packet protection: the Initial salt, the HKDF labels and the
// Retry integrity key. QUIC v1 (RFC 9001) and QUIC v2 (RFC 9369) differ only in these.

/// A QUIC version as far as packet protection is concerned. The raw value is the version
/// number carried in long headers.
public enum ProtectionVersion: UInt32, Sendable, CaseIterable {
    /// QUIC version 1 (RFC 9000, RFC 9001).
    case v1 = 0x0000_0001
    /// QUIC version 2 (RFC 9369 §3.1).
    case v2 = 0x6b33_43cf

    /// The version for a long header's version field, nil for versions we cannot protect.
    @inlinable
    public init?(wireVersion: UInt32) {
        self.init(rawValue: wireVersion)
    }

    /// The salt of HKDF-Extract for Initial secrets: RFC 9001 §5.2 (v1), RFC 9369 §3.3.1 (v2).
    public var initialSalt: [UInt8] {
        switch self {
        case .v1:
            return [0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
                    0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a]
        case .v2:
            return [0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
                    0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9]
        }
    }

    /// HKDF-Expand-Label label of the AEAD key: RFC 9001 §5.1, RFC 9369 §3.3.2.
    public var keyLabel: String { self == .v1 ? "quic key" : "quicv2 key" }
    /// HKDF-Expand-Label label of the AEAD IV: RFC 9001 §5.1, RFC 9369 §3.3.2.
    public var ivLabel: String { self == .v1 ? "quic iv" : "quicv2 iv" }
    /// HKDF-Expand-Label label of the header protection key: RFC 9001 §5.4, RFC 9369 §3.3.2.
    public var headerProtectionLabel: String { self == .v1 ? "quic hp" : "quicv2 hp" }
    /// HKDF-Expand-Label label of the next-generation secret: RFC 9001 §6.1, RFC 9369 §3.3.2.
    public var keyUpdateLabel: String { self == .v1 ? "quic ku" : "quicv2 ku" }

    /// The fixed AES-128-GCM key of the Retry Integrity Tag: RFC 9001 §5.8, RFC 9369 §3.3.3.
    public var retryIntegrityKey: [UInt8] {
        switch self {
        case .v1:
            return [0xbe, 0x0c, 0x69, 0x0b, 0x9f, 0x66, 0x57, 0x5a,
                    0x1d, 0x76, 0x6b, 0x54, 0xe3, 0x68, 0xc8, 0x4e]
        case .v2:
            return [0x8f, 0xb4, 0xb0, 0x1b, 0x56, 0xac, 0x48, 0xe2,
                    0x60, 0xfb, 0xcb, 0xce, 0xad, 0x7c, 0xcc, 0x92]
        }
    }

    /// The fixed nonce of the Retry Integrity Tag: RFC 9001 §5.8, RFC 9369 §3.3.3.
    public var retryIntegrityNonce: [UInt8] {
        switch self {
        case .v1:
            return [0x46, 0x15, 0x99, 0xd3, 0x5d, 0x63, 0x2b, 0xf2, 0x23, 0x98, 0x25, 0xbb]
        case .v2:
            return [0xd8, 0x69, 0x69, 0xbc, 0x2d, 0x7c, 0x6d, 0x99, 0x90, 0xef, 0xb0, 0x4a]
        }
    }
}
