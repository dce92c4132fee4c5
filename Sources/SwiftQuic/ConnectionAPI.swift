// The connection entries of the API table (docs/api/ConnectionOpen.md, ConnectionStart.md,
// ConnectionSetConfiguration.md, ConnectionShutdown.md, ConnectionClose.md, DatagramSend.md,
// ...). Arguments are checked as MsQuic checks them; the work runs on the connection's worker.

import Glibc
import QuicCore
import QuicPlatform
import QuicTLS
import QuicWire

extension Api {
    // MARK: Listeners

    static func listenerOpen(_ registration: OpaquePointer?, _ handler: UnsafeRawPointer?,
                             _ context: UnsafeMutableRawPointer?,
                             _ newListener: UnsafeMutablePointer<OpaquePointer?>?) -> QuicStatus {
        guard let reg = Handles.object(registration, as: Registration.self), let newListener,
              handler != nil else { return Status.invalidParameter }
        let listener = ListenerObject(registration: reg, handler: handler, context: context)
        Handles.register(listener)
        newListener.pointee = listener.handle
        return Status.success
    }

    static func listenerStart(_ listener: OpaquePointer?, _ alpnBuffers: UnsafeRawPointer?,
                              _ alpnBufferCount: UInt32, _ localAddress: UnsafeRawPointer?) -> QuicStatus {
        guard let object = Handles.object(listener, as: ListenerObject.self),
              let alpnBuffers, alpnBufferCount > 0 else { return Status.invalidParameter }
        guard let alpns = alpnList(alpnBuffers, alpnBufferCount) else { return Status.invalidParameter }
        var address = UDPAddress.anyIPv6()
        if let localAddress {
            guard isValidFamily(localAddress.load(as: UInt16.self)), let a = QuicAddr.read(localAddress) else {
                return Status.invalidParameter
            }
            address = a
        }
        // NULL or QUIC_ADDRESS_FAMILY_UNSPEC: reported back as UNSPEC (see reportedLocalAddress).
        let unspecified = localAddress == nil || localAddress?.load(as: UInt16.self) == Limits.addressFamilyUnspec
        return object.start(alpns: alpns, address: address, unspecified: unspecified)
    }

    static func listenerStop(_ listener: OpaquePointer?) {
        guard let object = Handles.object(listener, as: ListenerObject.self) else { return }
        _ = object.stop(appClosing: false)
    }

    static func listenerClose(_ listener: OpaquePointer?) {
        guard let object = Handles.object(listener, as: ListenerObject.self) else { return }
        _ = object.stop(appClosing: true)
        HandshakeBudget.forgetDosListener(object)
        Handles.unregister(object)
    }

    // MARK: Connections

    static func connectionOpen(_ registration: OpaquePointer?, _ handler: UnsafeRawPointer?,
                               _ context: UnsafeMutableRawPointer?,
                               _ newConnection: UnsafeMutablePointer<OpaquePointer?>?) -> QuicStatus {
        guard let reg = Handles.object(registration, as: Registration.self), let newConnection,
              handler != nil else { return Status.invalidParameter }
        guard let worker = Runtime.nextClientWorker() else { return Status.outOfMemory }
        return open(reg, worker, handler, context, newConnection)
    }

    static func connectionOpenInPartition(_ registration: OpaquePointer?, _ partition: UInt16,
                                          _ handler: UnsafeRawPointer?, _ context: UnsafeMutableRawPointer?,
                                          _ newConnection: UnsafeMutablePointer<OpaquePointer?>?) -> QuicStatus {
        guard let reg = Handles.object(registration, as: Registration.self), let newConnection,
              handler != nil, Int(partition) < partitionCount else { return Status.invalidParameter }
        guard let worker = Runtime.worker(partition: Int(partition)) else { return Status.outOfMemory }
        return open(reg, worker, handler, context, newConnection)
    }

    private static func open(_ reg: Registration, _ worker: Worker, _ handler: UnsafeRawPointer?,
                             _ context: UnsafeMutableRawPointer?,
                             _ out: UnsafeMutablePointer<OpaquePointer?>) -> QuicStatus {
        // RegistrationShutdown refuses new connections (MsQuic: INVALID_STATE).
        if reg.shutdown != nil { return Status.invalidState }
        let conn = ConnectionObject(registration: reg, worker: worker, isServer: false, handler: handler, context: context)
        reg.adoptConnection(conn)
        Handles.register(conn)
        out.pointee = conn.handle
        return Status.success
    }

    /// MsQuic partitions work per processor.
    static var partitionCount: Int { Runtime.partitionCount }

    static func connectionClose(_ connection: OpaquePointer?) {
        guard let conn = Handles.object(connection, as: ConnectionObject.self) else { return }
        // The worker finishes the close (blocking off-worker); the handle stays valid through
        // the SHUTDOWN_COMPLETE it delivers and becomes invalid after it.
        Handles.close(conn, on: conn.worker) { conn.closeOnWorker() }
    }

    static func connectionShutdown(_ connection: OpaquePointer?, _ flags: UInt32, _ errorCode: UInt64) {
        guard let conn = Handles.object(connection, as: ConnectionObject.self),
              errorCode <= Limits.uint62Max else { return }
        let silent = flags & 0x1 != 0                  // QUIC_CONNECTION_SHUTDOWN_FLAG_SILENT
        conn.worker.perform { conn.shutdownOnWorker(errorCode: errorCode, silent: silent) }
    }

    static func connectionStart(_ connection: OpaquePointer?, _ configuration: OpaquePointer?,
                                _ family: UInt16, _ serverName: UnsafePointer<CChar>?,
                                _ serverPort: UInt16) -> QuicStatus {
        guard serverPort != 0, isValidFamily(family) else { return Status.invalidParameter }
        if let serverName, strnlenBounded(serverName, limit: Limits.maxSniLength + 1) > Limits.maxSniLength {
            return Status.invalidParameter
        }
        guard let conn = Handles.object(connection, as: ConnectionObject.self),
              let config = Handles.object(configuration, as: Configuration.self) else {
            return Status.invalidParameter
        }
        guard !conn.isServer else { return Status.invalidParameter }
        // MsQuic (api.c): the server name may be NULL when QUIC_PARAM_CONN_REMOTE_ADDRESS was
        // set; then no SNI is sent.
        let remoteSet = conn.worker.sync { conn.remoteAddressOverride != nil } ?? false
        guard serverName != nil || remoteSet else { return Status.invalidParameter }
        let name = serverName.map { String(cString: $0) }
        guard config.credential != nil else { return Status.invalidParameter }
        if Worker.current != nil && !conn.worker.isCurrent {
            // From a callback on another worker, which cannot wait for this one: queued, as
            // MsQuic always queues the start (QUIC_STATUS_PENDING); a failure found on the
            // connection's worker ends the connection with that status.
            let posted = conn.worker.post {
                let status = startOnWorker(conn, config, family, name, serverPort)
                if Status.isFailure(status) { conn.startFailed(status) }
            }
            return posted ? Status.pending : Status.invalidState
        }
        return startOnWorker(conn, config, family, name, serverPort)
    }

    /// The body of ConnectionStart, from an application thread or on the connection's worker.
    private static func startOnWorker(_ conn: ConnectionObject, _ config: Configuration, _ family: UInt16,
                                      _ name: String?, _ serverPort: UInt16) -> QuicStatus {
        let overrides: (Settings?, [UInt8]?, UDPAddress?, UDPAddress?)? = conn.worker.sync {
            (conn.ownSettings, conn.ticketToResume, conn.remoteAddressOverride, conn.localAddressOverride)
        }
        // QUIC_PARAM_CONN_REMOTE_ADDRESS set before start wins over resolving the name; the
        // port is always ServerPort (MsQuic sets it on the address either way).
        var remote: UDPAddress
        if let set = overrides?.2 {
            remote = set
            remote.port = serverPort
        } else if let name, let resolved = Resolver.resolve(name, port: serverPort, family: family) {
            remote = resolved
        } else {
            // As in MsQuic, the name is the connection's business once ConnectionStart took
            // it: the call succeeds (PENDING) and a name that resolves to nothing ends the
            // connection (SHUTDOWN_INITIATED_BY_TRANSPORT, then SHUTDOWN_COMPLETE).
            let posted = conn.worker.post { conn.startFailed(Status.invalidAddress) }
            return posted ? Status.pending : Status.invalidState
        }
        // With no name, the peer's address stands in for it (checked against the certificate
        // as an IP, never sent as SNI: RFC 6066 §3).
        let hostName = name ?? remote.hostDescription
        let sni: String? = UDPAddress(host: hostName, port: 0) == nil ? hostName : nil
        guard var engine = config.clientEngineConfiguration(serverName: sni ?? hostName, overrides: overrides?.0) else {
            return Status.invalidParameter
        }
        // VERSION_SETTINGS naming draft-29 or MS-1 first: a version we cannot speak.
        if engine.versions.isEmpty { return Status.notSupported }
        if let ticket = overrides?.1, let t = try? ClientSessionTicket(serialized: ticket) {
            engine.tls.resumptionTicket = t               // RFC 8446 §4.6.1, §2.2
        }
        if sni == nil { engine.tls.serverName = hostName }   // an IP literal: checked, not sent (RFC 6066 §3)
        // RFC 9000 §8.1.3: a token this server gave an earlier connection in NEW_TOKEN.
        let newTokenKey = NewTokenCache.key(server: hostName, port: serverPort)
        applyTestParameters(&engine, conn, config)
        guard let (started, shareBinding) = conn.worker.sync({ (conn.started, conn.shareUDPBinding) }), !started else {
            return Status.invalidState
        }
        let localOverride = overrides?.3
        // QUIC_PARAM_CONN_SHARE_UDP_BINDING with a local address another sharing client binding
        // has: the connection joins that binding (and moves to its worker first). Only from an
        // application thread, which may wait for both workers.
        var joining: Binding?
        if shareBinding, Worker.current == nil, let local = localOverride, let shared = Binding.sharedClient(at: local) {
            let moved: Bool? = conn.worker.sync {
                guard !conn.started, conn.core == nil else { return false }
                conn.moveToWorker(shared.worker)
                return true
            }
            if moved == true { joining = shared }
        }
        let result: QuicStatus? = conn.worker.sync {
            guard !conn.started, !conn.shutdownRequested else { return Status.invalidState }
            if conn.registrationShutDown {
                // The registration was shut down before the start: accepted, then ended.
                conn.startFailed(Status.aborted)
                return Status.pending
            }
            let local: UDPAddress = localOverride ?? (remote.family == .ipv4 ? .anyIPv4() : .anyIPv6())
            if local.family == .ipv4 && remote.family == .ipv6 {
                // QUIC_PARAM_CONN_LOCAL_ADDRESS IPv4 towards an IPv6 server: no path can
                // exist. MsQuic accepts the start and ends the connection with INVALID_ADDRESS.
                conn.startFailed(Status.invalidAddress)
                return Status.pending
            }
            let socket: UDPSocket
            let binding: Binding
            if let shared = joining, shared.worker.isCurrent, let s = shared.socket, shared.listeningPort == nil {
                socket = s
                binding = shared
                if engine.transportParameters.greaseQuicBit { binding.endpoint.configuration.allowsFixedBitZero = true }
            } else {
                do { socket = try UDPSocket(bindingTo: local) } catch {
                    if case PlatformError.system(_, let errno)? = error as? PlatformError, errno == 98 { return Status.addressInUse }
                    return Status.internalError
                }
                Library.noteSocket(socket.features)
                var ec = EndpointConfiguration(server: nil)
                ec.supportedVersions = engine.versions
                ec.allowsFixedBitZero = engine.transportParameters.greaseQuicBit   // RFC 9287 §3
                binding = Binding(worker: conn.worker, endpoint: Endpoint(configuration: ec))
                binding.socket = socket
                binding.closeWhenIdle = true
                do { try conn.worker.add(socket, handler: binding) } catch {
                    socket.close()
                    binding.discard()
                    return Status.internalError
                }
                if shareBinding { Binding.share(binding, at: socket.localAddress) }
            }
            let core: Connection
            if let token = NewTokenCache.take(for: newTokenKey) { engine.initialToken = token }
            do {
                core = try binding.endpoint.connect(configuration: engine, to: remote.socketAddress, now: Runtime.now)
            } catch {
                if binding !== joining {
                    conn.worker.remove(socket)
                    binding.discard()
                }
                return Status.internalError
            }
            conn.configuration = config
            conn.serverName = hostName
            conn.newTokenKey = newTokenKey
            conn.quicVersion = engine.versions.first?.rawValue ?? 1
            conn.datagramReceiveEnabled = engine.datagramReceiveEnabled
            conn.attach(core: core, binding: binding)
            conn.localAddressCache = socket.localAddress
            if socket.localAddress.isWildcard, var source = UDPSocket.routeSource(toward: remote) {
                // QUIC_PARAM_CONN_LOCAL_ADDRESS: the address the route to the server uses (MsQuic
                // reports its connected socket's), with our socket's port.
                source.port = socket.localAddress.port
                conn.localAddressCache = source
            }
            conn.service()
            return Status.success
        }
        return result ?? Status.invalidState
    }

    /// RFC 9368 version_information (configuration or global VERSION_NEGOTIATION_ENABLED, unless
    /// the connection's DISABLE_VNE_TP_GENERATION) and the connection's TEST_TRANSPORT_PARAMETER.
    /// On the connection's worker, or before it started (its fields are set before start).
    private static func applyTestParameters(_ engine: inout ConnectionConfiguration, _ conn: ConnectionObject,
                                            _ config: Configuration) {
        let (extra, disableVI): (RawTransportParameter?, Bool) = conn.worker.isCurrent
            ? (conn.testTransportParameter, conn.disableVersionInformation)
            : conn.worker.sync { (conn.testTransportParameter, conn.disableVersionInformation) } ?? (nil, false)
        engine.sendsVersionInformation = config.versionNegotiationExtEnabled && !disableVI
        if let extra { engine.transportParameters.rawExtras = [extra] }
    }

    static func connectionSetConfiguration(_ connection: OpaquePointer?,
                                           _ configuration: OpaquePointer?) -> QuicStatus {
        guard let conn = Handles.object(connection, as: ConnectionObject.self),
              let config = Handles.object(configuration, as: Configuration.self) else {
            return Status.invalidParameter
        }
        guard conn.isServer else { return Status.invalidParameter }
        guard config.credential != nil else { return Status.invalidParameter }
        let body: () -> QuicStatus = {
            guard conn.configuration == nil, let binding = conn.binding, let dcid = conn.acceptDCID else {
                return Status.invalidState
            }
            guard var engine = config.serverEngineConfiguration(alpn: conn.negotiatedALPN) else {
                return Status.invalidParameter
            }
            engine.tls.resumptionAcceptance = conn.resumptionAcceptanceHook()   // RESUMED
            applyTestParameters(&engine, conn, config)
            // DATAGRAM_RECEIVE_ENABLED set on the connection inside NEW_CONNECTION wins over the
            // configuration's setting (RFC 9221 §3: max_datagram_frame_size is advertised).
            if let own = conn.ownSettings, own.isSet(.datagramReceiveEnabled) {
                engine.datagramReceiveEnabled = own[.datagramReceiveEnabled] != 0
            }
            conn.configuration = config
            conn.datagramReceiveEnabled = engine.datagramReceiveEnabled
            if let code = conn.shutdownBeforeAccept {
                // Shut down inside NEW_CONNECTION: the engine answers the client's Initial with
                // the close rather than a handshake (MsQuic runs the shutdown first too).
                conn.shutdownBeforeAccept = nil
                conn.closeErrorCode = code
                engine.refusal = .applicationClose(code)
            }
            binding.completeAccept(dcid: dcid, configuration: engine, object: conn)
            return Status.success
        }
        // From a callback on another worker: queued (MsQuic queues it too and answers
        // PENDING); a configuration refused there ends the connection.
        return conn.worker.runOrQueue(queued: Status.pending, body, failedLater: { status in
            if status != Status.invalidState { conn.startFailed(status) }
        })
    }

    static func connectionSendResumptionTicket(_ connection: OpaquePointer?, _ flags: UInt32,
                                               _ dataLength: UInt16, _ data: UnsafeRawPointer?) -> QuicStatus {
        guard dataLength <= Limits.maxResumptionAppDataLength, data != nil || dataLength == 0,
              flags <= 1,                                        // QUIC_SEND_RESUMPTION_FLAG_FINAL
              let conn = Handles.object(connection, as: ConnectionObject.self) else { return Status.invalidParameter }
        guard conn.isServer else { return Status.invalidParameter }
        let appData = data.map { Array(UnsafeRawBufferPointer(start: $0, count: Int(dataLength))) } ?? []
        let result: QuicStatus? = conn.worker.sync {
            guard let core = conn.core, core.isHandshakeComplete else { return Status.invalidState }
            do { try core.sendResumptionTicket(appData: appData, now: Runtime.now) } catch { return Status.invalidState }
            conn.service()
            return Status.success
        }
        return result ?? Status.invalidState
    }

    static func connectionResumptionTicketValidationComplete(_ connection: OpaquePointer?,
                                                             _ result: UInt8) -> QuicStatus {
        // MsQuic (src/core/api.c): INVALID_PARAMETER for a handle that is not a connection and
        // for a client connection; the completion is an operation on the connection's worker
        // and the call answers QUIC_STATUS_PENDING without waiting for its effect.
        guard let conn = Handles.object(connection, as: ConnectionObject.self), conn.isServer else {
            return Status.invalidParameter
        }
        let accept = result != 0
        return conn.worker.runOrQueue(queued: Status.pending) { conn.completeResumptionValidation(accept: accept) }
    }

    static func connectionCertificateValidationComplete(_ connection: OpaquePointer?, _ result: UInt8,
                                                        _ alert: UInt32) -> QuicStatus {
        // A TLS alert is one byte (RFC 8446 §6); QUIC_TLS_ALERT_CODE_SUCCESS (0xFFFF) is allowed
        // with an accepted certificate.
        guard let conn = Handles.object(connection, as: ConnectionObject.self),
              result != 0 || alert <= 0xFF else { return Status.invalidParameter }
        guard let decision = PeerCertificateDecision.validationComplete(result: result != 0, tlsAlert: alert) else {
            return Status.invalidParameter
        }
        let status: QuicStatus? = conn.worker.sync {
            guard conn.peerCertificatePending, let core = conn.core else { return Status.invalidState }
            conn.peerCertificatePending = false
            core.completePeerCertificateValidation(accept: decision == .accept, now: Runtime.now)
            conn.service()
            return Status.success
        }
        return status ?? Status.invalidState
    }

    /// QUIC_KEYING_MATERIAL_CONFIG: Label 0, ContextLength 8, Context 16, OutputLength 24.
    static func connectionExportKeyingMaterial(_ connection: OpaquePointer?, _ config: UnsafeRawPointer?,
                                               _ output: UnsafeMutablePointer<UInt8>?) -> QuicStatus {
        guard let conn = Handles.object(connection, as: ConnectionObject.self), let config, let output,
              let label = config.load(fromByteOffset: 0, as: UnsafePointer<CChar>?.self),
              config.load(fromByteOffset: 24, as: UInt32.self) > 0 else { return Status.invalidParameter }
        let contextLength = Int(config.load(fromByteOffset: 8, as: UInt32.self))
        let contextPointer = config.load(fromByteOffset: 16, as: UnsafeRawPointer?.self)
        if contextLength > 0 && contextPointer == nil { return Status.invalidParameter }
        let outputLength = Int(config.load(fromByteOffset: 24, as: UInt32.self))
        let labelBytes = Array(String(cString: label).utf8)
        let context = contextPointer.map { Array(UnsafeRawBufferPointer(start: $0, count: contextLength)) } ?? []
        let result: [UInt8]?? = conn.worker.sync {
            guard let core = conn.core, core.isHandshakeComplete else { return nil }
            return try? core.handshake.exportKeyingMaterial(label: labelBytes, context: context, length: outputLength)
        }
        guard let material = result ?? nil, material.count == outputLength else { return Status.invalidState }
        for i in 0..<outputLength { output[i] = material[i] }
        return Status.success
    }

    // MARK: Datagrams (RFC 9221)

    static func datagramSend(_ connection: OpaquePointer?, _ buffers: UnsafeRawPointer?,
                             _ bufferCount: UInt32, _ flags: UInt32,
                             _ context: UnsafeMutableRawPointer?) -> QuicStatus {
        guard let conn = Handles.object(connection, as: ConnectionObject.self), let buffers, bufferCount > 0 else {
            return Status.invalidParameter
        }
        var payload: [UInt8] = []
        var total = 0
        // One DATAGRAM frame carries it whole (RFC 9221 §5): never more than a UDP payload.
        // Checked per buffer so the sum of app-given UInt32 lengths stays below 2^17.
        for i in 0..<Int(bufferCount) {
            total += Int(QuicBuffers.length(buffers, i))
            guard total <= Int(UInt16.max) else { return Status.invalidParameter }
        }
        for i in 0..<Int(bufferCount) {
            let length = Int(QuicBuffers.length(buffers, i))
            guard length == 0 || QuicBuffers.pointer(buffers, i) != nil else { return Status.invalidParameter }
            if let p = QuicBuffers.pointer(buffers, i), length > 0 {
                payload += UnsafeRawBufferPointer(start: p, count: length)
            }
        }
        let bytes = payload
        // MsQuic (api.c) queues every send and answers PENDING; before the handshake the
        // datagram waits for the peer's transport parameters (RFC 9221 §3).
        return conn.worker.runOrQueue(queued: Status.pending, {
            guard conn.datagramSendEnabled, !conn.shutdownRequested, !conn.shutdownInitiated else {
                return Status.invalidState
            }
            guard let core = conn.core, conn.connected else {
                conn.earlyDatagrams.append((bytes, context))
                return Status.pending
            }
            do {
                let id = try core.sendDatagram(bytes)
                conn.datagramContexts[id] = context
            } catch {
                return Status.invalidParameter
            }
            conn.service()
            return Status.pending
        }, failedLater: { _ in
            // Queued from another worker and refused there: reported as canceled.
            let ev = RawEvent(type: EventType.datagramSendStateChanged)
            ev.set(8, context)
            ev.set(16, UInt32(6))                    // QUIC_DATAGRAM_SEND_CANCELED
            conn.deliver(ev)
            ev.free()
        })
    }
}
