// HyStart++ (RFC 9406): leave slow start when the round-trip time starts to grow, before the
// queue overflows, instead of waiting for the first loss. MsQuic runs it inside CUBIC when
// QUIC_SETTINGS.HyStartEnabled is set (off by default); here it applies to the slow start of
// NewReno and CUBIC alike. BBR has its own startup and does not use it.
//
// Rounds are counted in the application packet number space: a round ends when an ACK
// acknowledges a packet sent at or after the round began (RFC 9406 §4.2, windowEnd = SND.NXT).
// Handshake-space ACKs neither sample nor end rounds.

/// RFC 9406 §4.3 constants (MsQuic uses the same values).
enum HyStartConstants {
    /// MIN_RTT_THRESH = 4 ms.
    static let minRTTThreshold = QuicDuration.milliseconds(4)
    /// MAX_RTT_THRESH = 16 ms.
    static let maxRTTThreshold = QuicDuration.milliseconds(16)
    /// MIN_RTT_DIVISOR = 8.
    static let minRTTDivisor: UInt64 = 8
    /// N_RTT_SAMPLE = 8.
    static let rttSamplesPerRound = 8
    /// CSS_GROWTH_DIVISOR = 4.
    static let cssGrowthDivisor: UInt64 = 4
    /// CSS_ROUNDS = 5.
    static let cssRounds = 5
}

/// Where HyStart++ is in the connection's first slow start.
public enum HyStartPhase: Sendable, Equatable {
    /// Standard slow start, watching the per-round minimum RTT for an increase.
    case slowStart
    /// Conservative Slow Start (RFC 9406 §4.2): the window grows at a quarter of the slow start
    /// rate for up to CSS_ROUNDS rounds, to tell a real RTT increase from jitter.
    case conservativeSlowStart
    /// Slow start is over (CSS finished, or a loss/ECN congestion event, §4.2 and §4.3): the
    /// controller is in congestion avoidance or recovery and HyStart++ takes no further part.
    case done
}

struct HyStartState: Sendable, Equatable {
    var phase: HyStartPhase = .slowStart
    /// The packet number whose acknowledgement ends the current round (windowEnd); nil until
    /// the first application-space ACK starts the first round.
    var roundEnd: UInt64?
    /// lastRoundMinRTT / currentRoundMinRTT; .infinite when no sample (RFC 9406 §4.2).
    var lastRoundMinRTT = QuicDuration.infinite
    var currentRoundMinRTT = QuicDuration.infinite
    /// rttSampleCount: RTT samples in the current round.
    var rttSampleCount = 0
    /// cssBaselineMinRtt: the round minimum that triggered CSS.
    var cssBaselineMinRTT = QuicDuration.infinite
    /// CSS rounds still to run before congestion avoidance.
    var cssRoundsLeft = 0
    /// Times slow start was left early on an RTT increase, and times CSS found the increase
    /// spurious and went back to slow start (for tests and diagnostics).
    var exits: UInt64 = 0
    var spuriousExits: UInt64 = 0
}

extension CongestionController {
    /// HyStart++'s phase, or nil when it is off (HyStartEnabled false, or BBR).
    public var hyStartPhase: HyStartPhase? {
        usesHyStart ? hyStart.phase : nil
    }

    /// Times HyStart++ left slow start early / returned from CSS to slow start.
    public var hyStartExitCount: UInt64 { hyStart.exits }
    public var hyStartSpuriousExitCount: UInt64 { hyStart.spuriousExits }

    /// MsQuic implements HyStart++ in cubic.c only: BBR has its own STARTUP exit and ignores
    /// HyStartEnabled.
    var usesHyStart: Bool { config.hyStartEnabled && config.algorithm != .bbr }

    /// RFC 9406 §4.2, once per ACK frame of the application space, before the window grows for
    /// the packets it acknowledges. `largestAcked` is the largest packet number this ACK newly
    /// acknowledged, `rttSample` the RTT sample it produced (RFC 9002 §5.1) if any, and
    /// `nextPacketNumber` the number the next packet sent will carry (SND.NXT).
    public mutating func hyStartOnAck(largestAcked: UInt64, rttSample: QuicDuration?, nextPacketNumber: UInt64) {
        guard usesHyStart, hyStart.phase != .done else { return }
        // Only the first slow start, never inside a recovery period (§4.3; MsQuic likewise
        // leaves HyStart++ alone while recovering).
        guard recoveryStartTime == nil, congestionWindow < slowStartThreshold else {
            hyStart.phase = .done
            return
        }
        if hyStart.roundEnd == nil {
            // The first round starts with the first ACK.
            hyStart.roundEnd = nextPacketNumber
        }

        // End of the round: the ACK covers a packet sent after the round began (windowEnd).
        // Checked before the sample is taken: the acknowledged packet belongs to the new
        // round, and so does its RTT (MsQuic counts it in the old round; RFC 9406 §4.2 starts
        // the round first).
        if let end = hyStart.roundEnd, largestAcked >= end {
            hyStart.roundEnd = nextPacketNumber
            if hyStart.phase == .conservativeSlowStart {
                hyStart.cssRoundsLeft -= 1
                if hyStart.cssRoundsLeft <= 0 {
                    // §4.2: after CSS_ROUNDS rounds, congestion avoidance with ssthresh = cwnd.
                    slowStartThreshold = congestionWindow
                    hyStart.phase = .done
                    cubic.epochStart = nil
                    return
                }
            }
            hyStart.lastRoundMinRTT = hyStart.currentRoundMinRTT
            hyStart.currentRoundMinRTT = .infinite
            hyStart.rttSampleCount = 0
        }

        if let sample = rttSample {
            hyStart.currentRoundMinRTT = min(hyStart.currentRoundMinRTT, sample)
            hyStart.rttSampleCount += 1
            if hyStart.rttSampleCount >= HyStartConstants.rttSamplesPerRound,
               !hyStart.currentRoundMinRTT.isInfinite {
                switch hyStart.phase {
                case .slowStart:
                    // §4.2: RttThresh = clamp(lastRoundMinRTT / 8, 4 ms, 16 ms); an increase of
                    // at least that over the previous round's minimum ends slow start.
                    guard !hyStart.lastRoundMinRTT.isInfinite else { break }
                    let threshold = max(HyStartConstants.minRTTThreshold,
                                        min(hyStart.lastRoundMinRTT / HyStartConstants.minRTTDivisor,
                                            HyStartConstants.maxRTTThreshold))
                    if hyStart.currentRoundMinRTT >= hyStart.lastRoundMinRTT + threshold {
                        hyStart.cssBaselineMinRTT = hyStart.currentRoundMinRTT
                        hyStart.cssRoundsLeft = HyStartConstants.cssRounds
                        hyStart.phase = .conservativeSlowStart
                        hyStart.exits &+= 1
                    }
                case .conservativeSlowStart:
                    // §4.2: the RTT fell back below the baseline: the exit was spurious,
                    // resume slow start.
                    if hyStart.currentRoundMinRTT < hyStart.cssBaselineMinRTT {
                        hyStart.cssBaselineMinRTT = .infinite
                        hyStart.phase = .slowStart
                        hyStart.spuriousExits &+= 1
                    }
                case .done:
                    break
                }
            }
        }
    }

    /// The slow start increase for `bytes` acknowledged: all of it in standard slow start, a
    /// CSS_GROWTH_DIVISOR-th in Conservative Slow Start (RFC 9406 §4.2; L is unbounded because
    /// swiftquic always paces). MsQuic 2.6 computes the divisor but does not apply it
    /// (cubic.c keeps the full increase); we follow the RFC.
    func slowStartIncrease(for bytes: UInt64) -> UInt64 {
        guard usesHyStart, hyStart.phase == .conservativeSlowStart else { return bytes }
        return max(bytes / HyStartConstants.cssGrowthDivisor, 1)
    }

    /// A congestion event (loss or ECN-CE) ends HyStart++ for the connection (§4.2: "exit
    /// slow start / CSS and enter congestion avoidance"; §4.3: later slow starts are standard).
    mutating func hyStartOnCongestionEvent() {
        if usesHyStart { hyStart.phase = .done }
    }
}
