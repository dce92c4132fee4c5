// Credit-based flow control at stream and connection level (RFC 9000 §4).

import QuicWire

/// The sender's view: how much the peer lets us send (RFC 9000 §4.1).
public struct SendCredit: Equatable, Sendable {
    /// The peer's advertised maximum (absolute offset or byte count).
    public private(set) var limit: UInt64
    /// The highest offset (or total bytes) sent so far.
    public private(set) var used: UInt64 = 0
    /// The limit at which we last sent a *_BLOCKED frame, so it is sent once per limit.
    var blockedReportedAt: UInt64? = nil
    /// A *_BLOCKED frame should be sent (the limit blocked us and it was not yet reported).
    public private(set) var blockedPending = false

    public init(limit: UInt64) { self.limit = limit }

    @inlinable public var available: UInt64 { limit > used ? limit - used : 0 }

    /// A MAX_DATA / MAX_STREAM_DATA raised the limit. Returns true if it grew; smaller values
    /// are ignored (RFC 9000 §4.1: "a sender MUST ignore any MAX_STREAM_DATA or MAX_DATA frames
    /// that do not increase flow control limits").
    @discardableResult
    public mutating func raise(to newLimit: UInt64) -> Bool {
        guard newLimit > limit else { return false }
        limit = newLimit
        blockedPending = false
        return true
    }

    /// `count` new bytes were sent.
    public mutating func consume(_ count: UInt64) {
        // Bound: the sender consumes at most `available` (≤ limit ≤ 2^62-1, a varint).
        used += count
    }

    /// The sender had data it could not send because of this limit: report it once per limit
    /// (RFC 9000 §4.1: "a sender SHOULD send a STREAM_DATA_BLOCKED or DATA_BLOCKED frame").
    public mutating func noteBlocked() {
        guard available == 0, blockedReportedAt != limit else { return }
        blockedReportedAt = limit
        blockedPending = true
    }

    /// The *_BLOCKED frame was written (or must not be sent any more).
    public mutating func clearBlocked() { blockedPending = false }

    /// A sent *_BLOCKED frame for `at` was lost: resend if still blocked at that limit.
    public mutating func blockedLost(at: UInt64) {
        if limit == at && available == 0 { blockedPending = true }
    }
}

/// The receiver's view: what we advertised and what was received and consumed (RFC 9000 §4.1,
/// §4.2), with a window that auto-tunes the way MsQuic's does (its stream_recv.c): each time the
/// application has consumed a quarter of the window, the time that took is compared with one
/// smoothed RTT scaled to the bytes consumed; if the application drained at least a quarter of
/// the window per RTT, the window (and so the throughput it allows, window / RTT) doubles, up to
/// `maxWindow`. MsQuic bounds a stream's growth by the connection window (ConnFlowControlWindow).
public struct ReceiveCredit: Equatable, Sendable {
    /// The window: how far beyond the consumed data the peer may send.
    public var window: UInt64
    /// The largest the window may auto-tune to (the window itself when it must not grow).
    public var maxWindow: UInt64
    /// The maximum we advertised (absolute offset / total bytes).
    public private(set) var advertised: UInt64
    /// The highest offset (or total bytes) received.
    public private(set) var received: UInt64 = 0
    /// Bytes the application consumed (or that were discarded).
    public private(set) var consumed: UInt64 = 0
    /// An update should be sent: a MAX_DATA / MAX_STREAM_DATA frame is pending.
    public private(set) var updatePending = false
    /// Bytes consumed since the last auto-tuning check.
    public private(set) var consumedSinceCheck: UInt64 = 0
    /// When the last auto-tuning check ran (or the credit was created); nil before a time is known.
    public private(set) var lastCheck: QuicInstant?
    /// A fixed ceiling that replaces the window: the limit offered is this absolute value, not
    /// consumed + window. Used by a stream in MsQuic's app-owned buffer mode, whose limit is
    /// the receive space the application provided (see `QuicStream.providedEnd`); nil otherwise.
    public private(set) var ceiling: UInt64? = nil

    /// The fraction of the window consumed between two auto-tuning checks and between two
    /// updates (MsQuic's QUIC_RECV_BUFFER_DRAIN_RATIO).
    public static let drainRatio: UInt64 = 4

    public init(window: UInt64, maxWindow: UInt64? = nil, now: QuicInstant? = nil) {
        self.window = window
        self.maxWindow = Swift.max(window, maxWindow ?? window)
        self.advertised = window
        self.lastCheck = now
    }

    /// Data up to `end` arrived. Throws if it goes beyond what we advertised (RFC 9000 §4.1:
    /// "a receiver MUST close the connection with an error of type FLOW_CONTROL_ERROR if the
    /// sender violates the advertised connection or stream data limits").
    public mutating func onReceived(upTo end: UInt64) -> Bool {
        guard end <= advertised else { return false }
        if end > received { received = end }
        return true
    }

    /// Adds `count` to the received total (connection level: the sum over streams).
    public mutating func onReceived(count: UInt64) -> Bool {
        let (t, o) = received.addingReportingOverflow(count)
        guard !o, t <= advertised else { return false }
        received = t
        return true
    }

    /// `count` bytes were consumed. Schedules an update when more than half of the window is
    /// used up, so the sender is not blocked (RFC 9000 §4.2: "send ... frames well before the
    /// sender would be blocked").
    public mutating func onConsumed(_ count: UInt64) {
        consumed += count
        if consumed > received { consumed = received }
        if advertised - Swift.min(advertised, consumed) <= window / 2 && nextLimit > advertised {
            updatePending = true
        }
    }

    /// `count` bytes were consumed at `now`, with `smoothedRTT` the path's current estimate:
    /// `onConsumed` plus window auto-tuning. Every window/4 consumed, the credit is re-offered
    /// (RFC 9000 §4.2: "send MAX_STREAM_DATA or MAX_DATA frames ... well before the sender
    /// would be blocked"; the increment is limited by our own buffer, §4.1 "a receiver
    /// advertises credit it is willing to buffer"), and the window doubles when that quarter was
    /// consumed within one RTT's share (RFC 9000 §4.2 leaves the rate of increase to the
    /// receiver: "implementations might use ... the rate at which the application consumes
    /// data"), so the window never limits a sender that the application keeps up with.
    public mutating func onConsumed(_ count: UInt64, now: QuicInstant?, smoothedRTT: QuicDuration) {
        onConsumed(count)
        guard let now else { return }  // no clock: a fixed window
        guard ceiling == nil else { return }  // the application's space sets the limit, no tuning
        let (sum, o) = consumedSinceCheck.addingReportingOverflow(count)
        consumedSinceCheck = o ? .max : sum
        let threshold = Swift.max(window / Self.drainRatio, 1)
        guard consumedSinceCheck >= threshold else { return }
        if window < maxWindow, let last = lastCheck {
            // Allowed time: consumed × srtt / threshold (the time a sender limited by this window
            // would need at window/4 per RTT). Saturating: a huge product means "any time".
            let (scaled, o2) = consumedSinceCheck.multipliedReportingOverflow(by: smoothedRTT.microseconds)
            let allowed = o2 ? QuicDuration.infinite : QuicDuration.microseconds(scaled / threshold)
            if now - last <= allowed {
                let (doubled, o3) = window.multipliedReportingOverflow(by: 2)
                window = Swift.min(o3 ? maxWindow : doubled, maxWindow)
            }
        }
        lastCheck = now
        consumedSinceCheck = 0
        if nextLimit > advertised { updatePending = true }
    }

    /// The peer says it is blocked (*_BLOCKED): send whatever credit there is to give, even
    /// below the half-window threshold. Returns true if an update is now pending.
    @discardableResult
    public mutating func offerUpdate() -> Bool {
        if nextLimit > advertised { updatePending = true }
        return updatePending
    }

    /// The limit the next MAX_* frame carries.
    public var nextLimit: UInt64 {
        if let ceiling { return Swift.min(ceiling, VarInt.max) }
        let (v, o) = consumed.addingReportingOverflow(window)
        return o ? VarInt.max : Swift.min(v, VarInt.max)
    }

    /// A MAX_* frame carrying `nextLimit` was written: that is now the advertised maximum.
    public mutating func didSendUpdate() -> UInt64 {
        advertised = Swift.max(advertised, nextLimit)
        updatePending = false
        return advertised
    }

    /// A MAX_* frame with `value` was lost: resend (with the current value) if it was the
    /// latest one (RFC 9000 §13.3: "an updated value is sent when a packet containing the most
    /// recently sent MAX_STREAM_DATA frame is declared lost").
    public mutating func updateLost(value: UInt64) {
        if value == advertised { updatePending = true }
    }

    /// Stops sending updates (e.g. the stream's receive side is finished).
    public mutating func cancelUpdates() { updatePending = false }

    /// Replaces the window by a fixed absolute limit (or raises it): the next update offers
    /// `value` if that is more than was advertised. The limit never goes below an earlier
    /// advertisement, since RFC 9000 §4.1 has the sender ignore frames "that do not increase
    /// flow control limits". Returns true if an update is now pending.
    @discardableResult
    public mutating func setCeiling(_ value: UInt64) -> Bool {
        ceiling = Swift.max(ceiling ?? 0, value)
        if nextLimit > advertised { updatePending = true }
        return updatePending
    }

    /// Sets the window (MsQuic stream/connection receive window settings); takes effect at the
    /// next update.
    public mutating func setWindow(_ w: UInt64) {
        window = w
        maxWindow = Swift.max(maxWindow, w)
    }
}
