import QuicWire

// ECN (RFC 9000 §13.4, RFC 9002 §7.1, MsQuic's EcnEnabled).
// Receiving: the codepoint of each datagram (the runtime reads it from IP_TOS / IPV6_TCLASS)
// is counted per packet number space for every packet processed and reported in ACK_ECN
// frames (§13.4.1; AckTracker), whether or not we mark ourselves.
// Sending: with ecnEnabled, datagrams are marked ECT(0) while the path's validation (§13.4.2,
// Appendix A.4) has not failed: a testing period of ten marked datagrams, then no marks until an
// ACK shows the counts work ("unknown"), then marks on everything ("capable"). Validation fails
// (and marking stops for the path) when ACKs newly acknowledge marked packets without ECN
// counts (marks bleached, or a peer that does not report them), when the counts decrease or
// grow by less than the marked packets they acknowledge, when ECT(1) is reported although we
// send ECT(0) only, or when every packet of the testing period is lost. LossRecovery checks
// the counts (processECN); a CE count increase is a congestion event without loss (RFC 9002
// §7.1, Appendix B.7). A new path validates again.

/// The ECN validation state of the current path (RFC 9000 Appendix A.4).
struct ECNValidation {
    enum Phase: Equatable { case testing, unknown, capable, failed }
    var phase = Phase.testing
    /// Marked datagrams sent in the testing period.
    var testingSent = 0
    /// Marked packets of the testing period declared lost / acknowledged.
    var testingLost = 0
    var testingAcked = 0
}

/// RFC 9000 Appendix A.4: "set the ECT(0) codepoint for only the first ten outgoing packets".
let kECNTestingDatagrams = 10

extension Connection {
    /// The codepoint for the next datagram (RFC 9000 §13.4.2).
    var outgoingECN: ECNCodepoint {
        guard configuration.ecnEnabled else { return .notECT }
        switch ecnValidation.phase {
        case .testing, .capable: return .ect0
        case .unknown, .failed: return .notECT
        }
    }

    /// Whether the path's ECN validation succeeded (QUIC_STATISTICS_V2.EcnCapable).
    public var ecnCapable: Bool { configuration.ecnEnabled && ecnValidation.phase == .capable }

    func ecnOnDatagramSent(_ ecn: ECNCodepoint) {
        guard ecn != .notECT, ecnValidation.phase == .testing else { return }
        ecnValidation.testingSent += 1
        if ecnValidation.testingSent >= kECNTestingDatagrams { ecnValidation.phase = .unknown }
    }

    /// After an ACK frame was processed (`acked`/`lost` are recovery's lists for it) or the loss
    /// timer declared packets lost (`ack` nil).
    func ecnAfterAckOrLoss(ack: AckFrame?, acked: [SentPacket], lost: [SentPacket]) {
        guard configuration.ecnEnabled, ecnValidation.phase != .failed else { return }
        // RFC 9000 §13.4.2.1: LossRecovery found the counts inconsistent.
        if !recovery.recovery.ecnCapable {
            ecnValidation.phase = .failed
            return
        }
        let markedAcked = acked.contains { $0.ecnMarked }
        if ack?.ecn != nil, markedAcked {
            // Counts that cover the marked packets they acknowledge: validated (§13.4.2.1).
            ecnValidation.phase = .capable
            return
        }
        if ecnValidation.phase == .testing || ecnValidation.phase == .unknown {
            ecnValidation.testingLost += lost.reduce(0) { $0 + ($1.ecnMarked ? 1 : 0) }
            if markedAcked { ecnValidation.testingAcked += 1 }
            // Appendix A.4: all packets of the testing period lost: the network drops marked packets.
            if ecnValidation.phase == .unknown, ecnValidation.testingAcked == 0,
               ecnValidation.testingLost >= ecnValidation.testingSent {
                ecnValidation.phase = .failed
            }
        }
    }

    /// RFC 9000 §13.4.2: ECN is validated for each new path.
    func ecnResetForNewPath() {
        ecnValidation = ECNValidation()
        recovery.recovery.resetECNValidation()
    }
}
