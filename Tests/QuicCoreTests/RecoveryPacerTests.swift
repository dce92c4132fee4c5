import XCTest
@testable import QuicCore

final class RecoveryPacerTests: XCTestCase {
    // RFC 9002 §7.7: rate = 1.25 · cwnd / smoothed_rtt. With cwnd 12 000 B and srtt 100 ms the
    // rate is 0.15 B/µs; a burst of the initial window may go at once, then one 1200-byte
    // packet per 8 ms.
    func testRateAndBurst() {
        var p = Pacer(initialTokens: 12_000)
        var now: QuicInstant = 1_000
        for _ in 0..<10 {
            XCTAssertEqual(p.nextSendTime(bytes: 1200, now: now, congestionWindow: 12_000, smoothedRTT: .microseconds(100_000), maxDatagramSize: 1200), now)
            p.onPacketSent(bytes: 1200)
        }
        let next = p.nextSendTime(bytes: 1200, now: now, congestionWindow: 12_000, smoothedRTT: .microseconds(100_000), maxDatagramSize: 1200)
        XCTAssertEqual(next, now + .microseconds(8_000))
        now = next
        XCTAssertEqual(p.nextSendTime(bytes: 1200, now: now, congestionWindow: 12_000, smoothedRTT: .microseconds(100_000), maxDatagramSize: 1200), now)
        p.onPacketSent(bytes: 1200)
        XCTAssertGreaterThan(p.nextSendTime(bytes: 1200, now: now, congestionWindow: 12_000, smoothedRTT: .microseconds(100_000), maxDatagramSize: 1200), now)
    }

    // Over a long run the pacer sends about 1.25 windows per RTT, never a burst above its
    // capacity after an idle period.
    func testLongRunRate() {
        var p = Pacer(initialTokens: 0)
        var now: QuicInstant = 0
        var sent: UInt64 = 0
        let cwnd: UInt64 = 120_000, srtt = QuicDuration.microseconds(50_000)
        while now < 1_000_000 {
            let t = p.nextSendTime(bytes: 1200, now: now, congestionWindow: cwnd, smoothedRTT: srtt, maxDatagramSize: 1200)
            if t > now { now = t; continue }
            p.onPacketSent(bytes: 1200)
            sent += 1200
        }
        // 1 s at 1.25 · 120 000 / 0.05 s = 3 000 000 B/s.
        XCTAssertEqual(Double(sent), 3_000_000, accuracy: 3_000_000 * 0.02)
        // After a long idle, tokens are capped at the burst capacity (here max(2 ms of rate =
        // 6000 B, 10 packets) = 12 000 B).
        _ = p.nextSendTime(bytes: 1200, now: now + .seconds(10), congestionWindow: cwnd, smoothedRTT: srtt, maxDatagramSize: 1200)
        XCTAssertEqual(p.tokens, 12_000)
    }

    // Extreme inputs do not trap.
    func testExtremes() {
        var p = Pacer()
        _ = p.nextSendTime(bytes: .max / 2, now: QuicInstant(microseconds: .max / 2), congestionWindow: .max / 4, smoothedRTT: .microseconds(0), maxDatagramSize: 1200)
        _ = p.nextSendTime(bytes: .max, now: .never, congestionWindow: .max, smoothedRTT: .infinite, maxDatagramSize: 1200)
        _ = p.nextSendTime(bytes: 1200, now: 0, congestionWindow: 0, smoothedRTT: .microseconds(.max / 8), maxDatagramSize: 1200)
        p.onPacketSent(bytes: .max)
        XCTAssertEqual(p.tokens, 0)
    }
}
