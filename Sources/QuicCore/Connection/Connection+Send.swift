import QuicCrypto
import QuicTLS
import QuicWire

/// A datagram written by `pollTransmit`: `size` bytes at the start of the caller's buffer.
public struct Transmit: Equatable, Sendable {
    public var destination: SocketAddress
    public var size: Int
    /// The ECN codepoint to send the datagram with (RFC 9000 §13.4.2).
    public var ecn: ECNCodepoint = .notECT
}

/// A packet being assembled in the datagram buffer, sealed once the datagram is complete.
struct PacketUnderConstruction {
    var space: PacketNumberSpace
    var header: WrittenHeader
    var packetNumber: UInt64
    var payloadEnd: Int
    var frames: [SentFrame]
    var ackEliciting: Bool
    var isLong: Bool
    var largestAck: UInt64? = nil
    var padded = false
}

// Sending: packet assembly with coalescing (RFC 9000 §12.2), client Initial padding (§14.1),
// the amplification limit (§8.1), congestion control (RFC 9002 §7) and packet protection.
extension Connection {
    var currentMaxDatagramSize: Int {
        let peer = Int(clamping: peerTransportParameters?.maxUDPPayloadSize ?? 65527)
        // RFC 9000 §14.3: the discovered path MTU when DPLPMTUD runs (Connection+PMTU.swift).
        if configuration.mtuDiscovery != nil { return max(1200, min(pmtuPayloadSize, peer)) }
        return max(1200, min(configuration.maxDatagramSize, peer))
    }

    /// The size of a full datagram now (what `pollTransmit` fills to when it has enough to
    /// send): equal-size runs of these can leave as one GSO send.
    public var maxDatagramSize: Int { currentMaxDatagramSize }

    /// Time the connection's data spent blocked, by cause, up to now (QUIC_STREAM_STATISTICS;
    /// BlockedTimings.swift).
    public var blockedTimings: ConnectionBlockedTimings {
        var t = sendBlocked
        t.flowControl = streams.connectionFlowControlBlocked
        return t
    }

    /// An empty frame list for a packet being built: a recycled one when there is one, so
    /// steady-state sending allocates no list per packet.
    @inline(__always) func takeFrameList() -> [SentFrame] {
        if let list = frameListPool.popLast() { return list }
        var list: [SentFrame] = []
        list.reserveCapacity(8)
        return list
    }

    /// At most this many emptied lists are kept: a full flight of packets (a large window
    /// acknowledged at once) refills the pool, so the next flight allocates none.
    static let frameListPoolLimit = 4096

    /// Returns a sent packet's frame list once its fate is known (the caller owns the only
    /// reference, so emptying it keeps its storage).
    @inline(__always) func recycleFrameList(_ list: inout [SentFrame]) {
        guard frameListPool.count < Self.frameListPoolLimit, list.capacity <= 64 else { return }
        list.removeAll(keepingCapacity: true)
        frameListPool.append(list)
        list = []
    }

    /// At the end of a send round (nothing more to send now): which causes hold back data
    /// that is waiting. MsQuic's reasons (QUIC_FLOW_BLOCKED_PACING, _AMPLIFICATION_PROT,
    /// _CONGESTION_CONTROL) are set when the send loop stops on them.
    func noteSendBlocked(amplificationLimited: Bool, now: QuicInstant) {
        let waiting = hasKeys(.application) && hasAckElicitingData(.application)
        sendBlocked.amplification.set(amplificationLimited && (waiting || hasAckElicitingData(.handshake)), now: now)
        sendBlocked.pacing.set(waiting && pacingReleaseTime != nil, now: now)
        sendBlocked.congestionControl.set(waiting && !recovery.canSend(bytes: 1200), now: now)
    }

    /// Data went out: whatever held it back has let go.
    @inline(__always) func noteSendUnblocked(now: QuicInstant) {
        guard sendBlocked.pacing.isBlocked || sendBlocked.amplification.isBlocked
                || sendBlocked.congestionControl.isBlocked else { return }
        sendBlocked.pacing.set(false, now: now)
        sendBlocked.amplification.set(false, now: now)
        sendBlocked.congestionControl.set(false, now: now)
    }

    /// Writes the next datagram to send into `buffer` (at least 1200 bytes), nil when there
    /// is nothing to send now.
    public func pollTransmit(now: QuicInstant, into buffer: UnsafeMutableRawBufferPointer) -> Transmit? {
        noteTime(now)
        switch state {
        case .closed: return nil
        case .draining: if !drainReplyPending { return nil }
        case .closing: if !closePacketPending { return nil }
        case .open: break
        }
        var limit = min(buffer.count, currentMaxDatagramSize)
        var amplificationLimited = false
        if role == .server && !addressValidated {
            // RFC 9000 §8.1: at most three times the bytes received before validation.
            // Bound: bytesReceived counts datagrams actually received (< 2^62 in any lifetime),
            // so 3× cannot overflow.
            let budget = 3 * bytesReceived > bytesSent ? 3 * bytesReceived - bytesSent : 0
            limit = min(limit, Int(clamping: budget))
            // RFC 9002 §6.2.2.1: no PTO while blocked by the amplification limit.
            recovery.setAmplificationLimited(limit < 1200, now: now)
            amplificationLimited = limit < 1200
        }
        // RFC 9000 §9.3: at most three times what an unvalidated new peer address sent us.
        var destination = remoteAddress
        probeReplyInProgress = nil
        if state == .open, hasKeys(.application), !sendingZeroRTT, let probe = probedPathResponses.first {
            // RFC 9000 §8.2.2: a PATH_RESPONSE for a probed path, sent there on its own.
            probedPathResponses.removeFirst()
            probeReplyInProgress = probe.data
            destination = probe.address
            limit = min(min(buffer.count, currentMaxDatagramSize), Int(clamping: probe.budget))
        } else if let budget = pathAmplificationBudget {
            limit = min(limit, Int(clamping: budget))
        }
        defer { probeReplyInProgress = nil }
        if let cap = pmtuPTOProbeCap { limit = min(limit, cap) }   // Connection+PMTU.swift
        guard limit >= 64 else {
            if state == .open { noteSendBlocked(amplificationLimited: amplificationLimited, now: now) }
            return nil
        }
        maybeInitiateKeyUpdate(now: now)
        pmtuBeforeSend(now: now)
        if state == .open, packetsWithCurrentKey >= hardConfidentialityLimit {
            // RFC 9001 §6.6: the key could not be updated in time; stop using the connection
            // (the margin leaves room for the CONNECTION_CLOSE packets).
            closeWithError(QuicError(code: .aeadLimitReached, reason: "confidentiality limit reached"), now: now)
        }
        pacingReleaseTime = nil
        var position = 0
        // Reused between calls (no allocation per datagram); handed back on every exit.
        var packets = packetScratch
        packetScratch = []
        defer {
            packets.removeAll(keepingCapacity: true)
            packetScratch = packets
        }
        let replying = state == .draining
        let closing = state == .closing || replying
        // RFC 9000 §14.4: a PMTU probe (Connection+PMTU.swift) goes alone in its datagram.
        let mtuProbe = closing || probeReplyInProgress != nil ? nil : buildMTUProbe(buffer: buffer, now: now)
        if let p = mtuProbe {
            position = p.payloadEnd + PacketAEAD.tagLength
            packets.append(p)
        }
        for space in PacketNumberSpace.allCases where mtuProbe == nil {
            let remaining = limit - position
            guard remaining > 48 else { break }
            let p = closing ? buildClosePacket(space, buffer: buffer, start: position, end: limit, now: now, reply: replying)
                            : buildPacket(space, buffer: buffer, start: position, end: limit, now: now)
            guard let p else { continue }
            position = p.payloadEnd + PacketAEAD.tagLength
            packets.append(p)
        }
        guard !packets.isEmpty else {
            if closing { closePacketPending = false; drainReplyPending = false }
            // Nothing to send and not held back by the window or the pacer: the flight is
            // application-limited (RFC 9002 §7.8; draft-cheng §3.4, MsQuic SetAppLimited).
            if !closing && hasKeys(.application) && pacingReleaseTime == nil && !hasAckElicitingData(.application) {
                recovery.onApplicationLimited()
            }
            if !closing { noteSendBlocked(amplificationLimited: amplificationLimited, now: now) }
            noteBurstForAckFrequency(wroteDatagram: false, now: now)
            return nil
        }
        // RFC 9000 §14.1: a client's datagrams with Initial packets, and a server's with
        // ack-eliciting Initial packets, are padded to at least 1200 bytes. RFC 9000 §8.2.2:
        // so is a datagram with a PATH_RESPONSE frame, as far as the anti-amplification limit
        // (already in `limit`) allows. RFC 9000 §8.2.1: a datagram with PATH_CHALLENGE is
        // expanded to 1200 bytes only when that limit allows all of it.
        let initialPadding = packets.first.map { $0.space == .initial && (role == .client || $0.ackEliciting) } ?? false
        let pathResponsePadding = packets.contains { p in
            p.frames.contains { if case .pathResponse = $0 { return true } else { return false } }
        }
        var paddedSize = initialPadding || pathResponsePadding ? min(1200, limit) : 0
        if pathChallengeWritten && limit >= 1200 { paddedSize = 1200 }
        if position < paddedSize {
            let pad = paddedSize - position
            let last = packets.count - 1
            for i in 0..<pad { buffer[packets[last].payloadEnd + i] = 0 }
            packets[last].payloadEnd += pad
            packets[last].padded = true
            position += pad
        }
        pathChallengeWritten = false
        // RFC 9000 §13.4.2: ECT(0) on 1-RTT datagrams while the path's validation allows it
        // (handshake datagrams go unmarked, like MsQuic, so that first flights held by a
        // server before it accepts them cannot upset the counts).
        let ecn: ECNCodepoint = !closing && packets.allSatisfy({ !$0.isLong }) ? outgoingECN : .notECT
        var sentHandshake = false
        for p in packets {
            let end = p.payloadEnd + PacketAEAD.tagLength
            if let q = qlog { observeSent(q, p, buffer: buffer, size: end - p.header.start, now: now) }
            guard seal(p, buffer: buffer, end: end) else { return nil }
            let size = end - p.header.start
            spaces[p.space.rawValue].nextPacketNumber += 1
            counters.sentPackets += 1
            let token = nextSentToken
            nextSentToken += 1
            if mtuProbe != nil { onMTUProbeSent(token: token) }
            // RFC 9002 §2: ack-eliciting packets and padded ones count in flight.
            let inFlight = p.ackEliciting || p.padded
            if !p.frames.isEmpty || p.ackEliciting {
                sentPackets[token] = SentPacketRecord(space: p.space, packetNumber: p.packetNumber, frames: p.frames,
                                                      keyGeneration: oneRTT?.generation ?? 0)
            }
            if !closing {
                recovery.onPacketSent(p.space, pn: p.packetNumber, size: size, ackEliciting: p.ackEliciting,
                                      inFlight: inFlight, now: now, largestAck: p.largestAck, token: token,
                                      ecnMarked: ecn != .notECT, mtuProbe: mtuProbe != nil)
            }
            if p.space == .handshake { sentHandshake = true }
            if p.space == .application {
                packetsWithCurrentKey += 1
                if !p.isLong { bytesWithCurrentKey += UInt64(size) }
                if firstPacketOfCurrentPhase == nil { firstPacketOfCurrentPhase = p.packetNumber }
                // RFC 9001 §6.2: an ACK of a peer packet of the current phase, sent with the
                // current keys, completes the peer's update; it may update again (§6.1).
                if !p.isLong, let acked = p.largestAck, let lowest = oneRTT?.lowestPacketNumberInCurrentPhase, acked >= lowest {
                    peerMayUpdateKeys = true
                }
            }
            if p.ackEliciting {
                // RFC 9000 §10.1: sending the first ack-eliciting packet after receiving restarts the idle timer.
                if !ackElicitingSentSinceReceive { restartIdleTimer(now: now) }
                ackElicitingSentSinceReceive = true
            }
        }
        // The queue an application should keep grows with what congestion control lets fly
        // (QUIC_STREAM_EVENT_IDEAL_SEND_BUFFER_SIZE).
        if !closing { streams.raiseIdealSendBytes(bytesInFlightMax: recovery.bytesInFlightMax) }
        // RFC 9001 §4.9.1: a client drops Initial keys when it first sends a Handshake packet.
        if role == .client && sentHandshake { discardKeys(.initial, now: now) }
        if closing { closePacketPending = false; drainReplyPending = false }
        if pathValidation != nil && destination == pathValidation!.target { pathValidation!.sent &+= UInt64(position) }
        bytesSent += UInt64(position)
        lastSendTime = now
        if packets.contains(where: { $0.ackEliciting }) { noteSendUnblocked(now: now) }
        ecnOnDatagramSent(ecn)
        if !closing { noteBurstForAckFrequency(wroteDatagram: true, now: now) }
        return Transmit(destination: destination, size: position, ecn: ecn)
    }

    /// `pollTransmit` into a new array (tests, cold paths).
    public func pollTransmit(now: QuicInstant) -> (Transmit, [UInt8])? {
        // Room for a PMTU probe too (RFC 8899: larger than the current size).
        let probeRoom = configuration.mtuDiscovery != nil ? pmtuMaxMtu - ipUDPOverhead : 0
        var buffer = [UInt8](repeating: 0, count: max(1200, currentMaxDatagramSize, probeRoom))
        let t = buffer.withUnsafeMutableBytes { pollTransmit(now: now, into: $0) }
        guard let t else { return nil }
        return (t, Array(buffer[0..<t.size]))
    }

    // MARK: Packet assembly

    func hasKeys(_ space: PacketNumberSpace) -> Bool {
        if spaces[space.rawValue].discarded { return false }
        if space == .application { return (oneRTT != nil && isHandshakeComplete) || sendingZeroRTT || sendingHalfRTT }
        return spaces[space.rawValue].sendKeys != nil
    }

    /// A client that has 0-RTT keys and no 1-RTT keys yet sends application data in 0-RTT
    /// packets (RFC 9001 §4.6.1).
    var sendingZeroRTT: Bool { role == .client && zeroRTTSend != nil && !isHandshakeComplete }

    /// Writes the header of a packet of `space` at `start`; nil when it does not fit.
    func writeHeader(_ space: PacketNumberSpace, buffer: UnsafeMutableRawBufferPointer, start: Int, end: Int)
        -> (WrittenHeader, UInt64)? {
        let s = spaces[space.rawValue]
        let pn = s.nextPacketNumber
        let pnLength = PacketNumber.encodedLength(fullPacketNumber: pn, largestAcknowledged: s.largestAcked)
        let truncated = PacketNumber.truncate(pn, length: pnLength)
        var w = WireWriter(buffer, start: start, end: end)
        // RFC 9000 §9.5: a PATH_RESPONSE to a probed address goes on another CID of the peer.
        let dcid = probeReplyInProgress != nil ? probedPathDCID : cids.currentRemote
        do {
            if space == .application && !sendingZeroRTT {
                return (try PacketHeaderWriter.writeShortHeader(into: &w, dcid: dcid, truncatedPacketNumber: truncated,
                                                                packetNumberLength: pnLength, keyPhase: oneRTT?.keyPhase ?? false), pn)
            }
            let type: LongPacketType = space == .initial ? .initial : space == .handshake ? .handshake : .zeroRTT
            let token = role == .client && space == .initial ? retryToken : []
            let scid = cids.local.first?.id ?? ConnectionID()
            let lengthFieldSize = end - start > 16000 ? 4 : 2
            let h: WrittenHeader? = token.withUnsafeBytes { t in
                try? PacketHeaderWriter.writeLongHeader(into: &w, type: type, version: version, dcid: dcid,
                                                        scid: scid, token: t,
                                                        truncatedPacketNumber: truncated, packetNumberLength: pnLength,
                                                        lengthFieldSize: lengthFieldSize)
            }
            return h.map { ($0, pn) }
        } catch {
            return nil
        }
    }

    /// Whether `space` has ack-eliciting content waiting (ignoring congestion control).
    func hasAckElicitingData(_ space: PacketNumberSpace) -> Bool {
        let s = spaces[space.rawValue]
        if streams.crypto.hasPendingData(level: space.encryptionLevel) || s.probesPending > 0 { return true }
        if space == .application {
            return handshakeDonePending || newTokenPending != nil || pingPending || pathValidation?.challengePending == true
                || paths.localProbe?.challengePending == true || !injectedFrames.isEmpty || !pathResponses.isEmpty || !cids.pendingNewConnectionIDs.isEmpty
                || !cids.pendingRetirements.isEmpty || !datagramQueue.isEmpty || streamsHaveDataToSend
                || ackFrequency.framePending
        }
        return false
    }

    func buildPacket(_ space: PacketNumberSpace, buffer: UnsafeMutableRawBufferPointer, start: Int, end: Int,
                     now: QuicInstant) -> PacketUnderConstruction? {
        guard hasKeys(space) else { return nil }
        if let data = probeReplyInProgress {
            // Only the PATH_RESPONSE for the probed path (RFC 9000 §8.2.2), in a 1-RTT packet.
            guard space == .application, !sendingZeroRTT,
                  let (header, pn) = writeHeader(space, buffer: buffer, start: start, end: end) else { return nil }
            var w = WireWriter(buffer, start: header.payloadOffset, end: end - PacketAEAD.tagLength)
            guard (try? FrameEncoder.write(.pathResponse(data), into: &w)) != nil else { return nil }
            return PacketUnderConstruction(space: space, header: header, packetNumber: pn, payloadEnd: w.position,
                                           frames: [.pathResponse(data)], ackEliciting: true,
                                           isLong: false, largestAck: nil)
        }
        let s = spaces[space.rawValue]
        let probe = s.probesPending > 0
        if probe && space != .application && !streams.crypto.hasPendingData(level: space.encryptionLevel) {
            // RFC 9002 §6.2.4: probes should carry unacknowledged data. A PTO sends two probe
            // datagrams; when the first took all that was queued, the second repeats it too
            // instead of being a bare PING (a PING-only Initial cannot start a server's
            // connection, and a lossy path may deliver only that one).
            streams.crypto.requeueUnacknowledged(level: space.encryptionLevel)
        }
        // Probes ignore the congestion window (RFC 9002 §7.5); data also waits for the pacer
        // in the application space (§7.7; handshake flights go at once).
        var congestionOK = probe || recovery.canSend(bytes: 1200)
        if congestionOK && !probe && space == .application {
            let release = recovery.nextSendTime(bytes: 1200, now: now)
            if release > now {
                congestionOK = false
                if hasAckElicitingData(space) { pacingReleaseTime = release }
            }
        }
        let wantsData = hasAckElicitingData(space) && congestionOK
        let ackDue = recovery.ackDeadline(space).map { $0 <= now } ?? false
        // An ACK goes out when one is due (RFC 9000 §13.2.1: at once in Initial and Handshake,
        // which AckTracker marks as due) or rides along with data. A packet that only answers
        // non-ack-eliciting packets is never sent (§13.2.1 "MUST NOT"): two endpoints would
        // otherwise trade ACK-only Initials for as long as the handshake waits, e.g. for the
        // server application's ticket decision.
        let sendAck = recovery.hasAckToSend(space) && (ackDue || wantsData)
        guard wantsData || sendAck else { return nil }
        guard let (header, pn) = writeHeader(space, buffer: buffer, start: start, end: end) else { return nil }
        var w = WireWriter(buffer, start: header.payloadOffset, end: end - PacketAEAD.tagLength)
        var frames = takeFrameList()
        var ackEliciting = false
        var largestAck: UInt64?
        if sendAck, let largest = try? recovery.writeAck(space, now: now, exponent: configuration.transportParameters.ackDelayExponent, into: &w) {
            frames.append(.ack(largest: largest))
            largestAck = largest
        }
        if wantsData {
            // draft-ietf-quic-ack-frequency §5: a probe asks for an ACK at once (first, so
            // stream data cannot crowd it out).
            if space == .application && (probe || lastPacketBeforeCongestionBlock) {
                writeImmediateAckForProbe(&w, frames: &frames, ackEliciting: &ackEliciting)
            }
            if space == .application {
                writeApplicationControlFrames(&w, frames: &frames, ackEliciting: &ackEliciting, now: now)
            }
            writeCryptoFrames(space, &w, frames: &frames, ackEliciting: &ackEliciting)
            if space == .application {
                writeDatagramFrames(&w, frames: &frames, ackEliciting: &ackEliciting)
                writeStreamFrames(&w, frames: &frames, ackEliciting: &ackEliciting, now: now)
                // draft-ietf-quic-ack-frequency §7.1: the last data before going idle asks
                // for an ACK at once (when room is left).
                if !probe && ackFrequencyDecimating && !hasAckElicitingData(.application) {
                    writeImmediateAckForProbe(&w, frames: &frames, ackEliciting: &ackEliciting)
                }
            }
            if probe {
                spaces[space.rawValue].probesPending -= 1
                if !ackEliciting, (try? FrameEncoder.write(.ping, into: &w)) != nil {
                    frames.append(.ping); ackEliciting = true
                }
            }
        }
        if w.position == header.payloadOffset {  // nothing fit
            recycleFrameList(&frames)
            return nil
        }
        // RFC 9001 §5.4.2: packet number + payload at least 4 bytes for the sample.
        while w.position - header.packetNumberOffset < 4 { try? w.writeUInt8(0) }
        if space == .application && sendingZeroRTT { sentZeroRTT = true }
        return PacketUnderConstruction(space: space, header: header, packetNumber: pn, payloadEnd: w.position,
                                       frames: frames, ackEliciting: ackEliciting,
                                       isLong: space != .application || sendingZeroRTT, largestAck: largestAck)
    }

    func writeCryptoFrames(_ space: PacketNumberSpace, _ w: inout WireWriter, frames: inout [SentFrame], ackEliciting: inout Bool) {
        streamFrameScratch.removeAll(keepingCapacity: true)
        guard streams.crypto.write(level: space.encryptionLevel, into: &w, sent: &streamFrameScratch) else { return }
        for f in streamFrameScratch { frames.append(.streams(f)) }
        ackEliciting = true
    }

    func writeApplicationControlFrames(_ w: inout WireWriter, frames: inout [SentFrame], ackEliciting: inout Bool, now: QuicInstant) {
        // RFC 9000 §12.5: 0-RTT packets carry none of the control frames below but PING.
        if sendingZeroRTT {
            if pingPending, (try? FrameEncoder.write(.ping, into: &w)) != nil {
                pingPending = false
                frames.append(.ping); ackEliciting = true
            }
            return
        }
        if handshakeDonePending, (try? FrameEncoder.write(.handshakeDone, into: &w)) != nil {
            handshakeDonePending = false
            frames.append(.handshakeDone); ackEliciting = true
        }
        writeNewTokenFrame(&w, frames: &frames, ackEliciting: &ackEliciting)
        if let v = pathValidation, v.challengePending, (try? FrameEncoder.write(.pathChallenge(v.data), into: &w)) != nil {
            pathValidation!.challengePending = false
            pathChallengeWritten = true
            frames.append(.ping); ackEliciting = true   // recorded like a PING: never retransmitted as is
        }
        writeLocalPathChallenge(&w, frames: &frames, ackEliciting: &ackEliciting)   // RFC 9000 §9.2
        while let data = pathResponses.first, (try? FrameEncoder.write(.pathResponse(data), into: &w)) != nil {
            pathResponses.removeFirst()
            frames.append(.pathResponse(data)); ackEliciting = true
        }
        while let seq = cids.pendingRetirements.first,
              (try? FrameEncoder.write(.retireConnectionID(sequenceNumber: seq), into: &w)) != nil {
            cids.pendingRetirements.removeFirst()
            frames.append(.retireConnectionID(sequence: seq)); ackEliciting = true
        }
        while let seq = cids.pendingNewConnectionIDs.first {
            guard let local = cids.local.first(where: { $0.sequence == seq }), !local.retired else {
                cids.pendingNewConnectionIDs.removeFirst(); continue
            }
            let f = NewConnectionIDFrame(sequenceNumber: seq, retirePriorTo: 0, connectionID: local.id,
                                         statelessResetToken: local.token)
            guard (try? FrameEncoder.write(.newConnectionID(f), into: &w)) != nil else { break }
            cids.pendingNewConnectionIDs.removeFirst()
            frames.append(.newConnectionID(sequence: seq)); ackEliciting = true
        }
        writeAckFrequencyFrame(&w, frames: &frames, ackEliciting: &ackEliciting)
        while let raw = injectedFrames.first, (try? w.writeBytes(raw)) != nil {
            injectedFrames.removeFirst()
            ackEliciting = true
        }
        if pingPending, (try? FrameEncoder.write(.ping, into: &w)) != nil {
            pingPending = false
            frames.append(.ping); ackEliciting = true
        }
    }

    func writeDatagramFrames(_ w: inout WireWriter, frames: inout [SentFrame], ackEliciting: inout Bool) {
        while let d = datagramQueue.first {
            if d.data.count > maxDatagramPayload {
                // Queued before the path MTU went down (DPLPMTUD black hole): it can no longer
                // fit any packet (RFC 9221 §5: DATAGRAM frames are not fragmented).
                datagramQueue.removeFirst()
                emit(.datagramSendStateChanged(id: d.id, state: .lostDiscarded))
                continue
            }
            let needed = 1 + VarInt.encodedLength(UInt64(d.data.count)) + d.data.count
            guard needed <= w.remaining else { return }
            do {
                try FrameEncoder.writeDatagramHeader(length: d.data.count, explicitLength: true, into: &w)
                try w.writeBytes(d.data)
            } catch { return }
            datagramQueue.removeFirst()
            frames.append(.datagram(id: d.id)); ackEliciting = true
            emit(.datagramSendStateChanged(id: d.id, state: .sent))
        }
    }

    /// The CONNECTION_CLOSE packet of a space (RFC 9000 §10.2.3): in Initial and Handshake
    /// packets an application close becomes a transport APPLICATION_ERROR without reason.
    func buildClosePacket(_ space: PacketNumberSpace, buffer: UnsafeMutableRawBufferPointer, start: Int, end: Int,
                          now: QuicInstant, reply: Bool = false) -> PacketUnderConstruction? {
        // A reply to the peer's close says NO_ERROR (RFC 9000 §10.2.2); otherwise our reason.
        let reply = reply ? ConnectionCloseReason(errorCode: 0, isApplication: false, fromPeer: false) : nil
        guard hasKeys(space), let reason = reply ?? closeReason else { return nil }
        if space == .application && sendingZeroRTT { return nil }  // the close goes in Initial/Handshake packets
        // Only the highest space the peer can read matters once the handshake is confirmed.
        if isHandshakeConfirmed && space != .application { return nil }
        // A client with Handshake keys knows the server has them (RFC 9000 §10.2.3) and stops
        // sending Initial packets once it sends a Handshake one (RFC 9001 §4.9.1): an Initial
        // close ahead of the Handshake packet would end the server before it reads our Finished.
        if space == .initial && role == .client && hasKeys(.handshake) { return nil }
        guard let (header, pn) = writeHeader(space, buffer: buffer, start: start, end: end) else { return nil }
        var w = WireWriter(buffer, start: header.payloadOffset, end: end - PacketAEAD.tagLength)
        if space != .application && reply == nil {
            // A close during the handshake first carries what the peer still lacks of this
            // space: our ACK (its RTT sample) and unsent CRYPTO data (a client's Finished), so the
            // peer completes its handshake, reads the close and drains briefly instead of
            // waiting out its PTOs (RFC 9000 §10.2.3 lets a closing packet carry other frames;
            // MsQuic writes pending frames before CONNECTION_CLOSE). Nothing is retransmitted:
            // the connection is closing.
            var unused: [SentFrame] = []
            var eliciting = false
            if recovery.hasAckToSend(space) {
                _ = try? recovery.writeAck(space, now: now, exponent: configuration.transportParameters.ackDelayExponent, into: &w)
            }
            if streams.crypto.hasPendingData(level: space.encryptionLevel) {
                // Room is kept for the CONNECTION_CLOSE, which in these spaces has no reason
                // phrase (at most 1 + 8 + 8 + 1 bytes).
                let closeRoom = 32
                var cw = WireWriter(buffer, start: w.position, end: max(w.position, end - PacketAEAD.tagLength - closeRoom))
                writeCryptoFrames(space, &cw, frames: &unused, ackEliciting: &eliciting)
                w = WireWriter(buffer, start: cw.position, end: end - PacketAEAD.tagLength)
            }
        }
        var frame = ConnectionCloseFrame(isApplicationError: reason.isApplication, errorCode: reason.errorCode,
                                         frameType: reply == nil ? closeFrameType : 0, reasonPhrase: 0..<reason.reason.count)
        var phrase = reason.reason
        if space != .application && reason.isApplication {
            frame = ConnectionCloseFrame(isApplicationError: false, errorCode: TransportErrorCode.applicationError.rawValue,
                                         frameType: 0, reasonPhrase: 0..<0)
            phrase = []
        }
        let ok = phrase.withUnsafeBytes { src in (try? FrameEncoder.write(.connectionClose(frame), source: src, into: &w)) != nil }
        guard ok else { return nil }
        while w.position - header.packetNumberOffset < 4 { try? w.writeUInt8(0) }
        return PacketUnderConstruction(space: space, header: header, packetNumber: pn, payloadEnd: w.position,
                                       frames: [], ackEliciting: false, isLong: space != .application)
    }

    /// Applies packet and header protection to an assembled packet (RFC 9001 §5).
    func seal(_ p: PacketUnderConstruction, buffer: UnsafeMutableRawBufferPointer, end: Int) -> Bool {
        do {
            if p.isLong { try PacketHeaderWriter.patchLength(buffer, header: p.header, packetEnd: end) }
            let packet = UnsafeMutableRawBufferPointer(rebasing: buffer[p.header.start..<end])
            let pnOffset = p.header.packetNumberOffset - p.header.start
            if p.space == .application && p.isLong {
                guard let keys = zeroRTTSend else { return false }
                try keys.protect(packet: packet, pnOffset: pnOffset, pnLength: p.header.packetNumberLength,
                                 packetNumber: p.packetNumber)
            } else if p.space == .application, oneRTT == nil, let half = halfRTTSend {
                // 0.5-RTT (Connection+HalfRTT.swift): key phase 0, the key 1-RTT starts with.
                try half.protect(packet: packet, pnOffset: pnOffset, pnLength: p.header.packetNumberLength,
                                 packetNumber: p.packetNumber)
            } else if p.space == .application {
                guard let keys = oneRTT else { return false }
                try keys.sendAEAD.seal(packet: packet, headerLength: pnOffset + p.header.packetNumberLength,
                                       packetNumber: p.packetNumber)
                try keys.sendHeaderProtection.apply(packet: packet, pnOffset: pnOffset, pnLength: p.header.packetNumberLength)
            } else {
                guard let keys = spaces[p.space.rawValue].sendKeys else { return false }
                try keys.protect(packet: packet, pnOffset: pnOffset, pnLength: p.header.packetNumberLength,
                                 packetNumber: p.packetNumber)
            }
            return true
        } catch {
            return false
        }
    }

    /// RFC 9001 §6.1, §6.6: update keys after the configured number of packets or bytes, or
    /// before the confidentiality limit, once the peer acknowledged the current phase (§6.1: a
    /// new update waits until a packet of the current phase was acknowledged, §6.5).
    func maybeInitiateKeyUpdate(now: QuicInstant) {
        guard isHandshakeConfirmed, currentPhaseAcked, let suite = tls.negotiatedCipherSuite else { return }
        // RFC 9001 §6.5: wait three PTOs after the acknowledgment that confirmed the previous
        // update, so the peer has dropped the keys before the last ones and can read the new
        // phase (a peer that keeps one old key set drops packets of an update started sooner).
        if let confirmed = currentPhaseAckedAt, now < confirmed + 3 * recovery.pto {
            let nearLimit = packetsWithCurrentKey >= suite.confidentialityLimit - 1000
            guard nearLimit else { return }
        }
        let softLimit = suite.confidentialityLimit - 1000
        let limit = configuration.keyUpdateInterval > 0 ? min(configuration.keyUpdateInterval, softLimit) : softLimit
        let byteLimitReached = configuration.keyUpdateBytes > 0 && bytesWithCurrentKey >= configuration.keyUpdateBytes
        if packetsWithCurrentKey >= limit || byteLimitReached { try? initiateKeyUpdate() }
    }

    /// Packets protected with one 1-RTT key after which the connection closes with
    /// AEAD_LIMIT_REACHED (RFC 9001 §6.6), a little below the limit for the close itself.
    var hardConfidentialityLimit: UInt64 {
        guard let suite = tls.negotiatedCipherSuite else { return .max }
        return suite.confidentialityLimit - 100
    }
}
