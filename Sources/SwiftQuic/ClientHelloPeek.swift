// The listener's look at a client's first flight before any connection exists: MsQuic asks
// the application (NEW_CONNECTION, with the server name and ALPN list of the ClientHello)
// before it picks a configuration. The Initial packets are decrypted on a copy with the
// Initial keys anyone can derive (RFC 9001 §5.2), their CRYPTO frames are put in order and
// `TLSHandshake.peekClientHello` reads the ClientHello (RFC 8446 §4.1.2).

import QuicCrypto
import QuicTLS
import QuicWire

struct InitialPeek {
    let version: QuicVersion
    let dcid: ConnectionID
    /// CRYPTO bytes of the Initial packets seen so far, by offset.
    private var fragments: [UInt64: [UInt8]] = [:]
    private(set) var datagrams: [[UInt8]] = []

    init(version: QuicVersion, dcid: ConnectionID) {
        self.version = version
        self.dcid = dcid
    }

    /// Takes a client datagram (copied) and returns the ClientHello once it is whole; throws
    /// for a first message that is not a valid ClientHello.
    mutating func add(_ datagram: UnsafeRawBufferPointer) throws -> (ClientHelloInfo, [UInt8])? {
        datagrams.append(Array(datagram))
        var copy = Array(datagram)
        copy.withUnsafeMutableBytes { collect($0) }
        var data: [UInt8] = []
        while let next = fragments[UInt64(data.count)], !next.isEmpty {
            data += next
        }
        guard let info = try TLSHandshake.peekClientHello(data) else { return nil }
        return (info, data)
    }

    private mutating func collect(_ buffer: UnsafeMutableRawBufferPointer) {
        guard let pv = ProtectionVersion(wireVersion: version.rawValue) else { return }
        let keys = InitialSecrets.keys(version: pv, destinationConnectionID: dcid.bytes)
        guard let protector = try? PacketProtector(keys: keys.client) else { return }
        var packets = CoalescedPackets(UnsafeRawBufferPointer(buffer), shortHeaderDCIDLength: 0)
        while let header = try? packets.next() {
            guard header.kind == .initial, header.dcid == dcid else { continue }
            let packet = UnsafeMutableRawBufferPointer(rebasing: buffer[header.start..<header.end])
            guard let u = try? protector.unprotect(packet: packet, pnOffset: header.packetNumberOffset - header.start,
                                                   largestPacketNumber: nil) else { continue }
            let payload = UnsafeRawBufferPointer(packet)
            var decoder = FrameDecoder(payload, start: u.payload.lowerBound, end: u.payload.upperBound,
                                       packetKind: .initial, sender: .client)
            while let frame = try? decoder.next() {
                if case .crypto(let c) = frame, c.offset < 1 << 20 {
                    fragments[c.offset] = Array(payload[c.data])
                }
            }
        }
    }
}
