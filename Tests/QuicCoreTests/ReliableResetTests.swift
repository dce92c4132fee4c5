import XCTest
@testable import QuicCore
import QuicTLS
import QuicWire

/// Reliable stream reset (draft-ietf-quic-reliable-stream-reset; MsQuic's ReliableResetEnabled)
/// on the simulated network.
final class ReliableResetTests: XCTestCase {
    func pair(client clientEnabled: Bool = true, server serverEnabled: Bool = true, seed: UInt64 = 5)
        throws -> (SimNetwork, Connection, Connection) {
        var cc = SimConfigs.client(); cc.reliableResetEnabled = clientEnabled
        var sc = SimConfigs.server(); sc.reliableResetEnabled = serverEnabled
        let net = SimConfigs.network(seed: seed, server: sc)
        let c = try net.connect(cc)
        XCTAssertTrue(net.run { c.isHandshakeConfirmed && (net.server.accepted.first?.isHandshakeConfirmed ?? false) })
        return (net, c, try XCTUnwrap(net.server.accepted.first))
    }

    func negotiatedEvents(_ events: [ConnectionEvent]) -> [Bool] {
        events.compactMap { if case .reliableResetNegotiated(let b) = $0 { return b }; return nil }
    }

    func pattern(_ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) } }

    /// Reads everything the server gets on `id` until the peer's FIN or reset.
    final class Reader {
        var data: [UInt8] = []
        var abortedCode: UInt64?
        var fin = false
        var dataAtAbort = -1
        func pump(_ c: Connection, _ id: StreamID, events: [ConnectionEvent]) {
            while let (bytes, f) = Optional(c.read(stream: id)), !bytes.isEmpty || f {
                data += bytes
                if f { fin = true; break }
            }
            for e in events {
                if case .stream(.peerSendAborted(let sid, let code)) = e, sid == id, abortedCode == nil {
                    abortedCode = code
                    dataAtAbort = data.count
                }
            }
        }
    }

    func testNegotiationEventOnBothSides() throws {
        let (net, client, server) = try pair()
        XCTAssertEqual(negotiatedEvents(net.client.events(client)), [true])
        XCTAssertEqual(negotiatedEvents(net.server.events(server)), [true])
        XCTAssertTrue(client.streams.reliableResetNegotiated)
        XCTAssertEqual(client.streams.reliableResetFrameType, FrameType.reliableResetStreamMsQuic)
    }

    func testOneSideDisabledIsNotNegotiatedAndTheOtherGetsNoEvent() throws {
        let (net, client, server) = try pair(server: false)
        XCTAssertEqual(negotiatedEvents(net.client.events(client)), [false])
        XCTAssertEqual(negotiatedEvents(net.server.events(server)), [], "no event without the local setting (MsQuic)")
        XCTAssertEqual(client.peerTransportParameters?.reliableResetMsQuic, false)
        let id = try client.openStream(bidirectional: false)
        try client.send(stream: id, bytes: pattern(1000))
        XCTAssertThrowsError(try client.streams.setReliableOffset(id, 500), "INVALID_STATE when not negotiated")
    }

    /// 200 KB queued, reliable offset 120,000, then an abortive send shutdown before most of
    /// it went out: the server reads exactly the first 120,000 bytes, then the reset. The first
    /// client datagrams after the reset are dropped, so data below the offset is retransmitted.
    func testDataBelowTheReliableOffsetIsDeliveredThenTheReset() throws {
        let (net, client, server) = try pair()
        let size = 200_000, reliable = 120_000
        let bytes = pattern(size)
        let id = try client.openStream(bidirectional: false)
        try client.send(stream: id, bytes: bytes, context: 7)
        try client.streams.setReliableOffset(id, UInt64(reliable))
        try client.resetStream(id, errorCode: 42)
        XCTAssertTrue(try XCTUnwrap(client.streams.streams[id.rawValue]).reliableResetSent)
        var dropped = 0
        net.tap = { toServer, b in
            if toServer && dropped < 3 { dropped += 1; return nil }
            return b
        }
        let reader = Reader()
        let ok = net.run(for: 30_000_000) {
            reader.pump(server, id, events: net.server.events(server))
            return reader.abortedCode != nil
                && net.client.events(client).contains(.stream(.sendShutdownComplete(id, graceful: false)))
        }
        XCTAssertTrue(ok, "the reliable reset did not complete")
        XCTAssertEqual(dropped, 3)
        XCTAssertGreaterThan(client.counters.lostPackets, 0, "nothing was retransmitted")
        XCTAssertEqual(reader.abortedCode, 42)
        XCTAssertEqual(reader.dataAtAbort, reliable, "the reset is reported after the reliable data")
        XCTAssertEqual(reader.data, Array(bytes[0..<reliable]))
        XCTAssertFalse(reader.fin)
        // The send request went beyond the reliable offset: canceled, as MsQuic does.
        XCTAssertTrue(net.client.events(client).contains(.stream(.sendComplete(id, context: 7, canceled: true))))
        XCTAssertFalse(client.isClosed); XCTAssertFalse(server.isClosed)
    }

    /// Send requests wholly below the reliable offset complete normally once acknowledged.
    func testRequestsBelowTheOffsetCompleteAndLaterOnesAreCanceled() throws {
        let (net, client, server) = try pair()
        let id = try client.openStream(bidirectional: false)
        try client.send(stream: id, bytes: pattern(5000), context: 1)
        try client.send(stream: id, bytes: pattern(5000), context: 2)
        try client.streams.setReliableOffset(id, 5000)
        try client.resetStream(id, errorCode: 9)
        let reader = Reader()
        XCTAssertTrue(net.run(for: 10_000_000) {
            reader.pump(server, id, events: net.server.events(server))
            return reader.abortedCode != nil
        })
        let events = net.client.events(client)
        XCTAssertTrue(events.contains(.stream(.sendComplete(id, context: 2, canceled: true))))
        XCTAssertTrue(net.run(for: 5_000_000) { net.client.events(client).contains(.stream(.sendComplete(id, context: 1, canceled: false))) })
        XCTAssertEqual(reader.data.count, 5000)
    }

    func testNotNegotiatedGivesAPlainResetStream() throws {
        let (net, client, server) = try pair(server: false)
        let id = try client.openStream(bidirectional: false)
        try client.send(stream: id, bytes: pattern(200_000))
        try client.resetStream(id, errorCode: 5)
        XCTAssertFalse(try XCTUnwrap(client.streams.streams[id.rawValue]).reliableResetSent)
        let reader = Reader()
        XCTAssertTrue(net.run(for: 10_000_000) {
            reader.pump(server, id, events: net.server.events(server))
            return reader.abortedCode != nil
        })
        XCTAssertEqual(reader.abortedCode, 5)
        XCTAssertNil(server.streams.peerReliableSize(id))
        XCTAssertFalse(server.isClosed)
    }

    func testResetStreamAtWithoutAdvertisingIsProtocolViolation() throws {
        let (net, client, server) = try pair(client: true, server: false)
        let id = try client.openStream(bidirectional: false)
        try client.send(stream: id, bytes: pattern(100))
        // RELIABLE_RESET_STREAM (0x21): stream, code 1, final size 100, reliable size 50.
        client.injectedFrames.append([0x21, UInt8(id.rawValue), 0x01, 0x40, 100, 0x32])
        XCTAssertTrue(net.run(for: 10_000_000) { server.isClosed && client.isClosed })
        XCTAssertEqual(net.server.events(server).transportClose?.errorCode, TransportErrorCode.protocolViolation.rawValue)
    }

    func testLaterResetStreamAtCannotRaiseTheReliableSize() throws {
        let (net, client, server) = try pair()
        let id = try client.openStream(bidirectional: false)
        try client.send(stream: id, bytes: pattern(100))
        net.run(for: 200_000)
        // 0x24 RESET_STREAM_AT: final size 100, reliable 40; then reliable 80 (ignored).
        client.injectedFrames.append([0x24, UInt8(id.rawValue), 0x03, 0x40, 100, 40])
        net.run(for: 200_000)
        XCTAssertEqual(server.streams.peerReliableSize(id), 40)
        client.injectedFrames.append([0x24, UInt8(id.rawValue), 0x03, 0x40, 100, 0x40, 80])
        net.run(for: 200_000)
        XCTAssertEqual(server.streams.peerReliableSize(id), 40)
        let (bytes, fin) = server.read(stream: id)
        XCTAssertEqual(bytes.count, 40)
        XCTAssertFalse(fin)
        net.run(for: 100_000)
        XCTAssertTrue(net.server.events(server).contains(.stream(.peerSendAborted(id, errorCode: 3))))
        XCTAssertFalse(server.isClosed)
    }
}
