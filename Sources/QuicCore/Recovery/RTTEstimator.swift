// Round-trip time estimation (RFC 9002 §5), on `QuicDuration` / `QuicInstant`.

/// RFC 9002 §6.1.2: the timer granularity, 1 ms.
public let kGranularity = QuicDuration.milliseconds(1)
/// RFC 9002 §6.2.2: the initial RTT before any sample, 333 ms. (MsQuic's InitialRttMs setting
/// overrides it; the connection passes that value to `RTTEstimator(initialRTT:)`.)
public let kInitialRTT = QuicDuration.milliseconds(333)

/// Every value here is at most 2^40 µs (~12.7 days): samples and the initial RTT are clamped
/// on entry, so the weighted sums below stay far from saturation and the estimate stays
/// meaningful even when a peer reports absurd ACK delays (issue 10).
public let kMaxRTT = QuicDuration.microseconds(1 << 40)

public struct RTTEstimator: Sendable, Equatable {
    /// The most recent RTT sample (RFC 9002 §5.1), before ack delay adjustment.
    public private(set) var latestRTT: QuicDuration
    /// The minimum RTT seen over the connection, ignoring ack delay (RFC 9002 §5.2).
    public private(set) var minRTT: QuicDuration
    /// The exponentially weighted moving average (RFC 9002 §5.3).
    public private(set) var smoothedRTT: QuicDuration
    /// The mean deviation (RFC 9002 §5.3).
    public private(set) var rttVariance: QuicDuration
    /// When the first sample was taken (RFC 9002 Appendix A.3 `first_rtt_sample`); nil before.
    public private(set) var firstSampleTime: QuicInstant?

    /// RFC 9002 §5.3: before the first sample, smoothed_rtt = kInitialRtt, rttvar = kInitialRtt/2.
    public init(initialRTT: QuicDuration = kInitialRTT) {
        let rtt = min(max(initialRTT, .microseconds(1)), kMaxRTT)
        latestRTT = .zero
        minRTT = .zero
        smoothedRTT = rtt
        rttVariance = rtt / 2
        firstSampleTime = nil
    }

    /// A given state (tests, or carrying an estimate over to a new path).
    init(smoothed: QuicDuration, variance: QuicDuration, minRTT: QuicDuration, latest: QuicDuration,
         firstSampleTime: QuicInstant?) {
        smoothedRTT = smoothed; rttVariance = variance; self.minRTT = minRTT; latestRTT = latest
        self.firstSampleTime = firstSampleTime
    }

    public var hasSample: Bool { firstSampleTime != nil }

    /// Records an RTT sample (RFC 9002 §5.1-§5.3, Appendix A.7 UpdateRtt).
    /// - Parameters:
    ///   - latest: now minus the send time of the largest newly acknowledged packet.
    ///   - ackDelay: the peer-reported ACK Delay (already scaled by the peer's
    ///     ack_delay_exponent, saturating); `.zero` for the Initial space (§5.3: MAY ignore).
    ///   - maxAckDelay: the peer's max_ack_delay.
    ///   - handshakeConfirmed: after confirmation the ack delay is capped at max_ack_delay (§5.3).
    public mutating func update(latest: QuicDuration, ackDelay: QuicDuration, maxAckDelay: QuicDuration,
                                handshakeConfirmed: Bool, now: QuicInstant) {
        // Samples are clamped to 2^40 µs so the weighted sums below cannot saturate.
        let latest = min(latest, kMaxRTT)
        latestRTT = latest
        guard firstSampleTime != nil else {
            // §5.3: the first sample initializes the estimator.
            firstSampleTime = now
            minRTT = latest
            smoothedRTT = latest
            rttVariance = latest / 2
            return
        }
        // §5.2: min_rtt ignores ack delay.
        minRTT = min(minRTT, latest)
        // §5.3: use min(ack_delay, max_ack_delay) once the handshake is confirmed.
        var delay = ackDelay
        if handshakeConfirmed { delay = min(delay, maxAckDelay) }
        // §5.3: never subtract the delay if that would take the sample below min_rtt. (The
        // sum saturates: an absurd ACK Delay from the peer is simply not subtracted.)
        var adjusted = latest
        if latest >= minRTT + delay { adjusted = latest - delay }
        let deviation = smoothedRTT > adjusted ? smoothedRTT - adjusted : adjusted - smoothedRTT
        // Bound: every term ≤ 2^40 µs, so 3·rttvar + deviation and 7·srtt + adjusted < 2^44.
        rttVariance = (3 * rttVariance + deviation) / 4
        smoothedRTT = (7 * smoothedRTT + adjusted) / 8
    }

    /// The PTO period without backoff or max_ack_delay (RFC 9002 §6.2.1):
    /// smoothed_rtt + max(4*rttvar, kGranularity).
    public var ptoBase: QuicDuration {
        smoothedRTT + max(4 * rttVariance, kGranularity)
    }

    /// RFC 9002 §6.1.2: the time threshold, 9/8 × max(smoothed_rtt, latest_rtt), at least
    /// kGranularity.
    public var lossDelay: QuicDuration {
        let base = max(latestRTT, smoothedRTT)
        return max(base + base / 8, kGranularity)
    }
}
