// QUIC version numbers and the per-version mapping of long header packet types.

/// A 32-bit QUIC version (RFC 9000 §15, RFC 8999 §5.1).
public struct QuicVersion: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32

    @inlinable public init(rawValue: UInt32) { self.rawValue = rawValue }
    @inlinable public init(_ rawValue: UInt32) { self.rawValue = rawValue }

    /// The version field of a Version Negotiation packet (RFC 9000 §17.2.1).
    public static let negotiation = QuicVersion(0)
    /// QUIC version 1 (RFC 9000 §15).
    public static let v1 = QuicVersion(0x0000_0001)
    /// QUIC version 2 (RFC 9369 §3.1).
    public static let v2 = QuicVersion(0x6b33_43cf)

    /// Versions whose packets this module can parse beyond the invariants.
    @inlinable public var isSupported: Bool { self == .v1 || self == .v2 }

    /// Versions of the form 0x?a?a?a?a are reserved to exercise version negotiation
    /// (RFC 9000 §15).
    @inlinable public var isReservedForNegotiation: Bool {
        rawValue & 0x0f0f_0f0f == 0x0a0a_0a0a
    }

    /// The long header packet type encoded by the two type bits (first byte bits 0x30) in
    /// this version: RFC 9000 §17.2 for v1, RFC 9369 §3.2 for v2. Nil for other versions.
    @inlinable
    public func longPacketType(typeBits: UInt8) -> LongPacketType? {
        let bits = typeBits & 0x03
        switch self {
        case .v1:
            switch bits {
            case 0: return .initial
            case 1: return .zeroRTT
            case 2: return .handshake
            default: return .retry
            }
        case .v2:
            switch bits {
            case 1: return .initial
            case 2: return .zeroRTT
            case 3: return .handshake
            default: return .retry
            }
        default:
            return nil
        }
    }

    /// The two type bits of `type` in this version (v2 mapping for v2, v1 mapping otherwise).
    @inlinable
    public func typeBits(of type: LongPacketType) -> UInt8 {
        if self == .v2 {
            switch type {
            case .initial: return 1   // RFC 9369 §3.2: Initial 0b01
            case .zeroRTT: return 2   // 0-RTT 0b10
            case .handshake: return 3 // Handshake 0b11
            case .retry: return 0     // Retry 0b00
            }
        }
        switch type {
        case .initial: return 0       // RFC 9000 §17.2: Initial 0x00
        case .zeroRTT: return 1       // 0-RTT 0x01
        case .handshake: return 2     // Handshake 0x02
        case .retry: return 3         // Retry 0x03
        }
    }

    public var description: String {
        switch self {
        case .v1: return "v1"
        case .v2: return "v2"
        case .negotiation: return "negotiation"
        default: return "0x" + String(rawValue, radix: 16)
        }
    }
}

/// Long header packet types (RFC 9000 §17.2).
public enum LongPacketType: UInt8, Sendable, CaseIterable {
    case initial
    case zeroRTT
    case handshake
    case retry
}
