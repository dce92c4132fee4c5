// Registrations: RegistrationOpen / RegistrationClose / RegistrationShutdown / RegistrationClose2.
//
// A registration is the application's execution context in MsQuic. Its children are
// configurations, listeners and connections. Like MsQuic, RegistrationClose waits until the
// application has closed every connection of the registration (ConnectionClose); called from
// a callback (on a worker) it cannot wait for connections that worker runs, so there it
// returns without waiting (MsQuic would deadlock). With application-driven execution
// (Execution.swift) the waiting thread runs the executions' rounds itself, since the
// application's loop, often this very thread, is not polling. The configurations it owns are closed with
// it (their handles become invalid): the same end state an application that closes correctly
// reaches. RegistrationShutdown shuts every open connection down with its error code.

import Glibc
import QuicPlatform
import Synchronization

/// Sendable (unchecked): `let`s and one Mutex-guarded `State`.
final class Registration: QuicObject, @unchecked Sendable {
    /// QUIC_REGISTRATION_CONFIG.AppName ("" when none was given).
    let appName: String
    /// QUIC_REGISTRATION_CONFIG.ExecutionProfile (QUIC_EXECUTION_PROFILE_*), kept for the
    /// worker pool; MsQuic treats unknown values as LOW_LATENCY.
    let executionProfile: UInt32

    struct Shutdown: Equatable {
        var flags: UInt32
        var errorCode: UInt64
    }

    private struct State {
        var configurations: [ObjectIdentifier: Configuration] = [:]
        var shutdown: Shutdown? = nil
        var connections: [ObjectIdentifier: ConnectionObject] = [:]
    }
    private let state = Mutex(State())

    init(appName: String, executionProfile: UInt32) {
        self.appName = appName
        self.executionProfile = executionProfile
        super.init(handleType: .registration)
    }

    /// Set by RegistrationShutdown: the error every connection of the registration is shut
    /// down with, and which refuses new connections (later work).
    var shutdown: Shutdown? { state.withLock { $0.shutdown } }

    func adopt(_ configuration: Configuration) {
        state.withLock { $0.configurations[ObjectIdentifier(configuration)] = configuration }
    }

    func release(_ configuration: Configuration) {
        _ = state.withLock { $0.configurations.removeValue(forKey: ObjectIdentifier(configuration)) }
    }

    func adoptConnection(_ c: ConnectionObject) {
        state.withLock { $0.connections[ObjectIdentifier(c)] = c }
    }

    func releaseConnection(_ c: ConnectionObject) {
        _ = state.withLock { $0.connections.removeValue(forKey: ObjectIdentifier(c)) }
    }

    /// Connections whose handle is still open.
    var openConnections: [ConnectionObject] { state.withLock { Array($0.connections.values) } }

    /// Closes the children's handles and forgets them.
    func dropChildren() {
        let children = state.withLock { s -> [Configuration] in
            let all = Array(s.configurations.values)
            s.configurations.removeAll()
            return all
        }
        for child in children { Handles.unregister(child) }
    }

    /// Forgets the connections whose handles the application never closed (the last
    /// MsQuicClose): they refer back to the registration.
    func forgetConnections() {
        state.withLock { $0.connections.removeAll() }
    }

    /// Closes the handle, and with it the handles of the configurations it owns, after the
    /// application closed its connections (off the workers only).
    func close() {
        if Worker.current == nil {
            // With application-driven execution nobody else may be polling (the application's
            // loop is this thread): the waiting thread runs the rounds itself.
            while !openConnections.isEmpty {
                Runtime.driveAppDrivenWorkers()
                usleep(1000)
            }
        }
        dropChildren()
        Handles.unregister(self)
    }

    /// The first shutdown is the one that counts: like MsQuic, later calls change nothing.
    func recordShutdown(flags: UInt32, errorCode: UInt64) {
        state.withLock { s in
            if s.shutdown == nil { s.shutdown = Shutdown(flags: flags, errorCode: errorCode) }
        }
    }
}

extension Api {
    /// QUIC_REGISTRATION_OPEN_FN. `config` points at a QUIC_REGISTRATION_CONFIG
    /// (AppName at offset 0, ExecutionProfile at 8) or is NULL.
    static func registrationOpen(_ config: UnsafeRawPointer?,
                                 _ newRegistration: UnsafeMutablePointer<OpaquePointer?>?) -> QuicStatus {
        guard Library.isOpen else { return Status.invalidState }
        var appName = ""
        var profile: UInt32 = 0
        if let config {
            if let name = config.load(fromByteOffset: 0, as: UnsafePointer<CChar>?.self) {
                // MsQuic keeps the name with a one-byte length: 255 bytes or more is refused.
                guard strnlenBounded(name, limit: 255) < 255 else { return Status.invalidParameter }
                appName = String(cString: name)
            }
            profile = config.load(fromByteOffset: 8, as: UInt32.self)
        }
        guard let newRegistration else { return Status.invalidParameter }
        let registration = Registration(appName: appName, executionProfile: profile)
        Handles.register(registration)
        Library.state.withLock { $0.lazyInitComplete = true }
        newRegistration.pointee = registration.handle
        return Status.success
    }

    /// QUIC_REGISTRATION_CLOSE_FN. Invalid handles are ignored (a void entry cannot report).
    static func registrationClose(_ handle: OpaquePointer?) {
        Handles.object(handle, as: Registration.self)?.close()
    }

    /// QUIC_REGISTRATION_CLOSE2_FN (preview): closes like RegistrationClose, then reports the
    /// completion to `handler(context)` (here the close completes before the call returns, so
    /// the handler runs on the calling thread).
    static func registrationClose2(_ handle: OpaquePointer?,
                                   _ handler: (@convention(c) (UnsafeMutableRawPointer?) -> Void)?,
                                   _ context: UnsafeMutableRawPointer?) {
        guard let registration = Handles.object(handle, as: Registration.self) else { return }
        registration.close()
        handler?(context)
    }

    /// QUIC_REGISTRATION_SHUTDOWN_FN: shuts down every connection of the registration with
    /// `errorCode` (RFC 9000 §10.2). There are no connections yet, so what remains is the
    /// recorded shutdown state. An error code above QUIC_UINT62_MAX is ignored, as in MsQuic.
    static func registrationShutdown(_ handle: OpaquePointer?, _ flags: UInt32, _ errorCode: UInt64) {
        guard let registration = Handles.object(handle, as: Registration.self),
              errorCode <= Limits.uint62Max else { return }
        registration.recordShutdown(flags: flags, errorCode: errorCode)
        // Every connection of the registration ends with this error code (RFC 9000 §10.2).
        // A client connection the app opened but never started is left alone, as MsQuic does:
        // it has nothing to shut down, and the app that will start or close it expects no
        // SHUTDOWN_COMPLETE for it now (secnetperf's client crashed on one); a ConnectionStart
        // made later ends it (msquictest OwnershipValidation). `started` is the worker's
        // state, so it is read there.
        for conn in registration.openConnections {
            // QUIC_CONNECTION_SHUTDOWN_FLAG_SILENT: no CONNECTION_CLOSE is sent (RFC 9000 §10.2).
            let silent = flags & 0x1 != 0
            let op: @Sendable () -> Void = {
                if !conn.isServer && !conn.started && conn.core == nil {
                    // MsQuic: a client connection not started yet hears nothing now; a later
                    // ConnectionStart ends it (SHUTDOWN_COMPLETE, status ABORTED).
                    conn.registrationShutDown = true
                } else {
                    conn.shutdownOnWorker(errorCode: errorCode, silent: silent)
                }
            }
            if conn.worker.isCurrent { op() } else { conn.worker.post(op) }
        }
    }
}

/// strnlen without reading past `limit` bytes.
func strnlenBounded(_ s: UnsafePointer<CChar>, limit: Int) -> Int {
    var n = 0
    while n < limit && s[n] != 0 { n += 1 }
    return n
}
