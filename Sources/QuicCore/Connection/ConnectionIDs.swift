import QuicCrypto
import QuicWire

/// Where the connection IDs a connection issues are registered, so that datagrams carrying
/// them reach it (the `Endpoint`), and how their stateless reset tokens are derived.
public protocol ConnectionIDRegistry: AnyObject {
    /// A fresh connection ID of the endpoint's length, registered for `connection`, and its
    /// stateless reset token (RFC 9000 §5.1, §10.3.2).
    func issueConnectionID(for connection: Connection) -> (ConnectionID, StatelessResetToken)
    /// The connection ID no longer routes to its connection (RFC 9000 §5.1.2).
    func retireConnectionID(_ id: ConnectionID)
    /// The stateless reset tokens of the peer's connection IDs for `connection` changed
    /// (RFC 9000 §10.3.1), so that a reset can be matched without scanning every connection.
    func peerResetTokensChanged(for connection: Connection, added: [StatelessResetToken], removed: [StatelessResetToken])
    /// Server: a token for a NEW_TOKEN frame to `connection`'s client (RFC 9000 §8.1.3), nil for none.
    func newToken(for connection: Connection, now: QuicInstant) -> [UInt8]?
}

extension ConnectionIDRegistry {
    public func newToken(for connection: Connection, now: QuicInstant) -> [UInt8]? { nil }
    public func peerResetTokensChanged(for connection: Connection, added: [StatelessResetToken],
                                       removed: [StatelessResetToken]) {}
}

extension Connection {
    /// Tells the registry which reset tokens of the peer are live now: after the peer's
    /// transport parameters, NEW_CONNECTION_ID frames, and at the end (none). Rare events, so a
    /// plain diff of a handful of tokens.
    func syncPeerResetTokens() {
        let current = state == .closed ? [] : cids.remote.compactMap(\.token)
        let added = current.filter { !announcedResetTokens.contains($0) }
        let removed = announcedResetTokens.filter { !current.contains($0) }
        guard !added.isEmpty || !removed.isEmpty else { return }
        announcedResetTokens = current
        registry.peerResetTokensChanged(for: self, added: added, removed: removed)
    }
}

/// Random connection IDs for connections that are not attached to an `Endpoint` (tests).
final class StandaloneConnectionIDs: ConnectionIDRegistry {
    let length: Int
    init(length: Int) { self.length = length }
    func issueConnectionID(for connection: Connection) -> (ConnectionID, StatelessResetToken) {
        (ConnectionID.random(length: length), StatelessResetToken(randomBytes(16)))
    }
    func retireConnectionID(_ id: ConnectionID) {}
}

/// `count` unpredictable bytes, eight per call to the system generator (one `getrandom` per
/// 64-bit word rather than one per byte: a CID plus a reset token is 3 calls, not 36).
func randomBytes(_ count: Int) -> [UInt8] {
    var g = SystemRandomNumberGenerator()
    var out = [UInt8](repeating: 0, count: max(0, count))
    var i = 0
    while i < out.count {
        var word = g.next()
        let n = min(8, out.count - i)
        for j in 0..<n { out[i + j] = UInt8(truncatingIfNeeded: word); word >>= 8 }
        i += n
    }
    return out
}

extension ConnectionID {
    /// A random connection ID of `length` bytes (RFC 9000 §5.1: unpredictable).
    public static func random(length: Int) -> ConnectionID {
        ConnectionID(randomBytes(max(0, min(length, ConnectionID.maxLength)))) ?? ConnectionID()
    }
}

extension StatelessResetToken {
    init(_ bytes: [UInt8]) { self = bytes.withUnsafeBytes { StatelessResetToken($0) } }
}

/// The connection IDs of both directions (RFC 9000 §5.1): the ones we issued (the peer puts
/// them in the DCID of its packets) and the ones the peer issued (we send to one of them).
struct ConnectionIDState {
    struct Local {
        var sequence: UInt64
        var id: ConnectionID
        var token: StatelessResetToken
        var retired = false
    }
    struct Remote {
        var sequence: UInt64
        var id: ConnectionID
        var token: StatelessResetToken?
    }

    var local: [Local] = []
    var nextLocalSequence: UInt64 = 0
    /// Sequence numbers of NEW_CONNECTION_ID frames to (re)send.
    var pendingNewConnectionIDs: [UInt64] = []

    var remote: [Remote] = []
    /// The peer's CID we currently send to.
    var activeRemote: Int = 0
    /// Highest Retire Prior To received (RFC 9000 §19.15).
    var remoteRetirePriorTo: UInt64 = 0
    /// Sequence numbers of RETIRE_CONNECTION_ID frames to (re)send.
    var pendingRetirements: [UInt64] = []
    /// Our active_connection_id_limit (RFC 9000 §18.2).
    var localActiveLimit: UInt64 = 2

    var currentRemote: ConnectionID { remote.indices.contains(activeRemote) ? remote[activeRemote].id : ConnectionID() }

    /// Records a CID we issued (sequence 0 is the handshake's SCID, sequence 1 may be the
    /// preferred address's).
    mutating func addLocal(_ id: ConnectionID, token: StatelessResetToken, announce: Bool) {
        local.append(Local(sequence: nextLocalSequence, id: id, token: token))
        if announce { pendingNewConnectionIDs.append(nextLocalSequence) }
        nextLocalSequence += 1
    }

    func isLocal(_ id: ConnectionID) -> Bool { local.contains { $0.id == id && !$0.retired } }

    /// NEW_CONNECTION_ID from the peer (RFC 9000 §5.1.1, §19.15).
    mutating func onNewConnectionID(_ f: NewConnectionIDFrame, peerUsesZeroLength: Bool) throws(QuicError) {
        let type = FrameType.newConnectionID
        // §19.15: a zero-length CID peer must not send NEW_CONNECTION_ID.
        if peerUsesZeroLength { throw .protocolViolation(type, "NEW_CONNECTION_ID from a zero-length connection ID peer") }
        if f.retirePriorTo > f.sequenceNumber { throw .frameEncoding(type, "retire_prior_to greater than sequence number") }
        if let existing = remote.first(where: { $0.sequence == f.sequenceNumber }) {
            // §19.15: the same sequence number with a different CID is a PROTOCOL_VIOLATION.
            if existing.id != f.connectionID || existing.token != f.statelessResetToken {
                throw .protocolViolation(type, "sequence number reused for a different connection ID")
            }
            return
        }
        if remote.contains(where: { $0.id == f.connectionID }) {
            throw .protocolViolation(type, "connection ID reused with a different sequence number")
        }
        // Sequence numbers and Retire Prior To are any varint (< 2^62, RFC 9000 §19.15): only
        // compared here, never used in arithmetic.
        if f.sequenceNumber < remoteRetirePriorTo {
            // §19.15: already retired by an earlier Retire Prior To: retire immediately.
            if !pendingRetirements.contains(f.sequenceNumber) { pendingRetirements.append(f.sequenceNumber) }
            try checkPendingRetirements()
            return
        }
        remote.append(Remote(sequence: f.sequenceNumber, id: f.connectionID, token: f.statelessResetToken))
        if f.retirePriorTo > remoteRetirePriorTo {
            remoteRetirePriorTo = f.retirePriorTo
            let active = remote.indices.contains(activeRemote) ? remote[activeRemote].sequence : 0
            for r in remote where r.sequence < f.retirePriorTo {
                if !pendingRetirements.contains(r.sequence) { pendingRetirements.append(r.sequence) }
            }
            remote.removeAll { $0.sequence < f.retirePriorTo }
            // §5.1.2: switch to a CID that is not retired.
            activeRemote = remote.firstIndex { $0.sequence == active } ?? 0
            try checkPendingRetirements()
        }
        // §5.1.1: more active CIDs than our limit is a CONNECTION_ID_LIMIT_ERROR.
        if UInt64(remote.count) > localActiveLimit {
            throw QuicError(code: .connectionIDLimitError, frameType: type, reason: "too many connection IDs")
        }
    }

    /// Moves to another of the peer's CIDs and retires the one in use (RFC 9000 §5.1.2,
    /// §19.16). False when the peer gave no spare CID.
    mutating func switchRemote() -> Bool {
        guard remote.count >= 2, remote.indices.contains(activeRemote) else { return false }
        let old = remote.remove(at: activeRemote)
        if !pendingRetirements.contains(old.sequence) { pendingRetirements.append(old.sequence) }
        activeRemote = remote.indices.min { remote[$0].sequence < remote[$1].sequence } ?? 0
        return true
    }

    /// RETIRE_CONNECTION_ID from the peer (RFC 9000 §19.16); returns the retired CID.
    /// RFC 9000 §5.1.2: the RETIRE_CONNECTION_ID frames we owe are bounded. "An endpoint
    /// SHOULD allow for sending and tracking a number of RETIRE_CONNECTION_ID frames of at
    /// least twice the value of the active_connection_id_limit"; beyond that it "MAY" treat the
    /// excess as CONNECTION_ID_LIMIT_ERROR, which we do (else a peer that raises Retire Prior To
    /// in every frame grows this list without bound while we cannot send).
    func checkPendingRetirements() throws(QuicError) {
        // Bound: localActiveLimit is clamped to 2^20 so the product cannot overflow.
        let cap = Swift.max(2 * Swift.min(localActiveLimit, 1 << 20), 16)
        if UInt64(pendingRetirements.count) > cap {
            throw QuicError(code: .connectionIDLimitError, frameType: FrameType.newConnectionID,
                            reason: "too many connection IDs waiting to be retired")
        }
    }

    mutating func onRetireConnectionID(_ sequence: UInt64, packetDCID: ConnectionID) throws(QuicError) -> ConnectionID? {
        let type = FrameType.retireConnectionID
        // §19.16: an endpoint that provides a zero-length connection ID has none to retire.
        if local.first?.id.isEmpty ?? false { throw .protocolViolation(type, "RETIRE_CONNECTION_ID to a zero-length connection ID") }
        if sequence >= nextLocalSequence { throw .protocolViolation(type, "retiring a connection ID never issued") }
        guard let i = local.firstIndex(where: { $0.sequence == sequence }), !local[i].retired else { return nil }
        // §19.16: retiring the CID the packet was sent to is a PROTOCOL_VIOLATION.
        if local[i].id == packetDCID { throw .protocolViolation(type, "retiring the connection ID in use") }
        local[i].retired = true
        return local[i].id
    }

    /// True if `token` is the stateless reset token of one of the peer's CIDs (RFC 9000 §10.3.1),
    /// compared in constant time.
    func matchesResetToken(_ token: StatelessResetToken) -> Bool {
        var found = false
        for r in remote { if let t = r.token, ConstantTime.equal(t, token) { found = true } }
        return found
    }
}
