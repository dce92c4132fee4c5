// Configurations: ConfigurationOpen / ConfigurationClose, and the configuration's parameters
// (QUIC_PARAM_CONFIGURATION_*).
//
// A configuration holds the ALPN list (copied), its own settings (fields the application set;
// the rest follow the global settings, as MsQuic re-copies them whenever the global settings
// change), the loaded credential and the resumption ticket keys.

import QuicTLS
import Synchronization

/// Sendable (unchecked): `let`s and one Mutex-guarded `State`.
final class Configuration: QuicObject, @unchecked Sendable {
    let registration: Registration
    /// ALPN protocol IDs in preference order (RFC 7301 §3.1), each 1...255 bytes.
    let alpns: [[UInt8]]

    struct State {
        /// Fields set on this configuration (ConfigurationOpen or SetParam); values of unset
        /// fields are ignored in favour of the global settings.
        var settings = Settings()
        var credential: LoadedCredential? = nil
        /// A LOAD_ASYNCHRONOUS load is running.
        var credentialLoadPending = false
        /// QUIC_PARAM_CONFIGURATION_TICKET_KEYS: the first key is the one in use.
        var ticketKeys: [TicketKey] = []
        /// The key ring built from `ticketKeys` (or a random key) for this configuration's
        /// server connections; rebuilt when the keys change.
        var ticketRing: TicketKeyRing? = nil
        /// Private QUIC_PARAM_CONFIGURATION_VERSION_NEG_ENABLED (RFC 9368); nil follows the
        /// global QUIC_PARAM_GLOBAL_VERSION_NEGOTIATION_ENABLED.
        var versionNegotiationExt: Bool? = nil
    }
    let state = Mutex(State())

    init(registration: Registration, alpns: [[UInt8]], settings: Settings) {
        self.registration = registration
        self.alpns = alpns
        state.withLock { $0.settings = settings }
        super.init(handleType: .configuration)
    }

    /// The settings connections of this configuration use: own fields over global ones.
    var effectiveSettings: Settings {
        var own = state.withLock { $0.settings }
        own.inheritUnset(from: Library.settings)
        return own
    }

    var credential: LoadedCredential? { state.withLock { $0.credential } }

    /// Whether connections of this configuration send version_information (RFC 9368).
    var versionNegotiationExtEnabled: Bool {
        state.withLock { $0.versionNegotiationExt } ?? Library.state.withLock { $0.versionNegotiationExtEnabled }
    }

    /// Seals and opens this configuration's session tickets (RFC 8446 §4.6.1): the keys of
    /// QUIC_PARAM_CONFIGURATION_TICKET_KEYS, the first one sealing, or one random key.
    var ticketRing: TicketKeyRing? {
        state.withLock { s -> TicketKeyRing? in
            if let ring = s.ticketRing { return ring }
            let keys = s.ticketKeys.compactMap { try? QuicTLS.TicketKey(id: $0.id, material: $0.material) }
            let ring = keys.isEmpty ? try? TicketKeyRing.makeDefault() : try? TicketKeyRing(keys: keys)
            s.ticketRing = ring
            return ring
        }
    }

    /// The ALPN list in TLS wire form (RFC 7301 §3.1: length-prefixed protocol names).
    var alpnWireList: [UInt8] { alpns.flatMap { [UInt8($0.count)] + $0 } }
}

/// One QUIC_TICKET_KEY_CONFIG (Id[16], Material[64], MaterialLength).
struct TicketKey: Equatable {
    var id: [UInt8]
    var material: [UInt8]
}

extension Api {
    /// QUIC_CONFIGURATION_OPEN_FN. `alpnBuffers` points at `alpnBufferCount` QUIC_BUFFERs
    /// (Length at 0, Buffer at 8, 16 bytes each); `settings` at `settingsSize` bytes of
    /// QUIC_SETTINGS or NULL.
    static func configurationOpen(_ handle: OpaquePointer?, _ alpnBuffers: UnsafeRawPointer?,
                                  _ alpnBufferCount: UInt32, _ settings: UnsafeRawPointer?,
                                  _ settingsSize: UInt32, _ context: UnsafeMutableRawPointer?,
                                  _ newConfiguration: UnsafeMutablePointer<OpaquePointer?>?) -> QuicStatus {
        guard let registration = Handles.object(handle, as: Registration.self),
              let alpnBuffers, alpnBufferCount > 0, let newConfiguration else {
            return Status.invalidParameter
        }
        guard let alpns = alpnList(alpnBuffers, alpnBufferCount) else { return Status.invalidParameter }
        // As in MsQuic, a non-NULL Settings is first looked at through its IsSetFlags (every
        // QUIC_SETTINGS layout starts with them); only when some field is marked set must
        // SettingsSize reach the oldest accepted layout, so flags with a SettingsSize of 0 are
        // INVALID_PARAMETER and all-clear flags are ignored whatever the size.
        var own = Settings()
        if let settings, settings.loadUnaligned(as: UInt64.self) != 0 {
            guard let decoded = SettingsCodec.decodeSettings(settings, size: settingsSize),
                  own.apply(decoded) else { return Status.invalidParameter }
        }
        let configuration = Configuration(registration: registration, alpns: alpns, settings: own)
        configuration.context = context
        registration.adopt(configuration)
        Handles.register(configuration)
        newConfiguration.pointee = configuration.handle
        return Status.success
    }

    /// The protocol IDs of `count` QUIC_BUFFERs (Length at 0, Buffer at 8, 16 bytes each), or
    /// nil if one is empty, longer than 255 bytes or NULL, or the list would not fit the 16-bit
    /// length of the TLS extension (RFC 7301 §3.1).
    static func alpnList(_ buffers: UnsafeRawPointer, _ count: UInt32) -> [[UInt8]]? {
        var alpns: [[UInt8]] = []
        var listLength = 0
        for i in 0..<Int(count) {
            let entry = buffers + 16 * i
            let length = entry.load(fromByteOffset: 0, as: UInt32.self)
            guard length > 0, length <= Limits.maxAlpnLength,
                  let bytes = entry.load(fromByteOffset: 8, as: UnsafePointer<UInt8>?.self) else { return nil }
            listLength += 1 + Int(length)
            guard listLength <= Int(UInt16.max) else { return nil }
            alpns.append(Array(UnsafeBufferPointer(start: bytes, count: Int(length))))
        }
        return alpns
    }

    /// QUIC_CONFIGURATION_CLOSE_FN. Invalid handles are ignored.
    static func configurationClose(_ handle: OpaquePointer?) {
        guard let configuration = Handles.object(handle, as: Configuration.self) else { return }
        configuration.registration.release(configuration)
        Handles.unregister(configuration)
    }

    // MARK: QUIC_PARAM_CONFIGURATION_*

    static func configurationSetParam(_ configuration: Configuration, _ param: UInt32,
                                      _ length: UInt32, _ buffer: UnsafeRawPointer?) -> QuicStatus {
        switch param {
        case Param.configurationSettings:
            guard let buffer else { return Status.invalidParameter }
            guard let decoded = SettingsCodec.decodeSettings(buffer, size: length) else {
                return Status.invalidParameter
            }
            return configuration.state.withLock { s in
                s.settings.apply(decoded) ? Status.success : Status.invalidParameter
            }
        case Param.configurationVersionSettings:
            guard let buffer else { return Status.invalidParameter }
            let (status, decoded) = SettingsCodec.decodeVersionSettings(buffer, size: length,
                                                                        isSupported: Versions.isSettable)
            guard status == Status.success, let decoded else { return status }
            return configuration.state.withLock { s in
                s.settings.apply(decoded) ? Status.success : Status.invalidParameter
            }
        case Param.configurationTicketKeys:
            return setTicketKeys(configuration, length, buffer)
        case Param.configurationSchannelCredentialAttributeW:
            return Status.notSupported              // Schannel only (Windows)
        case Param.configurationVersionNegEnabled:
            // Private test parameter (include/msquicp.h): BOOLEAN.
            guard let buffer, length == 1 else { return Status.invalidParameter }
            let on = buffer.load(as: UInt8.self) != 0
            configuration.state.withLock { $0.versionNegotiationExt = on }
            return Status.success
        default:
            return Status.invalidParameter
        }
    }

    static func configurationGetParam(_ configuration: Configuration, _ param: UInt32,
                                      _ length: UnsafeMutablePointer<UInt32>,
                                      _ buffer: UnsafeMutableRawPointer?) -> QuicStatus {
        switch param {
        case Param.configurationSettings:
            return SettingsCodec.encodeSettings(configuration.effectiveSettings, length: length, buffer: buffer)
        case Param.configurationVersionSettings:
            return SettingsCodec.encodeVersionSettings(configuration.effectiveSettings, length: length, buffer: buffer)
        case Param.configurationVersionNegEnabled:
            return getFixed([configuration.versionNegotiationExtEnabled ? 1 : 0], length, buffer)
        case Param.configurationTicketKeys, Param.configurationSchannelCredentialAttributeW:
            return Status.invalidParameter          // set-only (MsQuic has no getter)
        default:
            return Status.invalidParameter
        }
    }

    /// QUIC_PARAM_CONFIGURATION_TICKET_KEYS: an array of QUIC_TICKET_KEY_CONFIG (81 bytes
    /// each: Id[16], Material[64], MaterialLength), server credentials only.
    private static func setTicketKeys(_ configuration: Configuration, _ length: UInt32,
                                      _ buffer: UnsafeRawPointer?) -> QuicStatus {
        let keySize = 81
        guard let buffer, Int(length) >= keySize else { return Status.invalidParameter }
        let count = Int(length) / keySize
        guard count <= Limits.maxTicketKeyCount else { return Status.invalidParameter }
        guard let credential = configuration.credential else { return Status.invalidState }
        // Resumption tickets are issued by servers (RFC 8446 §4.6.1).
        if credential.isClient { return Status.notSupported }
        var keys: [TicketKey] = []
        for i in 0..<count {
            let entry = buffer + keySize * i
            let materialLength = Int(entry.load(fromByteOffset: 80, as: UInt8.self))
            guard materialLength > 0, materialLength <= 64 else { return Status.invalidParameter }
            let id = Array(UnsafeRawBufferPointer(start: entry, count: 16))
            let material = Array(UnsafeRawBufferPointer(start: entry + 16, count: materialLength))
            keys.append(TicketKey(id: id, material: material))
        }
        configuration.state.withLock { $0.ticketKeys = keys; $0.ticketRing = nil }
        return Status.success
    }
}
