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
    /// Bytes held (datagrams and CRYPTO fragments), for the handshake budget.
    private(set) var footprint = 0

    /// What a datagram added to the first flight.
    enum Outcome {
        /// No Initial packet for this DCID in it could be decrypted with the Initial keys
        /// (RFC 9001 §5.2): junk, nothing was kept.
        case undecryptable
        /// Kept; the ClientHello is not whole yet.
        case incomplete
        /// The whole ClientHello: what the listener needs and its bytes.
        case complete(ClientHelloInfo, [UInt8])
    }

    init(version: QuicVersion, dcid: ConnectionID) {
        self.version = version
        self.dcid = dcid
    }

    /// Takes a client datagram and returns the ClientHello once it is whole; throws for a
    /// first message that is not a valid ClientHello. A datagram in which nothing decrypts
    /// is not kept (an unauthenticated stranger's junk costs no memory).
    mutating func add(_ datagram: UnsafeRawBufferPointer) throws -> Outcome {
        var copy = Array(datagram)
        let decrypted = copy.withUnsafeMutableBytes { collect($0) }
        guard decrypted else { return .undecryptable }
        datagrams.append(Array(datagram))
        footprint += datagram.count
        var data: [UInt8] = []
        while let next = fragments[UInt64(data.count)], !next.isEmpty {
            data += next
        }
        guard let info = try TLSHandshake.peekClientHello(data) else { return .incomplete }
        return .complete(info, data)
    }

    /// Decrypts the datagram's Initial packets for this DCID (on a copy) and files their
    /// CRYPTO data; true when at least one packet decrypted.
    private mutating func collect(_ buffer: UnsafeMutableRawBufferPointer) -> Bool {
        guard let pv = ProtectionVersion(wireVersion: version.rawValue) else { return false }
        let keys = InitialSecrets.keys(version: pv, destinationConnectionID: dcid.bytes)
        guard let protector = try? PacketProtector(keys: keys.client) else { return false }
        var decrypted = false
        var packets = CoalescedPackets(UnsafeRawBufferPointer(buffer), shortHeaderDCIDLength: 0)
        while let header = try? packets.next() {
            guard header.kind == .initial, header.dcid == dcid else { continue }
            let packet = UnsafeMutableRawBufferPointer(rebasing: buffer[header.start..<header.end])
            guard let u = try? protector.unprotect(packet: packet, pnOffset: header.packetNumberOffset - header.start,
                                                   largestPacketNumber: nil) else { continue }
            decrypted = true
            let payload = UnsafeRawBufferPointer(packet)
            var decoder = FrameDecoder(payload, start: u.payload.lowerBound, end: u.payload.upperBound,
                                       packetKind: .initial, sender: .client)
            while let frame = try? decoder.next() {
                // A ClientHello is a few KB: CRYPTO data beyond 64 KiB is not a first flight.
                // A longer fragment at the same offset (a retransmission split differently)
                // replaces a shorter one.
                if case .crypto(let c) = frame, c.offset < 1 << 16, c.data.count > (fragments[c.offset]?.count ?? -1) {
                    footprint += c.data.count - (fragments[c.offset]?.count ?? 0)
                    fragments[c.offset] = Array(payload[c.data])
                }
            }
        }
        return decrypted
    }
}
