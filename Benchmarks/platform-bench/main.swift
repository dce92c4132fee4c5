// Loopback UDP throughput through QuicPlatform: one sending thread blasting 1200-byte
// datagrams (sendmmsg, with and without GSO) at a socket on a worker (recvmmsg, with and
// without GRO). Prints received datagrams/s and Gbit/s; no pacing, so what the receiver could
// not keep up with is dropped by the kernel and shows as loss.
// Usage: platform-bench [seconds-per-case]   (default 1)
import Glibc
import QuicPlatform
import Synchronization

final class Counter: UDPSocketHandler, @unchecked Sendable {
    let datagrams = Atomic<Int>(0)
    let bytes = Atomic<Int>(0)
    func receive(_ batch: ReceivedDatagrams, on socket: UDPSocket) {
        var n = 0, b = 0
        for d in batch { n += 1; b += d.payload.count }
        datagrams.wrappingAdd(n, ordering: .relaxed)
        bytes.wrappingAdd(b, ordering: .relaxed)
    }
}

let seconds = CommandLine.arguments.count > 1 ? Double(CommandLine.arguments[1]) ?? 1 : 1
let datagramSize = 1200
let segmentsPerBuffer = 16

func run(gso: Bool, gro: Bool, worker: Worker) throws {
    var rcv = UDPSocketOptions()
    rcv.useGRO = gro
    rcv.kernelReceiveBufferSize = 8 << 20
    let receiver = try UDPSocket(bindingTo: .loopbackIPv4(), options: rcv)
    let counter = Counter()
    try worker.add(receiver, handler: counter)
    var snd = UDPSocketOptions()
    snd.useGSO = gso
    snd.kernelSendBufferSize = 8 << 20
    snd.sendBufferSize = datagramSize * segmentsPerBuffer
    let sender = try UDPSocket(bindingTo: .loopbackIPv4(), options: snd)
    let target = receiver.localAddress
    let start = MonotonicClock.now()
    let end = start + UInt64(seconds * 1_000_000)
    var sent = 0
    while MonotonicClock.now() < end {
        while let buffer = sender.reserveSendBuffer() {
            // Distinct bytes per datagram are not needed for throughput; fill once per buffer.
            buffer.baseAddress!.initializeMemory(as: UInt8.self, repeating: UInt8(truncatingIfNeeded: sent), count: datagramSize * segmentsPerBuffer)
            sender.commitSend(length: datagramSize * segmentsPerBuffer, to: target, segmentSize: datagramSize)
        }
        if try !sender.flush() {
            var pfd = pollfd(fd: sender.fileDescriptor, events: Int16(POLLOUT), revents: 0)
            _ = poll(&pfd, 1, 10)
        }
    }
    sent = sender.statistics.sentDatagrams
    usleep(100_000)  // let the worker drain what is in flight
    let elapsed = Double(MonotonicClock.now() - start - 100_000) / 1e6
    let got = counter.datagrams.load(ordering: .relaxed)
    let bytes = counter.bytes.load(ordering: .relaxed)
    try worker.runAndWait { worker.remove(receiver) }
    func fmt(_ x: Double) -> String {
        let v = Int((x * 100).rounded())
        return "\(v / 100).\(v % 100 < 10 ? "0" : "")\(v % 100)"
    }
    print("gso=\(sender.features.gso ? "on " : "off") gro=\(receiver.features.gro ? "on " : "off") "
          + "sent \(sent) recv \(got) (\(sent > 0 ? 100 * got / sent : 0)%) "
          + "sendmsgs \(sender.statistics.sentMessages)  "
          + "\(fmt(Double(got) / elapsed / 1e6)) Mdgram/s  \(fmt(Double(bytes) * 8 / elapsed / 1e9)) Gbit/s")
}

do {
    let worker = try Worker()
    for (gso, gro) in [(false, false), (true, false), (false, true), (true, true)] {
        try run(gso: gso, gro: gro, worker: worker)
    }
    try worker.stop()
} catch {
    print("platform-bench: \(error)")
    exit(1)
}
