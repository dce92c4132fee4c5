// QUIC_ADDR (a sockaddr_in / sockaddr_in6 union, 28 bytes on Linux) <-> QuicPlatform's
// UDPAddress <-> QuicCore's SocketAddress, and name resolution for ConnectionStart.

import Glibc
import QuicCore
import QuicPlatform

enum QuicAddr {
    static let size = 28
    static let familyUnspec: UInt16 = 0
    static let familyInet: UInt16 = 2
    static let familyInet6: UInt16 = 10

    /// Reads a QUIC_ADDR. An unspecified family is a wildcard with a port (QuicAddrSetPort on
    /// a zeroed address), as MsQuic accepts for ListenerStart.
    static func read(_ p: UnsafeRawPointer) -> UDPAddress? {
        let family = p.load(as: UInt16.self)
        switch family {
        case familyUnspec:
            let port = UInt16(bigEndian: p.load(fromByteOffset: 2, as: UInt16.self))
            return .anyIPv6(port: port)
        case familyInet:
            return UDPAddress(sockaddr: p, length: 16)
        case familyInet6:
            return UDPAddress(sockaddr: p, length: 28)
        default:
            return nil
        }
    }

    /// Writes `address` as a QUIC_ADDR into 28 bytes at `p`.
    static func write(_ address: UDPAddress, to p: UnsafeMutableRawPointer) {
        p.initializeMemory(as: UInt8.self, repeating: 0, count: size)
        var storage = sockaddr_storage()
        let length = address.write(to: &storage)
        withUnsafeBytes(of: &storage) { raw in
            if let base = raw.baseAddress { p.copyMemory(from: base, byteCount: min(Int(length), size)) }
        }
    }

    static func bytes(_ address: UDPAddress) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: size)
        out.withUnsafeMutableBytes { raw in
            if let base = raw.baseAddress { write(address, to: base) }
        }
        return out
    }
}

extension UDPAddress {
    /// The engine's view (IPv4-mapped IPv6 peers appear as IPv4).
    /// Both types pack the address bytes the same way (two big-endian words): converted
    /// field by field, with no heap allocation (this runs for every datagram).
    var socketAddress: SocketAddress {
        let a = unmapped
        return SocketAddress(family: a.family == .ipv4 ? .ipv4 : .ipv6, high: a.high, low: a.low, port: a.port)
    }

    init?(_ s: SocketAddress) {
        switch s.family {
        case .ipv4: self.init(family: .ipv4, high: s.high, low: s.low, port: s.port)
        case .ipv6: self.init(family: .ipv6, high: s.high, low: s.low, port: s.port)
        case .unspecified: return nil
        }
    }
}

enum Resolver {
    /// Resolves `name` (an IP literal or a host name such as "localhost") for `family`
    /// (QUIC_ADDRESS_FAMILY_UNSPEC/INET/INET6) with getaddrinfo; the first UDP result.
    static func resolve(_ name: String, port: UInt16, family: UInt16) -> UDPAddress? {
        if let literal = UDPAddress(host: name, port: port) {
            if family == QuicAddr.familyInet && literal.family != .ipv4 { return nil }
            if family == QuicAddr.familyInet6 && literal.family != .ipv6 { return nil }
            return literal
        }
        var hints = addrinfo()
        hints.ai_family = family == QuicAddr.familyInet ? AF_INET : family == QuicAddr.familyInet6 ? AF_INET6 : AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(name, nil, &hints, &result) == 0, let first = result else { return nil }
        defer { freeaddrinfo(first) }
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        var fallback: UDPAddress?
        while let ai = cursor {
            if let sa = ai.pointee.ai_addr, var a = UDPAddress(sockaddr: UnsafeRawPointer(sa), length: Int(ai.pointee.ai_addrlen)) {
                a.port = port
                // Prefer IPv4 for an unspecified family (what "localhost" servers bind most).
                if a.family == .ipv4 { return a }
                fallback = fallback ?? a
            }
            cursor = ai.pointee.ai_next
        }
        return fallback
    }
}
