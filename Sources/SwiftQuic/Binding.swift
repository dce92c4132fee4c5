// A UDP socket on one worker and the QuicCore `Endpoint` behind it: a client connection's own
// socket, or one of a listening port's SO_REUSEPORT sockets (one per worker and bound address,
// shared by the port's listeners: ListeningPort.swift). Everything here runs on the socket's
// worker.

import QuicCore
import QuicPlatform
import QuicTLS
import QuicWire
import Synchronization

/// Sendable (unchecked): worker-bound. It is made complete (socket, port, endpoint) on the
/// creating thread before its socket is registered with the worker (Listener.start,
/// startOnWorker), and from then on used only on that worker (`Listener.stop` goes through
/// `perform`); the `live` registry is a Mutex.
final class Binding: UDPSocketHandler, @unchecked Sendable {
    let worker: Worker
    var socket: UDPSocket?
    let endpoint: Endpoint
    /// The listening port whose listeners take this socket's new clients; nil for a client
    /// socket, and once the port has no listener left.
    weak var listeningPort: ListeningPort?
    /// The API objects of the engine's connections.
    var connections: [ObjectIdentifier: ConnectionObject] = [:]
    /// Client first flights by DCID: incomplete ClientHellos (bounded per source address and
    /// in total, expiring after `pendingLifetime`), and complete ones waiting for the
    /// application's answer to NEW_CONNECTION. Use `storePending`/`removePending`, which keep
    /// the handshake budget's count of their bytes.
    private(set) var pending: [ConnectionID: PendingAccept] = [:]
    /// Incomplete first flights per source IP address (port ignored), over every listener
    /// socket of the process (the kernel spreads one address's ports over the sockets of a
    /// SO_REUSEPORT group).
    private static let partialPerAddress = Mutex<[SocketAddress: Int]>([:])
    /// Incomplete first flights of this socket.
    private var partialCount = 0
    /// Sweeps expired incomplete first flights (on this worker).
    private var pendingTimer: WorkerTimer?
    /// Closes the socket once the last connection is gone (listener stopped / client done).
    var closeWhenIdle = false
    /// Datagrams no connection took and nothing answered (QUIC_LISTENER_STATISTICS'
    /// BindingRecvDroppedPackets); read from application threads.
    let droppedDatagrams = Atomic<UInt64>(0)
    /// Bumped by SetParam(QUIC_PARAM_GLOBAL_STATELESS_RESET_KEY); each binding picks the new
    /// key up on its worker at its next receive (one relaxed load per batch).
    static let resetKeyGeneration = Atomic<UInt64>(0)
    private var seenResetKeyGeneration: UInt64 = 0

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
        let keyGeneration = Binding.resetKeyGeneration.load(ordering: .acquiring)
        if keyGeneration != seenResetKeyGeneration {
            seenResetKeyGeneration = keyGeneration
            if let key = Library.state.withLock({ $0.statelessResetKey }) { endpoint.setStatelessResetKey(key) }
        }
        touched.removeAll(keepingCapacity: true)
        var unrouted = false
        // QUIC_PARAM_GLOBAL_PERF_COUNTERS: one receive event, its datagrams and bytes.
        var receivedBytes: Int64 = 0, receivedCount: Int64 = 0
        defer {
            PerfCounters.add(PerfCounters.udpReceiveEvents)
            PerfCounters.add(PerfCounters.udpReceive, receivedCount)
            PerfCounters.add(PerfCounters.udpReceiveBytes, receivedBytes)
        }
        let wildcard = listeningPort != nil && socket.localAddress.isWildcard
        for d in datagrams {
            receivedBytes += Int64(d.payload.count)
            receivedCount += 1
            let remote = d.remote.socketAddress
            let buffer = UnsafeMutableRawBufferPointer(mutating: d.payload)
            if listeningPort != nil || !pending.isEmpty, let header = newInitial(d.payload) {
                accept(buffer, header: header, remote: d.remote, local: d.local, now: now)
                if wildcard { flushStateless(from: d.local) }
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
            // A listening socket answers other versions with Version Negotiation (RFC 9000 §6.1).
            endpoint.configuration.answersVersionNegotiation = listeningPort != nil
            // RFC 9000 §13.4.1: the datagram's ECN codepoint is counted by the engine.
            if let event = endpoint.handle(datagram: buffer, from: remote, now: now,
                                           ecn: QuicCore.ECNCodepoint(rawValue: d.ecn.rawValue) ?? .notECT),
               case .newConnection(let conn) = event {
                adoptUnclaimed(conn)
            }
            if wildcard { flushStateless(from: d.local) }
        }
        if unrouted || connections.count <= 4 {
            serviceAll(now: now)
        } else {
            for object in touched { object.service(now: now) }
            flushStateless()
        }
        touched.removeAll(keepingCapacity: true)
        HandshakeBudget.indicateDosModeChanges()
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
        case .initial: return header.dcid.length < 8 || payload.count < 1200 || listeningPort == nil
        case .unsupportedVersion: return payload.count < 1200 || listeningPort == nil
        default: return true
        }
    }

    private var touched: [ConnectionObject] = []
    /// Reused by `serviceAll` for its copy of the connections (no allocation per batch).
    private var serviceScratch: [ConnectionObject] = []
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
        // A migrating client's extra socket (ConnectionMigration.swift) is not the binding's own.
        if socket === self.socket { self.socket = nil }
    }

    // MARK: Connections

    func add(_ object: ConnectionObject, core: Connection) {
        connections[ObjectIdentifier(core)] = object
    }

    /// Runs every connection of this socket (events, sends, timers).
    func serviceAll(now: QuicInstant) {
        // A copy (servicing may remove connections), into a reused array: no allocation.
        serviceScratch.removeAll(keepingCapacity: true)
        serviceScratch.append(contentsOf: connections.values)
        for object in serviceScratch { object.service(now: now) }
        serviceScratch.removeAll(keepingCapacity: true)
        flushStateless()
    }

    /// Sends what the endpoint answers statelessly (Version Negotiation, Retry, resets).
    /// `source`: the local address the datagram they answer arrived on, for a wildcard-bound
    /// socket: the answer leaves from the address the peer sent to (a client may only accept
    /// datagrams from there).
    func flushStateless(from source: UDPAddress? = nil) {
        guard let socket else { return }
        while let (destination, bytes) = endpoint.pollTransmit() {
            guard let to = UDPAddress(destination) else { continue }
            bytes.withUnsafeBytes { _ = socket.send($0, to: to, from: source) }
            PerfCounters.add(PerfCounters.udpSend)
            PerfCounters.add(PerfCounters.udpSendBytes, Int64(bytes.count))
        }
    }

    /// Called by a connection whose engine closed: forget it, close an idle socket.
    func remove(_ core: Connection) {
        if let object = connections.removeValue(forKey: ObjectIdentifier(core)) {
            // The route cache must not keep a closed connection (and its memory) alive until
            // the next rebuild.
            for id in core.localConnectionIDs where routes[id] === object { routes[id] = nil }
            if let d = object.acceptDCID, routes[d] === object { routes[d] = nil }
        }
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
        if let pendingTimer { worker.cancel(pendingTimer) }
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
        listeningPort = nil
        closeWhenIdle = true
        removeAllPending()
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

    /// Incomplete first flights expire after this long (µs): a client whose remaining
    /// Initials were lost sends its whole first flight again on its PTO (RFC 9002 §6.2), so
    /// nothing of value is lost; 3 s covers the first PTOs of a client.
    static let pendingLifetime: QuicDuration = .seconds(3)
    /// Incomplete first flights per client IP address (any port, all sockets): an honest
    /// client has one per connection attempt and only while its ClientHello spans several
    /// datagrams.
    static let maxPartialPerAddress = 16
    /// Incomplete first flights per socket, whatever the memory budget says.
    static let maxPartial = 4096
    /// A first flight holding more than this is not an honest ClientHello (a few KB even with
    /// post-quantum key shares): dropped.
    static let maxPendingFootprint = 32 * 1024
    /// Datagrams kept per pending entry (first flight, then while the application decides).
    static let maxPendingDatagrams = 4
    static let maxHeldDatagrams = 8

    /// The header of a client Initial no connection owns yet (RFC 9000 §7.2), else nil.
    private func newInitial(_ payload: UnsafeRawBufferPointer) -> PacketHeader? {
        guard payload.count > 0, payload[0] & 0x80 != 0,
              let header = try? PacketHeader.parse(payload, shortHeaderDCIDLength: endpoint.configuration.connectionIDLength,
                                                   allowFixedBitZero: endpoint.configuration.allowsFixedBitZero),
              header.kind == .initial else { return nil }
        if pending[header.dcid] != nil { return header }
        if endpoint.routesConnectionID(header.dcid) { return nil }
        // RFC 9000 §14.1: a first Initial comes in a datagram of at least 1200 bytes; §7.2:
        // its DCID is at least 8 bytes.
        guard payload.count >= 1200, header.dcid.length >= 8, listeningPort != nil,
              endpoint.configuration.supportedVersions.contains(header.version) else {
            return nil
        }
        return header
    }

    /// A client Initial for no connection: admission (Retry when over the handshake budget),
    /// then the ClientHello is gathered and the listener raises NEW_CONNECTION.
    private func accept(_ buffer: UnsafeMutableRawBufferPointer, header: PacketHeader, remote: UDPAddress,
                        local: UDPAddress?, now: QuicInstant) {
        let dcid = header.dcid
        let bytes = UnsafeRawBufferPointer(buffer)
        if var entry = pending[dcid] {
            guard entry.object == nil else {
                // Waiting for ConnectionSetConfiguration: keep the datagram for later (bounded).
                if entry.held.count < Binding.maxHeldDatagrams {
                    entry.held.append(Array(buffer))
                    storePending(entry, for: dcid)
                }
                return
            }
            let outcome: InitialPeek.Outcome
            do { outcome = try entry.peek.add(bytes) } catch {
                // Not a valid client Initial (RFC 9001 §5.2 keys do not open it, or no ClientHello).
                droppedDatagrams.add(1, ordering: .relaxed)
                removePending(dcid)
                return
            }
            switch outcome {
            case .undecryptable:
                return
            case .incomplete:
                if entry.peek.datagrams.count >= Binding.maxPendingDatagrams
                    || entry.peek.footprint > Binding.maxPendingFootprint {
                    removePending(dcid)
                } else {
                    storePending(entry, for: dcid)
                }
            case .complete(let info, let crypto):
                storePending(entry, for: dcid)
                raiseNewConnection(dcid: dcid, version: header.version, info: info, crypto: crypto,
                                   remote: remote, local: local)
            }
            return
        }

        // A new client. RFC 9000 §8.1.2, §8.1.3: a token of ours must check out.
        let token = endpoint.initialToken(header, in: bytes, from: remote.socketAddress, now: now)
        if token == .invalidRetry { return }
        let validated = token.validatesAddress   // RFC 9000 §8.1.2, §8.1.3
        let retry = !validated && HandshakeBudget.retryMode
        // A Retry that the stateless-answer limits would not let out: nothing to do, and no
        // decryption spent on it (what a flood beyond those limits costs is a header parse).
        if retry && !endpoint.couldAnswerStatelessly(remote.socketAddress, now: now) { return }
        var entry = PendingAccept(peek: InitialPeek(version: header.version, dcid: dcid), remote: remote, createdAt: now)
        let outcome: InitialPeek.Outcome
        do { outcome = try entry.peek.add(bytes) } catch { droppedDatagrams.add(1, ordering: .relaxed); return }
        // Junk that does not decrypt with the Initial keys costs nothing and gets no answer.
        if case .undecryptable = outcome { droppedDatagrams.add(1, ordering: .relaxed); return }
        // MsQuic's QuicBindingShouldRetryConnection: above the handshake memory limit (or with
        // RetryMemoryLimit 0), a client that has not proven its address gets a stateless
        // Retry (RFC 9000 §8.1.2) before anything is kept or NEW_CONNECTION is raised.
        if retry {
            if endpoint.answerWithRetry(header, datagram: bytes, from: remote.socketAddress, now: now) {
                Binding.retriesSent.add(1, ordering: .relaxed)
            }
            return
        }
        // Last resort, when even validated clients come faster than handshakes finish.
        if HandshakeBudget.atHardCap { return }
        switch outcome {
        case .undecryptable:
            return
        case .incomplete:
            let key = Binding.addressKey(remote)
            guard partialCount < Binding.maxPartial,
                  Binding.partialPerAddress.withLock({ $0[key, default: 0] }) < Binding.maxPartialPerAddress else { return }
            storePending(entry, for: dcid)
            armPendingTimer(now: now)
        case .complete(let info, let crypto):
            storePending(entry, for: dcid)
            raiseNewConnection(dcid: dcid, version: header.version, info: info, crypto: crypto,
                               remote: remote, local: local)
        }
    }

    private func raiseNewConnection(dcid: ConnectionID, version: QuicVersion, info: ClientHelloInfo, crypto: [UInt8],
                                    remote: UDPAddress, local: UDPAddress?) {
        guard let listeningPort else { removePending(dcid); return }
        let localAddress = (local ?? socket?.localAddress ?? UDPAddress.anyIPv4()).unmapped
        // The port picks the listener by the client's destination address and ALPN list
        // (MsQuic's QuicBindingGetListener); none: the handshake ends with
        // no_application_protocol (RFC 9001 §8.1, MsQuic's QuicBindingAcceptConnection).
        switch listeningPort.choose(local: localAddress, offered: info.alpnProtocols) {
        case .accept(let listener, let negotiated):
            listener.indicateNewConnection(on: self, dcid: dcid, version: version, info: info, negotiated: negotiated,
                                           crypto: crypto, local: localAddress, remote: remote)
        case .refuse(let registration, let alpns):
            PerfCounters.add(PerfCounters.connNoALPN)
            refuse(dcid: dcid, alpns: alpns, registration: registration)
        case .drop:
            removePending(dcid)
        }
    }

    /// Retry packets sent by listeners, process-wide (for tests).
    static let retriesSent = Atomic<UInt64>(0)

    private static func addressKey(_ remote: UDPAddress) -> SocketAddress {
        var key = remote.socketAddress
        key.port = 0
        return key
    }

    /// Puts `entry` in the table, counting the change of its size in the handshake budget
    /// and incomplete entries per source address.
    func storePending(_ entry: PendingAccept, for dcid: ConnectionID) {
        var entry = entry
        let old = pending[dcid]
        let size = entry.footprint
        HandshakeBudget.charge(bytes: size - (old?.charged ?? 0))
        entry.charged = size
        let wasPartial = old.map { $0.object == nil } ?? false
        let isPartial = entry.object == nil
        if wasPartial != isPartial { countPartial(entry.remote, isPartial ? 1 : -1) }
        pending[dcid] = entry
    }

    /// Incomplete first flights: this socket's count and the per-source-address one.
    private func countPartial(_ remote: UDPAddress, _ delta: Int) {
        let key = Binding.addressKey(remote)
        partialCount += delta
        Binding.partialPerAddress.withLock { map in
            let n = map[key, default: 0] + delta
            map[key] = n > 0 ? n : nil
        }
    }

    /// Takes `dcid`'s entry out of the table, releasing what it counted.
    @discardableResult
    func removePending(_ dcid: ConnectionID) -> PendingAccept? {
        guard let entry = pending.removeValue(forKey: dcid) else { return nil }
        HandshakeBudget.charge(bytes: -entry.charged)
        if entry.object == nil { countPartial(entry.remote, -1) }
        return entry
    }

    func removeAllPending() {
        for dcid in Array(pending.keys) { removePending(dcid) }
    }

    /// The listener stopped: first flights nobody was told of are forgotten.
    func removeUnannouncedPending() {
        for (dcid, entry) in pending where entry.object == nil { removePending(dcid) }
    }

    /// The API object handed out in NEW_CONNECTION for `dcid`'s entry.
    func setPendingObject(_ object: ConnectionObject, for dcid: ConnectionID) {
        guard var entry = pending[dcid] else { return }
        entry.object = object
        storePending(entry, for: dcid)
    }

    private func armPendingTimer(now: QuicInstant) {
        if pendingTimer == nil {
            pendingTimer = WorkerTimer { [weak self] in self?.expirePending() }
        }
        guard let pendingTimer, !pendingTimer.isScheduled else { return }
        worker.schedule(pendingTimer, at: now + Binding.pendingLifetime)
    }

    /// Drops incomplete first flights older than `pendingLifetime` and re-arms for the next.
    private func expirePending() {
        let now = Runtime.now
        var next: QuicInstant?
        for (dcid, entry) in pending where entry.object == nil {
            let deadline = entry.createdAt + Binding.pendingLifetime
            if deadline <= now {
                removePending(dcid)
            } else {
                next = min(next ?? deadline, deadline)
            }
        }
        if let next, let pendingTimer { worker.schedule(pendingTimer, at: next) }
        closeIfIdle()
        HandshakeBudget.indicateDosModeChanges()
    }

    /// Incomplete first flights held now, and the most from one address (tests).
    var partialPendingCount: Int { partialCount }
    static var largestPartialPerAddress: Int { partialPerAddress.withLock { $0.values.max() ?? 0 } }

    /// The application gave the pending connection a configuration: create the engine
    /// connection with it and feed it the held datagrams.
    func completeAccept(dcid: ConnectionID, configuration: ConnectionConfiguration, object: ConnectionObject) {
        guard let entry = removePending(dcid) else { return }
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
        removePending(dcid)
        closeIfIdle()
    }
}

/// A client's first flight while the listener's application decides.
struct PendingAccept {
    var peek: InitialPeek
    let remote: UDPAddress
    /// When the first datagram arrived (for expiry of an incomplete ClientHello).
    var createdAt: QuicInstant = .zero
    /// Bytes counted for this entry in the handshake budget.
    var charged = 0
    /// The API object handed out in NEW_CONNECTION, once the event was raised.
    var object: ConnectionObject?
    /// Datagrams that arrived after the ClientHello was complete.
    var held: [[UInt8]] = []

    /// What the entry holds, roughly: its datagrams, CRYPTO fragments and bookkeeping.
    var footprint: Int {
        var n = 256 + peek.footprint
        for h in held { n += h.count }
        return n
    }
}
