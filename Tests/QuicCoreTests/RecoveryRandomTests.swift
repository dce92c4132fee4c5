import XCTest
@testable import QuicCore
import QuicWire

/// Deterministic generator (RecoveryTestRNG) so failures reproduce.
struct RecoveryTestRNG: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

final class RecoveryRandomTests: XCTestCase {
    struct Model {
        var outstanding = PerSpace<[UInt64: SentPacket]>(repeating: [:])
        var next = PerSpace<UInt64>(repeating: 0)
        var discarded = PerSpace<Bool>(repeating: false)
    }

    /// Random sends, ACKs (valid, duplicate, overlapping, bogus), timeouts, discards and state
    /// changes never trap, report every packet exactly once, and keep bytes in flight equal to
    /// the sum over outstanding in-flight packets.
    func testRandomSequencesKeepAccountingConsistent() throws {
        for seed in UInt64(1)...40 {
            try runRandom(seed: seed, algorithm: seed % 2 == 0 ? .cubic : .newReno, server: seed % 3 != 0)
        }
        // The runs exercised every outcome.
        XCTAssertGreaterThan(totals["acked"] ?? 0, 1000)
        XCTAssertGreaterThan(totals["lost"] ?? 0, 100)
        XCTAssertGreaterThan(totals["lost on timer"] ?? 0, 10)
        XCTAssertGreaterThan(totals["discarded"] ?? 0, 10)
        XCTAssertGreaterThan(totals["probe"] ?? 0, 10)
    }

    /// The same random sequences with BBR (Bbr.swift): its per-ACK model update, loss events
    /// and persistent congestion keep the same accounting and never trap.
    func testRandomSequencesWithBBR() throws {
        for seed in UInt64(41)...60 {
            try runRandom(seed: seed, algorithm: .bbr, server: seed % 3 != 0)
        }
        XCTAssertGreaterThan(totals["acked"] ?? 0, 500)
        XCTAssertGreaterThan(totals["lost"] ?? 0, 50)
    }

    var totals: [String: Int] = [:]

    func runRandom(seed: UInt64, algorithm: CongestionControlAlgorithm, server: Bool) throws {
        var rng = RecoveryTestRNG(state: seed)
        let r = makeRecovery(server: server, algorithm: algorithm, confirmed: false)
        var m = Model()
        var now: QuicInstant = 1_000

        func absorb(_ list: [SentPacket], space: PacketNumberSpace, what: String) {
            var previous: UInt64?
            totals[what, default: 0] += list.count
            for p in list {
                XCTAssertNotNil(m.outstanding[space].removeValue(forKey: p.packetNumber),
                                "seed \(seed): \(what) pn \(p.packetNumber) in \(space) not outstanding")
                if let q = previous { XCTAssertLessThan(q, p.packetNumber, "seed \(seed): \(what) order") }
                previous = p.packetNumber
            }
        }

        func check(_ step: Int) {
            var bytes: UInt64 = 0
            for s in PacketNumberSpace.allCases {
                XCTAssertEqual(r.outstandingCount(s), m.outstanding[s].count, "seed \(seed) step \(step) \(s)")
                for p in m.outstanding[s].values where p.inFlight { bytes += UInt64(p.size) }
                let eliciting = m.outstanding[s].values.contains { $0.inFlight && $0.ackEliciting }
                XCTAssertEqual(r.hasAckElicitingInFlight(s), eliciting, "seed \(seed) step \(step) \(s)")
            }
            XCTAssertEqual(r.bytesInFlight, bytes, "seed \(seed) step \(step)")
            XCTAssertGreaterThanOrEqual(r.congestionWindow, r.congestion.minimumWindow)
            let handshakeEliciting = r.hasAckElicitingInFlight(.initial) || r.hasAckElicitingInFlight(.handshake)
            if handshakeEliciting && !r.amplificationLimited {
                XCTAssertNotNil(r.lossDetectionTimer, "seed \(seed) step \(step): PTO must be armed")
            }
        }

        for step in 0..<600 {
            now += .microseconds(UInt64.random(in: 0...30_000, using: &rng))
            let live = PacketNumberSpace.allCases.filter { !m.discarded[$0] }
            let space = live.randomElement(using: &rng)!
            switch UInt64.random(in: 0..<100, using: &rng) {
            case 0..<45:
                // Send, sometimes skipping a packet number.
                let pn = m.next[space] + (UInt64.random(in: 0..<10, using: &rng) == 0 ? 1 : 0)
                let eliciting = UInt64.random(in: 0..<5, using: &rng) != 0
                let p = SentPacket(packetNumber: pn, timeSent: now, size: UInt32.random(in: 20...1452, using: &rng),
                                   ackEliciting: eliciting, inFlight: eliciting || Bool.random(using: &rng),
                                   ecnMarked: Bool.random(using: &rng), token: pn)
                XCTAssertTrue(r.onPacketSent(p, space: space, now: now))
                m.outstanding[space][pn] = p
                m.next[space] = pn + 1
            case 45..<80:
                // ACK random ranges within what was sent (some already acked or lost).
                guard m.next[space] > 0 else { break }
                var ranges: [ClosedRange<UInt64>] = []
                var hi = UInt64.random(in: 0..<m.next[space], using: &rng)
                for _ in 0..<Int.random(in: 1...5, using: &rng) {
                    let lo = hi - UInt64.random(in: 0...min(hi, 6), using: &rng)
                    ranges.append(lo...hi)
                    guard lo >= 2 + 1 else { break }
                    hi = lo - 2 - UInt64.random(in: 0...min(lo - 2, 4), using: &rng)
                }
                let ecn: ECNCounts? = Bool.random(using: &rng)
                    ? ECNCounts(ect0: UInt64.random(in: 0...50, using: &rng), ect1: 0, ce: UInt64.random(in: 0...5, using: &rng))
                    : nil
                try r.ack(ranges, space: space, ackDelay: UInt64.random(in: 0...10_000, using: &rng), ecn: ecn, now: now)
                absorb(r.ackedPackets, space: space, what: "acked")
                absorb(r.lostPackets, space: space, what: "lost")
            case 80..<84:
                // An ACK of a packet number never sent is refused and changes nothing.
                let before = r.bytesInFlight
                XCTAssertThrowsError(try r.ack([(m.next[space] + 3)...(m.next[space] + 3)], space: space, now: now))
                XCTAssertEqual(r.bytesInFlight, before)
            case 84..<94:
                // Let the loss detection timer fire.
                if let t = r.lossDetectionTimer {
                    now = max(now, t)
                    switch r.onLossDetectionTimeout(now: now) {
                    case .packetsLost(let s): absorb(r.lostPackets, space: s, what: "lost on timer")
                    case .probe:
                        totals["probe", default: 0] += 1
                        XCTAssertTrue(r.lostPackets.isEmpty)
                    case .none: XCTAssertTrue(r.lostPackets.isEmpty)
                    }
                }
            case 94..<96:
                if !r.handshakeConfirmed && step > 100 {
                    r.onHandshakeConfirmed(now: now)
                } else if !r.hasHandshakeKeys {
                    r.onHandshakeKeysAvailable(now: now)
                }
            case 96..<98:
                if server { r.setAmplificationLimited(Bool.random(using: &rng), now: now) }
            default:
                // Discard Initial, later Handshake (RFC 9002 §6.4).
                let target: PacketNumberSpace = m.discarded.initial ? .handshake : .initial
                if step > 200 && !m.discarded[target] {
                    r.discardSpace(target, now: now)
                    absorb(r.discardedPackets, space: target, what: "discarded")
                    XCTAssertTrue(m.outstanding[target].isEmpty)
                    m.discarded[target] = true
                }
            }
            check(step)
        }
        // Acknowledge everything still outstanding: the flight drains to zero.
        for s in PacketNumberSpace.allCases where !m.discarded[s] && m.next[s] > 0 {
            now += .microseconds(1_000)
            try r.ack([0...(m.next[s] - 1)], space: s, now: now)
            absorb(r.ackedPackets, space: s, what: "final ack")
            absorb(r.lostPackets, space: s, what: "final lost")
        }
        check(-1)
        XCTAssertEqual(r.bytesInFlight, 0, "seed \(seed)")
    }

    /// Random arrival orders with duplicates: the tracker's ranges stay sorted, disjoint,
    /// non-adjacent and bounded, agree with a model set above the forgotten floor, and the ACK
    /// frame it writes decodes to its newest ranges.
    func testRandomReceiveOrders() throws {
        for seed in UInt64(1)...30 {
            var rng = RecoveryTestRNG(state: seed &* 7919)
            var t = AckTracker(space: .application, maxRanges: Int.random(in: 2...20, using: &rng))
            var seen = Set<UInt64>()
            var now: QuicInstant = 0
            for _ in 0..<400 {
                now += .microseconds(UInt64.random(in: 0...2_000, using: &rng))
                let pn = UInt64.random(in: 0...300, using: &rng)
                let fresh = t.onPacketReceived(pn, ackEliciting: Bool.random(using: &rng), now: now)
                if fresh { XCTAssertFalse(seen.contains(pn)); seen.insert(pn) }
                let ranges = t.received.ranges
                XCTAssertLessThanOrEqual(ranges.count, t.received.maxRanges)
                for i in 1..<max(ranges.count, 1) where ranges.count > 1 {
                    XCTAssertGreaterThan(ranges[i].lowerBound, ranges[i - 1].upperBound + 1)
                }
                for x in UInt64(0)...300 where x >= t.received.floor {
                    XCTAssertEqual(t.isDuplicate(x), seen.contains(x), "seed \(seed) pn \(x)")
                }
                if Int.random(in: 0..<20, using: &rng) == 0 {
                    var buf = [UInt8](repeating: 0, count: Int.random(in: 2...200, using: &rng))
                    let expected = t.received.ranges
                    let length = buf.withUnsafeMutableBytes { b -> Int in
                        var w = WireWriter(b)
                        _ = t.writeAckFrame(now: now, ackDelayExponent: 3, into: &w)
                        return w.position
                    }
                    if length > 0 {
                        let decoded: [ClosedRange<UInt64>] = try Array(buf[..<length]).withUnsafeBytes { b in
                            var d = FrameDecoder(b, packetKind: .oneRTT)
                            guard case .ack(let f)? = try d.next() else { return [] }
                            return Array(f.ranges(in: b))
                        }
                        XCTAssertFalse(decoded.isEmpty)
                        XCTAssertEqual(decoded, Array(expected.reversed().prefix(decoded.count)))
                    }
                }
            }
        }
    }
}
