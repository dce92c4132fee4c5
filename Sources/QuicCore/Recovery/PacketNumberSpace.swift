// Packet number spaces (RFC 9000 §12.3) and a fixed three-slot container indexed by them, so
// per-space state lives inline (no array, no allocation).

/// The three packet number spaces of RFC 9000 §12.3. 0-RTT and 1-RTT share `application`.
public enum PacketNumberSpace: Int, Sendable, CaseIterable, Comparable {
    case initial = 0
    case handshake = 1
    case application = 2

    public static func < (a: PacketNumberSpace, b: PacketNumberSpace) -> Bool { a.rawValue < b.rawValue }
}

/// One value per packet number space, stored inline.
public struct PerSpace<Value> {
    public var initial: Value
    public var handshake: Value
    public var application: Value

    @inlinable
    public init(_ initial: Value, _ handshake: Value, _ application: Value) {
        self.initial = initial; self.handshake = handshake; self.application = application
    }

    @inlinable
    public init(repeating value: Value) {
        self.initial = value; self.handshake = value; self.application = value
    }

    @inlinable
    public subscript(space: PacketNumberSpace) -> Value {
        get {
            switch space {
            case .initial: return initial
            case .handshake: return handshake
            case .application: return application
            }
        }
        _modify {
            switch space {
            case .initial: yield &initial
            case .handshake: yield &handshake
            case .application: yield &application
            }
        }
    }
}

extension PerSpace: Sendable where Value: Sendable {}
