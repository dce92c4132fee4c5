// Pacing (RFC 9002 §7.7): spread a window's worth of packets over a round trip instead of
// sending them in one burst. A token bucket refilled at N·cwnd/smoothed_rtt with N = 1.25
// (the RFC's example factor, so pacing itself does not limit the window's use).

public struct Pacer: Sendable {
    /// Bytes that may be sent right now.
    public private(set) var tokens: UInt64
    private var lastRefill: QuicInstant?
    /// Bursts may take this much time at the pacing rate (quantum), 2 ms.
    public var burstInterval = QuicDuration.milliseconds(2)
    /// Bursts are at least this many packets (RFC 9002 §7.7 allows the initial window as a
    /// burst) and at most `maxBurstPackets`.
    public var minBurstPackets: UInt64 = 10
    public var maxBurstPackets: UInt64 = 256

    public init(initialTokens: UInt64 = 10 * 1200) {
        tokens = initialTokens
    }

    /// Bytes the pacing rate 1.25·cwnd/srtt allows over `elapsed`: elapsed·cwnd·5 / (4·srtt).
    /// Overflow-checked: saturates at UInt64.max bytes. Bound: srtt is clamped to 2^40 µs so
    /// 4·srtt < 2^42.
    private static func bytes(elapsed: QuicDuration, window: UInt64, srtt: QuicDuration) -> UInt64 {
        let (a, o1) = elapsed.microseconds.multipliedReportingOverflow(by: window)
        let (b, o2) = a.multipliedReportingOverflow(by: 5)
        if o1 || o2 { return .max }
        return b / (4 * min(max(srtt.microseconds, 1), 1 << 40))
    }

    private func capacity(window: UInt64, srtt: QuicDuration, maxDatagramSize: UInt64) -> UInt64 {
        let burst = Pacer.bytes(elapsed: burstInterval, window: window, srtt: srtt)
        // Bound: the packet counts are ours (≤ 256) and maxDatagramSize ≤ 65527.
        let low = minBurstPackets * maxDatagramSize
        let high = max(maxBurstPackets * maxDatagramSize, low)
        return min(max(burst, low), high)
    }

    private mutating func refill(now: QuicInstant, window: UInt64, srtt: QuicDuration, maxDatagramSize: UInt64) {
        let cap = capacity(window: window, srtt: srtt, maxDatagramSize: maxDatagramSize)
        guard let last = lastRefill else {
            lastRefill = now
            tokens = min(tokens, cap)
            return
        }
        if now > last {
            let add = Pacer.bytes(elapsed: now - last, window: window, srtt: srtt)
            // Bound: tokens ≤ cap and add is capped at cap, cap ≤ 256·65527: no wrap.
            tokens = min(tokens &+ min(add, cap), cap)
            lastRefill = now
        } else {
            tokens = min(tokens, cap)
        }
    }

    /// When a packet of `bytes` may leave: `now` if it may go now, else the future time at which
    /// enough tokens will have accrued. The congestion window is checked separately.
    public mutating func nextSendTime(bytes: UInt64, now: QuicInstant, congestionWindow: UInt64,
                                      smoothedRTT: QuicDuration, maxDatagramSize: UInt64) -> QuicInstant {
        refill(now: now, window: congestionWindow, srtt: smoothedRTT, maxDatagramSize: maxDatagramSize)
        if tokens >= bytes { return now }
        let missing = bytes - tokens
        // Time for `missing` bytes at 1.25·cwnd/srtt, rounded up. Bound: window5 ≤ 5·2^56 < 2^59.
        let window5: UInt64 = min(max(congestionWindow, 1), 1 << 56) * 5
        let (num, o) = missing.multipliedReportingOverflow(by: 4 * min(max(smoothedRTT.microseconds, 1), 1 << 40))
        if o || num > UInt64.max - window5 { return now + smoothedRTT }
        let wait = (num + window5 - 1) / window5
        return now + .microseconds(max(wait, 1))
    }

    // MARK: explicit rate (BBR)

    /// Bytes `rate` bytes per second allow over `elapsed`, saturating (128-bit product).
    private static func bytes(elapsed: QuicDuration, rate: UInt64) -> UInt64 {
        mulDiv(elapsed.microseconds, rate, 1_000_000)
    }

    /// When a packet of `bytes` may leave at a pacing rate of `rate` bytes per second (BBR's
    /// pacing_gain × bandwidth, draft-cardwell §4.2.1). Bursts as above: `burstInterval` at the
    /// rate, within `minBurstPackets`...`maxBurstPackets` datagrams.
    public mutating func nextSendTime(bytes: UInt64, now: QuicInstant, rateBytesPerSecond: UInt64,
                                      maxDatagramSize: UInt64) -> QuicInstant {
        let rate = max(rateBytesPerSecond, 1)
        // Bound: the packet counts are ours (≤ 256) and maxDatagramSize ≤ 65527.
        let low = minBurstPackets * maxDatagramSize
        let high = max(maxBurstPackets * maxDatagramSize, low)
        let cap = min(max(Pacer.bytes(elapsed: burstInterval, rate: rate), low), high)
        if let last = lastRefill, now > last {
            let add = Pacer.bytes(elapsed: now - last, rate: rate)
            // Bound: tokens ≤ cap and add is capped at cap: no wrap.
            tokens = min(tokens &+ min(add, cap), cap)
        } else {
            tokens = min(tokens, cap)
        }
        if lastRefill == nil || now > lastRefill! { lastRefill = now }
        if tokens >= bytes { return now }
        // Time for the missing bytes at `rate`, rounded up, at least 1 µs.
        let missing = bytes - tokens
        let wait = mulDiv(missing, 1_000_000, rate)
        return now + .microseconds(max(wait == .max ? wait : wait &+ 1, 1))
    }

    /// A packet of `bytes` left now.
    public mutating func onPacketSent(bytes: UInt64) {
        tokens = tokens >= bytes ? tokens - bytes : 0
    }
}
