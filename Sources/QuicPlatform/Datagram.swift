// Values that travel with a datagram: the ECN codepoint and received-datagram views.

/// The two ECN bits of the IP header (RFC 3168 §5), as QUIC uses them (RFC 9000 §13.4).
public enum ECNCodepoint: UInt8, Sendable {
    case notECT = 0b00
    case ect1 = 0b01
    case ect0 = 0b10
    case ce = 0b11

    /// The codepoint in the low two bits of a TOS / traffic class byte.
    @inlinable
    public init(trafficClass: UInt8) {
        // Two bits always name one of the four cases.
        self = ECNCodepoint(rawValue: trafficClass & 0b11) ?? .notECT
    }
}

/// One received UDP datagram, borrowed from the socket's receive buffers: `payload` is valid
/// only until the handler returns (or the next receive on the socket).
public struct ReceivedDatagram {
    public let payload: UnsafeRawBufferPointer
    /// The sender. IPv4 peers on a dual-stack socket appear as IPv4 (not ::ffff:a.b.c.d).
    public let remote: UDPAddress
    /// The datagram's destination (from IP_PKTINFO / IPV6_PKTINFO) with the socket's port; nil
    /// when the kernel did not report it. For a socket bound to a specific address this is that
    /// address.
    public let local: UDPAddress?
    /// Interface the datagram arrived on (0 when unknown).
    public let interfaceIndex: UInt32
    public let ecn: ECNCodepoint
}
