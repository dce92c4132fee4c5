import XCTest
@testable import QuicCore
import QuicWire

/// A sender's `LossRecovery` on a simulated path with a bottleneck (virtual clock, µs): each
/// packet waits for the link (serialisation at `rate` bytes/s, drop-tail queue of
/// `bufferBytes`), crosses `oneWayDelay`, and is acknowledged on its own, the ACK crossing
/// `oneWayDelay` back. The application has unlimited data unless `appRate` (bytes/s) is set.
final class BbrPathSim {
    let r: LossRecovery
    var now: QuicInstant = 1_000_000
    var oneWayDelay: UInt64 = 20_000
    var rate: UInt64 = 1_200_000
    var bufferBytes: UInt64 = 200_000
    var packetSize: UInt32 = 1200
    /// Application data offered per second; nil: always something to send.
    var appRate: UInt64?
    private var appBudget: UInt64 = 0
    private var appCredit: UInt64 = 0
    private var lastAppRefill: QuicInstant?
    private var linkFree: QuicInstant = 0
    private var nextPN: UInt64 = 0
    private var acks: [(at: QuicInstant, pn: UInt64)] = []
    private var ackHead = 0
    var dropped = 0
    var sentPackets = 0
    /// Called after each ACK frame is processed.
    var onAck: ((LossRecovery, QuicInstant) -> Void)?

    init(seed: UInt64 = 1) {
        var cc = CongestionControlConfig(algorithm: .bbr)
        cc.randomSeed = seed
        r = LossRecovery(config: RecoveryConfig(isServer: true, congestion: cc))
        r.peerMaxAckDelay = .zero
        r.onHandshakeConfirmed(now: now)
    }

    var bbr: BbrState { r.congestion.bbr }

    private func refillApp() {
        guard let appRate else { return }
        if let last = lastAppRefill, now > last {
            // Exact: the fraction of a byte carries over to the next refill.
            appCredit += (now - last).microseconds * appRate
            appBudget = min(appBudget + appCredit / 1_000_000, 4 * UInt64(packetSize))
            appCredit %= 1_000_000
        }
        lastAppRefill = now
    }

    private var appHasData: Bool { appRate == nil || appBudget >= UInt64(packetSize) }

    private func sendOne(probe: Bool = false) {
        let size = UInt64(packetSize)
        _ = r.send(nextPN, at: now, size: packetSize)
        if appRate != nil { appBudget = appBudget >= size ? appBudget - size : 0 }
        sentPackets += 1
        // Bottleneck: bytes still queued ahead of this packet.
        let queued = linkFree > now ? (linkFree - now).microseconds * rate / 1_000_000 : 0
        if queued + size > bufferBytes {
            dropped += 1
        } else {
            let start = max(now, linkFree)
            linkFree = start + .microseconds(size * 1_000_000 / rate)
            acks.append((linkFree + .microseconds(2 * oneWayDelay), nextPN))
        }
        nextPN += 1
    }

    /// Runs for `duration` µs of virtual time.
    func run(for duration: UInt64) throws {
        let end = now + .microseconds(duration)
        while now < end {
            refillApp()
            var paceAt: QuicInstant = .never
            while appHasData && r.canSend(bytes: UInt64(packetSize)) {
                let t = r.nextSendTime(bytes: UInt64(packetSize), now: now)
                if t > now { paceAt = t; break }
                sendOne()
            }
            if !appHasData { r.onApplicationLimited() }
            var next = min(paceAt, end)
            if ackHead < acks.count { next = min(next, acks[ackHead].at) }
            if let t = r.lossDetectionTimer { next = min(next, t) }
            if let rate = appRate, !appHasData {
                let missing = UInt64(packetSize) - appBudget
                next = min(next, now + .microseconds(max(missing * 1_000_000 / rate, 1)))
            }
            now = max(now, next)
            while ackHead < acks.count && acks[ackHead].at <= now {
                let a = acks[ackHead]
                ackHead += 1
                try r.ack([a.pn...a.pn], now: a.at)
                onAck?(r, now)
            }
            if ackHead > 4096 { acks.removeFirst(ackHead); ackHead = 0 }
            if let t = r.lossDetectionTimer, t <= now {
                if case .probe(_, let count, _) = r.onLossDetectionTimeout(now: now) {
                    for _ in 0..<count { sendOne(probe: true) }
                }
            }
        }
    }
}

final class RecoveryBbrTests: XCTestCase {
    // MARK: the model on a simulated bottleneck

    /// STARTUP doubles its way to the bottleneck, then leaves for DRAIN once three rounds in a
    /// row failed to raise the bandwidth by 25 % (bbr.c kStartupGrowthTarget,
    /// kStartupSlowGrowRoundLimit); the estimate is the bottleneck rate.
    func testStartupFindsTheBottleneckAndExitsToDrain() throws {
        let sim = BbrPathSim()
        var bandwidthAtRound: [UInt64: UInt64] = [:]
        var drainRound: UInt64?
        var modes: [BbrMode] = [.startup]
        sim.onAck = { r, _ in
            let b = r.congestion.bbr
            // The estimate as each round starts: what the growth check compares.
            if bandwidthAtRound[b.roundCount] == nil { bandwidthAtRound[b.roundCount] = b.bandwidth }
            if b.mode != modes.last! { modes.append(b.mode) }
            if b.mode == .drain && drainRound == nil { drainRound = b.roundCount }
        }
        try sim.run(for: 1_500_000)
        XCTAssertEqual(Array(modes.prefix(3)), [.startup, .drain, .probeBandwidth])
        let exit = try XCTUnwrap(drainRound)
        XCTAssertTrue(sim.bbr.bottleneckBandwidthFound)
        // The three rounds before the exit grew by less than 25 % over the round before them.
        let base = try XCTUnwrap(bandwidthAtRound[exit - 3])
        for k in (exit - 2)...exit {
            XCTAssertLessThan(bandwidthAtRound[k] ?? 0, base * 5 / 4, "round \(k)")
        }
        // The rounds leading there did grow (STARTUP was doing its job).
        XCTAssertGreaterThan(base, 2 * (bandwidthAtRound[2] ?? 0))
        // The estimate is the bottleneck (1.2 MB/s), within 5 %.
        XCTAssertGreaterThan(sim.bbr.bandwidth, sim.rate * 95 / 100)
        XCTAssertLessThan(sim.bbr.bandwidth, sim.rate * 105 / 100)
        XCTAssertEqual(sim.bbr.minRTT.microseconds, 40_000 + 1_000, "2 × 20 ms + one packet's serialisation")
    }

    /// PROBE_BW: the pacing gain walks the 8-phase cycle 1.25, 0.75, 1 ×6 in order (one
    /// phase per min RTT at least), with window gain 2; the flight stays near the BDP.
    func testProbeBandwidthCyclesGains() throws {
        let sim = BbrPathSim(seed: 7)
        var phases: [(index: Int, gain: UInt64)] = []
        var maxInFlight: UInt64 = 0
        sim.onAck = { r, _ in
            let b = r.congestion.bbr
            guard b.mode == .probeBandwidth else { return }
            if phases.last?.index != b.cycleIndex { phases.append((b.cycleIndex, b.pacingGain)) }
            if phases.count > 2 { maxInFlight = max(maxInFlight, r.bytesInFlight) }
        }
        try sim.run(for: 4_000_000)
        XCTAssertEqual(sim.bbr.mode, .probeBandwidth)
        XCTAssertEqual(sim.bbr.cwndGain, 512)
        XCTAssertGreaterThan(phases.count, 16, "two full cycles")
        XCTAssertNotEqual(phases.first?.index, 1, "never starts in the draining phase")
        for (a, b) in zip(phases, phases.dropFirst()) {
            XCTAssertEqual(b.index, (a.index + 1) % 8, "phases advance in order")
        }
        for p in phases {
            XCTAssertEqual(p.gain, p.index == 0 ? 320 : p.index == 1 ? 192 : 256, "phase \(p.index)")
        }
        // BDP = 1.2 MB/s × 41 ms ≈ 49 kB; window 2 × BDP + quanta + ACK height.
        XCTAssertLessThan(maxInFlight, 2 * 49_200 + 3 * 1200 + 40_000)
        XCTAssertGreaterThan(maxInFlight, 49_200)
        XCTAssertEqual(sim.dropped, 0, "a 200 kB buffer is never overrun once the model holds")
    }

    /// PROBE_RTT: 10 s without a smaller RTT sample, the window drops to 4 packets for at least
    /// 200 ms and a round, the min RTT is re-stamped, and PROBE_BW resumes.
    func testProbeRTTAfterTenSecondsWithoutNewMinimum() throws {
        let sim = BbrPathSim()
        var entered: QuicInstant?
        var left: QuicInstant?
        var stampBefore: QuicInstant?
        var windowInProbe: Set<UInt64> = []
        var roundsInProbe: Set<UInt64> = []
        sim.onAck = { r, now in
            let b = r.congestion.bbr
            if b.mode == .probeRTT {
                if entered == nil { entered = now; stampBefore = stampBefore ?? b.minRTTStamp }
                windowInProbe.insert(r.congestionWindow)
                roundsInProbe.insert(b.roundCount)
            } else if entered != nil && left == nil {
                left = now
            }
            if entered == nil { stampBefore = b.minRTTStamp }
        }
        try sim.run(for: 13_000_000)
        let start = try XCTUnwrap(entered, "PROBE_RTT entered")
        let end = try XCTUnwrap(left, "PROBE_RTT left")
        let stamp = try XCTUnwrap(stampBefore)
        XCTAssertGreaterThanOrEqual(start - stamp, .seconds(10))
        XCTAssertLessThan(start - stamp, .seconds(10) + .milliseconds(100))
        XCTAssertGreaterThanOrEqual(end - start, .milliseconds(200))
        XCTAssertLessThan(end - start, .milliseconds(400))
        XCTAssertEqual(windowInProbe, [4 * 1200], "MsQuic kMinCwndInMss")
        XCTAssertGreaterThanOrEqual(roundsInProbe.count, 2, "at least one round passes")
        XCTAssertEqual(sim.bbr.mode, .probeBandwidth, "back to PROBE_BW: the pipe was full before")
        XCTAssertEqual(sim.bbr.minRTTStamp, end, "the min RTT counts as fresh from the exit")
    }

    /// Samples taken while the application does not fill the pipe never lower the estimate
    /// (draft-cheng §3.4; bbr.c: an app-limited sample only enters the filter if it is larger).
    func testApplicationLimitedSamplesKeepTheEstimate() throws {
        let sim = BbrPathSim()
        try sim.run(for: 2_000_000)
        let full = sim.bbr.bandwidth
        XCTAssertGreaterThan(full, sim.rate * 95 / 100)
        var appLimitedAcks = 0
        sim.onAck = { r, _ in if r.congestion.deliveryRate.isAppLimited { appLimitedAcks += 1 } }
        sim.appRate = sim.rate / 5       // a fifth of the path
        try sim.run(for: 3_000_000)      // ~70 rounds: far beyond the 10-round window
        XCTAssertGreaterThan(appLimitedAcks, 100)
        XCTAssertEqual(sim.bbr.bandwidth, full, "app-limited samples did not replace the estimate")
        XCTAssertGreaterThan(sim.bbr.roundCount, 60)
    }

    /// The same sender with BBR recovers from a small buffer: losses enter recovery (window
    /// capped by the recovery window, counted as congestion events) and it ends.
    func testLossEntersAndLeavesRecovery() throws {
        let sim = BbrPathSim()
        sim.bufferBytes = 12_000
        var sawRecovery = false
        var cappedBelowModel = false
        var leftRecovery = 0
        sim.onAck = { r, _ in
            let b = r.congestion.bbr
            if b.recoveryState != .notInRecovery {
                sawRecovery = true
                if r.congestionWindow < b.window { cappedBelowModel = true }
            } else if sawRecovery {
                leftRecovery += 1
            }
        }
        try sim.run(for: 3_000_000)
        XCTAssertGreaterThan(sim.dropped, 0)
        XCTAssertTrue(sawRecovery)
        XCTAssertTrue(cappedBelowModel, "the recovery window limited the window in force")
        XCTAssertGreaterThan(leftRecovery, 0, "recovery ends")
        XCTAssertGreaterThan(sim.r.congestion.congestionEventCount, 0)
        XCTAssertGreaterThan(sim.bbr.bandwidth, sim.rate * 80 / 100, "loss does not collapse the model")
    }

    // MARK: delivery-rate estimation (draft-cheng-iccrg-delivery-rate-estimation §3)

    /// Two flights of ten 1000-byte packets, 1 ms apart, each acknowledged 100 ms after it
    /// was sent: the samples follow the draft's formulas exactly.
    func testDeliveryRateSamplesForAKnownPattern() {
        var e = DeliveryRateEstimator()
        var sent: [SentPacket] = []
        var inFlight: UInt64 = 0
        func send(_ pn: UInt64, at t: UInt64) {
            var p = SentPacket(packetNumber: pn, timeSent: us(t), size: 1000, ackEliciting: true, inFlight: true, token: pn)
            e.onPacketSent(&p, bytesInFlight: inFlight, now: us(t))
            inFlight += 1000
            sent.append(p)
        }
        func ack(_ pn: Int, at t: UInt64) -> RateSample {
            e.onPacketAcked(sent[pn], now: us(t))
            inFlight -= 1000
            return e.takeSample(minRTT: .milliseconds(100))
        }
        for i in 0..<10 { send(UInt64(i), at: UInt64(i) * 1000) }
        // Each ACK of the first flight (t = 100 + i ms) is followed by a packet of the second.
        var first: [RateSample] = []
        for i in 0..<10 {
            first.append(ack(i, at: 100_000 + UInt64(i) * 1000))
            send(UInt64(10 + i), at: 100_000 + UInt64(i) * 1000)
        }
        // P0: 1000 bytes over max(send 0, ack 100 ms) = 10 kB/s.
        XCTAssertEqual(first[0].delivered, 1000)
        XCTAssertEqual(first[0].interval, .milliseconds(100))
        XCTAssertEqual(first[0].deliveryRate, 10_000)
        XCTAssertEqual(first[0].priorDelivered, 0)
        // P1 (sent 1 ms in): 2000 bytes over 101 ms; P9: 10 000 bytes over 109 ms.
        XCTAssertEqual(first[1].delivered, 2000)
        XCTAssertEqual(first[1].interval, .milliseconds(101))
        XCTAssertEqual(first[1].deliveryRate, 2000 * 1_000_000 / 101_000)
        XCTAssertEqual(first[9].delivered, 10_000)
        XCTAssertEqual(first[9].deliveryRate, 10_000 * 1_000_000 / 109_000)
        // What the second flight carries from send time.
        XCTAssertEqual(sent[10].delivered, 1000)
        XCTAssertEqual(sent[10].deliveredTime, us(100_000))
        XCTAssertEqual(sent[10].firstSentTime, us(0), "C.first_sent_time: the newest acknowledged packet's send time")
        XCTAssertEqual(sent[19].delivered, 10_000)
        XCTAssertEqual(sent[19].firstSentTime, us(9_000))
        // Steady state: 10 packets per 100 ms round trip = 100 kB/s.
        var s = ack(10, at: 200_000)
        XCTAssertEqual(s.delivered, 10_000)
        XCTAssertEqual(s.interval, .milliseconds(100))
        XCTAssertEqual(s.deliveryRate, 100_000)
        s = ack(11, at: 201_000)
        XCTAssertEqual(s.deliveryRate, 100_000)
        // Several packets in one ACK: the newest (P13) defines the sample; its ACK interval is
        // 99 ms, its send interval 100 ms: the longer counts.
        e.onPacketAcked(sent[12], now: us(202_000))
        e.onPacketAcked(sent[13], now: us(202_000))
        s = e.takeSample(minRTT: .milliseconds(100))
        XCTAssertEqual(s.priorDelivered, 4000)
        XCTAssertEqual(s.delivered, 10_000)
        XCTAssertEqual(s.interval, .milliseconds(100))
        XCTAssertEqual(s.deliveryRate, 100_000)
        // An interval shorter than min_rtt is not a usable sample (§3.3, ACK compression).
        e.onPacketAcked(sent[14], now: us(203_000))
        s = e.takeSample(minRTT: .seconds(1))
        XCTAssertTrue(s.hasPacket)
        XCTAssertNil(s.deliveryRate)
        // No packet acknowledged: no sample.
        XCTAssertFalse(e.takeSample(minRTT: .zero).hasPacket)
    }

    /// draft-cheng §3.4: once marked application-limited, packets sent carry the flag and
    /// their samples say so, until the data then in flight has been delivered.
    func testApplicationLimitedMarking() {
        var e = DeliveryRateEstimator()
        var p0 = SentPacket(packetNumber: 0, timeSent: 0, size: 1000, ackEliciting: true, inFlight: true, token: 0)
        e.onPacketSent(&p0, bytesInFlight: 0, now: 0)
        XCTAssertFalse(p0.isAppLimited)
        e.markApplicationLimited(bytesInFlight: 1000)
        XCTAssertEqual(e.appLimitedUntil, 1000)
        var p1 = SentPacket(packetNumber: 1, timeSent: 10, size: 1000, ackEliciting: true, inFlight: true, token: 1)
        e.onPacketSent(&p1, bytesInFlight: 1000, now: 10)
        XCTAssertTrue(p1.isAppLimited)
        e.onPacketAcked(p0, now: 100)
        let s0 = e.takeSample(minRTT: .zero)
        XCTAssertFalse(s0.isAppLimited)
        XCTAssertTrue(e.isAppLimited, "1000 delivered is not past the mark")
        e.onPacketAcked(p1, now: 110)
        let s1 = e.takeSample(minRTT: .zero)
        XCTAssertTrue(s1.isAppLimited)
        XCTAssertFalse(e.isAppLimited, "the marked flight is delivered")
    }

    /// The sent-packet ring keeps the delivery-rate fields of each packet in place.
    func testRecoveryStampsPacketsInline() throws {
        let r = makeRecovery(algorithm: .bbr)
        r.send(0, at: 1_000)
        r.send(1, at: 2_000)
        try r.ack([0...0], now: 51_000)
        r.send(2, at: 52_000)
        var stamped: [SentPacket] = []
        r.forEachOutstanding(.application) { stamped.append($0) }
        XCTAssertEqual(stamped.map(\.packetNumber), [1, 2])
        XCTAssertEqual(stamped[0].delivered, 0)
        XCTAssertEqual(stamped[0].firstSentTime, 1_000)
        XCTAssertEqual(stamped[1].delivered, 1200)
        XCTAssertEqual(stamped[1].deliveredTime, 51_000)
        XCTAssertEqual(stamped[1].firstSentTime, 1_000, "the send time of the newest acked packet")
    }

    // MARK: settings, statistics, robustness

    /// bbr.c initial state: STARTUP with gain 2/ln2 on both, window = InitialWindowPackets ×
    /// the datagram size, recovery window 2000 packets; the window in force is what canSend,
    /// statistics and the pacer see.
    func testInitialStateAndWindowInForce() {
        let c = CongestionController(config: CongestionControlConfig(algorithm: .bbr, initialWindowPackets: 10))
        XCTAssertEqual(c.bbr.mode, .startup)
        XCTAssertEqual(c.bbr.pacingGain, 739)
        XCTAssertEqual(c.bbr.cwndGain, 739)
        XCTAssertEqual(bbrDrainGain, 88)
        XCTAssertEqual(c.congestionWindow, 12_000)
        XCTAssertEqual(c.bbr.recoveryWindow, 2000 * 1200)
        XCTAssertTrue(c.inSlowStart)
        XCTAssertNil(c.pacingRate, "no pacing before a min RTT")
        XCTAssertNil(CongestionController(config: CongestionControlConfig(algorithm: .cubic)).pacingRate)
        // MsQuic's HyStart++ lives in cubic.c: BBR ignores HyStartEnabled.
        XCTAssertNil(CongestionController(config: CongestionControlConfig(algorithm: .bbr, hyStartEnabled: true)).hyStartPhase)
    }

    /// MsQuic's BBR ignores ECN-CE (no OnEcn) but counts every loss event.
    func testECNIsNotASignalAndLossesCount() {
        var c = CongestionController(config: CongestionControlConfig(algorithm: .bbr))
        for i in 0..<10 { c.onPacketSent(bytes: 1200, now: us(UInt64(i))) }
        c.onECNCongestionExperienced(sentTime: 5, now: 100)
        XCTAssertEqual(c.congestionEventCount, 0)
        XCTAssertEqual(c.bbr.recoveryState, .notInRecovery)
        c.onPacketLost(bytes: 1200, now: 200)
        c.onCongestionEvent(sentTime: 0, now: 200)
        XCTAssertEqual(c.congestionEventCount, 1)
        XCTAssertEqual(c.bbr.recoveryState, .conservative)
        // In flight 9 × 1200, less the lost packet again (bbr.c), floored at 4 packets.
        XCTAssertEqual(c.bbr.recoveryWindow, 9 * 1200 - 1200)
        XCTAssertEqual(c.congestionWindow, 8 * 1200)
        c.onPacketLost(bytes: 1200, now: 210)
        c.onCongestionEvent(sentTime: 1, now: 210)
        XCTAssertEqual(c.congestionEventCount, 2, "MsQuic counts each BBR loss event")
        c.onPersistentCongestion()
        XCTAssertEqual(c.congestionWindow, 4 * 1200)
        XCTAssertEqual(c.persistentCongestionCount, 1)
    }

    /// Zero RTTs, acknowledgements of enormous byte counts and times at the end of the clock
    /// neither trap nor leave the window below its floor.
    func testExtremeInputsDoNotTrap() {
        XCTAssertEqual(mulDiv(.max, .max, .max), .max)
        XCTAssertEqual(mulDiv(.max, 2, 4), .max / 2)
        XCTAssertEqual(mulDiv(5, 7, 0), .max)
        XCTAssertEqual(mulDiv(1 << 40, 1 << 40, 1 << 20), 1 << 60)
        var c = CongestionController(config: CongestionControlConfig(algorithm: .bbr))
        // Zero RTT: acknowledged at the instant it was sent.
        c.onPacketSent(bytes: 1200, now: 10)
        var p = SentPacket(packetNumber: 0, timeSent: 10, size: 1200, ackEliciting: true, inFlight: true, token: 0)
        c.deliveryRate.onPacketSent(&p, bytesInFlight: 0, now: 10)
        c.onPacketAcked(bytes: 1200, timeSent: 10, now: 10, rtt: RTTEstimator())
        c.deliveryRate.onPacketAcked(p, now: 10)
        c.onAckProcessed(ackedBytes: 1200, minRTTSample: .zero, minRTT: .zero, now: 10)
        XCTAssertEqual(c.bbr.minRTT, .zero)
        XCTAssertGreaterThanOrEqual(c.congestionWindow, 4 * 1200)
        XCTAssertNil(c.pacingRate, "min RTT below 1 ms: no pacing (bbr.c)")
        // Huge acknowledged counts and sizes, times near the end of the clock.
        for i in 0..<50 {
            let t = QuicInstant(microseconds: UInt64.max - 1_000 + UInt64(i))
            c.onPacketSent(bytes: UInt64(UInt32.max), now: t)
            var q = SentPacket(packetNumber: UInt64(i + 1), timeSent: t, size: .max, ackEliciting: true, inFlight: true, token: 0)
            c.deliveryRate.onPacketSent(&q, bytesInFlight: c.bytesInFlight, now: t)
            c.deliveryRate.onPacketAcked(q, now: .never)
            c.onPacketAcked(bytes: UInt64(UInt32.max), timeSent: t, now: .never, rtt: RTTEstimator())
            c.onAckProcessed(ackedBytes: .max, minRTTSample: i % 2 == 0 ? .infinite : .microseconds(1),
                             minRTT: .microseconds(1), now: .never)
            c.onPacketLost(bytes: .max, now: .never)
            c.onCongestionEvent(sentTime: t, now: .never)
            c.onAckProcessed(ackedBytes: .max, minRTTSample: nil, minRTT: .infinite, now: .never)
        }
        XCTAssertGreaterThanOrEqual(c.congestionWindow, 4 * 1200)
        _ = c.pacingRate
        var pacer = Pacer()
        _ = pacer.nextSendTime(bytes: .max, now: .never, rateBytesPerSecond: 0, maxDatagramSize: 1200)
        _ = pacer.nextSendTime(bytes: 1200, now: 0, rateBytesPerSecond: .max, maxDatagramSize: 1200)
        c.setMaxDatagramSize(.max)
        XCTAssertGreaterThanOrEqual(c.congestionWindow, 4 * UInt64(UInt32.max))
    }

    /// The pacer at an explicit rate: a burst, then one packet per size/rate.
    func testPacerAtExplicitRate() {
        var pacer = Pacer(initialTokens: 12_000)
        // 1.2 MB/s: 1200 bytes per ms; burst = max(2 ms of rate, 10 packets) = 12 000 bytes.
        var now: QuicInstant = 1_000
        var sent = 0
        while pacer.nextSendTime(bytes: 1200, now: now, rateBytesPerSecond: 1_200_000, maxDatagramSize: 1200) <= now {
            pacer.onPacketSent(bytes: 1200); sent += 1
        }
        XCTAssertEqual(sent, 10)
        let next = pacer.nextSendTime(bytes: 1200, now: now, rateBytesPerSecond: 1_200_000, maxDatagramSize: 1200)
        XCTAssertEqual(next - now, .microseconds(1_001), "1 ms for the next 1200 bytes (rounded up)")
        now = next
        XCTAssertEqual(pacer.nextSendTime(bytes: 1200, now: now, rateBytesPerSecond: 1_200_000, maxDatagramSize: 1200), now)
    }
}

/// Whole connections with BBR on the simulated link of PMTUAndECNTests (virtual clock).
final class ConnectionBbrTests: XCTestCase {
    func configs() -> (ConnectionConfiguration, ConnectionConfiguration) {
        var s = SimConfigs.server()
        var c = SimConfigs.client()
        s.congestionControl.algorithm = .bbr
        c.congestionControl.algorithm = .bbr
        return (s, c)
    }

    /// 1 MB from the client over 2 % random loss: the data arrives intact, BBR built a model
    /// (bandwidth, min RTT, rounds) through the connection's ACK path, losses were congestion
    /// events, and the statistics report the window BBR has in force. (The link has no
    /// bottleneck, so BBR may still be in STARTUP at the end.)
    func testTransferWithBBROverALossyLink() throws {
        for seed in UInt64(1)...2 {
            let (sc, cc) = configs()
            let sim = try PathSim(server: sc, client: cc)
            sim.rng = SimRandom(seed: seed)
            let (client, server) = try sim.connect()
            sim.loss = 0.02
            XCTAssertTrue(try sim.upload(1_000_000), "seed \(seed)")
            let cc2 = client.recovery.recovery.congestion
            XCTAssertEqual(cc2.config.algorithm, .bbr)
            XCTAssertNotEqual(cc2.config.randomSeed, 0, "the connection seeds BBR's phase choice")
            XCTAssertGreaterThan(cc2.bbr.bandwidth, 0)
            XCTAssertEqual(cc2.bbr.minRTT.microseconds / 1000, 20, "2 × 10 ms")
            XCTAssertGreaterThan(cc2.bbr.roundCount, 5)
            XCTAssertGreaterThan(client.statistics.lostPackets, 0, "seed \(seed)")
            XCTAssertGreaterThan(client.statistics.congestionEvents, 0)
            XCTAssertEqual(client.statistics.congestionWindow, cc2.bbrWindowInForce)
            XCTAssertEqual(server.recovery.recovery.congestion.config.algorithm, .bbr)
        }
    }

    /// The bottleneck of HyStartTests (10 Mbit/s, 20 ms each way: BDP 50 KB; 150 KB drop-tail
    /// queue), 2 MB uploaded: BBR finds the bottleneck rate, leaves STARTUP, and keeps the
    /// queue short enough to lose far less than CUBIC's slow start does there.
    func testBottleneckTransferWithBBR() throws {
        func run(_ algorithm: CongestionControlAlgorithm) throws -> (Connection, PathSim) {
            var s = SimConfigs.server(), c = SimConfigs.client()
            s.mtuDiscovery = nil; c.mtuDiscovery = nil
            s.congestionControl.algorithm = algorithm
            c.congestionControl.algorithm = algorithm
            let sim = try PathSim(server: s, client: c)
            sim.delay = 20_000
            sim.bottleneckRate = 1_250_000
            sim.queueLimit = 150_000
            let (client, _) = try sim.connect()
            XCTAssertTrue(try sim.upload(2_000_000), "\(algorithm)")
            return (client, sim)
        }
        let (bbrClient, bbrSim) = try run(.bbr)
        let (cubicClient, _) = try run(.cubic)
        let bbr = bbrClient.recovery.recovery.congestion.bbr
        print("bottleneck transfer: BBR lost \(bbrClient.statistics.lostPackets) (largest queueing delay \(bbrSim.largestQueueDelay)), CUBIC \(cubicClient.statistics.lostPackets); BBR bandwidth \(bbr.bandwidth) B/s, min RTT \(bbr.minRTT), mode \(bbr.mode)")
        XCTAssertTrue(bbr.bottleneckBandwidthFound, "STARTUP ended")
        XCTAssertNotEqual(bbr.mode, .startup)
        XCTAssertGreaterThan(bbr.bandwidth, 1_250_000 * 85 / 100)
        XCTAssertLessThan(bbr.bandwidth, 1_250_000 * 110 / 100)
        XCTAssertGreaterThanOrEqual(bbr.minRTT, .milliseconds(40))
        XCTAssertLessThan(bbr.minRTT, .milliseconds(45))
        XCTAssertLessThan(2 * bbrClient.statistics.lostPackets, cubicClient.statistics.lostPackets)
    }
}
