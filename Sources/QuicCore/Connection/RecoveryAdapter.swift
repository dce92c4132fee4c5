import QuicWire

/// The connection's view of loss recovery and ACK generation (RFC 9002, RFC 9000 §13.2).
/// TEMPORARY simple implementation until the recovery branch's components are merged; the
/// connection only talks to this type.
final class RecoveryAdapter {
    // MARK: RTT (RFC 9002 §5)
    var latestRTT: UInt64 = 0
    var minRTT: UInt64 = 0
    var smoothedRTT: UInt64
    var rttVariance: UInt64
    var hasRTTSample = false
    var maxAckDelay: UInt64 = 25_000          // peer's max_ack_delay (µs), set after the handshake
    var localMaxAckDelay: UInt64 = 25_000     // ours
    var ptoCount: UInt32 = 0
    var handshakeConfirmed = false
    var peerAddressValidated = true
    var role: EndpointRole

    // MARK: Congestion control: NewReno (RFC 9002 §7)
    let maxDatagramSize = 1200
    var congestionWindow: Int
    var bytesInFlight = 0
    var ssthresh = Int.max
    var recoveryStartTime: UInt64?

    struct Sent {
        var packetNumber: UInt64
        var timeSent: UInt64
        var size: Int
        var ackEliciting: Bool
        var inFlight: Bool
        var token: UInt64
    }
    struct SpaceState {
        var sent: [Sent] = []                     // ascending packet numbers
        var largestAcked: UInt64?
        var lossTime: UInt64?
        var timeOfLastAckEliciting: UInt64?
        // ACK generation (RFC 9000 §13.2)
        var received: [ClosedRange<UInt64>] = []  // largest first
        var largestReceivedTime: UInt64 = 0
        var unackedAckEliciting = 0
        var ackPending = false
        var firstUnackedTime: UInt64?
        var discarded = false
    }
    var spaces = [SpaceState(), SpaceState(), SpaceState()]

    init(role: EndpointRole, initialRTT: UInt64) {
        self.role = role
        smoothedRTT = initialRTT
        rttVariance = initialRTT / 2
        congestionWindow = min(10 * 1200, max(2 * 1200, 14720))  // RFC 9002 §7.2
    }

    // MARK: Receiving

    func isDuplicate(_ s: PacketNumberSpace, _ pn: UInt64) -> Bool {
        spaces[s.rawValue].received.contains { $0.contains(pn) }
    }

    func onPacketReceived(_ s: PacketNumberSpace, _ pn: UInt64, ackEliciting: Bool, now: UInt64) {
        var st = spaces[s.rawValue]
        insert(pn, into: &st.received)
        if st.received.count > 64 { st.received.removeLast(st.received.count - 64) }  // bounded ranges
        if st.received.first?.upperBound == pn { st.largestReceivedTime = now }
        if ackEliciting {
            st.unackedAckEliciting += 1
            if st.firstUnackedTime == nil { st.firstUnackedTime = now }
        }
        st.ackPending = true
        spaces[s.rawValue] = st
    }

    private func insert(_ pn: UInt64, into ranges: inout [ClosedRange<UInt64>]) {
        var lo = pn, hi = pn
        var out: [ClosedRange<UInt64>] = []
        for r in ranges {
            if r.upperBound &+ 1 < lo || r.lowerBound > hi &+ 1 { out.append(r) } else {
                lo = min(lo, r.lowerBound); hi = max(hi, r.upperBound)
            }
        }
        out.append(lo...hi)
        out.sort { $0.lowerBound > $1.lowerBound }
        ranges = out
    }

    /// Something received that we have not acknowledged yet.
    func hasAckToSend(_ s: PacketNumberSpace) -> Bool { spaces[s.rawValue].ackPending && !spaces[s.rawValue].received.isEmpty }

    /// RFC 9000 §13.2.1: Initial/Handshake acknowledged at once; application data after two
    /// ack-eliciting packets or max_ack_delay.
    func ackDeadline(_ s: PacketNumberSpace) -> UInt64? {
        let st = spaces[s.rawValue]
        guard st.ackPending, st.unackedAckEliciting > 0, let first = st.firstUnackedTime else { return nil }
        if s != .application || st.unackedAckEliciting >= 2 { return first }
        return first + localMaxAckDelay
    }

    func writeAck(_ s: PacketNumberSpace, now: UInt64, exponent: UInt64, into w: inout WireWriter) throws(BufferTooSmall) -> UInt64 {
        let st = spaces[s.rawValue]
        guard let largest = st.received.first?.upperBound else { throw BufferTooSmall() }
        let delay = s == .application && now > st.largestReceivedTime ? (now - st.largestReceivedTime) >> exponent : 0
        try FrameEncoder.writeAck(ranges: st.received, ackDelay: delay, into: &w)
        spaces[s.rawValue].ackPending = false
        spaces[s.rawValue].unackedAckEliciting = 0
        spaces[s.rawValue].firstUnackedTime = nil
        return largest
    }

    /// RFC 9000 §13.2.4: once an ACK we sent is acknowledged, older ranges can go.
    func onAckOfAck(_ s: PacketNumberSpace, largest: UInt64) {
        spaces[s.rawValue].received.removeAll { $0.upperBound + 32 < largest }
    }

    // MARK: Sending

    func onPacketSent(_ s: PacketNumberSpace, pn: UInt64, size: Int, ackEliciting: Bool, inFlight: Bool, now: UInt64, token: UInt64) {
        spaces[s.rawValue].sent.append(Sent(packetNumber: pn, timeSent: now, size: size, ackEliciting: ackEliciting,
                                            inFlight: inFlight, token: token))
        if inFlight {
            bytesInFlight += size
            if ackEliciting { spaces[s.rawValue].timeOfLastAckEliciting = now }
        }
    }

    var congestionAvailable: Int { max(0, congestionWindow - bytesInFlight) }

    /// Processes an ACK frame (RFC 9002 §6, §A.7); returns the tokens of newly acknowledged and lost packets.
    func onAckReceived(_ s: PacketNumberSpace, ack: AckFrame, source: UnsafeRawBufferPointer, ackDelayExponent: UInt64,
                       nextPacketNumber: UInt64, now: UInt64) throws(QuicError) -> (acked: [UInt64], lost: [UInt64]) {
        // RFC 9000 §13.1: acknowledging a packet never sent is a PROTOCOL_VIOLATION.
        if ack.largestAcknowledged >= nextPacketNumber {
            throw .protocolViolation(FrameType.ack, "acknowledged a packet number never sent")
        }
        var st = spaces[s.rawValue]
        let ranges = Array(ack.ranges(in: source))
        var newlyAcked: [Sent] = []
        st.sent.removeAll { p in
            if ranges.contains(where: { $0.contains(p.packetNumber) }) { newlyAcked.append(p); return true }
            return false
        }
        st.largestAcked = max(st.largestAcked ?? 0, ack.largestAcknowledged)
        spaces[s.rawValue] = st
        guard !newlyAcked.isEmpty else { return ([], []) }
        // RTT sample (RFC 9002 §5.1) when the largest is newly acknowledged and ack-eliciting.
        if let largest = newlyAcked.last, largest.packetNumber == ack.largestAcknowledged,
           newlyAcked.contains(where: { $0.ackEliciting }) {
            let delay = s == .application ? min(ack.ackDelayMicroseconds(exponent: ackDelayExponent),
                                                handshakeConfirmed ? maxAckDelay : .max) : 0
            updateRTT(latest: now > largest.timeSent ? now - largest.timeSent : 1, ackDelay: delay)
        }
        for p in newlyAcked where p.inFlight {
            bytesInFlight -= p.size
            // NewReno (RFC 9002 §7.3): grow unless the packet was sent during recovery.
            if let start = recoveryStartTime, p.timeSent <= start { continue }
            if congestionWindow < ssthresh { congestionWindow += p.size }
            else { congestionWindow += maxDatagramSize * p.size / congestionWindow }
        }
        let lost = detectLoss(s, now: now)
        ptoCount = 0
        return (newlyAcked.map(\.token), lost)
    }

    private func updateRTT(latest: UInt64, ackDelay: UInt64) {
        latestRTT = latest
        if !hasRTTSample {
            hasRTTSample = true
            minRTT = latest; smoothedRTT = latest; rttVariance = latest / 2
            return
        }
        minRTT = min(minRTT, latest)
        var adjusted = latest
        if latest >= minRTT + ackDelay { adjusted = latest - ackDelay }
        let diff = smoothedRTT > adjusted ? smoothedRTT - adjusted : adjusted - smoothedRTT
        rttVariance = (3 * rttVariance + diff) / 4
        smoothedRTT = (7 * smoothedRTT + adjusted) / 8
    }

    /// RFC 9002 §6.1: packet threshold 3, time threshold 9/8 RTT.
    private func detectLoss(_ s: PacketNumberSpace, now: UInt64) -> [UInt64] {
        guard let largest = spaces[s.rawValue].largestAcked else { return [] }
        let lossDelay = max(9 * max(latestRTT, smoothedRTT) / 8, 1000)
        var lost: [Sent] = []
        var st = spaces[s.rawValue]
        st.lossTime = nil
        st.sent.removeAll { p in
            guard p.packetNumber <= largest else { return false }
            if p.packetNumber + 3 <= largest || p.timeSent + lossDelay <= now { lost.append(p); return true }
            let t = p.timeSent + lossDelay
            st.lossTime = min(st.lossTime ?? t, t)
            return false
        }
        spaces[s.rawValue] = st
        onLost(lost, now: now)
        return lost.map(\.token)
    }

    private func onLost(_ lost: [Sent], now: UInt64) {
        var latestLostSent: UInt64 = 0
        for p in lost where p.inFlight {
            bytesInFlight -= p.size
            latestLostSent = max(latestLostSent, p.timeSent)
        }
        guard lost.contains(where: \.inFlight) else { return }
        // RFC 9002 §7.3.2: one reduction per round trip.
        if let start = recoveryStartTime, latestLostSent <= start { return }
        recoveryStartTime = now
        ssthresh = max(congestionWindow / 2, 2 * maxDatagramSize)
        congestionWindow = ssthresh
    }

    // MARK: Timers (RFC 9002 §6.2, A.8)

    var pto: UInt64 { smoothedRTT + max(4 * rttVariance, 1000) }

    func ptoTime(_ s: PacketNumberSpace) -> UInt64? {
        let st = spaces[s.rawValue]
        guard !st.discarded, let t = st.timeOfLastAckEliciting, st.sent.contains(where: { $0.ackEliciting }) else { return nil }
        var d = pto
        if s == .application { if !handshakeConfirmed { return nil }; d += maxAckDelay }
        return t + d << min(ptoCount, 16)
    }

    func lossDetectionTimeout() -> UInt64? {
        var earliest: UInt64?
        for s in PacketNumberSpace.allCases {
            if let t = spaces[s.rawValue].lossTime { earliest = min(earliest ?? t, t) }
        }
        if let e = earliest { return e }
        for s in PacketNumberSpace.allCases { if let t = ptoTime(s) { earliest = min(earliest ?? t, t) } }
        return earliest
    }

    /// Returns lost packets' tokens, or the space that needs PTO probes.
    func onLossDetectionTimeout(now: UInt64) -> (lost: [UInt64], probe: PacketNumberSpace?) {
        for s in PacketNumberSpace.allCases {
            if let t = spaces[s.rawValue].lossTime, t <= now { return (detectLoss(s, now: now), nil) }
        }
        var best: (PacketNumberSpace, UInt64)?
        for s in PacketNumberSpace.allCases { if let t = ptoTime(s), t <= now, best.map({ t < $0.1 }) ?? true { best = (s, t) } }
        guard let (s, _) = best else { return ([], nil) }
        ptoCount += 1
        return ([], s)
    }

    /// RFC 9002 §6.4: discarding a space's keys drops its packets from flight.
    func discard(_ s: PacketNumberSpace) -> [UInt64] {
        var st = spaces[s.rawValue]
        for p in st.sent where p.inFlight { bytesInFlight -= p.size }
        let tokens = st.sent.map(\.token)
        st = SpaceState()
        st.discarded = true
        spaces[s.rawValue] = st
        ptoCount = 0
        return tokens
    }

    /// Forgets a space's sent packets without discarding it (client after a Retry, RFC 9000 §17.2.5.3).
    func resetSpace(_ s: PacketNumberSpace) -> [UInt64] {
        var st = spaces[s.rawValue]
        for p in st.sent where p.inFlight { bytesInFlight -= p.size }
        let tokens = st.sent.map(\.token)
        st.sent = []
        st.timeOfLastAckEliciting = nil
        st.lossTime = nil
        spaces[s.rawValue] = st
        return tokens
    }

    /// Every unacknowledged ack-eliciting packet of a space, for a probe that repeats their data.
    func unackedTokens(_ s: PacketNumberSpace) -> [UInt64] { spaces[s.rawValue].sent.filter(\.ackEliciting).map(\.token) }
}
