// Counters for QUIC_PARAM_CONN_STATISTICS(_V2) and friends.

/// A snapshot of a connection's counters and estimates.
public struct ConnectionStatistics: Equatable, Sendable {
    public var smoothedRTT: UInt64 = 0
    public var minRTT: UInt64 = 0
    public var rttVariance: UInt64 = 0
    public var congestionWindow: UInt64 = 0
    public var bytesInFlight: UInt64 = 0
    public var congestionEvents: UInt64 = 0
    public var persistentCongestionEvents: UInt64 = 0
    public var sentPackets: UInt64 = 0
    public var sentBytes: UInt64 = 0
    public var lostPackets: UInt64 = 0
    public var receivedPackets: UInt64 = 0
    public var receivedBytes: UInt64 = 0
    /// Packets dropped: undecryptable, duplicates, wrong version or CID (RFC 9000 §5.2, §12.3).
    public var droppedPackets: UInt64 = 0
    public var decryptionFailures: UInt64 = 0
    public var keyUpdates: UInt64 = 0
    /// Times the peer's address changed and the connection followed it (RFC 9000 §9.3).
    public var pathChanges: UInt64 = 0
    public var pathMTU: Int = 1200
    /// Client: the server answered with a Retry (RFC 9000 §8.1.2).
    public var statelessRetry = false
    /// Client: the handshake restarted after a Version Negotiation packet (RFC 9000 §6.2).
    public var versionNegotiation = false
}

extension Connection {
    /// The connection's current statistics.
    public var statistics: ConnectionStatistics {
        var s = counters
        let r = recovery.recovery
        s.smoothedRTT = r.rtt.smoothedRTT.microseconds  // statistics are µs counts (QUIC_STATISTICS)
        s.minRTT = r.rtt.minRTT.microseconds
        s.rttVariance = r.rtt.rttVariance.microseconds
        s.congestionWindow = r.congestionWindow
        s.bytesInFlight = r.bytesInFlight
        s.congestionEvents = r.congestion.congestionEventCount
        s.persistentCongestionEvents = r.congestion.persistentCongestionCount
        s.keyUpdates = oneRTT?.generation ?? 0
        s.pathMTU = currentMaxDatagramSize
        s.decryptionFailures = forgedPackets
        s.receivedBytes = bytesReceived
        s.sentBytes = bytesSent
        s.statelessRetry = role == .client && retrySourceCID != nil
        s.versionNegotiation = role == .client && versionNegotiationVersions != nil
        return s
    }
}
