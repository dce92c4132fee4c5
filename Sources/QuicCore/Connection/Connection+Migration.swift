import QuicWire

// The peer's address changes (RFC 9000 §9): a NAT rebinding or a client's migration seen by
// the server. The connection follows the highest-numbered non-probing packet to its new
// address (§9.3), validates that path with PATH_CHALLENGE/PATH_RESPONSE (§8.2), limits what it
// sends there to three times what it received until then (§9.3, §8.1), resets congestion
// control and the RTT estimate when more than the port changed (§9.4), and goes back to the
// last validated address if validation fails (§9.3.2). Connection IDs stay: a rebinding peer
// did not choose to move and keeps its DCID (§9.5 allows continuing with it).

/// A path validation in progress (RFC 9000 §8.2).
struct PathValidation {
    /// The PATH_CHALLENGE data (unpredictable, §8.2.1).
    var data: UInt64
    /// The new peer address being validated.
    var target: SocketAddress
    /// The validated address to go back to on failure (§9.3.2).
    var previous: SocketAddress
    /// A PATH_CHALLENGE is waiting to be sent.
    var challengePending = true
    /// When to send the next PATH_CHALLENGE if no response came.
    var nextChallenge: QuicInstant
    /// When validation is abandoned (§8.2.4).
    var deadline: QuicInstant
    /// Bytes received from and sent to `target` before validation (anti-amplification, §9.3).
    var received: UInt64 = 0
    var sent: UInt64 = 0
}

extension Connection {
    /// Whether packets of this datagram may move the connection to `remote`: a server, after
    /// the handshake is confirmed (§9: no migration before), when it is not the current address.
    func shouldFollowPeer(to remote: SocketAddress) -> Bool {
        role == .server && isHandshakeConfirmed && remote != remoteAddress && remote.family != .unspecified
    }

    /// §9.3: a non-probing packet with the highest packet number so far came from `remote`.
    func onPeerAddressChange(to remote: SocketAddress, now: QuicInstant) {
        let validated = pathValidation?.previous ?? remoteAddress
        if remote == validated {
            // Back on the last validated address (a reordered packet of the old path, or the
            // peer returned): no validation needed.
            pathValidation = nil
            remoteAddress = remote
            emit(.peerAddressChanged(remote))
            return
        }
        // §9.4: a new IP address means a new path: its congestion state and RTT are unknown.
        // A port change alone is most likely a NAT rebinding on the same path (kept).
        if remote.family != validated.family || remote.bytes != validated.bytes {
            recovery.resetForNewPath()
        }
        useFreshPeerCIDForNewPath()   // §9.5 (Connection+LocalMigration.swift)
        var g = SystemRandomNumberGenerator()
        // §8.2.4: abandon after max(3 PTO, 6 × the initial RTT); a challenge is resent every PTO.
        let timeout = max(3 * recovery.pto, 6 * kInitialRTT)
        pathValidation = PathValidation(data: g.next(), target: remote, previous: validated,
                                        nextChallenge: now + recovery.pto, deadline: now + timeout)
        // §9.3, §8.1: the datagram that moved us came from the new address and counts toward
        // what we may send there. Without it a peer that has nothing more to send (a client
        // whose upload is done) and waits for us gets nothing: our PATH_CHALLENGE could not
        // leave, validation would fail and we would return to an address the peer has left.
        if currentDatagramRemote == remote { pathValidation!.received = UInt64(currentDatagramSize) }
        remoteAddress = remote
        counters.pathChanges += 1
        emit(.peerAddressChanged(remote))
    }

    /// A PATH_RESPONSE (§8.2.3): received on any path, it validates the path its data was sent on.
    func onPathResponse(_ data: UInt64) {
        onLocalPathResponse(data)
        guard let v = pathValidation, v.data == data else { return }  // §8.2.3: unknown data is ignored
        pathValidation = nil
    }

    /// The path validation timers (§8.2.4): resend the challenge, or give up and return to the
    /// last validated address (§9.3.2).
    func handlePathTimers(now: QuicInstant) {
        handleLocalProbeTimers(now: now)
        guard var v = pathValidation else { return }
        if now >= v.deadline {
            pathValidation = nil
            remoteAddress = v.previous
            emit(.peerAddressChanged(v.previous))
            return
        }
        if now >= v.nextChallenge {
            v.challengePending = true
            v.nextChallenge = now + recovery.pto
            pathValidation = v
        }
    }

    /// The earliest path timer.
    var pathTimer: QuicInstant? {
        let local = localProbeTimer
        guard let v = pathValidation else { return local }
        let peer = min(v.nextChallenge, v.deadline)
        return local.map { min($0, peer) } ?? peer
    }

    /// §9.3, §8.1: bytes we may still send to an unvalidated new address (nil: no limit).
    var pathAmplificationBudget: UInt64? {
        guard let v = pathValidation else { return nil }
        let allowed = v.received > UInt64.max / 3 ? UInt64.max : 3 * v.received
        return allowed > v.sent ? allowed - v.sent : 0
    }
}
