// Listeners (docs/api/ListenerOpen.md, ListenerStart.md, ListenerStop.md, ListenerClose.md,
// QUIC_LISTENER_EVENT.md): registered on their port's ListeningPort (one SO_REUSEPORT socket
// per worker, shared by the listeners of a port and address), NEW_CONNECTION for each client
// the port hands them by ALPN, STOP_COMPLETE after ListenerStop.

import QuicCore
import QuicPlatform
import QuicTLS
import QuicWire
import Synchronization

/// Sendable (unchecked): `let`s, a Mutex-guarded `State` and atomic counters. Its bindings are
/// touched only on their workers after `start` (see Binding).
final class ListenerObject: CallbackObject, @unchecked Sendable {
    let registration: Registration

    struct State {
        var alpns: [[UInt8]] = []
        var bindings: [Binding] = []
        var started = false
        var stopping = false
        /// The port this listener is registered on, its number, and the bound address of the
        /// socket group it uses there.
        var port: ListeningPort?
        var claimedPort: UInt16?
        var groupAddress: UDPAddress?
        /// The address the sockets are bound to, kept here so that QUIC_PARAM_LISTENER_LOCAL_ADDRESS
        /// from an application thread never reads `Binding.socket`, which belongs to the worker.
        var localAddress: UDPAddress?
        /// ListenerStart was given no address (a dual-stack wildcard socket).
        var unspecifiedAddress = false
    }
    let state = Mutex(State())
    /// QUIC_LISTENER_STATISTICS counters.
    let acceptedConnections = Atomic<UInt64>(0)
    let rejectedConnections = Atomic<UInt64>(0)

    init(registration: Registration, handler: UnsafeRawPointer?, context: UnsafeMutableRawPointer?) {
        self.registration = registration
        super.init(handleType: .listener, handler: handler)
        self.context = context
    }


    var localAddress: UDPAddress? { state.withLock { $0.localAddress } }

    /// Datagrams the listener's sockets dropped (BindingRecvDroppedPackets).
    var droppedDatagrams: UInt64 {
        state.withLock { $0.bindings.reduce(0) { $0 &+ $1.droppedDatagrams.load(ordering: .relaxed) } }
    }

    /// QUIC_PARAM_LISTENER_LOCAL_ADDRESS as MsQuic reports it (listener.c): the address given
    /// to ListenerStart with the port the socket got; for a NULL address, an all-zero
    /// QUIC_ADDR (QUIC_ADDRESS_FAMILY_UNSPEC) with that port, so that a client resolving
    /// "localhost" with that family gets whatever the machine has (the socket takes both).
    var reportedLocalAddress: [UInt8]? {
        let (address, unspecified) = state.withLock { ($0.localAddress, $0.unspecifiedAddress) }
        guard let address else { return nil }
        guard unspecified else { return QuicAddr.bytes(address) }
        var out = [UInt8](repeating: 0, count: QuicAddr.size)
        out[2] = UInt8(address.port >> 8)                 // sin_port, network byte order
        out[3] = UInt8(address.port & 0xFF)
        return out
    }

    func start(alpns: [[UInt8]], address: UDPAddress, unspecified: Bool = false) -> QuicStatus {
        guard let pool = Runtime.workers() else { return Status.outOfMemory }
        // The ALPNs are in place before any socket is live: a worker may raise NEW_CONNECTION
        // as soon as the listener is registered on its port.
        let already = state.withLock { s -> Bool in
            if s.started { return true }
            s.started = true
            s.alpns = alpns
            s.unspecifiedAddress = unspecified
            return false
        }
        if already { return Status.invalidState }
        // QUIC_PARAM_GLOBAL_RETRY_MEMORY_PERCENT: above that share of memory held by
        // handshakes (0: always) new clients are validated with a Retry first (RFC 9000
        // §8.1.2), decided per Initial by the binding (HandshakeBudget);
        // QUIC_PARAM_GLOBAL_STATELESS_RESET_KEY keys the reset tokens (RFC 9000 §10.3.2).
        var endpointConfiguration = EndpointConfiguration(server: nil)
        let (retryLimit, resetKey, versions) = Library.state.withLock {
            ($0.settings.global.retryMemoryLimit, $0.statelessResetKey, $0.settings.versions)
        }
        HandshakeBudget.setRetryMemoryLimit(retryLimit)
        endpointConfiguration.statelessResetKey = resetKey
        // QUIC_PARAM_GLOBAL_VERSION_SETTINGS: a client Initial in a version outside the
        // AcceptableVersions gets a Version Negotiation packet listing them (RFC 9000 §6.1).
        endpointConfiguration.supportedVersions = Self.acceptedVersions(versions)
        // How MsQuic files the listener on its port (QuicBindingRegisterListener): NULL or an
        // UNSPEC address is the UNSPEC family (any address of either family).
        let entry = ListeningPort.Entry(
            listener: self,
            family: unspecified ? ListeningPort.familyUnspec
                : (address.family == .ipv4 ? ListeningPort.familyInet : ListeningPort.familyInet6),
            wildcard: unspecified || address.isWildcard, address: address, alpns: alpns)
        // Datagrams are steered to the worker whose index their DCID's first byte carries, and
        // each worker's endpoint issues CIDs carrying its index: a client whose address or port
        // changes (NAT rebinding, RFC 9000 §9) still reaches its connection.
        var socketOptions = UDPSocketOptions()
        socketOptions.steerByConnectionID = true
        let group = UInt8(clamping: pool.workers.count)
        let outcome = ListeningPort.start(entry, address: address) {
            bindAddress, port throws(PlatformError) -> ([Binding], UDPAddress?) in
            var made: [Binding] = []
            // One key for the Retry and NEW_TOKEN tokens of all the port's endpoints (one per
            // worker and bound address): a client's next connection may reach any of them
            // (RFC 9000 §8.1.3).
            var configuration = endpointConfiguration
            configuration.addressTokenKey = port.addressTokenKey
            do throws(PlatformError) {
                // Each binding is complete (socket, port) before its socket is registered with
                // the worker: from that moment on only the worker touches it. Nothing here may
                // write a binding after `bindListener` has returned.
                let sockets = try pool.bindListener(address: bindAddress, options: socketOptions) { worker, socket in
                    var partitioned = configuration
                    partitioned.connectionIDPartition = (UInt8(clamping: made.count), group)
                    let b = Binding(worker: worker, endpoint: Endpoint(configuration: partitioned))
                    b.socket = socket
                    b.listeningPort = port
                    made.append(b)
                    return b
                }
                if let first = sockets.first { Library.noteSocket(first.features) }
                return (made, sockets.first?.localAddress)     // immutable on the socket
            } catch {
                for b in made { b.discard() }
                throw error
            }
        }
        switch outcome {
        case .refused(let status):
            state.withLock { $0.started = false; $0.alpns = [] }
            return status
        case .started(let port, let number, let bindings, let bound):
            state.withLock { s in
                s.bindings = bindings
                s.port = port
                s.claimedPort = number
                // The group's key: the address given with the port the sockets got.
                var key = address
                key.port = number
                s.groupAddress = key
                s.localAddress = bound
                s.stopping = false
            }
            return Status.success
        }
    }

    /// The versions a listener accepts, in its order of preference (compatible version
    /// negotiation upgrades to an earlier one, RFC 9368 §2.3): the global AcceptableVersions
    /// that we implement, or MsQuic's default list (v2, v1; its MS-1 and draft-29 we do not
    /// speak) when none are set.
    static func acceptedVersions(_ settings: VersionSettings?) -> [QuicVersion] {
        let implemented = [Versions.version2, Versions.version1].map { QuicVersion($0) }
        guard let acceptable = settings?.acceptable, !acceptable.isEmpty else { return implemented }
        let chosen = acceptable.map { QuicVersion($0) }.filter { implemented.contains($0) }
        return chosen.isEmpty ? implemented : chosen
    }

    /// Stops accepting. Connections already accepted go on; each socket closes when its last
    /// connection is gone. Returns false when the listener was not started.
    func stop(appClosing: Bool) -> Bool {
        let bindings = state.withLock { s -> [Binding]? in
            guard s.started, !s.stopping else { return nil }
            s.stopping = true
            let b = s.bindings
            s.bindings = []
            return b
        }
        guard bindings != nil else { return false }
        let (port, number, groupAddress) = state.withLock { s in
            defer { s.port = nil; s.claimedPort = nil; s.groupAddress = nil }
            return (s.port, s.claimedPort, s.groupAddress)
        }
        if let port, let number, let groupAddress {
            port.stop(self, port: number, address: groupAddress)
        }
        state.withLock { $0.started = false; $0.stopping = false; $0.localAddress = nil }
        // STOP_COMPLETE (AppCloseInProgress when ListenerClose stopped it).
        let ev = RawEvent(type: EventType.stopComplete)
        ev.set(8, UInt8(appClosing ? 1 : 0))
        _ = ev.deliver(handler, handle, context)
        ev.free()
        return true
    }

    /// On a binding's worker: a ClientHello arrived and its port chose this listener, with
    /// `negotiated` as the ALPN (ListeningPort.choose). Raises NEW_CONNECTION.
    func indicateNewConnection(on binding: Binding, dcid: ConnectionID, version: QuicVersion, info: ClientHelloInfo,
                               negotiated: [UInt8], crypto: [UInt8], local: UDPAddress, remote: UDPAddress) {
        // A listener being stopped takes no more clients (its STOP_COMPLETE waits for the
        // workers to be past any indication begun before).
        guard state.withLock({ $0.started && !$0.stopping }) else {
            binding.refuse(dcid: dcid, alpns: [[0]], registration: registration)
            return
        }
        // After RegistrationShutdown no connection is accepted (the client is refused as an
        // application without a protocol for it would be).
        if registration.shutdown != nil {
            rejectedConnections.add(1, ordering: .relaxed)
            binding.refuse(dcid: dcid, alpns: [[0]], registration: registration)
            return
        }
        let conn = ConnectionObject(registration: registration, worker: binding.worker, isServer: true,
                                    handler: nil, context: nil)
        conn.acceptDCID = dcid
        conn.binding = binding
        conn.serverName = info.serverName
        conn.remoteAddress = remote
        conn.localAddressCache = local
        conn.negotiatedALPN = negotiated
        conn.quicVersion = version.rawValue
        registration.adoptConnection(conn)
        Handles.register(conn)
        binding.setPendingObject(conn, for: dcid)
        // Counted as a handshaking connection until its handshake completes or it closes
        // (MsQuic: QuicLibraryOnHandshakeConnectionAdded when the connection is created).
        conn.chargeHandshake()

        // QUIC_NEW_CONNECTION_INFO (msquic.h): QuicVersion 0, LocalAddress 8, RemoteAddress 16,
        // CryptoBufferLength 24, ClientAlpnListLength 28, ServerNameLength 30,
        // NegotiatedAlpnLength 32, CryptoBuffer 40, ClientAlpnList 48, NegotiatedAlpn 56,
        // ServerName 64.
        let localBytes = QuicAddr.bytes(local)
        let remoteBytes = QuicAddr.bytes(remote)
        let clientList = info.alpnProtocols.flatMap { [UInt8($0.count)] + $0 }
        let name = Array((info.serverName ?? "").utf8)
        let status: QuicStatus = localBytes.withUnsafeBytes { l in remoteBytes.withUnsafeBytes { r in
            crypto.withUnsafeBytes { c in clientList.withUnsafeBytes { a in negotiated.withUnsafeBytes { n in
                name.withUnsafeBytes { sn in
                    let infoBlock = UnsafeMutableRawPointer.allocate(byteCount: 72, alignment: 8)
                    infoBlock.initializeMemory(as: UInt8.self, repeating: 0, count: 72)
                    defer { infoBlock.deallocate() }
                    // MsQuic fills QuicVersion in network byte order (v1 reads 0x01000000 on
                    // x86; seen with MsQuic 2.6's own listener), unlike CONN_QUIC_VERSION.
                    infoBlock.storeBytes(of: version.rawValue.bigEndian, toByteOffset: 0, as: UInt32.self)
                    infoBlock.storeBytes(of: l.baseAddress, toByteOffset: 8, as: UnsafeRawPointer?.self)
                    infoBlock.storeBytes(of: r.baseAddress, toByteOffset: 16, as: UnsafeRawPointer?.self)
                    infoBlock.storeBytes(of: UInt32(c.count), toByteOffset: 24, as: UInt32.self)
                    infoBlock.storeBytes(of: UInt16(clamping: a.count), toByteOffset: 28, as: UInt16.self)
                    infoBlock.storeBytes(of: UInt16(clamping: sn.count), toByteOffset: 30, as: UInt16.self)
                    infoBlock.storeBytes(of: UInt8(clamping: n.count), toByteOffset: 32, as: UInt8.self)
                    infoBlock.storeBytes(of: c.baseAddress, toByteOffset: 40, as: UnsafeRawPointer?.self)
                    infoBlock.storeBytes(of: a.baseAddress, toByteOffset: 48, as: UnsafeRawPointer?.self)
                    infoBlock.storeBytes(of: n.baseAddress, toByteOffset: 56, as: UnsafeRawPointer?.self)
                    infoBlock.storeBytes(of: info.serverName == nil ? nil : sn.baseAddress, toByteOffset: 64,
                                        as: UnsafeRawPointer?.self)
                    let ev = RawEvent(type: EventType.newConnection)
                    ev.set(8, UnsafeRawPointer(infoBlock))
                    ev.set(16, conn.handle)
                    conn.indicatingNewConnection = true
                    let s = ev.deliver(handler, handle, context)
                    conn.indicatingNewConnection = false
                    ev.free()
                    return s
                }
            } } }
        } }
        if Status.isFailure(status) {
            // Refused: MsQuic closes the connection and the handle itself.
            rejectedConnections.add(1, ordering: .relaxed)
            PerfCounters.add(PerfCounters.connAppReject)
            // MsQuic answers the client with CONNECTION_REFUSED (the client's
            // TransportShutdownStatus is QUIC_STATUS_CONNECTION_REFUSED).
            if conn.core == nil, conn.configuration == nil {
                binding.refuse(dcid: dcid, alpns: [negotiated], registration: registration, error: .connectionRefused)
            }
            conn.refusedByListener()
        } else {
            acceptedConnections.add(1, ordering: .relaxed)
            conn.finishNewConnection()
            conn.service()
        }
    }
}

extension Binding {
    /// No common ALPN: let the engine run the handshake with a configuration that has no
    /// credential and our ALPN list, so the client gets CRYPTO_ERROR no_application_protocol
    /// (RFC 9001 §8.1) instead of silence.
    func refuse(dcid: ConnectionID, alpns: [[UInt8]], registration: Registration, error: TransportErrorCode? = nil) {
        guard let entry = removePending(dcid) else { return }
        var config = ConnectionConfiguration(tls: TLSConfiguration(role: .server, alpnProtocols: alpns))
        config.refusal = error.map { .transportError($0) }
        config.handshakeIdleTimeout = .seconds(1)
        endpoint.configuration.server = config
        let now = Runtime.now
        for bytes in entry.peek.datagrams {
            var copy = bytes
            copy.withUnsafeMutableBytes { raw in
                if let event = endpoint.handle(datagram: raw, from: entry.remote.socketAddress, now: now),
                   case .newConnection(let conn) = event {
                    let object = ConnectionObject(registration: registration, worker: worker, isServer: true,
                                                  handler: nil, context: nil)
                    object.appClosed = true
                    object.attach(core: conn, binding: self)
                    object.service(now: now)
                }
            }
        }
        endpoint.configuration.server = nil
    }
}
