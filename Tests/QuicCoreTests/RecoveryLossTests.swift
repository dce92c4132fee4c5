import XCTest
@testable import QuicCore
import QuicWire

final class RecoveryLossTests: XCTestCase {
    // RFC 9002 §6.1.1 packet threshold (3) and §6.1.2 time threshold (9/8 RTT).
    func testPacketAndTimeThreshold() throws {
        let r = makeRecovery()
        for pn in UInt64(0)...5 { r.send(pn, at: millis(Double(pn))) }
        XCTAssertEqual(r.bytesInFlight, 7200)
        let out = try r.ack([5...5], now: millis(50))
        // Sample: 50 - 5 = 45 ms.
        XCTAssertTrue(out.rttSampled)
        XCTAssertEqual(r.rtt.latestRTT, millis(45))
        XCTAssertEqual(r.ackedPackets.map(\.packetNumber), [5])
        // 5 >= pn + 3 for pn 0...2.
        XCTAssertEqual(r.lostPackets.map(\.packetNumber), [0, 1, 2])
        XCTAssertEqual(out.lost, 3)
        XCTAssertEqual(r.bytesInFlight, 2400)
        // Loss timer: packet 3 sent at 3 ms + 9/8·45 ms = 53.625 ms.
        XCTAssertEqual(r.lossDetectionTimer, millis(53.625))
        XCTAssertEqual(r.onLossDetectionTimeout(now: millis(53.625)), .packetsLost(.application))
        XCTAssertEqual(r.lostPackets.map(\.packetNumber), [3])
        XCTAssertEqual(r.lossDetectionTimer, millis(54.625))
        XCTAssertEqual(r.bytesInFlight, 1200)
        // The tokens come back unchanged.
        XCTAssertEqual(r.lostPackets.first?.token, 30 + 2)
    }

    // RFC 9002 §5.1: no RTT sample when the largest acknowledged was already acknowledged or
    // only non-ack-eliciting packets are newly acknowledged.
    func testRTTSampleConditions() throws {
        let r = makeRecovery()
        r.send(0, at: 0, ackEliciting: false, inFlight: false)
        r.send(1, at: millis(1))
        var out = try r.ack([0...0], now: millis(10))
        XCTAssertFalse(out.rttSampled)
        XCTAssertFalse(r.rtt.hasSample)
        out = try r.ack([1...1], now: millis(21))
        XCTAssertTrue(out.rttSampled)
        XCTAssertEqual(r.rtt.smoothedRTT, millis(20))
        // Duplicate ACK: nothing new.
        out = try r.ack([0...1], now: millis(30))
        XCTAssertEqual(out.newlyAcknowledged, 0)
        XCTAssertFalse(out.rttSampled)
    }

    // RFC 9002 §5.3: the ACK Delay (scaled by the peer's exponent) is subtracted from later
    // samples; ignored in the Initial space.
    func testAckDelayApplied() throws {
        let r = makeRecovery()
        r.peerAckDelayExponent = 3
        r.send(0, at: 0)
        try r.ack([0...0], now: millis(100))
        r.send(1, at: millis(100))
        // 150 ms sample with 20 ms ack delay (2500 << 3 = 20000 µs) → adjusted 130 ms.
        try r.ack([1...1], ackDelay: 2500, now: millis(250))
        XCTAssertEqual(r.rtt.smoothedRTT, .microseconds((7 * 100_000 + 130_000) / 8))

        let i = makeRecovery()
        i.send(0, space: .initial, at: 0)
        try i.ack([0...0], space: .initial, now: millis(100))
        i.send(1, space: .initial, at: millis(100))
        try i.ack([1...1], space: .initial, ackDelay: 2500, now: millis(250))
        XCTAssertEqual(i.rtt.smoothedRTT, .microseconds((7 * 100_000 + 150_000) / 8))
    }

    // RFC 9000 §13.1: acknowledging a packet never sent is a PROTOCOL_VIOLATION.
    func testAckOfUnsentPacket() throws {
        let r = makeRecovery()
        r.send(0, at: 0)
        XCTAssertThrowsError(try r.ack([1...1], now: 10)) { e in
            XCTAssertEqual((e as? QuicError)?.code, .protocolViolation)
        }
        XCTAssertEqual(r.bytesInFlight, 1200)
        XCTAssertThrowsError(try r.ack([0...0], space: .handshake, now: 10))
    }

    // A packet number that does not increase is refused.
    func testPacketNumbersMustIncrease() {
        let r = makeRecovery()
        XCTAssertTrue(r.send(5, at: 0))
        XCTAssertFalse(r.send(5, at: 1))
        XCTAssertFalse(r.send(3, at: 1))
        XCTAssertTrue(r.send(7, at: 2)) // skipping is allowed
        XCTAssertEqual(r.bytesInFlight, 2400)
    }

    // Huge ranges cost only what is outstanding, and ranges below the window are ignored.
    func testHugeRangesAndSpuriousAcks() throws {
        let r = makeRecovery()
        for pn in UInt64(1000)..<1010 { r.send(pn, at: millis(Double(pn - 1000))) }
        let out = try r.ack([1009...1009, 0...1007], now: millis(20))
        XCTAssertEqual(out.newlyAcknowledged, 9)
        XCTAssertEqual(r.outstandingCount(.application), 1)
        XCTAssertEqual(r.bytesInFlight, 1200)
        // pn 1008 acknowledged after... it is still outstanding (not lost: 1009 < 1008 + 3).
        XCTAssertEqual(r.lostPackets.count, 0)
    }

    // RFC 9002 §7.6.2 example (times in seconds): smoothed_rtt 1, rttvar 0, max_ack_delay 0;
    // packets 2-8 lost across more than the persistent congestion duration (3 s + 3 ms) with
    // no packet between them acknowledged.
    func testPersistentCongestionExample() throws {
        let (r, sent) = persistentCongestionSetup()
        XCTAssertGreaterThan(r.congestionWindow, r.congestion.minimumWindow)
        let out = try r.ack([9...9], now: sent[9]! + .seconds(1))
        XCTAssertEqual(r.lostPackets.map(\.packetNumber), [2, 3, 4, 5, 6, 7, 8])
        XCTAssertTrue(out.persistentCongestion)
        // kMinimumWindow. (Packet 9's acknowledgement, processed after the losses as in
        // Appendix A.7, does not grow it: with one packet in flight the window is unused.)
        XCTAssertEqual(r.congestionWindow, r.congestion.minimumWindow)
        XCTAssertEqual(r.congestion.slowStartThreshold, 12_000 / 2)
        XCTAssertEqual(r.congestion.persistentCongestionCount, 1)
    }

    // Same, but packet 5 is acknowledged: the lost packets no longer span the duration
    // without an acknowledgement in between.
    func testNoPersistentCongestionWhenPacketBetweenAcked() throws {
        let (r, sent) = persistentCongestionSetup()
        let out = try r.ack([9...9, 5...5], now: sent[9]! + .seconds(1))
        XCTAssertEqual(r.lostPackets.map(\.packetNumber), [2, 3, 4, 6, 7, 8])
        XCTAssertFalse(out.persistentCongestion)
        XCTAssertEqual(r.congestion.persistentCongestionCount, 0)
        XCTAssertGreaterThan(r.congestionWindow, r.congestion.minimumWindow)
    }

    // No persistent congestion without an RTT sample before the lost packets (§7.6.2).
    func testNoPersistentCongestionWithoutPriorSample() throws {
        let r = makeRecovery()
        r.peerMaxAckDelay = .zero
        let s: Double = 1_000
        for (pn, t) in [(1, 0.0), (2, 1), (3, 2), (4, 3), (5, 4), (6, 5), (7, 6), (8, 8), (9, 12)] as [(UInt64, Double)] {
            r.send(pn, at: millis(t * s))
        }
        let out = try r.ack([9...9], now: millis(13 * s))
        XCTAssertEqual(r.lostPackets.count, 8)
        XCTAssertFalse(out.persistentCongestion)
    }

    func persistentCongestionSetup() -> (LossRecovery, [UInt64: QuicInstant]) {
        let r = makeRecovery()
        r.peerMaxAckDelay = .zero
        let s: Double = 1_000 // one second in ms
        var sent: [UInt64: QuicInstant] = [:]
        r.send(1, at: 0); sent[1] = 0
        r.send(2, at: millis(1 * s)); sent[2] = millis(1 * s)
        try? r.ack([1...1], now: millis(1.2 * s))
        // The RFC's assumptions: smoothed_rtt = 1 s, rttvar = 0 (first sample at 1.2 s).
        r.rtt = RTTEstimator(smoothed: millis(s), variance: .zero, minRTT: millis(s), latest: millis(s), firstSampleTime: millis(1.2 * s))
        for (pn, t) in [(3, 2.0), (4, 3), (5, 4), (6, 5), (7, 6), (8, 8), (9, 12)] as [(UInt64, Double)] {
            r.send(pn, at: millis(t * s)); sent[pn] = millis(t * s)
        }
        return (r, sent)
    }

    // RFC 9002 §7.1: an increase of the ECN-CE count is a congestion event; RFC 9000 §13.4.2.1:
    // decreasing counts fail ECN validation.
    func testECN() throws {
        let r = makeRecovery()
        for pn in UInt64(0)...2 { r.send(pn, at: millis(Double(pn)), ecn: true) }
        var out = try r.ack([0...2], ecn: ECNCounts(ect0: 3, ect1: 0, ce: 0), now: millis(30))
        XCTAssertFalse(out.ecnCongestion)
        XCTAssertTrue(r.ecnCapable)
        let before = r.congestionWindow
        for pn in UInt64(3)...4 { r.send(pn, at: millis(30 + Double(pn)), ecn: true) }
        out = try r.ack([0...4], ecn: ECNCounts(ect0: 4, ect1: 0, ce: 1), now: millis(60))
        XCTAssertTrue(out.ecnCongestion)
        XCTAssertEqual(r.congestion.congestionEventCount, 1)
        XCTAssertLessThan(r.congestionWindow, before)
        r.send(5, at: millis(61), ecn: true)
        try r.ack([5...5], ecn: ECNCounts(ect0: 3, ect1: 0, ce: 1), now: millis(90))
        XCTAssertFalse(r.ecnCapable)
    }

    // ECT-marked packets acknowledged with too small a count increase fail validation.
    func testECNValidationUndercount() throws {
        let r = makeRecovery()
        for pn in UInt64(0)...3 { r.send(pn, at: millis(Double(pn)), ecn: true) }
        try r.ack([0...3], ecn: ECNCounts(ect0: 2, ect1: 0, ce: 0), now: millis(30))
        XCTAssertFalse(r.ecnCapable)
    }

    // RFC 9000 §13.4.2.1: ECT-marked packets acknowledged by a frame without ECN counts.
    func testECNValidationMissingCounts() throws {
        let r = makeRecovery()
        r.send(0, at: 0, ecn: true)
        try r.ack([0...0], ecn: ECNCounts(ect0: 1, ect1: 0, ce: 0), now: millis(10))
        XCTAssertTrue(r.ecnCapable)
        r.send(1, at: millis(10), ecn: true)
        try r.ack([0...1], now: millis(20))
        XCTAssertFalse(r.ecnCapable)
    }

    // RFC 9000 §13.2.4: acknowledging a packet that carried an ACK frame releases the
    // receive-side ranges up to its Largest Acknowledged.
    func testAcknowledgedAckReleasesRanges() throws {
        let r = makeRecovery()
        for pn in UInt64(0)...9 { r.ackTrackers[.application].onPacketReceived(pn, ackEliciting: true, now: 0) }
        XCTAssertEqual(r.ackTrackers[.application].received.ranges, [0...9])
        r.send(0, at: 1, carryingAck: 9)
        try r.ack([0...0], now: millis(10))
        XCTAssertTrue(r.ackTrackers[.application].received.ranges.isEmpty)
        XCTAssertTrue(r.ackTrackers[.application].isDuplicate(5))
        XCTAssertFalse(r.ackTrackers[.application].isDuplicate(10))
    }
}

extension RecoveryLossTests {
    /// Issue 10: ACK Delay is any varint and the exponent up to 20 (RFC 9000 §18.2, §19.3):
    /// 2^62-1 × 2^20 µs saturates instead of trapping, and such a delay is never subtracted
    /// from the sample (RFC 9002 §5.3: not below min_rtt).
    func testHugeAckDelayDoesNotTrap() throws {
        for exponent: UInt64 in [0, 3, 20] {
            let r = makeRecovery(confirmed: false)
            r.peerAckDelayExponent = exponent
            r.send(0, at: 0)
            try r.ack([0...0], now: millis(100))
            r.send(1, at: millis(100))
            try r.ack([1...1], ackDelay: VarInt.max, now: millis(250))
            // Before confirmation the delay is not capped: adjusted would be below min_rtt,
            // so the raw 150 ms sample is used.
            XCTAssertEqual(r.rtt.smoothedRTT, .microseconds((7 * 100_000 + 150_000) / 8), "exponent \(exponent)")
            r.onHandshakeConfirmed(now: millis(250))
            r.send(2, at: millis(250))
            // After confirmation min(ack_delay, max_ack_delay = 25 ms) is used.
            try r.ack([2...2], ackDelay: VarInt.max, now: millis(400))
            XCTAssertLessThan(r.rtt.smoothedRTT, millis(150))
            XCTAssertNotNil(r.lossDetectionTimer.map { $0 < .never } ?? true)
        }
    }

    /// A peer's max_ack_delay of 2^14-1 ms keeps PTO arithmetic finite, and a long backoff
    /// saturates to "never" rather than trapping.
    func testLargeMaxAckDelayAndBackoff() throws {
        let r = makeRecovery()
        r.peerMaxAckDelay = .milliseconds((1 << 14) - 1)
        r.send(0, at: 0)
        XCTAssertEqual(r.lossDetectionTimer, QuicInstant.zero + r.rtt.ptoBase + .milliseconds((1 << 14) - 1))
        var now: QuicInstant = 0
        for _ in 0..<80 {
            guard let t = r.lossDetectionTimer, !t.isNever else { break }
            now = t
            _ = r.onLossDetectionTimeout(now: now)
        }
        // Backoff doubles until the deadline saturates to .never (about 2^40 × 17 s).
        XCTAssertGreaterThanOrEqual(r.ptoCount, 30)
        XCTAssertTrue(r.lossDetectionTimer?.isNever ?? false)
        XCTAssertEqual(LossRecovery.backedOff(.milliseconds(1), 200), .infinite)
    }
}
