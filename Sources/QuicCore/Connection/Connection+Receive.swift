import QuicCrypto
import QuicTLS
import QuicWire

// Receiving: datagram -> coalesced packets (RFC 9000 §12.2) -> header and packet protection
// removal (RFC 9001 §5) -> frames (RFC 9000 §12.4, §19).
extension Connection {
    /// Processes one UDP datagram from `remote`, received with the ECN codepoint `ecn` (RFC 9000
    /// §13.4.1). The buffer is decrypted in place.
    public func handle(datagram: UnsafeMutableRawBufferPointer, from remote: SocketAddress, now: QuicInstant,
                       ecn: ECNCodepoint = .notECT) {
        noteTime(now)
        currentDatagramECN = ecn
        switch state {
        case .closed, .draining:
            return  // RFC 9000 §10.2.2: a draining endpoint sends nothing.
        case .closing:
            // RFC 9000 §10.2.1: answer incoming packets with CONNECTION_CLOSE (rate limited
            // by the caller's polling: one per received datagram), within the amplification
            // limit (§8.1), which counts these datagrams too.
            bytesReceived += UInt64(datagram.count)
            closePacketPending = true
            // RFC 9000 §10.2.1: a CONNECTION_CLOSE from the peer means it is closing or
            // draining too; we may stop answering and drain. Packets are opened only to find
            // that frame (handleFrame ignores every other one while closing).
            var packets = CoalescedPackets(UnsafeRawBufferPointer(datagram), shortHeaderDCIDLength: configuration.localConnectionIDLength)
            while state == .closing, let header = try? packets.next() {
                _ = try? handlePacket(header, datagram: datagram, from: remote, now: now)
            }
            return
        case .open:
            break
        }
        // RFC 9000 §8.1: every datagram attributed to the connection counts, whether or not
        // its packets can be processed.
        bytesReceived += UInt64(datagram.count)
        // §9.3: what an unvalidated new peer address sent us bounds what we send it.
        if pathValidation?.target == remote { pathValidation!.received &+= UInt64(datagram.count) }
        datagramMayMigrate = false
        currentDatagramRemote = remote
        currentDatagramSize = datagram.count
        if role == .server && !addressValidated && 3 * bytesReceived > bytesSent + 1200 {
            recovery.setAmplificationLimited(false, now: now)
        }
        // RFC 9000 §10.3.1: the last 16 bytes, kept before decryption rewrites the buffer.
        let resetCandidate = StatelessReset.candidateToken(in: UnsafeRawBufferPointer(datagram))
        var processedAny = false
        // RFC 9287 §3: having advertised grease_quic_bit, packets with the fixed bit 0 are valid.
        var packets = CoalescedPackets(UnsafeRawBufferPointer(datagram), shortHeaderDCIDLength: configuration.localConnectionIDLength,
                                       allowFixedBitZero: configuration.transportParameters.greaseQuicBit)
        while state == .open {
            let header: PacketHeader
            do {
                guard let h = try packets.next() else { break }
                header = h
            } catch {
                if let q = qlog { observeUnparsable(q, datagram: UnsafeRawBufferPointer(datagram), from: packets.position, now: now) }
                break  // RFC 9000 §12.2: the rest of the datagram is dropped.
            }
            do {
                if try handlePacket(header, datagram: datagram, from: remote, now: now) { processedAny = true }
            } catch let e as QuicError {
                closeWithError(e, now: now)
            } catch let alert as TLSAlert {
                closeOnTLSAlert(alert, now: now)
            } catch {
                closeWithError(QuicError(code: .internalError, reason: "\(error)"), now: now)
            }
        }
        // RFC 9000 §9.3: the highest-numbered non-probing packet decides the peer's address.
        if datagramMayMigrate, state == .open, shouldFollowPeer(to: remote) {
            onPeerAddressChange(to: remote, now: now)
        }
        if datagramMayMigrate { paths.peerDCIDOnPath = paths.datagramDCID }
        // RFC 9000 §10.3.1: a datagram we could not process that ends in a known reset token.
        if !processedAny, state == .open, let token = resetCandidate, cids.matchesResetToken(token) {
            closeReason = ConnectionCloseReason(errorCode: 0, isApplication: false, fromPeer: true, statelessReset: true)
            emit(.shutdownInitiatedByTransport(closeReason!))
            enterDraining(now: now, immediate: true)
        }
    }

    /// `handle(datagram:)` for an array (copied).
    public func handle(datagram: [UInt8], from remote: SocketAddress, now: QuicInstant, ecn: ECNCodepoint = .notECT) {
        var copy = datagram
        copy.withUnsafeMutableBytes { handle(datagram: $0, from: remote, now: now, ecn: ecn) }
    }

    /// Returns true if the packet was authenticated and processed.
    func handlePacket(_ header: PacketHeader, datagram: UnsafeMutableRawBufferPointer, from remote: SocketAddress,
                      now: QuicInstant) throws -> Bool {
        let space: PacketNumberSpace
        switch header.kind {
        case .versionNegotiation:
            if let q = qlog { observeReceivedWithoutPayload(q, header, now: now) }
            handleVersionNegotiation(header, datagram: UnsafeRawBufferPointer(datagram), now: now)
            return false
        case .retry:
            if let q = qlog { observeReceivedWithoutPayload(q, header, now: now) }
            try handleRetry(header, datagram: UnsafeRawBufferPointer(datagram), now: now)
            return false
        case .unsupportedVersion:
            return false
        case .zeroRTT:
            // RFC 9001 §4.6.1: only a server that accepted early data reads 0-RTT.
            guard role == .server, zeroRTTReceive != nil else { return false }
            space = .application
        case .initial: space = .initial
        case .handshake: space = .handshake
        case .oneRTT: space = .application
        }
        if header.kind != .oneRTT {
            // RFC 9000 §5.2; RFC 9368 §2.3 / RFC 9369 §4 for the other compatible version.
            guard header.version == version || acceptsOtherVersion(header, datagram: datagram) else {
                if let q = qlog { observeDrop(q, header, .unsupportedVersion, now: now) }
                return false
            }
            // Client: after the first server Initial, its SCID is the only one accepted (§7.2).
            if role == .client, let peer = peerInitialSourceCID, header.scid != peer { return false }
        }
        // RFC 9000 §17.2.2: a server's Initial carries an empty token; a client discards one
        // that does not (the alternative, PROTOCOL_VIOLATION, would let anyone who can read
        // the client's Initial keys end the connection).
        if role == .client && header.kind == .initial && !header.tokenRange.isEmpty { return false }
        // RFC 9000 §14.1: a server discards every Initial in a datagram smaller than 1200 bytes
        // (the Endpoint already refuses to create a connection for one).
        if role == .server && header.kind == .initial && datagram.count < 1200 { return false }
        var s = spaces[space.rawValue]
        guard !s.discarded else {
            if let q = qlog { observeDrop(q, header, .keyUnavailable, now: now) }
            return false
        }
        let packet = UnsafeMutableRawBufferPointer(rebasing: datagram[header.start..<header.end])
        let pnOffset = header.packetNumberOffset - header.start
        let decrypted: (firstByte: UInt8, packetNumber: UInt64, payload: Range<Int>)
        var keyUsed: OneRTTKeys.ReceiveKey = .current
        if space == .application && header.kind != .zeroRTT {
            guard let keys = oneRTT else { return false }
            // The 1-RTT key may have changed (RFC 9001 §6.3): remove header protection, then
            // choose the AEAD from the key phase bit.
            guard let hp = try? keys.receiveHeaderProtection.remove(packet: packet, pnOffset: pnOffset) else { return false }
            let pn = PacketNumberDecoding.decode(truncated: UInt64(hp.truncatedPacketNumber), length: hp.pnLength,
                                                 largest: s.largestReceived)
            keyUsed = keys.receiveKey(keyPhase: KeyPhase.isSet(firstByte: hp.firstByte), packetNumber: pn)
            guard let aead = keys.aead(for: keyUsed) else { return false }
            do {
                let payload = try aead.open(packet: packet, headerLength: pnOffset + hp.pnLength, packetNumber: pn)
                decrypted = (hp.firstByte, pn, payload)
            } catch {
                if let q = qlog { observeDrop(q, header, .decryptionFailure, now: now) }
                try countForgery()
                return false
            }
        } else {
            // Initial, Handshake and 0-RTT: one key per level, no key phase.
            guard let keys = header.kind == .zeroRTT ? zeroRTTReceive : initialReceiveKeys(for: header, default: s.receiveKeys) else { return false }
            do {
                let u = try keys.unprotect(packet: packet, pnOffset: pnOffset, largestPacketNumber: s.largestReceived)
                decrypted = (u.firstByte, u.packetNumber, u.payload)
            } catch {
                if let q = qlog { observeDrop(q, header, .decryptionFailure, now: now) }
                try countForgery()
                return false
            }
        }
        let pn = decrypted.packetNumber
        let isNewLargest = s.largestReceived.map { pn > $0 } ?? true
        if recovery.isDuplicate(space, pn) {  // RFC 9000 §12.3
            if let q = qlog { observeDrop(q, header, packetNumber: pn, .duplicate, now: now) }
            counters.droppedPackets += 1; return false
        }
        counters.receivedPackets += 1
        if let q = qlog {
            observeReceived(q, header, packetNumber: pn,
                            payload: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(packet)[decrypted.payload]), now: now)
        }
        // RFC 9000 §17.2, §17.3.1: reserved bits must be zero after decryption.
        let reserved = header.isLongHeader ? decrypted.firstByte & 0x0c : decrypted.firstByte & 0x18
        if reserved != 0 { throw QuicError.protocolViolation(nil, "reserved header bits set") }
        if header.kind == .oneRTT, let keys = oneRTT {
            // RFC 9001 §6.2: a second update before we acknowledged, in the current phase, a
            // packet of the peer's previous update (§6.1 forbids it) is a KEY_UPDATE_ERROR.
            if keyUsed == .next && !peerMayUpdateKeys {
                throw QuicError(code: .keyUpdateError, reason: "key update before the previous one was acknowledged")
            }
            let before = keys.generation
            try? keys.packetAuthenticated(with: keyUsed, packetNumber: pn)
            if keys.generation != before {
                // The peer updated its keys (RFC 9001 §6.2): we answer in the new phase.
                packetsWithCurrentKey = 0
                bytesWithCurrentKey = 0
                firstPacketOfCurrentPhase = nil
                currentPhaseAcked = false
                peerMayUpdateKeys = false
                previousKeysDiscardTime = now + 3 * recovery.pto
                if let q = qlog { observeKeyUpdate(q, generation: keys.generation, local: false, now: now) }
            }
        }
        s.largestReceived = max(s.largestReceived ?? 0, pn)
        spaces[space.rawValue] = s
        processedAnyPacket = true

        // Path and handshake bookkeeping for a packet that authenticated.
        if role == .client && header.kind == .initial && peerInitialSourceCID == nil {
            // RFC 9000 §7.2: switch to the server's chosen CID.
            receivedRetryOrInitial = true
            peerInitialSourceCID = header.scid
            cids.remote[0].id = header.scid
        }
        if role == .server && header.kind == .handshake {
            // RFC 9000 §8.1: a Handshake packet proves the client's address; RFC 9001
            // §4.9.1: the server drops its Initial keys.
            addressValidated = true
            recovery.setAmplificationLimited(false, now: now)
            discardKeys(.initial, now: now)
        }

        let payload = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(packet)[decrypted.payload])
        let ackEliciting = try processFrames(payload, kind: header.kind, space: space, dcid: header.dcid, now: now)
        if header.kind == .oneRTT && isNewLargest && lastPacketNonProbing {
            datagramMayMigrate = true
            paths.datagramDCID = header.dcid   // RFC 9000 §9.5: did the peer change CID with its path?
        }
        if state == .open || state == .closing {
            recovery.onPacketReceived(space, pn, ackEliciting: ackEliciting, ecn: currentDatagramECN, now: now)
            afterPacketRecordedForAckFrequency(space)
        }
        // RFC 9000 §10.1: the idle timer restarts on every processed packet.
        restartIdleTimer(now: now)
        ackElicitingSentSinceReceive = false
        return true
    }

    /// RFC 9001 §6.6: too many forged packets end the connection.
    func countForgery() throws {
        forgedPackets += 1
        let limit = tls.negotiatedCipherSuite?.integrityLimit ?? (1 << 36)
        // "exceeds the integrity limit": the limit itself is still allowed.
        if forgedPackets > limit { throw QuicError(code: .aeadLimitReached, reason: "integrity limit reached") }
    }

    /// Returns whether any frame was ack-eliciting.
    func processFrames(_ payload: UnsafeRawBufferPointer, kind: PacketKind, space: PacketNumberSpace,
                       dcid: ConnectionID, now: QuicInstant) throws -> Bool {
        var decoder = FrameDecoder(payload, packetKind: kind, sender: role == .client ? .server : .client)
        var ackEliciting = false
        let startState = state
        lastPacketNonProbing = false
        while let frame = try decoder.next() {
            if frame.isAckEliciting { ackEliciting = true }
            switch frame {
            case .pathChallenge, .pathResponse, .newConnectionID, .padding: break  // probing frames (§9.1)
            default: lastPacketNonProbing = true
            }
            try handleFrame(frame, payload: payload, space: space, dcid: dcid, now: now)
            // RFC 9001 §4.6.1: remember which stream data was 0-RTT (the API reports it).
            if kind == .zeroRTT, case .stream(let f) = frame {
                streams.noteZeroRTTData(StreamID(f.streamID), end: f.offset + UInt64(f.data.count))
            }
            if state != startState { break }
        }
        return ackEliciting
    }

    func handleFrame(_ frame: Frame, payload: UnsafeRawBufferPointer, space: PacketNumberSpace,
                     dcid: ConnectionID, now: QuicInstant) throws {
        if state == .closing {
            // RFC 9000 §10.2.1: while closing only the peer's CONNECTION_CLOSE matters.
            if case .connectionClose = frame {
                peerAcknowledgedClose = true
                state = .draining        // nothing more is sent
                closePacketPending = false
                // The peer answered our close, so what is left of the closing period only
                // absorbs stray packets (RFC 9000 §10.2.2 leaves its length to us). MsQuic
                // (connection.c QuicConnTryClose, "Peer acknowledged our local close"): a
                // client ends at once, a server drains max(15 ms, 2 x smoothed RTT). Without
                // this, a close sent before any RTT sample waits out three PTOs of the 333 ms
                // initial RTT.
                let rest: QuicDuration = role == .client ? .zero : max(.milliseconds(15), 2 * recovery.smoothedRTT)
                stateDeadline = min(stateDeadline, now + rest)
            }
            return
        }
        switch frame {
        case .padding, .ping:
            break
        case .ack(let ack):
            try handleAck(ack, payload: payload, space: space, now: now)
        case .crypto(let f):
            let level = space.encryptionLevel
            if role == .server, let refusal = configuration.refusal {
                switch refusal {
                case .transportError(let code):
                    throw QuicError(code: code, frameType: FrameType.crypto, reason: "connection refused")
                case .applicationClose(let code):
                    close(errorCode: code, now: now)
                    return
                }
            }
            if try streams.crypto.handle(f, level: level, payload: payload) {
                try receiveCrypto(streams.crypto.takeReadable(level: level), level: level, now: now)
            }
        case .handshakeDone:
            // RFC 9001 §4.1.2: HANDSHAKE_DONE confirms the client's handshake.
            guard role == .client else { throw QuicError.protocolViolation(FrameType.handshakeDone, "HANDSHAKE_DONE from a client") }
            confirmHandshake(now: now)
        case .newToken(let range):
            guard role == .client else { throw QuicError.protocolViolation(FrameType.newToken, "NEW_TOKEN from a client") }
            emit(.newTokenReceived(Array(payload[range])))
        case .newConnectionID(let f):
            try cids.onNewConnectionID(f, peerUsesZeroLength: cids.currentRemote.isEmpty)
            syncPeerResetTokens()
        case .retireConnectionID(let seq):
            if let id = try cids.onRetireConnectionID(seq, packetDCID: dcid) {
                registry.retireConnectionID(id)
                issueConnectionIDs()
            }
        case .pathChallenge(let data):
            // RFC 9000 §8.2.2: the response goes back on the path the challenge came from.
            // A probe from another address than the current one (a peer testing a new path,
            // §9.1) is answered there, within 3x what that datagram carried (§8.1, §9.3).
            if currentDatagramRemote == remoteAddress || currentDatagramRemote.family == .unspecified {
                if pathResponses.count < 4 { pathResponses.append(data) }
            } else if probedPathResponses.count < 4 {
                probedPathResponses.append((data, currentDatagramRemote, UInt64(currentDatagramSize) * 3))
            }
        case .pathResponse(let data):
            onPathResponse(data)
        case .connectionClose(let f):
            handlePeerClose(f, payload: payload, now: now)
        case .datagram(let f):
            // RFC 9221 §3: DATAGRAM without having advertised support, or larger than what
            // we advertised, is a PROTOCOL_VIOLATION.
            let advertised = configuration.datagramReceiveEnabled ? (configuration.transportParameters.maxDatagramFrameSize ?? 65535) : 0
            if advertised == 0 || UInt64(FrameEncoder.encodedLength(frame)) > advertised {
                throw QuicError.protocolViolation(frame.frameType, "unexpected DATAGRAM frame")
            }
            emit(.datagramReceived(Array(payload[f.data])))
        case .ackFrequency(let f):
            try handleAckFrequency(f)
        case .immediateAck:
            try handleImmediateAck()
        case .timestamp:
            // Extensions we never advertise (RFC 9000 §19.21: frames of unnegotiated extensions).
            throw QuicError.protocolViolation(frame.frameType, "extension frame not negotiated")
        case .stream, .resetStream, .resetStreamAt, .stopSending, .maxData, .maxStreamData, .maxStreams, .dataBlocked,
             .streamDataBlocked, .streamsBlocked:
            try handleStreamFrame(frame, payload: payload, now: now)
        }
    }

    func handleAck(_ ack: AckFrame, payload: UnsafeRawBufferPointer, space: PacketNumberSpace, now: QuicInstant) throws {
        try recovery.onAckReceived(space, ack: ack, source: payload, now: now)
        spaces[space.rawValue].largestAcked = max(spaces[space.rawValue].largestAcked ?? 0, ack.largestAcknowledged)
        let r = recovery.recovery
        // The recovery's own lists (what follows does not process another ACK meanwhile).
        let acked = r.ackedPackets, lost = r.lostPackets
        for p in acked { onPacketAcked(p.token, now: now) }
        for p in lost { onPacketLost(p.token) }
        counters.lostPackets += UInt64(lost.count)
        if let q = qlog { observeRecovery(q, now: now) }
        // DPLPMTUD black-hole detection and ECN validation (Connection+PMTU/ECN.swift).
        pmtuCheckBlackHole(acked: acked, lost: lost, now: now)
        ecnAfterAckOrLoss(ack: ack, acked: acked, lost: lost)
        if !lost.isEmpty { onLossForAckFrequency(persistentCongestion: recovery.lastAckPersistentCongestion) }
    }

    func onPacketAcked(_ token: UInt64, now: QuicInstant) {
        pmtuOnPacketAcked(token, now: now)
        guard var record = sentPackets.removeValue(forKey: token) else { return }
        defer { recycleFrameList(&record.frames) }
        if record.space == .application, let keys = oneRTT, record.keyGeneration == keys.generation {
            // RFC 9001 §6.1: the peer saw the current phase.
            if !currentPhaseAcked && keys.generation > 0 { currentPhaseAckedAt = now }
            currentPhaseAcked = true
        }
        for f in record.frames {
            switch f {
            case .ack(let largest): recovery.onAckOfAck(record.space, largest: largest)
            case .datagram(let id): emit(.datagramSendStateChanged(id: id, state: .acknowledged))
            case .ackFrequency(let seq): onAckFrequencyAcked(sequence: seq)
            case .streams(let f): streams.onAcked(f)
            default: break
            }
        }
    }

    func onPacketLost(_ token: UInt64) {
        pmtuOnPacketLost(token, now: streams.now ?? .zero)
        guard var record = sentPackets.removeValue(forKey: token) else { return }
        defer { recycleFrameList(&record.frames) }
        qlog?.packetLost(type: observedType(record.space, isLong: false), packetNumber: record.packetNumber, now: observedNow)
        for f in record.frames {
            switch f {
            case .handshakeDone: handshakeDonePending = true
            case .newToken(let token): newTokenPending = token
            case .newConnectionID(let seq):
                if cids.local.contains(where: { $0.sequence == seq && !$0.retired }) { cids.pendingNewConnectionIDs.append(seq) }
            case .retireConnectionID(let seq): cids.pendingRetirements.append(seq)
            case .datagram(let id): emit(.datagramSendStateChanged(id: id, state: .lostDiscarded))
            case .streams(let f): streams.onLost(f)
            case .ackFrequency(let seq): onAckFrequencyLost(sequence: seq)
            case .ping, .ack, .pathResponse: break
            }
        }
    }
}
