// QUIC_PARAM_GLOBAL_*: GetParam/SetParam with a NULL handle. Each parameter follows the
// get/set rules of MsQuic 2.6 (src/core/library.c, docs/Settings.md): the getters use the
// size protocol (a too small *BufferLength gets the needed length and BUFFER_TOO_SMALL, a NULL
// buffer of sufficient length is INVALID_PARAMETER), get-only parameters refuse SetParam and
// set-only ones refuse GetParam with INVALID_PARAMETER, unknown parameters are
// INVALID_PARAMETER.

import CMsQuic
import CSwiftQuicVersion
import Glibc
import QuicPlatform

/// QUIC versions this library speaks.
enum Versions {
    static let version1: UInt32 = 0x0000_0001            // RFC 9000 §15
    static let version2: UInt32 = 0x6B33_43CF            // RFC 9369 §3.1
    static let supported = [version1, version2]
    static func isSupported(_ version: UInt32) -> Bool { supported.contains(version) }
    /// Versions MsQuic 2.6 also accepts in QUIC_VERSION_SETTINGS (QuicIsVersionSupported):
    /// draft-29 and Microsoft's private MS-1. We do not speak them (draft-29 has its own
    /// Initial salt, Retry key and transport parameter codepoint; MS-1 is MsQuic's own): the
    /// settings take them as MsQuic does, and the engine leaves them out of every version list
    /// it uses on the wire (a client whose first FullyDeployedVersion is one of them cannot
    /// start: QUIC_STATUS_NOT_SUPPORTED).
    static let draft29: UInt32 = 0xFF00_001D
    static let ms1: UInt32 = 0xABCD_0000
    static func isSettable(_ version: UInt32) -> Bool { isSupported(version) || version == draft29 || version == ms1 }
}

/// The API version we implement (QUIC_PARAM_GLOBAL_LIBRARY_VERSION): MsQuic 2.6.0.
let libraryVersion: [UInt32] = [2, 6, 0, 0]

extension Api {
    /// Copies `bytes` out with the size protocol of a fixed-size getter.
    static func getFixed(_ bytes: [UInt8], _ length: UnsafeMutablePointer<UInt32>,
                         _ buffer: UnsafeMutableRawPointer?) -> QuicStatus {
        if Int(length.pointee) < bytes.count {
            length.pointee = UInt32(bytes.count)
            return Status.bufferTooSmall
        }
        guard let buffer else { return Status.invalidParameter }
        length.pointee = UInt32(bytes.count)
        bytes.withUnsafeBytes { source in
            if let base = source.baseAddress { buffer.copyMemory(from: base, byteCount: source.count) }
        }
        return Status.success
    }

    static func bytes<T>(of value: T) -> [UInt8] { withUnsafeBytes(of: value) { Array($0) } }
    static func bytes<T>(ofArray values: [T]) -> [UInt8] { values.withUnsafeBytes { Array($0) } }

    static func globalGetParam(_ param: UInt32, _ length: UnsafeMutablePointer<UInt32>,
                               _ buffer: UnsafeMutableRawPointer?) -> QuicStatus {
        switch param {
        case Param.globalRetryMemoryPercent:
            return getFixed(bytes(of: Library.settings.global.retryMemoryLimit), length, buffer)

        case Param.globalSupportedVersions:
            // Reported in network byte order, as MsQuic does.
            return getFixed(bytes(ofArray: Versions.supported.map { $0.bigEndian }), length, buffer)

        case Param.globalLoadBalancingMode:
            return getFixed(bytes(of: Library.settings.global.loadBalancingMode), length, buffer)

        case Param.globalPerfCounters:
            // As many whole counters as fit (MsQuic fills a shorter buffer's whole counters).
            let full = 8 * Limits.perfCounterMax
            if length.pointee < 8 {
                length.pointee = UInt32(full)
                return Status.bufferTooSmall
            }
            guard let buffer else { return Status.invalidParameter }
            let count = min(Int(length.pointee) / 8, Limits.perfCounterMax)
            let counters = PerfCounters.snapshot()
            for i in 0..<count { buffer.storeBytes(of: counters[i], toByteOffset: 8 * i, as: UInt64.self) }
            length.pointee = UInt32(8 * count)
            return Status.success

        case Param.globalLibraryVersion:
            return getFixed(bytes(ofArray: libraryVersion), length, buffer)

        case Param.globalSettings:
            return SettingsCodec.encodeSettings(Library.settings, length: length, buffer: buffer)

        case Param.globalGlobalSettings:
            return SettingsCodec.encodeGlobalSettings(Library.settings, length: length, buffer: buffer)

        case Param.globalVersionSettings:
            return SettingsCodec.encodeVersionSettings(Library.settings, length: length, buffer: buffer)

        case Param.globalLibraryGitHash:
            // NUL-terminated, length including the NUL.
            let hash = Array(String(cString: swiftquic_git_hash()).utf8) + [0]
            return getFixed(hash, length, buffer)

        case Param.globalExecutionConfig:
            guard let config = Library.state.withLock({ $0.executionConfig }) else {
                length.pointee = 0
                return Status.success
            }
            return getFixed(config, length, buffer)

        case Param.globalTLSProvider:
            // The handshake is our own TLS 1.3 over libcrypto: the OpenSSL family.
            return getFixed(bytes(of: QUIC_TLS_PROVIDER_OPENSSL.rawValue), length, buffer)

        case Param.globalStatisticsV2Sizes:
            let sizes = statisticsV2Sizes
            let fit = Int(length.pointee) / 4
            if fit == 0 {
                length.pointee = UInt32(4 * sizes.count)
                return Status.bufferTooSmall
            }
            guard let buffer else { return Status.invalidParameter }
            let count = min(fit, sizes.count)
            for i in 0..<count { buffer.storeBytes(of: sizes[i], toByteOffset: 4 * i, as: UInt32.self) }
            length.pointee = UInt32(4 * count)
            return Status.success

        case Param.globalXdpMapConfig:
            return Status.notSupported                  // no XDP datapath

        // Private test parameters (include/msquicp.h).
        case Param.globalTestDatapathHooks, Param.globalAllocFailDenominator, Param.globalAllocFailCycle,
             Param.globalPlatformWorkerPool:
            // MsQuic's datapath hook structs, allocation-failure injection and platform worker
            // pool have no counterpart here.
            return Status.notSupported
        case Param.globalVersionNegotiationEnabled:
            return getFixed([Library.state.withLock { $0.versionNegotiationExtEnabled } ? 1 : 0], length, buffer)
        case Param.globalDatapathDscpRecvEnabled:
            return getFixed([Library.state.withLock { $0.dscpRecvEnabled } ? 1 : 0], length, buffer)
        case Param.globalInUse:
            return getFixed([Library.state.withLock { $0.bindingsInUse } ? 1 : 0], length, buffer)
        case Param.globalDatapathFeatures:
            if length.pointee < 4 { length.pointee = 4; return Status.bufferTooSmall }
            guard buffer != nil else { return Status.invalidParameter }
            // MsQuic: INVALID_STATE before its datapath exists.
            guard let f = Library.state.withLock({ $0.datapathFeatures }) else { return Status.invalidState }
            return getFixed(bytes(of: f), length, buffer)

        case Param.globalStatelessResetKey, Param.globalStatelessRetryConfig:
            return Status.invalidParameter              // set-only (secrets are not read back)

        default:
            return Status.invalidParameter
        }
    }

    static func globalSetParam(_ param: UInt32, _ length: UInt32, _ buffer: UnsafeRawPointer?) -> QuicStatus {
        switch param {
        case Param.globalRetryMemoryPercent:
            guard length == 2, let buffer else { return Status.invalidParameter }
            let value = buffer.loadUnaligned(as: UInt16.self)
            Library.state.withLock { s in
                s.settings.global.retryMemoryLimit = value
                s.settings.global.isSet |= GlobalOnlySettings.retryMemoryLimitBit
            }
            HandshakeBudget.setRetryMemoryLimit(value)   // applies at once, as in MsQuic
            return Status.success

        case Param.globalLoadBalancingMode:
            guard length == 2, let buffer else { return Status.invalidParameter }
            let mode = buffer.loadUnaligned(as: UInt16.self)
            guard mode <= 1 else { return Status.invalidParameter }   // up to SERVER_ID_IP
            return Library.state.withLock { s in
                // Connection IDs already issued encode the mode; it is fixed once in use.
                if s.bindingsInUse && s.settings.global.loadBalancingMode != mode { return Status.invalidState }
                s.settings.global.loadBalancingMode = mode
                s.settings.global.isSet |= GlobalOnlySettings.loadBalancingModeBit
                return Status.success
            }

        case Param.globalSettings:
            guard let buffer else { return Status.invalidParameter }
            guard let decoded = SettingsCodec.decodeSettings(buffer, size: length) else {
                return Status.invalidParameter
            }
            return applyGlobal(decoded)

        case Param.globalGlobalSettings:
            guard let buffer else { return Status.invalidParameter }
            guard let decoded = SettingsCodec.decodeGlobalSettings(buffer, size: length) else {
                return Status.invalidParameter
            }
            return applyGlobal(decoded)

        case Param.globalVersionSettings:
            guard let buffer else { return Status.invalidParameter }
            let (status, decoded) = SettingsCodec.decodeVersionSettings(buffer, size: length,
                                                                        isSupported: Versions.isSettable)
            guard status == Status.success, let decoded else { return status }
            return applyGlobal(decoded)

        case Param.globalExecutionConfig:
            return setExecutionConfig(length, buffer)

        case Param.globalStatelessResetKey:
            // RFC 9000 §10.3: the key behind stateless reset tokens.
            let initialized = Library.state.withLock { $0.lazyInitComplete }
            guard initialized else { return Status.invalidState }
            guard Int(length) == Limits.statelessResetKeyLength, let buffer else {
                return Status.invalidParameter
            }
            let key = Array(UnsafeRawBufferPointer(start: buffer, count: Int(length)))
            Library.state.withLock { $0.statelessResetKey = key }
            // Running listeners take it too (MsQuic re-keys every partition at once).
            Binding.resetKeyGeneration.add(1, ordering: .releasing)
            return Status.success

        case Param.globalStatelessRetryConfig:
            return setRetryConfig(length, buffer)

        case Param.globalXdpMapConfig:
            // An array of QUIC_XDP_MAP_CONFIG (8 bytes each).
            guard let buffer, length > 0, length % 8 == 0 else { return Status.invalidParameter }
            _ = buffer
            return Status.notSupported                  // no XDP datapath

        // Private test parameters (include/msquicp.h).
        case Param.globalTestDatapathHooks, Param.globalAllocFailDenominator, Param.globalAllocFailCycle,
             Param.globalPlatformWorkerPool:
            return Status.notSupported              // see include/msquicp.h
        case Param.globalVersionNegotiationEnabled:
            guard length == 1, let buffer else { return Status.invalidParameter }
            let on = buffer.load(as: UInt8.self) != 0
            Library.state.withLock { $0.versionNegotiationExtEnabled = on }
            return Status.success

        case Param.globalDatapathDscpRecvEnabled:
            // MsQuic takes it only before its datapath starts (the first registration).
            // Our sockets always ask for the TOS byte (IP_RECVTOS), so the DSCP of received
            // datagrams is available either way; the flag is recorded.
            guard length == 1, let buffer else { return Status.invalidParameter }
            let on = buffer.load(as: UInt8.self) != 0
            return Library.state.withLock { s in
                if s.lazyInitComplete { return Status.invalidState }
                s.dscpRecvEnabled = on
                return Status.success
            }

        case Param.globalInUse, Param.globalDatapathFeatures:
            return Status.invalidParameter              // get-only

        case Param.globalSupportedVersions, Param.globalPerfCounters, Param.globalLibraryVersion,
             Param.globalLibraryGitHash, Param.globalTLSProvider, Param.globalStatisticsV2Sizes:
            return Status.invalidParameter              // get-only

        default:
            return Status.invalidParameter
        }
    }

    private static func applyGlobal(_ source: Settings) -> QuicStatus {
        let (status, retryLimit) = Library.state.withLock { s -> (QuicStatus, UInt16) in
            // The load balancing mode is fixed once connection IDs have been issued.
            if s.bindingsInUse, source.global.isSet & GlobalOnlySettings.loadBalancingModeBit != 0,
               source.global.loadBalancingMode != s.settings.global.loadBalancingMode {
                return (Status.invalidState, s.settings.global.retryMemoryLimit)
            }
            let ok = s.settings.apply(source)
            return (ok ? Status.success : Status.invalidParameter, s.settings.global.retryMemoryLimit)
        }
        HandshakeBudget.setRetryMemoryLimit(retryLimit)
        return status
    }

    /// QUIC_GLOBAL_EXECUTION_CONFIG: Flags 0, PollingIdleTimeoutUs 4, ProcessorCount 8,
    /// ProcessorList (uint16_t[ProcessorCount]) 12. An empty buffer clears it.
    private static func setExecutionConfig(_ length: UInt32, _ buffer: UnsafeRawPointer?) -> QuicStatus {
        if length == 0 {
            Library.state.withLock { $0.executionConfig = nil }
            return Status.success
        }
        guard let buffer, Int(length) >= Limits.globalExecutionConfigMinSize else {
            return Status.invalidParameter
        }
        let count = Int(buffer.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
        guard Int(length) >= Limits.globalExecutionConfigMinSize + 2 * count else {
            return Status.invalidParameter
        }
        let processors = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_CONF))))
        for i in 0..<count where Int(buffer.loadUnaligned(fromByteOffset: 12 + 2 * i, as: UInt16.self)) >= processors {
            return Status.invalidParameter
        }
        let used = Limits.globalExecutionConfigMinSize + 2 * count
        let config = Array(UnsafeRawBufferPointer(start: buffer, count: used))
        let pollingIdleTimeoutUs = buffer.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
        return Library.state.withLock { s in
            guard s.lazyInitComplete else {
                s.executionConfig = config
                return Status.success
            }
            // Workers exist (a registration was opened): as in MsQuic, only the polling idle
            // timeout of a configuration set before that can still change; there is nothing
            // to update without one (docs/Settings.md: "Must be set before opening registration").
            guard var current = s.executionConfig else { return Status.invalidState }
            current.withUnsafeMutableBytes {
                $0.storeBytes(of: pollingIdleTimeoutUs, toByteOffset: 4, as: UInt32.self)
            }
            s.executionConfig = current
            return Status.success
        }
    }

    /// QUIC_STATELESS_RETRY_CONFIG: Algorithm 0, RotationMs 4, SecretLength 8, Secret 16
    /// (docs/api/QUIC_STATELESS_RETRY_CONFIG.md): AES-128-GCM takes a 16-byte secret,
    /// AES-256-GCM a 32-byte one; the rotation interval must not be zero.
    private static func setRetryConfig(_ length: UInt32, _ buffer: UnsafeRawPointer?) -> QuicStatus {
        guard let buffer, length == 24 else { return Status.invalidParameter }
        let algorithm = buffer.loadUnaligned(as: UInt32.self)
        let rotation = buffer.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
        let secretLength = Int(buffer.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
        let keyLength: Int
        switch algorithm {
        case QUIC_AEAD_ALGORITHM_AES_128_GCM.rawValue: keyLength = 16
        case QUIC_AEAD_ALGORITHM_AES_256_GCM.rawValue: keyLength = 32
        default: return Status.invalidParameter
        }
        guard rotation != 0, secretLength == keyLength,
              let secret = buffer.loadUnaligned(fromByteOffset: 16, as: UnsafePointer<UInt8>?.self) else {
            return Status.invalidParameter
        }
        let config = RetryConfig(algorithm: algorithm, rotationMs: rotation,
                                 secret: Array(UnsafeBufferPointer(start: secret, count: secretLength)))
        Library.state.withLock { $0.retryConfig = config }
        return Status.success
    }

    /// QUIC_STATISTICS_V2_SIZE_1...5: the struct through each version's last field.
    static var statisticsV2Sizes: [UInt32] {
        func through<T>(_ path: KeyPath<QUIC_STATISTICS_V2, T>) -> UInt32 {
            UInt32((MemoryLayout<QUIC_STATISTICS_V2>.offset(of: path) ?? 0) + MemoryLayout<T>.size)
        }
        return [through(\.KeyUpdateCount), through(\.DestCidUpdateCount),
                through(\.SendEcnCongestionCount), through(\.RttVariance),
                through(\.ReceiveQueueDelayMaxUs)]
    }
}

/// QUIC_PARAM_GLOBAL_PERF_COUNTERS (MsQuic's QUIC_PERFORMANCE_COUNTERS, in its order), kept in
/// process-wide atomics (QuicPlatform `ProcessCounters`). Counted: connections (created,
/// active, connected, resumed, handshake failures, refused by the application, protocol
/// errors, no ALPN), active streams, suspected-lost / dropped / undecryptable packets, UDP
/// datagrams and bytes each way with receive events, application bytes each way. Not tracked,
/// so always 0: the queue depths and operation counts of MsQuic's workers, path validations,
/// stateless resets and retries sent, load rejections, the listen queue and the
/// encrypt/decrypt durations.
enum PerfCounters {
    static let connCreated = 0, connHandshakeFail = 1, connAppReject = 2, connResumed = 3
    static let connActive = 4, connConnected = 5, connProtocolErrors = 6, connNoALPN = 7
    static let streamActive = 8, packetsSuspectedLost = 9, packetsDropped = 10, packetsDecryptionFail = 11
    static let udpReceive = 12, udpSend = 13, udpReceiveBytes = 14, udpSendBytes = 15
    static let udpReceiveEvents = 16, udpSendCalls = 17, appSendBytes = 18, appReceiveBytes = 19

    @inline(__always) static func add(_ counter: Int, _ delta: Int64 = 1) { ProcessCounters.add(counter, delta) }

    static func snapshot() -> [UInt64] { (0..<Limits.perfCounterMax).map { ProcessCounters.value($0) } }
}
