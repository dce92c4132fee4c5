// What is resent after loss and what is not (RFC 9000 §13.3), credit returned for discarded
// data, and resource bounds.

import XCTest
@testable import QuicCore
import QuicWire

final class StreamsRetransmissionTests: XCTestCase {
    func handle(_ m: StreamManager, _ f: Frame) throws {
        _ = try m.handle(f, payload: UnsafeRawBufferPointer(start: nil, count: 0))
    }

    func testLostResetStreamAndStopSendingAreResent() throws {
        let pair = StreamsPair()
        let id = try pair.client.openStream(bidirectional: true)
        try pair.client.resetSending(id, errorCode: 3)
        try pair.client.stopReceiving(id, errorCode: 4)
        let p = try XCTUnwrap(pair.packet(from: pair.client))
        XCTAssertEqual(p.records, [.resetStream(id: 0), .stopSending(id: 0)])
        for r in p.records { pair.client.onLost(r) }
        let again = try XCTUnwrap(pair.packet(from: pair.client))
        XCTAssertEqual(again.records, p.records)
        // Once acknowledged, nothing more.
        for r in again.records { pair.client.onAcked(r) }
        for r in p.records { pair.client.onLost(r) }  // a late loss report of the first copy
        XCTAssertEqual(pair.packet(from: pair.client)?.records ?? [], [.stopSending(id: 0)],
                       "STOP_SENDING is repeated while the peer may still send; RESET_STREAM was acknowledged")
    }

    func testNoMaxStreamDataOnceFinalSizeKnown() throws {
        let pair = StreamsPair(client: streamsConfig(.client), server: streamsConfig(.server, streamWindow: 100))
        let id = try pair.client.openStream(bidirectional: true)
        try pair.client.send(id, data: .owned(patternBytes(80)), fin: true, context: 0)
        try StreamsPair.deliver(try XCTUnwrap(pair.packet(from: pair.client)), to: pair.server)
        _ = try pair.server.readAll(id)
        // Half the window consumed, but the final size is known: no MAX_STREAM_DATA (§13.3).
        let p = pair.packet(from: pair.server)
        XCTAssertFalse(p?.records.contains { if case .maxStreamData = $0 { return true } else { return false } } ?? false)
    }

    func testStopReceivingReturnsConnectionCredit() throws {
        let pair = StreamsPair(client: streamsConfig(.client), server: streamsConfig(.server, maxData: 200, streamWindow: 1000))
        let id = try pair.client.openStream(bidirectional: true)
        try pair.client.send(id, data: .owned(patternBytes(150)), fin: false, context: 0)
        try StreamsPair.deliver(try XCTUnwrap(pair.packet(from: pair.client)), to: pair.server)
        // The server app never reads; it aborts instead. The 150 buffered bytes are credited back.
        try pair.server.stopReceiving(id, errorCode: 1)
        let p = try XCTUnwrap(pair.packet(from: pair.server))
        XCTAssertTrue(p.records.contains(.maxData(350)), "\(p.records)")
        XCTAssertTrue(p.records.contains(.stopSending(id: 0)))
        XCTAssertEqual(pair.server.stream(id)?.receiveBufferBytes, 0)
    }

    func testRequeueUnacknowledgedResendsForProbes() throws {
        let pair = StreamsPair()
        let id = try pair.client.openStream(bidirectional: true)
        try pair.client.send(id, data: .owned(patternBytes(100)), fin: true, context: 0)
        let p = try XCTUnwrap(pair.packet(from: pair.client))
        XCTAssertNil(pair.packet(from: pair.client))
        pair.client.requeueUnacknowledged()
        XCTAssertEqual(pair.packet(from: pair.client)?.records, p.records)
    }

    func testBorrowedSendDataIsReadInPlace() throws {
        let pair = StreamsPair()
        let id = try pair.client.openStream(bidirectional: false)
        let data = patternBytes(3000)
        try data.withUnsafeBytes { raw in
            try pair.client.send(id, data: .borrowed(raw), fin: true, context: 42)
            try pair.runLossless()
        }
        XCTAssertEqual(try pair.server.readAll(id), data)
        XCTAssertTrue(pair.client.drainEvents().contains(.sendComplete(id, context: 42, canceled: false)))
    }

    func testFragmentationIsBounded() throws {
        let m = StreamManager(config: streamsConfig(.server, maxData: 1 << 24, streamWindow: 1 << 20))
        m.setPeerTransportParameters(transportParameters(streamsConfig(.client)))
        let one: [UInt8] = [0xaa]
        var failure: QuicError?
        one.withUnsafeBytes { raw in
            for i in 0..<(ReceiveBuffer.maxGaps + 10) {
                do {
                    try m.handle(.stream(StreamFrame(streamID: 0, offset: UInt64(2 * i + 1), data: 0..<1, fin: false)), payload: raw)
                } catch {
                    failure = error as? QuicError
                    break
                }
            }
        }
        XCTAssertEqual(failure?.code, .internalError)
    }

    func testDuplicateStreamFramesDoNotDoubleCountOrRedeliver() throws {
        let pair = StreamsPair()
        let id = try pair.client.openStream(bidirectional: true)
        try pair.client.send(id, data: .owned(patternBytes(500)), fin: false, context: 0)
        let p = try XCTUnwrap(pair.packet(from: pair.client))
        try StreamsPair.deliver(p, to: pair.server)
        try StreamsPair.deliver(p, to: pair.server)
        XCTAssertEqual(pair.server.drainEvents(), [.peerStreamStarted(id), .dataAvailable(id)])
        XCTAssertEqual(pair.server.connectionReceive.received, 500)
        XCTAssertEqual(try pair.server.readAll(id), patternBytes(500))
    }

    func testShutdownImmediatelyCompletesAtOnceAndStillSendsAborts() throws {
        let pair = StreamsPair()
        let id = try pair.client.openStream(bidirectional: true)
        try pair.client.send(id, data: .owned(patternBytes(10)), fin: false, context: 8)
        try pair.runLossless()
        _ = pair.server.drainEvents()
        try pair.server.send(id, data: .owned(patternBytes(10)), fin: false, context: 0)
        _ = pair.client.drainEvents()
        try pair.client.shutdownImmediately(id, errorCode: 6)
        XCTAssertEqual(pair.client.drainEvents(), [.shutdownComplete(id)])
        XCTAssertNil(pair.client.stream(id))
        let p = try XCTUnwrap(pair.packet(from: pair.client))
        XCTAssertEqual(p.records, [.resetStream(id: 0), .stopSending(id: 0)])
        try StreamsPair.deliver(p, to: pair.server)
        let se = pair.server.drainEvents()
        XCTAssertTrue(se.contains(.peerSendAborted(id, errorCode: 6)))
        XCTAssertTrue(se.contains(.peerReceiveAborted(id, errorCode: 6)))
        // The server's data and reset for the forgotten stream are ignored by the client.
        try pair.runLossless()
        // Only the server's MAX_STREAMS for the finished stream reaches the client.
        XCTAssertEqual(pair.client.drainEvents(), [.streamsAvailable(bidirectional: 100, unidirectional: 100)])
        XCTAssertEqual(pair.server.openStreamCount, 0)
        XCTAssertFalse(pair.client.hasPendingFrames)
    }

    func testBlockedFramesFromPeerPromptCreditBelowThreshold() throws {
        let m = StreamManager(config: streamsConfig(.server, maxData: 1000, streamWindow: 1000))
        m.setPeerTransportParameters(transportParameters(streamsConfig(.client)))
        try patternBytes(100).withUnsafeBytes { b in
            _ = try m.handle(.stream(StreamFrame(streamID: 0, offset: 0, data: 0..<100, fin: false)), payload: b)
        }
        _ = try m.readAll(streamID(0))
        // 100 of 1000 consumed: below the half-window threshold, nothing is sent by itself.
        XCTAssertFalse(m.hasPendingFrames)
        try handle(m, .streamDataBlocked(streamID: 0, maximumStreamData: 1000))
        try handle(m, .dataBlocked(maximumData: 1000))
        var sent: [StreamsSentFrame] = []
        var buf = [UInt8](repeating: 0, count: 100)
        buf.withUnsafeMutableBytes { b in
            var w = WireWriter(b)
            m.writeFrames(into: &w, sent: &sent)
        }
        XCTAssertEqual(sent, [.maxData(1100), .maxStreamData(id: 0, 1100)])
    }
}
