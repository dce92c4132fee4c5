// TEMPORARY until the recovery branch is merged (it defines the same type).
public enum PacketNumberSpace: Int, Sendable, CaseIterable, Comparable {
    case initial = 0
    case handshake = 1
    case application = 2
    public static func < (a: PacketNumberSpace, b: PacketNumberSpace) -> Bool { a.rawValue < b.rawValue }
}
