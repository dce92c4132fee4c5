// Congestion control shared by NewReno (RFC 9002 §7, Appendix B) and CUBIC (RFC 9438):
// bytes in flight, slow start, the recovery period, persistent congestion, idle restart and
// application-limited handling. The algorithms differ only in the congestion avoidance
// increase and the multiplicative decrease; those branch on `config.algorithm` (no
// existential, no allocation).

public struct CongestionController: Sendable {
    public private(set) var config: CongestionControlConfig
    /// Bytes of in-flight packets sent and not yet acknowledged, lost or discarded (RFC 9002 §2).
    public private(set) var bytesInFlight: UInt64 = 0
    /// RFC 9002 §7.2 congestion_window, in bytes.
    public internal(set) var congestionWindow: UInt64
    /// RFC 9002 §7.3.2 ssthresh; .max until the first congestion event.
    public internal(set) var slowStartThreshold: UInt64 = .max
    /// RFC 9002 §7.3.2 congestion_recovery_start_time; nil when not in a recovery period.
    public private(set) var recoveryStartTime: QuicInstant?
    /// Set by the connection when it stopped sending for lack of data (or flow control credit)
    /// rather than for lack of window: the window does not grow then (RFC 9002 §7.8).
    public var isApplicationLimited: Bool = false
    /// Number of congestion events (for statistics, e.g. MsQuic's CongestionCount).
    public private(set) var congestionEventCount: UInt64 = 0
    /// Number of times persistent congestion was declared (RFC 9002 §7.6).
    public private(set) var persistentCongestionCount: UInt64 = 0

    /// The most bytes in flight seen since the last congestion event: the window grows no
    /// further than twice that (RFC 9002 §7.8: a window the sender does not use must not keep
    /// growing; MsQuic caps its window the same way).
    public private(set) var bytesInFlightMax: UInt64 = 0

    /// Time of the last packet sent, for idle restart.
    private var lastSendTime: QuicInstant?
    /// When bytes in flight last dropped to zero, for shifting CUBIC's epoch over idle time.
    private var flightEmptySince: QuicInstant?
    /// CUBIC state (RFC 9438 §4); unused by NewReno.
    var cubic = CubicState()
    /// BBR state (Bbr.swift); used only when `config.algorithm == .bbr`.
    public internal(set) var bbr = BbrState()
    /// Delivery-rate estimation (DeliveryRate.swift), kept for every algorithm; BBR's input.
    public internal(set) var deliveryRate = DeliveryRateEstimator()
    /// HyStart++ state (RFC 9406), used when `config.hyStartEnabled`.
    var hyStart = HyStartState()

    /// RFC 9000 §9.4: on a new path the window starts over; packets already in flight stay
    /// counted until they are acknowledged or lost.
    public mutating func resetForNewPath() {
        let inFlight = bytesInFlight
        self = CongestionController(config: config)
        bytesInFlight = inFlight
    }

    public init(config: CongestionControlConfig = CongestionControlConfig()) {
        self.config = config
        congestionWindow = UInt64(config.initialWindowPackets) * UInt64(config.maxDatagramSize)
        if config.algorithm == .bbr { bbrReset() }
    }

    public var maxDatagramSize: UInt64 { UInt64(config.maxDatagramSize) }
    /// MsQuic's initial window: InitialWindowPackets × max datagram size.
    public var initialWindow: UInt64 { UInt64(config.initialWindowPackets) * maxDatagramSize }
    /// RFC 9002 §7.2 kMinimumWindow: 2 × max_datagram_size.
    public var minimumWindow: UInt64 { 2 * maxDatagramSize }
    /// True while in slow start (RFC 9002 §7.3.1).
    public var inSlowStart: Bool {
        config.algorithm == .bbr ? bbr.mode == .startup : congestionWindow < slowStartThreshold
    }

    /// Whether a packet of `bytes` bytes fits in the window now (RFC 9002 §7: a sender MUST NOT
    /// send ack-eliciting packets beyond the window; probes are exempt and the caller skips
    /// this check for them, §7.5).
    public func canSend(bytes: UInt64) -> Bool {
        bytesInFlight &+ bytes <= congestionWindow
    }

    /// Bytes that may still be sent before the window is full.
    public var availableWindow: UInt64 {
        congestionWindow > bytesInFlight ? congestionWindow - bytesInFlight : 0
    }

    /// RFC 9002 §7.3.2: a packet sent at or before the start of the recovery period does not
    /// start another one and does not grow the window.
    public func inRecovery(sentTime: QuicInstant) -> Bool {
        guard let start = recoveryStartTime else { return false }
        return sentTime <= start
    }

    // MARK: events

    /// An in-flight packet was sent (RFC 9002 Appendix B.4).
    public mutating func onPacketSent(bytes: UInt64, now: QuicInstant) {
        if config.algorithm == .bbr {
            bbrOnPacketSent()   // BBR has no idle restart: it keeps its model (bbr.c)
        } else if bytesInFlight == 0 {
            restartAfterIdle(now: now)
        }
        bytesInFlight &+= bytes
        bytesInFlightMax = max(bytesInFlightMax, bytesInFlight)
        lastSendTime = now
    }

    private mutating func restartAfterIdle(now: QuicInstant) {
        // RFC 9438 §5.8 / RFC 9002 §7.8: idle time must not count as growth time for CUBIC:
        // move the epoch forward by the time nothing was in flight.
        if let empty = flightEmptySince, now > empty, let epoch = cubic.epochStart {
            cubic.epochStart = epoch + (now - empty)
        }
        flightEmptySince = nil
        // MsQuic SendIdleTimeoutMs: after a long idle the window is no longer a measure of the
        // path; restart from min(initial window, cwnd) (RFC 5681 §4.1 restart window).
        if let last = lastSendTime, now > last, now - last >= config.sendIdleTimeout {
            congestionWindow = min(congestionWindow, initialWindow)
            cubic.epochStart = nil
        }
    }

    /// An in-flight packet was acknowledged (RFC 9002 Appendix B.5).
    public mutating func onPacketAcked(bytes: UInt64, timeSent: QuicInstant, now: QuicInstant, rtt: RTTEstimator) {
        removeFromFlight(bytes, now: now)
        // BBR updates its model once per ACK frame, in `onAckProcessed` (Bbr.swift).
        if config.algorithm == .bbr { return }
        // §7.8: do not grow the window while application limited.
        if isApplicationLimited { return }
        // §7.3.2: no growth for packets sent during the recovery period.
        if inRecovery(sentTime: timeSent) { return }
        // Acknowledging a packet sent after the recovery started ends recovery (§7.3.2).
        recoveryStartTime = nil
        let before = congestionWindow
        grow(bytes: bytes, now: now, rtt: rtt)
        // §7.8: growth is limited by what the sender actually put in flight.
        let cap = max(before, 2 &* bytesInFlightMax)
        if congestionWindow > cap { congestionWindow = cap }
    }

    private mutating func grow(bytes: UInt64, now: QuicInstant, rtt: RTTEstimator) {
        if congestionWindow < slowStartThreshold {
            // §7.3.1 slow start: grow by the bytes acknowledged (a quarter of them in
            // HyStart++'s Conservative Slow Start, RFC 9406 §4.2).
            congestionWindow &+= slowStartIncrease(for: bytes)
            if congestionWindow > slowStartThreshold, config.algorithm == .cubic {
                // Entering congestion avoidance: the epoch starts with the next ACK.
                cubic.epochStart = nil
            }
            return
        }
        switch config.algorithm {
        case .newReno:
            // §7.3.3 / B.5: one maximum datagram per window of acknowledged bytes.
            congestionWindow &+= max(maxDatagramSize &* bytes / max(congestionWindow, 1), 1)
        case .cubic:
            cubicOnAck(bytes: bytes, now: now, smoothedRTT: rtt.smoothedRTT)
        case .bbr:
            break   // not reached: BBR returns early in onPacketAcked
        }
    }

    /// In-flight packets were declared lost; `largestSentTime` is the send time of the newest
    /// of them (RFC 9002 Appendix B.8 OnPacketsLost). Bytes were removed with `onPacketLost`.
    public mutating func onCongestionEvent(sentTime: QuicInstant, now: QuicInstant) {
        if config.algorithm == .bbr {
            // MsQuic counts every BBR loss event (CongestionCount) and handles it in bbr.c.
            congestionEventCount &+= 1
            bbrOnCongestionEvent()
            return
        }
        // §7.3.2: one reduction per round trip.
        if inRecovery(sentTime: sentTime) { return }
        recoveryStartTime = now
        congestionEventCount &+= 1
        hyStartOnCongestionEvent()
        bytesInFlightMax = bytesInFlight
        switch config.algorithm {
        case .newReno:
            // §7.3.2 / B.6: kLossReductionFactor = 0.5.
            slowStartThreshold = max(congestionWindow / 2, minimumWindow)
            congestionWindow = slowStartThreshold
        case .cubic:
            cubicOnCongestionEvent()
        case .bbr:
            break   // not reached: BBR returns early above
        }
    }

    /// An in-flight packet was declared lost: its bytes leave the flight.
    public mutating func onPacketLost(bytes: UInt64, now: QuicInstant) {
        removeFromFlight(bytes, now: now)
        if config.algorithm == .bbr { bbr.lostBytes = addSat(bbr.lostBytes, bytes) }
    }

    /// An in-flight packet was dropped without being acknowledged or lost, because its packet
    /// number space was discarded (RFC 9002 §6.4) or the path changed.
    public mutating func onPacketDiscarded(bytes: UInt64, now: QuicInstant) {
        removeFromFlight(bytes, now: now)
    }

    /// RFC 9002 §7.6.2: persistent congestion collapses the window to kMinimumWindow.
    public mutating func onPersistentCongestion() {
        persistentCongestionCount &+= 1
        if config.algorithm == .bbr { bbrOnPersistentCongestion(); return }
        congestionWindow = minimumWindow
        hyStartOnCongestionEvent()
        recoveryStartTime = nil
        // RFC 9438 §4.8: after a timeout CUBIC starts a fresh epoch with K = 0 and
        // W_max = the window at its start.
        cubic.epochStart = nil
        cubic.wMax = 0
    }

    /// An ECN-CE count increase (RFC 9002 §7.1, Appendix B.7): a congestion event for the
    /// largest acknowledged packet's send time.
    public mutating func onECNCongestionExperienced(sentTime: QuicInstant, now: QuicInstant) {
        // MsQuic's BBR has no ECN handler (QuicCongestionControlOnEcn is NULL in bbr.c).
        if config.algorithm == .bbr { return }
        onCongestionEvent(sentTime: sentTime, now: now)
    }

    /// The path's maximum datagram size changed (DPLPMTUD, RFC 9000 §14.3). RFC 9002 §7.2: the
    /// window is kept in bytes but never below the new minimum window.
    public mutating func setMaxDatagramSize(_ size: UInt32) {
        config.maxDatagramSize = max(size, 1200)
        congestionWindow = max(congestionWindow, minimumWindow)
        if config.algorithm == .bbr {
            bbr.window = max(bbr.window, bbrMinimumWindow)
            congestionWindow = bbrWindowInForce
        }
    }

    /// Returns the controller to its initial state (new path after migration, RFC 9000 §9.4),
    /// keeping bytes in flight.
    public mutating func reset() {
        congestionWindow = initialWindow
        slowStartThreshold = .max
        recoveryStartTime = nil
        cubic = CubicState()
        if config.algorithm == .bbr { bbrReset() }
        hyStart = HyStartState()
    }

    private mutating func removeFromFlight(_ bytes: UInt64, now: QuicInstant) {
        bytesInFlight = bytesInFlight >= bytes ? bytesInFlight - bytes : 0
        if bytesInFlight == 0 { flightEmptySince = now }
    }
}
