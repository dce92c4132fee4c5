// A UDP endpoint address as a plain value, and its conversion to and from the kernel's
// sockaddr_in / sockaddr_in6. Kept to what QuicCore's own address type holds (family, 16
// address bytes, port) plus the IPv6 scope id, so the two map onto each other directly.
import Glibc

/// An IPv4 or IPv6 address with a UDP port (and, for IPv6, a scope id). Stored inline.
public struct UDPAddress: Hashable, Sendable, CustomStringConvertible {
    public enum Family: UInt8, Sendable {
        case ipv4 = 4
        case ipv6 = 6
    }

    public var family: Family
    /// Address bytes in network order packed big-endian into two words: the first 4 bytes
    /// (IPv4) or all 16 (IPv6). Bytes past the family's length are zero.
    public var high: UInt64
    public var low: UInt64
    public var port: UInt16
    /// IPv6 scope (interface index) for link-local addresses; 0 otherwise and for IPv4.
    public var scopeID: UInt32

    public init(family: Family, high: UInt64, low: UInt64, port: UInt16, scopeID: UInt32 = 0) {
        self.family = family
        self.high = family == .ipv4 ? high & 0xFFFF_FFFF_0000_0000 : high
        self.low = family == .ipv4 ? 0 : low
        self.port = port
        self.scopeID = family == .ipv4 ? 0 : scopeID
    }

    /// `a.b.c.d:port`.
    public init(ipv4 a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8, port: UInt16) {
        self.init(family: .ipv4,
                  high: UInt64(a) << 56 | UInt64(b) << 48 | UInt64(c) << 40 | UInt64(d) << 32,
                  low: 0, port: port)
    }

    /// An address from 4 (IPv4) or 16 (IPv6) bytes in network order; nil for other lengths.
    public init?<Bytes: Collection>(bytes: Bytes, port: UInt16, scopeID: UInt32 = 0) where Bytes.Element == UInt8 {
        let family: Family
        switch bytes.count {
        case 4: family = .ipv4
        case 16: family = .ipv6
        default: return nil
        }
        var h: UInt64 = 0, l: UInt64 = 0
        for (i, b) in bytes.enumerated() {
            if i < 8 { h |= UInt64(b) << (56 - 8 * UInt64(i)) } else { l |= UInt64(b) << (56 - 8 * UInt64(i - 8)) }
        }
        self.init(family: family, high: h, low: l, port: port, scopeID: scopeID)
    }

    public static func loopbackIPv4(port: UInt16 = 0) -> UDPAddress { UDPAddress(ipv4: 127, 0, 0, 1, port: port) }
    public static func loopbackIPv6(port: UInt16 = 0) -> UDPAddress { UDPAddress(family: .ipv6, high: 0, low: 1, port: port) }
    public static func anyIPv4(port: UInt16 = 0) -> UDPAddress { UDPAddress(family: .ipv4, high: 0, low: 0, port: port) }
    public static func anyIPv6(port: UInt16 = 0) -> UDPAddress { UDPAddress(family: .ipv6, high: 0, low: 0, port: port) }

    /// The address bytes in network order (4 or 16).
    public var bytes: [UInt8] {
        let n = family == .ipv4 ? 4 : 16
        var out = [UInt8](repeating: 0, count: n)
        for i in 0..<n {
            let word: UInt64 = i < 8 ? high : low
            let shift = UInt64(56 - 8 * (i % 8))
            out[i] = UInt8(truncatingIfNeeded: word >> shift)
        }
        return out
    }

    /// 0.0.0.0 or ::.
    public var isWildcard: Bool { high == 0 && low == 0 }

    /// ::ffff:a.b.c.d (RFC 4291 §2.5.5.2).
    public var isIPv4Mapped: Bool { family == .ipv6 && high == 0 && low >> 32 == 0xFFFF }

    /// The IPv4 address inside an IPv4-mapped IPv6 address; self for anything else.
    public var unmapped: UDPAddress {
        guard isIPv4Mapped else { return self }
        return UDPAddress(family: .ipv4, high: (low & 0xFFFF_FFFF) << 32, low: 0, port: port)
    }

    /// An IPv4 address as ::ffff:a.b.c.d (for a dual-stack IPv6 socket); self for IPv6.
    public var mappedToIPv6: UDPAddress {
        guard family == .ipv4 else { return self }
        return UDPAddress(family: .ipv6, high: 0, low: 0xFFFF_0000_0000 | high >> 32, port: port)
    }

    // MARK: sockaddr conversion

    /// Reads a sockaddr_in or sockaddr_in6; nil for any other family or a short length.
    /// IPv4-mapped IPv6 addresses are kept as they are (use `unmapped`).
    public init?(sockaddr pointer: UnsafeRawPointer, length: Int) {
        guard length >= MemoryLayout<sa_family_t>.size else { return nil }
        let family = pointer.loadUnaligned(as: sa_family_t.self)
        if family == sa_family_t(AF_INET) {
            guard length >= MemoryLayout<sockaddr_in>.size else { return nil }
            let sin = pointer.loadUnaligned(as: sockaddr_in.self)
            self.init(family: .ipv4, high: UInt64(UInt32(bigEndian: sin.sin_addr.s_addr)) << 32, low: 0,
                      port: UInt16(bigEndian: sin.sin_port))
        } else if family == sa_family_t(AF_INET6) {
            guard length >= MemoryLayout<sockaddr_in6>.size else { return nil }
            let sin6 = pointer.loadUnaligned(as: sockaddr_in6.self)
            let (h, l) = withUnsafeBytes(of: sin6.sin6_addr) { raw in
                (UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
                 UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
            }
            self.init(family: .ipv6, high: h, low: l, port: UInt16(bigEndian: sin6.sin6_port),
                      scopeID: sin6.sin6_scope_id)
        } else {
            return nil
        }
    }

    public init?(storage: sockaddr_storage, length: socklen_t) {
        var s = storage
        guard let a = withUnsafeBytes(of: &s, { UDPAddress(sockaddr: $0.baseAddress!, length: Int(length)) }) else { return nil }
        self = a
    }

    /// Writes the address as sockaddr_in/sockaddr_in6 into `storage` (which must hold a
    /// sockaddr_storage) and returns its length.
    @discardableResult
    public func write(to storage: UnsafeMutablePointer<sockaddr_storage>) -> socklen_t {
        switch family {
        case .ipv4:
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = port.bigEndian
            sin.sin_addr.s_addr = UInt32(truncatingIfNeeded: high >> 32).bigEndian
            UnsafeMutableRawPointer(storage).storeBytes(of: sin, as: sockaddr_in.self)
            return socklen_t(MemoryLayout<sockaddr_in>.size)
        case .ipv6:
            var sin6 = sockaddr_in6()
            sin6.sin6_family = sa_family_t(AF_INET6)
            sin6.sin6_port = port.bigEndian
            sin6.sin6_scope_id = scopeID
            withUnsafeMutableBytes(of: &sin6.sin6_addr) { raw in
                raw.storeBytes(of: high.bigEndian, toByteOffset: 0, as: UInt64.self)
                raw.storeBytes(of: low.bigEndian, toByteOffset: 8, as: UInt64.self)
            }
            UnsafeMutableRawPointer(storage).storeBytes(of: sin6, as: sockaddr_in6.self)
            return socklen_t(MemoryLayout<sockaddr_in6>.size)
        }
    }

    /// Calls `body` with the address as a sockaddr and its length.
    public func withSockAddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws -> R) rethrows -> R {
        var storage = sockaddr_storage()
        let length = write(to: &storage)
        return try withUnsafePointer(to: &storage) { p in
            try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, length) }
        }
    }

    // MARK: text

    /// Parses `a.b.c.d:port`, `[v6]:port`, `[v6%scope]:port` (scope: a number or an interface
    /// name), or a bare address without a port (port 0). Returns nil for anything else.
    public init?(_ text: String) {
        var host = Substring(text)
        var port: UInt16 = 0
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return nil }
            let rest = host[host.index(after: close)...]
            host = host[host.index(after: host.startIndex)..<close]
            if !rest.isEmpty {
                guard rest.hasPrefix(":"), let p = UInt16(rest.dropFirst()) else { return nil }
                port = p
            }
        } else if host.filter({ $0 == ":" }).count == 1, let colon = host.firstIndex(of: ":") {
            guard let p = UInt16(host[host.index(after: colon)...]) else { return nil }
            port = p
            host = host[..<colon]
        }
        guard let a = UDPAddress(host: String(host), port: port) else { return nil }
        self = a
    }

    /// Parses a numeric host (IPv4 dotted quad or IPv6, optionally `%scope`) with a port.
    public init?(host: String, port: UInt16) {
        var name = host
        var scope: UInt32 = 0
        if let pct = host.firstIndex(of: "%") {
            name = String(host[..<pct])
            let zone = String(host[host.index(after: pct)...])
            if let n = UInt32(zone) {
                scope = n
            } else {
                let index = if_nametoindex(zone)
                guard index != 0 else { return nil }
                scope = index
            }
        }
        var v4 = in_addr()
        if scope == 0, inet_pton(AF_INET, name, &v4) == 1 {
            self.init(family: .ipv4, high: UInt64(UInt32(bigEndian: v4.s_addr)) << 32, low: 0, port: port)
            return
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, name, &v6) == 1 else { return nil }
        let (h, l) = withUnsafeBytes(of: v6) { raw in
            (UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
             UInt64(bigEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
        }
        self.init(family: .ipv6, high: h, low: l, port: port, scopeID: scope)
    }

    /// The host part in its usual text form (`127.0.0.1`, `::1`, `fe80::1%2`).
    public var hostDescription: String {
        var storage = sockaddr_storage()
        write(to: &storage)
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        let af = family == .ipv4 ? AF_INET : AF_INET6
        let ok: Bool = withUnsafePointer(to: &storage) { p in
            let raw = UnsafeRawPointer(p)
            let addr = family == .ipv4
                ? raw + MemoryLayout<sockaddr_in>.offset(of: \.sin_addr)!
                : raw + MemoryLayout<sockaddr_in6>.offset(of: \.sin6_addr)!
            return inet_ntop(af, addr, &text, socklen_t(text.count)) != nil
        }
        guard ok else { return "?" }
        let host = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return scopeID != 0 ? host + "%" + String(scopeID) : host
    }

    public var description: String {
        family == .ipv4 ? hostDescription + ":" + String(port) : "[" + hostDescription + "]:" + String(port)
    }
}
