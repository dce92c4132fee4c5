import QuicCore
import QuicWire

// One connection's qlog trace (draft-ietf-quic-qlog-main-schema, draft-ietf-quic-qlog-quic-events,
// qlog_version "0.3" as quiche, ngtcp2 and qvis read it), serialised as JSON-SEQ (RFC 7464:
// every record is RS 0x1E, a JSON text, LF). The first record is the header (qlog_version,
// qlog_format, trace with vantage_point and common_fields), every later one an event
// {"time": ms since the trace's reference_time, "name": "category:event", "data": {...}}.
//
// Records accumulate in memory and go to the sink (a file: `QlogFileSink`) when the buffer
// passes `flushThreshold` and at `finish`, so an event costs no system call.

/// Where a trace's bytes go.
public protocol QlogSink: AnyObject {
    func write(_ bytes: [UInt8])
    func close()
}

public final class QlogTrace: ConnectionObserver {
    public let role: EndpointRole
    public let originalDestinationCID: ConnectionID
    private var sink: QlogSink?
    private var json = JSONWriter(capacity: 1 << 16)
    /// Bytes buffered before they are handed to the sink.
    public var flushThreshold = 1 << 16
    /// The engine time of the first event: event times are relative to it.
    private var start: QuicInstant?
    /// Wall-clock milliseconds since 1970 at `start` (common_fields.reference_time).
    private let referenceTimeMs: UInt64
    private var headerWritten = false

    public init(role: EndpointRole, originalDestinationCID: ConnectionID, referenceTimeMs: UInt64, sink: QlogSink) {
        self.role = role
        self.originalDestinationCID = originalDestinationCID
        self.referenceTimeMs = referenceTimeMs
        self.sink = sink
    }

    deinit { finishOutput() }

    // MARK: Records

    private func writeHeader() {
        headerWritten = true
        json.raw(0x1e)
        json.beginObject()
        json.field("qlog_version", "0.3")
        json.field("qlog_format", "JSON-SEQ")
        json.field("title", "swiftquic qlog")
        json.object("trace")
        json.object("vantage_point")
        json.field("name", "swiftquic")
        json.field("type", role == .server ? "server" : "client")
        json.endObject()
        json.object("common_fields")
        json.field("ODCID", hex: originalDestinationCID.bytes)
        json.key("group_id"); json.value(hex: originalDestinationCID.bytes)
        json.array("protocol_type"); json.value("QUIC"); json.endArray()
        json.field("reference_time", referenceTimeMs)
        json.field("time_format", "relative")
        json.endObject()
        json.endObject()
        json.endObject()
        json.raw(0x0a)
    }

    /// Opens an event record; the caller writes data members, then `endEvent`.
    private func beginEvent(_ name: StaticString, now: QuicInstant) {
        if !headerWritten { writeHeader() }
        let origin = start ?? now
        if start == nil { start = now }
        json.raw(0x1e)
        json.beginObject()
        json.field("time", ms: now > origin ? now.microseconds - origin.microseconds : 0)
        json.field("name", name)
        json.object("data")
    }

    private func endEvent() {
        json.endObject()  // data
        json.endObject()
        json.raw(0x0a)
        if json.bytes.count >= flushThreshold { flush() }
    }

    /// Hands the buffered records to the sink.
    public func flush() {
        guard let sink, !json.bytes.isEmpty else { return }
        sink.write(json.bytes)
        json.removeAll()
    }

    private func finishOutput() {
        if !headerWritten, sink != nil { writeHeader() }
        flush()
        sink?.close()
        sink = nil
    }

    // MARK: ConnectionObserver

    public func connectionStarted(role: EndpointRole, version: QuicVersion, localCID: ConnectionID, remoteCID: ConnectionID,
                                  remote: SocketAddress, now: QuicInstant) {
        beginEvent("connectivity:connection_started", now: now)
        json.field("ip_version", remote.family == .ipv6 ? "ipv6" : "ipv4")
        // The peer's address: the destination of a client, the source of a server's connection.
        if role == .client {
            json.key("dst_ip"); writeIP(remote); json.field("dst_port", UInt64(remote.port))
        } else {
            json.key("src_ip"); writeIP(remote); json.field("src_port", UInt64(remote.port))
        }
        json.field("protocol", "QUIC")
        json.key("quic_version"); json.value(hex32: version.rawValue)
        json.field("src_cid", hex: localCID.bytes)
        json.field("dst_cid", hex: remoteCID.bytes)
        endEvent()
    }

    public func parametersSet(local: Bool, _ p: TransportParameters, now: QuicInstant) {
        beginEvent("transport:parameters_set", now: now)
        json.field("owner", local ? "local" : "remote")
        if let v = p.originalDestinationConnectionID { json.field("original_destination_connection_id", hex: v.bytes) }
        if let v = p.initialSourceConnectionID { json.field("initial_source_connection_id", hex: v.bytes) }
        if let v = p.retrySourceConnectionID { json.field("retry_source_connection_id", hex: v.bytes) }
        if let v = p.statelessResetToken { json.field("stateless_reset_token", hex: v.bytes) }
        json.field("disable_active_migration", p.disableActiveMigration)
        json.field("max_idle_timeout", p.maxIdleTimeout)
        json.field("max_udp_payload_size", p.maxUDPPayloadSize)
        json.field("ack_delay_exponent", p.ackDelayExponent)
        json.field("max_ack_delay", p.maxAckDelay)
        json.field("active_connection_id_limit", p.activeConnectionIDLimit)
        json.field("initial_max_data", p.initialMaxData)
        json.field("initial_max_stream_data_bidi_local", p.initialMaxStreamDataBidiLocal)
        json.field("initial_max_stream_data_bidi_remote", p.initialMaxStreamDataBidiRemote)
        json.field("initial_max_stream_data_uni", p.initialMaxStreamDataUni)
        json.field("initial_max_streams_bidi", p.initialMaxStreamsBidi)
        json.field("initial_max_streams_uni", p.initialMaxStreamsUni)
        if let v = p.maxDatagramFrameSize { json.field("max_datagram_frame_size", v) }
        if p.greaseQuicBit { json.field("grease_quic_bit", true) }
        if let v = p.minAckDelay { json.field("min_ack_delay", v) }
        if let pa = p.preferredAddress {
            json.object("preferred_address")
            json.key("ip_v4"); json.value(string: "\(pa.ipv4Address.0).\(pa.ipv4Address.1).\(pa.ipv4Address.2).\(pa.ipv4Address.3)")
            json.field("port_v4", UInt64(pa.ipv4Port))
            json.field("ip_v6", hex: pa.ipv6Address)
            json.field("port_v6", UInt64(pa.ipv6Port))
            json.field("connection_id", hex: pa.connectionID.bytes)
            json.field("stateless_reset_token", hex: pa.statelessResetToken.bytes)
            json.endObject()
        }
        endEvent()
    }

    public func versionInformation(local: [QuicVersion], peer: [QuicVersion]?, chosen: QuicVersion, now: QuicInstant) {
        beginEvent("transport:version_information", now: now)
        let (server, client) = role == .server ? (local, peer) : (peer, local)
        if let server { json.array("server_versions"); for v in server { json.value(hex32: v.rawValue) }; json.endArray() }
        if let client { json.array("client_versions"); for v in client { json.value(hex32: v.rawValue) }; json.endArray() }
        json.key("chosen_version"); json.value(hex32: chosen.rawValue)
        endEvent()
    }

    public func alpnInformation(local: [[UInt8]], chosen: [UInt8], now: QuicInstant) {
        beginEvent("transport:alpn_information", now: now)
        json.array(role == .server ? "server_alpns" : "client_alpns")
        for a in local { writeALPN(a) }
        json.endArray()
        json.key("chosen_alpn"); writeALPN(chosen)
        endEvent()
    }

    public func packetSent(_ packet: ObservedPacket, now: QuicInstant) {
        beginEvent("transport:packet_sent", now: now)
        writePacket(packet)
        endEvent()
    }

    public func packetReceived(_ packet: ObservedPacket, now: QuicInstant) {
        beginEvent("transport:packet_received", now: now)
        writePacket(packet)
        endEvent()
    }

    public func packetDropped(type: ObservedPacketType, packetNumber: UInt64?, length: Int, trigger: ObservedDropTrigger,
                              now: QuicInstant) {
        beginEvent("transport:packet_dropped", now: now)
        json.object("header")
        json.key("packet_type"); writePacketType(type)
        if let packetNumber { json.field("packet_number", packetNumber) }
        json.endObject()
        json.object("raw"); json.field("length", UInt64(length)); json.endObject()
        json.key("trigger")
        switch trigger {
        case .keyUnavailable: json.value("key_unavailable")
        case .decryptionFailure: json.value("decryption_failure")
        case .duplicate: json.value("duplicate")
        case .unsupportedVersion: json.value("unsupported_version")
        case .headerParseError: json.value("header_parse_error")
        case .unexpectedPacket: json.value("unexpected_packet")
        case .general: json.value("general")
        }
        endEvent()
    }

    public func connectionStateUpdated(_ state: ObservedConnectionState, now: QuicInstant) {
        beginEvent("connectivity:connection_state_updated", now: now)
        json.key("new")
        switch state {
        case .attempted: json.value("attempted")
        case .handshakeStarted: json.value("handshake_started")
        case .handshakeCompleted: json.value("handshake_complete")
        case .handshakeConfirmed: json.value("handshake_confirmed")
        case .closing: json.value("closing")
        case .draining: json.value("draining")
        case .closed: json.value("closed")
        }
        endEvent()
    }

    public func connectionClosed(_ r: ConnectionCloseReason, now: QuicInstant) {
        beginEvent("connectivity:connection_closed", now: now)
        json.field("owner", r.fromPeer ? "remote" : "local")
        if r.isApplication { json.field("application_code", r.errorCode) } else { json.field("connection_code", r.errorCode) }
        if !r.reason.isEmpty { json.key("reason"); json.value(stringBytes: r.reason) }
        json.key("trigger")
        if r.idleTimeout { json.value("idle_timeout") }
        else if r.statelessReset { json.value("stateless_reset") }
        else if r.versionNegotiation { json.value("version_mismatch") }
        else if r.isApplication { json.value("application") }
        else if r.errorCode == 0 { json.value("clean") }
        else { json.value("error") }
        endEvent()
    }

    public func peerAddressChanged(to remote: SocketAddress, validating: Bool, now: QuicInstant) {
        beginEvent("transport:migration_state_updated", now: now)
        json.field("state", validating ? "probing_started" : "migration_complete")
        json.object("path_remote")
        writeAddress(remote)
        json.endObject()
        endEvent()
    }

    public func localAddressChanged(to local: SocketAddress, now: QuicInstant) {
        beginEvent("transport:migration_state_updated", now: now)
        json.field("state", "migration_started")
        json.object("path_local")
        writeAddress(local)
        json.endObject()
        endEvent()
    }

    private func writeAddress(_ a: SocketAddress) {
        if a.family == .ipv6 {
            json.key("ip_v6"); writeIP(a); json.field("port_v6", UInt64(a.port))
        } else {
            json.key("ip_v4"); writeIP(a); json.field("port_v4", UInt64(a.port))
        }
    }

    public func metricsUpdated(_ m: ObservedRecoveryMetrics, now: QuicInstant) {
        beginEvent("recovery:metrics_updated", now: now)
        json.field("min_rtt", ms: m.minRTT.microseconds)
        json.field("smoothed_rtt", ms: m.smoothedRTT.microseconds)
        json.field("latest_rtt", ms: m.latestRTT.microseconds)
        json.field("rtt_variance", ms: m.rttVariance.microseconds)
        json.field("pto_count", UInt64(m.ptoCount))
        json.field("congestion_window", m.congestionWindow)
        json.field("bytes_in_flight", m.bytesInFlight)
        if let s = m.ssthresh { json.field("ssthresh", s) }
        json.field("pacing_rate", m.pacingRate)
        endEvent()
    }

    public func packetLost(type: ObservedPacketType, packetNumber: UInt64, now: QuicInstant) {
        beginEvent("recovery:packet_lost", now: now)
        json.object("header")
        json.key("packet_type"); writePacketType(type)
        json.field("packet_number", packetNumber)
        json.endObject()
        endEvent()
    }

    public func congestionStateUpdated(from old: ObservedCongestionState, to new: ObservedCongestionState, now: QuicInstant) {
        beginEvent("recovery:congestion_state_updated", now: now)
        json.key("old"); writeCongestionState(old)
        json.key("new"); writeCongestionState(new)
        endEvent()
    }

    public func keyUpdated(_ key: ObservedKeyType, generation: UInt64, localUpdate: Bool, now: QuicInstant) {
        beginEvent("security:key_updated", now: now)
        json.key("key_type"); writeKeyType(key)
        if generation > 0 { json.field("generation", generation) }
        json.field("trigger", generation == 0 ? "tls" : localUpdate ? "local_update" : "remote_update")
        endEvent()
    }

    public func keyDiscarded(_ key: ObservedKeyType, generation: UInt64, now: QuicInstant) {
        beginEvent("security:key_discarded", now: now)
        json.key("key_type"); writeKeyType(key)
        if generation > 0 { json.field("generation", generation) }
        json.field("trigger", "tls")
        endEvent()
    }

    public func finish(now: QuicInstant) { finishOutput() }

    // MARK: Values

    private func writeIP(_ a: SocketAddress) {
        let b = a.bytes
        if a.family == .ipv4, b.count == 4 {
            json.value(string: "\(b[0]).\(b[1]).\(b[2]).\(b[3])")
        } else {
            json.value(hex: b)   // IPv6 as 32 hex digits (qlog's IPAddress may be hex)
        }
    }

    private func writeALPN(_ a: [UInt8]) {
        json.beginObject()
        json.field("byte_value", hex: a)
        json.key("string_value"); json.value(stringBytes: a)
        json.endObject()
    }

    private func writePacketType(_ t: ObservedPacketType) {
        switch t {
        case .initial: json.value("initial")
        case .handshake: json.value("handshake")
        case .zeroRTT: json.value("0RTT")
        case .oneRTT: json.value("1RTT")
        case .retry: json.value("retry")
        case .versionNegotiation: json.value("version_negotiation")
        case .statelessReset: json.value("stateless_reset")
        case .unknown: json.value("unknown")
        }
    }

    private func writeCongestionState(_ s: ObservedCongestionState) {
        switch s {
        case .slowStart: json.value("slow_start")
        case .congestionAvoidance: json.value("congestion_avoidance")
        case .recovery: json.value("recovery")
        case .applicationLimited: json.value("application_limited")
        }
    }

    private func writeKeyType(_ k: ObservedKeyType) {
        switch k {
        case .serverInitial: json.value("server_initial_secret")
        case .clientInitial: json.value("client_initial_secret")
        case .serverHandshake: json.value("server_handshake_secret")
        case .clientHandshake: json.value("client_handshake_secret")
        case .server0RTT: json.value("server_0rtt_secret")
        case .client0RTT: json.value("client_0rtt_secret")
        case .server1RTT: json.value("server_1rtt_secret")
        case .client1RTT: json.value("client_1rtt_secret")
        }
    }

    private func writePacket(_ p: ObservedPacket) {
        json.object("header")
        json.key("packet_type"); writePacketType(p.type)
        // Retry and Version Negotiation packets have no packet number and no frames.
        let framed = p.type != .retry && p.type != .versionNegotiation
        if framed { json.field("packet_number", p.packetNumber) }
        json.field("dcid", hex: p.dcid.bytes)
        if let s = p.scid { json.field("scid", hex: s.bytes) }
        json.endObject()
        guard framed else {
            json.object("raw"); json.field("length", UInt64(p.length)); json.endObject()
            return
        }
        json.object("raw"); json.field("length", UInt64(p.length)); json.field("payload_length", UInt64(p.payload.count)); json.endObject()
        json.array("frames")
        QlogFrames.write(p, into: &json)
        json.endArray()
    }
}
