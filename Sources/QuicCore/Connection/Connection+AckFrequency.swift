// ACK frequency (draft-ietf-quic-ack-frequency, the version MsQuic 2.6 speaks: ACK_FREQUENCY
// 0xaf with Sequence Number / Ack-Eliciting Threshold / Request Max Ack Delay / Reordering
// Threshold, IMMEDIATE_ACK 0x1f, min_ack_delay 0xff04de1b).
//
// Receiving: we advertise min_ack_delay (as MsQuic always does) and apply the newest
// ACK_FREQUENCY to the application space's AckTracker.
// Sending (MsQuic's QuicConnUpdatePeerPacketTolerance): when the peer advertised min_ack_delay
// and a send burst is limited by scheduling (MsQuic: a flush that wrote its 40-datagram budget
// with more to send), we ask it to acknowledge once per (burst + 1) ack-eliciting packets; after
// persistent congestion we go back to 2 (QUIC_MIN_ACK_SEND_NUMBER). PTO probes carry
// IMMEDIATE_ACK when the peer takes the extension, so a decimating peer answers them at once.

import QuicWire

/// ACK frequency bookkeeping of a connection.
struct AckFrequencyState {
    // Receiving side.
    /// The largest ACK_FREQUENCY Sequence Number applied (nil before the first).
    var largestReceivedSequence: UInt64?
    /// The packet being processed carried IMMEDIATE_ACK.
    var immediateAckReceived = false

    // Sending side.
    /// MsQuic's PeerPacketTolerance: the Ack-Eliciting Threshold we ask of the peer (2 until
    /// an ACK_FREQUENCY is sent, RFC 9000 §13.2.2).
    var peerPacketTolerance: UInt64 = AckFrequencyState.minAckSendNumber
    /// Sequence Number of the next ACK_FREQUENCY frame (draft §5: 0 first, then increasing).
    var nextSendSequence: UInt64 = 0
    /// An ACK_FREQUENCY with the current values is to be (re)sent.
    var framePending = false
    /// Requested Max Ack Delay values in flight (µs), by sequence number: the PTO uses the
    /// largest of these and the acknowledged one (draft §7).
    var inFlightDelays: [(sequence: UInt64, delay: QuicDuration)] = []
    /// The peer's max_ack_delay as last acknowledged (transport parameter, then ACK_FREQUENCY).
    var acknowledgedPeerMaxAckDelay: QuicDuration?
    /// Datagrams written since `pollTransmit` last returned nil (one "flush" of the runtime).
    var burstDatagrams = 0
    var burstTime: QuicInstant = .zero
    /// ACK_FREQUENCY frames sent and received (tests, statistics).
    var framesSent: UInt64 = 0
    var framesReceived: UInt64 = 0

    /// MsQuic's QUIC_MIN_ACK_SEND_NUMBER (RFC 9000 §13.2.2's every second packet).
    static let minAckSendNumber: UInt64 = 2
    /// MsQuic's QUIC_MAX_DATAGRAMS_PER_SEND: the datagram budget of one send flush; a burst
    /// that reaches it with more to send is "scheduling limited".
    static let datagramsPerFlush = 40
    /// MsQuic keeps PeerPacketTolerance in a uint8_t.
    static let maxPacketTolerance: UInt64 = 255
    /// min_ack_delay we advertise: MsQuic's MS_TO_US(TimerResolutionMs), 1 ms on Linux.
    static let advertisedMinAckDelay: UInt64 = 1000
}

extension Connection {
    /// The peer advertised min_ack_delay: it accepts ACK_FREQUENCY and IMMEDIATE_ACK (draft §3).
    var peerSupportsAckFrequency: Bool {
        configuration.ackFrequencyEnabled && peerTransportParameters?.minAckDelay != nil
    }

    /// Our min_ack_delay transport parameter (draft §3), never above our max_ack_delay.
    func ackFrequencyTransportParameter(_ p: inout TransportParameters) {
        guard configuration.ackFrequencyEnabled, p.minAckDelay == nil else { return }
        // draft §3: min_ack_delay (µs) must not exceed max_ack_delay (ms); max_ack_delay is
        // below 2^14 (RFC 9000 §18.2), so the product cannot overflow.
        p.minAckDelay = min(AckFrequencyState.advertisedMinAckDelay, min(p.maxAckDelay, 1 << 14) * 1000)
    }

    // MARK: Receiving

    /// An ACK_FREQUENCY frame from the peer (draft §4, §5).
    func handleAckFrequency(_ f: AckFrequencyFrame) throws {
        // draft §3: only a peer that got our min_ack_delay may send it; RFC 9000 §19.21
        // (frames of an extension not negotiated): PROTOCOL_VIOLATION.
        guard let minAckDelay = ourMinAckDelay else {
            throw QuicError.protocolViolation(FrameType.ackFrequency, "ACK_FREQUENCY without min_ack_delay")
        }
        // draft §4: a Request Max Ack Delay below our min_ack_delay is a PROTOCOL_VIOLATION.
        guard f.requestedMaxAckDelay >= minAckDelay else {
            throw QuicError.protocolViolation(FrameType.ackFrequency, "Request Max Ack Delay below min_ack_delay")
        }
        // draft §4: "values of 2^14 or greater are invalid for max_ack_delay" (RFC 9000 §18.2;
        // the field is in µs, the ceiling in ms) and receipt of an invalid value is a
        // PROTOCOL_VIOLATION.
        guard f.requestedMaxAckDelay < (1 << 14) * 1000 else {
            throw QuicError.protocolViolation(FrameType.ackFrequency, "Request Max Ack Delay of 2^14 ms or more")
        }
        ackFrequency.framesReceived &+= 1
        // draft §5: frames not newer than the newest applied are ignored (reordering, repeats).
        if let seen = ackFrequency.largestReceivedSequence, f.sequenceNumber <= seen { return }
        ackFrequency.largestReceivedSequence = f.sequenceNumber
        // The delay is the peer's to choose, below 2^14 ms (checked above).
        let delay = QuicDuration.microseconds(f.requestedMaxAckDelay)
        // MsQuic keeps the threshold in a uint8_t (capped at 255); so do we.
        let threshold = min(f.ackElicitingThreshold, AckFrequencyState.maxPacketTolerance)
        let reordering = min(f.reorderingThreshold, AckFrequencyState.maxPacketTolerance)
        recovery.recovery.ackTrackers[.application].applyAckFrequency(
            ackElicitingThreshold: threshold, maxAckDelay: delay, reorderingThreshold: reordering)
    }

    /// The min_ack_delay we advertised, nil when we did not (no ACK_FREQUENCY accepted).
    var ourMinAckDelay: UInt64? {
        guard configuration.ackFrequencyEnabled else { return configuration.transportParameters.minAckDelay }
        var p = configuration.transportParameters
        ackFrequencyTransportParameter(&p)
        return p.minAckDelay
    }

    /// IMMEDIATE_ACK (draft §5): the packet carrying it is acknowledged without delay.
    func handleImmediateAck() throws {
        guard ourMinAckDelay != nil else {
            throw QuicError.protocolViolation(FrameType.immediateAck, "IMMEDIATE_ACK without min_ack_delay")
        }
        ackFrequency.immediateAckReceived = true
    }

    /// After a packet's frames were processed and the packet recorded in its AckTracker.
    func afterPacketRecordedForAckFrequency(_ space: PacketNumberSpace) {
        guard ackFrequency.immediateAckReceived else { return }
        ackFrequency.immediateAckReceived = false
        recovery.recovery.ackTrackers[space].requestImmediateAck()
    }

    // MARK: Sending

    /// MsQuic's QuicConnUpdatePeerPacketTolerance: a new tolerance for the peer queues an
    /// ACK_FREQUENCY with the next sequence number.
    func updatePeerPacketTolerance(_ tolerance: UInt64) {
        guard peerSupportsAckFrequency, isHandshakeConfirmed, state == .open else { return }
        let t = min(max(tolerance, 1), AckFrequencyState.maxPacketTolerance)
        guard t != ackFrequency.peerPacketTolerance else { return }
        ackFrequency.peerPacketTolerance = t
        ackFrequency.framePending = true
    }

    /// Called for each datagram `pollTransmit` writes and once when it returns nil: a burst
    /// that fills MsQuic's per-flush budget while data is still waiting is scheduling limited,
    /// and the peer is told to expect more than one such burst per ACK (send.c: tolerance =
    /// datagrams + 1).
    func noteBurstForAckFrequency(wroteDatagram: Bool, now: QuicInstant) {
        if wroteDatagram {
            // One flush is one run of `pollTransmit` at the same instant (the runtime's service
            // round); a caller that stops before nil (its send queue full) starts a new count
            // at its next round.
            if now != ackFrequency.burstTime { ackFrequency.burstDatagrams = 0; ackFrequency.burstTime = now }
            ackFrequency.burstDatagrams += 1
            if ackFrequency.burstDatagrams == AckFrequencyState.datagramsPerFlush, hasAckElicitingData(.application) {
                let wanted = UInt64(AckFrequencyState.datagramsPerFlush + 1)
                if wanted > ackFrequency.peerPacketTolerance { updatePeerPacketTolerance(wanted) }
            }
        } else {
            ackFrequency.burstDatagrams = 0
        }
    }

    /// MsQuic (loss_detection.c): losses after more than QUIC_PERSISTENT_CONGESTION_THRESHOLD
    /// probes bring the tolerance back to 2; so does persistent congestion (RFC 9002 §7.6).
    /// Otherwise it stays (a window shrunk below it is covered by the IMMEDIATE_ACK on the
    /// packet that fills the window, `lastPacketBeforeCongestionBlock`).
    func onLossForAckFrequency(persistentCongestion: Bool) {
        if persistentCongestion || recovery.recovery.ptoCount > 2 {
            updatePeerPacketTolerance(AckFrequencyState.minAckSendNumber)
        }
    }

    /// The Request Max Ack Delay we send: our own max_ack_delay (MsQuic sends
    /// QuicConnGetAckDelay, its MaxAckDelayMs), never below the peer's min_ack_delay (draft §4).
    var requestedPeerMaxAckDelay: UInt64 {
        let ours = configuration.transportParameters.maxAckDelay * 1000  // < 2^14 ms (§18.2)
        return max(ours, peerTransportParameters?.minAckDelay ?? 0)
    }

    /// Writes a pending ACK_FREQUENCY frame in a 1-RTT packet (draft §4; never in 0-RTT, §3).
    func writeAckFrequencyFrame(_ w: inout WireWriter, frames: inout [SentFrame], ackEliciting: inout Bool) {
        guard ackFrequency.framePending, !sendingZeroRTT, peerSupportsAckFrequency else { return }
        let seq = ackFrequency.nextSendSequence
        let delay = requestedPeerMaxAckDelay
        let f = AckFrequencyFrame(sequenceNumber: seq, ackElicitingThreshold: ackFrequency.peerPacketTolerance,
                                  requestedMaxAckDelay: delay,
                                  // draft §6.1: no larger than the sender's packet threshold for
                                  // loss detection, RFC 9002 §6.1.1's kPacketThreshold = 3; equal
                                  // to it, the ACK a gap triggers is the one that lets us declare
                                  // the loss (with 1 it comes one packet too early to, and the
                                  // next one waits for the decimated rate).
                                  reorderingThreshold: 3)
        guard (try? FrameEncoder.write(.ackFrequency(f), into: &w)) != nil else { return }
        ackFrequency.framePending = false
        ackFrequency.nextSendSequence &+= 1
        ackFrequency.framesSent &+= 1
        frames.append(.ackFrequency(sequence: seq)); ackEliciting = true
        // draft §7: until acknowledged, the PTO uses the larger of the old and new delays.
        if ackFrequency.acknowledgedPeerMaxAckDelay == nil { ackFrequency.acknowledgedPeerMaxAckDelay = recovery.maxAckDelay }
        let d = QuicDuration.microseconds(delay)
        ackFrequency.inFlightDelays.append((seq, d))
        if ackFrequency.inFlightDelays.count > 8 { ackFrequency.inFlightDelays.removeFirst() }
        updatePTOMaxAckDelay()
    }

    /// IMMEDIATE_ACK in a PTO probe of the application space when the peer takes it (draft
    /// §5: an ACK without waiting for its delayed-ACK rules).
    func writeImmediateAckForProbe(_ w: inout WireWriter, frames: inout [SentFrame], ackEliciting: inout Bool) {
        guard peerSupportsAckFrequency, !sendingZeroRTT else { return }
        guard (try? FrameEncoder.write(.immediateAck, into: &w)) != nil else { return }
        frames.append(.ping); ackEliciting = true  // recorded like a PING: never retransmitted (draft §5)
    }

    /// We asked the peer to acknowledge less often than every second packet.
    var ackFrequencyDecimating: Bool {
        ackFrequency.peerPacketTolerance > AckFrequencyState.minAckSendNumber && peerSupportsAckFrequency
    }

    /// draft-ietf-quic-ack-frequency §7.1 (beyond MsQuic): while the peer decimates ACKs, the
    /// packet that fills the congestion window carries IMMEDIATE_ACK, so a sender blocked by
    /// its window does not wait the peer's max_ack_delay for the ACK that reopens it.
    var lastPacketBeforeCongestionBlock: Bool {
        guard ackFrequencyDecimating else { return false }
        let r = recovery.recovery
        let next = r.bytesInFlight &+ 2 &* UInt64(currentMaxDatagramSize)
        return next > r.congestionWindow
    }

    func onAckFrequencyAcked(sequence: UInt64) {
        guard let i = ackFrequency.inFlightDelays.firstIndex(where: { $0.sequence == sequence }) else { return }
        let acked = ackFrequency.inFlightDelays[i]
        // This and every older value are settled; the newest acknowledged one is in force.
        ackFrequency.inFlightDelays.removeFirst(i + 1)
        ackFrequency.acknowledgedPeerMaxAckDelay = acked.delay
        updatePTOMaxAckDelay()
    }

    func onAckFrequencyLost(sequence: UInt64) {
        // draft §4: resend only when no newer ACK_FREQUENCY was sent since.
        if sequence &+ 1 == ackFrequency.nextSendSequence { ackFrequency.framePending = true }
    }

    /// draft §7: the PTO uses the maximum of the acknowledged max_ack_delay and those in flight.
    func updatePTOMaxAckDelay() {
        guard var d = ackFrequency.acknowledgedPeerMaxAckDelay else { return }
        for e in ackFrequency.inFlightDelays where e.delay > d { d = e.delay }
        recovery.maxAckDelay = d
    }
}
