import XCTest
@testable import QuicCore
import QuicTLS
import QuicWire

/// draft-ietf-quic-ack-frequency: the AckTracker rules, the min_ack_delay / ACK_FREQUENCY /
/// IMMEDIATE_ACK negotiation, and the ACK ratio of a bulk transfer on the simulated network.
final class AckFrequencyTests: XCTestCase {
    // MARK: AckTracker

    func testThresholdFromAckFrequencyDelaysTheAck() {
        var t = AckTracker(space: .application)
        t.applyAckFrequency(ackElicitingThreshold: 10, maxAckDelay: .milliseconds(25), reorderingThreshold: 1)
        let now: QuicInstant = 1_000_000
        for pn in 0..<9 as Range<UInt64> {
            t.onPacketReceived(pn, ackEliciting: true, now: now)
            XCTAssertFalse(t.isAckDue(now: now), "ACK due after \(pn + 1) packets with a threshold of 10")
        }
        t.onPacketReceived(9, ackEliciting: true, now: now)
        XCTAssertTrue(t.isAckDue(now: now), "the 10th ack-eliciting packet makes the ACK due")
    }

    func testRequestedMaxAckDelayIsTheNewTimer() {
        var t = AckTracker(space: .application)
        t.applyAckFrequency(ackElicitingThreshold: 100, maxAckDelay: .milliseconds(5), reorderingThreshold: 1)
        let now: QuicInstant = 1_000_000
        t.onPacketReceived(0, ackEliciting: true, now: now)
        XCTAssertEqual(t.ackDeadline, now + .milliseconds(5))
    }

    func testThresholdZeroAcknowledgesEveryPacket() {
        var t = AckTracker(space: .application)
        t.applyAckFrequency(ackElicitingThreshold: 0, maxAckDelay: .milliseconds(25), reorderingThreshold: 1)
        t.onPacketReceived(0, ackEliciting: true, now: 1)
        XCTAssertTrue(t.isAckDue(now: 1))
    }

    func testReorderingThresholdZeroIgnoresGaps() {
        var t = AckTracker(space: .application)
        t.applyAckFrequency(ackElicitingThreshold: 10, maxAckDelay: .milliseconds(25), reorderingThreshold: 0)
        t.onPacketReceived(0, ackEliciting: true, now: 1)
        t.onPacketReceived(5, ackEliciting: true, now: 1)   // 1...4 missing
        t.onPacketReceived(3, ackEliciting: true, now: 1)   // out of order
        XCTAssertFalse(t.isAckDue(now: 1))
    }

    func testDefaultReorderingAcknowledgesAGapAtOnce() {
        var t = AckTracker(space: .application)
        t.applyAckFrequency(ackElicitingThreshold: 10, maxAckDelay: .milliseconds(25), reorderingThreshold: 1)
        t.onPacketReceived(0, ackEliciting: true, now: 1)
        t.onPacketReceived(2, ackEliciting: true, now: 1)
        XCTAssertTrue(t.isAckDue(now: 1))
    }

    func testReorderingThresholdThreeWaitsForThreePacketsPastTheGap() {
        var t = AckTracker(space: .application)
        t.applyAckFrequency(ackElicitingThreshold: 50, maxAckDelay: .milliseconds(25), reorderingThreshold: 3)
        t.onPacketReceived(0, ackEliciting: true, now: 1)
        t.onPacketReceived(2, ackEliciting: true, now: 1)   // 1 missing: 2 - 1 = 1 < 3
        XCTAssertFalse(t.isAckDue(now: 1))
        t.onPacketReceived(3, ackEliciting: true, now: 1)   // 3 - 1 = 2 < 3
        XCTAssertFalse(t.isAckDue(now: 1))
        t.onPacketReceived(4, ackEliciting: true, now: 1)   // 4 - 1 = 3: due
        XCTAssertTrue(t.isAckDue(now: 1))
        // Once reported, the same hole does not trigger again.
        var buf = [UInt8](repeating: 0, count: 200)
        let written = buf.withUnsafeMutableBytes { b -> UInt64? in
            var w = WireWriter(b)
            return t.writeAckFrame(now: 1, ackDelayExponent: 3, into: &w)
        }
        XCTAssertEqual(written, 4)
        t.onPacketReceived(5, ackEliciting: true, now: 1)
        t.onPacketReceived(6, ackEliciting: true, now: 1)
        XCTAssertFalse(t.isAckDue(now: 1))
    }

    func testImmediateAckRequest() {
        var t = AckTracker(space: .application)
        t.applyAckFrequency(ackElicitingThreshold: 10, maxAckDelay: .milliseconds(25), reorderingThreshold: 1)
        t.onPacketReceived(0, ackEliciting: true, now: 1)
        XCTAssertFalse(t.isAckDue(now: 1))
        t.requestImmediateAck()
        XCTAssertTrue(t.isAckDue(now: 1))
    }

    // MARK: Negotiation

    func connectedPair(client: ConnectionConfiguration = SimConfigs.client(), server: ConnectionConfiguration = SimConfigs.server(),
                       seed: UInt64 = 1, link: SimLink = SimLink()) throws -> (SimNetwork, Connection, Connection) {
        let net = SimConfigs.network(seed: seed, server: server)
        net.link = link
        let c = try net.connect(client)
        XCTAssertTrue(net.run { c.isHandshakeConfirmed && (net.server.accepted.first?.isHandshakeConfirmed ?? false) })
        return (net, c, try XCTUnwrap(net.server.accepted.first))
    }

    func testBothSidesAdvertiseMinAckDelayAsMsQuic() throws {
        let (_, client, server) = try connectedPair()
        XCTAssertEqual(client.peerTransportParameters?.minAckDelay, 1000)
        XCTAssertEqual(server.peerTransportParameters?.minAckDelay, 1000)
        XCTAssertTrue(client.peerSupportsAckFrequency)
        XCTAssertTrue(server.peerSupportsAckFrequency)
    }

    func testDisabledSideAdvertisesNothingAndSendsNoAckFrequency() throws {
        var cc = SimConfigs.client(); cc.ackFrequencyEnabled = false
        let (_, client, server) = try connectedPair(client: cc)
        XCTAssertNil(server.peerTransportParameters?.minAckDelay)
        XCTAssertFalse(server.peerSupportsAckFrequency)
        server.updatePeerPacketTolerance(41)
        XCTAssertFalse(server.ackFrequency.framePending, "no ACK_FREQUENCY to a peer without min_ack_delay")
        XCTAssertFalse(client.peerSupportsAckFrequency, "a disabled side does not send it either")
    }

    func ackFrequencyBytes(seq: UInt64, threshold: UInt64, delayMicros: UInt64, reordering: UInt64) -> [UInt8] {
        let f = AckFrequencyFrame(sequenceNumber: seq, ackElicitingThreshold: threshold, requestedMaxAckDelay: delayMicros,
                                  reorderingThreshold: reordering)
        var buf = [UInt8](repeating: 0, count: 64)
        let n = buf.withUnsafeMutableBytes { b -> Int in
            var w = WireWriter(b)
            try! FrameEncoder.write(.ackFrequency(f), into: &w)
            return w.position
        }
        return Array(buf[0..<n])
    }

    func testPeerAckFrequencyIsAppliedAndOlderSequenceNumbersIgnored() throws {
        let (net, client, server) = try connectedPair()
        client.injectedFrames.append(ackFrequencyBytes(seq: 5, threshold: 20, delayMicros: 4000, reordering: 0))
        net.run(for: 500_000)
        var t = server.recovery.recovery.ackTrackers[.application]
        XCTAssertEqual(t.ackElicitingThreshold, 20)
        XCTAssertEqual(t.maxAckDelay, .milliseconds(4))
        XCTAssertFalse(t.ackImmediatelyOnReordering)
        // Sequence 3 < 5: ignored (draft §5).
        client.injectedFrames.append(ackFrequencyBytes(seq: 3, threshold: 2, delayMicros: 25_000, reordering: 1))
        net.run(for: 500_000)
        t = server.recovery.recovery.ackTrackers[.application]
        XCTAssertEqual(t.ackElicitingThreshold, 20)
        XCTAssertEqual(server.ackFrequency.framesReceived, 2)
        XCTAssertFalse(server.isClosed)
    }

    func testRequestedDelayBelowMinAckDelayIsProtocolViolation() throws {
        let (net, client, server) = try connectedPair()
        client.injectedFrames.append(ackFrequencyBytes(seq: 0, threshold: 4, delayMicros: 999, reordering: 1))
        XCTAssertTrue(net.run(for: 10_000_000) { server.isClosed && client.isClosed })
        XCTAssertEqual(net.server.events(server).transportClose?.errorCode, TransportErrorCode.protocolViolation.rawValue)
    }

    /// draft-ietf-quic-ack-frequency §4: Request Max Ack Delay values of 2^14 ms or more are
    /// invalid (RFC 9000 §18.2's ceiling); 16,383,999 µs is the largest legal one.
    func testRequestedDelayOf2To14MillisecondsIsProtocolViolation() throws {
        let (net, client, server) = try connectedPair()
        client.injectedFrames.append(ackFrequencyBytes(seq: 0, threshold: 4, delayMicros: 16_383_999, reordering: 1))
        _ = net.run(for: 200_000) { false }
        XCTAssertFalse(server.isClosed)
        client.injectedFrames.append(ackFrequencyBytes(seq: 1, threshold: 4, delayMicros: 16_384_000, reordering: 1))
        XCTAssertTrue(net.run(for: 10_000_000) { server.isClosed && client.isClosed })
        XCTAssertEqual(net.server.events(server).transportClose?.errorCode, TransportErrorCode.protocolViolation.rawValue)
    }

    func testAckFrequencyWithoutOurMinAckDelayIsProtocolViolation() throws {
        var sc = SimConfigs.server(); sc.ackFrequencyEnabled = false
        let (net, client, server) = try connectedPair(server: sc)
        client.injectedFrames.append(ackFrequencyBytes(seq: 0, threshold: 4, delayMicros: 25_000, reordering: 1))
        XCTAssertTrue(net.run(for: 10_000_000) { server.isClosed && client.isClosed })
        XCTAssertEqual(net.server.events(server).transportClose?.errorCode, TransportErrorCode.protocolViolation.rawValue)
    }

    func testLostAckFrequencyIsSentAgainAndItsDelayCountsForThePTO() throws {
        let (net, client, server) = try connectedPair()
        client.updatePeerPacketTolerance(41)
        XCTAssertTrue(client.ackFrequency.framePending)
        // Drop the client's next datagram (the one carrying ACK_FREQUENCY).
        var dropped = 0
        net.tap = { toServer, bytes in
            if toServer && dropped == 0 { dropped += 1; return nil }
            return bytes
        }
        net.run(for: 3_000_000)
        XCTAssertEqual(dropped, 1)
        // The loss also brings the tolerance within half the (small) congestion window, which
        // sends a newer ACK_FREQUENCY; either way the peer applies what the client asks now.
        XCTAssertGreaterThanOrEqual(client.ackFrequency.framesSent, 2, "the lost ACK_FREQUENCY was replaced")
        XCTAssertEqual(server.recovery.recovery.ackTrackers[.application].ackElicitingThreshold,
                       client.ackFrequency.peerPacketTolerance)
        XCTAssertTrue(client.ackFrequency.inFlightDelays.isEmpty, "acknowledged")
        XCTAssertEqual(client.recovery.maxAckDelay, .milliseconds(25))
    }

    // MARK: Bulk transfer on the simulated network

    struct BulkResult { var completed: Bool; var dataDatagrams: Int; var ackDatagrams: Int; var lost: UInt64; var virtualTime: QuicDuration }

    /// A 4 MiB upload; counts the datagrams each way after the handshake. The server only
    /// acknowledges (and sends flow control credit), so its datagrams measure the ACK rate.
    /// `dropEvery`: after the first 1,000 client datagrams (decimation in force), every Nth
    /// one is dropped (50: 2% loss).
    func bulkUpload(ackFrequency: Bool, loss: Double = 0, dropEvery: Int = 0, seed: UInt64 = 7,
                    size: Int = 4 * 1024 * 1024) throws -> BulkResult {
        var cc = SimConfigs.client(); cc.ackFrequencyEnabled = ackFrequency
        var sc = SimConfigs.server(); sc.ackFrequencyEnabled = ackFrequency
        cc.maxDatagramSize = 1452; sc.maxDatagramSize = 1452
        var link = SimLink(); link.delay = 2_000
        let (net, client, server) = try connectedPair(client: cc, server: sc, seed: seed, link: link)
        net.link.loss = loss
        var toServer = 0, toClient = 0
        net.tap = { up, bytes in
            if up { toServer += 1 } else { toClient += 1 }
            if up && dropEvery > 0 && toServer > 1000 && toServer % dropEvery == 0 { return nil }
            return bytes
        }
        let id = try client.openStream(bidirectional: false)
        try client.send(stream: id, bytes: [UInt8](repeating: 0x61, count: size), fin: true)
        let sink = StreamSink()
        let start = net.now
        let ok = net.run(for: 300_000_000) {
            sink.pump(server, events: net.server.events(server))
            return sink.fin.contains(id)
        }
        XCTAssertEqual(sink.data[id]?.count ?? 0, ok ? size : sink.data[id]?.count ?? 0)
        return BulkResult(completed: ok, dataDatagrams: toServer, ackDatagrams: toClient, lost: client.counters.lostPackets,
                          virtualTime: net.now - start)
    }

    func testBulkUploadAckRatioWithAndWithoutTheExtension() throws {
        let without = try bulkUpload(ackFrequency: false)
        let with = try bulkUpload(ackFrequency: true)
        XCTAssertTrue(without.completed); XCTAssertTrue(with.completed)
        let ratioWithout = Double(without.dataDatagrams) / Double(max(without.ackDatagrams, 1))
        let ratioWith = Double(with.dataDatagrams) / Double(max(with.ackDatagrams, 1))
        print("ack ratio without ACK_FREQUENCY: \(without.dataDatagrams) data / \(without.ackDatagrams) ack = \(ratioWithout); "
              + "with: \(with.dataDatagrams) / \(with.ackDatagrams) = \(ratioWith)")
        // Counts, not timing: without the extension every second packet is acknowledged
        // (RFC 9000 §13.2.2; a little more where arrivals batch), with it one per ~41 (MsQuic).
        XCTAssertLessThanOrEqual(ratioWithout, 3.5)
        XCTAssertGreaterThan(ratioWith, 20, "MsQuic-like tolerance (41) not reached")
        XCTAssertGreaterThan(ratioWith, 2 * ratioWithout)
    }

    func testBulkUploadWithDecimatedAcksSurvivesTwoPercentLoss() throws {
        let r = try bulkUpload(ackFrequency: true, dropEvery: 50, seed: 11, size: 8 * 1024 * 1024)
        let base = try bulkUpload(ackFrequency: false, dropEvery: 50, seed: 11, size: 8 * 1024 * 1024)
        XCTAssertTrue(r.completed, "the upload did not finish at 2% loss")
        XCTAssertTrue(base.completed)
        XCTAssertGreaterThan(r.lost, 0, "no loss was seen: the test exercised nothing")
        XCTAssertLessThan(r.ackDatagrams * 2, base.ackDatagrams, "ACKs were not decimated under loss")
        print("2% loss with ACK_FREQUENCY: \(r.dataDatagrams) data / \(r.ackDatagrams) ack datagrams, \(r.lost) lost, "
              + "\(r.virtualTime) virtual; without: \(base.dataDatagrams) / \(base.ackDatagrams), \(base.lost) lost, \(base.virtualTime)")
        // Virtual time on the simulated link (deterministic, not a wall-clock figure): fewer
        // ACKs must not make loss recovery markedly slower.
        XCTAssertLessThanOrEqual(r.virtualTime.microseconds, base.virtualTime.microseconds * 5 / 4)
    }
}
