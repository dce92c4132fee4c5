import QuicCrypto
import QuicTLS
import QuicWire

// Version Negotiation and Retry on the client (RFC 9000 §6, §8.1.2, §17.2.5), timers, idle
// timeout (§10.1), immediate close with closing and draining states (§10.2).
extension Connection {
    // MARK: Version Negotiation and Retry (client)

    /// RFC 9000 §6.2: a client abandons the attempt when the server lists none of our
    /// versions; a VN listing ours, or arriving after any other packet was successfully
    /// processed (a Retry or any authenticated packet), is discarded. When it lists another
    /// version we accept, the client starts a new attempt in it (RFC 9368 §2.1), once.
    func handleVersionNegotiation(_ header: PacketHeader, datagram: UnsafeRawBufferPointer, now: QuicInstant) {
        guard role == .client, !receivedRetryOrInitial, !processedAnyPacket, !isHandshakeComplete else { return }
        // The VN echoes our CIDs (RFC 9000 §17.2.1): SCID = the DCID we chose.
        guard header.scidBytes(in: datagram).elementsEqual(originalDestinationCID.bytes) else { return }
        let offered = header.supportedVersions(in: datagram)
        if offered.contains(version) { return }
        // RFC 9368 §2.1: the first of our versions (in our order of preference) the server
        // lists; a second Version Negotiation ends the connection (RFC 9368 §4).
        if versionNegotiationVersions == nil,
           let next = configuration.versions.first(where: { offered.contains($0) && ProtectionVersion(wireVersion: $0.rawValue) != nil }) {
            do {
                try restartAttempt(in: next, versionNegotiationList: offered, now: now)
                return
            } catch {}
        }
        var reason = ConnectionCloseReason(errorCode: 0, isApplication: false, fromPeer: true)
        reason.versionNegotiation = true
        closeReason = reason
        emit(.shutdownInitiatedByTransport(reason))
        enterDraining(now: now, immediate: true)
    }

    /// RFC 9000 §17.2.5.2: a client accepts one Retry, before any server Initial, whose
    /// integrity tag verifies (RFC 9001 §5.8) and whose token is not empty.
    func handleRetry(_ header: PacketHeader, datagram: UnsafeRawBufferPointer, now: QuicInstant) throws {
        guard role == .client, !receivedRetryOrInitial, retrySourceCID == nil else { return }
        guard !header.tokenRange.isEmpty else { return }
        let packet = UnsafeRawBufferPointer(rebasing: datagram[header.start..<header.end])
        guard RetryIntegrity.verify(version: protectionVersion, originalDestinationConnectionID: originalDestinationCID.bytes,
                                    retryPacket: packet) else { return }
        receivedRetryOrInitial = true
        retrySourceCID = header.scid
        retryToken = Array(datagram[header.tokenRange])
        cids.remote[0].id = header.scid
        // RFC 9001 §5.2: new Initial keys from the Retry's SCID; RFC 9000 §17.2.5.3: the
        // packet numbers continue, the ClientHello goes again in new Initial packets.
        try installInitialKeys(dcid: header.scid)
        for token in recovery.onRetryReceived(now: now) { sentPackets[token] = nil }
        streams.crypto.requeueUnacknowledged(level: .initial)
    }

    // MARK: Timers

    /// When `handleTimeout` must next be called, nil when no timer runs.
    public func nextTimeout() -> QuicInstant? {
        switch state {
        case .closed: return nil
        case .closing, .draining: return stateDeadline
        case .open: break
        }
        var t = idleDeadline
        if let l = recovery.lossDetectionTimeout() { t = min(t, l) }
        // MsQuic (loss_detection.c) keeps its loss timer from passing the disconnect deadline.
        if let d = disconnectDeadline() { t = min(t, d) }
        // ACKs wait for keys to send them with (a server acknowledges 0-RTT once it has 1-RTT keys),
        // and for the amplification limit of an unvalidated new path (§9.3) to allow a datagram:
        // a deadline that cannot be acted on would only spin the owner's event loop.
        let pathBlocked = (pathAmplificationBudget ?? .max) < 64
        for s in PacketNumberSpace.allCases where hasKeys(s) && !pathBlocked {
            if let a = recovery.ackDeadline(s) { t = min(t, a) }
        }
        if let k = previousKeysDiscardTime { t = min(t, k) }
        if let p = pathTimer { t = min(t, p) }
        // The pacer's release time when data waits only for it (RFC 9002 §7.7).
        if let p = pacingReleaseTime, !pathBlocked { t = min(t, p) }
        // Keep-alive (RFC 9000 §10.1.2): once its PING is pending, the pacer (RFC 9002 §7.7) or
        // congestion control (§7, then the loss timer) decides when it leaves; a deadline
        // still reported here would stay due and spin the owner's event loop (found by the
        // connection fuzzer: a paced PING kept the timer at `lastSendTime + interval` < now).
        if !configuration.keepAliveInterval.isZero, isHandshakeComplete, !pingPending, !pathBlocked {
            t = min(t, lastSendTime + configuration.keepAliveInterval)
        }
        return t.isNever ? nil : t  // e.g. no idle timeout on either side and nothing else armed
    }

    /// Runs the timers that expired at `now`.
    public func handleTimeout(now: QuicInstant) {
        noteTime(now)
        switch state {
        case .closed: return
        case .closing, .draining:
            if now >= stateDeadline { finishClose() }
            return
        case .open: break
        }
        if now >= idleDeadline {
            // RFC 9000 §10.1: silently closed, no packet sent.
            closeSilently { $0.idleTimeout = true }
            return
        }
        if let k = previousKeysDiscardTime, now >= k {
            oneRTT?.discardPreviousReceiveKeys()  // RFC 9001 §6.5
            previousKeysDiscardTime = nil
        }
        handlePathTimers(now: now)
        if let d = disconnectDeadline(), now >= d {
            // MsQuic (loss_detection.c): nothing acknowledged for DisconnectTimeoutMs: the peer
            // is gone; closed silently like an idle timeout.
            closeSilently { $0.disconnectTimeout = true }
            return
        }
        if let l = recovery.lossDetectionTimeout(), now >= l {
            let result = recovery.onLossDetectionTimeout(now: now)
            for token in result.lost { onPacketLost(token) }
            counters.lostPackets += UInt64(result.lost.count)
            let lost = result.lost.isEmpty ? [] : recovery.recovery.lostPackets
            pmtuCheckBlackHole(acked: [], lost: lost, now: now)   // also counts PTOs (RFC 8899 §4.3)
            ecnAfterAckOrLoss(ack: nil, acked: [], lost: lost)
            if let (space, count) = result.probe { schedulePTOProbe(space, count: count) }
            if let q = qlog { observeRecovery(q, now: now) }
        }
        if !configuration.keepAliveInterval.isZero, isHandshakeComplete, now >= lastSendTime + configuration.keepAliveInterval {
            pingPending = true
        }
    }

    /// When the oldest unacknowledged ack-eliciting packet has waited DisconnectTimeoutMs.
    func disconnectDeadline() -> QuicInstant? {
        recovery.recovery.oldestUnacknowledgedSendTime().map { $0 + configuration.disconnectTimeout }
    }

    /// Ends the connection at once without a packet (a timeout): the transport reason, marked
    /// by `mark`, goes to the application.
    private func closeSilently(_ mark: (inout ConnectionCloseReason) -> Void) {
        var reason = ConnectionCloseReason(errorCode: 0, isApplication: false, fromPeer: false)
        mark(&reason)
        closeReason = reason
        emit(.shutdownInitiatedByTransport(reason))
        finishClose()
    }

    /// RFC 9002 §6.2.4: a PTO sends one or two ack-eliciting probes, preferably repeating
    /// unacknowledged data.
    func schedulePTOProbe(_ space: PacketNumberSpace, count: Int) {
        var target = space
        // RFC 9002 §6.2.2.1 anti-deadlock: a client without anything in flight probes with
        // Handshake packets if it can, else Initial.
        if spaces[target.rawValue].discarded || (target != .application && spaces[target.rawValue].sendKeys == nil) {
            target = spaces[1].sendKeys != nil ? .handshake : .initial
        }
        spaces[target.rawValue].probesPending = max(1, count)
        if target != .application {
            streams.crypto.requeueUnacknowledged(level: target.encryptionLevel)
            // The other handshake space's unacknowledged data goes along in the same
            // datagrams (RFC 9002 §6.2.4 allows probing other spaces; RFC 9000 §12.2
            // coalescing): a server whose ServerHello (Initial) was lost would otherwise
            // probe only with Handshake packets the client cannot read yet.
            for other in [PacketNumberSpace.initial, .handshake] where other != target {
                guard !spaces[other.rawValue].discarded, spaces[other.rawValue].sendKeys != nil,
                      streams.crypto.hasUnacknowledgedData(level: other.encryptionLevel) else { continue }
                spaces[other.rawValue].probesPending = max(spaces[other.rawValue].probesPending, max(1, count))
                streams.crypto.requeueUnacknowledged(level: other.encryptionLevel)
            }
        } else {
            streams.requeueUnacknowledged()
            requeueUnacknowledgedControlFrames()
        }
    }

    /// The idle timeout in effect (RFC 9000 §10.1): the smaller of the two advertised values
    /// (0 = none), at least three PTOs; the handshake idle timeout until the handshake completes.
    /// max_idle_timeout is any varint (up to 2^62-1 ms, RFC 9000 §18.2) from either side: it
    /// becomes a saturating `QuicDuration` here, so 2^61 ms is simply "never" (issue 10).
    func restartIdleTimer(now: QuicInstant) {
        var timeout = QuicDuration.zero
        let local = QuicDuration.milliseconds(configuration.transportParameters.maxIdleTimeout)
        let peer = QuicDuration.milliseconds(peerTransportParameters?.maxIdleTimeout ?? 0)
        if !local.isZero && !peer.isZero { timeout = min(local, peer) } else { timeout = max(local, peer) }
        if !isHandshakeComplete, !configuration.handshakeIdleTimeout.isZero {
            timeout = timeout.isZero ? configuration.handshakeIdleTimeout : min(timeout, configuration.handshakeIdleTimeout)
        }
        if timeout.isZero { idleDeadline = .never; return }
        idleDeadline = now + max(timeout, 3 * recovery.pto)
    }

    // MARK: Closing (RFC 9000 §10.2)

    /// Application close: CONNECTION_CLOSE 0x1d with `errorCode` (RFC 9000 §10.2, §19.19).
    /// `silent` ends the connection at once without telling the peer (MsQuic's
    /// QUIC_CONNECTION_SHUTDOWN_FLAG_SILENT; the peer will time out or get a stateless reset).
    public func close(errorCode: UInt64, reason: [UInt8] = [], silent: Bool = false, now: QuicInstant) {
        guard state == .open else { return }
        closeReason = ConnectionCloseReason(errorCode: errorCode, isApplication: true, fromPeer: false, reason: Array(reason.prefix(512)))
        if silent { finishClose(); return }
        enterClosing(now: now)
    }

    /// A transport error detected locally: CONNECTION_CLOSE 0x1c (RFC 9000 §10.2, §11.1).
    func closeWithError(_ error: QuicError, now: QuicInstant) {
        guard state == .open else { return }
        var reason = ConnectionCloseReason(errorCode: error.code.rawValue, isApplication: false, fromPeer: false)
        reason.reason = Array(error.reason.utf8.prefix(256))
        closeReason = reason
        closeFrameType = error.frameType ?? 0
        emit(.shutdownInitiatedByTransport(reason))
        enterClosing(now: now)
    }

    func enterClosing(now: QuicInstant) {
        state = .closing
        qlog?.connectionStateUpdated(.closing, now: now)
        closePacketPending = true
        stateDeadline = now + 3 * recovery.pto
    }

    func handlePeerClose(_ f: ConnectionCloseFrame, payload: UnsafeRawBufferPointer, now: QuicInstant) {
        var reason = ConnectionCloseReason(errorCode: f.errorCode, isApplication: f.isApplicationError, fromPeer: true)
        reason.reason = Array(payload[f.reasonPhrase].prefix(1024))
        closeReason = reason
        if f.isApplicationError {
            emit(.shutdownInitiatedByPeer(errorCode: f.errorCode))
        } else {
            emit(.shutdownInitiatedByTransport(reason))
        }
        enterDraining(now: now, immediate: false)
        // RFC 9000 §10.2.2 leaves the draining period to the endpoint ("SHOULD" three PTOs).
        // MsQuic, which a peer closing first expects (connection.c QuicConnTryClose, "Peer
        // closed first"), drains for max(15 ms, 2 x smoothed RTT): with no RTT sample yet (a
        // server that only ACKed the client's Initial, e.g. while the application validates a
        // ticket) three PTOs of the 333 ms initial RTT would be about 3 s, its rule 666 ms.
        // Never longer than three PTOs.
        stateDeadline = now + min(3 * recovery.pto, max(.milliseconds(15), 2 * recovery.smoothedRTT))
        // RFC 9000 §10.2.2: one packet with CONNECTION_CLOSE (NO_ERROR) before draining, so the
        // peer learns its close arrived and can stop (MsQuic answers the same way).
        drainReplyPending = true
    }

    /// RFC 9000 §10.2.2: draining lasts three PTOs; nothing is sent. `immediate` (stateless
    /// reset, failed version negotiation) ends the connection at once.
    func enterDraining(now: QuicInstant, immediate: Bool) {
        state = .draining
        qlog?.connectionStateUpdated(.draining, now: now)
        stateDeadline = immediate ? now : now + 3 * recovery.pto
        if immediate { finishClose() }
    }

    /// Ends the connection at once whatever its state, skipping what is left of a closing or
    /// draining period (RFC 9000 §10.2 makes both a courtesy to the peer): for an owner that is
    /// going away and will not run the connection's timers any more.
    public func terminate() {
        if state == .open {
            closeReason = ConnectionCloseReason(errorCode: 0, isApplication: true, fromPeer: false)
        }
        finishClose()
    }

    func finishClose() {
        guard state != .closed else { return }
        let peerAcknowledged = (closeReason?.fromPeer ?? false) || peerAcknowledgedClose
        state = .closed
        for id in cids.local where !id.retired { registry.retireConnectionID(id.id) }
        syncPeerResetTokens()
        // Every stream ends before the connection reports its own end.
        streams.closeAll()
        drainStreamEvents()
        emit(.shutdownComplete(handshakeCompleted: isHandshakeComplete, peerAcknowledgedShutdown: peerAcknowledged,
                               appCloseInProgress: false))
    }
}

// Stateless reset (RFC 9000 §10.3.1) detected by the endpoint for an unroutable datagram.
extension Connection {
    public func matchesStatelessResetToken(_ token: StatelessResetToken) -> Bool {
        state == .open && cids.matchesResetToken(token)
    }

    public func onStatelessReset(now: QuicInstant) {
        guard state == .open else { return }
        var reason = ConnectionCloseReason(errorCode: 0, isApplication: false, fromPeer: true)
        reason.statelessReset = true
        closeReason = reason
        emit(.shutdownInitiatedByTransport(reason))
        enterDraining(now: now, immediate: true)
    }
}

extension Connection {
    /// The timers behind `nextTimeout()`, for diagnostics.
    public func timerDebug(now: QuicInstant) -> String {
        var parts = ["idle=\(idleDeadline)"]
        if let l = recovery.lossDetectionTimeout() { parts.append("loss=\(l)") }
        for s in PacketNumberSpace.allCases where !spaces[s.rawValue].discarded {
            if let a = recovery.ackDeadline(s) { parts.append("ack[\(s)]=\(a)") }
        }
        if let k = previousKeysDiscardTime { parts.append("keys=\(k)") }
        if let p = pacingReleaseTime { parts.append("pacer=\(p)") }
        return parts.joined(separator: " ")
    }
}
