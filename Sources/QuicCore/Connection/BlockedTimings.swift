// Time a connection or a stream spent unable to send, by cause, as MsQuic reports it in
// QUIC_STREAM_STATISTICS (QUIC_PARAM_STREAM_STATISTICS; MsQuic's BlockedTimings in stream.c
// and connection.c): closed intervals summed, plus the one still open at the moment asked.

/// One cause of being blocked: the time spent blocked so far.
public struct BlockedTimer: Sendable, Equatable {
    /// Blocked time of the intervals that ended.
    public private(set) var accumulated: QuicDuration = .zero
    /// Start of the interval still open, if blocked now.
    public private(set) var since: QuicInstant? = nil

    public init() {}

    public var isBlocked: Bool { since != nil }

    /// Enters or leaves the blocked state at `now` (no change if already there).
    public mutating func set(_ blocked: Bool, now: QuicInstant) {
        if blocked {
            if since == nil { since = now }
        } else if let start = since {
            accumulated += now - start      // saturating (Time.swift)
            since = nil
        }
    }

    /// Blocked time up to `now`, the open interval included.
    public func total(at now: QuicInstant) -> QuicDuration {
        guard let start = since else { return accumulated }
        return accumulated + (now - start)
    }
}

/// The connection-wide causes MsQuic tracks (QUIC_STREAM_STATISTICS ConnBlockedBy*).
public struct ConnectionBlockedTimings: Sendable, Equatable {
    /// MsQuic: its worker cut a connection's send short at the end of a work quantum. Our
    /// runtime sends everything the engine has in each service round, so this never runs.
    public var scheduling = BlockedTimer()
    /// Data waiting for the pacer (RFC 9002 §7.7).
    public var pacing = BlockedTimer()
    /// A server waiting for the client's address to be validated (RFC 9000 §8.1).
    public var amplification = BlockedTimer()
    /// Data waiting for the congestion window (RFC 9002 §7).
    public var congestionControl = BlockedTimer()
    /// Stream data waiting for the peer's MAX_DATA (RFC 9000 §4.1).
    public var flowControl = BlockedTimer()

    public init() {}
}

/// The per-stream causes (QUIC_STREAM_STATISTICS StreamBlockedBy*); waiting for the peer's
/// MAX_STREAMS (StreamBlockedByIdFlowControlUs) happens before the engine has the stream and
/// is kept by the API layer.
public struct StreamBlockedTimings: Sendable, Equatable {
    /// Data waiting for the peer's MAX_STREAM_DATA (RFC 9000 §4.1).
    public var flowControl = BlockedTimer()
    /// Everything the application queued is sent and it has not ended the stream: the
    /// stream waits for the application (MsQuic's QUIC_FLOW_BLOCKED_APP).
    public var app = BlockedTimer()

    public init() {}
}
