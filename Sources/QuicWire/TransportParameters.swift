// QUIC transport parameters (RFC 9000 §18) and the extensions MsQuic exchanges.
// Encoding and decoding are in TransportParametersCodec.swift.

/// Client or server.
public enum EndpointRole: Sendable {
    case client
    case server
}

/// The endpoint that sent a set of transport parameters.
public typealias TransportParameterSender = EndpointRole

/// Transport parameter identifiers.
public enum TransportParameterID {
    // RFC 9000 §18.2
    public static let originalDestinationConnectionID: UInt64 = 0x00
    public static let maxIdleTimeout: UInt64 = 0x01
    public static let statelessResetToken: UInt64 = 0x02
    public static let maxUDPPayloadSize: UInt64 = 0x03
    public static let initialMaxData: UInt64 = 0x04
    public static let initialMaxStreamDataBidiLocal: UInt64 = 0x05
    public static let initialMaxStreamDataBidiRemote: UInt64 = 0x06
    public static let initialMaxStreamDataUni: UInt64 = 0x07
    public static let initialMaxStreamsBidi: UInt64 = 0x08
    public static let initialMaxStreamsUni: UInt64 = 0x09
    public static let ackDelayExponent: UInt64 = 0x0a
    public static let maxAckDelay: UInt64 = 0x0b
    public static let disableActiveMigration: UInt64 = 0x0c
    public static let preferredAddress: UInt64 = 0x0d
    public static let activeConnectionIDLimit: UInt64 = 0x0e
    public static let initialSourceConnectionID: UInt64 = 0x0f
    public static let retrySourceConnectionID: UInt64 = 0x10
    /// RFC 9368 §3
    public static let versionInformation: UInt64 = 0x11
    /// RFC 9221 §3
    public static let maxDatagramFrameSize: UInt64 = 0x20
    /// CIBIR (MsQuic): {length, offset} varints.
    public static let cibirEncoding: UInt64 = 0x1000
    /// RFC 9287 §3
    public static let greaseQuicBit: UInt64 = 0x2ab2
    /// MsQuic's timestamp extension (draft-huitema-quic-ts): a varint of flags.
    public static let enableTimestamp: UInt64 = 0x7158
    /// MsQuic's "disable 1-RTT encryption" test extension (empty).
    public static let disable1RTTEncryption: UInt64 = 0xbaad
    /// draft-ietf-quic-ack-frequency: microseconds.
    public static let minAckDelay: UInt64 = 0xff04_de1b
    /// MsQuic's reliable reset (RELIABLE_RESET_STREAM frame 0x21).
    public static let reliableResetMsQuic: UInt64 = 0x17_f758_6d2c_b570
    /// draft-ietf-quic-reliable-stream-reset-07 reset_stream_at (RESET_STREAM_AT frame 0x24).
    public static let resetStreamAt: UInt64 = 0x17_f758_6d2c_b571

    /// Identifiers 31 * N + 27 are reserved for greasing (RFC 9000 §18.1).
    @inlinable public static func isReserved(_ id: UInt64) -> Bool { id % 31 == 27 }
}

/// The preferred_address transport parameter (RFC 9000 §18.2).
public struct PreferredAddress: Equatable, Sendable {
    /// IPv4 address bytes in network order (all zero when absent).
    public var ipv4Address: (UInt8, UInt8, UInt8, UInt8)
    public var ipv4Port: UInt16
    /// IPv6 address bytes in network order (all zero when absent).
    public var ipv6Address: [UInt8]
    public var ipv6Port: UInt16
    public var connectionID: ConnectionID
    public var statelessResetToken: StatelessResetToken

    public init(ipv4Address: (UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0), ipv4Port: UInt16 = 0,
                ipv6Address: [UInt8] = [UInt8](repeating: 0, count: 16), ipv6Port: UInt16 = 0,
                connectionID: ConnectionID, statelessResetToken: StatelessResetToken) {
        self.ipv4Address = ipv4Address
        self.ipv4Port = ipv4Port
        self.ipv6Address = ipv6Address
        self.ipv6Port = ipv6Port
        self.connectionID = connectionID
        self.statelessResetToken = statelessResetToken
    }

    public static func == (a: PreferredAddress, b: PreferredAddress) -> Bool {
        a.ipv4Address == b.ipv4Address && a.ipv4Port == b.ipv4Port && a.ipv6Address == b.ipv6Address
            && a.ipv6Port == b.ipv6Port && a.connectionID == b.connectionID
            && a.statelessResetToken == b.statelessResetToken
    }
}

/// The version_information transport parameter (RFC 9368 §3).
public struct VersionInformation: Equatable, Sendable {
    public var chosenVersion: QuicVersion
    public var availableVersions: [QuicVersion]
    public init(chosenVersion: QuicVersion, availableVersions: [QuicVersion]) {
        self.chosenVersion = chosenVersion
        self.availableVersions = availableVersions
    }
}

/// CIBIR encoding (MsQuic): where the CIBIR identifier sits in the connection ID.
public struct CibirEncoding: Equatable, Sendable {
    public var length: UInt64
    public var offset: UInt64
    public init(length: UInt64, offset: UInt64) { self.length = length; self.offset = offset }
}

/// A transport parameter written byte for byte (id, value).
public struct RawTransportParameter: Equatable, Sendable {
    public var id: UInt64
    public var value: [UInt8]
    public init(id: UInt64, value: [UInt8]) {
        self.id = id
        self.value = value
    }
}

/// A full set of transport parameters. Absent parameters hold their RFC default values
/// (RFC 9000 §18.2); optional ones are nil when absent.
public struct TransportParameters: Equatable, Sendable {
    public var originalDestinationConnectionID: ConnectionID? = nil
    /// Milliseconds; 0 means no idle timeout.
    public var maxIdleTimeout: UInt64 = 0
    public var statelessResetToken: StatelessResetToken? = nil
    /// RFC 9000 §18.2: default 65527, values below 1200 are invalid.
    public var maxUDPPayloadSize: UInt64 = 65527
    public var initialMaxData: UInt64 = 0
    public var initialMaxStreamDataBidiLocal: UInt64 = 0
    public var initialMaxStreamDataBidiRemote: UInt64 = 0
    public var initialMaxStreamDataUni: UInt64 = 0
    public var initialMaxStreamsBidi: UInt64 = 0
    public var initialMaxStreamsUni: UInt64 = 0
    /// Default 3, at most 20.
    public var ackDelayExponent: UInt64 = 3
    /// Milliseconds; default 25, below 2^14.
    public var maxAckDelay: UInt64 = 25
    public var disableActiveMigration: Bool = false
    public var preferredAddress: PreferredAddress? = nil
    /// Default 2, at least 2.
    public var activeConnectionIDLimit: UInt64 = 2
    public var initialSourceConnectionID: ConnectionID? = nil
    public var retrySourceConnectionID: ConnectionID? = nil
    public var versionInformation: VersionInformation? = nil
    /// nil: DATAGRAM frames not supported (RFC 9221 §3).
    public var maxDatagramFrameSize: UInt64? = nil
    /// RFC 9287: the sender accepts packets with the fixed bit 0.
    public var greaseQuicBit: Bool = false
    /// Microseconds (ack-frequency draft); nil when absent.
    public var minAckDelay: UInt64? = nil
    public var disable1RTTEncryption: Bool = false
    /// MsQuic's reliable reset (RELIABLE_RESET_STREAM frame 0x21), empty parameter.
    public var reliableResetMsQuic: Bool = false
    /// reset_stream_at (frame 0x24), empty parameter.
    public var resetStreamAt: Bool = false
    /// MsQuic timestamps: flags varint.
    public var enableTimestamp: UInt64? = nil
    public var cibirEncoding: CibirEncoding? = nil
    /// Parameters written as given after the others (a test hook: MsQuic's private
    /// QUIC_PARAM_CONN_TEST_TRANSPORT_PARAMETER sends arbitrary, even invalid, parameters).
    public var rawExtras: [RawTransportParameter] = []

    public init() {}

    /// Checks the rules of RFC 9000 §18.2 (and the extensions) for parameters sent by `sender`.
    /// Any violation is a TRANSPORT_PARAMETER_ERROR (RFC 9000 §7.4, §18.2).
    ///
    /// Bounds the engine relies on afterwards (issue 10 audit). Every integer parameter is a
    /// varint, so ≤ 2^62-1 by decoding; beyond that:
    /// - ack_delay_exponent ≤ 20 and max_ack_delay < 2^14 ms: checked here; QuicCore converts
    ///   them to saturating `QuicDuration`s anyway.
    /// - max_idle_timeout: any varint (2^62-1 ms is valid); QuicCore converts it with
    ///   `QuicDuration.milliseconds`, which saturates to "never".
    /// - initial_max_streams_bidi/uni ≤ 2^60: checked here, so index << 2 + type fits 2^62.
    /// - initial_max_data / initial_max_stream_data_*: any varint; used only as flow control
    ///   limits, compared and subtracted after a comparison (FlowControl.swift).
    /// - active_connection_id_limit ≥ 2: checked here; only compared (ConnectionIDs.swift).
    /// - max_udp_payload_size ≥ 1200: checked here; clamped to Int and to our buffers.
    /// - max_datagram_frame_size: any varint; clamped to Int, then to what a packet holds.
    public func validate(sender: TransportParameterSender) throws(QuicError) {
        if sender == .client {
            // §18.2: server-only parameters.
            if originalDestinationConnectionID != nil {
                throw .transportParameter("client sent original_destination_connection_id")
            }
            if preferredAddress != nil { throw .transportParameter("client sent preferred_address") }
            if retrySourceConnectionID != nil { throw .transportParameter("client sent retry_source_connection_id") }
            if statelessResetToken != nil { throw .transportParameter("client sent stateless_reset_token") }
        }
        if maxUDPPayloadSize < 1200 { throw .transportParameter("max_udp_payload_size below 1200") }
        if ackDelayExponent > 20 { throw .transportParameter("ack_delay_exponent above 20") }
        if maxAckDelay >= 1 << 14 { throw .transportParameter("max_ack_delay not below 2^14") }
        if activeConnectionIDLimit < 2 { throw .transportParameter("active_connection_id_limit below 2") }
        // §18.2 / §4.6: stream counts above 2^60 cannot be expressed as stream IDs.
        if initialMaxStreamsBidi > 1 << 60 { throw .transportParameter("initial_max_streams_bidi above 2^60") }
        if initialMaxStreamsUni > 1 << 60 { throw .transportParameter("initial_max_streams_uni above 2^60") }
        if let p = preferredAddress, p.connectionID.isEmpty {
            throw .transportParameter("preferred_address with a zero-length connection ID")
        }
        if let p = preferredAddress, p.ipv6Address.count != 16 {
            throw .transportParameter("preferred_address IPv6 address not 16 bytes")
        }
        if let v = versionInformation {
            // RFC 9368 §4: a Chosen Version of 0 (or an Available Version 0) is an error.
            if v.chosenVersion == .negotiation { throw .transportParameter("version_information chosen version 0") }
            if v.availableVersions.contains(.negotiation) {
                throw .transportParameter("version_information lists version 0")
            }
        }
        // ack-frequency draft §3: min_ack_delay (µs) must not exceed max_ack_delay (ms).
        // Bound: maxAckDelay < 2^14 was checked above, so the product is < 2^24.
        if let m = minAckDelay, m > maxAckDelay * 1000 {
            throw .transportParameter("min_ack_delay greater than max_ack_delay")
        }
    }
}
