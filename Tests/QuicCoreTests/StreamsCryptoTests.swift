// CRYPTO streams per encryption level (RFC 9000 §19.6, §7.5; RFC 9001 §4.1, §4.9).

import XCTest
@testable import QuicCore
import QuicTLS
import QuicWire

final class StreamsCryptoTests: XCTestCase {
    func write(_ c: inout CryptoStreams, _ level: EncryptionLevel, room: Int) -> TestPacket? {
        var buf = [UInt8](repeating: 0, count: room)
        var records: [StreamsSentFrame] = []
        let n = buf.withUnsafeMutableBytes { b -> Int in
            var w = WireWriter(b)
            c.write(level: level, into: &w, sent: &records)
            return w.position
        }
        return n == 0 ? nil : TestPacket(bytes: Array(buf[0..<n]), records: records)
    }

    func deliver(_ p: TestPacket, to c: inout CryptoStreams, level: EncryptionLevel) throws {
        try p.bytes.withUnsafeBytes { b in
            var d = FrameDecoder(b, packetKind: level == .initial ? .initial : .handshake)
            while let f = try d.next() {
                guard case .crypto(let cf) = f else { return XCTFail("unexpected \(f)") }
                try c.handle(cf, level: level, payload: b)
            }
        }
    }

    /// Property: handshake bytes sent over a lossy, reordering path arrive exactly, per level.
    func testRandomLossReorderDeliversExactly() throws {
        for seed in 0..<50 as Range<UInt64> {
            var rng = TestRNG(seed: seed)
            var sender = CryptoStreams(bufferLimit: 1 << 16)
            var receiver = CryptoStreams(bufferLimit: 1 << 16)
            let initial = patternBytes(Int.random(in: 1...2000, using: &rng), seed: 1)
            let handshake = patternBytes(Int.random(in: 3001...9000, using: &rng), seed: 2)
            sender.send(initial, level: .initial)
            sender.send(Array(handshake[..<3000]), level: .handshake)
            sender.send(Array(handshake[3000...]), level: .handshake)
            var got: [EncryptionLevel: [UInt8]] = [:]
            var inFlight: [(TestPacket, EncryptionLevel)] = []
            var steps = 0
            while steps < 100_000 {
                steps += 1
                for level in [EncryptionLevel.initial, .handshake] {
                    if Bool.random(using: &rng), let p = write(&sender, level, room: Int.random(in: 20...1200, using: &rng)) {
                        inFlight.append((p, level))
                    }
                }
                if inFlight.isEmpty {
                    if !sender.hasPendingData(level: .initial) && !sender.hasPendingData(level: .handshake) { break }
                    continue
                }
                let (p, level) = inFlight.remove(at: Int.random(in: 0..<inFlight.count, using: &rng))
                if Int.random(in: 0..<4, using: &rng) == 0 {
                    for r in p.records { if case .crypto(let l, let o, let n) = r { sender.onLost(level: l, offset: o, length: n) } }
                } else {
                    try deliver(p, to: &receiver, level: level)
                    got[level, default: []] += receiver.takeReadable(level: level)
                    for r in p.records { if case .crypto(let l, let o, let n) = r { sender.onAcked(level: l, offset: o, length: n) } }
                }
            }
            XCTAssertEqual(got[.initial], initial, "seed \(seed)")
            XCTAssertEqual(got[.handshake], handshake, "seed \(seed)")
            XCTAssertFalse(sender.hasUnacknowledgedData(level: .handshake))
        }
    }

    func testBufferLimitIsCryptoBufferExceeded() throws {
        var c = CryptoStreams(bufferLimit: 4096)
        let data = patternBytes(10)
        try data.withUnsafeBytes { b in
            try c.handle(CryptoFrame(offset: 4086, data: 0..<10), level: .handshake, payload: b)
            XCTAssertThrowsError(try c.handle(CryptoFrame(offset: 4087, data: 0..<10), level: .handshake, payload: b)) {
                XCTAssertEqual(($0 as? QuicError)?.code, .cryptoBufferExceeded)
            }
            XCTAssertThrowsError(try c.handle(CryptoFrame(offset: VarInt.max, data: 0..<10), level: .handshake, payload: b)) {
                XCTAssertEqual(($0 as? QuicError)?.code, .frameEncodingError)
            }
        }
    }

    func testRequeueAndDiscard() throws {
        var c = CryptoStreams(bufferLimit: 4096)
        c.send(patternBytes(100), level: .initial)
        let p = try XCTUnwrap(write(&c, .initial, room: 1200))
        XCTAssertEqual(p.records, [.crypto(level: .initial, offset: 0, length: 100)])
        XCTAssertNil(write(&c, .initial, room: 1200))
        // A PTO probe resends everything unacknowledged (RFC 9002 §6.2.4).
        c.requeueUnacknowledged(level: .initial)
        XCTAssertEqual(write(&c, .initial, room: 1200)?.records, p.records)
        // Keys discarded (RFC 9001 §4.9): nothing is sent or kept any more.
        c.discard(level: .initial)
        c.requeueUnacknowledged(level: .initial)
        XCTAssertNil(write(&c, .initial, room: 1200))
        XCTAssertFalse(c.hasUnacknowledgedData(level: .initial))
        try p.bytes.withUnsafeBytes { b in
            var d = FrameDecoder(b, packetKind: .initial)
            while let f = try d.next() {
                if case .crypto(let cf) = f { XCTAssertFalse(try c.handle(cf, level: .initial, payload: b)) }
            }
        }
    }
}
