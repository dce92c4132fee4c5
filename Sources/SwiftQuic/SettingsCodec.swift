// Reading and writing the C settings structs (QUIC_SETTINGS, QUIC_GLOBAL_SETTINGS,
// QUIC_VERSION_SETTINGS) at the byte offsets of the MsQuic 2.6.0 ABI, honouring the size the
// application passes: an older, shorter QUIC_SETTINGS is accepted as long as it reaches
// MtuDiscoveryMissingProbeCount (MsQuic's minimum), and the fields past its end are neither
// read nor written. Offsets are the ABI facts checked by ../shared/abi/abi-check; the tests
// compare this codec with the header's own struct.

/// Where a QUIC_SETTINGS field lives.
enum SettingLocation {
    /// A plain little-endian integer field.
    case bytes(offset: Int, size: Int)
    /// A bit-field: first bit (from the struct start, LSB-first), width, and the end of the
    /// storage unit that holds it (the struct must reach that far for the field to exist).
    case bits(bit: Int, width: Int, unitEnd: Int)
}

enum SettingsCodec {
    static let settingsSize = 144                 // sizeof(QUIC_SETTINGS)
    /// MsQuic's minimum: SETTINGS_SIZE_THRU_FIELD(QUIC_SETTINGS, MtuDiscoveryMissingProbeCount).
    static let settingsMinimumSize = 109
    static let globalSettingsSize = 16            // sizeof(QUIC_GLOBAL_SETTINGS)
    /// SETTINGS_SIZE_THRU_FIELD(QUIC_GLOBAL_SETTINGS, LoadBalancingMode).
    static let globalSettingsMinimumSize = 12
    static let versionSettingsSize = 40           // sizeof(QUIC_VERSION_SETTINGS)
    static let maxVersionsPerList = 1024

    static func location(_ field: SettingField) -> SettingLocation {
        switch field {
        case .maxBytesPerKey: return .bytes(offset: 8, size: 8)
        case .handshakeIdleTimeoutMs: return .bytes(offset: 16, size: 8)
        case .idleTimeoutMs: return .bytes(offset: 24, size: 8)
        case .mtuDiscoverySearchCompleteTimeoutUs: return .bytes(offset: 32, size: 8)
        case .tlsClientMaxSendBuffer: return .bytes(offset: 40, size: 4)
        case .tlsServerMaxSendBuffer: return .bytes(offset: 44, size: 4)
        case .streamRecvWindowDefault: return .bytes(offset: 48, size: 4)
        case .streamRecvBufferDefault: return .bytes(offset: 52, size: 4)
        case .connFlowControlWindow: return .bytes(offset: 56, size: 4)
        case .maxWorkerQueueDelayUs: return .bytes(offset: 60, size: 4)
        case .maxStatelessOperations: return .bytes(offset: 64, size: 4)
        case .initialWindowPackets: return .bytes(offset: 68, size: 4)
        case .sendIdleTimeoutMs: return .bytes(offset: 72, size: 4)
        case .initialRttMs: return .bytes(offset: 76, size: 4)
        case .maxAckDelayMs: return .bytes(offset: 80, size: 4)
        case .disconnectTimeoutMs: return .bytes(offset: 84, size: 4)
        case .keepAliveIntervalMs: return .bytes(offset: 88, size: 4)
        case .congestionControlAlgorithm: return .bytes(offset: 92, size: 2)
        case .peerBidiStreamCount: return .bytes(offset: 94, size: 2)
        case .peerUnidiStreamCount: return .bytes(offset: 96, size: 2)
        case .maxBindingStatelessOperations: return .bytes(offset: 98, size: 2)
        case .statelessOperationExpirationMs: return .bytes(offset: 100, size: 2)
        case .minimumMtu: return .bytes(offset: 102, size: 2)
        case .maximumMtu: return .bytes(offset: 104, size: 2)
        case .sendBufferingEnabled: return .bits(bit: 848, width: 1, unitEnd: 107)
        case .pacingEnabled: return .bits(bit: 849, width: 1, unitEnd: 107)
        case .migrationEnabled: return .bits(bit: 850, width: 1, unitEnd: 107)
        case .datagramReceiveEnabled: return .bits(bit: 851, width: 1, unitEnd: 107)
        case .serverResumptionLevel: return .bits(bit: 852, width: 2, unitEnd: 107)
        case .greaseQuicBitEnabled: return .bits(bit: 854, width: 1, unitEnd: 107)
        case .ecnEnabled: return .bits(bit: 855, width: 1, unitEnd: 107)
        case .maxOperationsPerDrain: return .bytes(offset: 107, size: 1)
        case .mtuDiscoveryMissingProbeCount: return .bytes(offset: 108, size: 1)
        case .destCidUpdateIdleTimeoutMs: return .bytes(offset: 112, size: 4)
        case .hyStartEnabled: return .bits(bit: 960, width: 1, unitEnd: 128)
        case .encryptionOffloadAllowed: return .bits(bit: 961, width: 1, unitEnd: 128)
        case .reliableResetEnabled: return .bits(bit: 962, width: 1, unitEnd: 128)
        case .oneWayDelayEnabled: return .bits(bit: 963, width: 1, unitEnd: 128)
        case .netStatsEventEnabled: return .bits(bit: 964, width: 1, unitEnd: 128)
        case .streamMultiReceiveEnabled: return .bits(bit: 965, width: 1, unitEnd: 128)
        case .xdpEnabled: return .bits(bit: 966, width: 1, unitEnd: 128)
        case .qtipEnabled: return .bits(bit: 967, width: 1, unitEnd: 128)
        case .reservedRioEnabled: return .bits(bit: 968, width: 1, unitEnd: 128)
        case .streamRecvWindowBidiLocalDefault: return .bytes(offset: 128, size: 4)
        case .streamRecvWindowBidiRemoteDefault: return .bytes(offset: 132, size: 4)
        case .streamRecvWindowUnidiDefault: return .bytes(offset: 136, size: 4)
        }
    }

    /// Whether a struct of `size` bytes holds `field` (MsQuic's SETTING_HAS_FIELD).
    static func has(_ field: SettingField, size: Int) -> Bool {
        switch location(field) {
        case .bytes(let offset, let fieldSize): return size >= offset + fieldSize
        case .bits(_, _, let unitEnd): return size >= unitEnd
        }
    }

    // MARK: QUIC_SETTINGS

    /// Decodes the application's QUIC_SETTINGS of `size` bytes (MsQuic's
    /// QuicSettingsSettingsToInternal). Nil if `size` is below the minimum.
    static func decodeSettings(_ pointer: UnsafeRawPointer, size: UInt32) -> Settings? {
        let size = Int(size)
        guard size >= settingsMinimumSize else { return nil }
        let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: settingsSize, alignment: 8)
        defer { copy.deallocate() }
        copy.initializeMemory(as: UInt8.self, repeating: 0)
        copy.baseAddress!.copyMemory(from: pointer, byteCount: min(size, settingsSize))
        let base = UnsafeRawPointer(copy.baseAddress!)
        let isSetFlags = base.loadUnaligned(as: UInt64.self)
        var settings = Settings()
        for field in SettingField.allCases where has(field, size: size) {
            settings[field] = read(field, from: base)
            if isSetFlags & field.bit != 0 { settings.isSet |= field.bit }
        }
        return settings
    }

    /// The size protocol of a versioned settings struct (MsQuic's QuicSettingsGet*Settings):
    /// a zero length asks for the full size; a length below the oldest accepted size gets that
    /// minimum. Either way BUFFER_TOO_SMALL with the needed length; nil when the length will do.
    private static func checkStructLength(_ length: UnsafeMutablePointer<UInt32>, fullSize: Int,
                                          minimumSize: Int) -> QuicStatus? {
        if length.pointee == 0 {
            length.pointee = UInt32(fullSize)
            return Status.bufferTooSmall
        }
        if length.pointee < UInt32(minimumSize) {
            length.pointee = UInt32(minimumSize)
            return Status.bufferTooSmall
        }
        return nil
    }

    /// MsQuic's QuicSettingsGetSettings: the buffer-size protocol and the encoding.
    static func encodeSettings(_ settings: Settings, length: UnsafeMutablePointer<UInt32>,
                               buffer: UnsafeMutableRawPointer?) -> QuicStatus {
        if let status = checkStructLength(length, fullSize: settingsSize, minimumSize: settingsMinimumSize) {
            return status
        }
        guard let buffer else { return Status.invalidParameter }
        let size = min(Int(length.pointee), settingsSize)
        // The bit-field storage units are written whole, so reserved bits come out zero.
        buffer.storeBytes(of: 0, toByteOffset: 106, as: UInt8.self)
        if size >= 128 { buffer.storeBytes(of: UInt64(0), toByteOffset: 120, as: UInt64.self) }
        var isSetFlags: UInt64 = 0
        for field in SettingField.allCases where has(field, size: size) {
            write(settings[field], field, to: buffer)
            if settings.isSet(field) { isSetFlags |= field.bit }
        }
        buffer.storeBytes(of: isSetFlags, toByteOffset: 0, as: UInt64.self)
        length.pointee = UInt32(size)
        return Status.success
    }

    private static func read(_ field: SettingField, from base: UnsafeRawPointer) -> UInt64 {
        switch location(field) {
        case .bytes(let offset, let size):
            switch size {
            case 1: return UInt64(base.load(fromByteOffset: offset, as: UInt8.self))
            case 2: return UInt64(base.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
            case 4: return UInt64(base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
            default: return base.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            }
        case .bits(let bit, let width, _):
            let byte = base.load(fromByteOffset: bit / 8, as: UInt8.self)
            return UInt64(byte >> UInt8(bit % 8)) & ((1 << UInt64(width)) - 1)
        }
    }

    private static func write(_ value: UInt64, _ field: SettingField, to base: UnsafeMutableRawPointer) {
        switch location(field) {
        case .bytes(let offset, let size):
            switch size {
            case 1: base.storeBytes(of: UInt8(truncatingIfNeeded: value), toByteOffset: offset, as: UInt8.self)
            case 2: base.storeBytes(of: UInt16(truncatingIfNeeded: value), toByteOffset: offset, as: UInt16.self)
            case 4: base.storeBytes(of: UInt32(truncatingIfNeeded: value), toByteOffset: offset, as: UInt32.self)
            default: base.storeBytes(of: value, toByteOffset: offset, as: UInt64.self)
            }
        case .bits(let bit, let width, _):
            let mask = UInt8((1 << width) - 1) << UInt8(bit % 8)
            var byte = base.load(fromByteOffset: bit / 8, as: UInt8.self)
            byte = (byte & ~mask) | ((UInt8(truncatingIfNeeded: value) << UInt8(bit % 8)) & mask)
            base.storeBytes(of: byte, toByteOffset: bit / 8, as: UInt8.self)
        }
    }

    // MARK: QUIC_GLOBAL_SETTINGS

    /// MsQuic's QuicSettingsGlobalSettingsToInternal. Nil if `size` is below the minimum.
    static func decodeGlobalSettings(_ pointer: UnsafeRawPointer, size: UInt32) -> Settings? {
        let size = Int(size)
        guard size >= globalSettingsMinimumSize else { return nil }
        let isSetFlags = pointer.loadUnaligned(as: UInt64.self)
        var settings = Settings()
        settings.global.retryMemoryLimit = pointer.loadUnaligned(fromByteOffset: 8, as: UInt16.self)
        settings.global.loadBalancingMode = pointer.loadUnaligned(fromByteOffset: 10, as: UInt16.self)
        var mask = GlobalOnlySettings.retryMemoryLimitBit | GlobalOnlySettings.loadBalancingModeBit
        if size >= 16 {
            settings.global.fixedServerID = pointer.loadUnaligned(fromByteOffset: 12, as: UInt32.self)
            mask |= GlobalOnlySettings.fixedServerIdBit
        }
        settings.global.isSet = isSetFlags & mask
        return settings
    }

    /// MsQuic's QuicSettingsGetGlobalSettings.
    static func encodeGlobalSettings(_ settings: Settings, length: UnsafeMutablePointer<UInt32>,
                                     buffer: UnsafeMutableRawPointer?) -> QuicStatus {
        if let status = checkStructLength(length, fullSize: globalSettingsSize,
                                          minimumSize: globalSettingsMinimumSize) {
            return status
        }
        guard let buffer else { return Status.invalidParameter }
        let size = min(Int(length.pointee), globalSettingsSize)
        var mask = GlobalOnlySettings.retryMemoryLimitBit | GlobalOnlySettings.loadBalancingModeBit
        buffer.storeBytes(of: settings.global.retryMemoryLimit, toByteOffset: 8, as: UInt16.self)
        buffer.storeBytes(of: settings.global.loadBalancingMode, toByteOffset: 10, as: UInt16.self)
        if size >= 16 {
            buffer.storeBytes(of: settings.global.fixedServerID, toByteOffset: 12, as: UInt32.self)
            mask |= GlobalOnlySettings.fixedServerIdBit
        }
        buffer.storeBytes(of: settings.global.isSet & mask, toByteOffset: 0, as: UInt64.self)
        length.pointee = UInt32(size)
        return Status.success
    }

    // MARK: QUIC_VERSION_SETTINGS

    /// Field offsets: AcceptableVersions 0, OfferedVersions 8, FullyDeployedVersions 16,
    /// AcceptableVersionsLength 24, OfferedVersionsLength 28, FullyDeployedVersionsLength 32.
    static func decodeVersionSettings(_ pointer: UnsafeRawPointer, size: UInt32,
                                      isSupported: (UInt32) -> Bool) -> (QuicStatus, Settings?) {
        guard Int(size) >= versionSettingsSize else { return (Status.invalidParameter, nil) }
        func list(_ pointerOffset: Int, _ lengthOffset: Int) -> [UInt32]? {
            let count = Int(pointer.loadUnaligned(fromByteOffset: lengthOffset, as: UInt32.self))
            if count == 0 { return [] }
            // Far more than any deployment lists; refusing it keeps a bogus length from turning
            // into a giant allocation.
            guard count <= maxVersionsPerList else { return nil }
            guard let items = pointer.loadUnaligned(fromByteOffset: pointerOffset,
                                                    as: UnsafePointer<UInt32>?.self) else { return nil }
            return Array(UnsafeBufferPointer(start: items, count: count))
        }
        guard let acceptable = list(0, 24), let offered = list(8, 28),
              let fullyDeployed = list(16, 32) else { return (Status.invalidParameter, nil) }
        // Every listed version must be one we speak (or a reserved greasing version, RFC 9000 §15).
        for v in acceptable + offered + fullyDeployed where !isSupported(v) && !isReservedVersion(v) {
            return (Status.invalidParameter, nil)
        }
        var settings = Settings()
        settings.versionsSet = true
        if !(acceptable.isEmpty && offered.isEmpty && fullyDeployed.isEmpty) {
            settings.versions = VersionSettings(acceptable: acceptable, offered: offered,
                                                fullyDeployed: fullyDeployed)
        }
        return (Status.success, settings)
    }

    /// RFC 9000 §15: versions of the form 0x?a?a?a?a are reserved for greasing.
    static func isReservedVersion(_ version: UInt32) -> Bool { version & 0x0F0F_0F0F == 0x0A0A_0A0A }

    /// MsQuic's QuicSettingsGetVersionSettings: the struct followed by the three lists, the
    /// struct's pointers aimed into the same buffer. MsQuic 2.6 keeps the lists in network
    /// byte order and returns them so (each version byte-swapped from what was set; its own
    /// ParameterValidation.ValidateVersionSettings checks exactly that): we do the same.
    static func encodeVersionSettings(_ settings: Settings, length: UnsafeMutablePointer<UInt32>,
                                      buffer: UnsafeMutableRawPointer?) -> QuicStatus {
        let lists = settings.versions ?? VersionSettings(acceptable: [], offered: [], fullyDeployed: [])
        let total = versionSettingsSize
            + 4 * (lists.acceptable.count + lists.offered.count + lists.fullyDeployed.count)
        if Int(length.pointee) < total {
            length.pointee = UInt32(total)
            return Status.bufferTooSmall
        }
        guard let buffer else { return Status.invalidParameter }
        buffer.initializeMemory(as: UInt8.self, repeating: 0, count: total)
        var cursor = versionSettingsSize
        func put(_ items: [UInt32], pointerOffset: Int, lengthOffset: Int) {
            let start = buffer + cursor
            for (i, v) in items.enumerated() { start.storeBytes(of: v.byteSwapped, toByteOffset: 4 * i, as: UInt32.self) }
            buffer.storeBytes(of: items.isEmpty ? nil : UnsafeRawPointer(start),
                              toByteOffset: pointerOffset, as: UnsafeRawPointer?.self)
            buffer.storeBytes(of: UInt32(items.count), toByteOffset: lengthOffset, as: UInt32.self)
            cursor += 4 * items.count
        }
        if settings.versions != nil {
            put(lists.acceptable, pointerOffset: 0, lengthOffset: 24)
            put(lists.offered, pointerOffset: 8, lengthOffset: 28)
            put(lists.fullyDeployed, pointerOffset: 16, lengthOffset: 32)
        }
        length.pointee = UInt32(total)
        return Status.success
    }
}
