// Listeners (docs/api/ListenerOpen.md, ListenerStart.md, ListenerStop.md, ListenerClose.md,
// QUIC_LISTENER_EVENT.md): one SO_REUSEPORT socket per worker, NEW_CONNECTION for each
// client whose ClientHello offers one of the listener's ALPNs, STOP_COMPLETE after ListenerStop.

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
        /// The port this listener holds in `ListenerObject.ports`.
        var claimedPort: UInt16?
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

    /// Ports of the started listeners of this process and their ALPNs. Listener sockets use
    /// SO_REUSEPORT (one per worker), so a second listener on the same port would bind too and
    /// the kernel would spread clients over both by address hash: a client would reach the
    /// wrong listener at random and be refused. MsQuic shares one binding between such
    /// listeners and picks by ALPN; that sharing is not implemented, so the second listener is
    /// refused: ALPN_IN_USE when it offers an ALPN the other has (as MsQuic), else
    /// ADDRESS_IN_USE.
    private static let ports = Mutex<[UInt16: [ObjectIdentifier: [[UInt8]]]]>([:])

    private func claim(port: UInt16, alpns: [[UInt8]]) -> QuicStatus? {
        ListenerObject.ports.withLock { ports -> QuicStatus? in
            if let others = ports[port], !others.isEmpty {
                let overlap = others.values.contains { theirs in theirs.contains { alpns.contains($0) } }
                return overlap ? Status.alpnInUse : Status.addressInUse
            }
            ports[port, default: [:]][ObjectIdentifier(self)] = alpns
            return nil
        }
    }

    private func release(port: UInt16) {
        ListenerObject.ports.withLock { ports in
            ports[port]?[ObjectIdentifier(self)] = nil
            if ports[port]?.isEmpty == true { ports[port] = nil }
        }
    }

    func start(alpns: [[UInt8]], address: UDPAddress, unspecified: Bool = false) -> QuicStatus {
        guard let pool = Runtime.workers() else { return Status.outOfMemory }
        // The ALPNs are in place before any socket is live: a worker may raise NEW_CONNECTION
        // (indicateNewConnection reads them) as soon as the first socket is registered.
        let already = state.withLock { s -> Bool in
            if s.started { return true }
            s.started = true
            s.alpns = alpns
            s.unspecifiedAddress = unspecified
            return false
        }
        if already { return Status.invalidState }
        if address.port != 0 {
            if let refused = claim(port: address.port, alpns: alpns) {
                state.withLock { $0.started = false; $0.alpns = [] }
                return refused
            }
            state.withLock { $0.claimedPort = address.port }
        }
        var made: [Binding] = []
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
        // One key for the Retry and NEW_TOKEN tokens of all this listener's endpoints (one per
        // worker): a client's next connection may reach any of them (RFC 9000 §8.1.3).
        endpointConfiguration.addressTokenKey = Endpoint.freshAddressTokenKey()
        // QUIC_PARAM_GLOBAL_VERSION_SETTINGS: a client Initial in a version outside the
        // AcceptableVersions gets a Version Negotiation packet listing them (RFC 9000 §6.1).
        endpointConfiguration.supportedVersions = Self.acceptedVersions(versions)
        let bound: UDPAddress?
        do {
            // Datagrams are steered to the worker whose index their DCID's first byte carries,
            // and each worker's endpoint issues CIDs carrying its index: a client whose address
            // or port changes (NAT rebinding, RFC 9000 §9) still reaches its connection.
            var socketOptions = UDPSocketOptions()
            socketOptions.steerByConnectionID = true
            let group = UInt8(clamping: pool.workers.count)
            // Each binding is complete (socket, listener) before its socket is registered with
            // the worker: from that moment on only the worker touches it. Nothing here may
            // write a binding after `bindListener` has returned.
            let sockets = try pool.bindListener(address: address, options: socketOptions) { worker, socket in
                var partitioned = endpointConfiguration
                partitioned.connectionIDPartition = (UInt8(clamping: made.count), group)
                let b = Binding(worker: worker, endpoint: Endpoint(configuration: partitioned))
                b.socket = socket
                b.listener = self
                made.append(b)
                return b
            }
            bound = sockets.first?.localAddress         // immutable on the socket
            if let first = sockets.first { Library.noteSocket(first.features) }
        } catch {
            for b in made { b.discard() }
            if let port = state.withLock({ $0.claimedPort }) { release(port: port) }
            state.withLock { $0.started = false; $0.claimedPort = nil; $0.alpns = [] }
            if case .system(_, let errno) = error, errno == 98 { return Status.addressInUse }
            return Status.internalError
        }
        if address.port == 0, let port = bound?.port, port != 0 {
            // An ephemeral port: the kernel gave every socket of the group the same one.
            if claim(port: port, alpns: alpns) == nil { state.withLock { $0.claimedPort = port } }
        }
        state.withLock { s in
            s.bindings = made
            s.localAddress = bound
            s.stopping = false
        }
        return Status.success
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
        guard let bindings else { return false }
        if let port = state.withLock({ s -> UInt16? in
            defer { s.claimedPort = nil }
            return s.claimedPort
        }) { release(port: port) }
        for b in bindings {
            b.worker.perform {
                b.listener = nil
                b.closeWhenIdle = true
                b.removeUnannouncedPending()
                b.closeIfIdle()
            }
        }
        state.withLock { $0.started = false; $0.stopping = false; $0.localAddress = nil }
        // STOP_COMPLETE (AppCloseInProgress when ListenerClose stopped it).
        let ev = RawEvent(type: EventType.stopComplete)
        ev.set(8, UInt8(appClosing ? 1 : 0))
        _ = ev.deliver(handler, handle, context)
        ev.free()
        return true
    }

    /// On a binding's worker: a ClientHello arrived. Raises NEW_CONNECTION, or refuses a
    /// client that offers none of our ALPNs (RFC 7301 §3.2: no_application_protocol).
    func indicateNewConnection(on binding: Binding, dcid: ConnectionID, version: QuicVersion, info: ClientHelloInfo,
                               crypto: [UInt8], local: UDPAddress, remote: UDPAddress) {
        let alpns = state.withLock { $0.alpns }
        // After RegistrationShutdown no connection is accepted (the client is refused as an
        // application without a protocol for it would be).
        if registration.shutdown != nil {
            rejectedConnections.add(1, ordering: .relaxed)
            binding.refuse(dcid: dcid, alpns: [[0]], registration: registration)
            return
        }
        // The server's preference order (RFC 7301 §3.2).
        guard let negotiated = alpns.first(where: { info.alpnProtocols.contains($0) }) else {
            rejectedConnections.add(1, ordering: .relaxed)
            binding.refuse(dcid: dcid, alpns: alpns, registration: registration)
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
