import XCTest
@testable import QuicCore
import QuicWire

final class RecoveryPTOTests: XCTestCase {
    // RFC 9002 §6.2.1: PTO = smoothed_rtt + max(4·rttvar, kGranularity) (+ max_ack_delay in the
    // application space), doubled per consecutive PTO (pto_count).
    func testInitialPTOAndBackoff() {
        let r = makeRecovery(confirmed: false)
        r.send(0, space: .initial, at: 0)
        XCTAssertEqual(r.lossDetectionTimer, millis(999))
        XCTAssertEqual(r.onLossDetectionTimeout(now: millis(998)), .none) // not yet due
        XCTAssertEqual(r.onLossDetectionTimeout(now: millis(999)), .probe(.initial, count: 2, antiDeadlock: false))
        XCTAssertEqual(r.ptoCount, 1)
        XCTAssertEqual(r.lossDetectionTimer, millis(2 * 999))
        XCTAssertEqual(r.onLossDetectionTimeout(now: millis(2 * 999)), .probe(.initial, count: 2, antiDeadlock: false))
        XCTAssertEqual(r.ptoCount, 2)
        XCTAssertEqual(r.lossDetectionTimer, millis(4 * 999))
        // PTO does not declare anything lost (§6.2).
        XCTAssertEqual(r.lostPackets.count, 0)
        XCTAssertEqual(r.bytesInFlight, 1200)
    }

    // §6.2.1: the application space's PTO is not armed before the handshake is confirmed,
    // and includes max_ack_delay afterwards.
    func testApplicationPTOWaitsForConfirmation() {
        let r = makeRecovery(confirmed: false)
        r.send(0, at: 0)
        XCTAssertNil(r.lossDetectionTimer)
        r.onHandshakeConfirmed(now: millis(5))
        XCTAssertEqual(r.lossDetectionTimer, millis(999 + 25))
        XCTAssertEqual(r.probeTimeout(.application), millis(999 + 25))
        XCTAssertEqual(r.probeTimeout(.handshake), millis(999))
    }

    // §6.2.1: with ack-eliciting packets in several spaces the earliest PTO wins, and the
    // application space is skipped until confirmation.
    func testEarliestSpaceWins() {
        let r = makeRecovery(confirmed: false)
        r.send(0, space: .initial, at: millis(10))
        r.send(0, space: .handshake, at: millis(5))
        r.send(0, space: .application, at: 0)
        XCTAssertEqual(r.lossDetectionTimer, millis(5 + 999))
        XCTAssertEqual(r.onLossDetectionTimeout(now: millis(5 + 999)), .probe(.handshake, count: 2, antiDeadlock: false))
    }

    // After an RTT sample: PTO = 100 + 4·50 = 300 ms, + 25 ms for application; backoff doubles
    // max_ack_delay too (Appendix A.8).
    func testPTOAfterSample() throws {
        let r = makeRecovery()
        r.send(0, at: 0)
        try r.ack([0...0], now: millis(100))
        XCTAssertNil(r.lossDetectionTimer) // server: nothing in flight
        r.send(1, at: millis(200))
        XCTAssertEqual(r.lossDetectionTimer, millis(200 + 300 + 25))
        _ = r.onLossDetectionTimeout(now: millis(525))
        XCTAssertEqual(r.lossDetectionTimer, millis(200 + 600 + 50))
        // An ACK resets the backoff (§6.2.1) at a server.
        r.send(2, at: millis(900))
        try r.ack([2...2], now: millis(1000))
        XCTAssertEqual(r.ptoCount, 0)
    }

    // §6.2.2.1: a client with nothing in flight that has not seen its address validated arms
    // the PTO from now, probing with Initial (no Handshake keys) then Handshake.
    func testClientAntiDeadlock() throws {
        let r = makeRecovery(server: false, confirmed: false)
        r.send(0, space: .initial, at: 0)
        try r.ack([0...0], space: .initial, now: millis(100))
        XCTAssertEqual(r.bytesInFlight, 0)
        // 100 ms sample: PTO 300 ms from the ACK's arrival.
        XCTAssertEqual(r.lossDetectionTimer, millis(400))
        XCTAssertEqual(r.onLossDetectionTimeout(now: millis(400)), .probe(.initial, count: 1, antiDeadlock: true))
        XCTAssertEqual(r.ptoCount, 1)
        XCTAssertEqual(r.lossDetectionTimer, millis(1000))
        r.onHandshakeKeysAvailable(now: millis(500))
        XCTAssertEqual(r.lossDetectionTimer, millis(1100))
        XCTAssertEqual(r.onLossDetectionTimeout(now: millis(1100)), .probe(.handshake, count: 1, antiDeadlock: true))
        // Once a Handshake ACK arrives, the server validated the client: timer off when idle.
        r.send(0, space: .handshake, at: millis(1100))
        try r.ack([0...0], space: .handshake, now: millis(1200))
        XCTAssertTrue(r.peerCompletedAddressValidation)
        XCTAssertEqual(r.ptoCount, 0)
        XCTAssertNil(r.lossDetectionTimer)
    }

    // A client whose Initial was acknowledged but has 0-RTT packets in flight (whose PTO waits
    // for confirmation) still keeps the anti-deadlock timer (§6.2.2.1).
    func testClientAntiDeadlockWithZeroRTTInFlight() throws {
        let r = makeRecovery(server: false, confirmed: false)
        r.send(0, space: .initial, at: 0)
        r.send(0, space: .application, at: 1)
        try r.ack([0...0], space: .initial, now: millis(100))
        XCTAssertTrue(r.hasAckElicitingInFlight(.application))
        XCTAssertEqual(r.lossDetectionTimer, millis(400))
        XCTAssertEqual(r.onLossDetectionTimeout(now: millis(400)), .probe(.initial, count: 1, antiDeadlock: true))
    }

    // §6.2.1: a client does not reset pto_count on an Initial ACK before address validation.
    func testClientKeepsBackoffUntilValidated() throws {
        let r = makeRecovery(server: false, confirmed: false)
        r.send(0, space: .initial, at: 0)
        _ = r.onLossDetectionTimeout(now: millis(999))
        XCTAssertEqual(r.ptoCount, 1)
        r.send(1, space: .initial, at: millis(999))
        try r.ack([1...1], space: .initial, now: millis(1100))
        XCTAssertEqual(r.ptoCount, 1)
        r.onHandshakeKeysAvailable(now: millis(1100))
        r.send(0, space: .handshake, at: millis(1100))
        try r.ack([0...0], space: .handshake, now: millis(1200))
        XCTAssertEqual(r.ptoCount, 0)
    }

    // A server with nothing in flight has no timer; at the amplification limit it has none
    // either (§6.2.2.1).
    func testServerTimerRules() {
        let r = makeRecovery(server: true, confirmed: false)
        XCTAssertNil(r.lossDetectionTimer)
        r.send(0, space: .initial, at: 0)
        XCTAssertNotNil(r.lossDetectionTimer)
        r.setAmplificationLimited(true, now: 1)
        XCTAssertNil(r.lossDetectionTimer)
        XCTAssertEqual(r.onLossDetectionTimeout(now: millis(5000)), .none)
        r.setAmplificationLimited(false, now: 2)
        XCTAssertEqual(r.lossDetectionTimer, millis(999))
    }

    // RFC 9002 §6.4: discarding a space removes its packets from bytes in flight without
    // declaring them lost, resets its timers and pto_count, and clears its ACK state.
    func testDiscardSpace() {
        let r = makeRecovery(server: false, confirmed: false)
        r.send(0, space: .initial, at: 0)
        r.send(1, space: .initial, at: millis(1))
        r.onHandshakeKeysAvailable(now: millis(2))
        r.send(0, space: .handshake, at: millis(2))
        r.ackTrackers[.initial].onPacketReceived(0, ackEliciting: true, now: 0)
        _ = r.onLossDetectionTimeout(now: millis(1000))
        XCTAssertEqual(r.ptoCount, 1)
        XCTAssertEqual(r.bytesInFlight, 3600)
        r.discardSpace(.initial, now: millis(1001))
        XCTAssertEqual(r.discardedPackets.map(\.packetNumber), [0, 1])
        XCTAssertEqual(r.bytesInFlight, 1200)
        XCTAssertEqual(r.ptoCount, 0)
        XCTAssertFalse(r.hasAckElicitingInFlight(.initial))
        XCTAssertNil(r.ackTrackers[.initial].ackDeadline)
        XCTAssertTrue(r.ackTrackers[.initial].received.isEmpty)
        XCTAssertEqual(r.lossDetectionTimer, millis(2 + 999))
        XCTAssertEqual(r.congestion.congestionEventCount, 0)
    }

    // RFC 9002 §6.2.1: the PTO timer is not used while a time-threshold loss timer is set.
    func testLossTimerTakesPrecedence() throws {
        let r = makeRecovery()
        r.send(0, at: 0)
        r.send(1, at: millis(1))
        try r.ack([1...1], now: millis(101))
        // Packet 0 waits for the time threshold: 9/8 · 100 ms after it was sent.
        XCTAssertEqual(r.lossDetectionTimer, millis(112.5))
    }
}

final class RecoveryRetryAndZeroRTTTests: XCTestCase {
    // RFC 9002 §6.3: Retry resets loss recovery and congestion control; the Initial packets
    // leave the flight as discarded, and an RTT sample may be taken.
    func testRetry() throws {
        let r = makeRecovery(server: false, confirmed: false)
        r.send(0, space: .initial, at: 0)
        _ = r.onLossDetectionTimeout(now: millis(999))
        r.send(1, space: .initial, at: millis(999))
        r.onRetryReceived(firstInitialSentTime: 0, now: millis(1050))
        XCTAssertEqual(r.discardedPackets.map(\.packetNumber), [0, 1])
        XCTAssertEqual(r.bytesInFlight, 0)
        XCTAssertEqual(r.ptoCount, 0)
        XCTAssertEqual(r.rtt.smoothedRTT, millis(1050))
        XCTAssertEqual(r.congestionWindow, r.congestion.initialWindow)
        // Packet numbers continue after a Retry.
        XCTAssertFalse(r.send(1, space: .initial, at: millis(1051)))
        XCTAssertTrue(r.send(2, space: .initial, at: millis(1051)))
    }

    // RFC 9002 §6.4: rejected 0-RTT packets are removed from bytes in flight.
    func testZeroRTTRejected() {
        let r = makeRecovery(server: false, confirmed: false)
        r.send(0, space: .initial, at: 0)
        r.send(0, space: .application, at: 1)
        r.send(1, space: .application, at: 2)
        var seen: [UInt64] = []
        r.forEachOutstanding(.application) { seen.append($0.packetNumber) }
        XCTAssertEqual(seen, [0, 1])
        r.discardOutstanding(.application, now: 3)
        XCTAssertEqual(r.discardedPackets.count, 2)
        XCTAssertEqual(r.bytesInFlight, 1200)
        XCTAssertEqual(r.outstandingCount(.application), 0)
        XCTAssertEqual(r.currentPTO, millis(999 + 25))
    }
}
