// The receive side of acknowledgements for one packet number space (RFC 9000 §13.2):
// which packet numbers arrived, duplicate detection, when an ACK is due, ECN counts, and
// writing the ACK / ACK_ECN frame.

import QuicWire

public struct AckTracker: Sendable {
    public let space: PacketNumberSpace
    public private(set) var received: ReceivedPacketRanges

    /// Our max_ack_delay in µs (RFC 9000 §18.2, default 25 ms; MsQuic MaxAckDelayMs). Only the
    /// application space delays ACKs (§13.2.1).
    public var maxAckDelay = QuicDuration.milliseconds(25)
    /// Ack-eliciting packets that trigger an immediate ACK (RFC 9000 §13.2.2 recommends 2;
    /// ACK_FREQUENCY's Ack-Eliciting Threshold + 1 when that extension is in use).
    public var ackElicitingThreshold: UInt64 = 2
    /// Out-of-order arrival triggers an immediate ACK (RFC 9000 §13.2.1). ACK_FREQUENCY with a
    /// Reordering Threshold of 0 turns this off.
    public var ackImmediatelyOnReordering: Bool = true
    /// draft-ietf-quic-ack-frequency §6.1 (Reordering Threshold): 1 (the default, RFC 9000
    /// §13.2.1) acknowledges any out-of-order packet at once; N > 1 only once the largest
    /// packet received is N or more past the smallest packet still missing that was not yet
    /// reported. 0 is `ackImmediatelyOnReordering == false`.
    public var reorderingThreshold: UInt64 = 1
    /// The Largest Acknowledged of the last ACK frame written (for the reordering threshold).
    public private(set) var largestReported: UInt64?

    /// Time the largest packet number was received (for ACK Delay, RFC 9000 §13.2.5).
    public private(set) var largestReceivedTime: QuicInstant = .zero
    /// The largest ack-eliciting packet number received.
    public private(set) var largestAckEliciting: UInt64?
    /// Ack-eliciting packets received since the last ACK frame was sent.
    public private(set) var ackElicitingSinceAck: UInt64 = 0
    /// Some packet was received since the last ACK frame was sent (an ACK may be bundled).
    public private(set) var hasUnacknowledged: Bool = false
    /// An ACK should go out immediately.
    public private(set) var ackImmediately: Bool = false
    /// When the first ack-eliciting packet not yet acknowledged arrived.
    private var oldestUnackedElicitingTime: QuicInstant?
    /// ECN counts of received packets (RFC 9000 §13.4.1), reported in ACK_ECN.
    public private(set) var ecnCounts = ECNCounts(ect0: 0, ect1: 0, ce: 0)

    public init(space: PacketNumberSpace, maxRanges: Int = 64) {
        self.space = space
        self.received = ReceivedPacketRanges(maxRanges: maxRanges)
    }

    /// RFC 9000 §12.3: a packet number already processed must be discarded. Call after
    /// removing header protection and decrypting, before processing frames.
    public func isDuplicate(_ packetNumber: UInt64) -> Bool {
        received.contains(packetNumber)
    }

    /// Records a successfully processed packet. Returns false (and changes nothing) for a
    /// duplicate.
    @discardableResult
    public mutating func onPacketReceived(_ packetNumber: UInt64, ackEliciting: Bool,
                                          ecn: ECNCodepoint = .notECT, now: QuicInstant) -> Bool {
        let previousLargest = received.largest
        guard received.insert(packetNumber) else { return false }
        // RFC 9000 §13.4.1: count the ECN marks of each packet processed.
        switch ecn {
        case .ect0: ecnCounts.ect0 &+= 1
        case .ect1: ecnCounts.ect1 &+= 1
        case .ce: ecnCounts.ce &+= 1
        case .notECT: break
        }
        if previousLargest == nil || packetNumber > previousLargest! {
            largestReceivedTime = now
        }
        hasUnacknowledged = true
        guard ackEliciting else { return true }

        ackElicitingSinceAck &+= 1
        if oldestUnackedElicitingTime == nil { oldestUnackedElicitingTime = now }

        // RFC 9000 §13.2.1: Initial and Handshake packets are acknowledged immediately.
        if space != .application { ackImmediately = true }
        // §13.2.1: every second ack-eliciting packet (§13.2.2 recommendation; settable).
        if ackElicitingSinceAck >= max(ackElicitingThreshold, 1) { ackImmediately = true }
        // §13.2.1: CE-marked packets are acknowledged immediately.
        if ecn == .ce { ackImmediately = true }
        if ackImmediatelyOnReordering && reorderingThreshold > 1 {
            // draft-ietf-quic-ack-frequency §6.1: a gap only triggers an ACK once packets
            // beyond it reach the threshold.
            if reorderingThresholdReached() { ackImmediately = true }
        } else if ackImmediatelyOnReordering, let largest = largestAckEliciting {
            if packetNumber < largest {
                // Older than an ack-eliciting packet already received.
                ackImmediately = true
            } else if packetNumber > largest &+ 1, !received.containsAll(from: largest &+ 1, to: packetNumber &- 1) {
                // Missing packets between the largest ack-eliciting one and this one.
                ackImmediately = true
            }
        }
        if largestAckEliciting == nil || packetNumber > largestAckEliciting! {
            largestAckEliciting = packetNumber
        }
        return true
    }

    /// IMMEDIATE_ACK frame received (draft-ietf-quic-ack-frequency §5): ACK without delay.
    /// Call after `onPacketReceived` for the packet that carried it.
    public mutating func requestImmediateAck() {
        if hasUnacknowledged { ackImmediately = true }
    }

    /// draft-ietf-quic-ack-frequency §6.1: the largest packet received is at least
    /// `reorderingThreshold` past the smallest missing packet number above what the last ACK
    /// reported (or above the oldest packet still tracked).
    func reorderingThresholdReached() -> Bool {
        let ranges = received.ranges
        guard ranges.count >= 2, let largest = ranges.last?.upperBound else { return false }
        let floor = largestReported.map { $0 &+ 1 } ?? ranges[0].lowerBound
        // Gaps lie between consecutive ranges; take the smallest one at or above `floor`.
        for i in 0..<(ranges.count - 1) {
            let missing = ranges[i].upperBound &+ 1      // first number of the gap after range i
            let gapEnd = ranges[i + 1].lowerBound        // first number after that gap
            guard gapEnd > floor else { continue }
            let smallestMissing = Swift.max(missing, floor)
            guard smallestMissing < gapEnd else { continue }
            return largest - smallestMissing >= reorderingThreshold
        }
        return false
    }

    /// Applies an ACK_FREQUENCY frame's values (draft-ietf-quic-ack-frequency §4, §6): the
    /// Ack-Eliciting Threshold (an ACK once that many ack-eliciting packets are unacknowledged;
    /// 0 and 1 mean every packet), the Requested Max Ack Delay and the Reordering Threshold.
    public mutating func applyAckFrequency(ackElicitingThreshold threshold: UInt64, maxAckDelay delay: QuicDuration,
                                           reorderingThreshold reordering: UInt64) {
        ackElicitingThreshold = Swift.max(threshold, 1)
        maxAckDelay = delay
        ackImmediatelyOnReordering = reordering != 0
        reorderingThreshold = Swift.max(reordering, 1)
    }

    /// Something can be acknowledged (for bundling an ACK into a packet that goes anyway).
    public var hasAckToSend: Bool { hasUnacknowledged && !received.isEmpty }

    /// When an ACK frame must be sent: nil if none is owed, a time <= now if it is due now.
    /// Only ack-eliciting packets make an ACK owed (RFC 9000 §13.2.1).
    public var ackDeadline: QuicInstant? {
        guard ackElicitingSinceAck > 0, let first = oldestUnackedElicitingTime else { return nil }
        if ackImmediately { return first }
        return first + maxAckDelay
    }

    /// Whether an ACK frame must be sent at `now`.
    public func isAckDue(now: QuicInstant) -> Bool {
        guard let d = ackDeadline else { return false }
        return d <= now
    }

    /// Writes an ACK (or ACK_ECN when any ECN mark was counted) frame for the ranges received,
    /// largest first, as many as fit in the writer (oldest ranges left out, RFC 9000 §13.2.3).
    /// The ACK Delay is the time since the largest packet arrived, scaled down by
    /// `ackDelayExponent` (RFC 9000 §13.2.5, §19.3). Returns the Largest Acknowledged written
    /// (record it with the sent packet for `forgetAcknowledged`), or nil if nothing was written
    /// (no ranges, or not even one range fits).
    public mutating func writeAckFrame(now: QuicInstant, ackDelayExponent: UInt64,
                                       into w: inout WireWriter) -> UInt64? {
        let ranges = received.ranges
        guard let largest = ranges.last?.upperBound else { return nil }
        let delayMicros = (now - largestReceivedTime).microseconds
        // RFC 9000 §19.3: ACK Delay is a varint; our exponent is at most 20 (§18.2), the
        // shift only drops bits and the value is clamped to 2^62-1 so it always encodes.
        let encodedDelay = Swift.min(ackDelayExponent < 64 ? delayMicros >> ackDelayExponent : 0, VarInt.max)
        let ecn: ECNCounts? = (ecnCounts.ect0 | ecnCounts.ect1 | ecnCounts.ce) != 0 ? ecnCounts : nil
        let count = AckTracker.rangesThatFit(ranges, ackDelay: encodedDelay, ecn: ecn, room: w.remaining)
        guard count > 0 else { return nil }
        do {
            try FrameEncoder.writeAck(ascending: ranges, newest: count, ackDelay: encodedDelay, ecn: ecn, into: &w)
        } catch {
            return nil
        }
        onAckSent()
        largestReported = largest
        return largest
    }

    /// Marks the current state as acknowledged (an ACK frame was sent).
    public mutating func onAckSent() {
        ackElicitingSinceAck = 0
        ackImmediately = false
        hasUnacknowledged = false
        oldestUnackedElicitingTime = nil
    }

    /// RFC 9000 §13.2.4: a packet carrying our ACK frame with Largest Acknowledged `largest`
    /// was acknowledged; stop acknowledging packet numbers up to it.
    public mutating func forgetAcknowledged(through largest: UInt64) {
        received.forget(through: largest)
    }

    /// The space's keys were discarded (RFC 9001 §4.9): nothing more to acknowledge.
    public mutating func discard() {
        received.removeAll()
        onAckSent()
    }

    /// How many of the newest `ranges` (ascending) fit in `room` bytes as an ACK frame.
    static func rangesThatFit(_ ranges: [ClosedRange<UInt64>], ackDelay: UInt64, ecn: ECNCounts?, room: Int) -> Int {
        guard let newest = ranges.last else { return 0 }
        @inline(__always) func v(_ x: UInt64) -> Int { VarInt.encodedLength(x) }
        var ecnLength = 0
        if let e = ecn { ecnLength = v(e.ect0) + v(e.ect1) + v(e.ce) }
        // Type, Largest Acknowledged, ACK Delay, First ACK Range; the range count is at most
        // a 2-byte varint for our bounded range lists (counted as its true length below).
        let fixed = 1 + v(newest.upperBound) + v(ackDelay) + v(newest.upperBound - newest.lowerBound) + ecnLength
        var used = fixed
        var count = 1
        var previousSmallest = newest.lowerBound
        var i = ranges.count - 2
        while i >= 0 {
            let r = ranges[i]
            let gap = previousSmallest - r.upperBound - 2
            let add = v(gap) + v(r.upperBound - r.lowerBound)
            if used + add + v(UInt64(count)) > room { break }
            used += add
            count += 1
            previousSmallest = r.lowerBound
            i -= 1
        }
        return used + v(UInt64(count - 1)) <= room ? count : 0
    }
}

extension ReceivedPacketRanges {
    /// True if every packet number in [from, to] was received.
    func containsAll(from: UInt64, to: UInt64) -> Bool {
        guard from <= to else { return true }
        for r in ranges.reversed() where r.contains(to) { return r.lowerBound <= from }
        return to < floor
    }
}
