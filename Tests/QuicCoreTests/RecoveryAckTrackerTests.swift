import XCTest
@testable import QuicCore
import QuicWire

final class RecoveryAckTrackerTests: XCTestCase {
    // Ranges merge in every order and duplicates are detected (RFC 9000 §12.3).
    func testRangesAndDuplicates() {
        var r = ReceivedPacketRanges(maxRanges: 8)
        for pn: UInt64 in [0, 1, 2, 5, 7, 6, 10, 4] { XCTAssertTrue(r.insert(pn)) }
        XCTAssertEqual(r.ranges, [0...2, 4...7, 10...10])
        XCTAssertFalse(r.insert(6))
        XCTAssertTrue(r.contains(0))
        XCTAssertFalse(r.contains(3))
        XCTAssertFalse(r.contains(11))
        XCTAssertTrue(r.insert(3))
        XCTAssertEqual(r.ranges, [0...7, 10...10])
        XCTAssertTrue(r.insert(9))
        XCTAssertTrue(r.insert(8))
        XCTAssertEqual(r.ranges, [0...10])
    }

    // The range count is bounded: the oldest ranges go, and what they covered counts as seen.
    func testBoundedRanges() {
        var r = ReceivedPacketRanges(maxRanges: 3)
        for pn: UInt64 in [0, 2, 4, 6, 8] { r.insert(pn) }
        XCTAssertEqual(r.ranges, [4...4, 6...6, 8...8])
        XCTAssertEqual(r.floor, 3)
        XCTAssertTrue(r.contains(1)) // forgotten: treated as a duplicate
        XCTAssertFalse(r.insert(1))
        XCTAssertFalse(r.contains(5))
    }

    // RFC 9000 §13.2.4: forgetting up to an acknowledged ACK's Largest Acknowledged.
    func testForget() {
        var r = ReceivedPacketRanges()
        for pn: UInt64 in [0, 1, 2, 5, 6, 9] { r.insert(pn) }
        r.forget(through: 5)
        XCTAssertEqual(r.ranges, [6...6, 9...9])
        XCTAssertTrue(r.contains(3))
        XCTAssertFalse(r.contains(7))
    }

    // RFC 9000 §13.2.1: ack-eliciting Initial and Handshake packets are acknowledged at once.
    func testHandshakeSpacesImmediate() {
        for space in [PacketNumberSpace.initial, .handshake] {
            var t = AckTracker(space: space)
            t.onPacketReceived(0, ackEliciting: true, now: 1000)
            XCTAssertEqual(t.ackDeadline, 1000)
            XCTAssertTrue(t.isAckDue(now: 1000))
        }
    }

    // §13.2.1/§13.2.2: application data: within max_ack_delay, or at the second ack-eliciting
    // packet; non-ack-eliciting packets alone never make an ACK due.
    func testApplicationDelayAndThreshold() {
        var t = AckTracker(space: .application)
        t.onPacketReceived(0, ackEliciting: false, now: 0)
        XCTAssertNil(t.ackDeadline)
        XCTAssertTrue(t.hasUnacknowledged)
        t.onPacketReceived(1, ackEliciting: true, now: 100)
        XCTAssertEqual(t.ackDeadline, 25_100)
        XCTAssertFalse(t.isAckDue(now: 25_099))
        XCTAssertTrue(t.isAckDue(now: 25_100))
        t.onPacketReceived(2, ackEliciting: true, now: 200)
        XCTAssertEqual(t.ackDeadline, 100)
        // Settable threshold (ACK_FREQUENCY).
        var f = AckTracker(space: .application)
        f.ackElicitingThreshold = 4
        f.maxAckDelay = .microseconds(5_000)
        for pn in UInt64(0)..<3 { f.onPacketReceived(pn, ackEliciting: true, now: 10) }
        XCTAssertEqual(f.ackDeadline, 5_010)
        f.onPacketReceived(3, ackEliciting: true, now: 20)
        XCTAssertEqual(f.ackDeadline, 10)
    }

    // §13.2.1: out-of-order ack-eliciting packets are acknowledged immediately, both a gap
    // above the largest and a packet below it; the behaviour can be switched off.
    func testReorderingTriggersImmediateAck() {
        var t = AckTracker(space: .application)
        t.onPacketReceived(0, ackEliciting: true, now: 0)
        t.onAckSent()
        t.onPacketReceived(2, ackEliciting: true, now: 10)
        XCTAssertTrue(t.ackImmediately)
        t.onAckSent()
        t.onPacketReceived(1, ackEliciting: true, now: 20)
        XCTAssertTrue(t.ackImmediately)
        t.onAckSent()
        t.onPacketReceived(3, ackEliciting: true, now: 30) // in order, no gap
        XCTAssertFalse(t.ackImmediately)

        var off = AckTracker(space: .application)
        off.ackImmediatelyOnReordering = false
        off.onPacketReceived(0, ackEliciting: true, now: 0)
        off.onAckSent()
        off.onPacketReceived(5, ackEliciting: true, now: 10)
        XCTAssertFalse(off.ackImmediately)
    }

    // §13.2.1: CE-marked packets are acknowledged immediately; ECN counts are kept (§13.4.1).
    func testCEImmediateAndCounts() {
        var t = AckTracker(space: .application)
        t.onPacketReceived(0, ackEliciting: true, ecn: .ect0, now: 0)
        XCTAssertFalse(t.ackImmediately)
        t.onAckSent()
        t.onPacketReceived(1, ackEliciting: true, ecn: .ce, now: 1)
        XCTAssertTrue(t.ackImmediately)
        t.onPacketReceived(2, ackEliciting: false, ecn: .ect1, now: 2)
        XCTAssertEqual(t.ecnCounts, ECNCounts(ect0: 1, ect1: 1, ce: 1))
        // A duplicate is not counted.
        XCTAssertFalse(t.onPacketReceived(2, ackEliciting: false, ecn: .ect1, now: 3))
        XCTAssertEqual(t.ecnCounts, ECNCounts(ect0: 1, ect1: 1, ce: 1))
        XCTAssertEqual(ECNCodepoint(tos: 0xb9), .ect1)
        XCTAssertEqual(ECNCodepoint(tos: 0x03), .ce)
    }

    // IMMEDIATE_ACK (draft-ietf-quic-ack-frequency).
    func testImmediateAckRequest() {
        var t = AckTracker(space: .application)
        t.onPacketReceived(0, ackEliciting: true, now: 0)
        t.requestImmediateAck()
        XCTAssertEqual(t.ackDeadline, 0)
    }

    func decode(_ bytes: [UInt8]) throws -> (AckFrame, [ClosedRange<UInt64>]) {
        try bytes.withUnsafeBytes { buf in
            var d = FrameDecoder(buf, packetKind: .oneRTT)
            guard case .ack(let f)? = try d.next() else { throw QuicError.protocolViolation(nil, "no ACK") }
            return (f, Array(f.ranges(in: buf)))
        }
    }

    // The ACK frame carries the ranges largest first and the delay scaled by the exponent
    // (RFC 9000 §19.3, §13.2.5); sending it clears the due state.
    func testWriteAckFrame() throws {
        var t = AckTracker(space: .application)
        for pn: UInt64 in [0, 1, 2, 5, 6, 9] { t.onPacketReceived(pn, ackEliciting: true, now: 1_000) }
        var buf = [UInt8](repeating: 0, count: 100)
        let (largest, length) = buf.withUnsafeMutableBytes { b -> (UInt64?, Int) in
            var w = WireWriter(b)
            let l = t.writeAckFrame(now: 9_000, ackDelayExponent: 3, into: &w)
            return (l, w.position)
        }
        XCTAssertEqual(largest, 9)
        let (frame, ranges) = try decode(Array(buf[..<length]))
        XCTAssertEqual(ranges, [9...9, 5...6, 0...2])
        XCTAssertEqual(frame.ackDelay, 1_000) // 8 ms >> 3
        XCTAssertNil(frame.ecn)
        XCTAssertNil(t.ackDeadline)
        XCTAssertFalse(t.hasUnacknowledged)
    }

    // ECN counts turn the frame into ACK_ECN; too little room drops the oldest ranges; no room
    // for even one range writes nothing.
    func testWriteAckFrameECNAndRoom() throws {
        var t = AckTracker(space: .application)
        for pn in stride(from: UInt64(0), through: 40, by: 2) {
            t.onPacketReceived(pn, ackEliciting: true, ecn: .ect0, now: 0)
        }
        XCTAssertEqual(t.received.ranges.count, 21)
        var buf = [UInt8](repeating: 0, count: 20)
        let length = buf.withUnsafeMutableBytes { b -> Int in
            var w = WireWriter(b)
            XCTAssertEqual(t.writeAckFrame(now: 0, ackDelayExponent: 3, into: &w), 40)
            return w.position
        }
        XCTAssertLessThanOrEqual(length, 20)
        let (frame, ranges) = try decode(Array(buf[..<length]))
        XCTAssertEqual(frame.ecn, ECNCounts(ect0: 21, ect1: 0, ce: 0))
        XCTAssertEqual(ranges.first, 40...40)
        XCTAssertLessThan(ranges.count, 21)
        var expected: [ClosedRange<UInt64>] = []
        for i in 0..<ranges.count {
            let pn = UInt64(40 - 2 * i)
            expected.append(pn...pn)
        }
        XCTAssertEqual(ranges, expected)

        var tiny = [UInt8](repeating: 0, count: 3)
        tiny.withUnsafeMutableBytes { b in
            var w = WireWriter(b)
            XCTAssertNil(t.writeAckFrame(now: 0, ackDelayExponent: 3, into: &w))
            XCTAssertEqual(w.position, 0)
        }
    }

    // Every range list fits exactly as measured: encode with room = measured length.
    func testRangesThatFitIsExact() throws {
        var t = AckTracker(space: .application)
        for pn in stride(from: UInt64(0), through: 2000, by: 7) { t.onPacketReceived(pn, ackEliciting: true, now: 0) }
        for room in [4, 8, 16, 33, 64, 200] {
            let n = AckTracker.rangesThatFit(t.received.ranges, ackDelay: 0, ecn: nil, room: room)
            var buf = [UInt8](repeating: 0, count: room)
            var copy = t
            buf.withUnsafeMutableBytes { b in
                var w = WireWriter(b)
                let l = copy.writeAckFrame(now: 0, ackDelayExponent: 3, into: &w)
                XCTAssertEqual(l != nil, n > 0, "room \(room)")
            }
            if n > 0 && n < t.received.ranges.count {
                // One more range must not fit.
                var big = [UInt8](repeating: 0, count: 4096)
                let full = big.withUnsafeMutableBytes { b -> Int in
                    var w = WireWriter(b)
                    let slice = t.received.ranges[(t.received.ranges.count - n - 1)...].reversed()
                    try? FrameEncoder.writeAck(ranges: slice, ackDelay: 0, into: &w)
                    return w.position
                }
                XCTAssertGreaterThan(full, room, "room \(room)")
            }
        }
    }
}
