import QuicWire

/// The connection's narrow view of the recovery components (`LossRecovery`, `AckTracker`):
/// tokens in, tokens out (RFC 9002; RFC 9000 §13.2).
final class RecoveryAdapter {
    let recovery: LossRecovery
    /// The last ACK processed declared persistent congestion (RFC 9002 §7.6).
    var lastAckPersistentCongestion = false

    init(role: EndpointRole, initialRTT: QuicDuration, localMaxAckDelay: QuicDuration, congestion: CongestionControlConfig) {
        var congestion = congestion
        if congestion.algorithm == .bbr && congestion.randomSeed == 0 {
            // BBR's first PROBE_BW phase is random per connection (bbr.c CxPlatRandom).
            congestion.randomSeed = randomBytes(8).reduce(0) { $0 << 8 | UInt64($1) }
        }
        recovery = LossRecovery(config: RecoveryConfig(isServer: role == .server, initialRTT: initialRTT,
                                                       congestion: congestion, localMaxAckDelay: localMaxAckDelay))
    }

    var smoothedRTT: QuicDuration { recovery.rtt.smoothedRTT }
    /// One PTO period without backoff (RFC 9002 §6.2.1), for closing/draining and idle timers.
    var pto: QuicDuration { recovery.rtt.ptoBase }
    var maxAckDelay: QuicDuration {
        get { recovery.peerMaxAckDelay }
        set { recovery.peerMaxAckDelay = newValue }
    }
    /// The peer's ack_delay_exponent (RFC 9000 §18.2, ≤ 20), scaling the ACK Delay it sends.
    var ackDelayExponent: UInt64 {
        get { recovery.peerAckDelayExponent }
        set { recovery.peerAckDelayExponent = newValue }
    }
    var bytesInFlight: UInt64 { recovery.bytesInFlight }
    var bytesInFlightMax: UInt64 { recovery.congestion.bytesInFlightMax }

    func resetForNewPath() { recovery.resetForNewPath() }
    func onHandshakeConfirmed(now: QuicInstant) { recovery.onHandshakeConfirmed(now: now) }
    func onHandshakeKeysAvailable(now: QuicInstant) { recovery.onHandshakeKeysAvailable(now: now) }
    func setAmplificationLimited(_ limited: Bool, now: QuicInstant) { recovery.setAmplificationLimited(limited, now: now) }

    // MARK: Receiving

    func isDuplicate(_ s: PacketNumberSpace, _ pn: UInt64) -> Bool { recovery.ackTrackers[s].isDuplicate(pn) }

    func onPacketReceived(_ s: PacketNumberSpace, _ pn: UInt64, ackEliciting: Bool, ecn: ECNCodepoint = .notECT, now: QuicInstant) {
        recovery.ackTrackers[s].onPacketReceived(pn, ackEliciting: ackEliciting, ecn: ecn, now: now)
    }

    func hasAckToSend(_ s: PacketNumberSpace) -> Bool { recovery.ackTrackers[s].hasUnacknowledged }
    func ackDeadline(_ s: PacketNumberSpace) -> QuicInstant? { recovery.ackTrackers[s].ackDeadline }

    func writeAck(_ s: PacketNumberSpace, now: QuicInstant, exponent: UInt64, into w: inout WireWriter) throws(BufferTooSmall) -> UInt64 {
        guard let largest = recovery.ackTrackers[s].writeAckFrame(now: now, ackDelayExponent: exponent, into: &w) else {
            throw BufferTooSmall()
        }
        return largest
    }

    /// RFC 9000 §13.2.4: once an ACK we sent is acknowledged, ranges up to it can go.
    func onAckOfAck(_ s: PacketNumberSpace, largest: UInt64) {
        recovery.ackTrackers[s].forgetAcknowledged(through: largest)
    }

    // MARK: Sending

    func onPacketSent(_ s: PacketNumberSpace, pn: UInt64, size: Int, ackEliciting: Bool, inFlight: Bool, now: QuicInstant,
                      largestAck: UInt64?, token: UInt64, ecnMarked: Bool = false, mtuProbe: Bool = false) {
        recovery.onPacketSent(SentPacket(packetNumber: pn, timeSent: now, size: UInt32(clamping: size),
                                         ackEliciting: ackEliciting, inFlight: inFlight, ecnMarked: ecnMarked,
                                         largestAckCarried: largestAck, token: token, isMTUProbe: mtuProbe),
                              space: s, now: now)
    }

    func canSend(bytes: Int) -> Bool { recovery.canSend(bytes: UInt64(bytes)) }

    /// Nothing left to send with room in the window (RFC 9002 §7.8; draft-cheng §3.4).
    func onApplicationLimited() { recovery.onApplicationLimited() }

    /// RFC 9002 §7.7: when the pacer lets a packet of `bytes` leave (<= now: at once).
    func nextSendTime(bytes: Int, now: QuicInstant) -> QuicInstant {
        recovery.nextSendTime(bytes: UInt64(bytes), now: now)
    }

    /// Processes an ACK frame. The newly acknowledged and lost packets are then in
    /// `recovery.ackedPackets` / `recovery.lostPackets` (reused arrays: no token lists are
    /// built per ACK).
    func onAckReceived(_ s: PacketNumberSpace, ack: AckFrame, source: UnsafeRawBufferPointer, now: QuicInstant)
        throws(QuicError) {
        let outcome = try recovery.onAckReceived(ack, source: source, space: s, now: now)
        lastAckPersistentCongestion = outcome.persistentCongestion
    }

    // MARK: Timers

    func lossDetectionTimeout() -> QuicInstant? { recovery.lossDetectionTimer }

    /// Lost packets' tokens, or the space and number of PTO probes to send.
    func onLossDetectionTimeout(now: QuicInstant) -> (lost: [UInt64], probe: (PacketNumberSpace, Int)?) {
        switch recovery.onLossDetectionTimeout(now: now) {
        case .none: return ([], nil)
        case .packetsLost: return (recovery.lostPackets.map(\.token), nil)
        case .probe(let space, let count, _): return ([], (space, count))
        }
    }

    /// Drops outstanding packets of a space without discarding it: rejected 0-RTT (RFC 9002
    /// §6.4) or Initial packets before a Retry (RFC 9002 §6.3).
    func discardOutstanding(_ s: PacketNumberSpace, now: QuicInstant) -> [UInt64] {
        recovery.discardOutstanding(s, now: now)
        return recovery.discardedPackets.map(\.token)
    }

    func onRetryReceived(now: QuicInstant) -> [UInt64] {
        recovery.onRetryReceived(firstInitialSentTime: nil, now: now)
        return recovery.discardedPackets.map(\.token)
    }

    /// RFC 9002 §6.4: discarding a space's keys drops its packets from flight.
    func discard(_ s: PacketNumberSpace, now: QuicInstant) -> [UInt64] {
        recovery.discardSpace(s, now: now)
        return recovery.discardedPackets.map(\.token)
    }
}
