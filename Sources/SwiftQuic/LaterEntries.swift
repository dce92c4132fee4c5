// Preview entries not offered here: connection pools (MsQuic documents ConnectionPoolCreate
// as supported only on Windows with XDP). It checks its arguments as MsQuic does and then
// answers QUIC_STATUS_NOT_SUPPORTED; it does not pretend to succeed. (Application-driven
// execution is in Execution.swift.)

import Glibc

extension Api {
    // MARK: Connection pools (preview)

    /// QUIC_CONNECTION_POOL_CONFIG: Registration 0, Configuration 8, Handler 16, Context 24,
    /// ServerName 32, ServerAddress 40, Family 48, ServerPort 50, NumberOfConnections 52,
    /// CibirIds 56, CibirIdLength 64, Flags 68.
    static func connectionPoolCreate(_ config: UnsafeRawPointer?,
                                     _ connections: UnsafeMutablePointer<OpaquePointer?>?) -> QuicStatus {
        guard let config, connections != nil else { return Status.invalidParameter }
        let registration = config.load(fromByteOffset: 0, as: OpaquePointer?.self)
        let configuration = config.load(fromByteOffset: 8, as: OpaquePointer?.self)
        guard Handles.object(registration, as: Registration.self) != nil,
              Handles.object(configuration, as: Configuration.self) != nil,
              config.load(fromByteOffset: 16, as: UnsafeRawPointer?.self) != nil,
              config.load(fromByteOffset: 32, as: UnsafeRawPointer?.self) != nil,
              isValidFamily(config.load(fromByteOffset: 48, as: UInt16.self)),
              config.load(fromByteOffset: 50, as: UInt16.self) != 0,
              config.load(fromByteOffset: 52, as: UInt16.self) != 0 else {
            return Status.invalidParameter
        }
        let cibirLength = config.load(fromByteOffset: 64, as: UInt8.self)
        if cibirLength > 0 && config.load(fromByteOffset: 56, as: UnsafeRawPointer?.self) == nil {
            return Status.invalidParameter
        }
        return Status.notSupported
    }

    // MARK: Helpers

    static func isValidFamily(_ family: UInt16) -> Bool {
        family == Limits.addressFamilyUnspec || family == Limits.addressFamilyInet
            || family == Limits.addressFamilyInet6
    }

    static func isConnection(_ handle: OpaquePointer?) -> Bool {
        guard let type = Handles.object(handle)?.handleType else { return false }
        return type == .connectionClient || type == .connectionServer
    }

    static func isStream(_ handle: OpaquePointer?) -> Bool {
        Handles.object(handle)?.handleType == .stream
    }
}
