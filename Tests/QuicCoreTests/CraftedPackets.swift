import XCTest
@testable import QuicCore
import QuicCrypto
import QuicWire

/// Hand-made packets that a well-behaved peer would never send, protected with real keys so
/// that they pass the AEAD and reach the rule under test.
enum Crafted {
    /// A protected Initial or Handshake packet carrying `frames`, padded with PADDING so the
    /// datagram is at least `padTo` bytes. `reservedBits` (0...3) go in the first byte
    /// before protection (RFC 9000 §17.2).
    static func longPacket(type: LongPacketType = .initial, version: QuicVersion = .v1, dcid: ConnectionID,
                           scid: ConnectionID, token: [UInt8] = [], keys: PacketProtectionKeys, pn: UInt64,
                           frames: [UInt8], padTo: Int = 0, reservedBits: UInt8 = 0) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: max(padTo, 1500))
        let protector = try PacketProtector(keys: keys)
        let size: Int = try buffer.withUnsafeMutableBytes { raw in
            var w = WireWriter(raw)
            let h = try token.withUnsafeBytes { t in
                try PacketHeaderWriter.writeLongHeader(into: &w, type: type, version: version, dcid: dcid, scid: scid,
                                                       token: t, truncatedPacketNumber: PacketNumber.truncate(pn, length: 2),
                                                       packetNumberLength: 2)
            }
            try w.writeBytes(frames)
            while w.position - h.packetNumberOffset < 4 || w.position + PacketAEAD.tagLength < padTo { try w.writeUInt8(0) }
            let end = w.position + PacketAEAD.tagLength
            try PacketHeaderWriter.patchLength(raw, header: h, packetEnd: end)
            raw[h.start] |= (reservedBits & 0x03) << 2
            try protector.protect(packet: UnsafeMutableRawBufferPointer(rebasing: raw[h.start..<end]),
                                  pnOffset: h.packetNumberOffset - h.start, pnLength: 2, packetNumber: pn)
            return end
        }
        return Array(buffer[0..<size])
    }

    /// A Version Negotiation packet (RFC 9000 §17.2.1) to a client whose first Initial had
    /// `clientDCID` and `clientSCID`.
    static func versionNegotiation(clientDCID: ConnectionID, clientSCID: ConnectionID, versions: [QuicVersion]) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 64 + 4 * versions.count)
        let size: Int = try buffer.withUnsafeMutableBytes { raw in
            var w = WireWriter(raw)
            try clientSCID.bytes.withUnsafeBytes { d in
                try clientDCID.bytes.withUnsafeBytes { s in
                    try PacketHeaderWriter.writeVersionNegotiation(into: &w, dcid: d, scid: s, supportedVersions: versions)
                }
            }
            return w.position
        }
        return Array(buffer[0..<size])
    }

    /// Initial keys for a connection whose client chose `dcid` (RFC 9001 §5.2).
    static func initialKeys(_ dcid: ConnectionID, version: ProtectionVersion = .v1) -> (client: PacketProtectionKeys, server: PacketProtectionKeys) {
        InitialSecrets.keys(version: version, destinationConnectionID: dcid)
    }
}

extension Connection {
    /// The transport close this connection reported, if any (drains its events).
    func drainedTransportClose() -> ConnectionCloseReason? {
        var events: [ConnectionEvent] = []
        while let e = pollEvent() { events.append(e) }
        return events.transportClose
    }
}
