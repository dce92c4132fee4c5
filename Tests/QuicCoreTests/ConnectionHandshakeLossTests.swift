import XCTest
@testable import QuicCore
import QuicCrypto
import QuicWire

/// Handshakes whose first flights are lost: PTO probes must carry the unacknowledged
/// CRYPTO data in every probe datagram and in both handshake spaces (RFC 9002 §6.2.4), so a
/// single surviving probe restarts the handshake. Times are virtual (SimNetwork's clock).
final class ConnectionHandshakeLossTests: XCTestCase {
    /// Runs a handshake where the first `drop` datagrams `fromClient` (or from the server)
    /// are lost; returns the virtual time it took until both sides confirmed it.
    func handshakeTime(droppingFirst drop: Int, fromClient: Bool, seed: UInt64 = 1) throws -> QuicDuration {
        let net = SimConfigs.network(seed: seed, server: SimConfigs.server())
        var seen = 0
        net.tap = { toServer, bytes in
            guard toServer == fromClient else { return bytes }
            seen += 1
            return seen <= drop ? nil : bytes
        }
        let start = net.now
        let client = try net.connect(SimConfigs.client())
        let ok = net.run(for: 60_000_000) {
            client.isHandshakeConfirmed && (net.server.accepted.first?.isHandshakeConfirmed ?? false)
        }
        XCTAssertTrue(ok, "handshake did not complete")
        XCTAssertGreaterThan(seen, drop)
        return net.now - start
    }

    /// The client's Initial and the first of its two PTO probes are lost: the handshake still
    /// ends right after the first PTO (≈1 s with the 333 ms initial RTT), not after the next,
    /// doubled one (≈3 s). (Against our own server this held before the fix as well: the
    /// server acknowledges a PING-only Initial and the client's loss detection resends the
    /// ClientHello; MsQuic's and aioquic's servers do not, which is what the fix is for.)
    func testClientFirstTwoDatagramsLost() throws {
        let elapsed = try handshakeTime(droppingFirst: 2, fromClient: true)
        XCTAssertLessThan(elapsed, .seconds(2), "took \(elapsed)")
    }

    /// The server's first flight (Initial with the ServerHello coalesced with Handshake
    /// packets, over two datagrams) is lost: its probes repeat the Initial data along with
    /// the Handshake data.
    func testServerFirstTwoDatagramsLost() throws {
        let elapsed = try handshakeTime(droppingFirst: 2, fromClient: false)
        XCTAssertLessThan(elapsed, .seconds(2), "took \(elapsed)")
    }

    /// The Initial packets of a datagram, opened with the Initial keys of `odcid` (RFC 9001
    /// §5.2): for each, false when it is a probe without CRYPTO data (a PING and no CRYPTO
    /// frame), true otherwise (CRYPTO data, or only an ACK). Empty when the datagram holds no
    /// Initial (a Handshake or 1-RTT datagram) or the keys do not open it.
    static func initialsCarryCrypto(_ datagram: [UInt8], odcid: ConnectionID, fromClient: Bool) -> [Bool] {
        let keys = Crafted.initialKeys(odcid)
        guard let protector = try? PacketProtector(keys: fromClient ? keys.client : keys.server) else { return [] }
        var bytes = datagram
        var result: [Bool] = []
        var start = 0
        while start < bytes.count {
            let parsed: PacketHeader? = bytes.withUnsafeBytes { raw in
                try? PacketHeader.parse(UnsafeRawBufferPointer(rebasing: raw[start...]), shortHeaderDCIDLength: 8)
            }
            guard let h = parsed, h.isLongHeader, h.end > 0, start + h.end <= bytes.count else { break }
            let range = start..<(start + h.end)
            if h.kind == .initial,
               let opened = try? protector.unprotect(packet: &bytes, range: range, pnOffset: h.packetNumberOffset,
                                                     largestPacketNumber: nil) {
                var crypto = false, ping = false
                bytes.withUnsafeBytes { raw in
                    var d = FrameDecoder(UnsafeRawBufferPointer(rebasing: raw[range]), start: opened.payload.lowerBound,
                                         end: opened.payload.upperBound, packetKind: .initial)
                    while let f = try? d.next() {
                        if case .crypto = f { crypto = true }
                        if case .ping = f { ping = true }
                    }
                }
                result.append(crypto || !ping)
            }
            start += h.end
        }
        return result
    }

    /// Drops the first `drop` datagrams one side sends and, until the other side has heard
    /// anything, checks every Initial that side sends: each must carry CRYPTO data (its
    /// ClientHello or ServerHello), as a server that cannot start a connection from a
    /// PING-only Initial (MsQuic, aioquic) needs, and a client that has lost the ServerHello
    /// needs (RFC 9002 §6.2.4). Returns the virtual time the handshake took.
    func firstFlightDrop(_ drop: Int, fromClient: Bool) throws -> QuicDuration {
        let net = SimConfigs.network(seed: 3, server: SimConfigs.server())
        var seen = 0
        var checked = 0
        var bare: [Int] = []
        var odcid: ConnectionID?
        var otherSideHeard = false
        net.tap = { toServer, bytes in
            guard toServer == fromClient else {
                otherSideHeard = true
                return bytes
            }
            seen += 1
            if let odcid, !otherSideHeard || seen <= drop + 1 {
                let initials = Self.initialsCarryCrypto(bytes, odcid: odcid, fromClient: fromClient)
                checked += initials.count
                if initials.contains(false) { bare.append(seen) }
            }
            return seen <= drop ? nil : bytes
        }
        let start = net.now
        let client = try net.connect(SimConfigs.client())
        odcid = client.originalDestinationCID
        let ok = net.run(for: 60_000_000) {
            client.isHandshakeConfirmed && (net.server.accepted.first?.isHandshakeConfirmed ?? false)
        }
        XCTAssertTrue(ok, "dropping \(drop) first datagrams of the \(fromClient ? "client" : "server"): no handshake")
        XCTAssertGreaterThan(seen, drop)
        XCTAssertGreaterThanOrEqual(checked, drop + 1, "Initials checked")
        XCTAssertEqual(bare, [], "datagrams with a PING-only Initial probe (by send order)")
        return net.now - start
    }

    /// The first 1, 2 or 3 datagrams of the client's first flight (its Initial with the
    /// ClientHello, then its PTO probes) are lost: every probe repeats the ClientHello, and the
    /// handshake completes after one more PTO per lost round (1 s, 2 s, 4 s with the 333 ms
    /// initial RTT: RFC 9002 §6.2.1), never waiting for a further backoff.
    func testClientFirstFlightDropOneTwoThree() throws {
        for (n, bound) in [(1, 2), (2, 2), (3, 4)] {
            let elapsed = try firstFlightDrop(n, fromClient: true)
            XCTAssertLessThan(elapsed, .seconds(UInt64(bound)), "client drop \(n): took \(elapsed)")
        }
    }

    /// The same for the server's first flight (Initial with the ServerHello, coalesced with
    /// Handshake packets, over two datagrams): its probes carry the ServerHello every time.
    func testServerFirstFlightDropOneTwoThree() throws {
        for (n, bound) in [(1, 2), (2, 2), (3, 4)] {
            let elapsed = try firstFlightDrop(n, fromClient: false)
            XCTAssertLessThan(elapsed, .seconds(UInt64(bound)), "server drop \(n): took \(elapsed)")
        }
    }

    /// Found with aioquic as client at 30% loss: the server's packet with HANDSHAKE_DONE is
    /// lost, and so are the client's ACKs of the server's next probes. The server's PTO probes
    /// must repeat HANDSHAKE_DONE (RFC 9002 §6.2.4) rather than be bare PINGs, or the client
    /// stays unconfirmed (RFC 9001 §4.1.2) until the ACKs get through, here 3 s later.
    func testServerProbesRepeatHandshakeDone() throws {
        let net = SimConfigs.network(seed: 4, server: SimConfigs.server())
        var serverShort = 0
        let blockClientOneRTTUntil = net.now + .seconds(3)
        net.tap = { toServer, bytes in
            guard let first = bytes.first, first & 0x80 == 0 else { return bytes }  // short headers only
            if toServer { return net.now < blockClientOneRTTUntil ? nil : bytes }
            serverShort += 1
            return serverShort <= 1 ? nil : bytes   // the server's first 1-RTT datagram: HANDSHAKE_DONE
        }
        let client = try net.connect(SimConfigs.client())
        XCTAssertTrue(net.run(for: 10_000_000) { net.server.accepted.first?.isHandshakeComplete ?? false })
        let serverDone = net.now
        XCTAssertTrue(net.run(for: 10_000_000) { client.isHandshakeConfirmed })
        XCTAssertGreaterThan(serverShort, 1)
        XCTAssertLessThan(net.now - serverDone, .seconds(1), "HANDSHAKE_DONE came only after \(net.now - serverDone)")
    }

    /// 30% random loss both ways: 50 handshakes, every one completes (virtual time). Before
    /// probes repeated their CRYPTO data, seed 12 did not complete within 60 s.
    func testFiftyHandshakesAtThirtyPercentLoss() throws {
        var times: [QuicDuration] = []
        for seed in UInt64(1)...50 {
            let net = SimConfigs.network(seed: seed * 7919, server: SimConfigs.server())
            net.link.loss = 0.3
            let start = net.now
            let client = try net.connect(SimConfigs.client())
            let ok = net.run(for: 60_000_000) {
                client.isHandshakeConfirmed && (net.server.accepted.first?.isHandshakeConfirmed ?? false)
            }
            XCTAssertTrue(ok, "seed \(seed): handshake did not complete in 60 s")
            times.append(net.now - start)
        }
        XCTAssertEqual(times.count, 50)
    }
}
