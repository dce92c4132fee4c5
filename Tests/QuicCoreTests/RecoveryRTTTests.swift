import XCTest
@testable import QuicCore

final class RecoveryRTTTests: XCTestCase {
    // RFC 9002 §5.3: before any sample, smoothed_rtt = kInitialRtt and rttvar = kInitialRtt / 2.
    func testInitialValues() {
        let r = RTTEstimator()
        XCTAssertEqual(r.smoothedRTT, .microseconds(333_000))
        XCTAssertEqual(r.rttVariance, .microseconds(166_500))
        XCTAssertFalse(r.hasSample)
        // §6.2.1 PTO = smoothed + max(4·rttvar, granularity) = 333 + 666 = 999 ms.
        XCTAssertEqual(r.ptoBase, .microseconds(999_000))
    }

    // §5.3: the first sample sets smoothed = latest, rttvar = latest/2, min_rtt = latest; the
    // ack delay is not used for the first sample.
    func testFirstSample() {
        var r = RTTEstimator()
        r.update(latest: .microseconds(100_000), ackDelay: .microseconds(20_000), maxAckDelay: .microseconds(25_000), handshakeConfirmed: true, now: 1)
        XCTAssertEqual(r.smoothedRTT, .microseconds(100_000))
        XCTAssertEqual(r.rttVariance, .microseconds(50_000))
        XCTAssertEqual(r.minRTT, .microseconds(100_000))
        XCTAssertEqual(r.latestRTT, .microseconds(100_000))
        XCTAssertEqual(r.firstSampleTime, 1)
    }

    // §5.3: adjusted_rtt = latest - ack_delay when latest >= min_rtt + ack_delay;
    // rttvar = 3/4 rttvar + 1/4 |smoothed - adjusted|; smoothed = 7/8 smoothed + 1/8 adjusted.
    func testSubsequentSampleWithAckDelay() {
        var r = RTTEstimator()
        r.update(latest: .microseconds(100_000), ackDelay: .microseconds(0), maxAckDelay: .microseconds(25_000), handshakeConfirmed: true, now: 1)
        r.update(latest: .microseconds(140_000), ackDelay: .microseconds(20_000), maxAckDelay: .microseconds(25_000), handshakeConfirmed: true, now: 2)
        // adjusted = 120 ms; rttvar = 3/4·50 + 1/4·20 = 42.5 ms; smoothed = 7/8·100 + 1/8·120 = 102.5 ms.
        XCTAssertEqual(r.rttVariance, .microseconds(42_500))
        XCTAssertEqual(r.smoothedRTT, .microseconds(102_500))
        XCTAssertEqual(r.minRTT, .microseconds(100_000))
    }

    // §5.3: ack delay is not subtracted when that would go below min_rtt.
    func testAckDelayNotBelowMinRTT() {
        var r = RTTEstimator()
        r.update(latest: .microseconds(100_000), ackDelay: .microseconds(0), maxAckDelay: .microseconds(25_000), handshakeConfirmed: true, now: 1)
        r.update(latest: .microseconds(110_000), ackDelay: .microseconds(20_000), maxAckDelay: .microseconds(25_000), handshakeConfirmed: true, now: 2)
        // 110 < 100 + 20: adjusted stays 110; rttvar = 3/4·50 + 1/4·10 = 40; smoothed = 101.25.
        XCTAssertEqual(r.rttVariance, .microseconds(40_000))
        XCTAssertEqual(r.smoothedRTT, .microseconds(101_250))
    }

    // §5.3: after handshake confirmation ack_delay is capped by max_ack_delay; before, it is not.
    func testAckDelayCappedOnlyAfterConfirmation() {
        var a = RTTEstimator(), b = RTTEstimator()
        a.update(latest: .microseconds(100_000), ackDelay: .microseconds(0), maxAckDelay: .microseconds(10_000), handshakeConfirmed: false, now: 1)
        b.update(latest: .microseconds(100_000), ackDelay: .microseconds(0), maxAckDelay: .microseconds(10_000), handshakeConfirmed: true, now: 1)
        a.update(latest: .microseconds(200_000), ackDelay: .microseconds(50_000), maxAckDelay: .microseconds(10_000), handshakeConfirmed: false, now: 2)
        b.update(latest: .microseconds(200_000), ackDelay: .microseconds(50_000), maxAckDelay: .microseconds(10_000), handshakeConfirmed: true, now: 2)
        // a: adjusted 150 → smoothed 100·7/8 + 150/8 = 106.25 ms; b: adjusted 190 → 111.25 ms.
        XCTAssertEqual(a.smoothedRTT, .microseconds(106_250))
        XCTAssertEqual(b.smoothedRTT, .microseconds(111_250))
    }

    // §5.2: min_rtt is the minimum of latest samples, ack delay ignored.
    func testMinRTTIgnoresAckDelay() {
        var r = RTTEstimator()
        r.update(latest: .microseconds(100_000), ackDelay: .microseconds(0), maxAckDelay: .microseconds(25_000), handshakeConfirmed: true, now: 1)
        r.update(latest: .microseconds(90_000), ackDelay: .microseconds(20_000), maxAckDelay: .microseconds(25_000), handshakeConfirmed: true, now: 2)
        XCTAssertEqual(r.minRTT, .microseconds(90_000))
        r.update(latest: .microseconds(95_000), ackDelay: .microseconds(0), maxAckDelay: .microseconds(25_000), handshakeConfirmed: true, now: 3)
        XCTAssertEqual(r.minRTT, .microseconds(90_000))
    }

    // §6.1.2: loss delay = 9/8 · max(smoothed, latest), at least kGranularity.
    func testLossDelay() {
        var r = RTTEstimator()
        r.update(latest: .microseconds(80_000), ackDelay: .microseconds(0), maxAckDelay: .microseconds(25_000), handshakeConfirmed: true, now: 1)
        XCTAssertEqual(r.lossDelay, .microseconds(90_000))
        var tiny = RTTEstimator()
        tiny.update(latest: .microseconds(100), ackDelay: .microseconds(0), maxAckDelay: .microseconds(0), handshakeConfirmed: true, now: 1)
        XCTAssertEqual(tiny.lossDelay, kGranularity)
    }
}
