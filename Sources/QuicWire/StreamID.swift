// Stream identifiers (RFC 9000 §2.1): the two least significant bits give the initiator
// (0x01: server) and the direction (0x02: unidirectional); the rest is the stream index.

public struct StreamID: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64

    @inlinable public init(rawValue: UInt64) { self.rawValue = rawValue }
    @inlinable public init(_ rawValue: UInt64) { self.rawValue = rawValue }

    /// The `index`-th stream of the given initiator and direction; nil if the resulting ID
    /// would exceed 2^62-1.
    @inlinable
    public init?(index: UInt64, initiator: EndpointRole, bidirectional: Bool) {
        guard index < (1 << 60) else { return nil }
        rawValue = index << 2 | (initiator == .server ? 0x01 : 0) | (bidirectional ? 0 : 0x02)
    }

    /// RFC 9000 §2.1: bit 0x01 is 0 for client-initiated streams.
    @inlinable public var initiator: EndpointRole { rawValue & 0x01 == 0 ? .client : .server }
    /// RFC 9000 §2.1: bit 0x02 is 0 for bidirectional streams.
    @inlinable public var isBidirectional: Bool { rawValue & 0x02 == 0 }
    @inlinable public var isUnidirectional: Bool { !isBidirectional }
    /// The position of the stream among those of its type (what MAX_STREAMS counts, §4.6).
    @inlinable public var index: UInt64 { rawValue >> 2 }

    /// True if `role` may send data on this stream: both ends of a bidirectional stream, only
    /// the initiator of a unidirectional one (RFC 9000 §2.1).
    @inlinable public func canSend(_ role: EndpointRole) -> Bool { isBidirectional || initiator == role }
    /// True if `role` may receive data on this stream.
    @inlinable public func canReceive(_ role: EndpointRole) -> Bool { isBidirectional || initiator != role }

    @inlinable public static func < (a: StreamID, b: StreamID) -> Bool { a.rawValue < b.rawValue }

    public var description: String { String(rawValue) }
}
