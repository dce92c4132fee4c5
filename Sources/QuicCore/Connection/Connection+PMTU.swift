import QuicCrypto
import QuicWire

// Datagram Packetization Layer PMTU Discovery (RFC 8899, as RFC 9000 §14.3 applies it to
// QUIC), with MsQuic's settings and search:
// - the path starts at MinimumMtu (RFC 8899 §5.1.2 BASE_PLPMTU; MsQuic's Path->Mtu starts there);
// - once the handshake is confirmed (and after a new path is validated) probes of
//   current + 80 bytes are sent (MsQuic's QUIC_DPLPMTUD_INCREMENT; 1500 is always one of the
//   sizes tried), up to min(MaximumMtu, the peer's max_udp_payload_size);
// - a probe is a 1-RTT packet of PING + PADDING filling the datagram (RFC 9000 §14.4), alone in
//   its datagram, sent within the congestion window; its loss is not a congestion signal
//   (§14.4) and it is never retransmitted;
// - an acknowledged probe raises the path MTU and the next size is probed; a probe size lost
//   MtuDiscoveryMissingProbeCount times ends the search (RFC 8899 §5.1.2 MAX_PROBES), which
//   starts again MtuDiscoverySearchCompleteTimeoutUs later (RFC 8899 §5.1.1 PMTU_RAISE_TIMER);
// - black-hole detection (RFC 8899 §4.3, §5.2; RFC 9000 §14.3): packets above the base size
//   lost in MissingProbeCount separate loss events with none acknowledged in between, or
//   three PTOs in a row while above the base, put the path back to the base MTU and the
//   search starts over from there.
// MTU values are IP packet sizes as in MsQuic's settings; the UDP payload is the MTU less the
// IP and UDP headers (28 bytes for IPv4, 48 for IPv6).

/// MsQuic's MTU discovery settings (QUIC_SETTINGS MinimumMtu, MaximumMtu,
/// MtuDiscoverySearchCompleteTimeoutUs, MtuDiscoveryMissingProbeCount), defaults as MsQuic 2.6.
public struct MTUDiscoveryConfig: Sendable, Equatable {
    /// The MTU a path starts with and falls back to (RFC 8899 BASE_PLPMTU), IP packet bytes.
    public var minimumMtu: Int
    /// The largest MTU probed (RFC 8899 MAX_PLPMTU), IP packet bytes.
    public var maximumMtu: Int
    /// Time after a completed search before searching again (RFC 8899 PMTU_RAISE_TIMER).
    public var searchCompleteTimeout: QuicDuration
    /// Probes of one size lost before that size is given up (RFC 8899 MAX_PROBES).
    public var missingProbeCount: Int

    public init(minimumMtu: Int = 1288, maximumMtu: Int = 1500, searchCompleteTimeout: QuicDuration = .seconds(600),
                missingProbeCount: Int = 3) {
        // RFC 9000 §14: never below a 1200-byte UDP payload (plus IPv6 + UDP headers).
        self.minimumMtu = min(max(minimumMtu, 1248), 65535)
        self.maximumMtu = min(max(maximumMtu, self.minimumMtu), 65535)
        self.searchCompleteTimeout = searchCompleteTimeout
        self.missingProbeCount = min(max(missingProbeCount, 1), 255)
    }
}

/// The DPLPMTUD state of the connection's current path (RFC 8899 §5.2 state machine, reduced to
/// MsQuic's states).
struct PMTUDiscovery {
    enum Phase: Equatable {
        /// Not started: the handshake is not confirmed yet or the path is being validated.
        case base
        case searching
        case searchComplete
    }
    var phase = Phase.base
    /// The validated path MTU (IP bytes); 0 until set = the configured minimum.
    var currentMtu = 0
    /// The size being probed (IP bytes).
    var probedSize = 0
    /// Probes of `probedSize` lost so far.
    var probeCount = 0
    /// A probe of `probedSize` is to be sent.
    var probePending = false
    /// The sent-packet token of the probe in flight.
    var probeToken: UInt64?
    /// When the search last completed (for the raise timer).
    var searchCompleteSince = QuicInstant.zero
    /// Loss events that lost packets larger than the base size since one of that size was
    /// acknowledged (black-hole detection).
    var largeLossEvents = 0
    /// Times a black hole sent the path back to the base MTU.
    var blackHolesDetected: UInt64 = 0
}

/// MsQuic's QUIC_DPLPMTUD_INCREMENT.
let kPMTUProbeIncrement = 80
/// Consecutive PTOs above the base size that count as a black hole by themselves (RFC 8899
/// §4.3), a backstop: PTO probes already go at the base size (`pmtuPTOProbeCap`), so in a black
/// hole they get through and their ACK declares the large packets lost (`largeLossEvents`).
let kPMTUBlackHolePTOCount: UInt32 = 6

extension Connection {
    /// IP + UDP header bytes for the current peer address.
    var ipUDPOverhead: Int { remoteAddress.family == .ipv6 ? 48 : 28 }

    /// The base MTU of the path (IP bytes).
    var pmtuBaseMtu: Int { configuration.mtuDiscovery?.minimumMtu ?? (configuration.maxDatagramSize + ipUDPOverhead) }

    /// The validated path MTU (IP bytes).
    var pmtuCurrentMtu: Int { max(pmtu.currentMtu, pmtuBaseMtu) }

    /// The largest UDP payload the discovered path MTU allows (at least 1200, RFC 9000 §14).
    var pmtuPayloadSize: Int { max(1200, pmtuCurrentMtu - ipUDPOverhead) }

    /// The largest MTU worth probing on this path: MaximumMtu, and no datagram above the peer's
    /// max_udp_payload_size (RFC 9000 §18.2).
    var pmtuMaxMtu: Int {
        guard let cfg = configuration.mtuDiscovery else { return pmtuBaseMtu }
        let peer = Int(clamping: peerTransportParameters?.maxUDPPayloadSize ?? 65527)
        let peerMtu = peer > Int.max - ipUDPOverhead ? Int.max : peer + ipUDPOverhead
        return max(pmtuBaseMtu, min(cfg.maximumMtu, peerMtu))
    }

    /// MsQuic's next probe size: 80 bytes up, capped at the path maximum, 1500 always tried.
    var pmtuNextProbeSize: Int {
        let current = pmtuCurrentMtu
        var next = current + kPMTUProbeIncrement
        if current < 1500 && next > 1500 { next = 1500 }
        return min(next, pmtuMaxMtu)
    }

    /// Starts (or restarts) the search from the current MTU.
    func pmtuStartSearch(now: QuicInstant) {
        pmtu.probeCount = 0
        pmtu.probeToken = nil
        let next = pmtuNextProbeSize
        if next <= pmtuCurrentMtu {
            pmtu.phase = .searchComplete
            pmtu.searchCompleteSince = now
            pmtu.probePending = false
            return
        }
        pmtu.phase = .searching
        pmtu.probedSize = next
        pmtu.probePending = true
    }

    /// Called before each datagram is assembled: starts the search once the handshake is
    /// confirmed (RFC 9000 §14.3: after the path is validated) and restarts it when the raise
    /// timer expired (MsQuic checks MtuDiscoverySearchCompleteTimeoutUs on send).
    func pmtuBeforeSend(now: QuicInstant) {
        guard let cfg = configuration.mtuDiscovery, state == .open, isHandshakeConfirmed, pathValidation == nil else { return }
        switch pmtu.phase {
        case .base:
            pmtuStartSearch(now: now)
        case .searchComplete:
            if now >= pmtu.searchCompleteSince + cfg.searchCompleteTimeout { pmtuStartSearch(now: now) }
        case .searching:
            break
        }
    }

    /// RFC 8899 §4.3: after a PTO, probe datagrams go at the base size so that they cross a
    /// black hole and their acknowledgement tells large-packet loss from path loss.
    var pmtuPTOProbeCap: Int? {
        guard configuration.mtuDiscovery != nil, spaces[PacketNumberSpace.application.rawValue].probesPending > 0,
              pmtuCurrentMtu > pmtuBaseMtu else { return nil }
        return max(1200, pmtuBaseMtu - ipUDPOverhead)
    }

    /// A PMTU probe packet (RFC 9000 §14.4: PING + PADDING, ack-eliciting), when one is due and
    /// fits the buffer and the congestion window; nil otherwise.
    func buildMTUProbe(buffer: UnsafeMutableRawBufferPointer, now: QuicInstant) -> PacketUnderConstruction? {
        guard configuration.mtuDiscovery != nil, pmtu.phase == .searching, pmtu.probePending, pmtu.probeToken == nil,
              state == .open, isHandshakeConfirmed, hasKeys(.application), !sendingZeroRTT, pathValidation == nil
        else { return nil }
        let size = pmtu.probedSize - ipUDPOverhead
        guard size > 1200, size <= buffer.count, recovery.canSend(bytes: size) else { return nil }
        guard let (header, pn) = writeHeader(.application, buffer: buffer, start: 0, end: size) else { return nil }
        var w = WireWriter(buffer, start: header.payloadOffset, end: size - PacketAEAD.tagLength)
        guard (try? FrameEncoder.write(.ping, into: &w)) != nil, (try? w.writeZeros(w.remaining)) != nil else { return nil }
        pmtu.probePending = false
        return PacketUnderConstruction(space: .application, header: header, packetNumber: pn, payloadEnd: w.position,
                                       frames: [.ping], ackEliciting: true, isLong: false, largestAck: nil, padded: true)
    }

    func onMTUProbeSent(token: UInt64) { pmtu.probeToken = token }

    /// Hook from `onPacketAcked`: the probe got through, the path carries its size.
    func pmtuOnPacketAcked(_ token: UInt64, now: QuicInstant) {
        guard token == pmtu.probeToken else { return }
        pmtu.probeToken = nil
        pmtu.currentMtu = pmtu.probedSize
        pmtu.largeLossEvents = 0
        pmtuApplySize()
        if pmtu.currentMtu >= pmtuMaxMtu {
            pmtu.phase = .searchComplete
            pmtu.searchCompleteSince = now
        } else {
            pmtuStartSearch(now: now)
        }
    }

    /// Hook from `onPacketLost`: the probe was lost; try the size again or end the search.
    func pmtuOnPacketLost(_ token: UInt64, now: QuicInstant) {
        guard token == pmtu.probeToken, let cfg = configuration.mtuDiscovery else { return }
        pmtu.probeToken = nil
        pmtu.probeCount += 1
        if pmtu.probeCount >= cfg.missingProbeCount {
            // RFC 8899 §5.1.2 MAX_PROBES: this size does not pass; the current one stands.
            pmtu.phase = .searchComplete
            pmtu.searchCompleteSince = now
            pmtu.probePending = false
        } else {
            pmtu.probePending = true
        }
    }

    /// After an ACK was processed or the loss timer fired: black-hole detection (RFC 8899 §4.3).
    /// `acked`/`lost` are recovery's lists of that event.
    func pmtuCheckBlackHole(acked: [SentPacket], lost: [SentPacket], now: QuicInstant) {
        guard configuration.mtuDiscovery != nil, pmtuCurrentMtu > pmtuBaseMtu else { return }
        let base = max(1200, pmtuBaseMtu - ipUDPOverhead)
        if acked.contains(where: { Int($0.size) > base }) {
            pmtu.largeLossEvents = 0
            return
        }
        if lost.contains(where: { Int($0.size) > base && !$0.isMTUProbe }) { pmtu.largeLossEvents += 1 }
        let limit = configuration.mtuDiscovery?.missingProbeCount ?? 3
        if pmtu.largeLossEvents >= limit || recovery.recovery.ptoCount >= kPMTUBlackHolePTOCount {
            pmtuFallBackToBase(now: now)
        }
    }

    /// RFC 8899 §5.2: a black hole: back to BASE_PLPMTU, then search again from there.
    func pmtuFallBackToBase(now: QuicInstant) {
        pmtu.currentMtu = 0
        pmtu.largeLossEvents = 0
        pmtu.blackHolesDetected += 1
        pmtuApplySize()
        pmtuStartSearch(now: now)
    }

    /// RFC 9000 §14.3 / MsQuic: a new path starts at the base MTU; the search runs again once
    /// that path is validated (`pmtuBeforeSend` waits for `pathValidation` to end).
    func pmtuResetForNewPath() {
        pmtu = PMTUDiscovery()
        pmtuApplySize()
    }

    /// The congestion controller counts in the path's datagram size (RFC 9002 §7.2).
    func pmtuApplySize() {
        guard configuration.mtuDiscovery != nil else { return }
        let before = Int(recovery.recovery.congestion.maxDatagramSize)
        recovery.recovery.congestion.setMaxDatagramSize(UInt32(clamping: currentMaxDatagramSize))
        // The largest DATAGRAM the application may send follows the path MTU (MsQuic raises
        // DATAGRAM_STATE_CHANGED with the new MaxSendLength).
        if before != currentMaxDatagramSize, let m = peerTransportParameters?.maxDatagramFrameSize, m > 0 {
            emit(.datagramStateChanged(sendEnabled: true, maxSendLength: Swift.max(0, min(Int(clamping: m) - 3, maxDatagramPayload))))
        }
    }
}
