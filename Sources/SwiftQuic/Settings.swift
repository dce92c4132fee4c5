// The settings model behind QUIC_SETTINGS / QUIC_GLOBAL_SETTINGS / QUIC_VERSION_SETTINGS.
//
// One `Settings` value exists for the library (the global defaults) and one per configuration.
// Every field has a value and an "is set" bit. Unset fields of a configuration take the
// library's value (MsQuic's QuicSettingsCopy); set fields win. Values are checked as MsQuic's
// settings code checks them (QuicSettingApply), except that a rejected batch changes nothing
// here, where MsQuic may keep the fields it applied before the bad one.

/// Fields of QUIC_SETTINGS. The raw value is the field's bit in QUIC_SETTINGS.IsSet.
enum SettingField: Int, CaseIterable {
    case maxBytesPerKey = 0, handshakeIdleTimeoutMs, idleTimeoutMs,
         mtuDiscoverySearchCompleteTimeoutUs, tlsClientMaxSendBuffer, tlsServerMaxSendBuffer,
         streamRecvWindowDefault, streamRecvBufferDefault, connFlowControlWindow,
         maxWorkerQueueDelayUs, maxStatelessOperations, initialWindowPackets, sendIdleTimeoutMs,
         initialRttMs, maxAckDelayMs, disconnectTimeoutMs, keepAliveIntervalMs,
         congestionControlAlgorithm, peerBidiStreamCount, peerUnidiStreamCount,
         maxBindingStatelessOperations, statelessOperationExpirationMs, minimumMtu, maximumMtu,
         sendBufferingEnabled, pacingEnabled, migrationEnabled, datagramReceiveEnabled,
         serverResumptionLevel, maxOperationsPerDrain, mtuDiscoveryMissingProbeCount,
         destCidUpdateIdleTimeoutMs, greaseQuicBitEnabled, ecnEnabled, hyStartEnabled,
         streamRecvWindowBidiLocalDefault, streamRecvWindowBidiRemoteDefault,
         streamRecvWindowUnidiDefault, encryptionOffloadAllowed, reliableResetEnabled,
         oneWayDelayEnabled, netStatsEventEnabled, streamMultiReceiveEnabled, xdpEnabled,
         qtipEnabled, reservedRioEnabled

    var bit: UInt64 { 1 << UInt64(rawValue) }

    /// MsQuic's default for the field (docs/Settings.md, src/core/quicdef.h).
    var defaultValue: UInt64 {
        switch self {
        case .maxBytesPerKey: return SettingLimits.maxBytesPerKey        // 2^38
        case .handshakeIdleTimeoutMs: return 10_000
        case .idleTimeoutMs: return 30_000
        case .mtuDiscoverySearchCompleteTimeoutUs: return 600_000_000
        case .tlsClientMaxSendBuffer: return 4096
        case .tlsServerMaxSendBuffer: return 8192
        case .streamRecvWindowDefault, .streamRecvWindowBidiLocalDefault,
             .streamRecvWindowBidiRemoteDefault, .streamRecvWindowUnidiDefault: return 65_536
        case .streamRecvBufferDefault: return SettingLimits.minStreamRecvBuffer
        case .connFlowControlWindow: return 16_777_216
        case .maxWorkerQueueDelayUs: return 250_000                       // 250 ms
        case .maxStatelessOperations: return 16
        case .initialWindowPackets: return 10
        case .sendIdleTimeoutMs: return 1000
        case .initialRttMs: return 333                                    // RFC 9002 §6.2.2
        case .maxAckDelayMs: return 25                                    // RFC 9000 §18.2
        case .disconnectTimeoutMs: return 16_000
        case .keepAliveIntervalMs: return 0
        case .congestionControlAlgorithm: return 0                        // CUBIC
        case .peerBidiStreamCount, .peerUnidiStreamCount: return 0
        case .maxBindingStatelessOperations: return 100
        case .statelessOperationExpirationMs: return 100
        case .minimumMtu: return 1288
        case .maximumMtu: return 1500
        case .sendBufferingEnabled, .pacingEnabled, .migrationEnabled: return 1
        case .datagramReceiveEnabled, .greaseQuicBitEnabled, .ecnEnabled, .hyStartEnabled,
             .encryptionOffloadAllowed, .reliableResetEnabled, .oneWayDelayEnabled,
             .netStatsEventEnabled, .streamMultiReceiveEnabled, .xdpEnabled, .qtipEnabled,
             .reservedRioEnabled: return 0
        case .serverResumptionLevel: return 0                             // QUIC_SERVER_NO_RESUME
        case .maxOperationsPerDrain: return 16
        case .mtuDiscoveryMissingProbeCount: return 3
        case .destCidUpdateIdleTimeoutMs: return 20_000
        }
    }
}

enum SettingLimits {
    static let varIntMax: UInt64 = (1 << 62) - 1          // RFC 9000 §16
    static let maxAckDelayMax: UInt64 = (1 << 14) - 1     // RFC 9000 §18.2 max_ack_delay < 2^14
    static let maxDisconnectTimeoutMs: UInt64 = 600_000   // MsQuic QUIC_MAX_DISCONNECT_TIMEOUT
    static let maxBytesPerKey: UInt64 = 0x40_0000_0000    // MsQuic QUIC_DEFAULT_MAX_BYTES_PER_KEY
    static let minStreamRecvBuffer: UInt64 = 4096         // QUIC_DEFAULT_STREAM_RECV_BUFFER_SIZE
    static let minMtu: UInt64 = 1248                      // QUIC_DPLPMTUD_MIN_MTU (1200 + 48)
    static let maxMtu: UInt64 = 1500                      // CXPLAT_MAX_MTU
    static let serverResumeAndZeroRtt: UInt64 = 2         // QUIC_SERVER_RESUME_AND_ZERORTT
    static let congestionControlMax: UInt64 = 2           // QUIC_CONGESTION_CONTROL_ALGORITHM_MAX
    static let loadBalancingCount: UInt64 = 3             // QUIC_LOAD_BALANCING_COUNT
}

/// QUIC_VERSION_SETTINGS content, versions as the application gave them (host order).
struct VersionSettings: Equatable {
    var acceptable: [UInt32]
    var offered: [UInt32]
    var fullyDeployed: [UInt32]
}

/// Global-only settings (QUIC_GLOBAL_SETTINGS).
struct GlobalOnlySettings: Equatable {
    static let retryMemoryLimitBit: UInt64 = 1 << 0
    static let loadBalancingModeBit: UInt64 = 1 << 1
    static let fixedServerIdBit: UInt64 = 1 << 2

    var isSet: UInt64 = 0
    var retryMemoryLimit: UInt16 = 65                     // ~0.1%, N/65535 (docs/Settings.md)
    var loadBalancingMode: UInt16 = 0                     // QUIC_LOAD_BALANCING_DISABLED
    var fixedServerID: UInt32 = 0
}

struct Settings: Equatable {
    /// Bits of QUIC_SETTINGS.IsSet.
    var isSet: UInt64 = 0
    private var values: [UInt64] = SettingField.allCases.map(\.defaultValue)
    var global = GlobalOnlySettings()
    /// Version settings and whether they were set (nil + set means "set to empty lists").
    var versions: VersionSettings? = nil
    var versionsSet = false

    /// Settings with every field at MsQuic's default and nothing marked set.
    static var defaults: Settings { Settings() }

    subscript(field: SettingField) -> UInt64 {
        get { values[field.rawValue] }
        set { values[field.rawValue] = newValue }
    }

    func isSet(_ field: SettingField) -> Bool { isSet & field.bit != 0 }

    /// MsQuic's QuicSettingApply with OverWrite = TRUE (and MTU/ECN changes allowed): every
    /// field set in `source` is checked, then copied and marked set. Returns false (and changes
    /// nothing) if a value is out of range.
    mutating func apply(_ source: Settings) -> Bool {
        guard source.valuesAreValid() else { return false }
        var next = self
        for field in SettingField.allCases where source.isSet(field) {
            switch field {
            case .minimumMtu, .maximumMtu:
                continue                                  // below, as a pair
            default:
                next[field] = source[field]
                next.isSet |= field.bit
            }
            if field == .streamRecvWindowDefault {
                // The general window also becomes each stream type's window; a more specific
                // setting in the same batch overrides it (its bit is higher, so it is copied later).
                next[.streamRecvWindowBidiLocalDefault] = source[field]
                next[.streamRecvWindowBidiRemoteDefault] = source[field]
                next[.streamRecvWindowUnidiDefault] = source[field]
            }
        }
        if source.isSet(.minimumMtu) || source.isSet(.maximumMtu) {
            // Clamp each to [QUIC_DPLPMTUD_MIN_MTU, CXPLAT_MAX_MTU]; the pair must stay ordered.
            var minMtu = isSet(.minimumMtu) ? self[.minimumMtu] : SettingLimits.minMtu
            var maxMtu = isSet(.maximumMtu) ? self[.maximumMtu] : SettingLimits.maxMtu
            if source.isSet(.minimumMtu) { minMtu = Settings.clampMtu(source[.minimumMtu]) }
            if source.isSet(.maximumMtu) { maxMtu = Settings.clampMtu(source[.maximumMtu]) }
            guard minMtu <= maxMtu else { return false }
            next[.minimumMtu] = minMtu
            next[.maximumMtu] = maxMtu
            next.isSet |= source.isSet & (SettingField.minimumMtu.bit | SettingField.maximumMtu.bit)
        }
        if source.global.isSet != 0 {
            if source.global.isSet & GlobalOnlySettings.retryMemoryLimitBit != 0 {
                next.global.retryMemoryLimit = source.global.retryMemoryLimit
            }
            if source.global.isSet & GlobalOnlySettings.loadBalancingModeBit != 0 {
                next.global.loadBalancingMode = source.global.loadBalancingMode
            }
            if source.global.isSet & GlobalOnlySettings.fixedServerIdBit != 0 {
                next.global.fixedServerID = source.global.fixedServerID
            }
            next.global.isSet |= source.global.isSet
        }
        if source.versionsSet {
            next.versions = source.versions
            next.versionsSet = true
        }
        self = next
        return true
    }

    /// The range checks of QuicSettingApply, for the fields `self` marks set.
    func valuesAreValid() -> Bool {
        func bad(_ field: SettingField, _ invalid: (UInt64) -> Bool) -> Bool {
            isSet(field) && invalid(self[field])
        }
        func notPowerOfTwo(_ v: UInt64) -> Bool { v == 0 || v & (v - 1) != 0 }
        if bad(.initialRttMs, { $0 == 0 }) { return false }
        if bad(.maxOperationsPerDrain, { $0 == 0 }) { return false }   // a drain must make progress
        if bad(.maxAckDelayMs, { $0 > SettingLimits.maxAckDelayMax }) { return false }
        if bad(.disconnectTimeoutMs, { $0 == 0 || $0 > SettingLimits.maxDisconnectTimeoutMs }) { return false }
        // RFC 9000 §18.2: max_idle_timeout is a varint.
        if bad(.idleTimeoutMs, { $0 > SettingLimits.varIntMax }) { return false }
        if bad(.handshakeIdleTimeoutMs, { $0 > SettingLimits.varIntMax }) { return false }
        for window in [SettingField.streamRecvWindowDefault, .streamRecvWindowBidiLocalDefault,
                       .streamRecvWindowBidiRemoteDefault, .streamRecvWindowUnidiDefault]
        where bad(window, notPowerOfTwo) { return false }
        if bad(.streamRecvBufferDefault, { $0 < SettingLimits.minStreamRecvBuffer }) { return false }
        if bad(.maxBytesPerKey, { $0 > SettingLimits.maxBytesPerKey }) { return false }
        if bad(.serverResumptionLevel, { $0 > SettingLimits.serverResumeAndZeroRtt }) { return false }
        // MsQuic only falls back to CUBIC for an unknown algorithm; we refuse it up front.
        if bad(.congestionControlAlgorithm, { $0 >= SettingLimits.congestionControlMax }) { return false }
        if global.isSet & GlobalOnlySettings.loadBalancingModeBit != 0,
           UInt64(global.loadBalancingMode) >= SettingLimits.loadBalancingCount { return false }
        return true
    }

    private static func clampMtu(_ value: UInt64) -> UInt64 {
        min(max(value, SettingLimits.minMtu), SettingLimits.maxMtu)
    }

    /// MsQuic's QuicSettingsCopy: every field not set here takes `parent`'s value (the
    /// configuration inheriting the library's settings). Set marks are not copied.
    mutating func inheritUnset(from parent: Settings) {
        for field in SettingField.allCases where !isSet(field) {
            switch field {
            case .minimumMtu, .maximumMtu:
                continue
            case .streamRecvWindowBidiLocalDefault, .streamRecvWindowBidiRemoteDefault,
                 .streamRecvWindowUnidiDefault where isSet(.streamRecvWindowDefault):
                // Our general window is the default of each stream type's window.
                self[field] = self[.streamRecvWindowDefault]
            default:
                self[field] = parent[field]
            }
        }
        switch (isSet(.minimumMtu), isSet(.maximumMtu)) {
        case (false, false):
            self[.minimumMtu] = parent[.minimumMtu]
            self[.maximumMtu] = parent[.maximumMtu]
        case (true, false):
            if parent[.maximumMtu] > self[.minimumMtu] { self[.maximumMtu] = parent[.maximumMtu] }
        case (false, true):
            if parent[.minimumMtu] < self[.maximumMtu] { self[.minimumMtu] = parent[.minimumMtu] }
        case (true, true):
            break
        }
        if global.isSet & GlobalOnlySettings.retryMemoryLimitBit == 0 {
            global.retryMemoryLimit = parent.global.retryMemoryLimit
        }
        if global.isSet & GlobalOnlySettings.loadBalancingModeBit == 0 {
            global.loadBalancingMode = parent.global.loadBalancingMode
        }
        if global.isSet & GlobalOnlySettings.fixedServerIdBit == 0 {
            global.fixedServerID = parent.global.fixedServerID
        }
        if !versionsSet { versions = parent.versions }
    }
}
