import QuicCrypto
import QuicTLS
import QuicWire

// The qlog hooks' bodies (see ConnectionObserver.swift). Every caller reaches these only
// with a non-nil observer (`if let q = qlog { ... }` or `qlog?.`), so a connection without
// one does none of this work.
extension Connection {
    /// The latest time the connection was given (for hooks in code paths without `now`).
    var observedNow: QuicInstant { streams.now ?? .zero }

    /// Creation: connection_started, the first state, our transport parameters, Initial keys.
    func observeStart(_ q: ConnectionObserver, parameters: TransportParameters, now: QuicInstant) {
        q.connectionStarted(role: role, version: version, localCID: cids.local.first?.id ?? ConnectionID(),
                            remoteCID: cids.currentRemote, remote: remoteAddress, now: now)
        q.connectionStateUpdated(role == .client ? .attempted : .handshakeStarted, now: now)
        q.parametersSet(local: true, parameters, now: now)
        q.keyUpdated(.clientInitial, generation: 0, localUpdate: false, now: now)
        q.keyUpdated(.serverInitial, generation: 0, localUpdate: false, now: now)
    }

    /// packet_sent, from the assembled packet before protection (the payload is plaintext).
    func observeSent(_ q: ConnectionObserver, _ p: PacketUnderConstruction, buffer: UnsafeMutableRawBufferPointer,
                     size: Int, now: QuicInstant) {
        let payload = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[p.header.payloadOffset..<p.payloadEnd])
        let packet = ObservedPacket(type: observedType(p.space, isLong: p.isLong), packetNumber: p.packetNumber,
                                    dcid: cids.currentRemote, scid: p.isLong ? (cids.local.first?.id ?? ConnectionID()) : nil,
                                    length: size, payload: payload, sender: role,
                                    ackDelayExponent: configuration.transportParameters.ackDelayExponent)
        q.packetSent(packet, now: now)
    }

    /// packet_received, after packet protection was removed.
    func observeReceived(_ q: ConnectionObserver, _ header: PacketHeader, packetNumber: UInt64,
                         payload: UnsafeRawBufferPointer, now: QuicInstant) {
        let packet = ObservedPacket(type: ObservedPacketType(header.kind), packetNumber: packetNumber, dcid: header.dcid,
                                    scid: header.isLongHeader ? header.scid : nil, length: header.end - header.start,
                                    payload: payload, sender: role == .client ? .server : .client,
                                    ackDelayExponent: peerTransportParameters?.ackDelayExponent ?? 3)
        q.packetReceived(packet, now: now)
    }

    /// packet_received of a Version Negotiation or Retry packet (no packet number, no frames).
    func observeReceivedWithoutPayload(_ q: ConnectionObserver, _ header: PacketHeader, now: QuicInstant) {
        let packet = ObservedPacket(type: ObservedPacketType(header.kind), packetNumber: 0, dcid: header.dcid, scid: header.scid,
                                    length: header.end - header.start, payload: UnsafeRawBufferPointer(start: nil, count: 0),
                                    sender: role == .client ? .server : .client, ackDelayExponent: 3)
        q.packetReceived(packet, now: now)
    }

    func observeDrop(_ q: ConnectionObserver, _ header: PacketHeader, packetNumber: UInt64? = nil,
                     _ trigger: ObservedDropTrigger, now: QuicInstant) {
        q.packetDropped(type: ObservedPacketType(header.kind), packetNumber: packetNumber, length: header.end - header.start,
                        trigger: trigger, now: now)
    }

    /// The rest of a datagram from `offset` could not be parsed (RFC 9000 §12.2): a drop,
    /// unless it is only zero bytes (padding after the last packet, as some stacks send).
    func observeUnparsable(_ q: ConnectionObserver, datagram: UnsafeRawBufferPointer, from offset: Int, now: QuicInstant) {
        let start = min(max(0, offset), datagram.count)
        if datagram[start...].allSatisfy({ $0 == 0 }) { return }
        q.packetDropped(type: .unknown, packetNumber: nil, length: datagram.count - start, trigger: .headerParseError, now: now)
    }

    /// metrics_updated after an ACK or a loss timer, and congestion_state_updated on a change.
    func observeRecovery(_ q: ConnectionObserver, now: QuicInstant) {
        q.metricsUpdated(observedMetrics, now: now)
        let state = observedCongestionState
        if state != qlogCongestionState {
            q.congestionStateUpdated(from: qlogCongestionState, to: state, now: now)
            qlogCongestionState = state
        }
    }

    /// key_updated for keys TLS handed over (RFC 9001 §4.1.4).
    func observeKeyInstalled(_ q: ConnectionObserver, _ secret: TrafficSecret, now: QuicInstant) {
        // The key's writer: we write with our write secrets, the peer with our read ones.
        let writer: EndpointRole = secret.direction == .write ? role : (role == .client ? .server : .client)
        let key: ObservedKeyType
        switch secret.level {
        case .initial: return
        case .earlyData: key = writer == .client ? .client0RTT : .server0RTT
        case .handshake: key = observedKey(.handshake, writer: writer)
        case .application: key = observedKey(.application, writer: writer)
        }
        q.keyUpdated(key, generation: 0, localUpdate: false, now: now)
    }

    /// A 1-RTT key update (RFC 9001 §6): both directions move to `generation`.
    func observeKeyUpdate(_ q: ConnectionObserver, generation: UInt64, local: Bool, now: QuicInstant) {
        q.keyUpdated(.client1RTT, generation: generation, localUpdate: local, now: now)
        q.keyUpdated(.server1RTT, generation: generation, localUpdate: local, now: now)
    }

    /// RFC 9001 §4.9: both keys of a space are gone.
    func observeKeysDiscarded(_ q: ConnectionObserver, _ space: PacketNumberSpace, now: QuicInstant) {
        q.keyDiscarded(observedKey(space, writer: .client), generation: 0, now: now)
        q.keyDiscarded(observedKey(space, writer: .server), generation: 0, now: now)
    }

    /// Events the connection reports to its owner that qlog also records.
    func observeEvent(_ q: ConnectionObserver, _ e: ConnectionEvent) {
        let now = observedNow
        switch e {
        case .connected(let alpn, _):
            q.connectionStateUpdated(.handshakeCompleted, now: now)
            q.alpnInformation(local: configuration.tls.alpnProtocols, chosen: alpn, now: now)
            q.versionInformation(local: configuration.versions,
                                 peer: peerTransportParameters?.versionInformation?.availableVersions,
                                 chosen: version, now: now)
        case .peerAddressChanged(let remote):
            q.peerAddressChanged(to: remote, validating: pathValidation != nil, now: now)
        case .localAddressChanged(let local):
            q.localAddressChanged(to: local, now: now)
        case .shutdownComplete:
            q.connectionStateUpdated(.closed, now: now)
            if let r = closeReason { q.connectionClosed(r, now: now) }
            q.finish(now: now)
            qlog = nil
        default:
            break
        }
    }
}
