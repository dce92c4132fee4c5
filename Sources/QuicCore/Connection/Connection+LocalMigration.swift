import QuicWire

// This endpoint moves to a new local address (RFC 9000 §9: active connection migration, the
// client side of it), and the connection IDs a path change calls for on either side (§9.5).
//
// As MsQuic does (connection.c, QuicConnParamSet LOCAL_ADDRESS), the client switches to the new
// local address at once and sends from there; unlike MsQuic it also probes the new path with
// PATH_CHALLENGE (§8.2, §9.2) and goes back to the previous local address when that
// validation fails (§9.3.2 is the server's rule; the same reasoning applies to a client whose
// new network does not reach the server). Before it sends from the new address it moves to a
// connection ID of the peer it never used (§9.5) and retires the old one (§5.1.2), and it
// resets congestion control and the RTT estimate unless only the port changed (§9.4).

/// The path state that is not the peer's address (`Connection.paths`).
struct PathState {
    /// The local address the connection sends from, as the runtime told it (unspecified when
    /// it never did: a connection that does not migrate need not know).
    var localAddress = SocketAddress()
    /// A validation of the new local path in progress (client active migration).
    var localProbe: LocalPathProbe?
    /// The DCID (one of ours) of the last non-probing packet of the current path, and of the
    /// datagram being processed: tells whether the peer moved to a new CID with its new path.
    var peerDCIDOnPath: ConnectionID?
    var datagramDCID: ConnectionID?
}

/// A PATH_CHALLENGE on the new local path (RFC 9000 §8.2.1) and what to go back to.
struct LocalPathProbe {
    var data: UInt64
    var challengePending = true
    var nextChallenge: QuicInstant
    var deadline: QuicInstant
    var previousLocal: SocketAddress
    /// Set when the probe moved to the server's preferred address (§9.6.1): where to go back.
    var previousRemote: SocketAddress? = nil
}

/// Why `Connection.migrate(toLocal:now:)` refused.
public enum LocalMigrationRefusal: Error, Equatable, Sendable {
    /// Only a client migrates actively (RFC 9000 §9).
    case notClient
    /// Not before the handshake is confirmed (§9: "MUST NOT initiate ... prior to handshake
    /// confirmation"); MsQuic: INVALID_STATE.
    case handshakeNotConfirmed
    /// The connection is closing, draining or closed.
    case closed
    /// The peer sent disable_active_migration (§18.2: no packets from another local address).
    case peerDisabledMigration
    /// No unused connection ID of the peer to send from the new address with (§9.5).
    case noSpareConnectionID
}

extension Connection {
    /// The local address the connection sends from (see `PathState.localAddress`).
    public var localAddress: SocketAddress { paths.localAddress }

    /// True while the new local path of a migration is being validated.
    public var isProbingLocalPath: Bool { paths.localProbe != nil }

    /// Tells the connection which local address it sends from (the runtime, once its socket is
    /// bound). Does not move the connection: see `migrate(toLocal:now:)`.
    public func noteLocalAddress(_ address: SocketAddress) {
        if paths.localProbe == nil { paths.localAddress = address }
    }

    /// Why a migration would be refused now, nil when it may go ahead.
    public var localMigrationRefusal: LocalMigrationRefusal? {
        guard role == .client else { return .notClient }
        guard state == .open else { return .closed }
        guard isHandshakeConfirmed else { return .handshakeNotConfirmed }
        // RFC 9000 §18.2: disable_active_migration forbids sending from another local address,
        // probing packets included (§9).
        if peerTransportParameters?.disableActiveMigration == true { return .peerDisabledMigration }
        // RFC 9000 §9.5: a new local address needs a CID of the peer not used before (a peer
        // using zero-length CIDs gives none, and none is needed).
        if !cids.currentRemote.isEmpty && cids.remote.count < 2 { return .noSpareConnectionID }
        return nil
    }

    /// Client active migration (RFC 9000 §9.2): from now on the connection sends from `local`.
    /// It moves to an unused CID of the peer (§9.5), resets congestion control and RTT unless
    /// only the port changed (§9.4), sends a PING (as MsQuic) and a PATH_CHALLENGE on the new
    /// path (§8.2.1), and emits `.localAddressChanged(local)`. If no PATH_RESPONSE comes within
    /// the validation timeout (§8.2.4) it returns to the previous local address and emits
    /// `.localAddressChanged(previous)`. A migration started while another one is validating
    /// replaces it (the previous address stays the last one that worked).
    public func migrate(toLocal local: SocketAddress, now: QuicInstant) throws(LocalMigrationRefusal) {
        if let refusal = localMigrationRefusal { throw refusal }
        let previous = paths.localProbe?.previousLocal ?? paths.localAddress
        // RFC 9000 §9.5: never the same CID from two local addresses; §5.1.2: the old one retired.
        if !cids.currentRemote.isEmpty {
            guard cids.switchRemote() else { throw .noSpareConnectionID }
            syncPeerResetTokens()
        }
        // RFC 9000 §9.4: a new network path starts from the initial congestion window and RTT.
        if !Self.onlyPortDiffers(previous, local) { recovery.resetForNewPath() }
        paths.localAddress = local
        var g = SystemRandomNumberGenerator()
        // RFC 9000 §8.2.4: give up after max(3 PTO, 6 × the initial RTT); resend every PTO.
        let timeout = max(3 * recovery.pto, 6 * kInitialRTT)
        paths.localProbe = LocalPathProbe(data: g.next(), nextChallenge: now + recovery.pto,
                                          deadline: now + timeout, previousLocal: previous)
        pingPending = true
        counters.pathChanges += 1
        emit(.localAddressChanged(local))
    }

    static func onlyPortDiffers(_ a: SocketAddress, _ b: SocketAddress) -> Bool {
        a.family == b.family && a.bytes == b.bytes
    }

    /// A PATH_RESPONSE for the local probe (RFC 9000 §8.2.3): the new path is validated.
    func onLocalPathResponse(_ data: UInt64) {
        guard let p = paths.localProbe, p.data == data else { return }
        paths.localProbe = nil
    }

    /// The local probe's timers (RFC 9000 §8.2.4).
    func handleLocalProbeTimers(now: QuicInstant) {
        guard var p = paths.localProbe else { return }
        if now >= p.deadline {
            // The new path does not work: back to the previous local address, with yet
            // another CID of the peer when one is left (§9.5), fresh recovery state (§9.4).
            paths.localProbe = nil
            let failed = paths.localAddress
            paths.localAddress = p.previousLocal
            if !cids.currentRemote.isEmpty, cids.switchRemote() { syncPeerResetTokens() }
            pingPending = true
            if let back = p.previousRemote {
                // §9.6.1: "If path validation fails, the client MUST continue sending all
                // future packets to the server's original IP address."
                let failedRemote = remoteAddress
                remoteAddress = back
                if !Self.onlyPortDiffers(failedRemote, back) { recovery.resetForNewPath() }
                emit(.peerAddressChanged(back))
            } else {
                if !Self.onlyPortDiffers(failed, p.previousLocal) { recovery.resetForNewPath() }
                emit(.localAddressChanged(p.previousLocal))
            }
            return
        }
        if now >= p.nextChallenge {
            p.challengePending = true
            p.nextChallenge = now + recovery.pto
            paths.localProbe = p
        }
    }

    var localProbeTimer: QuicInstant? {
        guard let p = paths.localProbe else { return nil }
        return min(p.nextChallenge, p.deadline)
    }

    /// Writes the local probe's PATH_CHALLENGE (RFC 9000 §8.2.1) into a 1-RTT packet.
    func writeLocalPathChallenge(_ w: inout WireWriter, frames: inout [SentFrame], ackEliciting: inout Bool) {
        guard let p = paths.localProbe, p.challengePending,
              (try? FrameEncoder.write(.pathChallenge(p.data), into: &w)) != nil else { return }
        paths.localProbe!.challengePending = false
        pathChallengeWritten = true           // §8.2.1: the datagram is expanded to 1200 bytes
        frames.append(.ping); ackEliciting = true  // recorded like a PING: a lost one is resent by the timer
    }

    /// Server, a peer moving to a new address (RFC 9000 §9.5): when the peer also moved to a
    /// CID of ours it had not used (a deliberate migration, not a NAT rebinding), we answer
    /// on the new path with an unused CID of the peer too, if it gave us one, so that the
    /// two paths cannot be linked by their CIDs; a rebinding peer keeps its CID and so do we.
    /// The DCID of a PATH_RESPONSE sent to a probed address (RFC 9000 §9.5: "MUST NOT reuse a
    /// connection ID when sending to more than one destination address"): the peer's unused CID
    /// of lowest sequence, the one `useFreshPeerCIDForNewPath` moves to if the peer then migrates
    /// there with a new CID; the current one when the peer gave no other.
    var probedPathDCID: ConnectionID {
        let active = cids.remote.indices.contains(cids.activeRemote) ? cids.remote[cids.activeRemote].sequence : nil
        return cids.remote.filter { $0.sequence != active }.min { $0.sequence < $1.sequence }?.id ?? cids.currentRemote
    }

    func useFreshPeerCIDForNewPath() {
        guard let used = paths.peerDCIDOnPath, let now = paths.datagramDCID, used != now,
              !cids.currentRemote.isEmpty, cids.switchRemote() else { return }
        syncPeerResetTokens()
    }
}

// The server's preferred address (RFC 9000 §9.6). MsQuic 2.6 implements neither side (its
// transport parameter decoder skips the parameter with a TODO, and QUIC_SETTINGS has no way to
// set one), so nothing in the API reaches the server side here: a server configuration whose
// transport parameters carry a `preferredAddress` (the engine API, tests) gets the CID of
// sequence 1 issued for it. The client side follows one when the server sends it.
extension Connection {
    /// Server: the preferred address to advertise with a CID of ours (sequence 1, §5.1.1) and
    /// its reset token filled in; nil stays nil.
    func issuePreferredAddressCID(_ configured: PreferredAddress?) -> PreferredAddress? {
        guard var pa = configured, role == .server, configuration.localConnectionIDLength > 0 else { return nil }
        let (id, token) = registry.issueConnectionID(for: self)
        cids.addLocal(id, token: token, announce: false)
        pa.connectionID = id
        pa.statelessResetToken = token
        return pa
    }

    /// Client: the CID of the server's preferred_address is the peer's CID of sequence 1 (§5.1.1)
    /// whether or not we move there; it counts against our active_connection_id_limit and is
    /// retired like any other.
    func notePreferredAddressCID(_ p: TransportParameters) {
        guard role == .client, let pa = p.preferredAddress, !cids.currentRemote.isEmpty,
              !cids.remote.contains(where: { $0.sequence == 1 || $0.id == pa.connectionID }) else { return }
        cids.remote.append(ConnectionIDState.Remote(sequence: 1, id: pa.connectionID, token: pa.statelessResetToken))
        syncPeerResetTokens()
    }

    /// The preferred address of the family in use (§18.2: an all-zero address and port means
    /// that family is absent), nil when there is none.
    func preferredAddressForCurrentFamily() -> SocketAddress? {
        guard let pa = peerTransportParameters?.preferredAddress else { return nil }
        switch remoteAddress.family {
        case .ipv4:
            let b = [pa.ipv4Address.0, pa.ipv4Address.1, pa.ipv4Address.2, pa.ipv4Address.3]
            guard pa.ipv4Port != 0, b != [0, 0, 0, 0] else { return nil }
            return SocketAddress(bytes: b, port: pa.ipv4Port)
        case .ipv6:
            guard pa.ipv6Port != 0, pa.ipv6Address.contains(where: { $0 != 0 }) else { return nil }
            return SocketAddress(bytes: pa.ipv6Address, port: pa.ipv6Port)
        case .unspecified:
            return nil
        }
    }

    /// Client, at handshake confirmation (§9.6.1: "Once the handshake is confirmed, the client
    /// SHOULD select one of the two addresses provided by the server and initiate path
    /// validation"): sends to the preferred address from now on with the CID that came with
    /// it, probes it with PATH_CHALLENGE, and returns to the original address if validation
    /// fails (the probe timers of the local migration). The switch comes first, as in our
    /// active migration; until validation the original address stays the one to go back to.
    func migrateToPreferredAddress(now: QuicInstant) {
        guard role == .client, configuration.usesPreferredAddress, state == .open, paths.localProbe == nil,
              let target = preferredAddressForCurrentFamily(), target != remoteAddress else { return }
        if !cids.currentRemote.isEmpty {
            // §9.6.1: the CID provided in preferred_address; §5.1.2: the handshake one retired.
            guard cids.switchRemote(toSequence: 1) else { return }
            syncPeerResetTokens()
        }
        let original = remoteAddress
        remoteAddress = target
        if !Self.onlyPortDiffers(original, target) { recovery.resetForNewPath() }   // §9.4
        var g = SystemRandomNumberGenerator()
        let timeout = max(3 * recovery.pto, 6 * kInitialRTT)   // §8.2.4
        paths.localProbe = LocalPathProbe(data: g.next(), nextChallenge: now + recovery.pto, deadline: now + timeout,
                                          previousLocal: paths.localAddress, previousRemote: original)
        pingPending = true
        counters.pathChanges += 1
        emit(.peerAddressChanged(target))
    }
}

extension ConnectionIDState {
    /// Moves to the peer's CID of `sequence` and retires the one in use (RFC 9000 §5.1.2).
    mutating func switchRemote(toSequence sequence: UInt64) -> Bool {
        guard remote.indices.contains(activeRemote), remote[activeRemote].sequence != sequence,
              remote.contains(where: { $0.sequence == sequence }) else { return false }
        let old = remote.remove(at: activeRemote)
        if !pendingRetirements.contains(old.sequence) { pendingRetirements.append(old.sequence) }
        activeRemote = remote.firstIndex { $0.sequence == sequence } ?? 0
        return true
    }
}
