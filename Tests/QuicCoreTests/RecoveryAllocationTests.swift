import XCTest
@testable import QuicCore
import QuicWire
#if canImport(Glibc)
import Glibc
#endif

/// Steady-state allocation check of the per-packet recovery path. Needs the malloc counter
/// of Fuzz/DecodeBench preloaded, so it is skipped in a plain `swift test`. The same check
/// runs in CI as Benchmarks/recovery-alloc/run.sh (scripts/test.sh), which builds the code
/// the way the library does; the test build below fails to link XCTest on this toolchain:
///
///     gcc -O2 -shared -fPIC -o /tmp/libcount.so Fuzz/DecodeBench/count.c
///     swift build -c release -Xswiftc -enable-testing --build-tests
///     LD_PRELOAD=/tmp/libcount.so .build/release/swiftquicPackageTests.xctest \
///         QuicCoreTests.RecoveryAllocationTests
///
/// Debug builds allocate for non-inlined `_modify` coroutine frames, so the check only runs
/// optimized (Sources/QuicCore/Recovery/README.md has the standalone -O figure).
final class RecoveryAllocationTests: XCTestCase {
    typealias CountFn = @convention(c) () -> UInt
    func testSteadyStateDoesNotAllocate() throws {
        guard let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "wire_malloc_count") else {
            throw XCTSkip("malloc counter not preloaded (see the comment above)")
        }
        #if DEBUG
        throw XCTSkip("debug builds allocate coroutine frames; run optimized (see above)")
        #endif
        let count = unsafeBitCast(sym, to: CountFn.self)
        // CUBIC, and BBR (its per-ACK model, delivery-rate stamps and rate-based pacing).
        for algorithm in [CongestionControlAlgorithm.cubic, .bbr] {
            try steadyState(algorithm: algorithm, count: count)
        }
    }

    func steadyState(algorithm: CongestionControlAlgorithm, count: CountFn) throws {
        let r = makeRecovery(algorithm: algorithm)
        var ackBytes = [UInt8](repeating: 0, count: 64)
        var out = [UInt8](repeating: 0, count: 256)
        var peerRanges: [ClosedRange<UInt64>] = [0...0]
        var pn: UInt64 = 0
        var now: QuicInstant = 0

        func cycle() throws {
            // Send two packets, receive two, write an ACK, process the peer's ACK.
            for _ in 0..<2 {
                now += .microseconds(500)
                r.onPacketSent(SentPacket(packetNumber: pn, timeSent: now, size: 1200, ackEliciting: true,
                                          inFlight: true, token: pn), space: .application, now: now)
                r.ackTrackers[.application].onPacketReceived(pn, ackEliciting: true, now: now)
                pn += 1
            }
            _ = r.nextSendTime(bytes: 1200, now: now)
            out.withUnsafeMutableBytes { b in
                var w = WireWriter(b)
                _ = r.ackTrackers[.application].writeAckFrame(now: now, ackDelayExponent: 3, into: &w)
            }
            now += .microseconds(20_000)
            peerRanges[0] = (pn - 2)...(pn - 1)
            let length = try ackBytes.withUnsafeMutableBytes { b -> Int in
                var w = WireWriter(b)
                try FrameEncoder.writeAck(ascending: peerRanges, newest: 1, ackDelay: 10, into: &w)
                return w.position
            }
            try ackBytes.withUnsafeBytes { b in
                var d = FrameDecoder(UnsafeRawBufferPointer(rebasing: b[..<length]), packetKind: .oneRTT)
                if case .ack(let f)? = try d.next() {
                    try r.onAckReceived(f, source: UnsafeRawBufferPointer(rebasing: b[..<length]), space: .application, now: now)
                }
            }
            if let t = r.lossDetectionTimer, t <= now { _ = r.onLossDetectionTimeout(now: now) }
        }

        for _ in 0..<2_000 { try cycle() }
        let before = count()
        for _ in 0..<10_000 { try cycle() }
        let after = count()
        XCTAssertEqual(r.bytesInFlight, 0)
        XCTAssertEqual(after - before, 0, "malloc calls in 10 000 steady-state cycles (\(algorithm))")
    }
}
