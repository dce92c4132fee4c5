// The sent packets of one packet number space in a ring buffer indexed by packet number.
// Packet numbers only grow (RFC 9000 §12.3), so the outstanding ones form a window
// [base, next); slot = pn & mask. Storage grows (doubling) only when more packets are
// outstanding than it holds, so steady state allocates nothing.

struct SentPacketRing {
    private var slots: [SentPacket]
    /// Whether the slot holds an outstanding packet (not acknowledged, lost, or skipped).
    private var live: [Bool]
    private var mask: UInt64
    /// The smallest packet number that may still be outstanding.
    private(set) var base: UInt64 = 0
    /// One past the largest packet number recorded.
    private(set) var next: UInt64 = 0
    /// Number of outstanding packets.
    private(set) var count: Int = 0

    private static let empty = SentPacket(packetNumber: 0, timeSent: 0, size: 0, ackEliciting: false,
                                          inFlight: false, token: 0)

    init(capacity: Int = 64) {
        var c = 16
        while c < capacity { c *= 2 }
        slots = Array(repeating: Self.empty, count: c)
        live = Array(repeating: false, count: c)
        mask = UInt64(c - 1)
    }

    var isEmpty: Bool { count == 0 }

    /// Records a packet. Its number must be at least `next` (packet numbers never repeat,
    /// RFC 9000 §12.3); returns false otherwise and records nothing.
    mutating func insert(_ packet: SentPacket) -> Bool {
        guard packet.packetNumber >= next else { return false }
        if count == 0 {
            // Nothing outstanding: restart the window at this packet.
            base = packet.packetNumber
        }
        // Grow until [base, pn] fits.
        while packet.packetNumber - base >= UInt64(slots.count) { grow() }
        // Skipped packet numbers between next and pn are already marked not live.
        let i = Int(packet.packetNumber & mask)
        slots[i] = packet
        live[i] = true
        next = packet.packetNumber + 1
        count += 1
        return true
    }

    private mutating func grow() {
        let oldCount = slots.count
        let newCount = oldCount * 2
        var newSlots = Array(repeating: Self.empty, count: newCount)
        var newLive = Array(repeating: false, count: newCount)
        let newMask = UInt64(newCount - 1)
        var pn = base
        while pn < next {
            let o = Int(pn & mask)
            if live[o] {
                let n = Int(pn & newMask)
                newSlots[n] = slots[o]
                newLive[n] = true
            }
            pn += 1
        }
        slots = newSlots
        live = newLive
        mask = newMask
    }

    /// The outstanding packet with this number, if any.
    func get(_ pn: UInt64) -> SentPacket? {
        guard pn >= base, pn < next else { return nil }
        let i = Int(pn & mask)
        return live[i] ? slots[i] : nil
    }

    /// Removes and returns the outstanding packet with this number, if any.
    mutating func remove(_ pn: UInt64) -> SentPacket? {
        guard pn >= base, pn < next else { return nil }
        let i = Int(pn & mask)
        guard live[i] else { return nil }
        live[i] = false
        count -= 1
        advanceBase()
        return slots[i]
    }

    private mutating func advanceBase() {
        if count == 0 {
            base = next
            return
        }
        while base < next && !live[Int(base & mask)] { base += 1 }
    }

    /// Send time of the oldest outstanding ack-eliciting packet, if any.
    func oldestAckElicitingSendTime() -> QuicInstant? {
        guard count > 0 else { return nil }
        var pn = base
        while pn < next {
            let i = Int(pn & mask)
            if live[i] && slots[i].ackEliciting { return slots[i].timeSent }
            pn += 1
        }
        return nil
    }

    /// Calls `body` with each outstanding packet in [from, to] (inclusive), in ascending order.
    func forEach(from: UInt64, through to: UInt64, _ body: (SentPacket) -> Void) {
        guard count > 0, next > 0 else { return }
        var pn = max(from, base)
        let last = min(to, next - 1)
        while pn <= last {
            let i = Int(pn & mask)
            if live[i] { body(slots[i]) }
            pn += 1
        }
    }

    /// Removes every outstanding packet, calling `body` with each in ascending order.
    mutating func removeAll(_ body: (SentPacket) -> Void) {
        var pn = base
        while pn < next && count > 0 {
            let i = Int(pn & mask)
            if live[i] {
                live[i] = false
                count -= 1
                body(slots[i])
            }
            pn += 1
        }
        base = next
    }

    /// The smallest outstanding packet, if any.
    var oldest: SentPacket? {
        guard count > 0 else { return nil }
        let i = Int(base & mask)
        return live[i] ? slots[i] : nil
    }
}
