import XCTest
@testable import QuicCore

final class RecoveryCongestionTests: XCTestCase {
    let rtt100: RTTEstimator = {
        var r = RTTEstimator()
        r.update(latest: .microseconds(100_000), ackDelay: .microseconds(0), maxAckDelay: .microseconds(0), handshakeConfirmed: true, now: 0)
        return r
    }()

    func reno(_ packets: UInt32 = 10, mds: UInt32 = 1200) -> CongestionController {
        CongestionController(config: CongestionControlConfig(algorithm: .newReno, initialWindowPackets: packets, maxDatagramSize: mds))
    }

    func cubic(fastConvergence: Bool = true) -> CongestionController {
        CongestionController(config: CongestionControlConfig(algorithm: .cubic, fastConvergence: fastConvergence))
    }

    // MsQuic: initial window = InitialWindowPackets × max datagram size; RFC 9002 §7.2
    // minimum window = 2 × max datagram size.
    func testInitialAndMinimumWindow() {
        XCTAssertEqual(reno().congestionWindow, 12_000)
        XCTAssertEqual(reno(4).congestionWindow, 4_800)
        XCTAssertEqual(reno(10, mds: 1500).congestionWindow, 15_000)
        XCTAssertEqual(reno().minimumWindow, 2_400)
        XCTAssertEqual(reno().slowStartThreshold, .max)
        XCTAssertTrue(reno().inSlowStart)
    }

    func testCanSend() {
        var c = reno()
        XCTAssertTrue(c.canSend(bytes: 12_000))
        XCTAssertFalse(c.canSend(bytes: 12_001))
        c.onPacketSent(bytes: 11_000, now: 0)
        XCTAssertEqual(c.availableWindow, 1_000)
        XCTAssertTrue(c.canSend(bytes: 1_000))
        XCTAssertFalse(c.canSend(bytes: 1_001))
    }

    // RFC 9002 §7.3.1: slow start grows by the bytes acknowledged.
    func testSlowStart() {
        var c = reno()
        for i in 0..<10 { c.onPacketSent(bytes: 1200, now: QuicInstant(microseconds: UInt64(i))) }
        for i in 0..<10 { c.onPacketAcked(bytes: 1200, timeSent: QuicInstant(microseconds: UInt64(i)), now: 100_000, rtt: rtt100) }
        XCTAssertEqual(c.congestionWindow, 24_000)
        XCTAssertEqual(c.bytesInFlight, 0)
    }

    // RFC 9002 §7.3.2, Appendix B.6: a loss halves the window (not below the minimum), once
    // per recovery period; acknowledgements of packets sent before the period do not grow it;
    // the first acknowledgement of a packet sent after it ends the period.
    func testNewRenoRecoveryPeriod() {
        var c = reno()
        for t in 0..<10 { c.onPacketSent(bytes: 1200, now: QuicInstant(microseconds: UInt64(t))) } // a full window
        c.onPacketAcked(bytes: 1200, timeSent: 0, now: 10, rtt: rtt100)
        XCTAssertEqual(c.congestionWindow, 13_200)
        for t in 20..<30 { c.onPacketSent(bytes: 1200, now: QuicInstant(microseconds: UInt64(t))) }
        c.onPacketLost(bytes: 1200, now: 100)
        c.onCongestionEvent(sentTime: 20, now: 100)
        XCTAssertEqual(c.slowStartThreshold, 6_600)
        XCTAssertEqual(c.congestionWindow, 6_600)
        XCTAssertEqual(c.recoveryStartTime, 100)
        // A second loss from before the period: no further reduction.
        c.onPacketLost(bytes: 1200, now: 101)
        c.onCongestionEvent(sentTime: 21, now: 101)
        XCTAssertEqual(c.congestionWindow, 6_600)
        XCTAssertEqual(c.congestionEventCount, 1)
        // Acks of old packets: no growth.
        c.onPacketAcked(bytes: 1200, timeSent: 22, now: 150, rtt: rtt100)
        XCTAssertEqual(c.congestionWindow, 6_600)
        // A packet sent after the period started: recovery ends, congestion avoidance grows by
        // max_datagram_size · acked / cwnd = 1200·1200/6600 = 218.
        c.onPacketSent(bytes: 1200, now: 200)
        c.onPacketAcked(bytes: 1200, timeSent: 200, now: 300, rtt: rtt100)
        XCTAssertNil(c.recoveryStartTime)
        XCTAssertEqual(c.congestionWindow, 6_600 + 218)
        // Floor: the window never drops below kMinimumWindow.
        var small = reno(2)
        small.onCongestionEvent(sentTime: 0, now: 1)
        XCTAssertEqual(small.congestionWindow, 2_400)
    }

    // RFC 9002 §7.3.3: congestion avoidance adds about one max datagram per window acknowledged.
    func testNewRenoAvoidanceGrowth() {
        var c = reno()
        c.onCongestionEvent(sentTime: 0, now: 1) // cwnd 6000, ssthresh 6000
        XCTAssertFalse(c.inSlowStart)
        let start = c.congestionWindow
        // Send and acknowledge one window's worth (5 packets).
        for t in UInt64(10)..<15 { c.onPacketSent(bytes: 1200, now: us(t)) }
        for t in UInt64(10)..<15 { c.onPacketAcked(bytes: 1200, timeSent: us(t), now: us(t + 100_000), rtt: rtt100) }
        XCTAssertGreaterThanOrEqual(c.congestionWindow - start, 1_100)
        XCTAssertLessThanOrEqual(c.congestionWindow - start, 1_200)
    }

    // RFC 9002 §7.8: no growth while application limited.
    func testApplicationLimited() {
        var c = reno()
        c.isApplicationLimited = true
        c.onPacketSent(bytes: 1200, now: 0)
        c.onPacketAcked(bytes: 1200, timeSent: 0, now: 100, rtt: rtt100)
        XCTAssertEqual(c.congestionWindow, 12_000)
        XCTAssertEqual(c.bytesInFlight, 0)
    }

    // RFC 9002 §7.6.2: persistent congestion → kMinimumWindow.
    func testPersistentCongestion() {
        var c = reno()
        c.onPersistentCongestion()
        XCTAssertEqual(c.congestionWindow, 2_400)
        XCTAssertNil(c.recoveryStartTime)
    }

    // MsQuic SendIdleTimeoutMs (1 s default): after a longer idle the window restarts from
    // min(initial window, cwnd); a shorter idle keeps it.
    func testIdleRestart() {
        var c = reno()
        for i in 0..<10 { c.onPacketSent(bytes: 1200, now: QuicInstant(microseconds: UInt64(i))) }
        for i in 0..<10 { c.onPacketAcked(bytes: 1200, timeSent: QuicInstant(microseconds: UInt64(i)), now: 100_000, rtt: rtt100) }
        XCTAssertEqual(c.congestionWindow, 24_000)
        c.onPacketSent(bytes: 1200, now: 600_000) // 0.6 s after the last send: kept
        XCTAssertEqual(c.congestionWindow, 24_000)
        c.onPacketAcked(bytes: 1200, timeSent: 600_000, now: 700_000, rtt: rtt100)
        c.onPacketSent(bytes: 1200, now: 1_700_000) // 1.1 s idle: restart
        XCTAssertEqual(c.congestionWindow, 12_000)
    }

    // Bytes in flight never underflow.
    func testBytesInFlightSaturates() {
        var c = reno()
        c.onPacketSent(bytes: 100, now: 0)
        c.onPacketDiscarded(bytes: 500, now: 1)
        XCTAssertEqual(c.bytesInFlight, 0)
    }

    // MsQuic's setting: CUBIC = 0, BBR = 1, anything else is refused.
    func testAlgorithmSetting() {
        XCTAssertEqual(CongestionControlAlgorithm.forMsQuicSetting(0), .cubic)
        XCTAssertEqual(CongestionControlAlgorithm.forMsQuicSetting(1), .bbr)
        XCTAssertNil(CongestionControlAlgorithm.forMsQuicSetting(2))
        XCTAssertEqual(CongestionControlConfig().algorithm, .cubic)
    }

    // MARK: CUBIC (RFC 9438)

    func testCubeRoot() {
        for v in [0.0, 1e-9, 0.5, 1, 8, 27, 75, 1e6, 1e12] {
            let r = cubeRoot(v)
            XCTAssertEqual(r * r * r, v, accuracy: max(v * 1e-9, 1e-12))
        }
        XCTAssertEqual(cubeRoot(-8), -2, accuracy: 1e-9)
    }

    // RFC 9438 Figure 2: K = ∛((W_max − cwnd_epoch)/C), and W_cubic(0) = cwnd_epoch,
    // W_cubic(K) = W_max.
    func testCubicKAndWCubic() {
        let k = CubicState.k(wMax: 100, cwndEpoch: 70)
        XCTAssertEqual(k, cubeRoot(75), accuracy: 1e-9)
        XCTAssertEqual(k, 4.2171633, accuracy: 1e-6)
        var s = CubicState()
        s.wMax = 100
        s.k = k
        XCTAssertEqual(s.wCubic(0), 70, accuracy: 1e-9)
        XCTAssertEqual(s.wCubic(k), 100, accuracy: 1e-9)
        XCTAssertEqual(s.wCubic(k + 1), 100.4, accuracy: 1e-9)
        XCTAssertEqual(s.wCubic(k + 2), 103.2, accuracy: 1e-9)
    }

    // RFC 9438 §4.6: β_cubic = 0.7; §4.7 fast convergence lowers W_max when the window is
    // below the previous W_max.
    func testCubicDecreaseAndFastConvergence() {
        var c = cubic()
        c.congestionWindow = 120_000 // 100 segments
        c.slowStartThreshold = 60_000
        c.onCongestionEvent(sentTime: 0, now: 10)
        XCTAssertEqual(c.congestionWindow, 84_000)
        XCTAssertEqual(c.slowStartThreshold, 84_000)
        XCTAssertEqual(c.cubic.wMax, 100, accuracy: 1e-9)
        XCTAssertEqual(c.cubic.cwndPrior, 100, accuracy: 1e-9)
        // Second event at 90 segments < W_max: W_max = 90·(1+0.7)/2 = 76.5.
        c.congestionWindow = 108_000
        c.onCongestionEvent(sentTime: 20, now: 30)
        XCTAssertEqual(c.cubic.wMax, 76.5, accuracy: 1e-9)
        XCTAssertEqual(c.congestionWindow, 75_600)

        var slow = cubic(fastConvergence: false)
        slow.congestionWindow = 120_000
        slow.onCongestionEvent(sentTime: 0, now: 10)
        slow.congestionWindow = 108_000
        slow.onCongestionEvent(sentTime: 20, now: 30)
        XCTAssertEqual(slow.cubic.wMax, 90, accuracy: 1e-9)
    }

    /// Drives one round trip: sends a window's worth of 1200-byte packets one RTT before
    /// `now` and acknowledges them all at `now`.
    func ackRound(_ c: inout CongestionController, now: UInt64, rtt: RTTEstimator) {
        let packets = Int(c.congestionWindow / 1200)
        for i in 0..<packets { c.onPacketSent(bytes: 1200, now: us(now - 100_000 + UInt64(i))) }
        for i in 0..<packets {
            c.onPacketAcked(bytes: 1200, timeSent: us(now - 100_000 + UInt64(i)), now: us(now), rtt: rtt)
        }
    }

    // RFC 9002 §7.8: a window the sender does not fill stops growing at twice the most bytes
    // it had in flight (the cap never shrinks the window it already has).
    func testUnusedWindowDoesNotGrow() {
        for algorithm in [CongestionControlAlgorithm.newReno, .cubic] {
            var c = CongestionController(config: CongestionControlConfig(algorithm: algorithm))
            for i in UInt64(0)..<1000 {
                c.onPacketSent(bytes: 1200, now: us(i * 1000))
                c.onPacketAcked(bytes: 1200, timeSent: us(i * 1000), now: us(i * 1000 + 500), rtt: rtt100)
            }
            XCTAssertEqual(c.congestionWindow, 12_000, "\(algorithm)")
            // Filling the window lets it grow again.
            for i in UInt64(0)..<10 { c.onPacketSent(bytes: 1200, now: us(2_000_000 + i)) }
            for i in UInt64(0)..<10 { c.onPacketAcked(bytes: 1200, timeSent: us(2_000_000 + i), now: 2_100_000, rtt: rtt100) }
            XCTAssertEqual(c.congestionWindow, 24_000, "\(algorithm)")
        }
    }

    // RFC 9438 §4.4/§4.5: after a reduction from 100 segments, the window follows the cubic
    // curve: it approaches W_max around t = K (concave) and grows past it (convex).
    func testCubicFollowsCurve() {
        var c = cubic()
        c.congestionWindow = 120_000
        c.onCongestionEvent(sentTime: 0, now: 1_000_000)
        XCTAssertEqual(c.congestionWindow, 84_000)
        var now: UInt64 = 1_200_000
        let epochStart = now
        ackRound(&c, now: now, rtt: rtt100)
        XCTAssertEqual(c.cubic.epochStart, us(epochStart))
        XCTAssertEqual(c.cubic.k, cubeRoot(75), accuracy: 1e-9)
        var previous = c.congestionWindow
        var samples: [(Double, Double)] = []
        while now < epochStart + 7_000_000 {
            now += 100_000
            ackRound(&c, now: now, rtt: rtt100)
            XCTAssertGreaterThanOrEqual(c.congestionWindow, previous)
            previous = c.congestionWindow
            let t = Double(now - epochStart) / 1e6
            samples.append((t, Double(c.congestionWindow) / 1200))
        }
        for (t, w) in samples where t > 1 {
            // The window tracks W_cubic(t) (its target is W_cubic(t + RTT), reached over an RTT).
            let expected = c.cubic.wCubic(t)
            XCTAssertEqual(w, expected, accuracy: max(expected * 0.05, 2), "t=\(t)")
        }
        // Concave then convex: growth slows near K, then speeds up.
        let nearK = samples.first { abs($0.0 - c.cubic.k) < 0.06 }!
        XCTAssertEqual(nearK.1, 100, accuracy: 3)
        XCTAssertGreaterThan(samples.last!.1, 110)
    }

    // RFC 9438 §4.3: with a small window and a short RTT the Reno-friendly estimate W_est
    // (α = 3(1−β)/(1+β) per RTT, then 1 once W_est reaches cwnd_prior) drives the window.
    func testCubicRenoFriendlyRegion() {
        var c = cubic()
        c.congestionWindow = 12_000 // 10 segments
        c.onCongestionEvent(sentTime: 0, now: 1_000_000)
        XCTAssertEqual(c.congestionWindow, 8_400) // 7 segments
        var rtt10 = RTTEstimator()
        rtt10.update(latest: .microseconds(10_000), ackDelay: .microseconds(0), maxAckDelay: .microseconds(0), handshakeConfirmed: true, now: 0)
        var now: UInt64 = 1_100_000
        let epochStart = now
        var acked: Double = 0
        func round() {
            let packets = Int(c.congestionWindow / 1200)
            for i in 0..<packets { c.onPacketSent(bytes: 1200, now: us(now - 10_000 + UInt64(i))) }
            for i in 0..<packets {
                c.onPacketAcked(bytes: 1200, timeSent: us(now - 10_000 + UInt64(i)), now: us(now), rtt: rtt10)
                acked += 1
            }
        }
        round()
        for _ in 0..<6 {
            now += 10_000
            round()
            let t = Double(now - epochStart) / 1e6
            let wEst = c.cubic.wEst
            XCTAssertGreaterThan(wEst, c.cubic.wCubic(t), "Reno-friendly region expected")
            XCTAssertEqual(Double(c.congestionWindow) / 1200, wEst, accuracy: 0.01)
        }
        // About α_cubic ≈ 0.53 segments per RTT while below cwnd_prior (10 segments).
        XCTAssertEqual(cubicAlpha, 3 * 0.3 / 1.7, accuracy: 1e-12)
        XCTAssertGreaterThan(c.cubic.wEst, 7 + 6 * cubicAlpha * 0.9)
        XCTAssertLessThan(c.cubic.wEst, 7 + 7 * cubicAlpha * 1.1)
    }

    // RFC 9438 §4.8 / RFC 9002 §7.6.2: after persistent congestion, the next epoch starts with
    // K = 0 and W_max = the window at its start.
    func testCubicAfterPersistentCongestion() {
        var c = cubic()
        c.congestionWindow = 120_000
        c.onCongestionEvent(sentTime: 0, now: 10)
        c.onPersistentCongestion()
        XCTAssertEqual(c.congestionWindow, 2_400)
        // Slow start up to ssthresh (84 000), then the epoch starts on the plateau.
        var now: UInt64 = 1_000_000
        var rounds = 0
        while c.inSlowStart && rounds < 100 {
            ackRound(&c, now: now, rtt: rtt100)
            now += 100_000
            rounds += 1
        }
        XCTAssertFalse(c.inSlowStart)
        ackRound(&c, now: now, rtt: rtt100)
        XCTAssertEqual(c.cubic.k, 0)
        XCTAssertGreaterThanOrEqual(c.cubic.wMax, 70)
    }

    // CUBIC idle: time with nothing in flight does not count toward t (RFC 9438 §5.8 spirit).
    func testCubicEpochShiftsOverIdle() {
        var c = cubic()
        c.congestionWindow = 120_000
        c.onCongestionEvent(sentTime: 0, now: 10)
        c.onPacketSent(bytes: 1200, now: 100)
        c.onPacketAcked(bytes: 1200, timeSent: 100, now: 200_000, rtt: rtt100)
        XCTAssertEqual(c.cubic.epochStart, 200_000)
        XCTAssertEqual(c.bytesInFlight, 0)
        c.onPacketSent(bytes: 1200, now: 700_000) // idle 0.5 s
        XCTAssertEqual(c.cubic.epochStart, 700_000)
    }
}
