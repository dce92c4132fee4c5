// ECN codepoints of the IP header (RFC 3168 §5), as QuicPlatform reads them from IP_TOS /
// IPV6_TCLASS and QuicCore counts them for ACK_ECN (RFC 9000 §13.4.1).

public enum ECNCodepoint: UInt8, Sendable {
    case notECT = 0b00
    case ect1 = 0b01
    case ect0 = 0b10
    case ce = 0b11

    /// The codepoint in the low two bits of a TOS / traffic class byte.
    @inlinable public init(tos: UInt8) {
        self = ECNCodepoint(rawValue: tos & 0b11) ?? .notECT
    }
}
