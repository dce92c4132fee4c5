// BBR congestion control as MsQuic ships it (src/core/bbr.c, QUIC_CONGESTION_CONTROL_ALGORITHM_BBR
// = 1): the BBRv1 model of draft-cardwell-iccrg-bbr-congestion-control-00. The sender
// estimates the bottleneck bandwidth (windowed maximum of delivery-rate samples over 10
// rounds) and the round-trip propagation time (minimum RTT over 10 s), and sets the pacing
// rate and the window from their product:
//
//   STARTUP      pacing and window gain 2/ln2 (≈ 2.885) until the bandwidth stops growing by
//                25 % for 3 rounds (the pipe is full);
//   DRAIN        pacing gain ln2/2 until what is in flight is down to one BDP;
//   PROBE_BW     window gain 2, pacing gain cycling 1.25, 0.75, 1 ×6 (one phase per min RTT);
//   PROBE_RTT    after 10 s without a new minimum RTT: window 4 packets for at least 200 ms
//                and one round, then back to PROBE_BW (or STARTUP if the pipe was never full).
//
// On loss MsQuic's BBR enters a recovery period: the window is capped by a recovery window
// that first conserves packets (in flight, minus the loss) and grows with acknowledged bytes
// after one round; it ends with the first loss-free ACK of a packet sent after it began.
// ACK aggregation (acknowledged bytes beyond what the bandwidth explains, max over 10 rounds)
// is added to the window once the pipe is full. ECN-CE is not a signal for MsQuic's BBR
// (its OnEcn is NULL), nor is a spurious loss.
//
// The state lives inline in `CongestionController` (`bbr`); the shared functions of
// CongestionController.swift dispatch here when `config.algorithm == .bbr`. Gains are in
// 1/256 units (MsQuic GAIN_UNIT); bandwidth in bytes per second (MsQuic keeps bits per
// second, BW_UNIT = 8); every product of a bandwidth, a time and a gain goes through
// `mulDiv` (128-bit, saturating).

/// MsQuic GAIN_UNIT: gains are counted in 1/256.
let bbrGainUnit: UInt64 = 256
/// MsQuic kHighGain: 2/ln(2) ≈ 2.885 (STARTUP pacing and window gain).
let bbrHighGain: UInt64 = bbrGainUnit * 2885 / 1000 + 1
/// MsQuic kDrainGain: 1/kHighGain (DRAIN pacing gain).
let bbrDrainGain: UInt64 = bbrGainUnit * 1000 / 2885
/// MsQuic kCwndGain: the PROBE_BW window gain, 2.
let bbrCwndGain: UInt64 = bbrGainUnit * 2
/// MsQuic kStartupGrowthTarget: the bandwidth must grow by 25 % per round in STARTUP...
let bbrStartupGrowthTarget: UInt64 = bbrGainUnit * 5 / 4
/// ...or STARTUP ends after this many rounds (kStartupSlowGrowRoundLimit).
let bbrStartupSlowGrowRoundLimit: UInt8 = 3
/// MsQuic GAIN_CYCLE_LENGTH.
let bbrGainCycleLength = 8
/// MsQuic kProbeRttTimeInUs: 200 ms at the small window in PROBE_RTT.
let bbrProbeRTTDuration = QuicDuration.milliseconds(200)
/// MsQuic kBbrMinRttExpirationInMicroSecs: a minimum RTT is trusted for 10 s.
let bbrMinRTTExpiry = QuicDuration.seconds(10)
/// MsQuic kBbrMaxBandwidthFilterLen / kBbrMaxAckHeightFilterLen: 10 rounds.
let bbrFilterRounds: UInt64 = 10
/// MsQuic kMinCwndInMss: the window never drops below 4 packets.
let bbrMinWindowPackets: UInt64 = 4
/// MsQuic kDefaultRecoveryCwndInMss: the recovery window before any loss.
let bbrDefaultRecoveryWindowPackets: UInt64 = 2000
/// MsQuic kQuantaFactor: the target window includes 3 send quanta.
let bbrQuantaFactor: UInt64 = 3
/// MsQuic kLowPacingRateThresholdBytesPerSecond / kHighPacingRateThresholdBytesPerSecond.
let bbrLowPacingRateThreshold: UInt64 = 1_200_000
let bbrHighPacingRateThreshold: UInt64 = 24_000_000
/// MsQuic QUIC_SEND_PACING_INTERVAL: no pacing on paths with a min RTT below 1 ms.
let bbrPacingInterval = QuicDuration.milliseconds(1)

/// MsQuic kPacingGain: the PROBE_BW cycle 1.25, 0.75, 1, 1, 1, 1, 1, 1.
@inline(__always)
func bbrPacingGainCycle(_ index: Int) -> UInt64 {
    switch index {
    case 0: return bbrGainUnit * 5 / 4
    case 1: return bbrGainUnit * 3 / 4
    default: return bbrGainUnit
    }
}

/// BBR's state machine (MsQuic BBR_STATE).
public enum BbrMode: Sendable, Equatable {
    case startup, drain, probeBandwidth, probeRTT
}

/// MsQuic RECOVERY_STATE.
public enum BbrRecoveryState: Sendable, Equatable {
    case notInRecovery
    /// The first round after a loss: the window holds what is in flight.
    case conservative
    /// Later rounds: the recovery window grows with each acknowledged byte.
    case growth
}

/// The state of MsQuic's BBR (QUIC_CONGESTION_CONTROL_BBR), held inline by
/// `CongestionController`.
public struct BbrState: Sendable, Equatable {
    public internal(set) var mode: BbrMode = .startup
    public internal(set) var recoveryState: BbrRecoveryState = .notInRecovery
    /// The model's window (MsQuic CongestionWindow); the window in force may be smaller in
    /// PROBE_RTT or recovery (`CongestionController.congestionWindow` holds that one).
    public internal(set) var window: UInt64 = 0
    var initialWindow: UInt64 = 0
    public internal(set) var recoveryWindow: UInt64 = 0
    public internal(set) var pacingGain: UInt64 = bbrHighGain
    public internal(set) var cwndGain: UInt64 = bbrHighGain
    /// MsQuic BtlbwFound: STARTUP saw the bandwidth stop growing.
    public internal(set) var bottleneckBandwidthFound = false
    /// MsQuic RoundTripCounter.
    public internal(set) var roundCount: UInt64 = 0
    /// A round ends when a packet sent with at least this much delivered is acknowledged
    /// (draft-cardwell §4.1.1.3; MsQuic EndOfRoundTrip, by packet number).
    var nextRoundDelivered: UInt64 = 0
    var slowGrowthRounds: UInt8 = 0
    var lastStartupBandwidth: UInt64 = 0
    /// MsQuic PacingCycleIndex and CycleStart.
    public internal(set) var cycleIndex = 0
    var cycleStart: QuicInstant = .zero
    /// The min RTT estimate and when it was taken (MsQuic MinRtt / MinRttTimestamp).
    public internal(set) var minRTT: QuicDuration = .infinite
    public internal(set) var minRTTStamp: QuicInstant?
    var rttSampleExpired = true
    /// PROBE_RTT: when the 200 ms at the small window end, and whether a round passed.
    var probeRTTEnd: QuicInstant?
    var probeRTTRoundDone = false
    /// Sending restarted after an application-limited idle period (no PROBE_RTT on this ACK).
    var exitingQuiescence = false
    /// Recovery ends once a packet stamped with at least this much delivered is acknowledged
    /// without loss (MsQuic EndOfRecovery, by packet number).
    var recoveryEndDelivered: UInt64 = 0
    var bandwidthFilter = WindowedMaxFilter(lifetime: bbrFilterRounds)
    var ackHeightFilter = WindowedMaxFilter(lifetime: bbrFilterRounds)
    var aggregationStart: QuicInstant?
    var aggregatedBytes: UInt64 = 0
    /// MsQuic SendQuantum.
    public internal(set) var sendQuantum: UInt64 = 0
    /// Bytes declared lost since the last congestion event (its NumRetransmittableBytes).
    var lostBytes: UInt64 = 0
    /// A loss event happened while processing the current ACK (MsQuic AckEvent.HasLoss).
    var lossInAck = false
    /// PRNG state for the PROBE_BW starting phase (SplitMix64).
    var random: UInt64 = 0

    public init() {}

    /// The bottleneck bandwidth estimate in bytes per second (0 before the first sample).
    public var bandwidth: UInt64 { bandwidthFilter.best ?? 0 }
    /// The current ACK aggregation allowance in bytes.
    public var ackHeight: UInt64 { ackHeightFilter.best ?? 0 }

    mutating func nextRandom() -> UInt64 {
        random &+= 0x9e37_79b9_7f4a_7c15
        var z = random
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

/// What one ACK frame did, for BBR (MsQuic QUIC_ACK_EVENT).
struct BbrAckEvent {
    var now: QuicInstant
    /// In-flight bytes newly acknowledged (NumRetransmittableBytes).
    var ackedBytes: UInt64
    /// The smallest now − sent time among the packets newly acknowledged (MsQuic MinRtt),
    /// nil when none.
    var minRTTSample: QuicDuration?
    var sample: RateSample
}

extension CongestionController {
    /// MsQuic kMinCwndInMss × the datagram size.
    var bbrMinimumWindow: UInt64 { bbrMinWindowPackets * maxDatagramSize }

    /// MsQuic BbrCongestionControlGetCongestionWindow: the window in force.
    var bbrWindowInForce: UInt64 {
        if bbr.mode == .probeRTT { return bbrMinimumWindow }
        if bbr.recoveryState != .notInRecovery { return min(bbr.window, bbr.recoveryWindow) }
        return bbr.window
    }

    /// MsQuic BbrCongestionControlInitialize / Reset (the bytes in flight stay counted).
    mutating func bbrReset() {
        let seed = bbr.random == 0 ? config.randomSeed : bbr.random
        bbr = BbrState()
        bbr.random = seed
        bbr.initialWindow = initialWindow
        bbr.window = initialWindow
        bbr.recoveryWindow = bbrDefaultRecoveryWindowPackets * maxDatagramSize
        congestionWindow = bbrWindowInForce
    }

    /// MsQuic BbrCongestionControlOnDataSent, before the packet's bytes join the flight: sending
    /// into an empty pipe after an application-limited pause is not a reason to probe the RTT.
    mutating func bbrOnPacketSent() {
        if bytesInFlight == 0 && deliveryRate.isAppLimited { bbr.exitingQuiescence = true }
    }

    /// MsQuic BbrCongestionControlOnDataLost: the packets lost in one detection pass (their
    /// bytes already left the flight in `onPacketLost`).
    mutating func bbrOnCongestionEvent() {
        let minimum = bbrMinimumWindow
        let lost = bbr.lostBytes
        bbr.lostBytes = 0
        bbr.lossInAck = true
        // Packets sent from now on carry delivered >= C.delivered; a strictly larger mark
        // leaves out those sent before this loss whatever the order of events.
        let mark = addSat(deliveryRate.delivered, 1)
        bbr.recoveryEndDelivered = mark
        var recoveryWindow = bbr.recoveryWindow
        if bbr.recoveryState == .notInRecovery {
            // bbr.c: recovery starts conservative at the bytes still in flight, and the round
            // restarts with the packets sent after the loss.
            bbr.recoveryState = .conservative
            recoveryWindow = max(bytesInFlight, minimum)
            bbr.nextRoundDelivered = mark
        }
        // bbr.c: the recovery window loses the lost bytes, down to the minimum window.
        bbr.recoveryWindow = recoveryWindow > addSat(lost, minimum) ? recoveryWindow - lost : minimum
        congestionWindow = bbrWindowInForce
    }

    /// RFC 9002 §7.6.2 with MsQuic's BBR: persistent congestion sets the recovery window to
    /// the minimum window.
    mutating func bbrOnPersistentCongestion() {
        if bbr.recoveryState == .notInRecovery {
            bbr.recoveryState = .conservative
            bbr.recoveryEndDelivered = addSat(deliveryRate.delivered, 1)
            bbr.nextRoundDelivered = bbr.recoveryEndDelivered
        }
        bbr.recoveryWindow = bbrMinimumWindow
        congestionWindow = bbrWindowInForce
    }

    /// MsQuic BbrCongestionControlGetTargetCwnd: gain × BDP + 3 send quanta (gain × the
    /// initial window before there is a model).
    func bbrTargetWindow(gain: UInt64) -> UInt64 {
        let bw = bbr.bandwidth
        guard bw > 0, bbr.minRTTStamp != nil else { return mulDiv(gain, bbr.initialWindow, bbrGainUnit) }
        let bdp = mulDiv(bw, bbr.minRTT.microseconds, 1_000_000)
        return addSat(mulDiv(bdp, gain, bbrGainUnit), bbrQuantaFactor * bbr.sendQuantum)
    }

    /// MsQuic BbrCongestionControlSetSendQuantum: 1 packet below 1.2 MB/s, 2 below 24 MB/s,
    /// 64 KiB above (bbr.c's millisecond of pacing rate is always above 64 KiB there).
    mutating func bbrSetSendQuantum() {
        let rate = mulDiv(bbr.bandwidth, bbr.pacingGain, bbrGainUnit)
        if rate < bbrLowPacingRateThreshold {
            bbr.sendQuantum = maxDatagramSize
        } else if rate < bbrHighPacingRateThreshold {
            bbr.sendQuantum = 2 * maxDatagramSize
        } else {
            bbr.sendQuantum = 64 * 1024
        }
    }

    mutating func bbrEnterProbeBandwidth(now: QuicInstant) {
        bbr.mode = .probeBandwidth
        bbr.cwndGain = bbrCwndGain
        // bbr.c: start at a random phase other than the draining one (index 1).
        bbr.cycleIndex = (Int(bbr.nextRandom() % UInt64(bbrGainCycleLength - 1)) + 2) % bbrGainCycleLength
        bbr.pacingGain = bbrPacingGainCycle(bbr.cycleIndex)
        bbr.cycleStart = now
    }

    mutating func bbrEnterStartup() {
        bbr.mode = .startup
        bbr.pacingGain = bbrHighGain
        bbr.cwndGain = bbrHighGain
    }

    mutating func bbrEnterDrain() {
        bbr.mode = .drain
        bbr.pacingGain = bbrDrainGain
        bbr.cwndGain = bbrHighGain
    }

    mutating func bbrEnterProbeRTT() {
        bbr.mode = .probeRTT
        bbr.pacingGain = bbrGainUnit
        bbr.probeRTTEnd = nil
        bbr.probeRTTRoundDone = false
        // Samples taken while draining to 4 packets say nothing about the bottleneck.
        deliveryRate.markApplicationLimited(bytesInFlight: bytesInFlight)
    }

    /// MsQuic BbrCongestionControlHandleAckInProbeRtt.
    mutating func bbrHandleProbeRTT(newRound: Bool, now: QuicInstant) {
        deliveryRate.markApplicationLimited(bytesInFlight: bytesInFlight)
        guard let end = bbr.probeRTTEnd else {
            // The 200 ms start once the flight is down to the small window.
            if bytesInFlight < addSat(bbrWindowInForce, maxDatagramSize) {
                bbr.probeRTTEnd = now + bbrProbeRTTDuration
                bbr.probeRTTRoundDone = false
            }
            return
        }
        if !bbr.probeRTTRoundDone && newRound { bbr.probeRTTRoundDone = true }
        if bbr.probeRTTRoundDone && end <= now {
            bbr.minRTTStamp = now
            if bbr.bottleneckBandwidthFound {
                bbrEnterProbeBandwidth(now: now)
            } else {
                bbrEnterStartup()
            }
        }
    }

    /// MsQuic BbrCongestionControlUpdateAckAggregation: bytes acknowledged beyond what the
    /// bandwidth estimate explains since the aggregation epoch began.
    mutating func bbrUpdateAckAggregation(ackedBytes: UInt64, now: QuicInstant) {
        guard let start = bbr.aggregationStart else {
            bbr.aggregationStart = now
            return
        }
        let expected = mulDiv(bbr.bandwidth, (now - start).microseconds, 1_000_000)
        if bbr.aggregatedBytes <= expected {
            // ACKs arrive no faster than the bandwidth: a new epoch.
            bbr.aggregatedBytes = ackedBytes
            bbr.aggregationStart = now
            return
        }
        bbr.aggregatedBytes = addSat(bbr.aggregatedBytes, ackedBytes)
        bbr.ackHeightFilter.update(bbr.aggregatedBytes - expected, at: bbr.roundCount)
    }

    /// MsQuic BbrCongestionControlUpdateCongestionWindow.
    mutating func bbrUpdateWindow(ackedBytes: UInt64) {
        if bbr.mode == .probeRTT { return }
        bbrSetSendQuantum()
        var target = bbrTargetWindow(gain: bbr.cwndGain)
        if bbr.bottleneckBandwidthFound { target = addSat(target, bbr.ackHeight) }
        var window = bbr.window
        if bbr.bottleneckBandwidthFound {
            window = min(target, addSat(window, ackedBytes))
        } else if window < target || deliveryRate.delivered < bbr.initialWindow {
            // STARTUP: grow by what was acknowledged (slow-start like) toward the target.
            window = addSat(window, ackedBytes)
        }
        bbr.window = max(window, bbrMinimumWindow)
    }

    /// MsQuic BbrCongestionControlOnDataAcknowledged, once per ACK frame after the packets'
    /// bytes left the flight.
    mutating func bbrOnAck(_ event: BbrAckEvent) {
        let now = event.now
        let sample = event.sample
        let priorInFlight = addSat(bytesInFlight, event.ackedBytes)

        // The min RTT filter: a smaller sample, or any sample once the estimate is 10 s old.
        if let r = event.minRTTSample {
            bbr.rttSampleExpired = bbr.minRTTStamp.map { $0 + bbrMinRTTExpiry <= now } ?? false
            if bbr.rttSampleExpired || r < bbr.minRTT {
                bbr.minRTT = r
                bbr.minRTTStamp = now
            }
        }

        // Round counting by delivered bytes (draft-cardwell §4.1.1.3).
        var newRound = false
        if sample.hasPacket && sample.priorDelivered >= bbr.nextRoundDelivered {
            bbr.roundCount &+= 1
            bbr.nextRoundDelivered = deliveryRate.delivered
            newRound = true
        }

        // The bandwidth filter: an application-limited sample only if it raises the estimate.
        if let rate = sample.deliveryRate, rate >= bbr.bandwidth || !sample.isAppLimited {
            bbr.bandwidthFilter.update(rate, at: bbr.roundCount)
        }

        if bbr.recoveryState != .notInRecovery {
            if newRound { bbr.recoveryState = .growth }
            if !bbr.lossInAck && sample.hasPacket && sample.priorDelivered >= bbr.recoveryEndDelivered {
                bbr.recoveryState = .notInRecovery
            } else {
                // bbr.c UpdateRecoveryWindow: conservation, then growth by the acked bytes.
                if bbr.recoveryState == .growth { bbr.recoveryWindow = addSat(bbr.recoveryWindow, event.ackedBytes) }
                bbr.recoveryWindow = max(bbr.recoveryWindow, addSat(bytesInFlight, event.ackedBytes), bbrMinimumWindow)
            }
        }

        bbrUpdateAckAggregation(ackedBytes: event.ackedBytes, now: now)

        if bbr.mode == .probeBandwidth {
            // One phase per min RTT; the 1.25 phase lasts until the pipe holds 1.25 BDP (or a
            // loss says it cannot), the 0.75 phase ends early once in flight is down to 1 BDP.
            var advance = now - bbr.cycleStart > bbr.minRTT
            if bbr.pacingGain > bbrGainUnit && !bbr.lossInAck
                && priorInFlight < bbrTargetWindow(gain: bbr.pacingGain) {
                advance = false
            }
            if bbr.pacingGain < bbrGainUnit && bytesInFlight <= bbrTargetWindow(gain: bbrGainUnit) {
                advance = true
            }
            if advance {
                bbr.cycleIndex = (bbr.cycleIndex + 1) % bbrGainCycleLength
                bbr.cycleStart = now
                bbr.pacingGain = bbrPacingGainCycle(bbr.cycleIndex)
            }
        }

        // STARTUP ends once the bandwidth grew less than 25 % for 3 rounds in a row.
        if !bbr.bottleneckBandwidthFound && newRound && !sample.isAppLimited {
            let target = mulDiv(bbr.lastStartupBandwidth, bbrStartupGrowthTarget, bbrGainUnit)
            if bbr.bandwidth >= target {
                bbr.lastStartupBandwidth = bbr.bandwidth
                bbr.slowGrowthRounds = 0
            } else {
                bbr.slowGrowthRounds &+= 1
                if bbr.slowGrowthRounds >= bbrStartupSlowGrowRoundLimit { bbr.bottleneckBandwidthFound = true }
            }
        }

        if bbr.mode == .startup && bbr.bottleneckBandwidthFound { bbrEnterDrain() }
        if bbr.mode == .drain && bytesInFlight <= bbrTargetWindow(gain: bbrGainUnit) {
            bbrEnterProbeBandwidth(now: now)
        }
        if bbr.mode != .probeRTT && !bbr.exitingQuiescence && bbr.minRTTStamp != nil && bbr.rttSampleExpired {
            bbrEnterProbeRTT()
        }
        bbr.exitingQuiescence = false
        if bbr.mode == .probeRTT { bbrHandleProbeRTT(newRound: newRound, now: now) }

        bbrUpdateWindow(ackedBytes: event.ackedBytes)
        bbr.lossInAck = false
        bbr.lostBytes = 0
        congestionWindow = bbrWindowInForce
    }

    /// The pacing rate in bytes per second (draft-cardwell §4.2.1: pacing_gain × BtlBw), nil
    /// when BBR does not pace: no min RTT yet, or one below MsQuic's 1 ms pacing interval.
    /// In STARTUP (and without a bandwidth sample) the rate is at least gain × window / min
    /// RTT: MsQuic lets STARTUP send up to gain × window − in flight at once.
    func bbrPacingRate() -> UInt64? {
        guard bbr.minRTTStamp != nil, bbr.minRTT >= bbrPacingInterval else { return nil }
        let bw = bbr.bandwidth
        var rate = mulDiv(bw, bbr.pacingGain, bbrGainUnit)
        if bbr.mode == .startup || bw == 0 {
            let window = mulDiv(congestionWindow, bbr.pacingGain, bbrGainUnit)
            rate = max(rate, mulDiv(window, 1_000_000, bbr.minRTT.microseconds))
        }
        return max(rate, 1)
    }
}

extension CongestionController {
    /// Called by loss recovery once per ACK frame that newly acknowledged something, after
    /// every packet went through `onPacketAcked`: closes the delivery-rate sample and, for
    /// BBR, runs the per-ACK model update. `ackedBytes` are the in-flight bytes newly
    /// acknowledged, `minRTTSample` the smallest now − sent time among them.
    public mutating func onAckProcessed(ackedBytes: UInt64, minRTTSample: QuicDuration?, minRTT: QuicDuration,
                                        now: QuicInstant) {
        let sample = deliveryRate.takeSample(minRTT: minRTT)
        guard config.algorithm == .bbr else { return }
        bbrOnAck(BbrAckEvent(now: now, ackedBytes: ackedBytes, minRTTSample: minRTTSample, sample: sample))
    }

    /// The sender has nothing more to send though the window has room (RFC 9002 §7.8;
    /// draft-cheng §3.4; MsQuic QuicCongestionControlSetAppLimited, skipped when the flight
    /// exceeds the window): delivery-rate samples until this flight is delivered are
    /// application-limited. Window growth of NewReno/CUBIC is unaffected.
    public mutating func onApplicationLimited() {
        if bytesInFlight > congestionWindow { return }
        deliveryRate.markApplicationLimited(bytesInFlight: bytesInFlight)
    }

    /// BBR's pacing rate in bytes per second, nil when not BBR or not pacing now.
    public var pacingRate: UInt64? {
        config.algorithm == .bbr ? bbrPacingRate() : nil
    }
}
