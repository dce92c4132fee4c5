// A UDP address as a plain value: QuicCore never sees Glibc's sockaddr types. QuicPlatform
// converts to and from sockaddr_in/sockaddr_in6.

/// An IPv4 or IPv6 address and port. Stored inline (no allocation), usable as a dictionary key.
public struct SocketAddress: Hashable, Sendable, CustomStringConvertible {
    public enum Family: UInt8, Sendable {
        case unspecified = 0
        case ipv4 = 4
        case ipv6 = 6
    }

    public var family: Family
    /// The address bytes: 4 significant bytes for IPv4, 16 for IPv6, in network order.
    /// Bytes past the family's length are always zero.
    @usableFromInline var hi: UInt64
    @usableFromInline var lo: UInt64
    public var port: UInt16

    /// The unspecified address (family `.unspecified`, port 0).
    public init() {
        family = .unspecified; hi = 0; lo = 0; port = 0
    }

    /// An IPv4 address `a.b.c.d:port`.
    public init(ipv4 a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8, port: UInt16) {
        family = .ipv4
        hi = UInt64(a) << 56 | UInt64(b) << 48 | UInt64(c) << 40 | UInt64(d) << 32
        lo = 0
        self.port = port
    }

    /// An address from its bytes packed big-endian into two words (the first 4 bytes for
    /// IPv4, all 16 for IPv6; bytes past the family's length must be zero): the layout
    /// QuicPlatform's UDPAddress uses, so the two convert without touching the heap.
    @inlinable public init(family: Family, high: UInt64, low: UInt64, port: UInt16) {
        self.family = family; hi = high; lo = low; self.port = port
    }

    /// The first and last 8 address bytes, big-endian (see `init(family:high:low:port:)`).
    @inlinable public var high: UInt64 { hi }
    @inlinable public var low: UInt64 { lo }

    /// An address from its bytes (4 for IPv4, 16 for IPv6); nil for other lengths.
    public init?(bytes: [UInt8], port: UInt16) {
        switch bytes.count {
        case 4: family = .ipv4
        case 16: family = .ipv6
        default: return nil
        }
        var h: UInt64 = 0, l: UInt64 = 0
        for i in 0..<16 {
            let b = UInt64(i < bytes.count ? bytes[i] : 0)
            if i < 8 { h |= b << (56 - 8 * UInt64(i)) } else { l |= b << (56 - 8 * UInt64(i - 8)) }
        }
        hi = h; lo = l
        self.port = port
    }

    /// The address bytes: 4 for IPv4, 16 for IPv6, none when unspecified.
    public var bytes: [UInt8] {
        let n = family == .ipv4 ? 4 : family == .ipv6 ? 16 : 0
        var out: [UInt8] = []
        for i in 0..<n {
            let word: UInt64 = i < 8 ? hi : lo
            let shift = UInt64(56 - 8 * (i % 8))
            out.append(UInt8(truncatingIfNeeded: word >> shift))
        }
        return out
    }

    public var description: String {
        let b = bytes
        switch family {
        case .unspecified: return "<unspecified>"
        case .ipv4: return b.map { String($0) }.joined(separator: ".") + ":" + String(port)
        case .ipv6:
            var groups: [String] = []
            for i in stride(from: 0, to: 16, by: 2) { groups.append(String(UInt16(b[i]) << 8 | UInt16(b[i + 1]), radix: 16)) }
            return "[" + groups.joined(separator: ":") + "]:" + String(port)
        }
    }
}
