// Entries whose behaviour belongs to later work (listeners, connections, streams, datagrams,
// connection pools, application-driven execution). Each checks its arguments as MsQuic does
// (src/core/api.c, listener.c, connection_pool.c, library.c) and then answers
// QUIC_STATUS_NOT_SUPPORTED; none pretends to succeed. Void entries ignore their call.
//
// The entries that answer NOT_SUPPORTED after their checks:
//   ListenerOpen, ListenerStart, ConnectionOpen, ConnectionOpenInPartition, ConnectionStart,
//   ConnectionSetConfiguration, ConnectionSendResumptionTicket,
//   ConnectionResumptionTicketValidationComplete, ConnectionCertificateValidationComplete,
//   ConnectionExportKeyingMaterial, StreamOpen, StreamStart, StreamShutdown, StreamSend,
//   StreamReceiveSetEnabled, StreamProvideReceiveBuffers, DatagramSend, ConnectionPoolCreate,
//   ExecutionCreate.
// Void entries with nothing to act on yet: ListenerClose, ListenerStop, ConnectionClose,
//   ConnectionShutdown, StreamClose, StreamReceiveComplete, ExecutionDelete; ExecutionPoll
//   answers UINT32_MAX (no timer).
// Parameters answering NOT_SUPPORTED: every QUIC_PARAM_LISTENER_*, CONN_*, TLS_*, STREAM_* on a
//   handle of the right kind (none can exist yet), QUIC_PARAM_GLOBAL_XDP_MAP_CONFIG and
//   QUIC_PARAM_CONFIGURATION_SCHANNEL_CREDENTIAL_ATTRIBUTE_W (Windows only).
//
// Until listeners, connections and streams exist no handle of those kinds can be valid, so in
// practice these entries answer INVALID_PARAMETER for the handle; the NOT_SUPPORTED paths are
// reached by the entries that take a registration or configuration (ListenerOpen,
// ConnectionOpen, ConnectionOpenInPartition, ConnectionPoolCreate, ExecutionCreate).

import Glibc

extension Api {
    // MARK: Listeners

    static func listenerOpen(_ registration: OpaquePointer?, _ handler: UnsafeRawPointer?,
                             _ context: UnsafeMutableRawPointer?,
                             _ newListener: UnsafeMutablePointer<OpaquePointer?>?) -> QuicStatus {
        guard Handles.object(registration, as: Registration.self) != nil, newListener != nil,
              handler != nil else { return Status.invalidParameter }
        return Status.notSupported
    }

    static func listenerStart(_ listener: OpaquePointer?, _ alpnBuffers: UnsafeRawPointer?,
                              _ alpnBufferCount: UInt32, _ localAddress: UnsafeRawPointer?) -> QuicStatus {
        guard let object = Handles.object(listener), object.handleType == .listener,
              let alpnBuffers, alpnBufferCount > 0 else { return Status.invalidParameter }
        guard alpnList(alpnBuffers, alpnBufferCount) != nil else { return Status.invalidParameter }
        if let localAddress, !isValidFamily(localAddress.load(as: UInt16.self)) {
            return Status.invalidParameter
        }
        return Status.notSupported
    }

    static func listenerClose(_ listener: OpaquePointer?) {}
    static func listenerStop(_ listener: OpaquePointer?) {}

    // MARK: Connections

    static func connectionOpen(_ registration: OpaquePointer?, _ handler: UnsafeRawPointer?,
                               _ context: UnsafeMutableRawPointer?,
                               _ newConnection: UnsafeMutablePointer<OpaquePointer?>?) -> QuicStatus {
        guard Handles.object(registration, as: Registration.self) != nil, newConnection != nil,
              handler != nil else { return Status.invalidParameter }
        return Status.notSupported
    }

    static func connectionOpenInPartition(_ registration: OpaquePointer?, _ partition: UInt16,
                                          _ handler: UnsafeRawPointer?, _ context: UnsafeMutableRawPointer?,
                                          _ newConnection: UnsafeMutablePointer<OpaquePointer?>?) -> QuicStatus {
        guard Handles.object(registration, as: Registration.self) != nil, newConnection != nil,
              handler != nil, Int(partition) < partitionCount else { return Status.invalidParameter }
        return Status.notSupported
    }

    /// MsQuic partitions work per processor.
    static var partitionCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    static func connectionClose(_ connection: OpaquePointer?) {}
    static func connectionShutdown(_ connection: OpaquePointer?, _ flags: UInt32, _ errorCode: UInt64) {}

    static func connectionStart(_ connection: OpaquePointer?, _ configuration: OpaquePointer?,
                                _ family: UInt16, _ serverName: UnsafePointer<CChar>?,
                                _ serverPort: UInt16) -> QuicStatus {
        guard serverPort != 0, isValidFamily(family) else { return Status.invalidParameter }
        if let serverName, strnlenBounded(serverName, limit: Limits.maxSniLength + 1) > Limits.maxSniLength {
            return Status.invalidParameter
        }
        guard isConnection(connection),
              Handles.object(configuration, as: Configuration.self) != nil else {
            return Status.invalidParameter
        }
        return Status.notSupported
    }

    static func connectionSetConfiguration(_ connection: OpaquePointer?,
                                           _ configuration: OpaquePointer?) -> QuicStatus {
        guard isConnection(connection),
              Handles.object(configuration, as: Configuration.self) != nil else {
            return Status.invalidParameter
        }
        return Status.notSupported
    }

    static func connectionSendResumptionTicket(_ connection: OpaquePointer?, _ flags: UInt32,
                                               _ dataLength: UInt16, _ data: UnsafeRawPointer?) -> QuicStatus {
        guard dataLength <= Limits.maxResumptionAppDataLength, data != nil || dataLength == 0,
              flags <= 1,                                        // QUIC_SEND_RESUMPTION_FLAG_FINAL
              isConnection(connection) else { return Status.invalidParameter }
        return Status.notSupported
    }

    static func connectionResumptionTicketValidationComplete(_ connection: OpaquePointer?,
                                                             _ result: UInt8) -> QuicStatus {
        guard isConnection(connection) else { return Status.invalidParameter }
        return Status.notSupported
    }

    static func connectionCertificateValidationComplete(_ connection: OpaquePointer?, _ result: UInt8,
                                                        _ alert: UInt32) -> QuicStatus {
        // A TLS alert is one byte (RFC 8446 §6); QUIC_TLS_ALERT_CODE_SUCCESS (0xFFFF) is allowed
        // with an accepted certificate.
        guard isConnection(connection),
              result != 0 || alert <= 0xFF else { return Status.invalidParameter }
        return Status.notSupported
    }

    /// QUIC_KEYING_MATERIAL_CONFIG: Label 0, ContextLength 8, Context 16, OutputLength 24.
    static func connectionExportKeyingMaterial(_ connection: OpaquePointer?, _ config: UnsafeRawPointer?,
                                               _ output: UnsafeMutablePointer<UInt8>?) -> QuicStatus {
        guard isConnection(connection), let config, output != nil,
              config.load(fromByteOffset: 0, as: UnsafeRawPointer?.self) != nil,
              config.load(fromByteOffset: 24, as: UInt32.self) > 0 else { return Status.invalidParameter }
        let contextLength = config.load(fromByteOffset: 8, as: UInt32.self)
        if contextLength > 0 && config.load(fromByteOffset: 16, as: UnsafeRawPointer?.self) == nil {
            return Status.invalidParameter
        }
        return Status.notSupported
    }

    // MARK: Streams and datagrams

    static func streamOpen(_ connection: OpaquePointer?, _ flags: UInt32, _ handler: UnsafeRawPointer?,
                           _ context: UnsafeMutableRawPointer?,
                           _ newStream: UnsafeMutablePointer<OpaquePointer?>?) -> QuicStatus {
        guard isConnection(connection), newStream != nil, handler != nil else {
            return Status.invalidParameter
        }
        return Status.notSupported
    }

    static func streamClose(_ stream: OpaquePointer?) {}

    static func streamStart(_ stream: OpaquePointer?, _ flags: UInt32) -> QuicStatus {
        guard isStream(stream) else { return Status.invalidParameter }
        return Status.notSupported
    }

    static func streamShutdown(_ stream: OpaquePointer?, _ flags: UInt32, _ errorCode: UInt64) -> QuicStatus {
        // QUIC_STREAM_SHUTDOWN_FLAG_NONE and IMMEDIATE alone say nothing to do; error codes are
        // varints (RFC 9000 §16).
        guard isStream(stream), flags != 0, flags != 0x8, errorCode <= Limits.uint62Max else {
            return Status.invalidParameter
        }
        return Status.notSupported
    }

    static func streamSend(_ stream: OpaquePointer?, _ buffers: UnsafeRawPointer?, _ bufferCount: UInt32,
                           _ flags: UInt32, _ context: UnsafeMutableRawPointer?) -> QuicStatus {
        guard isStream(stream), buffers != nil || bufferCount == 0 else { return Status.invalidParameter }
        return Status.notSupported
    }

    static func streamReceiveComplete(_ stream: OpaquePointer?, _ length: UInt64) {}

    static func streamReceiveSetEnabled(_ stream: OpaquePointer?, _ enabled: UInt8) -> QuicStatus {
        guard isStream(stream) else { return Status.invalidParameter }
        return Status.notSupported
    }

    static func streamProvideReceiveBuffers(_ stream: OpaquePointer?, _ bufferCount: UInt32,
                                            _ buffers: UnsafeRawPointer?) -> QuicStatus {
        guard isStream(stream), bufferCount > 0, buffers != nil else { return Status.invalidParameter }
        return Status.notSupported
    }

    static func datagramSend(_ connection: OpaquePointer?, _ buffers: UnsafeRawPointer?,
                             _ bufferCount: UInt32, _ flags: UInt32,
                             _ context: UnsafeMutableRawPointer?) -> QuicStatus {
        guard isConnection(connection), buffers != nil, bufferCount > 0 else {
            return Status.invalidParameter
        }
        return Status.notSupported
    }

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
