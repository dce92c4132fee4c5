// RFC 9000 rules enforced on frames from the peer: stream states and directions (§3, §19),
// stream limits (§4.6), flow control (§4.1), final size (§4.5).

import XCTest
@testable import QuicCore
import QuicWire

final class StreamsRulesTests: XCTestCase {
    /// A server-side manager (peer = client) with small limits.
    func server(maxData: UInt64 = 1000, window: UInt64 = 500, maxStreams: UInt64 = 4) -> StreamManager {
        let m = StreamManager(config: streamsConfig(.server, maxData: maxData, streamWindow: window, maxStreams: maxStreams))
        m.setPeerTransportParameters(transportParameters(streamsConfig(.client)))
        _ = m.drainEvents()
        return m
    }

    func streamFrame(_ m: StreamManager, id: UInt64, offset: UInt64, count: Int, fin: Bool = false) throws {
        let payload = patternBytes(count, seed: UInt8(truncatingIfNeeded: offset))
        try payload.withUnsafeBytes { raw in
            _ = try m.handle(.stream(StreamFrame(streamID: id, offset: offset, data: 0..<count, fin: fin)), payload: raw)
        }
    }

    func handle(_ m: StreamManager, _ f: Frame) throws {
        _ = try m.handle(f, payload: UnsafeRawBufferPointer(start: nil, count: 0))
    }

    func assertError(_ code: TransportErrorCode, frameType: UInt64? = nil, file: StaticString = #filePath, line: UInt = #line,
                     _ body: () throws -> Void) {
        XCTAssertThrowsError(try body(), file: file, line: line) { e in
            guard let q = e as? QuicError else { return XCTFail("not a QuicError: \(e)", file: file, line: line) }
            XCTAssertEqual(q.code, code, "\(q)", file: file, line: line)
            if let t = frameType { XCTAssertEqual(q.frameType, t, file: file, line: line) }
        }
    }

    // MARK: §19.8 STREAM

    func testStreamOnSendOnlyStreamIsStreamStateError() throws {
        let m = server()
        let id = try m.openStream(bidirectional: false)  // server uni: 3
        XCTAssertEqual(id.rawValue, 3)
        assertError(.streamStateError, frameType: FrameType.stream) { try streamFrame(m, id: 3, offset: 0, count: 1) }
    }

    func testStreamOnUnopenedLocalStreamIsStreamStateError() {
        let m = server()
        assertError(.streamStateError) { try streamFrame(m, id: 1, offset: 0, count: 1) }  // server bidi 0
    }

    func testPeerStreamBeyondLimitIsStreamLimitError() throws {
        let m = server(maxStreams: 4)
        try streamFrame(m, id: 12, offset: 0, count: 1)  // client bidi index 3: allowed
        assertError(.streamLimitError) { try streamFrame(m, id: 16, offset: 0, count: 1) }
        assertError(.streamLimitError) { try streamFrame(m, id: 18, offset: 0, count: 1) }  // uni index 4
    }

    func testOpeningAStreamOpensLowerStreamsInOrder() throws {
        let m = server()
        try streamFrame(m, id: 8, offset: 0, count: 3)
        let e = m.drainEvents()
        XCTAssertEqual(e, [.peerStreamStarted(streamID(0)), .peerStreamStarted(streamID(4)),
                           .peerStreamStarted(streamID(8)), .dataAvailable(streamID(8))])
        try streamFrame(m, id: 4, offset: 0, count: 1)
        XCTAssertEqual(m.drainEvents(), [.dataAvailable(streamID(4))])
    }

    // MARK: §4.1 flow control

    func testStreamFlowControlViolation() throws {
        let m = server(window: 500)
        try streamFrame(m, id: 0, offset: 0, count: 500)
        assertError(.flowControlError, frameType: FrameType.stream) { try streamFrame(m, id: 0, offset: 500, count: 1) }
    }

    func testConnectionFlowControlViolationSumsStreams() throws {
        let m = server(maxData: 1000, window: 500)
        try streamFrame(m, id: 0, offset: 0, count: 500)
        try streamFrame(m, id: 4, offset: 0, count: 400)
        // A duplicate does not count twice.
        try streamFrame(m, id: 0, offset: 0, count: 500)
        try streamFrame(m, id: 8, offset: 99, count: 1)  // a gap counts: highest offset 100
        assertError(.flowControlError) { try streamFrame(m, id: 12, offset: 0, count: 1) }
    }

    func testResetStreamFinalSizeCountsTowardConnectionFlowControl() throws {
        let m = server(maxData: 1000, window: 500)
        try streamFrame(m, id: 0, offset: 0, count: 500)
        try handle(m, .resetStream(ResetStreamFrame(streamID: 4, applicationErrorCode: 1, finalSize: 500)))
        assertError(.flowControlError) { try streamFrame(m, id: 8, offset: 0, count: 1) }
        assertError(.flowControlError, frameType: FrameType.resetStream) {
            try handle(m, .resetStream(ResetStreamFrame(streamID: 12, applicationErrorCode: 1, finalSize: 501)))
        }
    }

    func testStreamDataBeyondVarIntMaxIsRejected() {
        let m = server()
        assertError(.frameEncodingError) { try streamFrame(m, id: 0, offset: VarInt.max, count: 1) }
    }

    // MARK: §4.5 final size

    func testFinalSizeCannotChange() throws {
        let m = server()
        try streamFrame(m, id: 0, offset: 0, count: 10, fin: true)
        try streamFrame(m, id: 0, offset: 0, count: 10, fin: true)  // same final size: fine
        assertError(.finalSizeError) { try streamFrame(m, id: 0, offset: 0, count: 11, fin: true) }
        assertError(.finalSizeError) { try streamFrame(m, id: 0, offset: 5, count: 4, fin: true) }
        assertError(.finalSizeError) { try streamFrame(m, id: 0, offset: 10, count: 1) }
    }

    func testFinBelowReceivedDataIsFinalSizeError() throws {
        let m = server()
        try streamFrame(m, id: 0, offset: 50, count: 10)
        assertError(.finalSizeError) { try streamFrame(m, id: 0, offset: 0, count: 20, fin: true) }
    }

    func testResetStreamFinalSizeRules() throws {
        let m = server()
        try streamFrame(m, id: 0, offset: 0, count: 10, fin: true)
        assertError(.finalSizeError, frameType: FrameType.resetStream) {
            try handle(m, .resetStream(ResetStreamFrame(streamID: 0, applicationErrorCode: 1, finalSize: 11)))
        }
        try streamFrame(m, id: 4, offset: 30, count: 10)
        assertError(.finalSizeError) {
            try handle(m, .resetStream(ResetStreamFrame(streamID: 4, applicationErrorCode: 1, finalSize: 39)))
        }
        try handle(m, .resetStream(ResetStreamFrame(streamID: 4, applicationErrorCode: 1, finalSize: 40)))
        // After the reset, data must still respect the final size.
        assertError(.finalSizeError) { try streamFrame(m, id: 4, offset: 40, count: 1) }
    }

    // MARK: §19.4 RESET_STREAM, §19.5 STOP_SENDING, §19.10 MAX_STREAM_DATA, §19.13 STREAM_DATA_BLOCKED

    func testResetStreamOnSendOnlyStream() throws {
        let m = server()
        _ = try m.openStream(bidirectional: false)
        assertError(.streamStateError, frameType: FrameType.resetStream) {
            try handle(m, .resetStream(ResetStreamFrame(streamID: 3, applicationErrorCode: 0, finalSize: 0)))
        }
    }

    func testStopSendingOnReceiveOnlyOrUnopenedStream() {
        let m = server()
        assertError(.streamStateError, frameType: FrameType.stopSending) {
            try handle(m, .stopSending(StopSendingFrame(streamID: 2, applicationErrorCode: 0)))  // client uni
        }
        assertError(.streamStateError) {
            try handle(m, .stopSending(StopSendingFrame(streamID: 1, applicationErrorCode: 0)))  // our bidi, unopened
        }
    }

    func testMaxStreamDataOnReceiveOnlyOrUnopenedStream() {
        let m = server()
        assertError(.streamStateError, frameType: FrameType.maxStreamData) {
            try handle(m, .maxStreamData(streamID: 2, maximumStreamData: 10))
        }
        assertError(.streamStateError) { try handle(m, .maxStreamData(streamID: 5, maximumStreamData: 10)) }
    }

    func testStreamDataBlockedOnSendOnlyStream() throws {
        let m = server()
        _ = try m.openStream(bidirectional: false)
        assertError(.streamStateError, frameType: FrameType.streamDataBlocked) {
            try handle(m, .streamDataBlocked(streamID: 3, maximumStreamData: 0))
        }
    }

    func testMaxStreamDataAndStopSendingOpenPeerBidiStream() throws {
        let m = server()
        try handle(m, .maxStreamData(streamID: 4, maximumStreamData: 10))
        XCTAssertEqual(m.drainEvents(), [.peerStreamStarted(streamID(0)), .peerStreamStarted(streamID(4))])
        XCTAssertNotNil(m.stream(streamID(4)))
    }

    // MARK: §19.11 MAX_STREAMS, §19.14 STREAMS_BLOCKED

    func testMaxStreamsAbove2To60IsFrameEncodingError() {
        let m = server()
        assertError(.frameEncodingError, frameType: FrameType.maxStreamsBidi) {
            try handle(m, .maxStreams(bidirectional: true, maximumStreams: (1 << 60) + 1))
        }
        assertError(.frameEncodingError, frameType: FrameType.streamsBlockedUni) {
            try handle(m, .streamsBlocked(bidirectional: false, maximumStreams: (1 << 60) + 1))
        }
    }

    func testMaxStreamsDecreaseIgnoredAndRaiseAnnounced() throws {
        let m = StreamManager(config: streamsConfig(.client))
        var p = transportParameters(streamsConfig(.server))
        p.initialMaxStreamsBidi = 1
        m.setPeerTransportParameters(p)
        XCTAssertEqual(m.drainEvents(), [.streamsAvailable(bidirectional: 1, unidirectional: 100)])
        _ = try m.openStream(bidirectional: true)
        XCTAssertThrowsError(try m.openStream(bidirectional: true)) { XCTAssertEqual($0 as? StreamAPIError, .streamLimitReached) }
        try handle(m, .maxStreams(bidirectional: true, maximumStreams: 0))  // ignored
        XCTAssertEqual(m.openableStreams(bidirectional: true), 0)
        try handle(m, .maxStreams(bidirectional: true, maximumStreams: 3))
        XCTAssertEqual(m.drainEvents(), [.streamsAvailable(bidirectional: 2, unidirectional: 100)])
        XCTAssertEqual(try m.openStream(bidirectional: true).rawValue, 4)
    }

    // MARK: Closed streams

    func testFramesForFinishedStreamsAreIgnored() throws {
        let m = server()
        try streamFrame(m, id: 0, offset: 0, count: 10, fin: true)
        _ = try m.readAll(streamID(0))
        // Stream 0: receive done; the send part still needs finishing.
        try m.finishSending(streamID(0))
        var sent: [StreamsSentFrame] = []
        var buf = [UInt8](repeating: 0, count: 100)
        buf.withUnsafeMutableBytes { b in
            var w = WireWriter(b)
            m.writeFrames(into: &w, sent: &sent)
        }
        for r in sent { m.onAcked(r) }
        XCTAssertTrue(m.drainEvents().contains(.shutdownComplete(streamID(0))))
        XCTAssertNil(m.stream(streamID(0)))
        // Late duplicates and resets are ignored, not errors, and do not reopen it.
        try streamFrame(m, id: 0, offset: 0, count: 10, fin: true)
        try handle(m, .resetStream(ResetStreamFrame(streamID: 0, applicationErrorCode: 0, finalSize: 10)))
        try handle(m, .stopSending(StopSendingFrame(streamID: 0, applicationErrorCode: 0)))
        XCTAssertEqual(m.drainEvents(), [])
        XCTAssertNil(m.stream(streamID(0)))
    }
}
