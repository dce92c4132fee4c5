// MsQuic's per-stream options that the engine carries out: delayed MAX_STREAMS credit
// (QUIC_STREAM_OPEN_FLAG_DELAY_ID_FC_UPDATES) and cancel-on-loss streams
// (QUIC_SEND_FLAG_CANCEL_ON_LOSS); and the handshake flight sizes of QUIC_STATISTICS.

import XCTest
@testable import QuicCore
import QuicTLS
import QuicWire
import QuicCrypto

final class StreamsMsQuicFlagsTests: XCTestCase {
    /// The client opens one bidirectional stream (the server allows one at a time), both sides
    /// finish it, and the exchange settles. Returns the stream's ID.
    private func finishOneStream(_ pair: StreamsPair, delay: Bool) throws -> StreamID {
        let id = try pair.client.openStream(bidirectional: true)
        try pair.client.send(id, data: .owned([1, 2, 3]), fin: true, context: 1)
        try pair.runLossless()
        let started = pair.server.drainEvents().contains(.peerStreamStarted(id))
        XCTAssertTrue(started)
        if delay { pair.server.delayStreamCredit(id) }
        XCTAssertEqual(try pair.server.readAll(id), [1, 2, 3])
        try pair.server.finishSending(id)
        try pair.runLossless()
        _ = try pair.client.readAll(id)
        try pair.runLossless()
        XCTAssertNil(pair.server.stream(id), "the stream ended at the server")
        return id
    }

    // RFC 9000 §4.6: a finished peer stream lets the peer open another (MAX_STREAMS).
    func testFinishedPeerStreamReturnsCreditAtOnceByDefault() throws {
        let pair = StreamsPair(server: streamsConfig(.server, maxStreams: 1))
        XCTAssertEqual(pair.client.openableStreams(bidirectional: true), 1)
        _ = try finishOneStream(pair, delay: false)
        XCTAssertEqual(pair.client.openableStreams(bidirectional: true), 1, "MAX_STREAMS 2 arrived")
    }

    // DELAY_ID_FC_UPDATES: the credit waits for the application's StreamClose.
    func testDelayedCreditWaitsForRelease() throws {
        let pair = StreamsPair(server: streamsConfig(.server, maxStreams: 1))
        let id = try finishOneStream(pair, delay: true)
        XCTAssertEqual(pair.client.openableStreams(bidirectional: true), 0, "no MAX_STREAMS before the close")
        pair.server.releaseStreamCredit(id)
        try pair.runLossless()
        XCTAssertEqual(pair.client.openableStreams(bidirectional: true), 1)
        // A second release (or one for an unknown stream) gives nothing more.
        pair.server.releaseStreamCredit(id)
        pair.server.releaseStreamCredit(streamID(400))
        try pair.runLossless()
        XCTAssertEqual(pair.client.openableStreams(bidirectional: true), 1)
    }

    // Released while the stream still runs: the credit comes back when it ends, as usual.
    func testReleaseBeforeTheEndReturnsCreditAtTheEnd() throws {
        let pair = StreamsPair(server: streamsConfig(.server, maxStreams: 1))
        let id = try pair.client.openStream(bidirectional: true)
        try pair.client.send(id, data: .owned([9]), fin: true, context: 1)
        try pair.runLossless()
        _ = pair.server.drainEvents()
        pair.server.delayStreamCredit(id)
        pair.server.releaseStreamCredit(id)
        XCTAssertEqual(try pair.server.readAll(id), [9])
        try pair.server.finishSending(id)
        try pair.runLossless()
        _ = try pair.client.readAll(id)
        try pair.runLossless()
        XCTAssertEqual(pair.client.openableStreams(bidirectional: true), 1)
    }

    // Our own streams never hold the peer's credit.
    func testDelayOnLocalStreamIsIgnored() throws {
        let pair = StreamsPair()
        let id = try pair.client.openStream(bidirectional: true)
        pair.client.delayStreamCredit(id)
        XCTAssertFalse(try XCTUnwrap(pair.client.stream(id)).delaysStreamCredit)
    }

    // QUIC_SEND_FLAG_CANCEL_ON_LOSS: lost data is reported once and never resent.
    func testCancelOnLossReportsInsteadOfResending() throws {
        let pair = StreamsPair()
        let id = try pair.client.openStream(bidirectional: true)
        pair.client.setCancelOnLoss(id)
        try pair.client.send(id, data: .owned(patternBytes(500)), fin: false, context: 1)
        let p = try XCTUnwrap(pair.packet(from: pair.client))
        XCTAssertNil(pair.packet(from: pair.client))
        for r in p.records { pair.client.onLost(r) }
        XCTAssertEqual(pair.client.drainEvents().filter { $0 == .cancelOnLoss(id) }.count, 1)
        XCTAssertNil(pair.packet(from: pair.client), "nothing is retransmitted")
        // Further losses are not reported again.
        for r in p.records { pair.client.onLost(r) }
        XCTAssertFalse(pair.client.drainEvents().contains(.cancelOnLoss(id)))
    }

    // Without the flag the same loss is resent (the control case).
    func testLossWithoutTheFlagIsResent() throws {
        let pair = StreamsPair()
        let id = try pair.client.openStream(bidirectional: true)
        try pair.client.send(id, data: .owned(patternBytes(500)), fin: false, context: 1)
        let p = try XCTUnwrap(pair.packet(from: pair.client))
        for r in p.records { pair.client.onLost(r) }
        XCTAssertFalse(pair.client.drainEvents().contains(.cancelOnLoss(id)))
        XCTAssertNotNil(pair.packet(from: pair.client))
    }

    // A "loss" of data already acknowledged (a spurious loss) has nothing to resend: no cancel.
    func testCancelOnLossIgnoresLossOfAcknowledgedData() throws {
        let pair = StreamsPair()
        let id = try pair.client.openStream(bidirectional: true)
        pair.client.setCancelOnLoss(id)
        try pair.client.send(id, data: .owned(patternBytes(100)), fin: false, context: 1)
        let p = try XCTUnwrap(pair.packet(from: pair.client))
        try StreamsPair.deliver(p, to: pair.server)
        for r in p.records { pair.client.onAcked(r) }
        for r in p.records { pair.client.onLost(r) }
        XCTAssertFalse(pair.client.drainEvents().contains(.cancelOnLoss(id)))
    }

    // A PTO probe would resend outstanding data: for a cancel-on-loss stream that is a loss
    // (as in MsQuic, whose probes go through the loss path).
    func testProbeOfCancelOnLossStreamCancels() throws {
        let pair = StreamsPair()
        let id = try pair.client.openStream(bidirectional: true)
        pair.client.setCancelOnLoss(id)
        try pair.client.send(id, data: .owned(patternBytes(100)), fin: false, context: 1)
        _ = try XCTUnwrap(pair.packet(from: pair.client))
        pair.client.requeueUnacknowledged()
        XCTAssertTrue(pair.client.drainEvents().contains(.cancelOnLoss(id)))
        XCTAssertNil(pair.packet(from: pair.client))
    }
}

final class HandshakeFlightBytesTests: XCTestCase {
    // MsQuic (crypto.c) records the TLS bytes of each flight once it is complete. Without a
    // client certificate the client's second flight is its Finished alone: a 4-byte handshake
    // header and the verify data, as long as the suite's hash (RFC 8446 §4.4.4).
    func testFlightSizes() throws {
        for (suite, hashLength) in [(CipherSuite.aes128GcmSha256, 32), (.aes256GcmSha384, 48)] {
            let net = SimConfigs.network(server: SimConfigs.server(suites: [suite]))
            let client = try net.connect(SimConfigs.client(suites: [suite]))
            XCTAssertEqual(client.statistics.handshakeClientFlight1Bytes, 0, "not before the flight ends")
            XCTAssertTrue(net.run { client.isHandshakeComplete && (net.server.accepted.first?.isHandshakeComplete ?? false) })
            let c = client.statistics
            let s = try XCTUnwrap(net.server.accepted.first).statistics
            XCTAssertGreaterThan(c.handshakeClientFlight1Bytes, 100, "a ClientHello with transport parameters")
            XCTAssertEqual(c.handshakeClientFlight2Bytes, UInt32(4 + hashLength), "\(suite): the client's Finished")
            XCTAssertEqual(c.handshakeServerFlight1Bytes, 0, "server figure, not the client's")
            XCTAssertGreaterThan(s.handshakeServerFlight1Bytes, 500, "ServerHello through Finished, with a certificate")
            XCTAssertEqual(s.handshakeClientFlight1Bytes, 0)
            XCTAssertEqual(s.handshakeClientFlight2Bytes, 0)
        }
    }
}

// QUIC_STREAM_STATISTICS: the stream's and the connection's blocked times.
final class BlockedTimingsTests: XCTestCase {
    func testTimerSumsClosedIntervalsAndTheOpenOne() {
        var t = BlockedTimer()
        t.set(true, now: 100)
        t.set(true, now: 150)                       // already blocked: the start stays
        t.set(false, now: 300)
        XCTAssertEqual(t.total(at: 1000).microseconds, 200)
        t.set(false, now: 400)                      // not blocked: nothing changes
        t.set(true, now: 500)
        XCTAssertEqual(t.total(at: 700).microseconds, 400, "the open interval counts up to the query")
        XCTAssertEqual(t.total(at: 400).microseconds, 200, "a query before the start adds nothing")
    }

    private func handle(_ m: StreamManager, _ f: Frame) throws {
        _ = try m.handle(f, payload: UnsafeRawBufferPointer(start: nil, count: 0))
    }

    // MsQuic's QUIC_FLOW_BLOCKED_APP: from the start until the application queues data, and
    // again once everything queued went out, until it ends the stream.
    func testAppBlockedWhileNothingIsQueued() throws {
        let pair = StreamsPair()
        let m = pair.client
        m.now = 1_000
        let id = try m.openStream(bidirectional: true)
        m.now = 1_100
        try m.send(id, data: .owned(patternBytes(100)), fin: false, context: 1)
        m.now = 1_150
        _ = try XCTUnwrap(pair.packet(from: m))
        m.now = 1_400
        var t = try XCTUnwrap(m.stream(id)).blocked
        XCTAssertEqual(t.app.total(at: 1_400).microseconds, 100 + 250)
        XCTAssertEqual(t.flowControl.total(at: 1_400).microseconds, 0)
        try m.finishSending(id)                      // ending the stream: no longer waiting for the app
        t = try XCTUnwrap(m.stream(id)).blocked
        XCTAssertEqual(t.app.total(at: 5_000).microseconds, 350)
    }

    // RFC 9000 §4.1: data held by the stream's limit until MAX_STREAM_DATA.
    func testStreamFlowControlBlockedUntilMaxStreamData() throws {
        let pair = StreamsPair(server: streamsConfig(.server, streamWindow: 1000))
        let m = pair.client
        m.now = 0
        let id = try m.openStream(bidirectional: true)
        try m.send(id, data: .owned(patternBytes(3000)), fin: true, context: 1)
        while pair.packet(from: m) != nil {}
        XCTAssertTrue(try XCTUnwrap(m.stream(id)).blocked.flowControl.isBlocked)
        m.now = 2_000
        try handle(m, .maxStreamData(streamID: id.rawValue, maximumStreamData: 5000))
        let t = try XCTUnwrap(m.stream(id)).blocked
        XCTAssertFalse(t.flowControl.isBlocked)
        XCTAssertEqual(t.flowControl.total(at: 9_000).microseconds, 2_000)
    }

    // RFC 9000 §4.1: connection data held by MAX_DATA.
    func testConnectionFlowControlBlockedUntilMaxData() throws {
        let pair = StreamsPair(server: streamsConfig(.server, maxData: 1500, streamWindow: 100_000))
        let m = pair.client
        m.now = 10
        let id = try m.openStream(bidirectional: true)
        try m.send(id, data: .owned(patternBytes(4000)), fin: false, context: 1)
        while pair.packet(from: m) != nil {}
        XCTAssertTrue(m.connectionFlowControlBlocked.isBlocked)
        m.now = 510
        try handle(m, .maxData(100_000))
        XCTAssertFalse(m.connectionFlowControlBlocked.isBlocked)
        XCTAssertEqual(m.connectionFlowControlBlocked.total(at: 600).microseconds, 500)
    }

    // The stream's figures survive its end: the API layer takes them with the event.
    func testFinishedStreamHandsOverItsTimings() throws {
        let pair = StreamsPair()
        pair.client.now = 0
        pair.server.now = 0
        let id = try pair.client.openStream(bidirectional: true)
        pair.client.now = 700
        try pair.client.send(id, data: .owned([1]), fin: true, context: 1)
        try pair.runLossless()
        _ = try pair.server.readAll(id)
        try pair.server.finishSending(id)
        try pair.runLossless()
        _ = try pair.client.readAll(id)
        try pair.runLossless()
        XCTAssertTrue(pair.client.drainEvents().contains(.shutdownComplete(id)))
        let t = try XCTUnwrap(pair.client.takeFinishedBlockedTimings(id))
        XCTAssertEqual(t.app.total(at: 99_999).microseconds, 700, "blocked on the app until the send, frozen at the end")
        XCTAssertNil(pair.client.takeFinishedBlockedTimings(id), "taken once")
    }
}

extension BlockedTimingsTests {
    // A 1 MB upload outgrows the initial congestion window: the connection records time
    // waiting for the window or the pacer, and none of either while idle afterwards.
    func testBulkUploadWaitsOnCongestionControlOrPacing() throws {
        let net = SimConfigs.network()
        let client = try net.connect(SimConfigs.client())
        XCTAssertTrue(net.run { client.isHandshakeConfirmed && (net.server.accepted.first?.isHandshakeComplete ?? false) })
        let server = try XCTUnwrap(net.server.accepted.first)
        let id = try client.openStream(bidirectional: true)
        try client.send(stream: id, bytes: patternBytes(1_000_000), fin: true)
        let sink = StreamSink()
        XCTAssertTrue(net.run(for: 600_000_000) {
            sink.pump(server, events: net.server.events(server))
            return sink.fin.contains(id)
        })
        let t = client.blockedTimings
        let waited = t.congestionControl.total(at: net.now).microseconds + t.pacing.total(at: net.now).microseconds
        XCTAssertGreaterThan(waited, 0, "slow start holds data back")
        XCTAssertFalse(t.congestionControl.isBlocked || t.pacing.isBlocked, "nothing waits once everything is sent")
        XCTAssertEqual(t.scheduling.total(at: net.now), .zero)
        XCTAssertEqual(server.blockedTimings.congestionControl.total(at: net.now), .zero, "the receiver sent no data")
    }
}
