// Which congestion controller a connection runs.

/// The congestion control algorithms swiftquic implements.
public enum CongestionControlAlgorithm: Sendable, Equatable {
    /// RFC 9002 §7 and Appendix B.
    case newReno
    /// RFC 9438, MsQuic's default.
    case cubic
    /// BBR as MsQuic implements it (src/core/bbr.c; BBRv1, draft-cardwell-iccrg-bbr-congestion-control).
    case bbr

    /// Maps MsQuic's `QUIC_CONGESTION_CONTROL_ALGORITHM` setting (CUBIC = 0, BBR = 1, MAX = 2).
    /// Values at or above MAX return nil: the API layer rejects them with
    /// QUIC_STATUS_INVALID_PARAMETER as MsQuic does.
    public static func forMsQuicSetting(_ value: UInt16) -> CongestionControlAlgorithm? {
        switch value {
        case 0: return .cubic
        case 1: return .bbr
        default: return nil
        }
    }
}

/// Settings for the congestion controller (the MsQuic settings that feed it).
public struct CongestionControlConfig: Sendable, Equatable {
    public var algorithm: CongestionControlAlgorithm
    /// MsQuic's InitialWindowPackets (default 10); the initial window is this × max datagram size.
    public var initialWindowPackets: UInt32
    /// The maximum datagram size (UDP payload) the path allows now (RFC 9002 §7.2).
    public var maxDatagramSize: UInt32
    /// MsQuic's SendIdleTimeoutMs (default 1000 ms): after this long with nothing sent
    /// and nothing in flight, the window restarts from the initial window (RFC 9002 §7.8 note;
    /// RFC 5681 §4.1 restart window).
    public var sendIdleTimeout: QuicDuration
    /// RFC 9438 §4.7 fast convergence.
    public var fastConvergence: Bool
    /// Seed of the generator BBR draws its first PROBE_BW phase from (bbr.c picks it at
    /// random so that flows do not probe in step); the connection sets it.
    public var randomSeed: UInt64 = 0
    /// MsQuic's HyStartEnabled (default off): HyStart++ (RFC 9406) in the first slow start.
    public var hyStartEnabled: Bool

    public init(algorithm: CongestionControlAlgorithm = .cubic, initialWindowPackets: UInt32 = 10,
                maxDatagramSize: UInt32 = 1200, sendIdleTimeout: QuicDuration = .seconds(1), fastConvergence: Bool = true,
                hyStartEnabled: Bool = false) {
        self.algorithm = algorithm
        self.initialWindowPackets = max(initialWindowPackets, 1)
        self.maxDatagramSize = max(maxDatagramSize, 1200)
        self.sendIdleTimeout = sendIdleTimeout
        self.fastConvergence = fastConvergence
        self.hyStartEnabled = hyStartEnabled
    }
}
