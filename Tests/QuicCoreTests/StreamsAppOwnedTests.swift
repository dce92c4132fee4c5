// App-owned receive mode (StreamManager+AppOwned.swift): the stream's limit is the space the
// application provided (RFC 9000 §4.1 "a receiver advertises credit it is willing to buffer"),
// offered as soon as it grows, never lowered; data beyond the space asks for more, and data
// beyond the advertised limit stays a FLOW_CONTROL_ERROR.

import XCTest
@testable import QuicCore
import QuicWire

final class StreamsAppOwnedTests: XCTestCase {
    /// A client stream in app-owned mode (the client's initial window 1000) receiving from the
    /// server; the stream is opened at the server by one byte from the client.
    func makePair(clientWindow: UInt64 = 1000) throws -> (StreamsPair, StreamID) {
        let pair = StreamsPair(client: streamsConfig(.client, streamWindow: clientWindow),
                               server: streamsConfig(.server))
        let id = try pair.client.openStream(bidirectional: true)
        try pair.client.setAppOwnedReceive(id)
        try pair.client.send(id, data: .owned([1]), fin: false, context: 1)
        try StreamsPair.deliver(try XCTUnwrap(pair.packet(from: pair.client)), to: pair.server)
        XCTAssertEqual(try pair.server.readAll(id), [1])
        _ = pair.client.drainEvents()
        _ = pair.server.drainEvents()
        return (pair, id)
    }

    func records(_ p: TestPacket?) -> [StreamsSentFrame] { p?.records ?? [] }

    func testLimitFollowsTheProvidedSpaceNotTheConsumedData() throws {
        let (pair, id) = try makePair()
        try pair.client.provideReceiveSpace(id, bytes: 1000)
        // Providing no more than the initial window advertises nothing new.
        XCTAssertFalse(records(pair.packet(from: pair.client)).contains { if case .maxStreamData = $0 { true } else { false } })
        try pair.server.send(id, data: .owned(patternBytes(5000)), fin: false, context: 2)
        try StreamsPair.deliver(try XCTUnwrap(pair.packet(from: pair.server)), to: pair.client)
        // The server is held at 1000 (then reports STREAM_DATA_BLOCKED).
        let blocked = try XCTUnwrap(pair.packet(from: pair.server))
        XCTAssertEqual(blocked.records, [.streamDataBlocked(id: id.rawValue, 1000)])
        try StreamsPair.deliver(blocked, to: pair.client)
        XCTAssertEqual(try pair.client.readAll(id).count, 1000)
        XCTAssertEqual(pair.client.receiveSpaceShortfall(id), 0)
        // Consumption alone gives no stream credit (a MAX_DATA for the connection may go).
        XCTAssertFalse(records(pair.packet(from: pair.client)).contains { if case .maxStreamData = $0 { true } else { false } })
        // 700 more bytes of space: MAX_STREAM_DATA 1700 at once.
        try pair.client.provideReceiveSpace(id, bytes: 700)
        let credit = records(pair.packet(from: pair.client))
        XCTAssertTrue(credit.contains(.maxStreamData(id: id.rawValue, 1700)), "\(credit)")
        XCTAssertEqual(pair.client.stream(id)?.providedEnd, 1700)
    }

    func testDataBeyondTheSpaceAsksForMoreBeforeItIsIndicated() throws {
        let (pair, id) = try makePair()
        try pair.client.provideReceiveSpace(id, bytes: 300)
        try pair.server.send(id, data: .owned(patternBytes(1000)), fin: false, context: 2)
        try StreamsPair.deliver(try XCTUnwrap(pair.packet(from: pair.server)), to: pair.client)
        let events = pair.client.drainEvents()
        XCTAssertEqual(events.first, .receiveBufferNeeded(id, bytes: 700), "\(events)")
        XCTAssertEqual(events.dropFirst().first, .dataAvailable(id))
        XCTAssertEqual(pair.client.receiveSpaceShortfall(id), 700)
        // Enough provided inside the callback: the check passes.
        try pair.client.provideReceiveSpace(id, bytes: 700)
        XCTAssertEqual(pair.client.checkReceiveSpace(id), 0)
    }

    func testTooLittleSpaceIsReportedToTheCaller() throws {
        let (pair, id) = try makePair()
        try pair.client.provideReceiveSpace(id, bytes: 100)
        try pair.server.send(id, data: .owned(patternBytes(600)), fin: false, context: 2)
        try StreamsPair.deliver(try XCTUnwrap(pair.packet(from: pair.server)), to: pair.client)
        XCTAssertEqual(pair.client.checkReceiveSpace(id), 500, "the connection must be closed by the caller")
        // After STOP_SENDING the data is discarded: nothing is missing any more.
        try pair.client.stopReceiving(id, errorCode: 9)
        XCTAssertEqual(pair.client.checkReceiveSpace(id), 0)
    }

    func testDataBeyondTheAdvertisedLimitIsFlowControlError() throws {
        let (pair, id) = try makePair()
        try pair.client.provideReceiveSpace(id, bytes: 1500)
        // No packet was written, so the advertised limit is still the initial 1000: data to
        // 1010 violates it (RFC 9000 §4.1).
        let payload = [UInt8](repeating: 7, count: 20)
        XCTAssertThrowsError(try payload.withUnsafeBytes { b in
            try pair.client.handle(.stream(StreamFrame(streamID: id.rawValue, offset: 990, data: 0..<20, fin: false)),
                                   payload: b)
        }) { error in
            XCTAssertEqual((error as? QuicError)?.code, .flowControlError)
        }
    }

    func testProvisionErrors() throws {
        let pair = StreamsPair(client: streamsConfig(.client), server: streamsConfig(.server))
        let plain = try pair.client.openStream(bidirectional: true)
        XCTAssertThrowsError(try pair.client.provideReceiveSpace(plain, bytes: 10)) {
            XCTAssertEqual($0 as? StreamAPIError, .invalidState)
        }
        let id = try pair.client.openStream(bidirectional: true)
        try pair.client.setAppOwnedReceive(id)
        try pair.client.provideReceiveSpace(id, bytes: UInt64(UInt32.max))
        // More than 2^32-1 bytes not yet consumed (MsQuic's limit).
        XCTAssertThrowsError(try pair.client.provideReceiveSpace(id, bytes: 1)) {
            XCTAssertEqual($0 as? StreamAPIError, .invalidParameter)
        }
        XCTAssertThrowsError(try pair.client.provideReceiveSpace(id, bytes: .max)) {
            XCTAssertEqual($0 as? StreamAPIError, .invalidParameter)
        }
        XCTAssertEqual(pair.client.stream(id)?.providedEnd, UInt64(UInt32.max))
        // A local unidirectional stream has nothing to receive: provisions are ignored.
        let uni = try pair.client.openStream(bidirectional: false)
        try pair.client.setAppOwnedReceive(uni)
        try pair.client.provideReceiveSpace(uni, bytes: 10)
    }

    func testCeilingNeverLowersAndStopsAutoTuning() {
        var c = ReceiveCredit(window: 1000, maxWindow: 8000, now: 1_000_000)
        XCTAssertFalse(c.setCeiling(400), "below the initial advertisement: nothing to offer")
        XCTAssertEqual(c.nextLimit, 400)
        XCTAssertTrue(c.onReceived(upTo: 400))
        c.onConsumed(400, now: 1_000_001, smoothedRTT: .milliseconds(100))
        XCTAssertEqual(c.window, 1000, "no auto-tuning under a ceiling")
        XCTAssertFalse(c.updatePending)
        XCTAssertTrue(c.setCeiling(2500))
        XCTAssertEqual(c.didSendUpdate(), 2500)
        c.setCeiling(100)
        XCTAssertEqual(c.nextLimit, 2500, "a ceiling never goes down")
        XCTAssertFalse(c.onReceived(upTo: 2501), "beyond the advertised limit")
    }
}
