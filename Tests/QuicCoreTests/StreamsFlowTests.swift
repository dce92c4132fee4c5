// End-to-end behaviour of two StreamManagers: flow control credit and blocking (RFC 9000 §4),
// stream limits (§4.6), resets and STOP_SENDING (§3.5), priorities, and lossy, reordered
// delivery (§13.3 retransmission).

import XCTest
@testable import QuicCore
import QuicWire

final class StreamsFlowTests: XCTestCase {
    func testTransferLargerThanWindowsCompletesWithCreditUpdates() throws {
        let pair = StreamsPair(client: streamsConfig(.client),
                               server: streamsConfig(.server, maxData: 3000, streamWindow: 1000))
        let id = try pair.client.openStream(bidirectional: true)
        let data = patternBytes(20_000)
        try pair.client.send(id, data: .owned(data), fin: true, context: 1)
        let link = LossyLink(pair: pair, seed: 7, lossPercent: 0, duplicatePercent: 0, spuriousLossPercent: 0)
        try link.run()
        XCTAssertEqual(link.received(by: pair.server, on: id), data)
        XCTAssertTrue(link.events(of: pair.client).contains(.sendComplete(id, context: 1, canceled: false)))
        // The receive buffer never held more than the window allows.
        let peak = link.maxReceiveBuffer[ObjectIdentifier(pair.server)] ?? 0
        XCTAssertGreaterThan(peak, 0)
        XCTAssertLessThanOrEqual(peak, 1000)
    }

    func testBlockedSenderSendsBlockedFramesThenResumes() throws {
        let pair = StreamsPair(client: streamsConfig(.client),
                               server: streamsConfig(.server, maxData: 100, streamWindow: 60))
        let id = try pair.client.openStream(bidirectional: true)
        try pair.client.send(id, data: .owned(patternBytes(200)), fin: false, context: 1)
        let p1 = try XCTUnwrap(pair.packet(from: pair.client))
        XCTAssertEqual(p1.records, [.stream(id: 0, offset: 0, length: 60, fin: false)])
        // Next packet: STREAM_DATA_BLOCKED at 60 (RFC 9000 §4.1), sent once.
        let p2 = try XCTUnwrap(pair.packet(from: pair.client))
        XCTAssertEqual(p2.records, [.streamDataBlocked(id: 0, 60)])
        XCTAssertNil(pair.packet(from: pair.client))
        try StreamsPair.deliver(p1, to: pair.server)
        try StreamsPair.deliver(p2, to: pair.server)
        // The server reads: more than half the window consumed → MAX_STREAM_DATA (§4.2).
        XCTAssertEqual(try pair.server.readAll(id).count, 60)
        let credit = try XCTUnwrap(pair.packet(from: pair.server))
        // 60 of the 100-byte connection window consumed too: MAX_DATA 160 as well.
        XCTAssertEqual(credit.records, [.maxData(160), .maxStreamData(id: 0, 120)])
        try StreamsPair.deliver(credit, to: pair.client)
        let p3 = try XCTUnwrap(pair.packet(from: pair.client))
        XCTAssertEqual(p3.records, [.stream(id: 0, offset: 60, length: 60, fin: false)])
        let p4 = try XCTUnwrap(pair.packet(from: pair.client))
        XCTAssertEqual(p4.records, [.streamDataBlocked(id: 0, 120)])
    }

    func testConnectionBlockedSendsDataBlocked() throws {
        let pair = StreamsPair(client: streamsConfig(.client),
                               server: streamsConfig(.server, maxData: 100, streamWindow: 1000))
        let a = try pair.client.openStream(bidirectional: true)
        let b = try pair.client.openStream(bidirectional: true)
        try pair.client.send(a, data: .owned(patternBytes(70)), fin: false, context: 1)
        try pair.client.send(b, data: .owned(patternBytes(70)), fin: false, context: 2)
        let p1 = try XCTUnwrap(pair.packet(from: pair.client))
        // 100 bytes of connection credit shared by the two streams.
        XCTAssertEqual(p1.records, [.stream(id: 0, offset: 0, length: 70, fin: false),
                                    .stream(id: 4, offset: 0, length: 30, fin: false)])
        let p2 = try XCTUnwrap(pair.packet(from: pair.client))
        XCTAssertEqual(p2.records, [.dataBlocked(100)])
        XCTAssertNil(pair.packet(from: pair.client), "DATA_BLOCKED once per limit")
        try handle(pair.client, .maxData(150))
        let p3 = try XCTUnwrap(pair.packet(from: pair.client))
        XCTAssertEqual(p3.records, [.stream(id: 4, offset: 30, length: 40, fin: false)])
    }

    func handle(_ m: StreamManager, _ f: Frame) throws {
        _ = try m.handle(f, payload: UnsafeRawBufferPointer(start: nil, count: 0))
    }

    func testLostCreditFramesAreResentWithCurrentValues() throws {
        let pair = StreamsPair(client: streamsConfig(.client),
                               server: streamsConfig(.server, maxData: 1000, streamWindow: 100))
        let id = try pair.client.openStream(bidirectional: true)
        try pair.client.send(id, data: .owned(patternBytes(100)), fin: false, context: 1)
        try StreamsPair.deliver(try XCTUnwrap(pair.packet(from: pair.client)), to: pair.server)
        _ = try pair.server.readAll(id)
        let credit = try XCTUnwrap(pair.packet(from: pair.server))
        XCTAssertEqual(credit.records, [.maxStreamData(id: 0, 200)])
        for r in credit.records { pair.server.onLost(r) }
        let again = try XCTUnwrap(pair.packet(from: pair.server))
        XCTAssertEqual(again.records, [.maxStreamData(id: 0, 200)])
    }

    func testPeerStreamLimitIsReplenishedWhenStreamsFinish() throws {
        let pair = StreamsPair(client: streamsConfig(.client), server: streamsConfig(.server, maxStreams: 2))
        var opened: [StreamID] = []
        for round in 0..<5 {
            while let id = try? pair.client.openStream(bidirectional: true) {
                opened.append(id)
                try pair.client.send(id, data: .owned([UInt8(round)]), fin: true, context: 0)
            }
            let link = LossyLink(pair: pair, seed: UInt64(round), lossPercent: 0, duplicatePercent: 0, spuriousLossPercent: 0)
            // The server answers each stream with a FIN so both directions finish.
            try link.readApps()
            try link.run()
            for e in link.events(of: pair.server) {
                if case .peerStreamStarted(let id) = e { try pair.server.finishSending(id) }
            }
            try link.run()
        }
        XCTAssertEqual(opened.count, 10, "two streams per round as MAX_STREAMS grows")
        XCTAssertEqual(pair.server.openStreamCount, 0)
        XCTAssertEqual(pair.client.openStreamCount, 0)
    }

    func testStreamsBlockedIsSentAtTheLimit() throws {
        let pair = StreamsPair(client: streamsConfig(.client), server: streamsConfig(.server, maxStreams: 1))
        _ = try pair.client.openStream(bidirectional: true)
        XCTAssertThrowsError(try pair.client.openStream(bidirectional: true))
        let p = try XCTUnwrap(pair.packet(from: pair.client))
        XCTAssertEqual(p.records, [.streamsBlocked(bidirectional: true, 1)])
    }

    func testResetStreamIsDeliveredAndCancelsSends() throws {
        let pair = StreamsPair()
        let id = try pair.client.openStream(bidirectional: true)
        try pair.client.send(id, data: .owned(patternBytes(100)), fin: false, context: 1)
        try pair.client.send(id, data: .owned(patternBytes(100)), fin: false, context: 2)
        let p = try XCTUnwrap(pair.packet(from: pair.client))
        try StreamsPair.deliver(p, to: pair.server)
        try pair.client.resetSending(id, errorCode: 77)
        XCTAssertEqual(pair.client.drainEvents(), [.sendComplete(id, context: 1, canceled: true),
                                                   .sendComplete(id, context: 2, canceled: true)])
        XCTAssertThrowsError(try pair.client.send(id, data: .owned([1]), fin: false, context: 3))
        // Data lost after the reset is not retransmitted (RFC 9000 §13.3).
        for r in p.records { pair.client.onLost(r) }
        let reset = try XCTUnwrap(pair.packet(from: pair.client))
        XCTAssertEqual(reset.records, [.resetStream(id: 0)])
        try StreamsPair.deliver(reset, to: pair.server)
        let se = pair.server.drainEvents()
        XCTAssertEqual(se.last, .peerSendAborted(id, errorCode: 77))
        // The reset final size is what was sent (200 bytes, RFC 9000 §4.5).
        XCTAssertEqual(pair.server.stream(id)?.finalSize, 200)
        for r in reset.records { pair.client.onAcked(r) }
        XCTAssertEqual(pair.client.drainEvents(), [.sendShutdownComplete(id, graceful: false)])
        // The server finishes its send side; both ends complete.
        try pair.server.finishSending(id)
        try pair.runLossless()
        XCTAssertTrue(pair.server.drainEvents().contains(.shutdownComplete(id)))
        _ = try pair.client.readAll(id)
        XCTAssertTrue(pair.client.drainEvents().contains(.shutdownComplete(id)))
        XCTAssertEqual(pair.client.openStreamCount, 0)
        XCTAssertEqual(pair.server.openStreamCount, 0)
    }

    func testStopSendingMakesPeerReset() throws {
        let pair = StreamsPair()
        let id = try pair.client.openStream(bidirectional: true)
        try pair.client.send(id, data: .owned(patternBytes(50)), fin: false, context: 5)
        try pair.runLossless()
        _ = pair.server.drainEvents()
        try pair.server.stopReceiving(id, errorCode: 9)
        let stop = try XCTUnwrap(pair.packet(from: pair.server))
        XCTAssertEqual(stop.records, [.stopSending(id: 0)])
        try StreamsPair.deliver(stop, to: pair.client)
        // RFC 9000 §3.5: answer STOP_SENDING with RESET_STREAM carrying the same code.
        let ce = pair.client.drainEvents()
        XCTAssertTrue(ce.contains(.peerReceiveAborted(id, errorCode: 9)))
        let reset = try XCTUnwrap(pair.packet(from: pair.client))
        XCTAssertEqual(reset.records, [.resetStream(id: 0)])
        var decoded: [Frame] = []
        try reset.bytes.withUnsafeBytes { b in
            var d = FrameDecoder(b, packetKind: .oneRTT)
            while let f = try d.next() { decoded.append(f) }
        }
        XCTAssertEqual(decoded, [.resetStream(ResetStreamFrame(streamID: 0, applicationErrorCode: 9, finalSize: 50))])
    }

    func testZeroLengthFinOnlyStream() throws {
        let pair = StreamsPair()
        let id = try pair.client.openStream(bidirectional: false)
        try pair.client.send(id, data: .owned([]), fin: true, context: 3)
        try pair.runLossless()
        XCTAssertEqual(pair.server.drainEvents(), [.peerStreamStarted(id), .peerSendShutdown(id), .shutdownComplete(id)])
        // The server's MAX_STREAMS for the finished stream lets the client open another.
        XCTAssertEqual(pair.client.drainEvents(), [.sendComplete(id, context: 3, canceled: false),
                                                   .sendShutdownComplete(id, graceful: true), .shutdownComplete(id),
                                                   .streamsAvailable(bidirectional: 100, unidirectional: 100)])
    }

    func testDirectionChecksOnApplicationCalls() throws {
        let pair = StreamsPair()
        let uni = try pair.client.openStream(bidirectional: false)
        XCTAssertThrowsError(try pair.client.stopReceiving(uni, errorCode: 0)) { XCTAssertEqual($0 as? StreamAPIError, .invalidState) }
        try pair.client.send(uni, data: .owned([1]), fin: false, context: 0)
        try pair.runLossless()
        _ = pair.server.drainEvents()
        XCTAssertThrowsError(try pair.server.send(uni, data: .owned([1]), fin: false, context: 0)) {
            XCTAssertEqual($0 as? StreamAPIError, .invalidState)
        }
        XCTAssertThrowsError(try pair.server.send(streamID(400), data: .owned([1]), fin: false, context: 0)) {
            XCTAssertEqual($0 as? StreamAPIError, .unknownStream)
        }
        XCTAssertThrowsError(try pair.client.resetSending(uni, errorCode: 1 << 62)) {
            XCTAssertEqual($0 as? StreamAPIError, .invalidParameter)
        }
    }

    func testPriorityHigherFirstAndRoundRobinAmongEquals() throws {
        let pair = StreamsPair()
        let low = try pair.client.openStream(bidirectional: true)
        let a = try pair.client.openStream(bidirectional: true)
        let b = try pair.client.openStream(bidirectional: true)
        try pair.client.setPriority(low, 1)
        try pair.client.setPriority(a, 0x8000)
        try pair.client.setPriority(b, 0x8000)
        for id in [low, a, b] { try pair.client.send(id, data: .owned(patternBytes(1000)), fin: false, context: 0) }
        var order: [UInt64] = []
        for _ in 0..<8 {
            guard let p = pair.packet(from: pair.client, room: 300) else { break }
            for case .stream(let id, _, _, _) in p.records { order.append(id) }
        }
        // a and b alternate (one frame fills a 300-byte packet) until both are drained; low last.
        XCTAssertEqual(Array(order.prefix(6)), [a.rawValue, b.rawValue, a.rawValue, b.rawValue, a.rawValue, b.rawValue])
        XCTAssertEqual(order.last, low.rawValue)
    }

    /// Property: many streams, random sends, random loss / duplication / reordering / spurious
    /// loss: every stream delivers exactly what was sent, every request completes once, all
    /// streams finish and memory is released.
    func testRandomLossyExchangeDeliversExactly() throws {
        for seed in 0..<40 as Range<UInt64> {
            var rng = TestRNG(seed: seed &* 977)
            let pair = StreamsPair(client: streamsConfig(.client, maxData: 8000, streamWindow: 2000, maxStreams: 3),
                                   server: streamsConfig(.server, maxData: 5000, streamWindow: 1500, maxStreams: 3))
            let link = LossyLink(pair: pair, seed: seed, lossPercent: Int.random(in: 0...30, using: &rng),
                                 room: Int.random(in: 60...1200, using: &rng))
            var expected: [UInt64: [UInt8]] = [:]
            var contexts: [UInt64: Int] = [:]
            var ids: [StreamID] = []
            for i in 0..<3 {
                let id = try pair.client.openStream(bidirectional: i != 1)
                ids.append(id)
                try pair.client.setPriority(id, UInt16.random(in: 0...2, using: &rng))
                var all: [UInt8] = []
                for k in 0..<Int.random(in: 1...4, using: &rng) {
                    let chunk = patternBytes(Int.random(in: 0...3000, using: &rng), seed: UInt8(truncatingIfNeeded: k * 7 + i))
                    all += chunk
                    try pair.client.send(id, data: .owned(chunk), fin: false, context: UInt64(i * 100 + k))
                    contexts[id.rawValue, default: 0] += 1
                }
                try pair.client.finishSending(id)
                expected[id.rawValue] = all
            }
            // The server echoes a fixed reply on bidirectional streams.
            var replied = Set<UInt64>()
            var steps = 0
            repeat {
                try link.run()
                for e in link.events(of: pair.server) {
                    if case .peerStreamStarted(let id) = e, id.isBidirectional, !replied.contains(id.rawValue) {
                        replied.insert(id.rawValue)
                        try pair.server.send(id, data: .owned(patternBytes(700, seed: 3)), fin: true, context: 0)
                    }
                }
                steps += 1
            } while pair.client.hasPendingFrames || pair.server.hasPendingFrames || steps < 2
            try link.run()
            for id in ids {
                XCTAssertEqual(link.received(by: pair.server, on: id), expected[id.rawValue], "seed \(seed) stream \(id)")
                if id.isBidirectional {
                    XCTAssertEqual(link.received(by: pair.client, on: id), patternBytes(700, seed: 3), "seed \(seed)")
                }
                let completes = link.events(of: pair.client).filter {
                    if case .sendComplete(id, _, false) = $0 { return true } else { return false }
                }
                XCTAssertEqual(completes.count, contexts[id.rawValue], "seed \(seed)")
                XCTAssertEqual(link.events(of: pair.client).filter { $0 == .shutdownComplete(id) }.count, 1, "seed \(seed)")
                XCTAssertEqual(link.events(of: pair.server).filter { $0 == .shutdownComplete(id) }.count, 1, "seed \(seed)")
            }
            XCTAssertEqual(pair.client.openStreamCount, 0, "seed \(seed)")
            XCTAssertEqual(pair.server.openStreamCount, 0, "seed \(seed)")
        }
    }

    func testCloseAllCancelsAndCompletesEveryStream() throws {
        let pair = StreamsPair()
        let a = try pair.client.openStream(bidirectional: true)
        let b = try pair.client.openStream(bidirectional: false)
        try pair.client.send(a, data: .owned([1, 2]), fin: false, context: 11)
        pair.client.closeAll()
        XCTAssertEqual(pair.client.drainEvents(), [.sendComplete(a, context: 11, canceled: true), .shutdownComplete(a),
                                                   .shutdownComplete(b)])
        XCTAssertEqual(pair.client.openStreamCount, 0)
        XCTAssertFalse(pair.client.hasPendingFrames)
    }
}
