// GetParam / SetParam on listener, connection, TLS and stream handles
// (docs/api/QUIC_PARAM_*.md via msquic.h's QUIC_PARAM_LISTENER_*, CONN_*, TLS_*, STREAM_*).
// Values come from the engine on the connection's worker.

import CMsQuic
import QuicCore
import QuicCrypto
import QuicPlatform
import QuicTLS
import QuicWire

enum ConnParam {
    static let listenerLocalAddress: UInt32 = 0x0400_0000
    static let listenerStats: UInt32 = 0x0400_0001
    static let dosModeEvents: UInt32 = 0x0400_0004
    static let quicVersion: UInt32 = 0x0500_0000
    static let localAddress: UInt32 = 0x0500_0001
    static let remoteAddress: UInt32 = 0x0500_0002
    static let idealProcessor: UInt32 = 0x0500_0003
    static let settings: UInt32 = 0x0500_0004
    static let statistics: UInt32 = 0x0500_0005
    static let statisticsPlat: UInt32 = 0x0500_0006
    static let shareUDPBinding: UInt32 = 0x0500_0007
    static let localBidiStreamCount: UInt32 = 0x0500_0008
    static let localUnidiStreamCount: UInt32 = 0x0500_0009
    static let maxStreamIDs: UInt32 = 0x0500_000A
    static let closeReasonPhrase: UInt32 = 0x0500_000B
    static let datagramReceiveEnabled: UInt32 = 0x0500_000D
    static let datagramSendEnabled: UInt32 = 0x0500_000E
    static let disable1RTTEncryption: UInt32 = 0x0500_000F
    static let resumptionTicket: UInt32 = 0x0500_0010
    static let peerCertificateValid: UInt32 = 0x0500_0011
    static let statisticsV2: UInt32 = 0x0500_0016
    static let statisticsV2Plat: UInt32 = 0x0500_0017
    static let origDestCID: UInt32 = 0x0500_0018
    static let streamSchedulingScheme: UInt32 = 0x0500_000C
    static let localInterface: UInt32 = 0x0500_0012
    static let tlsSecrets: UInt32 = 0x0500_0013
    static let versionSettings: UInt32 = 0x0500_0014
    static let cibirID: UInt32 = 0x0500_0015
    static let sendDSCP: UInt32 = 0x0500_0019
    static let closeAsync: UInt32 = 0x0500_001A
    static let networkStatistics: UInt32 = 0x0500_0020
    /// Every QUIC_PARAM_CONN_* / TLS_* msquic.h defines (others are INVALID_PARAMETER).
    static func isKnownConnectionParam(_ p: UInt32) -> Bool {
        (0x0500_0000...0x0500_001A).contains(p) || p == 0x0500_0020 || p == 0x0600_0000 || p == 0x0600_0001
    }
    // MsQuic's private test parameters (include/msquicp.h).
    static let forceKeyUpdate: UInt32 = 0x8500_0000              // no payload
    static let forceCIDUpdate: UInt32 = 0x8500_0001              // no payload
    static let testTransportParameter: UInt32 = 0x8500_0002      // QUIC_PRIVATE_TRANSPORT_PARAMETER
    static let keepAlivePadding: UInt32 = 0x8500_0003            // uint16_t
    static let disableVNETPGeneration: UInt32 = 0x8500_0004      // BOOLEAN
    static let streamReliableOffsetRecv: UInt32 = 0x8800_0000    // uint64_t
    static let tlsHandshakeInfo: UInt32 = 0x0600_0000
    static let tlsNegotiatedALPN: UInt32 = 0x0600_0001
    static let streamID: UInt32 = 0x0800_0000
    static let stream0RTTLength: UInt32 = 0x0800_0001
    static let streamIdealSendBufferSize: UInt32 = 0x0800_0002
    static let streamPriority: UInt32 = 0x0800_0003
    static let streamReliableOffset: UInt32 = 0x0800_0005       // uint64_t
    static let streamStatistics: UInt32 = 0x0800_0004
}

extension Api {
    static func objectGetParam(_ object: QuicObject, _ param: UInt32, _ length: UnsafeMutablePointer<UInt32>,
                               _ buffer: UnsafeMutableRawPointer?) -> QuicStatus {
        if let listener = object as? ListenerObject {
            switch param {
            case ConnParam.listenerLocalAddress:
                guard let a = listener.reportedLocalAddress else { return Status.invalidState }
                return getFixed(a, length, buffer)
            case ConnParam.listenerStats:
                // QUIC_LISTENER_STATISTICS: TotalAcceptedConnections, TotalRejectedConnections,
                // BindingRecvDroppedPackets (datagrams its sockets dropped).
                let values: [UInt64] = [listener.acceptedConnections.load(ordering: .relaxed),
                                        listener.rejectedConnections.load(ordering: .relaxed),
                                        listener.droppedDatagrams]
                return getFixed(bytes(ofArray: values), length, buffer)
            case ConnParam.dosModeEvents:
                return getFixed([UInt8(HandshakeBudget.dosModeEvents(listener) ? 1 : 0)], length, buffer)
            default:
                return Status.invalidParameter
            }
        }
        if let stream = object as? StreamObject {
            if param & Param.prefixMask == Param.prefixStream {
                let r: QuicStatus? = stream.connection.worker.sync { streamGetParam(stream, param, length, buffer) }
                return r ?? Status.invalidState
            }
            return objectGetParam(stream.connection, param, length, buffer)
        }
        guard let conn = object as? ConnectionObject else { return Status.invalidParameter }
        let r: QuicStatus? = conn.worker.sync { connectionGetParam(conn, param, length, buffer) }
        return r ?? Status.invalidState
    }

    static func objectSetParam(_ object: QuicObject, _ param: UInt32, _ length: UInt32,
                               _ buffer: UnsafeRawPointer?) -> QuicStatus {
        if let listener = object as? ListenerObject {
            // QUIC_PARAM_DOS_MODE_EVENTS (a BOOLEAN) is the one listener parameter that can be
            // set here; LOCAL_ADDRESS, STATS, ... are get-only.
            guard param == ConnParam.dosModeEvents, length == 1, let buffer else { return Status.invalidParameter }
            HandshakeBudget.setDosModeEvents(listener, enabled: buffer.load(as: UInt8.self) != 0)
            return Status.success
        }
        if let stream = object as? StreamObject {
            if param & Param.prefixMask == Param.prefixStream {
                let r: QuicStatus? = stream.connection.worker.sync { streamSetParam(stream, param, length, buffer) }
                return r ?? Status.invalidState
            }
            return objectSetParam(stream.connection, param, length, buffer)
        }
        guard let conn = object as? ConnectionObject else { return Status.invalidParameter }
        let r: QuicStatus? = conn.worker.sync { connectionSetParam(conn, param, length, buffer) }
        return r ?? Status.invalidState
    }

    // MARK: Connection

    private static func connectionGetParam(_ c: ConnectionObject, _ param: UInt32, _ length: UnsafeMutablePointer<UInt32>,
                                           _ buffer: UnsafeMutableRawPointer?) -> QuicStatus {
        switch param {
        case ConnParam.quicVersion:
            let v = c.core?.version.rawValue ?? c.quicVersion
            return getFixed(bytes(of: v), length, buffer)
        case ConnParam.localAddress:
            // MsQuic (connection.c): the size protocol first, then INVALID_STATE while no
            // address is set.
            if let status = sizeFirst(MemoryLayout<QUIC_ADDR>.size, length, buffer) { return status }
            guard let a = c.localAddressCache ?? c.binding?.socket?.localAddress ?? c.localAddressOverride else {
                return Status.invalidState
            }
            return getFixed(QuicAddr.bytes(a), length, buffer)
        case ConnParam.remoteAddress:
            if let status = sizeFirst(MemoryLayout<QUIC_ADDR>.size, length, buffer) { return status }
            guard let a = c.remoteAddress ?? c.remoteAddressOverride else { return Status.invalidState }
            return getFixed(QuicAddr.bytes(a), length, buffer)
        case ConnParam.idealProcessor:
            return getFixed(bytes(of: UInt16(truncatingIfNeeded: c.worker.index)), length, buffer)
        case ConnParam.settings:
            var settings = c.ownSettings ?? Settings()
            settings.inheritUnset(from: c.configuration?.effectiveSettings ?? Library.settings)
            return SettingsCodec.encodeSettings(settings, length: length, buffer: buffer)
        case ConnParam.versionSettings:
            // MsQuic: the connection's version settings (its own over the configuration's
            // over the global ones), in the QUIC_VERSION_SETTINGS layout.
            var settings = c.ownSettings ?? Settings()
            settings.inheritUnset(from: c.configuration?.effectiveSettings ?? Library.settings)
            return SettingsCodec.encodeVersionSettings(settings, length: length, buffer: buffer)
        case ConnParam.streamSchedulingScheme:
            return getFixed(bytes(of: c.schedulingScheme), length, buffer)
        case ConnParam.maxStreamIDs:
            return getFixed(bytes(ofArray: maxStreamIDs(c)), length, buffer)
        case ConnParam.statistics, ConnParam.statisticsPlat:
            return getFixed(statisticsV1(c), length, buffer)
        case ConnParam.statisticsV2, ConnParam.statisticsV2Plat:
            let full = statisticsV2(c)
            if length.pointee == 0 { length.pointee = UInt32(full.count); return Status.bufferTooSmall }
            // Older callers get the prefix of the versions they know (QUIC_STATISTICS_V2_SIZE_n).
            let minimum = statisticsV2Sizes[0]
            if length.pointee < minimum { length.pointee = UInt32(full.count); return Status.bufferTooSmall }
            let n = min(Int(length.pointee), full.count)
            guard let buffer else { return Status.invalidParameter }
            full.withUnsafeBytes { raw in
                if let base = raw.baseAddress { buffer.copyMemory(from: base, byteCount: n) }
            }
            length.pointee = UInt32(n)
            return Status.success
        case ConnParam.shareUDPBinding:
            return getFixed([c.shareUDPBinding ? 1 : 0], length, buffer)
        case ConnParam.localBidiStreamCount, ConnParam.localUnidiStreamCount:
            let n = c.core?.streams.openableStreams(bidirectional: param == ConnParam.localBidiStreamCount) ?? 0
            return getFixed(bytes(of: UInt16(clamping: n)), length, buffer)
        case ConnParam.closeReasonPhrase:
            guard !c.closeReasonPhrase.isEmpty else { return Status.notFound }
            // Stored with its NUL (QUIC_PARAM_CONN_CLOSE_REASON_PHRASE is a C string).
            return getFixed(c.closeReasonPhrase + [0], length, buffer)
        case ConnParam.datagramReceiveEnabled:
            return getFixed([c.datagramReceiveEnabled ? 1 : 0], length, buffer)
        case ConnParam.datagramSendEnabled:
            return getFixed([c.datagramSendEnabled ? 1 : 0], length, buffer)
        case ConnParam.disable1RTTEncryption:
            return getFixed([0], length, buffer)
        case ConnParam.resumptionTicket:
            guard let t = c.resumptionTicket else { return Status.invalidState }
            return getFixed(t, length, buffer)
        case ConnParam.origDestCID:
            // RFC 9000 §7.3: the DCID of the client's first Initial.
            guard let core = c.core else { return Status.invalidState }
            return getFixed(core.originalDestinationConnectionID.bytes, length, buffer)
        case ConnParam.disableVNETPGeneration:
            return getFixed([c.disableVersionInformation ? 1 : 0], length, buffer)
        case ConnParam.forceKeyUpdate, ConnParam.forceCIDUpdate, ConnParam.testTransportParameter,
             ConnParam.keepAlivePadding:
            return Status.invalidParameter                 // set-only
        case ConnParam.tlsHandshakeInfo:
            // No TLS session before a client connection starts (MsQuic: INVALID_PARAMETER); a
            // server connection has one from NEW_CONNECTION on, not complete yet (INVALID_STATE).
            guard let core = c.core else { return c.isServer ? Status.invalidState : Status.invalidParameter }
            // With a TLS session, MsQuic's TLS layer checks the size first.
            if let status = sizeFirst(MemoryLayout<QUIC_HANDSHAKE_INFO>.size, length, buffer) { return status }
            guard core.isHandshakeComplete, let suite = core.handshake.negotiatedCipherSuite else {
                return Status.invalidState
            }
            return getFixed(handshakeInfo(suite: suite, group: core.handshake.negotiatedGroup), length, buffer)
        case ConnParam.tlsNegotiatedALPN:
            // MsQuic's TLS layer refuses a NULL buffer before it looks at the session.
            if c.core != nil, buffer == nil { return Status.invalidParameter }
            guard let alpn = c.core?.negotiatedALPN ?? (c.isServer ? c.negotiatedALPN : nil) else { return Status.invalidState }
            return getFixed(alpn, length, buffer)
        default:
            return ConnParam.isKnownConnectionParam(param) ? Status.notSupported : Status.invalidParameter
        }
    }

    /// MsQuic's order for fixed-size parameters: a length below `size` gets BUFFER_TOO_SMALL
    /// with the size, then a NULL buffer INVALID_PARAMETER; nil when both are fine.
    private static func sizeFirst(_ size: Int, _ length: UnsafeMutablePointer<UInt32>,
                                  _ buffer: UnsafeMutableRawPointer?) -> QuicStatus? {
        if Int(length.pointee) < size { length.pointee = UInt32(size); return Status.bufferTooSmall }
        return buffer == nil ? Status.invalidParameter : nil
    }

    private static func connectionSetParam(_ c: ConnectionObject, _ param: UInt32, _ length: UInt32,
                                           _ buffer: UnsafeRawPointer?) -> QuicStatus {
        switch param {
        case ConnParam.closeReasonPhrase:
            // At most 512 bytes with the terminating NUL inside the given length.
            guard let buffer, length > 0, length <= 512,
                  buffer.load(fromByteOffset: Int(length) - 1, as: UInt8.self) == 0 else { return Status.invalidParameter }
            var phrase = Array(UnsafeRawBufferPointer(start: buffer, count: Int(length)))
            if let nul = phrase.firstIndex(of: 0) { phrase = Array(phrase[..<nul]) }
            c.closeReasonPhrase = phrase
            return Status.success
        case ConnParam.remoteAddress, ConnParam.localAddress:
            guard let buffer, length == UInt32(QuicAddr.size) else { return Status.invalidParameter }
            if param == ConnParam.remoteAddress {
                // MsQuic (connection.c): INVALID_STATE once started, then INVALID_PARAMETER for a
                // server or a wildcard address. The port may be 0: ConnectionStart's ServerPort
                // replaces it.
                guard !c.started else { return Status.invalidState }
                let family = buffer.load(as: UInt16.self)
                guard !c.isServer, family == QuicAddr.familyInet || family == QuicAddr.familyInet6,
                      let a = QuicAddr.read(buffer), !a.isWildcard else { return Status.invalidParameter }
                c.remoteAddressOverride = a
                return Status.success
            }
            // MsQuic's order (connection.c): a server or a connection closed locally, then a
            // started one whose handshake is not confirmed, are INVALID_STATE; then the family.
            if c.isServer || c.shutdownRequested || c.closedByApp { return Status.invalidState }
            if c.started, c.core?.isHandshakeConfirmed != true { return Status.invalidState }
            let family = buffer.load(as: UInt16.self)
            guard family == QuicAddr.familyInet || family == QuicAddr.familyInet6 || family == 0,
                  let a = QuicAddr.read(buffer) else { return Status.invalidParameter }
            // RFC 9000 §9.2: a started client migrates to the new address (ConnectionMigration.swift).
            if c.started { return c.migrateLocal(to: a) }
            c.localAddressOverride = a
            return Status.success
        case ConnParam.versionSettings:
            // MsQuic (connection.c): before start only; a client's versions (the first
            // FullyDeployedVersion is its initial version), validated as for the global and
            // configuration parameters.
            guard let buffer else { return Status.invalidParameter }
            guard !c.started else { return Status.invalidState }
            let (status, decoded) = SettingsCodec.decodeVersionSettings(buffer, size: length, isSupported: Versions.isSettable)
            guard status == Status.success, let decoded else { return status }
            var own = c.ownSettings ?? Settings()
            guard own.apply(decoded) else { return Status.invalidParameter }
            c.ownSettings = own
            return Status.success
        case ConnParam.settings:
            guard let buffer, let decoded = SettingsCodec.decodeSettings(buffer, size: length) else {
                return Status.invalidParameter
            }
            var own = c.ownSettings ?? Settings()
            guard own.apply(decoded) else { return Status.invalidParameter }
            // MsQuic (settings.c, QuicSettingApply): MTU bounds and ECN are fixed once the
            // connection started.
            if c.started, decoded.isSet(.minimumMtu) || decoded.isSet(.maximumMtu) || decoded.isSet(.ecnEnabled) {
                return Status.invalidParameter
            }
            c.ownSettings = own
            // On a started connection the peer's stream counts apply at once (MsQuic
            // QuicConnApplyNewSettings): more streams are allowed with MAX_STREAMS.
            if let core = c.core {
                if decoded.isSet(.peerBidiStreamCount) {
                    core.streams.raisePeerStreamCount(bidirectional: true, to: decoded[.peerBidiStreamCount])
                }
                if decoded.isSet(.peerUnidiStreamCount) {
                    core.streams.raisePeerStreamCount(bidirectional: false, to: decoded[.peerUnidiStreamCount])
                }
                c.service()
            }
            return Status.success
        case ConnParam.streamSchedulingScheme:
            guard let buffer, length == 4 else { return Status.invalidParameter }
            let v = buffer.loadUnaligned(as: UInt32.self)
            guard v < 2 else { return Status.invalidParameter }          // FIFO, ROUND_ROBIN
            c.schedulingScheme = v
            return Status.success
        case ConnParam.datagramReceiveEnabled:
            guard let buffer, length == 1 else { return Status.invalidParameter }
            guard !c.started else { return Status.invalidState }
            c.datagramReceiveEnabled = buffer.load(as: UInt8.self) != 0
            var own = c.ownSettings ?? Settings()
            var one = Settings()
            one[.datagramReceiveEnabled] = c.datagramReceiveEnabled ? 1 : 0
            one.isSet |= SettingField.datagramReceiveEnabled.bit
            if own.apply(one) { c.ownSettings = own }
            return Status.success
        case ConnParam.disable1RTTEncryption:
            return Status.notSupported
        case ConnParam.shareUDPBinding:
            guard let buffer, length == 1 else { return Status.invalidParameter }
            guard !c.started, !c.isServer else { return Status.invalidState }
            // Recorded; each client connection still gets a socket of its own.
            c.shareUDPBinding = buffer.load(as: UInt8.self) != 0
            return Status.success
        case ConnParam.cibirID:
            guard c.shareUDPBinding else { return Status.invalidState }
            return Status.notSupported
        case ConnParam.localInterface:
            guard length == 4, buffer != nil else { return Status.invalidParameter }
            return Status.notSupported
        case ConnParam.peerCertificateValid:
            guard length == 1, buffer != nil else { return Status.invalidParameter }
            return Status.notSupported
        case ConnParam.resumptionTicket:
            guard let buffer, length > 0 else { return Status.invalidParameter }
            guard !c.started, !c.isServer else { return Status.invalidState }
            let bytes = Array(UnsafeRawBufferPointer(start: buffer, count: Int(length)))
            guard (try? ClientSessionTicket(serialized: bytes)) != nil else { return Status.invalidParameter }
            c.ticketToResume = bytes
            return Status.success
        case ConnParam.tlsSecrets:
            guard let buffer, length == UInt32(MemoryLayout<QUIC_TLS_SECRETS>.size) else { return Status.invalidParameter }
            guard !c.started else { return Status.invalidState }
            c.tlsSecrets = UnsafeMutableRawPointer(mutating: buffer)
            return Status.success
        case ConnParam.tlsHandshakeInfo, ConnParam.tlsNegotiatedALPN:
            return Status.notSupported                     // MsQuic's TLS layer sets none (get-only)
        // MsQuic's private test parameters (include/msquicp.h).
        case ConnParam.forceKeyUpdate:
            // RFC 9001 §6: only once the handshake is confirmed and the previous update was
            // acknowledged (MsQuic: INVALID_STATE otherwise).
            guard let core = c.core, c.connected else { return Status.invalidState }
            do { try core.initiateKeyUpdate() } catch { return Status.invalidState }
            core.ping()                          // the new phase goes out now
            c.service()
            return Status.success
        case ConnParam.forceCIDUpdate:
            // RFC 9000 §5.1.2: move to another of the peer's CIDs (INVALID_STATE without one).
            guard let core = c.core, c.connected, core.switchPeerConnectionID() else { return Status.invalidState }
            core.ping()
            c.service()
            return Status.success
        case ConnParam.testTransportParameter:
            // QUIC_PRIVATE_TRANSPORT_PARAMETER: Type (uint32) 0, Length (uint16) 4, Buffer 8.
            guard let buffer, length == 16 else { return Status.invalidParameter }
            guard !c.started else { return Status.invalidState }
            let type = buffer.loadUnaligned(as: UInt32.self)
            let count = Int(buffer.loadUnaligned(fromByteOffset: 4, as: UInt16.self))
            let bytes = buffer.loadUnaligned(fromByteOffset: 8, as: UnsafeRawPointer?.self)
            guard count == 0 || bytes != nil else { return Status.invalidParameter }
            let value = bytes.map { Array(UnsafeRawBufferPointer(start: $0, count: count)) } ?? []
            c.testTransportParameter = RawTransportParameter(id: UInt64(type), value: value)
            return Status.success
        case ConnParam.disableVNETPGeneration:
            guard let buffer, length == 1 else { return Status.invalidParameter }
            guard !c.started else { return Status.invalidState }
            c.disableVersionInformation = buffer.load(as: UInt8.self) != 0
            return Status.success
        case ConnParam.keepAlivePadding:
            // Padding keep-alive packets (MsQuic uses it with NAT rebinding tests) is not
            // implemented: the engine's keep-alive PINGs are not padded.
            guard buffer != nil, length == 2 else { return Status.invalidParameter }
            return Status.notSupported
        case ConnParam.quicVersion, ConnParam.statistics,
             ConnParam.statisticsPlat, ConnParam.statisticsV2, ConnParam.statisticsV2Plat,
             ConnParam.localBidiStreamCount, ConnParam.localUnidiStreamCount, ConnParam.maxStreamIDs,
             ConnParam.datagramSendEnabled,
             ConnParam.idealProcessor, ConnParam.origDestCID:
            return Status.invalidParameter                 // read-only
        default:
            return ConnParam.isKnownConnectionParam(param) ? Status.notSupported : Status.invalidParameter
        }
    }

    /// QUIC_PARAM_CONN_MAX_STREAM_IDS: the largest stream ID of each type (client bidi,
    /// server bidi, client uni, server uni; RFC 9000 §2.1) the limits allow now, as
    /// (count << 2 | type) with the count of streams of that type allowed so far.
    private static func maxStreamIDs(_ c: ConnectionObject) -> [UInt64] {
        let settings = c.configuration?.connectionSettings(c.ownSettings) ?? Library.settings
        let local: EndpointRole = c.isServer ? .server : .client
        var out: [UInt64] = [0, 0, 0, 0]
        for type in 0..<4 {
            let initiator: EndpointRole = type & 1 == 0 ? .client : .server
            let bidirectional = type & 2 == 0
            let count: UInt64
            if initiator == local {
                count = c.core?.streams.openableStreams(bidirectional: bidirectional) ?? 0
            } else {
                count = settings[bidirectional ? .peerBidiStreamCount : .peerUnidiStreamCount]
            }
            out[type] = count << 2 | UInt64(type)
        }
        return out
    }

    /// QUIC_HANDSHAKE_INFO for a TLS 1.3 suite (RFC 8446 §B.4) and group.
    private static func handshakeInfo(suite: CipherSuite, group: NamedGroup?) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 36)
        func put(_ offset: Int, _ v: UInt32) { withUnsafeBytes(of: v) { for i in 0..<4 { out[offset + i] = $0[i] } } }
        put(0, 0x3000)                                   // QUIC_TLS_PROTOCOL_1_3
        switch suite {
        case .aes128GcmSha256: put(4, 0x660E); put(8, 128); put(12, 0x800C); put(16, 256)
        case .aes256GcmSha384: put(4, 0x6610); put(8, 256); put(12, 0x800D); put(16, 384)
        case .chacha20Poly1305Sha256: put(4, 0x6612); put(8, 256); put(12, 0x800C); put(16, 256)
        }
        put(20, 0)                                       // KeyExchangeAlgorithm: NONE (TLS 1.3)
        put(24, 0)
        put(28, UInt32(suite.rawValue))                  // CipherSuite
        put(32, UInt32(group?.rawValue ?? 0))            // TlsGroup
        return out
    }

    /// QUIC_STATISTICS_V2 from the engine's counters (QuicCore `ConnectionStatistics`).
    private static func statisticsV2(_ c: ConnectionObject) -> [UInt8] {
        var s = QUIC_STATISTICS_V2()
        s.CorrelationId = c.correlationID
        s.ResumptionAttempted = c.ticketToResume != nil ? 1 : 0
        s.ResumptionSucceeded = (c.core?.handshake.isResumed ?? false) ? 1 : 0
        if let st = c.core?.statistics {
            s.Rtt = UInt32(clamping: st.smoothedRTT)
            s.MinRtt = UInt32(clamping: st.minRTT)
            s.MaxRtt = UInt32(clamping: max(st.smoothedRTT, c.maxRTT))
            s.RttVariance = UInt32(clamping: st.rttVariance)
            s.SendPathMtu = UInt16(clamping: st.ipPathMTU)     // IP packet bytes, as MsQuic's Path->Mtu
            s.EcnCapable = st.ecnCapable ? 1 : 0
            s.SendEcnCongestionCount = UInt32(clamping: st.ecnCongestionEvents)
            s.SendTotalPackets = st.sentPackets
            s.SendTotalBytes = st.sentBytes
            s.SendSuspectedLostPackets = st.lostPackets
            s.SendCongestionCount = UInt32(clamping: st.congestionEvents)
            s.SendPersistentCongestionCount = UInt32(clamping: st.persistentCongestionEvents)
            s.SendCongestionWindow = UInt32(clamping: st.congestionWindow)
            s.RecvTotalPackets = st.receivedPackets
            s.RecvTotalBytes = st.receivedBytes
            s.RecvDroppedPackets = st.droppedPackets
            s.RecvDecryptionFailures = st.decryptionFailures
            s.KeyUpdateCount = UInt32(clamping: st.keyUpdates)
            s.StatelessRetry = st.statelessRetry ? 1 : 0
            s.VersionNegotiation = st.versionNegotiation ? 1 : 0
            s.TimingStart = st.timingStart
            s.TimingInitialFlightEnd = st.timingInitialFlightEnd
            s.TimingHandshakeFlightEnd = st.timingHandshakeFlightEnd
            s.HandshakeClientFlight1Bytes = st.handshakeClientFlight1Bytes
            s.HandshakeServerFlight1Bytes = st.handshakeServerFlight1Bytes
            s.HandshakeClientFlight2Bytes = st.handshakeClientFlight2Bytes
        }
        s.GreaseBitNegotiated = greaseNegotiated(c) ? 1 : 0
        s.SendTotalStreamBytes = c.streamBytesSent
        s.RecvTotalStreamBytes = c.streamBytesReceived
        return withUnsafeBytes(of: s) { Array($0) }
    }

    /// RFC 9287: both endpoints advertised grease_quic_bit.
    private static func greaseNegotiated(_ c: ConnectionObject) -> Bool {
        c.core?.greaseQuicBitNegotiated ?? false
    }

    private static func statisticsV1(_ c: ConnectionObject) -> [UInt8] {
        var s = QUIC_STATISTICS()
        s.CorrelationId = c.correlationID
        s.ResumptionAttempted = c.ticketToResume != nil ? 1 : 0
        s.ResumptionSucceeded = (c.core?.handshake.isResumed ?? false) ? 1 : 0
        if let st = c.core?.statistics {
            s.Rtt = UInt32(clamping: st.smoothedRTT)
            s.MinRtt = UInt32(clamping: st.minRTT)
            s.MaxRtt = UInt32(clamping: max(st.smoothedRTT, c.maxRTT))
            s.Send.PathMtu = UInt16(clamping: st.ipPathMTU)
            s.Send.TotalPackets = st.sentPackets
            s.Send.TotalBytes = st.sentBytes
            s.Send.SuspectedLostPackets = st.lostPackets
            s.Send.CongestionCount = UInt32(clamping: st.congestionEvents)
            s.Send.PersistentCongestionCount = UInt32(clamping: st.persistentCongestionEvents)
            s.Recv.TotalPackets = st.receivedPackets
            s.Recv.TotalBytes = st.receivedBytes
            s.Recv.DroppedPackets = st.droppedPackets
            s.Recv.DecryptionFailures = st.decryptionFailures
            s.Misc.KeyUpdateCount = UInt32(clamping: st.keyUpdates)
            s.StatelessRetry = st.statelessRetry ? 1 : 0
            s.VersionNegotiation = st.versionNegotiation ? 1 : 0
            s.Timing.Start = st.timingStart
            s.Timing.InitialFlightEnd = st.timingInitialFlightEnd
            s.Timing.HandshakeFlightEnd = st.timingHandshakeFlightEnd
            s.Handshake.ClientFlight1Bytes = st.handshakeClientFlight1Bytes
            s.Handshake.ServerFlight1Bytes = st.handshakeServerFlight1Bytes
            s.Handshake.ClientFlight2Bytes = st.handshakeClientFlight2Bytes
        }
        s.Send.TotalStreamBytes = c.streamBytesSent
        s.Recv.TotalStreamBytes = c.streamBytesReceived
        return withUnsafeBytes(of: s) { Array($0) }
    }

    // MARK: Stream

    private static func streamGetParam(_ s: StreamObject, _ param: UInt32, _ length: UnsafeMutablePointer<UInt32>,
                                       _ buffer: UnsafeMutableRawPointer?) -> QuicStatus {
        switch param {
        case ConnParam.streamID:
            // MsQuic (stream.c): the size protocol first, then INVALID_STATE before the stream
            // has an ID. A stream has one from StreamStart on, even before ConnectionStart or
            // while the peer's MAX_STREAMS holds it back (`reservedID`).
            if length.pointee < 8 { length.pointee = 8; return Status.bufferTooSmall }
            guard buffer != nil else { return Status.invalidParameter }
            guard let id = s.id ?? s.reservedID else { return Status.invalidState }
            return getFixed(bytes(of: id.rawValue), length, buffer)
        case ConnParam.stream0RTTLength:
            // Bytes sent before the handshake that the server accepted as 0-RTT (RFC 9001 §4.6).
            let accepted = s.connection.core?.handshake.isEarlyDataAccepted ?? false
            return getFixed(bytes(of: accepted ? s.earlyBytes : 0), length, buffer)
        case ConnParam.streamIdealSendBufferSize:
            // The value last indicated with IDEAL_SEND_BUFFER_SIZE (MsQuic's LastIdealSendBuffer).
            return getFixed(bytes(of: s.idealSendBufferSize), length, buffer)
        case ConnParam.streamPriority:
            return getFixed(bytes(of: s.priority), length, buffer)
        case ConnParam.streamStatistics:
            // MsQuic (stream.c): the size protocol, then INVALID_STATE before StreamStart.
            let size = UInt32(MemoryLayout<QUIC_STREAM_STATISTICS>.size)
            if length.pointee < size { length.pointee = size; return Status.bufferTooSmall }
            guard buffer != nil else { return Status.invalidParameter }
            guard s.statisticsStarted else { return Status.invalidState }
            let st = s.statistics(now: Runtime.now)
            return getFixed(withUnsafeBytes(of: st) { Array($0) }, length, buffer)
        case ConnParam.streamReliableOffsetRecv:
            // Private (msquicp.h): the Reliable Size of the peer's RESET_STREAM_AT
            // (draft-ietf-quic-reliable-stream-reset); INVALID_STATE when none arrived.
            if length.pointee < 8 { length.pointee = 8; return Status.bufferTooSmall }
            guard buffer != nil else { return Status.invalidParameter }
            guard let id = s.id, let v = s.peerReliableSize ?? s.connection.core?.streams.peerReliableSize(id) else {
                return Status.invalidState
            }
            return getFixed(bytes(of: v), length, buffer)
        case ConnParam.streamReliableOffset:
            // QUIC_PARAM_STREAM_RELIABLE_OFFSET: the offset set for a reliable reset;
            // INVALID_STATE while none is set.
            if length.pointee < 8 { length.pointee = 8; return Status.bufferTooSmall }
            guard buffer != nil else { return Status.invalidParameter }
            guard let id = s.id, let v = s.connection.core?.streams.reliableOffset(id), v > 0 else {
                return Status.invalidState
            }
            return getFixed(bytes(of: v), length, buffer)
        default:
            return (0x0800_0000...0x0800_0005).contains(param) ? Status.notSupported : Status.invalidParameter
        }
    }

    private static func streamSetParam(_ s: StreamObject, _ param: UInt32, _ length: UInt32,
                                       _ buffer: UnsafeRawPointer?) -> QuicStatus {
        switch param {
        case ConnParam.streamPriority:
            guard let buffer, length == 2 else { return Status.invalidParameter }
            let p = buffer.loadUnaligned(as: UInt16.self)
            s.priority = p
            guard let id = s.id, let core = s.connection.core else { return Status.success }
            do { try core.streams.setPriority(id, p) } catch { return error.status }
            return Status.success
        case ConnParam.streamReliableOffset:
            // draft-ietf-quic-reliable-stream-reset: the bytes an ABORT_SEND shutdown still
            // delivers. INVALID_STATE unless reliable reset was negotiated (or before the stream
            // has an ID); INVALID_PARAMETER beyond the data queued.
            guard let buffer, length == 8 else { return Status.invalidParameter }
            let offset = buffer.loadUnaligned(as: UInt64.self)
            guard let id = s.id, let core = s.connection.core else { return Status.invalidState }
            do { try core.streams.setReliableOffset(id, offset) } catch { return error.status }
            return Status.success
        case ConnParam.streamID, ConnParam.stream0RTTLength, ConnParam.streamIdealSendBufferSize,
             ConnParam.streamStatistics, ConnParam.streamReliableOffsetRecv:
            return Status.invalidParameter
        default:
            return (0x0800_0000...0x0800_0005).contains(param) ? Status.notSupported : Status.invalidParameter
        }
    }
}
