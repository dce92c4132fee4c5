// Round-trip time estimation (RFC 9002 §5). All times are microseconds.

/// RFC 9002 §6.1.2: the timer granularity, 1 ms.
public let kGranularity: UInt64 = 1_000
/// RFC 9002 §6.2.2: the initial RTT before any sample, 333 ms. (MsQuic's InitialRttMs setting
/// overrides it; the connection passes that value to `RTTEstimator(initialRTT:)`.)
public let kInitialRTT: UInt64 = 333_000

public struct RTTEstimator: Sendable, Equatable {
    /// The most recent RTT sample (RFC 9002 §5.1), before ack delay adjustment.
    public private(set) var latestRTT: UInt64
    /// The minimum RTT seen over the connection, ignoring ack delay (RFC 9002 §5.2).
    public private(set) var minRTT: UInt64
    /// The exponentially weighted moving average (RFC 9002 §5.3).
    public private(set) var smoothedRTT: UInt64
    /// The mean deviation (RFC 9002 §5.3).
    public private(set) var rttVariance: UInt64
    /// When the first sample was taken (RFC 9002 Appendix A.3 `first_rtt_sample`); nil before.
    public private(set) var firstSampleTime: UInt64?

    /// RFC 9002 §5.3: before the first sample, smoothed_rtt = kInitialRtt, rttvar = kInitialRtt/2.
    public init(initialRTT: UInt64 = kInitialRTT) {
        let rtt = min(max(initialRTT, 1), 1 << 40)
        latestRTT = 0
        minRTT = 0
        smoothedRTT = rtt
        rttVariance = rtt / 2
        firstSampleTime = nil
    }

    /// A given state (tests, or carrying an estimate over to a new path).
    init(smoothed: UInt64, variance: UInt64, minRTT: UInt64, latest: UInt64, firstSampleTime: UInt64?) {
        smoothedRTT = smoothed; rttVariance = variance; self.minRTT = minRTT; latestRTT = latest
        self.firstSampleTime = firstSampleTime
    }

    public var hasSample: Bool { firstSampleTime != nil }

    /// Records an RTT sample (RFC 9002 §5.1-§5.3, Appendix A.7 UpdateRtt).
    /// - Parameters:
    ///   - latest: now minus the send time of the largest newly acknowledged packet.
    ///   - ackDelay: the peer-reported ACK Delay in microseconds (already scaled by the
    ///     peer's ack_delay_exponent); pass 0 for the Initial space (§5.3: MAY ignore).
    ///   - maxAckDelay: the peer's max_ack_delay in microseconds.
    ///   - handshakeConfirmed: after confirmation the ack delay is capped at max_ack_delay (§5.3).
    public mutating func update(latest: UInt64, ackDelay: UInt64, maxAckDelay: UInt64,
                                handshakeConfirmed: Bool, now: UInt64) {
        // Samples are clamped to 2^40 µs (~12 days) so the weighted sums cannot overflow.
        let latest = min(latest, 1 << 40)
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
        // §5.3: never subtract the delay if that would take the sample below min_rtt.
        var adjusted = latest
        let (floor, overflow) = minRTT.addingReportingOverflow(delay)
        if !overflow && latest >= floor { adjusted = latest - delay }
        let deviation = smoothedRTT > adjusted ? smoothedRTT - adjusted : adjusted - smoothedRTT
        rttVariance = (3 * rttVariance + deviation) / 4
        smoothedRTT = (7 * smoothedRTT + adjusted) / 8
    }

    /// The PTO period without backoff or max_ack_delay (RFC 9002 §6.2.1):
    /// smoothed_rtt + max(4*rttvar, kGranularity).
    public var ptoBase: UInt64 {
        smoothedRTT &+ max(4 &* rttVariance, kGranularity)
    }

    /// RFC 9002 §6.1.2: the time threshold, 9/8 × max(smoothed_rtt, latest_rtt), at least
    /// kGranularity.
    public var lossDelay: UInt64 {
        let base = max(latestRTT, smoothedRTT)
        return max(base &+ base / 8, kGranularity)
    }
}
