// Steady-state allocation check of the per-packet recovery path (issue 9, item 4): the
// sent-packet ring, ACK tracking, the ACK frame we write, the peer's ACK we process, loss
// detection and congestion control, in CUBIC and BBR. Built by run.sh the way the library
// builds them (QuicWire as its own module, optimised, whole-module), so cross-module generics
// stay unspecialised as they are in libswiftquic.so; malloc calls are counted by
// Fuzz/DecodeBench/count.c, preloaded. Prints the calls per cycle and exits 1 above the limit.
import Glibc
import QuicWire

typealias CountFn = @convention(c) () -> UInt
guard let sym = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "wire_malloc_count") else {
    print("recovery-alloc: the malloc counter is not preloaded (LD_PRELOAD=libcount.so)")
    exit(2)
}
let count = unsafeBitCast(sym, to: CountFn.self)
let limit = CommandLine.arguments.count > 1 ? Double(CommandLine.arguments[1]) ?? 0 : 0
var failed = false

for algorithm in [CongestionControlAlgorithm.cubic, .bbr] {
    let r = LossRecovery(config: RecoveryConfig(isServer: true, congestion: CongestionControlConfig(algorithm: algorithm)))
    r.onHandshakeConfirmed(now: 0)
    var ackBytes = [UInt8](repeating: 0, count: 64)
    var out = [UInt8](repeating: 0, count: 256)
    var peerRanges: [ClosedRange<UInt64>] = [0...0]
    var pn: UInt64 = 0
    var now: QuicInstant = 0

    // Two packets sent and two received, our ACK frame written, the peer's ACK processed.
    func cycle() throws {
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
        // The peer's ACK of both packets (written without allocating: the harness's own
        // work must not count).
        peerRanges[0] = (pn - 2)...(pn - 1)
        let length = try ackBytes.withUnsafeMutableBytes { b -> Int in
            var w = WireWriter(b)
            try FrameEncoder.writeAck(ascending: peerRanges, newest: 1, ackDelay: 10, into: &w)
            return w.position
        }
        try ackBytes.withUnsafeBytes { b in
            let frame = UnsafeRawBufferPointer(rebasing: b[..<length])
            var d = FrameDecoder(frame, packetKind: .oneRTT)
            if case .ack(let f)? = try d.next() {
                try r.onAckReceived(f, source: frame, space: .application, now: now)
            }
        }
        if let t = r.lossDetectionTimer, t <= now { _ = r.onLossDetectionTimeout(now: now) }
    }

    let cycles = 100_000
    for _ in 0..<2_000 { try cycle() }
    let before = count()
    for _ in 0..<cycles { try cycle() }
    let perCycle = Double(count() - before) / Double(cycles)
    let ok = perCycle <= limit && r.bytesInFlight == 0
    if !ok { failed = true }
    print("recovery-alloc \(algorithm): \(perCycle) malloc calls per cycle over \(cycles) cycles (limit \(limit))"
          + (ok ? "" : " FAIL"))
}
exit(failed ? 1 : 0)
