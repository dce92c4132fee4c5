// The object behind a connection HQUIC: a QuicCore `Connection` driven on its worker, and
// the translation of its events into QUIC_CONNECTION_EVENTs (docs/api/QUIC_CONNECTION_EVENT.md).
//
// Threading: after creation every field is used on `worker` only. API calls from application
// threads run there through `Worker.perform`/`sync` (posted and waited for); calls made from a
// callback on this worker run inline. Events are delivered one at a time from `service`,
// which also sends what the engine has to send and re-arms the timer.

import QuicCore
import QuicPlatform
import QuicTLS
import QuicWire
import Synchronization

/// Sendable (unchecked): worker-bound. Fields are set by the opening thread before the handle
/// is published, then used on `worker` only (see "Threading" above; `service`, `deliver`,
/// `attach`, `shutdownOnWorker`, `closeOnWorker` assert it in debug builds); the handler and
/// context are atomics (CallbackObject); `registration`, `worker`, `isServer` are `let`s.
final class ConnectionObject: CallbackObject, @unchecked Sendable {
    let registration: Registration
    /// The worker the connection lives on. Fixed, except that a client connection not started
    /// yet moves to the worker of a shared UDP binding it joins (ConnectionStart, see
    /// `moveToWorker`); hence behind a lock.
    private let workerSlot: Mutex<Worker>
    var worker: Worker { workerSlot.withLock { $0 } }
    let isServer: Bool

    var binding: Binding?
    var core: Connection?
    var configuration: Configuration?
    var timer: WorkerTimer?
    /// Streams with an ID, by ID; streams opened but not started are only in `unstarted`.
    var streams: [UInt64: StreamObject] = [:]
    var unstarted: Set<ObjectIdentifier> = []
    /// Streams waiting for the peer's MAX_STREAMS (StreamStart without FAIL_BLOCKED).
    var blockedStarts: [StreamObject] = []
    /// Client streams started before ConnectionStart.
    var pendingStarts: [StreamObject] = []
    /// Local stream IDs handed out so far, bidirectional and unidirectional: a stream gets its
    /// ID at StreamStart (MsQuic does so even before ConnectionStart or while the peer's
    /// MAX_STREAMS holds it back); the engine then opens the streams in this order.
    var localStreamIDsIssued: [UInt64] = [0, 0]
    var datagramContexts: [UInt64: UnsafeMutableRawPointer?] = [:]
    /// Work to run from the service loop (events raised by API calls, e.g. START_COMPLETE).
    var deferred: [() -> Void] = []

    // State
    var started = false
    var connected = false
    var shutdownRequested = false
    var shutdownInitiated = false
    var shutdownCompleteDelivered = false
    /// ConnectionClose was called: no more events for the application.
    var appClosed = false
    var peerCertificatePending = false
    /// Set while RESUMED is being delivered from inside the engine (ResumedEvent.swift).
    var indicatingResumed = false
    /// Server: set while NEW_CONNECTION is being delivered.
    var indicatingNewConnection = false
    /// Server: ConnectionShutdown inside NEW_CONNECTION, before any configuration: the error
    /// code, applied once ConnectionSetConfiguration lets the engine answer the client.
    var shutdownBeforeAccept: UInt64?
    /// RESUMED returned QUIC_STATUS_PENDING: the handshake waits for
    /// ConnectionResumptionTicketValidationComplete (ResumedEvent.swift).
    var resumptionValidationPending = false
    /// A completion made inside the RESUMED callback, applied when it returns PENDING.
    var earlyResumptionDecision: Bool?
    var closeStatus: QuicStatus = Status.success
    var closeErrorCode: UInt64 = 0
    var closedRemotely = false
    var closedByApp = false
    var serverName: String?
    /// Client: the server's key in NewTokenCache (name and port), for its NEW_TOKEN frames.
    var newTokenKey: String?
    var remoteAddress: UDPAddress?
    var localAddressCache: UDPAddress?
    /// Sockets of a client that migrated (ConnectionMigration.swift).
    var pathSockets = PathSockets()
    /// Server: the DCID the client's first Initial used, while the application decides.
    var acceptDCID: ConnectionID?
    /// Settings in use (for GetParam SETTINGS / stream params).
    var datagramReceiveEnabled = false
    /// MsQuic starts with DATAGRAM_SEND_ENABLED TRUE; once connected it says whether the peer
    /// advertised max_datagram_frame_size (RFC 9221 §3).
    var datagramSendEnabled = true
    /// DatagramSend calls made before the peer's transport parameters are known (bytes, context).
    var earlyDatagrams: [([UInt8], UnsafeMutableRawPointer?)] = []
    var closeReasonPhrase: [UInt8] = []
    var resumptionTicket: [UInt8]?
    var negotiatedALPN: [UInt8]?
    // Set before ConnectionStart through SetParam.
    var remoteAddressOverride: UDPAddress?
    var localAddressOverride: UDPAddress?
    var ownSettings: Settings?
    var shareUDPBinding = false
    /// RegistrationShutdown reached this client connection before ConnectionStart.
    var registrationShutDown = false
    /// Private test parameters: a transport parameter sent as given, and no version_information.
    var testTransportParameter: RawTransportParameter?
    var disableVersionInformation = false
    var schedulingScheme: UInt32 = 0                 // QUIC_STREAM_SCHEDULING_SCHEME_FIFO
    var tlsSecrets: UnsafeMutableRawPointer?
    var ticketToResume: [UInt8]?
    // Counted here for the statistics parameters: application stream bytes, largest RTT seen.
    var streamBytesSent: UInt64 = 0
    var streamBytesReceived: UInt64 = 0
    var maxRTT: UInt64 = 0
    var correlationID: UInt64 { UInt64(UInt(bitPattern: Int(bitPattern: UInt(bitPattern: block)))) }
    var quicVersion: UInt32 = 0

    /// Counted in `HandshakeBudget` as a handshaking connection (server, from NEW_CONNECTION
    /// until its handshake completes or it starts closing).
    private var handshakeCharged = false

    var inService = false
    private var serviceAgain = false
    let shutdownCompleteEvent = OneShotEvent()

    init(registration: Registration, worker: Worker, isServer: Bool, handler: UnsafeRawPointer?,
         context: UnsafeMutableRawPointer?) {
        self.registration = registration
        self.workerSlot = Mutex(worker)
        self.isServer = isServer
        super.init(handleType: isServer ? .connectionServer : .connectionClient, handler: handler)
        self.context = context
        PerfCounters.add(PerfCounters.connCreated)
        PerfCounters.add(PerfCounters.connActive)
    }

    deinit { PerfCounters.add(PerfCounters.connActive, -1) }

    /// The engine's packet counts already added to the process counters.
    private var countedLost: UInt64 = 0, countedDropped: UInt64 = 0, countedUndecryptable: UInt64 = 0
    /// CONN_CONNECTED counts this connection until its end.
    private var countedConnected = false

    /// Adds what the engine counted since the last call to the process counters
    /// (QUIC_PARAM_GLOBAL_PERF_COUNTERS: suspected lost, dropped, undecryptable packets).
    private func updateProcessCounters() {
        guard let st = core?.statistics else { return }
        if st.lostPackets > countedLost {
            PerfCounters.add(PerfCounters.packetsSuspectedLost, Int64(clamping: st.lostPackets - countedLost))
            countedLost = st.lostPackets
        }
        if st.droppedPackets > countedDropped {
            PerfCounters.add(PerfCounters.packetsDropped, Int64(clamping: st.droppedPackets - countedDropped))
            countedDropped = st.droppedPackets
        }
        if st.decryptionFailures > countedUndecryptable {
            PerfCounters.add(PerfCounters.packetsDecryptionFail, Int64(clamping: st.decryptionFailures - countedUndecryptable))
            countedUndecryptable = st.decryptionFailures
        }
    }


    /// Moves a client connection that has not started to `target` (QUIC_PARAM_CONN_SHARE_UDP_BINDING:
    /// the binding it joins lives there). Called on the current worker, from a ConnectionStart
    /// made on an application thread: work queued before ran on the old worker first, work
    /// queued after runs on the new one.
    func moveToWorker(_ target: Worker) {
        workerSlot.withLock { $0 = target }
    }

    // MARK: Engine attachment

    func attach(core: Connection, binding: Binding) {
        worker.assertIsCurrent()
        self.core = core
        self.binding = binding
        started = true
        binding.add(self, core: core)
        remoteAddress = UDPAddress(core.remoteAddress)
        if timer == nil {
            timer = WorkerTimer { [weak self] in self?.onTimer() }
        }
        // Streams started before the connection had an engine (a client before
        // ConnectionStart, a server inside NEW_CONNECTION): opened now, before the first flight.
        let early = pendingStarts
        pendingStarts.removeAll()
        for s in early { s.startOnWorker(flags: s.startFlags) }
    }

    /// Server: the engine refused the client's first flight after the application accepted.
    func acceptFailed() {
        closeStatus = Status.internalError
        deliverShutdownComplete(handshakeCompleted: false, peerAcknowledged: false)
    }

    private func onTimer() {
        let now = Runtime.now
        core?.handleTimeout(now: now)
        service(now: now)
        binding?.flushStateless()
    }

    // MARK: Service loop

    /// Delivers the engine's events, sends, and re-arms the timer. Re-entrant calls (an API
    /// call made inside a callback) only ask the running loop for another round.
    func service(now: QuicInstant = Runtime.now) {
        worker.assertIsCurrent()
        if inService { serviceAgain = true; return }
        inService = true
        repeat {
            serviceAgain = false
            while !deferred.isEmpty {
                let work = deferred
                deferred.removeAll()
                for w in work { w() }
            }
            if let core {
                // QUIC_PARAM_CONN_TLS_SECRETS: MsQuic writes each secret as the handshake
                // derives it, so an app that looks before CONNECTED (a server that took a
                // 0-RTT stream) already finds the client random and the early secret.
                if tlsSecrets != nil && !connected { fillTLSSecrets() }
                while let e = core.pollEvent() { handle(e) }
            }
            transmit(now: now)
        } while serviceAgain || !deferred.isEmpty
        inService = false
        closeUnusedPathSockets()
        if handshakeCharged, connected || shutdownInitiated || shutdownRequested || appClosed
            || shutdownCompleteDelivered || core?.isClosed == true {
            releaseHandshake()
        }
        HandshakeBudget.indicateDosModeChanges()
        if let rtt = core?.smoothedRTT.microseconds, rtt > maxRTT { maxRTT = rtt }
        rearm()
    }

    /// Sends what the engine has: consecutive full-size datagrams to the same peer go out as
    /// one GSO message (QuicPlatform's sendBatched), the rest one by one.
    private func transmit(now: QuicInstant) {
        guard let core, let socket = sendSocket else { return }
        // A server on a wildcard-bound socket answers from the address the client sent to
        // (MsQuic replies from the datagram's local address): a client, MsQuic's included,
        // whose socket is connected to that address sees no replies from another one.
        let source: UDPAddress? = isServer && socket.localAddress.isWildcard ? localAddressCache : nil
        var datagrams: Int64 = 0, bytes: Int64 = 0
        socket.sendBatched(fullSize: core.maxDatagramSize, from: source) { buffer in
            while let t = core.pollTransmit(now: now, into: buffer) {
                // RFC 9000 §13.4.2: the engine's ECN codepoint goes in the IP header.
                if let to = UDPAddress(t.destination) {
                    datagrams += 1
                    bytes += Int64(t.size)
                    return (t.size, to, QuicPlatform.ECNCodepoint(rawValue: t.ecn.rawValue) ?? .notECT)
                }
                // Unreachable through this socket: dropped, as the network would.
            }
            return nil
        }
        if datagrams > 0 {
            PerfCounters.add(PerfCounters.udpSend, datagrams)
            PerfCounters.add(PerfCounters.udpSendBytes, bytes)
        }
        updateProcessCounters()
    }

    private func rearm() {
        guard let timer else { return }
        if let core, !core.isClosed, let deadline = core.nextTimeout() {
            worker.schedule(timer, at: deadline)
        } else {
            worker.cancel(timer)
            if let core, core.isClosed, let binding {
                closeAllPathSockets()
                binding.remove(core)
                self.binding = nil
            }
        }
    }

    /// DatagramSend calls queued before the handshake: sent now, or canceled when the peer
    /// takes no DATAGRAM frames (QUIC_DATAGRAM_SEND_CANCELED).
    func flushEarlyDatagrams() {
        let queued = earlyDatagrams
        earlyDatagrams.removeAll()
        for (bytes, context) in queued {
            if datagramSendEnabled, let core, let id = try? core.sendDatagram(bytes) {
                datagramContexts[id] = context
            } else {
                deferred.append { [self] in
                    let ev = RawEvent(type: EventType.datagramSendStateChanged)
                    ev.set(8, context)
                    ev.set(16, UInt32(6))                // QUIC_DATAGRAM_SEND_CANCELED
                    deliver(ev)
                    ev.free()
                }
            }
        }
    }

    // MARK: Engine events -> QUIC_CONNECTION_EVENT

    private func handle(_ e: ConnectionEvent) {
        switch e {
        case .connected(let alpn, let resumed):
            connected = true
            if !countedConnected {
                countedConnected = true
                PerfCounters.add(PerfCounters.connConnected)
                if resumed { PerfCounters.add(PerfCounters.connResumed) }
            }
            datagramSendEnabled = core?.peerTransportParameters?.maxDatagramFrameSize != nil
            flushEarlyDatagrams()
            fillTLSSecrets()
            alpn.withUnsafeBufferPointer { a in
                let ev = RawEvent(type: EventType.connected)
                ev.set(8, UInt8(resumed ? 1 : 0))
                ev.set(9, UInt8(truncatingIfNeeded: a.count))
                ev.set(16, UnsafeRawPointer(a.baseAddress))
                _ = deliver(ev)
                ev.free()
            }
            retryBlockedStarts()
            for stream in Array(streams.values) where !stream.heldSends.isEmpty { stream.flushHeldSends() }
        case .peerCertificateReceived(let info):
            peerCertificate(info)
        case .shutdownInitiatedByTransport(let reason):
            shutdownInitiated = true
            let status = transportStatus(reason)
            // MsQuic's CONN_PROTOCOL_ERRORS: connections this endpoint closed for a transport
            // error it detected (not a timeout, not the peer's close).
            if !reason.fromPeer && !reason.isApplication && reason.errorCode != 0
                && status != Status.connectionIdle && status != Status.connectionTimeout {
                PerfCounters.add(PerfCounters.connProtocolErrors)
            }
            closeStatus = status
            closeErrorCode = reason.errorCode
            closedRemotely = reason.fromPeer
            let ev = RawEvent(type: EventType.shutdownInitiatedByTransport)
            ev.set(8, status)
            ev.set(16, reason.errorCode)
            _ = deliver(ev)
            ev.free()
        case .shutdownInitiatedByPeer(let code):
            shutdownInitiated = true
            closeErrorCode = code
            closedRemotely = true
            let ev = RawEvent(type: EventType.shutdownInitiatedByPeer)
            ev.set(8, code)
            _ = deliver(ev)
            ev.free()
        case .shutdownComplete(let handshakeCompleted, let peerAcknowledged, _):
            // Streams still known end now (the engine ended them first).
            for s in Array(streams.values) { s.connectionEnded() }
            for s in blockedStarts + pendingStarts { s.startFailed(Status.aborted) }
            blockedStarts.removeAll()
            pendingStarts.removeAll()
            // Datagrams still waiting for the handshake are canceled.
            for (_, context) in earlyDatagrams {
                let ev = RawEvent(type: EventType.datagramSendStateChanged)
                ev.set(8, context)
                ev.set(16, UInt32(6))                    // QUIC_DATAGRAM_SEND_CANCELED
                deliver(ev)
                ev.free()
            }
            earlyDatagrams.removeAll()
            deliverShutdownComplete(handshakeCompleted: handshakeCompleted, peerAcknowledged: peerAcknowledged)
        case .peerStreamStarted(let id):
            let stream = StreamObject(connection: self, id: id)
            stream.noteStatisticsStart()
            streams[id.rawValue] = stream
            Handles.register(stream)
            let ev = RawEvent(type: EventType.peerStreamStarted)
            ev.set(8, stream.handle)
            ev.set(16, UInt32(id.isUnidirectional ? 1 : 0))   // QUIC_STREAM_OPEN_FLAG_UNIDIRECTIONAL
            // StreamProvideReceiveBuffers called inside this event puts the stream in app-owned
            // mode (MsQuic docs/Streams.md, "Peer Initiated Streams").
            stream.peerStreamStartedActive = true
            let status = deliver(ev)
            stream.peerStreamStartedActive = false
            // The application may add QUIC_STREAM_OPEN_FLAG_DELAY_ID_FC_UPDATES to the event's
            // Flags (MsQuic stream_set.c): the stream's MAX_STREAMS credit then waits for its
            // StreamClose.
            let flags = ev.get(16, as: UInt32.self)
            ev.free()
            if Status.isFailure(status) || appClosed {
                // Refused: MsQuic aborts the stream and closes the handle itself.
                stream.abortAndForget()
            } else if flags & StreamOpenFlag.delayIDFlowControlUpdates != 0, !stream.appClosed {
                core?.streams.delayStreamCredit(id)
            }
        case .stream(let se):
            handleStreamEvent(se)
        case .streamsAvailable(let b, let u):
            retryBlockedStarts()
            let ev = RawEvent(type: EventType.streamsAvailable)
            ev.set(8, UInt16(clamping: b))
            ev.set(10, UInt16(clamping: u))
            _ = deliver(ev)
            ev.free()
        case .peerNeedsStreams(let bidirectional):
            let ev = RawEvent(type: EventType.peerNeedsStreams)
            ev.set(8, UInt8(bidirectional ? 1 : 0))
            _ = deliver(ev)
            ev.free()
        case .datagramReceived(let bytes):
            bytes.withUnsafeBufferPointer { b in
                let buffer = UnsafeMutableRawPointer.allocate(byteCount: 16, alignment: 8)
                QuicBuffers.write(buffer, 0, length: b.count, pointer: UnsafeRawPointer(b.baseAddress))
                let ev = RawEvent(type: EventType.datagramReceived)
                ev.set(8, UnsafeRawPointer(buffer))
                ev.set(16, UInt32(0))
                _ = deliver(ev)
                ev.free()
                buffer.deallocate()
            }
        case .datagramStateChanged(let enabled, let maxLength):
            datagramSendEnabled = enabled
            let ev = RawEvent(type: EventType.datagramStateChanged)
            ev.set(8, UInt8(enabled ? 1 : 0))
            ev.set(10, UInt16(clamping: maxLength))
            _ = deliver(ev)
            ev.free()
        case .datagramSendStateChanged(let id, let state):
            let final: Bool
            let value: UInt32
            switch state {
            case .sent: value = 1; final = false
            case .lostSuspect: value = 2; final = false
            case .lostDiscarded: value = 3; final = true
            case .acknowledged: value = 4; final = true
            case .acknowledgedSpurious: value = 5; final = true
            case .canceled: value = 6; final = true
            }
            let context = datagramContexts[id] ?? nil
            if final { datagramContexts[id] = nil }
            let ev = RawEvent(type: EventType.datagramSendStateChanged)
            ev.set(8, context)
            ev.set(16, value)
            _ = deliver(ev)
            ev.free()
        case .resumptionTicketReceived(let ticket):
            resumptionTicket = ticket
            ticket.withUnsafeBufferPointer { t in
                let ev = RawEvent(type: EventType.resumptionTicketReceived)
                ev.set(8, UInt32(t.count))
                ev.set(16, UnsafeRawPointer(t.baseAddress))
                _ = deliver(ev)
                ev.free()
            }
        case .newTokenReceived(let token):
            // RFC 9000 §8.1.3: kept for the next connection to this server (NewTokenCache).
            if let key = newTokenKey { NewTokenCache.store(token, for: key) }
        case .reliableResetNegotiated(let negotiated):
            // QUIC_CONNECTION_EVENT_RELIABLE_RESET_NEGOTIATED (MsQuic raises it when
            // ReliableResetEnabled is set, with whether the peer enabled it too).
            let ev = RawEvent(type: EventType.reliableResetNegotiated)
            ev.set(8, UInt8(negotiated ? 1 : 0))
            _ = deliver(ev)
            ev.free()
        case .peerAddressChanged(let address):
            // QUIC_CONNECTION_EVENT_PEER_ADDRESS_CHANGED: the connection follows the peer to a
            // new address (RFC 9000 §9.3); REMOTE_ADDRESS reports it from now on.
            guard let new = UDPAddress(address) else { break }
            remoteAddress = new
            let addr = UnsafeMutableRawPointer.allocate(byteCount: QuicAddr.size, alignment: 8)
            QuicAddr.write(new, to: addr)
            let ev = RawEvent(type: EventType.peerAddressChanged)
            ev.set(8, UnsafeRawPointer(addr))
            _ = deliver(ev)
            ev.free()
            addr.deallocate()
        case .localAddressChanged(let address):
            localAddressChanged(to: address)
        }
    }

    /// SHUTDOWN_INITIATED_BY_TRANSPORT's Status (MsQuic: idle timeout → CONNECTION_IDLE, a
    /// handshake that never finished → CONNECTION_TIMEOUT, failed version negotiation →
    /// VER_NEG_ERROR, stateless reset → ABORTED, else the error code's status).
    private func transportStatus(_ r: ConnectionCloseReason) -> QuicStatus {
        if r.idleTimeout { return connected ? Status.connectionIdle : Status.connectionTimeout }
        if r.disconnectTimeout { return Status.connectionTimeout }
        if r.versionNegotiation { return Status.verNegError }
        if r.statelessReset { return Status.aborted }
        return Status.forTransportErrorCode(r.errorCode)
    }

    func deliverShutdownComplete(handshakeCompleted: Bool, peerAcknowledged: Bool) {
        releaseHandshake()
        guard !shutdownCompleteDelivered else { return }
        shutdownCompleteDelivered = true
        updateProcessCounters()
        if countedConnected { PerfCounters.add(PerfCounters.connConnected, -1) }
        if !handshakeCompleted { PerfCounters.add(PerfCounters.connHandshakeFail) }
        if !appClosed {
            let ev = RawEvent(type: EventType.connShutdownComplete)
            var bits: UInt8 = 0
            if handshakeCompleted { bits |= 1 }
            if peerAcknowledged { bits |= 2 }
            ev.set(8, bits)
            _ = deliver(ev)
            ev.free()
        }
        shutdownCompleteEvent.signal()
    }

    /// Calls the application's callback, unless the handle is closed.
    @discardableResult
    func deliver(_ event: RawEvent) -> QuicStatus {
        worker.assertIsCurrent()
        guard !appClosed else { return Status.success }
        return event.deliver(handler, handle, context)
    }

    // MARK: Peer certificate

    private func peerCertificate(_ info: PeerCertificateInfo) {
        // QUIC_CERTIFICATE / QUIC_CERTIFICATE_CHAIN: with USE_PORTABLE_CERTIFICATES a
        // QUIC_BUFFER of DER; the OpenSSL objects otherwise (leaf X509*, X509_STORE_CTX*).
        let portable = configuration?.credential?.usesPortableCertificates ?? false
        let leafBuffer = UnsafeMutableRawPointer.allocate(byteCount: 16, alignment: 8)
        let chainBuffer = UnsafeMutableRawPointer.allocate(byteCount: 16, alignment: 8)
        defer { leafBuffer.deallocate(); chainBuffer.deallocate() }
        let leaf = info.chainDER.first ?? []
        let chain = (portable ? info.validation?.chain.pkcs7ChainDER() : nil) ?? info.chainDER.flatMap { $0 }
        let status: QuicStatus = leaf.withUnsafeBufferPointer { l in
            chain.withUnsafeBufferPointer { c in
                QuicBuffers.write(leafBuffer, 0, length: l.count, pointer: UnsafeRawPointer(l.baseAddress))
                QuicBuffers.write(chainBuffer, 0, length: c.count, pointer: UnsafeRawPointer(c.baseAddress))
                let ev = RawEvent(type: EventType.peerCertificateReceived)
                if info.chainDER.isEmpty {
                    ev.set(8, UnsafeRawPointer?.none)
                } else if portable {
                    ev.set(8, UnsafeRawPointer(leafBuffer))
                    ev.set(24, UnsafeRawPointer(chainBuffer))
                } else {
                    ev.set(8, info.validation.map { UnsafeRawPointer($0.chain.leaf) })
                    ev.set(24, info.validation.map { UnsafeRawPointer($0.chain.storeContext) })
                }
                let eventStatus: PeerCertificateEventStatus
                if let v = info.validation {
                    eventStatus = PeerCertificateEventStatus(v)
                } else {
                    let validating = configuration?.credential?.validatesPeerCertificate ?? false
                    eventStatus = PeerCertificateEventStatus(noCertificateValidating: validating,
                                                             deferredOrClientAuthRequired: true)
                }
                ev.set(16, eventStatus.deferredErrorFlags)
                ev.set(20, eventStatus.deferredStatus)
                let s = deliver(ev)
                ev.free()
                return s
            }
        }
        switch PeerCertificateDecision(eventStatus: status, certificatePresent: !info.chainDER.isEmpty) {
        case .accept: core?.completePeerCertificateValidation(accept: true, now: Runtime.now)
        case .pending: peerCertificatePending = true
        case .reject: core?.completePeerCertificateValidation(accept: false, now: Runtime.now)
        }
    }

    // MARK: Streams

    private func handleStreamEvent(_ e: StreamEvent) {
        let id: StreamID
        switch e {
        case .dataAvailable(let i), .peerSendShutdown(let i), .shutdownComplete(let i): id = i
        case .sendComplete(let i, _, _), .peerSendAborted(let i, _), .peerReceiveAborted(let i, _), .peerReliableReset(let i, _),
             .sendShutdownComplete(let i, _), .idealSendBufferSize(let i, _), .cancelOnLoss(let i),
             .receiveBufferNeeded(let i, _): id = i
        case .peerStreamStarted, .streamsAvailable: return
        }
        guard let stream = streams[id.rawValue] else {
            // A stream whose handle is gone: its statistics are not needed any more.
            if case .shutdownComplete = e { _ = core?.streams.takeFinishedBlockedTimings(id) }
            return
        }
        stream.handle(e)
    }

    /// The next local stream ID of a kind, or nil past the 2^60 streams a kind can have.
    func issueLocalStreamID(bidirectional: Bool) -> StreamID? {
        let k = bidirectional ? 0 : 1
        guard let id = StreamID(index: localStreamIDsIssued[k], initiator: isServer ? .server : .client,
                                bidirectional: bidirectional) else { return nil }
        localStreamIDsIssued[k] += 1
        return id
    }

    /// Whether a stream still waiting for the engine holds the ID `index` of a kind.
    func isReservedAndWaiting(index: UInt64, bidirectional: Bool, except: StreamObject) -> Bool {
        (blockedStarts + pendingStarts).contains {
            $0 !== except && $0.id == nil && $0.reservedID.map { $0.index == index && $0.isBidirectional == bidirectional } == true
        }
    }

    func retryBlockedStarts() {
        guard !blockedStarts.isEmpty else { return }
        let waiting = blockedStarts
        blockedStarts.removeAll()
        for s in waiting { s.startOnWorker(flags: s.startFlags, retrying: true) }
    }

    func forget(_ stream: StreamObject) {
        if let id = stream.id, streams[id.rawValue] === stream { streams[id.rawValue] = nil }
        unstarted.remove(ObjectIdentifier(stream))
        blockedStarts.removeAll { $0 === stream }
        pendingStarts.removeAll { $0 === stream }
    }
}

// MARK: Server acceptance and shutdown

extension ConnectionObject {
    /// NEW_CONNECTION returned (accepted): a shutdown made inside it that no configuration
    /// followed ends the connection now, without a word to the client.
    func finishNewConnection() {
        guard shutdownBeforeAccept != nil, core == nil, !shutdownCompleteDelivered else { return }
        shutdownBeforeAccept = nil
        if let dcid = acceptDCID { binding?.dropPending(dcid: dcid) }
        shutdownInitiated = true
        for s in pendingStarts { s.startFailed(Status.aborted) }
        pendingStarts.removeAll()
        service()
        deliverShutdownComplete(handshakeCompleted: false, peerAcknowledged: false)
    }

    /// The listener's application refused NEW_CONNECTION (a failure status).
    func refusedByListener() {
        appClosed = true
        releaseHandshake()
        if let core {
            core.close(errorCode: 0, now: Runtime.now)
            service()
        } else if let dcid = acceptDCID {
            binding?.dropPending(dcid: dcid)
        }
        Handles.unregister(self)
        registration.releaseConnection(self)
    }

    /// A queued ConnectionStart (or ConnectionSetConfiguration) failed on the worker: the
    /// connection ends with that status
    /// (SHUTDOWN_INITIATED_BY_TRANSPORT, then SHUTDOWN_COMPLETE), as MsQuic reports a start
    /// it could not carry out.
    func startFailed(_ status: QuicStatus) {
        guard !started, !shutdownInitiated, !shutdownCompleteDelivered else { return }
        shutdownInitiated = true
        closeStatus = status
        if core == nil, let dcid = acceptDCID { binding?.dropPending(dcid: dcid) }
        let ev = RawEvent(type: EventType.shutdownInitiatedByTransport)
        ev.set(8, status)
        ev.set(16, UInt64(0))
        deliver(ev)
        ev.free()
        for s in pendingStarts { s.startFailed(Status.aborted) }
        pendingStarts.removeAll()
        service()
        deliverShutdownComplete(handshakeCompleted: false, peerAcknowledged: false)
    }

    /// ConnectionShutdown on the worker (RFC 9000 §10.2: CONNECTION_CLOSE 0x1d with the
    /// application's error code).
    func shutdownOnWorker(errorCode: UInt64, silent: Bool = false) {
        worker.assertIsCurrent()
        guard !shutdownRequested, !shutdownCompleteDelivered else { return }
        if indicatingResumed {
            deferred.append { [self] in shutdownOnWorker(errorCode: errorCode, silent: silent) }
            return
        }
        if core == nil, indicatingNewConnection, acceptDCID != nil, !silent {
            // Inside NEW_CONNECTION with no configuration yet: nothing could answer the client.
            // When the application sets one before returning (MsQuic's test listener does),
            // the engine takes the client's Initial and closes at once, so the client hears
            // the CONNECTION_CLOSE (RFC 9000 §10.2.3: APPLICATION_ERROR in Initial packets);
            // otherwise the connection ends quietly when the event returns (`finishNewConnection`).
            shutdownRequested = true
            closedByApp = true
            shutdownBeforeAccept = errorCode
            return
        }
        shutdownRequested = true
        closedByApp = true
        if let core {
            closeErrorCode = errorCode
            // QUIC_PARAM_CONN_CLOSE_REASON_PHRASE goes out in the CONNECTION_CLOSE (RFC 9000 §19.19).
            // QUIC_CONNECTION_SHUTDOWN_FLAG_SILENT: no CONNECTION_CLOSE, the connection ends now.
            core.close(errorCode: errorCode, reason: closeReasonPhrase, silent: silent, now: Runtime.now)
            service()
        } else {
            // Not started (or not yet accepted): nothing on the wire, the connection ends now.
            if let dcid = acceptDCID { binding?.dropPending(dcid: dcid) }
            shutdownInitiated = true
            for s in pendingStarts { s.startFailed(Status.aborted) }
            pendingStarts.removeAll()
            service()
            deliverShutdownComplete(handshakeCompleted: false, peerAcknowledged: false)
        }
    }

    /// ConnectionClose on the worker: an implicit shutdown if needed (SHUTDOWN_COMPLETE with
    /// AppCloseInProgress), then no more events; the engine finishes closing on its own.
    func closeOnWorker() {
        worker.assertIsCurrent()
        if indicatingResumed {
            deferred.append { [self] in closeOnWorker() }
            return
        }
        if !shutdownCompleteDelivered {
            if let core, !core.isClosed {
                // MsQuic closes a handle that was not shut down silently, with ABORTED.
                closedByApp = true
                closeStatus = Status.aborted
                core.close(errorCode: 0, silent: true, now: Runtime.now)
            } else if core == nil, let dcid = acceptDCID {
                binding?.dropPending(dcid: dcid)
            }
            for s in Array(streams.values) where !s.appClosed { s.connectionEnded() }
            shutdownCompleteDelivered = true
            let ev = RawEvent(type: EventType.connShutdownComplete)
            ev.set(8, UInt8((connected ? 1 : 0) | 4))
            deliver(ev)
            ev.free()
            shutdownCompleteEvent.signal()
        }
        appClosed = true
        service()
        registration.releaseConnection(self)
    }
}

extension ConnectionObject {
    /// The library is going away (last MsQuicClose, on the worker): forget the engine, the
    /// binding and the streams so no reference cycle (connection <-> binding, connection <->
    /// stream) is left behind. No event is delivered any more.
    func abandon() {
        appClosed = true
        releaseHandshake()
        shutdownCompleteDelivered = true
        if let timer { worker.cancel(timer) }
        core?.terminate()
        core = nil
        closeAllPathSockets()
        binding = nil
        streams.removeAll()
        unstarted.removeAll()
        blockedStarts.removeAll()
        pendingStarts.removeAll()
        deferred.removeAll()
    }
}

extension ConnectionObject {
    /// QUIC_PARAM_CONN_TLS_SECRETS: the buffer the application gave before the handshake gets
    /// the client random and traffic secrets (offsets of QUIC_TLS_SECRETS: SecretLength 0,
    /// IsSet 1, ClientRandom 2, then five 64-byte secrets from 34).
    func fillTLSSecrets() {
        guard let out = tlsSecrets, let core else { return }
        let log = core.handshake.keyLog
        var isSet: UInt8 = 0
        var length = 0
        let random = core.handshake.clientHelloRandom
        if random.count == 32 {
            for i in 0..<32 { out.storeBytes(of: random[i], toByteOffset: 2 + i, as: UInt8.self) }
            isSet |= 1
        }
        let slots: [(String, Int, UInt8)] = [("CLIENT_EARLY_TRAFFIC_SECRET", 34, 2),
                                             ("CLIENT_HANDSHAKE_TRAFFIC_SECRET", 98, 4),
                                             ("SERVER_HANDSHAKE_TRAFFIC_SECRET", 162, 8),
                                             ("CLIENT_TRAFFIC_SECRET_0", 226, 16),
                                             ("SERVER_TRAFFIC_SECRET_0", 290, 32)]
        for (label, offset, bit) in slots {
            guard let e = log.first(where: { $0.label == label }), e.secret.count <= 64 else { continue }
            for (i, b) in e.secret.enumerated() { out.storeBytes(of: b, toByteOffset: offset + i, as: UInt8.self) }
            length = e.secret.count
            isSet |= bit
        }
        out.storeBytes(of: UInt8(length), toByteOffset: 0, as: UInt8.self)
        out.storeBytes(of: isSet, toByteOffset: 1, as: UInt8.self)
    }
}

extension ConnectionObject {
    /// Server: counts this connection in the handshake memory budget (HandshakeBudget.swift).
    func chargeHandshake() {
        guard !handshakeCharged else { return }
        handshakeCharged = true
        HandshakeBudget.chargeConnection()
    }

    /// The handshake completed, or the connection is closing, draining or gone: no longer
    /// counted (closing and draining connections hold no handshake state worth a Retry).
    func releaseHandshake() {
        guard handshakeCharged else { return }
        handshakeCharged = false
        HandshakeBudget.releaseConnection()
    }
}
