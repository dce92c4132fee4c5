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
    /// The path MTU as MsQuic reports it (QUIC_STATISTICS.Send.PathMtu): IP packet bytes.
    public var ipPathMTU: Int = 1228
    /// Times DPLPMTUD found a black hole and went back to the base MTU (RFC 8899 §4.3).
    public var mtuBlackHoles: UInt64 = 0
    /// ECN validation succeeded on the path (RFC 9000 §13.4.2; QUIC_STATISTICS_V2.EcnCapable).
    public var ecnCapable = false
    /// ECN-CE increases treated as congestion events (RFC 9002 §7.1; SendEcnCongestionCount).
    public var ecnCongestionEvents: UInt64 = 0
    /// Client: the server answered with a Retry (RFC 9000 §8.1.2).
    public var statelessRetry = false
    /// Client: the handshake restarted after a Version Negotiation packet (RFC 9000 §6.2).
    public var versionNegotiation = false
    /// QUIC_STATISTICS Timing (µs on the caller's clock, 0 = not yet), as MsQuic records them:
    /// the connection's creation, the first change of read keys (the peer's Initial flight
    /// consumed) and the handshake's completion (the peer's Handshake flight consumed).
    public var timingStart: UInt64 = 0
    public var timingInitialFlightEnd: UInt64 = 0
    public var timingHandshakeFlightEnd: UInt64 = 0
    /// QUIC_STATISTICS Handshake (0 = flight not finished), as MsQuic's crypto.c records them:
    /// the client's Initial-level TLS bytes once it has Handshake write keys, the client's
    /// Handshake-level bytes once it has 1-RTT write keys, and the server's Initial plus
    /// Handshake bytes once it has 1-RTT write keys.
    public var handshakeClientFlight1Bytes: UInt32 = 0
    public var handshakeServerFlight1Bytes: UInt32 = 0
    public var handshakeClientFlight2Bytes: UInt32 = 0
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
        s.ipPathMTU = currentMaxDatagramSize + ipUDPOverhead
        s.mtuBlackHoles = pmtu.blackHolesDetected
        s.ecnCapable = ecnCapable
        s.ecnCongestionEvents = r.ecnCongestionEvents
        s.decryptionFailures = forgedPackets
        s.receivedBytes = bytesReceived
        s.sentBytes = bytesSent
        s.statelessRetry = role == .client && retrySourceCID != nil
        s.versionNegotiation = role == .client && versionNegotiationVersions != nil
        return s
    }
}
