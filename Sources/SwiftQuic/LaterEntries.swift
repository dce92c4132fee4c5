// Entries whose behaviour belongs to later work: connection pools and application-driven
// execution (preview). Each checks its arguments as MsQuic does and then answers
// QUIC_STATUS_NOT_SUPPORTED; none pretends to succeed. ExecutionDelete ignores its call;
// ExecutionPoll answers UINT32_MAX (no timer).

import Glibc

extension Api {
    // MARK: Connection pools and execution contexts (preview)

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

    static func executionCreate(_ flags: UInt32, _ pollingIdleTimeoutUs: UInt32, _ count: UInt32,
                                _ configs: UnsafeRawPointer?, _ executions: UnsafeMutableRawPointer?) -> QuicStatus {
        guard count > 0, configs != nil, executions != nil else { return Status.invalidParameter }
        // Application-driven execution must be chosen before the library starts its own workers.
        if Library.state.withLock({ $0.lazyInitComplete }) { return Status.invalidState }
        return Status.notSupported
    }

    /// Nothing can have been created by ExecutionCreate, so there is nothing to delete.
    static func executionDelete(_ count: UInt32, _ executions: UnsafeMutableRawPointer?) {}

    /// No execution context exists; the answer is "no timer pending" (UINT32_MAX), so a caller
    /// that polls anyway does not spin.
    static func executionPoll(_ execution: OpaquePointer?) -> UInt32 { UInt32.max }

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
