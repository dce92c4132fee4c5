// Loss detection and recovery for one connection (RFC 9002 §5-§7, Appendix A): sent-packet
// tracking per packet number space, ACK processing, loss by packet and time threshold, the
// probe timeout with its handshake rules, persistent congestion, and the hand-off to
// congestion control and pacing. It also holds the receive-side `AckTracker` of each space so
// that an acknowledged ACK frame releases its ranges (RFC 9000 §13.2.4) without the
// connection's help.
//
// Outputs that are lists (packets acknowledged, lost, discarded) go into arrays owned by this
// object that are cleared and refilled by each call, so steady state allocates nothing; read
// them right after the call that filled them.

import QuicWire

/// RFC 9002 §6.1.1: kPacketThreshold.
public let kPacketThreshold: UInt64 = 3
/// RFC 9002 §7.6.1: kPersistentCongestionThreshold.
public let kPersistentCongestionThreshold: UInt64 = 3

/// Static settings of a connection's loss recovery.
public struct RecoveryConfig: Sendable {
    /// Servers never arm the client's anti-deadlock timer (RFC 9002 §6.2.2.1).
    public var isServer: Bool
    /// RFC 9002 §6.2.2 kInitialRtt (MsQuic InitialRttMs), µs.
    public var initialRTT: QuicDuration
    public var congestion: CongestionControlConfig
    /// Our max_ack_delay (µs), used by the receive side.
    public var localMaxAckDelay: QuicDuration
    /// Received-range bound per space.
    public var maxAckRanges: Int

    public init(isServer: Bool, initialRTT: QuicDuration = kInitialRTT,
                congestion: CongestionControlConfig = CongestionControlConfig(),
                localMaxAckDelay: QuicDuration = .milliseconds(25), maxAckRanges: Int = 64) {
        self.isServer = isServer; self.initialRTT = initialRTT; self.congestion = congestion
        self.localMaxAckDelay = localMaxAckDelay; self.maxAckRanges = maxAckRanges
    }
}

/// What an ACK frame did.
public struct AckOutcome: Sendable, Equatable {
    /// Packets newly acknowledged (also in `LossRecovery.ackedPackets`).
    public var newlyAcknowledged: Int = 0
    /// Packets declared lost while processing it (also in `LossRecovery.lostPackets`).
    public var lost: Int = 0
    /// An RTT sample was taken (RFC 9002 §5.1).
    public var rttSampled: Bool = false
    /// The ECN-CE count grew: a congestion event (RFC 9002 §7.1).
    public var ecnCongestion: Bool = false
    /// Persistent congestion was declared (RFC 9002 §7.6).
    public var persistentCongestion: Bool = false
    public init() {}
}

/// What the loss detection timer did when it fired (RFC 9002 Appendix A.9).
public enum LossTimeoutOutcome: Sendable, Equatable {
    /// The timer was not due (or not set): nothing happened.
    case none
    /// Time-threshold loss in `space`; the lost packets are in `LossRecovery.lostPackets`.
    case packetsLost(PacketNumberSpace)
    /// PTO: send `count` ack-eliciting probe packets in `space` (RFC 9002 §6.2.4: one or two,
    /// ignoring the congestion window, §7.5). With `antiDeadlock` the client has nothing in
    /// flight and must send a Handshake packet or a padded Initial (§6.2.2.1).
    case probe(PacketNumberSpace, count: Int, antiDeadlock: Bool)
}

public final class LossRecovery {
    public let config: RecoveryConfig
    public internal(set) var rtt: RTTEstimator
    public var congestion: CongestionController
    public var pacer: Pacer
    /// Receive side per space.
    public var ackTrackers: PerSpace<AckTracker>

    /// The peer's max_ack_delay (µs; RFC 9000 §18.2 default 25 ms). Set from its transport
    /// parameters.
    public var peerMaxAckDelay = QuicDuration.milliseconds(25)
    /// The peer's ack_delay_exponent (default 3) to decode ACK Delay.
    public var peerAckDelayExponent: UInt64 = 3

    /// RFC 9001 §4.1.2; PTO for the application space waits for it (RFC 9002 §6.2.1).
    public private(set) var handshakeConfirmed = false
    /// The client has Handshake keys (chooses the anti-deadlock probe's space, §6.2.2.1).
    public private(set) var hasHandshakeKeys = false
    /// A client got an ACK for one of its Handshake packets (RFC 9002 Appendix A.6).
    public private(set) var receivedHandshakeAck = false
    /// The server cannot send because of the anti-amplification limit (RFC 9002 §6.2.2.1).
    public private(set) var amplificationLimited = false
    /// RFC 9002 §6.2.1 pto_count.
    public private(set) var ptoCount: UInt32 = 0
    /// When `onLossDetectionTimeout` should be called; nil when disarmed (RFC 9002 A.8).
    public private(set) var lossDetectionTimer: QuicInstant?

    /// Filled by `onAckReceived` (ascending packet number): newly acknowledged packets.
    public private(set) var ackedPackets: [SentPacket] = []
    /// Filled by `onAckReceived` / `onLossDetectionTimeout`: packets declared lost.
    public private(set) var lostPackets: [SentPacket] = []
    /// Filled by `discardSpace`: packets dropped unacknowledged with their keys.
    public private(set) var discardedPackets: [SentPacket] = []

    private var sent: PerSpace<SentPacketRing>
    private var largestAcked = PerSpace<UInt64?>(repeating: nil)
    private var timeOfLastAckEliciting = PerSpace<QuicInstant?>(repeating: nil)
    private var lossTime = PerSpace<QuicInstant?>(repeating: nil)
    private var ackElicitingInFlight = PerSpace<Int>(repeating: 0)
    private var ecnCounts = PerSpace<ECNCounts>(repeating: ECNCounts(ect0: 0, ect1: 0, ce: 0))
    /// ECN validation (RFC 9000 §13.4.2): false once the peer's counts proved unusable.
    public private(set) var ecnCapable = true
    /// ECN-CE count increases that were congestion events (QUIC_STATISTICS_V2.SendEcnCongestionCount).
    public private(set) var ecnCongestionEvents: UInt64 = 0
    /// RFC 9000 §13.4.2: a new path is validated again.
    public func resetECNValidation() { ecnCapable = true }

    public init(config: RecoveryConfig) {
        self.config = config
        rtt = RTTEstimator(initialRTT: config.initialRTT)
        congestion = CongestionController(config: config.congestion)
        pacer = Pacer(initialTokens: congestion.initialWindow)
        var trackers = PerSpace(AckTracker(space: .initial, maxRanges: config.maxAckRanges),
                                AckTracker(space: .handshake, maxRanges: config.maxAckRanges),
                                AckTracker(space: .application, maxRanges: config.maxAckRanges))
        trackers.application.maxAckDelay = config.localMaxAckDelay
        ackTrackers = trackers
        // Small to start (an idle connection holds these for its whole life: 1,000 idle
        // connections cost 60 kB more each with 64/64/256 slots); the rings double when more
        // packets are outstanding, and keep that size, so a busy connection still allocates
        // nothing in steady state.
        sent = PerSpace(SentPacketRing(capacity: 16), SentPacketRing(capacity: 16), SentPacketRing(capacity: 32))
        ackedPackets.reserveCapacity(16)
        lostPackets.reserveCapacity(16)
        discardedPackets.reserveCapacity(4)
    }

    /// RFC 9000 §9.4: a new path gets the initial RTT estimate and a fresh congestion window.
    public func resetForNewPath() {
        rtt = RTTEstimator(initialRTT: config.initialRTT)
        congestion.resetForNewPath()
    }

    // MARK: queries

    /// When the oldest ack-eliciting packet still unacknowledged (in any space) was sent: the
    /// clock of MsQuic's DisconnectTimeoutMs.
    public func oldestUnacknowledgedSendTime() -> QuicInstant? {
        var oldest: QuicInstant?
        for space in PacketNumberSpace.allCases {
            if let t = sent[space].oldestAckElicitingSendTime() { oldest = min(oldest ?? t, t) }
        }
        return oldest
    }

    public var bytesInFlight: UInt64 { congestion.bytesInFlight }
    public var congestionWindow: UInt64 { congestion.congestionWindow }
    /// Whether a packet of `bytes` fits in the congestion window (probes skip this, §7.5).
    public func canSend(bytes: UInt64) -> Bool { congestion.canSend(bytes: bytes) }
    /// The largest packet number the peer acknowledged in `space` (for packet number
    /// encoding, RFC 9000 §17.1).
    public func largestAcknowledged(_ space: PacketNumberSpace) -> UInt64? { largestAcked[space] }
    /// Ack-eliciting packets of `space` still in flight.
    public func hasAckElicitingInFlight(_ space: PacketNumberSpace) -> Bool { ackElicitingInFlight[space] > 0 }
    /// Number of packets of `space` outstanding (neither acknowledged nor lost).
    public func outstandingCount(_ space: PacketNumberSpace) -> Int { sent[space].count }
    /// RFC 9002 Appendix A.6 PeerCompletedAddressValidation.
    public var peerCompletedAddressValidation: Bool {
        config.isServer || receivedHandshakeAck || handshakeConfirmed
    }
    /// RFC 9002 §6.2.1: the current PTO period of `space`, with backoff.
    public func probeTimeout(_ space: PacketNumberSpace) -> QuicDuration {
        var d = rtt.ptoBase
        if space == .application { d += peerMaxAckDelay }
        return LossRecovery.backedOff(d, ptoCount)
    }
    /// RFC 9002 §7.7: when a packet of `bytes` may leave according to the pacer.
    public func nextSendTime(bytes: UInt64, now: QuicInstant) -> QuicInstant {
        if congestion.config.algorithm == .bbr {
            // BBR paces at its model's rate (draft-cardwell §4.2.1); none on sub-ms paths (bbr.c).
            guard let rate = congestion.pacingRate else { return now }
            return pacer.nextSendTime(bytes: bytes, now: now, rateBytesPerSecond: rate,
                                      maxDatagramSize: congestion.maxDatagramSize)
        }
        return pacer.nextSendTime(bytes: bytes, now: now, congestionWindow: congestion.congestionWindow,
                           smoothedRTT: rtt.smoothedRTT, maxDatagramSize: congestion.maxDatagramSize)
    }

    /// The connection has nothing to send though the window has room (RFC 9002 §7.8):
    /// delivery-rate samples of the current flight are application-limited (draft-cheng §3.4).
    public func onApplicationLimited() { congestion.onApplicationLimited() }

    /// `d` × 2^count, saturating (a deadline that far out is `.never`).
    static func backedOff(_ d: QuicDuration, _ count: UInt32) -> QuicDuration {
        d.shifted(left: UInt64(count))
    }

    // MARK: state changes from the connection

    /// The handshake is confirmed (RFC 9001 §4.1.2): PTO may now cover the application space.
    public func onHandshakeConfirmed(now: QuicInstant) {
        handshakeConfirmed = true
        setLossDetectionTimer(now: now)
    }

    /// Handshake keys became available (client: decides the anti-deadlock probe's space).
    public func onHandshakeKeysAvailable(now: QuicInstant) {
        hasHandshakeKeys = true
        setLossDetectionTimer(now: now)
    }

    /// The server hit or left the anti-amplification limit (RFC 9000 §8.1); while limited
    /// the loss detection timer stays off (RFC 9002 §6.2.2.1).
    public func setAmplificationLimited(_ limited: Bool, now: QuicInstant) {
        guard limited != amplificationLimited else { return }
        amplificationLimited = limited
        setLossDetectionTimer(now: now)
    }

    // MARK: sending

    /// RFC 9002 Appendix A.5 OnPacketSent. Packet numbers of a space must increase; a packet
    /// number not above the last one recorded is refused (returns false, nothing recorded).
    @discardableResult
    public func onPacketSent(_ packet: SentPacket, space: PacketNumberSpace, now: QuicInstant) -> Bool {
        guard packet.packetNumber >= sent[space].next else { return false }
        var packet = packet
        // draft-cheng-iccrg-delivery-rate-estimation §3.2: delivery state at send time, in place.
        if packet.inFlight {
            congestion.deliveryRate.onPacketSent(&packet, bytesInFlight: congestion.bytesInFlight, now: now)
        }
        guard sent[space].insert(packet) else { return false }
        if packet.inFlight {
            if packet.ackEliciting {
                timeOfLastAckEliciting[space] = packet.timeSent
                ackElicitingInFlight[space] += 1
            }
            congestion.onPacketSent(bytes: UInt64(packet.size), now: now)
            pacer.onPacketSent(bytes: UInt64(packet.size))
            setLossDetectionTimer(now: now)
        }
        return true
    }

    // MARK: acknowledgements

    /// RFC 9002 Appendix A.7 OnAckReceived. `source` is the buffer the ACK frame was decoded
    /// from (its additional ranges are read from there). Throws PROTOCOL_VIOLATION for an
    /// acknowledgement of a packet number never sent (RFC 9000 §13.1).
    @discardableResult
    public func onAckReceived(_ ack: AckFrame, source: UnsafeRawBufferPointer, space: PacketNumberSpace,
                              now: QuicInstant) throws(QuicError) -> AckOutcome {
        ackedPackets.removeAll(keepingCapacity: true)
        lostPackets.removeAll(keepingCapacity: true)
        var outcome = AckOutcome()
        let frameType = ack.ecn == nil ? FrameType.ack : FrameType.ackECN
        guard ack.largestAcknowledged < sent[space].next else {
            throw QuicError.protocolViolation(frameType, "ACK of a packet number never sent")
        }
        if space == .handshake && !config.isServer { receivedHandshakeAck = true }
        if let l = largestAcked[space] {
            largestAcked[space] = max(l, ack.largestAcknowledged)
        } else {
            largestAcked[space] = ack.largestAcknowledged
        }

        // DetectAndRemoveAckedPackets: walk the ranges (largest first), each clipped to the
        // outstanding window so a huge range costs no more than the packets we hold.
        // (Mutated in place through PerSpace's _modify: no copy of the ring.)
        var ackElicitingAcked = false
        var largestNewlyAcked: SentPacket?
        for range in ack.ranges(in: source) {
            let base = sent[space].base, next = sent[space].next
            guard sent[space].count > 0, next > 0 else { break }
            let lo = max(range.lowerBound, base)
            let hi = min(range.upperBound, next - 1)
            if lo > hi { continue }
            var pn = hi
            while true {
                if let p = sent[space].remove(pn) {
                    ackedPackets.append(p)
                    if p.ackEliciting { ackElicitingAcked = true }
                    if largestNewlyAcked == nil { largestNewlyAcked = p }
                }
                if pn == lo { break }
                pn -= 1
            }
        }
        guard let largestNew = largestNewlyAcked else {
            // Nothing newly acknowledged: RFC 9002 A.7 returns here.
            return outcome
        }
        ackedPackets.reverse() // ascending order for the caller

        // RFC 9002 §5.1: an RTT sample when the largest acknowledged is newly acknowledged
        // and something ack-eliciting was newly acknowledged.
        if largestNew.packetNumber == ack.largestAcknowledged && ackElicitingAcked {
            let latest = now - largestNew.timeSent
            // §5.3: the Initial space's ack delay may be ignored (the peer does not delay).
            // RFC 9000 §19.3: ACK Delay × 2^ack_delay_exponent µs; the field is any varint and
            // the exponent ≤ 20 (§18.2, checked when the parameters were applied): the shift
            // saturates to .infinite, which `update` then never subtracts.
            let delay: QuicDuration = space == .initial ? .zero
                : QuicDuration.microseconds(ack.ackDelay).shifted(left: peerAckDelayExponent)
            rtt.update(latest: latest, ackDelay: delay, maxAckDelay: peerMaxAckDelay,
                       handshakeConfirmed: handshakeConfirmed, now: now)
            outcome.rttSampled = true
        }

        // RFC 9002 §7.1 / A.7 ProcessECN, with the validation of RFC 9000 §13.4.2.1.
        if let ecn = ack.ecn {
            outcome.ecnCongestion = processECN(ecn, space: space, largestSentTime: largestNew.timeSent, now: now)
        } else if ackedPackets.contains(where: { $0.ecnMarked }) {
            // RFC 9000 §13.4.2.1: ECT-marked packets newly acknowledged by a frame without ECN
            // counts: validation fails.
            ecnCapable = false
        }

        // Loss detection before the congestion window grows (A.7 order).
        let persistent = detectAndRemoveLostPackets(space: space, now: now)
        outcome.lost = lostPackets.count
        outcome.persistentCongestion = persistent

        // RFC 9406 §4.2 HyStart++: per-ACK RTT sampling and round tracking, before the
        // window grows for the acknowledged packets (application space only).
        if space == .application {
            congestion.hyStartOnAck(largestAcked: largestNew.packetNumber,
                                    rttSample: outcome.rttSampled ? rtt.latestRTT : nil,
                                    nextPacketNumber: sent[space].next)
        }

        // A.7 OnPacketsAcked, and RFC 9000 §13.2.4 for acknowledged ACK frames.
        var ackedBytes: UInt64 = 0
        var minAckRTT: QuicDuration?
        for p in ackedPackets {
            if p.ackEliciting && p.inFlight { ackElicitingInFlight[space] -= 1 }
            if p.inFlight {
                congestion.onPacketAcked(bytes: UInt64(p.size), timeSent: p.timeSent, now: now, rtt: rtt)
                congestion.deliveryRate.onPacketAcked(p, now: now)   // draft-cheng §3.3
                ackedBytes &+= UInt64(p.size)   // Bound: ≤ 2^32 packets × 2^32 bytes
            }
            let sample = now - p.timeSent
            minAckRTT = min(minAckRTT ?? sample, sample)
            if let l = p.largestAckCarried { ackTrackers[space].forgetAcknowledged(through: l) }
        }
        outcome.newlyAcknowledged = ackedPackets.count
        // Per-ACK congestion input (MsQuic QUIC_ACK_EVENT): the rate sample, and BBR's update.
        congestion.onAckProcessed(ackedBytes: ackedBytes, minRTTSample: minAckRTT,
                                  minRTT: rtt.hasSample ? rtt.minRTT : .zero, now: now)

        // RFC 9002 §6.2.1: reset the backoff, except at a client not yet sure that the
        // server validated its address.
        if peerCompletedAddressValidation { ptoCount = 0 }
        setLossDetectionTimer(now: now)
        return outcome
    }

    /// Returns true when the CE count grew.
    private func processECN(_ ecn: ECNCounts, space: PacketNumberSpace, largestSentTime: QuicInstant, now: QuicInstant) -> Bool {
        let old = ecnCounts[space]
        // RFC 9000 §13.4.2.1: counts never decrease; the increase of ECT(0)+ECT(1)+CE must
        // cover the newly acknowledged ECT-marked packets.
        if ecn.ect0 < old.ect0 || ecn.ect1 < old.ect1 || ecn.ce < old.ce {
            ecnCapable = false
            return false
        }
        // RFC 9000 Appendix A.4: we send ECT(0) only; ECT(1) reported means remarking.
        if ecn.ect1 > old.ect1 { ecnCapable = false }
        let increase = (ecn.ect0 - old.ect0) &+ (ecn.ect1 - old.ect1) &+ (ecn.ce - old.ce)
        var marked: UInt64 = 0
        for p in ackedPackets where p.ecnMarked { marked += 1 }
        if increase < marked { ecnCapable = false }
        ecnCounts[space] = ecn
        if ecn.ce > old.ce {
            ecnCongestionEvents &+= 1
            congestion.onECNCongestionExperienced(sentTime: largestSentTime, now: now)
            return true
        }
        return false
    }

    /// RFC 9002 Appendix A.10 DetectAndRemoveLostPackets plus OnPacketsLost (A.8 / B.8),
    /// filling `lostPackets`. Returns true if persistent congestion was declared (§7.6).
    private func detectAndRemoveLostPackets(space: PacketNumberSpace, now: QuicInstant) -> Bool {
        lossTime[space] = nil
        guard let largest = largestAcked[space] else { return false }
        let lossDelay = rtt.lossDelay
        // Packets sent at or before this are lost by the time threshold (§6.1.2).
        let lostSendTime: QuicInstant? = now >= QuicInstant.zero + lossDelay ? now - lossDelay : nil
        let firstLost = lostPackets.count

        // §7.6.2 persistent congestion duration.
        let pcDuration = (rtt.ptoBase + peerMaxAckDelay) * kPersistentCongestionThreshold
        let firstSample = rtt.firstSampleTime
        var runStart: QuicInstant?
        var persistent = false
        var expected = sent[space].base
        var earliestLossTime: QuicInstant?

        sent[space].forEach(from: 0, through: largest) { p in
            // A gap in packet numbers means a packet between was acknowledged (or lost
            // earlier): the persistent congestion run restarts (§7.6.2).
            if p.packetNumber != expected { runStart = nil }
            expected = p.packetNumber &+ 1
            // §6.1.1 packet threshold; §6.1.2 time threshold.
            let byCount = largest >= p.packetNumber &+ kPacketThreshold
            let byTime = lostSendTime.map { p.timeSent <= $0 } ?? false
            if byCount || byTime {
                lostPackets.append(p)
                // RFC 9000 §14.4: a lost PMTU probe says nothing about congestion.
                if p.ackEliciting, !p.isMTUProbe, let f = firstSample, p.timeSent > f {
                    if let s = runStart {
                        if p.timeSent - s > pcDuration { persistent = true }
                    } else {
                        runStart = p.timeSent
                    }
                }
            } else {
                let t = p.timeSent + lossDelay
                earliestLossTime = min(earliestLossTime ?? t, t)
            }
        }
        lossTime[space] = earliestLossTime
        guard lostPackets.count > firstLost else { return false }

        var newestLostSendTime: QuicInstant?
        for i in firstLost..<lostPackets.count {
            let p = lostPackets[i]
            _ = sent[space].remove(p.packetNumber)
            if p.inFlight {
                if p.ackEliciting { ackElicitingInFlight[space] -= 1 }
                congestion.onPacketLost(bytes: UInt64(p.size), now: now)
                if !p.isMTUProbe { newestLostSendTime = max(newestLostSendTime ?? .zero, p.timeSent) }
            }
        }
        if let t = newestLostSendTime {
            congestion.onCongestionEvent(sentTime: t, now: now)
        }
        if persistent {
            congestion.onPersistentCongestion()
        }
        return persistent
    }

    // MARK: timer

    /// RFC 9002 A.8 GetLossTimeAndSpace.
    private func earliestLossTime() -> (QuicInstant, PacketNumberSpace)? {
        var best: (QuicInstant, PacketNumberSpace)?
        for s in PacketNumberSpace.allCases {
            if let t = lossTime[s], best == nil || t < best!.0 { best = (t, s) }
        }
        return best
    }

    private var anyAckElicitingInFlight: Bool {
        ackElicitingInFlight.initial > 0 || ackElicitingInFlight.handshake > 0 || ackElicitingInFlight.application > 0
    }

    /// RFC 9002 §6.2.2.1: a client not yet known to be validated with no ack-eliciting
    /// Initial or Handshake packet in flight must keep a PTO armed so the server can send
    /// again. (Appendix A tests "nothing in flight at all"; 0-RTT packets in flight, whose PTO
    /// waits for confirmation, would leave no timer at all, so they are not counted here.)
    private var needsAntiDeadlockProbe: Bool {
        !peerCompletedAddressValidation && ackElicitingInFlight.initial == 0 && ackElicitingInFlight.handshake == 0
    }

    /// RFC 9002 A.8 GetPtoTimeAndSpace.
    private func ptoTimeAndSpace(now: QuicInstant) -> (QuicInstant, PacketNumberSpace)? {
        let base = LossRecovery.backedOff(rtt.ptoBase, ptoCount)
        if needsAntiDeadlockProbe {
            // §6.2.2.1 client anti-deadlock: arm from now.
            return (now + base, hasHandshakeKeys ? .handshake : .initial)
        }
        var best: (QuicInstant, PacketNumberSpace)?
        for s in PacketNumberSpace.allCases {
            guard ackElicitingInFlight[s] > 0, let last = timeOfLastAckEliciting[s] else { continue }
            var d = base
            if s == .application {
                // §6.2.1: no PTO for application data before the handshake is confirmed.
                if !handshakeConfirmed { break }
                // §6.2.1: include max_ack_delay (with backoff) for the application space.
                d += LossRecovery.backedOff(peerMaxAckDelay, ptoCount)
            }
            let t = last + d
            if best == nil || t < best!.0 { best = (t, s) }
        }
        return best
    }

    /// RFC 9002 A.8 SetLossDetectionTimer. Called after every event that can move the timer;
    /// the connection reads `lossDetectionTimer`.
    public func setLossDetectionTimer(now: QuicInstant) {
        if let (t, _) = earliestLossTime() {
            // Time threshold loss detection (§6.1.2).
            lossDetectionTimer = t
            return
        }
        // §6.2.2.1: a server at its amplification limit cannot send probes.
        if amplificationLimited {
            lossDetectionTimer = nil
            return
        }
        // Nothing to protect once the peer validated our address (A.8).
        if !anyAckElicitingInFlight && peerCompletedAddressValidation {
            lossDetectionTimer = nil
            return
        }
        lossDetectionTimer = ptoTimeAndSpace(now: now)?.0
    }

    /// RFC 9002 A.9 OnLossDetectionTimeout. Call when `now >= lossDetectionTimer`.
    public func onLossDetectionTimeout(now: QuicInstant) -> LossTimeoutOutcome {
        lostPackets.removeAll(keepingCapacity: true)
        guard let timer = lossDetectionTimer, now >= timer else { return .none }
        if let (_, space) = earliestLossTime() {
            // Time threshold loss detection.
            _ = detectAndRemoveLostPackets(space: space, now: now)
            setLossDetectionTimer(now: now)
            return .packetsLost(space)
        }
        let outcome: LossTimeoutOutcome
        if needsAntiDeadlockProbe {
            // §6.2.2.1: the client's anti-deadlock probe: Handshake if it has the keys, else
            // a padded Initial.
            outcome = .probe(hasHandshakeKeys ? .handshake : .initial, count: 1, antiDeadlock: true)
        } else {
            guard let (_, space) = ptoTimeAndSpace(now: now) else {
                lossDetectionTimer = nil
                return .none
            }
            // §6.2.4: one or two ack-eliciting probes.
            outcome = .probe(space, count: 2, antiDeadlock: false)
        }
        ptoCount &+= 1
        setLossDetectionTimer(now: now)
        return outcome
    }

    /// RFC 9000 §10.2 "the current PTO": smoothed_rtt + max(4·rttvar, kGranularity) +
    /// max_ack_delay, without backoff (closing/draining periods, idle timeout floor §10.1).
    public var currentPTO: QuicDuration { rtt.ptoBase + peerMaxAckDelay }

    /// Calls `body` with each outstanding packet of `space` in ascending packet number (e.g.
    /// to repeat unacknowledged data in a PTO probe, RFC 9002 §6.2.4).
    public func forEachOutstanding(_ space: PacketNumberSpace, _ body: (SentPacket) -> Void) {
        sent[space].forEach(from: 0, through: .max, body)
    }

    // MARK: discarding

    /// RFC 9002 §6.4 / A.11: the keys of `space` were discarded. Its packets leave the flight
    /// without being lost (they are put in `discardedPackets`), its timers are reset, the
    /// backoff restarts and the receive side forgets its ranges.
    public func discardSpace(_ space: PacketNumberSpace, now: QuicInstant) {
        ackTrackers[space].discard()
        ptoCount = 0
        discardOutstanding(space, now: now)
    }

    /// Drops the outstanding packets of `space` (into `discardedPackets`) and their timers
    /// without touching the receive side or the packet number space itself: 0-RTT packets
    /// after 0-RTT is rejected (RFC 9002 §6.4: removed from bytes in flight) or Initial packets
    /// before a Retry.
    public func discardOutstanding(_ space: PacketNumberSpace, now: QuicInstant) {
        discardedPackets.removeAll(keepingCapacity: true)
        sent[space].removeAll { p in
            discardedPackets.append(p)
        }
        for p in discardedPackets where p.inFlight {
            congestion.onPacketDiscarded(bytes: UInt64(p.size), now: now)
        }
        ackElicitingInFlight[space] = 0
        timeOfLastAckEliciting[space] = nil
        lossTime[space] = nil
        setLossDetectionTimer(now: now)
    }

    /// RFC 9002 §6.3: a client that receives a Retry resets congestion control and loss
    /// recovery state (its Initial packets are dropped into `discardedPackets`; their frames
    /// are sent again in new Initial packets) and may take the time since its first Initial
    /// as an RTT sample (`firstInitialSentTime`).
    public func onRetryReceived(firstInitialSentTime: QuicInstant?, now: QuicInstant) {
        discardOutstanding(.initial, now: now)
        congestion.reset()
        ptoCount = 0
        if let t = firstInitialSentTime, now > t, !rtt.hasSample {
            rtt.update(latest: now - t, ackDelay: .zero, maxAckDelay: peerMaxAckDelay,
                       handshakeConfirmed: false, now: now)
        }
        setLossDetectionTimer(now: now)
    }
}
