import XCTest
@testable import QuicCore

/// HyStart++ (RFC 9406): the controller alone, round by round, then a transfer through a
/// simulated bottleneck with a drop-tail queue.
final class HyStartTests: XCTestCase {
    func controller(_ algorithm: CongestionControlAlgorithm = .cubic, hyStart: Bool = true) -> CongestionController {
        CongestionController(config: CongestionControlConfig(algorithm: algorithm, hyStartEnabled: hyStart))
    }

    /// Drives one round: sends `packets` packets of 1200 bytes (numbers from `pn`), then
    /// acknowledges them one ACK frame per packet, each with an RTT sample of `rtt`.
    /// Returns the next packet number.
    @discardableResult
    func round(_ c: inout CongestionController, from pn: UInt64, packets: Int, rtt: QuicDuration,
               at time: inout QuicInstant) -> UInt64 {
        let sentAt = time
        for _ in 0..<packets { c.onPacketSent(bytes: 1200, now: sentAt) }
        let next = pn + UInt64(packets)
        time += rtt
        var r = RTTEstimator()
        r.update(latest: rtt, ackDelay: .zero, maxAckDelay: .zero, handshakeConfirmed: true, now: time)
        for i in 0..<UInt64(packets) {
            c.hyStartOnAck(largestAcked: pn + i, rttSample: rtt, nextPacketNumber: next)
            c.onPacketAcked(bytes: 1200, timeSent: sentAt, now: time, rtt: r)
        }
        return next
    }

    // Off by default, as MsQuic's HyStartEnabled: no phase, plain slow start.
    func testOffByDefault() {
        var c = CongestionController(config: CongestionControlConfig())
        XCTAssertNil(c.hyStartPhase)
        var t: QuicInstant = 1_000_000
        var pn: UInt64 = 0
        pn = round(&c, from: pn, packets: 10, rtt: .milliseconds(40), at: &t)
        pn = round(&c, from: pn, packets: 20, rtt: .milliseconds(80), at: &t)
        XCTAssertEqual(c.congestionWindow, 48_000, "standard slow start doubles per round whatever the RTT does")
        XCTAssertTrue(c.inSlowStart)
    }

    // §4.2: with a steady RTT, slow start goes on doubling the window.
    func testSteadyRTTStaysInSlowStart() {
        var c = controller()
        var t: QuicInstant = 1_000_000
        var pn: UInt64 = 0
        var window = c.congestionWindow
        for _ in 0..<5 {
            pn = round(&c, from: pn, packets: Int(window / 1200), rtt: .milliseconds(40), at: &t)
            XCTAssertEqual(c.congestionWindow, 2 * window)
            window = c.congestionWindow
        }
        XCTAssertEqual(c.hyStartPhase, .slowStart)
        XCTAssertEqual(c.hyStartExitCount, 0)
    }

    // §4.2: RttThresh = clamp(lastRoundMinRTT / 8, 4 ms, 16 ms): with a 40 ms minimum the
    // threshold is 5 ms; a round whose minimum is 4.9 ms higher stays in slow start, one 5 ms
    // higher enters Conservative Slow Start, where the window grows by a quarter of the bytes
    // acknowledged (CSS_GROWTH_DIVISOR = 4).
    func testRTTIncreaseEntersConservativeSlowStart() {
        var c = controller()
        var t: QuicInstant = 1_000_000
        var pn: UInt64 = 0
        pn = round(&c, from: pn, packets: 10, rtt: .milliseconds(40), at: &t)      // first round: 24,000
        pn = round(&c, from: pn, packets: 20, rtt: .microseconds(44_900), at: &t)  // +4.9 ms: no exit
        XCTAssertEqual(c.hyStartPhase, .slowStart)
        XCTAssertEqual(c.congestionWindow, 48_000)
        // The previous round's minimum is now 44.9 ms: threshold 44.9/8 = 5.6 ms.
        pn = round(&c, from: pn, packets: 40, rtt: .milliseconds(51), at: &t)
        XCTAssertEqual(c.hyStartPhase, .conservativeSlowStart)
        XCTAssertEqual(c.hyStartExitCount, 1)
        // The exit came with the 8th sample of the round (N_RTT_SAMPLE): 7 packets at full
        // rate, the remaining 33 at a quarter.
        XCTAssertEqual(c.congestionWindow, 48_000 + 7 * 1200 + 33 * 300)
        XCTAssertTrue(c.inSlowStart, "CSS is still slow start: ssthresh is not set yet")
        XCTAssertEqual(c.slowStartThreshold, .max)
    }

    // §4.2: after CSS_ROUNDS (5) rounds of CSS, congestion avoidance with ssthresh = cwnd.
    func testConservativeSlowStartEndsInCongestionAvoidance() {
        var c = controller()
        var t: QuicInstant = 1_000_000
        var pn: UInt64 = 0
        pn = round(&c, from: pn, packets: 10, rtt: .milliseconds(20), at: &t)
        pn = round(&c, from: pn, packets: 20, rtt: .milliseconds(30), at: &t)
        XCTAssertEqual(c.hyStartPhase, .conservativeSlowStart)
        XCTAssertEqual(c.congestionWindow, 24_000 + 7 * 1200 + 13 * 300)
        // The RTT stays at the raised level: not below the CSS baseline, so no way back.
        for i in 0..<4 {
            pn = round(&c, from: pn, packets: 40, rtt: .milliseconds(30), at: &t)
            XCTAssertEqual(c.hyStartPhase, .conservativeSlowStart, "CSS round \(i + 2)")
        }
        let before = c.congestionWindow
        XCTAssertEqual(before, 36_300 + 4 * 40 * 300, "a quarter of the acknowledged bytes per ACK")
        pn = round(&c, from: pn, packets: 40, rtt: .milliseconds(30), at: &t)
        XCTAssertEqual(c.hyStartPhase, .done)
        XCTAssertFalse(c.inSlowStart)
        XCTAssertEqual(c.slowStartThreshold, before,
                       "ssthresh is the window when the 5th CSS round ended")
        // Congestion avoidance from here: CUBIC's growth in one round is under a segment.
        XCTAssertLessThan(c.congestionWindow - before, 1200)
    }

    // §4.2: if CSS sees the RTT drop below the baseline, the exit was spurious: slow start again.
    func testSpuriousExitResumesSlowStart() {
        var c = controller()
        var t: QuicInstant = 1_000_000
        var pn: UInt64 = 0
        pn = round(&c, from: pn, packets: 10, rtt: .milliseconds(20), at: &t)
        pn = round(&c, from: pn, packets: 20, rtt: .milliseconds(30), at: &t)
        XCTAssertEqual(c.hyStartPhase, .conservativeSlowStart)
        pn = round(&c, from: pn, packets: 40, rtt: .milliseconds(21), at: &t)
        XCTAssertEqual(c.hyStartPhase, .slowStart)
        XCTAssertEqual(c.hyStartSpuriousExitCount, 1)
        // 7 ACKs at a quarter, then 33 at full rate.
        XCTAssertEqual(c.congestionWindow, 36_300 + 7 * 300 + 33 * 1200)
        // Back at full slow start growth.
        let w = c.congestionWindow
        pn = round(&c, from: pn, packets: 10, rtt: .milliseconds(21), at: &t)
        XCTAssertEqual(c.congestionWindow, w + 12_000)
    }

    // §4.2: fewer than N_RTT_SAMPLE samples in a round decide nothing.
    func testTooFewSamplesDecideNothing() {
        var c = controller()
        var t: QuicInstant = 1_000_000
        var pn: UInt64 = 0
        pn = round(&c, from: pn, packets: 7, rtt: .milliseconds(20), at: &t)
        pn = round(&c, from: pn, packets: 7, rtt: .milliseconds(80), at: &t)
        XCTAssertEqual(c.hyStartPhase, .slowStart)
    }

    // §4.3: a loss ends HyStart++ for the connection; later slow starts are standard.
    func testLossEndsHyStart() {
        var c = controller(.newReno)
        var t: QuicInstant = 1_000_000
        var pn: UInt64 = 0
        pn = round(&c, from: pn, packets: 10, rtt: .milliseconds(20), at: &t)
        c.onPacketSent(bytes: 1200, now: t)
        c.onPacketLost(bytes: 1200, now: t + .milliseconds(30))
        c.onCongestionEvent(sentTime: t, now: t + .milliseconds(30))
        XCTAssertEqual(c.hyStartPhase, .done)
        c.onPersistentCongestion()
        XCTAssertEqual(c.hyStartPhase, .done)
        // A new path starts over (RFC 9000 §9.4).
        c.reset()
        XCTAssertEqual(c.hyStartPhase, .slowStart)
    }

    // Extreme inputs: zero and huge RTT samples, packet numbers near the top, no crash.
    func testExtremeInputs() {
        var c = controller()
        c.hyStartOnAck(largestAcked: .max - 1, rttSample: .zero, nextPacketNumber: .max)
        for _ in 0..<20 { c.hyStartOnAck(largestAcked: .max, rttSample: .infinite, nextPacketNumber: .max) }
        for _ in 0..<20 { c.hyStartOnAck(largestAcked: 0, rttSample: .microseconds(.max - 1), nextPacketNumber: 1) }
        XCTAssertNotNil(c.hyStartPhase)
    }

    // MARK: through a bottleneck

    /// 10 Mbit/s with 20 ms each way (BDP 50 KB) and a 150 KB drop-tail queue: standard slow
    /// start doubles the window until the queue overflows and loses a burst; HyStart++ sees the
    /// queueing delay grow and leaves slow start early (CSS still grows the window by up to
    /// 1.25^5, so with a shallow queue it also ends in a loss, only a smaller one).
    func transfer(hyStart: Bool, rate: UInt64 = 1_250_000, delay: UInt64 = 20_000, queue: UInt64 = 150_000,
                  bytes: Int = 2_000_000) throws -> (lost: UInt64, exits: UInt64, phase: HyStartPhase?, ok: Bool) {
        var s = SimConfigs.server(), cl = SimConfigs.client()
        s.mtuDiscovery = nil; cl.mtuDiscovery = nil
        cl.congestionControl.hyStartEnabled = hyStart
        s.congestionControl.hyStartEnabled = hyStart
        let sim = try PathSim(server: s, client: cl)
        sim.delay = delay
        sim.bottleneckRate = rate
        sim.queueLimit = queue
        let (client, _) = try sim.connect()
        let ok = try sim.upload(bytes)
        let cc = client.recovery.recovery.congestion
        return (client.statistics.lostPackets, cc.hyStartExitCount, cc.hyStartPhase, ok)
    }

    func testBottleneckTransfer() throws {
        let plain = try transfer(hyStart: false)
        let hy = try transfer(hyStart: true)
        print("bottleneck transfer: lost \(plain.lost) packets with standard slow start, \(hy.lost) with HyStart++ (\(hy.exits) exit)")
        XCTAssertTrue(plain.ok)
        XCTAssertTrue(hy.ok)
        XCTAssertNil(plain.phase)
        XCTAssertGreaterThan(plain.lost, 0, "standard slow start overflows the queue")
        XCTAssertGreaterThanOrEqual(hy.exits, 1, "HyStart++ saw the delay increase")
        XCTAssertEqual(hy.phase, .done)
        // Measured: 244 lost without, 53 with (a 2 MB upload; seeded, no random loss).
        XCTAssertLessThan(2 * hy.lost, plain.lost, "lost: \(hy.lost) with HyStart++ vs \(plain.lost) without")
    }
}
