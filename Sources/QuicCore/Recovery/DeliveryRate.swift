// Delivery-rate estimation (draft-cheng-iccrg-delivery-rate-estimation-02): each in-flight
// packet carries, from the moment it is sent, how much the connection had delivered and when
// (SentPacket.delivered / deliveredTime / firstSentTime / isAppLimited, stamped in place in the
// sent-packet ring: nothing is allocated). When an ACK newly acknowledges packets, the newest
// of them gives one rate sample: bytes delivered between its send and now, over the longer of
// the send and the ACK interval. BBR feeds its bandwidth filter from these samples.
//
// Units: bytes and bytes per second (MsQuic's BBR counts bandwidth in bits per second,
// bytes × 8; the model is the same). Every product goes through `mulDiv`, which is exact on
// 128 bits and saturates, so no value a peer can cause traps.

/// (a × b) / c on 128 bits, saturating at UInt64.max; c = 0 gives UInt64.max.
@inline(__always)
func mulDiv(_ a: UInt64, _ b: UInt64, _ c: UInt64) -> UInt64 {
    guard c > 0 else { return .max }
    let p = a.multipliedFullWidth(by: b)
    if p.high >= c { return .max }      // quotient would not fit in 64 bits
    return c.dividingFullWidth((high: p.high, low: p.low)).quotient
}

/// Saturating sum of two byte counts.
@inline(__always)
func addSat(_ a: UInt64, _ b: UInt64) -> UInt64 {
    let (s, o) = a.addingReportingOverflow(b)
    return o ? .max : s
}

/// One rate sample (draft-cheng §3.3 "rs").
public struct RateSample: Sendable, Equatable {
    /// Something in flight was newly acknowledged by this ACK (the fields below are set).
    public var hasPacket = false
    /// rs.prior_delivered: P.delivered of the newest packet acknowledged.
    public var priorDelivered: UInt64 = 0
    /// rs.delivered: bytes delivered over the interval.
    public var delivered: UInt64 = 0
    /// rs.interval: max(send_elapsed, ack_elapsed).
    public var interval: QuicDuration = .zero
    /// rs.is_app_limited: the newest packet acknowledged was sent while application-limited.
    public var isAppLimited = false
    /// rs.delivery_rate in bytes per second; nil when the sample is not usable (interval 0 or
    /// shorter than min_rtt, draft-cheng §3.3: ACK compression would inflate it).
    public var deliveryRate: UInt64?
    public init() {}
}

/// The connection's side of the estimator (draft-cheng §3.1 "C").
public struct DeliveryRateEstimator: Sendable, Equatable {
    /// C.delivered: in-flight bytes acknowledged so far.
    public private(set) var delivered: UInt64 = 0
    /// C.delivered_time.
    public private(set) var deliveredTime: QuicInstant = .zero
    /// C.first_sent_time.
    public private(set) var firstSentTime: QuicInstant = .zero
    /// C.app_limited: 0, or the `delivered` value past which samples stop being app-limited.
    public private(set) var appLimitedUntil: UInt64 = 0
    /// The sample being built from the packets of the current ACK.
    private var sample = RateSample()
    private var newestSentTime: QuicInstant = .zero
    private var sendElapsed: QuicDuration = .zero
    private var ackElapsed: QuicDuration = .zero

    public init() {}

    public var isAppLimited: Bool { appLimitedUntil != 0 }

    /// draft-cheng §3.2: stamps `packet` as it is sent with `bytesInFlight` bytes already in
    /// flight (before this packet).
    public mutating func onPacketSent(_ packet: inout SentPacket, bytesInFlight: UInt64, now: QuicInstant) {
        if bytesInFlight == 0 {
            // A new flight starts: its intervals are measured from now.
            firstSentTime = now
            deliveredTime = now
        }
        packet.firstSentTime = firstSentTime
        packet.deliveredTime = deliveredTime
        packet.delivered = delivered
        packet.isAppLimited = appLimitedUntil != 0
    }

    /// draft-cheng §3.3 UpdateRateSample: an in-flight packet was newly acknowledged.
    public mutating func onPacketAcked(_ packet: SentPacket, now: QuicInstant) {
        delivered = addSat(delivered, UInt64(packet.size))
        deliveredTime = now
        // The newest packet (latest send; ties go to the later one in ascending packet
        // number order) defines the sample.
        if !sample.hasPacket || packet.timeSent >= newestSentTime {
            sample.hasPacket = true
            sample.priorDelivered = packet.delivered
            sample.isAppLimited = packet.isAppLimited
            newestSentTime = packet.timeSent
            sendElapsed = packet.timeSent - packet.firstSentTime
            ackElapsed = now - packet.deliveredTime
            firstSentTime = packet.timeSent
        }
    }

    /// draft-cheng §3.3 GenerateRateSample, once per ACK after every `onPacketAcked`; returns
    /// the sample and starts a new one. `minRTT` is the path's minimum RTT (zero: none yet).
    public mutating func takeSample(minRTT: QuicDuration) -> RateSample {
        // §3.4: the app-limited phase ends once its data has been delivered.
        if appLimitedUntil != 0 && delivered > appLimitedUntil { appLimitedUntil = 0 }
        var rs = sample
        sample = RateSample()
        guard rs.hasPacket else { return rs }
        rs.interval = max(sendElapsed, ackElapsed)
        // A packet stamped before a path reset may claim more than has been delivered since.
        rs.delivered = delivered >= rs.priorDelivered ? delivered - rs.priorDelivered : 0
        if rs.interval.isZero || rs.interval < minRTT || rs.delivered == 0 {
            rs.deliveryRate = nil
        } else {
            rs.deliveryRate = mulDiv(rs.delivered, 1_000_000, rs.interval.microseconds)
        }
        return rs
    }

    /// draft-cheng §3.4: the sender has nothing to send (and is not limited by the window):
    /// samples until the bytes now in flight are delivered are application-limited.
    public mutating func markApplicationLimited(bytesInFlight: UInt64) {
        appLimitedUntil = max(addSat(delivered, bytesInFlight), 1)
    }
}
