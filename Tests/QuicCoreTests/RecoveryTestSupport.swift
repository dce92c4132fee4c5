import XCTest
@testable import QuicCore
import QuicWire

/// Milliseconds in the µs time base, as an instant, a duration or a raw count (from context).
func millis<T: MicrosecondCount>(_ v: Double) -> T { T(micros: UInt64(v * 1000)) }

/// A raw µs count as an instant (tests that compute times as integers).
func us(_ v: UInt64) -> QuicInstant { QuicInstant(microseconds: v) }

protocol MicrosecondCount { init(micros: UInt64) }
extension UInt64: MicrosecondCount { init(micros: UInt64) { self = micros } }
extension QuicInstant: MicrosecondCount { init(micros: UInt64) { self.init(microseconds: micros) } }
extension QuicDuration: MicrosecondCount { init(micros: UInt64) { self.init(microseconds: micros) } }

/// Encodes an ACK frame for `ranges` (largest first), decodes it back and hands the decoded
/// frame with its source buffer to `body`.
func withDecodedAck<T>(_ ranges: [ClosedRange<UInt64>], ackDelay: UInt64 = 0, ecn: ECNCounts? = nil,
                       _ body: (AckFrame, UnsafeRawBufferPointer) throws -> T) throws -> T {
    var bytes = [UInt8](repeating: 0, count: 4096)
    let length = try bytes.withUnsafeMutableBytes { buf -> Int in
        var w = WireWriter(buf)
        try FrameEncoder.writeAck(ranges: ranges, ackDelay: ackDelay, ecn: ecn, into: &w)
        return w.position
    }
    let encoded = Array(bytes[..<length])
    return try encoded.withUnsafeBytes { buf -> T in
        var d = FrameDecoder(buf, packetKind: .oneRTT)
        guard case .ack(let frame)? = try d.next() else {
            XCTFail("not an ACK frame")
            throw QuicError.protocolViolation(nil, "test")
        }
        return try body(frame, buf)
    }
}

extension LossRecovery {
    /// Processes an ACK for `ranges` (largest first).
    @discardableResult
    func ack(_ ranges: [ClosedRange<UInt64>], space: PacketNumberSpace = .application, ackDelay: UInt64 = 0,
             ecn: ECNCounts? = nil, now: QuicInstant) throws -> AckOutcome {
        try withDecodedAck(ranges, ackDelay: ackDelay, ecn: ecn) { frame, source in
            try self.onAckReceived(frame, source: source, space: space, now: now)
        }
    }

    @discardableResult
    func send(_ pn: UInt64, space: PacketNumberSpace = .application, at t: QuicInstant, size: UInt32 = 1200,
              ackEliciting: Bool = true, inFlight: Bool = true, ecn: Bool = false,
              carryingAck: UInt64? = nil) -> Bool {
        onPacketSent(SentPacket(packetNumber: pn, timeSent: t, size: size, ackEliciting: ackEliciting,
                                inFlight: inFlight, ecnMarked: ecn, largestAckCarried: carryingAck,
                                token: pn &* 10 &+ UInt64(space.rawValue)),
                     space: space, now: t)
    }
}

func makeRecovery(server: Bool = true, algorithm: CongestionControlAlgorithm = .newReno,
                  confirmed: Bool = true) -> LossRecovery {
    let r = LossRecovery(config: RecoveryConfig(
        isServer: server, congestion: CongestionControlConfig(algorithm: algorithm)))
    if confirmed { r.onHandshakeConfirmed(now: 0) }
    return r
}
