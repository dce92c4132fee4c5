// Robustness: random aborts in the middle of lossy transfers still end every stream on both
// sides; random (well-formed) frames from a hostile peer never trap.

import XCTest
@testable import QuicCore
import QuicWire

final class StreamsChaosTests: XCTestCase {
    /// Property: with random resets, STOP_SENDING and immediate shutdowns on both sides during
    /// lossy transfers, both managers end with no streams, every send request is reported
    /// exactly once, and each side reports shutdownComplete once per stream.
    func testRandomAbortsEndEveryStream() throws {
        for seed in 0..<30 as Range<UInt64> {
            var rng = TestRNG(seed: seed &+ 1000)
            let pair = StreamsPair(client: streamsConfig(.client, maxData: 6000, streamWindow: 1500, maxStreams: 4),
                                   server: streamsConfig(.server, maxData: 6000, streamWindow: 1500, maxStreams: 4))
            let link = LossyLink(pair: pair, seed: seed, lossPercent: 15, room: 400)
            var requests = 0
            var ids: [StreamID] = []
            for i in 0..<4 {
                let id = try pair.client.openStream(bidirectional: i % 2 == 0)
                ids.append(id)
                for _ in 0..<3 {
                    try pair.client.send(id, data: .owned(patternBytes(Int.random(in: 0...2500, using: &rng))), fin: false,
                                         context: UInt64(requests))
                    requests += 1
                }
                try pair.client.finishSending(id)
            }
            var serverRequests = 0
            var answered = Set<UInt64>()
            for round in 0..<40 {
                try link.run(maxSteps: Int.random(in: 1...40, using: &rng), mustSettle: false)
                // The server answers bidirectional streams.
                for e in link.events(of: pair.server) {
                    if case .peerStreamStarted(let id) = e, id.isBidirectional, !answered.contains(id.rawValue) {
                        answered.insert(id.rawValue)
                        try pair.server.send(id, data: .owned(patternBytes(900)), fin: true, context: UInt64(1000 + serverRequests))
                        serverRequests += 1
                    }
                }
                // Random aborts on either side.
                let m = Bool.random(using: &rng) ? pair.client : pair.server
                let id = ids[Int.random(in: 0..<ids.count, using: &rng)]
                let code = UInt64(round)
                switch Int.random(in: 0..<6, using: &rng) {
                case 0: try? m.resetSending(id, errorCode: code)
                case 1: try? m.stopReceiving(id, errorCode: code)
                case 2: try? m.shutdownImmediately(id, errorCode: code)
                default: break
                }
            }
            // Finish: anything left open is aborted by both sides, then the link drains.
            for id in ids {
                try? pair.client.shutdownImmediately(id, errorCode: 99)
                try? pair.server.shutdownImmediately(id, errorCode: 99)
            }
            link.lossPercent = 0
            try link.run()
            XCTAssertEqual(pair.client.openStreamCount, 0, "seed \(seed)")
            XCTAssertEqual(pair.server.openStreamCount, 0, "seed \(seed)")
            for (m, expected) in [(pair.client, requests), (pair.server, serverRequests)] {
                let completions = link.events(of: m).compactMap { e -> UInt64? in
                    if case .sendComplete(_, let c, _) = e { return c } else { return nil }
                }
                XCTAssertEqual(completions.count, expected, "seed \(seed)")
                XCTAssertEqual(Set(completions).count, expected, "seed \(seed)")
                var seen = Set<UInt64>()
                for e in link.events(of: m) {
                    if case .shutdownComplete(let id) = e { XCTAssertTrue(seen.insert(id.rawValue).inserted, "seed \(seed)") }
                }
            }
            XCTAssertEqual(link.events(of: pair.client).filter { if case .shutdownComplete = $0 { return true } else { return false } }.count, 4)
        }
    }

    /// Random well-formed stream frames from a hostile peer: each is accepted or refused with a
    /// QuicError; nothing traps, and receive memory stays within the windows.
    func testRandomFramesNeverTrap() throws {
        var rng = TestRNG(seed: 42)
        let payload = patternBytes(2000)
        var codes: [TransportErrorCode: Int] = [:]
        for _ in 0..<300 {
            let m = StreamManager(config: streamsConfig(.server, maxData: 20_000, streamWindow: 3000, maxStreams: 5))
            m.setPeerTransportParameters(transportParameters(streamsConfig(.client)))
            _ = try? m.openStream(bidirectional: true)
            _ = try? m.openStream(bidirectional: false)
            for _ in 0..<50 {
                // Mostly valid peer streams, sometimes ours, unopened or beyond the limit.
                let id = Int.random(in: 0..<10, using: &rng) < 8
                    ? [0, 4, 2, 6][Int.random(in: 0..<4, using: &rng)] : UInt64.random(in: 0..<40, using: &rng)
                let small = UInt64.random(in: 0..<3200, using: &rng)
                let f: Frame
                switch Int.random(in: 0..<9, using: &rng) {
                case 0, 1, 2:
                    let n = Int.random(in: 0..<min(2000, 800), using: &rng)
                    f = .stream(StreamFrame(streamID: id, offset: small, data: 0..<n, fin: Bool.random(using: &rng)))
                case 3: f = .resetStream(ResetStreamFrame(streamID: id, applicationErrorCode: small, finalSize: small))
                case 4: f = .stopSending(StopSendingFrame(streamID: id, applicationErrorCode: small))
                case 5: f = .maxStreamData(streamID: id, maximumStreamData: small)
                case 6: f = .streamDataBlocked(streamID: id, maximumStreamData: small)
                case 7: f = .maxStreams(bidirectional: Bool.random(using: &rng), maximumStreams: small)
                default: f = .maxData(small)
                }
                do {
                    try payload.withUnsafeBytes { b in _ = try m.handle(f, payload: b) }
                } catch let e as QuicError {
                    codes[e.code, default: 0] += 1
                    break  // the connection would close here
                }
                // The app sometimes reads, sometimes writes.
                for s in m.streams.values {
                    XCTAssertLessThanOrEqual(s.receiveBufferBytes, 2 * 3000)
                    if Bool.random(using: &rng) { _ = try? m.readAll(s.id) }
                }
                var sent: [StreamsSentFrame] = []
                var buf = [UInt8](repeating: 0, count: 200)
                buf.withUnsafeMutableBytes { b in
                    var w = WireWriter(b)
                    m.writeFrames(into: &w, sent: &sent)
                }
                for r in sent { if Bool.random(using: &rng) { m.onAcked(r) } else { m.onLost(r) } }
                _ = m.drainEvents()
            }
        }
        // The generator reaches every error class the rules define.
        for c in [TransportErrorCode.streamStateError, .streamLimitError, .flowControlError, .finalSizeError] {
            XCTAssertGreaterThan(codes[c] ?? 0, 0, "\(c) never produced: \(codes)")
        }
    }
}
