// What loss recovery remembers about each sent packet (RFC 9002 Appendix A.1.1).

/// A packet handed to loss recovery by `LossRecovery.onPacketSent`. `token` is the
/// connection's own handle for "which frames did this packet carry" (e.g. an index into its
/// sent-frames log); recovery hands it back when the packet is acknowledged, lost or dropped.
public struct SentPacket: Sendable, Equatable {
    public var packetNumber: UInt64
    /// Time the packet was sent (µs).
    public var timeSent: QuicInstant
    /// Bytes of the UDP payload the packet took (its share of a coalesced datagram).
    public var size: UInt32
    /// Carries at least one ack-eliciting frame (RFC 9002 §2).
    public var ackEliciting: Bool
    /// Counts toward bytes in flight: ack-eliciting or PADDING (RFC 9002 §2).
    public var inFlight: Bool
    /// The packet was sent with an ECT codepoint (RFC 9000 §13.4), for ECN validation.
    public var ecnMarked: Bool
    /// The Largest Acknowledged of the ACK frame this packet carried, or nil (RFC 9000
    /// §13.2.4: once this packet is acknowledged, the receiver may forget ranges up to it).
    public var largestAckCarried: UInt64?
    /// The connection's token for the frames in this packet.
    public var token: UInt64
    /// A DPLPMTUD probe (RFC 9000 §14.4): its loss is not a congestion signal.
    public var isMTUProbe: Bool

    // Delivery-rate state at send time (draft-cheng-iccrg-delivery-rate-estimation §3.2),
    // stamped by `LossRecovery.onPacketSent` for in-flight packets; kept inline so the ring
    // holds it without any extra storage.
    /// P.delivered: the connection's delivered bytes when this packet was sent.
    public var delivered: UInt64 = 0
    /// P.delivered_time: when `delivered` was last increased before this packet was sent.
    public var deliveredTime: QuicInstant = .zero
    /// P.first_sent_time: the send time of the first packet of the flight this one belongs to.
    public var firstSentTime: QuicInstant = .zero
    /// P.is_app_limited: the sender was application-limited when this packet was sent.
    public var isAppLimited: Bool = false

    @inlinable
    public init(packetNumber: UInt64, timeSent: QuicInstant, size: UInt32, ackEliciting: Bool, inFlight: Bool,
                ecnMarked: Bool = false, largestAckCarried: UInt64? = nil, token: UInt64, isMTUProbe: Bool = false) {
        self.packetNumber = packetNumber; self.timeSent = timeSent; self.size = size
        self.ackEliciting = ackEliciting; self.inFlight = inFlight; self.ecnMarked = ecnMarked
        self.largestAckCarried = largestAckCarried; self.token = token; self.isMTUProbe = isMTUProbe
    }
}
