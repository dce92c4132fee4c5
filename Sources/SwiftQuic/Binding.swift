// A UDP socket on one worker and the QuicCore `Endpoint` behind it: a client connection's own
// socket, or one of a listener's SO_REUSEPORT sockets (one per worker). Everything here runs
// on the socket's worker.

import QuicCore
import QuicPlatform
import QuicTLS
import QuicWire
import Synchronization

/// Sendable (unchecked): worker-bound. It is made complete (socket, listener, endpoint) on the
/// creating thread before its socket is registered with the worker (Listener.start,
/// startOnWorker), and from then on used only on that worker (`Listener.stop` goes through
/// `perform`); the `live` registry is a Mutex.
final class Binding: UDPSocketHandler, @unchecked Sendable {
    let worker: Worker
    var socket: UDPSocket?
    let endpoint: Endpoint
    /// The listener accepting on this socket; nil for a client socket or once stopped.
    weak var listener: ListenerObject?
    /// The API objects of the engine's connections.
    var connections: [ObjectIdentifier: ConnectionObject] = [:]
    /// Client Initials waiting for the application's NEW_CONNECTION answer, by DCID.
    var pending: [ConnectionID: PendingAccept] = [:]
    /// Closes the socket once the last connection is gone (listener stopped / client done).
    var closeWhenIdle = false
    /// Datagrams no connection took and nothing answered (QUIC_LISTENER_STATISTICS'
    /// BindingRecvDroppedPackets); read from application threads.
    let droppedDatagrams = Atomic<UInt64>(0)

    init(worker: Worker, endpoint: Endpoint) {
        self.worker = worker
        self.endpoint = endpoint
        Binding.live.withLock { $0[ObjectIdentifier(self)] = self }
    }

    /// Every binding whose socket is not closed yet. A binding and its connections refer to each
    /// other (`connections` / `ConnectionObject.binding`) until the engine connection is closed;
    /// a connection still closing or draining when the last MsQuicClose stops the workers would
    /// keep that cycle forever, so the library tears the remaining bindings down first.
    static let live = Mutex<[ObjectIdentifier: Binding]>([:])

    /// A binding that never got going (its socket could not be made or registered): forget it.
    func discard() {
        _ = Binding.live.withLock { $0.removeValue(forKey: ObjectIdentifier(self)) }
        Binding.unshare(self)
    }

    /// Client bindings opened with QUIC_PARAM_CONN_SHARE_UDP_BINDING, by local address: another
    /// client connection set to the same local address (QUIC_PARAM_CONN_LOCAL_ADDRESS) joins
    /// the binding instead of opening a socket, as MsQuic's non-exclusive bindings. Its
    /// connections are told apart by connection ID (RFC 9000 §5.2).
    static let sharedClients = Mutex<[(address: UDPAddress, binding: Binding)]>([])

    static func share(_ binding: Binding, at address: UDPAddress) {
        sharedClients.withLock { $0.append((address, binding)) }
    }

    static func unshare(_ binding: Binding) {
        sharedClients.withLock { $0.removeAll { $0.binding === binding } }
    }

    /// The shared client binding for `local` (same family and port; the same address unless
    /// either is a wildcard).
    static func sharedClient(at local: UDPAddress) -> Binding? {
        sharedClients.withLock { list in
            list.first { entry in
                entry.address.family == local.family && entry.address.port == local.port &&
                    (entry.address.isWildcard || local.isWildcard || entry.address == local)
            }?.binding
        }
    }

    /// The bindings still open, forgotten by the registry (the last MsQuicClose).
    static func takeAllLive() -> [Binding] {
        live.withLock { map -> [Binding] in
            let all = Array(map.values)
            map.removeAll()
            return all
        }
    }

    var localAddress: UDPAddress? { socket?.localAddress }

    // MARK: UDPSocketHandler

    func receive(_ datagrams: ReceivedDatagrams, on socket: UDPSocket) {
        let now = Runtime.now
        touched.removeAll(keepingCapacity: true)
        var unrouted = false
        for d in datagrams {
            let remote = d.remote.socketAddress
            let buffer = UnsafeMutableRawBufferPointer(mutating: d.payload)
            if listener != nil || !pending.isEmpty, let dcid = newInitialDCID(d.payload) {
                accept(buffer, dcid: dcid, remote: d.remote, local: d.local, now: now)
                continue
            }
            // The connection the datagram is for (RFC 9000 §5.2: by Destination Connection ID),
            // so that only the connections that got something are serviced.
            if let object = route(d.payload) {
                if !touched.contains(where: { $0 === object }) { touched.append(object) }
            } else {
                unrouted = true
                if isDropped(d.payload) { droppedDatagrams.add(1, ordering: .relaxed) }
            }
            let retrying = listener != nil && endpoint.configuration.requireRetry
            // The endpoint answers a tokenless Initial with a Retry only when it accepts
            // connections; no connection is made from this datagram (it has no token).
            if retrying { endpoint.configuration.server = Binding.retryOnlyConfiguration }
            // A listening socket answers other versions with Version Negotiation (RFC 9000 §6.1).
            endpoint.configuration.answersVersionNegotiation = listener != nil
            if let event = endpoint.handle(datagram: buffer, from: remote, now: now),
               case .newConnection(let conn) = event {
                adoptUnclaimed(conn)
            }
            if retrying { endpoint.configuration.server = nil }
        }
        if unrouted || connections.count <= 4 {
            serviceAll(now: now)
        } else {
            for object in touched { object.service(now: now) }
            flushStateless()
        }
        touched.removeAll(keepingCapacity: true)
    }

    /// Whether the endpoint will drop an unrouted datagram without an answer: unparseable
    /// (RFC 9000 §5.2, §17.2: e.g. a connection ID over 20 bytes), a client Initial with a
    /// DCID under 8 bytes (§7.2) or in a datagram under 1200 bytes (§14.1), another long
    /// header packet for no connection. A short header one may get a stateless reset; an
    /// unsupported version in a full-size datagram gets Version Negotiation.
    private func isDropped(_ payload: UnsafeRawBufferPointer) -> Bool {
        guard let header = try? PacketHeader.parse(payload, shortHeaderDCIDLength: endpoint.configuration.connectionIDLength,
                                                   allowFixedBitZero: endpoint.configuration.allowsFixedBitZero) else {
            return true
        }
        guard header.isLongHeader else { return false }
        switch header.kind {
        case .initial: return header.dcid.length < 8 || payload.count < 1200 || listener == nil
        case .unsupportedVersion: return payload.count < 1200 || listener == nil
        default: return true
        }
    }

    private var touched: [ConnectionObject] = []
    static let retryOnlyConfiguration = ConnectionConfiguration(tls: TLSConfiguration(role: .server, alpnProtocols: []))
    /// Connection IDs (and accepted Initial DCIDs) -> connections; rebuilt when a lookup misses.
    private var routes: [ConnectionID: ConnectionObject] = [:]

    private func route(_ payload: UnsafeRawBufferPointer) -> ConnectionObject? {
        guard let header = try? PacketHeader.parse(payload, shortHeaderDCIDLength: endpoint.configuration.connectionIDLength,
                                                   allowFixedBitZero: endpoint.configuration.allowsFixedBitZero)
        else { return nil }
        if let o = routes[header.dcid], o.binding === self { return o }
        routes.removeAll(keepingCapacity: true)
        for o in connections.values {
            if let d = o.acceptDCID { routes[d] = o }
            for id in o.core?.localConnectionIDs ?? [] { routes[id] = o }
        }
        return routes[header.dcid]
    }

    /// The kernel took the sends that had to wait: let the connections send what is left.
    func writable(_ socket: UDPSocket) {
        serviceAll(now: Runtime.now)
    }

    func failed(_ socket: UDPSocket, error: PlatformError) {
        self.socket = nil
    }

    // MARK: Connections

    func add(_ object: ConnectionObject, core: Connection) {
        connections[ObjectIdentifier(core)] = object
    }

    /// Runs every connection of this socket (events, sends, timers).
    func serviceAll(now: QuicInstant) {
        for object in Array(connections.values) { object.service(now: now) }
        flushStateless()
    }

    /// Sends what the endpoint answers statelessly (Version Negotiation, Retry, resets).
    func flushStateless() {
        guard let socket else { return }
        while let (destination, bytes) = endpoint.pollTransmit() {
            guard let to = UDPAddress(destination) else { continue }
            bytes.withUnsafeBytes { _ = socket.send($0, to: to) }
        }
    }

    /// Called by a connection whose engine closed: forget it, close an idle socket.
    func remove(_ core: Connection) {
        connections[ObjectIdentifier(core)] = nil
        // The endpoint forgets closed connections by itself only when a datagram reaches them;
        // one closed by its timer (draining over, idle timeout) or by the API stays in its
        // tables, and `Connection.registry` points back at the endpoint: a reference cycle
        // that would keep every such connection alive.
        endpoint.removeClosedConnections()
        closeIfIdle()
    }

    func closeIfIdle() {
        guard closeWhenIdle, connections.isEmpty, pending.isEmpty, let socket else { return }
        Binding.unshare(self)
        self.socket = nil
        worker.remove(socket)
        releaseEngineConnections()
        _ = Binding.live.withLock { $0.removeValue(forKey: ObjectIdentifier(self)) }
    }

    /// The socket is gone: every engine connection the endpoint still holds (closed ones it
    /// was never told to forget, connections it made on its own such as a refused client's,
    /// ones still closing or draining) ends now and is forgotten, breaking the
    /// Connection.registry <-> Endpoint cycle.
    private func releaseEngineConnections() {
        // Closing or draining ones too: with the socket gone their period would only be spent
        // on timers (and a connection closing when the library stops would never be freed).
        for conn in endpoint.allConnections where !conn.isClosed { conn.terminate() }
        endpoint.removeClosedConnections()
    }

    /// On the worker, at the last MsQuicClose (every handle is already closed): drops the
    /// connections still closing or draining, without a word on the wire, and closes the
    /// socket, so that no binding/connection reference cycle outlives the library.
    func tearDown() {
        Binding.unshare(self)
        listener = nil
        closeWhenIdle = true
        pending.removeAll()
        let objects = Array(connections.values)
        connections.removeAll()
        routes.removeAll()
        touched.removeAll()
        for object in objects { object.abandon() }
        releaseEngineConnections()
        if let socket {
            self.socket = nil
            worker.remove(socket)
        }
    }

    /// An engine connection nobody asked for (cannot happen for a client socket; a listener
    /// socket creates connections only through `accept`): closed at once.
    private func adoptUnclaimed(_ conn: Connection) {
        conn.close(errorCode: 0, silent: true, now: Runtime.now)
    }

    // MARK: Accepting (listener sockets)

    /// The DCID of a client Initial no connection owns yet (RFC 9000 §7.2), else nil.
    private func newInitialDCID(_ payload: UnsafeRawBufferPointer) -> ConnectionID? {
        guard payload.count > 0, payload[0] & 0x80 != 0,
              let header = try? PacketHeader.parse(payload, shortHeaderDCIDLength: endpoint.configuration.connectionIDLength,
                                                   allowFixedBitZero: endpoint.configuration.allowsFixedBitZero),
              header.kind == .initial else { return nil }
        if pending[header.dcid] != nil { return header.dcid }
        // With Retry required, an Initial without a token goes to the endpoint, which answers
        // with a Retry (RFC 9000 §8.1.2); the application hears of the client once it comes
        // back with the token.
        if endpoint.configuration.requireRetry && header.tokenRange.isEmpty { return nil }
        for object in connections.values {
            if object.acceptDCID == header.dcid { return nil }
            if let c = object.core, c.localConnectionIDs.contains(header.dcid) { return nil }
        }
        // RFC 9000 §14.1: a first Initial comes in a datagram of at least 1200 bytes; §7.2:
        // with a DCID of at least 8 bytes.
        guard payload.count >= 1200, header.dcid.length >= 8, listener != nil, endpoint.configuration.supportedVersions.contains(header.version) else {
            return nil
        }
        return header.dcid
    }

    private func accept(_ buffer: UnsafeMutableRawBufferPointer, dcid: ConnectionID, remote: UDPAddress,
                        local: UDPAddress?, now: QuicInstant) {
        guard let header = try? PacketHeader.parse(UnsafeRawBufferPointer(buffer),
                                                   shortHeaderDCIDLength: endpoint.configuration.connectionIDLength,
                                                   allowFixedBitZero: endpoint.configuration.allowsFixedBitZero) else {
            droppedDatagrams.add(1, ordering: .relaxed)
            return
        }
        var entry = pending[dcid] ?? PendingAccept(peek: InitialPeek(version: header.version, dcid: dcid), remote: remote)
        guard entry.object == nil else {
            // Waiting for ConnectionSetConfiguration: keep the datagram for later (bounded).
            if entry.held.count < 8 { entry.held.append(Array(buffer)) }
            pending[dcid] = entry
            return
        }
        let result: (ClientHelloInfo, [UInt8])?
        do {
            result = try entry.peek.add(UnsafeRawBufferPointer(buffer))
        } catch {
            // Not a valid client Initial (RFC 9001 §5.2 keys do not open it, or no ClientHello).
            droppedDatagrams.add(1, ordering: .relaxed)
            pending[dcid] = nil
            return
        }
        guard let (info, crypto) = result else {
            if entry.peek.datagrams.count >= 4 { pending[dcid] = nil } else { pending[dcid] = entry }
            return
        }
        guard let listener else { pending[dcid] = nil; return }
        let localAddress = local ?? socket?.localAddress ?? UDPAddress.anyIPv4()
        pending[dcid] = entry
        listener.indicateNewConnection(on: self, dcid: dcid, version: header.version, info: info, crypto: crypto,
                                       local: localAddress, remote: remote)
    }

    /// The application gave the pending connection a configuration: create the engine
    /// connection with it and feed it the held datagrams.
    func completeAccept(dcid: ConnectionID, configuration: ConnectionConfiguration, object: ConnectionObject) {
        guard let entry = pending.removeValue(forKey: dcid) else { return }
        let now = Runtime.now
        var accepted: Connection?
        endpoint.configuration.server = configuration
        for bytes in entry.peek.datagrams + entry.held {
            var copy = bytes
            copy.withUnsafeMutableBytes { raw in
                if let event = endpoint.handle(datagram: raw, from: entry.remote.socketAddress, now: now),
                   case .newConnection(let conn) = event {
                    accepted = conn
                }
            }
        }
        endpoint.configuration.server = nil
        // RFC 9287 §3: a connection that advertised grease_quic_bit may get fixed-bit-0 packets.
        if configuration.transportParameters.greaseQuicBit { endpoint.configuration.allowsFixedBitZero = true }
        guard let core = accepted else {
            object.acceptFailed()
            return
        }
        object.attach(core: core, binding: self)
        object.service(now: now)
    }

    /// The application refused (or closed) a pending connection.
    func dropPending(dcid: ConnectionID) {
        pending[dcid] = nil
        closeIfIdle()
    }
}

/// A client's first flight while the listener's application decides.
struct PendingAccept {
    var peek: InitialPeek
    let remote: UDPAddress
    /// The API object handed out in NEW_CONNECTION, once the event was raised.
    var object: ConnectionObject?
    /// Datagrams that arrived after the ClientHello was complete.
    var held: [[UInt8]] = []
}
